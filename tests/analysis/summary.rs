//! Across seeds (METHOD §9): the summaries and the cheap scores' leaderboard.

use gradcause::analysis::ablation::Ablation;
use gradcause::analysis::analyze::Class;
use gradcause::analysis::attribution::GWeights;
use gradcause::analysis::classes::ClassRule;
use gradcause::analysis::scores::Score;
use gradcause::engine::component::Component;
use gradcause::engine::task::Task;
use gradcause::experiment::report::SeedReport;
use gradcause::report::leaderboard::Leaderboard;
use gradcause::report::summary::Summary;

use crate::helpers::trained_report;

#[test]
fn summaries_average_over_analysed_seeds_only() {
    let (_, a) = trained_report(Task::Sort, 10);
    let mut b = a.clone();
    b.run.seed = 11;
    let mut skipped = a.clone();
    skipped.run.seed = 12;
    skipped.run.analysis_length = None;
    skipped.run.skip_reason = Some("no OOD length in the window".into());
    skipped.analysis = None;

    // Hand-made pruning and Bloat numbers.
    let set = |report: &mut SeedReport, hero_change: f64, individual: [f64; 2], joint: f64| {
        let analysis = report.analysis.as_mut().unwrap();
        let base = analysis.base_accuracy;
        let by_grad = analysis.by_grad.get_mut(&GWeights::WvWout).unwrap();
        let parts = vec![Component::Mlp { layer: 0 }, Component::Mlp { layer: 1 }];
        by_grad.pruning.get_mut(&Ablation::Mean).unwrap().heroes =
            Some(gradcause::analysis::analyze::JointAblation {
                components: parts.clone(),
                accuracy: base + hero_change,
                change: hero_change,
            });
        by_grad.superadditivity.insert(
            Ablation::Mean,
            Some(gradcause::analysis::analyze::superadditivity(
                parts,
                individual.to_vec(),
                joint,
            )),
        );
        by_grad.spearman.insert(Ablation::Mean, Some(hero_change));
    };
    set(&mut b, -0.2, [0.02, 0.04], 0.40);
    let mut a = a;
    set(&mut a, -0.4, [0.0, 0.02], 0.20);

    // Hand-made classes at t = 2 under mean ablation, in canonical order (L0_H0, L0_H1, L0_MLP,
    // L1_H0, L1_H1, L1_MLP), and hand-made Figure 4 norms per layer.
    let (hero, bloat, aligned) = (Class::Hero, Class::Bloat, Class::Aligned);
    let classes_and_norms = |report: &mut SeedReport, classes: Vec<Class>, norms: Vec<f64>| {
        let analysis = report.analysis.as_mut().unwrap();
        let by_grad = analysis.by_grad.get_mut(&GWeights::WvWout).unwrap();
        by_grad
            .class
            .get_mut(&Ablation::Mean)
            .unwrap()
            .insert(2, classes);
        analysis.layer_grad_norm.raw = norms;
    };
    classes_and_norms(
        &mut a,
        vec![hero, aligned, bloat, aligned, bloat, aligned],
        vec![0.3, 0.1],
    );
    classes_and_norms(
        &mut b,
        vec![hero, hero, aligned, bloat, aligned, hero],
        vec![0.5, 0.2],
    );
    let a_analysis = a.analysis.clone().unwrap();
    // Reports analysed under the strict rule make a summary that says so (Figure 6's colours
    // over the seeds follow it), whatever rule an unanalysed seed's config names.
    let [a_strict, b_strict] = [&a, &b].map(|r| {
        let mut r = r.clone();
        r.run.config.analysis.class_rule = ClassRule::Strict;
        r
    });
    let strict = Summary::new(
        Task::Sort,
        &[skipped.clone(), a_strict, b_strict],
        GWeights::WvWout,
    );
    assert_eq!(strict.class_rule, ClassRule::Strict);
    let summary = Summary::new(Task::Sort, &[a, b, skipped], GWeights::WvWout);
    assert_eq!(summary.class_rule, ClassRule::Inclusive);
    assert_eq!(summary.seeds, vec![10, 11, 12]);
    // Figure 6 over seeds: each row keeps the ranks behind its ρ, in the components' order.
    let names: Vec<Component> = a_analysis.components.iter().map(|c| c.name).collect();
    assert_eq!(summary.table3.components, names);
    let row = &summary.table3.rows[0];
    assert_eq!(row.grad_ranks, a_analysis.by_grad[&GWeights::WvWout].ranks);
    assert_eq!(row.causal_ranks, a_analysis.causal_ranks);
    assert_eq!(summary.analysed(), 2);
    assert_eq!(summary.skipped.len(), 1);
    assert_eq!(summary.skipped[0].reason, "no OOD length in the window");
    let close = |x: Option<f64>, y: f64| (x.unwrap() - y).abs() < 1e-12;
    let (pruning, table4) = (
        &summary.pruning[&Ablation::Mean],
        &summary.table4[&Ablation::Mean],
    );
    assert!(close(pruning.heroes.mean, -0.3));
    assert!(close(pruning.heroes.std, (0.02f64).sqrt()));
    assert_eq!(pruning.heroes.interval, Some([-0.4, -0.2]));
    assert!(close(summary.table1.of(Ablation::Mean).mean, -0.3));
    // Individual means 0.01 and 0.03 → 0.02; joint drops 0.2 and 0.4 → 0.3; ratio 15.
    assert!(close(table4.individual_drop.mean, 0.02));
    assert!(close(table4.joint_drop.mean, 0.3));
    assert!(close(table4.ratio.value, 15.0));
    // Sums of individual drops 0.02 and 0.06 → 0.04: additive ratio 7.5.
    assert!(close(table4.additive_ratio.value, 7.5));
    // Resampling the two seeds: ratios of 0.2/0.02, 0.3/0.04 and 0.4/0.06 (10, 7.5, 6.67).
    let [low, high] = table4.additive_ratio.interval.unwrap();
    assert!((low - 0.4 / 0.06).abs() < 1e-9 && (high - 10.0).abs() < 1e-9);
    // Two of three seeds in the window.
    let [low, high] = summary.in_window.unwrap();
    assert!(low < 2.0 / 3.0 && 2.0 / 3.0 < high);

    // Table 5 counts heads per layer and class over the analysed seeds (the MLPs are no heads).
    let layer = |l: usize| {
        let counts = summary.table5.at(Ablation::Mean, 2);
        let count = counts.iter().find(|c| c.layer == l).unwrap();
        (count.heroes, count.bloats)
    };
    assert_eq!((layer(0), layer(1)), ((3, 0), (0, 2)));
    // Component identity: in how many seeds each component took each role.
    assert_eq!(summary.roles.threshold, 2);
    for (name, heroes, bloats) in [
        ("L0_H0", 2, 0),
        ("L0_H1", 1, 0),
        ("L0_MLP", 0, 1),
        ("L1_H0", 0, 1),
        ("L1_H1", 0, 1),
        ("L1_MLP", 1, 0),
    ] {
        let component: Component = name.parse().unwrap();
        let count = |class| summary.roles.count(component, class, Ablation::Mean);
        assert_eq!(
            (count(hero), count(bloat)),
            (Some(heroes), Some(bloats)),
            "{name}"
        );
    }
    let seed_11 = &summary.roles.seeds[1];
    assert_eq!(seed_11.seed, 11);
    assert_eq!(
        seed_11.bloats[&Ablation::Mean],
        vec![Component::Head { layer: 1, head: 0 }]
    );
    // Figure 4: per layer, mean and sd of the seeds' raw norms.
    let figure4 = &summary.figure4;
    assert_eq!(figure4.per_seed, vec![vec![0.3, 0.1], vec![0.5, 0.2]]);
    assert!(close(figure4.raw[0].mean, 0.4) && close(figure4.raw[1].mean, 0.15));
    assert!(close(figure4.raw[0].std, 0.02f64.sqrt()));
    assert!(close(figure4.raw[1].std, 0.005f64.sqrt()));
}

