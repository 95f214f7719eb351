//! `REPRODUCTION.md`: the paper's numbers beside ours ([`crate::report::compare`]), the positions study
//! ([`crate::report::study`]) and a plain reading of which of the paper's claims hold on our models.
//! `gradcause reproduction` writes it from the shipped results, so it is never out of date
//! with `assets/`.

use std::collections::BTreeMap;

use crate::analysis::ablation::Ablation;
use crate::analysis::attribution::GWeights;
use crate::analysis::scores::Score;
use crate::analysis::stats::{MeanStd, interval_text};
use crate::engine::model::Positions;
use crate::engine::task::Task;
use crate::experiment::provenance::METHOD_REVISION;
use crate::experiment::report::{SeedReport, TrainReport};
use crate::report::compare::{compare, markdown, tally};
use crate::report::leaderboard::leaderboards;
use crate::report::paper::{CITATION, Reported};
use crate::report::study::window_counts;
use crate::report::summary::Summary;
use crate::report::switches::decomposition::Decomposition;
use crate::report::switches::switch_table;
use crate::report::workshop::{WORKSHOP_CITATION, Workshop, per_seed_table, role_table, table1};

pub use crate::report::claims::{Claim, Holds, claims};
pub use crate::report::statistic::MIN_SEEDS;

/// One sweep the document reads: the position scheme its models were trained under, where its
/// reports are and what it is, as the reader should see them, and the reports.
pub struct Sweep<'a> {
    /// How its models reach positions past the training lengths: the readings' positions.
    pub positions: Positions,
    /// Its directory.
    pub dir: &'a str,
    /// What it is, in a few words.
    pub about: &'a str,
    /// Its reports (none where the sweep has not been made). Every report must be current
    /// ([`SeedReport::outdated`]).
    pub reports: &'a [SeedReport],
}

/// Everything the document is made from.
pub struct Inputs<'a> {
    /// The paper's numbers.
    pub reported: &'a Reported,
    /// The sweeps, at least one, the default first (METHOD's default reading: the sweep the
    /// page opens on). Each reading is read on the sweep of its positions, so a sweep added here
    /// adds its readings to every section.
    pub sweeps: &'a [Sweep<'a>],
    /// The positions study.
    pub study: &'a [TrainReport],
    /// The positions study's directory.
    pub study_dir: &'a str,
    /// The sweep under protocol `published` (METHOD §11) and its directory: shown beside the
    /// workshop paper's tables (none where it has not been made).
    pub published: (&'a str, &'a [SeedReport]),
    /// Every claim under each protocol and each single switch of it, and where the switch
    /// sweeps are (issue 37's decomposition).
    pub decomposition: (&'a str, &'a Decomposition),
}

/// One reading of the paper's method: a G reading, a C baseline in the place of its "mean
/// ablation", and a position scheme (METHOD §2, §5, §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    /// Which weights G is measured on.
    pub g: GWeights,
    /// The ablation read as the paper's mean ablation.
    pub c: Ablation,
    /// How the model reaches positions past the training lengths.
    pub positions: Positions,
}

impl Reading {
    /// METHOD's default reading.
    pub const DEFAULT: Reading = Reading {
        g: GWeights::WvWout,
        c: Ablation::Mean,
        positions: Positions::Shifted,
    };

    /// The robustness table's columns: each of `schemes` (the sweeps' positions) × G (every
    /// reading) × C (mean, mean-pos, zero, slot), in that order.
    pub fn all(schemes: &[Positions]) -> Vec<Reading> {
        let mut all = Vec::new();
        for &positions in schemes {
            for g in GWeights::ALL {
                for c in [
                    Ablation::Mean,
                    Ablation::MeanPos,
                    Ablation::Zero,
                    Ablation::Slot,
                ] {
                    all.push(Reading { g, c, positions });
                }
            }
        }
        all
    }

    /// `shifted · wv-wout · mean`.
    pub fn label(&self) -> String {
        format!("{} · {} · {}", self.positions, self.g, self.c)
    }
}

/// The reports among `reports` of the paper's seeds.
pub fn of_seeds(reports: &[SeedReport], seeds: &[u64]) -> Vec<SeedReport> {
    reports
        .iter()
        .filter(|r| seeds.contains(&r.run.seed))
        .cloned()
        .collect()
}

