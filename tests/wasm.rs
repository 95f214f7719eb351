//! The engine in a browser (headless Chromium): the same data as natively, and training on
//! WebGPU and on the CPU fallback. Run by `cargo test --target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]

mod common;

use common::{GOLDEN_EXAMPLES, sample_examples, tiny_config};
use gradcause::backend::Backend;
use gradcause::report::{SeedReport, train_and_evaluate};
use gradcause::task::Task;
use gradcause::train::Trainer;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

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

#[wasm_bindgen_test]
async fn the_analysis_runs_on_webgpu() {
    let device = Backend::Wgpu.device().await.expect("WebGPU opens");
    let config = tiny_config(Task::Sort, 5);
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
            .all(|c| c.grad.is_finite() && c.grad > 0.0)
    );
    assert!((0.0..=1.0).contains(&analysis.base_accuracy));
    assert_eq!(analysis.attention.heads.len(), 4);
}
