//! What each claim shows of ours beside its verdict: the numbers behind it with their intervals,
//! and a headline of a few characters.

use crate::analysis::ablation::Ablation;
use crate::analysis::analyze::Class;
use crate::analysis::stats::interval_text;
use crate::analysis::stats::{difference_interval, mean_interval};
use crate::engine::component::Component;
use crate::engine::task::Task;
use crate::report::summary::Summary;
use crate::report::table::Format;

use super::evidence::{Evidence, HEADS, IDENTITY_LAYERS, NAMED_ROLES, agreeing, per_seed};
use super::sample::{layer_pattern_sample, rho_gap_sample};

/// What a claim's judge shows of ours.
pub(super) struct Judged {
    /// The numbers behind the verdict, with their intervals.
    pub(super) ours: String,
    /// The number behind the verdict in a few characters.
    pub(super) headline: String,
}

/// `[low, high]` as text, or `no interval`.
fn interval(i: Option<[f64; 2]>, scale: f64, digits: usize) -> String {
    match i {
        Some(_) => interval_text(i, scale, digits).trim().to_string(),
        None => "no interval (under two seeds)".into(),
    }
}

/// ρ on reversal above ρ on sorting.
pub(super) fn rho_order(e: &Evidence) -> Judged {
    let Evidence {
        reported,
        reverse,
        sort,
        c,
        ..
    } = *e;
    let rhos = |s: Option<&Summary>| {
        s.map_or(Vec::new(), |s| {
            per_seed(s, |r| r.spearman.get(&c).copied().flatten())
        })
    };
    let (r, s) = (rhos(reverse), rhos(sort));
    let gap = difference_interval(&r, &s);
    let paper = &reported.table1_rho_mean_std;
    let paper_rho = |t: Task| paper.get(&t).map_or(f64::NAN, |t| t.mean_ablation[0]);
    Judged {
        headline: format!("{} vs {}", mean_text(&r), mean_text(&s)),
        ours: format!(
            "ρ ({c}) {} on reversal, {} on sorting (paper {:.2} and {:.2}); reversal − sorting \
             {}.",
            mean_text(&r),
            mean_text(&s),
            paper_rho(Task::Reverse),
            paper_rho(Task::Sort),
            interval(gap, 1.0, 2)
        ),
    }
}

/// Mean and zero ablation agree (Table 1: within 0.01–0.07 on both tasks).
pub(super) fn mean_zero_agree(e: &Evidence) -> Judged {
    let Some(c) = agreeing(e.c) else {
        return Judged {
            headline: "—".into(),
            ours: "— (this reading is zero ablation itself).".into(),
        };
    };
    // Per task: the mean per-seed ρ (c) − ρ (zero), with its interval.
    let differences = |c: Ablation| -> Vec<String> {
        rho_gap_sample(e, c)
            .groups
            .iter()
            .map(|g| {
                let d = g.column(0);
                format!(
                    "{}: ρ ({c}) − ρ (zero) {} {}",
                    g.task,
                    mean_signed(&d),
                    interval(mean_interval(&d), 1.0, 2)
                )
            })
            .collect()
    };
    let mut ours = differences(c).join("; ");
    if e.c == Ablation::Slot {
        ours += &format!(
            " (`slot` is not an ablation, so the claim reads mean ablation on the same examples; \
             `slot` against zero: {})",
            differences(Ablation::Slot).join("; ")
        );
    }
    Judged {
        headline: rho_gap_sample(e, c)
            .groups
            .iter()
            .map(|g| format!("{} {}", g.task, mean_signed(&g.column(0))))
            .collect::<Vec<_>>()
            .join(", "),
        ours: ours + ".",
    }
}

/// `+0.04` (the mean of the values), or `—`.
fn mean_signed(values: &[f64]) -> String {
    crate::analysis::stats::mean(values).map_or("—".into(), |m| format!("{m:+.2}"))
}

