//! LayerNorm and the causal softmax as kernels of our own on the page's WebGPU backend, forward
//! and backward.
//!
//! The browser build leaves out Burn's `fusion` (README: it costs half a megabyte of the page),
//! so on WebGPU every tensor operation is a kernel dispatch of its own. Burn composes LayerNorm
//! from about eight operations forward and more than a dozen backward (about 300 dispatches of
//! a training step's thousand for the model's nine LayerNorms), and the causal softmax from a
//! mask, a scaling and five operations forward, as many backward. Here each is one kernel
//! forward (a thread per row) and LayerNorm two backward (a thread per row for the input's
//! gradient, a thread per feature for γ's and β's), the softmax one, registered in Burn's
//! autodiff graph the way the CPU kernels are ([`super::norm`], [`super::softmax`]). The values
//! are those of Burn's composed operations up to float rounding (`tests/wasm.rs` checks values
//! and gradients on WebGPU).
//!
//! Natively the wgpu backend has Burn's fusion, which these kernels would bypass, so they are the
//! browser build's alone.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::wgpu::CubeTensor;
use burn::backend::{Autodiff, Cube};
use burn::prelude::*;
use burn::tensor::DType;
use burn_cubecl::kernel::into_contiguous;
use cubecl::calculate_cube_count_elemwise;
use cubecl::client::Client;
use cubecl::prelude::{CubeCount, CubeDim};

use shaders::{
    causal_softmax_rows, causal_softmax_rows_backward, layer_norm_columns_backward,
    layer_norm_rows, layer_norm_rows_backward,
};

/// Threads in each workgroup.
const WORKGROUP: u32 = 64;

/// A tensor's primitive on the page's WebGPU backend outside autodiff, if it lives there as `f32`.
fn plain<const D: usize>(t: &Tensor<D>) -> Option<CubeTensor> {
    let f32 = t.dtype() == DType::F32;
    f32.then(|| t.clone().try_into_primitive::<Cube>().ok())?
}

/// A tensor's primitive on the page's WebGPU backend under autodiff, if it lives there as `f32`.
fn tracked<const D: usize>(t: &Tensor<D>) -> Option<FloatTensor<Autodiff<Cube>>> {
    let f32 = t.dtype() == DType::F32;
    f32.then(|| t.clone().try_into_primitive::<Autodiff<Cube>>().ok())?
}

/// LayerNorm of `x` `[batch, positions, d]` with gains `gamma` and biases `beta` `[d]` when the
/// three live on the page's WebGPU backend as `f32` (tracked by autodiff or not), else `None`.
pub fn layer_norm(x: &Tensor<3>, gamma: &Tensor<1>, beta: &Tensor<1>) -> Option<Tensor<3>> {
    if let (Some(x), Some(gamma), Some(beta)) = (plain(x), plain(gamma), plain(beta)) {
        let (y, _) = forward(x, gamma, beta);
        return Some(Tensor::from_primitive::<Cube>(y));
    }
    let (x, gamma, beta) = (tracked(x)?, tracked(gamma)?, tracked(beta)?);
    let nodes = [x.node(), gamma.node(), beta.node()];
    let (x, gamma, beta) = (x.primitive(), gamma.primitive(), beta.primitive());
    let y = match LayerNormBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (y, rows) = forward(x.clone(), gamma.clone(), beta.clone());
            prep.finish((rows, gamma.clone()), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(x.clone(), gamma.clone(), beta.clone()).0),
    };
    Some(Tensor::from_primitive::<Autodiff<Cube>>(y))
}

