//! The fused CPU kernels (src/engine/kernels/) against Burn's composed operations and against
//! finite differences: values, gradients of every input, with and without autodiff.

use burn::nn::{LayerNorm, LayerNormConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation;
use gradcause::engine::kernels::{self, LAYER_NORM_EPSILON, composed};
use gradcause::engine::simd;

mod common;

use common::assert_close;

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

/// A LayerNorm of width `d` with a gain and bias away from 1 and 0, on `device`.
fn layer_norm_module(d: usize, device: &Device) -> LayerNorm {
    let mut norm = LayerNormConfig::new(d)
        .with_epsilon(LAYER_NORM_EPSILON.into())
        .init(device);
    norm.gamma = norm
        .gamma
        .map(|g| g + Tensor::random([d], Distribution::Normal(0.0, 0.5), device));
    norm.beta = norm
        .beta
        .map(|b| b.map(|b| b + Tensor::random([d], Distribution::Normal(0.0, 0.5), device)));
    norm
}

/// `Σ f(x) · weights`: a scalar whose gradient in f's output is `weights`.
fn weighted_sum<const D: usize>(y: Tensor<D>, weights: &Tensor<D>) -> Tensor<1> {
    (y * weights.clone()).sum()
}

#[test]
fn layer_norm_equals_burns_and_so_do_its_gradients() {
    let device = Device::flex().autodiff();
    let norm = layer_norm_module(24, &device);
    // More rows than one piece of work holds, so that natively they are split over threads.
    let x = Tensor::<3>::random([4, 300, 24], Distribution::Normal(0.3, 2.0), &device);
    let weights = Tensor::<3>::random([4, 300, 24], Distribution::Normal(0.0, 1.0), &device);
    // Each side on its own leaves: a graph is consumed by its backward pass.
    let run = |fused: bool| {
        let (norm, x) = (fresh(&norm), x.clone().detach().require_grad());
        let y = match fused {
            true => kernels::layer_norm(x.clone(), &norm),
            false => norm.forward(x.clone()),
        };
        let grads = weighted_sum(y.clone(), &weights).backward();
        let beta = norm.beta.unwrap().val();
        [
            values(y),
            values(x.grad(&grads).unwrap()),
            values(norm.gamma.val().grad(&grads).unwrap()),
            values(beta.grad(&grads).unwrap()),
        ]
    };
    let (fused, reference) = (run(true), run(false));
    for (i, what) in ["y", "dx", "dγ", "dβ"].into_iter().enumerate() {
        assert_close(&fused[i], &reference[i], 1e-4, what);
    }
}

#[test]
fn layer_norm_rows_side_by_side_equal_each_row_alone_bit_for_bit() {
    let device = Device::flex().autodiff();
    let norm = layer_norm_module(24, &device);
    // 26 rows: three groups computed side by side and two rows left over; a row of zeros too.
    let x = Tensor::<3>::random([2, 13, 24], Distribution::Normal(0.3, 2.0), &device);
    let x = x.slice_assign([1..2, 4..5, 0..24], Tensor::zeros([1, 1, 24], &device));
    let weights = Tensor::<3>::random([2, 13, 24], Distribution::Normal(0.0, 1.0), &device);
    // Values and x's gradient, whose rows depend on their own row alone.
    let run = |x: Tensor<3>, weights: Tensor<3>| {
        let (norm, x) = (fresh(&norm), x.detach().require_grad());
        let y = kernels::layer_norm(x.clone(), &norm);
        let grads = weighted_sum(y.clone(), &weights).backward();
        let bits = |t: Tensor<3>| -> Vec<u32> { values(t).into_iter().map(f32::to_bits).collect() };
        (bits(y), bits(x.grad(&grads).unwrap()))
    };
    let (together, together_dx) = run(x.clone(), weights.clone());
    let (mut alone, mut alone_dx) = (Vec::new(), Vec::new());
    for b in 0..2 {
        for p in 0..13 {
            let row = |t: &Tensor<3>| t.clone().slice([b..b + 1, p..p + 1, 0..24]);
            let (y, dx) = run(row(&x), row(&weights));
            alone.extend(y);
            alone_dx.extend(dx);
        }
    }
    assert_eq!(together, alone, "values");
    assert_eq!(together_dx, alone_dx, "input gradients");
}

/// The same LayerNorm on new parameter leaves.
fn fresh(norm: &LayerNorm) -> LayerNorm {
    let mut copy = norm.clone();
    copy.gamma = burn::module::Param::from_tensor(norm.gamma.val().detach());
    copy.beta = norm
        .beta
        .as_ref()
        .map(|b| burn::module::Param::from_tensor(b.val().detach()));
    copy
}

#[test]
fn gelu_equals_burns_and_so_does_its_gradient() {
    let device = Device::flex().autodiff();
    // Wide enough to reach both tails, where erf saturates; more than one piece of work.
    let x = Tensor::<2>::random([300, 64], Distribution::Normal(0.0, 4.0), &device).require_grad();
    let weights = Tensor::<2>::random([300, 64], Distribution::Normal(0.0, 1.0), &device);

    let fused = kernels::gelu(x.clone());
    let reference = activation::gelu(x.clone());
    assert_close(
        &values(fused.clone()),
        &values(reference.clone()),
        1e-6,
        "y",
    );

    let fused = values(x.grad(&weighted_sum(fused, &weights).backward()).unwrap());
    let reference = values(
        x.grad(&weighted_sum(reference, &weights).backward())
            .unwrap(),
    );
    assert_close(&fused, &reference, 1e-6, "dx");
}

#[test]
fn causal_softmax_equals_the_masked_softmax_and_so_does_its_gradient() {
    let device = Device::flex().autodiff();
    // More rows than one piece of work holds.
    let scores =
        Tensor::<4>::random([20, 20, 7, 7], Distribution::Normal(0.0, 3.0), &device).require_grad();
    let weights = Tensor::<4>::random([20, 20, 7, 7], Distribution::Normal(0.0, 1.0), &device);
    let divisor = 8f32.sqrt();

    let fused = kernels::causal_softmax(scores.clone(), divisor);
    let reference = composed::causal_softmax(scores.clone(), divisor);
    let fused_values = values(fused.clone());
    assert_close(&fused_values, &values(reference.clone()), 1e-6, "y");
    // Causal and normalised: nothing after the query, rows summing to 1.
    for (row, pattern) in fused_values.chunks(7).enumerate() {
        let query = row % 7;
        assert!(pattern[query + 1..].iter().all(|&p| p == 0.0), "row {row}");
        let sum: f32 = pattern.iter().sum();
        assert!((sum - 1.0).abs() < 1e-6, "row {row} sums to {sum}");
    }

    let fused = values(
        scores
            .grad(&weighted_sum(fused, &weights).backward())
            .unwrap(),
    );
    let reference = values(
        scores
            .grad(&weighted_sum(reference, &weights).backward())
            .unwrap(),
    );
    assert_close(&fused, &reference, 1e-6, "dx");
}

#[test]
fn causal_softmax_of_the_last_queries_equals_those_rows_of_the_square_pattern() {
    let device = Device::flex();
    let scores = Tensor::<4>::random([2, 3, 7, 7], Distribution::Normal(0.0, 3.0), &device);
    let square = kernels::causal_softmax(scores.clone(), 2.0);
    // The last four queries against all seven keys: query i sits at position 3 + i.
    let last = scores.narrow(2, 3, 4);
    let expected = values(square.narrow(2, 3, 4));
    assert_close(
        &values(kernels::causal_softmax(last.clone(), 2.0)),
        &expected,
        1e-6,
        "fused",
    );
    assert_close(
        &values(composed::causal_softmax(last, 2.0)),
        &expected,
        1e-6,
        "composed",
    );
    // Not trivially so: the first of those rows still hides the last three keys.
    assert!(expected[4..7].iter().all(|&p| p == 0.0));
    assert!(expected[..4].iter().all(|&p| p > 0.0));
}

/// Each kernel's input gradient against central differences of its own forward pass, in f64
/// of f32 outputs.
#[test]
fn gradients_match_finite_differences() {
    let device = Device::flex().autodiff();
    let norm = layer_norm_module(8, &device);
    type Kernel<'a> = Box<dyn Fn(Tensor<2>) -> Tensor<2> + 'a>;
    let kernels: [(&str, Kernel); 3] = [
        (
            "layer_norm",
            Box::new(|x: Tensor<2>| kernels::layer_norm(x.unsqueeze_dim(0), &norm).squeeze_dim(0)),
        ),
        ("gelu", Box::new(kernels::gelu)),
        (
            "causal_softmax",
            Box::new(|x: Tensor<2>| {
                kernels::causal_softmax(x.unsqueeze_dims(&[0, 1]), 2.0).squeeze_dims(&[0, 1])
            }),
        ),
    ];
    for (name, kernel) in kernels {
        let x = Tensor::<2>::random([8, 8], Distribution::Normal(0.0, 1.5), &device);
        let weights = Tensor::<2>::random([8, 8], Distribution::Normal(0.0, 1.0), &device);
        let x_tracked = x.clone().require_grad();
        let grads = weighted_sum(kernel(x_tracked.clone()), &weights).backward();
        let gradient = values(x_tracked.grad(&grads).unwrap());

        let loss = |x: Tensor<2>| f64::from(weighted_sum(kernel(x), &weights).into_scalar::<f32>());
        let h = 1e-2;
        for index in [0, 9, 18, 27, 36, 45, 54, 63] {
            let nudge = |by: f32| {
                let mut v = values(x.clone());
                v[index] += by;
                Tensor::<2>::from_data(TensorData::new(v, [8, 8]), &device)
            };
            let expected = (loss(nudge(h)) - loss(nudge(-h))) / (2.0 * f64::from(h));
            let got = f64::from(gradient[index]);
            assert!(
                (got - expected).abs() <= 2e-3 * (1.0 + expected.abs()),
                "{name}: ∂/∂x[{index}] = {got}, finite differences give {expected}"
            );
        }
    }
}

#[test]
fn linear_equals_burns_exactly_and_so_do_its_gradients() {
    // Small, and large enough that the products run on several threads.
    for [rows, d_in, d_out] in [[5, 7, 3], [300, 128, 200]] {
        let plain = Device::flex();
        let random =
            |shape: [usize; 2]| Tensor::<2>::random(shape, Distribution::Normal(0.0, 1.0), &plain);
        let (x, weight, weights) = (
            random([rows, d_in]),
            random([d_in, d_out]),
            random([rows, d_out]),
        );
        let bias = Tensor::<1>::random([d_out], Distribution::Normal(0.0, 1.0), &plain);
        let burns = |x, w, b| burn::tensor::module::linear(x, w, Some(b));
        assert_eq!(
            values(kernels::linear(x.clone(), weight.clone(), bias.clone())),
            values(burns(x.clone(), weight.clone(), bias.clone())),
            "y without autodiff ({rows} × {d_in} × {d_out})"
        );

        let run = |fused: bool| {
            let [x, weight] = [&x, &weight].map(|t| t.clone().autodiff().require_grad());
            let bias = bias.clone().autodiff().require_grad();
            let y = match fused {
                true => kernels::linear(x.clone(), weight.clone(), bias.clone()),
                false => burns(x.clone(), weight.clone(), bias.clone()),
            };
            let grads = weighted_sum(y.clone(), &weights.clone().autodiff()).backward();
            [
                values(y),
                values(x.grad(&grads).unwrap()),
                values(weight.grad(&grads).unwrap()),
                values(bias.grad(&grads).unwrap()),
            ]
        };
        let (fused, reference) = (run(true), run(false));
        for (i, what) in ["y", "dx", "dW", "db"].into_iter().enumerate() {
            assert_eq!(fused[i], reference[i], "{what} ({rows} × {d_in} × {d_out})");
        }
    }
}

/// `kernels::linear` writes its products into memory it has not zeroed, trusting `gemm` to
/// read nothing of a destination it is told not to read (`read_dst = false`, `alpha = 0`, as
/// `kernels::product` calls it). Held here on each of gemm's paths (tiny products, k ≤ 2,
/// matrix-vector both ways, the blocked kernel on one thread and on several, more than one block
/// of k) and each layout the kernels pass: a destination full of NaN must come out exactly as a
/// zeroed one does (with `alpha = 1` and `read_dst = true` it does not).
#[test]
fn gemm_reads_nothing_of_a_destination_it_is_told_not_to_read() {
    let mut state = 7_u32;
    let mut random = |len: usize| -> Vec<f32> {
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1 << 24) as f32 - 0.5
            })
            .collect()
    };
    #[cfg(not(target_arch = "wasm32"))]
    let parallelisms = [gemm::Parallelism::None, gemm::Parallelism::Rayon(0)];
    #[cfg(target_arch = "wasm32")]
    let parallelisms = [gemm::Parallelism::None];
    for [m, n, k] in [
        [4, 5, 9],
        [6, 7, 2],
        [33, 1, 17],
        [1, 33, 17],
        [300, 200, 128],
        [96, 64, 700],
    ] {
        let (a, b) = (random(m * k), random(k * n));
        for (a_transposed, b_transposed) in [(false, false), (true, false), (false, true)] {
            // (column stride, row stride) of a row-major matrix, or of the transpose of one.
            let strides = |columns: usize, transposed: bool| match transposed {
                false => (1, columns as isize),
                true => (columns as isize, 1),
            };
            let (a_cs, a_rs) = strides(if a_transposed { m } else { k }, a_transposed);
            let (b_cs, b_rs) = strides(if b_transposed { k } else { n }, b_transposed);
            for &parallelism in &parallelisms {
                let product = |fill: f32| {
                    let mut out = vec![fill; m * n];
                    // SAFETY: `out` holds m × n values; `a` (m × k) and `b` (k × n) are read
                    // within their lengths with these strides.
                    unsafe {
                        gemm::gemm(
                            m,
                            n,
                            k,
                            out.as_mut_ptr(),
                            1,
                            n as isize,
                            false,
                            a.as_ptr(),
                            a_cs,
                            a_rs,
                            b.as_ptr(),
                            b_cs,
                            b_rs,
                            0.0,
                            1.0,
                            false,
                            false,
                            false,
                            parallelism,
                        );
                    }
                    out.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                };
                assert_eq!(
                    product(f32::NAN),
                    product(0.0),
                    "{m} × {n} × {k}, a transposed {a_transposed}, b transposed {b_transposed}, \
                     {parallelism:?}"
                );
            }
        }
    }
}

