//! Which choice makes each finding: the paper's claims judged under protocol `published`, under
//! METHOD's default, and under each with one choice switched to the other protocol's, one column
//! per row of [`VARIANTS`], on every seed the sweeps hold (the paper's ten and 1–10, METHOD §9);
//! per switch and claim its effect on the claim's statistic with an interval, on all the seeds
//! and on each half (METHOD §9.2); and per claim a sentence computed from those effects that
//! names every switch changing its verdict ([`Decomposition::why_lines`]).
//!
//! A column is data: the protocol it starts from, the switch, the sweep whose models it reads
//! (by training scheme) and how it reads them ([`Reading`]). Analysis switches read the base's
//! own models through a [`Reading::view`]; training switches read a sweep of their own.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::analysis::analyze::Class;
use crate::analysis::stats::MeanStd;
use crate::engine::task::Task;
use crate::experiment::protocol::Protocol;
use crate::experiment::report::SeedReport;
use crate::report::claims::{Claim, Holds, PaperVerdict, claims};
use crate::report::paper::Reported;
use crate::report::statistic::{Effect, Measured};
use crate::report::summary::Summary;
use crate::report::switches::{READINGS, Reading};
use crate::report::table::{Cell, Format, Table};

/// The seeds a column is meant to rest on per task: the paper's ten and 1–10 (METHOD §9).
pub const SEEDS_WANTED: usize = 20;

/// One column: a protocol, or a protocol with one choice switched to the other's.
#[derive(Clone, Copy, Debug)]
pub struct Variant {
    /// The protocol it starts from.
    pub from: Protocol,
    /// The choice switched, in a few words; `None` for the protocol itself.
    pub switched: Option<&'static str>,
    /// The training scheme of the models it reads: a protocol's name, or one with training
    /// fields switched as `scripts/parallel-runs` names it (`published+init=gpt2`).
    pub models: &'static str,
    /// How the models are read.
    pub reading: Reading,
    /// Whether its models are trained apart from the base's (a training switch): its effects
    /// resample the two columns' seeds apart, where the others pair them.
    pub trains: bool,
}

/// The columns, each protocol first and then its single switches. A training switch is the
/// base's reading on a sweep trained with that field switched; the stop rule's two fields
/// (how often and on how many examples the 90% target is checked) switch together. The window
/// (which OOD length is analysed, and C as published's baseline there) is chosen on the fixed
/// OOD sets instead of 100 fresh examples a length: the same models, evaluated again. C on the
/// fixed set by mean ablation switches C's sample and its intervention at once; the columns
/// before it switch each alone.
pub const VARIANTS: [Variant; 16] = [
    variant(Protocol::Published, None, "published", READINGS[0]),
    variant(
        Protocol::Published,
        Some("G over √N"),
        "published",
        READINGS[1],
    ),
    variant(
        Protocol::Published,
        Some("inclusive classes"),
        "published",
        READINGS[2],
    ),
    variant(
        Protocol::Published,
        Some("C by mean ablation"),
        "published",
        READINGS[3],
    ),
    variant(
        Protocol::Published,
        Some("C on the fixed set (slot)"),
        "published",
        READINGS[4],
    ),
    variant(
        Protocol::Published,
        Some("C on the fixed set by mean (two choices)"),
        "published",
        READINGS[5],
    ),
    variant(
        Protocol::Published,
        Some("init gpt2"),
        "published+init=gpt2",
        READINGS[0],
    ),
    variant(
        Protocol::Published,
        Some("positions shifted"),
        "published+positions=shifted",
        READINGS[0],
    ),
    variant(
        Protocol::Published,
        Some("batch layout pad-end"),
        "published+batch-layout=pad-end",
        READINGS[0],
    ),
    variant(
        Protocol::Published,
        Some("stop rule every 250 steps on 1024 examples"),
        "published+eval-every=250+eval-examples=1024",
        READINGS[0],
    ),
    variant(
        Protocol::Published,
        Some("window on the fixed OOD sets"),
        "published+window-sample=0",
        READINGS[0],
    ),
    variant(Protocol::Default, None, "default", READINGS[6]),
    variant(Protocol::Default, Some("raw G"), "default", READINGS[7]),
    variant(Protocol::Default, Some("C by slot"), "default", READINGS[8]),
    variant(
        Protocol::Default,
        Some("strict classes"),
        "default",
        READINGS[9],
    ),
    variant(
        Protocol::Default,
        Some("positions none"),
        "default+positions=none",
        READINGS[6],
    ),
];

