//! Across seeds (METHOD §9): the paper's tables and figure data from per-seed reports, under
//! one reading of G (METHOD §5) and every ablation (§6).
//!
//! Means and sample standard deviations are over the seeds that were analysed (skipped seeds are
//! listed with their reason and left out), always say how many seeds they use, and carry a 95%
//! interval: a seeded bootstrap over the seeds for means and ratios, a Wilson interval for counts
//! of seeds.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::analysis::ablation::Ablation;
use crate::analysis::analyze::{Analysis, Class, GradAnalysis};
use crate::analysis::attribution::GWeights;
use crate::analysis::classes::ClassRule;
use crate::analysis::stats::{Estimate, MeanStd, wilson_interval};
use crate::engine::component::Component;
use crate::engine::model::Positions;
use crate::engine::task::Task;
use crate::experiment::report::SeedReport;
use crate::report::leaderboard::{Leaderboard, leaderboards};

mod files;

/// The summaries of a sweep, as `gradcause sweep` writes them to `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    /// The command that made it.
    pub command: String,
    /// When, in UTC (ISO 8601).
    pub generated: String,
    /// Per task with reports, one summary per G reading, over every seed of the sweep.
    pub tasks: BTreeMap<Task, BTreeMap<GWeights, Summary>>,
    /// The same over the paper's seeds only (the seeds the comparison with the paper uses).
    pub paper_seeds: BTreeMap<Task, BTreeMap<GWeights, Summary>>,
    /// Beyond the paper: every score against each ablation's C, per task, over every seed with
    /// scores (`docs/scores.md`); empty in summaries made before the scores.
    #[serde(default)]
    pub leaderboards: BTreeMap<Task, BTreeMap<Ablation, Leaderboard>>,
}

impl SweepSummary {
    /// Summarises `reports` (all current: see [`Summary::new`]), per task and G reading, over
    /// every seed and over `paper_seeds` alone.
    pub fn new(
        reports: &[SeedReport],
        paper_seeds: &[u64],
        command: String,
        generated: String,
    ) -> Self {
        let by_task_and_g = |reports: &[SeedReport]| {
            let mut tasks: BTreeMap<Task, BTreeMap<GWeights, Summary>> = BTreeMap::new();
            for g in GWeights::ALL {
                for (task, summary) in Summary::per_task(reports, g) {
                    tasks.entry(task).or_default().insert(g, summary);
                }
            }
            tasks
        };
        let of_paper: Vec<SeedReport> = reports
            .iter()
            .filter(|r| paper_seeds.contains(&r.run.seed))
            .cloned()
            .collect();
        Self {
            command,
            generated,
            tasks: by_task_and_g(reports),
            paper_seeds: by_task_and_g(&of_paper),
            leaderboards: leaderboards(reports),
        }
    }

    /// The summary of each task under G reading `g`, over every seed.
    pub fn under(&self, g: GWeights) -> BTreeMap<Task, Summary> {
        pick(&self.tasks, g)
    }
}

/// What the page's first screen needs of a sweep: its summaries over the paper's seeds alone, as
/// `gradcause sweep` writes them to `paper-summary.json` beside `summary.json` (a fifth of its
/// size). `summary.json` reads as one too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaperSeedSummary {
    /// The command that made the sweep.
    pub command: String,
    /// When, in UTC (ISO 8601).
    pub generated: String,
    /// Per task, one summary per G reading, over the paper's seeds.
    pub paper_seeds: BTreeMap<Task, BTreeMap<GWeights, Summary>>,
}

impl PaperSeedSummary {
    /// The summary of each task under G reading `g`.
    pub fn under(&self, g: GWeights) -> BTreeMap<Task, Summary> {
        pick(&self.paper_seeds, g)
    }
}

impl From<&SweepSummary> for PaperSeedSummary {
    fn from(sweep: &SweepSummary) -> Self {
        Self {
            command: sweep.command.clone(),
            generated: sweep.generated.clone(),
            paper_seeds: sweep.paper_seeds.clone(),
        }
    }
}

