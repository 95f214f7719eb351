//! The paper beside ours: every number the paper reports (`assets/paper/reported.json`, copied
//! from the paper's text and tables) next to the same quantity over a sweep's analysed seeds,
//! with a plain verdict per line.
//!
//! The paper's numbers are shown only as the paper's. A verdict says whether ours lies within
//! the paper's spread, and which spread: the paper's standard deviation where it gives one, the
//! spread of the paper's per-seed values for a per-seed entry, counting noise for counts, our
//! seeds' spread where the paper gives a bare mean. Seed numbers name different models in
//! different code (other random streams), so a per-seed line compares one draw with another.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::ablation::Ablation;
use crate::analysis::Class;
use crate::component::Component;
use crate::stats::{mean, sample_std};
use crate::summary::{MeanStd, Summary, Table4Row, interval_text};
use crate::task::Task;

/// `reported.json` as shipped with gradcause (every number the paper reports).
pub const REPORTED_JSON: &str = include_str!("../assets/paper/reported.json");

/// How every page and file cites the paper's numbers.
pub const CITATION: &str =
    "Ye (2026), Hidden Heroes and Gradient Bloats, arXiv 2602.01442 (CC BY 4.0)";

/// Every number the paper reports, keyed as in `reported.json`. Unknown keys are refused, so an
/// entry added to the file cannot go uncompared.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reported {
    /// Where the numbers come from.
    pub source: String,
    /// The paper's seeds.
    pub seeds: Vec<u64>,
    /// Seeds inside the OOD window, per task, and those skipped.
    pub seeds_in_window: SeedsInWindow,
    /// Table 1: ρ `[mean, std]` per task and baseline.
    pub table1_rho_mean_std: BTreeMap<Task, PaperTable1>,
    /// Table 3: ρ under mean ablation per task and seed (`null`: skipped).
    pub table3_rho_mean_ablation_per_seed: BTreeMap<Task, BTreeMap<String, Option<f64>>>,
    /// §3.1: sorting seed 456's ρ under both baselines.
    pub text_sort_seed456_rho_both_baselines_about: f64,
    /// §3.1: ρ between gradient and activation-patching ranks on one (unnamed) sorting seed.
    pub text_activation_patching_rho_best_characterized_seed: f64,
    /// Table 4: sorting, the top-two Bloats' drops (in points).
    pub table4_sort_bloat_superadditivity_percent: PaperTable4,
    /// §3.3: pruning the top two, `[mean, std]` in points.
    pub pruning_top_two_accuracy_change_percent_mean_std: BTreeMap<Task, PaperPruning>,
    /// Table 5: sorting, Hero and Bloat heads per layer summed over seeds, per threshold (`t4`..).
    pub table5_sort_heads_only_counts_summed_over_seeds: BTreeMap<String, PaperLayerCounts>,
    /// §3.4: in how many sorting seeds named heads took a role.
    pub component_identity_sort: PaperIdentity,
    /// Figure 4: sorting, W_V gradient norm per layer.
    pub figure4_sort_layer_wv_grad_norm: Vec<f64>,
    /// Figure 4: reversal, in words.
    pub figure4_reverse_layer_wv_grad_norm: String,
    /// Figure 5: sorting seed 2020 at n = 10, the heads shown as Heroes and Bloats.
    pub figure5_sort_seed2020_n10: PaperFigure5,
}

/// Seeds in the window.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedsInWindow {
    /// Reversal seeds in the window.
    pub reverse: usize,
    /// Sorting seeds in the window.
    pub sort: usize,
    /// The seeds skipped, per task.
    pub skipped: BTreeMap<Task, Vec<u64>>,
}

/// Table 1 of one task: `[mean, std]` per baseline.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperTable1 {
    /// G against mean-ablation C.
    pub mean_ablation: [f64; 2],
    /// G against zero-ablation C.
    pub zero_ablation: [f64; 2],
}

/// Table 4, in points.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperTable4 {
    /// Per seed.
    pub per_seed: BTreeMap<String, PaperTable4Row>,
    /// Mean of the individual drops.
    pub mean_individual_drop: f64,
    /// Mean of the joint drops.
    pub mean_joint_drop: f64,
    /// Mean joint / mean individual.
    pub ratio: f64,
}

/// One seed of Table 4, in points.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperTable4Row {
    /// Base accuracy at the analysis length.
    pub baseline: f64,
    /// Mean single drop of the top-two Bloats.
    pub individual_drop: f64,
    /// Their joint drop.
    pub joint_drop: f64,
}

/// Pruning of one task, `[mean, std]` in points.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperPruning {
    /// The top-two Heroes.
    pub heroes: [f64; 2],
    /// The top-two Bloats.
    pub bloats: [f64; 2],
    /// Hero damage over Bloat damage (given for reversal only).
    pub hero_to_bloat_damage: Option<f64>,
}