/// A column starting from `from`: it trains its own models when its training scheme is not
/// the protocol's own, except the window's sample, which evaluates the published models again.
const fn variant(
    from: Protocol,
    switched: Option<&'static str>,
    models: &'static str,
    reading: Reading,
) -> Variant {
    let own = match from {
        Protocol::Published => "published",
        Protocol::Default => "default",
    };
    Variant {
        from,
        switched,
        models,
        reading,
        trains: !same(models, own) && !same(models, WINDOW_SAMPLE),
    }
}

/// The window's sample switched: the published models evaluated out of distribution again.
const WINDOW_SAMPLE: &str = "published+window-sample=0";

/// Whether two names are the same (`==` is not `const` on `str`).
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// One claim under one column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Holds, does not hold, or inconclusive.
    pub verdict: Holds,
    /// The number behind it in a few characters.
    pub headline: String,
    /// What ours shows, with intervals.
    pub ours: String,
    /// Why the cell is not measured, whatever its verdict says: no runs of a task the claim
    /// needs, none of them analysed (none in the OOD window), reports made before the reading,
    /// no C to compare with, or joint ablations the analyses did not make. `None` where it is measured.
    pub missing: Option<String>,
    /// The claim's statistic on the column's seeds (METHOD §9.1).
    pub measured: Measured,
    /// A switch's effect on the statistic against its protocol's column (METHOD §9.2); `None`
    /// for a protocol's own column and where either is not measured.
    pub effect: Option<Effect>,
}

impl Verdict {
    /// Whether the cell is measured.
    pub fn measured(&self) -> bool {
        self.missing.is_none()
    }

    /// Whether a switch turns the claim: its verdict differs from its protocol's and its
    /// effect's interval excludes 0 (METHOD §9.2).
    pub fn turns(&self, base: &Verdict) -> bool {
        self.changes(base) && self.effect.as_ref().is_some_and(Effect::excludes_zero)
    }

    /// Whether both are measured and their verdicts differ.
    pub fn changes(&self, base: &Verdict) -> bool {
        self.measured() && base.measured() && self.verdict != base.verdict
    }

    /// The cell as a table shows it: `holds: 0.72 vs 0.40`, or `not measured (why)`.
    pub fn text(&self) -> String {
        match &self.missing {
            None => format!("{}: {}", self.verdict.word(), self.headline),
            Some(missing) => format!("not measured ({missing})"),
        }
    }
}

/// One column's verdicts and what they rest on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// The protocol it starts from.
    pub from: Protocol,
    /// The choice switched; `None` for the protocol itself.
    pub switched: Option<String>,
    /// The training scheme of its models.
    pub models: String,
    /// How they are read (G · C · rule).
    pub reading: String,
    /// Per task measured: seeds analysed, seeds run (the paper's seeds). A task whose reports
    /// do not all hold the column's reading is not measured.
    pub seeds: BTreeMap<Task, (usize, usize)>,
    /// Per task, the reports made before the column's reading, left out (analyse them again).
    pub predating: BTreeMap<Task, usize>,
    /// Per task: ρ of G against C across the analysed seeds.
    pub rho: BTreeMap<Task, MeanStd>,
    /// One per claim, in the claims' order.
    pub verdicts: Vec<Verdict>,
}

impl Column {
    /// `published`, or `published, init gpt2`.
    pub fn label(&self) -> String {
        match &self.switched {
            None => self.from.to_string(),
            Some(s) => format!("{}, {s}", self.from),
        }
    }

    /// Whether it is a protocol itself rather than a switch.
    pub fn is_base(&self) -> bool {
        self.switched.is_none()
    }

    /// Why a claim needing `needs` is not measured in this column, in a few words: its runs are
    /// not made yet, were analysed before its reading, none is in the OOD window, or their
    /// ablations for it were not made.
    pub(super) fn why_unmeasured(&self, needs: &[Task]) -> String {
        for t in needs {
            match self.seeds.get(t) {
                None if self.predating.contains_key(t) => {
                    return "analysed before its reading".into();
                }
                None => return "not run yet".into(),
                Some((0, n)) => return format!("0 of {n} runs a task in the OOD window"),
                Some(_) => {}
            }
        }
        "its ablations not made".into()
    }

    /// The switch's name in a list of both protocols' switches: with its side where both
    /// protocols switch a choice of that name.
    pub(super) fn name_among(&self, columns: &[Column]) -> String {
        let switched = self.switched.as_deref().unwrap_or_default();
        let sides = (columns.iter())
            .filter(|o| o.switched.as_deref() == Some(switched))
            .count();
        match sides {
            1 => switched.to_string(),
            _ => format!("{switched} from {}", self.from),
        }
    }
}