/// `swap_middle_dims` is `swap_dims(1, 2)`, values and gradient, whatever view its input is:
/// contiguous, itself a swapped view, or a narrowed one (large enough to run on the threads).
#[test]
fn swap_middle_dims_equals_burns_swap_and_so_does_its_gradient() {
    let plain = Device::flex();
    let x = Tensor::<4>::random([3, 40, 5, 70], Distribution::Normal(0.0, 1.0), &plain);
    type View = fn(Tensor<4>) -> Tensor<4>;
    let views: [(&str, View); 3] = [
        ("contiguous", |x| x),
        ("swapped", |x| x.swap_dims(2, 3)),
        ("narrowed", |x| x.narrow(3, 3, 60)),
    ];
    for (name, view) in views {
        let input = view(x.clone());
        assert_eq!(
            values(kernels::swap_middle_dims(input.clone())),
            values(input.clone().swap_dims(1, 2)),
            "{name}: values"
        );
        let [a, b, c, d] = input.dims();
        let weights = Tensor::<4>::random([a, c, b, d], Distribution::Normal(0.0, 1.0), &plain);
        let gradient = |fused: bool| {
            let x = x.clone().autodiff().require_grad();
            let input = view(x.clone());
            let y = match fused {
                true => kernels::swap_middle_dims(input),
                false => input.swap_dims(1, 2),
            };
            let grads = weighted_sum(y, &weights.clone().autodiff()).backward();
            values(x.grad(&grads).unwrap())
        };
        assert_eq!(gradient(true), gradient(false), "{name}: gradient");
    }
}

