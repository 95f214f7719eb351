//! The per-seed analysis: gradient against causal importance (METHOD §5–8, §10).
//!
//! On the OOD evaluation set at the analysis length: G and attribution patching A per component,
//! C under mean, zero and resample ablation, their ranks, Spearman ρ, the rank gap Δ and the
//! Hero/Bloat classes at every threshold; pruning the top two Heroes and the top two Bloats;
//! superadditivity of the Bloats; attention patterns and per-layer gradient norms.

use std::collections::BTreeMap;

use burn::prelude::*;
use burn::tensor::ExecutionError;
use serde::{Deserialize, Serialize};

use crate::ablation::{Ablation, AblationSet};
use crate::attribution::attribute;
use crate::component::{Component, Intervention};
use crate::config::ExperimentConfig;
use crate::model::{Capture, Transformer};
use crate::objective::BatchTensors;
use crate::progress::Observer;
use crate::stats::{ranks, spearman};
use crate::task::Batch;

/// Analysis settings. The defaults are the paper's.
#[derive(Config, Debug, PartialEq)]
pub struct AnalysisConfig {
    /// Thresholds t at which classes are reported.
    #[config(default = "vec![4, 6, 8]")]
    pub thresholds: Vec<usize>,
    /// The threshold that picks the Heroes and Bloats to prune (one of `thresholds`).
    #[config(default = 6)]
    pub threshold: usize,
    /// The ablation of pruning and superadditivity.
    #[config(default = "Ablation::Mean")]
    pub pruning_ablation: Ablation,
    /// Evaluation examples averaged into each attention pattern.
    #[config(default = 20)]
    pub attention_examples: usize,
    /// Also analyse the model every this many training steps (0: only the final model).
    #[config(default = 0)]
    pub checkpoint_every: usize,
}

/// How gradient ranks relate to causal ranks for one component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Low gradient, high causal importance: Δ ≤ −t.
    Hero,
    /// High gradient, low causal importance: Δ ≥ t.
    Bloat,
    /// |Δ| < t.
    Aligned,
}

impl Class {
    /// The class of a rank gap Δ at threshold t.
    pub fn of(delta: f64, threshold: usize) -> Class {
        let t = threshold as f64;
        if delta <= -t {
            Class::Hero
        } else if delta >= t {
            Class::Bloat
        } else {
            Class::Aligned
        }
    }
}

/// The (at most) two components of `class` that pruning removes: the Heroes with the most
/// negative Δ, or the Bloats with the largest Δ; ties broken by larger C, then component order.
/// Fewer than two: all there are.
pub fn top_two(class: Class, delta: &[f64], causal: &[f64], threshold: usize) -> Vec<usize> {
    let mut members: Vec<usize> = (0..delta.len())
        .filter(|&i| Class::of(delta[i], threshold) == class)
        .collect();
    let extremity = |i: usize| {
        if class == Class::Hero {
            delta[i]
        } else {
            -delta[i]
        }
    };
    members.sort_by(|&a, &b| {
        extremity(a)
            .total_cmp(&extremity(b))
            .then(causal[b].total_cmp(&causal[a]))
            .then(a.cmp(&b))
    });
    members.truncate(2);
    members
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
    /// Gradient magnitude G.
    pub grad: f64,
    /// W_V-only gradient magnitude (heads only).
    pub grad_wv: Option<f64>,
    /// Attribution patching A.
    pub attribution_patching: f64,
    /// Causal importance C = base accuracy − ablated accuracy, per ablation.
    pub causal: BTreeMap<Ablation, f64>,
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
    /// The ablation used.
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

/// Ranks, gaps, correlation and classes of G against one ablation's C.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Ranks of the causal importance (1 = smallest, ties averaged).
    pub causal_ranks: Vec<f64>,
    /// `Rank(G) − Rank(C)` per component.
    pub delta: Vec<f64>,
    /// Spearman ρ of G against C; `None` when undefined.
    pub spearman: Option<f64>,
    /// Class per component, per threshold.
    pub classes: BTreeMap<usize, Vec<Class>>,
}

/// Spearman ρ of G against each ablation's C, and of attribution patching against mean
/// ablation's C; `None` (JSON `null`) where undefined.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Correlations {
    /// G against mean-ablation C.
    pub mean: Option<f64>,
    /// G against zero-ablation C.
    pub zero: Option<f64>,
    /// G against resample-ablation C.
    pub resample: Option<f64>,
    /// Attribution patching A against mean-ablation C.
    pub attribution_patching: Option<f64>,
}

impl Correlations {
    /// ρ of G against `ablation`'s C.
    pub fn of(&self, ablation: Ablation) -> Option<f64> {
        match ablation {
            Ablation::Mean => self.mean,
            Ablation::Zero => self.zero,
            Ablation::Resample => self.resample,
        }
    }
}

/// Ranks per component (1 = smallest, ties averaged).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ranks {
    /// Of gradient magnitude G.
    pub grad: Vec<f64>,
    /// Of attribution patching A.
    pub attribution_patching: Vec<f64>,
    /// Of causal importance C, per ablation (`mean`, `zero`, `resample`).
    #[serde(flatten)]
    pub causal: BTreeMap<Ablation, Vec<f64>>,
}