/// A claim's name and words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimName {
    /// Its stable name (the robustness table's row).
    pub key: String,
    /// The claim in a few words.
    pub title: String,
    /// The claim in the paper's words (short).
    pub claim: String,
    /// The tasks its verdict is drawn from.
    pub needs: Vec<Task>,
    /// What its statistic is (METHOD §9.1).
    pub statistic: String,
    /// Whether it needs analysed seeds (every claim but the window's).
    pub analysed: bool,
    /// The paper's own numbers judged by its rule.
    pub paper: PaperVerdict,
}

/// Every claim under every column: what `gradcause compare`, REPRODUCTION.md and the page show
/// (the page reads it from `assets/decomposition.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decomposition {
    /// The claims, in the robustness table's order.
    pub claims: Vec<ClaimName>,
    /// The columns, in [`VARIANTS`]' order.
    pub columns: Vec<Column>,
    /// The paper's ρ per task (its Table 1, mean ablation, from `reported.json`), shown as the
    /// paper's beside ours.
    pub paper_rho: BTreeMap<Task, f64>,
}

impl Decomposition {
    /// Every claim under every column on every seed the sweeps hold, `sweeps` giving each
    /// training scheme's reports (a scheme with none gives columns with nothing measured), and
    /// each switch's effect on every claim against its protocol's column.
    pub fn new(reported: &Reported, sweeps: &BTreeMap<&str, &[SeedReport]>) -> Self {
        let computed: Vec<(Column, Vec<Claim>)> = VARIANTS
            .iter()
            .map(|variant| column(reported, variant, sweeps))
            .collect();
        let paper_half = |seed: u64| reported.seeds.contains(&seed);
        let columns = VARIANTS
            .iter()
            .zip(&computed)
            .map(|(variant, (column, checked))| {
                let mut column = column.clone();
                let base = VARIANTS
                    .iter()
                    .position(|o| o.from == variant.from && o.switched.is_none());
                let Some((base, base_checked)) = base.map(|b| &computed[b]) else {
                    return column;
                };
                if column.is_base() {
                    return column;
                }
                for (i, verdict) in column.verdicts.iter_mut().enumerate() {
                    if !verdict.measured() || !base.verdicts[i].measured() {
                        continue;
                    }
                    let (claim, base_claim) = (&checked[i], &base_checked[i]);
                    verdict.effect = Some(claim.statistic.effect(
                        &base_claim.sample,
                        &claim.sample,
                        !variant.trains,
                        paper_half,
                    ));
                }
                column
            })
            .collect();
        let claims = claims(reported, &BTreeMap::new(), READINGS[0].key())
            .into_iter()
            .map(|c| ClaimName {
                key: c.key.into(),
                title: c.title.into(),
                claim: c.claim.into(),
                needs: c.needs.to_vec(),
                statistic: c.statistic.what.into(),
                analysed: c.analysed,
                paper: c.paper,
            })
            .collect();
        let paper_rho = reported
            .table1_rho_mean_std
            .iter()
            .map(|(&t, table)| (t, table.mean_ablation[0]))
            .collect();
        Self {
            claims,
            columns,
            paper_rho,
        }
    }

    /// The column of protocol `from` itself.
    pub fn base(&self, from: Protocol) -> Option<&Column> {
        self.columns.iter().find(|c| c.from == from && c.is_base())
    }

    /// The switch columns, with their verdicts on claim `i` and their protocol's.
    pub(super) fn switches(&self, i: usize) -> impl Iterator<Item = (&Column, &Verdict, &Verdict)> {
        self.columns
            .iter()
            .filter(|c| !c.is_base())
            .filter_map(move |c| {
                let base = self.base(c.from)?;
                Some((c, &c.verdicts[i], &base.verdicts[i]))
            })
    }

    /// Per claim and switch, whether its effect has the same sign on the paper's ten seeds and
    /// on 1–10: (replicated, effects with both halves, effects measured).
    pub fn agreement(&self) -> (usize, usize, usize) {
        let effects: Vec<&Effect> = (self.columns.iter())
            .flat_map(|c| c.verdicts.iter().filter_map(|v| v.effect.as_ref()))
            .collect();
        let halves = effects.iter().filter(|e| e.replicated.is_some()).count();
        let replicated = effects
            .iter()
            .filter(|e| e.replicated == Some(true))
            .count();
        (replicated, halves, effects.len())
    }

