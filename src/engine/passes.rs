//! A training step's forward and backward passes: on the whole batch, or on micro-batches whose
//! gradients are summed in order, some of them made by helpers (the page's other workers, each
//! with its own copy of the model, sent the step's parameters).
//!
//! Of a step's K micro-batches, with H helpers at work, helper h (from 1) makes those numbered
//! k ≡ h (mod H + 1), the trainer those ≡ 0. Each pass is the same arithmetic wherever it runs,
//! and the gradients are summed in the micro-batches' order, so a step never depends on how many
//! helpers made it.

use burn::module::{ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;

use crate::engine::flat::{from_end_to_end, laid_end_to_end};
use crate::engine::model::{ModelConfig, Transformer};
use crate::engine::objective::{BatchTensors, exact_matches, loss};
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

/// The helpers a trainer can hand micro-batches to (the page's other workers).
pub trait Helpers {
    /// How many helpers there are.
    fn count(&self) -> usize;

    /// Starts helper `helper` (from 1) on the passes of `parts`, each a share of a batch with
    /// `target_count` answer tokens, on the model whose parameters are `parameters` (laid end
    /// to end); returns without waiting for them.
    fn start(
        &mut self,
        helper: usize,
        parameters: &[f32],
        parts: Vec<Batch>,
        target_count: usize,
    ) -> Result<(), String>;

    /// The passes helper `helper` was last started on, in its parts' order, once made.
    fn finish(&mut self, helper: usize) -> impl Future<Output = Result<Vec<HelperPass>, String>>;
}

/// No helpers: the trainer makes every pass.
pub struct Alone;

impl Helpers for Alone {
    fn count(&self) -> usize {
        0
    }

    fn start(&mut self, helper: usize, _: &[f32], _: Vec<Batch>, _: usize) -> Result<(), String> {
        Err(format!("there is no helper {helper}"))
    }

    async fn finish(&mut self, helper: usize) -> Result<Vec<HelperPass>, String> {
        Err(format!("there is no helper {helper}"))
    }
}

/// A helper's copy of the model, which makes the passes a trainer sends it.
pub struct Helper {
    /// The model, its parameters those of the last passes made.
    model: Transformer,
    /// The device with autodiff.
    device: Device,
    /// The same device without: where the parameters arrive.
    compute_device: Device,
}

impl Helper {
    /// A helper for models of shape `model`, on `compute_device`.
    pub fn new(model: &ModelConfig, compute_device: &Device) -> Self {
        let device = compute_device.clone().autodiff();
        Self {
            // Any weights: each pass sets them all.
            model: model.init(0, &device),
            device,
            compute_device: compute_device.clone(),
        }
    }

    /// The passes of `parts` (each a share of a batch with `target_count` answer tokens) on the
    /// model with `parameters` (laid end to end), each pass as the trainer would make it.
    pub async fn passes(
        &mut self,
        parameters: Vec<f32>,
        parts: &[Batch],
        target_count: usize,
    ) -> Result<Vec<HelperPass>, String> {
        let count = self.model.num_params();
        if parameters.len() != count {
            return Err(format!(
                "{} parameters came for a model of {count}",
                parameters.len()
            ));
        }
        let values = Tensor::from_data(TensorData::new(parameters, [count]), &self.compute_device);
        self.model = from_end_to_end(self.model.clone(), values);
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
}
