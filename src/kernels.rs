//! Fused CPU kernels for the model's LayerNorm, GELU and causal softmax, forward and backward;
//! its products (linear layers and attention) written straight into their outputs; the split
//! of projections into heads; and Adam's step.
//!
//! Under autodiff Burn composes LayerNorm from eight tensor operations each way, computes GELU
//! with a scalar `erf` per element, and builds the causal softmax from a mask addition, a
//! maximum, an exponential, a sum and a division, each allocating its output. On the CPU
//! backend (`flex`) the three functions here make one pass over their rows instead, with a
//! backward pass of their own registered in Burn's autodiff graph (the backend-extension
//! pattern: the concrete primitive is taken out of the tensor, computed on, and put back). On
//! any other backend (wgpu, WebGPU) they are Burn's composed operations, so one model serves
//! every backend. `tests/kernels.rs` checks each against its composed version and against
//! finite differences. [`linear`] makes the same `gemm` calls and sums as Burn's `linear`, so
//! its values and gradients equal Burn's exactly (also tested); it saves the second allocation
//! and the copy Burn's CPU backend makes of every product's output. So do [`matmul`] for Burn's
//! `matmul`, [`swap_middle_dims`] for `swap_dims(1, 2)` and [`adam_step`] for Burn's `Adam`: the
//! same values, with the work Burn does on one thread split over the threads.
//!
//! The loops are written to vectorise (no branches per element; `erf` and `exp` as
//! polynomials instead of `libm` calls): SSE, AVX2 or AVX-512 natively ([`crate::simd`]); in the browser, whose build is
//! optimised for size and so vectorises no loop, GELU runs on SIMD128 lanes ([`crate::lanes`]).
//! Natively the rows of a large tensor are split over rayon's threads, a row to one thread, so
//! the values do not depend on the number of threads.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Flex};
use burn::nn::LayerNorm;
use burn::prelude::*;
use burn::tensor::DType;
use burn::tensor::activation;
use std::mem::MaybeUninit;

#[cfg(target_arch = "wasm32")]
use crate::lanes::F32x4;
use crate::lanes::Lanes;

/// A tensor on the CPU backend under autodiff.
type AutodiffTensor = FloatTensor<Autodiff<Flex>>;

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
        _ => norm.forward(x),
    }
}

/// GELU (the exact, `erf` form) of every element.
pub fn gelu(x: Tensor<2>) -> Tensor<2> {
    match route(&x) {
        Some(Route::Plain(values)) => {
            drop(x); // so that `values` alone holds them
            Tensor::from_primitive::<Flex>(gelu_flex(values))
        }
        Some(Route::Tracked(x)) => Tensor::from_primitive::<Autodiff<Flex>>(gelu_tracked(x)),
        None => activation::gelu(x),
    }
}

/// `softmax(scores / divisor)` over keys `[batch, heads, query, key]`, each query attending to
/// itself and the keys before it; later keys get weight 0. The queries are the last positions of
/// the keys' sequence: all of them (a square pattern), or fewer when only the last positions are
/// read out ([`crate::model::Transformer::answer_logits`]).
pub fn causal_softmax(scores: Tensor<4>, divisor: f32) -> Tensor<4> {
    match route(&scores) {
        Some(Route::Plain(s)) => Tensor::from_primitive::<Flex>(softmax_flex(&s, divisor)),
        Some(Route::Tracked(s)) => {
            Tensor::from_primitive::<Autodiff<Flex>>(softmax_tracked(s, divisor))
        }
        None => composed::causal_softmax(scores, divisor),
    }
}

/// `x W + b` for `x` `[rows, d_in]`, `W` `[d_in, d_out]` and `b` `[d_out]`: Burn's `linear`,
/// with the same matrix products and sums, but each product written straight into its output
/// (Burn's CPU backend allocates every product's output twice and copies it once).
pub fn linear(x: Tensor<2>, weight: Tensor<2>, bias: Tensor<1>) -> Tensor<2> {
    match (route(&x), route(&weight), route(&bias)) {
        (Some(Route::Plain(x)), Some(Route::Plain(weight)), Some(Route::Plain(bias))) => {
            Tensor::from_primitive::<Flex>(linear_flex(&x, &weight, &bias))
        }
        (Some(Route::Tracked(x)), Some(Route::Tracked(w)), Some(Route::Tracked(b))) => {
            Tensor::from_primitive::<Autodiff<Flex>>(linear_tracked(x, w, b))
        }
        _ => burn::tensor::module::linear(x, weight, Some(bias)),
    }
}

/// `a b`, matrix by matrix over the leading (batch) dimensions, which must be the same in both:
/// Burn's `matmul`, with the same `gemm` calls so the same values and gradients, but each
/// product written straight into its output (Burn's CPU backend zeroes it, allocates it twice and
/// copies it, on one thread). Operands whose batch dimensions differ (one broadcast over the
/// other) go to Burn's.
pub fn matmul<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
    let (a_dims, b_dims) = (a.dims(), b.dims());
    if a_dims[..D - 2] != b_dims[..D - 2] {
        return a.matmul(b);
    }
    match (route(&a), route(&b)) {
        (Some(Route::Plain(a)), Some(Route::Plain(b))) => {
            Tensor::from_primitive::<Flex>(matmul_flex(&a, &b))
        }
        (Some(Route::Tracked(a)), Some(Route::Tracked(b))) => {
            let y = matmul_flex(a.primitive(), b.primitive());
            let y = match MatmulBackward
                .prepare::<NoCheckpointing>([a.node(), b.node()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    prep.finish((a.primitive().clone(), b.primitive().clone()), y)
                }
                OpsKind::UnTracked(prep) => prep.finish(y),
            };
            Tensor::from_primitive::<Autodiff<Flex>>(y)
        }
        _ => a.matmul(b),
    }
}