/// Table 5 at one threshold: one count per layer.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperLayerCounts {
    /// Hero heads per layer.
    pub heroes: Vec<usize>,
    /// Bloat heads per layer.
    pub bloats: Vec<usize>,
}

/// Component identity on sorting.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperIdentity {
    /// Seeds where L3_H3 is a Hero.
    #[serde(rename = "L3_H3_hero_seeds")]
    pub l3_h3_hero_seeds: usize,
    /// Seeds where L1_H1 is a Bloat.
    #[serde(rename = "L1_H1_bloat_seeds")]
    pub l1_h1_bloat_seeds: usize,
    /// Seeds where L1_H3 is a Bloat.
    #[serde(rename = "L1_H3_bloat_seeds")]
    pub l1_h3_bloat_seeds: usize,
    /// The seeds counted.
    pub out_of: usize,
}

/// Figure 5's heads.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperFigure5 {
    /// Heads shown as Hidden Heroes.
    pub hero_heads: Vec<Component>,
    /// Heads shown as Gradient Bloats.
    pub bloat_heads: Vec<Component>,
}

impl Reported {
    /// The numbers shipped with gradcause.
    pub fn shipped() -> Self {
        serde_json::from_str(REPORTED_JSON).expect("assets/paper/reported.json is valid")
    }
}

/// Whether ours agrees with the paper's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Ours lies within the spread named.
    Within(String),
    /// Ours lies outside the spread named.
    Differs(String),
    /// No comparison can be made; why.
    Unavailable(String),
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Within(basis) => write!(f, "within the spread ({basis})"),
            Verdict::Differs(basis) => write!(f, "differs (spread: {basis})"),
            Verdict::Unavailable(why) => write!(f, "ours not available: {why}"),
        }
    }
}

impl Verdict {
    /// A short word for tables and styling: `within`, `differs` or `n/a`.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Within(_) => "within",
            Verdict::Differs(_) => "differs",
            Verdict::Unavailable(_) => "n/a",
        }
    }
}

/// One reported number beside ours.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Where the number stands in `reported.json` (dotted path).
    pub key: String,
    /// The table or figure it belongs to.
    pub section: &'static str,
    /// What is compared, in words.
    pub what: String,
    /// The paper's value, as text.
    pub paper: String,
    /// Ours, as text.
    pub ours: String,
    /// How many analysed seeds are behind ours.
    pub seeds: usize,
    /// The verdict.
    pub verdict: Verdict,
}

/// `|ours − paper| ≤ spread` as a verdict, `basis` naming the spread.
fn judge(ours: Option<f64>, paper: f64, spread: f64, basis: String, missing: &str) -> Verdict {
    match ours {
        None => Verdict::Unavailable(missing.to_string()),
        // A small allowance so a value on the edge as printed counts as within.
        Some(x) if (x - paper).abs() <= spread + 1e-9 => Verdict::Within(basis),
        Some(_) => Verdict::Differs(basis),
    }
}

/// A ratio the paper gives without a spread: within when ours is within a factor of 2.
fn judge_ratio(ours: Option<f64>, paper: f64, missing: &str) -> Verdict {
    let basis = "no spread given: a factor of 2 either way".to_string();
    match ours {
        None => Verdict::Unavailable(missing.to_string()),
        Some(x) if x >= paper / 2.0 && x <= paper * 2.0 => Verdict::Within(basis),
        Some(_) => Verdict::Differs(basis),
    }
}

/// A count over seeds (ours scaled to the paper's number of seeds): within `±max(2, √paper)`,
/// counting noise.
fn judge_count(ours: usize, our_seeds: usize, paper: usize, paper_seeds: usize) -> Verdict {
    if our_seeds == 0 {
        return Verdict::Unavailable("no seed analysed".into());
    }
    let scaled = ours as f64 * paper_seeds as f64 / our_seeds as f64;
    let spread = (paper as f64).sqrt().max(2.0);
    judge(
        Some(scaled),
        paper as f64,
        spread,
        format!("±{spread:.1}, counting noise, ours scaled to {paper_seeds} seeds"),
        "",
    )
}

fn rho(x: Option<f64>) -> String {
    x.map_or("undefined".into(), |x| format!("{:.2}", x + 0.0))
}

/// A fraction in points (`12.3`), or `—`.
pub(crate) fn points(x: Option<f64>) -> String {
    x.map_or("—".into(), |x| format!("{:.1}", 100.0 * x + 0.0))
}

/// `0.72 ± 0.08 [0.67, 0.77]`: mean ± sd over our seeds, with the 95% bootstrap interval.
fn mean_std(m: &MeanStd, scale: f64, digits: usize) -> String {
    let number =
        |x: Option<f64>| x.map_or("—".into(), |x| format!("{:.digits$}", scale * x + 0.0));
    format!(
        "{} ± {}{}",
        number(m.mean),
        number(m.std),
        interval_text(m.interval, scale, digits)
    )
}

