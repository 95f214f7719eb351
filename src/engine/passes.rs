//! A training step's forward and backward passes: on the whole batch, or on micro-batches whose
//! gradients are summed in order, some of them made by helpers (the page's other workers, each
//! with its own copy of the model and of Adam, stepped with the gradients the trainer shares).
//!
//! Of a step's K micro-batches, with H helpers at work, helper h (from 1) makes those numbered
//! k ≡ h (mod H + 1), the trainer those ≡ 0. Each pass is the same arithmetic wherever it runs,
//! and the gradients are summed in the micro-batches' order, so a step never depends on how many
//! helpers made it; every copy of the model steps with the same sum, so the copies stay the
//! same bit for bit.

use burn::module::{ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;

use crate::engine::flat::{
    end_to_end, from_end_to_end, gradients_from_end_to_end, laid_end_to_end,
};
use crate::engine::model::{ModelConfig, Transformer};
use crate::engine::objective::{BatchTensors, exact_matches, loss};
use crate::engine::optimiser::Optimiser;
use crate::engine::task::Batch;

/// One forward and backward pass of `model` on `batch`, its loss a share of a batch with
/// `target_count` answer tokens in all (the batch's own for a whole-batch step): the gradients,
/// and `[loss, exact matches]` on the device.
pub fn pass(
    model: &Transformer,
    batch: &Batch,
    target_count: usize,
    device: &Device,
) -> (GradientsParams, Tensor<1>) {
    let tensors = BatchTensors {
        target_count,
        ..BatchTensors::new(batch, device)
    };
    let logits = model.forward_batch(&tensors);
    let loss = loss(logits.clone(), &tensors);
    let correct = exact_matches(logits.detach(), &tensors).sum();
    let stats = Tensor::cat(vec![loss.clone().detach(), correct], 0).inner();
    (GradientsParams::from_grads(loss.backward(), model), stats)
}

/// Each of `model`'s parameters' gradients summed over `parts` (passes on copies of `model`,
/// which share its parameter ids), in the parts' order.
pub fn sum_gradients(model: &Transformer, parts: Vec<GradientsParams>) -> GradientsParams {
    /// Moves each parameter's gradients out of the parts into their sum, as the model lists them.
    struct Sum {
        parts: Vec<GradientsParams>,
        total: GradientsParams,
    }
    impl ModuleVisitor for Sum {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let gradients = self
                .parts
                .iter_mut()
                .filter_map(|p| p.remove::<D>(param.id));
            if let Some(sum) = gradients.reduce(|sum, gradient| sum + gradient) {
                self.total.register(param.id, sum);
            }
        }
    }
    let mut sum = Sum {
        parts,
        total: GradientsParams::new(),
    };
    model.visit(&mut sum);
    sum.total
}

/// Which of a step's workers makes micro-batch `k` when `workers` share the step (the trainer
/// is 0, helper h is h).
pub fn maker(k: usize, workers: usize) -> usize {
    k % workers
}

/// One micro-batch's pass as a helper made it.
#[derive(Clone, Debug, PartialEq)]
pub struct HelperPass {
    /// The gradients, laid end to end as [`crate::engine::flat`] lays them.
    pub gradients: Vec<f32>,
    /// `[loss, exact matches]` of the micro-batch.
    pub stats: [f32; 2],
}

/// The helpers a trainer can hand micro-batches to (the page's other workers). Each keeps a
/// copy of the model and of Adam's state, stepped with the gradients the trainer shares, so
/// that after the first step only micro-batches and gradients travel, never the parameters.
pub trait Helpers {
    /// How many helpers there are.
    fn count(&self) -> usize;

    /// Gives every helper its copy of the model whose parameters are `parameters` (laid end to
    /// end, before any step), to step with Adam at learning rate `lr`; returns once each has it.
    fn replicate(
        &mut self,
        parameters: &[f32],
        lr: f64,
    ) -> impl Future<Output = Result<(), String>>;

    /// Starts helper `helper` (from 1) on the passes of `parts` (maybe none), each a share of a
    /// batch with `target_count` answer tokens, on its copy of the model after `step` steps;
    /// returns without waiting for them.
    fn start(
        &mut self,
        helper: usize,
        step: usize,
        parts: Vec<Batch>,
        target_count: usize,
    ) -> Result<(), String>;

    /// The passes helper `helper` was last started on, in its parts' order, once made.
    fn finish(&mut self, helper: usize) -> impl Future<Output = Result<Vec<HelperPass>, String>>;