/// `softmax(scores / divisor)` over the keys of `scores` `[batch, heads, queries, keys]`, each
/// query (the last positions of the keys' sequence) attending to itself and the keys before it,
/// when `scores` lives on the page's WebGPU backend as `f32`, else `None`: what
/// [`super::causal_softmax`] computes.
pub fn causal_softmax(scores: &Tensor<4>, divisor: f32) -> Option<Tensor<4>> {
    if let Some(scores) = plain(scores) {
        return Some(Tensor::from_primitive::<Cube>(softmax_forward(
            scores, divisor,
        )));
    }
    let scores = tracked(scores)?;
    let y = softmax_forward(scores.primitive().clone(), divisor);
    let y = match SoftmaxBackward
        .prepare::<NoCheckpointing>([scores.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((y.clone(), divisor), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Some(Tensor::from_primitive::<Autodiff<Cube>>(y))
}

/// The causal softmax of `scores`, made contiguous first.
fn softmax_forward(scores: CubeTensor, divisor: f32) -> CubeTensor {
    let scores = into_contiguous(scores);
    let shape = scores.meta.shape().to_vec();
    let [.., queries, keys] = shape[..] else {
        panic!("four dimensions")
    };
    let rows = shape.iter().product::<usize>() / keys;
    let y = empty(&scores, shape.clone());
    let client = scores.client.clone();
    causal_softmax_rows::launch(
        &client,
        workgroups(&client, rows),
        CubeDim::new_1d(WORKGROUP),
        scores.into_tensor_arg(),
        y.clone().into_tensor_arg(),
        queries as u32,
        keys as u32,
        divisor,
    );
    y
}

#[derive(Debug)]
struct SoftmaxBackward;

impl Backward<Cube, 1> for SoftmaxBackward {
    /// The softmax's output and the divisor of its scores.
    type State = (CubeTensor, f32);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [scores] = ops.parents.map(|p| p.map(|p| p.id));
        let dy = into_contiguous(grads.consume::<Cube>(&ops.node));
        let Some(id) = scores else { return };
        let (y, divisor) = ops.state;
        let keys = *dy.meta.shape().last().expect("four dimensions");
        let rows = dy.meta.shape().num_elements() / keys;
        let dx = empty(&dy, dy.meta.shape().to_vec());
        let client = dy.client.clone();
        causal_softmax_rows_backward::launch(
            &client,
            workgroups(&client, rows),
            CubeDim::new_1d(WORKGROUP),
            dy.into_tensor_arg(),
            y.into_tensor_arg(),
            dx.clone().into_tensor_arg(),
            keys as u32,
            divisor,
        );
        grads.register::<Cube>(id, dx);
    }
}

/// What the backward pass needs: the normalised input `[rows, d]` and each row's 1/σ `[rows]`.
#[derive(Clone, Debug)]
struct NormalisedRows {
    x_hat: CubeTensor,
    inverse_std: CubeTensor,
}

/// An uninitialised contiguous `f32` tensor of `shape` beside `like`.
fn empty(like: &CubeTensor, shape: Vec<usize>) -> CubeTensor {
    let bytes = shape.iter().product::<usize>() * size_of::<f32>();
    let handle = like.client.empty(bytes);
    CubeTensor::new_contiguous(
        like.client.clone(),
        like.device.clone(),
        Shape::from(shape),
        handle,
        DType::F32,
    )
}

/// Workgroups enough for `threads` threads on `client`'s device, spread over a second axis past
/// the 65,535 one axis allows (the kernels count threads by their absolute position).
fn workgroups(client: &Client, threads: usize) -> CubeCount {
    calculate_cube_count_elemwise(client, threads, CubeDim::new_1d(WORKGROUP))
}

/// LayerNorm's output, and what its backward pass needs.
fn forward(x: CubeTensor, gamma: CubeTensor, beta: CubeTensor) -> (CubeTensor, NormalisedRows) {
    let (x, gamma, beta) = (
        into_contiguous(x),
        into_contiguous(gamma),
        into_contiguous(beta),
    );
    let d = gamma.meta.shape()[0];
    let rows = x.meta.shape().num_elements() / d;
    let shape = x.meta.shape().to_vec();
    let (y, x_hat, inverse_std) = (
        empty(&x, shape.clone()),
        empty(&x, shape),
        empty(&x, vec![rows]),
    );
    let client = x.client.clone();
    layer_norm_rows::launch(
        &client,
        workgroups(&client, rows),
        CubeDim::new_1d(WORKGROUP),
        x.into_tensor_arg(),
        gamma.into_tensor_arg(),
        beta.into_tensor_arg(),
        y.clone().into_tensor_arg(),
        x_hat.clone().into_tensor_arg(),
        inverse_std.clone().into_tensor_arg(),
        super::LAYER_NORM_EPSILON,
    );
    (y, NormalisedRows { x_hat, inverse_std })
}

#[derive(Debug)]
struct LayerNormBackward;

impl Backward<Cube, 3> for LayerNormBackward {
    type State = (NormalisedRows, CubeTensor);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x, gamma_node, beta_node] = ops.parents.map(|p| p.map(|p| p.id));
        let dy = into_contiguous(grads.consume::<Cube>(&ops.node));
        let (rows, gamma) = ops.state;
        let d = gamma.meta.shape()[0];
        let row_count = rows.inverse_std.meta.shape()[0];
        let client = dy.client.clone();
        if let Some(id) = x {
            let dx = empty(&dy, dy.meta.shape().to_vec());
            layer_norm_rows_backward::launch(
                &client,
                workgroups(&client, row_count),
                CubeDim::new_1d(WORKGROUP),
                dy.clone().into_tensor_arg(),
                rows.x_hat.clone().into_tensor_arg(),
                rows.inverse_std.into_tensor_arg(),
                gamma.clone().into_tensor_arg(),
                dx.clone().into_tensor_arg(),
            );
            grads.register::<Cube>(id, dx);
        }
        if gamma_node.is_some() || beta_node.is_some() {
            let (d_gamma, d_beta) = (empty(&dy, vec![d]), empty(&dy, vec![d]));
            layer_norm_columns_backward::launch(
                &client,
                workgroups(&client, d),
                CubeDim::new_1d(WORKGROUP),
                dy.into_tensor_arg(),
                rows.x_hat.into_tensor_arg(),
                d_gamma.clone().into_tensor_arg(),
                d_beta.clone().into_tensor_arg(),
            );
            if let Some(id) = gamma_node {
                grads.register::<Cube>(id, d_gamma);
            }
            if let Some(id) = beta_node {
                grads.register::<Cube>(id, d_beta);
            }
        }
    }
}

