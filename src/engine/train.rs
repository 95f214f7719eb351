//! Training (METHOD §3), driven one step at a time so a browser can yield between steps.
//!
//! Adam on the masked cross-entropy of fresh batches whose lengths are uniform in the training
//! range. Every `eval_every` steps the model is scored on fresh training-distribution examples;
//! training stops once that accuracy reaches the target, or after `max_steps`.

use std::fmt;

use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::ExecutionError;
use serde::{Deserialize, Serialize};

use crate::engine::backend::{keep_threads_polling, map_parallel};
use crate::engine::component::Intervention;
use crate::engine::eval::{accuracy, fresh_batches};
use crate::engine::flat::{fits, laid_end_to_end};
use crate::engine::kernels::add_in_place;
use crate::engine::model::{ModelConfig, Positions, Transformer};
use crate::engine::optimiser::{EndToEndAdam, Optimiser};
use crate::engine::passes::{Alone, Helpers, Share, maker, pass, sum_gradients};
use crate::engine::rng::{Rng, Stream};
use crate::engine::task::{Batch, BatchLayout, Task, draw_examples};

/// Optimiser, batches and stop rule. The defaults are the paper's.
#[derive(Config, Debug, PartialEq)]
pub struct TrainConfig {
    /// Adam's learning rate (betas 0.9 and 0.999, epsilon 1e-8, as PyTorch's defaults).
    #[config(default = 1e-3)]
    pub lr: f64,
    /// Examples per training batch.
    #[config(default = 64)]
    pub batch_size: usize,
    /// Micro-batches each training batch is cut into, contiguous runs of its rows: each one's
    /// forward and backward run as one piece (side by side where the device has threads: the
    /// CPU natively), their gradients summed in order before one Adam step. 1 is one
    /// whole-batch step.
    #[config(default = 1)]
    pub micro_batches: usize,
    /// Shortest training sequence n.
    #[config(default = 3)]
    pub min_length: usize,
    /// Longest training sequence n.
    #[config(default = 7)]
    pub max_length: usize,
    /// Steps between evaluations of the stop rule.
    #[config(default = 250)]
    pub eval_every: usize,
    /// Fresh training-distribution examples per evaluation.
    #[config(default = 1024)]
    pub eval_examples: usize,
    /// Exact-match accuracy at which training stops.
    #[config(default = 0.9)]
    pub target_accuracy: f64,
    /// Steps after which training stops regardless.
    #[config(default = 15_000)]
    pub max_steps: usize,
    /// Where a training batch puts its padding (evaluation batches are always padded at the end).
    #[config(default = "BatchLayout::PadEnd")]
    pub batch_layout: BatchLayout,
}

/// Why training stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The evaluation accuracy reached the target.
    Target,
    /// The step budget ran out first.
    MaxSteps,
}

impl StopReason {
    /// The reason as the JSON report spells it.
    pub fn name(self) -> &'static str {
        match self {
            StopReason::Target => "target",
            StopReason::MaxSteps => "max_steps",
        }
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one training step reports.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Steps done so far (this one included).
    pub step: usize,
    /// The step budget.
    pub max_steps: usize,
    /// This step's batch loss.
    pub loss: f64,
    /// Exact-match accuracy on this step's batch, before the update.
    pub train_accuracy: f64,
    /// The stop-rule accuracy, when this step ran an evaluation.
    pub eval_accuracy: Option<f64>,
    /// Set on the last step.
    pub stopped: Option<StopReason>,
}

/// The outcome of a training run, as the JSON report records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    /// Steps taken.
    pub steps: usize,
    /// Why training stopped.
    pub stop_reason: StopReason,
    /// The last stop-rule accuracy.
    pub train_accuracy: f64,
    /// At each evaluation: `[step, mean training loss since the previous evaluation, accuracy]`.
    pub curve: Vec<(usize, f64, f64)>,
}