fn count_text(ours: usize, our_seeds: usize) -> String {
    format!("{ours} of {our_seeds} seeds")
}

/// Compares every entry of `reported` with `summaries` (per task, as `Summary::new` makes them
/// under one reading of G), reading the paper's "mean ablation" as `ablation` (METHOD §6's
/// default is [`Ablation::Mean`]; the robustness table puts each reading in its place). A task
/// without a summary gives lines whose verdict says so.
pub fn compare(
    reported: &Reported,
    summaries: &BTreeMap<Task, Summary>,
    ablation: Ablation,
) -> Vec<Line> {
    let mut lines = Vec::new();
    seeds_in_window(reported, summaries, &mut lines);
    table1(reported, summaries, ablation, &mut lines);
    table3(reported, summaries, ablation, &mut lines);
    text_claims(reported, summaries, ablation, &mut lines);
    table4(reported, summaries, ablation, &mut lines);
    pruning(reported, summaries, ablation, &mut lines);
    table5(reported, summaries, ablation, &mut lines);
    identity(reported, summaries, ablation, &mut lines);
    figure4(reported, summaries, &mut lines);
    figure5(reported, summaries, ablation, &mut lines);
    lines
}

/// Why a task has nothing to compare.
fn missing(task: Task, summaries: &BTreeMap<Task, Summary>) -> String {
    match summaries.get(&task) {
        None => format!("no {task} runs"),
        Some(_) => format!("no {task} seed analysed (all skipped)"),
    }
}

/// The summary of `task`, if it has an analysed seed.
pub(crate) fn analysed(task: Task, summaries: &BTreeMap<Task, Summary>) -> Option<&Summary> {
    summaries.get(&task).filter(|s| s.analysed() > 0)
}

fn seeds_in_window(r: &Reported, summaries: &BTreeMap<Task, Summary>, lines: &mut Vec<Line>) {
    let paper_seeds = r.seeds.len();
    for task in Task::ALL {
        let paper = match task {
            Task::Reverse => r.seeds_in_window.reverse,
            Task::Sort => r.seeds_in_window.sort,
        };
        let summary = summaries.get(&task);
        let (ours, run) = summary.map_or((0, 0), |s| (s.analysed(), s.seeds.len()));
        let verdict = if run == 0 {
            Verdict::Unavailable(format!("no {task} runs"))
        } else {
            // Within one seed of ten.
            let gap = (ours as f64 / run as f64 - paper as f64 / paper_seeds as f64).abs();
            let basis = format!("±1 seed of {paper_seeds}");
            if gap <= 1.0 / paper_seeds as f64 + 1e-9 {
                Verdict::Within(basis)
            } else {
                Verdict::Differs(basis)
            }
        };
        lines.push(Line {
            key: format!("seeds_in_window.{task}"),
            section: "Seeds in the OOD window",
            what: format!("{task}: seeds with a length in the window"),
            paper: format!("{paper} of {paper_seeds}"),
            ours: format!("{ours} of {run}"),
            seeds: ours,
            verdict,
        });

        let paper_skipped = r
            .seeds_in_window
            .skipped
            .get(&task)
            .cloned()
            .unwrap_or_default();
        let list = |seeds: &[u64]| {
            if seeds.is_empty() {
                "none".to_string()
            } else {
                seeds
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let (ours_skipped, verdict) = match summary {
            None => (
                "—".to_string(),
                Verdict::Unavailable(format!("no {task} runs")),
            ),
            Some(s) => {
                let mut skipped: Vec<u64> = s.skipped.iter().map(|k| k.seed).collect();
                skipped.sort_unstable();
                let mut paper_sorted = paper_skipped.clone();
                paper_sorted.sort_unstable();
                let basis = "the same seeds".to_string();
                let verdict = if skipped == paper_sorted {
                    Verdict::Within(basis)
                } else {
                    Verdict::Differs(basis)
                };
                (list(&skipped), verdict)
            }
        };
        lines.push(Line {
            key: format!("seeds_in_window.skipped.{task}"),
            section: "Seeds in the OOD window",
            what: format!("{task}: seeds skipped"),
            paper: list(&paper_skipped),
            ours: ours_skipped,
            seeds: summary.map_or(0, |s| s.seeds.len()),
            verdict,
        });
    }
}

fn table1(r: &Reported, summaries: &BTreeMap<Task, Summary>, c: Ablation, lines: &mut Vec<Line>) {
    for (&task, paper) in &r.table1_rho_mean_std {
        for (key, baseline, [m, sd]) in [
            ("mean_ablation", c, paper.mean_ablation),
            ("zero_ablation", Ablation::Zero, paper.zero_ablation),
        ] {
            let ours = analysed(task, summaries).map(|s| s.table1.of(baseline));
            lines.push(Line {
                key: format!("table1_rho_mean_std.{task}.{key}"),
                section: "Table 1: Spearman ρ across seeds",
                what: format!("{task}, {baseline} ablation: ρ mean ± sd"),
                paper: format!("{m:.2} ± {sd:.2}"),
                ours: ours.map_or("—".into(), |o| mean_std(&o, 1.0, 2)),
                seeds: ours.map_or(0, |o| o.n),
                verdict: judge(
                    ours.and_then(|o| o.mean),
                    m,
                    sd,
                    format!("±{sd:.2}, the paper's sd"),
                    &missing(task, summaries),
                ),
            });
        }
    }
}

/// Why one of our seeds has no analysis.
enum NoSeed {
    /// The task has no runs at all.
    NoRuns(Task),
    /// The seed ran but no OOD length lies in the window.
    Skipped(u64),
    /// The seed was not run.
    NotRun(u64),
}

impl std::fmt::Display for NoSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoSeed::NoRuns(task) => write!(f, "no {task} runs"),
            NoSeed::Skipped(seed) => write!(f, "our seed {seed} is skipped"),
            NoSeed::NotRun(seed) => write!(f, "our seed {seed} was not run"),
        }
    }
}

