//! A training step's forward and backward passes: on the whole batch, or on micro-batches whose
//! gradients are summed in order, some of them made by helpers (the page's other workers, each
//! with its own copy of the model and of Adam, stepped with every worker's gradients summed).
//!
//! Of a step's K micro-batches, with H helpers at work, helper h (from 1) makes those numbered
//! k ≡ h (mod H + 1), the trainer those ≡ 0. Each pass is the same arithmetic wherever it runs,
//! and the gradients are summed in the micro-batches' order, so a step never depends on how many
//! helpers made it, and every copy of the model steps with the same sum: the copies stay the
//! same bit for bit. With one helper, the trainer and the helper hand each other their gradients
//! as soon as they are made and each sums them (no worker waits for the other's sum); with more,
//! the trainer sums them and hands each helper the sum (one copy a helper, rather than every
//! part to every helper).

use burn::module::{ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::engine::flat::{end_to_end, fits, from_end_to_end, laid_end_to_end};
use crate::engine::model::{ModelConfig, Transformer};
use crate::engine::objective::{BatchTensors, exact_matches, loss};
use crate::engine::optimiser::EndToEndAdam;
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

/// A helper's share of one step: the micro-batches it makes, and how many the step has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Share {
    /// Steps its model is to have taken.
    pub step: usize,
    /// The step's micro-batch count.
    pub micro_batches: usize,
    /// The micro-batches this helper makes, each with its number in the step (from 0).
    pub parts: Vec<(usize, Batch)>,
    /// Answer tokens in the whole batch.
    pub target_count: usize,
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
/// copy of the model and of Adam's state and steps it once it has every micro-batch's gradients
/// (its own and those the trainer hands it, summed in order as the trainer sums them) or their
/// sum; so after the first step only micro-batches and gradients travel, never the parameters.
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

    /// Starts helper `helper` (from 1) on `share` (maybe no passes); returns without waiting.
    fn start(&mut self, helper: usize, share: Share) -> Result<(), String>;

    /// The passes helper `helper` was last started on, in its share's order, once made.
    fn finish(&mut self, helper: usize) -> impl Future<Output = Result<Vec<HelperPass>, String>>;

    /// Hands helper `helper` the gradients of micro-batches of step `step` that it did not make:
    /// each micro-batch's number and its gradients, laid end to end.
    fn hand(
        &mut self,
        helper: usize,
        step: usize,
        gradients: &[(usize, &[f32])],
    ) -> Result<(), String>;

    /// Hands helper `helper` the sum of every micro-batch's gradients of step `step`, laid end to
    /// end, in place of the parts.
    fn hand_sum(&mut self, helper: usize, step: usize, sum: &[f32]) -> Result<(), String>;
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

    fn start(&mut self, helper: usize, _: Share) -> Result<(), String> {
        Err(format!("there is no helper {helper}"))
    }

    async fn finish(&mut self, helper: usize) -> Result<Vec<HelperPass>, String> {
        Err(format!("there is no helper {helper}"))
    }

    fn hand(&mut self, helper: usize, _: usize, _: &[(usize, &[f32])]) -> Result<(), String> {
        Err(format!("there is no helper {helper}"))
    }

    fn hand_sum(&mut self, helper: usize, _: usize, _: &[f32]) -> Result<(), String> {
        Err(format!("there is no helper {helper}"))
    }
}