/// Heroes late, Bloats early (sorting, heads): judged per seed at the pruning threshold, Table 5's
/// sums shown at every threshold.
pub(super) fn layer_pattern(e: &Evidence) -> Judged {
    let Evidence { sort, c, .. } = *e;
    let sample = layer_pattern_sample(e);
    let (heroes, bloats) = (sample.groups[0].column(0), sample.groups[0].column(1));
    let (hi, bi) = (mean_interval(&heroes), mean_interval(&bloats));
    let mut pattern = vec![format!(
        "per seed at t = {}: late − early Hero heads {} {}, early − late Bloat heads {} {}",
        sort.map_or(6, |s| s.roles.threshold),
        mean_text(&heroes),
        interval(hi, 1.0, 2),
        mean_text(&bloats),
        interval(bi, 1.0, 2)
    )];
    for t in [4, 6, 8] {
        let counts = sort.map(|s| s.table5.at(c, t).to_vec()).unwrap_or_default();
        if counts.len() < 4 {
            continue;
        }
        let sum = |l: &[crate::report::summary::LayerCount], hero: bool| -> usize {
            l.iter()
                .map(|c| if hero { c.heroes } else { c.bloats })
                .sum()
        };
        let (early, late) = counts.split_at(2);
        pattern.push(format!(
            "t = {t} summed: Heroes {} early / {} late, Bloats {} early / {} late",
            sum(early, true),
            sum(late, true),
            sum(early, false),
            sum(late, false)
        ));
    }
    Judged {
        headline: format!("H {} B {}", mean_text(&heroes), mean_text(&bloats)),
        ours: if sort.is_none() {
            "no sorting seed analysed.".into()
        } else {
            format!("{} (heads; early = layers 0–1).", pattern.join("; "))
        },
    }
}

/// The same heads in the same roles across sorting seeds: the paper's named heads on ours, and
/// each named layer's most frequent head against the layer's share per head.
pub(super) fn identity(e: &Evidence) -> Judged {
    let Evidence { sort, c, .. } = *e;
    let Some(sort) = sort else {
        return Judged {
            headline: "—".into(),
            ours: "no sorting seed analysed.".into(),
        };
    };
    let n = sort.analysed();
    let class_name = |class: Class| {
        if class == Class::Hero {
            "Hero"
        } else {
            "Bloat"
        }
    };
    // Per head the paper names: its name, its role, and the seeds it has that role in.
    let named: Vec<(&str, Class, usize)> = NAMED_ROLES
        .iter()
        .map(|&(name, class)| {
            let k = name
                .parse()
                .ok()
                .and_then(|head| sort.roles.count(head, class, c))
                .unwrap_or(0);
            (name, class, k)
        })
        .collect();
    let layers: Vec<String> = IDENTITY_LAYERS
        .iter()
        .map(|&(layer, class)| {
            let counts: Vec<(usize, usize)> = (0..HEADS)
                .map(|head| {
                    let k = sort
                        .roles
                        .count(Component::Head { layer, head }, class, c)
                        .unwrap_or(0);
                    (head, k)
                })
                .collect();
            let (top, k) = counts
                .iter()
                .copied()
                .max_by_key(|&(h, k)| (k, HEADS - h))
                .unwrap_or((0, 0));
            let all: usize = counts.iter().map(|&(_, k)| k).sum();
            format!(
                "layer {layer}'s most frequent {} L{layer}_H{top} in {k} of {n} against {:.1} a \
                 head",
                class_name(class),
                all as f64 / HEADS as f64
            )
        })
        .collect();
    Judged {
        headline: named
            .iter()
            .map(|(_, _, k)| format!("{k}/{n}"))
            .collect::<Vec<_>>()
            .join(", "),
        ours: format!(
            "the paper's names: {}; ours: {}.",
            named
                .iter()
                .map(|(name, class, k)| format!("{name} a {} in {k} of {n}", class_name(*class)))
                .collect::<Vec<_>>()
                .join(", "),
            layers.join("; ")
        ),
    }
}

/// Superadditivity of the top-two Bloats on sorting.
pub(super) fn superadditivity(e: &Evidence) -> Judged {
    let Evidence { sort, c, .. } = *e;
    let table4 = sort.map(|s| &s.table4[&c]);
    let additive = table4.map(|t| t.additive_ratio);
    Judged {
        headline: additive.map_or("—".into(), |x| x.display_times()),
        ours: format!(
            "mean joint / mean single drop {}, joint / sum of single drops {}.",
            table4.map_or("—".into(), |t| t.ratio.display_times()),
            additive.map_or("—".into(), |x| x.display_times())
        ),
    }
}

