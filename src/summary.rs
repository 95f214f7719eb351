//! Across seeds (METHOD §9): the paper's tables and figure data from per-seed reports.
//!
//! Means and sample standard deviations are over the seeds that were analysed (skipped seeds are
//! listed with their reason and left out), and always say how many seeds they use.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::ablation::Ablation;
use crate::analysis::{Analysis, Class, Correlations};
use crate::component::Component;
use crate::model::Positions;
use crate::report::SeedReport;
use crate::stats::{mean, sample_std};
use crate::task::Task;

/// The summaries of a sweep, as `gradcause sweep` writes them to `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    /// The command that made it.
    pub command: String,
    /// When, in UTC (ISO 8601).
    pub generated: String,
    /// One summary per task with reports.
    pub tasks: BTreeMap<Task, Summary>,
}

impl SweepSummary {
    /// Summarises `reports`, per task.
    pub fn new(reports: &[SeedReport], command: String, generated: String) -> Self {
        Self {
            command,
            generated,
            tasks: Summary::per_task(reports),
        }
    }
}

/// A mean ± sample standard deviation over `n` values; `None` where undefined (no values; one
/// value for the deviation).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// The mean.
    pub mean: Option<f64>,
    /// The sample standard deviation.
    pub std: Option<f64>,
    /// Number of values.
    pub n: usize,
}

impl MeanStd {
    /// Of the defined values among `values`.
    pub fn of(values: impl IntoIterator<Item = Option<f64>>) -> Self {
        let values: Vec<f64> = values.into_iter().flatten().collect();
        Self {
            mean: mean(&values),
            std: sample_std(&values),
            n: values.len(),
        }
    }

    /// `0.72 ± 0.08 (n=9)`, with `scale` applied (100 for percentages).
    pub fn display(&self, scale: f64, digits: usize) -> String {
        let number = |x: Option<f64>| {
            x.map_or("—".to_string(), |x| {
                format!("{:.digits$}", x * scale + 0.0)
            })
        };
        format!(
            "{} ± {} (n={})",
            number(self.mean),
            number(self.std),
            self.n
        )
    }
}

/// Table 1: ρ per baseline, mean ± sample std across the analysed seeds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table1 {
    /// G against mean-ablation C.
    pub mean: MeanStd,
    /// G against zero-ablation C.
    pub zero: MeanStd,
    /// G against resample-ablation C.
    pub resample: MeanStd,
    /// Attribution patching against mean-ablation C.
    pub attribution_patching: MeanStd,
}

impl Table1 {
    fn new(rows: &[Table3Row]) -> Self {
        let over =
            |f: fn(&Correlations) -> Option<f64>| MeanStd::of(rows.iter().map(|r| f(&r.spearman)));
        Self {
            mean: over(|s| s.mean),
            zero: over(|s| s.zero),
            resample: over(|s| s.resample),
            attribution_patching: over(|s| s.attribution_patching),
        }
    }