/// Mean attention patterns at the analysis length.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttentionPatterns {
    /// Examples averaged.
    pub examples: usize,
    /// Per head (`L{l}_H{h}`), `[query][key]` weights.
    pub heads: BTreeMap<Component, Vec<Vec<f64>>>,
}

/// Everything the paper measures on one seed. Per-component vectors are in canonical order
/// (`L0_H0 .. L0_MLP, L1_H0, ..`), like `components`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Exact-match accuracy of the clean model at the analysis length.
    pub base_accuracy: f64,
    /// Per component.
    pub components: Vec<ComponentReport>,
    /// Spearman ρ per baseline.
    pub spearman: Correlations,
    /// Ranks of G, A and each C.
    pub ranks: Ranks,
    /// `Rank(G) − Rank(C)` per ablation.
    pub delta: BTreeMap<Ablation, Vec<f64>>,
    /// Hero/Bloat/Aligned per ablation, per threshold.
    pub class: BTreeMap<Ablation, BTreeMap<usize, Vec<Class>>>,
    /// Pruning damage.
    pub pruning: Pruning,
    /// Superadditivity of the top-two Bloats; `None` without Bloats.
    pub superadditivity: Option<Superadditivity>,
    /// Mean attention pattern of every head.
    pub attention: AttentionPatterns,
    /// Per layer, the mean over its heads of the W_V-only gradient magnitude.
    pub layer_grad_norm: Vec<f64>,
}

impl Analysis {
    /// Causal importance per component under `ablation`.
    pub fn causal(&self, ablation: Ablation) -> Vec<f64> {
        self.components
            .iter()
            .map(|c| c.causal[&ablation])
            .collect()
    }

    /// Gradient magnitude per component.
    pub fn grad(&self) -> Vec<f64> {
        self.components.iter().map(|c| c.grad).collect()
    }
}

/// Compares gradient magnitude with causal importance for one ablation.
pub fn compare(grad: &[f64], causal: &[f64], thresholds: &[usize]) -> Comparison {
    let grad_ranks = ranks(grad);
    let causal_ranks = ranks(causal);
    let delta: Vec<f64> = grad_ranks
        .iter()
        .zip(&causal_ranks)
        .map(|(g, c)| g - c)
        .collect();
    let classes = thresholds
        .iter()
        .map(|&t| (t, delta.iter().map(|&d| Class::of(d, t)).collect()))
        .collect();
    Comparison {
        spearman: spearman(grad, causal),
        causal_ranks,
        delta,
        classes,
    }
}

