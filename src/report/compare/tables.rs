//! The comparison's lines for the paper's tables: Table 1 (ρ per baseline), Table 3 (per seed),
//! Table 4 (superadditivity), pruning and Table 5 (classes by layer).

use std::collections::BTreeMap;

use crate::analysis::ablation::Ablation;
use crate::analysis::stats::{MeanStd, sample_std};
use crate::engine::task::Task;
use crate::report::summary::{Summary, Table4Row};

use super::{Inputs, Line, Rule, count_text, mean_std, rho};
use crate::report::paper::PaperTable4Row;
use crate::report::table::Format;

pub(super) fn table1(i: &Inputs) -> Vec<Line> {
    let mut lines = Vec::new();
    for (&task, paper) in &i.reported.table1_rho_mean_std {
        for (key, baseline, [m, sd]) in [
            ("mean_ablation", i.ablation, paper.mean_ablation),
            ("zero_ablation", Ablation::Zero, paper.zero_ablation),
        ] {
            let ours = i.analysed(task).map(|s| s.table1.of(baseline));
            lines.push(Line {
                key: format!("table1_rho_mean_std.{task}.{key}"),
                section: "Table 1: Spearman ρ across seeds",
                what: format!("{task}, {baseline} ablation: ρ mean ± sd"),
                paper: format!("{m:.2} ± {sd:.2}"),
                ours: ours.as_ref().map_or("—".into(), |o| mean_std(o, 1.0, 2)),
                seeds: ours.as_ref().map_or(0, |o| o.n),
                rule: Rule::spread(
                    ours.and_then(|o| o.mean.ok_or_else(|| "ρ undefined".into())),
                    m,
                    sd,
                    format!("±{sd:.2}, the paper's sd"),
                ),
            });
        }
    }
    lines
}

/// Why one of our seeds has no analysis.
pub(super) enum NoSeed {
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
pub(super) fn seed_rho(
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

pub(super) fn table3(i: &Inputs) -> Vec<Line> {
    let (r, c) = (i.reported, i.ablation);
    let mut lines = Vec::new();
    for (&task, per_seed) in &r.table3_rho_mean_ablation_per_seed {
        let sd = r.table1_rho_mean_std.get(&task).map(|t| t.mean_ablation[1]);
        for &seed in &r.seeds {
            let Some(&paper) = per_seed.get(&seed.to_string()) else {
                continue;
            };
            let ours = seed_rho(i.summaries, task, seed, c);
            let rule = match (paper, &ours, sd) {
                (None, Err(NoSeed::Skipped(_)), _) => Rule::Check {
                    holds: true,
                    basis: "both skipped".into(),
                },
                (None, Err(why), _) => Rule::Unavailable(why.to_string()),
                (None, Ok(_), _) => {
                    Rule::Unavailable("the paper skipped this seed; ours is analysed".into())
                }
                (Some(_), Err(why), _) => Rule::Unavailable(why.to_string()),
                (Some(p), Ok(x), Some(sd)) => Rule::spread(
                    x.ok_or_else(|| "ρ undefined".into()),
                    p,
                    sd,
                    format!("±{sd:.2}, the paper's sd across seeds"),
                ),
                (Some(_), Ok(_), None) => Rule::Unavailable("the paper gives no sd".into()),
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
                rule,
            });
        }
    }
    lines
}

pub(super) fn table4(i: &Inputs) -> Vec<Line> {
    let (r, c) = (i.reported, i.ablation);
    let mut lines = Vec::new();
    let t4 = &r.table4_sort_bloat_superadditivity_percent;
    let summary = i.analysed(Task::Sort);
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
        let row = summary
            .as_ref()
            .ok()
            .and_then(|s| s.table4[&c].rows.iter().find(|r| r.seed == seed));
        let why = match seed_rho(i.summaries, Task::Sort, seed, c) {
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
                ours: Format::Points.number(ours),
                seeds: usize::from(ours.is_some()),
                rule: Rule::spread(
                    ours.map(|x| 100.0 * x).ok_or_else(|| why.clone()),
                    (column.paper)(paper),
                    spread,
                    format!("±{spread:.1}, the spread of the paper's seeds"),
                ),
            });
        }
    }
    for (key, what, paper, ours, spread) in [
        (
            "mean_individual_drop",
            "mean single drop (points)",
            t4.mean_individual_drop,
            summary.clone().map(|s| s.table4[&c].individual_drop),
            spreads[1],
        ),
        (
            "mean_joint_drop",
            "mean joint drop (points)",
            t4.mean_joint_drop,
            summary.clone().map(|s| s.table4[&c].joint_drop),
            spreads[2],
        ),
    ] {
        lines.push(Line {
            key: format!("table4_sort_bloat_superadditivity_percent.{key}"),
            section,
            what: what.into(),
            paper: format!("{paper:.1}"),
            ours: ours.as_ref().map_or("—".into(), |o| mean_std(o, 100.0, 1)),
            seeds: ours.as_ref().map_or(0, |o| o.n),
            rule: Rule::spread(
                percent(ours),
                paper,
                spread,
                format!("±{spread:.1}, the spread of the paper's seeds"),
            ),
        });
    }
    let ratio = summary.map(|s| s.table4[&c].ratio);
    lines.push(Line {
        key: "table4_sort_bloat_superadditivity_percent.ratio".into(),
        section,
        what: "superadditivity: mean joint / mean single drop".into(),
        paper: format!("{:.1}×", t4.ratio),
        ours: ratio.as_ref().map_or("—".into(), |x| x.display_times()),
        seeds: ratio.as_ref().map_or(0, |x| x.n),
        rule: Rule::factor(
            ratio.and_then(|x| x.value.ok_or_else(|| "undefined".into())),
            t4.ratio,
        ),
    });
    lines
}

