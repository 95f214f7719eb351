//! Adam's step: one fused pass over each parameter, or over every parameter laid end to end,
//! Burn's `Adam` operation by operation.

use burn::backend::Flex;
use burn::prelude::*;
#[cfg(not(target_arch = "wasm32"))]
use std::mem::MaybeUninit;

#[cfg(not(target_arch = "wasm32"))]
use super::pieces::new_rows;
use super::{Route, route, tensor_like, values};
use crate::engine::lanes::Lanes;

/// One Adam step of one parameter on the CPU, in one pass on the threads (in the browser, on
/// SIMD128 lanes, [`adam_step_in_place`]): Burn's `Adam` (its adaptive momentum, without weight
/// decay or AMSGrad) operation by operation in Burn's order, so the same values, where Burn makes
/// about a dozen passes over the parameter on one thread.
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
    let (p, g) = (values(&param), values(&grad));
    let old = moments.as_ref().map(|(m, v)| (values(m), values(v)));
    // In the browser, whose build vectorises no loop, on SIMD128 lanes: copies of the old
    // values, stepped in place.
    #[cfg(target_arch = "wasm32")]
    let [p_new, m_new, v_new] = {
        let mut p_new = p.to_vec();
        let [mut m_new, mut v_new] = match &old {
            Some((m, v)) => [m.to_vec(), v.to_vec()],
            None => [vec![0.0; p.len()], vec![0.0; p.len()]],
        };
        let moments = [m_new.as_mut_slice(), v_new.as_mut_slice()];
        adam_step_in_place(
            (beta_1, beta_2),
            epsilon,
            lr,
            time,
            &mut p_new,
            &[&g],
            moments,
        );
        [p_new, m_new, v_new]
    };
    #[cfg(not(target_arch = "wasm32"))]
    let [moment_factors, parameter_factors] = scalars((beta_1, beta_2), epsilon, lr, time);
    #[cfg(not(target_arch = "wasm32"))]
    // SAFETY: the moments' loops write every element of `m_new` and `v_new` (`g` is as long), the
    // last loop every element of `p_new`.
    let [p_new, m_new, v_new] = unsafe {
        new_rows(p.len(), [1, 1, 1], |first, [p_new, m_new, v_new]| {
            let span = first..first + p_new.len();
            let g = &g[span.clone()];
            let old = old
                .as_ref()
                .map(|(m, v)| (&m[span.clone()], &v[span.clone()]));
            adam_moments(g, old, moment_factors, m_new, v_new);
            // SAFETY (within the block's): `adam_moments` wrote every element of both.
            let (m_new, v_new) = (m_new.assume_init_ref(), v_new.assume_init_ref());
            adam_parameters(&p[span], m_new, v_new, parameter_factors, p_new);
        })
    };
    Some(
        [p_new, m_new, v_new]
            .map(|values| Tensor::from_primitive::<Flex>(tensor_like(values, &param))),
    )
}

/// Adam's scalars at step `time`, as Burn's `AdaptiveMomentum::transform` and `Adam::step`
/// compute them, in f32: for the moments `[β₁, β₂, 1 − β₁, 1 − β₂]`, for the parameters the
/// combined bias correction, the scaled ε, the learning rate and an unused 0 (both rows four
/// wide, to splat into lanes alike).
fn scalars((beta_1, beta_2): (f32, f32), epsilon: f32, lr: f64, time: usize) -> [[f32; 4]; 2] {
    let (factor_1, factor_2) = (1.0 - beta_1, 1.0 - beta_2);
    let bias_correction_2_sqrt = (1.0 - beta_2.powi(time as i32)).sqrt();
    let combined_factor = bias_correction_2_sqrt / (1.0 - beta_1.powi(time as i32));
    let scaled_epsilon = epsilon * bias_correction_2_sqrt;
    [
        [beta_1, beta_2, factor_1, factor_2],
        [combined_factor, scaled_epsilon, lr as f32, 0.0],
    ]
}

