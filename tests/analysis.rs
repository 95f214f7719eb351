//! The analysis (METHOD §5–10) on tiny models, natively on the CPU backend.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::module::Param;
use burn::prelude::*;
use common::tiny_config;
use gradcause::analysis::ablation::{Ablation, AblationSet};
use gradcause::analysis::analyze::{Class, ScorePruning};
use gradcause::analysis::attribution::{GWeights, attribute, integrated_gradients};
use gradcause::analysis::scores::{Score, least_important};
use gradcause::engine::backend::{Backend, parallel_width};
use gradcause::engine::component::{Component, Intervention, Replacement};
use gradcause::engine::eval::evaluate_ood;
use gradcause::engine::model::{Capture, Positions, Transformer};
use gradcause::engine::objective::{BatchTensors, loss};
use gradcause::engine::rng::{Rng, Stream};
use gradcause::engine::task::{Batch, Task, ood_set};
use gradcause::engine::train::Trained;
use gradcause::engine::weights::{from_safetensors, to_safetensors};
use gradcause::experiment::provenance::METHOD_REVISION;
use gradcause::experiment::report::{SeedReport, TrainReport, train_and_evaluate};
use gradcause::report::leaderboard::Leaderboard;
use gradcause::report::summary::Summary;

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

/// The loss of `model` on `batch`, in f64.
fn loss_on(model: &Transformer, batch: &Batch) -> f64 {
    loss_under(model, batch, &Intervention::none())
}

/// The loss of `model` on `batch` under `intervention`, in f64.
fn loss_under(model: &Transformer, batch: &Batch, intervention: &Intervention) -> f64 {
    let tensors = BatchTensors::new(batch, &device());
    let l: f32 = loss(
        model.forward(tensors.inputs.clone(), intervention),
        &tensors,
    )
    .into_scalar();
    f64::from(l)
}

/// ||∂L/∂W|| over head `head`'s slice of a layer's W_V or W_O, by central differences in f64 of
/// f32 losses.
fn head_gradient_norm(
    model: &Transformer,
    batch: &Batch,
    layer: usize,
    head: usize,
    which: &str,
) -> f64 {
    let param = |m: &Transformer| match which {
        "w_v" => m.blocks[layer].attn.w_v.val(),
        _ => m.blocks[layer].attn.w_o.val(),
    };
    let base: Vec<f32> = param(model).into_data().try_to_vec::<f32>().unwrap();
    let dims = param(model).dims();
    let per_head = dims[1] * dims[2];
    let eps = 1e-2f32;
    let mut squares = 0.0;
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
            loss_on(&m, batch)
        };
        let derivative = (nudged(eps) - nudged(-eps)) / (2.0 * f64::from(eps));
        squares += derivative * derivative;
    }
    squares.sqrt()
}

