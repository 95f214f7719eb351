//! The paper's own numbers judged by each claim's statistic and rule, at its n (METHOD §9.1).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::task::Task;
use crate::report::paper::{PaperLayerCounts, Reported};
use crate::report::statistic::{Group, Measured, Sample, Statistic};

use super::evidence::HEADS;

/// The paper's own numbers judged by a claim's rule (METHOD §9.1), at its n.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaperVerdict {
    /// S on the paper's numbers with its interval and verdict; `None` where they do not give S.
    pub measured: Option<Measured>,
    /// What S rests on: its per-seed values, its mean ± sd, or sums without a spread.
    pub basis: String,
}

impl PaperVerdict {
    /// `holds: 0.45 [0.30, 0.60], 9 and 10 seeds (per-seed values)`, or why there is none.
    pub fn text(&self) -> String {
        match &self.measured {
            Some(m) => format!("{}: {} ({})", m.verdict.word(), m.text(2), self.basis),
            None => format!("not judged ({})", self.basis),
        }
    }
}

/// The paper's seeds in the OOD window per task (its n).
fn paper_seeds(reported: &Reported, tasks: &[Task]) -> BTreeMap<Task, usize> {
    tasks
        .iter()
        .map(|&t| {
            let n = match t {
                Task::Reverse => reported.seeds_in_window.reverse,
                Task::Sort => reported.seeds_in_window.sort,
            };
            (t, n)
        })
        .collect()
}

/// The paper's per-seed values, judged exactly as ours.
fn per_seed_values(statistic: &Statistic, sample: Sample) -> PaperVerdict {
    PaperVerdict {
        measured: Some(statistic.measure(&sample)),
        basis: "its per-seed values".into(),
    }
}

/// The 95% normal interval of a mean over `n` seeds with sample sd `sd`.
fn normal_interval(mean: f64, sd: f64, n: usize) -> [f64; 2] {
    let half = 1.959_963_984_540_054 * sd / (n as f64).sqrt();
    [mean - half, mean + half]
}

/// The basis of an interval from mean ± sd.
const FROM_SPREAD: &str = "its mean ± sd: a normal interval, a difference's sd taken as if its \
    two parts were independent";

/// The paper's per-seed ρ (its Table 3, mean ablation).
pub(super) fn rho_order_paper(reported: &Reported, statistic: &Statistic) -> PaperVerdict {
    let groups = [Task::Reverse, Task::Sort]
        .into_iter()
        .map(|t| {
            let mut group = Group::new(t, 1);
            for (seed, rho) in reported
                .table3_rho_mean_ablation_per_seed
                .get(&t)
                .into_iter()
                .flatten()
            {
                if let (Ok(seed), Some(rho)) = (seed.parse(), rho) {
                    group.push(seed, vec![*rho]);
                }
            }
            group
        })
        .collect();
    per_seed_values(statistic, Sample { groups })
}

/// The paper's Table 1: ρ under mean and under zero ablation, mean ± sd per task.
pub(super) fn mean_zero_agree_paper(reported: &Reported, statistic: &Statistic) -> PaperVerdict {
    let tasks = [Task::Reverse, Task::Sort];
    let seeds = paper_seeds(reported, &tasks);
    let per_task: Vec<(f64, [f64; 2])> = tasks
        .iter()
        .filter_map(|t| {
            let table = reported.table1_rho_mean_std.get(t)?;
            let (m, z) = (table.mean_ablation, table.zero_ablation);
            let d = m[0] - z[0];
            Some((d, normal_interval(d, m[1].hypot(z[1]), seeds[t])))
        })
        .collect();
    if per_task.len() < tasks.len() {
        return PaperVerdict {
            measured: None,
            basis: "the paper's Table 1 lacks a task".into(),
        };
    }
    // |d| per task: its interval runs from 0 (where d's covers 0) to the farther end.
    let value = per_task.iter().map(|(d, _)| d.abs()).reduce(f64::max);
    let low = (per_task.iter())
        .map(|(_, [a, b])| {
            if *a <= 0.0 && *b >= 0.0 {
                0.0
            } else {
                a.abs().min(b.abs())
            }
        })
        .fold(0.0, f64::max);
    let high = (per_task.iter())
        .map(|(_, [a, b])| a.abs().max(b.abs()))
        .fold(0.0, f64::max);
    PaperVerdict {
        measured: Some(statistic.judge(value, Some([low, high]), seeds)),
        basis: FROM_SPREAD.into(),
    }
}

/// The paper's Table 5 at t = 6, or the verdict that it gives none.
fn table5_at_6(reported: &Reported) -> Result<&PaperLayerCounts, PaperVerdict> {
    (reported
        .table5_sort_heads_only_counts_summed_over_seeds
        .get("t6"))
    .ok_or_else(|| PaperVerdict {
        measured: None,
        basis: "the paper gives no Table 5 at t = 6".into(),
    })
}

