//! The JSON reports gradcause writes and the page reads.

use std::collections::BTreeMap;

use burn::prelude::*;
use burn::tensor::ExecutionError;
use serde::{Deserialize, Serialize};

use crate::analysis::ablation::AblationSet;
use crate::analysis::analyze::{Analysis, Checkpoint, analyze, analyze_on};
use crate::analysis::as_published::causal_as_published;
use crate::analysis::attribution::GWeights;
use crate::engine::backend::Backend;
use crate::engine::eval::evaluate_ood;
use crate::engine::model::{Positions, Transformer};
use crate::engine::progress::Observer;
use crate::engine::task::Task;
use crate::engine::train::{Progress, Snapshot, TrainError, TrainSummary, Trained, train};
use crate::experiment::config::ExperimentConfig;
use crate::experiment::provenance::{METHOD_REVISION, Made, StageClock, Stopwatch};

/// Reads a report's config, filling the fields older reports lack: a missing `model.positions`
/// is `learned` (the only scheme there was); any other missing setting (`g_weights`, the
/// scores' `ig_steps`, the published pipeline's `init`, `batch_layout`, ...) takes its default,
/// which is what those reports were made under.
fn config_with_legacy_fields<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<ExperimentConfig, D::Error> {
    let mut value = serde_json::Value::deserialize(deserializer)?;
    if let Some(model) = value.get_mut("model").and_then(|m| m.as_object_mut()) {
        model
            .entry("positions")
            .or_insert_with(|| Positions::Learned.name().into());
    }
    let defaults =
        serde_json::to_value(ExperimentConfig::new(Task::Reverse, 0)).expect("a config serialises");
    for section in ["model", "train", "eval", "analysis"] {
        let Some(fields) = value.get_mut(section).and_then(|m| m.as_object_mut()) else {
            continue;
        };
        for (key, default) in defaults[section].as_object().expect("an object") {
            fields.entry(key).or_insert_with(|| default.clone());
        }
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
    /// `learned`, the only scheme there was; a missing analysis setting takes its default.
    #[serde(deserialize_with = "config_with_legacy_fields")]
    pub config: ExperimentConfig,
    /// Steps, stop reason and learning curve; `None` for a model loaded from a weights file.
    pub train: Option<TrainSummary>,
    /// Exact-match accuracy per OOD length (keys are lengths), on the fixed OOD sets.
    pub ood_accuracy: BTreeMap<usize, f64>,
    /// With `eval.window_sample` > 0, the accuracy per OOD length on that many fresh examples,
    /// which chose the analysis length (the published pipeline's window, METHOD §11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_accuracy: Option<BTreeMap<usize, f64>>,
    /// The length the analysis uses, if any lies within the window.
    pub analysis_length: Option<usize>,
    /// Why the seed is skipped, when no length lies within the window.
    pub skip_reason: Option<String>,
    /// Where, by which build and how long training and the OOD evaluation ran; `None` for a
    /// loaded model and in reports made before this was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained: Option<Made>,
}

impl TrainReport {
    /// The accuracy C as published is measured against at `length`: the window's sample there
    /// (the sample that chose the length), else the OOD set's, else `fallback`.
    pub fn window_baseline(&self, length: usize, fallback: f64) -> f64 {
        let windows = self.window_accuracy.as_ref().unwrap_or(&self.ood_accuracy);
        windows.get(&length).copied().unwrap_or(fallback)
    }

    /// The protocol the run was made under: `default`, `published`, or `custom` for a mix
    /// ([`ExperimentConfig::protocol`]).
    pub fn run_protocol(&self) -> &'static str {
        self.config.protocol().map_or("custom", |p| p.name())
    }

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
            window_accuracy: ood.window_accuracy,
            analysis_length: ood.analysis_length.as_ref().ok().copied(),
            skip_reason: ood.analysis_length.err(),
            trained: None,
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
    let clock = Stopwatch::start();
    let trained = train(config, device, on_progress).await?;
    let mut report = TrainReport::evaluate(
        &trained.model,
        config,
        backend,
        Some(trained.summary.clone()),
    )
    .await?;
    report.trained = Some(Made::here(clock.seconds()));
    Ok((trained, report))
}