/// The kernels, in CubeCL (compiled to WGSL when first launched).
mod shaders {
    use cubecl::prelude::*;

    /// One thread per row of width `gamma.len()`: `x̂ = (x − mean) / σ` into `x_hat`, `x̂ γ + β` into
    /// `y`, 1/σ into `inverse_std`.
    #[cube(launch)]
    pub(super) fn layer_norm_rows(
        x: &Tensor<f32>,
        gamma: &Tensor<f32>,
        beta: &Tensor<f32>,
        y: &mut Tensor<f32>,
        x_hat: &mut Tensor<f32>,
        inverse_std: &mut Tensor<f32>,
        epsilon: f32,
    ) {
        let row = ABSOLUTE_POS;
        if row >= inverse_std.len() {
            terminate!();
        }
        let d = gamma.len();
        let start = row * d;
        let width = f32::cast_from(d as u32);
        let mut sum = 0.0f32;
        for j in 0..d {
            sum += x[start + j];
        }
        let mean = sum / width;
        let mut squares = 0.0f32;
        for j in 0..d {
            let centred = x[start + j] - mean;
            squares += centred * centred;
        }
        let inverse = 1.0f32 / f32::sqrt(squares / width + epsilon);
        inverse_std[row] = inverse;
        for j in 0..d {
            let normalised = (x[start + j] - mean) * inverse;
            x_hat[start + j] = normalised;
            y[start + j] = normalised * gamma[j] + beta[j];
        }
    }

