//! Gradient magnitude G (METHOD §5), attribution patching (§10) and the cheap scores
//! (`docs/scores.md`), each against the same quantity computed apart.

use burn::module::Param;
use burn::prelude::*;
use gradcause::analysis::ablation::{Ablation, AblationSet};
use gradcause::analysis::attribution::{GWeights, attribute, integrated_gradients};
use gradcause::engine::component::{Component, Intervention, Replacement};
use gradcause::engine::model::{Capture, Transformer};
use gradcause::engine::objective::{BatchTensors, loss};
use gradcause::engine::rng::{Rng, Stream};
use gradcause::engine::task::{Batch, Task, ood_set};

use crate::helpers::{
    clean_output, device, loss_on, loss_under, tiny_model, tiny_model_with_strong_mlps,
};

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