/// ||∂L/∂W_in|| and ||∂L/∂W_out|| of a layer's MLP, from one plain backward pass of the loss (no
/// probes, unlike the analysis), each gradient first checked against central differences of the
/// loss along a random direction (`⟨∇L, V⟩`).
fn mlp_gradient_norms(model: &Transformer, batch: &Batch, layer: usize) -> (f64, f64) {
    let trainable = model.clone().train();
    let tensors = BatchTensors::new(batch, &device());
    let gradients = loss(
        trainable.forward(tensors.inputs.clone(), &Intervention::none()),
        &tensors,
    )
    .backward();
    let mlp = &trainable.blocks[layer].mlp;
    let mut rng = Rng::new(layer as u64, Stream::Analysis);
    let mut checked_norm = |gradient: Tensor<2>, out: bool| -> f64 {
        let gradient: Vec<f32> = gradient.into_data().try_to_vec::<f32>().unwrap();
        let weight = |m: &Transformer| {
            let mlp = &m.blocks[layer].mlp;
            if out {
                mlp.w_out.weight.val()
            } else {
                mlp.w_in.weight.val()
            }
        };
        let dims = weight(model).dims();
        let base: Vec<f32> = weight(model).into_data().try_to_vec::<f32>().unwrap();
        let direction: Vec<f32> = base.iter().map(|_| rng.normal() as f32).collect();
        // Large enough that the f32 loss resolves the difference (its last bit is ~2e-7 of ~2).
        let eps = 1e-2f32;
        let nudged = |step: f32| {
            let values: Vec<f32> = base
                .iter()
                .zip(&direction)
                .map(|(w, v)| w + step * v)
                .collect();
            let mut m = model.clone();
            let p = Param::from_data(TensorData::new(values, dims), &device());
            if out {
                m.blocks[layer].mlp.w_out.weight = p;
            } else {
                m.blocks[layer].mlp.w_in.weight = p;
            }
            loss_on(&m, batch)
        };
        let finite = (nudged(eps) - nudged(-eps)) / (2.0 * f64::from(eps));
        let analytic: f64 = gradient
            .iter()
            .zip(&direction)
            .map(|(&g, &v)| f64::from(g) * f64::from(v))
            .sum();
        assert!(
            (finite - analytic).abs() <= 0.03 * analytic.abs() + 1e-4,
            "layer {layer} MLP {}: ⟨∇L, V⟩ {analytic}, by central differences {finite}",
            if out { "W_out" } else { "W_in" }
        );
        gradient
            .iter()
            .map(|&v| f64::from(v).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    (
        checked_norm(mlp.w_in.weight.grad(&gradients).unwrap(), false),
        checked_norm(mlp.w_out.weight.grad(&gradients).unwrap(), true),
    )
}

#[test]
fn gradient_magnitude_under_both_readings_matches_gradients_computed_apart() {
    let model = tiny_model(3);
    // Two batches of different content: G is the mean over batches of each batch's norm.
    let batches = ood_set(Task::Sort, 3, 5, 2, 4);
    let set = pollster::block_on(AblationSet::new(&model, &batches, 3, &device())).unwrap();
    let attribution = pollster::block_on(attribute(&model, &set, &mut ())).unwrap();
    let (d_model, d_head, d_ff) = (32.0f64, 16.0f64, 64.0f64);
    let close = |got: f64, expected: f64, what: &str| {
        assert!(
            (got - expected).abs() < 0.03 * expected,
            "{what}: G = {got}, computed apart {expected}"
        );
    };

    // A head: W_V alone over √(d_model·d_head); W_V and W_O together over √(2·d_model·d_head).
    let (layer, head) = (1, 0);
    let head_index = Component::Head { layer, head }.index(2);
    let norms_of = |which: &str| -> Vec<f64> {
        batches
            .iter()
            .map(|b| head_gradient_norm(&model, b, layer, head, which))
            .collect()
    };
    let (wv_norms, wo_norms) = (norms_of("w_v"), norms_of("w_o"));
    let raw = (wv_norms[0] + wv_norms[1]) / 2.0;
    close(
        attribution.grad[&GWeights::WvWout][head_index],
        raw / (d_model * d_head).sqrt(),
        "head, wv-wout",
    );
    let both = (0..2)
        .map(|b| (wv_norms[b].powi(2) + wo_norms[b].powi(2)).sqrt())
        .sum::<f64>()
        / 2.0;
    close(
        attribution.grad[&GWeights::WvoInout][head_index],
        both / (2.0 * d_model * d_head).sqrt(),
        "head, wvo-inout",
    );
    // Figure 4's raw norm is the W_V norm itself: √N times the default reading.
    let got_raw = attribution.wv_raw[head_index].unwrap();
    close(got_raw, raw, "head, raw W_V");
    let scaled = attribution.grad[&GWeights::WvWout][head_index] * (d_model * d_head).sqrt();
    assert!((got_raw - scaled).abs() <= 1e-5 * got_raw);

    // An MLP: W_out alone over √(d_ff·d_model); W_in and W_out over √(2·d_model·d_ff).
    let mlp_index = Component::Mlp { layer: 0 }.index(2);
    let norms: Vec<(f64, f64)> = batches
        .iter()
        .map(|b| mlp_gradient_norms(&model, b, 0))
        .collect();
    close(
        attribution.grad[&GWeights::WvWout][mlp_index],
        norms.iter().map(|n| n.1).sum::<f64>() / 2.0 / (d_ff * d_model).sqrt(),
        "MLP, wv-wout",
    );
    close(
        attribution.grad[&GWeights::WvoInout][mlp_index],
        norms
            .iter()
            .map(|(a, b)| (a * a + b * b).sqrt())
            .sum::<f64>()
            / 2.0
            / (2.0 * d_model * d_ff).sqrt(),
        "MLP, wvo-inout",
    );
    assert_eq!(attribution.wv_raw[mlp_index], None);
}

#[test]
fn mean_ablation_per_position_over_a_single_example_changes_nothing() {
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
    for (component, mean) in model
        .components()
        .into_iter()
        .zip(set.means(Ablation::MeanPos))
    {
        let ablated = logits(
            &model,
            &one,
            &Intervention::none().with(component, Replacement::Value(mean.clone())),
        );
        assert!(max_difference(&clean, &ablated) < 1e-5, "{component}");
    }
    let all = model.components();
    let accuracy =
        pollster::block_on(set.ablated_accuracy(&model, &all, Ablation::MeanPos)).unwrap();
    assert_eq!(accuracy, set.base_accuracy);
}

#[test]
fn the_means_are_averages_of_the_recorded_outputs() {
    let model = tiny_model(4);
    // Two batches of different content and sizes.
    let batches = vec![
        ood_set(Task::Sort, 4, 5, 1, 3)[0].clone(),
        ood_set(Task::Sort, 40, 5, 1, 5)[0].clone(),
    ];
    let set = pollster::block_on(AblationSet::new(&model, &batches, 4, &device())).unwrap();
    let capture = Capture {
        outputs: true,
        attention: false,
        residuals: false,
    };
    // Every recorded output, per component: [examples][positions][d_model].
    let components = model.components();
    let mut recorded: Vec<Vec<Vec<Vec<f32>>>> = vec![Vec::new(); components.len()];
    for batch in &batches {
        let inputs = BatchTensors::new(batch, &device()).inputs;
        let run = model.run(inputs, &Intervention::none(), capture);
        for (i, output) in run.outputs.into_iter().enumerate() {
            let [size, positions, d] = output.dims();
            let values: Vec<f32> = output.into_data().try_to_vec().unwrap();
            for e in 0..size {
                recorded[i].push(
                    (0..positions)
                        .map(|p| values[(e * positions + p) * d..][..d].to_vec())
                        .collect(),
                );
            }
        }
    }
    let mut positions_differ = false;
    for (i, component) in components.iter().enumerate() {
        let examples = &recorded[i];
        assert_eq!(examples.len(), 8);
        let (positions, d) = (examples[0].len(), examples[0][0].len());
        let average = |cells: &mut dyn Iterator<Item = &Vec<f32>>| {
            let mut sum = vec![0.0f64; d];
            let mut count = 0.0;
            for cell in cells {
                for (s, &v) in sum.iter_mut().zip(cell) {
                    *s += f64::from(v);
                }
                count += 1.0;
            }
            sum.into_iter().map(|s| s / count).collect::<Vec<f64>>()
        };
        let overall = average(&mut examples.iter().flatten());
        let read = |t: &Tensor<3>| -> Vec<f32> { t.clone().into_data().try_to_vec().unwrap() };
        let (one_vector, per_position) = (
            read(&set.means(Ablation::Mean)[i]),
            read(&set.means(Ablation::MeanPos)[i]),
        );
        for p in 0..positions {
            let at_p = average(&mut examples.iter().map(|e| &e[p]));
            for k in 0..d {
                let (mean, mean_pos) = (one_vector[p * d + k], per_position[p * d + k]);
                // One vector, the same at every position: the mean over examples and positions.
                assert!(
                    (f64::from(mean) - overall[k]).abs() < 1e-4,
                    "{component} mean"
                );
                assert!(
                    (f64::from(mean_pos) - at_p[k]).abs() < 1e-4,
                    "{component} mean-pos"
                );
                positions_differ |= (at_p[k] - overall[k]).abs() > 1e-2;
            }
        }
    }
    assert!(
        positions_differ,
        "the model's outputs depend on position, so the two means differ"
    );
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
fn zero_ablation_replaces_an_mlps_output_bias_included_by_exact_zeros() {
    let mut model = tiny_model(6);
    // A clear output bias in every MLP, so an ablation that kept it would show.
    for block in &mut model.blocks {
        let bias = block.mlp.w_out.bias.as_mut().unwrap();
        *bias = Param::from_tensor(bias.val().ones_like().mul_scalar(0.5));
    }
    let batches = ood_set(Task::Sort, 6, 5, 2, 8);
    let set = pollster::block_on(AblationSet::new(&model, &batches, 6, &device())).unwrap();
    let single = pollster::block_on(set.single_ablations(&model, &mut ())).unwrap();
    let zero = Ablation::ALL
        .iter()
        .position(|&a| a == Ablation::Zero)
        .unwrap();
    let capture = Capture {
        outputs: true,
        attention: false,
        residuals: false,
    };
    for layer in 0..model.layers() {
        let mlp = Component::Mlp { layer };
        let i = mlp.index(model.heads());
        // What the zero-ablated MLP passes on: every element exactly 0.
        let inputs = BatchTensors::new(&batches[0], &device()).inputs;
        let passed = model
            .run(inputs, &Intervention::zero([mlp]), capture)
            .outputs
            .swap_remove(i);
        let passed = passed.into_data().try_to_vec::<f32>().unwrap();
        assert!(passed.iter().all(|&x| x == 0.0), "{mlp} passes {passed:?}");
        // The analysis' zero ablation: the loss change of the MLP's output weights and bias
        // zeroed by hand.
        let mut by_hand = model.clone();
        let w_out = &mut by_hand.blocks[layer].mlp.w_out;
        w_out.weight = Param::from_tensor(w_out.weight.val().zeros_like());
        let bias = w_out.bias.as_mut().unwrap();
        *bias = Param::from_tensor(bias.val().zeros_like());
        let expected = batches
            .iter()
            .map(|b| loss_on(&by_hand, b) - loss_on(&model, b))
            .sum::<f64>()
            / batches.len() as f64;
        let got = single.loss_change[zero][i];
        assert!(
            (got - expected).abs() < 1e-4 * expected.abs().max(1.0),
            "{mlp}: {got} against {expected}"
        );
    }
}

/// Component `i`'s clean output on `batch`, `[examples, positions, d_model]`.
fn clean_output(model: &Transformer, batch: &Batch, i: usize) -> Tensor<3> {
    let capture = Capture {
        outputs: true,
        attention: false,
        residuals: false,
    };
    let inputs = BatchTensors::new(batch, &device()).inputs;
    model
        .run(inputs, &Intervention::none(), capture)
        .outputs
        .swap_remove(i)
}

#[test]
fn resample_ablation_takes_outputs_from_other_examples() {
    let model = tiny_model(6);
    // Two batches of distinct examples.
    let batches = ood_set(Task::Sort, 6, 5, 2, 6);
    let set = pollster::block_on(AblationSet::new(&model, &batches, 6, &device())).unwrap();
    let singles = pollster::block_on(set.single_ablations(&model, &mut ())).unwrap();
    let resample = Ablation::ALL
        .iter()
        .position(|&a| a == Ablation::Resample)
        .unwrap();
    // The derangements METHOD §6 names: one per batch, in order, from the seed's analysis stream;
    // none leaves an example its own output.
    let mut rng = Rng::new(6, Stream::Analysis);
    let derangements: Vec<Vec<usize>> = batches.iter().map(|b| rng.derangement(b.size)).collect();
    for order in &derangements {
        assert!(order.iter().enumerate().all(|(e, &from)| e != from));
    }
    let mut moved = false;
    for (i, &component) in model.components().iter().enumerate() {
        // Example e takes the output of example order[e], swapped by hand.
        let mut change = 0.0;
        for (batch, order) in batches.iter().zip(&derangements) {
            let output = clean_output(&model, batch, i);
            let dims = output.dims();
            let per_example = dims[1] * dims[2];
            let values: Vec<f32> = output.into_data().try_to_vec().unwrap();
            let swapped: Vec<f32> = order
                .iter()
                .flat_map(|&from| values[from * per_example..][..per_example].to_vec())
                .collect();
            let swapped = Tensor::from_data(TensorData::new(swapped, dims), &device());
            let intervention = Intervention::none().with(component, Replacement::Value(swapped));
            change += (loss_under(&model, batch, &intervention) - loss_on(&model, batch))
                / batches.len() as f64;
        }
        let got = singles.loss_change[resample][i];
        assert!(
            (got - change).abs() <= 1e-4 + 1e-3 * change.abs(),
            "{component}: resample ablation's loss change {got}, swapped by hand {change}"
        );
        moved |= change.abs() > 1e-3;
    }
    assert!(moved, "the examples differ, so resampling changes the loss");
}

#[test]
fn attribution_patching_is_the_loss_slope_toward_each_mean() {
    let model = tiny_model(7);
    let batches = ood_set(Task::Sort, 7, 5, 2, 4);
    let set = pollster::block_on(AblationSet::new(&model, &batches, 7, &device())).unwrap();
    let attribution = pollster::block_on(attribute(&model, &set, &mut ())).unwrap();
    let eps = 1e-2;
    let mut largest = 0.0f64;
    for mean in Ablation::MEANS {
        for (i, &component) in model.components().iter().enumerate() {
            // d/ds L(o + s(μ − o)) at s = 0 by central differences, averaged over the batches.
            let mut slope = 0.0;
            for batch in &batches {
                let output = clean_output(&model, batch, i);
                let toward = set.means(mean)[i].clone() - output.clone();
                let step = |s: f64| {
                    let value = output.clone() + toward.clone().mul_scalar(s);
                    loss_under(
                        &model,
                        batch,
                        &Intervention::none().with(component, Replacement::Value(value)),
                    )
                };
                slope += (step(eps) - step(-eps)) / (2.0 * eps) / batches.len() as f64;
            }
            let a = attribution.patching[&mean][i];
            assert!(
                (a - slope).abs() <= 0.02 * slope.abs() + 2e-4,
                "{component} toward the {mean} mean: A = {a}, the loss's slope {slope}"
            );
            largest = largest.max(slope.abs());
        }
    }
    assert!(
        largest > 1e-2,
        "some component's mean moves the loss: {largest}"
    );
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
    let (model, report) = trained_report(Task::Sort, 8);
    let analysis = report
        .analysis
        .as_ref()
        .expect("every length is analysable in the tiny config");
    assert_eq!(analysis.components.len(), 6);
    for c in &analysis.components {
        assert_eq!(c.grad.len(), 2, "G under both readings");
        assert!(c.grad.values().all(|g| *g > 0.0 && g.is_finite()));
        assert_eq!(c.causal.len(), 4, "C under all four ablations");
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
    let old = include_str!("golden/report-before-2026-12-02.json");
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
    let old = include_str!("golden/report-before-scores.json");
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
    assert!(analysis.score(Score::Taylor).is_none());

    // Its paper numbers are summarised; the leaderboard names it as without scores.
    let summary = Summary::new(Task::Sort, std::slice::from_ref(&report), GWeights::WvWout);
    assert_eq!(summary.analysed(), 1);
    assert!(summary.table1.of(Ablation::Mean).mean.is_some());
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
    let summary = Summary::new(Task::Sort, &[a, b, skipped], GWeights::WvWout);
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

#[test]
fn single_ablations_resumed_mid_model_equal_whole_ablated_passes() {
    // Trained long enough to answer some examples, so the accuracies compared are not all 0.
    // Positions from 0 (`learned`): the tiny model learns those within the step budget.
    let mut config = tiny_config(Task::Reverse, 5);
    config.train.max_steps = 1500;
    config.model.positions = Positions::Learned;
    let trained =
        pollster::block_on(gradcause::engine::train::train(&config, &device(), |_| {})).unwrap();
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
    let single = pollster::block_on(set.single_ablations(&model, &mut ())).unwrap();
    for (a, &ablation) in Ablation::ALL.iter().enumerate() {
        for (i, component) in model.components().into_iter().enumerate() {
            let whole =
                pollster::block_on(set.ablated_accuracy(&model, &[component], ablation)).unwrap();
            assert_eq!(single.accuracy[a][i], whole, "{ablation} {component}");
        }
    }
    // The loss change: the mean over batches of the ablated loss less the clean one, each loss
    // here from a whole pass with the replacement made by hand.
    for (a, ablation) in [(0, Ablation::Mean), (2, Ablation::Zero)] {
        for (i, component) in model.components().into_iter().enumerate() {
            let replacement = match ablation {
                Ablation::Zero => Replacement::Zero,
                _ => Replacement::Value(set.means(ablation)[i].clone()),
            };
            let intervention = Intervention::none().with(component, replacement);
            let expected = batches
                .iter()
                .map(|b| loss_under(&model, b, &intervention) - loss_on(&model, b))
                .sum::<f64>()
                / 2.0;
            let got = single.loss_change[a][i];
            assert!(
                (got - expected).abs() < 1e-4 * expected.abs().max(1.0),
                "{ablation} {component}: {got} against {expected}"
            );
        }
    }
    // Sets ablated together, in one shared pass resuming at each set's earliest block, equal
    // whole ablated passes; a set starting in the last layer and one spanning both included.
    let parse =
        |names: &[&str]| -> Vec<Component> { names.iter().map(|n| n.parse().unwrap()).collect() };
    let sets: Vec<(Vec<Component>, Ablation)> = Ablation::ALL
        .iter()
        .flat_map(|&a| {
            [
                (parse(&["L1_H0", "L1_MLP"]), a),
                (parse(&["L0_MLP", "L1_H1"]), a),
                (parse(&["L0_H0"]), a),
            ]
        })
        .collect();
    let joint = pollster::block_on(set.joint_ablation_accuracies(&model, &sets, 2)).unwrap();
    let mut changed = false;
    for ((components, ablation), accuracy) in sets.iter().zip(&joint) {
        let whole =
            pollster::block_on(set.ablated_accuracy(&model, components, *ablation)).unwrap();
        assert_eq!(*accuracy, whole, "{ablation} {components:?}");
        changed |= whole != set.base_accuracy;
    }
    assert!(
        changed,
        "some ablation changes the accuracy, so the check can fail"
    );
}

/// [`tiny_model`] with MLP weights as large as its attention's, so every component matters.
fn tiny_model_with_strong_mlps(seed: u64) -> Transformer {
    let mut model = tiny_model(seed);
    for block in &mut model.blocks {
        for linear in [&mut block.mlp.w_in, &mut block.mlp.w_out] {
            linear.weight = Param::from_tensor(linear.weight.val().mul_scalar(10.0));
        }
    }
    model
}

/// `mean_b Σ_e |∂L_b/∂ξ_e|`: a mask ξ_e on `component`'s output in each example, its gradient at
/// ξ = 1 (Michel et al.'s head importance, with L_e = size · L_b's share), by autodiff of a pass
/// whose only change is `o · (ξ − 1)` added to the output.
fn mask_gradient(model: &Transformer, batches: &[Batch], component: Component) -> f64 {
    let trainable = model.clone().train().no_grad();
    let capture = Capture {
        outputs: true,
        attention: false,
        residuals: false,
    };
    let index = component.index(model.heads());
    let mut total = 0.0;
    for batch in batches {
        let tensors = BatchTensors::new(batch, &device());
        let clean = model.run(tensors.inputs.clone(), &Intervention::none(), capture);
        let mask = Tensor::<3>::ones([batch.size, 1, 1], &trainable.device()).require_grad();
        let shift = clean.outputs[index].clone() * (mask.clone() - 1.0);
        let intervention = Intervention::none().with(component, Replacement::Shifted(shift));
        let run = trainable.run(tensors.inputs.clone(), &intervention, Capture::default());
        let gradients = loss(run.logits, &tensors).backward();
        let per_example: Vec<f32> = mask
            .grad(&gradients)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        total += per_example.iter().map(|&g| f64::from(g).abs()).sum::<f64>();
    }
    total / batches.len() as f64
}

/// `mean_b |d/dε L_b(W(1 + ε))|` at ε = 0 for a head's W_V slice or an MLP's W_out, by central
/// differences: the derivative of scaling the weights is Σ θ · ∂L/∂θ.
fn scaling_derivative(model: &Transformer, batches: &[Batch], component: Component) -> f64 {
    let eps = 1e-2f32;
    let scaled = |factor: f32| -> Transformer {
        let mut m = model.clone();
        match component {
            Component::Head { layer, head } => {
                let w = m.blocks[layer].attn.w_v.val();
                let dims = w.dims();
                let mut values: Vec<f32> = w.into_data().try_to_vec::<f32>().unwrap();
                let per_head = dims[1] * dims[2];
                for v in &mut values[head * per_head..(head + 1) * per_head] {
                    *v *= factor;
                }
                m.blocks[layer].attn.w_v =
                    Param::from_data(TensorData::new(values, dims), &device());
            }
            Component::Mlp { layer } => {
                let w = m.blocks[layer].mlp.w_out.weight.val();
                m.blocks[layer].mlp.w_out.weight = Param::from_tensor(w.mul_scalar(factor));
            }
        }
        m
    };
    let (up, down) = (scaled(1.0 + eps), scaled(1.0 - eps));
    batches
        .iter()
        .map(|b| ((loss_on(&up, b) - loss_on(&down, b)) / (2.0 * f64::from(eps))).abs())
        .sum::<f64>()
        / batches.len() as f64
}

#[test]
fn gradient_times_activation_and_taylor_importance_match_what_they_are_defined_as() {
    let model = tiny_model_with_strong_mlps(5);
    // Two batches of different content and four examples each: the scores average batches and,
    // for gradient × activation, the examples' absolute values.
    let batches = ood_set(Task::Sort, 5, 5, 2, 4);
    let set = pollster::block_on(AblationSet::new(&model, &batches, 5, &device())).unwrap();
    let attribution = pollster::block_on(attribute(&model, &set, &mut ())).unwrap();
    for component in [
        Component::Head { layer: 1, head: 1 },
        Component::Head { layer: 0, head: 0 },
        Component::Mlp { layer: 0 },
    ] {
        let i = component.index(2);
        let (got, expected) = (
            attribution.grad_x_activation[i],
            mask_gradient(&model, &batches, component),
        );
        assert!(expected > 1e-4, "{component}: a score that can be wrong");
        assert!(
            (got - expected).abs() < 1e-3 * expected,
            "{component} gradient × activation: {got} against the mask's {expected}"
        );
        let (got, expected) = (
            attribution.taylor[i],
            scaling_derivative(&model, &batches, component),
        );
        assert!(
            expected > 1e-4,
            "{component}: a score that can be wrong, {got} {expected}"
        );
        assert!(
            (got - expected).abs() < 0.03 * expected,
            "{component} Taylor: {got} against scaling's {expected}"
        );
    }
}

#[test]
fn integrated_gradients_add_up_to_mean_ablations_loss_change() {
    let model = tiny_model_with_strong_mlps(7);
    let batches = ood_set(Task::Sort, 7, 5, 2, 4);
    let set = pollster::block_on(AblationSet::new(&model, &batches, 7, &device())).unwrap();
    let single = pollster::block_on(set.single_ablations(&model, &mut ())).unwrap();
    let change = &single.loss_change[0]; // mean ablation, one vector
    let ig =
        |steps| pollster::block_on(integrated_gradients(&model, &set, steps, 2, &mut ())).unwrap();
    let (fine, coarse) = (ig(32), ig(2));
    let mut checked = 0;
    for (i, component) in model.components().into_iter().enumerate() {
        if change[i].abs() < 1e-2 {
            continue;
        }
        checked += 1;
        let (fine_error, coarse_error) =
            ((fine[i] - change[i]).abs(), (coarse[i] - change[i]).abs());
        assert!(
            fine_error < 0.01 * change[i].abs(),
            "{component}: IG(32) {} against the loss change {}",
            fine[i],
            change[i]
        );
        assert!(
            coarse_error > fine_error,
            "{component}: two steps ({}) are no worse than 32 ({})",
            coarse[i],
            fine[i]
        );
    }
    assert!(
        checked >= 2,
        "components whose ablation changes the loss: {change:?}"
    );
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