    /// Columns × claims: each cell the verdict and its number, beside the seeds analysed.
    pub fn table(&self) -> Table {
        let mut columns = vec!["from".to_string(), "switched".into(), "seeds".into()];
        columns.extend(self.claims.iter().map(|c| c.key.clone()));
        let rows = self
            .columns
            .iter()
            .map(|c| {
                let mut row = vec![
                    Cell::Text(c.from.to_string()),
                    Cell::Text(c.switched.clone().unwrap_or_else(|| "—".into())),
                    Cell::Text(seeds_text(c)),
                ];
                row.extend(c.verdicts.iter().map(|v| Cell::Text(v.text())));
                row
            })
            .collect();
        Table {
            name: "decomposition",
            title: "Each claim under protocol published, METHOD's default, and each with one \
                    choice switched to the other's, on every seed of each sweep: the verdict and \
                    the number behind it (the rules of the robustness table)"
                .into(),
            columns,
            rows,
        }
    }

    /// Per switch and claim, its effect on the claim's statistic (METHOD §9.2): the verdicts
    /// before and after, S(switched) − S(base) with its interval and seeds, the effect on each
    /// half of the seeds, and whether the switch turns the claim.
    pub fn effects_table(&self) -> Table {
        let mut rows = Vec::new();
        for (i, claim) in self.claims.iter().enumerate() {
            for (c, v, base) in self.switches(i) {
                let Some(e) = &v.effect else { continue };
                let half = |h: Option<f64>| h.map_or("—".into(), |x| format!("{x:+.2}"));
                let reading = if v.turns(base) {
                    "turns it"
                } else if v.changes(base) {
                    "within noise"
                } else {
                    "same verdict"
                };
                rows.push(vec![
                    Cell::Text(claim.key.clone()),
                    Cell::Text(c.label()),
                    Cell::Text(format!("{} → {}", base.verdict.word(), v.verdict.word())),
                    Cell::Text(e.text(2)),
                    Cell::Text(format!("{} / {}", half(e.halves[0]), half(e.halves[1]))),
                    Cell::Text(reading.into()),
                ]);
            }
        }
        Table {
            name: "decomposition-effects",
            title: "Each switch's effect on each claim's statistic: S(switched) − S(protocol) \
                    [95% bootstrap interval], paired on the seeds both analysed where the two \
                    read the same models; on the paper's ten seeds / on seeds 1–10"
                .into(),
            columns: ["claim", "column", "verdict", "effect", "halves", "reading"]
                .map(String::from)
                .into(),
            rows,
        }
    }

    /// Per task, ρ under each column: the forest plot's numbers as a table.
    pub fn rho_table(&self) -> Table {
        let rows = self
            .columns
            .iter()
            .map(|c| {
                let mut row = vec![Cell::Text(c.label()), Cell::Text(seeds_text(c))];
                for task in Task::ALL {
                    row.push(match c.rho.get(&task) {
                        Some(m) => Cell::Spread(*m, Format::Rho),
                        None => Cell::Text("not measured".into()),
                    });
                }
                row
            })
            .collect();
        let mut columns = vec!["column".to_string(), "seeds".into()];
        columns.extend(Task::ALL.map(|t| format!("ρ {t}")));
        Table {
            name: "decomposition-rho",
            title: "ρ of G against C under each column, mean ± sd [95% bootstrap interval] (n)"
                .into(),
            columns,
            rows,
        }
    }
}