/// One Adam step of one parameter on the CPU, in one pass on the threads: Burn's `Adam` (its
/// adaptive momentum, without weight decay or AMSGrad) operation by operation in Burn's order, so
/// the same values, where Burn makes about a dozen passes over the parameter on one thread.
/// `moments` are the first and second moments after step `time - 1` (`None` at the first step,
/// `time` 1). Returns the parameter and the two moments after the step, or `None` where a tensor
/// is not on the CPU backend (the caller then steps with Burn's `Adam`).
pub fn adam_step<const D: usize>(
    (beta_1, beta_2): (f32, f32),
    epsilon: f32,
    lr: f64,
    time: usize,
    param: &Tensor<D>,
    grad: &Tensor<D>,
    moments: Option<(&Tensor<D>, &Tensor<D>)>,
) -> Option<[Tensor<D>; 3]> {
    let plain = |t: &Tensor<D>| match route(t) {
        Some(Route::Plain(t)) => Some(t),
        _ => None,
    };
    let (param, grad) = (plain(param)?, plain(grad)?);
    let moments = match moments {
        Some((m, v)) => Some((plain(m)?, plain(v)?)),
        None => None,
    };
    // The scalars as Burn's `AdaptiveMomentum::transform` and `Adam::step` compute them, in f32.
    let (factor_1, factor_2) = (1.0 - beta_1, 1.0 - beta_2);
    let bias_correction_2_sqrt = (1.0 - beta_2.powi(time as i32)).sqrt();
    let combined_factor = bias_correction_2_sqrt / (1.0 - beta_1.powi(time as i32));
    let scaled_epsilon = epsilon * bias_correction_2_sqrt;
    let lr = lr as f32;
    let (p, g) = (values(&param), values(&grad));
    let old = moments.as_ref().map(|(m, v)| (values(m), values(v)));
    // SAFETY: the moments' loops write every element of `m_new` and `v_new` (`g` is as long), the
    // last loop every element of `p_new`.
    let [p_new, m_new, v_new] = unsafe {
        new_rows(p.len(), [1, 1, 1], |first, [p_new, m_new, v_new]| {
            let span = first..first + p_new.len();
            let g = &g[span.clone()];
            let old = old
                .as_ref()
                .map(|(m, v)| (&m[span.clone()], &v[span.clone()]));
            adam_moments(g, old, [beta_1, beta_2, factor_1, factor_2], m_new, v_new);
            // SAFETY (within the block's): `adam_moments` wrote every element of both.
            let (m_new, v_new) = (m_new.assume_init_ref(), v_new.assume_init_ref());
            let factors = [combined_factor, scaled_epsilon, lr];
            adam_parameters(&p[span], m_new, v_new, factors, p_new);
        })
    };
    Some(
        [p_new, m_new, v_new]
            .map(|values| Tensor::from_primitive::<Flex>(tensor_like(values, &param))),
    )
}

/// `x` `[a, b, c, d]` with its two middle dimensions swapped, `[a, c, b, d]`, its values laid out
/// in that order: how the model splits a projection's rows into heads and joins the heads'
/// outputs back into rows. Burn's `swap_dims` is a view whose next `reshape` copies it on one
/// thread (the joined heads forward, the split ones backward, 3% of a two-thread training step);
/// here the copy is made at once on the threads, each way. The same values as `x.swap_dims(1, 2)`
/// (tested), which is what every other backend runs.
pub fn swap_middle_dims(x: Tensor<4>) -> Tensor<4> {
    match route(&x) {
        Some(Route::Plain(x)) => Tensor::from_primitive::<Flex>(swap_middle_flex(&x)),
        Some(Route::Tracked(x)) => {
            let y = swap_middle_flex(x.primitive());
            let y = SwapMiddleBackward
                .prepare::<NoCheckpointing>([x.node()])
                .compute_bound()
                .stateless(y);
            Tensor::from_primitive::<Autodiff<Flex>>(y)
        }
        None => x.swap_dims(1, 2),
    }
}

/// Burn's composed operations, as every backend but `flex` runs them: the reference the fused
/// kernels are checked against.
pub mod composed {
    use burn::prelude::*;
    use burn::tensor::activation::softmax;

    /// The composed [`super::causal_softmax`]: a mask added to the scaled scores, then softmax.
    pub fn causal_softmax(scores: Tensor<4>, divisor: f32) -> Tensor<4> {
        let [_, _, queries, keys] = scores.dims();
        let device = scores.device();
        softmax(
            scores.div_scalar(divisor) + causal_mask(queries, keys, &device),
            3,
        )
    }

    /// `[1, 1, queries, keys]`: 0 where a query may attend to a key (key ≤ query, the queries
    /// being the last positions), a large negative number after it. Finite, not -inf: -inf gave
    /// NaN losses on the CPU.
    fn causal_mask(queries: usize, keys: usize, device: &Device) -> Tensor<4> {
        let offset = (keys - queries) as i64;
        let future = Tensor::<2, Bool>::tril_mask([queries, keys], offset, device);
        Tensor::<2>::zeros([queries, keys], device)
            .mask_fill(future, -1e9)
            .unsqueeze_dims(&[0, 1])
    }
}

