//! The analysis (METHOD §5–10) on tiny models, natively on the CPU backend.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::module::Param;
use burn::prelude::*;
use common::tiny_config;
use gradcause::ablation::{Ablation, AblationSet};
use gradcause::analysis::Class;
use gradcause::attribution::attribute;
use gradcause::backend::{Backend, parallel_width};
use gradcause::component::{Component, Intervention, Replacement};
use gradcause::eval::evaluate_ood;
use gradcause::model::{Positions, Transformer};
use gradcause::objective::{BatchTensors, loss};
use gradcause::report::{SeedReport, TrainReport, train_and_evaluate};
use gradcause::rng::{Rng, Stream};
use gradcause::summary::Summary;
use gradcause::task::{Batch, Task, ood_set};
use gradcause::train::Trained;
use gradcause::weights::{from_safetensors, to_safetensors};

fn device() -> Device {
    Device::flex()
}

fn logits(model: &Transformer, batch: &Batch, intervention: &Intervention) -> Vec<f32> {
    let inputs = BatchTensors::new(batch, &device()).inputs;
    model
        .forward(inputs, intervention)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// A tiny model with weights large enough for clear gradients.
fn tiny_model(seed: u64) -> Transformer {
    let mut model = tiny_config(Task::Sort, seed).model.init(seed, &device());
    let mut rng = Rng::new(seed, Stream::Analysis);
    let mut scale = |p: &mut Param<Tensor<3>>| {
        let dims = p.dims();
        let noise: Vec<f32> = (0..dims.iter().product())
            .map(|_| rng.normal() as f32 * 0.3)
            .collect();
        *p = Param::from_data(TensorData::new(noise, dims), &device());
    };
    for block in &mut model.blocks {
        scale(&mut block.attn.w_q);
        scale(&mut block.attn.w_k);
        scale(&mut block.attn.w_v);
        scale(&mut block.attn.w_o);
    }
    model
}

#[test]
fn gradient_magnitude_matches_finite_differences() {
    let model = tiny_model(3);
    let batch = ood_set(Task::Sort, 3, 5, 1, 8);
    let set = pollster::block_on(AblationSet::new(&model, &batch, 3, &device())).unwrap();
    let attribution = pollster::block_on(attribute(&model, &set, &mut ())).unwrap();

    // ||∂L/∂W|| over a head's W_V and W_O slices, by central differences in f64 of f32 losses.
    let tensors = BatchTensors::new(&batch[0], &device());
    let loss_of = |m: &Transformer| -> f64 {
        let l: f32 = loss(
            m.forward(tensors.inputs.clone(), &Intervention::none()),
            &tensors,
        )
        .into_scalar();
        f64::from(l)
    };
    let (layer, head) = (1, 0);
    let eps = 1e-2f32;
    let mut squares = 0.0;
    for which in ["w_v", "w_o"] {
        let param = |m: &Transformer| match which {
            "w_v" => m.blocks[layer].attn.w_v.val(),
            _ => m.blocks[layer].attn.w_o.val(),
        };
        let base: Vec<f32> = param(&model).into_data().try_to_vec::<f32>().unwrap();
        let dims = param(&model).dims();
        let per_head = dims[1] * dims[2];
        for k in head * per_head..(head + 1) * per_head {
            let nudged = |delta: f32| {
                let mut values = base.clone();
                values[k] += delta;
                let mut m = model.clone();
                let p = Param::from_data(TensorData::new(values, dims), &device());
                match which {
                    "w_v" => m.blocks[layer].attn.w_v = p,
                    _ => m.blocks[layer].attn.w_o = p,
                }
                loss_of(&m)
            };
            let derivative = (nudged(eps) - nudged(-eps)) / (2.0 * f64::from(eps));
            squares += derivative * derivative;
        }
    }
    let n = 2.0 * 32.0 * 16.0; // W_V and W_O slices: 2 x d_model x d_head
    let expected = squares.sqrt() / f64::sqrt(n);
    let component = Component::Head { layer, head }.index(2);
    let got = attribution.grad[component];
    assert!(
        (got - expected).abs() < 0.03 * expected,
        "G = {got}, finite differences give {expected}"
    );
    // The W_V-only value is normalised by its own size and is part of the whole.
    let wv = attribution.grad_wv[component].unwrap();
    assert!(wv > 0.0 && wv * (32.0 * 16.0f64).sqrt() <= got * n.sqrt() * 1.0001);
    assert_eq!(
        attribution.grad_wv[Component::Mlp { layer: 0 }.index(2)],
        None
    );
}

#[test]
fn mean_ablation_over_a_single_example_changes_nothing() {
    let model = tiny_model(4);
    let one = Batch::new(ood_set(Task::Sort, 4, 5, 1, 1)[0].examples.clone());
    let set = pollster::block_on(AblationSet::new(
        &model,
        std::slice::from_ref(&one),
        4,
        &device(),
    ))
    .unwrap();
    let clean = logits(&model, &one, &Intervention::none());
    for (component, mean) in model.components().into_iter().zip(set.means()) {
        let ablated = logits(
            &model,
            &one,
            &Intervention::none().with(component, Replacement::Value(mean.clone())),
        );
        assert!(max_difference(&clean, &ablated) < 1e-5, "{component}");
    }
    let all = model.components();
    let accuracy = pollster::block_on(set.ablated_accuracy(&model, &all, Ablation::Mean)).unwrap();
    assert_eq!(accuracy, set.base_accuracy);
}

#[test]
fn zero_ablating_every_head_of_a_layer_skips_its_attention() {
    let mut model = tiny_model(5);
    let batch = &ood_set(Task::Reverse, 5, 5, 1, 8)[0];
    // Without the shared output bias (part of no head), the sublayer adds exactly its heads.
    let b_o = &mut model.blocks[1].attn.b_o;
    *b_o = Param::from_tensor(b_o.val().zeros_like());
    let heads = (0..2).map(|head| Component::Head { layer: 1, head });
    let ablated = logits(&model, batch, &Intervention::zero(heads));

    let mut skipped = model.clone();
    let w_o = &mut skipped.blocks[1].attn.w_o;
    *w_o = Param::from_tensor(w_o.val().zeros_like());
    let without = logits(&skipped, batch, &Intervention::none());
    assert!(max_difference(&ablated, &without) < 1e-5);
    assert!(max_difference(&ablated, &logits(&model, batch, &Intervention::none())) > 1e-3);
}

#[test]
fn resample_ablation_takes_outputs_from_other_examples() {
    let model = tiny_model(6);
    // Eight copies of one example: every example's outputs are the same, so resampling is a
    // no-op, while the derangement is not the identity.
    let example = ood_set(Task::Sort, 6, 5, 1, 1)[0].examples[0].clone();
    let copies = Batch::new(vec![example; 8]);
    let set = pollster::block_on(AblationSet::new(
        &model,
        std::slice::from_ref(&copies),
        6,
        &device(),
    ))
    .unwrap();
    let all = model.components();
    let resampled =
        pollster::block_on(set.ablated_accuracy(&model, &all, Ablation::Resample)).unwrap();
    assert_eq!(resampled, set.base_accuracy);
}

/// Analyses a trained model and its snapshots.
fn analyse(trained: &Trained, run: TrainReport) -> SeedReport {
    pollster::block_on(SeedReport::analyse(
        &trained.model,
        run,
        &trained.snapshots,
        &mut (),
    ))
    .unwrap()
}

/// Trains the tiny config and analyses it.
fn trained_report(task: Task, seed: u64) -> (Transformer, SeedReport) {
    let config = tiny_config(task, seed);
    let (trained, run) =
        pollster::block_on(train_and_evaluate(&config, Backend::Cpu, &device(), |_| {})).unwrap();
    let report = analyse(&trained, run);
    (trained.model, report)
}

#[test]
fn a_report_holds_every_measurement_and_survives_json() {
    let (_, report) = trained_report(Task::Sort, 8);
    let analysis = report
        .analysis
        .as_ref()
        .expect("every length is analysable in the tiny config");
    assert_eq!(analysis.components.len(), 6);
    assert!(
        analysis
            .components
            .iter()
            .all(|c| c.grad > 0.0 && c.grad.is_finite())
    );
    for ablation in Ablation::ALL {
        assert_eq!(analysis.delta[&ablation].len(), 6);
        // Δ sums to zero: both are rank vectors of the same components.
        assert!(analysis.delta[&ablation].iter().sum::<f64>().abs() < 1e-9);
        assert_eq!(
            analysis.class[&ablation]
                .keys()
                .copied()
                .collect::<Vec<_>>(),
            vec![1, 2]
        );
    }
    assert_eq!(analysis.attention.heads.len(), 4);
    assert_eq!(analysis.attention.examples, 5);
    assert_eq!(analysis.layer_grad_norm.len(), 2);
    let json = serde_json::to_string(&report).unwrap();
    let back: SeedReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
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
        let parts = vec![Component::Mlp { layer: 0 }, Component::Mlp { layer: 1 }];
        analysis.pruning.heroes = Some(gradcause::analysis::JointAblation {
            components: parts.clone(),
            accuracy: analysis.base_accuracy + hero_change,
            change: hero_change,
        });
        analysis.superadditivity = Some(gradcause::analysis::superadditivity(
            parts,
            individual.to_vec(),
            joint,
        ));
        analysis.spearman.mean = Some(hero_change);
    };
    set(&mut b, -0.2, [0.02, 0.04], 0.40);
    let mut a = a;
    set(&mut a, -0.4, [0.0, 0.02], 0.20);

    let analysis = a.analysis.as_ref().unwrap();
    let heads_classed = analysis
        .components
        .iter()
        .zip(&analysis.class[&Ablation::Mean][&2])
        .filter(|(c, class)| matches!(c.name, Component::Head { .. }) && **class != Class::Aligned)
        .count();
    let summary = Summary::new(Task::Sort, &[a, b, skipped]);
    assert_eq!(summary.seeds, vec![10, 11, 12]);
    assert_eq!(summary.analysed(), 2);
    assert_eq!(summary.skipped.len(), 1);
    assert_eq!(summary.skipped[0].reason, "no OOD length in the window");
    let close = |x: Option<f64>, y: f64| (x.unwrap() - y).abs() < 1e-12;
    assert!(close(summary.pruning.heroes.mean, -0.3));
    assert!(close(summary.pruning.heroes.std, (0.02f64).sqrt()));
    assert!(close(summary.table1.mean.mean, -0.3));
    // Individual means 0.01 and 0.03 → 0.02; joint drops 0.2 and 0.4 → 0.3; ratio 15.
    assert!(close(summary.table4.individual_drop.mean, 0.02));
    assert!(close(summary.table4.joint_drop.mean, 0.3));
    assert!(close(summary.table4.ratio, 15.0));
    // Sums of individual drops 0.02 and 0.06 → 0.04: additive ratio 7.5.
    assert!(close(summary.table4.additive_ratio, 7.5));

    // Layer counts add up the heads' classes over the two analysed seeds (b is a copy of a).
    let counted: usize = summary
        .table5
        .at(Ablation::Mean, 2)
        .iter()
        .map(|c| c.heroes + c.bloats)
        .sum();
    assert_eq!(counted, 2 * heads_classed);
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
    let last = report.analysis.as_ref().unwrap().grad();
    assert_ne!(report.checkpoints[0].grad, last);
    let back: SeedReport = serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
    assert_eq!(back, report);
}

