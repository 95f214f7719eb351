//! LayerNorm over each row's features, forward and backward, in one pass over the rows.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::nn::LayerNorm;
use burn::prelude::*;
use std::mem::MaybeUninit;

use super::pieces::{column_sums, new_rows};
use super::{AutodiffTensor, Route, register, route, tensor_like, values};

/// The epsilon under every LayerNorm's square root (METHOD §2; Burn's default).
pub const LAYER_NORM_EPSILON: f32 = 1e-5;

/// `norm(x)` over the last dimension of `x` `[batch, positions, d_model]`.
pub fn layer_norm(x: Tensor<3>, norm: &LayerNorm) -> Tensor<3> {
    let gamma = norm.gamma.val();
    let beta = norm
        .beta
        .as_ref()
        .expect("the model's LayerNorms have a bias")
        .val();
    match (route(&x), route(&gamma), route(&beta)) {
        (Some(Route::Plain(x)), Some(Route::Plain(gamma)), Some(Route::Plain(beta))) => {
            let (y, _) = layer_norm_flex(&x, &gamma, &beta, false);
            Tensor::from_primitive::<Flex>(y)
        }
        (Some(Route::Tracked(x)), Some(Route::Tracked(gamma)), Some(Route::Tracked(beta))) => {
            Tensor::from_primitive::<Autodiff<Flex>>(layer_norm_tracked(x, gamma, beta))
        }
        #[cfg(target_arch = "wasm32")]
        _ => super::webgpu::layer_norm(&x, &gamma, &beta).unwrap_or_else(|| norm.forward(x)),
        #[cfg(not(target_arch = "wasm32"))]
        _ => norm.forward(x),
    }
}

/// What LayerNorm's backward pass needs: the normalised input and each row's 1/σ.
#[derive(Clone, Debug)]
struct NormalisedRows {
    x_hat: FlexTensor,
    inverse_std: std::sync::Arc<Vec<f32>>,
}

fn layer_norm_flex(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    keep: bool,
) -> (FlexTensor, Option<NormalisedRows>) {
    let (x_values, gamma, beta) = (values(x), values(gamma), values(beta));
    let d = gamma.len();
    let rows = x_values.len() / d;
    // SAFETY: `layer_norm_rows` writes every element of its three outputs.
    let [y, x_hat, inverse_std] = unsafe {
        new_rows(rows, [d, d, 1], |first, [y, x_hat, inverse_std]| {
            let x = &x_values[first * d..][..y.len()];
            layer_norm_rows(x, &gamma, &beta, x_hat, y, inverse_std);
        })
    };
    let kept = keep.then(|| NormalisedRows {
        x_hat: tensor_like(x_hat, x),
        inverse_std: inverse_std.into(),
    });
    (tensor_like(y, x), kept)
}

/// Rows that LayerNorm computes side by side. A row's mean and variance are chains of additions,
/// each waiting on the one before; the chains of several rows interleave and keep the CPU's
/// adders busy. Each row's sums keep their order, so a row's values are those it has alone.
const ROWS_AT_ONCE: usize = 8;

with_widest_vectors! {
    /// Normalises rows of width `gamma.len()`: `x̂ = (x − mean) / σ` into `x_hat`, `x̂ γ + β`
    /// into `y`, each row's 1/σ into `inverse_std`, every element of the three.
    fn layer_norm_rows(
        x: &[f32],
        gamma: &[f32],
        beta: &[f32],
        x_hat: &mut [MaybeUninit<f32>],
        y: &mut [MaybeUninit<f32>],
        inverse_std: &mut [MaybeUninit<f32>],
    ) {
        let d = gamma.len();
        for (first, count) in row_groups(inverse_std.len()) {
            let span = first * d..(first + count) * d;
            let (x, x_hat, y) = (&x[span.clone()], &mut x_hat[span.clone()], &mut y[span]);
            let inverse_std = &mut inverse_std[first..][..count];
            if count == ROWS_AT_ONCE {
                normalise_rows::<ROWS_AT_ONCE>(x, gamma, beta, x_hat, y, inverse_std);
            } else {
                normalise_rows::<1>(x, gamma, beta, x_hat, y, inverse_std);
            }
        }
    }
}

/// The rows `0..rows` as `(first, count)`: groups of [`ROWS_AT_ONCE`], then the rows left over
/// one at a time.
fn row_groups(rows: usize) -> impl Iterator<Item = (usize, usize)> {
    let grouped = rows / ROWS_AT_ONCE * ROWS_AT_ONCE;
    let groups = (0..grouped)
        .step_by(ROWS_AT_ONCE)
        .map(|first| (first, ROWS_AT_ONCE));
    groups.chain((grouped..rows).map(|row| (row, 1)))
}

/// LayerNorm of `R` rows side by side (see [`ROWS_AT_ONCE`]).
#[inline(always)]
fn normalise_rows<const R: usize>(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    x_hat: &mut [MaybeUninit<f32>],
    y: &mut [MaybeUninit<f32>],
    inverse_std: &mut [MaybeUninit<f32>],
) {
    let d = gamma.len();
    let x: [&[f32]; R] = std::array::from_fn(|r| &x[r * d..][..d]);
    // −0.0 to start, as `Iterator::sum` starts.
    let mut mean = [-0.0f32; R];
    for j in 0..d {
        for (sum, x) in mean.iter_mut().zip(&x) {
            *sum += x[j];
        }
    }
    let mean = mean.map(|sum| sum / d as f32);
    let mut variance = [-0.0f32; R];
    for j in 0..d {
        for ((sum, x), mean) in variance.iter_mut().zip(&x).zip(&mean) {
            let centred = x[j] - mean;
            *sum += centred * centred;
        }
    }
    let rows = x_hat.chunks_exact_mut(d).zip(y.chunks_exact_mut(d));
    for (r, (x_hat, y)) in rows.enumerate() {
        let inverse_std =
            *inverse_std[r].write(1.0 / (variance[r] / d as f32 + LAYER_NORM_EPSILON).sqrt());
        for ((h, y), ((&x, &g), &b)) in x_hat
            .iter_mut()
            .zip(y.iter_mut())
            .zip(x[r].iter().zip(gamma).zip(beta))
        {
            let h = *h.write((x - mean[r]) * inverse_std);
            y.write(h * g + b);
        }
    }
}

