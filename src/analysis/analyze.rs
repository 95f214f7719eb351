//! The per-seed analysis: gradient against causal importance (METHOD §5–8, §10).
//!
//! On the OOD evaluation set at the analysis length: G under both readings of METHOD §5 and
//! attribution patching A toward both means, per component; C under mean (one vector), mean per
//! position, zero and resample ablation; then, for every pair of a G reading and a C ablation,
//! their ranks, Spearman ρ, the rank gap Δ and the Hero/Bloat classes at every threshold,
//! pruning the top two Heroes and the top two Bloats and superadditivity of the Bloats; attention
//! patterns and per-layer gradient norms (raw and normalised). Beside G, the cheap scores of
//! `docs/scores.md` ([`Score`]) and, for each score and ablation, the accuracy after pruning the
//! components the score ranks least important.

use std::collections::BTreeMap;
use std::fmt;

use burn::prelude::*;
use burn::tensor::ExecutionError;
use serde::{Deserialize, Serialize};

use crate::analysis::ablation::{Ablation, AblationSet};
use crate::analysis::as_published::{AsPublished, Sampling};
use crate::analysis::attribution::{GWeights, attribute, integrated_gradients};
pub use crate::analysis::classes::{Class, ClassRule, Comparison, compare, top_two};
use crate::analysis::scores::{Score, least_important};
use crate::analysis::stats::{ranks, spearman};
use crate::engine::component::{Component, Intervention};
use crate::engine::model::{Capture, Transformer};
use crate::engine::objective::BatchTensors;
use crate::engine::progress::Observer;
use crate::engine::task::Batch;

/// Analysis settings. The defaults are the paper's.
#[derive(Config, Debug, PartialEq)]
pub struct AnalysisConfig {
    /// Thresholds t at which classes are reported.
    #[config(default = "vec![4, 6, 8]")]
    pub thresholds: Vec<usize>,
    /// The threshold that picks the Heroes and Bloats to prune (one of `thresholds`).
    #[config(default = 6)]
    pub threshold: usize,
    /// The reading of G (METHOD §5) shown first and recorded in checkpoints; every report holds
    /// both.
    #[config(default = "GWeights::WvWout")]
    pub g_weights: GWeights,
    /// The ablation shown first for pruning and superadditivity; every report holds all four.
    #[config(default = "Ablation::Mean")]
    pub pruning_ablation: Ablation,
    /// Evaluation examples averaged into each attention pattern.
    #[config(default = 20)]
    pub attention_examples: usize,
    /// Midpoint Riemann steps of integrated gradients.
    #[config(default = 8)]
    pub ig_steps: usize,
    /// Evaluation batches integrated gradients run on (the first ones): each costs a pass per
    /// component and step (`docs/scores.md`, cost).
    #[config(default = 4)]
    pub ig_batches: usize,
    /// How many components pruning by a score removes, the least important first.
    #[config(default = "vec![2, 4, 6]")]
    pub prune_counts: Vec<usize>,
    /// Evaluation batches pruning by score is measured on (the first ones).
    #[config(default = 25)]
    pub prune_batches: usize,
    /// Also analyse the model every this many training steps (0: only the final model).
    #[config(default = 0)]
    pub checkpoint_every: usize,
    /// Whether a rank gap of exactly ±t makes a Hero or Bloat (METHOD §7) or not (the published
    /// pipeline's, METHOD §11).
    #[config(default = "ClassRule::Inclusive")]
    pub class_rule: ClassRule,
    /// C as published (METHOD §11) beside the fixed set's: 0 for none, k > 0 for each component
    /// ablated on k fresh random examples against the window's sample as baseline.
    #[config(default = 0)]
    pub causal_sample: usize,
}

impl AnalysisConfig {
    /// How C as published is sampled and classed under these settings.
    pub fn causal_sampling(&self) -> Sampling<'_> {
        Sampling {
            examples: self.causal_sample,
            thresholds: &self.thresholds,
            rule: self.class_rule,
        }
    }
}

