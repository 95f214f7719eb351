//! A seed's report: every measurement in it, old reports loading, and the same report however
//! it is computed.

use gradcause::analysis::ablation::{Ablation, AblationSet};
use gradcause::analysis::analyze::ScorePruning;
use gradcause::analysis::attribution::GWeights;
use gradcause::analysis::scores::{Score, least_important};
use gradcause::engine::backend::{Backend, parallel_width};
use gradcause::engine::component::Component;
use gradcause::engine::eval::evaluate_ood;
use gradcause::engine::task::Task;
use gradcause::engine::weights::{from_safetensors, to_safetensors};
use gradcause::experiment::provenance::METHOD_REVISION;
use gradcause::experiment::report::{SeedReport, train_and_evaluate};
use gradcause::report::leaderboard::Leaderboard;
use gradcause::report::summary::Summary;

use crate::common::tiny_config;
use crate::helpers::{analyse, device, trained_report};

#[test]
fn a_report_holds_every_measurement_and_survives_json() {
    let (model, report) = trained_report(Task::Sort, 8);
    let analysis = report
        .analysis
        .as_ref()
        .expect("every length is analysable in the tiny config");
    assert_eq!(analysis.components.len(), 6);
    for c in &analysis.components {
        assert_eq!(c.grad.len(), 3, "G under every reading");
        assert!(c.grad.values().all(|g| *g > 0.0 && g.is_finite()));
        assert_eq!(c.causal.len(), 5, "C under every ablation");
        assert_eq!(c.attribution_patching.len(), 2, "A toward both means");
    }
    // Every pair of a G reading and a C ablation has every derived number.
    for g in GWeights::ALL {
        let by_grad = &analysis.by_grad[&g];
        for ablation in Ablation::ALL {
            let delta = &by_grad.delta[&ablation];
            assert_eq!(delta.len(), 6);
            // Δ sums to zero: both are rank vectors of the same components.
            assert!(delta.iter().sum::<f64>().abs() < 1e-9);
            assert_eq!(
                by_grad.class[&ablation].keys().copied().collect::<Vec<_>>(),
                vec![1, 2]
            );
            assert!(by_grad.spearman.contains_key(&ablation));
            assert_eq!(by_grad.pruning[&ablation].ablation, ablation);
            assert!(by_grad.superadditivity.contains_key(&ablation));
        }
    }
    // Every cheap score, and the accuracy after pruning what each ranks least important, under
    // every ablation: each the accuracy of ablating that set together.
    for c in &analysis.components {
        for score in Score::MEASURED {
            assert!(
                c.scores.get(&score).is_some_and(|v| v.is_finite()),
                "{score}"
            );
        }
    }
    let pruning = analysis.score_pruning.as_ref().expect("pruning by score");
    assert_eq!(pruning.counts, vec![1, 3]);
    assert_eq!(
        (pruning.ig_steps, pruning.ig_batches, pruning.batches),
        (2, 2, 3)
    );
    assert_eq!(
        pruning.prune_batches, 2,
        "on the first two batches of three"
    );
    let config = &report.run.config;
    let length = report.run.analysis_length.unwrap();
    let mut batches = config.eval.ood_set(Task::Sort, 8, length);
    batches.truncate(2);
    let set = pollster::block_on(AblationSet::new(&model, &batches, 8, &device())).unwrap();
    assert_eq!(
        pruning.curves.keys().copied().collect::<Vec<_>>(),
        ScorePruning::ABLATIONS
    );
    for ablation in ScorePruning::ABLATIONS {
        let curves = &pruning.curves[&ablation];
        assert_eq!(curves.by_score.len(), Score::ALL.len());
        let causal = analysis.causal(ablation);
        for (values, curve) in std::iter::once((causal, &curves.causal)).chain(
            Score::ALL
                .into_iter()
                .map(|s| (analysis.score(s).unwrap(), &curves.by_score[&s])),
        ) {
            // Checked in full for one k; the others are looked up the same way.
            let chosen: Vec<Component> = least_important(&values, 3)
                .into_iter()
                .map(|i| analysis.components[i].name)
                .collect();
            let whole = pollster::block_on(set.ablated_accuracy(&model, &chosen, ablation));
            assert_eq!(curve[1], whole.unwrap(), "{ablation} {chosen:?}");
        }
    }

    // The readings differ: a head's G on W_V alone is not its G on W_V and W_O.
    assert_ne!(
        analysis.grad(GWeights::WvWout),
        analysis.grad(GWeights::WvoInout)
    );
    assert_eq!(analysis.attention.heads.len(), 4);
    assert_eq!(analysis.attention.examples, 5);
    // Figure 4: raw = √N × normalised, N = d_model · d_head = 32 · 16.
    let norms = &analysis.layer_grad_norm;
    assert_eq!((norms.raw.len(), norms.normalised.len()), (2, 2));
    for (raw, normalised) in norms.raw.iter().zip(&norms.normalised) {
        assert!((raw - normalised * 512f64.sqrt()).abs() < 1e-5 * raw);
    }
    // Where, by what and under which METHOD.
    assert_eq!(report.method.as_deref(), Some(METHOD_REVISION));
    assert_eq!(report.outdated(), None);
    let analysed = report
        .analysed
        .as_ref()
        .expect("the analysis records its machine");
    assert!(analysed.seconds > 0.0 && !analysed.machine.cpu.is_empty());
    assert!(!analysed.build.commit.is_empty());
    assert!(report.run.trained.is_some());
    let json = serde_json::to_string(&report).unwrap();
    let back: SeedReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn a_report_of_the_earlier_contract_loads_marked_and_is_refused_for_comparison() {
    // The fixture: a reversal report written before METHOD revision 2026-12-02 (no `method`,
    // one G a component, mean ablation per position), as shipped in assets/sweep until then
    // (its attention patterns cut to one head to keep the file small).
    let old = include_str!("../golden/report-before-2026-12-02.json");
    let report: SeedReport = serde_json::from_str(old).expect("an old report still loads");
    assert_eq!((report.run.task, report.run.seed), (Task::Reverse, 1010));
    assert!(report.run.train.is_some(), "its training is kept");
    assert!(
        report.analysis.is_none(),
        "its analysis is not read as the new one"
    );
    let why = report
        .outdated()
        .expect("marked as made under the earlier contract");
    assert!(why.contains("before METHOD revision 2026-12-02"), "{why}");
    assert!(why.contains("analyse it again"), "{why}");

    // Every command that compares refuses it, saying why.
    let dir = std::env::temp_dir().join(format!("gradcause-old-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("reverse-seed1010.json"), old).unwrap();
    let compared = std::process::Command::new(env!("CARGO_BIN_EXE_gradcause"))
        .args(["compare"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!compared.status.success());
    let stderr = String::from_utf8_lossy(&compared.stderr);
    assert!(
        stderr.contains("cannot be compared") && stderr.contains("analyse it again"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_report_from_before_the_cheap_scores_loads_and_sits_out_the_leaderboard() {
    // The fixture: sorting seed 2020 as shipped in assets/sweep before issue 23's scores (same
    // METHOD revision; no `scores`, no `score_pruning`; attention cut to one head).
    let old = include_str!("../golden/report-before-scores.json");
    let report: SeedReport = serde_json::from_str(old).expect("a report without scores loads");
    assert_eq!(
        report.outdated(),
        None,
        "the same contract: it is still compared"
    );
    let analysis = report.analysis.as_ref().expect("its analysis is read");
    assert_eq!(analysis.components.len(), 20);
    assert!(analysis.score_pruning.is_none());
    assert!(analysis.score(Score::Grad(GWeights::WvWout)).is_some());
    // It predates the published pipeline's readings, and says so.
    let lacks = analysis.lacks();
    assert_eq!(lacks.to_string(), "G wv-wout-raw, C slot");
    assert!(lacks.holds(GWeights::WvWout, Ablation::Mean));
    assert!(!lacks.holds(GWeights::WvWoutRaw, Ablation::Mean));
    assert!(!lacks.holds(GWeights::WvWout, Ablation::Slot));
    assert!(Summary::per_task(std::slice::from_ref(&report), GWeights::WvWoutRaw).is_empty());
    let raw = Summary::new(
        Task::Sort,
        std::slice::from_ref(&report),
        GWeights::WvWoutRaw,
    );
    assert_eq!(raw.analysed(), 0);
    assert!(
        raw.skipped[0]
            .reason
            .contains("before G reading wv-wout-raw"),
        "{:?}",
        raw.skipped
    );
    assert!(analysis.score(Score::Taylor).is_none());

    // Its paper numbers are summarised; the leaderboard names it as without scores.
    let summary = Summary::new(Task::Sort, std::slice::from_ref(&report), GWeights::WvWout);
    assert_eq!(summary.analysed(), 1);
    assert!(summary.table1.of(Ablation::Mean).mean.is_some());
    assert!(!summary.ablations().contains(&Ablation::Slot));
    let board = Leaderboard::new(Task::Sort, &[report], Ablation::Mean);
    assert!(board.seeds.is_empty());
    assert_eq!(board.without_scores, vec![2020]);
    assert_eq!(board.answer(), None);
}

#[test]
fn batches_run_at_once_give_the_same_evaluation_and_report_as_one_at_a_time() {
    let config = tiny_config(Task::Sort, 8);
    let (trained, run) =
        pollster::block_on(train_and_evaluate(&config, Backend::Cpu, &device(), |_| {})).unwrap();
    let in_pool = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            assert_eq!(parallel_width(&device()), threads);
            let ood = pollster::block_on(evaluate_ood(
                &trained.model,
                config.task,
                config.seed,
                &config.eval,
                &device(),
            ))
            .unwrap();
            (ood, analyse(&trained, run.clone()))
        })
    };
    let (one, three) = (in_pool(1), in_pool(3));
    assert!(
        config.eval.ood_batches >= 3,
        "enough batches to run at once"
    );
    assert_eq!(one.0, three.0);
    assert!(one.1.analysis.is_some());
    assert_eq!(one.1.analysis, three.1.analysis);
    assert_eq!(one.1.analysed.unwrap().machine.threads, 1);
    assert_eq!(three.1.analysed.unwrap().machine.threads, 3);
}

#[test]
fn a_saved_and_reloaded_model_gives_the_same_report() {
    let (model, report) = trained_report(Task::Reverse, 9);
    let bytes = pollster::block_on(to_safetensors(&model)).unwrap();
    let reloaded = from_safetensors(&bytes, &device()).unwrap();
    let again = pollster::block_on(SeedReport::analyse(
        &reloaded,
        report.run.clone(),
        &[],
        &mut (),
    ))
    .unwrap();
    assert_eq!(again.analysis, report.analysis);
}

#[test]
fn checkpoints_analyse_the_snapshots_taken_during_training() {
    let mut config = tiny_config(Task::Sort, 13);
    config.analysis.checkpoint_every = 40;
    let (trained, run) =
        pollster::block_on(train_and_evaluate(&config, Backend::Cpu, &device(), |_| {})).unwrap();
    let steps: Vec<usize> = trained.snapshots.iter().map(|s| s.step).collect();
    assert_eq!(steps, vec![40, 80]);
    let report = analyse(&trained, run);
    assert_eq!(
        report
            .checkpoints
            .iter()
            .map(|c| c.step)
            .collect::<Vec<_>>(),
        steps
    );
    // A snapshot is an earlier model: its gradients differ from the final model's.
    let last = report.analysis.as_ref().unwrap().grad(GWeights::WvWout);
    assert_ne!(report.checkpoints[0].grad, last);
    let back: SeedReport = serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
    assert_eq!(back, report);
}