/// Analyses `model` on the OOD set of `length` (METHOD §5–8, §10).
pub async fn analyze(
    model: &Transformer,
    config: &ExperimentConfig,
    length: usize,
    observer: &mut impl Observer,
) -> Result<Analysis, ExecutionError> {
    let device = model.device();
    let components = model.components();
    let batches = config.eval.ood_set(config.task, config.seed, length);
    let set = AblationSet::new(model, &batches, config.seed, &device).await?;
    let attribution = attribute(model, &set, observer).await?;
    let single = set.single_ablation_accuracies(model, observer).await?;

    let causal: BTreeMap<Ablation, Vec<f64>> = Ablation::ALL
        .iter()
        .zip(&single)
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
    let thresholds = &config.analysis.thresholds;
    let comparisons: BTreeMap<Ablation, Comparison> = causal
        .iter()
        .map(|(&a, c)| (a, compare(&attribution.grad, c, thresholds)))
        .collect();

    // Pruning and superadditivity under the configured ablation and threshold.
    let (ablation, threshold) = (config.analysis.pruning_ablation, config.analysis.threshold);
    let delta = &comparisons[&ablation].delta;
    let c = &causal[&ablation];
    let prune = async |class: Class| -> Result<Option<JointAblation>, ExecutionError> {
        let members: Vec<Component> = top_two(class, delta, c, threshold)
            .into_iter()
            .map(|i| components[i])
            .collect();
        if members.is_empty() {
            return Ok(None);
        }
        let accuracy = set.ablated_accuracy(model, &members, ablation).await?;
        Ok(Some(JointAblation {
            components: members,
            accuracy,
            change: accuracy - set.base_accuracy,
        }))
    };
    let heroes = prune(Class::Hero).await?;
    let bloats = prune(Class::Bloat).await?;
    let superadditivity = bloats.as_ref().map(|joint| {
        let individual_drops: Vec<f64> = joint
            .components
            .iter()
            .map(|m| c[m.index(model.heads())])
            .collect();
        superadditivity(joint.components.clone(), individual_drops, -joint.change)
    });

    let attention =
        attention_patterns(model, &batches, config.analysis.attention_examples, &device).await?;
    let heads = model.heads();
    let layer_grad_norm = (0..model.layers())
        .map(|layer| {
            let wv: Vec<f64> = (0..heads)
                .filter_map(|head| {
                    attribution.grad_wv[Component::Head { layer, head }.index(heads)]
                })
                .collect();
            wv.iter().sum::<f64>() / heads as f64
        })
        .collect();

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
            grad: attribution.grad[i],
            grad_wv: attribution.grad_wv[i],
            attribution_patching: attribution.patching[i],
            causal: causal.iter().map(|(&a, c)| (a, c[i])).collect(),
        })
        .collect();
    let spearman_of = |a: Ablation| comparisons[&a].spearman;
    Ok(Analysis {
        base_accuracy: set.base_accuracy,
        components: component_reports,
        spearman: Correlations {
            mean: spearman_of(Ablation::Mean),
            zero: spearman_of(Ablation::Zero),
            resample: spearman_of(Ablation::Resample),
            attribution_patching: spearman(&attribution.patching, &causal[&Ablation::Mean]),
        },
        ranks: Ranks {
            grad: ranks(&attribution.grad),
            attribution_patching: ranks(&attribution.patching),
            causal: comparisons
                .iter()
                .map(|(&a, c)| (a, c.causal_ranks.clone()))
                .collect(),
        },
        delta: comparisons
            .iter()
            .map(|(&a, c)| (a, c.delta.clone()))
            .collect(),
        class: comparisons
            .into_iter()
            .map(|(a, c)| (a, c.classes))
            .collect(),
        pruning: Pruning {
            ablation,
            threshold,
            heroes,
            bloats,
        },
        superadditivity,
        attention,
        layer_grad_norm,
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
/// analysis length: when do Heroes and Bloats emerge?
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Training steps done.
    pub step: usize,
    /// Exact-match accuracy at the analysis length.
    pub base_accuracy: f64,
    /// Spearman ρ per baseline.
    pub spearman: Correlations,
    /// Gradient magnitude per component.
    pub grad: Vec<f64>,
    /// Mean-ablation causal importance per component.
    pub causal_mean: Vec<f64>,
    /// Mean-ablation classes at the pruning threshold.
    pub class: Vec<Class>,
}

impl Checkpoint {
    /// The compact record of a snapshot's analysis.
    pub fn new(step: usize, analysis: &Analysis) -> Self {
        Self {
            step,
            base_accuracy: analysis.base_accuracy,
            spearman: analysis.spearman.clone(),
            grad: analysis.grad(),
            causal_mean: analysis.causal(Ablation::Mean),
            class: analysis.class[&Ablation::Mean][&analysis.pruning.threshold].clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_threshold() {
        assert_eq!(Class::of(-6.0, 6), Class::Hero);
        assert_eq!(Class::of(-5.5, 6), Class::Aligned);
        assert_eq!(Class::of(5.5, 6), Class::Aligned);
        assert_eq!(Class::of(6.0, 6), Class::Bloat);
        assert_eq!(Class::of(4.0, 4), Class::Bloat);
        assert_eq!(Class::of(0.0, 4), Class::Aligned);
    }

    #[test]
    fn top_two_takes_the_most_extreme_and_breaks_ties() {
        //            0     1     2    3    4     5    6
        let delta = [-9.0, -6.0, 7.0, 0.0, -9.0, 7.0, 8.0];
        let causal = [0.1, 0.5, 0.0, 0.3, 0.2, 0.05, 0.0];
        // Heroes 0, 1, 4: the two at -9 come first, the larger C (4) before 0.
        assert_eq!(top_two(Class::Hero, &delta, &causal, 6), vec![4, 0]);
        // Bloats 2, 5, 6: 6 (Δ 8) first; 2 and 5 tie at 7 and 5 has the larger C.
        assert_eq!(top_two(Class::Bloat, &delta, &causal, 6), vec![6, 5]);
        // Equal Δ and C: component order.
        assert_eq!(
            top_two(Class::Bloat, &[7.0, 7.0, 7.0], &[0.0; 3], 6),
            vec![0, 1]
        );
    }

    #[test]
    fn top_two_of_small_or_empty_classes_takes_what_there_is() {
        let delta = [-7.0, 1.0, 2.0];
        assert_eq!(top_two(Class::Hero, &delta, &[0.0; 3], 6), vec![0]);
        assert!(top_two(Class::Bloat, &delta, &[0.0; 3], 6).is_empty());
    }

    #[test]
    fn comparison_ranks_gaps_and_classes() {
        // G ranks 1..6; C reversed: Δ = −5, −3, −1, 1, 3, 5.
        let grad = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let causal = [6.0, 5.0, 4.0, 3.0, 2.0, 1.0];
        let c = compare(&grad, &causal, &[4]);
        assert_eq!(c.delta, vec![-5.0, -3.0, -1.0, 1.0, 3.0, 5.0]);
        assert_eq!(c.spearman, Some(-1.0));
        use Class::*;
        assert_eq!(
            c.classes[&4],
            vec![Hero, Aligned, Aligned, Aligned, Aligned, Bloat]
        );
        // A constant C leaves ρ undefined, not 0.
        assert_eq!(compare(&grad, &[0.0; 6], &[4]).spearman, None);
    }

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
