//! The engine in a browser (headless Chromium): the same data as natively, and training on
//! WebGPU and on the CPU fallback. Run by `cargo test --target wasm32-unknown-unknown`.
//!
//! The tests run in a dedicated Web Worker, where the page runs its jobs. On the page's main
//! thread they lost the runner: WebGPU on SwiftShader held that thread for up to 20 s at a time
//! during the analysis (a timer firing every 50 ms, 2026-12-07, AMD EPYC with two sweeps beside
//! it), and Chromium gives up on a renderer that answers the runner's polls in none of 30 s.
#![cfg(target_arch = "wasm32")]

mod common;

use burn::module::Param;
use burn::nn::LayerNormConfig;
use burn::prelude::*;
use burn::tensor::Distribution;
use common::{GOLDEN_EXAMPLES, assert_close, sample_examples, tiny_config};
use gradcause::analysis::analyze::Class;
use gradcause::analysis::attribution::GWeights;
use gradcause::engine::backend::Backend;
use gradcause::engine::kernels::{self, LAYER_NORM_EPSILON, composed};
use gradcause::engine::model::Positions;
use gradcause::engine::task::Task;
use gradcause::engine::train::Trainer;
use gradcause::experiment::config::ExperimentConfig;
use gradcause::experiment::permalink::{from_query, to_query};
use gradcause::experiment::report::{SeedReport, train_and_evaluate};
use gradcause::report::plot::{Scale, band, class_colour, heat_colour};
use gradcause::report::summary::Summary;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
fn data_for_a_seed_equals_the_native_data() {
    let golden: serde_json::Value = serde_json::from_str(GOLDEN_EXAMPLES).unwrap();
    assert_eq!(sample_examples(42), golden);
}

