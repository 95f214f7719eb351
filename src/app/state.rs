//! The page's state: the settings, the finished runs (kept in browser storage), what is running
//! now, and the viewer's choices. One [`Lab`] of signals is shared by every component.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::analysis::ablation::Ablation;
use crate::analysis::attribution::GWeights;
use crate::engine::component::Component;
use crate::engine::task::Task;
use crate::engine::train::Progress;
use crate::experiment::config::ExperimentConfig;
use crate::experiment::permalink::{self, BackendChoice};
use crate::experiment::report::SeedReport;

use super::browser;

/// Browser-storage key of the finished runs.
const RUNS_KEY: &str = "gradcause.runs";

/// What the lab is doing.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    /// Nothing running.
    Idle,
    /// Opening the backend.
    Starting,
    /// Training, with the latest step and the mean time per step so far.
    Training {
        /// The latest step.
        progress: Progress,
        /// Mean milliseconds per step so far.
        ms_per_step: f64,
        /// Workers training the seed.
        workers: usize,
    },
    /// Measuring accuracy at the OOD lengths.
    Evaluating,
    /// Running the analysis.
    Analysing {
        /// Which part.
        stage: String,
        /// Units done.
        done: usize,
        /// Units in all.
        total: usize,
    },
    /// Stopped by the user; finished runs are kept.
    Cancelled,
    /// Stopped by an error, with what to tell the user.
    Failed(String),
}

impl Status {
    /// Whether a run is under way.
    pub fn busy(&self) -> bool {
        matches!(
            self,
            Status::Starting
                | Status::Training { .. }
                | Status::Evaluating
                | Status::Analysing { .. }
        )
    }
}

/// One point of the live training chart.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LivePoint {
    /// Steps done.
    pub step: usize,
    /// The step's batch loss.
    pub loss: f64,
    /// The stop-rule accuracy, on steps that measured it.
    pub eval_accuracy: Option<f64>,
}

/// One seed's line while several run.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SeedLine {
    /// Task and seed.
    pub label: String,
    /// What it is doing, or how it ended.
    pub text: String,
    /// Finished, failed or cancelled.
    pub ended: bool,
}

impl SeedLine {
    /// A seed not started yet.
    pub fn waiting(label: &str) -> Self {
        Self {
            label: label.to_string(),
            text: "waiting".into(),
            ended: false,
        }
    }
}

/// The page's shared state.
#[derive(Clone, Copy)]
pub struct Lab {
    /// The config the next run uses (mirrored in the URL).
    pub settings: RwSignal<ExperimentConfig>,
    /// Where to train (mirrored in the URL when not automatic).
    pub backend_choice: RwSignal<BackendChoice>,
    /// Finished runs, oldest first.
    pub runs: RwSignal<Vec<SeedReport>>,
    /// The run the figures show (an index into `runs`).
    pub selected: RwSignal<Option<usize>>,
    /// What is running now.
    pub status: RwSignal<Status>,
    /// The run under way, point by point.
    pub live: RwSignal<Vec<LivePoint>>,
    /// The backend in use, or why the CPU is used.
    pub backend: RwSignal<String>,
    /// A message for the user (a refused file, a storage problem).
    pub notice: RwSignal<Option<String>>,
    /// Each seed's line, while several run.
    pub lines: RwSignal<Vec<SeedLine>>,
    /// How many seeds run at once (each in its own worker).
    pub parallel: RwSignal<usize>,
    /// How many workers train one seed on the CPU, each making some of its micro-batches;
    /// `None`: the browser's threads less one, shared among the seeds running at once.
    pub seed_workers: RwSignal<Option<usize>>,
    /// The reading of G the figures show (METHOD §5).
    pub g_weights: RwSignal<GWeights>,
    /// The baseline the figures compare against.
    pub ablation: RwSignal<Ablation>,
    /// The Hero/Bloat threshold the figures use.
    pub threshold: RwSignal<usize>,
    /// The head whose attention pattern is shown.
    pub head: RwSignal<Component>,
    /// Whether the classroom walkthrough's explanations are shown.
    pub guided: RwSignal<bool>,
    /// The weights (safetensors) of the models trained in this visit, by index into `runs`
    /// (weights are not kept in storage).
    pub models: StoredValue<Vec<(usize, Vec<u8>)>, LocalStorage>,
}

