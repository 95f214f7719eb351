//! The predecessor paper's numbers (`assets/paper/reported-workshop.json`: Ye, "The
//! Gradient-Causal Gap", ICLR 2026 LIT workshop, whose pipeline is public) beside ours over a
//! sweep under protocol `published` (METHOD §11): per seed beside its Tables 4 (sorting) and 5
//! (reversal), its Table 1 beside the seed paper's and ours, with intervals, and its Table 3 (the
//! heads' roles across seeds). Shown only as the workshop paper's, cited.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::analysis::ablation::Ablation;
use crate::analysis::analyze::{Analysis, Class};
use crate::analysis::attribution::GWeights;
use crate::analysis::stats::MeanStd;
use crate::engine::component::Component;
use crate::engine::task::Task;
use crate::experiment::protocol::Protocol;
use crate::experiment::report::SeedReport;
use crate::report::paper::Reported;
use crate::report::table::{Cell, Format, Table};

/// `reported-workshop.json` as shipped with gradcause.
pub const WORKSHOP_JSON: &str = include_str!("../../assets/paper/reported-workshop.json");

/// How every page and file cites the workshop paper's numbers.
pub const WORKSHOP_CITATION: &str = "Ye (2026), The Gradient-Causal Gap, ICLR 2026 LIT workshop \
     (pipeline: public repository donald-ye/ICLR_2026_LIT-workshop_CG)";

/// The threshold the workshop paper's classes use (strict: Δ < −6, Δ > 6).
pub const WORKSHOP_THRESHOLD: usize = 6;

/// Every number the workshop paper reports, keyed as in its file. Unknown keys are refused.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workshop {
    /// Where the numbers come from.
    pub source: String,
    /// Its seeds (the seed paper's).
    pub seeds: Vec<u64>,
    /// Seeds in its OOD window, per task.
    pub seeds_in_window: BTreeMap<Task, usize>,
    /// Its only C baseline, in words.
    pub baseline: String,
    /// Its class thresholds, in words.
    pub threshold_text: String,
    /// Its Table 1: ρ and class totals per task.
    pub table1_summary: BTreeMap<Task, WorkshopTable1>,
    /// Its Table 4: sorting, per seed.
    pub table4_sort_per_seed: BTreeMap<String, WorkshopSeed>,
    /// Its Table 5: reversal, per seed.
    pub table5_reverse_per_seed: BTreeMap<String, WorkshopSeed>,
    /// Its Table 3: sorting, in how many of ten seeds a head took a role.
    pub table3_sort_role_frequency_of_10: WorkshopRoles,
    /// Its Table 2: pruning on one seed per task (not compared: one seed, 200 samples).
    pub table2_pruning_one_seed_ood_percent: serde_json::Value,
    /// Its Table 6: in-distribution pruning of sorting's Bloats (not compared).
    pub table6_sort_bloat_pruning_in_distribution_percent: serde_json::Value,
    /// Its abstract's numbers (those of Tables 1 and 2).
    #[serde(rename = "abstract")]
    pub abstract_numbers: serde_json::Value,
}

/// The workshop's Table 1 for one task.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkshopTable1 {
    /// ρ's mean over its seeds.
    pub rho_mean: f64,
    /// ρ's standard deviation.
    pub rho_std: f64,
    /// ρ's lowest and highest seed.
    pub rho_range: [f64; 2],
    /// Heroes summed over seeds.
    pub hero_count: usize,
    /// Bloats summed over seeds.
    pub bloat_count: usize,
}

/// One seed's row of the workshop's Tables 4 and 5.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkshopSeed {
    /// The analysis length.
    pub ood_len: usize,
    /// The baseline accuracy there, in percent.
    pub ood_acc: f64,
    /// Spearman ρ.
    pub rho: f64,
    /// Hidden Heroes.
    pub heroes: usize,
    /// Gradient Bloats.
    pub bloats: usize,
}

