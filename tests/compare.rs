//! The paper beside ours: every entry of reported.json gets a line, verdicts follow the stated
//! spreads, and REPRODUCTION.md is what `gradcause reproduction` makes of the shipped results.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use burn::prelude::Device;
use common::tiny_config;
use gradcause::engine::backend::Backend;
use gradcause::experiment::report::{SeedReport, train_and_evaluate};
use gradcause::report::reproduction::{Holds, Inputs, MIN_SEEDS, Sweep, claims, robustness};
use gradcause::report::switches::decomposition::Decomposition;

use gradcause::analysis::ablation::Ablation;
use gradcause::analysis::attribution::GWeights;
use gradcause::analysis::stats::{Estimate, MeanStd};
use gradcause::engine::model::Positions;
use gradcause::engine::task::Task;
use gradcause::report::compare::{Verdict, compare};
use gradcause::report::paper::{REPORTED_JSON, Reported};
use gradcause::report::summary::{
    LayerCount, PaperSeedSummary, SeedRoles, SkippedSeed, Summary, SweepSummary, Table3Row,
    Table4Row,
};

/// Every leaf of a JSON value as a dotted path (array elements by index).
fn leaves(value: &serde_json::Value, path: String, out: &mut Vec<String>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                leaves(v, join(key), out);
            }
        }
        serde_json::Value::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                leaves(v, join(&i.to_string()), out);
            }
        }
        _ => out.push(path),
    }
}

/// Whether `key` is `leaf` or one of its ancestors.
fn covers(key: &str, leaf: &str) -> bool {
    leaf == key || leaf.starts_with(&format!("{key}."))
}

/// A summary of `task` with `n` analysed seeds and the given mean-ablation ρ per seed.
fn summary_with(task: Task, seeds: &[(u64, Option<f64>)], skipped: &[u64]) -> Summary {
    let mut s = Summary::new(task, &[], GWeights::WvWout);
    s.table3.rows = seeds
        .iter()
        .map(|&(seed, rho)| Table3Row {
            seed,
            analysis_length: 8,
            base_accuracy: 0.5,
            spearman: Ablation::ALL.iter().map(|&a| (a, rho)).collect(),
            attribution_patching: Ablation::MEANS.iter().map(|&a| (a, rho)).collect(),
            grad_ranks: Vec::new(),
            causal_ranks: BTreeMap::new(),
        })
        .collect();
    s.skipped = skipped
        .iter()
        .map(|&seed| SkippedSeed {
            seed,
            reason: "no OOD length in the window".into(),
        })
        .collect();
    s.seeds = seeds.iter().map(|s| s.0).chain(skipped.to_vec()).collect();
    s
}

fn line<'a>(
    lines: &'a [gradcause::report::compare::Line],
    key: &str,
) -> &'a gradcause::report::compare::Line {
    lines
        .iter()
        .find(|l| l.key == key)
        .unwrap_or_else(|| panic!("no line {key}"))
}

#[test]
fn every_reported_entry_gets_a_line_with_or_without_results() {
    let reported = Reported::shipped();
    let json: serde_json::Value = serde_json::from_str(REPORTED_JSON).unwrap();
    let mut all = Vec::new();
    leaves(&json, String::new(), &mut all);
    // The source, the seed list and Table 5's denominator are context, shown in other lines.
    let context = ["source", "seeds", "component_identity_sort.out_of"];
    let with_results = BTreeMap::from([(
        Task::Sort,
        summary_with(Task::Sort, &[(42, Some(0.5)), (123, Some(0.1))], &[456]),
    )]);
    for summaries in [BTreeMap::new(), with_results] {
        let lines = compare(&reported, &summaries, Ablation::Mean);
        for leaf in all.iter().filter(|l| !context.iter().any(|c| covers(c, l))) {
            assert!(
                lines.iter().any(|line| covers(&line.key, leaf)),
                "reported.json entry {leaf} has no line"
            );
        }
        // And no line points at something reported.json does not have.
        for line in &lines {
            assert!(
                all.iter().any(|leaf| covers(&line.key, leaf)),
                "line {} names no entry",
                line.key
            );
        }
    }
}

#[test]
fn reported_json_refuses_unknown_entries() {
    let mut json: serde_json::Value = serde_json::from_str(REPORTED_JSON).unwrap();
    json["table9_new_numbers"] = serde_json::json!([1, 2]);
    let error = serde_json::from_value::<Reported>(json).unwrap_err();
    assert!(error.to_string().contains("table9_new_numbers"), "{error}");
}