/// One sweep's reports summarised once for every section that reads them: per G reading and
/// task, over the paper's seeds and over every seed.
struct Summaries {
    /// The reports of the paper's seeds.
    paper_seeds: Vec<SeedReport>,
    /// Over the paper's seeds.
    paper: BTreeMap<GWeights, BTreeMap<Task, Summary>>,
    /// Over every seed.
    all: BTreeMap<GWeights, BTreeMap<Task, Summary>>,
}

impl Summaries {
    fn new(reports: &[SeedReport], seeds: &[u64]) -> Self {
        let paper_seeds = of_seeds(reports, seeds);
        let per_g = |reports: &[SeedReport]| {
            GWeights::ALL
                .into_iter()
                .map(|g| (g, Summary::per_task(reports, g)))
                .collect()
        };
        Self {
            paper: per_g(&paper_seeds),
            all: per_g(reports),
            paper_seeds,
        }
    }
}

/// Every sweep summarised once, in the inputs' order.
struct Summarised(Vec<(Positions, Summaries)>);

impl Summarised {
    fn new(inputs: &Inputs) -> Self {
        let seeds = &inputs.reported.seeds;
        Self(
            inputs
                .sweeps
                .iter()
                .map(|sweep| (sweep.positions, Summaries::new(sweep.reports, seeds)))
                .collect(),
        )
    }

    /// The default sweep's.
    fn default(&self) -> &Summaries {
        &self.0[0].1
    }

    /// The sweep trained under `positions`.
    fn under(&self, positions: Positions) -> &Summaries {
        let found = self.0.iter().find(|(p, _)| *p == positions);
        &found.expect("a reading of a sweep that is read").1
    }
}

