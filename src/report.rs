//! The JSON reports gradcause writes and the page reads.

use std::collections::BTreeMap;

use burn::prelude::*;
use burn::tensor::ExecutionError;
use serde::{Deserialize, Serialize};

use crate::analysis::{Analysis, Checkpoint, analyze};
use crate::backend::Backend;
use crate::config::ExperimentConfig;
use crate::eval::evaluate_ood;
use crate::model::{Positions, Transformer};
use crate::progress::Observer;
use crate::task::Task;
use crate::train::{Progress, Snapshot, TrainError, TrainSummary, Trained, train};

/// Reads a report's config, taking a missing `model.positions` as `learned`.
fn config_with_legacy_positions<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<ExperimentConfig, D::Error> {
    let mut value = serde_json::Value::deserialize(deserializer)?;
    if let Some(model) = value.get_mut("model").and_then(|m| m.as_object_mut()) {
        model
            .entry("positions")
            .or_insert_with(|| Positions::Learned.name().into());
    }
    serde_json::from_value(value).map_err(serde::de::Error::custom)
}

/// A model's report: how it was trained and how it does out of distribution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// The task.
    pub task: Task,
    /// The run's seed (it also fixes the OOD evaluation sets).
    pub seed: u64,
    /// Where it ran.
    pub backend: Backend,
    /// Every config field. Reports written before `model.positions` existed load as
    /// `learned`, the only scheme there was.
    #[serde(deserialize_with = "config_with_legacy_positions")]
    pub config: ExperimentConfig,
    /// Steps, stop reason and learning curve; `None` for a model loaded from a weights file.
    pub train: Option<TrainSummary>,
    /// Exact-match accuracy per OOD length (keys are lengths).
    pub ood_accuracy: BTreeMap<usize, f64>,
    /// The length the analysis uses, if any lies within the window.
    pub analysis_length: Option<usize>,
    /// Why the seed is skipped, when no length lies within the window.
    pub skip_reason: Option<String>,
}

impl TrainReport {
    /// Evaluates `model` at the OOD lengths of `config` and records how it was trained.
    pub async fn evaluate(
        model: &Transformer,
        config: &ExperimentConfig,
        backend: Backend,
        train: Option<TrainSummary>,
    ) -> Result<Self, ExecutionError> {
        let device = model.device();
        let ood = evaluate_ood(model, config.task, config.seed, &config.eval, &device).await?;
        Ok(Self {
            task: config.task,
            seed: config.seed,
            backend,
            config: config.clone(),
            train,
            ood_accuracy: ood.accuracy,
            analysis_length: ood.analysis_length.as_ref().ok().copied(),
            skip_reason: ood.analysis_length.err(),
        })
    }
}

/// Trains a model for `config` (which must be valid) and evaluates it out of distribution.
pub async fn train_and_evaluate(
    config: &ExperimentConfig,
    backend: Backend,
    device: &Device,
    on_progress: impl FnMut(&Progress),
) -> Result<(Trained, TrainReport), TrainError> {
    let trained = train(config, device, on_progress).await?;
    let report = TrainReport::evaluate(
        &trained.model,
        config,
        backend,
        Some(trained.summary.clone()),
    )
    .await?;
    Ok((trained, report))
}

/// A seed's whole report: training, OOD evaluation and, unless the seed is skipped, the
/// analysis, whose fields sit at the top level beside the training ones.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeedReport {
    /// Training and OOD evaluation.
    #[serde(flatten)]
    pub run: TrainReport,
    /// The analysis at `analysis_length`; absent when the seed is skipped.
    #[serde(flatten)]
    pub analysis: Option<Analysis>,
    /// Analyses of the snapshots taken during training, at the same length.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checkpoints: Vec<Checkpoint>,
}

// Read through a JSON value: serde's `flatten` cannot read the integer keys of the nested maps
// (`ood_accuracy`, the classes per threshold), but a `serde_json::Value` can.
impl<'de> Deserialize<'de> for SeedReport {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        let run = TrainReport::deserialize(&value).map_err(D::Error::custom)?;
        let analysis = match value.get("base_accuracy") {
            Some(_) => Some(Analysis::deserialize(&value).map_err(D::Error::custom)?),
            None => None,
        };
        let checkpoints = match value.get("checkpoints") {
            Some(list) => Vec::deserialize(list).map_err(D::Error::custom)?,
            None => Vec::new(),
        };
        Ok(Self {
            run,
            analysis,
            checkpoints,
        })
    }
}

impl SeedReport {
    /// Analyses `model`, the model `run` describes, at its analysis length (if it has one), and
    /// each training snapshot at the same length.
    pub async fn analyse(
        model: &Transformer,
        run: TrainReport,
        snapshots: &[Snapshot],
        observer: &mut impl Observer,
    ) -> Result<Self, ExecutionError> {
        let Some(length) = run.analysis_length else {
            return Ok(Self {
                run,
                analysis: None,
                checkpoints: Vec::new(),
            });
        };
        let analysis = analyze(model, &run.config, length, observer).await?;
        let mut checkpoints = Vec::with_capacity(snapshots.len());
        for snapshot in snapshots {
            let at_step = analyze(&snapshot.model, &run.config, length, observer).await?;
            checkpoints.push(Checkpoint::new(snapshot.step, &at_step));
        }
        Ok(Self {
            run,
            analysis: Some(analysis),
            checkpoints,
        })
    }
}