/// The workshop's role frequencies.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkshopRoles {
    /// Seeds (of ten) in which each named head was a Hero.
    pub heroes: BTreeMap<Component, usize>,
    /// Seeds (of ten) in which each named head was a Bloat.
    pub bloats: BTreeMap<Component, usize>,
}

impl Workshop {
    /// The numbers shipped with gradcause.
    pub fn shipped() -> Self {
        serde_json::from_str(WORKSHOP_JSON).expect("reported-workshop.json matches its types")
    }

    /// Its per-seed table of `task`, by seed.
    pub fn per_seed(&self, task: Task) -> BTreeMap<u64, WorkshopSeed> {
        let table = match task {
            Task::Sort => &self.table4_sort_per_seed,
            Task::Reverse => &self.table5_reverse_per_seed,
        };
        table
            .iter()
            .filter_map(|(seed, row)| Some((seed.parse().ok()?, *row)))
            .collect()
    }
}

/// Whether `reports` were made under protocol `published`: every one of them.
pub fn all_published(reports: &[SeedReport]) -> bool {
    !reports.is_empty()
        && reports
            .iter()
            .all(|r| r.run.config.protocol() == Some(Protocol::Published))
}

/// One seed as ours: the published numbers and, on the same model, the fixed set's.
struct Ours {
    length: Option<usize>,
    window: Option<f64>,
    rho: Option<f64>,
    heroes: Option<usize>,
    bloats: Option<usize>,
    rho_slot: Option<f64>,
    rho_default: Option<f64>,
}

impl Ours {
    fn of(report: &SeedReport) -> Self {
        let length = report.run.analysis_length;
        let window = length.and_then(|n| report.run.window_accuracy.as_ref()?.get(&n).copied());
        let analysis = report.analysis.as_ref();
        let published = analysis.and_then(|a| a.as_published.as_ref());
        let rho_of = |g: GWeights, c: Ablation| {
            analysis.and_then(|a| a.by_grad.get(&g)?.spearman.get(&c).copied().flatten())
        };
        Self {
            length,
            window,
            rho: published.and_then(|p| p.spearman),
            heroes: published.and_then(|p| p.count(Class::Hero, WORKSHOP_THRESHOLD)),
            bloats: published.and_then(|p| p.count(Class::Bloat, WORKSHOP_THRESHOLD)),
            rho_slot: rho_of(GWeights::WvWoutRaw, Ablation::Slot),
            rho_default: rho_of(GWeights::WvWout, Ablation::Mean),
        }
    }
}

fn count(n: Option<usize>) -> Cell {
    n.map_or(Cell::Text("—".into()), |n| Cell::Count(n as u64))
}

/// Per seed of `task`, the workshop's Table 4 or 5 beside ours under protocol `published`, for
/// the workshop's seeds and then any other seed of `reports`.
pub fn per_seed_table(workshop: &Workshop, task: Task, reports: &[SeedReport]) -> Table {
    let theirs = workshop.per_seed(task);
    let ours: BTreeMap<u64, &SeedReport> = reports
        .iter()
        .filter(|r| r.run.task == task)
        .map(|r| (r.run.seed, r))
        .collect();
    let mut seeds: Vec<u64> = workshop.seeds.clone();
    seeds.extend(ours.keys().filter(|s| !workshop.seeds.contains(s)));
    let number = |x: Option<f64>, format: Format| Cell::Number(x, format);
    let rows = seeds
        .iter()
        .filter(|seed| theirs.contains_key(seed) || ours.contains_key(seed))
        .map(|seed| {
            let t = theirs.get(seed);
            let o = ours.get(seed).map(|r| Ours::of(r));
            let o = o.as_ref();
            let skipped = o.is_some_and(|o| o.length.is_none());
            vec![
                Cell::Count(*seed),
                count(t.map(|t| t.ood_len)),
                match (o, skipped) {
                    (None, _) => Cell::Text("not run".into()),
                    (Some(_), true) => Cell::Text("skipped".into()),
                    (Some(o), false) => count(o.length),
                },
                number(t.map(|t| t.ood_acc / 100.0), Format::Percent),
                number(o.and_then(|o| o.window), Format::Percent),
                number(t.map(|t| t.rho), Format::Rho),
                number(o.and_then(|o| o.rho), Format::Rho),
                count(t.map(|t| t.heroes)),
                count(o.and_then(|o| o.heroes)),
                count(t.map(|t| t.bloats)),
                count(o.and_then(|o| o.bloats)),
                number(o.and_then(|o| o.rho_slot), Format::Rho),
                number(o.and_then(|o| o.rho_default), Format::Rho),
            ]
        })
        .collect();
    let table = match task {
        Task::Sort => "Table 4",
        Task::Reverse => "Table 5",
    };
    Table {
        name: "workshop-seeds",
        title: format!(
            "{task}: per seed, the workshop paper's {table} beside ours under protocol published \
             (n: analysis length; acc: the window's baseline; ρ, Heroes, Bloats as published: \
             raw G against C on 100 fresh examples, t = {WORKSHOP_THRESHOLD} strict); then ours on \
             the fixed OOD set, same models: raw G · slot, and METHOD's default wv-wout · mean"
        ),
        columns: [
            "seed",
            "n paper",
            "n ours",
            "acc paper",
            "acc ours",
            "ρ paper",
            "ρ ours",
            "H paper",
            "H ours",
            "B paper",
            "B ours",
            "ρ raw·slot",
            "ρ wv-wout·mean",
        ]
        .map(String::from)
        .into(),
        rows,
    }
}