/// [`adam_step`] on every parameter at once, laid end to end, in place: `parameters` and the
/// moments `moment_1` and `moment_2` (after step `time - 1`; at step 1 they are not read) are
/// overwritten with their values after the step against the sum of `gradients` (a step's
/// micro-batches' gradients, added in their order). Element by element the same operations as
/// [`adam_step`]'s on the sum [`crate::engine::passes::sum_gradients`] makes, so the same values.
/// In the browser four elements at a time on SIMD128 lanes, in index loops: its build is
/// optimised for size, which vectorises no loop and leaves iterator chains as calls.
///
/// # Panics
/// If a gradient or moment is shorter than the parameters, or there is no gradient.
pub fn adam_step_in_place(
    betas: (f32, f32),
    epsilon: f32,
    lr: f64,
    time: usize,
    parameters: &mut [f32],
    gradients: &[&[f32]],
    [moment_1, moment_2]: [&mut [f32]; 2],
) {
    let factors = scalars(betas, epsilon, lr, time);
    let first = time == 1;
    let n = parameters.len();
    let (p, m, v) = (parameters, &mut moment_1[..n], &mut moment_2[..n]);
    let gradients: Vec<&[f32]> = gradients.iter().map(|g| &g[..n]).collect();
    let (&one, more) = gradients.split_first().expect("a gradient to step with");
    let mut i = 0;
    #[cfg(target_arch = "wasm32")]
    {
        use crate::engine::lanes::F32x4;
        let lanes = factors.map(|f| f.map(F32x4::splat));
        while i + 4 <= n {
            // SAFETY: `i + 4 ≤ n`, and every slice holds `n` elements (sliced so above).
            unsafe {
                let mut g = F32x4::read(one.as_ptr().add(i));
                let mut k = 0;
                while k < more.len() {
                    g = g + F32x4::read(more[k].as_ptr().add(i));
                    k += 1;
                }
                let (p, m, v) = (
                    p.as_mut_ptr().add(i),
                    m.as_mut_ptr().add(i),
                    v.as_mut_ptr().add(i),
                );
                let old = [F32x4::read(p), F32x4::read(m), F32x4::read(v)];
                let [new_p, new_m, new_v] = adam_element(first, old, g, &lanes);
                new_p.put(p);
                new_m.put(m);
                new_v.put(v);
            }
            i += 4;
        }
    }
    while i < n {
        let mut g = one[i];
        let mut k = 0;
        while k < more.len() {
            g += more[k][i];
            k += 1;
        }
        [p[i], m[i], v[i]] = adam_element(first, [p[i], m[i], v[i]], g, &factors);
        i += 1;
    }
}

/// `part` added to `sum` element by element, in place: how a step's micro-batches' gradients
/// are summed in their order before one Adam step ([`adam_step_in_place`] adds them the same
/// way). In the browser four elements at a time on SIMD128 lanes.
///
/// # Panics
/// If `part` is shorter than `sum`.
pub fn add_in_place(sum: &mut [f32], part: &[f32]) {
    let n = sum.len();
    let part = &part[..n];
    let mut i = 0;
    #[cfg(target_arch = "wasm32")]
    while i + 4 <= n {
        use crate::engine::lanes::F32x4;
        // SAFETY: `i + 4 ≤ n`, and both slices hold `n` elements (sliced so above).
        unsafe {
            let to = sum.as_mut_ptr().add(i);
            (F32x4::read(to) + F32x4::read(part.as_ptr().add(i))).put(to);
        }
        i += 4;
    }
    while i < n {
        sum[i] += part[i];
        i += 1;
    }
}

/// One element's (or lanes') Adam step: the parameter and the moments `[p, m, v]` after it,
/// against the gradient `g`, with [`scalars`]' `factors` (in every lane); `first`: the step is
/// the first (the old moments are not read).
#[inline(always)]
fn adam_element<V: Lanes>(first: bool, [p, m, v]: [V; 3], g: V, factors: &[[V; 4]; 2]) -> [V; 3] {
    let [
        [beta_1, beta_2, factor_1, factor_2],
        [combined_factor, scaled_epsilon, lr, _],
    ] = *factors;
    let (m, v) = if first {
        (g * factor_1, (g * g) * factor_2)
    } else {
        (m * beta_1 + g * factor_1, v * beta_2 + (g * g) * factor_2)
    };
    [
        p - (m * combined_factor) / (v.sqrt() + scaled_epsilon) * lr,
        m,
        v,
    ]
}

with_widest_vectors! {
    #[cfg(not(target_arch = "wasm32"))]
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
    #[cfg(not(target_arch = "wasm32"))]
    /// Adam's new parameters from the old ones and the new moments, every element of `p_new`, as
    /// Burn's `Adam::step` computes them.
    fn adam_parameters(
        p: &[f32],
        m: &[f32],
        v: &[f32],
        factors: [f32; 4],
        p_new: &mut [MaybeUninit<f32>],
    ) {
        let [combined_factor, scaled_epsilon, lr, _] = factors;
        for ((p_new, &p), (&m, &v)) in p_new.iter_mut().zip(p).zip(m.iter().zip(v)) {
            p_new.write(p - (m * combined_factor) / (v.sqrt() + scaled_epsilon) * lr);
        }
    }
}
