//! The native GPU path (wgpu; on a machine without a GPU, Mesa's lavapipe Vulkan driver) computes
//! what the CPU computes and trains.
//!
//! Needs a Vulkan adapter: `apt-get install mesa-vulkan-drivers` gives a CPU one. Set
//! `GRADCAUSE_SKIP_WGPU=1` to skip these tests on a machine that has none (never under CI:
//! `.ci/run` sets `GRADCAUSE_CI`, and a skip then fails).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::prelude::*;
use common::tiny_config;
use gradcause::engine::backend::Backend;
use gradcause::engine::component::{Component, Intervention};
use gradcause::engine::objective::BatchTensors;
use gradcause::engine::task::Task;
use gradcause::engine::train::Trainer;
use gradcause::engine::weights::{from_safetensors, to_safetensors};

fn gpu() -> Option<Device> {
    if std::env::var_os("GRADCAUSE_SKIP_WGPU").is_some() {
        // A skipped test counts as passed, so CI (`.ci/run` sets GRADCAUSE_CI) refuses to skip.
        assert!(
            std::env::var_os("GRADCAUSE_CI").is_none(),
            "GRADCAUSE_SKIP_WGPU is set under CI: CI runs every test (install mesa-vulkan-drivers)"
        );
        eprintln!("GRADCAUSE_SKIP_WGPU is set: skipping the wgpu test");
        return None;
    }
    match pollster::block_on(Backend::Wgpu.device()) {
        Ok(device) => Some(device),
        Err(e) => panic!("{e}\n(install mesa-vulkan-drivers, or set GRADCAUSE_SKIP_WGPU=1)"),
    }
}

#[test]
fn wgpu_and_cpu_compute_the_same_forward_pass() {
    let Some(gpu) = gpu() else { return };
    let cpu = Device::flex();
    let config = tiny_config(Task::Sort, 11);
    let on_cpu = config.model.init(config.seed, &cpu);
    // The same weights on both devices, through the weights file.
    let bytes = pollster::block_on(to_safetensors(&on_cpu)).unwrap();
    let on_gpu = from_safetensors(&bytes, &gpu).unwrap();

    let batch = &config.eval.ood_set(config.task, config.seed, 5)[0];
    let ablate = Intervention::zero([Component::Head { layer: 1, head: 0 }]);
    for intervention in [Intervention::none(), ablate] {
        let a = on_cpu.forward(BatchTensors::new(batch, &cpu).inputs, &intervention);
        let b = on_gpu.forward(BatchTensors::new(batch, &gpu).inputs, &intervention);
        let a: Vec<f32> = a.into_data().try_to_vec::<f32>().unwrap();
        let b: Vec<f32> = pollster::block_on(b.into_data_async())
            .unwrap()
            .try_to_vec::<f32>()
            .unwrap();
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-3, "cpu and wgpu logits differ by {worst}");
    }
}

#[test]
fn wgpu_trains_like_the_cpu_and_the_loss_goes_down() {
    let Some(gpu) = gpu() else { return };
    let losses = |device: &Device| -> Vec<f64> {
        let mut trainer = Trainer::new(&tiny_config(Task::Sort, 11), device);
        (0..30)
            .map(|_| pollster::block_on(trainer.step()).unwrap().loss)
            .collect()
    };
    let (on_gpu, on_cpu) = (losses(&gpu), losses(&Device::flex()));
    // Same seed, same data, same initial weights: the runs agree up to float rounding.
    for (step, (g, c)) in on_gpu.iter().zip(&on_cpu).enumerate() {
        assert!(
            (g - c).abs() < 0.02 * c,
            "step {step}: wgpu loss {g:.4}, cpu loss {c:.4}"
        );
    }
    let early = on_gpu[..5].iter().sum::<f64>() / 5.0;
    let late = on_gpu[25..].iter().sum::<f64>() / 5.0;
    assert!(late < 0.9 * early, "loss {early:.3} -> {late:.3}");
}