/// The whole document.
pub fn document(inputs: &Inputs) -> String {
    let Inputs {
        reported,
        sweeps,
        study,
        study_dir,
        published,
        decomposition,
    } = inputs;
    let summarised = Summarised::new(inputs);
    let default = Reading::DEFAULT;
    let summaries = &summarised.default().paper[&default.g];
    let lines = compare(reported, summaries, default.c);
    let (within, differs, unavailable) = tally(&lines);
    let mut out = String::new();
    out += "# Reproduction: the paper beside ours\n\n";
    let dirs: Vec<&str> = sweeps.iter().map(|s| s.dir).collect();
    out += &format!(
        "<!-- Generated by `gradcause reproduction` from {} and {study_dir}; do not edit by hand. -->\n\n",
        dirs.join(", ")
    );
    let described: Vec<String> = sweeps
        .iter()
        .map(|s| format!("`{}` ({})", s.dir, s.about))
        .collect();
    out += &format!(
        "The paper's numbers are {CITATION}, as `assets/paper/reported.json` lists them; every \
         other number is ours, computed by gradcause (METHOD revision {METHOD_REVISION}) from the \
         reports in {} and `{study_dir}` (the positions study). Unless a section says \
         otherwise, ours is METHOD's default reading — G on a head's W_V and an MLP's W_out, \
         mean ablation by one mean vector, `shifted` positions — on the paper's ten seeds, and \
         every mean across seeds carries its 95% bootstrap interval over the seeds in square \
         brackets. `gradcause compare {}` prints the full table.\n\n",
        described.join(", "),
        sweeps[0].dir
    );
    out += &format!(
        "**{} entries compared: {within} within the paper's spread, {differs} differ, \
         {unavailable} not available on ours.**\n\n",
        lines.len()
    );
    out += &seeds_paragraph(summaries);
    out += &headline_section(inputs, &summarised);

    out += "\n## What holds and what does not\n\n";
    out += &format!(
        "Under the default reading on the paper's ten seeds. A verdict is drawn from a 95% \
         interval over our seeds: *holds* when the interval supports the paper's statement, \
         *does not hold* when it excludes it, *inconclusive* when it covers both or rests on \
         fewer than {MIN_SEEDS} seeds (the interval is shown all the same). Each claim's rule \
         is stated once, below it.\n\n"
    );
    for claim in claims(reported, summaries, default.c) {
        out += &format!(
            "- *{}* — **{}** on ours: {}\n  Rule: {}; S on ours {}. The paper's own numbers \
             under the same rule: {}.",
            claim.claim,
            claim.verdict.word(),
            claim.ours,
            claim.rule,
            claim.measured.text(2),
            claim.paper.text()
        );
        if claim.verdict != Holds::Holds {
            out += &format!(" Why it may differ: {}", claim.why);
        }
        out += "\n";
    }

    out += &robustness_section(&robustness_columns(reported, &summarised));
    out += &published_section(reported, *published);
    out += &decomposition_section(*decomposition);
    out += &revision_section(summarised.default());
    out += &leaderboard_section(inputs);

    out += "\n## What may make any of our numbers differ, besides chance\n\n";
    out += "- **Different models under the same seed.** A seed number fixes our random streams, \
            not PyTorch's: our seed 42 is another draw than the paper's seed 42. Per-seed lines \
            compare one draw with another; only the spread across seeds is comparable.\n";
    out += "- **Another machine, another model.** The same seed and config trained on another \
            CPU or by another build (other kernels, so other rounding) gives another model, and \
            reversal's OOD accuracy moves a lot with it: see *Same config, two trainings* below. \
            Each report records the machine and build it was made on. Each count of seeds in the \
            window is itself a draw.\n";
    out += "- **Positions.** The paper does not say how its models reached sequence positions they \
            were never trained on (training lengths 3–7, OOD lengths 8–11). The default, \
            `shifted`, keeps the paper's learned position embedding and trains every position \
            through random offsets; `none` has no position embedding at all. Both are readings \
            of the paper's text; the robustness table shows both, and the positions study below \
            how many seeds each scheme puts in the window. The paper may have done something \
            else.\n";
    out += "- **The analysis length.** Ours is the smallest OOD length whose base accuracy lies \
            in [20%, 75%] (METHOD §4); the paper's lengths per seed are not given beyond Table \
            4's base accuracies and Figure 5's n = 10.\n";
    out += "- **The stop rule.** Training stops at the first check (every 250 steps) with \
            stop-rule accuracy ≥ 90%; a model stopped at 500 steps and one stopped at 3,000 \
            generalise differently, and the paper's step counts are not given.\n";
    out += "\n## How the lines are judged\n\n";
    out += "A line is *within the paper's spread* when ours lies within: the paper's standard \
            deviation (Tables 1 and pruning, for the mean over our seeds); the paper's sd across \
            seeds (per-seed ρ); the spread of the paper's own per-seed values (Table 4); \
            ±max(2, √count) after scaling our count to the paper's number of seeds (Table 5, \
            component identity); one seed of ten (seeds in the window); our seeds' sd where the \
            paper gives a bare mean (Figure 4); a factor of 2 for ratios given without a spread; \
            our seeds' range for the one unnamed seed. *Ours not available* says why (a seed \
            skipped, a task with no analysed seed). Each line names its spread; the claims above \
            are judged on intervals instead.\n";
    out += "\n## The paper beside ours\n";
    out += &markdown(&lines);
    out += "\n## The positions study\n\n";
    out += &study_section(reported, study);
    let sweep_runs: Vec<TrainReport> = sweeps[0].reports.iter().map(|r| r.run.clone()).collect();
    out += &same_config_section(&sweep_runs, study);
    out
}

/// Beyond the paper: every cheap score against C (`docs/scores.md`), on every seed of each
/// sweep; in full under mean ablation, ρ alone under the other readings.
fn leaderboard_section(inputs: &Inputs) -> String {
    let mut out = String::from(
        "\n## Beyond the paper: which cheap score ranks components the way ablation does?\n\n",
    );
    out += "Every score of `docs/scores.md` ranked against C exactly as the paper ranks G, on \
            every analysed seed of each sweep whose report holds the scores: Spearman ρ (mean \
            [95% bootstrap interval]), the seeds on which the score's top two components are \
            C's top two [95% Wilson interval], and the accuracy after pruning the k components \
            the score ranks least important, beside pruning by C's own order. Under mean \
            ablation (one vector) in full; ρ under every C reading after.\n";
    for sweep in inputs.sweeps {
        let positions = sweep.positions;
        for (task, boards) in leaderboards(sweep.reports) {
            let board = &boards[&Ablation::Mean];
            out += &format!("\n### {task}, positions = {positions}\n\n");
            let Some(answer) = board.answer() else {
                out += "No analysed seed holds the scores yet (its reports predate them).\n";
                continue;
            };
            out += &format!("{answer}\n\n{}", board.markdown());
            if !board.without_scores.is_empty() {
                out += &format!(
                    "\nLeft out (analysed before the scores existed): seeds {:?}.\n",
                    board.without_scores
                );
            }
            out += "\nρ against C under each reading:\n\n| score |";
            for a in boards.keys() {
                out += &format!(" {a} |");
            }
            out += &format!("\n|---|{}\n", "---|".repeat(boards.len()));
            for score in Score::ALL {
                out += &format!("| {} |", score.label());
                for board in boards.values() {
                    let m = board.row(score).map(|r| r.spearman);
                    out += &match m.and_then(|m| m.mean.map(|x| (x, m.interval))) {
                        Some((x, interval)) => {
                            format!(" {x:.2}{} |", interval_text(interval, 1.0, 2))
                        }
                        None => " — |".into(),
                    };
                }
                out += "\n";
            }
        }
    }
    out
}

