//! First-order attributions: gradient magnitude (METHOD §5) and attribution patching (§10).
//!
//! For each batch b of the evaluation set, with L_b its loss:
//! - `G_i = mean_b ||∇_{W_i} L_b||_F / √N_i` under both readings of W_i ([`GWeights`]): a head's
//!   W_V slice and an MLP's W_out (the default), or a head's W_V and W_O slices together and an
//!   MLP's W_in and W_out; and the first without the √N (the published pipeline's raw norm);
//!   each head's raw `mean_b ||∇_{W_V} L_b||_F` is kept for Figure 4;
//! - `A_i = mean_b Σ_{examples, positions} (μ_i − o_i) · ∂L_b/∂o_i` toward each reading of the
//!   mean (one vector, per position), the first-order estimate of the loss change under that
//!   mean ablation (with equal batches, the mean over examples of the sum over positions against
//!   each example's own loss);
//! - gradient × activation, `mean_b mean_e |Σ_positions o_i · ∂L_e/∂o_i|` against each example's
//!   own loss L_e (Michel et al., 2019);
//! - Taylor importance, `mean_b |Σ_θ θ · ∂L_b/∂θ|` over a head's W_V slice or an MLP's W_out
//!   (Molchanov et al., 2017).
//!
//! One forward and one backward pass per batch give all of them: the output gradients come from
//! zero tensors added to every component's output. [`integrated_gradients`] needs a pass per
//! component and step, and runs on a few batches.

use std::collections::BTreeMap;

use burn::prelude::*;
use burn::tensor::ExecutionError;
use serde::{Deserialize, Serialize};

use crate::analysis::ablation::{Ablation, AblationSet};
use crate::analysis::replay;
use crate::engine::backend::{map_parallel, parallel_rounds};
use crate::engine::component::{Component, Intervention, Replacement};
use crate::engine::model::{Capture, Forward, Transformer};
use crate::engine::named::named_enum;
use crate::engine::objective::{BatchTensors, loss};
use crate::engine::progress::Observer;

named_enum! {
    /// Which weights a component's gradient magnitude G is measured on (METHOD §5).
    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub enum GWeights("G weights") {
        /// A head's W_V slice (N = d_model · d_head), an MLP's W_out (N = d_ff · d_model): the
        /// paper's "we isolate W_V and W_out".
        WvWout = "wv-wout",
        /// A head's W_V and W_O slices together (N = 2 · d_model · d_head), an MLP's W_in and
        /// W_out (N = 2 · d_model · d_ff): METHOD's earlier reading.
        WvoInout = "wvo-inout",
        /// The weights of [`GWeights::WvWout`] without the √N: the published pipeline's raw norm
        /// (METHOD §11), under which an MLP's 16× more weights weigh in.
        WvWoutRaw = "wv-wout-raw",
    }
}

/// The attributions of every component, in canonical order.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribution {
    /// Gradient magnitude G under each reading.
    pub grad: BTreeMap<GWeights, Vec<f64>>,
    /// Each head's raw W_V gradient norm `mean_b ||∇_{W_V} L_b||_F`; `None` for MLPs.
    pub wv_raw: Vec<Option<f64>>,
    /// Attribution patching A toward each mean (`Mean`, `MeanPos`).
    pub patching: BTreeMap<Ablation, Vec<f64>>,
    /// Gradient × activation.
    pub grad_x_activation: Vec<f64>,
    /// Taylor importance on G's default weights.
    pub taylor: Vec<f64>,
}

/// Frobenius norm squared of `t` per slice along axis 0, `[slices]`.
fn squared_norms(t: Tensor<3>) -> Tensor<1> {
    t.powi_scalar(2).sum_dims_squeeze::<1, _>(&[1, 2])
}

/// One batch's contribution, each `[components]` in canonical order but `wv_raw` (`[heads of
/// every layer]`): ‖∇W_i L_b‖/√N_i per reading, ‖∇W_V L_b‖ per head,
/// Σ (μ_i − o_i)·∂L_b/∂o_i per mean, gradient × activation and Taylor importance.
struct BatchAttribution {
    grad: [Tensor<1>; 3],
    wv_raw: Tensor<1>,
    patching: [Tensor<1>; 2],
    grad_x_activation: Tensor<1>,
    taylor: Tensor<1>,
}