/// Our ρ of `seed` under `ablation`, and why there is none.
fn seed_rho(
    summaries: &BTreeMap<Task, Summary>,
    task: Task,
    seed: u64,
    ablation: Ablation,
) -> Result<Option<f64>, NoSeed> {
    let summary = summaries.get(&task).ok_or(NoSeed::NoRuns(task))?;
    if let Some(row) = summary.table3.rows.iter().find(|r| r.seed == seed) {
        return Ok(row.spearman.get(&ablation).copied().flatten());
    }
    match summary.skipped.iter().find(|s| s.seed == seed) {
        Some(_) => Err(NoSeed::Skipped(seed)),
        None => Err(NoSeed::NotRun(seed)),
    }
}

fn table3(r: &Reported, summaries: &BTreeMap<Task, Summary>, c: Ablation, lines: &mut Vec<Line>) {
    for (&task, per_seed) in &r.table3_rho_mean_ablation_per_seed {
        let sd = r.table1_rho_mean_std.get(&task).map(|t| t.mean_ablation[1]);
        for &seed in &r.seeds {
            let Some(&paper) = per_seed.get(&seed.to_string()) else {
                continue;
            };
            let ours = seed_rho(summaries, task, seed, c);
            let verdict = match (paper, &ours, sd) {
                (None, Err(NoSeed::Skipped(_)), _) => Verdict::Within("both skipped".into()),
                (None, Err(why), _) => Verdict::Unavailable(why.to_string()),
                (None, Ok(_), _) => {
                    Verdict::Unavailable("the paper skipped this seed; ours is analysed".into())
                }
                (Some(_), Err(why), _) => Verdict::Unavailable(why.to_string()),
                (Some(p), Ok(x), Some(sd)) => judge(
                    *x,
                    p,
                    sd,
                    format!("±{sd:.2}, the paper's sd across seeds"),
                    "ρ undefined",
                ),
                (Some(_), Ok(_), None) => Verdict::Unavailable("the paper gives no sd".into()),
            };
            lines.push(Line {
                key: format!("table3_rho_mean_ablation_per_seed.{task}.{seed}"),
                section: "Table 3: ρ per seed (mean ablation)",
                what: format!("{task}, seed {seed} ({c} ablation)"),
                paper: paper.map_or("skipped".into(), |p| rho(Some(p))),
                ours: match &ours {
                    Ok(x) => rho(*x),
                    Err(NoSeed::Skipped(_)) => "skipped".into(),
                    Err(_) => "—".into(),
                },
                seeds: usize::from(ours.is_ok()),
                verdict,
            });
        }
    }
}

