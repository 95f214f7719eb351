//! Fused CPU kernels for the model's LayerNorm, GELU and causal softmax, forward and backward;
//! its products (linear layers and attention) written straight into their outputs; the split
//! of projections into heads; and Adam's step.
//!
//! Under autodiff Burn composes LayerNorm from eight tensor operations each way, computes GELU
//! with a scalar `erf` per element, and builds the causal softmax from a mask addition, a
//! maximum, an exponential, a sum and a division, each allocating its output. On the CPU
//! backend (`flex`) the three functions here make one pass over their rows instead, with a
//! backward pass of their own registered in Burn's autodiff graph (the backend-extension
//! pattern: the concrete primitive is taken out of the tensor, computed on, and put back). In the
//! browser's WebGPU backend, which has no fusion, LayerNorm and the causal softmax are kernels
//! of our own the same way (`webgpu.rs`); on any other backend (native wgpu, which fuses) they
//! are Burn's composed operations, so one model serves every backend. `tests/kernels.rs` checks
//! each against its composed version and against finite differences. [`linear`] makes the same
//! `gemm` calls and sums as Burn's `linear`, so its values and gradients equal Burn's exactly
//! (also tested); it saves the second allocation and the copy Burn's CPU backend makes of every
//! product's output. So do [`matmul`] for Burn's
//! `matmul`, [`swap_middle_dims`] for `swap_dims(1, 2)` and [`adam_step`] for Burn's `Adam`: the
//! same values, with the work Burn does on one thread split over the threads.
//!
//! The loops are written to vectorise (no branches per element; `erf` and `exp` as
//! polynomials instead of `libm` calls): SSE, AVX2 or AVX-512 natively
//! ([`crate::engine::simd`]); in the browser, whose build is optimised for size and so vectorises
//! no loop, GELU runs on SIMD128 lanes ([`crate::engine::lanes`]).
//! Natively the rows of a large tensor are split over rayon's threads, a row to one thread, so
//! the values do not depend on the number of threads.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Flex};
use burn::prelude::*;
use burn::tensor::DType;

/// Defines a function whose body is compiled three times natively on x86-64: for the build's
/// baseline (SSE2, four lanes), for AVX2 (eight) and for AVX-512 (sixteen), the one run being the
/// widest [`crate::engine::simd::current`] allows. The same operations lane by lane, so the same values
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
            match crate::engine::simd::current() {
                // SAFETY: `current` names only levels the CPU has.
                crate::engine::simd::Level::Avx512 => return unsafe { avx512($($arg),*) },
                crate::engine::simd::Level::Avx2 => return unsafe { avx2($($arg),*) },
                crate::engine::simd::Level::Baseline => {}
            }
            body($($arg),*)
        }
    };
}

mod adam;
mod gelu;
mod norm;
mod pieces;
mod products;
mod softmax;
#[cfg(target_arch = "wasm32")]
mod webgpu;

pub use adam::{adam_step, adam_step_in_place, add_in_place};
pub use gelu::{exp_nonpositive, gelu, normal_cdf_pdf};
pub use norm::{LAYER_NORM_EPSILON, layer_norm};
pub use products::{linear, matmul, swap_middle_dims};
pub use softmax::{causal_softmax, composed};
#[cfg(target_arch = "wasm32")]
pub use webgpu::{causal_softmax as webgpu_causal_softmax, layer_norm as webgpu_layer_norm};

/// A tensor on the CPU backend under autodiff.
type AutodiffTensor = FloatTensor<Autodiff<Flex>>;

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

/// Registers `grad` for `parent` when the parent is tracked.
fn register(grads: &mut Gradients, parent: Option<NodeId>, grad: impl FnOnce() -> FlexTensor) {
    if let Some(id) = parent {
        grads.register::<Flex>(id, grad());
    }
}
