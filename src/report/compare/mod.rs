//! The paper beside ours: every number the paper reports (`assets/paper/reported.json`, copied
//! from the paper's text and tables) next to the same quantity over a sweep's analysed seeds,
//! with a plain verdict per line.
//!
//! Each line is a row of data: the reported.json key, the paper's value, ours, and the rule that
//! judges them ([`Rule`], decided in [`Rule::verdict`] alone), read alike by the text, Markdown
//! and page renderers; [`compare`] reads each section of the table in turn.
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

/// What each section reads: the paper's numbers, our summaries per task (those holding C under
/// the reading compared), and the reading of the paper's "mean ablation".
pub(crate) struct Inputs<'a> {
    reported: &'a Reported,
    summaries: &'a BTreeMap<Task, Summary>,
    ablation: Ablation,
}

impl Inputs<'_> {
    /// The summary of `task` if it has an analysed seed; else why there is nothing to compare.
    fn analysed(&self, task: Task) -> Result<&Summary, String> {
        analysed(task, self.summaries).ok_or_else(|| match self.summaries.get(&task) {
            None => format!("no {task} runs (under this reading)"),
            Some(_) => format!("no {task} seed analysed (all skipped)"),
        })
    }
}

/// The comparison's sections in the order shown, each reading its entries of reported.json and
/// ours into lines.
const SECTIONS: [fn(&Inputs) -> Vec<Line>; 10] = [
    figures::seeds_in_window,
    tables::table1,
    tables::table3,
    figures::text_claims,
    tables::table4,
    tables::pruning,
    tables::table5,
    figures::identity,
    figures::figure4,
    figures::figure5,
];

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

/// How ours is judged against the paper's number: the rule as data, with the numbers it
/// reads, decided in one place ([`Rule::verdict`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// Within when |ours − paper| ≤ `spread`; `basis` names the spread.
    Spread {
        /// Ours.
        ours: f64,
        /// The paper's.
        paper: f64,
        /// The largest difference within.
        spread: f64,
        /// Which spread it is.
        basis: String,
    },
    /// A ratio the paper gives without a spread: within a factor of 2 either way.
    Factor {
        /// Ours.
        ours: f64,
        /// The paper's.
        paper: f64,
    },
    /// A count over seeds, ours scaled to the paper's number of seeds: within
    /// ±max(2, √paper), counting noise.
    Count {
        /// Our count and the seeds it is over.
        ours: (usize, usize),
        /// The paper's count and the seeds it is over.
        paper: (usize, usize),
    },
    /// A share of seeds: within one seed of the paper's seeds.
    Share {
        /// Our count and the seeds it is over.
        ours: (usize, usize),
        /// The paper's count and the seeds it is over.
        paper: (usize, usize),
    },
    /// The paper names no seed: its number within the range of ours.
    Range {
        /// Our lowest and highest.
        ours: (f64, f64),
        /// The paper's.
        paper: f64,
    },
    /// A check of several parts, made where the line is read: whether it holds, and `basis`,
    /// what it asks.
    Check {
        /// Whether ours passes.
        holds: bool,
        /// What it asks.
        basis: String,
    },
    /// Nothing to compare; why.
    Unavailable(String),
}

impl Rule {
    /// [`Rule::Spread`] on ours, or [`Rule::Unavailable`] with why there is none.
    fn spread(ours: Result<f64, String>, paper: f64, spread: f64, basis: String) -> Self {
        match ours {
            Ok(ours) => Rule::Spread {
                ours,
                paper,
                spread,
                basis,
            },
            Err(why) => Rule::Unavailable(why),
        }
    }

    /// [`Rule::Factor`] on ours, or [`Rule::Unavailable`] with why there is none.
    fn factor(ours: Result<f64, String>, paper: f64) -> Self {
        match ours {
            Ok(ours) => Rule::Factor { ours, paper },
            Err(why) => Rule::Unavailable(why),
        }
    }

    /// The verdict the rule gives.
    pub fn verdict(&self) -> Verdict {
        let decide = |within: bool, basis: String| match within {
            true => Verdict::Within(basis),
            false => Verdict::Differs(basis),
        };
        match self {
            // A small allowance so a value on the edge as printed counts as within.
            Rule::Spread {
                ours,
                paper,
                spread,
                basis,
            } => decide((ours - paper).abs() <= spread + 1e-9, basis.clone()),
            Rule::Factor { ours, paper } => decide(
                *ours >= paper / 2.0 && *ours <= paper * 2.0,
                "no spread given: a factor of 2 either way".into(),
            ),
            Rule::Count { ours: (_, 0), .. } => Verdict::Unavailable("no seed analysed".into()),
            Rule::Count {
                ours: (count, seeds),
                paper: (paper, paper_seeds),
            } => {
                let scaled = *count as f64 * *paper_seeds as f64 / *seeds as f64;
                let spread = (*paper as f64).sqrt().max(2.0);
                decide(
                    (scaled - *paper as f64).abs() <= spread + 1e-9,
                    format!("±{spread:.1}, counting noise, ours scaled to {paper_seeds} seeds"),
                )
            }
            Rule::Share { ours: (_, 0), .. } => Verdict::Unavailable("no runs".into()),
            Rule::Share {
                ours: (count, seeds),
                paper: (paper, paper_seeds),
            } => {
                let gap =
                    (*count as f64 / *seeds as f64 - *paper as f64 / *paper_seeds as f64).abs();
                decide(
                    gap <= 1.0 / *paper_seeds as f64 + 1e-9,
                    format!("±1 seed of {paper_seeds}"),
                )
            }
            Rule::Range {
                ours: (low, high),
                paper,
            } => decide(
                (low..=high).contains(&paper),
                "the paper names no seed: our seeds' range".into(),
            ),
            Rule::Check { holds, basis } => decide(*holds, basis.clone()),
            Rule::Unavailable(why) => Verdict::Unavailable(why.clone()),
        }
    }
}

/// One reported number beside ours: a row of the comparison, read by every renderer.
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
    /// The rule that judges ours against the paper's.
    pub rule: Rule,
}

impl Line {
    /// Whether ours agrees with the paper's, by the line's rule.
    pub fn verdict(&self) -> Verdict {
        self.rule.verdict()
    }
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
    let inputs = Inputs {
        reported,
        summaries,
        ablation,
    };
    SECTIONS.iter().flat_map(|lines| lines(&inputs)).collect()
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
            cell(&line.verdict().to_string())
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
            line.what,
            line.paper,
            line.ours,
            line.seeds,
            line.verdict()
        );
    }
    out
}

/// Verdict counts: (within, differs, not available).
pub fn tally(lines: &[Line]) -> (usize, usize, usize) {
    lines
        .iter()
        .fold((0, 0, 0), |(w, d, u), l| match l.verdict() {
            Verdict::Within(_) => (w + 1, d, u),
            Verdict::Differs(_) => (w, d + 1, u),
            Verdict::Unavailable(_) => (w, d, u + 1),
        })
}