/// Each task's summary under `g`.
fn pick(
    tasks: &BTreeMap<Task, BTreeMap<GWeights, Summary>>,
    g: GWeights,
) -> BTreeMap<Task, Summary> {
    tasks
        .iter()
        .filter_map(|(&task, by_g)| by_g.get(&g).map(|s| (task, s.clone())))
        .collect()
}

/// Table 1: ρ of G against each ablation's C, and of attribution patching against each mean's,
/// mean ± sample std across the analysed seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table1 {
    /// G against each ablation's C.
    pub rho: BTreeMap<Ablation, MeanStd>,
    /// Attribution patching toward each mean against that mean ablation's C.
    pub attribution_patching: BTreeMap<Ablation, MeanStd>,
}

impl Table1 {
    fn new(rows: &[Table3Row], ablations: &[Ablation]) -> Self {
        let over = |f: &dyn Fn(&Table3Row) -> Option<f64>| MeanStd::of(rows.iter().map(f));
        Self {
            rho: ablations
                .iter()
                .map(|a| (*a, over(&|r| r.spearman[a])))
                .collect(),
            attribution_patching: Ablation::MEANS
                .iter()
                .map(|a| (*a, over(&|r| r.attribution_patching[a])))
                .collect(),
        }
    }

    /// G's ρ against `ablation`'s C; no seeds (shown `—`) where the reports predate the
    /// reading.
    pub fn of(&self, ablation: Ablation) -> MeanStd {
        self.rho
            .get(&ablation)
            .copied()
            .unwrap_or_else(|| MeanStd::of([]))
    }

    /// The rows of Table 1: each baseline, then attribution patching toward each mean.
    pub fn rows(&self) -> Vec<(String, MeanStd)> {
        let rho = self.rho.iter().map(|(a, m)| (a.to_string(), *m));
        let patching = self
            .attribution_patching
            .iter()
            .map(|(a, m)| (format!("attribution patching ({a})"), *m));
        rho.chain(patching).collect()
    }
}

/// Table 3: ρ per analysed seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table3 {
    /// The components in canonical order, which each row's ranks follow (empty in summaries
    /// written before the ranks were kept).
    #[serde(default)]
    pub components: Vec<Component>,
    /// One row per analysed seed.
    pub rows: Vec<Table3Row>,
}

/// One seed's row of Table 3.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table3Row {
    /// The seed.
    pub seed: u64,
    /// The length analysed.
    pub analysis_length: usize,
    /// Exact-match accuracy there.
    pub base_accuracy: f64,
    /// ρ of G against each ablation's C.
    pub spearman: BTreeMap<Ablation, Option<f64>>,
    /// ρ of attribution patching toward each mean against that mean's C.
    pub attribution_patching: BTreeMap<Ablation, Option<f64>>,
    /// The ranks of G behind ρ (Figure 6 over seeds), in the order of [`Table3::components`].
    #[serde(default)]
    pub grad_ranks: Vec<f64>,
    /// The ranks of each ablation's C, in the same order.
    #[serde(default)]
    pub causal_ranks: BTreeMap<Ablation, Vec<f64>>,
}

/// Table 4: the top-two Bloats ablated one at a time and together (superadditivity).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table4 {
    /// One row per analysed seed.
    pub rows: Vec<Table4Row>,
    /// Mean single-ablation drop across seeds.
    pub individual_drop: MeanStd,
    /// Joint drop across seeds.
    pub joint_drop: MeanStd,
    /// The paper's ratio: mean joint drop / mean individual drop.
    pub ratio: Estimate,
    /// Mean joint drop / mean sum of the individual drops.
    pub additive_ratio: Estimate,
}

/// One seed's row of Table 4; the drops are `None` for a seed without Bloats.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table4Row {
    /// The seed.
    pub seed: u64,
    /// Exact-match accuracy at the analysis length.
    pub base_accuracy: f64,
    /// Mean single-ablation drop of the top-two Bloats.
    pub individual_drop: Option<f64>,
    /// Their joint drop.
    pub joint_drop: Option<f64>,
    /// Sum of their single drops.
    pub individual_sum: Option<f64>,
    /// Joint drop over the sum of the single drops.
    pub additive_ratio: Option<f64>,
}

