//! The JSON reports gradcause writes and the page reads.

use std::collections::BTreeMap;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::config::ExperimentConfig;
use crate::eval::evaluate_ood;
use crate::model::Transformer;
use crate::task::Task;
use crate::train::{Progress, TrainError, TrainSummary, train};

/// A trained model's report: how training went and how it does out of distribution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// The task trained on.
    pub task: Task,
    /// The run's seed.
    pub seed: u64,
    /// Where it ran.
    pub backend: Backend,
    /// Every config field.
    pub config: ExperimentConfig,
    /// Steps, stop reason and learning curve.
    pub train: TrainSummary,
    /// Exact-match accuracy per OOD length (keys are lengths).
    pub ood_accuracy: BTreeMap<usize, f64>,
    /// The length the analysis uses, if any lies within the window.
    pub analysis_length: Option<usize>,
    /// Why the seed is skipped, when no length lies within the window.
    pub skip_reason: Option<String>,
}

/// Trains a model for `config` (which must be valid) and evaluates it out of distribution.
pub async fn train_and_evaluate(
    config: &ExperimentConfig,
    backend: Backend,
    device: &Device,
    on_progress: impl FnMut(&Progress),
) -> Result<(Transformer, TrainReport), TrainError> {
    let (model, summary) = train(config, device, on_progress).await?;
    let ood = evaluate_ood(&model, config.task, config.seed, &config.eval, device).await?;
    let report = TrainReport {
        task: config.task,
        seed: config.seed,
        backend,
        config: config.clone(),
        train: summary,
        ood_accuracy: ood.accuracy,
        analysis_length: ood.analysis_length.as_ref().ok().copied(),
        skip_reason: ood.analysis_length.err(),
    };
    Ok((model, report))
}