    /// The rows of Table 1, in the paper's order.
    pub fn rows(&self) -> [(&'static str, MeanStd); 4] {
        [
            ("mean", self.mean),
            ("zero", self.zero),
            ("resample", self.resample),
            ("attribution_patching", self.attribution_patching),
        ]
    }
}

/// Table 3: ρ per analysed seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table3 {
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
    /// ρ per baseline.
    pub spearman: Correlations,
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
    pub ratio: Option<f64>,
    /// Mean joint drop / mean sum of the individual drops.
    pub additive_ratio: Option<f64>,
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
    fn new(analysed: &[(&SeedReport, &Analysis)]) -> Self {
        let rows: Vec<Table4Row> = analysed
            .iter()
            .map(|(report, a)| {
                let s = a.superadditivity.as_ref();
                Table4Row {
                    seed: report.run.seed,
                    base_accuracy: a.base_accuracy,
                    individual_drop: s.map(|s| s.individual_mean),
                    joint_drop: s.map(|s| s.joint_drop),
                    individual_sum: s.map(|s| s.individual_drops.iter().sum()),
                    additive_ratio: s.and_then(|s| s.additive_ratio),
                }
            })
            .collect();
        let over = |f: fn(&Table4Row) -> Option<f64>| MeanStd::of(rows.iter().map(f));
        let (individual_drop, joint_drop) = (over(|r| r.individual_drop), over(|r| r.joint_drop));
        let sums = over(|r| r.individual_sum);
        let ratio =
            |numerator: &MeanStd, denominator: &MeanStd| match (numerator.mean, denominator.mean) {
                (Some(n), Some(d)) if d != 0.0 => Some(n / d),
                _ => None,
            };
        Self {
            ratio: ratio(&joint_drop, &individual_drop),
            additive_ratio: ratio(&joint_drop, &sums),
            rows,
            individual_drop,
            joint_drop,
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
    fn new(analysed: &[(&SeedReport, &Analysis)]) -> Self {
        let rows: Vec<PruningRow> = analysed
            .iter()
            .map(|(report, a)| PruningRow {
                seed: report.run.seed,
                heroes: a.pruning.heroes.as_ref().map(|j| j.change),
                bloats: a.pruning.bloats.as_ref().map(|j| j.change),
            })
            .collect();
        Self {
            heroes: MeanStd::of(rows.iter().map(|r| r.heroes)),
            bloats: MeanStd::of(rows.iter().map(|r| r.bloats)),
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
    fn new(analyses: &[&Analysis]) -> Self {
        Self {
            counts: Ablation::ALL
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
    fn new(analysed: &[(&SeedReport, &Analysis)]) -> Self {
        let analyses: Vec<&Analysis> = analysed.iter().map(|(_, a)| *a).collect();
        let members = |a: &Analysis, ablation: Ablation, class: Class| {
            a.components
                .iter()
                .zip(&a.class[&ablation][&a.pruning.threshold])
                .filter(|&(_, &k)| k == class)
                .map(|(c, _)| c.name)
                .collect()
        };
        let by_ablation = |a: &Analysis, class: Class| {
            Ablation::ALL
                .iter()
                .map(|&ablation| (ablation, members(a, ablation, class)))
                .collect()
        };
        Self {
            threshold: analyses.first().map_or(0, |a| a.pruning.threshold),
            components: Ablation::ALL
                .iter()
                .map(|&a| (a, roles(&analyses, a)))
                .collect(),
            seeds: analysed
                .iter()
                .map(|(report, a)| SeedRoles {
                    seed: report.run.seed,
                    heroes: by_ablation(a, Class::Hero),
                    bloats: by_ablation(a, Class::Bloat),
                })
                .collect(),
        }
    }
}

/// Figure 4: per layer, the mean over its heads of the W_V-only gradient magnitude, mean ± std
/// across seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure4 {
    /// One value per layer.
    pub layers: Vec<MeanStd>,
}

impl Figure4 {
    fn new(analyses: &[&Analysis]) -> Self {
        let layers = analyses.first().map_or(0, |a| a.layer_grad_norm.len());
        Self {
            layers: (0..layers)
                .map(|l| MeanStd::of(analyses.iter().map(|a| Some(a.layer_grad_norm[l]))))
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

/// The across-seed tables of one task, one field per table or figure of the paper.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The task.
    pub task: Task,
    /// Every seed given.
    pub seeds: Vec<u64>,
    /// The position schemes the runs were trained under (METHOD §2), each once.
    pub positions: Vec<Positions>,
    /// Seeds left out, with their reasons.
    pub skipped: Vec<SkippedSeed>,
    /// ρ per baseline across seeds.
    pub table1: Table1,
    /// ρ per seed.
    pub table3: Table3,
    /// Superadditivity of the top-two Bloats.
    pub table4: Table4,
    /// Pruning the top two of each class.
    pub pruning: Pruning,
    /// Hero and Bloat heads per layer.
    pub table5: Table5,
    /// Each component's Δ and roles, each seed's Heroes and Bloats.
    pub roles: Roles,
    /// The W_V gradient magnitude per layer.
    pub figure4: Figure4,
}

impl Summary {
    /// Summarises the reports of one task (reports of other tasks are ignored).
    pub fn new(task: Task, reports: &[SeedReport]) -> Self {
        let reports: Vec<&SeedReport> = reports.iter().filter(|r| r.run.task == task).collect();
        let analysed: Vec<(&SeedReport, &Analysis)> = reports
            .iter()
            .filter_map(|r| r.analysis.as_ref().map(|a| (*r, a)))
            .collect();
        let skipped = reports
            .iter()
            .filter(|r| r.analysis.is_none())
            .map(|r| SkippedSeed {
                seed: r.run.seed,
                reason: r
                    .run
                    .skip_reason
                    .clone()
                    .unwrap_or_else(|| "not analysed".into()),
            })
            .collect();
        let table3 = Table3 {
            rows: analysed
                .iter()
                .map(|(r, a)| Table3Row {
                    seed: r.run.seed,
                    analysis_length: r.run.analysis_length.unwrap_or(0),
                    base_accuracy: a.base_accuracy,
                    spearman: a.spearman.clone(),
                })
                .collect(),
        };
        let analyses: Vec<&Analysis> = analysed.iter().map(|(_, a)| *a).collect();
        Summary {
            task,
            seeds: reports.iter().map(|r| r.run.seed).collect(),
            positions: reports
                .iter()
                .map(|r| r.run.config.model.positions)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            skipped,
            table1: Table1::new(&table3.rows),
            table3,
            table4: Table4::new(&analysed),
            pruning: Pruning::new(&analysed),
            table5: Table5::new(&analyses),
            roles: Roles::new(&analysed),
            figure4: Figure4::new(&analyses),
        }
    }

    /// One summary per task that has reports among `reports`.
    pub fn per_task(reports: &[SeedReport]) -> BTreeMap<Task, Summary> {
        Task::ALL
            .into_iter()
            .filter(|&t| reports.iter().any(|r| r.run.task == t))
            .map(|t| (t, Summary::new(t, reports)))
            .collect()
    }

    /// The number of seeds analysed (not skipped).
    pub fn analysed(&self) -> usize {
        self.table3.rows.len()
    }
}

/// Per threshold, Hero and Bloat heads per layer, summed over the analyses.
fn layer_counts(analyses: &[&Analysis], ablation: Ablation) -> BTreeMap<usize, Vec<LayerCount>> {
    let mut counts: BTreeMap<usize, BTreeMap<usize, LayerCount>> = BTreeMap::new();
    for analysis in analyses {
        for (&threshold, classes) in &analysis.class[&ablation] {
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

/// Each component's mean Δ and its Hero/Bloat counts at the pruning threshold.
fn roles(analyses: &[&Analysis], ablation: Ablation) -> Vec<Role> {
    let Some(first) = analyses.first() else {
        return Vec::new();
    };
    first
        .components
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let classes = analyses
                .iter()
                .map(|a| a.class[&ablation][&a.pruning.threshold][i])
                .collect::<Vec<_>>();
            Role {
                component: c.name,
                heroes: classes.iter().filter(|&&c| c == Class::Hero).count(),
                bloats: classes.iter().filter(|&&c| c == Class::Bloat).count(),
                delta: MeanStd::of(analyses.iter().map(|a| Some(a.delta[&ablation][i]))),
            }
        })
        .collect()
}

/// One CSV line; fields with commas, quotes or newlines are quoted.
fn csv_line(fields: &[String]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect();
    quoted.join(",") + "\n"
}

fn number(x: Option<f64>) -> String {
    x.map_or(String::new(), |x| format!("{x}"))
}

impl Summary {
    /// The tables as CSV files: `(file name, contents)`.
    pub fn csv_files(&self) -> Vec<(String, String)> {
        let task = self.task.name();
        let mut files = Vec::new();

        let mut table1 = csv_line(&["baseline".into(), "mean".into(), "std".into(), "n".into()]);
        for (baseline, m) in self.table1.rows() {
            table1 += &csv_line(&[
                baseline.into(),
                number(m.mean),
                number(m.std),
                m.n.to_string(),
            ]);
        }
        files.push((format!("{task}-table1-spearman.csv"), table1));

        let header = [
            "seed",
            "analysis_length",
            "base_accuracy",
            "rho_mean",
            "rho_zero",
            "rho_resample",
            "rho_attribution_patching",
            "bloat_individual_drop",
            "bloat_joint_drop",
            "bloat_additive_ratio",
            "hero_pruning_change",
            "bloat_pruning_change",
            "skip_reason",
        ];
        let mut seeds = csv_line(&header.map(String::from));
        // The three tables hold the analysed seeds in the same order.
        for ((r, b), p) in self
            .table3
            .rows
            .iter()
            .zip(&self.table4.rows)
            .zip(&self.pruning.rows)
        {
            seeds += &csv_line(&[
                r.seed.to_string(),
                r.analysis_length.to_string(),
                r.base_accuracy.to_string(),
                number(r.spearman.mean),
                number(r.spearman.zero),
                number(r.spearman.resample),
                number(r.spearman.attribution_patching),
                number(b.individual_drop),
                number(b.joint_drop),
                number(b.additive_ratio),
                number(p.heroes),
                number(p.bloats),
                String::new(),
            ]);
        }
        for s in &self.skipped {
            let mut fields = vec![s.seed.to_string()];
            fields.extend(std::iter::repeat_n(String::new(), header.len() - 2));
            fields.push(s.reason.clone());
            seeds += &csv_line(&fields);
        }
        files.push((format!("{task}-tables3-4-seeds.csv"), seeds));

        let mut table5 =
            csv_line(&["ablation", "threshold", "layer", "heroes", "bloats"].map(String::from));
        for (ablation, per_threshold) in &self.table5.counts {
            for (threshold, layers) in per_threshold {
                for c in layers {
                    table5 += &csv_line(&[
                        ablation.to_string(),
                        threshold.to_string(),
                        c.layer.to_string(),
                        c.heroes.to_string(),
                        c.bloats.to_string(),
                    ]);
                }
            }
        }
        files.push((format!("{task}-table5-layer-counts.csv"), table5));

        let mut figure1 = csv_line(
            &[
                "ablation",
                "component",
                "mean_delta",
                "std_delta",
                "n",
                "heroes",
                "bloats",
            ]
            .map(String::from),
        );
        for (ablation, roles) in &self.roles.components {
            for r in roles {
                figure1 += &csv_line(&[
                    ablation.to_string(),
                    r.component.to_string(),
                    number(r.delta.mean),
                    number(r.delta.std),
                    r.delta.n.to_string(),
                    r.heroes.to_string(),
                    r.bloats.to_string(),
                ]);
            }
        }
        files.push((format!("{task}-figure1-delta.csv"), figure1));

        let mut figure4 = csv_line(&["layer", "mean_wv_grad_norm", "std", "n"].map(String::from));
        for (layer, m) in self.figure4.layers.iter().enumerate() {
            figure4 += &csv_line(&[
                layer.to_string(),
                number(m.mean),
                number(m.std),
                m.n.to_string(),
            ]);
        }
        files.push((format!("{task}-figure4-layer-grad-norm.csv"), figure4));
        files
    }

    /// The tables as text, laid out like the paper's.
    pub fn text(&self) -> String {
        let mut out = String::new();
        // `+ 0.0` turns -0.0 into 0.0, so no "-0.0%" appears.
        let pct =
            |x: Option<f64>| x.map_or("—".to_string(), |x| format!("{:.1}%", 100.0 * x + 0.0));
        let rho = |x: Option<f64>| x.map_or("—".to_string(), |x| format!("{x:.2}"));
        let used = self.analysed();
        let positions: Vec<&str> = self.positions.iter().map(|p| p.name()).collect();
        let _ = writeln!(
            out,
            "== {} — {} of {} seeds analysed (positions: {})",
            self.task,
            used,
            self.seeds.len(),
            positions.join(", ")
        );
        for s in &self.skipped {
            let _ = writeln!(out, "   skipped seed {}: {}", s.seed, s.reason);
        }

        let _ = writeln!(
            out,
            "\nTable 1: Spearman ρ, gradient vs causal importance (mean ± std)"
        );
        for (baseline, m) in self.table1.rows() {
            let _ = writeln!(out, "  {baseline:<22} {}", m.display(1.0, 2));
        }

        let _ = writeln!(out, "\nTable 3: per-seed Spearman ρ");
        let _ = writeln!(
            out,
            "  {:>6} {:>4} {:>7} {:>6} {:>6} {:>9} {:>9}",
            "seed", "n", "base", "mean", "zero", "resample", "attr.p."
        );
        for r in &self.table3.rows {
            let _ = writeln!(
                out,
                "  {:>6} {:>4} {:>7} {:>6} {:>6} {:>9} {:>9}",
                r.seed,
                r.analysis_length,
                pct(Some(r.base_accuracy)),
                rho(r.spearman.mean),
                rho(r.spearman.zero),
                rho(r.spearman.resample),
                rho(r.spearman.attribution_patching)
            );
        }

        let _ = writeln!(
            out,
            "\nTable 4: top-two Bloats, individual vs joint ablation drops"
        );
        let _ = writeln!(
            out,
            "  {:>6} {:>8} {:>12} {:>10} {:>15}",
            "seed", "base", "indiv. drop", "joint drop", "joint/Σ indiv."
        );
        for r in &self.table4.rows {
            let _ = writeln!(
                out,
                "  {:>6} {:>8} {:>12} {:>10} {:>15}",
                r.seed,
                pct(Some(r.base_accuracy)),
                pct(r.individual_drop),
                pct(r.joint_drop),
                r.additive_ratio.map_or("—".into(), |x| format!("{x:.2}×"))
            );
        }
        let _ = writeln!(
            out,
            "  mean individual drop {}, mean joint drop {}",
            self.table4.individual_drop.display(100.0, 1),
            self.table4.joint_drop.display(100.0, 1)
        );
        let times = |x: Option<f64>| x.map_or("—".into(), |x| format!("{x:.1}×"));
        let _ = writeln!(
            out,
            "  ratio mean joint / mean individual: {}; mean joint / mean Σ individual: {}",
            times(self.table4.ratio),
            times(self.table4.additive_ratio)
        );

        let _ = writeln!(out, "\nPruning the top two (accuracy change, mean ± std)");
        for (class, m) in [
            ("heroes", self.pruning.heroes),
            ("bloats", self.pruning.bloats),
        ] {
            let _ = writeln!(out, "  {class:<8} {}", m.display(100.0, 1));
        }

        if let Some(per_threshold) = self.table5.counts.get(&Ablation::Mean) {
            let _ = writeln!(
                out,
                "\nTable 5: Hero (H) and Bloat (B) heads per layer, mean ablation, summed over seeds"
            );
            let mut header = format!("  {:>5}", "layer");
            for t in per_threshold.keys() {
                let _ = write!(header, " | ±{t:<2}  H   B");
            }
            let _ = writeln!(out, "{header}");
            let layers = per_threshold.values().next().map_or(0, Vec::len);
            for row in 0..layers {
                let mut line = format!("  {row:>5}");
                for counts in per_threshold.values() {
                    let _ = write!(
                        line,
                        " |     {:>3} {:>3}",
                        counts[row].heroes, counts[row].bloats
                    );
                }
                let _ = writeln!(out, "{line}");
            }
        }

        if let Some(roles) = self.roles.components.get(&Ablation::Mean) {
            let _ = writeln!(
                out,
                "\nFigure 1: mean Δ = Rank(G) − Rank(C) per component, mean ablation"
            );
            for r in roles {
                let d = r.delta.mean.unwrap_or(0.0);
                let bar = "█".repeat(d.abs().round() as usize);
                let (left, right) = if d < 0.0 {
                    (bar, String::new())
                } else {
                    (String::new(), bar)
                };
                let _ = writeln!(
                    out,
                    "  {:<7} {:>20}|{:<20} {:+.1}  (Hero {}×, Bloat {}×)",
                    r.component.to_string(),
                    left,
                    right,
                    d,
                    r.heroes,
                    r.bloats
                );
            }
        }

        let _ = writeln!(
            out,
            "\nFigure 4: W_V gradient norm per layer (mean over heads and seeds)"
        );
        for (layer, m) in self.figure4.layers.iter().enumerate() {
            let _ = writeln!(out, "  layer {layer}: {}", m.display(1.0, 4));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_std_skips_undefined_values() {
        let m = MeanStd::of([Some(1.0), None, Some(3.0)]);
        assert_eq!((m.mean, m.n), (Some(2.0), 2));
        assert!((m.std.unwrap() - 2f64.sqrt()).abs() < 1e-12);
        let one = MeanStd::of([Some(5.0)]);
        assert_eq!((one.mean, one.std, one.n), (Some(5.0), None, 1));
        assert_eq!(MeanStd::of([None]).display(1.0, 2), "— ± — (n=0)");
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let line = csv_line(&["a".into(), "b,c".into(), "say \"hi\"".into()]);
        assert_eq!(line, "a,\"b,c\",\"say \"\"hi\"\"\"\n");
    }
}
