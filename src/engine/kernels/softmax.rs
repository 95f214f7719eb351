//! Attention's causal softmax, forward and backward, and the composed operations every other
//! backend runs.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::prelude::*;
use std::mem::MaybeUninit;

use super::gelu::exp_nonpositive;
use super::pieces::new_rows;
use super::{AutodiffTensor, Route, register, route, tensor_like, values};

/// `softmax(scores / divisor)` over keys `[batch, heads, query, key]`, each query attending to
/// itself and the keys before it; later keys get weight 0. The queries are the last positions of
/// the keys' sequence: all of them (a square pattern), or fewer when only the last positions are
/// read out ([`crate::engine::model::Transformer::answer_logits`]).
pub fn causal_softmax(scores: Tensor<4>, divisor: f32) -> Tensor<4> {
    match route(&scores) {
        Some(Route::Plain(s)) => Tensor::from_primitive::<Flex>(softmax_flex(&s, divisor)),
        Some(Route::Tracked(s)) => {
            Tensor::from_primitive::<Autodiff<Flex>>(softmax_tracked(s, divisor))
        }
        #[cfg(target_arch = "wasm32")]
        None => super::webgpu::causal_softmax(&scores, divisor)
            .unwrap_or_else(|| composed::causal_softmax(scores, divisor)),
        #[cfg(not(target_arch = "wasm32"))]
        None => composed::causal_softmax(scores, divisor),
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