/// Why training could not go on.
#[derive(Debug)]
pub enum TrainError {
    /// The loss became NaN or infinite.
    NonFiniteLoss {
        /// The step whose loss it was.
        step: usize,
    },
    /// The device failed (lost, out of memory, ...).
    Device(ExecutionError),
    /// A helper making some of the passes failed.
    Helper(String),
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainError::NonFiniteLoss { step } => write!(
                f,
                "the loss became NaN or infinite at step {step}; training stopped (try a smaller learning rate)"
            ),
            TrainError::Device(e) => write!(f, "the compute device failed: {e}"),
            TrainError::Helper(why) => write!(f, "a helper worker failed: {why}"),
        }
    }
}

impl std::error::Error for TrainError {}

impl From<ExecutionError> for TrainError {
    fn from(e: ExecutionError) -> Self {
        TrainError::Device(e)
    }
}

/// Everything a training run reads: the task and seed, the model's shape, the optimiser and stop
/// rule, and how often a snapshot is kept for the checkpoint analysis. The experiment's config
/// makes one (`From<&ExperimentConfig>`), so every function here takes either.
#[derive(Clone, Debug)]
pub struct TrainSetup {
    /// The task the model learns.
    pub task: Task,
    /// The run's seed.
    pub seed: u64,
    /// The model's shape.
    pub model: ModelConfig,
    /// Optimiser, batches and stop rule.
    pub train: TrainConfig,
    /// Keep the model every this many steps; 0 keeps none.
    pub snapshot_every: usize,
}

/// The training batches of a run, in the order training draws them, all from the seed's data
/// stream: each batch's examples, laid out as the config's [`BatchLayout`] says, and then, under
/// [`Positions::Shifted`], each example's offset.
pub struct TrainingData {
    task: Task,
    config: TrainConfig,
    /// The context to shift within; `None` unless the positions are shifted.
    shift: Option<usize>,
    rng: Rng,
}

impl TrainingData {
    /// The batches `setup` trains on.
    pub fn new(setup: impl Into<TrainSetup>) -> Self {
        let setup = setup.into();
        Self {
            task: setup.task,
            shift: (setup.model.positions == Positions::Shifted).then_some(setup.model.context),
            rng: Rng::new(setup.seed, Stream::TrainData),
            config: setup.train,
        }
    }
}

impl Iterator for TrainingData {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        let c = &self.config;
        let examples = draw_examples(
            self.task,
            c.batch_size,
            c.min_length,
            c.max_length,
            &mut self.rng,
        );
        let mut batch = Batch::laid_out(examples, c.batch_layout);
        if let Some(context) = self.shift {
            batch.shift(context, &mut self.rng);
        }
        Some(batch)
    }
}

/// A training run in progress.
pub struct Trainer {
    setup: TrainSetup,
    /// The device with autodiff, for the training tensors.
    device: Device,
    /// The same device without: where the work runs.
    compute_device: Device,
    model: Transformer,
    optimizer: Optimiser,
    batches: TrainingData,
    eval_examples: Rng,
    step: usize,
    loss_since_eval: (f64, usize),
    curve: Vec<(usize, f64, f64)>,
    snapshots: Vec<Snapshot>,
    stopped: Option<StopReason>,
    /// Once helpers hold copies of the model (from the first step, see [`Trainer::step_with`]):
    /// Adam over the parameters laid end to end, stepped as each helper steps its copy, in place
    /// of `optimizer`.
    with_helpers: Option<EndToEndAdam>,
    /// This step's batch, if drawn already (by the step before, for the helpers).
    ahead: Option<Batch>,
}

/// The model as it was after `step` steps, kept for the checkpoint analysis.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Steps done when it was taken.
    pub step: usize,
    /// The model then (without autodiff).
    pub model: Transformer,
}

/// A finished training run.
#[derive(Debug)]
pub struct Trained {
    /// The final model (without autodiff).
    pub model: Transformer,
    /// Steps, stop reason and curve.
    pub summary: TrainSummary,
    /// Every `snapshot_every` steps, the model then; empty when that is 0.
    pub snapshots: Vec<Snapshot>,
}

impl Trainer {
    /// A fresh model for `setup` (from a valid config) on `compute_device`, ready to train.
    pub fn new(setup: impl Into<TrainSetup>, compute_device: &Device) -> Self {
        let setup = setup.into();
        let device = compute_device.clone().autodiff();
        Self {
            compute_device: compute_device.clone(),
            model: setup.model.init(setup.seed, &device),
            optimizer: Optimiser::for_device(compute_device),
            batches: TrainingData::new(setup.clone()),
            eval_examples: Rng::new(setup.seed, Stream::TrainEval),
            setup,
            device,
            step: 0,
            loss_since_eval: (0.0, 0),
            curve: Vec::new(),
            snapshots: Vec::new(),
            stopped: None,
            with_helpers: None,
            ahead: None,
        }
    }

