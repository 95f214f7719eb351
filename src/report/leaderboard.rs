//! Beyond the paper: which cheap score ranks components the way ablation does
//! (`docs/scores.md`)? For one task and one C reading, every score of [`Score::ALL`] ranked against
//! C across seeds, exactly as the paper ranks G: Spearman ρ per seed with a bootstrap interval of
//! the mean, whether the score's top two are C's top two, and the accuracy after pruning the
//! components it ranks least important beside pruning by C's own order.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::analysis::ablation::Ablation;
use crate::analysis::analyze::{Analysis, PruningCurves};
use crate::analysis::attribution::GWeights;
use crate::analysis::scores::{Score, top_two};
use crate::analysis::stats::{MeanStd, interval_text};
use crate::analysis::stats::{spearman, wilson_interval};
use crate::engine::model::Positions;
use crate::engine::task::Task;
use crate::experiment::report::SeedReport;

/// Seeds on which a score's top two components are C's top two.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hits {
    /// Seeds where they are.
    pub hits: usize,
    /// Seeds looked at.
    pub seeds: usize,
    /// The 95% Wilson interval of the share.
    pub interval: Option<[f64; 2]>,
}

impl Hits {
    /// `7 of 16 [24–68%]`.
    pub fn text(&self) -> String {
        let share = self.interval.map_or(String::new(), |[low, high]| {
            format!(" [{:.0}–{:.0}%]", 100.0 * low, 100.0 * high)
        });
        format!("{} of {}{share}", self.hits, self.seeds)
    }
}

/// One score against C across seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreRow {
    /// The score.
    pub score: Score,
    /// Whether it costs less than ablating every component ([`Score::LossChange`] does not).
    pub cheap: bool,
    /// Spearman ρ against C.
    pub spearman: MeanStd,
    /// Its top two against C's.
    pub top_two: Hits,
    /// Accuracy after pruning the k components it ranks least important, per k of
    /// [`Leaderboard::counts`]; empty under an ablation pruning does not run under.
    pub pruned_accuracy: Vec<MeanStd>,
}

/// Every score against one ablation's C, for one task, across the seeds whose reports hold the
/// scores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Leaderboard {
    /// The task.
    pub task: Task,
    /// The ablation whose C every score is ranked against (and pruned with).
    pub ablation: Ablation,
    /// The position schemes the seeds were trained under.
    pub positions: Vec<Positions>,
    /// The seeds with scores.
    pub seeds: Vec<u64>,
    /// Analysed seeds whose reports predate the scores (left out).
    pub without_scores: Vec<u64>,
    /// How many components each pruning removes.
    pub counts: Vec<usize>,
    /// The accuracy after pruning by C's own order, per k; empty where pruning does not run.
    pub causal_pruned_accuracy: Vec<MeanStd>,
    /// One row per score, the best mean ρ first.
    pub rows: Vec<ScoreRow>,
}