/// `kernels::matmul` is Burn's `matmul` bit for bit, values and both gradients: one large matrix
/// (split over the threads inside gemm), a batch as attention multiplies (the right operand a
/// transposed view), a batch of narrowed views, and operands whose batches broadcast (Burn's).
#[test]
fn matmul_equals_burns_exactly_and_so_do_its_gradients() {
    let plain = Device::flex();
    let random =
        |shape: [usize; 4]| Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &plain);
    type Operands = fn(Tensor<4>, Tensor<4>) -> (Tensor<4>, Tensor<4>);
    let cases: [(&str, [usize; 4], [usize; 4], Operands); 4] = [
        ("one large", [1, 1, 300, 128], [1, 1, 128, 200], |a, b| {
            (a, b)
        }),
        ("attention", [8, 4, 9, 16], [8, 4, 11, 16], |a, b| {
            (a, b.swap_dims(2, 3))
        }),
        ("narrowed", [6, 3, 12, 20], [6, 3, 20, 10], |a, b| {
            (a.narrow(2, 2, 9).narrow(3, 1, 17), b.narrow(2, 3, 17))
        }),
        ("broadcast", [5, 2, 7, 6], [1, 2, 6, 4], |a, b| (a, b)),
    ];
    for (name, a_shape, b_shape, operands) in cases {
        let (a, b) = (random(a_shape), random(b_shape));
        let (x, y) = operands(a.clone(), b.clone());
        let expected = x.clone().matmul(y.clone());
        let weights = random(expected.dims());
        assert_eq!(
            values(kernels::matmul(x, y)),
            values(expected),
            "{name}: values"
        );
        let gradients = |fused: bool| {
            let [a, b] = [&a, &b].map(|t| t.clone().autodiff().require_grad());
            let (x, y) = operands(a.clone(), b.clone());
            let out = match fused {
                true => kernels::matmul(x, y),
                false => x.matmul(y),
            };
            let grads = weighted_sum(out, &weights.clone().autodiff()).backward();
            [
                values(a.grad(&grads).unwrap()),
                values(b.grad(&grads).unwrap()),
            ]
        };
        assert_eq!(gradients(true), gradients(false), "{name}: gradients");
    }
}

