//! Which of the paper's claims hold on our models: each claim's rule, our number with its
//! interval, and the verdict (holds / does not hold / inconclusive).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analysis::ablation::Ablation;
use crate::analysis::analyze::Class;
use crate::analysis::stats::interval_text;
use crate::analysis::stats::{difference_interval, mean_interval, wilson_interval};
use crate::engine::component::Component;
use crate::engine::task::Task;
use crate::report::compare::{analysed, holding};
use crate::report::paper::Reported;
use crate::report::summary::{Summary, Table3Row};
use crate::report::table::Format;

/// Whether a claim of the paper holds on ours, judged on a 95% interval over our seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Holds {
    /// Our interval supports the paper's statement.
    Holds,
    /// Our interval excludes it.
    DoesNotHold,
    /// Too few seeds, or an interval on both sides.
    Inconclusive,
}

impl Holds {
    /// The verdict in words.
    pub fn word(self) -> &'static str {
        match self {
            Holds::Holds => "holds",
            Holds::DoesNotHold => "does not hold",
            Holds::Inconclusive => "inconclusive",
        }
    }

    /// The verdict on "the quantity exceeds `bound`", given its interval.
    fn above(interval: Option<[f64; 2]>, bound: f64) -> Self {
        match interval {
            Some([low, _]) if low > bound => Holds::Holds,
            Some([_, high]) if high < bound => Holds::DoesNotHold,
            _ => Holds::Inconclusive,
        }
    }

    /// The verdict on "the quantity lies within `[low, high]`", given its interval.
    fn within(interval: Option<[f64; 2]>, low: f64, high: f64) -> Self {
        match interval {
            Some([a, b]) if a >= low && b <= high => Holds::Holds,
            Some([a, b]) if b < low || a > high => Holds::DoesNotHold,
            _ => Holds::Inconclusive,
        }
    }

    /// Every part must hold for the whole to hold; one that does not hold decides.
    fn all(parts: impl IntoIterator<Item = Holds>) -> Self {
        parts
            .into_iter()
            .fold(Holds::Holds, |acc, h| match (acc, h) {
                (Holds::DoesNotHold, _) | (_, Holds::DoesNotHold) => Holds::DoesNotHold,
                (Holds::Inconclusive, _) | (_, Holds::Inconclusive) => Holds::Inconclusive,
                _ => Holds::Holds,
            })
    }
}

/// The fewest seeds a verdict is drawn from: a bootstrap over fewer resamples too few distinct
/// draws to say anything, so below it every claim is inconclusive (the interval is still shown).
pub const MIN_SEEDS: usize = 5;

/// `interval` as a verdict may use it: `None` when it rests on fewer than [`MIN_SEEDS`] seeds.
fn judged(interval: Option<[f64; 2]>, seeds: usize) -> Option<[f64; 2]> {
    interval.filter(|_| seeds >= MIN_SEEDS)
}

/// One of the paper's claims, checked on our models under one reading.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    /// A short stable name (the robustness table's row).
    pub key: &'static str,
    /// The claim in a few words, for a table's row.
    pub title: &'static str,
    /// The claim in the paper's words (short).
    pub claim: &'static str,
    /// What ours shows: the numbers behind the verdict, with their intervals.
    pub ours: String,
    /// The number behind the verdict in a few characters (a robustness table's cell).
    pub headline: String,
    /// The verdict.
    pub verdict: Holds,
    /// How the verdict is drawn, once per claim.
    pub rule: &'static str,
    /// What may explain a difference.
    pub why: &'static str,
    /// The tasks its verdict is drawn from.
    pub needs: &'static [Task],
    /// A C reading it compares the reading's C with, where it needs one.
    pub against: Option<Ablation>,
    /// Whether its verdict rests on joint ablations of each seed's top-two Heroes or Bloats.
    pub joint: bool,
    /// Whether its verdict is drawn from analysed seeds: every claim but the window's, which
    /// counts the seeds run.
    pub analysed: bool,
}

/// The values of `f` over the analysed seeds of `summary`'s Table 3 (defined ones only).
fn per_seed(summary: &Summary, f: impl Fn(&Table3Row) -> Option<f64>) -> Vec<f64> {
    summary.table3.rows.iter().filter_map(f).collect()
}