fn text_claims(
    r: &Reported,
    summaries: &BTreeMap<Task, Summary>,
    c: Ablation,
    lines: &mut Vec<Line>,
) {
    // Sorting seed 456: ρ ≈ 0 under both baselines.
    let paper = r.text_sort_seed456_rho_both_baselines_about;
    let table1 = r.table1_rho_mean_std.get(&Task::Sort);
    let both = [c, Ablation::Zero].map(|a| seed_rho(summaries, Task::Sort, 456, a));
    let verdict = match (&both, table1) {
        (_, None) => Verdict::Unavailable("reported.json has no sorting Table 1".into()),
        ([Err(why), _] | [_, Err(why)], _) => Verdict::Unavailable(why.to_string()),
        ([Ok(mean), Ok(zero)], Some(t)) => {
            let within = |x: &Option<f64>, sd: f64| x.is_some_and(|x| (x - paper).abs() <= sd);
            let basis = format!(
                "±{:.2} / ±{:.2}, the paper's sd per baseline",
                t.mean_ablation[1], t.zero_ablation[1]
            );
            if within(mean, t.mean_ablation[1]) && within(zero, t.zero_ablation[1]) {
                Verdict::Within(basis)
            } else {
                Verdict::Differs(basis)
            }
        }
    };
    lines.push(Line {
        key: "text_sort_seed456_rho_both_baselines_about".into(),
        section: "§3.1 in the text",
        what: format!("sort seed 456: ρ under {c} and zero ablation"),
        paper: format!("≈ {paper:.2} (both)"),
        ours: match &both {
            [Ok(m), Ok(z)] => format!("{} ({c}), {} (zero)", rho(*m), rho(*z)),
            _ => "skipped".into(),
        },
        seeds: usize::from(both[0].is_ok()),
        verdict,
    });

    // Activation patching on an unnamed sorting seed: compared with the range of ours.
    let paper = r.text_activation_patching_rho_best_characterized_seed;
    let values: Vec<f64> = analysed(Task::Sort, summaries)
        .map(|s| {
            s.table3
                .rows
                .iter()
                .filter_map(|r| r.spearman[&Ablation::Resample])
                .collect()
        })
        .unwrap_or_default();
    let (low, high) = (
        values.iter().copied().reduce(f64::min),
        values.iter().copied().reduce(f64::max),
    );
    let verdict = match (low, high) {
        (Some(low), Some(high)) => {
            let basis = "the paper names no seed: our seeds' range".to_string();
            if (low..=high).contains(&paper) {
                Verdict::Within(basis)
            } else {
                Verdict::Differs(basis)
            }
        }
        _ => Verdict::Unavailable(missing(Task::Sort, summaries)),
    };
    lines.push(Line {
        key: "text_activation_patching_rho_best_characterized_seed".into(),
        section: "§3.1 in the text",
        what: "sort: ρ of G against activation patching (resample ablation), one seed".into(),
        paper: format!("{paper:.3} (seed not named)"),
        ours: match (low, high) {
            (Some(low), Some(high)) => format!(
                "{} to {} (mean {})",
                rho(Some(low)),
                rho(Some(high)),
                rho(mean(&values))
            ),
            _ => "—".into(),
        },
        seeds: values.len(),
        verdict,
    });
}

fn table4(r: &Reported, summaries: &BTreeMap<Task, Summary>, c: Ablation, lines: &mut Vec<Line>) {
    let t4 = &r.table4_sort_bloat_superadditivity_percent;
    let summary = analysed(Task::Sort, summaries);
    let section = "Table 4: sorting, top-two Bloats ablated alone and together";
    let columns = [
        Table4Column {
            key: "baseline",
            what: "base accuracy",
            paper: |p| p.baseline,
            ours: |r| Some(r.base_accuracy),
        },
        Table4Column {
            key: "individual_drop",
            what: "mean single drop",
            paper: |p| p.individual_drop,
            ours: |r| r.individual_drop,
        },
        Table4Column {
            key: "joint_drop",
            what: "joint drop",
            paper: |p| p.joint_drop,
            ours: |r| r.joint_drop,
        },
    ];
    // The spread of each of the paper's per-seed columns, in points.
    let spreads = columns.map(|c| {
        let values: Vec<f64> = t4.per_seed.values().map(c.paper).collect();
        sample_std(&values).unwrap_or(0.0)
    });
    for &seed in &r.seeds {
        let Some(paper) = t4.per_seed.get(&seed.to_string()) else {
            continue;
        };
        let row = summary.and_then(|s| s.table4[&c].rows.iter().find(|r| r.seed == seed));
        let why = match seed_rho(summaries, Task::Sort, seed, c) {
            Err(why) => why.to_string(),
            Ok(_) => "this seed has no Bloats".into(),
        };
        for (column, spread) in columns.iter().zip(spreads) {
            let ours = row.and_then(column.ours);
            lines.push(Line {
                key: format!(
                    "table4_sort_bloat_superadditivity_percent.per_seed.{seed}.{}",
                    column.key
                ),
                section,
                what: format!("seed {seed}: {} (points)", column.what),
                paper: format!("{:.1}", (column.paper)(paper)),
                ours: points(ours),
                seeds: usize::from(ours.is_some()),
                verdict: judge(
                    ours.map(|x| 100.0 * x),
                    (column.paper)(paper),
                    spread,
                    format!("±{spread:.1}, the spread of the paper's seeds"),
                    &why,
                ),
            });
        }
    }
    for (key, what, paper, ours, spread) in [
        (
            "mean_individual_drop",
            "mean single drop (points)",
            t4.mean_individual_drop,
            summary.map(|s| s.table4[&c].individual_drop),
            spreads[1],
        ),
        (
            "mean_joint_drop",
            "mean joint drop (points)",
            t4.mean_joint_drop,
            summary.map(|s| s.table4[&c].joint_drop),
            spreads[2],
        ),
    ] {
        lines.push(Line {
            key: format!("table4_sort_bloat_superadditivity_percent.{key}"),
            section,
            what: what.into(),
            paper: format!("{paper:.1}"),
            ours: ours.map_or("—".into(), |o| mean_std(&o, 100.0, 1)),
            seeds: ours.map_or(0, |o| o.n),
            verdict: judge(
                ours.and_then(|o| o.mean).map(|x| 100.0 * x),
                paper,
                spread,
                format!("±{spread:.1}, the spread of the paper's seeds"),
                &missing(Task::Sort, summaries),
            ),
        });
    }
    let ratio = summary.map(|s| s.table4[&c].ratio);
    lines.push(Line {
        key: "table4_sort_bloat_superadditivity_percent.ratio".into(),
        section,
        what: "superadditivity: mean joint / mean single drop".into(),
        paper: format!("{:.1}×", t4.ratio),
        ours: ratio.map_or("—".into(), |x| x.display_times()),
        seeds: ratio.map_or(0, |x| x.n),
        verdict: judge_ratio(
            ratio.and_then(|x| x.value),
            t4.ratio,
            &missing(Task::Sort, summaries),
        ),
    });
}