    /// Why training stopped, once it has.
    pub fn stopped(&self) -> Option<StopReason> {
        self.stopped
    }

    /// Steps done so far.
    pub fn step_count(&self) -> usize {
        self.step
    }

    /// One optimiser step on a fresh batch, and the stop rule's evaluation when it is due.
    ///
    /// # Panics
    /// If training has already stopped.
    pub async fn step(&mut self) -> Result<Progress, TrainError> {
        self.step_with(&mut Alone).await
    }

    /// [`Trainer::step`], with `helpers` making some of the micro-batches' passes (see
    /// [`crate::engine::passes`]): the same step, whatever their number. From the first step
    /// with helpers on, every step must be given the same helpers (they hold copies of the model,
    /// which step with it); a helper asked for a step its copy has not reached fails the step.
    ///
    /// # Panics
    /// If training has already stopped.
    pub async fn step_with(&mut self, helpers: &mut impl Helpers) -> Result<Progress, TrainError> {
        assert!(self.stopped.is_none(), "training has already stopped");
        keep_threads_polling(&self.compute_device);
        // A batch drawn ahead was handed to the helpers by the step before.
        let (batch, handed_out) = match self.ahead.take() {
            Some(batch) => (batch, true),
            None => (
                self.batches.next().expect("training data never ends"),
                false,
            ),
        };
        let batch_size = batch.size;
        let stats = if self.setup.train.micro_batches == 1 {
            let (gradients, stats) = pass(&self.model, &batch, batch.target_count(), &self.device);
            let lr = self.setup.train.lr;
            self.model = self.optimizer.step(lr, self.model.clone(), gradients);
            stats
        } else {
            self.micro_step(batch, handed_out, helpers).await?
        };
        let c = &self.setup.train;
        self.step += 1;

        let stats: Vec<f32> = stats
            .into_data_async()
            .await?
            .try_to_vec::<f32>()
            .expect("f32 stats");
        let (loss, correct) = (f64::from(stats[0]), f64::from(stats[1]));
        if !loss.is_finite() {
            return Err(TrainError::NonFiniteLoss { step: self.step });
        }
        self.loss_since_eval.0 += loss;
        self.loss_since_eval.1 += 1;
        let every = self.setup.snapshot_every;
        if every > 0 && self.step.is_multiple_of(every) {
            self.snapshots.push(Snapshot {
                step: self.step,
                model: self.model.valid(),
            });
        }

        let mut eval_accuracy = None;
        if self.step.is_multiple_of(c.eval_every) || self.step >= c.max_steps {
            let accuracy = self.evaluate().await?;
            let (sum, count) = std::mem::take(&mut self.loss_since_eval);
            self.curve.push((self.step, sum / count as f64, accuracy));
            eval_accuracy = Some(accuracy);
            if accuracy >= self.setup.train.target_accuracy {
                self.stopped = Some(StopReason::Target);
            } else if self.step >= self.setup.train.max_steps {
                self.stopped = Some(StopReason::MaxSteps);
            }
        }
        Ok(Progress {
            step: self.step,
            max_steps: self.setup.train.max_steps,
            loss,
            train_accuracy: correct / batch_size as f64,
            eval_accuracy,
            stopped: self.stopped,
        })
    }