/// One component's measurements.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentReport {
    /// `L{l}_H{h}` or `L{l}_MLP`.
    pub name: Component,
    /// Its block.
    pub layer: usize,
    /// `head` or `mlp`.
    pub kind: String,
    /// Gradient magnitude G under each reading of METHOD §5.
    pub grad: BTreeMap<GWeights, f64>,
    /// A head's raw W_V gradient norm, `mean_b ||∇_{W_V} L_b||_F` (no √N); `None` for MLPs.
    pub grad_wv_raw: Option<f64>,
    /// Attribution patching A toward each mean (`mean`, `mean-pos`).
    pub attribution_patching: BTreeMap<Ablation, f64>,
    /// Causal importance C = base accuracy − ablated accuracy, per ablation.
    pub causal: BTreeMap<Ablation, f64>,
    /// The cheap scores measured beside G and A ([`Score::MEASURED`]); empty in reports made
    /// before them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scores: BTreeMap<Score, f64>,
}

/// Components ablated together and what it did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JointAblation {
    /// The ablated components.
    pub components: Vec<Component>,
    /// Accuracy with all of them ablated.
    pub accuracy: f64,
    /// `accuracy − base accuracy` (negative = damage).
    pub change: f64,
}

/// Pruning the top two of each class (METHOD §8).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pruning {
    /// The ablation used (the one the classes come from).
    pub ablation: Ablation,
    /// The threshold that defined the classes.
    pub threshold: usize,
    /// The top two Heroes, ablated jointly; `None` when there are none.
    pub heroes: Option<JointAblation>,
    /// The top two Bloats, ablated jointly; `None` when there are none.
    pub bloats: Option<JointAblation>,
}

/// Whether the top-two Bloats hurt more together than apart (METHOD §8).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Superadditivity {
    /// The Bloats.
    pub components: Vec<Component>,
    /// Each one's single-ablation accuracy drop.
    pub individual_drops: Vec<f64>,
    /// Their mean: the paper's "individual drop".
    pub individual_mean: f64,
    /// The drop with all of them ablated together.
    pub joint_drop: f64,
    /// `joint_drop / individual_mean`, the paper's per-seed ratio; `None` when the mean is 0.
    pub ratio: Option<f64>,
    /// `joint_drop / Σ individual drops`: above 1 is superadditive; `None` when the sum is 0.
    pub additive_ratio: Option<f64>,
}

/// Everything derived from G under one reading of METHOD §5, against the C of every ablation:
/// one entry per reading pair (G, C), keyed by the ablation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradAnalysis {
    /// Ranks of G (1 = smallest, ties averaged).
    pub ranks: Vec<f64>,
    /// Spearman ρ of G against C; `None` (JSON `null`) where undefined.
    pub spearman: BTreeMap<Ablation, Option<f64>>,
    /// `Rank(G) − Rank(C)` per component.
    pub delta: BTreeMap<Ablation, Vec<f64>>,
    /// Hero/Bloat/Aligned per component, per threshold.
    pub class: BTreeMap<Ablation, BTreeMap<usize, Vec<Class>>>,
    /// Pruning the top two of each class at the pruning threshold, under that ablation.
    pub pruning: BTreeMap<Ablation, Pruning>,
    /// Superadditivity of the top-two Bloats; `None` without Bloats.
    pub superadditivity: BTreeMap<Ablation, Option<Superadditivity>>,
}

/// Attribution patching toward one mean, against that mean ablation's C.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PatchingAnalysis {
    /// Ranks of A.
    pub ranks: Vec<f64>,
    /// Spearman ρ of A against the C of the same mean ablation.
    pub spearman: Option<f64>,
}

/// Pruning by score: under one ablation, the accuracy after ablating together the k components
/// each ranking puts least important, for each k of [`ScorePruning::counts`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PruningCurves {
    /// Ranked by the ablation's own C (the reference).
    pub causal: Vec<f64>,
    /// Ranked by each score.
    pub by_score: BTreeMap<Score, Vec<f64>>,
}