/// The published pipeline run as its author ran it, beside the workshop paper's tables.
fn published_section(reported: &Reported, (dir, reports): (&str, &[SeedReport])) -> String {
    let mut out = format!(
        "\n## The published pipeline (protocol `published`)\n\nThe seed paper's predecessor, \
         {WORKSHOP_CITATION}, published its pipeline; protocol `published` makes every choice \
         it makes (METHOD §11, `docs/published-pipeline.md`). Its per-seed tables are in \
         `assets/paper/reported-workshop.json`; ours are the reports in `{dir}`. The workshop's \
         numbers are shown only as its own. A seed number fixes our random streams, not \
         PyTorch's: per-seed rows compare one draw with another, and only the spread across \
         seeds is comparable.\n\n"
    );
    if reports.is_empty() {
        out += "No run of this sweep is shipped yet.\n";
        return out;
    }
    let workshop = Workshop::shipped();
    let analysed = |task: Task| {
        let of_task = reports.iter().filter(|r| r.run.task == task);
        let total = of_task.clone().count();
        let analysed = of_task.filter(|r| r.analysis.is_some()).count();
        format!("{task} {analysed} of {total}")
    };
    out += &format!(
        "Seeds analysed of seeds run: {}.\n\n",
        Task::ALL.map(analysed).join(", ")
    );
    out += &table1(&workshop, reported, reports).markdown();
    for task in Task::ALL {
        out += "\n";
        out += &per_seed_table(&workshop, task, reports).markdown();
    }
    out += "\n";
    out += &role_table(&workshop, reports).markdown();
    out += "\nWhich of the pipeline's analysis choices moves the numbers, switched one at a time on \
            the same models (`gradcause compare`; the training choices need sweeps of their own):\n\n";
    out += &switch_table(reports).markdown();
    out
}

/// Which choice makes each finding: per claim its sentence, then the table and ρ per column.
fn decomposition_section((dir, d): (&str, &Decomposition)) -> String {
    let mut out = String::from(
        "\n## Which choice makes each finding\n\nEach claim judged under protocol `published`, \
         under METHOD's default, and under each with one choice switched to the other \
         protocol's, on every seed each sweep holds (the paper's ten and 1–10), by the rules \
         above. The analysis switches read the same models; each training switch has a sweep of \
         its own (",
    );
    out += &format!(
        "`{dir}/SCHEME/TASK`, SCHEME as `scripts/parallel-runs` names it; \
         `docs/published-pipeline.md` says how to rerun one). The sentences are computed from \
         the table, never written by hand. A switch turns a claim when its verdict differs from \
         its protocol's and its effect's interval excludes 0 (METHOD §9.2); a verdict change \
         whose effect's interval includes 0 is within noise. The forest plot of \
         the effects: `docs/forest.svg`.\n\n"
    );
    if let Some(everywhere) = d.unmeasured_everywhere() {
        out += &format!("{everywhere}\n\n");
    }
    for ((claim, line), detail) in d.claims.iter().zip(d.why_lines()).zip(d.why_details()) {
        out += &format!("- `{}` ({}): {line}", claim.key, claim.claim);
        if !detail.is_empty() {
            out += &format!(" {detail}");
        }
        out += "\n";
    }
    let (replicated, halves, effects) = d.agreement();
    out += &format!(
        "\n### Split halves\n\nEach effect computed again on the paper's ten seeds and on \
         seeds 1–10 apart: {replicated} of the {halves} claim × switch effects measured on both \
         halves have the same sign on both ({effects} effects in all; the others lack a half).\n\n"
    );
    out += &d.effects_table().markdown();
    out += "\n";
    out += &d.table().markdown();
    out += "\n";
    out += &d.rho_table().markdown();
    out
}