/// Ours in points, or why there is none.
fn percent(ours: Result<MeanStd, String>) -> Result<f64, String> {
    ours.and_then(|o| o.mean.ok_or_else(|| "undefined".into()))
        .map(|x| 100.0 * x)
}

/// One per-seed column of Table 4: the paper's value (points) and ours (a fraction).
#[derive(Clone, Copy)]
struct Table4Column {
    key: &'static str,
    what: &'static str,
    paper: fn(&PaperTable4Row) -> f64,
    ours: fn(&Table4Row) -> Option<f64>,
}

pub(super) fn pruning(i: &Inputs) -> Vec<Line> {
    let c = i.ablation;
    let mut lines = Vec::new();
    let section = "§3.3: pruning the top two (accuracy change, points)";
    for (&task, paper) in &i.reported.pruning_top_two_accuracy_change_percent_mean_std {
        let pruned = i.analysed(task).and_then(|s| {
            s.pruning
                .get(&c)
                .ok_or_else(|| format!("no pruning under {c} ablation"))
        });
        for (key, [m, sd]) in [("heroes", paper.heroes), ("bloats", paper.bloats)] {
            let ours = pruned.clone().map(|p| match key {
                "heroes" => p.heroes,
                _ => p.bloats,
            });
            lines.push(Line {
                key: format!("pruning_top_two_accuracy_change_percent_mean_std.{task}.{key}"),
                section,
                what: format!("{task}: top-two {key} ablated together"),
                paper: format!("{m:.1} ± {sd:.1}"),
                ours: ours.as_ref().map_or("—".into(), |o| mean_std(o, 100.0, 1)),
                seeds: ours.as_ref().map_or(0, |o| o.n),
                rule: Rule::spread(percent(ours), m, sd, format!("±{sd:.1}, the paper's sd")),
            });
        }
        if let Some(paper_ratio) = paper.hero_to_bloat_damage {
            let ours = pruned.clone().map(|p| p.hero_to_bloat);
            lines.push(Line {
                key: format!(
                    "pruning_top_two_accuracy_change_percent_mean_std.{task}.hero_to_bloat_damage"
                ),
                section,
                what: format!("{task}: Hero damage / Bloat damage"),
                paper: format!("{paper_ratio:.1}×"),
                ours: ours.as_ref().map_or("—".into(), |x| x.display_times()),
                seeds: ours.as_ref().map_or(0, |x| x.n),
                rule: Rule::factor(
                    ours.and_then(|x| x.value.ok_or_else(|| "undefined".into())),
                    paper_ratio,
                ),
            });
        }
    }
    lines
}

pub(super) fn table5(i: &Inputs) -> Vec<Line> {
    let mut lines = Vec::new();
    let section = "Table 5: sorting, Hero and Bloat heads per layer (mean ablation)";
    let summary = i.analysed(Task::Sort);
    let paper_seeds = i.reported.seeds_in_window.sort;
    for (key, paper) in &i.reported.table5_sort_heads_only_counts_summed_over_seeds {
        let Some(t) = key.strip_prefix('t').and_then(|t| t.parse::<usize>().ok()) else {
            lines.push(Line {
                key: format!("table5_sort_heads_only_counts_summed_over_seeds.{key}"),
                section,
                what: format!("threshold {key}"),
                paper: "?".into(),
                ours: "—".into(),
                seeds: 0,
                rule: Rule::Unavailable(format!("{key} is not a threshold")),
            });
            continue;
        };
        let n = summary.as_ref().map_or(0, |s| s.analysed());
        for (class, counts) in [("heroes", &paper.heroes), ("bloats", &paper.bloats)] {
            for (layer, &paper_count) in counts.iter().enumerate() {
                let ours = summary.clone().and_then(|s| {
                    let bin = s.table5.at(i.ablation, t).iter().find(|c| c.layer == layer);
                    let bin = bin.ok_or_else(|| format!("threshold {t} not computed"))?;
                    Ok(if class == "heroes" {
                        bin.heroes
                    } else {
                        bin.bloats
                    })
                });
                lines.push(Line {
                    key: format!(
                        "table5_sort_heads_only_counts_summed_over_seeds.{key}.{class}.{layer}"
                    ),
                    section,
                    what: format!("t = {t}, layer {layer}: {class}"),
                    paper: format!("{paper_count} over {paper_seeds} seeds"),
                    ours: ours.as_ref().map_or("—".into(), |&c| count_text(c, n)),
                    seeds: n,
                    rule: match ours {
                        Ok(c) => Rule::Count {
                            ours: (c, n),
                            paper: (paper_count, paper_seeds),
                        },
                        Err(why) => Rule::Unavailable(why),
                    },
                });
            }
        }
    }
    lines
}