/// The settings and results of the cheap scores' pruning (`docs/scores.md`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScorePruning {
    /// The numbers of components pruned.
    pub counts: Vec<usize>,
    /// Integrated gradients' steps.
    pub ig_steps: usize,
    /// The evaluation batches integrated gradients ran on, of `batches`.
    pub ig_batches: usize,
    /// The evaluation batches the pruning accuracies are measured on, of `batches`.
    pub prune_batches: usize,
    /// The evaluation batches everything else ran on.
    pub batches: usize,
    /// Per ablation of [`ScorePruning::ABLATIONS`].
    pub curves: BTreeMap<Ablation, PruningCurves>,
}

impl ScorePruning {
    /// The ablations pruning by score runs under: the C readings of METHOD's robustness table
    /// (resample ablation's C is ranked against, not pruned with).
    pub const ABLATIONS: [Ablation; 3] = [Ablation::Mean, Ablation::MeanPos, Ablation::Zero];
}

/// Figure 4's per-layer gradient norms: per layer, the mean over its heads of W_V's gradient
/// norm (mean over the batches).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerGradNorm {
    /// The raw Frobenius norm, as the paper's Figure 4 shows it (METHOD §9).
    pub raw: Vec<f64>,
    /// Divided by √N (N = d_model · d_head), as G's default reading measures a head.
    pub normalised: Vec<f64>,
}

/// Mean attention patterns at the analysis length.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttentionPatterns {
    /// Examples averaged.
    pub examples: usize,
    /// Per head (`L{l}_H{h}`), `[query][key]` weights.
    pub heads: BTreeMap<Component, Vec<Vec<f64>>>,
}

/// Everything the paper measures on one seed, under every reading METHOD names: G under both
/// readings of §5 against C under all four ablations of §6. Per-component vectors are in
/// canonical order (`L0_H0 .. L0_MLP, L1_H0, ..`), like `components`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Exact-match accuracy of the clean model at the analysis length.
    pub base_accuracy: f64,
    /// Per component.
    pub components: Vec<ComponentReport>,
    /// Ranks of C per ablation.
    pub causal_ranks: BTreeMap<Ablation, Vec<f64>>,
    /// Per G reading: ρ, Δ, classes, pruning and superadditivity against each C.
    pub by_grad: BTreeMap<GWeights, GradAnalysis>,
    /// Attribution patching toward each mean, against that mean's C.
    pub attribution_patching: BTreeMap<Ablation, PatchingAnalysis>,
    /// Mean attention pattern of every head.
    pub attention: AttentionPatterns,
    /// Figure 4.
    pub layer_grad_norm: LayerGradNorm,
    /// Pruning by each cheap score; `None` in reports made before the scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_pruning: Option<ScorePruning>,
    /// C as the published pipeline measures it, with `analysis.causal_sample` > 0; kept apart
    /// from the fixed set's numbers above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_published: Option<AsPublished>,
    /// Joint ablations measured after the analysis, on the same fixed OOD set, for the top twos
    /// of readings the analysis did not prune under (`gradcause joints`); empty in most reports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub joints: Vec<MeasuredJoint>,
}

/// One joint ablation measured after the analysis ([`Analysis::joints`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasuredJoint {
    /// The ablation the components got (an MLP's `slot` is its `mean`).
    pub ablation: Ablation,
    /// The ablated components.
    pub components: Vec<Component>,
    /// Accuracy with all of them ablated.
    pub accuracy: f64,
    /// `accuracy − base accuracy`.
    pub change: f64,
}

/// The readings an analysis holds none of ([`Analysis::lacks`]); shown as `G wv-wout-raw, C slot`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Missing {
    /// G readings without numbers.
    pub grad: Vec<GWeights>,
    /// C readings without numbers.
    pub causal: Vec<Ablation>,
}

impl Missing {
    /// Whether numbers under G reading `g` against C reading `ablation` are held.
    pub fn holds(&self, g: GWeights, ablation: Ablation) -> bool {
        !self.grad.contains(&g) && !self.causal.contains(&ablation)
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.grad.iter().map(|g| format!("G {g}"));
        let c = self.causal.iter().map(|a| format!("C {a}"));
        f.write_str(&g.chain(c).collect::<Vec<_>>().join(", "))
    }
}