impl Table4 {
    fn new(analysed: &[(&SeedReport, &GradAnalysis, f64)], ablation: Ablation) -> Self {
        let rows: Vec<Table4Row> = analysed
            .iter()
            .map(|(report, g, base_accuracy)| {
                let s = g.superadditivity[&ablation].as_ref();
                Table4Row {
                    seed: report.run.seed,
                    base_accuracy: *base_accuracy,
                    individual_drop: s.map(|s| s.individual_mean),
                    joint_drop: s.map(|s| s.joint_drop),
                    individual_sum: s.map(|s| s.individual_drops.iter().sum()),
                    additive_ratio: s.and_then(|s| s.additive_ratio),
                }
            })
            .collect();
        let over = |f: fn(&Table4Row) -> Option<f64>| MeanStd::of(rows.iter().map(f));
        Self {
            ratio: Estimate::ratio_of_means(rows.iter().map(|r| (r.joint_drop, r.individual_drop))),
            additive_ratio: Estimate::ratio_of_means(
                rows.iter().map(|r| (r.joint_drop, r.individual_sum)),
            ),
            individual_drop: over(|r| r.individual_drop),
            joint_drop: over(|r| r.joint_drop),
            rows,
        }
    }
}

/// Pruning (§3.3): accuracy change from ablating the top two of each class together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pruning {
    /// One row per analysed seed.
    pub rows: Vec<PruningRow>,
    /// The top-two Heroes across seeds (negative = damage).
    pub heroes: MeanStd,
    /// The top-two Bloats across seeds.
    pub bloats: MeanStd,
    /// Mean Hero damage over mean Bloat damage, over the seeds that have both.
    pub hero_to_bloat: Estimate,
}

/// One seed's pruning changes; `None` where the seed has no member of the class.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PruningRow {
    /// The seed.
    pub seed: u64,
    /// Change from pruning the top-two Heroes.
    pub heroes: Option<f64>,
    /// Change from pruning the top-two Bloats.
    pub bloats: Option<f64>,
}

impl Pruning {
    fn new(analysed: &[(&SeedReport, &GradAnalysis, f64)], ablation: Ablation) -> Self {
        let rows: Vec<PruningRow> = analysed
            .iter()
            .map(|(report, g, _)| {
                let p = &g.pruning[&ablation];
                PruningRow {
                    seed: report.run.seed,
                    heroes: p.heroes.as_ref().map(|j| j.change),
                    bloats: p.bloats.as_ref().map(|j| j.change),
                }
            })
            .collect();
        Self {
            heroes: MeanStd::of(rows.iter().map(|r| r.heroes)),
            bloats: MeanStd::of(rows.iter().map(|r| r.bloats)),
            hero_to_bloat: Estimate::ratio_of_means(rows.iter().map(|r| (r.heroes, r.bloats))),
            rows,
        }
    }
}

/// Heroes and Bloats among one layer's heads, summed over seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerCount {
    /// The layer.
    pub layer: usize,
    /// Heads classed as Hidden Heroes.
    pub heroes: usize,
    /// Heads classed as Gradient Bloats.
    pub bloats: usize,
}

/// Table 5 (and Figures 2–3): Hero and Bloat heads per layer, summed over seeds, per ablation
/// and threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table5 {
    /// Ablation → threshold → one count per layer.
    pub counts: BTreeMap<Ablation, BTreeMap<usize, Vec<LayerCount>>>,
}

impl Table5 {
    fn new(analyses: &[(&Analysis, &GradAnalysis)], ablations: &[Ablation]) -> Self {
        Self {
            counts: ablations
                .iter()
                .map(|&a| (a, layer_counts(analyses, a)))
                .collect(),
        }
    }

    /// The per-layer counts under `ablation` at threshold `t` (empty when not computed).
    pub fn at(&self, ablation: Ablation, t: usize) -> &[LayerCount] {
        self.counts
            .get(&ablation)
            .and_then(|by_t| by_t.get(&t))
            .map_or(&[], Vec::as_slice)
    }
}