#[test]
fn verdicts_follow_the_papers_spread() {
    let reported = Reported::shipped();
    // Reversal Table 1: 0.72 ± 0.08. Sorting: 0.27 ± 0.24.
    let nine = [42, 123, 456, 789, 1010, 2020, 3030, 5050, 6060].map(|seed| (seed, Some(0.7)));
    let mut reverse = summary_with(Task::Reverse, &nine, &[4040]);
    reverse
        .table1
        .rho
        .insert(Ablation::Mean, MeanStd::of([Some(0.65), Some(0.66)]));
    let mut sort = summary_with(Task::Sort, &[(456, Some(0.6)), (2020, Some(-0.2))], &[4040]);
    sort.table1
        .rho
        .insert(Ablation::Mean, MeanStd::of([Some(0.55), Some(0.60)]));
    let summaries = BTreeMap::from([(Task::Reverse, reverse), (Task::Sort, sort)]);
    let lines = compare(&reported, &summaries, Ablation::Mean);

    let rev = line(&lines, "table1_rho_mean_std.reverse.mean_ablation");
    assert!(matches!(rev.verdict(), Verdict::Within(_)), "{rev:?}");
    assert_eq!((rev.paper.as_str(), rev.seeds), ("0.72 ± 0.08", 2));
    assert_eq!(rev.ours, "0.66 ± 0.01 [0.65, 0.66]");
    let sort = line(&lines, "table1_rho_mean_std.sort.mean_ablation");
    assert!(matches!(sort.verdict(), Verdict::Differs(_)), "{sort:?}");
    // No zero-ablation ρ in the summaries' Table 1: the mean of nothing.
    let zero = line(&lines, "table1_rho_mean_std.sort.zero_ablation");
    assert!(
        matches!(zero.verdict(), Verdict::Unavailable(_)),
        "{zero:?}"
    );

    // Per seed: sort 2020 is -0.18 ± 0.24 in the paper; ours -0.2.
    let s2020 = line(&lines, "table3_rho_mean_ablation_per_seed.sort.2020");
    assert!(matches!(s2020.verdict(), Verdict::Within(_)), "{s2020:?}");
    // Sort 456: paper 0.00; ours 0.6 is outside ±0.24.
    let s456 = line(&lines, "table3_rho_mean_ablation_per_seed.sort.456");
    assert!(matches!(s456.verdict(), Verdict::Differs(_)), "{s456:?}");
    // Sort 4040: ours skipped; reversal 4040: both skipped; sort 789: ours not run.
    let s4040 = line(&lines, "table3_rho_mean_ablation_per_seed.sort.4040");
    assert_eq!(
        s4040.verdict(),
        Verdict::Unavailable("our seed 4040 is skipped".into())
    );
    let r4040 = line(&lines, "table3_rho_mean_ablation_per_seed.reverse.4040");
    assert_eq!(r4040.paper, "skipped");
    assert_eq!(r4040.verdict(), Verdict::Within("both skipped".into()));
    let s789 = line(&lines, "table3_rho_mean_ablation_per_seed.sort.789");
    assert_eq!(
        s789.verdict(),
        Verdict::Unavailable("our seed 789 was not run".into())
    );

    // Seeds in the window: reversal 9 of 10 against 9 of 10 is within one seed of ten; sorting
    // 2 of 3 against 10 of 10 is not. The skipped seeds agree for reversal.
    let window = line(&lines, "seeds_in_window.reverse");
    assert!(matches!(window.verdict(), Verdict::Within(_)), "{window:?}");
    let skipped = line(&lines, "seeds_in_window.skipped.reverse");
    assert_eq!(
        (skipped.paper.as_str(), skipped.ours.as_str()),
        ("4040", "4040")
    );
    assert!(
        matches!(skipped.verdict(), Verdict::Within(_)),
        "{skipped:?}"
    );
    let window = line(&lines, "seeds_in_window.sort");
    assert_eq!(window.ours, "2 of 3");
    assert!(
        matches!(window.verdict(), Verdict::Differs(_)),
        "{window:?}"
    );

    // The activation-patching ρ (-0.445, no seed named) against our range -0.2..0.6.
    let patching = line(
        &lines,
        "text_activation_patching_rho_best_characterized_seed",
    );
    assert!(
        matches!(patching.verdict(), Verdict::Differs(_)),
        "{patching:?}"
    );
}

#[test]
fn counts_are_scaled_to_the_papers_seeds_and_figure5_needs_all_four_heads() {
    let reported = Reported::shipped();
    let mut sort = summary_with(
        Task::Sort,
        &[(42, Some(0.1)), (123, Some(0.1)), (2020, Some(0.1))],
        &[],
    );
    // Figure 5: the paper's Heroes L3_H0, L3_H1 and Bloats L1_H0, L1_H1 for seed 2020.
    let heads = |names: &[&str]| -> Vec<gradcause::engine::component::Component> {
        names.iter().map(|n| n.parse().unwrap()).collect()
    };
    sort.roles.seeds = vec![SeedRoles {
        seed: 2020,
        heroes: BTreeMap::from([(Ablation::Mean, heads(&["L3_H0", "L3_H1", "L2_MLP"]))]),
        bloats: BTreeMap::from([(Ablation::Mean, heads(&["L1_H0", "L1_H1"]))]),
    }];
    let summaries = BTreeMap::from([(Task::Sort, sort.clone())]);
    let lines = compare(&reported, &summaries, Ablation::Mean);
    let figure5 = line(&lines, "figure5_sort_seed2020_n10");
    assert!(
        matches!(figure5.verdict(), Verdict::Within(_)),
        "{figure5:?}"
    );
    assert!(figure5.ours.contains("n = 8"), "{}", figure5.ours);

    sort.roles.seeds[0].bloats = BTreeMap::from([(Ablation::Mean, heads(&["L1_H0"]))]);
    let lines = compare(
        &reported,
        &BTreeMap::from([(Task::Sort, sort)]),
        Ablation::Mean,
    );
    let figure5 = line(&lines, "figure5_sort_seed2020_n10");
    assert_eq!(
        figure5.verdict(),
        Verdict::Differs("the paper's 4 heads in the same class; ours 3".into())
    );
    // No roles per component were computed for these hand-made rows: identity is unavailable
    // rather than zero.
    let identity = line(&lines, "component_identity_sort.L3_H3_hero_seeds");
    assert!(
        matches!(identity.verdict(), Verdict::Unavailable(_)),
        "{identity:?}"
    );
}