impl Analysis {
    /// The readings of this build the analysis predates (G `wv-wout-raw`, C `slot`): reports
    /// made before them load without them, and their summaries leave them out.
    pub fn lacks(&self) -> Missing {
        Missing {
            grad: GWeights::ALL
                .into_iter()
                .filter(|g| !self.by_grad.contains_key(g))
                .collect(),
            causal: Ablation::ALL
                .into_iter()
                .filter(|a| !self.causal_ranks.contains_key(a))
                .collect(),
        }
    }

    /// Causal importance per component under `ablation`.
    pub fn causal(&self, ablation: Ablation) -> Vec<f64> {
        self.components
            .iter()
            .map(|c| c.causal[&ablation])
            .collect()
    }

    /// Gradient magnitude per component under reading `g`.
    pub fn grad(&self, g: GWeights) -> Vec<f64> {
        self.components.iter().map(|c| c.grad[&g]).collect()
    }

    /// Spearman ρ of G under `g` against C under `ablation`; `None` where undefined or where the
    /// report predates the reading ([`Analysis::lacks`]).
    pub fn spearman(&self, g: GWeights, ablation: Ablation) -> Option<f64> {
        self.by_grad
            .get(&g)?
            .spearman
            .get(&ablation)
            .copied()
            .flatten()
    }

    /// A score per component; `None` when the report predates it.
    pub fn score(&self, score: Score) -> Option<Vec<f64>> {
        self.components
            .iter()
            .map(|c| match score {
                Score::Grad(g) => c.grad.get(&g).copied(),
                Score::Patching(a) => c.attribution_patching.get(&a).copied(),
                _ => c.scores.get(&score).copied(),
            })
            .collect()
    }
}

/// Analyses `model` on `batches`, the run's OOD set at the analysis length (METHOD §5–8, §10),
/// under every reading; `seed` is the run's, for the analysis' own random stream.
pub async fn analyze(
    model: &Transformer,
    analysis: &AnalysisConfig,
    batches: &[Batch],
    seed: u64,
    observer: &mut impl Observer,
) -> Result<Analysis, ExecutionError> {
    let set = AblationSet::new(model, batches, seed, &model.device()).await?;
    analyze_on(model, analysis, &set, batches, observer).await
}