/// One column computed: the variant's models on every seed of its sweep, seen under its reading,
/// with the claims checked on them (their samples give the switches' effects).
fn column(
    reported: &Reported,
    variant: &Variant,
    sweeps: &BTreeMap<&str, &[SeedReport]>,
) -> (Column, Vec<Claim>) {
    let reading = variant.reading;
    let reports: Vec<&SeedReport> = sweeps
        .get(variant.models)
        .copied()
        .unwrap_or_default()
        .iter()
        .collect();
    // An analysed report whose view has no analysis predates the reading: it is left out.
    let mut predating: BTreeMap<Task, usize> = BTreeMap::new();
    let views: Vec<SeedReport> = reports
        .iter()
        .filter_map(|r| {
            let view = reading.view(r);
            if r.analysis.is_some() && view.analysis.is_none() {
                *predating.entry(r.run.task).or_default() += 1;
                return None;
            }
            Some(view)
        })
        .collect();
    let summaries: BTreeMap<Task, Summary> = Summary::per_task(&views, reading.g);
    let seeds: BTreeMap<Task, (usize, usize)> = summaries
        .iter()
        .map(|(&t, s)| (t, (s.analysed(), s.seeds.len())))
        .collect();
    let rho = summaries
        .iter()
        .filter(|(_, s)| s.analysed() > 0)
        .map(|(&t, s)| (t, s.table1.of(reading.key())))
        .collect();
    let checked = claims(reported, &summaries, reading.key());
    let verdicts = checked
        .iter()
        .map(|c| Verdict {
            missing: c.needs.iter().find_map(|&t| {
                let Some(s) = summaries.get(&t) else {
                    return Some(if predating.contains_key(&t) {
                        format!("the {t} reports were made before this reading")
                    } else {
                        format!("no {t} runs")
                    });
                };
                if c.analysed && s.analysed() == 0 {
                    return Some(format!(
                        "no {t} seed analysed: none of {} in the OOD window",
                        s.seeds.len()
                    ));
                }
                if let Some(a) = c.against
                    && s.analysed() > 0
                    && !s.ablations().contains(&a)
                {
                    return Some(format!("no {a} ablation beside this reading's C"));
                }
                let (made, wanted) = joints_made(&views, t, reading);
                (c.joint && made < wanted).then(|| {
                    format!(
                        "the joint ablations of the top two were made on {made} of {wanted} \
                         {t} seeds"
                    )
                })
            }),
            verdict: c.verdict,
            headline: c.headline.clone(),
            ours: c.ours.clone(),
            measured: c.measured.clone(),
            effect: None,
        })
        .collect();
    let column = Column {
        from: variant.from,
        switched: variant.switched.map(String::from),
        models: variant.models.into(),
        reading: reading.label.into(),
        seeds,
        predating,
        rho,
        verdicts,
    };
    (column, checked)
}

/// Of the analysed `task` seeds among `views` that have Heroes or Bloats at the pruning
/// threshold under `reading`: how many have every joint ablation of their top two, and how many
/// there are.
fn joints_made(views: &[SeedReport], task: Task, reading: Reading) -> (usize, usize) {
    let key = reading.key();
    let mut counts = (0, 0);
    for view in views.iter().filter(|v| v.run.task == task) {
        let Some(g) = view
            .analysis
            .as_ref()
            .and_then(|a| a.by_grad.get(&reading.g))
        else {
            continue;
        };
        let t = view.run.config.analysis.threshold;
        let (Some(classes), Some(pruning)) = (
            g.class.get(&key).and_then(|per_t| per_t.get(&t)),
            g.pruning.get(&key),
        ) else {
            continue;
        };
        let has = |class: Class| classes.contains(&class);
        let wanted = [
            (has(Class::Hero), pruning.heroes.is_some()),
            (has(Class::Bloat), pruning.bloats.is_some()),
        ];
        if wanted.iter().any(|(has, _)| *has) {
            counts.1 += 1;
            if wanted.iter().all(|(has, made)| !has || *made) {
                counts.0 += 1;
            }
        }
    }
    counts
}

/// `reverse 9/10, sort 10/20 (of 20 seeds wanted; 10 made before this reading left out)`, or
/// `no runs`.
fn seeds_text(c: &Column) -> String {
    let tasks: BTreeSet<Task> = c.seeds.keys().chain(c.predating.keys()).copied().collect();
    let parts: Vec<String> = tasks
        .into_iter()
        .map(|t| {
            let (k, n) = c.seeds.get(&t).copied().unwrap_or((0, 0));
            let mut notes = Vec::new();
            if n < SEEDS_WANTED {
                notes.push(format!("of {SEEDS_WANTED} seeds wanted"));
            }
            if let Some(old) = c.predating.get(&t) {
                notes.push(format!("{old} made before this reading left out"));
            }
            match notes.is_empty() {
                true => format!("{t} {k}/{n}"),
                false => format!("{t} {k}/{n} ({})", notes.join("; ")),
            }
        })
        .collect();
    if parts.is_empty() {
        "no runs".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use Protocol::Published as P;

    #[test]
    fn a_switchs_name_reads_alone_in_a_list_of_names() {
        // Sentences list switches as `a alone …; b alone …`, and the page test reads them back.
        for variant in VARIANTS {
            let name = variant.switched.unwrap_or_default();
            assert!(!name.contains("; ") && !name.contains(" alone "), "{name}");
        }
    }

    #[test]
    fn only_switches_that_train_other_models_resample_apart() {
        for variant in VARIANTS {
            let own = if variant.from == P {
                "published"
            } else {
                "default"
            };
            let evaluated_again = variant.models == own || variant.models == WINDOW_SAMPLE;
            assert_eq!(variant.trains, !evaluated_again, "{}", variant.models);
        }
    }
}