/// A helper's copy of the model and of Adam's state: it makes the passes a trainer sends it,
/// gathers the step's other gradients as they come (or their sum), and steps once it has them
/// all, the same arithmetic as the trainer's.
pub struct Helper {
    /// The model after `steps` steps.
    model: Transformer,
    /// Adam, stepped as the trainer's is.
    adam: EndToEndAdam,
    /// Adam's learning rate.
    lr: f64,
    /// Steps taken.
    steps: usize,
    /// The gradients of this step's micro-batches, by number, as made or handed over; empty
    /// until the step's share came.
    gathered: Vec<Option<Vec<f32>>>,
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
        let values = end_to_end(&shape, parameters.clone(), "parameters", compute_device)?;
        Ok(Self {
            model: from_end_to_end(shape, values),
            adam: EndToEndAdam::new(parameters),
            lr,
            steps: 0,
            gathered: Vec::new(),
            device,
            compute_device: compute_device.clone(),
        })
    }

    /// The passes of `share` on the model, each as the trainer would make it: their statistics,
    /// in the share's order; their gradients are kept for the step (see [`Helper::gradients`]).
    pub async fn passes(&mut self, share: &Share) -> Result<Vec<[f32; 2]>, String> {
        if share.step != self.steps || !self.gathered.is_empty() {
            let steps = self.steps;
            let step = share.step;
            return Err(format!(
                "asked for step {step}'s passes after {steps} steps"
            ));
        }
        self.gathered = vec![None; share.micro_batches];
        let mut stats = Vec::with_capacity(share.parts.len());
        for (k, part) in &share.parts {
            let replica = self.model.clone().fork(&self.device);
            let (gradients, made) = pass(&replica, part, share.target_count, &self.device);
            let gradients = laid_end_to_end(&replica, Some(&gradients));
            let read = |e: burn::tensor::ExecutionError| format!("reading a pass failed: {e}");
            let gradients = gradients.into_data_async().await.map_err(read)?;
            let made = made.into_data_async().await.map_err(read)?;
            let made = made.try_into_vec::<f32>().expect("f32 stats");
            stats.push([made[0], made[1]]);
            let gradients = gradients.try_into_vec().expect("f32 gradients");
            self.keep(*k, gradients)?;
        }
        // Micro-batch 0 is always the trainer's: the step waits for its gradients.
        Ok(stats)
    }

    /// The gradients of micro-batch `k` of this step, if this helper made it.
    pub fn gradients(&self, k: usize) -> Option<&[f32]> {
        self.gathered.get(k)?.as_deref()
    }

    /// Takes the gradients of micro-batch `k` of step `step` (laid end to end), made by another
    /// worker; steps the model once every micro-batch's are here.
    pub fn receive(&mut self, step: usize, k: usize, gradients: Vec<f32>) -> Result<(), String> {
        self.in_step(step)?;
        self.keep(k, gradients)?;
        self.step_if_gathered()
    }

    /// Takes the sum of every micro-batch's gradients of step `step` (laid end to end) and steps
    /// the model with it.
    pub fn receive_sum(&mut self, step: usize, sum: Vec<f32>) -> Result<(), String> {
        self.in_step(step)?;
        fits(&self.model, &sum, "gradients")?;
        self.gathered = vec![Some(sum)];
        self.step_if_gathered()
    }

    /// Whether gradients of step `step` are this helper's to take: its model has taken the steps
    /// before, and it has had the step's share.
    fn in_step(&self, step: usize) -> Result<(), String> {
        if step != self.steps || self.gathered.is_empty() {
            let steps = self.steps;
            return Err(format!(
                "handed step {step}'s gradients after {steps} steps, before that step's passes"
            ));
        }
        Ok(())
    }

    /// Keeps micro-batch `k`'s gradients for this step.
    fn keep(&mut self, k: usize, gradients: Vec<f32>) -> Result<(), String> {
        fits(&self.model, &gradients, "gradients")?;
        let count = self.gathered.len();
        match self.gathered.get_mut(k) {
            Some(slot @ None) => {
                *slot = Some(gradients);
                Ok(())
            }
            Some(Some(_)) => Err(format!("micro-batch {k}'s gradients came twice")),
            None => Err(format!("micro-batch {k} of a step of {count}")),
        }
    }

    /// One Adam step with the sum of the step's gradients, once each micro-batch's is here.
    fn step_if_gathered(&mut self) -> Result<(), String> {
        if self.gathered.iter().any(Option::is_none) {
            return Ok(());
        }
        let parts = std::mem::take(&mut self.gathered).into_iter().flatten();
        let model = self.model.clone();
        self.model = (self.adam).step(self.lr, model, parts.collect(), &self.compute_device)?;
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