/// [`analyze`] with the ablation set of `batches` already made (C as published ablates with its
/// means too).
pub async fn analyze_on(
    model: &Transformer,
    analysis: &AnalysisConfig,
    set: &AblationSet,
    batches: &[Batch],
    observer: &mut impl Observer,
) -> Result<Analysis, ExecutionError> {
    let device = model.device();
    let components = model.components();
    let heads = model.heads();
    let attribution = attribute(model, set, observer).await?;
    let single = set.single_ablations(model, observer).await?;
    let ig =
        integrated_gradients(model, set, analysis.ig_steps, analysis.ig_batches, observer).await?;

    let causal: BTreeMap<Ablation, Vec<f64>> = Ablation::ALL
        .iter()
        .zip(&single.accuracy)
        .map(|(&a, accuracies)| {
            (
                a,
                accuracies
                    .iter()
                    .map(|acc| set.base_accuracy - acc)
                    .collect(),
            )
        })
        .collect();
    let thresholds = &analysis.thresholds;
    let threshold = analysis.threshold;

    // Every reading's comparisons and the top two of each class they prune.
    let comparisons: BTreeMap<(GWeights, Ablation), Comparison> = GWeights::ALL
        .iter()
        .flat_map(|&g| causal.iter().map(move |(&a, c)| ((g, a), c)))
        .map(|(key, c)| {
            let g = &attribution.grad[&key.0];
            (key, compare(g, c, thresholds, analysis.class_rule))
        })
        .collect();
    let members = |(g, a): (GWeights, Ablation), class: Class| -> Vec<Component> {
        let delta = &comparisons[&(g, a)].delta;
        top_two(class, delta, &causal[&a], threshold, analysis.class_rule)
            .into_iter()
            .map(|i| components[i])
            .collect()
    };
    // Each joint ablation measured once, however many readings pick the same components.
    let applied = |components: &[Component], a: Ablation| a.on_all(components);
    let mut pruned: Vec<(Vec<Component>, Ablation)> = Vec::new();
    for &(g, a) in comparisons.keys() {
        for class in [Class::Hero, Class::Bloat] {
            let components = members((g, a), class);
            let applied_a = applied(&components, a);
            let chosen = (components, applied_a);
            if !chosen.0.is_empty() && !pruned.contains(&chosen) {
                pruned.push(chosen);
            }
        }
    }
    let joint: BTreeMap<(Vec<Component>, Ablation), f64> = pruned
        .iter()
        .cloned()
        .zip(
            set.joint_ablation_accuracies(model, &pruned, set.batch_count())
                .await?,
        )
        .collect();
    let prune = |reading: (GWeights, Ablation), class: Class| -> Option<JointAblation> {
        let components = members(reading, class);
        let accuracy = *joint.get(&(components.clone(), applied(&components, reading.1)))?;
        Some(JointAblation {
            components,
            accuracy,
            change: accuracy - set.base_accuracy,
        })
    };

    let mut by_grad = BTreeMap::new();
    for g in GWeights::ALL {
        let mut pruning = BTreeMap::new();
        let mut superadditive = BTreeMap::new();
        for &ablation in causal.keys() {
            let (heroes, bloats) = (
                prune((g, ablation), Class::Hero),
                prune((g, ablation), Class::Bloat),
            );
            let c = &causal[&ablation];
            superadditive.insert(
                ablation,
                bloats.as_ref().map(|joint| {
                    let drops = joint.components.iter().map(|m| c[m.index(heads)]).collect();
                    superadditivity(joint.components.clone(), drops, -joint.change)
                }),
            );
            pruning.insert(
                ablation,
                Pruning {
                    ablation,
                    threshold,
                    heroes,
                    bloats,
                },
            );
        }
        let of_g = || comparisons.iter().filter(move |((gg, _), _)| *gg == g);
        by_grad.insert(
            g,
            GradAnalysis {
                ranks: ranks(&attribution.grad[&g]),
                spearman: of_g().map(|(&(_, a), c)| (a, c.spearman)).collect(),
                delta: of_g().map(|(&(_, a), c)| (a, c.delta.clone())).collect(),
                class: of_g().map(|(&(_, a), c)| (a, c.classes.clone())).collect(),
                pruning,
                superadditivity: superadditive,
            },
        );
    }

    // The cheap scores beside G and A (`docs/scores.md`), and pruning by each.
    let mut measured: BTreeMap<Score, Vec<f64>> = BTreeMap::new();
    measured.insert(
        Score::GradTimesActivation,
        attribution.grad_x_activation.clone(),
    );
    measured.insert(Score::Taylor, attribution.taylor.clone());
    measured.insert(Score::IntegratedGradients, ig);
    for (&a, change) in Ablation::ALL.iter().zip(&single.loss_change) {
        if Score::MEASURED.contains(&Score::LossChange(a)) {
            measured.insert(Score::LossChange(a), change.clone());
        }
    }
    let every_score: BTreeMap<Score, Vec<f64>> = Score::ALL
        .into_iter()
        .map(|score| {
            let values = match score {
                Score::Grad(g) => attribution.grad[&g].clone(),
                Score::Patching(a) => attribution.patching[&a].clone(),
                _ => measured[&score].clone(),
            };
            (score, values)
        })
        .collect();
    let score_pruning = prune_by_score(model, set, &causal, &every_score, analysis).await?;
    observer.progress("pruning", 1, 1).await;

    let attention =
        attention_patterns(model, batches, analysis.attention_examples, &device).await?;
    observer.progress("attention patterns", 1, 1).await;
    let per_layer = |values: &[f64]| -> Vec<f64> {
        (0..model.layers())
            .map(|layer| {
                let sum: f64 = (0..heads)
                    .map(|head| values[Component::Head { layer, head }.index(heads)])
                    .sum();
                sum / heads as f64
            })
            .collect()
    };
    let wv_raw: Vec<f64> = attribution
        .wv_raw
        .iter()
        .map(|v| v.unwrap_or(0.0))
        .collect();
    let layer_grad_norm = LayerGradNorm {
        raw: per_layer(&wv_raw),
        // A head's default-reading G is its W_V norm over √N.
        normalised: per_layer(&attribution.grad[&GWeights::WvWout]),
    };

    let component_reports = components
        .iter()
        .enumerate()
        .map(|(i, &component)| ComponentReport {
            name: component,
            layer: component.layer(),
            kind: match component {
                Component::Head { .. } => "head".into(),
                Component::Mlp { .. } => "mlp".into(),
            },
            grad: attribution.grad.iter().map(|(&g, v)| (g, v[i])).collect(),
            grad_wv_raw: attribution.wv_raw[i],
            attribution_patching: attribution
                .patching
                .iter()
                .map(|(&a, v)| (a, v[i]))
                .collect(),
            causal: causal.iter().map(|(&a, c)| (a, c[i])).collect(),
            scores: measured.iter().map(|(&s, v)| (s, v[i])).collect(),
        })
        .collect();
    Ok(Analysis {
        base_accuracy: set.base_accuracy,
        components: component_reports,
        causal_ranks: causal.iter().map(|(&a, c)| (a, ranks(c))).collect(),
        by_grad,
        attribution_patching: attribution
            .patching
            .iter()
            .map(|(&a, p)| {
                (
                    a,
                    PatchingAnalysis {
                        ranks: ranks(p),
                        spearman: spearman(p, &causal[&a]),
                    },
                )
            })
            .collect(),
        attention,
        layer_grad_norm,
        score_pruning: Some(score_pruning),
        as_published: None,
        joints: Vec::new(),
    })
}