/// How often one component took each role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Role {
    /// The component.
    pub component: Component,
    /// Seeds where it was a Hero.
    pub heroes: usize,
    /// Seeds where it was a Bloat.
    pub bloats: usize,
    /// Its mean Δ and the spread over seeds.
    pub delta: MeanStd,
}

/// One seed's Heroes and Bloats per ablation, at the pruning threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedRoles {
    /// The seed.
    pub seed: u64,
    /// The Hidden Heroes, in component order.
    pub heroes: BTreeMap<Ablation, Vec<Component>>,
    /// The Gradient Bloats, in component order.
    pub bloats: BTreeMap<Ablation, Vec<Component>>,
}

/// Figure 1 and component identity: each component's mean Δ and how often it was a Hero or a
/// Bloat, and each seed's Heroes and Bloats, at the pruning threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Roles {
    /// The threshold t the roles are classed at (the pruning threshold).
    pub threshold: usize,
    /// Per ablation, one role per component.
    pub components: BTreeMap<Ablation, Vec<Role>>,
    /// Per analysed seed, its Heroes and Bloats.
    pub seeds: Vec<SeedRoles>,
}

impl Roles {
    fn new(
        analysed: &[(&SeedReport, &Analysis, &GradAnalysis)],
        threshold: usize,
        ablations: &[Ablation],
    ) -> Self {
        let members = |a: &Analysis, g: &GradAnalysis, ablation: Ablation, class: Class| {
            a.components
                .iter()
                .zip(&g.class[&ablation][&threshold])
                .filter(|&(_, &k)| k == class)
                .map(|(c, _)| c.name)
                .collect()
        };
        let by_ablation = |a: &Analysis, g: &GradAnalysis, class: Class| {
            ablations
                .iter()
                .map(|&ablation| (ablation, members(a, g, ablation, class)))
                .collect()
        };
        let analyses: Vec<(&Analysis, &GradAnalysis)> =
            analysed.iter().map(|(_, a, g)| (*a, *g)).collect();
        Self {
            threshold,
            components: ablations
                .iter()
                .map(|&a| (a, roles(&analyses, a, threshold)))
                .collect(),
            seeds: analysed
                .iter()
                .map(|(report, a, g)| SeedRoles {
                    seed: report.run.seed,
                    heroes: by_ablation(a, g, Class::Hero),
                    bloats: by_ablation(a, g, Class::Bloat),
                })
                .collect(),
        }
    }

    /// In how many seeds `component` was of `class` under `ablation`; `None` when not recorded.
    pub fn count(&self, component: Component, class: Class, ablation: Ablation) -> Option<usize> {
        let role = self
            .components
            .get(&ablation)?
            .iter()
            .find(|r| r.component == component)?;
        match class {
            Class::Hero => Some(role.heroes),
            Class::Bloat => Some(role.bloats),
            Class::Aligned => None,
        }
    }
}

/// Figure 4: per layer, the mean over its heads of the W_V gradient norm, mean ± std across
/// seeds: raw (the paper's figure) and divided by √N.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure4 {
    /// The raw Frobenius norm, one value per layer.
    pub raw: Vec<MeanStd>,
    /// Divided by √N, one value per layer.
    pub normalised: Vec<MeanStd>,
    /// Per analysed seed, the raw value of each layer.
    pub per_seed: Vec<Vec<f64>>,
}

impl Figure4 {
    fn new(analyses: &[&Analysis]) -> Self {
        let layers = analyses.first().map_or(0, |a| a.layer_grad_norm.raw.len());
        let per_layer = |f: fn(&Analysis) -> &Vec<f64>| {
            (0..layers)
                .map(|l| MeanStd::of(analyses.iter().map(|a| Some(f(a)[l]))))
                .collect()
        };
        Self {
            raw: per_layer(|a| &a.layer_grad_norm.raw),
            normalised: per_layer(|a| &a.layer_grad_norm.normalised),
            per_seed: analyses
                .iter()
                .map(|a| a.layer_grad_norm.raw.clone())
                .collect(),
        }
    }
}

/// A seed left out of the summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SkippedSeed {
    /// The seed.
    pub seed: u64,
    /// Why no length could be analysed.
    pub reason: String,
}

