//! What each claim's statistic reads from our summaries: per task, per seed, its values
//! (METHOD §9.1).

use crate::analysis::ablation::Ablation;
use crate::analysis::analyze::Class;
use crate::engine::component::Component;
use crate::engine::task::Task;
use crate::report::statistic::{Group, Sample};
use crate::report::summary::Summary;

use super::evidence::{Evidence, HEADS, IDENTITY_LAYERS, agreeing};

/// Per task, one value per analysed seed from `f` (seeds where it is undefined left out).
fn per_task(
    e: &Evidence,
    tasks: &[Task],
    width: usize,
    f: impl Fn(&Summary, usize) -> Option<Vec<f64>>,
) -> Sample {
    let groups = tasks
        .iter()
        .map(|&t| {
            let mut group = Group::new(t, width);
            if let Some(s) = e.analysed(t) {
                for (i, row) in s.table3.rows.iter().enumerate() {
                    if let Some(values) = f(s, i) {
                        group.push(row.seed, values);
                    }
                }
            }
            group
        })
        .collect();
    Sample { groups }
}

/// ρ per seed on each task.
pub(super) fn rho_order_sample(e: &Evidence) -> Sample {
    per_task(e, &[Task::Reverse, Task::Sort], 1, |s, i| {
        Some(vec![s.table3.rows[i].spearman.get(&e.c).copied()??])
    })
}

/// ρ (mean) − ρ (zero) per seed on each task, on the same examples.
pub(super) fn mean_zero_agree_sample(e: &Evidence) -> Sample {
    agreeing(e.c).map_or_else(Sample::default, |c| rho_gap_sample(e, c))
}

/// ρ (c) − ρ (zero) per seed on each task (seeds where either is undefined left out).
pub(super) fn rho_gap_sample(e: &Evidence, c: Ablation) -> Sample {
    per_task(e, &[Task::Reverse, Task::Sort], 1, |s, i| {
        let rho = |a| s.table3.rows[i].spearman.get(&a).copied().flatten();
        Some(vec![rho(c)? - rho(Ablation::Zero)?])
    })
}

/// Per sorting seed, (late − early) Hero heads and (early − late) Bloat heads.
pub(super) fn layer_pattern_sample(e: &Evidence) -> Sample {
    // Heads among `members` in layers 2–3 and in layers 0–1.
    let late_and_early = |members: &[Component]| -> (f64, f64) {
        let heads = members
            .iter()
            .filter(|m| matches!(m, Component::Head { .. }));
        let late = heads.clone().filter(|m| m.layer() >= 2).count();
        (late as f64, (heads.count() - late) as f64)
    };
    let mut group = Group::new(Task::Sort, 2);
    for r in e.sort.map_or(&[][..], |s| s.roles.seeds.as_slice()) {
        let (Some(heroes), Some(bloats)) = (r.heroes.get(&e.c), r.bloats.get(&e.c)) else {
            continue;
        };
        let ((hero_late, hero_early), (bloat_late, bloat_early)) =
            (late_and_early(heroes), late_and_early(bloats));
        group.push(
            r.seed,
            vec![hero_late - hero_early, bloat_early - bloat_late],
        );
    }
    Sample {
        groups: vec![group],
    }
}

/// Per sorting seed, whether each head of layer 3 is a Hero and each of layer 1 a Bloat.
pub(super) fn identity_sample(e: &Evidence) -> Sample {
    let mut group = Group::new(Task::Sort, HEADS * IDENTITY_LAYERS.len());
    for r in e.sort.map_or(&[][..], |s| s.roles.seeds.as_slice()) {
        let (Some(heroes), Some(bloats)) = (r.heroes.get(&e.c), r.bloats.get(&e.c)) else {
            continue;
        };
        let values = IDENTITY_LAYERS
            .iter()
            .flat_map(|&(layer, class)| {
                let members = if class == Class::Hero { heroes } else { bloats };
                (0..HEADS).map(move |head| {
                    f64::from(u8::from(members.contains(&Component::Head { layer, head })))
                })
            })
            .collect();
        group.push(r.seed, values);
    }
    Sample {
        groups: vec![group],
    }
}

/// Per sorting seed with Bloats, the joint drop of the top two and the sum of their single drops.
pub(super) fn superadditivity_sample(e: &Evidence) -> Sample {
    let mut group = Group::new(Task::Sort, 2);
    if let Some(table4) = e.sort.and_then(|s| s.table4.get(&e.c)) {
        for r in &table4.rows {
            if let (Some(joint), Some(sum)) = (r.joint_drop, r.individual_sum) {
                group.push(r.seed, vec![joint, sum]);
            }
        }
    }
    Sample {
        groups: vec![group],
    }
}

/// Per reversal seed with both classes, the Bloats' pruning change minus the Heroes'.
pub(super) fn pruning_sample(e: &Evidence) -> Sample {
    let mut group = Group::new(Task::Reverse, 1);
    if let Some(pruning) = e.reverse.and_then(|s| s.pruning.get(&e.c)) {
        for r in &pruning.rows {
            if let (Some(heroes), Some(bloats)) = (r.heroes, r.bloats) {
                group.push(r.seed, vec![bloats - heroes]);
            }
        }
    }
    Sample {
        groups: vec![group],
    }
}

/// Per sorting seed, each layer's raw W_V norm minus the next one's, from layer 1 on.
pub(super) fn norms_fall_sample(e: &Evidence) -> Sample {
    let layers = e.sort.map_or(0, |s| s.figure4.raw.len());
    let steps = layers.saturating_sub(2);
    per_task(e, &[Task::Sort], steps, |s, i| {
        let norms = s.figure4.per_seed.get(i)?;
        (steps > 0).then(|| (1..=steps).map(|l| norms[l] - norms[l + 1]).collect())
    })
}

/// Per task, every seed run: 1 where it has an OOD length in the window, else 0.
pub(super) fn window_sample(e: &Evidence) -> Sample {
    let groups = [Task::Reverse, Task::Sort]
        .into_iter()
        .map(|t| {
            let mut group = Group::new(t, 1);
            if let Some(s) = e.summaries.get(&t) {
                for &seed in &s.seeds {
                    let analysed = s.table3.rows.iter().any(|r| r.seed == seed);
                    group.push(seed, vec![f64::from(u8::from(analysed))]);
                }
            }
            group
        })
        .collect();
    Sample { groups }
}