/// For each ablation of [`ScorePruning::ABLATIONS`] and each k of the config's `prune_counts`, the
/// accuracy after ablating together the k components each score (and the ablation's own C) ranks
/// least important, on the first `prune_batches` batches of `set`: each distinct set measured
/// once, in one pass ([`AblationSet::joint_ablation_accuracies`]).
async fn prune_by_score(
    model: &Transformer,
    set: &AblationSet,
    causal: &BTreeMap<Ablation, Vec<f64>>,
    scores: &BTreeMap<Score, Vec<f64>>,
    config: &AnalysisConfig,
) -> Result<ScorePruning, ExecutionError> {
    let components = model.components();
    let least = |values: &[f64], k: usize| -> Vec<Component> {
        least_important(values, k)
            .into_iter()
            .map(|i| components[i])
            .collect()
    };
    let rankings = |a: Ablation| std::iter::once(&causal[&a]).chain(scores.values());
    let mut sets: Vec<(Vec<Component>, Ablation)> = Vec::new();
    for a in ScorePruning::ABLATIONS {
        for &k in &config.prune_counts {
            for values in rankings(a) {
                let chosen = (least(values, k), a);
                if !sets.contains(&chosen) {
                    sets.push(chosen);
                }
            }
        }
    }
    let batches = config.prune_batches.clamp(1, set.batch_count());
    let accuracies = set.joint_ablation_accuracies(model, &sets, batches).await?;
    let joint: BTreeMap<_, f64> = sets.into_iter().zip(accuracies).collect();
    let curve = |values: &[f64], a: Ablation| -> Vec<f64> {
        config
            .prune_counts
            .iter()
            .map(|&k| joint[&(least(values, k), a)])
            .collect()
    };
    Ok(ScorePruning {
        counts: config.prune_counts.clone(),
        ig_steps: config.ig_steps,
        ig_batches: config.ig_batches.clamp(1, set.batch_count()),
        prune_batches: batches,
        batches: set.batch_count(),
        curves: ScorePruning::ABLATIONS
            .into_iter()
            .map(|a| {
                let by_score = scores.iter().map(|(&s, v)| (s, curve(v, a))).collect();
                let causal = curve(&causal[&a], a);
                (a, PruningCurves { causal, by_score })
            })
            .collect(),
    })
}