/// The across-seed tables of one task under one G reading, one field per table or figure of the
/// paper; the per-ablation ones hold every ablation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The task.
    pub task: Task,
    /// The reading of G everything here is computed under.
    pub g_weights: GWeights,
    /// The class rule the reports were analysed under, the first analysed one's: their classes
    /// follow it, and so do Figure 6's colours over the seeds (absent in summaries written
    /// before the rule was a choice: inclusive).
    #[serde(default)]
    pub class_rule: ClassRule,
    /// Every seed given.
    pub seeds: Vec<u64>,
    /// The position schemes the runs were trained under (METHOD §2), each once.
    pub positions: Vec<Positions>,
    /// Seeds left out, with their reasons.
    pub skipped: Vec<SkippedSeed>,
    /// The 95% Wilson interval of the share of seeds analysed (in the window).
    pub in_window: Option<[f64; 2]>,
    /// ρ per baseline across seeds.
    pub table1: Table1,
    /// ρ per seed.
    pub table3: Table3,
    /// Superadditivity of the top-two Bloats, per ablation.
    pub table4: BTreeMap<Ablation, Table4>,
    /// Pruning the top two of each class, per ablation.
    pub pruning: BTreeMap<Ablation, Pruning>,
    /// Hero and Bloat heads per layer.
    pub table5: Table5,
    /// Each component's Δ and roles, each seed's Heroes and Bloats.
    pub roles: Roles,
    /// The W_V gradient norm per layer.
    pub figure4: Figure4,
}

impl Summary {
    /// Summarises the reports of one task (reports of other tasks are ignored) under G reading
    /// `g`. Every report must be current ([`SeedReport::outdated`] is `None`): the caller refuses
    /// outdated ones with that message, as a summary never mixes contracts. A report made
    /// before reading `g` is listed as skipped, saying so; the per-ablation tables hold the
    /// ablations every analysed report has ([`Summary::ablations`]).
    pub fn new(task: Task, reports: &[SeedReport], g: GWeights) -> Self {
        let reports: Vec<&SeedReport> = reports.iter().filter(|r| r.run.task == task).collect();
        let analysed: Vec<(&SeedReport, &Analysis, &GradAnalysis)> = reports
            .iter()
            .filter_map(|r| {
                let a = r.analysis.as_ref()?;
                Some((*r, a, a.by_grad.get(&g)?))
            })
            .collect();
        let skipped = reports
            .iter()
            .filter(|r| !analysed.iter().any(|(a, _, _)| std::ptr::eq(*a, **r)))
            .map(|r| SkippedSeed {
                seed: r.run.seed,
                reason: r
                    .run
                    .skip_reason
                    .clone()
                    .or_else(|| r.outdated())
                    .or_else(|| {
                        r.analysis.as_ref().map(|_| {
                            format!("its report was made before G reading {g}; analyse it again")
                        })
                    })
                    .unwrap_or_else(|| "not analysed".into()),
            })
            .collect();
        let ablations: Vec<Ablation> = Ablation::ALL
            .into_iter()
            .filter(|a| {
                analysed
                    .iter()
                    .all(|(_, an, _)| an.causal_ranks.contains_key(a))
            })
            .collect();
        let table3 = Table3 {
            components: analysed.first().map_or_else(Vec::new, |(_, a, _)| {
                a.components.iter().map(|c| c.name).collect()
            }),
            rows: analysed
                .iter()
                .map(|(r, a, g)| Table3Row {
                    seed: r.run.seed,
                    analysis_length: r.run.analysis_length.unwrap_or(0),
                    base_accuracy: a.base_accuracy,
                    spearman: g.spearman.clone(),
                    attribution_patching: a
                        .attribution_patching
                        .iter()
                        .map(|(&m, p)| (m, p.spearman))
                        .collect(),
                    grad_ranks: g.ranks.clone(),
                    causal_ranks: a.causal_ranks.clone(),
                })
                .collect(),
        };
        let with_base: Vec<(&SeedReport, &GradAnalysis, f64)> = analysed
            .iter()
            .map(|(r, a, g)| (*r, *g, a.base_accuracy))
            .collect();
        let pairs: Vec<(&Analysis, &GradAnalysis)> =
            analysed.iter().map(|(_, a, g)| (*a, *g)).collect();
        let analyses: Vec<&Analysis> = analysed.iter().map(|(_, a, _)| *a).collect();
        let threshold = reports
            .first()
            .map_or(6, |r| r.run.config.analysis.threshold);
        Summary {
            task,
            g_weights: g,
            class_rule: analysed
                .first()
                .map_or_else(ClassRule::default, |(r, _, _)| {
                    r.run.config.analysis.class_rule
                }),
            seeds: reports.iter().map(|r| r.run.seed).collect(),
            positions: reports
                .iter()
                .map(|r| r.run.config.model.positions)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            in_window: wilson_interval(analysed.len(), reports.len()),
            skipped,
            table1: Table1::new(&table3.rows, &ablations),
            table3,
            table4: ablations
                .iter()
                .map(|&a| (a, Table4::new(&with_base, a)))
                .collect(),
            pruning: ablations
                .iter()
                .map(|&a| (a, Pruning::new(&with_base, a)))
                .collect(),
            table5: Table5::new(&pairs, &ablations),
            roles: Roles::new(&analysed, threshold, &ablations),
            figure4: Figure4::new(&analyses),
        }
    }

