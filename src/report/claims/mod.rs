//! Which of the paper's claims hold on our models: each claim's rule and statistic (METHOD §9.1),
//! our number with its interval, the verdict (holds / does not hold / inconclusive), and the
//! paper's own numbers judged by the same rule.

mod evidence;
mod paper;
mod sample;
mod shown;

use std::collections::BTreeMap;

use crate::analysis::ablation::Ablation;
use crate::engine::task::Task;
use crate::report::compare::{analysed, holding};
use crate::report::paper::Reported;
pub use crate::report::statistic::Holds;
use crate::report::statistic::{Measured, Sample, Side, Statistic};
use crate::report::summary::Summary;

use evidence::{Evidence, HEADS};
pub use paper::PaperVerdict;
use paper::{
    identity_paper, layer_pattern_paper, mean_zero_agree_paper, norms_fall_paper, pruning_paper,
    rho_order_paper, superadditivity_paper, window_paper,
};
use sample::{
    identity_sample, layer_pattern_sample, mean_zero_agree_sample, norms_fall_sample,
    pruning_sample, rho_order_sample, superadditivity_sample, window_sample,
};
use shown::{
    Judged, identity, layer_pattern, mean_zero_agree, norms_fall, pruning, rho_order,
    superadditivity, window,
};

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
    /// The verdict: the side of the statistic's threshold its interval lies on.
    pub verdict: Holds,
    /// The statistic the verdict is drawn from (METHOD §9.1).
    pub statistic: Statistic,
    /// The statistic on ours: its value, interval and seeds.
    pub measured: Measured,
    /// What the statistic read, per task and seed: a switch's effect resamples it.
    pub sample: Sample,
    /// The paper's own numbers judged by the same rule.
    pub paper: PaperVerdict,
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
    statistic: Statistic,
    /// Per task and seed, the values its statistic reads.
    observe: fn(&Evidence) -> Sample,
    /// The paper's numbers under the same statistic and rule.
    paper: fn(&Reported, &Statistic) -> PaperVerdict,
    /// The numbers shown beside the verdict.
    judge: fn(&Evidence) -> Judged,
}

