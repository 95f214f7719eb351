//! Helpers shared by the native and the browser tests.
// Each test crate that includes this module uses only part of it.
#![allow(dead_code)]

use burn::prelude::*;
use gradcause::engine::kernels;
use gradcause::engine::model::ModelConfig;
use gradcause::engine::task::{Example, Task, ood_set};
use gradcause::engine::train::{TrainConfig, TrainingData};
use gradcause::engine::{optimiser, simd};
use gradcause::experiment::config::ExperimentConfig;

/// Command-line flags for a run small enough to train in a blink: one layer of two heads, three
/// steps, one OOD batch of 8 at lengths 8 and 9, thresholds and pruning counts below the model's
/// three components.
pub const TINY_RUN_FLAGS: &[&str] = &[
    "--layers",
    "1",
    "--heads",
    "2",
    "--d-model",
    "16",
    "--d-ff",
    "32",
    "--max-steps",
    "3",
    "--eval-every",
    "3",
    "--eval-examples",
    "16",
    "--ood-lengths",
    "8,9",
    "--ood-batches",
    "1",
    "--ood-batch-size",
    "8",
    "--thresholds",
    "1,2",
    "--pruning-threshold",
    "2",
    "--prune-counts",
    "1,2",
];

/// The golden examples, checked in: seed 42's first training and OOD examples of each task.
pub const GOLDEN_EXAMPLES: &str = include_str!("../golden/examples.json");

/// The first training examples and the first OOD (n = 8) examples of `seed`, per task, as token
/// lists: the data every machine must agree on.
pub fn sample_examples(seed: u64) -> serde_json::Value {
    let tokens = |examples: Vec<Example>| -> Vec<Vec<u32>> {
        examples.iter().map(Example::tokens).collect()
    };
    let mut tasks = serde_json::Map::new();
    for task in Task::ALL {
        let config = ExperimentConfig::new(task, seed);
        let train = TrainingData::new(&config)
            .flat_map(|batch| batch.examples)
            .take(12)
            .collect();
        let ood = ood_set(task, seed, 8, 1, 64)
            .remove(0)
            .examples
            .into_iter()
            .take(4)
            .collect();
        tasks.insert(
            task.name().into(),
            serde_json::json!({ "train": tokens(train), "ood_8": tokens(ood) }),
        );
    }
    serde_json::json!({ "seed": seed, "tasks": tasks })
}

/// A model and task small enough to train and analyse in seconds: 2 layers of 2 heads (6
/// components), lengths 2–4, OOD lengths 5 and 6, every length analysable.
pub fn tiny_config(task: Task, seed: u64) -> ExperimentConfig {
    let mut config = ExperimentConfig::new(task, seed);
    config.model = ModelConfig::new()
        .with_layers(2)
        .with_heads(2)
        .with_d_model(32)
        .with_d_ff(64)
        .with_context(16);
    config.train = TrainConfig::new()
        .with_lr(3e-3)
        .with_batch_size(16)
        .with_min_length(2)
        .with_max_length(4)
        .with_eval_every(50)
        .with_eval_examples(64)
        .with_max_steps(100);
    config.eval.ood_lengths = vec![5, 6];
    config.eval.ood_batches = 3;
    config.eval.ood_batch_size = 16;
    config.eval.window_low = 0.0;
    config.eval.window_high = 1.0;
    config.analysis.thresholds = vec![1, 2];
    config.analysis.threshold = 2;
    config.analysis.attention_examples = 5;
    config.analysis.prune_counts = vec![1, 3];
    config.analysis.ig_steps = 2;
    config.analysis.ig_batches = 2;
    config.analysis.prune_batches = 2;
    config.validate().expect("a valid tiny config");
    config
}

/// Checks that GELU and its slope on the CPU backend, forward alone (on a tensor held elsewhere
/// too, which it must leave alone, and on one handed over) and under autodiff, equal
/// bit for bit `x Φ(x)` and `Φ(x) + x φ(x)` computed one float at a time: whatever lanes the
/// build's loops run on (SSE or AVX2 natively, SIMD128 in the browser), each lane computes what
/// the scalar code computes. A length that is no multiple of the lanes, so the tail runs too.
pub fn gelu_equals_its_scalar_formula_bit_for_bit() {
    let specials = [
        0.0, -0.0, 1e-40, -1e-40, 3.0, -3.0, 12.0, -12.0, 20.0, -20.0,
    ];
    let inputs: Vec<f32> = specials
        .into_iter()
        .chain((0..4_003).map(|i| (i as f32 * 0.618_034).sin() * 9.0 + (i % 7) as f32 * 1e-3))
        .collect();
    let scalar = |x: f32| {
        let (cdf, pdf) = kernels::normal_cdf_pdf(x);
        (x * cdf, cdf + x * pdf)
    };
    let bits = |t: Tensor<2>| -> Vec<u32> {
        let values = t.into_data().try_to_vec::<f32>().unwrap();
        values.into_iter().map(f32::to_bits).collect()
    };
    let expected_y: Vec<u32> = inputs.iter().map(|&x| scalar(x).0.to_bits()).collect();
    let expected_slope: Vec<u32> = inputs.iter().map(|&x| scalar(x).1.to_bits()).collect();
    let n = inputs.len();

    let device = Device::flex();
    let x = Tensor::<2>::from_data(TensorData::new(inputs.clone(), [1, n]), &device);
    // Held elsewhere too, so computed on a copy; then handed over, so computed in place.
    assert_eq!(
        bits(kernels::gelu(x.clone())),
        expected_y,
        "GELU of a shared tensor"
    );
    let input_bits: Vec<u32> = inputs.iter().map(|x| x.to_bits()).collect();
    assert_eq!(
        bits(x.clone()),
        input_bits,
        "the shared input is left as it was"
    );
    assert_eq!(bits(kernels::gelu(x)), expected_y, "GELU, forward alone");

    let device = device.autodiff();
    let x = Tensor::<2>::from_data(TensorData::new(inputs, [1, n]), &device).require_grad();
    let y = kernels::gelu(x.clone());
    // The sum's gradient is 1 everywhere, so x's gradient is the slope itself.
    let slope = x.grad(&y.clone().sum().backward()).unwrap();
    assert_eq!(bits(y), expected_y, "GELU under autodiff");
    assert_eq!(bits(slope), expected_slope, "GELU's slope");
}

