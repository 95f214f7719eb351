//! Adam's step: one fused pass over each parameter, Burn's `Adam` operation by operation.

use burn::backend::Flex;
use burn::prelude::*;
use std::mem::MaybeUninit;

use super::pieces::new_rows;
use super::{Route, route, tensor_like, values};
#[cfg(target_arch = "wasm32")]
use crate::engine::lanes::F32x4;
use crate::engine::lanes::Lanes;

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

/// Adam's new moments from a gradient and the old moments, as Burn's
/// `AdaptiveMomentum::transform` computes them (`factors`: β₁, β₂, 1 − β₁, 1 − β₂).
#[inline(always)]
fn moments<V: Lanes>(g: V, (m, v): (V, V), factors: [f32; 4]) -> (V, V) {
    let [beta_1, beta_2, factor_1, factor_2] = factors.map(V::splat);
    (m * beta_1 + g * factor_1, v * beta_2 + (g * g) * factor_2)
}

/// The first step's moments (no old ones), as Burn computes them.
#[inline(always)]
fn first_moments<V: Lanes>(g: V, factors: [f32; 4]) -> (V, V) {
    let [_, _, factor_1, factor_2] = factors.map(V::splat);
    (g * factor_1, (g * g) * factor_2)
}

/// A new parameter from the old one and the new moments, as Burn's `Adam::step` computes it
/// (`factors`: the combined bias correction, the scaled epsilon, the learning rate).
#[inline(always)]
fn parameter<V: Lanes>(p: V, m: V, v: V, factors: [f32; 3]) -> V {
    let [combined_factor, scaled_epsilon, lr] = factors.map(V::splat);
    p - (m * combined_factor) / (v.sqrt() + scaled_epsilon) * lr
}

with_widest_vectors! {
    /// Adam's new moments from the gradient `g` and the old ones (none on the first step), every
    /// element of `m_new` and `v_new`; on four SIMD128 lanes at a time in the browser.
    fn adam_moments(
        g: &[f32],
        old: Option<(&[f32], &[f32])>,
        factors: [f32; 4],
        m_new: &mut [MaybeUninit<f32>],
        v_new: &mut [MaybeUninit<f32>],
    ) {
        #[cfg(target_arch = "wasm32")]
        let (g, old, m_new, v_new) = {
            let whole = g.len() / 4 * 4;
            let out = m_new.chunks_exact_mut(4).zip(v_new.chunks_exact_mut(4));
            for (k, (m_new, v_new)) in out.enumerate() {
                let g = F32x4::load(&g[4 * k..][..4]);
                let (m, v) = match old {
                    Some((m, v)) => {
                        let old = (F32x4::load(&m[4 * k..][..4]), F32x4::load(&v[4 * k..][..4]));
                        moments(g, old, factors)
                    }
                    None => first_moments(g, factors),
                };
                m.write(m_new);
                v.write(v_new);
            }
            let old = old.map(|(m, v)| (&m[whole..], &v[whole..]));
            (&g[whole..], old, &mut m_new[whole..], &mut v_new[whole..])
        };
        let out = m_new.iter_mut().zip(v_new.iter_mut());
        match old {
            Some((m, v)) => {
                for ((m_new, v_new), (&g, (&m, &v))) in out.zip(g.iter().zip(m.iter().zip(v))) {
                    let (m, v) = moments(g, (m, v), factors);
                    m_new.write(m);
                    v_new.write(v);
                }
            }
            None => {
                for ((m_new, v_new), &g) in out.zip(g) {
                    let (m, v) = first_moments(g, factors);
                    m_new.write(m);
                    v_new.write(v);
                }
            }
        }
    }
}

with_widest_vectors! {
    /// Adam's new parameters from the old ones and the new moments, every element of `p_new`; on
    /// four SIMD128 lanes at a time in the browser.
    fn adam_parameters(
        p: &[f32],
        m: &[f32],
        v: &[f32],
        factors: [f32; 3],
        p_new: &mut [MaybeUninit<f32>],
    ) {
        #[cfg(target_arch = "wasm32")]
        let (p, m, v, p_new) = {
            let whole = p.len() / 4 * 4;
            for (k, p_new) in p_new.chunks_exact_mut(4).enumerate() {
                let lanes = |x: &[f32]| F32x4::load(&x[4 * k..][..4]);
                parameter(lanes(p), lanes(m), lanes(v), factors).write(p_new);
            }
            (&p[whole..], &m[whole..], &v[whole..], &mut p_new[whole..])
        };
        for ((p_new, &p), (&m, &v)) in p_new.iter_mut().zip(p).zip(m.iter().zip(v)) {
            p_new.write(parameter(p, m, v, factors));
        }
    }
}