/// A tensor's primitive on the CPU backend, if it lives there as `f32`.
enum Route {
    /// Outside autodiff.
    Plain(FlexTensor),
    /// Under autodiff (tracked or not).
    Tracked(AutodiffTensor),
}

fn route<const D: usize>(x: &Tensor<D>) -> Option<Route> {
    if x.dtype() != DType::F32 {
        return None;
    }
    if let Ok(x) = x.clone().try_into_primitive::<Flex>() {
        return Some(Route::Plain(x));
    }
    x.clone()
        .try_into_primitive::<Autodiff<Flex>>()
        .ok()
        .map(Route::Tracked)
}

/// A contiguous `f32` copy-free view of a tensor's values when it can be had, else a copy.
fn values(x: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
    match x.as_slice::<f32>() {
        Some(values) => values.into(),
        None => x.to_contiguous().storage::<f32>().to_vec().into(),
    }
}

/// A tensor of `shape` holding `values`.
fn tensor_like(values: Vec<f32>, shape: &FlexTensor) -> FlexTensor {
    let shape = shape.layout().shape().clone();
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// Defines a function whose body is compiled three times natively on x86-64: for the build's
/// baseline (SSE2, four lanes), for AVX2 (eight) and for AVX-512 (sixteen), the one run being the
/// widest [`crate::simd::current`] allows. The same operations lane by lane, so the same values
/// at every width (`tests/kernels.rs` runs each, `tests/train.rs` Adam's); the browser's build is
/// SIMD128 only.
macro_rules! with_widest_vectors {
    ($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $type:ty),* $(,)?) $(-> $out:ty)? $body:block) => {
        $(#[$doc])*
        $vis fn $name($($arg: $type),*) $(-> $out)? {
            #[inline(always)]
            fn body($($arg: $type),*) $(-> $out)? $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2")]
            fn avx2($($arg: $type),*) $(-> $out)? {
                body($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f")]
            fn avx512($($arg: $type),*) $(-> $out)? {
                body($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            match crate::simd::current() {
                // SAFETY: `current` names only levels the CPU has.
                crate::simd::Level::Avx512 => return unsafe { avx512($($arg),*) },
                crate::simd::Level::Avx2 => return unsafe { avx2($($arg),*) },
                crate::simd::Level::Baseline => {}
            }
            body($($arg),*)
        }
    };
}

/// Elements per piece when a kernel's rows are split over threads: enough that waking a
/// thread costs little beside its piece.
const PIECE_ELEMENTS: usize = 16_384;

/// Runs `work(first_row, pieces)` on consecutive pieces of the same rows of every output in
/// `outputs` (each a slice of `rows` rows of its own width), on rayon's threads natively where
/// there is more than one piece, one after another in the browser. Each row is computed by one
/// piece alone, so the result does not depend on how many threads there are.
fn for_each_piece<T: Send, const N: usize>(
    rows: usize,
    outputs: [(&mut [T], usize); N],
    work: impl Fn(usize, [&mut [T]; N]) + Sync + Send,
) {
    let rows_per_piece = (PIECE_ELEMENTS / outputs[0].1.max(1)).max(1);
    for_pieces_of(rows_per_piece, rows, outputs, work);
}

/// [`for_each_piece`] with pieces of `rows_per_piece` rows.
fn for_pieces_of<T: Send, const N: usize>(
    rows_per_piece: usize,
    rows: usize,
    outputs: [(&mut [T], usize); N],
    work: impl Fn(usize, [&mut [T]; N]) + Sync + Send,
) {
    let mut chunks = outputs.map(|(values, width)| values.chunks_mut(rows_per_piece * width));
    let pieces: Vec<[&mut [T]; N]> = (0..rows.div_ceil(rows_per_piece))
        .map(|_| {
            chunks
                .each_mut()
                .map(|c| c.next().expect("every output has every row"))
        })
        .collect();
    #[cfg(not(target_arch = "wasm32"))]
    if pieces.len() > 1 {
        use rayon::prelude::*;
        return pieces
            .into_par_iter()
            .enumerate()
            .for_each(|(i, piece)| work(i * rows_per_piece, piece));
    }
    for (i, piece) in pieces.into_iter().enumerate() {
        work(i * rows_per_piece, piece);
    }
}

/// New outputs of `rows` rows each, of the given widths, filled by `work(first_row, pieces)` piece
/// by piece as [`for_each_piece`] fills existing ones, each element written once: not zeroed
/// first (zeroing them made a training step 3% slower, GELU's two large outputs most of it, and
/// the writes that follow overwrite every zero). In builds with debug assertions (the tests' `ci`
/// profile turns them on for this crate) each piece is filled with NaN before `work` sees it, so
/// that an element a kernel leaves unwritten shows in the tests' values instead of passing as
/// stale memory.
///
/// # Safety
/// `work` must write every element of every piece it is given.
unsafe fn new_rows<const N: usize>(
    rows: usize,
    widths: [usize; N],
    work: impl Fn(usize, [&mut [MaybeUninit<f32>]; N]) + Sync + Send,
) -> [Vec<f32>; N] {
    let mut outputs = widths.map(|width| Vec::<f32>::with_capacity(rows * width));
    let mut widths_left = widths.into_iter();
    let spare = outputs.each_mut().map(|values| {
        let width = widths_left.next().expect("a width for every output");
        (&mut values.spare_capacity_mut()[..rows * width], width)
    });
    for_each_piece(rows, spare, |first, pieces| {
        #[cfg(debug_assertions)]
        let pieces = pieces.map(|piece| {
            piece.fill(MaybeUninit::new(f32::NAN));
            piece
        });
        work(first, pieces)
    });
    for (values, width) in outputs.iter_mut().zip(widths) {
        // SAFETY: `for_each_piece` gave every row of the spare capacity to a piece, and `work`
        // wrote every element of each (the caller's promise); had it panicked, the panic would
        // have left this function before this line.
        unsafe { values.set_len(rows * width) };
    }
    outputs
}

/// Columns a piece of [`column_sums`] takes at the least: a row's part of a piece is then several
/// vectors long, so that the additions, not the bookkeeping around them, take a piece's time.
const SUM_COLUMNS_AT_LEAST: usize = 64;

/// `N` sums over the rows of a `[rows, width]` matrix, column by column: `add_rows(first_column,
/// sums)` adds every row's terms, in row order, for the columns from `first_column` on into `sums`
/// (a slice of each sum, as many columns as the slices hold). Each column's sum starts at 0 and
/// goes in row order, as Burn's `sum_dim(0)` adds, so its values are Burn's however many threads
/// there are: the threads split the columns, not the rows.
fn column_sums<const N: usize>(
    rows: usize,
    width: usize,
    add_rows: impl Fn(usize, [&mut [f32]; N]) + Sync + Send,
) -> [Vec<f32>; N] {
    let mut sums = [(); N].map(|_| vec![0.0; width]);
    let columns_per_piece = (PIECE_ELEMENTS / rows.max(1)).max(SUM_COLUMNS_AT_LEAST);
    let columns = sums.each_mut().map(|sums| (sums.as_mut_slice(), 1));
    for_pieces_of(columns_per_piece, width, columns, add_rows);
    sums
}

/// `a()` and `b()`, natively on two of rayon's threads at once, in the browser one after the other.
fn side_by_side<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    #[cfg(not(target_arch = "wasm32"))]
    return rayon::join(a, b);
    #[cfg(target_arch = "wasm32")]
    (a(), b())
}

/// Registers `grad` for `parent` when the parent is tracked.
fn register(grads: &mut Gradients, parent: Option<NodeId>, grad: impl FnOnce() -> FlexTensor) {
    if let Some(id) = parent {
        grads.register::<Flex>(id, grad());
    }
}

// ---------------------------------------------------------------- Adam

with_widest_vectors! {
    /// Adam's new moments from the gradient `g` and the old ones (none on the first step), every
    /// element of `m_new` and `v_new`, as Burn's `AdaptiveMomentum::transform` computes them.
    fn adam_moments(
        g: &[f32],
        old: Option<(&[f32], &[f32])>,
        factors: [f32; 4],
        m_new: &mut [MaybeUninit<f32>],
        v_new: &mut [MaybeUninit<f32>],
    ) {
        let [beta_1, beta_2, factor_1, factor_2] = factors;
        let moments = m_new.iter_mut().zip(v_new.iter_mut());
        match old {
            Some((m, v)) => {
                for ((m_new, v_new), (&g, (&m, &v))) in moments.zip(g.iter().zip(m.iter().zip(v))) {
                    m_new.write(m * beta_1 + g * factor_1);
                    v_new.write(v * beta_2 + (g * g) * factor_2);
                }
            }
            None => {
                for ((m_new, v_new), &g) in moments.zip(g) {
                    m_new.write(g * factor_1);
                    v_new.write((g * g) * factor_2);
                }
            }
        }
    }
}

with_widest_vectors! {
    /// Adam's new parameters from the old ones and the new moments, every element of `p_new`, as
    /// Burn's `Adam::step` computes them.
    fn adam_parameters(
        p: &[f32],
        m: &[f32],
        v: &[f32],
        factors: [f32; 3],
        p_new: &mut [MaybeUninit<f32>],
    ) {
        let [combined_factor, scaled_epsilon, lr] = factors;
        for ((p_new, &p), (&m, &v)) in p_new.iter_mut().zip(p).zip(m.iter().zip(v)) {
            p_new.write(p - (m * combined_factor) / (v.sqrt() + scaled_epsilon) * lr);
        }
    }
}

// ---------------------------------------------------------------- LayerNorm

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

// ---------------------------------------------------------------- GELU

/// `(Φ(x), φ(x))`: the standard normal's distribution and density at `x`, lane by lane. `erf`
/// by Abramowitz and Stegun 7.1.26 (absolute error below 1.5·10⁻⁷) and `exp` by
/// [`exp_nonpositive`], so that both vectorise; the density reuses the exponential the
/// distribution needs.
#[inline(always)]
pub fn normal_cdf_pdf<V: Lanes>(x: V) -> (V, V) {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [
        0.254_829_6,
        -0.284_496_74,
        1.421_413_7,
        -1.453_152,
        1.061_405_4,
    ];
    const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;
    let c = V::splat;
    let z = x.abs() * c(std::f32::consts::FRAC_1_SQRT_2);
    let t = c(1.0) / (c(1.0) + c(P) * z);
    let poly = t * (c(A[0]) + t * (c(A[1]) + t * (c(A[2]) + t * (c(A[3]) + t * c(A[4])))));
    let gauss = exp_nonpositive(-z * z); // exp(−x²/2)
    let erf = (c(1.0) - poly * gauss).copysign(x);
    (c(0.5) * (c(1.0) + erf), c(FRAC_1_SQRT_2PI) * gauss)
}

/// `eˣ` for `x ≤ 0`, lane by lane, relative error about 10⁻⁷, without branches:
/// `x = n ln 2 + r` with `|r| ≤ ln 2 / 2`, `eʳ` by its Taylor polynomial of degree 7 and `2ⁿ`
/// written into the exponent bits. Below −87 (where `eˣ` leaves the normal floats) it returns
/// e⁻⁸⁷.
#[inline(always)]
pub fn exp_nonpositive<V: Lanes>(x: V) -> V {
    // Adding 1.5·2²³ rounds to an integer held in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    const LN2_HIGH: f32 = 0.693_359_4;
    const LN2_LOW: f32 = -2.121_944_4e-4;
    let c = V::splat;
    let x = x.at_least(-87.0);
    let shifted = x * c(std::f32::consts::LOG2_E) + c(ROUND);
    let n = shifted - c(ROUND);
    let r = x - n * c(LN2_HIGH) - n * c(LN2_LOW);
    let p = c(1.0)
        + r * (c(1.0)
            + r * (c(0.5)
                + r * (c(1.0 / 6.0)
                    + r * (c(1.0 / 24.0)
                        + r * (c(1.0 / 120.0) + r * (c(1.0 / 720.0) + r * c(1.0 / 5040.0)))))));
    p * shifted.power_of_two()
}

/// GELU of every element, written over `x`'s own values when nothing else holds them (the
/// inference path's MLP hands over its hidden layer), else over a copy.
fn gelu_flex(mut x: FlexTensor) -> FlexTensor {
    let n = x.layout().shape().num_elements();
    if x.as_slice::<f32>().is_some()
        && let Some(values) = x.try_storage_mut::<f32>()
    {
        gelu_in_place(&mut values[..n]);
        return x;
    }
    let mut y = values(&x).into_owned();
    gelu_in_place(&mut y);
    tensor_like(y, &x)
}

fn gelu_in_place(values: &mut [f32]) {
    for_each_piece(values.len(), [(values, 1)], |_, [values]| {
        gelu_values(values)
    });
}

/// GELU of every element and `GELU′(x) = Φ(x) + x φ(x)`, for the backward pass.
fn gelu_and_slope_flex(x: &FlexTensor) -> (FlexTensor, FlexTensor) {
    let x_values = values(x);
    let n = x_values.len();
    // SAFETY: `gelu_and_slope_values` writes every element of `y` and `slope`.
    let [y, slope] = unsafe {
        new_rows(n, [1, 1], |first, [y, slope]| {
            gelu_and_slope_values(&x_values[first..][..y.len()], y, slope);
        })
    };
    (tensor_like(y, x), tensor_like(slope, x))
}

with_widest_vectors! {
    /// GELU of each of `values`, in place.
    fn gelu_values(values: &mut [f32]) {
        #[cfg(target_arch = "wasm32")]
        let values = {
            let whole = values.len() / 4 * 4;
            for lanes in values.chunks_exact_mut(4) {
                let x = F32x4::load(lanes);
                (x * normal_cdf_pdf(x).0).store(lanes);
            }
            &mut values[whole..]
        };
        for value in values {
            *value *= normal_cdf_pdf(*value).0;
        }
    }
}

with_widest_vectors! {
    /// GELU of each of `x` into `y`, and `GELU′(x) = Φ(x) + x φ(x)` into `slope`, every element
    /// of both.
    fn gelu_and_slope_values(
        x: &[f32],
        y: &mut [MaybeUninit<f32>],
        slope: &mut [MaybeUninit<f32>],
    ) {
        #[cfg(target_arch = "wasm32")]
        let (x, y, slope) = {
            let whole = x.len() / 4 * 4;
            let lanes = y.chunks_exact_mut(4).zip(slope.chunks_exact_mut(4));
            for (x, (y, slope)) in x.chunks_exact(4).zip(lanes) {
                let x = F32x4::load(x);
                let (cdf, pdf) = normal_cdf_pdf(x);
                (x * cdf).write(y);
                (cdf + x * pdf).write(slope);
            }
            (&x[whole..], &mut y[whole..], &mut slope[whole..])
        };
        for ((y, slope), &x) in y.iter_mut().zip(slope.iter_mut()).zip(x) {
            let (cdf, pdf) = normal_cdf_pdf(x);
            y.write(x * cdf);
            slope.write(cdf + x * pdf);
        }
    }
}

#[derive(Debug)]
struct GeluBackward;

impl Backward<Flex, 1> for GeluBackward {
    /// GELU′ at the input.
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x] = ops.parents.map(|p| p.map(|p| p.id));
        let dy = grads.consume::<Flex>(&ops.node);
        register(grads, x, || {
            let (dy_values, slope) = (values(&dy), values(&ops.state));
            // SAFETY: the loop writes every element of `dx`: `dy` and `slope` are as long.
            let [dx] = unsafe {
                new_rows(dy_values.len(), [1], |first, [dx]| {
                    let (dy, slope) = (&dy_values[first..], &slope[first..]);
                    for ((dx, &dy), &slope) in dx.iter_mut().zip(dy).zip(slope) {
                        dx.write(dy * slope);
                    }
                })
            };
            tensor_like(dx, &dy)
        });
    }
}

fn gelu_tracked(x: AutodiffTensor) -> AutodiffTensor {
    match GeluBackward
        .prepare::<NoCheckpointing>([x.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (y, slope) = gelu_and_slope_flex(x.primitive());
            prep.finish(slope, y)
        }
        OpsKind::UnTracked(prep) => prep.finish(gelu_flex(x.primitive().clone())),
    }
}

// ---------------------------------------------------------------- causal softmax

with_widest_vectors! {
    /// The softmax of one query's row of scores over the keys up to and including the query's own
    /// position `query` into `y`; the keys after it get 0.
    fn causal_softmax_row(scores: &[f32], query: usize, divisor: f32, y: &mut [MaybeUninit<f32>]) {
        let (visible, hidden) = y.split_at_mut(query + 1);
        let scores = &scores[..=query];
        let max = scores.iter().fold(f32::MIN, |m, &s| m.max(s)) / divisor;
        for (y, &s) in visible.iter_mut().zip(scores) {
            y.write(exp_nonpositive(s / divisor - max));
        }
        hidden.fill(MaybeUninit::new(0.0));
        // SAFETY: the loop above wrote every element of `visible` (`scores` is as long).
        let visible = unsafe { visible.assume_init_mut() };
        // Summed in a loop of its own: an ordered sum cannot vectorise, the exponentials can.
        let sum = visible.iter().fold(0.0, |sum, &y| sum + y);
        let inverse_sum = 1.0 / sum;
        visible.iter_mut().for_each(|y| *y *= inverse_sum);
    }
}

fn softmax_flex(scores: &FlexTensor, divisor: f32) -> FlexTensor {
    let s = values(scores);
    let [_, _, queries, keys] = scores.layout().shape()[..] else {
        panic!("four dimensions")
    };
    // SAFETY: `causal_softmax_row` writes every element of each row.
    let [y] = unsafe {
        new_rows(s.len() / keys, [keys], |first, [y]| {
            for (row, y) in (first..).zip(y.chunks_exact_mut(keys)) {
                let s = &s[row * keys..][..keys];
                causal_softmax_row(s, keys - queries + row % queries, divisor, y);
            }
        })
    };
    tensor_like(y, scores)
}

#[derive(Debug)]
struct SoftmaxBackward;

impl Backward<Flex, 1> for SoftmaxBackward {
    /// The softmax's output and the divisor of its scores.
    type State = (FlexTensor, f32);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [scores] = ops.parents.map(|p| p.map(|p| p.id));
        let dy = grads.consume::<Flex>(&ops.node);
        let (output, divisor) = ops.state;
        register(grads, scores, || {
            let keys = *dy.layout().shape().last().expect("four dimensions");
            let (dy_values, y_values) = (values(&dy), values(&output));
            // SAFETY: the loops write every element of `dx`: `dy` and `y` are as long.
            let [dx] = unsafe {
                new_rows(dy_values.len() / keys, [keys], |first, [dx]| {
                    let (dy, y) = (&dy_values[first * keys..], &y_values[first * keys..]);
                    for ((dx, dy), y) in dx
                        .chunks_exact_mut(keys)
                        .zip(dy.chunks_exact(keys))
                        .zip(y.chunks_exact(keys))
                    {
                        let dot: f32 = dy.iter().zip(y).map(|(&dy, &y)| dy * y).sum();
                        for ((dx, &dy), &y) in dx.iter_mut().zip(dy).zip(y) {
                            dx.write(y * (dy - dot) / divisor);
                        }
                    }
                })
            };
            tensor_like(dx, &dy)
        });
    }
}

