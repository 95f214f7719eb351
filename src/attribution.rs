//! First-order attributions: gradient magnitude (METHOD §5) and attribution patching (§10).
//!
//! For each batch b of the evaluation set, with L_b its loss:
//! - `G_i = mean_b ||∇_{W_i} L_b||_F / √N_i`, W_i a head's W_V and W_O slices together
//!   (N_i = 2 · d_model · d_head) or an MLP's W_in and W_out (N_i = 2 · d_model · d_ff); each
//!   head's W_V-only value (N = d_model · d_head) is kept too;
//! - `A_i = mean_b Σ_{examples, positions} (μ_i − o_i) · ∂L_b/∂o_i`, the first-order estimate of
//!   the loss change under mean ablation (with equal batches, the mean over examples of the sum
//!   over positions against each example's own loss).
//!
//! One forward and one backward pass per batch give both: the output gradients come from zero
//! tensors added to every component's output.

use burn::prelude::*;
use burn::tensor::ExecutionError;

use crate::ablation::AblationSet;
use crate::backend::{map_parallel, parallel_rounds};
use crate::component::{Intervention, Replacement};
use crate::model::{Capture, Transformer};
use crate::objective::loss;
use crate::progress::Observer;

/// The attributions of every component, in canonical order.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribution {
    /// Gradient magnitude G.
    pub grad: Vec<f64>,
    /// The W_V-only gradient magnitude of each head; `None` for MLPs.
    pub grad_wv: Vec<Option<f64>>,
    /// Attribution patching A.
    pub patching: Vec<f64>,
}

/// Frobenius norm of `t` per slice along axis 0, `[slices]`.
fn squared_norms(t: Tensor<3>) -> Tensor<1> {
    t.powi_scalar(2).sum_dims_squeeze::<1, _>(&[1, 2])
}

/// One batch's contribution: per component ‖∇W_i L_b‖/√N_i and Σ (μ_i − o_i)·∂L_b/∂o_i, and
/// per head ‖∇W_V L_b‖/√N.
struct BatchAttribution {
    grad: Tensor<1>,
    wv: Tensor<1>,
    patching: Tensor<1>,
}

/// G and A over the batches of `set`, whose means serve as μ; batches run
/// [`crate::backend::parallel_width`] at a time, each in its own autodiff graph.
pub async fn attribute(
    model: &Transformer,
    set: &AblationSet,
    observer: &mut impl Observer,
) -> Result<Attribution, ExecutionError> {
    let components = model.components();
    let heads = model.heads();
    let device = set.batches()[0].mask.device();
    let batches = set.batch_count();
    let mut grad_sum = Tensor::<1>::zeros([components.len()], &device);
    let mut wv_sum = Tensor::<1>::zeros([model.layers() * heads], &device);
    let mut patching_sum = Tensor::<1>::zeros([components.len()], &device);
    for round in parallel_rounds(&device, batches) {
        let end = round.end;
        for part in map_parallel(&device, round, |b| attribute_batch(model, set, b)) {
            grad_sum = grad_sum + part.grad;
            wv_sum = wv_sum + part.wv;
            patching_sum = patching_sum + part.patching;
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
    let grad = read(grad_sum).await?;
    let wv = read(wv_sum).await?;
    let patching = read(patching_sum).await?;
    let grad_wv = components
        .iter()
        .map(|c| match *c {
            crate::component::Component::Head { layer, head } => Some(wv[layer * heads + head]),
            crate::component::Component::Mlp { .. } => None,
        })
        .collect();
    Ok(Attribution {
        grad,
        grad_wv,
        patching,
    })
}

/// One forward and one backward pass over batch `b` of `set`, in a graph of its own.
fn attribute_batch(model: &Transformer, set: &AblationSet, b: usize) -> BatchAttribution {
    let batch = &set.batches()[b];
    let trainable = model.clone().train();
    let components = model.components();
    let [_, d_head, d_model] = model.blocks[0].attn.w_o.dims();
    let [_, d_ff] = model.blocks[0].mlp.w_in.weight.dims();
    let head_scale = 1.0 / ((2 * d_model * d_head) as f64).sqrt();
    let wv_scale = 1.0 / ((d_model * d_head) as f64).sqrt();
    let mlp_scale = 1.0 / ((2 * d_model * d_ff) as f64).sqrt();

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

    let mut grad_parts = Vec::with_capacity(2 * model.layers());
    let mut wv_parts = Vec::with_capacity(model.layers());
    for block in &trainable.blocks {
        let grad = |p: &burn::module::Param<Tensor<3>>| p.grad(&gradients).expect("a gradient");
        let wv = squared_norms(grad(&block.attn.w_v));
        let wo = squared_norms(grad(&block.attn.w_o));
        grad_parts.push((wv.clone() + wo).sqrt().mul_scalar(head_scale));
        wv_parts.push(wv.sqrt().mul_scalar(wv_scale));
        let w_in = block.mlp.w_in.weight.grad(&gradients).expect("a gradient");
        let w_out = block.mlp.w_out.weight.grad(&gradients).expect("a gradient");
        let mlp = w_in.powi_scalar(2).sum() + w_out.powi_scalar(2).sum();
        grad_parts.push(mlp.sqrt().mul_scalar(mlp_scale));
    }
    let patching: Vec<Tensor<1>> = probes
        .iter()
        .zip(run.outputs)
        .zip(set.means())
        .map(|((probe, output), mean)| {
            let d_output = probe.grad(&gradients).expect("a gradient");
            ((mean.clone() - output.inner()) * d_output).sum()
        })
        .collect();
    BatchAttribution {
        grad: Tensor::cat(grad_parts, 0),
        wv: Tensor::cat(wv_parts, 0),
        patching: Tensor::cat(patching, 0),
    }
}
