//! Which choice makes each finding: the paper's claims judged under protocol `published`, under
//! METHOD's default, and under each with one choice switched to the other protocol's, one column
//! per row of [`VARIANTS`]; and per claim a sentence computed from those columns that names the
//! switches turning its verdict ([`Decomposition::why_lines`]).
//!
//! A column is data: the protocol it starts from, the switch, the sweep whose models it reads
//! (by training scheme) and how it reads them ([`Reading`]). Analysis switches read the base's
//! own models through a [`Reading::view`]; training switches read a sweep of their own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analysis::analyze::Class;
use crate::analysis::stats::MeanStd;
use crate::engine::task::Task;
use crate::experiment::protocol::Protocol;
use crate::experiment::report::SeedReport;
use crate::report::claims::{Holds, claims};
use crate::report::paper::Reported;
use crate::report::summary::Summary;
use crate::report::switches::{READINGS, Reading};
use crate::report::table::{Cell, Format, Table};

/// The analysed seeds per task below which a sentence names a switch with its seed count.
pub const WELL_MEASURED: usize = 8;

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

/// A column starting from `from`.
const fn variant(
    from: Protocol,
    switched: Option<&'static str>,
    models: &'static str,
    reading: Reading,
) -> Variant {
    Variant {
        from,
        switched,
        models,
        reading,
    }
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
}