    /// One step on `batch` cut into the config's micro-batches: the passes `helpers` make, and
    /// the rest here, side by side where the device has threads, each on a copy of the model
    /// whose parameters are leaves of their own (so that each backward walks its own graph);
    /// their gradients and statistics summed in the micro-batches' order, so that the sum never
    /// depends on which thread or helper made which. Returns the statistics.
    ///
    /// Helpers are given the model at the first step, or never (a helper's Adam starts with the
    /// model). Then each steps its copy of the model with the same sum of gradients as this one
    /// ([`Trainer::step_with_helpers`]); the next step's batch is drawn and handed to them at
    /// once (`self.ahead`), so that each starts its next passes as soon as it has stepped,
    /// without waiting to hear from this worker.
    /// `handed_out`: `batch` was handed to them so.
    async fn micro_step(
        &mut self,
        batch: Batch,
        handed_out: bool,
        helpers: &mut impl Helpers,
    ) -> Result<Tensor<1>, TrainError> {
        let micro_batches = self.setup.train.micro_batches;
        let lr = self.setup.train.lr;
        let workers = helpers.count().min(micro_batches - 1) + 1;
        if workers > 1 && self.step == 0 && self.with_helpers.is_none() {
            let parameters = laid_end_to_end(&self.model, None).into_data_async().await?;
            let parameters = parameters.try_into_vec::<f32>().expect("f32 parameters");
            let replicated = helpers.replicate(&parameters, lr).await;
            replicated.map_err(TrainError::Helper)?;
            self.with_helpers = Some(EndToEndAdam::new(parameters));
        }
        let helping = if self.with_helpers.is_some() {
            helpers.count()
        } else {
            0
        };
        let parts = batch.split(micro_batches);
        let total = batch.target_count();
        if helping > 0 && !handed_out {
            start_helpers(helpers, self.step, &parts, total, workers)?;
        }
        let here = numbers_made_by(micro_batches, 0, workers);
        let passes = map_parallel(&self.compute_device, 0..here.len(), |i| {
            let replica = self.model.clone().fork(&self.device);
            pass(&replica, &parts[here[i]], total, &self.device)
        });
        if helping == 0 {
            let (gradients, stats): (Vec<_>, Vec<_>) = passes.into_iter().unzip();
            let stats = stats.into_iter().reduce(|sum, part| sum + part);
            let gradients = sum_gradients(&self.model, gradients);
            self.model = self.optimizer.step(lr, self.model.clone(), gradients);
            return Ok(stats.expect("at least one micro-batch"));
        }
        self.step_with_helpers(helpers, workers, &here, passes)
            .await
    }

    /// The rest of [`Trainer::micro_step`] with helpers: this worker's `passes` (of the
    /// micro-batches numbered `here`) and the helpers', summed in order into one step of this
    /// model as each helper steps its copy (with one helper, the two hand each other their
    /// gradients and each sums them; with more, this worker sums them and hands each helper the
    /// sum), and the next step's micro-batches handed out. Returns the statistics.
    async fn step_with_helpers(
        &mut self,
        helpers: &mut impl Helpers,
        workers: usize,
        here: &[usize],
        passes: Vec<(GradientsParams, Tensor<1>)>,
    ) -> Result<Tensor<1>, TrainError> {
        let (micro_batches, lr) = (self.setup.train.micro_batches, self.setup.train.lr);
        let mut gradients = vec![None; micro_batches];
        let mut stats = vec![[0.0; 2]; micro_batches];
        for (&k, (made, made_stats)) in here.iter().zip(passes) {
            let made = laid_end_to_end(&self.model, Some(&made));
            let made = made.into_data_async().await?;
            gradients[k] = Some(made.try_into_vec::<f32>().expect("f32 gradients"));
            let made_stats = made_stats.into_data_async().await?.try_into_vec::<f32>();
            stats[k] = [0, 1].map(|i| made_stats.as_ref().expect("f32 stats")[i]);
        }
        // With one helper, the two workers hand each other their gradients as soon as they are
        // made and each sums them; with more, every part would go to every helper (copies
        // growing as the square of the helpers), so this worker sums them all and hands each
        // helper the sum.
        let direct = helpers.count() == 1;
        if direct {
            let own: Vec<_> = (here.iter())
                .map(|&k| (k, gradients[k].as_deref().expect("made here")))
                .collect();
            helpers
                .hand(1, self.step, &own)
                .map_err(TrainError::Helper)?;
        }
        for helper in 1..=helpers.count() {
            let passes = helpers.finish(helper).await.map_err(TrainError::Helper)?;
            let theirs = numbers_made_by(micro_batches, helper, workers);
            if passes.len() != theirs.len() {
                let count = theirs.len();
                let why = format!("helper {helper} made {} of {count} passes", passes.len());
                return Err(TrainError::Helper(why));
            }
            for (k, made) in theirs.into_iter().zip(passes) {
                let sent = fits(&self.model, &made.gradients, "gradients");
                sent.map_err(|why| TrainError::Helper(format!("helper {helper}: {why}")))?;
                gradients[k] = Some(made.gradients);
                stats[k] = made.stats;
            }
        }
        let mut gradients: Vec<Vec<f32>> = (gradients.into_iter())
            .map(|g| g.expect("each pass made"))
            .collect();
        if !direct {
            let mut parts = gradients.into_iter();
            let mut sum = parts.next().expect("at least one micro-batch");
            parts.for_each(|part| add_in_place(&mut sum, &part));
            for helper in 1..=helpers.count() {
                helpers
                    .hand_sum(helper, self.step, &sum)
                    .map_err(TrainError::Helper)?;
            }
            gradients = vec![sum];
        }
        // Each helper has every gradient of this step once it reads this far: it steps, then
        // finds the next step's micro-batches.
        let next = self.batches.next().expect("training data never ends");
        let next_parts = next.split(micro_batches);
        let next_count = next.target_count();
        start_helpers(helpers, self.step + 1, &next_parts, next_count, workers)?;
        self.ahead = Some(next);
        let adam = self.with_helpers.as_mut().expect("helping");
        let model = self.model.clone();
        let stepped = adam.step(lr, model, gradients, &self.compute_device);
        self.model = stepped.map_err(TrainError::Helper)?;
        let stats = stats
            .into_iter()
            .reduce(|[l, c], [dl, dc]| [l + dl, c + dc]);
        let stats = stats.expect("at least one micro-batch");
        Ok(Tensor::from_floats(stats, &self.compute_device))
    }

