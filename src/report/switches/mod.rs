//! The published pipeline's analysis choices switched one at a time, on the same models: G's √N,
//! C's sample and intervention, the class rule (METHOD §11). Each reading is a row of data
//! ([`READINGS`]): which G, where C comes from, which rule; its numbers are recomputed from what
//! every report holds per component. [`Reading::view`] shows a whole report under a reading, and
//! [`decomposition`] judges the paper's claims under each protocol and each single switch of it,
//! the training choices on sweeps of their own.

pub mod decomposition;
pub mod forest;
mod sentences;
mod view;

use crate::analysis::ablation::Ablation;
use crate::analysis::analyze::{Analysis, Class};
use crate::analysis::attribution::GWeights;
use crate::analysis::classes::{ClassRule, compare};
use crate::analysis::stats::MeanStd;
use crate::engine::task::Task;
use crate::experiment::report::SeedReport;
use crate::report::table::{Cell, Format, Table};
use crate::report::workshop::WORKSHOP_THRESHOLD;

/// Where a reading's C comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CSource {
    /// Each component's own fresh examples (the pipeline's sample) under an ablation, against
    /// the window's baseline ([`crate::analysis::as_published`]): under `slot` (an MLP's mean),
    /// C as published.
    Fresh(Ablation),
    /// The fixed OOD set under an ablation.
    FixedSet(Ablation),
}

/// One reading of a sweep's models: G, C and the class rule.
#[derive(Clone, Copy, Debug)]
pub struct Reading {
    /// What it is, beside protocol `published` or METHOD's default.
    pub label: &'static str,
    /// G.
    pub g: GWeights,
    /// C.
    pub c: CSource,
    /// The class rule.
    pub rule: ClassRule,
}

/// The readings compared: protocol `published`'s, each of its analysis choices switched alone to
/// METHOD's, METHOD's default, and each published choice alone from the default. C's sample
/// (fresh examples or the fixed set) and its intervention (`slot` or mean) switch apart.
pub const READINGS: [Reading; 10] = [
    Reading {
        label: "published: raw G · C as published · strict",
        g: GWeights::WvWoutRaw,
        c: CSource::Fresh(Ablation::Slot),
        rule: ClassRule::Strict,
    },
    Reading {
        label: "published, G over √N (wv-wout)",
        g: GWeights::WvWout,
        c: CSource::Fresh(Ablation::Slot),
        rule: ClassRule::Strict,
    },
    Reading {
        label: "published, inclusive classes",
        g: GWeights::WvWoutRaw,
        c: CSource::Fresh(Ablation::Slot),
        rule: ClassRule::Inclusive,
    },
    Reading {
        label: "published, C by mean ablation on the same fresh examples",
        g: GWeights::WvWoutRaw,
        c: CSource::Fresh(Ablation::Mean),
        rule: ClassRule::Strict,
    },
    Reading {
        label: "published, C on the fixed set (slot)",
        g: GWeights::WvWoutRaw,
        c: CSource::FixedSet(Ablation::Slot),
        rule: ClassRule::Strict,
    },
    Reading {
        label: "published, C on the fixed set by mean ablation",
        g: GWeights::WvWoutRaw,
        c: CSource::FixedSet(Ablation::Mean),
        rule: ClassRule::Strict,
    },
    Reading {
        label: "default: wv-wout · mean on the fixed set · inclusive",
        g: GWeights::WvWout,
        c: CSource::FixedSet(Ablation::Mean),
        rule: ClassRule::Inclusive,
    },
    Reading {
        label: "default, raw G",
        g: GWeights::WvWoutRaw,
        c: CSource::FixedSet(Ablation::Mean),
        rule: ClassRule::Inclusive,
    },
    Reading {
        label: "default, C by slot",
        g: GWeights::WvWout,
        c: CSource::FixedSet(Ablation::Slot),
        rule: ClassRule::Inclusive,
    },
    Reading {
        label: "default, strict classes",
        g: GWeights::WvWout,
        c: CSource::FixedSet(Ablation::Mean),
        rule: ClassRule::Strict,
    },
];

/// One seed under a reading: ρ and the numbers of Heroes and Bloats at threshold `t`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SeedReading {
    /// Spearman ρ of G against C; `None` where undefined.
    pub spearman: Option<f64>,
    /// Hidden Heroes.
    pub heroes: usize,
    /// Gradient Bloats.
    pub bloats: usize,
}

impl Reading {
    /// This reading of `analysis` at threshold `t`; `None` where the report lacks G or C.
    pub fn of(&self, analysis: &Analysis, t: usize) -> Option<SeedReading> {
        if !analysis.by_grad.contains_key(&self.g) {
            return None;
        }
        let causal = self.causal_source(analysis).remove(&self.key())?;
        let comparison = compare(&analysis.grad(self.g), &causal, &[t], self.rule);
        let count = |class| {
            comparison.classes[&t]
                .iter()
                .filter(|&&c| c == class)
                .count()
        };
        Some(SeedReading {
            spearman: comparison.spearman,
            heroes: count(Class::Hero),
            bloats: count(Class::Bloat),
        })
    }
}

/// Per task, every reading of [`READINGS`] over the analysed seeds of `reports` (a sweep under
/// protocol `published`): ρ across seeds with its interval, and the Heroes and Bloats summed, at
/// the workshop's t = 6.
pub fn switch_table(reports: &[SeedReport]) -> Table {
    let t = WORKSHOP_THRESHOLD;
    let mut rows = Vec::new();
    for task in Task::ALL {
        let analyses: Vec<&Analysis> = reports
            .iter()
            .filter(|r| r.run.task == task)
            .filter_map(|r| r.analysis.as_ref())
            .collect();
        if analyses.is_empty() {
            continue;
        }
        for reading in READINGS {
            let seeds: Vec<SeedReading> =
                analyses.iter().filter_map(|a| reading.of(a, t)).collect();
            let total = |f: fn(&SeedReading) -> usize| seeds.iter().map(f).sum::<usize>() as u64;
            rows.push(vec![
                Cell::Text(task.name().into()),
                Cell::Text(reading.label.into()),
                Cell::Spread(MeanStd::of(seeds.iter().map(|s| s.spearman)), Format::Rho),
                Cell::Count(total(|s| s.heroes)),
                Cell::Count(total(|s| s.bloats)),
            ]);
        }
    }
    Table {
        name: "published-switches",
        title: format!(
            "The published pipeline's analysis choices one at a time, on the same models (trained \
             under protocol published): ρ mean ± sd [95% bootstrap interval] (n), Heroes and \
             Bloats summed over the seeds, t = {t}"
        ),
        columns: ["task", "reading", "ρ", "Heroes", "Bloats"]
            .map(String::from)
            .into(),
        rows,
    }
}
