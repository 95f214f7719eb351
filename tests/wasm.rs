//! The engine in a browser (headless Chromium): the same data as natively, and training on
//! WebGPU and on the CPU fallback. Run by `cargo test --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]

mod common;

use common::{GOLDEN_EXAMPLES, sample_examples};
use gradcause::backend::Backend;
use gradcause::config::ExperimentConfig;
use gradcause::model::ModelConfig;
use gradcause::task::Task;
use gradcause::train::{TrainConfig, Trainer};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn data_for_a_seed_equals_the_native_data() {
    let golden: serde_json::Value = serde_json::from_str(GOLDEN_EXAMPLES).unwrap();
    assert_eq!(sample_examples(42), golden);
}

fn small() -> ExperimentConfig {
    let mut config = ExperimentConfig::new(Task::Reverse, 3);
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
        .with_eval_every(1000)
        .with_max_steps(1000);
    config.eval.ood_lengths = vec![5];
    config.validate().unwrap();
    config
}

/// Trains `steps` steps on `backend`, awaiting every readback, and returns the losses.
async fn losses(backend: Backend, steps: usize) -> Vec<f64> {
    let device = backend.device().await.expect("the backend opens");
    let mut trainer = Trainer::new(&small(), &device);
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
    let webgpu = losses(Backend::Wgpu, 30).await;
    assert!(mean(&webgpu[25..]) < 0.9 * mean(&webgpu[..5]), "{webgpu:?}");
    // The same seed on the CPU backend in the same page: the same run up to float rounding.
    let cpu = losses(Backend::Cpu, 30).await;
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