/// ρ per task under each reading pair on the paper's seeds, and on every seed of the sweep.
fn headline_section(inputs: &Inputs, summarised: &Summarised) -> String {
    let paper: Vec<String> = inputs
        .reported
        .table1_rho_mean_std
        .iter()
        .map(|(task, t)| {
            format!(
                "{task} {:.2} ± {:.2} (mean ablation), {:.2} ± {:.2} (zero)",
                t.mean_ablation[0], t.mean_ablation[1], t.zero_ablation[0], t.zero_ablation[1]
            )
        })
        .collect();
    let mut out = format!(
        "\n## ρ under every reading\n\nSpearman ρ of G against C, mean over the analysed seeds \
         [95% bootstrap interval] (seeds analysed of seeds run; — where the reports predate \
         the reading). The paper (Table 1): {}.\n\n\
         | positions | seeds | G | task | {} |\n|---|---|---|---|{}\n",
        paper.join("; "),
        Ablation::ALL.map(|a| a.name()).join(" | "),
        "---|".repeat(Ablation::ALL.len())
    );
    // Each sweep on the paper's seeds; the default one on every seed too.
    let mut sets = Vec::new();
    for (i, (sweep, (positions, s))) in inputs.sweeps.iter().zip(&summarised.0).enumerate() {
        sets.push((
            *positions,
            "the paper's ten",
            s.paper_seeds.is_empty(),
            &s.paper,
        ));
        if i == 0 {
            sets.push((*positions, "all", sweep.reports.is_empty(), &s.all));
        }
    }
    for (positions, which, no_runs, per_g) in sets {
        if no_runs {
            out += &format!("| {positions} | {which} | — | — | no runs | | | |\n");
            continue;
        }
        for g in GWeights::ALL {
            for (task, s) in &per_g[&g] {
                let cells: Vec<String> = Ablation::ALL
                    .iter()
                    .map(|a| {
                        let m = s.table1.of(*a);
                        format!(
                            "{}{}",
                            m.mean.map_or("—".into(), |x| format!("{x:.2}")),
                            interval_text(m.interval, 1.0, 2)
                        )
                    })
                    .collect();
                out += &format!(
                    "| {positions} | {which} ({} of {}) | {g} | {task} | {} |\n",
                    s.analysed(),
                    s.seeds.len(),
                    cells.join(" | ")
                );
            }
        }
    }
    out
}

/// Every claim under every reading: one column per [`Reading::all`] on the paper's seeds of
/// its position scheme's sweep (but the readings its reports predate), then the default reading on every seed of the default sweep;
/// each column a label and the claims in [`claims`]' order.
pub fn robustness(inputs: &Inputs) -> Vec<(String, Vec<Claim>)> {
    robustness_columns(inputs.reported, &Summarised::new(inputs))
}

/// [`robustness`] from the sweeps' summaries.
fn robustness_columns(reported: &Reported, summarised: &Summarised) -> Vec<(String, Vec<Claim>)> {
    let schemes: Vec<Positions> = summarised.0.iter().map(|(p, _)| *p).collect();
    // A reading the sweep's reports predate (summarised for no task, or without its C) has no
    // column.
    let made = |reading: &Reading| {
        let summaries = summarised.under(reading.positions);
        let with_c = summaries.paper[&reading.g]
            .values()
            .any(|s| s.ablations().contains(&reading.c));
        summaries.paper_seeds.is_empty() || with_c
    };
    let mut columns: Vec<(String, Vec<Claim>)> = Reading::all(&schemes)
        .iter()
        .filter(|reading| made(reading))
        .map(|reading| {
            let summaries = &summarised.under(reading.positions).paper[&reading.g];
            (reading.label(), claims(reported, summaries, reading.c))
        })
        .collect();
    let default = Reading::DEFAULT;
    columns.push((
        format!("{} · all seeds", default.label()),
        claims(reported, &summarised.default().all[&default.g], default.c),
    ));
    columns
}