fn softmax_tracked(scores: AutodiffTensor, divisor: f32) -> AutodiffTensor {
    let y = softmax_flex(scores.primitive(), divisor);
    match SoftmaxBackward
        .prepare::<NoCheckpointing>([scores.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((y.clone(), divisor), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    }
}

// ---------------------------------------------------------------- linear

/// A matrix, or a batch of them, as `gemm` reads it: through its tensor's strides, without a
/// copy, as stored or transposed.
struct Matrices<'a> {
    values: &'a [f32],
    /// Where each matrix of the batch starts in `values`, in the batch's order.
    starts: Vec<isize>,
    /// Rows and columns as read.
    dims: [usize; 2],
    /// Row and column strides as read.
    strides: [isize; 2],
}

impl<'a> Matrices<'a> {
    /// The matrices over the last two dimensions of `tensor`, the others being the batch.
    fn of(tensor: &'a FlexTensor) -> Self {
        let layout = tensor.layout();
        let (shape, strides) = (layout.shape(), layout.strides());
        let batch_dims = shape.num_dims() - 2;
        let mut starts = vec![layout.start_offset() as isize];
        for (&size, &stride) in shape[..batch_dims].iter().zip(strides) {
            starts = starts
                .iter()
                .flat_map(|&start| (0..size as isize).map(move |i| start + i * stride))
                .collect();
        }
        let matrices = Matrices {
            values: tensor.storage(),
            starts,
            dims: [shape[batch_dims], shape[batch_dims + 1]],
            strides: [strides[batch_dims], strides[batch_dims + 1]],
        };
        // What makes the reads in `product` safe: every element of every matrix is in `values`.
        if matrices.dims.iter().all(|&d| d > 0) {
            let reach = |sign: fn(isize) -> bool| -> isize {
                (matrices.dims.iter().zip(matrices.strides))
                    .filter(|&(_, stride)| sign(stride))
                    .map(|(&d, stride)| (d as isize - 1) * stride)
                    .sum()
            };
            let (low, high) = (reach(|s| s < 0), reach(|s| s > 0));
            for &start in &matrices.starts {
                assert!(
                    start + low >= 0 && start + high < matrices.values.len() as isize,
                    "a view's matrices lie within its values"
                );
            }
        }
        matrices
    }

    fn transposed(self) -> Self {
        let ([rows, columns], [row_stride, column_stride]) = (self.dims, self.strides);
        Matrices {
            dims: [columns, rows],
            strides: [column_stride, row_stride],
            ..self
        }
    }
}

/// Multiply-adds per piece when a batch of small products is split over threads.
const PIECE_MULTIPLY_ADDS: usize = 1 << 18;

/// `a b`, matrix by matrix over the batch, into a new row-major vector: the `gemm` calls Burn's
/// CPU backend makes for a product (same strides, so the same values), without zeroing the
/// output first, nor allocating it twice and copying it as Burn does. A batch is split over the
/// threads by pieces of whole matrices; a single large product, with `split`, over rayon's
/// threads as Burn splits it (the values are the same either way).
fn product(a: &Matrices, b: &Matrices, split: bool) -> Vec<f32> {
    let ([m, k], [k_b, n]) = (a.dims, b.dims);
    assert_eq!(k, k_b, "matrix product of {:?} and {:?}", a.dims, b.dims);
    let batch = a.starts.len();
    assert_eq!(batch, b.starts.len(), "as many left matrices as right ones");
    if batch * m * n * k == 0 {
        return vec![0.0; batch * m * n];
    }
    // Burn's threshold for running a product on several threads (burn-flex's matmul.rs).
    #[cfg(not(target_arch = "wasm32"))]
    let parallelism = if split && batch == 1 && m * n * k >= 192 * 192 * 192 {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // The browser's products run on one thread (its gemm has no rayon).
    #[cfg(target_arch = "wasm32")]
    let parallelism = {
        let _ = split;
        gemm::Parallelism::None
    };
    // Not zeroed first: `gemm` with `read_dst = false` writes every element of its destination
    // and reads none (gemm-common 0.19, each of its paths: the small-product, vector and blocked
    // kernels all take the destination's old value as zero when told not to read it). Zeroing
    // was 4-7% of a training step. `tests/kernels.rs` holds `gemm` to this on each path, through
    // a destination filled with NaN.
    let mut out = Vec::<f32>::with_capacity(batch * m * n);
    let matrices_per_piece = (PIECE_MULTIPLY_ADDS / (m * n * k)).max(1);
    let spare = &mut out.spare_capacity_mut()[..batch * m * n];
    for_pieces_of(
        matrices_per_piece,
        batch,
        [(spare, m * n)],
        |first, [piece]| {
            for (i, dst) in (first..).zip(piece.chunks_exact_mut(m * n)) {
                // SAFETY: `dst` has room for one m × n matrix, row-major, which `gemm` writes, every
                // element, before `set_len` below counts them; `Matrices::of` asserted that each
                // matrix of `a` and `b` lies within its values at these strides.
                unsafe {
                    gemm::gemm(
                        m,
                        n,
                        k,
                        dst.as_mut_ptr().cast::<f32>(),
                        1,
                        n as isize,
                        false,
                        a.values.as_ptr().offset(a.starts[i]),
                        a.strides[1],
                        a.strides[0],
                        b.values.as_ptr().offset(b.starts[i]),
                        b.strides[1],
                        b.strides[0],
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        parallelism,
                    );
                }
            }
        },
    );
    // SAFETY: the pieces covered every matrix of the batch, and `gemm` wrote each in full; had
    // one panicked, the panic would have left this function before this line.
    unsafe { out.set_len(batch * m * n) };
    out
}

/// A `[rows, columns]` tensor holding `values`.
fn matrix_tensor(values: Vec<f32>, rows: usize, columns: usize) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, [rows, columns]))
}