/// One per-seed column of Table 4: the paper's value (points) and ours (a fraction).
#[derive(Clone, Copy)]
struct Table4Column {
    key: &'static str,
    what: &'static str,
    paper: fn(&PaperTable4Row) -> f64,
    ours: fn(&Table4Row) -> Option<f64>,
}

fn pruning(r: &Reported, summaries: &BTreeMap<Task, Summary>, c: Ablation, lines: &mut Vec<Line>) {
    let section = "§3.3: pruning the top two (accuracy change, points)";
    for (&task, paper) in &r.pruning_top_two_accuracy_change_percent_mean_std {
        let summary = analysed(task, summaries);
        for (key, [m, sd]) in [("heroes", paper.heroes), ("bloats", paper.bloats)] {
            let ours = summary.map(|s| match key {
                "heroes" => s.pruning[&c].heroes,
                _ => s.pruning[&c].bloats,
            });
            lines.push(Line {
                key: format!("pruning_top_two_accuracy_change_percent_mean_std.{task}.{key}"),
                section,
                what: format!("{task}: top-two {key} ablated together"),
                paper: format!("{m:.1} ± {sd:.1}"),
                ours: ours.map_or("—".into(), |o| mean_std(&o, 100.0, 1)),
                seeds: ours.map_or(0, |o| o.n),
                verdict: judge(
                    ours.and_then(|o| o.mean).map(|x| 100.0 * x),
                    m,
                    sd,
                    format!("±{sd:.1}, the paper's sd"),
                    &missing(task, summaries),
                ),
            });
        }
        if let Some(paper_ratio) = paper.hero_to_bloat_damage {
            let ours = summary.map(|s| s.pruning[&c].hero_to_bloat);
            lines.push(Line {
                key: format!(
                    "pruning_top_two_accuracy_change_percent_mean_std.{task}.hero_to_bloat_damage"
                ),
                section,
                what: format!("{task}: Hero damage / Bloat damage"),
                paper: format!("{paper_ratio:.1}×"),
                ours: ours.map_or("—".into(), |x| x.display_times()),
                seeds: ours.map_or(0, |x| x.n),
                verdict: judge_ratio(
                    ours.and_then(|x| x.value),
                    paper_ratio,
                    &missing(task, summaries),
                ),
            });
        }
    }
}

fn table5(r: &Reported, summaries: &BTreeMap<Task, Summary>, c: Ablation, lines: &mut Vec<Line>) {
    let summary = analysed(Task::Sort, summaries);
    let paper_seeds = r.seeds_in_window.sort;
    for (key, paper) in &r.table5_sort_heads_only_counts_summed_over_seeds {
        let Some(t) = key.strip_prefix('t').and_then(|t| t.parse::<usize>().ok()) else {
            lines.push(Line {
                key: format!("table5_sort_heads_only_counts_summed_over_seeds.{key}"),
                section: "Table 5: sorting, Hero and Bloat heads per layer",
                what: format!("threshold {key}"),
                paper: "?".into(),
                ours: "—".into(),
                seeds: 0,
                verdict: Verdict::Unavailable(format!("{key} is not a threshold")),
            });
            continue;
        };
        for (class, counts) in [("heroes", &paper.heroes), ("bloats", &paper.bloats)] {
            for (layer, &paper_count) in counts.iter().enumerate() {
                let ours = summary.and_then(|s| {
                    s.table5
                        .at(c, t)
                        .iter()
                        .find(|c| c.layer == layer)
                        .map(|c| {
                            if class == "heroes" {
                                c.heroes
                            } else {
                                c.bloats
                            }
                        })
                });
                let n = summary.map_or(0, Summary::analysed);
                lines.push(Line {
                    key: format!(
                        "table5_sort_heads_only_counts_summed_over_seeds.{key}.{class}.{layer}"
                    ),
                    section: "Table 5: sorting, Hero and Bloat heads per layer (mean ablation)",
                    what: format!("t = {t}, layer {layer}: {class}"),
                    paper: format!("{paper_count} over {paper_seeds} seeds"),
                    ours: ours.map_or("—".into(), |c| count_text(c, n)),
                    seeds: n,
                    verdict: match ours {
                        Some(c) => judge_count(c, n, paper_count, paper_seeds),
                        None if summary.is_some() => {
                            Verdict::Unavailable(format!("threshold {t} not computed"))
                        }
                        None => Verdict::Unavailable(missing(Task::Sort, summaries)),
                    },
                });
            }
        }
    }
}