/// The robustness table as Markdown.
fn robustness_section(columns: &[(String, Vec<Claim>)]) -> String {
    let mut out = String::from(
        "\n## Robustness: every claim under every reading\n\n\
         One row per claim, one column per reading (positions · G · C, METHOD §2, §5, §6) on the \
         paper's ten seeds, and a last column on every seed of the default sweep. A cell is the \
         verdict and the number behind it; the rules are those above. A reading whose sweep has \
         no runs is *inconclusive* throughout.\n\n| claim |",
    );
    for (label, _) in columns {
        out += &format!(" {label} |");
    }
    out += "\n|---|";
    out += &"---|".repeat(columns.len());
    out += "\n";
    let rows = columns.first().map_or(0, |(_, c)| c.len());
    for row in 0..rows {
        out += &format!("| {} |", columns[0].1[row].key);
        for (_, claims) in columns {
            let claim = &claims[row];
            out += &format!(" **{}**: {} |", claim.verdict.word(), claim.headline);
        }
        out += "\n";
    }
    let tally: Vec<String> = columns[0]
        .1
        .iter()
        .enumerate()
        .map(|(row, claim)| {
            let holds = columns
                .iter()
                .filter(|(_, c)| c[row].verdict == Holds::Holds)
                .count();
            let fails = columns
                .iter()
                .filter(|(_, c)| c[row].verdict == Holds::DoesNotHold)
                .count();
            format!(
                "`{}` holds under {holds} of {} readings and does not hold under {fails}",
                claim.key,
                columns.len()
            )
        })
        .collect();
    out += &format!("\nIn short: {}.\n", tally.join("; "));
    out
}