with_widest_vectors! {
    /// The input gradient of rows of width `gamma.len()` from their output gradient `dy`, into
    /// every element of `dx`.
    fn layer_norm_rows_backward(
        dy: &[f32],
        x_hat: &[f32],
        inverse_std: &[f32],
        gamma: &[f32],
        dx: &mut [MaybeUninit<f32>],
    ) {
        let d = gamma.len();
        for (first, count) in row_groups(inverse_std.len()) {
            let span = first * d..(first + count) * d;
            let (dy, x_hat, dx) = (&dy[span.clone()], &x_hat[span.clone()], &mut dx[span]);
            let inverse_std = &inverse_std[first..][..count];
            if count == ROWS_AT_ONCE {
                backward_rows::<ROWS_AT_ONCE>(dy, x_hat, inverse_std, gamma, dx);
            } else {
                backward_rows::<1>(dy, x_hat, inverse_std, gamma, dx);
            }
        }
    }
}

/// LayerNorm's input gradient for `R` rows side by side (see [`ROWS_AT_ONCE`]).
#[inline(always)]
fn backward_rows<const R: usize>(
    dy: &[f32],
    x_hat: &[f32],
    inverse_std: &[f32],
    gamma: &[f32],
    dx: &mut [MaybeUninit<f32>],
) {
    let d = gamma.len();
    let dy: [&[f32]; R] = std::array::from_fn(|r| &dy[r * d..][..d]);
    let x_hat: [&[f32]; R] = std::array::from_fn(|r| &x_hat[r * d..][..d]);
    let (mut mean_g, mut mean_g_hat) = ([0.0f32; R], [0.0f32; R]);
    for (j, &g) in gamma.iter().enumerate() {
        for r in 0..R {
            let dy_g = dy[r][j] * g;
            mean_g[r] += dy_g;
            mean_g_hat[r] += dy_g * x_hat[r][j];
        }
    }
    for (r, dx) in dx.chunks_exact_mut(d).enumerate() {
        let (mean_g, mean_g_hat) = (mean_g[r] / d as f32, mean_g_hat[r] / d as f32);
        for (((dx, &dy), &h), &g) in dx.iter_mut().zip(dy[r]).zip(x_hat[r]).zip(gamma) {
            dx.write(inverse_std[r] * (dy * g - mean_g - h * mean_g_hat));
        }
    }
}

#[derive(Debug)]
struct LayerNormBackward;

impl Backward<Flex, 3> for LayerNormBackward {
    type State = (NormalisedRows, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x, gamma_node, beta_node] = ops.parents.map(|p| p.map(|p| p.id));
        let dy = grads.consume::<Flex>(&ops.node);
        let (rows, gamma_tensor) = ops.state;
        let (dy_values, x_hat, gamma) = (values(&dy), values(&rows.x_hat), values(&gamma_tensor));
        let d = gamma.len();
        let inverse_std = &rows.inverse_std;
        // SAFETY: `layer_norm_rows_backward` writes every element of `dx`.
        let [dx] = unsafe {
            new_rows(inverse_std.len(), [d], |first, [dx]| {
                let span = first * d..first * d + dx.len();
                let (dy, x_hat) = (&dy_values[span.clone()], &x_hat[span]);
                let inverse_std = &inverse_std[first..][..dx.len() / d];
                layer_norm_rows_backward(dy, x_hat, inverse_std, &gamma, dx);
            })
        };
        // γ's and β's gradients: sums over the rows, in row order.
        let [d_gamma, d_beta] = column_sums(inverse_std.len(), d, |first, [dg, db]| {
            for (dy, x_hat) in dy_values.chunks_exact(d).zip(x_hat.chunks_exact(d)) {
                let (dy, x_hat) = (&dy[first..][..dg.len()], &x_hat[first..][..dg.len()]);
                let sums = dg.iter_mut().zip(db.iter_mut());
                for ((d_gamma, d_beta), (&dy, &h)) in sums.zip(dy.iter().zip(x_hat)) {
                    *d_gamma += dy * h;
                    *d_beta += dy;
                }
            }
        });
        register(grads, x, || tensor_like(dx, &dy));
        register(grads, gamma_node, || tensor_like(d_gamma, &gamma_tensor));
        register(grads, beta_node, || tensor_like(d_beta, &gamma_tensor));
    }
}

fn layer_norm_tracked(
    x: AutodiffTensor,
    gamma: AutodiffTensor,
    beta: AutodiffTensor,
) -> AutodiffTensor {
    let nodes = [x.node(), gamma.node(), beta.node()];
    let compute = |keep| layer_norm_flex(x.primitive(), gamma.primitive(), beta.primitive(), keep);
    match LayerNormBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (y, rows) = compute(true);
            let rows = rows.expect("kept for the backward pass");
            prep.finish((rows, gamma.primitive().clone()), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(compute(false).0),
    }
}