#[test]
fn inference_and_autodiff_paths_agree() {
    let plain = Device::flex();
    let tracked = plain.clone().autodiff();
    let x = Tensor::<3>::random([2, 6, 16], Distribution::Normal(0.0, 2.0), &plain);
    let norm = layer_norm_module(16, &plain);
    let on = |device: &Device| x.clone().to_device(device);
    let norm_on = |device: &Device| norm.clone().to_device(device);
    let scores = |device: &Device| on(device).reshape([2, 1, 6, 16]).narrow(3, 0, 6);
    for device in [&plain, &tracked] {
        let name = if device == &plain {
            "plain"
        } else {
            "autodiff"
        };
        assert_close(
            &values(kernels::layer_norm(on(device), &norm_on(device))),
            &values(norm.forward(x.clone())),
            1e-5,
            &format!("layer_norm ({name})"),
        );
        assert_close(
            &values(kernels::gelu(on(device).reshape([12, 16]))),
            &values(activation::gelu(x.clone().reshape([12, 16]))),
            1e-6,
            &format!("gelu ({name})"),
        );
        assert_close(
            &values(kernels::causal_softmax(scores(device), 3.0)),
            &values(composed::causal_softmax(scores(&plain), 3.0)),
            1e-6,
            &format!("causal_softmax ({name})"),
        );
    }
}