/// The same models under the old default (G on W_V and W_O / W_in and W_out, mean ablation per
/// position) and the new one.
fn revision_section(sweep: &Summaries) -> String {
    let mut out = String::from(
        "\n## What the revised contract changed\n\n\
         The same models (the default sweep's paper seeds), under the contract before METHOD \
         revision 2026-12-02 (G on a head's W_V and W_O together and an MLP's W_in and W_out; \
         mean ablation by the mean at each position; Figure 4 divided by √N) and under the \
         revised one (G on W_V and W_out; one mean vector; raw norms).\n\n\
         | task | ρ, old reading (wvo-inout, mean-pos) | ρ, new reading (wv-wout, mean) | \
         ρ, G changed only (wv-wout, mean-pos) | ρ, mean changed only (wvo-inout, mean) | \
         Figure 4, old (÷√N) | Figure 4, new (raw) |\n|---|---|---|---|---|---|---|\n",
    );
    let rho = |s: &Summary, a: Ablation| {
        let m = s.table1.of(a);
        format!(
            "{}{}",
            m.mean.map_or("—".into(), |x| format!("{x:.2}")),
            interval_text(m.interval, 1.0, 2)
        )
    };
    let norms = |values: &[MeanStd]| {
        values
            .iter()
            .map(|m| m.mean.map_or("—".into(), |x| format!("{x:.3}")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (old, new) = (
        &sweep.paper[&GWeights::WvoInout],
        &sweep.paper[&GWeights::WvWout],
    );
    for (task, o) in old {
        let Some(n) = new.get(task).filter(|s| s.analysed() > 0) else {
            continue;
        };
        out += &format!(
            "| {task} | {} | {} | {} | {} | {} | {} |\n",
            rho(o, Ablation::MeanPos),
            rho(n, Ablation::Mean),
            rho(n, Ablation::MeanPos),
            rho(o, Ablation::Mean),
            norms(&n.figure4.normalised),
            norms(&n.figure4.raw)
        );
    }
    out
}

/// Runs present in both the sweep and the study under the same config: identical on one machine,
/// so any difference shows how much a run depends on where it ran.
fn same_config_section(sweep_runs: &[TrainReport], study: &[TrainReport]) -> String {
    let mut pairs: Vec<(&TrainReport, &TrainReport)> = sweep_runs
        .iter()
        .filter_map(|a| study.iter().find(|b| b.config == a.config).map(|b| (a, b)))
        .collect();
    pairs.sort_by_key(|(a, _)| (a.task, a.seed));
    if pairs.is_empty() {
        return String::new();
    }
    let differ = pairs
        .iter()
        .filter(|(a, b)| a.ood_accuracy != b.ood_accuracy)
        .count();
    let mut out = format!(
        "\n### Same config, two trainings\n\n{} runs are in both the sweep and the study with the \
         same config; {differ} of them differ. On one machine and one build a run is \
         reproducible to the bit, so each difference is the same seed trained under other \
         rounding: the sweep was made with the fused CPU kernels (commit bf34d78 and later), \
         which round differently from Burn's composed operations, and the study before them, \
         part of it on another CPU (the README says which reports were made where and \
         how).\n\n| task | scheme | seed | sweep: steps, OOD n=8..11 | \
         study: steps, OOD n=8..11 |\n|---|---|---|---|---|\n",
        pairs.len()
    );
    let figures = |r: &TrainReport| {
        let steps = r.train.as_ref().map_or("—".into(), |t| t.steps.to_string());
        let ood: Vec<String> = r
            .ood_accuracy
            .values()
            .map(|a| format!("{:.1}", 100.0 * a))
            .collect();
        let window = if r.analysis_length.is_some() {
            "in"
        } else {
            "out"
        };
        format!("{steps}: {}% ({window})", ood.join(" / "))
    };
    for (a, b) in pairs {
        out += &format!(
            "| {} | {} | {} | {} | {} |\n",
            a.task,
            a.config.model.positions,
            a.seed,
            figures(a),
            figures(b)
        );
    }
    out
}

fn seeds_paragraph(summaries: &BTreeMap<Task, Summary>) -> String {
    let mut out = String::new();
    for (task, s) in summaries {
        out += &format!(
            "- {task}: {} of {} seeds analysed",
            s.analysed(),
            s.seeds.len()
        );
        if s.skipped.is_empty() {
            out += ".\n";
        } else {
            let mut skipped: Vec<u64> = s.skipped.iter().map(|k| k.seed).collect();
            skipped.sort_unstable();
            let skipped: Vec<String> = skipped.iter().map(u64::to_string).collect();
            out += &format!(
                "; skipped (no OOD length in the window): {}.\n",
                skipped.join(", ")
            );
        }
    }
    out
}

fn study_section(reported: &Reported, study: &[TrainReport]) -> String {
    let mut out = String::from(
        "Every seed of both tasks trained under each position scheme (METHOD §2) with the \
         paper's stop rule and window, OOD accuracy only (`gradcause positions`, reports in \
         `assets/positions/`). In the window: a length with base accuracy in [20%, 75%].\n\n",
    );
    let counts = window_counts(study);
    out += "| task | scheme | in the window | paper |\n|---|---|---|---|\n";
    for ((task, positions), count) in &counts {
        let paper = match task {
            Task::Reverse => reported.seeds_in_window.reverse,
            Task::Sort => reported.seeds_in_window.sort,
        };
        out += &format!(
            "| {task} | {positions} | {} of {} | {paper} of {} |\n",
            count.in_window,
            count.runs,
            reported.seeds.len()
        );
    }
    let lengths: Vec<usize> = study
        .first()
        .map(|r| r.config.eval.ood_lengths.clone())
        .unwrap_or_default();
    out += "\n| task | scheme | seed | steps | ";
    for n in &lengths {
        out += &format!("n={n} | ");
    }
    out += "in the window |\n|---|---|---|---|";
    out += &"---|".repeat(lengths.len() + 1);
    out += "\n";
    let mut rows: Vec<&TrainReport> = study.iter().collect();
    // Positions order as METHOD lists the schemes, the default first.
    rows.sort_by_key(|r| (r.task, r.config.model.positions, r.seed));
    for r in rows {
        let steps = r.train.as_ref().map_or("—".into(), |t| {
            format!("{} ({})", t.steps, t.stop_reason.name())
        });
        out += &format!(
            "| {} | {} | {} | {steps} | ",
            r.task, r.config.model.positions, r.seed
        );
        for n in &lengths {
            out += &r
                .ood_accuracy
                .get(n)
                .map_or("— | ".into(), |a| format!("{:.1}% | ", 100.0 * a));
        }
        out += match r.analysis_length {
            Some(n) => format!("yes (n={n}) |\n"),
            None => "no |\n".into(),
        }
        .as_str();
    }
    out
}