/// G and A over the batches of `set`, whose means serve as μ; batches run
/// [`crate::engine::backend::parallel_width`] at a time, each in its own autodiff graph.
pub async fn attribute(
    model: &Transformer,
    set: &AblationSet,
    observer: &mut impl Observer,
) -> Result<Attribution, ExecutionError> {
    let components = model.components();
    let heads = model.heads();
    let device = set.batches()[0].mask.device();
    let batches = set.batch_count();
    let zeros = |n: usize| Tensor::<1>::zeros([n], &device);
    let mut grad_sum = GWeights::ALL.map(|_| zeros(components.len()));
    let mut wv_sum = zeros(model.layers() * heads);
    let mut patching_sum = [zeros(components.len()), zeros(components.len())];
    let mut gxa_sum = zeros(components.len());
    let mut taylor_sum = zeros(components.len());
    for round in parallel_rounds(&device, batches) {
        let end = round.end;
        for part in map_parallel(&device, round, |b| attribute_batch(model, set, b)) {
            grad_sum = add_each(grad_sum, part.grad);
            wv_sum = wv_sum + part.wv_raw;
            patching_sum = add_each(patching_sum, part.patching);
            gxa_sum = gxa_sum + part.grad_x_activation;
            taylor_sum = taylor_sum + part.taylor;
        }
        observer.progress("gradients", end, batches).await;
    }

    let read = |t: Tensor<1>| async move {
        let values = t.into_data_async().await?.try_to_vec::<f32>().expect("f32");
        Ok::<_, ExecutionError>(
            values
                .into_iter()
                .map(|v| f64::from(v) / batches as f64)
                .collect::<Vec<_>>(),
        )
    };
    let mut grad = BTreeMap::new();
    for (g, sum) in GWeights::ALL.into_iter().zip(grad_sum) {
        grad.insert(g, read(sum).await?);
    }
    let mut patching = BTreeMap::new();
    for (mean, sum) in Ablation::MEANS.into_iter().zip(patching_sum) {
        patching.insert(mean, read(sum).await?);
    }
    let wv = read(wv_sum).await?;
    let wv_raw = components
        .iter()
        .map(|c| match *c {
            Component::Head { layer, head } => Some(wv[layer * heads + head]),
            Component::Mlp { .. } => None,
        })
        .collect();
    Ok(Attribution {
        grad,
        wv_raw,
        patching,
        grad_x_activation: read(gxa_sum).await?,
        taylor: read(taylor_sum).await?,
    })
}

/// `a[i] + b[i]` for each i.
fn add_each<const N: usize>(a: [Tensor<1>; N], b: [Tensor<1>; N]) -> [Tensor<1>; N] {
    let mut b = b.into_iter();
    a.map(|a| a + b.next().expect("as many as a"))
}

/// One forward and one backward pass over batch `b` of `set`, in a graph of its own.
fn attribute_batch(model: &Transformer, set: &AblationSet, b: usize) -> BatchAttribution {
    let batch = &set.batches()[b];
    let trainable = model.clone().train();
    let components = model.components();
    let [_, d_head, d_model] = model.blocks[0].attn.w_o.dims();
    let [_, d_ff] = model.blocks[0].mlp.w_in.weight.dims();
    let scale = |n: usize| 1.0 / (n as f64).sqrt();

    let [size, positions] = batch.inputs.dims();
    let ad_device = trainable.device();
    let probes: Vec<Tensor<3>> = components
        .iter()
        .map(|_| Tensor::zeros([size, positions, d_model], &ad_device).require_grad())
        .collect();
    let intervention = components
        .iter()
        .zip(&probes)
        .fold(Intervention::none(), |i, (&c, probe)| {
            i.with(c, Replacement::Shifted(probe.clone()))
        });
    let capture = Capture {
        outputs: true,
        attention: false,
        residuals: false,
    };
    let run = trainable.run(batch.inputs.clone(), &intervention, capture);
    let gradients = loss(run.logits, batch).backward();

    // Per layer: its heads, then its MLP, as in the canonical order.
    let (mut wv_wout, mut wvo_inout, mut raw) = (Vec::new(), Vec::new(), Vec::new());
    let mut wv_raw = Vec::with_capacity(model.layers());
    let mut taylor = Vec::with_capacity(components.len());
    for block in &trainable.blocks {
        let grad = |p: &burn::module::Param<Tensor<3>>| p.grad(&gradients).expect("a gradient");
        let d_wv = grad(&block.attn.w_v);
        taylor.push(
            (block.attn.w_v.val().inner() * d_wv.clone())
                .sum_dims_squeeze::<1, _>(&[1, 2])
                .abs(),
        );
        let wv = squared_norms(d_wv);
        let wo = squared_norms(grad(&block.attn.w_o));
        let wv_norm = wv.clone().sqrt();
        wv_wout.push(wv_norm.clone().mul_scalar(scale(d_model * d_head)));
        wvo_inout.push((wv + wo).sqrt().mul_scalar(scale(2 * d_model * d_head)));
        raw.push(wv_norm.clone());
        wv_raw.push(wv_norm);
        let w_in = block.mlp.w_in.weight.grad(&gradients).expect("a gradient");
        let w_out = block.mlp.w_out.weight.grad(&gradients).expect("a gradient");
        taylor.push(
            (block.mlp.w_out.weight.val().inner() * w_out.clone())
                .sum()
                .abs(),
        );
        let out = w_out.powi_scalar(2).sum();
        raw.push(out.clone().sqrt());
        wv_wout.push(out.clone().sqrt().mul_scalar(scale(d_ff * d_model)));
        let in_out = w_in.powi_scalar(2).sum() + out;
        wvo_inout.push(in_out.sqrt().mul_scalar(scale(2 * d_model * d_ff)));
    }
    let outputs: Vec<Tensor<3>> = run.outputs.into_iter().map(|o| o.inner()).collect();
    let d_outputs: Vec<Tensor<3>> = probes
        .iter()
        .map(|probe| probe.grad(&gradients).expect("a gradient"))
        .collect();
    let patching = Ablation::MEANS.map(|mean| {
        let parts: Vec<Tensor<1>> = outputs
            .iter()
            .zip(&d_outputs)
            .zip(set.means(mean))
            .map(|((output, d_output), mu)| {
                ((mu.clone() - output.clone()) * d_output.clone()).sum()
            })
            .collect();
        Tensor::cat(parts, 0)
    });
    // L_b is the mean of the examples' losses (equal lengths), so ∂L_e/∂o = size · ∂L_b/∂o and
    // the mean over examples of |Σ o · ∂L_e/∂o| is the sum over them of |Σ o · ∂L_b/∂o|.
    let grad_x_activation = outputs
        .iter()
        .zip(&d_outputs)
        .map(|(output, d_output)| {
            (output.clone() * d_output.clone())
                .sum_dims_squeeze::<1, _>(&[1, 2])
                .abs()
                .sum()
        })
        .collect();
    BatchAttribution {
        grad: [wv_wout, wvo_inout, raw].map(|parts| Tensor::cat(parts, 0)),
        wv_raw: Tensor::cat(wv_raw, 0),
        patching,
        grad_x_activation: Tensor::cat(grad_x_activation, 0),
        taylor: Tensor::cat(taylor, 0),
    }
}