/// Table 1 of both papers beside ours over the analysed seeds of `reports` under protocol
/// `published`: ρ across seeds with its spread and interval, and the class totals.
pub fn table1(workshop: &Workshop, reported: &Reported, reports: &[SeedReport]) -> Table {
    let mut rows = Vec::new();
    for task in Task::ALL {
        let ours: Vec<Ours> = reports
            .iter()
            .filter(|r| r.run.task == task && r.analysis.is_some())
            .map(Ours::of)
            .collect();
        let total = |f: fn(&Ours) -> Option<usize>| -> Option<usize> {
            ours.iter().map(f).sum::<Option<usize>>()
        };
        if let Some(w) = workshop.table1_summary.get(&task) {
            rows.push(vec![
                Cell::Text(task.name().into()),
                Cell::Text("workshop paper, Table 1".into()),
                Cell::Text(format!(
                    "{:.2} ± {:.2} (range {:.2} to {:.2}, n={})",
                    w.rho_mean,
                    w.rho_std,
                    w.rho_range[0],
                    w.rho_range[1],
                    workshop.seeds_in_window.get(&task).copied().unwrap_or(0)
                )),
                Cell::Count(w.hero_count as u64),
                Cell::Count(w.bloat_count as u64),
            ]);
        }
        if let Some(t) = reported.table1_rho_mean_std.get(&task) {
            rows.push(vec![
                Cell::Text(task.name().into()),
                Cell::Text("seed paper, Table 1 (mean ablation)".into()),
                Cell::Text(format!(
                    "{:.2} ± {:.2}",
                    t.mean_ablation[0], t.mean_ablation[1]
                )),
                Cell::Text("—".into()),
                Cell::Text("—".into()),
            ]);
        }
        let spread = |f: fn(&Ours) -> Option<f64>| MeanStd::of(ours.iter().map(f));
        for (label, rho, classes) in [
            ("ours, as published", spread(|o| o.rho), true),
            (
                "ours, fixed set: raw G · slot",
                spread(|o| o.rho_slot),
                false,
            ),
            (
                "ours, fixed set: wv-wout · mean (METHOD's)",
                spread(|o| o.rho_default),
                false,
            ),
        ] {
            rows.push(vec![
                Cell::Text(task.name().into()),
                Cell::Text(label.into()),
                Cell::Spread(rho, Format::Rho),
                if classes {
                    count(total(|o| o.heroes))
                } else {
                    Cell::Text("".into())
                },
                if classes {
                    count(total(|o| o.bloats))
                } else {
                    Cell::Text("".into())
                },
            ]);
        }
    }
    Table {
        name: "workshop-table1",
        title: format!(
            "Table 1 of both papers beside ours under protocol published (ρ: mean ± sd \
             [95% bootstrap interval] (n); Heroes and Bloats summed over seeds, t = \
             {WORKSHOP_THRESHOLD} strict)"
        ),
        columns: ["task", "source", "ρ", "Heroes", "Bloats"]
            .map(String::from)
            .into(),
        rows,
    }
}