#[test]
fn the_leaderboard_ranks_every_score_against_c_across_seeds() {
    // Two seeds of the tiny model, whose Cs are flat (it answers nothing at its OOD lengths):
    // every value is replaced by a distinct made-up one, so every ρ is defined.
    let made_up = |x: u64| ((x.wrapping_mul(2_654_435_761)) % 1000) as f64 / 1000.0;
    let reports: Vec<SeedReport> = [8, 9]
        .into_iter()
        .map(|seed| {
            let mut report = trained_report(Task::Sort, seed).1;
            let analysis = report.analysis.as_mut().unwrap();
            for (j, c) in analysis.components.iter_mut().enumerate() {
                let mut k = 10 * seed + 100 * j as u64;
                let mut next = || {
                    k += 1;
                    made_up(k)
                };
                c.causal.values_mut().for_each(|v| *v = next());
                c.grad.values_mut().for_each(|v| *v = next());
                c.attribution_patching
                    .values_mut()
                    .for_each(|v| *v = next());
                c.scores.values_mut().for_each(|v| *v = next());
            }
            report
        })
        .collect();
    // A third seed analysed before the scores existed is left out, and said to be.
    let mut before = reports[0].clone();
    before.run.seed = 10;
    let analysis = before.analysis.as_mut().unwrap();
    analysis.score_pruning = None;
    for c in &mut analysis.components {
        c.scores.clear();
    }
    let mut all = reports.clone();
    all.push(before);

    let board = Leaderboard::new(Task::Sort, &all, Ablation::Mean);
    assert_eq!(board.seeds, vec![8, 9]);
    assert_eq!(board.without_scores, vec![10]);
    assert_eq!(board.counts, vec![1, 3]);
    assert_eq!(board.rows.len(), Score::ALL.len());
    let means: Vec<f64> = board
        .rows
        .iter()
        .map(|r| r.spearman.mean.unwrap_or(f64::NEG_INFINITY))
        .collect();
    assert!(
        means.windows(2).all(|w| w[0] >= w[1]),
        "best ρ first: {means:?}"
    );
    let analyses: Vec<&gradcause::analysis::analyze::Analysis> = reports
        .iter()
        .map(|r| r.analysis.as_ref().unwrap())
        .collect();
    let best_two = |values: &[f64]| {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
        let mut two = order[..2].to_vec();
        two.sort_unstable();
        two
    };
    for row in &board.rows {
        let per_seed: Vec<(Vec<f64>, Vec<f64>)> = analyses
            .iter()
            .map(|a| (a.score(row.score).unwrap(), a.causal(Ablation::Mean)))
            .collect();
        let rhos: Vec<f64> = per_seed
            .iter()
            .filter_map(|(s, c)| gradcause::analysis::stats::spearman(s, c))
            .collect();
        if let Some(mean) = row.spearman.mean {
            let expected = rhos.iter().sum::<f64>() / rhos.len() as f64;
            assert!((mean - expected).abs() < 1e-12, "{}", row.score);
        }
        let hits = per_seed
            .iter()
            .filter(|(s, c)| best_two(s) == best_two(c))
            .count();
        assert_eq!(
            (row.top_two.hits, row.top_two.seeds),
            (hits, 2),
            "{}",
            row.score
        );
        for (k, pruned) in row.pruned_accuracy.iter().enumerate() {
            let expected = analyses
                .iter()
                .map(|a| {
                    a.score_pruning.as_ref().unwrap().curves[&Ablation::Mean].by_score[&row.score]
                        [k]
                })
                .sum::<f64>()
                / 2.0;
            assert!((pruned.mean.unwrap() - expected).abs() < 1e-12);
        }
        assert_eq!(row.pruned_accuracy.len(), 2);
        assert_eq!(row.cheap, !matches!(row.score, Score::LossChange(_)));
    }
    assert_eq!(board.causal_pruned_accuracy.len(), 2);
    let answer = board.answer().expect("an answer");
    let best = board.rows.iter().find(|r| r.cheap).unwrap();
    assert!(answer.contains(&best.score.label()), "{answer}");
    assert!(board.markdown().contains("C's own order"));
    // Resample ablation's C is ranked against but not pruned with.
    let resample = Leaderboard::new(Task::Sort, &all, Ablation::Resample);
    assert!(resample.causal_pruned_accuracy.is_empty());
    assert!(resample.rows.iter().all(|r| r.pruned_accuracy.is_empty()));
}