/// `[low, high]` as text, or `no interval`.
fn interval(i: Option<[f64; 2]>, scale: f64, digits: usize) -> String {
    match i {
        Some(_) => interval_text(i, scale, digits).trim().to_string(),
        None => "no interval (under two seeds)".into(),
    }
}

/// What every claim is checked on: the paper's numbers, our summaries (under one G reading) and
/// the reading of the paper's "mean ablation".
#[derive(Clone, Copy)]
struct Evidence<'a> {
    reported: &'a Reported,
    summaries: &'a BTreeMap<Task, Summary>,
    /// The reversal summary, where a seed was analysed.
    reverse: Option<&'a Summary>,
    /// The sorting summary, where a seed was analysed.
    sort: Option<&'a Summary>,
    c: Ablation,
}

impl<'a> Evidence<'a> {
    /// The summary of `task`, where a seed was analysed.
    fn analysed(&self, task: Task) -> Option<&'a Summary> {
        match task {
            Task::Reverse => self.reverse,
            Task::Sort => self.sort,
        }
    }
}

/// One of the paper's claims as data: its name, its words, the rule its verdict follows, why ours
/// may differ, and the function that judges it on our summaries.
struct ClaimRule {
    key: &'static str,
    title: &'static str,
    claim: &'static str,
    rule: &'static str,
    why: &'static str,
    needs: &'static [Task],
    against: Option<Ablation>,
    joint: bool,
    analysed: bool,
    judge: fn(&Evidence) -> Judged,
}

/// What a claim's judge finds on ours.
struct Judged {
    /// The numbers behind the verdict, with their intervals.
    ours: String,
    /// The number behind the verdict in a few characters.
    headline: String,
    /// The verdict.
    verdict: Holds,
}