/// A mean and sd over `n` seeds, set by hand.
fn mean_sd(mean: f64, sd: Option<f64>, n: usize) -> MeanStd {
    MeanStd {
        mean: Some(mean),
        std: sd,
        interval: None,
        n,
    }
}

/// A ratio over `n` seeds, set by hand.
fn ratio(value: f64, n: usize) -> Estimate {
    Estimate {
        value: Some(value),
        interval: None,
        n,
    }
}

/// The verdict word of the line `key` when `set` has changed the summaries.
fn verdict_with(
    summaries: &BTreeMap<Task, Summary>,
    key: &str,
    set: impl Fn(&mut BTreeMap<Task, Summary>),
) -> &'static str {
    let mut changed = summaries.clone();
    set(&mut changed);
    let lines = compare(&Reported::shipped(), &changed, Ablation::Mean);
    line(&lines, key).verdict().word()
}

/// Asserts the verdict word of the line `key` for each `(value, word)` of `cases`, `set` putting
/// the value into the summaries.
fn verdicts_at(
    summaries: &BTreeMap<Task, Summary>,
    key: &str,
    cases: &[(f64, &str)],
    set: impl Fn(&mut BTreeMap<Task, Summary>, f64),
) {
    for &(value, word) in cases {
        let got = verdict_with(summaries, key, |s| set(s, value));
        assert_eq!(got, word, "{key} at {value}");
    }
}