impl Verdict {
    /// Whether the cell is measured.
    pub fn measured(&self) -> bool {
        self.missing.is_none()
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
    /// The tasks whose reports were made before the column's reading (analyse them again).
    pub predating: Vec<Task>,
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
    fn why_unmeasured(&self, needs: &[Task]) -> &'static str {
        for t in needs {
            match self.seeds.get(t) {
                None if self.predating.contains(t) => return "analysed before its reading",
                None => return "not run yet",
                Some((0, _)) => return "no seed in the OOD window",
                Some(_) => {}
            }
        }
        "its ablations not made"
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
    /// Every claim under every column on the paper's seeds, `sweeps` giving each training
    /// scheme's reports (a scheme with none gives columns with nothing measured).
    pub fn new(reported: &Reported, sweeps: &BTreeMap<&str, &[SeedReport]>) -> Self {
        let columns: Vec<Column> = VARIANTS
            .iter()
            .map(|variant| column(reported, variant, sweeps))
            .collect();
        let claims = claims(reported, &BTreeMap::new(), READINGS[0].key())
            .into_iter()
            .map(|c| ClaimName {
                key: c.key.into(),
                title: c.title.into(),
                claim: c.claim.into(),
                needs: c.needs.to_vec(),
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

    /// Per claim, one sentence saying under which switch its verdict turns, computed from the
    /// columns: from `published` first, then what METHOD's default says where it differs.
    pub fn why_lines(&self) -> Vec<String> {
        (0..self.claims.len()).map(|i| self.why_line(i)).collect()
    }

    /// The sentence of claim `i` ([`Decomposition::why_lines`]).
    fn why_line(&self, i: usize) -> String {
        let Some(published) = self.base(Protocol::Published) else {
            return "Not measured under published.".into();
        };
        let p = &published.verdicts[i];
        if let Some(missing) = &p.missing {
            return format!("Not measured under published: {missing}.");
        }
        let needs = &self.claims[i].needs;
        let switches = |from: Protocol| {
            self.columns
                .iter()
                .filter(move |c| c.from == from && !c.is_base())
        };
        let turned_to = |from: Protocol, to: Holds| -> Vec<String> {
            switches(from)
                .filter(|c| c.verdicts[i].measured() && c.verdicts[i].verdict == to)
                .filter_map(|c| {
                    let seeds = needs
                        .iter()
                        .map(|t| c.seeds.get(t).map_or(0, |s| s.0))
                        .min()?;
                    let switched = c.switched.clone()?;
                    Some(if seeds < WELL_MEASURED {
                        format!("{switched} ({seeds} seeds)")
                    } else {
                        switched
                    })
                })
                .collect()
        };
        // "no single switch" speaks for the switches measured; the count of the others follows.
        let so_far = if switches(Protocol::Published).any(|c| !c.verdicts[i].measured()) {
            "measured so far"
        } else {
            "to the default"
        };
        let mut out = match p.verdict {
            Holds::Holds => {
                let fails = turned_to(Protocol::Published, Holds::DoesNotHold);
                let unsure = turned_to(Protocol::Published, Holds::Inconclusive);
                if !fails.is_empty() {
                    format!(
                        "Holds under published; does not hold once {} alone is switched to the \
                         default.",
                        or_list(&fails)
                    )
                } else if !unsure.is_empty() {
                    format!(
                        "Holds under published; it is inconclusive once {} alone is switched to \
                         the default.",
                        or_list(&unsure)
                    )
                } else {
                    format!("Holds under published, and no single switch {so_far} turns it.")
                }
            }
            Holds::DoesNotHold => {
                let holds = turned_to(Protocol::Published, Holds::Holds);
                let mut s = "Does not hold even under published".to_string();
                if !holds.is_empty() {
                    s += &format!(
                        "; it holds once {} alone is switched to the default",
                        or_list(&holds)
                    );
                }
                s + "."
            }
            Holds::Inconclusive => {
                let mut s = "Inconclusive under published".to_string();
                for (to, words) in [
                    (Holds::Holds, "holds"),
                    (Holds::DoesNotHold, "does not hold"),
                ] {
                    let turned = turned_to(Protocol::Published, to);
                    if !turned.is_empty() {
                        s += &format!(
                            "; it {words} once {} alone is switched to the default",
                            or_list(&turned)
                        );
                    }
                }
                s + "."
            }
        };
        if let Some(d) = self.base(Protocol::Default).map(|c| &c.verdicts[i])
            && d.measured()
            && d.verdict != p.verdict
        {
            out += &format!(" Under METHOD's default it {}", phrase(d.verdict));
            let back = turned_to(Protocol::Default, p.verdict);
            if !back.is_empty() {
                out += &format!(
                    "; it {} once {} alone is switched to published",
                    phrase(p.verdict),
                    or_list(&back)
                );
            }
            out += ".";
        }
        let unmeasured: Vec<&Column> = (self.columns.iter())
            .filter(|c| !c.is_base() && !c.verdicts[i].measured())
            .collect();
        if !unmeasured.is_empty() {
            let mut why: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for c in &unmeasured {
                // A switch made from both sides is named with the side.
                let switched = c.switched.as_deref().unwrap_or_default();
                let sides = (self.columns.iter())
                    .filter(|o| o.switched.as_deref() == Some(switched))
                    .count();
                let name = match sides {
                    1 => switched.to_string(),
                    _ => format!("{switched} from {}", c.from),
                };
                why.entry(c.why_unmeasured(needs)).or_default().push(name);
            }
            let why: Vec<String> = (why.into_iter())
                .map(|(why, names)| format!("{} ({why})", names.join(", ")))
                .collect();
            out += &format!(" Not measured: {}.", why.join("; "));
        }
        out
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
                    choice switched to the other's, on the paper's seeds: the verdict and the \
                    number behind it (the rules of the robustness table)"
                .into(),
            columns,
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

/// One column computed: the variant's models on the paper's seeds, seen under its reading.
fn column(
    reported: &Reported,
    variant: &Variant,
    sweeps: &BTreeMap<&str, &[SeedReport]>,
) -> Column {
    let reading = variant.reading;
    let reports: Vec<&SeedReport> = sweeps
        .get(variant.models)
        .copied()
        .unwrap_or_default()
        .iter()
        .filter(|r| reported.seeds.contains(&r.run.seed))
        .collect();
    let views: Vec<SeedReport> = reports.iter().map(|r| reading.view(r)).collect();
    // An analysed report whose view has no analysis predates the reading.
    let predating: Vec<Task> = Task::ALL
        .into_iter()
        .filter(|&t| {
            reports
                .iter()
                .zip(&views)
                .any(|(r, v)| r.run.task == t && r.analysis.is_some() && v.analysis.is_none())
        })
        .collect();
    let summaries: BTreeMap<Task, Summary> = Summary::per_task(&views, reading.g)
        .into_iter()
        .filter(|(t, _)| !predating.contains(t))
        .collect();
    let seeds: BTreeMap<Task, (usize, usize)> = summaries
        .iter()
        .map(|(&t, s)| (t, (s.analysed(), s.seeds.len())))
        .collect();
    let rho = summaries
        .iter()
        .filter(|(_, s)| s.analysed() > 0)
        .map(|(&t, s)| (t, s.table1.of(reading.key())))
        .collect();
    let verdicts = claims(reported, &summaries, reading.key())
        .into_iter()
        .map(|c| Verdict {
            missing: c.needs.iter().find_map(|&t| {
                let Some(s) = summaries.get(&t) else {
                    return Some(if predating.contains(&t) {
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
            headline: c.headline,
            ours: c.ours,
        })
        .collect();
    Column {
        from: variant.from,
        switched: variant.switched.map(String::from),
        models: variant.models.into(),
        reading: reading.label.into(),
        seeds,
        predating,
        rho,
        verdicts,
    }
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

/// `reverse 9/10, sort 10/10`, `sort: reports made before this reading`, or `no runs`.
fn seeds_text(c: &Column) -> String {
    let mut parts: Vec<String> = c
        .seeds
        .iter()
        .map(|(t, (k, n))| format!("{t} {k}/{n}"))
        .collect();
    parts.extend(
        c.predating
            .iter()
            .map(|t| format!("{t}: reports made before this reading")),
    );
    if parts.is_empty() {
        "no runs".into()
    } else {
        parts.join(", ")
    }
}

/// `holds`, `does not hold`, `is inconclusive`.
fn phrase(h: Holds) -> &'static str {
    match h {
        Holds::Holds => "holds",
        Holds::DoesNotHold => "does not hold",
        Holds::Inconclusive => "is inconclusive",
    }
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A column from `from` with one claim on sorting: `verdict` over `seeds` analysed seeds, or
    /// not measured (`None`).
    fn column(
        from: Protocol,
        switched: Option<&str>,
        verdict: Option<Holds>,
        seeds: usize,
    ) -> Column {
        Column {
            from,
            switched: switched.map(String::from),
            models: "m".into(),
            reading: "r".into(),
            seeds: verdict
                .map(|_| (Task::Sort, (seeds, 10)))
                .into_iter()
                .collect(),
            predating: Vec::new(),
            rho: BTreeMap::new(),
            verdicts: vec![Verdict {
                verdict: verdict.unwrap_or(Holds::Inconclusive),
                headline: "h".into(),
                ours: "o".into(),
                missing: verdict.is_none().then(|| "no sort runs".into()),
            }],
        }
    }

    fn decomposition(columns: Vec<Column>) -> Decomposition {
        Decomposition {
            claims: vec![ClaimName {
                key: "k".into(),
                title: "t".into(),
                claim: "c".into(),
                needs: vec![Task::Sort],
            }],
            columns,
            paper_rho: BTreeMap::new(),
        }
    }

    use Holds::{DoesNotHold as No, Holds as Yes, Inconclusive as Unsure};
    use Protocol::{Default as D, Published as P};

    #[test]
    fn a_switchs_name_reads_alone_in_a_list_of_names() {
        // Sentences list switches as `a, b or c`, and the page test reads them back.
        for variant in VARIANTS {
            let name = variant.switched.unwrap_or_default();
            assert!(!name.contains(", ") && !name.contains(" or "), "{name}");
        }
    }

    #[test]
    fn the_sentence_names_the_switches_that_turn_the_verdict_from_either_side() {
        let d = decomposition(vec![
            column(P, None, Some(Yes), 10),
            column(P, Some("a"), Some(No), 10),
            column(P, Some("b"), Some(Unsure), 3),
            column(P, Some("c"), None, 0),
            column(P, Some("e"), Some(No), 5),
            column(D, None, Some(No), 10),
            column(D, Some("f"), Some(Yes), 9),
        ]);
        assert_eq!(
            d.why_lines(),
            [
                "Holds under published; does not hold once a or e (5 seeds) alone is switched to \
              the default. Under METHOD's default it does not hold; it holds once f alone is \
              switched to published. Not measured: c (not run yet)."
            ]
        );
    }

    #[test]
    fn the_sentence_says_why_each_switch_not_measured_is_not() {
        let mut empty = column(P, Some("d"), Some(Unsure), 0);
        empty.verdicts[0].missing = Some("no sort seed analysed".into());
        let mut stale = column(D, Some("c"), None, 0);
        stale.predating = vec![Task::Sort];
        let d = decomposition(vec![
            column(P, None, Some(Yes), 10),
            empty,
            column(P, Some("c"), None, 0),
            column(D, None, Some(Yes), 10),
            stale,
        ]);
        assert_eq!(
            d.why_lines(),
            [
                "Holds under published, and no single switch measured so far turns it. Not \
                 measured: c from default (analysed before its reading); d (no seed in the OOD \
                 window); c from published (not run yet)."
            ]
        );
    }

    #[test]
    fn the_sentence_says_when_no_switch_turns_it_or_it_never_holds() {
        let none = decomposition(vec![
            column(P, None, Some(Yes), 10),
            column(P, Some("a"), Some(Yes), 10),
            column(D, None, Some(Yes), 10),
        ]);
        assert_eq!(
            none.why_lines(),
            ["Holds under published, and no single switch to the default turns it."]
        );
        let unsure = decomposition(vec![
            column(P, None, Some(Yes), 10),
            column(P, Some("b"), Some(Unsure), 3),
            column(P, Some("c"), None, 0),
        ]);
        assert_eq!(
            unsure.why_lines(),
            [
                "Holds under published; it is inconclusive once b (3 seeds) alone is switched \
                 to the default. Not measured: c (not run yet)."
            ]
        );
        let never = decomposition(vec![
            column(P, None, Some(No), 10),
            column(P, Some("a"), Some(No), 10),
            column(P, Some("g"), Some(Yes), 10),
        ]);
        assert_eq!(
            never.why_lines(),
            [
                "Does not hold even under published; it holds once g alone is switched to the \
              default."
            ]
        );
        let unmeasured = decomposition(vec![column(P, None, None, 0)]);
        assert_eq!(
            unmeasured.why_lines(),
            ["Not measured under published: no sort runs."]
        );
    }
}