/// The paper's claims (abstract and §3), in the order every table lists them.
const CLAIMS: [ClaimRule; 8] = [
    ClaimRule {
        key: "rho-order",
        title: "ρ higher on reversal than on sorting",
        claim: "Gradient ranks track causal ranks on reversal and much less on sorting",
        rule: "the bootstrap interval of mean ρ (reversal) − mean ρ (sorting), each task's seeds \
            resampled: above 0 holds, below 0 does not",
        why: "our models sit at other points of the OOD window and learned the tasks through \
            other circuits; with few seeds the means move by the seed-to-seed spread.",
        needs: &[Task::Reverse, Task::Sort],
        against: None,
        joint: false,
        analysed: true,
        judge: rho_order,
    },
    ClaimRule {
        key: "mean-zero-agree",
        title: "Mean and zero ablation agree",
        claim: "Mean and zero ablation agree (Table 1: their mean ρ within 0.01–0.07 of each \
            other on both tasks)",
        rule: "per task, the bootstrap interval of the mean per-seed difference ρ (mean) − ρ \
            (zero): inside ±0.1 on both tasks holds, outside ±0.1 on either does not",
        why: "mean ablation per position keeps each position's typical output, zero ablation \
            removes it: the two readings of μ differ most where outputs depend on position.",
        needs: &[Task::Reverse, Task::Sort],
        against: Some(Ablation::Zero),
        joint: false,
        analysed: true,
        judge: mean_zero_agree,
    },
    ClaimRule {
        key: "layer-pattern",
        title: "Heroes late, Bloats early (sorting)",
        claim: "On sorting, Hidden Heroes concentrate in late layers and Gradient Bloats in early \
            layers",
        rule: "at the pruning threshold, per seed (late − early) Hero heads and (early − late) \
            Bloat heads; the bootstrap intervals of both means above 0 hold, either below 0 \
            does not (the other thresholds are shown as Table 5's sums)",
        why: "which heads carry the task differs between trainings; the paper's pattern may also \
            depend on its unreported position scheme, which decides what early layers must do.",
        needs: &[Task::Sort],
        against: None,
        joint: false,
        analysed: true,
        judge: layer_pattern,
    },
    ClaimRule {
        key: "identity",
        title: "The same heads in the same roles",
        claim: "Specific heads keep their role across sorting seeds (L3_H3 a Hero in 7 of 10; \
            L1_H1 and L1_H3 Bloats in 6 of 10)",
        rule: "each head's share of seeds in its role, Wilson 95% interval: above one half (a \
            majority of seeds) for all three holds, below one half for any does not",
        why: "a head's index carries no meaning across trainings unless the same initialisation \
            breaks symmetry the same way; with other random streams than the paper's, the \
            same role may fall to another head of the same layer.",
        needs: &[Task::Sort],
        against: None,
        joint: false,
        analysed: true,
        judge: identity,
    },
    ClaimRule {
        key: "superadditivity",
        title: "The top-two Bloats are superadditive",
        claim: "Ablating the top-two Bloats together is superadditive on sorting: the joint drop \
            exceeds the sum of the single drops (the paper: mean joint drop 14× the mean \
            single drop)",
        rule: "the bootstrap interval of mean joint drop / mean sum of single drops: above 1 \
            holds, below 1 does not",
        why: "the paper's ratio divides by small single drops, so it swings with them; the \
            additive ratio (joint over the sum) is the steadier test of superadditivity.",
        needs: &[Task::Sort],
        against: None,
        joint: true,
        analysed: true,
        judge: superadditivity,
    },
    ClaimRule {
        key: "pruning",
        title: "Pruning Heroes hurts more than Bloats",
        claim: "On reversal, pruning the top-two Heroes damages far more than pruning the top-two \
            Bloats (3.6×)",
        rule: "over the seeds with both classes, the bootstrap interval of the mean of (Bloat \
            pruning change − Hero pruning change): above 0 (Heroes hurt more) holds, below 0 \
            does not",
        why: "with few analysed seeds and large seed-to-seed spread (the paper's sd is 22.8 \
            points for Heroes), a mean can fall either way.",
        needs: &[Task::Reverse],
        against: None,
        joint: true,
        analysed: true,
        judge: pruning,
    },
    ClaimRule {
        key: "norms-fall",
        title: "W_V gradient norms fall with depth",
        claim: "Raw W_V gradient norms fall with depth after layer 1 (sorting: 0.139, 0.172, \
            0.093, 0.052)",
        rule: "per seed, each layer's norm minus the next one's from layer 1 on; the bootstrap \
            intervals of the means all above 0 hold, any below 0 does not",
        why: "the order across layers is the claim, not the values: a gradient's size depends on \
            the model's state at the stop rule, which differs between trainings.",
        needs: &[Task::Sort],
        against: None,
        joint: false,
        analysed: true,
        judge: norms_fall,
    },
    ClaimRule {
        key: "window",
        title: "The seeds sit in the OOD window",
        claim: "9 of 10 reversal and 10 of 10 sorting seeds have an OOD length in the window",
        rule: "the Wilson 95% interval of the share of seeds in the window, per task: above the \
            paper's share less one seed in ten (80% reversal, 90% sorting) holds, below it \
            does not",
        why: "our reversal models stop early (at the first check above 90%) and generalise past \
            length 7 very unevenly between seeds; the paper does not say how its models \
            reached positions past the training lengths.",
        needs: &[Task::Reverse, Task::Sort],
        against: None,
        joint: false,
        analysed: false,
        judge: window,
    },
];

/// The paper's claims (abstract and §3), each checked on ours, reading the paper's "mean
/// ablation" as `c` (summaries made under one G reading).
pub fn claims(reported: &Reported, summaries: &BTreeMap<Task, Summary>, c: Ablation) -> Vec<Claim> {
    let summaries = &holding(summaries, c);
    let evidence = Evidence {
        reported,
        summaries,
        reverse: analysed(Task::Reverse, summaries),
        sort: analysed(Task::Sort, summaries),
        c,
    };
    CLAIMS
        .iter()
        .map(|rule| {
            let Judged {
                ours,
                headline,
                verdict,
            } = (rule.judge)(&evidence);
            Claim {
                key: rule.key,
                title: rule.title,
                claim: rule.claim,
                ours,
                headline,
                verdict,
                rule: rule.rule,
                why: rule.why,
                needs: rule.needs,
                against: rule.against,
                joint: rule.joint,
                analysed: rule.analysed,
            }
        })
        .collect()
}

/// ρ on reversal above ρ on sorting.
fn rho_order(e: &Evidence) -> Judged {
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
        verdict: Holds::above(judged(gap, r.len().min(s.len())), 0.0),
    }
}