/// The paper's claims (abstract and §3), in the order every table lists them.
const CLAIMS: [ClaimRule; 8] = [
    ClaimRule {
        key: "rho-order",
        title: "ρ higher on reversal than on sorting",
        claim: "Gradient ranks track causal ranks on reversal and much less on sorting",
        rule: "S = mean ρ (reversal) − mean ρ (sorting), each task's seeds resampled: its \
            interval above 0 holds, below 0 does not",
        why: "our models sit at other points of the OOD window and learned the tasks through \
            other circuits; with few seeds the means move by the seed-to-seed spread.",
        needs: &[Task::Reverse, Task::Sort],
        against: None,
        joint: false,
        analysed: true,
        statistic: Statistic {
            what: "mean ρ reversal − mean ρ sorting",
            threshold: 0.0,
            side: Side::Above,
            exchangeable: None,
            combine: |m| Some(m[0] - m[1]),
        },
        observe: rho_order_sample,
        paper: rho_order_paper,
        judge: rho_order,
    },
    ClaimRule {
        key: "mean-zero-agree",
        title: "Mean and zero ablation agree",
        claim: "Mean and zero ablation agree (Table 1: their mean ρ within 0.01–0.07 of each \
            other on both tasks)",
        rule: "S = the larger over the two tasks of |mean per-seed ρ (mean) − ρ (zero)|, both \
            ablations on the same examples (under published its fresh examples: mean ablation, \
            not `slot`, which is shown apart): its interval under 0.1 holds, above 0.1 does not",
        why: "mean ablation per position keeps each position's typical output, zero ablation \
            removes it: the two readings of μ differ most where outputs depend on position.",
        needs: &[Task::Reverse, Task::Sort],
        against: Some(Ablation::Zero),
        joint: false,
        analysed: true,
        statistic: Statistic {
            what: "the larger |mean ρ (mean) − ρ (zero)| of the two tasks",
            threshold: 0.1,
            side: Side::Below,
            exchangeable: None,
            combine: |m| Some(m[0].abs().max(m[1].abs())),
        },
        observe: mean_zero_agree_sample,
        paper: mean_zero_agree_paper,
        judge: mean_zero_agree,
    },
    ClaimRule {
        key: "layer-pattern",
        title: "Heroes late, Bloats early (sorting)",
        claim: "On sorting, Hidden Heroes concentrate in late layers and Gradient Bloats in early \
            layers",
        rule: "at the pruning threshold, per seed (late − early) Hero heads and (early − late) \
            Bloat heads; S = the smaller of their two means: its interval above 0 holds, below 0 \
            does not (Table 5's sums at every threshold are shown)",
        why: "which heads carry the task differs between trainings; the paper's pattern may also \
            depend on its unreported position scheme, which decides what early layers must do.",
        needs: &[Task::Sort],
        against: None,
        joint: false,
        analysed: true,
        statistic: Statistic {
            what: "the smaller of mean (late − early) Hero heads and mean (early − late) Bloat heads",
            threshold: 0.0,
            side: Side::Above,
            exchangeable: None,
            combine: |m| Some(m[0].min(m[1])),
        },
        observe: layer_pattern_sample,
        paper: layer_pattern_paper,
        judge: layer_pattern,
    },
    ClaimRule {
        key: "identity",
        title: "The same heads in the same roles",
        claim: "Specific heads keep their role across sorting seeds (L3_H3 a Hero in 7 of 10; \
            L1_H1 and L1_H3 Bloats in 6 of 10)",
        rule: "a head's name is a label (METHOD §9.1): S = the smaller, over the layers the \
            paper names (layer 3's Heroes, layer 1's Bloats), of the most frequent head's share \
            of seeds in the role minus the layer's share per head; holds when relabelling the \
            layer's heads at random within each seed gives an S as large in under 5% of 10,000 \
            draws, else inconclusive (a head picked as the most frequent cannot be shown not to \
            be)",
        why: "a head's index carries no meaning across trainings unless the same initialisation \
            breaks symmetry the same way; with other random streams than the paper's, the \
            same role may fall to another head of the same layer.",
        needs: &[Task::Sort],
        against: None,
        joint: false,
        analysed: true,
        statistic: Statistic {
            what: "the most frequent head's share minus its layer's, the smaller of layer 3's \
                Heroes and layer 1's Bloats",
            threshold: 0.0,
            side: Side::Above,
            exchangeable: Some(HEADS),
            combine: |m| {
                let excess = |layer: &[f64]| {
                    let most = layer.iter().copied().fold(f64::MIN, f64::max);
                    most - layer.iter().sum::<f64>() / layer.len() as f64
                };
                let (heroes, bloats) = m.split_at(HEADS);
                Some(excess(heroes).min(excess(bloats)))
            },
        },
        observe: identity_sample,
        paper: identity_paper,
        judge: identity,
    },
    ClaimRule {
        key: "superadditivity",
        title: "The top-two Bloats are superadditive",
        claim: "Ablating the top-two Bloats together is superadditive on sorting: the joint drop \
            exceeds the sum of the single drops (the paper: mean joint drop 14× the mean \
            single drop)",
        rule: "S = mean joint drop / mean sum of single drops over the seeds with both (the \
            additive ratio): its interval above 1 holds, below 1 does not",
        why: "the paper's ratio divides by small single drops, so it swings with them; the \
            additive ratio (joint over the sum) is the steadier test of superadditivity.",
        needs: &[Task::Sort],
        against: None,
        joint: true,
        analysed: true,
        statistic: Statistic {
            what: "mean joint drop / mean sum of single drops",
            threshold: 1.0,
            side: Side::Above,
            exchangeable: None,
            combine: |m| (m[1] != 0.0).then(|| m[0] / m[1]),
        },
        observe: superadditivity_sample,
        paper: superadditivity_paper,
        judge: superadditivity,
    },
    ClaimRule {
        key: "pruning",
        title: "Pruning Heroes hurts more than Bloats",
        claim: "On reversal, pruning the top-two Heroes damages far more than pruning the top-two \
            Bloats (3.6×)",
        rule: "S = the mean over the seeds with both classes of (Bloat pruning change − Hero \
            pruning change): its interval above 0 (Heroes hurt more) holds, below 0 does not",
        why: "with few analysed seeds and large seed-to-seed spread (the paper's sd is 22.8 \
            points for Heroes), a mean can fall either way.",
        needs: &[Task::Reverse],
        against: None,
        joint: true,
        analysed: true,
        statistic: Statistic {
            what: "mean (Bloat pruning change − Hero pruning change)",
            threshold: 0.0,
            side: Side::Above,
            exchangeable: None,
            combine: |m| Some(m[0]),
        },
        observe: pruning_sample,
        paper: pruning_paper,
        judge: pruning,
    },
    ClaimRule {
        key: "norms-fall",
        title: "W_V gradient norms fall with depth",
        claim: "Raw W_V gradient norms fall with depth after layer 1 (sorting: 0.139, 0.172, \
            0.093, 0.052)",
        rule: "per seed, each layer's raw W_V norm minus the next one's from layer 1 on; S = the \
            smallest of their means: its interval above 0 holds, below 0 does not",
        why: "the order across layers is the claim, not the values: a gradient's size depends on \
            the model's state at the stop rule, which differs between trainings.",
        needs: &[Task::Sort],
        against: None,
        joint: false,
        analysed: true,
        statistic: Statistic {
            what: "the smallest mean fall from one layer's norm to the next, from layer 1 on",
            threshold: 0.0,
            side: Side::Above,
            exchangeable: None,
            combine: |m| m.iter().copied().reduce(f64::min),
        },
        observe: norms_fall_sample,
        paper: norms_fall_paper,
        judge: norms_fall,
    },
    ClaimRule {
        key: "window",
        title: "The seeds sit in the OOD window",
        claim: "9 of 10 reversal and 10 of 10 sorting seeds have an OOD length in the window",
        rule: "S = the smaller of the two tasks' shares of the seeds run that have an OOD \
            length in the window: its interval above one half (most seeds, as the paper's 9 and \
            10 of 10) holds, below one half does not",
        why: "our reversal models stop early (at the first check above 90%) and generalise past \
            length 7 very unevenly between seeds; the paper does not say how its models \
            reached positions past the training lengths.",
        needs: &[Task::Reverse, Task::Sort],
        against: None,
        joint: false,
        analysed: false,
        statistic: Statistic {
            what: "the smaller share of seeds in the window of the two tasks",
            threshold: 0.5,
            side: Side::Above,
            exchangeable: None,
            combine: |m| Some(m[0].min(m[1])),
        },
        observe: window_sample,
        paper: window_paper,
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
            let Judged { ours, headline } = (rule.judge)(&evidence);
            let sample = (rule.observe)(&evidence);
            let measured = rule.statistic.measure(&sample);
            let ours = match measured.p {
                Some(p) => format!("{ours} Relabelling the heads: p = {p:.3}."),
                None => ours,
            };
            Claim {
                key: rule.key,
                title: rule.title,
                claim: rule.claim,
                ours,
                headline,
                verdict: measured.verdict,
                statistic: rule.statistic,
                measured,
                sample,
                paper: (rule.paper)(evidence.reported, &rule.statistic),
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::report::statistic::Group;

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

    /// A sample of `tasks`, each with ten seeds whose values are `seed(i)`.
    fn ten_seeds(tasks: &[Task], seed: impl Fn(Task, usize) -> Vec<f64>) -> Sample {
        let groups = tasks
            .iter()
            .map(|&t| {
                let mut group = Group::new(t, seed(t, 0).len());
                for i in 0..10 {
                    group.push(i as u64 + 1, seed(t, i));
                }
                group
            })
            .collect();
        Sample { groups }
    }

    #[test]
    fn every_claims_rule_can_hold_on_ten_seeds() {
        use Task::{Reverse, Sort};
        let spread = |i: usize| (i as f64 - 4.5) * 0.01;
        let outcomes: [(&str, Sample); 8] = [
            // ρ 0.75 ± 0.05 on reversal, 0.35 ± 0.05 on sorting.
            (
                "rho-order",
                ten_seeds(&[Reverse, Sort], |t, i| {
                    vec![if t == Reverse { 0.75 } else { 0.35 } + spread(i)]
                }),
            ),
            // Mean and zero ablation within 0.05 of each other on every seed.
            (
                "mean-zero-agree",
                ten_seeds(&[Reverse, Sort], |_, i| vec![spread(i)]),
            ),
            // One more Hero head late than early, and one more Bloat head early than late.
            (
                "layer-pattern",
                ten_seeds(&[Sort], |_, i| vec![1.0 + spread(i).signum(), 1.0]),
            ),
            // L3_H3 a Hero and L1_H1 a Bloat on every seed, no other head of theirs.
            (
                "identity",
                ten_seeds(&[Sort], |_, _| vec![0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0]),
            ),
            // Joint drops twice the sum of the single drops.
            (
                "superadditivity",
                ten_seeds(&[Sort], |_, i| vec![0.2 + spread(i), 0.1]),
            ),
            // Pruning the Heroes costs 20 points more than pruning the Bloats.
            (
                "pruning",
                ten_seeds(&[Reverse], |_, i| vec![0.2 + spread(i)]),
            ),
            // Norms fall by 0.03 from layer to layer.
            (
                "norms-fall",
                ten_seeds(&[Sort], |_, i| vec![0.03 + spread(i) / 10.0, 0.03]),
            ),
            // 9 of 10 reversal and 10 of 10 sorting seeds in the window, as the paper's.
            (
                "window",
                ten_seeds(&[Reverse, Sort], |t, i| {
                    vec![if t == Reverse && i == 0 { 0.0 } else { 1.0 }]
                }),
            ),
        ];
        for (key, sample) in outcomes {
            let rule = CLAIMS.iter().find(|r| r.key == key).expect("a claim");
            let measured = rule.statistic.measure(&sample);
            assert_eq!(measured.verdict, Holds::Holds, "{key}: {measured:?}");
        }
    }

    #[test]
    fn the_papers_numbers_are_judged_by_the_same_rules() {
        let reported = Reported::shipped();
        let judged: BTreeMap<&str, PaperVerdict> = CLAIMS
            .iter()
            .map(|r| (r.key, (r.paper)(&reported, &r.statistic)))
            .collect();
        // Per-seed ρ: S is the difference of the two tasks' means, as ours.
        let rho = &reported.table3_rho_mean_ablation_per_seed;
        let mean = |t: Task| {
            let v: Vec<f64> = rho[&t].values().flatten().copied().collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        let order = judged["rho-order"].measured.as_ref().expect("per-seed ρ");
        assert!((order.value.unwrap() - (mean(Task::Reverse) - mean(Task::Sort))).abs() < 1e-12);
        assert_eq!(
            order.seeds,
            BTreeMap::from([(Task::Reverse, 9), (Task::Sort, 10)])
        );
        assert_eq!(order.verdict, Holds::Holds);
        // 9 and 10 of 10 in the window hold under a rule that can hold at n = 10.
        assert_eq!(
            judged["window"].measured.as_ref().unwrap().verdict,
            Holds::Holds
        );
        // Sums without a spread give S but no interval, hence no verdict.
        for key in ["layer-pattern", "norms-fall", "identity"] {
            let m = judged[key].measured.as_ref().expect(key);
            assert!(m.value.is_some() && m.interval.is_none(), "{key}: {m:?}");
            assert_eq!(m.verdict, Holds::Inconclusive, "{key}");
        }
        // Pruning from mean ± sd: 26.3 points, sd √(22.8² + 10.4²) over 9 seeds.
        let pruning = judged["pruning"].measured.as_ref().unwrap();
        let half = 1.959_963_984_540_054 * 22.8f64.hypot(10.4) / 3.0 / 100.0;
        assert!((pruning.interval.unwrap()[0] - (0.263 - half)).abs() < 1e-9);
        assert_eq!(pruning.verdict, Holds::Holds);
    }

    #[test]
    fn a_head_as_often_in_its_role_as_its_layer_predicts_is_not_shown_to_keep_it() {
        // Layer 3's one Hero and layer 1's one Bloat fall on every head in turn: the most
        // frequent head is as frequent as relabelling makes one.
        let rule = CLAIMS
            .iter()
            .find(|r| r.key == "identity")
            .expect("identity");
        let sample = ten_seeds(&[Task::Sort], |_, i| {
            (0..8)
                .map(|v| f64::from(u8::from(v % 4 == i % 4)))
                .collect()
        });
        let measured = rule.statistic.measure(&sample);
        assert!(
            measured.p.expect("a relabelling test") > 0.05,
            "{measured:?}"
        );
        assert_eq!(measured.verdict, Holds::Inconclusive);
    }
}