/// Pruning on reversal: Heroes damage more.
pub(super) fn pruning(e: &Evidence) -> Judged {
    let Evidence { reverse, c, .. } = *e;
    let pruning = reverse.and_then(|s| s.pruning.get(&c));
    let paired: Vec<f64> = pruning.map_or(Vec::new(), |p| {
        p.rows
            .iter()
            .filter_map(|r| Some(r.bloats? - r.heroes?))
            .collect()
    });
    let pi = mean_interval(&paired);
    Judged {
        headline: pruning.map_or("—".into(), |p| {
            format!(
                "H {} B {}",
                Format::Points.number(p.heroes.mean),
                Format::Points.number(p.bloats.mean)
            )
        }),
        ours: match pruning {
            Some(p) => format!(
                "Heroes {} points, Bloats {} points; Bloat − Hero change per seed {} ({} seeds \
                 with both).",
                Format::Points.number(p.heroes.mean),
                Format::Points.number(p.bloats.mean),
                interval(pi, 100.0, 1),
                paired.len()
            ),
            None => "no reversal seed analysed.".into(),
        },
    }
}

/// Gradient norms fall with depth after layer 1 (sorting, raw).
pub(super) fn norms_fall(e: &Evidence) -> Judged {
    let Evidence { sort, .. } = *e;
    let norms = sort.map(|s| &s.figure4.raw);
    let steps: Vec<(usize, Option<[f64; 2]>)> = sort.map_or(Vec::new(), |s| {
        (1..s.figure4.raw.len().saturating_sub(1))
            .map(|l| {
                let d = per_seed_layers(s, l);
                (l, mean_interval(&d))
            })
            .collect()
    });
    Judged {
        headline: norms.map_or("—".into(), |n| {
            n.iter()
                .map(|m| m.mean.map_or("—".into(), |x| format!("{x:.3}")))
                .collect::<Vec<_>>()
                .join(", ")
        }),
        ours: match norms {
            None => "no sorting seed analysed.".into(),
            Some(n) => format!(
                "{}; layer l − layer l+1: {}.",
                n.iter()
                    .map(|m| m.mean.map_or("—".into(), |x| format!("{x:.3}")))
                    .collect::<Vec<_>>()
                    .join(", "),
                steps
                    .iter()
                    .map(|(l, i)| format!("{l}→{} {}", l + 1, interval(*i, 1.0, 3)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    }
}

/// The seeds with an OOD length in the window.
pub(super) fn window(e: &Evidence) -> Judged {
    let Evidence { summaries, .. } = *e;
    let window = |t: Task| {
        summaries
            .get(&t)
            .map(|s| (s.analysed(), s.seeds.len(), s.in_window))
    };
    Judged {
        headline: [Task::Reverse, Task::Sort]
            .map(|t| window(t).map_or("—".into(), |(k, n, _)| format!("{k}/{n}")))
            .join(", "),
        ours: format!(
            "{} reversal, {} sorting.",
            window(Task::Reverse).map_or("—".into(), |(k, n, i)| format!(
                "{k} of {n} {}",
                interval(i, 100.0, 0).replace(']', "%]")
            )),
            window(Task::Sort).map_or("—".into(), |(k, n, i)| format!(
                "{k} of {n} {}",
                interval(i, 100.0, 0).replace(']', "%]")
            ))
        ),
    }
}

/// Per analysed seed, the raw W_V norm of layer `l` minus that of layer `l + 1`.
fn per_seed_layers(s: &Summary, l: usize) -> Vec<f64> {
    s.figure4
        .per_seed
        .iter()
        .map(|layers| layers[l] - layers[l + 1])
        .collect()
}

/// `0.42` (the mean of the values), or `—`.
fn mean_text(values: &[f64]) -> String {
    crate::analysis::stats::mean(values).map_or("—".into(), |m| format!("{m:.2}"))
}