/// A seed's whole report: training, OOD evaluation and, unless the seed is skipped, the
/// analysis, whose fields sit at the top level beside the training ones.
///
/// A report made under an earlier METHOD revision loads with its training and OOD evaluation
/// and without its analysis: [`SeedReport::outdated`] says so, and no comparison takes it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeedReport {
    /// Training and OOD evaluation.
    #[serde(flatten)]
    pub run: TrainReport,
    /// The METHOD.md revision the analysis follows ([`METHOD_REVISION`] for reports of this
    /// build); `None` for reports made before revisions were recorded.
    pub method: Option<String>,
    /// Where, by which build and how long the analysis ran; `None` when nothing was analysed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysed: Option<Made>,
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
        let method = value
            .get("method")
            .and_then(|m| m.as_str())
            .map(str::to_string);
        // An analysis under another contract has other fields: only the run is read.
        let current = method.as_deref() == Some(METHOD_REVISION);
        let field = |name: &str| value.get(name).filter(|_| current);
        let analysis = match field("base_accuracy") {
            Some(_) => Some(Analysis::deserialize(&value).map_err(D::Error::custom)?),
            None => None,
        };
        let analysed = match field("analysed") {
            Some(made) => Some(Made::deserialize(made).map_err(D::Error::custom)?),
            None => None,
        };
        let checkpoints = match field("checkpoints") {
            Some(list) => Vec::deserialize(list).map_err(D::Error::custom)?,
            None => Vec::new(),
        };
        Ok(Self {
            run,
            method,
            analysed,
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
        let method = Some(METHOD_REVISION.to_string());
        let Some(length) = run.analysis_length else {
            return Ok(Self {
                run,
                method,
                analysed: None,
                analysis: None,
                checkpoints: Vec::new(),
            });
        };
        let clock = Stopwatch::start();
        let mut steps = StageClock::new(observer);
        let config = &run.config;
        let ood = config.eval.ood_set(config.task, config.seed, length);
        let set = AblationSet::new(model, &ood, config.seed, &model.device()).await?;
        let mut analysis = analyze_on(model, &config.analysis, &set, &ood, &mut steps).await?;
        if config.analysis.causal_sample > 0 {
            let baseline = run.window_baseline(length, analysis.base_accuracy);
            let raw = analysis.grad(GWeights::WvWoutRaw);
            let sampling = config.analysis.causal_sampling();
            let run = (config.task, config.seed);
            analysis.as_published = Some(
                causal_as_published(model, run, (&ood, &set), baseline, &raw, &sampling).await?,
            );
            steps.progress("as published", 1, 1).await;
        }
        let analysed = Some(Made::here(clock.seconds()).with_steps(steps.steps()));
        let mut checkpoints = Vec::with_capacity(snapshots.len());
        for snapshot in snapshots {
            let at_step = analyze(
                &snapshot.model,
                &config.analysis,
                &ood,
                config.seed,
                observer,
            )
            .await?;
            checkpoints.push(Checkpoint::new(snapshot.step, &at_step, &config.analysis));
        }
        Ok(Self {
            run,
            method,
            analysed,
            analysis: Some(analysis),
            checkpoints,
        })
    }

    /// Why this report cannot be compared with reports of this build: it was made under another
    /// revision of METHOD.md. `None` for a current report.
    pub fn outdated(&self) -> Option<String> {
        if self.method.as_deref() == Some(METHOD_REVISION) {
            return None;
        }
        let made = match &self.method {
            Some(revision) => format!("METHOD revision {revision}"),
            None => "the contract before METHOD revision 2026-12-02 (mean ablation per \
                     position, G on two matrices a component, Figure 4 divided by √N)"
                .to_string(),
        };
        Some(format!(
            "{} seed {} was analysed under {made}; this build follows revision \
             {METHOD_REVISION}: analyse it again to compare it",
            self.run.task, self.run.seed
        ))
    }
}