#[test]
fn every_verdict_rule_decides_exactly_on_its_edges() {
    let ten = [42, 123, 456, 789, 1010, 2020, 3030, 4040, 5050, 6060].map(|s| (s, Some(0.5)));
    let five = &ten[..5];
    let summaries = BTreeMap::from([
        (Task::Reverse, summary_with(Task::Reverse, five, &[])),
        (Task::Sort, summary_with(Task::Sort, &ten, &[])),
    ]);
    let m = Ablation::Mean;
    fn rev(s: &mut BTreeMap<Task, Summary>) -> &mut Summary {
        s.get_mut(&Task::Reverse).unwrap()
    }
    fn sort(s: &mut BTreeMap<Task, Summary>) -> &mut Summary {
        s.get_mut(&Task::Sort).unwrap()
    }

    // A mean against the paper's mean ± sd: reversal's Table 1 is 0.72 ± 0.08.
    let key = "table1_rho_mean_std.reverse.mean_ablation";
    verdicts_at(
        &summaries,
        key,
        &[
            (0.64, "within"),
            (0.80, "within"),
            (0.639, "differs"),
            (0.801, "differs"),
        ],
        |s, ours| {
            rev(s).table1.rho.insert(m, mean_sd(ours, Some(0.1), 5));
        },
    );

    // Pruning in points against the paper's sd: reversal Heroes −36.4 ± 22.8.
    let key = "pruning_top_two_accuracy_change_percent_mean_std.reverse.heroes";
    verdicts_at(
        &summaries,
        key,
        &[
            (-0.136, "within"),
            (-0.592, "within"),
            (-0.135, "differs"),
            (-0.593, "differs"),
        ],
        |s, ours| {
            rev(s).pruning.get_mut(&m).unwrap().heroes = mean_sd(ours, Some(0.1), 5);
        },
    );

    // A ratio without a spread: within a factor of two either way (Hero/Bloat damage 3.6×,
    // Table 4's superadditivity 14.1×).
    let key = "pruning_top_two_accuracy_change_percent_mean_std.reverse.hero_to_bloat_damage";
    verdicts_at(
        &summaries,
        key,
        &[
            (7.2, "within"),
            (1.8, "within"),
            (7.21, "differs"),
            (1.79, "differs"),
        ],
        |s, ours| {
            rev(s).pruning.get_mut(&m).unwrap().hero_to_bloat = ratio(ours, 5);
        },
    );
    let key = "table4_sort_bloat_superadditivity_percent.ratio";
    verdicts_at(
        &summaries,
        key,
        &[
            (28.2, "within"),
            (7.05, "within"),
            (28.3, "differs"),
            (7.0, "differs"),
        ],
        |s, ours| {
            sort(s).table4.get_mut(&m).unwrap().ratio = ratio(ours, 10);
        },
    );

    // Table 4 per seed: against the sd of the paper's ten seeds' column (joint drops: 22.39
    // points, with n − 1); seed 42's joint drop is 14.0.
    let key = "table4_sort_bloat_superadditivity_percent.per_seed.42.joint_drop";
    verdicts_at(
        &summaries,
        key,
        &[(0.36, "within"), (0.0, "within"), (0.37, "differs")],
        |s, ours| {
            sort(s).table4.get_mut(&m).unwrap().rows = vec![Table4Row {
                seed: 42,
                base_accuracy: 0.8,
                individual_drop: Some(0.05),
                joint_drop: Some(ours),
                individual_sum: Some(0.1),
                additive_ratio: Some(ours / 0.1),
            }];
        },
    );

    // Counts over seeds: ours scaled to the paper's ten, within ±max(2, √paper). Table 5 at t = 4,
    // layer 1 Heroes: the paper's 1 (spread 2); layer 3 Heroes: 21 (spread √21 = 4.58).
    let key = "table5_sort_heads_only_counts_summed_over_seeds.t4.heroes.1";
    let counts = |layer1: usize, layer3: usize| {
        move |s: &mut BTreeMap<Task, Summary>| {
            let rows = (0..4)
                .map(|layer| LayerCount {
                    layer,
                    heroes: [0, layer1, 0, layer3][layer],
                    bloats: 0,
                })
                .collect();
            sort(s).table5.counts.entry(m).or_default().insert(4, rows);
        }
    };
    for (ours, word) in [(3, "within"), (0, "within"), (4, "differs")] {
        assert_eq!(
            verdict_with(&summaries, key, counts(ours, 0)),
            word,
            "{key} at {ours}"
        );
    }
    // Over five reversal seeds nothing is counted for Table 5, so scale with sorting: on five of
    // its seeds, 10 Heroes count as 20 of ten seeds (within 21 ± 4.58), 8 as 16 (not).
    let key = "table5_sort_heads_only_counts_summed_over_seeds.t4.heroes.3";
    let on_five = |layer3: usize| {
        let counts = counts(0, layer3);
        move |s: &mut BTreeMap<Task, Summary>| {
            sort(s).table3.rows.truncate(5);
            counts(s);
        }
    };
    assert_eq!(verdict_with(&summaries, key, on_five(10)), "within");
    assert_eq!(verdict_with(&summaries, key, on_five(8)), "differs");
    assert_eq!(
        verdict_with(&summaries, key, counts(0, 10)),
        "differs",
        "10 of 10 seeds"
    );

    // Figure 4, sorting: against our seeds' sd; one seed (no sd) is not compared. Layer 0 is
    // 0.139 in the paper.
    let key = "figure4_sort_layer_wv_grad_norm.0";
    let layers = |values: [f64; 4], sd: Option<f64>| {
        move |s: &mut BTreeMap<Task, Summary>| {
            sort(s).figure4.raw = values.iter().map(|&v| mean_sd(v, sd, 10)).collect();
        }
    };
    let paper = [0.139, 0.172, 0.093, 0.052];
    for (layer0, word) in [(0.149, "within"), (0.129, "within"), (0.1495, "differs")] {
        let values = [layer0, paper[1], paper[2], paper[3]];
        assert_eq!(
            verdict_with(&summaries, key, layers(values, Some(0.01))),
            word,
            "{layer0}"
        );
    }
    assert_eq!(verdict_with(&summaries, key, layers(paper, None)), "n/a");

    // Figure 4, reversal, in words: decreasing from layer 1 on (ties allowed) and above sorting at
    // every layer.
    let key = "figure4_reverse_layer_wv_grad_norm";
    let both = |reverse: [f64; 4]| {
        let sorting = layers(paper, Some(0.01));
        move |s: &mut BTreeMap<Task, Summary>| {
            sorting(s);
            rev(s).figure4.raw = reverse.iter().map(|&v| mean_sd(v, Some(0.01), 5)).collect();
        }
    };
    assert_eq!(
        verdict_with(&summaries, key, both([0.2, 0.3, 0.3, 0.1])),
        "within"
    );
    assert_eq!(
        verdict_with(&summaries, key, both([0.2, 0.3, 0.31, 0.1])),
        "differs"
    );
    assert_eq!(
        verdict_with(&summaries, key, both([0.2, 0.3, 0.2, 0.052])),
        "differs"
    );
}

#[test]
fn compare_reads_the_shipped_sweep_and_reproduction_md_is_up_to_date() {
    let root = env!("CARGO_MANIFEST_DIR");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_gradcause"))
            .args(args)
            .current_dir(root)
            .output()
            .expect("gradcause runs")
    };
    let compared = run(&["compare", "assets/sweep"]);
    assert!(
        compared.status.success(),
        "{}",
        String::from_utf8_lossy(&compared.stderr)
    );
    let stdout = String::from_utf8_lossy(&compared.stdout);
    for section in [
        "Table 1", "Table 3", "Table 4", "Table 5", "Figure 4", "Figure 5",
    ] {
        assert!(stdout.contains(section), "no {section} in:\n{stdout}");
    }
    // Under protocol published, the decomposition: each claim's sentence, as the page gets it.
    let published = run(&["compare", "assets/sweep-published"]);
    let stdout = String::from_utf8_lossy(&published.stdout);
    assert!(published.status.success());
    let shipped: Decomposition = serde_json::from_str(
        &std::fs::read_to_string(std::path::Path::new(root).join("assets/decomposition.json"))
            .unwrap(),
    )
    .unwrap();
    for (claim, line) in shipped.claims.iter().zip(shipped.why_lines()) {
        let printed = format!("  {}: {line}", claim.key);
        assert!(stdout.contains(&printed), "no `{printed}` in:\n{stdout}");
    }
    let check = run(&["reproduction", "--check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let missing = run(&["compare", "tests"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no per-seed reports"));
}