fn linear_flex(x: &FlexTensor, weight: &FlexTensor, bias: &FlexTensor) -> FlexTensor {
    let (x, weight) = (Matrices::of(x), Matrices::of(weight));
    let ([rows, _], [_, d_out]) = (x.dims, weight.dims);
    let mut y = product(&x, &weight, true);
    let bias = values(bias);
    for_each_piece(rows, [(&mut y, d_out)], |_, [y]| {
        for row in y.chunks_exact_mut(d_out) {
            for (y, &b) in row.iter_mut().zip(bias.iter()) {
                *y += b;
            }
        }
    });
    matrix_tensor(y, rows, d_out)
}

#[derive(Debug)]
struct LinearBackward;

impl Backward<Flex, 3> for LinearBackward {
    /// The input and the weight.
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, weight_node, bias_node] = ops.parents.map(|p| p.map(|p| p.id));
        let dy = grads.consume::<Flex>(&ops.node);
        let (x, weight) = ops.state;
        let [rows, d_out] = Matrices::of(&dy).dims;
        let d_in = x.layout().shape()[1];
        let wanted = [x_node.is_some(), weight_node.is_some()];
        let (dx, dw) = operand_gradients(&dy, &x, &weight, wanted);
        register(grads, x_node, || {
            matrix_tensor(dx.expect("computed for x"), rows, d_in)
        });
        register(grads, weight_node, || {
            matrix_tensor(dw.expect("computed for the weight"), d_in, d_out)
        });
        // The sum over the rows that Burn's `linear` takes, in the same order.
        register(grads, bias_node, || {
            let dy = values(&dy);
            let [db] = column_sums(rows, d_out, |first, [db]| {
                for dy in dy.chunks_exact(d_out) {
                    db.iter_mut()
                        .zip(&dy[first..])
                        .for_each(|(db, &dy)| *db += dy);
                }
            });
            FlexTensor::from_data(TensorData::new(db, [d_out]))
        });
    }
}

