//! GELU in its exact `erf` form, forward and backward, with `erf` and `exp` as polynomials.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::prelude::*;
use burn::tensor::activation;
use std::mem::MaybeUninit;

#[cfg(target_arch = "wasm32")]
use crate::engine::lanes::F32x4;
use crate::engine::lanes::Lanes;

use super::pieces::{for_each_piece, new_rows};
use super::{AutodiffTensor, Route, register, route, tensor_like, values};

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
