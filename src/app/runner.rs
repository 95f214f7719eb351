//! Runs seeds in the page: opens WebGPU (or falls back to the CPU, saying why), trains step by
//! step while the page stays responsive, evaluates out of distribution and analyses, then adds
//! the report to the lab. A failure stops the run with a message; finished runs are kept.

use leptos::prelude::*;

use crate::backend::Backend;
use crate::config::ExperimentConfig;
use crate::permalink::BackendChoice;
use crate::progress::Observer;
use crate::report::{SeedReport, TrainReport};
use crate::train::{TrainError, Trainer};

use super::browser;
use super::state::{Lab, LivePoint, Status};

/// The paper's default seeds (METHOD §9).
pub const DEFAULT_SEEDS: [u64; 10] = [42, 123, 456, 789, 1010, 2020, 3030, 4040, 5050, 6060];

/// Reports analysis progress to the lab and yields to the browser between units.
struct PageObserver {
    lab: Lab,
}

impl Observer for PageObserver {
    async fn progress(&mut self, stage: &str, done: usize, total: usize) {
        self.lab.status.set(Status::Analysing {
            stage: stage.to_string(),
            done,
            total,
        });
        browser::yield_now().await;
    }
}

/// Opens the backend the lab asks for: by default WebGPU on a hardware adapter, and the CPU
/// where WebGPU is missing, fails or offers only a software adapter, with the reason in
/// `lab.backend`. A forced choice is followed, and a failing WebGPU still falls back.
async fn open_backend(lab: Lab) -> (Backend, burn::prelude::Device) {
    let choice = lab.backend_choice.get_untracked();
    let reason = if choice == BackendChoice::Cpu {
        "chosen in the settings".to_string()
    } else {
        match browser::webgpu_adapter().await {
            Ok(adapter) if adapter.software && choice == BackendChoice::Auto => format!(
                "WebGPU offers only a software adapter ({}), which is slower than the CPU; choose WebGPU to use it anyway",
                adapter.name
            ),
            Ok(adapter) => match Backend::Wgpu.device().await {
                Ok(device) => {
                    lab.backend.set(format!("WebGPU: {}", adapter.name));
                    return (Backend::Wgpu, device);
                }
                Err(e) => e.to_string(),
            },
            Err(e) => e,
        }
    };
    lab.backend.set(format!("CPU: {reason}"));
    (Backend::Cpu, Backend::Cpu.device().await.expect("the CPU"))
}

/// Trains, evaluates and analyses each config in turn; stops at the first failure or when the
/// user cancels.
pub async fn run_all(lab: Lab, configs: Vec<ExperimentConfig>) {
    lab.cancel.set(false);
    lab.notice.set(None);
    lab.status.set(Status::Starting);
    let (backend, device) = open_backend(lab).await;
    for config in configs {
        match run_one(lab, &config, backend, &device).await {
            Ok(Some(report)) => {
                lab.add_runs(vec![report]);
            }
            Ok(None) => {
                lab.status.set(Status::Cancelled);
                return;
            }
            Err(e) => {
                lab.status.set(Status::Failed(e));
                return;
            }
        }
    }
    lab.status.set(Status::Idle);
}

/// One seed; `Ok(None)` when cancelled.
async fn run_one(
    lab: Lab,
    config: &ExperimentConfig,
    backend: Backend,
    device: &burn::prelude::Device,
) -> Result<Option<SeedReport>, String> {
    let what = format!("{} seed {}", config.task, config.seed);
    let failed = |e: TrainError| format!("{what} stopped: {e}. Finished runs are kept.");
    lab.live.set(Vec::new());
    let mut trainer = Trainer::new(config, device);
    let started = browser::now_ms();
    while trainer.stopped().is_none() {
        if lab.cancel.get_untracked() {
            return Ok(None);
        }
        let progress = trainer.step().await.map_err(failed)?;
        let ms_per_step = (browser::now_ms() - started) / progress.step as f64;
        lab.live.update(|points| {
            points.push(LivePoint {
                step: progress.step,
                loss: progress.loss,
                eval_accuracy: progress.eval_accuracy,
            })
        });
        lab.status.set(Status::Training {
            progress,
            ms_per_step,
        });
        browser::yield_now().await;
    }
    let trained = trainer.finish().expect("training has stopped");
    lab.status.set(Status::Evaluating);
    browser::yield_now().await;
    let run = TrainReport::evaluate(&trained.model, config, backend, Some(trained.summary))
        .await
        .map_err(|e| failed(e.into()))?;
    let mut observer = PageObserver { lab };
    let report = SeedReport::analyse(&trained.model, run, &trained.snapshots, &mut observer)
        .await
        .map_err(|e| failed(e.into()))?;
    let index = lab.runs.with_untracked(Vec::len);
    lab.models
        .update_value(|models| models.push((index, trained.model)));
    Ok(Some(report))
}
