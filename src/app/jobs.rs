//! The messages between the page and its workers. The page posts a [`Job`]; the worker answers
//! with [`Answer`]s; a seed's worker posts its helpers [`Job::Replicate`], [`Job::Pass`],
//! [`Job::Gradients`] and [`Job::Summed`] the same way. Each message is a JavaScript array: its JSON text, then, where a
//! message carries a model, the model's weights as a safetensors file (a transferred byte
//! array), or a model's parameters or a step's gradients laid end to end (a transferred float
//! array).

use js_sys::{Array, Float32Array, Uint8Array};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};

use crate::analysis::ablation::Ablation;
use crate::engine::component::Component;
use crate::engine::model::ModelConfig;
use crate::engine::passes::Share;
use crate::engine::train::Progress;
use crate::experiment::config::ExperimentConfig;
use crate::experiment::permalink::BackendChoice;
use crate::experiment::report::SeedReport;

use super::measure::Measurement;
use super::state::LivePoint;

/// What the page asks a worker to do.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Job {
    /// Train, evaluate and analyse one seed; answered by [`Answer::Finished`] and the weights.
    Run {
        /// The run's settings.
        config: ExperimentConfig,
        /// Where to train.
        backend: BackendChoice,
        /// Workers to train on where it trains on the CPU, this one and its helpers.
        workers: usize,
        /// The page's JavaScript module, which helper workers load.
        module: String,
        /// The backends measured faster before, which the automatic choice takes.
        remembered: Vec<Measurement>,
    },
    /// Become a helper (see [`crate::engine::passes`]): keep a copy of the model whose
    /// parameters come with the message, laid end to end, to step at learning rate `lr`;
    /// answered by [`Answer::Ready`].
    Replicate {
        /// The model's shape.
        model: ModelConfig,
        /// Adam's learning rate.
        lr: f64,
    },
    /// As a helper, the passes of its share of a step; answered by [`Answer::Passed`].
    Pass(Share),
    /// As a helper, the gradients of micro-batches `numbers` of step `step`, made by other
    /// workers, which come with the message laid end to end one after another; not answered.
    /// Once it has every micro-batch's gradients, the helper steps its copy of the model.
    Gradients {
        /// Steps the model had taken before the step whose gradients these are.
        step: usize,
        /// The micro-batches whose gradients came, in their order in the message.
        numbers: Vec<usize>,
    },
    /// As a helper, the sum of every micro-batch's gradients of step `step`, which comes with the
    /// message laid end to end; the helper steps its copy of the model with it. Not answered.
    Summed {
        /// Steps the model had taken before the step whose gradients these are.
        step: usize,
    },
    /// Exact-match accuracy at `length` with `components` ablated, on the model whose weights
    /// come with the message; answered by [`Answer::Ablated`].
    Ablate {
        /// The settings the model was trained and analysed with.
        config: ExperimentConfig,
        /// The OOD length to measure at.
        length: usize,
        /// The components removed together.
        components: Vec<Component>,
        /// How they are removed.
        ablation: Ablation,
    },
}

/// What a worker tells the page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Answer {
    /// The worker is listening for jobs.
    Ready,
    /// The backend it trains on, or why the CPU.
    Backend(String),
    /// Which backend it measured faster, for the page to remember.
    Measured(Measurement),
    /// Training: the latest step, the mean time per step, and the chart points since the last
    /// update (updates are spaced out so that the page is not flooded).
    Training {
        /// The latest step.
        progress: Progress,
        /// Workers training the seed.
        workers: usize,
        /// Mean milliseconds per step so far.
        ms_per_step: f64,
        /// New points of the training chart.
        points: Vec<LivePoint>,
    },
    /// Measuring accuracy at the OOD lengths.
    Evaluating,
    /// Analysing: which part, units done, units in all.
    Analysing {
        /// The part of the analysis.
        stage: String,
        /// Units done.
        done: usize,
        /// Units in all.
        total: usize,
    },
    /// The finished run; its weights come with the message.
    Finished(Box<SeedReport>),
    /// The answer to [`Job::Ablate`]: clean and ablated accuracy.
    Ablated {
        /// Accuracy of the clean model.
        base: f64,
        /// Accuracy with the components ablated.
        accuracy: f64,
    },
    /// The answer to [`Job::Pass`]: each pass's `[loss, exact matches]`; the gradients of every
    /// pass, laid end to end one after another, come with the message.
    Passed(Vec<[f32; 2]>),
    /// The job failed; what to tell the user.
    Failed(String),
}

/// A message as posted: the JSON of `value`, then `runs` laid end to end in one (transferred)
/// float array.
pub fn encode_floats<T: Serialize>(value: &T, runs: &[&[f32]]) -> Array {
    let message = encode(value, None);
    let floats = Float32Array::new_with_length(runs.iter().map(|run| run.len() as u32).sum());
    let mut offset = 0;
    for run in runs {
        let end = offset + run.len() as u32;
        floats.subarray(offset, end).copy_from(run);
        offset = end;
    }
    message.push(&floats);
    message
}

/// The floats that came with a message, as [`encode_floats`] sent them, cut back into `count`
/// runs of equal length; `None` where none came.
pub fn runs(data: &JsValue, count: usize) -> Option<Vec<Vec<f32>>> {
    let message: &Array = data.dyn_ref()?;
    let floats = message.get(1).dyn_into::<Float32Array>().ok()?;
    let each = floats.length() / (count as u32).max(1);
    let run = |k: u32| floats.subarray(k * each, (k + 1) * each).to_vec();
    Some((0..count as u32).map(run).collect())
}

/// The floats that came with a message as one run ([`runs`]).
pub fn floats(data: &JsValue) -> Option<Vec<f32>> {
    runs(data, 1)?.pop()
}

/// A message as posted: the JSON of `value`, then `weights` if any.
pub fn encode<T: Serialize>(value: &T, weights: Option<&[u8]>) -> Array {
    let message = Array::of1(
        &serde_json::to_string(value)
            .expect("messages serialise")
            .into(),
    );
    if let Some(weights) = weights {
        message.push(&Uint8Array::from(weights));
    }
    message
}

/// A received message: its value, and the weights that came with it (bytes; see [`floats`]
/// for floats).
pub fn decode<T: for<'de> Deserialize<'de>>(
    data: &JsValue,
) -> Result<(T, Option<Vec<u8>>), String> {
    let message: &Array = data.dyn_ref().ok_or("a message that is not an array")?;
    let text = message
        .get(0)
        .as_string()
        .ok_or("a message without its text")?;
    let value = serde_json::from_str(&text).map_err(|e| format!("an unreadable message ({e})"))?;
    let weights = message
        .get(1)
        .dyn_into::<Uint8Array>()
        .ok()
        .map(|bytes| bytes.to_vec());
    Ok((value, weights))
}
