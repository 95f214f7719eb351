//! The decomposition in words: per claim, the sentence saying which single switches turn its
//! verdict with their effects (METHOD §9.2), what it leaves folded (changes within noise,
//! switches not measured for it), and the switches measured in no row, said once.

use std::collections::BTreeMap;

use crate::engine::task::Task;
use crate::experiment::protocol::Protocol;
use crate::report::statistic::Holds;

use super::decomposition::{Column, Decomposition, Verdict};

impl Decomposition {
    /// Per claim, one sentence computed from the columns: its verdict under `published` with
    /// its statistic, each single switch that turns it with its effect (METHOD §9.2), then the
    /// same from METHOD's default where its verdict differs or a switch turns it there.
    pub fn why_lines(&self) -> Vec<String> {
        (0..self.claims.len()).map(|i| self.why_line(i)).collect()
    }

    /// Per claim, what its sentence leaves to be unfolded: every other verdict change, each
    /// within noise (its effect's interval includes 0), and the switches not measured for it
    /// alone (those measured for no claim are [`Decomposition::unmeasured_everywhere`]).
    pub fn why_details(&self) -> Vec<String> {
        (0..self.claims.len()).map(|i| self.why_detail(i)).collect()
    }

    /// The switches measured for no claim that needs an analysed seed, with why, said once for
    /// every row: `None` when there are none.
    pub fn unmeasured_everywhere(&self) -> Option<String> {
        let names =
            self.grouped_unmeasured(self.unmeasured_columns().filter(|c| self.said_once(c)));
        (!names.is_empty()).then(|| format!("Not measured in any row: {names}."))
    }

    /// Whether `c` is measured for no claim that needs an analysed seed, so that its rows'
    /// sentences leave it to [`Decomposition::unmeasured_everywhere`].
    fn said_once(&self, c: &Column) -> bool {
        (self.claims.iter().zip(&c.verdicts))
            .filter(|(claim, _)| claim.analysed)
            .all(|(_, v)| !v.measured())
    }

    /// The switch columns not measured for at least one claim.
    fn unmeasured_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns
            .iter()
            .filter(|c| !c.is_base() && c.verdicts.iter().any(|v| !v.measured()))
    }

    /// `a, b from default (why); c (why)`: columns named with why each is not measured, those
    /// with one reason together.
    fn grouped_unmeasured<'a>(&'a self, columns: impl Iterator<Item = &'a Column>) -> String {
        let mut why: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for c in columns {
            // The tasks it ran, or every task where it ran none.
            let mut needs: Vec<Task> = c.seeds.keys().chain(c.predating.keys()).copied().collect();
            if needs.is_empty() {
                needs = Task::ALL.to_vec();
            }
            why.entry(c.why_unmeasured(&needs))
                .or_default()
                .push(c.name_among(&self.columns));
        }
        (why.into_iter())
            .map(|(why, names)| format!("{} ({why})", names.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
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
        let opening = match p.verdict {
            Holds::Holds => "Holds under published",
            Holds::DoesNotHold => "Does not hold even under published",
            Holds::Inconclusive => "Inconclusive under published",
        };
        let turning = |from: Protocol| -> Vec<String> {
            self.switches(i)
                .filter(|(c, v, base)| c.from == from && v.turns(base))
                .map(|(c, v, _)| change(c, v, &self.columns))
                .collect()
        };
        let mut out = format!("{opening} ({})", p.measured.text(2));
        let from_published = turning(Protocol::Published);
        if from_published.is_empty() {
            out += "; no single switch to the default turns it";
        } else {
            out += &format!("; {}", from_published.join("; "));
        }
        out += ".";
        if let Some(d) = self.base(Protocol::Default).map(|c| &c.verdicts[i])
            && d.measured()
        {
            let from_default = turning(Protocol::Default);
            if d.verdict != p.verdict || !from_default.is_empty() {
                out += &format!(
                    " Under METHOD's default it {} ({})",
                    phrase(d.verdict),
                    d.measured.text(2)
                );
                for turned in from_default {
                    out += &format!("; {turned}");
                }
                out += ".";
            }
        }
        out
    }

    /// What claim `i`'s sentence leaves out ([`Decomposition::why_details`]).
    fn why_detail(&self, i: usize) -> String {
        let mut parts = Vec::new();
        let noise: Vec<String> = self
            .switches(i)
            .filter(|(_, v, base)| v.changes(base) && !v.turns(base))
            .map(|(c, v, _)| change(c, v, &self.columns))
            .collect();
        if !noise.is_empty() {
            parts.push(format!("Within noise: {}.", noise.join("; ")));
        }
        let needs = &self.claims[i].needs;
        let unmeasured: Vec<&Column> = self
            .unmeasured_columns()
            .filter(|c| !c.verdicts[i].measured() && !self.said_once(c))
            .collect();
        if !unmeasured.is_empty() {
            let mut why: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for c in unmeasured {
                why.entry(c.why_unmeasured(needs))
                    .or_default()
                    .push(c.name_among(&self.columns));
            }
            let why: Vec<String> = (why.into_iter())
                .map(|(why, names)| format!("{} ({why})", names.join(", ")))
                .collect();
            parts.push(format!("Not measured: {}.", why.join("; ")));
        }
        parts.join(" ")
    }
}

