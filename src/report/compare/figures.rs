//! The comparison's lines for the seeds in the OOD window, the claims of the paper's text,
//! the same heads across seeds, and Figures 4 and 5.

use crate::analysis::ablation::Ablation;
use crate::analysis::analyze::Class;
use crate::analysis::stats::MeanStd;
use crate::analysis::stats::mean;
use crate::engine::component::Component;
use crate::engine::task::Task;
use crate::report::summary::Summary;

use super::tables::seed_rho;
use super::{Inputs, Line, Rule, count_text, mean_std, rho};

pub(super) fn seeds_in_window(i: &Inputs) -> Vec<Line> {
    let r = i.reported;
    let mut lines = Vec::new();
    let paper_seeds = r.seeds.len();
    for task in Task::ALL {
        let paper = match task {
            Task::Reverse => r.seeds_in_window.reverse,
            Task::Sort => r.seeds_in_window.sort,
        };
        let summary = i.summaries.get(&task);
        let (ours, run) = summary.map_or((0, 0), |s| (s.analysed(), s.seeds.len()));
        let rule = match run {
            0 => Rule::Unavailable(format!("no {task} runs")),
            _ => Rule::Share {
                ours: (ours, run),
                paper: (paper, paper_seeds),
            },
        };
        lines.push(Line {
            key: format!("seeds_in_window.{task}"),
            section: "Seeds in the OOD window",
            what: format!("{task}: seeds with a length in the window"),
            paper: format!("{paper} of {paper_seeds}"),
            ours: format!("{ours} of {run}"),
            seeds: ours,
            rule,
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
        let (ours_skipped, rule) = match summary {
            None => (
                "—".to_string(),
                Rule::Unavailable(format!("no {task} runs")),
            ),
            Some(s) => {
                let mut skipped: Vec<u64> = s.skipped.iter().map(|k| k.seed).collect();
                skipped.sort_unstable();
                let mut paper_sorted = paper_skipped.clone();
                paper_sorted.sort_unstable();
                let rule = Rule::Check {
                    holds: skipped == paper_sorted,
                    basis: "the same seeds".into(),
                };
                (list(&skipped), rule)
            }
        };
        lines.push(Line {
            key: format!("seeds_in_window.skipped.{task}"),
            section: "Seeds in the OOD window",
            what: format!("{task}: seeds skipped"),
            paper: list(&paper_skipped),
            ours: ours_skipped,
            seeds: summary.map_or(0, |s| s.seeds.len()),
            rule,
        });
    }
    lines
}

pub(super) fn text_claims(i: &Inputs) -> Vec<Line> {
    let (r, c) = (i.reported, i.ablation);
    // Sorting seed 456: ρ ≈ 0 under both baselines.
    let paper = r.text_sort_seed456_rho_both_baselines_about;
    let table1 = r.table1_rho_mean_std.get(&Task::Sort);
    let both = [c, Ablation::Zero].map(|a| seed_rho(i.summaries, Task::Sort, 456, a));
    let rule = match (&both, table1) {
        (_, None) => Rule::Unavailable("reported.json has no sorting Table 1".into()),
        ([Err(why), _] | [_, Err(why)], _) => Rule::Unavailable(why.to_string()),
        ([Ok(mean), Ok(zero)], Some(t)) => {
            let within = |x: &Option<f64>, sd: f64| x.is_some_and(|x| (x - paper).abs() <= sd);
            Rule::Check {
                holds: within(mean, t.mean_ablation[1]) && within(zero, t.zero_ablation[1]),
                basis: format!(
                    "±{:.2} / ±{:.2}, the paper's sd per baseline",
                    t.mean_ablation[1], t.zero_ablation[1]
                ),
            }
        }
    };
    let seed456 = Line {
        key: "text_sort_seed456_rho_both_baselines_about".into(),
        section: "§3.1 in the text",
        what: format!("sort seed 456: ρ under {c} and zero ablation"),
        paper: format!("≈ {paper:.2} (both)"),
        ours: match &both {
            [Ok(m), Ok(z)] => format!("{} ({c}), {} (zero)", rho(*m), rho(*z)),
            _ => "skipped".into(),
        },
        seeds: usize::from(both[0].is_ok()),
        rule,
    };

    // Activation patching on an unnamed sorting seed: compared with the range of ours.
    let paper = r.text_activation_patching_rho_best_characterized_seed;
    let values: Vec<f64> = i.analysed(Task::Sort).map_or(Vec::new(), |s| {
        s.table3
            .rows
            .iter()
            .filter_map(|r| r.spearman[&Ablation::Resample])
            .collect()
    });
    let (low, high) = (
        values.iter().copied().reduce(f64::min),
        values.iter().copied().reduce(f64::max),
    );
    let (ours, rule) = match (low, high) {
        (Some(low), Some(high)) => (
            format!(
                "{} to {} (mean {})",
                rho(Some(low)),
                rho(Some(high)),
                rho(mean(&values))
            ),
            Rule::Range {
                ours: (low, high),
                paper,
            },
        ),
        _ => (
            "—".into(),
            Rule::Unavailable(
                i.analysed(Task::Sort)
                    .err()
                    .unwrap_or_else(|| "no ρ under resample ablation".into()),
            ),
        ),
    };
    let patching = Line {
        key: "text_activation_patching_rho_best_characterized_seed".into(),
        section: "§3.1 in the text",
        what: "sort: ρ of G against activation patching (resample ablation), one seed".into(),
        paper: format!("{paper:.3} (seed not named)"),
        ours,
        seeds: values.len(),
        rule,
    };
    vec![seed456, patching]
}

pub(super) fn identity(i: &Inputs) -> Vec<Line> {
    let c = i.ablation;
    let summary = i.analysed(Task::Sort);
    let p = &i.reported.component_identity_sort;
    let rows = [
        ("L3_H3_hero_seeds", "L3_H3", true, p.l3_h3_hero_seeds),
        ("L1_H1_bloat_seeds", "L1_H1", false, p.l1_h1_bloat_seeds),
        ("L1_H3_bloat_seeds", "L1_H3", false, p.l1_h3_bloat_seeds),
    ];
    rows.map(|(key, name, is_hero, paper)| {
        let component: Component = name.parse().expect("a component name");
        let class = if is_hero { Class::Hero } else { Class::Bloat };
        let n = summary.as_ref().map_or(0, |s| s.analysed());
        let ours = summary.clone().and_then(|s| {
            s.roles
                .count(component, class, c)
                .ok_or_else(|| format!("no roles under {c} ablation"))
        });
        let class = if is_hero { "Hero" } else { "Bloat" };
        Line {
            key: format!("component_identity_sort.{key}"),
            section: "§3.4: component identity (sorting, mean ablation)",
            what: format!(
                "{name} a {class} (t = {}, {c} ablation)",
                summary.as_ref().map_or(6, |s| s.roles.threshold)
            ),
            paper: format!("{paper} of {}", p.out_of),
            ours: ours.as_ref().map_or("—".into(), |&c| count_text(c, n)),
            seeds: n,
            rule: match ours {
                Ok(c) => Rule::Count {
                    ours: (c, n),
                    paper: (paper, p.out_of),
                },
                Err(why) => Rule::Unavailable(why),
            },
        }
    })
    .into()
}

pub(super) fn figure4(i: &Inputs) -> Vec<Line> {
    let r = i.reported;
    let mut lines = Vec::new();
    let section = "Figure 4: W_V gradient norm per layer";
    let sort = i.analysed(Task::Sort);
    for (layer, &paper) in r.figure4_sort_layer_wv_grad_norm.iter().enumerate() {
        let ours = sort.clone().and_then(|s| {
            s.figure4
                .raw
                .get(layer)
                .copied()
                .ok_or_else(|| format!("no layer {layer}"))
        });
        let rule = match ours {
            Ok(MeanStd {
                mean: Some(m),
                std: Some(sd),
                ..
            }) => Rule::Spread {
                ours: m,
                paper,
                spread: sd,
                basis: format!("±{sd:.3}, our seeds' sd (the paper gives none)"),
            },
            Ok(_) => Rule::Unavailable("one seed: no spread to compare with".into()),
            Err(ref why) => Rule::Unavailable(why.clone()),
        };
        lines.push(Line {
            key: format!("figure4_sort_layer_wv_grad_norm.{layer}"),
            section,
            what: format!("sort, layer {layer}"),
            paper: format!("{paper:.3}"),
            ours: ours.as_ref().map_or("—".into(), |o| mean_std(o, 1.0, 3)),
            seeds: ours.as_ref().map_or(0, |o| o.n),
            rule,
        });
    }

    // Reversal: in words only. Checked as the paper words it: decreasing from layer 1 on, and
    // above sorting at every layer.
    let reverse = i.analysed(Task::Reverse);
    let means = |s: &Summary| -> Vec<f64> {
        s.figure4
            .raw
            .iter()
            .map(|m| m.mean.unwrap_or(f64::NAN))
            .collect()
    };
    let (ours, rule) = match (&reverse, &sort) {
        (Ok(rev), Ok(sort)) => {
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
            let rule = Rule::Check {
                holds: decreasing && higher,
                basis,
            };
            (text, rule)
        }
        (Err(why), _) => ("—".to_string(), Rule::Unavailable(why.clone())),
        (_, Err(why)) => (
            "—".to_string(),
            Rule::Unavailable(format!("needs sorting to compare with: {why}")),
        ),
    };
    lines.push(Line {
        key: "figure4_reverse_layer_wv_grad_norm".into(),
        section,
        what: "reverse, all layers".into(),
        paper: r.figure4_reverse_layer_wv_grad_norm.clone(),
        ours,
        seeds: reverse.map_or(0, |s| s.analysed()),
        rule,
    });
    lines
}

pub(super) fn figure5(i: &Inputs) -> Vec<Line> {
    let (c, summaries) = (i.ablation, i.summaries);
    let paper = &i.reported.figure5_sort_seed2020_n10;
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
    let (ours, rule) = match (roles, length) {
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
            let rule = Rule::Check {
                holds: same == named,
                basis,
            };
            (text, rule)
        }
        _ => (
            "—".to_string(),
            Rule::Unavailable(
                seed_rho(summaries, Task::Sort, seed, c)
                    .err()
                    .map_or_else(|| "no roles recorded".into(), |why| why.to_string()),
            ),
        ),
    };
    vec![Line {
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
        rule,
    }]
}