/// Superadditivity of components whose single drops are `individual_drops` and whose joint
/// ablation drops accuracy by `joint_drop`.
pub fn superadditivity(
    components: Vec<Component>,
    individual_drops: Vec<f64>,
    joint_drop: f64,
) -> Superadditivity {
    let sum: f64 = individual_drops.iter().sum();
    let individual_mean = sum / individual_drops.len() as f64;
    let ratio_to = |denominator: f64| (denominator != 0.0).then(|| joint_drop / denominator);
    Superadditivity {
        components,
        ratio: ratio_to(individual_mean),
        additive_ratio: ratio_to(sum),
        individual_drops,
        individual_mean,
        joint_drop,
    }
}

/// Each head's attention pattern averaged over the first `examples` examples of `batches`.
async fn attention_patterns(
    model: &Transformer,
    batches: &[Batch],
    examples: usize,
    device: &Device,
) -> Result<AttentionPatterns, ExecutionError> {
    let chosen: Vec<_> = batches
        .iter()
        .flat_map(|b| b.examples.iter().cloned())
        .take(examples)
        .collect();
    let count = chosen.len();
    let batch = Batch::new(chosen);
    let tensors = BatchTensors::new(&batch, device);
    let capture = Capture {
        outputs: false,
        attention: true,
        residuals: false,
    };
    let run = model.run(tensors.inputs, &Intervention::none(), capture);
    let positions = batch.positions;
    let mut heads = BTreeMap::new();
    for (layer, pattern) in run.attention.into_iter().enumerate() {
        let mean: Tensor<3> = pattern.mean_dim(0).squeeze_dim(0); // [heads, query, key]
        let values = mean
            .into_data_async()
            .await?
            .try_to_vec::<f32>()
            .expect("f32");
        for (head, matrix) in values.chunks(positions * positions).enumerate() {
            let rows = matrix
                .chunks(positions)
                .map(|row| row.iter().map(|&w| f64::from(w)).collect())
                .collect();
            heads.insert(Component::Head { layer, head }, rows);
        }
    }
    Ok(AttentionPatterns {
        examples: count,
        heads,
    })
}

/// The analysis of a model snapshot taken during training (METHOD §10), at the final model's
/// analysis length: when do Heroes and Bloats emerge? Recorded under the configured G reading.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Training steps done.
    pub step: usize,
    /// Exact-match accuracy at the analysis length.
    pub base_accuracy: f64,
    /// The G reading of `grad`, `spearman` and `class`.
    pub g_weights: GWeights,
    /// Spearman ρ of G against each ablation's C.
    pub spearman: BTreeMap<Ablation, Option<f64>>,
    /// Gradient magnitude per component.
    pub grad: Vec<f64>,
    /// Mean-ablation causal importance per component.
    pub causal_mean: Vec<f64>,
    /// Mean-ablation classes at the pruning threshold.
    pub class: Vec<Class>,
}

impl Checkpoint {
    /// The compact record of a snapshot's analysis under `config`'s G reading and threshold.
    pub fn new(step: usize, analysis: &Analysis, config: &AnalysisConfig) -> Self {
        let g = config.g_weights;
        let by_grad = &analysis.by_grad[&g];
        Self {
            step,
            base_accuracy: analysis.base_accuracy,
            g_weights: g,
            spearman: by_grad.spearman.clone(),
            grad: analysis.grad(g),
            causal_mean: analysis.causal(Ablation::Mean),
            class: by_grad.class[&Ablation::Mean][&config.threshold].clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superadditivity_arithmetic() {
        let parts = vec![Component::Mlp { layer: 0 }, Component::Mlp { layer: 1 }];
        let s = superadditivity(parts.clone(), vec![0.02, 0.04], 0.42);
        assert!((s.individual_mean - 0.03).abs() < 1e-12);
        assert!((s.ratio.unwrap() - 14.0).abs() < 1e-9);
        assert!((s.additive_ratio.unwrap() - 7.0).abs() < 1e-9);
        // Individual drops that cancel out leave the ratios undefined.
        let s = superadditivity(parts, vec![0.01, -0.01], 0.3);
        assert_eq!((s.ratio, s.additive_ratio), (None, None));
    }
}