fn identity(r: &Reported, summaries: &BTreeMap<Task, Summary>, c: Ablation, lines: &mut Vec<Line>) {
    let summary = analysed(Task::Sort, summaries);
    let p = &r.component_identity_sort;
    for (key, name, is_hero, paper) in [
        ("L3_H3_hero_seeds", "L3_H3", true, p.l3_h3_hero_seeds),
        ("L1_H1_bloat_seeds", "L1_H1", false, p.l1_h1_bloat_seeds),
        ("L1_H3_bloat_seeds", "L1_H3", false, p.l1_h3_bloat_seeds),
    ] {
        let component: Component = name.parse().expect("a component name");
        let class = if is_hero { Class::Hero } else { Class::Bloat };
        let n = summary.map_or(0, Summary::analysed);
        let ours = summary.and_then(|s| s.roles.count(component, class, c));
        let class = if is_hero { "Hero" } else { "Bloat" };
        lines.push(Line {
            key: format!("component_identity_sort.{key}"),
            section: "§3.4: component identity (sorting, mean ablation)",
            what: format!(
                "{name} a {class} (t = {}, {c} ablation)",
                summary.map_or(6, |s| s.roles.threshold)
            ),
            paper: format!("{paper} of {}", p.out_of),
            ours: ours.map_or("—".into(), |c| count_text(c, n)),
            seeds: n,
            verdict: match ours {
                Some(c) => judge_count(c, n, paper, p.out_of),
                None => Verdict::Unavailable(missing(Task::Sort, summaries)),
            },
        });
    }
}

