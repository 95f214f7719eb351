//! Across seeds (METHOD §9): the paper's tables and figure data from per-seed reports.
//!
//! Means and sample standard deviations are over the seeds that were analysed (skipped seeds are
//! listed with their reason and left out), and always say how many seeds they use.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::ablation::Ablation;
use crate::analysis::{Analysis, Class, Correlations};
use crate::component::Component;
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
        let tasks = Task::ALL
            .into_iter()
            .filter(|&t| reports.iter().any(|r| r.run.task == t))
            .map(|t| (t, Summary::new(t, reports)))
            .collect();
        Self {
            command,
            generated,
            tasks,
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

/// ρ per baseline across seeds (Table 1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpearmanSummary {
    /// G against mean-ablation C.
    pub mean: MeanStd,
    /// G against zero-ablation C.
    pub zero: MeanStd,
    /// G against resample-ablation C.
    pub resample: MeanStd,
    /// Attribution patching against mean-ablation C.
    pub attribution_patching: MeanStd,
}

impl SpearmanSummary {
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

/// Accuracy change from pruning the top two of each class, across seeds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PruningSummary {
    /// The top-two Heroes.
    pub heroes: MeanStd,
    /// The top-two Bloats.
    pub bloats: MeanStd,
}

/// A seed left out of the summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SkippedSeed {
    /// The seed.
    pub seed: u64,
    /// Why no length could be analysed.
    pub reason: String,
}

/// One seed's row of Tables 3 and 4.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedRow {
    /// The seed.
    pub seed: u64,
    /// The length analysed.
    pub analysis_length: usize,
    /// Exact-match accuracy there.
    pub base_accuracy: f64,
    /// ρ per baseline.
    pub spearman: Correlations,
    /// Mean single-ablation drop of the top-two Bloats; `None` without Bloats.
    pub bloat_individual_drop: Option<f64>,
    /// Their joint drop.
    pub bloat_joint_drop: Option<f64>,
    /// Joint drop over the sum of the single drops.
    pub bloat_additive_ratio: Option<f64>,
    /// Pruning change of the top-two Heroes (negative = damage).
    pub hero_pruning_change: Option<f64>,
    /// Pruning change of the top-two Bloats.
    pub bloat_pruning_change: Option<f64>,
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

/// The across-seed tables of one task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The task.
    pub task: Task,
    /// Every seed given.
    pub seeds: Vec<u64>,
    /// Seeds left out, with their reasons.
    pub skipped: Vec<SkippedSeed>,
    /// Table 1: ρ per baseline.
    pub spearman: SpearmanSummary,
    /// Tables 3 and 4: one row per analysed seed.
    pub rows: Vec<SeedRow>,
    /// Table 4: mean single drop of the top-two Bloats.
    pub bloat_individual_drop: MeanStd,
    /// Table 4: mean joint drop.
    pub bloat_joint_drop: MeanStd,
    /// The paper's ratio: mean joint drop / mean individual drop.
    pub superadditivity_ratio: Option<f64>,
    /// Mean joint drop / mean sum of the individual drops.
    pub additive_ratio: Option<f64>,
    /// Pruning change of the top-two Heroes and Bloats (§3.3).
    pub pruning: PruningSummary,
    /// Table 5 / Figures 2–3: per ablation, per threshold, Hero and Bloat heads per layer.
    pub layer_counts: BTreeMap<Ablation, BTreeMap<usize, Vec<LayerCount>>>,
    /// Figure 1 and role stability: per ablation, each component's mean Δ and role counts at the
    /// pruning threshold.
    pub roles: BTreeMap<Ablation, Vec<Role>>,
    /// Figure 4: per layer, the W_V-only gradient norm averaged over seeds.
    pub layer_grad_norm: Vec<MeanStd>,
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

        let rows: Vec<SeedRow> = analysed.iter().map(|(r, a)| seed_row(r, a)).collect();
        let over_rows = |f: &dyn Fn(&SeedRow) -> Option<f64>| MeanStd::of(rows.iter().map(f));
        let spearman = SpearmanSummary {
            mean: over_rows(&|r| r.spearman.mean),
            zero: over_rows(&|r| r.spearman.zero),
            resample: over_rows(&|r| r.spearman.resample),
            attribution_patching: over_rows(&|r| r.spearman.attribution_patching),
        };

        let bloat_individual_drop = over_rows(&|r| r.bloat_individual_drop);
        let bloat_joint_drop = over_rows(&|r| r.bloat_joint_drop);
        let bloat_sums = MeanStd::of(analysed.iter().map(|(_, a)| {
            a.superadditivity
                .as_ref()
                .map(|s| s.individual_drops.iter().sum::<f64>())
        }));
        let ratio =
            |numerator: &MeanStd, denominator: &MeanStd| match (numerator.mean, denominator.mean) {
                (Some(n), Some(d)) if d != 0.0 => Some(n / d),
                _ => None,
            };

        let pruning = PruningSummary {
            heroes: over_rows(&|r| r.hero_pruning_change),
            bloats: over_rows(&|r| r.bloat_pruning_change),
        };

        let analyses: Vec<&Analysis> = analysed.iter().map(|(_, a)| *a).collect();
        Summary {
            task,
            seeds: reports.iter().map(|r| r.run.seed).collect(),
            skipped,
            spearman,
            superadditivity_ratio: ratio(&bloat_joint_drop, &bloat_individual_drop),
            additive_ratio: ratio(&bloat_joint_drop, &bloat_sums),
            bloat_individual_drop,
            bloat_joint_drop,
            pruning,
            layer_counts: Ablation::ALL
                .iter()
                .map(|&a| (a, layer_counts(&analyses, a)))
                .collect(),
            roles: Ablation::ALL
                .iter()
                .map(|&a| (a, roles(&analyses, a)))
                .collect(),
            layer_grad_norm: layer_grad_norms(&analyses),
            rows,
        }
    }
}