impl Lab {
    /// The lab as the URL and browser storage leave it.
    pub fn new() -> Self {
        let query = browser::query();
        let (settings, notice) = match permalink::from_query(&query) {
            Ok(config) => (config, None),
            Err(e) => (
                ExperimentConfig::new(Task::Reverse, 42),
                Some(format!("The link's settings were not used: {e}")),
            ),
        };
        let (backend_choice, backend_notice) = match permalink::backend_from_query(&query) {
            Ok(choice) => (choice, None),
            Err(e) => (
                BackendChoice::Auto,
                Some(format!("{e}; choosing automatically.")),
            ),
        };
        let (seed_workers, workers_notice) = match permalink::workers_from_query(&query) {
            Ok(workers) => (workers, None),
            Err(e) => (None, Some(format!("{e}; choosing automatically."))),
        };
        let (runs, storage_notice) = load_runs();
        let selected = runs.len().checked_sub(1);
        // The reading shown first comes with the link (`g-weights`, `pruning-ablation`).
        let (g, ablation) = (
            settings.analysis.g_weights,
            settings.analysis.pruning_ablation,
        );
        Self {
            settings: RwSignal::new(settings),
            backend_choice: RwSignal::new(backend_choice),
            runs: RwSignal::new(runs),
            selected: RwSignal::new(selected),
            status: RwSignal::new(Status::Idle),
            live: RwSignal::new(Vec::new()),
            backend: RwSignal::new(String::new()),
            notice: RwSignal::new(
                notice
                    .or(backend_notice)
                    .or(workers_notice)
                    .or(storage_notice),
            ),
            lines: RwSignal::new(Vec::new()),
            parallel: RwSignal::new(browser::hardware_threads().saturating_sub(1).max(1)),
            seed_workers: RwSignal::new(seed_workers),
            g_weights: RwSignal::new(g),
            ablation: RwSignal::new(ablation),
            threshold: RwSignal::new(6),
            head: RwSignal::new(Component::Head { layer: 0, head: 0 }),
            guided: RwSignal::new(false),
            models: StoredValue::new_local(Vec::new()),
        }
    }

    /// The lab from context.
    pub fn get() -> Self {
        expect_context::<Lab>()
    }

    /// Shows every figure and table under G reading `g` and baseline `ablation`, and keeps the
    /// choice in the link.
    pub fn set_reading(&self, g: GWeights, ablation: Ablation) {
        self.g_weights.set(g);
        self.ablation.set(ablation);
        self.settings.update(|c| {
            c.analysis.g_weights = g;
            c.analysis.pruning_ablation = ablation;
        });
    }

    /// The runs analysed under this build's METHOD revision (the only ones compared).
    pub fn current_runs(&self) -> Vec<SeedReport> {
        self.runs.with(|runs| {
            runs.iter()
                .filter(|r| r.outdated().is_none())
                .cloned()
                .collect()
        })
    }

    /// The selected run, if any.
    pub fn selected_run(&self) -> Option<SeedReport> {
        let index = self.selected.get()?;
        self.runs.with(|runs| runs.get(index).cloned())
    }

    /// Adds finished runs, keeps them in storage and selects the last one.
    pub fn add_runs(&self, new: Vec<SeedReport>) {
        if new.is_empty() {
            return;
        }
        self.runs.update(|runs| runs.extend(new));
        self.selected
            .set(self.runs.with(|r| r.len().checked_sub(1)));
        self.save_runs();
    }

    /// Forgets every run (and the models kept for the ablation explorer).
    pub fn clear_runs(&self) {
        self.runs.set(Vec::new());
        self.selected.set(None);
        self.models.set_value(Vec::new());
        self.save_runs();
    }

    /// Writes the runs to browser storage; a failure becomes a notice, the runs stay on the page.
    fn save_runs(&self) {
        let text = self
            .runs
            .with(|runs| serde_json::to_string(runs).expect("reports serialise"));
        if let Err(e) = browser::store(RUNS_KEY, &text) {
            self.notice.set(Some(e));
        }
    }
}

/// The runs kept in browser storage. Unreadable contents are set aside under another key (never
/// overwritten) and reported.
fn load_runs() -> (Vec<SeedReport>, Option<String>) {
    let Some(text) = browser::load(RUNS_KEY) else {
        return (Vec::new(), None);
    };
    match serde_json::from_str(&text) {
        Ok(runs) => (runs, None),
        Err(e) => {
            let aside = format!("{RUNS_KEY}.unreadable");
            let _ = browser::store(&aside, &text);
            (
                Vec::new(),
                Some(format!(
                    "The runs kept in this browser could not be read ({e}); they were set aside under `{aside}`."
                )),
            )
        }
    }
}

/// Parses an exported runs file: a list of reports or a single report. A foreign or malformed
/// file is refused with a message.
pub fn parse_runs_file(name: &str, text: &str) -> Result<Vec<SeedReport>, String> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("`{name}` is not JSON ({e}); nothing was imported"))?;
    let runs = if value.is_array() {
        serde_json::from_value::<Vec<SeedReport>>(value)
    } else {
        serde_json::from_value::<SeedReport>(value).map(|r| vec![r])
    }
    .map_err(|e| format!("`{name}` is not a gradcause runs file ({e}); nothing was imported"))?;
    for run in &runs {
        run.run.config.validate().map_err(|e| {
            format!("`{name}` holds a run with a bad config ({e}); nothing was imported")
        })?;
        if let Some(analysis) = &run.analysis {
            let m = &run.run.config.model;
            if analysis.components.len() != m.layers * (m.heads + 1) {
                return Err(format!(
                    "`{name}` holds a run whose components do not match its model; nothing was imported"
                ));
            }
        }
    }
    Ok(runs)
}