fn linear_tracked(
    x: AutodiffTensor,
    weight: AutodiffTensor,
    bias: AutodiffTensor,
) -> AutodiffTensor {
    let y = linear_flex(x.primitive(), weight.primitive(), bias.primitive());
    match LinearBackward
        .prepare::<NoCheckpointing>([x.node(), weight.node(), bias.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            prep.finish((x.primitive().clone(), weight.primitive().clone()), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(y),
    }
}

/// The gradients of the operands of `a b` whose flags in `wanted` are set, given the output's
/// gradient `dy`: `dy bᵀ` for `a` and `aᵀ dy` for `b`, transposed by strides, as Burn's matmul
/// backward computes them. The two products are independent and of the same size: where both are
/// wanted, each takes one thread whole (coarser work than splitting each over the threads in
/// turn).
fn operand_gradients(
    dy: &FlexTensor,
    a: &FlexTensor,
    b: &FlexTensor,
    [a_wanted, b_wanted]: [bool; 2],
) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
    let dy = Matrices::of(dy);
    let split = !(a_wanted && b_wanted);
    side_by_side(
        || a_wanted.then(|| product(&dy, &Matrices::of(b).transposed(), split)),
        || b_wanted.then(|| product(&Matrices::of(a).transposed(), &dy, split)),
    )
}

/// [`matmul`] on the CPU, for operands of the same batch dimensions.
fn matmul_flex(a: &FlexTensor, b: &FlexTensor) -> FlexTensor {
    let (a_matrices, b_matrices) = (Matrices::of(a), Matrices::of(b));
    let y = product(&a_matrices, &b_matrices, true);
    let mut shape = a.layout().shape().to_vec();
    let columns = shape.len() - 1;
    shape[columns] = b_matrices.dims[1];
    FlexTensor::from_data(TensorData::new(y, shape))
}

#[derive(Debug)]
struct MatmulBackward;

impl Backward<Flex, 2> for MatmulBackward {
    /// The two operands.
    type State = (FlexTensor, FlexTensor);

    /// Burn's matmul backward ([`operand_gradients`]).
    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [a_node, b_node] = ops.parents.map(|p| p.map(|p| p.id));
        let dy = grads.consume::<Flex>(&ops.node);
        let (a, b) = ops.state;
        let (da, db) = operand_gradients(&dy, &a, &b, [a_node.is_some(), b_node.is_some()]);
        register(grads, a_node, || {
            tensor_like(da.expect("computed for a"), &a)
        });
        register(grads, b_node, || {
            tensor_like(db.expect("computed for b"), &b)
        });
    }
}