fn seed_row(report: &SeedReport, analysis: &Analysis) -> SeedRow {
    let s = analysis.superadditivity.as_ref();
    SeedRow {
        seed: report.run.seed,
        analysis_length: report.run.analysis_length.unwrap_or(0),
        base_accuracy: analysis.base_accuracy,
        spearman: analysis.spearman.clone(),
        bloat_individual_drop: s.map(|s| s.individual_mean),
        bloat_joint_drop: s.map(|s| s.joint_drop),
        bloat_additive_ratio: s.and_then(|s| s.additive_ratio),
        hero_pruning_change: analysis.pruning.heroes.as_ref().map(|j| j.change),
        bloat_pruning_change: analysis.pruning.bloats.as_ref().map(|j| j.change),
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

fn layer_grad_norms(analyses: &[&Analysis]) -> Vec<MeanStd> {
    let layers = analyses.first().map_or(0, |a| a.layer_grad_norm.len());
    (0..layers)
        .map(|l| MeanStd::of(analyses.iter().map(|a| Some(a.layer_grad_norm[l]))))
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
        for (baseline, m) in self.spearman.rows() {
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
        for r in &self.rows {
            seeds += &csv_line(&[
                r.seed.to_string(),
                r.analysis_length.to_string(),
                r.base_accuracy.to_string(),
                number(r.spearman.mean),
                number(r.spearman.zero),
                number(r.spearman.resample),
                number(r.spearman.attribution_patching),
                number(r.bloat_individual_drop),
                number(r.bloat_joint_drop),
                number(r.bloat_additive_ratio),
                number(r.hero_pruning_change),
                number(r.bloat_pruning_change),
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
        for (ablation, per_threshold) in &self.layer_counts {
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
        for (ablation, roles) in &self.roles {
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
        for (layer, m) in self.layer_grad_norm.iter().enumerate() {
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
        let used = self.rows.len();
        let _ = writeln!(
            out,
            "== {} — {} of {} seeds analysed",
            self.task,
            used,
            self.seeds.len()
        );
        for s in &self.skipped {
            let _ = writeln!(out, "   skipped seed {}: {}", s.seed, s.reason);
        }

        let _ = writeln!(
            out,
            "\nTable 1: Spearman ρ, gradient vs causal importance (mean ± std)"
        );
        for (baseline, m) in self.spearman.rows() {
            let _ = writeln!(out, "  {baseline:<22} {}", m.display(1.0, 2));
        }

        let _ = writeln!(out, "\nTable 3: per-seed Spearman ρ");
        let _ = writeln!(
            out,
            "  {:>6} {:>4} {:>7} {:>6} {:>6} {:>9} {:>9}",
            "seed", "n", "base", "mean", "zero", "resample", "attr.p."
        );
        for r in &self.rows {
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
        for r in &self.rows {
            let _ = writeln!(
                out,
                "  {:>6} {:>8} {:>12} {:>10} {:>15}",
                r.seed,
                pct(Some(r.base_accuracy)),
                pct(r.bloat_individual_drop),
                pct(r.bloat_joint_drop),
                r.bloat_additive_ratio
                    .map_or("—".into(), |x| format!("{x:.2}×"))
            );
        }
        let _ = writeln!(
            out,
            "  mean individual drop {}, mean joint drop {}",
            self.bloat_individual_drop.display(100.0, 1),
            self.bloat_joint_drop.display(100.0, 1)
        );
        let times = |x: Option<f64>| x.map_or("—".into(), |x| format!("{x:.1}×"));
        let _ = writeln!(
            out,
            "  ratio mean joint / mean individual: {}; mean joint / mean Σ individual: {}",
            times(self.superadditivity_ratio),
            times(self.additive_ratio)
        );

        let _ = writeln!(out, "\nPruning the top two (accuracy change, mean ± std)");
        for (class, m) in [
            ("heroes", self.pruning.heroes),
            ("bloats", self.pruning.bloats),
        ] {
            let _ = writeln!(out, "  {class:<8} {}", m.display(100.0, 1));
        }

        if let Some(per_threshold) = self.layer_counts.get(&Ablation::Mean) {
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

        if let Some(roles) = self.roles.get(&Ablation::Mean) {
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
        for (layer, m) in self.layer_grad_norm.iter().enumerate() {
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