    /// One summary per task that has reports among `reports`, under G reading `g`, for the
    /// tasks whose analysed reports all hold reading `g` (reports made before it leave it out).
    pub fn per_task(reports: &[SeedReport], g: GWeights) -> BTreeMap<Task, Summary> {
        Task::ALL
            .into_iter()
            .filter(|&t| {
                let of_task = || reports.iter().filter(move |r| r.run.task == t);
                of_task().next().is_some()
                    && of_task()
                        .filter_map(|r| r.analysis.as_ref())
                        .all(|a| a.by_grad.contains_key(&g))
            })
            .map(|t| (t, Summary::new(t, reports, g)))
            .collect()
    }

    /// The number of seeds analysed (not skipped).
    pub fn analysed(&self) -> usize {
        self.table3.rows.len()
    }

    /// The ablations (C readings) this summary holds: those every analysed report has.
    pub fn ablations(&self) -> Vec<Ablation> {
        self.table1.rho.keys().copied().collect()
    }
}

/// Per threshold, Hero and Bloat heads per layer, summed over the analyses.
fn layer_counts(
    analyses: &[(&Analysis, &GradAnalysis)],
    ablation: Ablation,
) -> BTreeMap<usize, Vec<LayerCount>> {
    let mut counts: BTreeMap<usize, BTreeMap<usize, LayerCount>> = BTreeMap::new();
    for (analysis, g) in analyses {
        for (&threshold, classes) in &g.class[&ablation] {
            let per_layer = counts.entry(threshold).or_default();
            for (component, class) in analysis.components.iter().zip(classes) {
                let Component::Head { layer, .. } = component.name else {
                    continue;
                };
                let count = per_layer.entry(layer).or_insert(LayerCount {
                    layer,
                    heroes: 0,
                    bloats: 0,
                });
                match class {
                    Class::Hero => count.heroes += 1,
                    Class::Bloat => count.bloats += 1,
                    Class::Aligned => {}
                }
            }
        }
    }
    counts
        .into_iter()
        .map(|(t, per_layer)| (t, per_layer.into_values().collect()))
        .collect()
}

/// Each component's mean Δ and its Hero/Bloat counts at `threshold`.
fn roles(
    analyses: &[(&Analysis, &GradAnalysis)],
    ablation: Ablation,
    threshold: usize,
) -> Vec<Role> {
    let Some((first, _)) = analyses.first() else {
        return Vec::new();
    };
    first
        .components
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let classes = analyses
                .iter()
                .map(|(_, g)| g.class[&ablation][&threshold][i])
                .collect::<Vec<_>>();
            Role {
                component: c.name,
                heroes: classes.iter().filter(|&&c| c == Class::Hero).count(),
                bloats: classes.iter().filter(|&&c| c == Class::Bloat).count(),
                delta: MeanStd::of(analyses.iter().map(|(_, g)| Some(g.delta[&ablation][i]))),
            }
        })
        .collect()
}