#[test]
fn gelu_equals_its_scalar_formula_bit_for_bit() {
    common::gelu_equals_its_scalar_formula_bit_for_bit();
}

#[test]
fn the_polynomial_erf_and_exp_are_accurate() {
    // erf by its Taylor series in f64 (exact enough for |x| ≤ 4 with 60 terms).
    let erf = |x: f64| {
        let (mut term, mut sum) = (x, x);
        for n in 1..60 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    };
    for i in -400..=400 {
        let x = i as f32 / 50.0; // −8 … 8
        let (cdf, pdf) = kernels::normal_cdf_pdf(x);
        let x64 = f64::from(x);
        let expected_cdf = if x64.abs() <= 5.6 {
            0.5 * (1.0 + erf(x64 / 2f64.sqrt()))
        } else {
            f64::from(x.signum().max(0.0))
        };
        let expected_pdf = (-x64 * x64 / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
        assert!(
            (f64::from(cdf) - expected_cdf).abs() < 2e-7,
            "Φ({x}) = {cdf}"
        );
        assert!(
            (f64::from(pdf) - expected_pdf).abs() < 1e-7,
            "φ({x}) = {pdf}"
        );
    }
    for i in 0..=8700 {
        let x = -(i as f32) / 100.0;
        let (got, expected) = (f64::from(kernels::exp_nonpositive(x)), f64::from(x).exp());
        assert!(
            (got - expected).abs() <= 3e-7 * expected,
            "exp({x}) = {got}, not {expected}"
        );
    }
    assert!(kernels::exp_nonpositive(f32::NAN).is_nan());
}

#[test]
fn nan_goes_through_every_kernel() {
    let device = Device::flex();
    let mut v = vec![0.5f32; 16];
    v[5] = f32::NAN;
    let x = Tensor::<2>::from_data(TensorData::new(v, [4, 4]), &device);
    let norm = layer_norm_module(4, &device);
    let has_nan = |t: Vec<f32>| t.iter().any(|v| v.is_nan());
    assert!(has_nan(values(kernels::gelu(x.clone()))));
    assert!(has_nan(values(kernels::layer_norm(
        x.clone().unsqueeze_dim(0),
        &norm
    ))));
    assert!(has_nan(values(kernels::causal_softmax(
        x.unsqueeze_dims(&[0, 1]),
        1.0
    ))));
}

/// Every vector width this CPU has (`src/engine/simd.rs`: SSE2, AVX2, AVX-512) gives each kernel's
/// values and gradients bit for bit: LayerNorm, GELU and the causal softmax, forward and backward.
/// The widths are limited for the whole process, so the tests beside this one run at them too
/// (which they may: the values are the same).
#[test]
fn every_simd_level_this_cpu_has_gives_the_same_bits() {
    let device = Device::flex().autodiff();
    let norm = layer_norm_module(40, &device);
    // Row widths that leave a remainder at every width (40 = 2·16 + 8; 37 keys; 53 columns).
    let x = Tensor::<3>::random([4, 37, 40], Distribution::Normal(0.3, 2.0), &device);
    let dy = Tensor::<3>::random([4, 37, 40], Distribution::Normal(0.0, 1.0), &device);
    let h = Tensor::<2>::random([300, 53], Distribution::Normal(0.0, 4.0), &device);
    let dh = Tensor::<2>::random([300, 53], Distribution::Normal(0.0, 1.0), &device);
    let s = Tensor::<4>::random([2, 3, 37, 37], Distribution::Normal(0.0, 3.0), &device);
    let ds = Tensor::<4>::random([2, 3, 37, 37], Distribution::Normal(0.0, 1.0), &device);
    let bits = |v: Vec<f32>| -> Vec<u32> { v.into_iter().map(f32::to_bits).collect() };
    let run = || {
        let (norm, x) = (fresh(&norm), x.clone().detach().require_grad());
        let y = kernels::layer_norm(x.clone(), &norm);
        let grads = weighted_sum(y.clone(), &dy).backward();
        let h = h.clone().detach().require_grad();
        let g = kernels::gelu(h.clone());
        let h_grads = weighted_sum(g.clone(), &dh).backward();
        let s = s.clone().detach().require_grad();
        let p = kernels::causal_softmax(s.clone(), 5.0);
        let s_grads = weighted_sum(p.clone(), &ds).backward();
        [
            bits(values(y)),
            bits(values(x.grad(&grads).unwrap())),
            bits(values(norm.gamma.val().grad(&grads).unwrap())),
            bits(values(g)),
            bits(values(h.grad(&h_grads).unwrap())),
            bits(values(p)),
            bits(values(s.grad(&s_grads).unwrap())),
        ]
    };
    let levels = simd::available();
    let results: Vec<_> = levels
        .iter()
        .map(|&level| {
            simd::limit_to(level);
            assert_eq!(simd::current(), level);
            run()
        })
        .collect();
    simd::limit_to(simd::widest());
    let names = [
        "LayerNorm y",
        "dx",
        "dγ",
        "GELU y",
        "dx",
        "softmax y",
        "dscores",
    ];
    for (level, result) in levels.iter().zip(&results) {
        for (i, name) in names.iter().enumerate() {
            assert!(
                result[i] == results[0][i],
                "{name} at {} differs from {}",
                level.name(),
                levels[0].name()
            );
        }
    }
    eprintln!(
        "compared: {}",
        levels
            .iter()
            .map(|l| l.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
}