    /// Accuracy on `eval_examples` fresh training-distribution examples.
    async fn evaluate(&mut self) -> Result<f64, ExecutionError> {
        let c = &self.setup.train;
        let batches = fresh_batches(
            self.setup.task,
            c.min_length..=c.max_length,
            c.eval_examples,
            c.batch_size,
            &mut self.eval_examples,
        );
        let model = self.model.valid();
        accuracy(&model, &batches, &Intervention::none(), &model.device()).await
    }

    /// The finished run, once training has stopped.
    pub fn finish(self) -> Option<Trained> {
        let stop_reason = self.stopped?;
        Some(Trained {
            model: self.model.valid(),
            summary: TrainSummary {
                steps: self.step,
                stop_reason,
                train_accuracy: self.curve.last().map_or(0.0, |point| point.2),
                curve: self.curve,
            },
            snapshots: self.snapshots,
        })
    }
}

/// The numbers of the micro-batches (of `micro_batches`) that worker `worker` makes when
/// `workers` share the step (the trainer is 0).
fn numbers_made_by(micro_batches: usize, worker: usize, workers: usize) -> Vec<usize> {
    (0..micro_batches)
        .filter(|&k| maker(k, workers) == worker)
        .collect()
}

/// Starts every helper on its share of `parts`, the micro-batches of step `step` (counted from
/// 0) of a batch with `target_count` answer tokens.
fn start_helpers(
    helpers: &mut impl Helpers,
    step: usize,
    parts: &[Batch],
    target_count: usize,
    workers: usize,
) -> Result<(), TrainError> {
    for helper in 1..=helpers.count() {
        let numbers = numbers_made_by(parts.len(), helper, workers);
        let share = Share {
            step,
            micro_batches: parts.len(),
            parts: numbers.into_iter().map(|k| (k, parts[k].clone())).collect(),
            target_count,
        };
        helpers.start(helper, share).map_err(TrainError::Helper)?;
    }
    Ok(())
}

/// Trains to the stop rule, reporting every step to `on_progress`.
pub async fn train(
    setup: impl Into<TrainSetup>,
    device: &Device,
    mut on_progress: impl FnMut(&Progress),
) -> Result<Trained, TrainError> {
    let mut trainer = Trainer::new(setup, device);
    while trainer.stopped().is_none() {
        let progress = trainer.step().await?;
        on_progress(&progress);
    }
    Ok(trainer.finish().expect("training has stopped"))
}