/// The paper's Table 5 at t = 6: Hero and Bloat heads per layer summed over its seeds.
pub(super) fn layer_pattern_paper(reported: &Reported, statistic: &Statistic) -> PaperVerdict {
    let t6 = match table5_at_6(reported) {
        Ok(t6) => t6,
        Err(none) => return none,
    };
    let seeds = paper_seeds(reported, &[Task::Sort]);
    let n = seeds[&Task::Sort] as f64;
    let late_minus_early = |counts: &[usize]| {
        let (early, late) = counts.split_at(2.min(counts.len()));
        (late.iter().sum::<usize>() as f64 - early.iter().sum::<usize>() as f64) / n
    };
    let means = [late_minus_early(&t6.heroes), -late_minus_early(&t6.bloats)];
    PaperVerdict {
        measured: Some(statistic.judge((statistic.combine)(&means), None, seeds)),
        basis: "its Table 5 sums over seeds: no spread, so no interval".into(),
    }
}

/// The paper's named heads' counts against their layer's Table 5 count at t = 6.
pub(super) fn identity_paper(reported: &Reported, statistic: &Statistic) -> PaperVerdict {
    let identity = &reported.component_identity_sort;
    let t6 = match table5_at_6(reported) {
        Ok(t6) => t6,
        Err(none) => return none,
    };
    let n = identity.out_of as f64;
    let excess = |top: usize, layer: usize| top as f64 / n - layer as f64 / (HEADS as f64 * n);
    let l1_top = identity.l1_h1_bloat_seeds.max(identity.l1_h3_bloat_seeds);
    let value = excess(identity.l3_h3_hero_seeds, t6.heroes[3]).min(excess(l1_top, t6.bloats[1]));
    PaperVerdict {
        measured: Some(statistic.judge(Some(value), None, paper_seeds(reported, &[Task::Sort]))),
        basis: "its heads' counts and Table 5's layer sums: the relabelling test needs each \
                seed's roles, which it does not give"
            .into(),
    }
}

/// The paper's Table 4: each seed's mean single drop and joint drop of its top-two Bloats.
pub(super) fn superadditivity_paper(reported: &Reported, statistic: &Statistic) -> PaperVerdict {
    let mut group = Group::new(Task::Sort, 2);
    for (seed, row) in &reported.table4_sort_bloat_superadditivity_percent.per_seed {
        if let Ok(seed) = seed.parse() {
            group.push(seed, vec![row.joint_drop, 2.0 * row.individual_drop]);
        }
    }
    per_seed_values(
        statistic,
        Sample {
            groups: vec![group],
        },
    )
}

/// The paper's reversal pruning, mean ± sd of each class.
pub(super) fn pruning_paper(reported: &Reported, statistic: &Statistic) -> PaperVerdict {
    let Some(p) = reported
        .pruning_top_two_accuracy_change_percent_mean_std
        .get(&Task::Reverse)
    else {
        return PaperVerdict {
            measured: None,
            basis: "the paper gives no reversal pruning".into(),
        };
    };
    let seeds = paper_seeds(reported, &[Task::Reverse]);
    let d = (p.bloats[0] - p.heroes[0]) / 100.0;
    let sd = p.bloats[1].hypot(p.heroes[1]) / 100.0;
    let n = seeds[&Task::Reverse];
    PaperVerdict {
        measured: Some(statistic.judge(Some(d), Some(normal_interval(d, sd, n)), seeds)),
        basis: FROM_SPREAD.into(),
    }
}

/// The paper's Figure 4: the mean raw W_V norm per layer.
pub(super) fn norms_fall_paper(reported: &Reported, statistic: &Statistic) -> PaperVerdict {
    let norms = &reported.figure4_sort_layer_wv_grad_norm;
    let falls: Vec<f64> = (1..norms.len().saturating_sub(1))
        .map(|l| norms[l] - norms[l + 1])
        .collect();
    PaperVerdict {
        measured: Some(statistic.judge(
            (statistic.combine)(&falls),
            None,
            paper_seeds(reported, &[Task::Sort]),
        )),
        basis: "its Figure 4's means: no spread, so no interval".into(),
    }
}

/// The paper's seeds in the window: each of its ten seeds a task, in or out.
pub(super) fn window_paper(reported: &Reported, statistic: &Statistic) -> PaperVerdict {
    let groups = [Task::Reverse, Task::Sort]
        .into_iter()
        .map(|t| {
            let mut group = Group::new(t, 1);
            let skipped = reported.seeds_in_window.skipped.get(&t);
            for &seed in &reported.seeds {
                let out = skipped.is_some_and(|s| s.contains(&seed));
                group.push(seed, vec![f64::from(u8::from(!out))]);
            }
            group
        })
        .collect();
    per_seed_values(statistic, Sample { groups })
}