impl Leaderboard {
    /// Of the analysed reports of `task` among `reports` (all current).
    pub fn new(task: Task, reports: &[SeedReport], ablation: Ablation) -> Self {
        let analysed: Vec<(u64, &Analysis, Positions)> = reports
            .iter()
            .filter(|r| r.run.task == task)
            .filter_map(|r| {
                let a = r.analysis.as_ref()?;
                Some((r.run.seed, a, r.run.config.model.positions))
            })
            .collect();
        let (with, without): (Vec<_>, Vec<_>) = analysed
            .into_iter()
            .partition(|(_, a, _)| a.score_pruning.is_some() && a.score(Score::Taylor).is_some());
        let counts = with
            .first()
            .and_then(|(_, a, _)| a.score_pruning.as_ref())
            .map_or_else(Vec::new, |p| p.counts.clone());
        let per_k = |values: &dyn Fn(&Analysis) -> Option<Vec<f64>>| {
            if !with
                .iter()
                .all(|(_, a, _)| curves(a, ablation, &counts).is_some())
                || with.is_empty()
            {
                return Vec::new();
            }
            (0..counts.len())
                .map(|k| MeanStd::of(with.iter().map(|(_, a, _)| values(a).map(|v| v[k]))))
                .collect()
        };
        let mut rows: Vec<ScoreRow> = Score::ALL
            .into_iter()
            .map(|score| {
                let pairs: Vec<(Vec<f64>, Vec<f64>)> = with
                    .iter()
                    .filter_map(|(_, a, _)| Some((a.score(score)?, a.causal(ablation))))
                    .collect();
                let hits = pairs
                    .iter()
                    .filter(|(s, c)| top_two(s) == top_two(c))
                    .count();
                ScoreRow {
                    score,
                    cheap: score.is_cheap(),
                    spearman: MeanStd::of(pairs.iter().map(|(s, c)| spearman(s, c))),
                    top_two: Hits {
                        hits,
                        seeds: pairs.len(),
                        interval: wilson_interval(hits, pairs.len()),
                    },
                    pruned_accuracy: per_k(&|a| {
                        curves(a, ablation, &counts).map(|c| c.by_score[&score].clone())
                    }),
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            let rho = |r: &ScoreRow| r.spearman.mean.unwrap_or(f64::NEG_INFINITY);
            rho(b).total_cmp(&rho(a))
        });
        Self {
            task,
            ablation,
            positions: with
                .iter()
                .map(|(_, _, p)| *p)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            seeds: with.iter().map(|(s, _, _)| *s).collect(),
            without_scores: without.iter().map(|(s, _, _)| *s).collect(),
            causal_pruned_accuracy: per_k(&|a| {
                curves(a, ablation, &counts).map(|c| c.causal.clone())
            }),
            counts,
            rows,
        }
    }

    /// The row of `score`.
    pub fn row(&self, score: Score) -> Option<&ScoreRow> {
        self.rows.iter().find(|r| r.score == score)
    }

    /// The answer in one sentence: the cheap score that ranks components most like C, against the
    /// paper's G; `None` without seeds.
    pub fn answer(&self) -> Option<String> {
        let best = self
            .rows
            .iter()
            .find(|r| r.cheap && r.spearman.mean.is_some())?;
        let g = self.row(Score::Grad(GWeights::WvWout))?;
        let rank = |score: Score| {
            1 + self
                .rows
                .iter()
                .filter(|r| r.cheap)
                .position(|r| r.score == score)
                .unwrap_or(0)
        };
        let cheap = self.rows.iter().filter(|r| r.cheap).count();
        let rho = |r: &ScoreRow| {
            format!(
                "ρ {:.2}{}",
                r.spearman.mean.unwrap_or(f64::NAN),
                interval_text(r.spearman.interval, 1.0, 2)
            )
        };
        let mut sentence = format!(
            "On {} ({} seeds), of the {cheap} cheap scores **{}** ranks components most like {} \
             ablation ({})",
            self.task.name(),
            self.seeds.len(),
            best.score.label(),
            self.ablation,
            rho(best),
        );
        if best.score == g.score {
            sentence.push('.');
        } else {
            sentence.push_str(&format!(
                "; the paper's G ranks {} of {cheap} ({}).",
                rank(g.score),
                rho(g)
            ));
        }
        Some(sentence)
    }

    /// The leaderboard as a Markdown table.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let pruning = !self.causal_pruned_accuracy.is_empty();
        out.push_str("| score | ρ against C | top two = C's top two |");
        if pruning {
            for k in &self.counts {
                out.push_str(&format!(" accuracy, {k} pruned |"));
            }
        }
        out.push_str("\n|---|---|---|");
        if pruning {
            out.push_str(&"---|".repeat(self.counts.len()));
        }
        out.push('\n');
        let cells = |values: &[MeanStd]| -> String {
            values
                .iter()
                .map(|m| format!(" {} |", percent(m)))
                .collect()
        };
        for row in &self.rows {
            let name = if row.cheap {
                row.score.label()
            } else {
                format!("{} (an ablation, the reference)", row.score.label())
            };
            out.push_str(&format!(
                "| {name} | {} | {} |",
                row.spearman.display(1.0, 2),
                row.top_two.text()
            ));
            if pruning {
                out.push_str(&cells(&row.pruned_accuracy));
            }
            out.push('\n');
        }
        if pruning {
            out.push_str(&format!(
                "| *C's own order* | | |{}\n",
                cells(&self.causal_pruned_accuracy)
            ));
        }
        out
    }
}

/// A report's pruning curves under `ablation`, if it pruned under it with `counts`.
fn curves<'a>(a: &'a Analysis, ablation: Ablation, counts: &[usize]) -> Option<&'a PruningCurves> {
    let pruning = a.score_pruning.as_ref()?;
    (pruning.counts == counts)
        .then(|| pruning.curves.get(&ablation))
        .flatten()
}

/// `62.1% [58.0, 66.0]`: a mean accuracy with its interval, in percent.
pub fn percent(m: &MeanStd) -> String {
    m.mean.map_or("—".into(), |mean| {
        format!(
            "{:.1}%{}",
            100.0 * mean,
            interval_text(m.interval, 100.0, 1)
        )
    })
}

/// Every C reading's leaderboard of each task with reports among `reports`: the readings every
/// analysed report of the task holds.
pub fn leaderboards(reports: &[SeedReport]) -> BTreeMap<Task, BTreeMap<Ablation, Leaderboard>> {
    Task::ALL
        .into_iter()
        .filter(|&t| reports.iter().any(|r| r.run.task == t))
        .map(|t| {
            let analyses = || {
                reports
                    .iter()
                    .filter(move |r| r.run.task == t)
                    .filter_map(|r| r.analysis.as_ref())
            };
            let boards = Ablation::ALL
                .into_iter()
                .filter(|a| analyses().all(|an| an.causal_ranks.contains_key(a)))
                .map(|a| (a, Leaderboard::new(t, reports, a)))
                .collect();
            (t, boards)
        })
        .collect()
}