/// Checks that the training's Adam (each parameter's step one fused pass on the CPU) gives Burn's
/// `Adam`'s values bit for bit, with PyTorch's ε, at every vector width this CPU has (natively;
/// the browser's build has one), and so does Adam over every parameter laid end to end: three
/// steps of a linear layer whose weight is split over the threads and whose bias is not.
pub fn fused_and_flat_adam_give_burns_values() {
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
    use burn::tensor::Distribution;
    use gradcause::engine::flat::laid_end_to_end;

    let device = Device::flex().autodiff();
    let layer = LinearConfig::new(300, 70).init(&device);
    let inputs = Tensor::<2>::random([8, 300], Distribution::Normal(0.0, 1.0), &device);
    // Step `step`'s gradients: of a loss that changes from step to step.
    let gradients = |layer: &Linear, step: usize| {
        let loss = layer
            .forward(inputs.clone() * step as f32)
            .powi_scalar(3)
            .sum();
        GradientsParams::from_grads(loss.backward(), layer)
    };
    let weight_and_bias = |layer: Linear| {
        let bias = layer.bias.expect("a bias").val();
        [layer.weight.val().into_data(), bias.into_data()]
            .map(|data| data.try_to_vec::<f32>().unwrap())
    };
    let train = |mut optimizer: ModuleOptimizer| {
        let mut layer: Linear = layer.clone();
        for step in 1..=3 {
            let grads = gradients(&layer, step);
            layer = optimizer.step(1e-2, layer, grads);
        }
        weight_and_bias(layer)
    };
    let burns = train(AdamConfig::new().with_epsilon(1e-8).init());
    for level in simd::available() {
        simd::limit_to(level);
        assert_eq!(train(optimiser::adam()), burns, "at {}", level.name());
    }
    simd::limit_to(simd::widest());

    // Adam over every parameter laid end to end (the GPU's): Burn's values too.
    let mut flat = optimiser::FlatAdam::default();
    let mut stepped: Linear = layer.clone();
    for step in 1..=3 {
        let grads = gradients(&stepped, step);
        stepped = flat.step(1e-2, stepped, &grads);
    }
    assert_eq!(weight_and_bias(stepped), burns, "laid end to end");

    // Adam over every parameter laid end to end in memory (a trainer's with helpers; in the
    // browser on SIMD128 lanes): Burn's values too; and a step's gradient handed over in two parts
    // steps as their sum does, which `add_in_place` makes (21,070 parameters: lanes and a scalar
    // tail).
    let values = |model: &Linear| {
        let flat = laid_end_to_end(model, None).into_data();
        flat.try_to_vec::<f32>().unwrap()
    };
    let [mut whole, mut in_parts, mut summed] =
        [(); 3].map(|_| optimiser::EndToEndAdam::new(values(&layer)));
    let [mut stepped, mut stepped_in_parts, mut stepped_summed] = [(); 3].map(|_| layer.clone());
    let cpu = Device::flex();
    for step in 1..=3 {
        let grads = gradients(&stepped, step);
        let gradient = laid_end_to_end(&stepped, Some(&grads)).into_data();
        let gradient = gradient.try_to_vec::<f32>().unwrap();
        let first: Vec<f32> = gradient.iter().map(|g| g * 0.3).collect();
        let second: Vec<f32> = gradient.iter().map(|g| g * 0.7).collect();
        let sum: Vec<f32> = first.iter().zip(&second).map(|(a, b)| a + b).collect();
        let mut added = first.clone();
        kernels::add_in_place(&mut added, &second);
        assert!(added == sum, "step {step}: the sum of two parts");
        let parts = vec![first, second];
        stepped_in_parts = in_parts.step(1e-2, stepped_in_parts, parts, &cpu).unwrap();
        stepped_summed = summed.step(1e-2, stepped_summed, vec![sum], &cpu).unwrap();
        stepped = whole.step(1e-2, stepped, vec![gradient], &cpu).unwrap();
        assert!(
            values(&stepped_in_parts) == values(&stepped_summed),
            "step {step} in parts"
        );
    }
    assert_eq!(weight_and_bias(stepped), burns, "laid end to end in memory");
    let why = whole.step(1e-2, layer.clone(), vec![vec![0.0; 3]], &cpu);
    let why = why.err().unwrap();
    assert!(
        why.contains("3 gradients came for a model of 21070"),
        "{why}"
    );
}

/// Asserts that `got` equals `expected` element by element within `tolerance`, relative above
/// magnitude 1 and absolute below; `what` names the values in a failure.
pub fn assert_close(got: &[f32], expected: &[f32], tolerance: f32, what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}: lengths");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g - e).abs() <= tolerance * (1.0 + e.abs()),
            "{what}[{i}]: {g}, expected {e}"
        );
    }
}
