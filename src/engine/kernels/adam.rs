//! Adam's step: one fused pass over each parameter, Burn's `Adam` operation by operation.

use burn::backend::Flex;
use burn::prelude::*;
use std::mem::MaybeUninit;

use super::pieces::new_rows;
use super::{Route, route, tensor_like, values};

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