/// Mean and zero ablation agree (Table 1: within 0.01–0.07 on both tasks).
fn mean_zero_agree(e: &Evidence) -> Judged {
    let c = e.c;
    type Agreement = (Task, Option<[f64; 2]>, usize, Option<f64>);
    let agreement: Vec<Agreement> = [Task::Reverse, Task::Sort]
        .into_iter()
        .map(|t| {
            let d = e.analysed(t).map_or(Vec::new(), |s| {
                per_seed(s, |r| {
                    Some(
                        r.spearman.get(&c).copied()??
                            - r.spearman.get(&Ablation::Zero).copied()??,
                    )
                })
            });
            (
                t,
                mean_interval(&d),
                d.len(),
                crate::analysis::stats::mean(&d),
            )
        })
        .collect();
    Judged {
        headline: agreement
            .iter()
            .map(|(t, _, _, m)| format!("{t} {}", m.map_or("—".into(), |m| format!("{m:+.2}"))))
            .collect::<Vec<_>>()
            .join(", "),
        ours: if c == Ablation::Zero {
            "— (this reading is zero ablation itself).".into()
        } else {
            agreement
                .iter()
                .map(|(t, i, _, m)| {
                    format!(
                        "{t}: ρ ({c}) − ρ (zero) {} {}",
                        m.map_or("—".into(), |m| format!("{m:+.2}")),
                        interval(*i, 1.0, 2)
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
                + "."
        },
        verdict: if c == Ablation::Zero {
            Holds::Inconclusive
        } else {
            Holds::all(
                agreement
                    .iter()
                    .map(|(_, i, n, _)| Holds::within(judged(*i, *n), -0.1, 0.1)),
            )
        },
    }
}

/// Heroes late, Bloats early (sorting, heads): judged per seed at the pruning threshold, Table 5's
/// sums shown at every threshold.
fn layer_pattern(e: &Evidence) -> Judged {
    let Evidence { sort, c, .. } = *e;
    let late_minus_early = |members: &[Component], late: bool| {
        let heads = members
            .iter()
            .filter(|m| matches!(m, Component::Head { .. }));
        let (l, e) = heads.fold((0.0, 0.0), |(l, e), m| {
            if m.layer() >= 2 {
                (l + 1.0, e)
            } else {
                (l, e + 1.0)
            }
        });
        if late { l - e } else { e - l }
    };
    let seeds = sort.map_or(&[][..], |s| s.roles.seeds.as_slice());
    let heroes: Vec<f64> = seeds
        .iter()
        .map(|r| late_minus_early(&r.heroes[&c], true))
        .collect();
    let bloats: Vec<f64> = seeds
        .iter()
        .map(|r| late_minus_early(&r.bloats[&c], false))
        .collect();
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
    let verdicts = vec![
        Holds::above(judged(hi, heroes.len()), 0.0),
        Holds::above(judged(bi, bloats.len()), 0.0),
    ];
    Judged {
        headline: format!("H {} B {}", mean_text(&heroes), mean_text(&bloats)),
        ours: if sort.is_none() {
            "no sorting seed analysed.".into()
        } else {
            format!("{} (heads; early = layers 0–1).", pattern.join("; "))
        },
        verdict: Holds::all(verdicts),
    }
}

/// The same heads in the same roles across sorting seeds.
fn identity(e: &Evidence) -> Judged {
    let Evidence { sort, c, .. } = *e;
    let named = [
        ("L3_H3", Class::Hero),
        ("L1_H1", Class::Bloat),
        ("L1_H3", Class::Bloat),
    ];
    // Per head: its name, its class in the paper, and (seeds in that class, seeds analysed).
    type Identity<'a> = (&'a str, Class, Option<(usize, usize)>);
    let identity: Vec<Identity> = named
        .iter()
        .map(|&(name, class)| {
            let component = name.parse().expect("a component name");
            let count =
                sort.and_then(|s| Some((s.roles.count(component, class, c)?, s.analysed())));
            (name, class, count)
        })
        .collect();
    Judged {
        headline: identity
            .iter()
            .map(|(_, _, count)| count.map_or("—".into(), |(k, n)| format!("{k}/{n}")))
            .collect::<Vec<_>>()
            .join(", "),
        ours: if sort.is_none() {
            "no sorting seed analysed.".into()
        } else {
            identity
                .iter()
                .map(|(name, class, count)| {
                    let (k, n) = count.unwrap_or((0, 0));
                    format!(
                        "{name} a {} in {k} of {n} {}",
                        if *class == Class::Hero {
                            "Hero"
                        } else {
                            "Bloat"
                        },
                        interval(wilson_interval(k, n), 100.0, 0).replace(']', "%]")
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
                + "."
        },
        verdict: Holds::all(identity.iter().map(|(_, _, count)| {
            Holds::above(
                count.and_then(|(k, n)| judged(wilson_interval(k, n), n)),
                0.5,
            )
        })),
    }
}

/// Superadditivity of the top-two Bloats on sorting.
fn superadditivity(e: &Evidence) -> Judged {
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
        verdict: Holds::above(additive.and_then(|x| judged(x.interval, x.n)), 1.0),
    }
}

/// Pruning on reversal: Heroes damage more.
fn pruning(e: &Evidence) -> Judged {
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
        verdict: Holds::above(judged(pi, paired.len()), 0.0),
    }
}

/// Gradient norms fall with depth after layer 1 (sorting, raw).
fn norms_fall(e: &Evidence) -> Judged {
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
        verdict: if steps.is_empty() {
            Holds::Inconclusive
        } else {
            let seeds = sort.map_or(0, Summary::analysed);
            Holds::all(
                steps
                    .iter()
                    .map(|(_, i)| Holds::above(judged(*i, seeds), 0.0)),
            )
        },
    }
}

/// The seeds with an OOD length in the window.
fn window(e: &Evidence) -> Judged {
    let Evidence { summaries, .. } = *e;
    let window = |t: Task| {
        summaries
            .get(&t)
            .map(|s| (s.analysed(), s.seeds.len(), s.in_window))
    };
    let share = |t: Task, paper: f64| {
        Holds::above(
            window(t).and_then(|(_, n, i)| judged(i, n)),
            paper - 0.1 - 1e-9,
        )
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
        verdict: Holds::all([share(Task::Reverse, 0.9), share(Task::Sort, 1.0)]),
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_claim_is_judged_once_in_the_tables_order_and_none_is_decided_without_seeds() {
        let all = claims(&Reported::shipped(), &BTreeMap::new(), Ablation::Mean);
        let keys: Vec<&str> = all.iter().map(|c| c.key).collect();
        assert_eq!(keys, CLAIMS.map(|rule| rule.key));
        assert_eq!(keys.iter().collect::<BTreeSet<_>>().len(), keys.len());
        for (claim, rule) in all.iter().zip(&CLAIMS) {
            assert_eq!(
                (claim.claim, claim.rule, claim.why),
                (rule.claim, rule.rule, rule.why)
            );
            assert_eq!(claim.verdict, Holds::Inconclusive, "{}", claim.key);
        }
    }

    #[test]
    fn the_verdict_rules_decide_on_the_intervals_edges() {
        assert_eq!(Holds::above(Some([0.1, 0.3]), 0.0), Holds::Holds);
        assert_eq!(Holds::above(Some([-0.3, -0.1]), 0.0), Holds::DoesNotHold);
        assert_eq!(Holds::above(Some([-0.1, 0.1]), 0.0), Holds::Inconclusive);
        assert_eq!(Holds::above(None, 0.0), Holds::Inconclusive);
        assert_eq!(Holds::within(Some([-0.1, 0.1]), -0.1, 0.1), Holds::Holds);
        assert_eq!(
            Holds::within(Some([0.2, 0.3]), -0.1, 0.1),
            Holds::DoesNotHold
        );
        assert_eq!(
            Holds::within(Some([0.0, 0.3]), -0.1, 0.1),
            Holds::Inconclusive
        );
        let all = |parts: &[Holds]| Holds::all(parts.iter().copied());
        assert_eq!(all(&[Holds::Holds, Holds::Holds]), Holds::Holds);
        assert_eq!(
            all(&[Holds::Holds, Holds::Inconclusive]),
            Holds::Inconclusive
        );
        assert_eq!(
            all(&[Holds::Inconclusive, Holds::DoesNotHold]),
            Holds::DoesNotHold
        );
        assert_eq!(judged(Some([0.1, 0.2]), MIN_SEEDS - 1), None);
        assert_eq!(judged(Some([0.1, 0.2]), MIN_SEEDS), Some([0.1, 0.2]));
    }
}