    /// One thread per row: the input's gradient from the output's, `dx = (dy γ − mean(dy γ) − x̂
    /// mean(dy γ x̂)) / σ`.
    #[cube(launch)]
    pub(super) fn layer_norm_rows_backward(
        dy: &Tensor<f32>,
        x_hat: &Tensor<f32>,
        inverse_std: &Tensor<f32>,
        gamma: &Tensor<f32>,
        dx: &mut Tensor<f32>,
    ) {
        let row = ABSOLUTE_POS;
        if row >= inverse_std.len() {
            terminate!();
        }
        let d = gamma.len();
        let start = row * d;
        let width = f32::cast_from(d as u32);
        let mut mean_g = 0.0f32;
        let mut mean_g_hat = 0.0f32;
        for j in 0..d {
            let dy_g = dy[start + j] * gamma[j];
            mean_g += dy_g;
            mean_g_hat += dy_g * x_hat[start + j];
        }
        mean_g /= width;
        mean_g_hat /= width;
        for j in 0..d {
            let dy_g = dy[start + j] * gamma[j];
            dx[start + j] = inverse_std[row] * (dy_g - mean_g - x_hat[start + j] * mean_g_hat);
        }
    }

    /// One thread per feature: γ's and β's gradients, sums over the rows in row order.
    #[cube(launch)]
    pub(super) fn layer_norm_columns_backward(
        dy: &Tensor<f32>,
        x_hat: &Tensor<f32>,
        d_gamma: &mut Tensor<f32>,
        d_beta: &mut Tensor<f32>,
    ) {
        let column = ABSOLUTE_POS;
        let d = d_gamma.len();
        if column >= d {
            terminate!();
        }
        let rows = dy.len() / d;
        let mut gamma_sum = 0.0f32;
        let mut beta_sum = 0.0f32;
        for row in 0..rows {
            let at = row * d + column;
            gamma_sum += dy[at] * x_hat[at];
            beta_sum += dy[at];
        }
        d_gamma[column] = gamma_sum;
        d_beta[column] = beta_sum;
    }
    /// One thread per query's row of `keys` scores: the softmax of `score / divisor` over the
    /// keys up to and including the query's own position (the queries being the last `queries`
    /// positions), 0 for the keys after it.
    #[cube(launch)]
    pub(super) fn causal_softmax_rows(
        scores: &Tensor<f32>,
        y: &mut Tensor<f32>,
        queries: u32,
        keys: u32,
        divisor: f32,
    ) {
        let row = ABSOLUTE_POS;
        let keys = keys as usize;
        if row * keys >= y.len() {
            terminate!();
        }
        let start = row * keys;
        let visible = keys - queries as usize + row % queries as usize + 1;
        let mut max = scores[start];
        for j in 1..visible {
            max = f32::max(max, scores[start + j]);
        }
        max /= divisor;
        let mut sum = 0.0f32;
        for j in 0..visible {
            let e = f32::exp(scores[start + j] / divisor - max);
            y[start + j] = e;
            sum += e;
        }
        let inverse_sum = 1.0f32 / sum;
        for j in 0..visible {
            y[start + j] *= inverse_sum;
        }
        for j in visible..keys {
            y[start + j] = 0.0f32;
        }
    }

    /// One thread per query's row: the scores' gradient `y (dy − Σ dy y) / divisor`.
    #[cube(launch)]
    pub(super) fn causal_softmax_rows_backward(
        dy: &Tensor<f32>,
        y: &Tensor<f32>,
        dx: &mut Tensor<f32>,
        keys: u32,
        divisor: f32,
    ) {
        let row = ABSOLUTE_POS;
        let keys = keys as usize;
        if row * keys >= dx.len() {
            terminate!();
        }
        let start = row * keys;
        let mut dot = 0.0f32;
        for j in 0..keys {
            dot += dy[start + j] * y[start + j];
        }
        for j in 0..keys {
            dx[start + j] = y[start + j] * (dy[start + j] - dot) / divisor;
        }
    }
}