#[test]
fn single_ablations_resumed_mid_model_equal_whole_ablated_passes() {
    // Trained long enough to answer some examples, so the accuracies compared are not all 0.
    // Positions from 0 (`learned`): the tiny model learns those within the step budget.
    let mut config = tiny_config(Task::Reverse, 5);
    config.train.max_steps = 1500;
    config.model.positions = Positions::Learned;
    let trained = pollster::block_on(gradcause::train::train(&config, &device(), |_| {})).unwrap();
    let model = trained.model;
    let mut rng = Rng::new(5, Stream::TrainEval);
    let batches: Vec<Batch> = (0..2)
        .map(|_| Batch::generate(Task::Reverse, 16, 2, 4, &mut rng))
        .collect();
    let set = pollster::block_on(AblationSet::new(&model, &batches, 5, &device())).unwrap();
    assert!(
        set.base_accuracy > 0.0,
        "the check needs a model that answers something"
    );
    let single = pollster::block_on(set.single_ablation_accuracies(&model, &mut ())).unwrap();
    for (a, &ablation) in Ablation::ALL.iter().enumerate() {
        for (i, component) in model.components().into_iter().enumerate() {
            let whole =
                pollster::block_on(set.ablated_accuracy(&model, &[component], ablation)).unwrap();
            assert_eq!(single[a][i], whole, "{ablation} {component}");
        }
    }
}
