//! The messages between the page and its workers. The page posts a [`Job`]; the worker answers
//! with [`Answer`]s. Each message is a JavaScript array: its JSON text, then, where a message
//! carries a model, the model's weights as a safetensors file (a transferred byte array).

use js_sys::{Array, Uint8Array};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};

use crate::analysis::ablation::Ablation;
use crate::engine::component::Component;
use crate::engine::train::Progress;
use crate::experiment::config::ExperimentConfig;
use crate::experiment::permalink::BackendChoice;
use crate::experiment::report::SeedReport;

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
    /// Training: the latest step, the mean time per step, and the chart points since the last
    /// update (updates are spaced out so that the page is not flooded).
    Training {
        /// The latest step.
        progress: Progress,
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
    /// The job failed; what to tell the user.
    Failed(String),
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

/// A received message: its value, and the weights that came with it.
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
