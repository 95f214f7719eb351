//! What the analysis tests share: tiny models, losses and logits computed apart from the
//! analysis, and trained, analysed reports.

use burn::module::Param;
use burn::prelude::*;
use gradcause::engine::backend::Backend;
use gradcause::engine::component::Intervention;
use gradcause::engine::model::{Capture, Transformer};
use gradcause::engine::objective::{BatchTensors, loss};
use gradcause::engine::rng::{Rng, Stream};
use gradcause::engine::task::{Batch, Task};
use gradcause::engine::train::Trained;
use gradcause::experiment::report::{SeedReport, TrainReport, train_and_evaluate};

use crate::common::tiny_config;

pub fn device() -> Device {
    Device::flex()
}

pub fn logits(model: &Transformer, batch: &Batch, intervention: &Intervention) -> Vec<f32> {
    let inputs = BatchTensors::new(batch, &device()).inputs;
    model
        .forward(inputs, intervention)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

pub fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// A tiny model with weights large enough for clear gradients.
pub fn tiny_model(seed: u64) -> Transformer {
    let mut model = tiny_config(Task::Sort, seed).model.init(seed, &device());
    let mut rng = Rng::new(seed, Stream::Analysis);
    let mut scale = |p: &mut Param<Tensor<3>>| {
        let dims = p.dims();
        let noise: Vec<f32> = (0..dims.iter().product())
            .map(|_| rng.normal() as f32 * 0.3)
            .collect();
        *p = Param::from_data(TensorData::new(noise, dims), &device());
    };
    for block in &mut model.blocks {
        scale(&mut block.attn.w_q);
        scale(&mut block.attn.w_k);
        scale(&mut block.attn.w_v);
        scale(&mut block.attn.w_o);
    }
    model
}

/// The loss of `model` on `batch`, in f64.
pub fn loss_on(model: &Transformer, batch: &Batch) -> f64 {
    loss_under(model, batch, &Intervention::none())
}

/// The loss of `model` on `batch` under `intervention`, in f64.
pub fn loss_under(model: &Transformer, batch: &Batch, intervention: &Intervention) -> f64 {
    let tensors = BatchTensors::new(batch, &device());
    let l: f32 = loss(
        model.forward(tensors.inputs.clone(), intervention),
        &tensors,
    )
    .into_scalar();
    f64::from(l)
}

/// Component `i`'s clean output on `batch`, `[examples, positions, d_model]`.
pub fn clean_output(model: &Transformer, batch: &Batch, i: usize) -> Tensor<3> {
    let capture = Capture {
        outputs: true,
        attention: false,
        residuals: false,
    };
    let inputs = BatchTensors::new(batch, &device()).inputs;
    model
        .run(inputs, &Intervention::none(), capture)
        .outputs
        .swap_remove(i)
}

/// Analyses a trained model and its snapshots.
pub fn analyse(trained: &Trained, run: TrainReport) -> SeedReport {
    pollster::block_on(SeedReport::analyse(
        &trained.model,
        run,
        &trained.snapshots,
        &mut (),
    ))
    .unwrap()
}

/// Trains the tiny config and analyses it.
pub fn trained_report(task: Task, seed: u64) -> (Transformer, SeedReport) {
    let config = tiny_config(task, seed);
    let (trained, run) =
        pollster::block_on(train_and_evaluate(&config, Backend::Cpu, &device(), |_| {})).unwrap();
    let report = analyse(&trained, run);
    (trained.model, report)
}

/// [`tiny_model`] with MLP weights as large as its attention's, so every component matters.
pub fn tiny_model_with_strong_mlps(seed: u64) -> Transformer {
    let mut model = tiny_model(seed);
    for block in &mut model.blocks {
        for linear in [&mut block.mlp.w_in, &mut block.mlp.w_out] {
            linear.weight = Param::from_tensor(linear.weight.val().mul_scalar(10.0));
        }
    }
    model
}