fn figure4(r: &Reported, summaries: &BTreeMap<Task, Summary>, lines: &mut Vec<Line>) {
    let section = "Figure 4: W_V gradient norm per layer";
    let sort = analysed(Task::Sort, summaries);
    for (layer, &paper) in r.figure4_sort_layer_wv_grad_norm.iter().enumerate() {
        let ours = sort.and_then(|s| s.figure4.raw.get(layer)).copied();
        let verdict = match ours {
            Some(MeanStd {
                mean: Some(m),
                std: Some(sd),
                ..
            }) => judge(
                Some(m),
                paper,
                sd,
                format!("±{sd:.3}, our seeds' sd (the paper gives none)"),
                "",
            ),
            Some(_) => Verdict::Unavailable("one seed: no spread to compare with".into()),
            None => Verdict::Unavailable(missing(Task::Sort, summaries)),
        };
        lines.push(Line {
            key: format!("figure4_sort_layer_wv_grad_norm.{layer}"),
            section,
            what: format!("sort, layer {layer}"),
            paper: format!("{paper:.3}"),
            ours: ours.map_or("—".into(), |o| mean_std(&o, 1.0, 3)),
            seeds: ours.map_or(0, |o| o.n),
            verdict,
        });
    }

    // Reversal: in words only. Checked as the paper words it: decreasing from layer 1 on, and
    // above sorting at every layer.
    let reverse = analysed(Task::Reverse, summaries);
    let means = |s: &Summary| -> Vec<f64> {
        s.figure4
            .raw
            .iter()
            .map(|m| m.mean.unwrap_or(f64::NAN))
            .collect()
    };
    let (ours, verdict) = match (reverse, sort) {
        (Some(rev), Some(sort)) => {
            let (rev_means, sort_means) = (means(rev), means(sort));
            let decreasing = rev_means.iter().skip(1).is_sorted_by(|a, b| a >= b);
            let higher = rev_means.iter().zip(&sort_means).all(|(r, s)| r > s);
            let basis = "decreasing from layer 1 on, above sorting at every layer".to_string();
            let text = format!(
                "{} (decreasing from layer 1: {}; above sorting everywhere: {})",
                rev_means
                    .iter()
                    .map(|x| format!("{x:.3}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if decreasing { "yes" } else { "no" },
                if higher { "yes" } else { "no" }
            );
            let verdict = if decreasing && higher {
                Verdict::Within(basis)
            } else {
                Verdict::Differs(basis)
            };
            (text, verdict)
        }
        (None, _) => (
            "—".to_string(),
            Verdict::Unavailable(missing(Task::Reverse, summaries)),
        ),
        (_, None) => (
            "—".to_string(),
            Verdict::Unavailable(format!(
                "needs sorting to compare with: {}",
                missing(Task::Sort, summaries)
            )),
        ),
    };
    lines.push(Line {
        key: "figure4_reverse_layer_wv_grad_norm".into(),
        section,
        what: "reverse, all layers".into(),
        paper: r.figure4_reverse_layer_wv_grad_norm.clone(),
        ours,
        seeds: reverse.map_or(0, Summary::analysed),
        verdict,
    });
}

fn figure5(r: &Reported, summaries: &BTreeMap<Task, Summary>, c: Ablation, lines: &mut Vec<Line>) {
    let paper = &r.figure5_sort_seed2020_n10;
    let names = |heads: &[Component]| {
        heads
            .iter()
            .map(Component::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let seed = 2020;
    let roles = summaries
        .get(&Task::Sort)
        .and_then(|s| s.roles.seeds.iter().find(|r| r.seed == seed));
    let length = summaries
        .get(&Task::Sort)
        .and_then(|s| s.table3.rows.iter().find(|r| r.seed == seed))
        .map(|r| r.analysis_length);
    let (ours, verdict) = match (roles, length) {
        (Some(roles), Some(length)) => {
            let heroes = &roles.heroes[&c];
            let bloats = &roles.bloats[&c];
            let same = paper
                .hero_heads
                .iter()
                .filter(|h| heroes.contains(h))
                .count()
                + paper
                    .bloat_heads
                    .iter()
                    .filter(|h| bloats.contains(h))
                    .count();
            let named = paper.hero_heads.len() + paper.bloat_heads.len();
            let basis = format!("the paper's {named} heads in the same class; ours {same}");
            let text = format!(
                "at n = {length}: Heroes {}; Bloats {}",
                if heroes.is_empty() {
                    "none".into()
                } else {
                    names(heroes)
                },
                if bloats.is_empty() {
                    "none".into()
                } else {
                    names(bloats)
                },
            );
            let verdict = if same == named {
                Verdict::Within(basis)
            } else {
                Verdict::Differs(basis)
            };
            (text, verdict)
        }
        _ => (
            "—".to_string(),
            Verdict::Unavailable(
                seed_rho(summaries, Task::Sort, seed, c)
                    .err()
                    .map_or_else(|| "no roles recorded".into(), |why| why.to_string()),
            ),
        ),
    };
    lines.push(Line {
        key: "figure5_sort_seed2020_n10".into(),
        section: "Figure 5: sorting seed 2020, heads shown",
        what: format!("Hero and Bloat heads ({c} ablation)"),
        paper: format!(
            "at n = 10: Heroes {}; Bloats {}",
            names(&paper.hero_heads),
            names(&paper.bloat_heads)
        ),
        ours,
        seeds: usize::from(roles.is_some()),
        verdict,
    });
}

/// The comparison as a Markdown table, one section heading per table or figure.
pub fn markdown(lines: &[Line]) -> String {
    let mut out = String::new();
    let mut section = "";
    let cell = |s: &str| s.replace('|', "\\|");
    for line in lines {
        if line.section != section {
            section = line.section;
            out += &format!(
                "\n#### {section}\n\n| | paper | ours | seeds | verdict |\n|---|---|---|---|---|\n"
            );
        }
        out += &format!(
            "| {} | {} | {} | {} | {} |\n",
            cell(&line.what),
            cell(&line.paper),
            cell(&line.ours),
            line.seeds,
            cell(&line.verdict.to_string())
        );
    }
    out
}

/// The comparison as plain text for a terminal, one line per entry.
pub fn text(lines: &[Line]) -> String {
    let mut out = String::new();
    let mut section = "";
    for line in lines {
        if line.section != section {
            section = line.section;
            out += &format!("\n{section}\n");
        }
        out += &format!(
            "  {:<52} paper {:<22} ours {:<26} [{} seeds] {}\n",
            line.what, line.paper, line.ours, line.seeds, line.verdict
        );
    }
    out
}

/// Verdict counts: (within, differs, not available).
pub fn tally(lines: &[Line]) -> (usize, usize, usize) {
    lines
        .iter()
        .fold((0, 0, 0), |(w, d, u), l| match l.verdict {
            Verdict::Within(_) => (w + 1, d, u),
            Verdict::Differs(_) => (w, d + 1, u),
            Verdict::Unavailable(_) => (w, d, u + 1),
        })
}
