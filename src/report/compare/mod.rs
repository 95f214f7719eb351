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

use crate::analysis::ablation::Ablation;
use crate::analysis::stats::{MeanStd, interval_text};
use crate::engine::task::Task;
use crate::report::summary::Summary;

use crate::report::paper::Reported;

mod figures;
mod tables;

use figures::{figure4, figure5, identity, seeds_in_window, text_claims};
use tables::{pruning, table1, table3, table4, table5};

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
/// without a summary, or whose reports predate `ablation` (`slot`), gives lines whose verdict
/// says so.
pub fn compare(
    reported: &Reported,
    summaries: &BTreeMap<Task, Summary>,
    ablation: Ablation,
) -> Vec<Line> {
    let summaries = &holding(summaries, ablation);
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

/// The summaries that hold C under `ablation` (those of reports made before a reading do not).
pub(crate) fn holding(
    summaries: &BTreeMap<Task, Summary>,
    ablation: Ablation,
) -> BTreeMap<Task, Summary> {
    summaries
        .iter()
        .filter(|(_, s)| s.ablations().contains(&ablation))
        .map(|(&t, s)| (t, s.clone()))
        .collect()
}

/// Why a task has nothing to compare.
fn missing(task: Task, summaries: &BTreeMap<Task, Summary>) -> String {
    match summaries.get(&task) {
        None => format!("no {task} runs (under this reading)"),
        Some(_) => format!("no {task} seed analysed (all skipped)"),
    }
}

/// The summary of `task`, if it has an analysed seed.
pub(crate) fn analysed(task: Task, summaries: &BTreeMap<Task, Summary>) -> Option<&Summary> {
    summaries.get(&task).filter(|s| s.analysed() > 0)
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