/// `init gpt2 alone makes it fail (−0.35 [−0.55, −0.15], 20 and 18 seeds, both halves)`: a
/// switch's verdict with its effect.
fn change(c: &Column, v: &Verdict, columns: &[Column]) -> String {
    let made = match v.verdict {
        Holds::Holds => "makes it hold",
        Holds::DoesNotHold => "makes it fail",
        Holds::Inconclusive => "leaves it inconclusive",
    };
    let effect = v
        .effect
        .as_ref()
        .map_or("no effect measured".into(), |e| e.text(2));
    format!("{} alone {made} ({effect})", c.name_among(columns))
}

/// `holds`, `does not hold`, `is inconclusive`.
fn phrase(h: Holds) -> &'static str {
    match h {
        Holds::Holds => "holds",
        Holds::DoesNotHold => "does not hold",
        Holds::Inconclusive => "is inconclusive",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::claims::PaperVerdict;
    use crate::report::statistic::{Effect, Measured};
    use crate::report::switches::decomposition::ClaimName;

    /// A column from `from` with one claim on sorting: `verdict` over `seeds` analysed seeds, or
    /// not measured (`None`); a switch's effect `effect` with interval `[low, high]`.
    fn column(
        from: Protocol,
        switched: Option<&str>,
        verdict: Option<Holds>,
        seeds: usize,
        effect: Option<[f64; 3]>,
    ) -> Column {
        let measured = Measured {
            value: Some(0.5),
            interval: Some([0.4, 0.6]),
            seeds: [(Task::Sort, seeds)].into(),
            verdict: verdict.unwrap_or(Holds::Inconclusive),
            p: None,
        };
        Column {
            from,
            switched: switched.map(String::from),
            models: "m".into(),
            reading: "r".into(),
            seeds: verdict
                .map(|_| (Task::Sort, (seeds, 20)))
                .into_iter()
                .collect(),
            predating: BTreeMap::new(),
            rho: BTreeMap::new(),
            verdicts: vec![Verdict {
                verdict: verdict.unwrap_or(Holds::Inconclusive),
                headline: "h".into(),
                ours: "o".into(),
                missing: verdict.is_none().then(|| "no sort runs".into()),
                measured,
                effect: effect.map(|[value, low, high]| Effect {
                    value: Some(value),
                    interval: Some([low, high]),
                    paired: false,
                    seeds: [20, seeds],
                    halves: [Some(value), Some(value)],
                    replicated: Some(true),
                }),
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
                statistic: "s".into(),
                analysed: true,
                paper: PaperVerdict {
                    measured: None,
                    basis: "b".into(),
                },
            }],
            columns,
            paper_rho: BTreeMap::new(),
        }
    }

    use Holds::{DoesNotHold as No, Holds as Yes, Inconclusive as Unsure};
    use Protocol::{Default as D, Published as P};

    #[test]
    fn the_sentence_names_each_switch_that_turns_the_verdict_with_its_effect() {
        let d = decomposition(vec![
            column(P, None, Some(Yes), 20, None),
            column(P, Some("a"), Some(No), 18, Some([-0.3, -0.5, -0.1])),
            column(P, Some("b"), Some(Unsure), 19, Some([-0.1, -0.3, 0.1])),
            column(P, Some("c"), None, 0, None),
            column(P, Some("e"), Some(Yes), 20, Some([0.1, 0.0, 0.2])),
            column(D, None, Some(No), 20, None),
            column(D, Some("f"), Some(Yes), 17, Some([0.4, 0.2, 0.6])),
        ]);
        assert_eq!(
            d.why_lines(),
            [
                "Holds under published (0.50 [0.40, 0.60], 20 seeds); a alone makes it fail \
                 (−0.30 [−0.50, −0.10], 20 and 18 seeds, both halves). Under METHOD's default it \
                 does not hold (0.50 [0.40, 0.60], 20 seeds); f alone makes it hold (+0.40 [0.20, \
                 0.60], 20 and 17 seeds, both halves)."
            ]
        );
        assert_eq!(
            d.why_details(),
            [
                "Within noise: b alone leaves it inconclusive (−0.10 [−0.30, 0.10], 20 and 19 \
                 seeds, both halves)."
            ]
        );
        assert_eq!(
            d.unmeasured_everywhere().as_deref(),
            Some("Not measured in any row: c (not run yet).")
        );
    }

    #[test]
    fn a_switch_measured_for_no_claim_is_said_once_and_not_in_each_row() {
        let mut never = column(P, Some("d"), Some(Unsure), 0, None);
        never.verdicts[0].missing = Some("no sort seed analysed".into());
        never.seeds = [(Task::Sort, (0, 10))].into();
        let d = decomposition(vec![
            column(P, None, Some(Unsure), 20, None),
            never,
            column(D, None, Some(Unsure), 20, None),
        ]);
        assert_eq!(
            d.why_lines(),
            [
                "Inconclusive under published (0.50 [0.40, 0.60], 20 seeds); no single switch to \
              the default turns it."
            ]
        );
        assert_eq!(d.why_details(), [""]);
        assert_eq!(
            d.unmeasured_everywhere().as_deref(),
            Some("Not measured in any row: d (0 of 10 runs a task in the OOD window).")
        );
        let unmeasured = decomposition(vec![column(P, None, None, 0, None)]);
        assert_eq!(
            unmeasured.why_lines(),
            ["Not measured under published: no sort runs."]
        );
    }
}