/// Integrated gradients of every component's output from its one-vector mean μ_i to its value
/// o_i, on the first `batches` batches of `set` (all of them when there are fewer), with `steps`
/// midpoint Riemann steps:
/// `IG_i = mean_b Σ_{examples, positions} (μ_i − o_i) · (1/steps) Σ_j ∂L_b/∂v at
/// v = μ_i + (j − ½)/steps · (o_i − μ_i)`, every other component at its clean value. By
/// completeness it tends to `mean_b L_b(o_i ← μ_i) − L_b`, mean ablation's loss change, as the
/// steps grow. Per batch and component: one rerun from the component's block over `steps`
/// copies of the batch, and one backward pass.
pub async fn integrated_gradients(
    model: &Transformer,
    set: &AblationSet,
    steps: usize,
    batches: usize,
    observer: &mut impl Observer,
) -> Result<Vec<f64>, ExecutionError> {
    let device = set.batches()[0].mask.device();
    let components = model.components();
    let batches = batches.clamp(1, set.batch_count());
    // Gradients flow to the interpolated outputs only, not to the weights.
    let differentiable = model.clone().train().no_grad();
    let mut sum = Tensor::<1>::zeros([components.len()], &device);
    for round in parallel_rounds(&device, batches) {
        let end = round.end;
        for part in map_parallel(&device, round, |b| {
            let batch = &set.batches()[b];
            let capture = Capture {
                outputs: true,
                attention: false,
                residuals: true,
            };
            let clean = model.run(batch.inputs.clone(), &Intervention::none(), capture);
            let parts: Vec<Tensor<1>> = components
                .iter()
                .map(|&c| integrated_gradient(&differentiable, set, batch, &clean, c, steps))
                .collect();
            Tensor::cat(parts, 0)
        }) {
            sum = sum + part;
        }
        observer
            .progress("integrated gradients", end, batches)
            .await;
    }
    let values = sum
        .into_data_async()
        .await?
        .try_to_vec::<f32>()
        .expect("f32");
    Ok(values
        .into_iter()
        .map(|v| f64::from(v) / batches as f64)
        .collect())
}

/// `Σ (μ − o) · (1/steps) Σ_j ∂L/∂v_j` for `component` on one batch, a `[1]` tensor, from the
/// batch's clean pass (outputs and residuals).
fn integrated_gradient(
    differentiable: &Transformer,
    set: &AblationSet,
    batch: &BatchTensors,
    clean: &Forward,
    component: Component,
    steps: usize,
) -> Tensor<1> {
    let index = component.index(differentiable.heads());
    let output = clean.outputs[index].clone();
    let mean = set.means(Ablation::Mean)[index].clone();
    let points: Vec<Tensor<3>> = (0..steps)
        .map(|j| {
            let alpha = (j as f64 + 0.5) / steps as f64;
            (mean.clone() + (output.clone() - mean.clone()).mul_scalar(alpha))
                .autodiff()
                .require_grad()
        })
        .collect();
    let interventions: Vec<Intervention> = points
        .iter()
        .map(|v| Intervention::none().with(component, Replacement::Value(v.clone())))
        .collect();
    let logits = replay::replacing_each(
        differentiable,
        clean,
        component,
        &interventions,
        batch.answer_span,
    );
    let total = logits
        .into_iter()
        .map(|logits| loss(logits, batch))
        .reduce(|a, b| a + b)
        .expect("at least one step");
    let gradients = total.backward();
    let summed = points
        .iter()
        .map(|v| v.grad(&gradients).expect("a gradient"))
        .reduce(|a, b| a + b)
        .expect("at least one step");
    ((mean - output) * summed).sum().div_scalar(steps as f64)
}