    /// Sends every helper the step's gradients (summed over its micro-batches, laid end to end),
    /// with which each steps its copy of the model as the trainer steps its own.
    fn share(&mut self, gradients: &[f32]) -> Result<(), String>;
}

/// No helpers: the trainer makes every pass.
pub struct Alone;

impl Helpers for Alone {
    fn count(&self) -> usize {
        0
    }

    async fn replicate(&mut self, _: &[f32], _: f64) -> Result<(), String> {
        Err("there are no helpers".into())
    }

    fn start(&mut self, helper: usize, _: usize, _: Vec<Batch>, _: usize) -> Result<(), String> {
        Err(format!("there is no helper {helper}"))
    }

    async fn finish(&mut self, helper: usize) -> Result<Vec<HelperPass>, String> {
        Err(format!("there is no helper {helper}"))
    }

    fn share(&mut self, _: &[f32]) -> Result<(), String> {
        Err("there are no helpers".into())
    }
}

/// A helper's copy of the model and of Adam's state: it makes the passes a trainer sends it and
/// steps with the gradients the trainer shares, the same arithmetic as the trainer's.
pub struct Helper {
    /// The model after `steps` steps.
    model: Transformer,
    /// Adam, stepped as the trainer's is.
    optimiser: Optimiser,
    /// Adam's learning rate.
    lr: f64,
    /// Steps taken.
    steps: usize,
    /// The device with autodiff.
    device: Device,
    /// The same device without: where the parameters and gradients arrive.
    compute_device: Device,
}

impl Helper {
    /// A helper for models of shape `model` whose parameters are `parameters` (laid end to end),
    /// stepped at learning rate `lr`, on `compute_device`.
    pub fn new(
        model: &ModelConfig,
        parameters: Vec<f32>,
        lr: f64,
        compute_device: &Device,
    ) -> Result<Self, String> {
        let device = compute_device.clone().autodiff();
        // Any weights: they are all replaced.
        let shape = model.init(0, &device);
        let values = end_to_end(&shape, parameters, "parameters", compute_device)?;
        Ok(Self {
            model: from_end_to_end(shape, values),
            optimiser: Optimiser::for_device(compute_device),
            lr,
            steps: 0,
            device,
            compute_device: compute_device.clone(),
        })
    }

    /// The passes of `parts` (each a share of a batch with `target_count` answer tokens) on the
    /// model after `step` steps, each pass as the trainer would make it.
    pub async fn passes(
        &mut self,
        step: usize,
        parts: &[Batch],
        target_count: usize,
    ) -> Result<Vec<HelperPass>, String> {
        if step != self.steps {
            let steps = self.steps;
            return Err(format!(
                "asked for step {step}'s passes after {steps} steps"
            ));
        }
        let mut passes = Vec::with_capacity(parts.len());
        for part in parts {
            let replica = self.model.clone().fork(&self.device);
            let (gradients, stats) = pass(&replica, part, target_count, &self.device);
            let gradients = laid_end_to_end(&replica, Some(&gradients));
            let read = |e: burn::tensor::ExecutionError| format!("reading a pass failed: {e}");
            let gradients = gradients.into_data_async().await.map_err(read)?;
            let stats = stats.into_data_async().await.map_err(read)?;
            let stats = stats.try_into_vec::<f32>().expect("f32 stats");
            passes.push(HelperPass {
                gradients: gradients.try_into_vec().expect("f32 gradients"),
                stats: [stats[0], stats[1]],
            });
        }
        Ok(passes)
    }

    /// One Adam step of the model with `gradients` (the step's, laid end to end).
    pub fn step(&mut self, gradients: Vec<f32>) -> Result<(), String> {
        let gradients = end_to_end(&self.model, gradients, "gradients", &self.compute_device)?;
        let gradients = gradients_from_end_to_end(&self.model, gradients);
        self.model = self.optimiser.step(self.lr, self.model.clone(), gradients);
        self.steps += 1;
        Ok(())
    }

    /// The model's parameters, laid end to end.
    pub async fn parameters(&self) -> Result<Vec<f32>, String> {
        let values = laid_end_to_end(&self.model, None).into_data_async().await;
        let values = values.map_err(|e| format!("reading the parameters failed: {e}"))?;
        Ok(values.try_into_vec().expect("f32 parameters"))
    }
}