// ---------------------------------------------------------------- heads

/// [`swap_middle_dims`] on the CPU: reads `x` through its strides (whatever view it is), writes
/// the result contiguous.
fn swap_middle_flex(x: &FlexTensor) -> FlexTensor {
    let layout = x.layout();
    let [a, b, c, d] = layout.shape()[..] else {
        panic!("four dimensions")
    };
    let [s0, s1, s2, s3] = layout.strides()[..] else {
        panic!("four strides")
    };
    let (values, start) = (x.storage::<f32>(), layout.start_offset() as isize);
    // SAFETY: each row is `b` pieces of `d` elements, each piece written whole.
    let [y] = unsafe {
        new_rows(a * c, [b * d], |first, [y]| {
            for (row, y) in (first..).zip(y.chunks_exact_mut(b * d)) {
                let row_start = start + (row / c) as isize * s0 + (row % c) as isize * s2;
                for (j, y) in y.chunks_exact_mut(d).enumerate() {
                    let from = row_start + j as isize * s1;
                    if s3 == 1 {
                        y.write_copy_of_slice(&values[from as usize..][..d]);
                    } else {
                        for (l, y) in y.iter_mut().enumerate() {
                            y.write(values[(from + l as isize * s3) as usize]);
                        }
                    }
                }
            }
        })
    };
    FlexTensor::from_data(TensorData::new(y, [a, c, b, d]))
}

#[derive(Debug)]
struct SwapMiddleBackward;

impl Backward<Flex, 1> for SwapMiddleBackward {
    type State = ();

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x] = ops.parents.map(|p| p.map(|p| p.id));
        let dy = grads.consume::<Flex>(&ops.node);
        register(grads, x, || swap_middle_flex(&dy));
    }
}