/// The page's first screen loads each shipped sweep's `paper-summary.json` instead of its
/// `summary.json`: it must be exactly that summary's part over the paper's seeds, made by the same
/// `gradcause sweep` (a stale copy would show numbers the tables below it contradict).
#[test]
fn each_shipped_paper_seeds_file_is_its_summarys_part_over_the_paper_seeds() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for scheme in ["sweep", "sweep-none"] {
        for task in ["reverse", "sort"] {
            let dir = root.join("assets").join(scheme).join(task);
            let read = |name: &str| {
                std::fs::read_to_string(dir.join(name))
                    .unwrap_or_else(|e| panic!("{}/{name}: {e}", dir.display()))
            };
            let summary: SweepSummary = serde_json::from_str(&read("summary.json")).unwrap();
            let first_screen: PaperSeedSummary =
                serde_json::from_str(&read("paper-summary.json")).unwrap();
            assert_eq!(
                first_screen,
                PaperSeedSummary::from(&summary),
                "{}",
                dir.display()
            );
            assert!(
                first_screen
                    .paper_seeds
                    .contains_key(&task.parse().unwrap())
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 4);
}

/// `--out` at something other than a regular file (here a link; `/dev/null` alike) is written
/// through, not replaced by a file: renaming a temporary file over `/dev/null` once turned the
/// machine's `/dev/null` into a regular file.
#[cfg(unix)]
#[test]
fn out_writes_through_links_and_devices_instead_of_replacing_them() {
    let dir = std::env::temp_dir().join(format!("gradcause-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (target, link) = (dir.join("target.md"), dir.join("link.md"));
    std::fs::write(&target, "old").unwrap();
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let written = Command::new(env!("CARGO_BIN_EXE_gradcause"))
        .args(["reproduction", "--out"])
        .arg(&link)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("gradcause runs");
    assert!(
        written.status.success(),
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );
    assert!(
        std::fs::symlink_metadata(&link).unwrap().is_symlink(),
        "the link stays a link"
    );
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .starts_with("# Reproduction")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A tiny trained and analysed report, as `task` seed `seed`, with every G reading's ρ against
/// every C set to `rho(g, c)`.
fn report_with_rho(
    base: &SeedReport,
    task: Task,
    seed: u64,
    rho: impl Fn(GWeights, Ablation) -> f64,
) -> SeedReport {
    let mut report = base.clone();
    report.run.task = task;
    report.run.config.task = task;
    report.run.seed = seed;
    let analysis = report.analysis.as_mut().unwrap();
    for (g, by_grad) in analysis.by_grad.iter_mut() {
        for (c, value) in by_grad.spearman.iter_mut() {
            *value = Some(rho(*g, *c));
        }
    }
    report
}

#[test]
fn the_robustness_table_applies_each_rule_under_every_reading() {
    let config = tiny_config(Task::Sort, 21);
    let (trained, run) = pollster::block_on(train_and_evaluate(
        &config,
        Backend::Cpu,
        &Device::flex(),
        |_| {},
    ))
    .unwrap();
    let base = pollster::block_on(SeedReport::analyse(&trained.model, run, &[], &mut ())).unwrap();
    let reported = Reported::shipped();
    // Reversal ρ about 0.8 and sorting about 0.2 under every reading, with a little spread.
    let make = |flip: bool| -> Vec<SeedReport> {
        let mut reports = Vec::new();
        for (i, &seed) in reported.seeds.iter().enumerate() {
            let wobble = 0.01 * i as f64;
            reports.push(report_with_rho(&base, Task::Reverse, seed, |_, _| {
                0.8 + wobble
            }));
            reports.push(report_with_rho(&base, Task::Sort, seed, |g, c| {
                // The planted flip: sorting above reversal under one reading pair only.
                if flip && g == GWeights::WvoInout && c == Ablation::Zero {
                    0.95
                } else {
                    0.2 + wobble
                }
            }));
        }
        reports
    };
    let (clean, flipped) = (make(false), make(true));
    let columns = |schemes: &[Positions], sweep: &[SeedReport]| {
        let sweeps: Vec<Sweep> = schemes
            .iter()
            .map(|&positions| Sweep {
                positions,
                dir: "s",
                about: "a sweep",
                reports: sweep,
            })
            .collect();
        robustness(&Inputs {
            reported: &reported,
            sweeps: &sweeps,
            study: &[],
            study_dir: "p",
            published: ("w", &[]),
            decomposition: ("d", &Decomposition::new(&reported, &Default::default())),
        })
    };
    let inputs = |sweep: &[SeedReport]| columns(&[Positions::Shifted, Positions::None], sweep);
    let (before, after) = (inputs(&clean), inputs(&flipped));
    // A sweep added to the inputs adds its readings as columns, with no other change.
    let three = columns(
        &[Positions::Shifted, Positions::None, Positions::Learned],
        &clean,
    );
    // Per scheme every G reading × mean, mean-pos, zero and slot; then the default on every seed.
    let per_scheme = GWeights::ALL.len() * 4;
    assert_eq!(three.len(), 3 * per_scheme + 1);
    assert!(
        three
            .iter()
            .any(|(label, _)| label == "learned · wvo-inout · zero")
    );
    // The readings of two schemes on the paper's seeds and the default on every seed; every
    // claim in each.
    assert_eq!(before.len(), 2 * per_scheme + 1);
    let keys: Vec<&str> = before[0].1.iter().map(|c| c.key).collect();
    assert_eq!(keys.len(), 8);
    assert!(keys.contains(&"mean-zero-agree"));
    for (label, column) in before.iter().chain(&after) {
        assert_eq!(
            column.iter().map(|c| c.key).collect::<Vec<_>>(),
            keys,
            "{label}"
        );
    }
    // The verdict of claim `key` in the column labelled `label`.
    let verdict = |columns: &[(String, Vec<gradcause::report::reproduction::Claim>)],
                   label: &str,
                   key: &str| {
        let (_, column) = columns.iter().find(|(l, _)| l == label).unwrap();
        column.iter().find(|c| c.key == key).unwrap().verdict
    };
    for (label, _) in &before {
        assert_eq!(
            verdict(&before, label, "rho-order"),
            Holds::Holds,
            "{label}"
        );
        // The flip changes the verdict exactly where it was planted, under both schemes.
        let planted = label.contains("wvo-inout · zero");
        let expected = if planted {
            Holds::DoesNotHold
        } else {
            Holds::Holds
        };
        assert_eq!(verdict(&after, label, "rho-order"), expected, "{label}");
    }
    // Mean and zero ablation agree while their ρ are equal; the planted zero-ablation ρ breaks
    // the agreement under wvo-inout, and in the zero column itself the claim cannot say.
    assert_eq!(
        verdict(&before, "shifted · wv-wout · mean", "mean-zero-agree"),
        Holds::Holds
    );
    assert_eq!(
        verdict(&after, "shifted · wvo-inout · mean", "mean-zero-agree"),
        Holds::DoesNotHold
    );
    assert_eq!(
        verdict(&after, "shifted · wvo-inout · zero", "mean-zero-agree"),
        Holds::Inconclusive
    );
}

#[test]
fn claims_on_one_seed_are_inconclusive_not_decided() {
    let reported = Reported::shipped();
    let summaries = BTreeMap::from([
        (
            Task::Reverse,
            summary_with(Task::Reverse, &[(42, Some(0.9))], &[]),
        ),
        (
            Task::Sort,
            summary_with(Task::Sort, &[(42, Some(0.1))], &[]),
        ),
    ]);
    let all = claims(&reported, &summaries, Ablation::Mean);
    let rho = all.iter().find(|c| c.key == "rho-order").unwrap();
    assert_eq!(rho.verdict, Holds::Inconclusive, "{}", rho.ours);
    assert!(rho.ours.contains("no interval"), "{}", rho.ours);

    // Clearly apart, but a verdict needs MIN_SEEDS seeds of each task: four are not enough,
    // five are.
    let verdict = |n: usize| {
        let seeds = |rho: f64| -> Vec<(u64, Option<f64>)> {
            (0..n)
                .map(|i| (i as u64, Some(rho + 0.01 * i as f64)))
                .collect()
        };
        let summaries = BTreeMap::from([
            (Task::Reverse, summary_with(Task::Reverse, &seeds(0.8), &[])),
            (Task::Sort, summary_with(Task::Sort, &seeds(0.2), &[])),
        ]);
        let all = claims(&reported, &summaries, Ablation::Mean);
        all.into_iter()
            .find(|c| c.key == "rho-order")
            .unwrap()
            .verdict
    };
    assert_eq!(MIN_SEEDS, 5);
    assert_eq!(verdict(4), Holds::Inconclusive);
    assert_eq!(verdict(5), Holds::Holds);
}

/// Every per-seed report of the shipped sweep `sweep` (a folder of `assets/`), each task's
/// folder that exists, with its path.
fn shipped_reports(sweep: &str) -> Vec<(std::path::PathBuf, SeedReport)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(sweep);
    let mut reports = Vec::new();
    for task in ["reverse", "sort"] {
        let Ok(entries) = std::fs::read_dir(root.join(task)) else {
            continue;
        };
        for path in entries.map(|e| e.unwrap().path()) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with(&format!("{task}-seed")) && name.ends_with(".json") {
                let text = std::fs::read_to_string(&path).unwrap();
                reports.push((path, serde_json::from_str(&text).unwrap()));
            }
        }
    }
    reports
}

/// The workshop's role table beside ours over the shipped published sweep: each head the
/// workshop names keeps its count from `reported-workshop.json`, and ours counts the seeds of the
/// workshop's whose C as published made the head a Hero or a Bloat at t = 6.
#[test]
fn the_workshop_role_table_recounts_the_shipped_published_sweep() {
    use gradcause::analysis::analyze::Class;
    use gradcause::engine::component::Component;
    use gradcause::report::table::Cell;
    use gradcause::report::workshop::{WORKSHOP_THRESHOLD, Workshop, role_table};

    let reports: Vec<SeedReport> = shipped_reports("sweep-published")
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| r.run.task == gradcause::engine::task::Task::Sort)
        .collect();
    let workshop = Workshop::shipped();
    let table = role_table(&workshop, &reports);
    let theirs = &workshop.table3_sort_role_frequency_of_10;
    let mut named = 0;
    for row in &table.rows {
        let (Cell::Text(role), Cell::Text(head)) = (&row[0], &row[1]) else {
            panic!("role and head first: {row:?}")
        };
        let head: Component = head.parse().unwrap();
        let (class, listed) = match role.as_str() {
            "Hero" => (Class::Hero, &theirs.heroes),
            "Bloat" => (Class::Bloat, &theirs.bloats),
            other => panic!("unknown role {other}"),
        };
        match listed.get(&head) {
            Some(&n) => {
                assert_eq!(row[2], Cell::Count(n as u64), "{role} {head}");
                named += 1;
            }
            None => assert_eq!(row[2], Cell::Text("—".into())),
        }
        let ours = reports
            .iter()
            .filter(|r| workshop.seeds.contains(&r.run.seed))
            .filter_map(|r| r.analysis.as_ref()?.as_published.as_ref())
            .filter(|p| p.class[&WORKSHOP_THRESHOLD][head.index(4)] == class)
            .count();
        assert_eq!(row[3], Cell::Count(ours as u64), "{role} {head}");
    }
    assert_eq!(named, theirs.heroes.len() + theirs.bloats.len());
}

/// Each reading of the switch table, recomputed from a report's per-component numbers, gives
/// what the analysis stored where the analysis made the same reading: C as published (raw G,
/// strict), and raw G · slot and wv-wout · mean on the fixed set (the sweep's rule, strict).
#[test]
fn switch_readings_recompute_what_the_published_analyses_stored() {
    use gradcause::analysis::analyze::Class;
    use gradcause::analysis::classes::ClassRule;
    use gradcause::report::switches::{CSource, READINGS};

    let reading = |g: GWeights, c: CSource, rule: ClassRule| {
        READINGS
            .into_iter()
            .find(|r| r.g == g && r.c == c && r.rule == rule)
            .unwrap()
    };
    let published = reading(
        GWeights::WvWoutRaw,
        CSource::Fresh(Ablation::Slot),
        ClassRule::Strict,
    );
    let mut checked = 0;
    for (path, report) in shipped_reports("sweep-published") {
        let Some(a) = report.analysis.as_ref() else {
            continue;
        };
        let stored = a.as_published.as_ref().unwrap();
        let ours = published.of(a, 6).unwrap();
        assert_eq!(ours.spearman, stored.spearman, "{}", path.display());
        assert_eq!(Some(ours.heroes), stored.count(Class::Hero, 6));
        assert_eq!(Some(ours.bloats), stored.count(Class::Bloat, 6));
        for (g, ablation) in [
            (GWeights::WvWoutRaw, Ablation::Slot),
            (GWeights::WvWout, Ablation::Mean),
        ] {
            let fixed = reading(g, CSource::FixedSet(ablation), ClassRule::Strict);
            let ours = fixed.of(a, 6).unwrap();
            let by_grad = &a.by_grad[&g];
            assert_eq!(ours.spearman, by_grad.spearman[&ablation]);
            let count = |class| {
                by_grad.class[&ablation][&6]
                    .iter()
                    .filter(|&&c| c == class)
                    .count()
            };
            assert_eq!(ours.heroes, count(Class::Hero), "{g} {ablation}");
            assert_eq!(ours.bloats, count(Class::Bloat), "{g} {ablation}");
        }
        checked += 1;
    }
    assert!(checked >= 20, "{checked} analysed reports");
}

/// A report seen under a reading the analysis itself made gives back what the analysis stored:
/// C as published (raw G, strict) its ρ and classes, and on the fixed set (the sweep's strict
/// rule) ρ, Δ, classes, and the very pruning and superadditivity measured, found again among the
/// report's joint ablations by their components.
#[test]
fn a_view_under_a_stored_reading_is_what_the_analysis_stored() {
    use gradcause::analysis::classes::ClassRule;
    use gradcause::report::switches::{CSource, Reading};

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sweep-published");
    let reading = |g: GWeights, c: CSource| Reading {
        label: "a stored reading",
        g,
        c,
        rule: ClassRule::Strict,
    };
    let mut checked = 0;
    for task in ["reverse", "sort"] {
        for seed in Reported::shipped().seeds {
            let path = root.join(format!("{task}/{task}-seed{seed}.json"));
            let report: SeedReport =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let Some(stored) = report.analysis.as_ref() else {
                continue;
            };
            let published =
                reading(GWeights::WvWoutRaw, CSource::Fresh(Ablation::Slot)).view(&report);
            let seen = &published.analysis.as_ref().unwrap().by_grad[&GWeights::WvWoutRaw];
            let as_published = stored.as_published.as_ref().unwrap();
            assert_eq!(seen.spearman[&Ablation::Slot], as_published.spearman);
            assert_eq!(seen.class[&Ablation::Slot], as_published.class);
            assert_eq!(
                published.analysis.unwrap().causal_ranks.len(),
                3,
                "slot, mean and zero on the fresh examples"
            );
            for (g, a) in [
                (GWeights::WvWoutRaw, Ablation::Slot),
                (GWeights::WvWout, Ablation::Mean),
                (GWeights::WvWout, Ablation::Zero),
            ] {
                let view = reading(g, CSource::FixedSet(a)).view(&report);
                let seen = &view.analysis.as_ref().unwrap().by_grad[&g];
                let kept = &stored.by_grad[&g];
                let at = format!("{} {g} {a}", path.display());
                assert_eq!(seen.spearman[&a], kept.spearman[&a], "{at}");
                assert_eq!(seen.delta[&a], kept.delta[&a], "{at}");
                assert_eq!(seen.class[&a], kept.class[&a], "{at}");
                assert_eq!(seen.superadditivity[&a], kept.superadditivity[&a], "{at}");
                let (p, q) = (&seen.pruning[&a], &kept.pruning[&a]);
                for (ours, theirs) in [(&p.heroes, &q.heroes), (&p.bloats, &q.bloats)] {
                    let change = |j: &Option<gradcause::analysis::analyze::JointAblation>| {
                        j.as_ref().map(|j| (j.components.clone(), j.change))
                    };
                    assert_eq!(change(ours), change(theirs), "{at}");
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 19, "{checked} analysed reports");
}

/// Every shipped report under protocol published (the published sweep and every switch sweep)
/// holds what the decomposition's readings need (`gradcause complete`): C on the fresh examples
/// under mean and zero ablation — an MLP's equal to C as published, whose `slot` of an MLP is its
/// mean on the same examples — and every joint ablation, so a cell under published is never
/// short of a seed's pruning for want of one.
#[test]
fn every_shipped_published_report_holds_what_its_readings_need() {
    use gradcause::engine::component::Component;
    use gradcause::report::switches::READINGS;

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/switches");
    let mut sweeps = vec!["sweep-published".to_string()];
    for entry in std::fs::read_dir(root).unwrap() {
        let scheme = entry.unwrap().file_name().to_string_lossy().into_owned();
        sweeps.push(format!("switches/{scheme}"));
    }
    let mut checked = 0;
    for (path, report) in sweeps.iter().flat_map(|s| shipped_reports(s)) {
        let Some(analysis) = report.analysis.as_ref() else {
            continue;
        };
        let published = analysis.as_published.as_ref().unwrap();
        let fresh = &published.fresh;
        assert_eq!(
            fresh.len(),
            2,
            "{}: run `gradcause complete`",
            path.display()
        );
        for (i, c) in analysis.components.iter().enumerate() {
            if matches!(c.name, Component::Mlp { .. }) {
                assert_eq!(fresh[&Ablation::Mean][i], published.causal[i], "{}", c.name);
            }
        }
        for reading in READINGS {
            let missing = reading.missing_joints(&report);
            assert!(
                missing.is_empty(),
                "{} lacks {missing:?} under {}: run `gradcause complete`",
                path.display(),
                reading.label
            );
        }
        checked += 1;
    }
    assert!(checked >= 40, "{checked} reports");
}

/// A column whose sorting runs all fall outside the OOD window says so in every claim drawn from
/// analysed sorting seeds, rather than a verdict from no data; the window's claim, which counts
/// the runs, is still judged.
#[test]
fn a_column_with_no_analysed_seed_of_a_task_is_not_measured_except_for_the_window() {
    use gradcause::experiment::protocol::Protocol;

    let reported = Reported::shipped();
    let mut reports: Vec<SeedReport> = shipped_reports("sweep-published")
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    for report in reports.iter_mut().filter(|r| r.run.task == Task::Sort) {
        report.analysis = None;
        report.run.analysis_length = None;
        report.run.skip_reason = Some("no OOD length in the window".into());
    }
    let sweeps = BTreeMap::from([("published", reports.as_slice())]);
    let decomposition = Decomposition::new(&reported, &sweeps);
    let published = decomposition.base(Protocol::Published).unwrap();
    assert_eq!(published.seeds[&Task::Sort].0, 0);
    for (claim, verdict) in decomposition.claims.iter().zip(&published.verdicts) {
        if claim.key == "window" {
            assert!(verdict.measured(), "{claim:?}: {verdict:?}");
            assert_eq!(verdict.verdict, Holds::DoesNotHold, "{verdict:?}");
        } else if claim.needs.contains(&Task::Sort) {
            let missing = verdict.missing.as_deref().unwrap_or_default();
            assert!(
                missing.starts_with("no sort seed analysed: none of 20"),
                "{}: {verdict:?}",
                claim.key
            );
        }
    }
}

/// `gradcause complete` on a sweep whose models are not all kept completes the others and leaves
/// a report without its model as it was, saying how many (METHOD's default sweep keeps models
/// for the paper's seeds only).
#[test]
fn complete_leaves_reports_without_a_kept_model_as_they_were() {
    let dir = std::env::temp_dir().join(format!("gradcause-complete-{}", std::process::id()));
    let (sweep, models) = (dir.join("sort"), dir.join("models"));
    std::fs::create_dir_all(&sweep).unwrap();
    std::fs::create_dir_all(&models).unwrap();
    // A published report without its joint ablations: `complete` would measure them again.
    let shipped =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sweep-published/sort");
    let mut report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(shipped.join("sort-seed42.json")).unwrap()).unwrap();
    report["joints"] = serde_json::json!([]);
    let report = serde_json::to_vec(&report).unwrap();
    std::fs::write(sweep.join("sort-seed42.json"), &report).unwrap();
    let completed = Command::new(env!("CARGO_BIN_EXE_gradcause"))
        .arg("complete")
        .arg(&sweep)
        .arg("--models")
        .arg(&models)
        .output()
        .expect("gradcause runs");
    let stderr = String::from_utf8_lossy(&completed.stderr);
    assert!(completed.status.success(), "{stderr}");
    assert!(stderr.contains("0 reports completed"), "{stderr}");
    assert!(stderr.contains("1 left as they were"), "{stderr}");
    assert_eq!(
        std::fs::read(sweep.join("sort-seed42.json")).unwrap(),
        report
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