/// In how many of `analyses` `component` took `class` at the workshop's threshold,
/// with each analysis' classes read by `classes`.
fn frequency(
    analyses: &[&Analysis],
    component: Component,
    class: Class,
    classes: fn(&Analysis) -> Option<&Vec<Class>>,
) -> Option<usize> {
    analyses
        .iter()
        .map(|a| {
            let i = a.components.iter().position(|c| c.name == component)?;
            Some(usize::from(classes(a)?.get(i) == Some(&class)))
        })
        .sum()
}

/// The workshop's Table 3 beside ours: in how many of the paper's sorting seeds each head was a
/// Hero and a Bloat, the heads it names and the five ours names most often as published, over
/// the seeds of `reports` analysed under protocol `published` (as published, and on the fixed
/// set under raw G · slot).
pub fn role_table(workshop: &Workshop, reports: &[SeedReport]) -> Table {
    let analyses: Vec<&Analysis> = reports
        .iter()
        .filter(|r| r.run.task == Task::Sort && workshop.seeds.contains(&r.run.seed))
        .filter_map(|r| r.analysis.as_ref())
        .collect();
    let t = WORKSHOP_THRESHOLD;
    fn published(a: &Analysis) -> Option<&Vec<Class>> {
        a.as_published.as_ref()?.class.get(&WORKSHOP_THRESHOLD)
    }
    fn fixed(a: &Analysis) -> Option<&Vec<Class>> {
        let by_slot = a
            .by_grad
            .get(&GWeights::WvWoutRaw)?
            .class
            .get(&Ablation::Slot)?;
        by_slot.get(&WORKSHOP_THRESHOLD)
    }
    let heads: Vec<Component> = analyses.first().map_or_else(Vec::new, |a| {
        a.components
            .iter()
            .map(|c| c.name)
            .filter(|c| matches!(c, Component::Head { .. }))
            .collect()
    });
    let theirs = &workshop.table3_sort_role_frequency_of_10;
    let mut rows = Vec::new();
    for (role, class, named) in [
        ("Hero", Class::Hero, &theirs.heroes),
        ("Bloat", Class::Bloat, &theirs.bloats),
    ] {
        let ours = |c: Component| frequency(&analyses, c, class, published).unwrap_or(0);
        let mut most: Vec<Component> = heads.clone();
        most.sort_by_key(|&c| std::cmp::Reverse(ours(c)));
        let mut shown: Vec<Component> = named.keys().copied().collect();
        shown.sort_by_key(|c| std::cmp::Reverse(named[c]));
        shown.extend(
            most.into_iter()
                .filter(|&c| ours(c) > 0)
                .take(5)
                .filter(|c| !named.contains_key(c)),
        );
        rows.extend(shown.into_iter().map(|c| {
            vec![
                Cell::Text(role.into()),
                Cell::Text(c.to_string()),
                count(named.get(&c).copied()),
                count(frequency(&analyses, c, class, published)),
                count(frequency(&analyses, c, class, fixed)),
            ]
        }));
    }
    Table {
        name: "workshop-roles",
        title: format!(
            "sort: in how many seeds a head was a Hero or a Bloat, the workshop paper's Table 3 (of \
             its 10 seeds; the heads it names, — for others) beside ours under protocol \
             published over the same seeds (of {} analysed): as published, and on the fixed set \
             under raw G · slot; t = {t} strict. A head's number within its layer is a label \
             that our random streams and PyTorch's draw differently: compare layers",
            analyses.len()
        ),
        columns: ["role", "head", "paper", "ours", "ours raw·slot"]
            .map(String::from)
            .into(),
        rows,
    }
}