/// Trains `steps` steps on `backend`, awaiting every readback, and returns the losses.
async fn losses(backend: Backend, steps: usize) -> Vec<f64> {
    let device = backend.device().await.expect("the backend opens");
    let mut trainer = Trainer::new(&tiny_config(Task::Reverse, 3), &device);
    let mut losses = Vec::new();
    for _ in 0..steps {
        losses.push(trainer.step().await.expect("a training step").loss);
    }
    losses
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

#[wasm_bindgen_test]
async fn the_model_trains_on_webgpu_and_the_loss_goes_down() {
    use wasm_bindgen::JsCast;
    // In a worker's scope, as on the page (the device opens from the worker's navigator).
    assert!(
        js_sys::global()
            .dyn_into::<web_sys::DedicatedWorkerGlobalScope>()
            .is_ok()
    );
    // 12 steps: SwiftShader takes seconds a step. On this seed the loss falls about 6% from the
    // first three steps to the last three (the CPU run below shows the same); a model whose
    // weights never moved would stay within noise of where it started.
    let webgpu = losses(Backend::Wgpu, 12).await;
    assert!(mean(&webgpu[9..]) < 0.97 * mean(&webgpu[..3]), "{webgpu:?}");
    // The same seed on the CPU backend in the same page: the same run up to float rounding.
    let cpu = losses(Backend::Cpu, 12).await;
    for (step, (g, c)) in webgpu.iter().zip(&cpu).enumerate() {
        assert!(
            (g - c).abs() < 0.02 * c,
            "step {step}: webgpu {g:.4}, cpu {c:.4}"
        );
    }
}

#[wasm_bindgen_test]
async fn the_model_trains_on_the_cpu_backend_in_wasm() {
    let cpu = losses(Backend::Cpu, 30).await;
    assert!(mean(&cpu[25..]) < 0.9 * mean(&cpu[..5]), "{cpu:?}");
}

#[wasm_bindgen_test]
async fn the_analysis_runs_on_webgpu() {
    let device = Backend::Wgpu.device().await.expect("WebGPU opens");
    // SwiftShader runs WebGPU on the CPU: the fewest steps and batches that still run every
    // stage of the analysis (the native tests check its numbers on the tiny config).
    let mut config = tiny_config(Task::Sort, 5);
    config.train.max_steps = 10;
    config.train.eval_every = 10;
    config.train.eval_examples = 16;
    config.eval.ood_lengths = vec![5];
    config.eval.ood_batches = 2;
    config.analysis.attention_examples = 2;
    // Every score and pruning by score, at their smallest.
    config.analysis.ig_steps = 1;
    config.analysis.ig_batches = 1;
    config.analysis.prune_counts = vec![1];
    config.analysis.prune_batches = 1;
    config.validate().expect("a valid config");
    let (trained, run) = train_and_evaluate(&config, Backend::Wgpu, &device, |_| {})
        .await
        .expect("training on WebGPU");
    let report = SeedReport::analyse(&trained.model, run, &trained.snapshots, &mut ())
        .await
        .expect("the analysis on WebGPU");
    let analysis = report
        .analysis
        .expect("every length is analysable in the tiny config");
    assert_eq!(analysis.components.len(), 6);
    assert!(
        analysis
            .components
            .iter()
            .all(|c| c.grad.len() == GWeights::ALL.len()
                && c.grad.values().all(|g| g.is_finite() && *g > 0.0))
    );
    assert!((0.0..=1.0).contains(&analysis.base_accuracy));
    // The cheap scores, and pruning by each, on WebGPU as well.
    for score in gradcause::analysis::scores::Score::ALL {
        let values = analysis.score(score).expect("every score");
        assert!(values.iter().all(|v| v.is_finite()), "{score}");
    }
    assert!(analysis.score_pruning.is_some());
    assert_eq!(analysis.attention.heads.len(), 4);

    // What the page draws from it: every scatter point inside the plot, one colour per class,
    // and layer bins that count each classed head once.
    let g = config.analysis.g_weights;
    let x = Scale::fit(analysis.grad(g), (64.0, 500.0));
    assert!(
        analysis
            .grad(g)
            .iter()
            .all(|&g| (64.0..=500.0).contains(&x.map(g)))
    );
    let t = config.analysis.threshold;
    let by_grad = &analysis.by_grad[&g];
    let classes = &by_grad.class[&config.analysis.pruning_ablation][&t];
    for (class, delta) in classes
        .iter()
        .zip(&by_grad.delta[&config.analysis.pruning_ablation])
    {
        assert_eq!(*class, Class::by(*delta, t, config.analysis.class_rule));
    }
    let report = SeedReport {
        analysis: Some(analysis.clone()),
        ..report
    };
    let summary = Summary::new(Task::Sort, std::slice::from_ref(&report), g);
    let bins = summary.table5.at(config.analysis.pruning_ablation, t);
    assert_eq!(bins.len(), config.model.layers);
    let heads = |class| {
        analysis
            .components
            .iter()
            .zip(classes)
            .filter(|(c, k)| c.kind == "head" && **k == class)
            .count()
    };
    assert_eq!(
        bins.iter().map(|b| b.heroes).sum::<usize>(),
        heads(Class::Hero)
    );
    assert_eq!(
        bins.iter().map(|b| b.bloats).sum::<usize>(),
        heads(Class::Bloat)
    );
}

/// The page's LayerNorm on WebGPU (kernels of our own, `src/engine/kernels/webgpu.rs`) computes
/// what Burn's composed LayerNorm computes there, and so do its gradients in x, γ and β.
#[wasm_bindgen_test]
async fn layer_norm_on_webgpu_equals_burns_and_so_do_its_gradients() {
    let device = Backend::Wgpu
        .device()
        .await
        .expect("WebGPU opens")
        .autodiff();
    // More rows than one workgroup's threads, and a width that is no power of two.
    let (rows, d) = ([3, 29], 40);
    let mut norm = LayerNormConfig::new(d)
        .with_epsilon(LAYER_NORM_EPSILON.into())
        .init(&device);
    let normal = |mean, std, shape: Vec<usize>| {
        Tensor::<1>::random(
            [shape.iter().product::<usize>()],
            Distribution::Normal(mean, std),
            &device,
        )
    };
    norm.gamma = norm.gamma.map(|g| g + normal(0.0, 0.5, vec![d]));
    norm.beta = norm.beta.map(|b| b.map(|b| b + normal(0.0, 0.5, vec![d])));
    let x: Tensor<3> = normal(0.3, 2.0, vec![rows[0], rows[1], d]).reshape([rows[0], rows[1], d]);
    let weights: Tensor<3> =
        normal(0.0, 1.0, vec![rows[0], rows[1], d]).reshape([rows[0], rows[1], d]);
    let mut results = Vec::new();
    for ours in [true, false] {
        // Each side on its own leaves: a graph is consumed by its backward pass.
        let x = x.clone().detach().require_grad();
        let mut norm = norm.clone();
        norm.gamma = Param::from_tensor(norm.gamma.val().detach());
        norm.beta = norm.beta.map(|b| Param::from_tensor(b.val().detach()));
        let y = match ours {
            true => {
                let beta = norm.beta.as_ref().unwrap().val();
                kernels::webgpu_layer_norm(&x, &norm.gamma.val(), &beta)
                    .expect("WebGPU's tensors take our own LayerNorm")
            }
            false => norm.forward(x.clone()),
        };
        let grads = (y.clone() * weights.clone()).sum().backward();
        let beta = norm.beta.as_ref().unwrap().val();
        results.push([
            floats(y.flatten(0, 2)).await,
            floats(x.grad(&grads).unwrap().flatten(0, 2)).await,
            floats(norm.gamma.val().grad(&grads).unwrap()).await,
            floats(beta.grad(&grads).unwrap()).await,
        ]);
    }
    for (i, what) in ["y", "dx", "dγ", "dβ"].into_iter().enumerate() {
        assert_close(&results[0][i], &results[1][i], 1e-4, what);
    }
}

/// The page's causal softmax on WebGPU (a kernel of our own) computes what Burn's composed
/// operations compute there, and so does its gradient: a square pattern, and the last queries
/// of a longer sequence of keys.
#[wasm_bindgen_test]
async fn causal_softmax_on_webgpu_equals_the_composed_one_and_so_does_its_gradient() {
    let device = Backend::Wgpu
        .device()
        .await
        .expect("WebGPU opens")
        .autodiff();
    // More rows than one workgroup's threads.
    for shape in [[3, 4, 9, 9], [3, 4, 6, 9]] {
        let count = shape.iter().product::<usize>();
        let normal = |std| Tensor::<1>::random([count], Distribution::Normal(0.0, std), &device);
        let scores: Tensor<4> = normal(3.0).reshape(shape);
        let weights: Tensor<4> = normal(1.0).reshape(shape);
        let mut results = Vec::new();
        for ours in [true, false] {
            let scores = scores.clone().detach().require_grad();
            let y = match ours {
                true => kernels::webgpu_causal_softmax(&scores, 2.5)
                    .expect("WebGPU's tensors take our own softmax"),
                false => composed::causal_softmax(scores.clone(), 2.5),
            };
            let grads = (y.clone() * weights.clone()).sum().backward();
            let dx = scores.grad(&grads).unwrap();
            results.push([
                floats(y.flatten(0, 3)).await,
                floats(dx.flatten(0, 3)).await,
            ]);
        }
        for (i, what) in ["y", "dx"].into_iter().enumerate() {
            assert_close(
                &results[0][i],
                &results[1][i],
                1e-5,
                &format!("{shape:?} {what}"),
            );
        }
    }
}

/// The WebGPU kernels reach every row when there are more than one axis of workgroups holds
/// (65,535 of 64 threads): a softmax over one key is 1, a LayerNorm of width 1 is its bias.
#[wasm_bindgen_test]
async fn webgpu_kernels_reach_rows_past_one_axis_of_workgroups() {
    let device = Backend::Wgpu.device().await.expect("WebGPU opens");
    let rows = 65_535 * 64 + 1;
    let ones = Tensor::<4>::ones([rows, 1, 1, 1], &device);
    let y = kernels::webgpu_causal_softmax(&ones, 1.0).expect("our own softmax");
    assert!(
        floats(y.flatten(0, 3)).await.iter().all(|&y| y == 1.0),
        "softmax"
    );
    let (gamma, beta) = (
        Tensor::<1>::ones([1], &device),
        Tensor::<1>::full([1], 0.5, &device),
    );
    let x = Tensor::<3>::ones([rows, 1, 1], &device);
    let y = kernels::webgpu_layer_norm(&x, &gamma, &beta).expect("our own LayerNorm");
    assert!(
        floats(y.flatten(0, 2)).await.iter().all(|&y| y == 0.5),
        "LayerNorm"
    );
}

/// A tensor's values, read back without blocking.
async fn floats(t: Tensor<1>) -> Vec<f32> {
    t.into_data_async()
        .await
        .unwrap()
        .try_to_vec::<f32>()
        .unwrap()
}

/// GELU's SIMD128 lanes (the page's build vectorises no loop by itself) compute what its scalar
/// code computes, bit for bit.
#[wasm_bindgen_test]
fn gelu_lanes_equal_the_scalar_formula_in_the_browser() {
    common::gelu_equals_its_scalar_formula_bit_for_bit();
}

/// Adam in the browser (its own build, no vectorised loop) gives Burn's `Adam`'s values bit for
/// bit.
#[wasm_bindgen_test]
fn adam_gives_burns_values_in_the_browser() {
    common::fused_and_flat_adam_give_burns_values();
}

#[wasm_bindgen_test]
fn figure_geometry_and_colours_in_the_browser() {
    let y = Scale {
        domain: (0.0, 1.0),
        range: (300.0, 20.0),
    };
    assert_eq!(y.map(0.5), 160.0);
    assert_eq!(y.ticks(5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
    assert_eq!(band(1, 4, 400.0), (110.0, 80.0));
    assert_eq!(class_colour(Class::Hero), "#1a9850");
    assert_eq!(class_colour(Class::Bloat), "#d73027");
    assert_eq!(class_colour(Class::Aligned), "#9e9e9e");
    assert_eq!(heat_colour(1.0), "rgb(8,48,107)");
}

#[wasm_bindgen_test]
fn links_reproduce_a_config_in_the_browser() {
    let mut config = ExperimentConfig::new(Task::Sort, 9);
    config.train.max_steps = 20;
    config.eval.ood_lengths = vec![8, 10];
    config.model.positions = Positions::None;
    assert!(to_query(&config).contains("positions=none"));
    assert_eq!(from_query(&to_query(&config)).unwrap(), config);
    assert!(from_query("lr=-1").unwrap_err().contains("train.lr"));
}
