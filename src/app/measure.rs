//! The backend chosen by measurement: a few training steps timed on WebGPU and on the CPU's
//! workers, the faster taken. The page remembers each measurement in browser storage, by
//! adapter and config shape, so that it is made once; the worker training a seed makes it.

use serde::{Deserialize, Serialize};

use crate::engine::backend::Backend;
use crate::engine::passes::Helpers;
use crate::engine::train::Trainer;
use crate::experiment::config::ExperimentConfig;

use super::browser;

/// Browser-storage key of the measurements.
const MEASUREMENTS_KEY: &str = "gradcause.backend-measurements";

/// Steps run before the timed ones (WebGPU compiles its kernels on the first).
const WARM_UP_STEPS: usize = 2;

/// Steps timed on each backend.
const TIMED_STEPS: usize = 3;

/// One measurement: which backend trained faster, for an adapter and a config shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The adapter, model shape, batch and workers measured ([`key`]).
    pub key: String,
    /// The faster.
    pub backend: Backend,
    /// Milliseconds a step on the CPU's workers.
    pub cpu_ms: f64,
    /// Milliseconds a step on WebGPU.
    pub webgpu_ms: f64,
    /// Workers on the CPU.
    pub workers: usize,
}

impl Measurement {
    /// The faster of the two step times.
    pub fn new(key: String, cpu_ms: f64, webgpu_ms: f64, workers: usize) -> Self {
        let backend = if webgpu_ms < cpu_ms {
            Backend::Wgpu
        } else {
            Backend::Cpu
        };
        Self {
            key,
            backend,
            cpu_ms,
            webgpu_ms,
            workers,
        }
    }

    /// Why its backend: both step times, for the page's backend line.
    pub fn reason(&self, adapter: &str) -> String {
        let cpu = match self.workers {
            1 => "the CPU".to_string(),
            n => format!("the CPU's {n} workers"),
        };
        match self.backend {
            Backend::Wgpu => format!(
                "measured faster here: {:.0} ms a step against {:.0} ms on {cpu}",
                self.webgpu_ms, self.cpu_ms
            ),
            Backend::Cpu => format!(
                "measured faster here: {:.0} ms a step on {cpu} against {:.0} ms on WebGPU ({adapter})",
                self.cpu_ms, self.webgpu_ms
            ),
        }
    }
}

/// What a measurement is remembered by: the adapter, the model's shape, the batch and the
/// workers (what sets a step's time).
pub fn key(adapter: &str, config: &ExperimentConfig, workers: usize) -> String {
    let (m, t) = (&config.model, &config.train);
    format!(
        "{adapter} · {} layers, {} heads, d_model {}, d_ff {} · batch {} · CPU workers {workers}",
        m.layers, m.heads, m.d_model, m.d_ff, t.batch_size
    )
}

/// Mean milliseconds of a training step of `config` on `backend`, with `helpers`, over
/// [`TIMED_STEPS`] steps after [`WARM_UP_STEPS`] (fewer where the config stops sooner), on a
/// fresh model that is then dropped.
pub async fn step_ms(
    config: &ExperimentConfig,
    backend: Backend,
    helpers: &mut impl Helpers,
) -> Result<f64, String> {
    let device = backend.device().await.map_err(|e| e.to_string())?;
    let mut trainer = Trainer::new(config, &device);
    let warm_up = WARM_UP_STEPS.min(config.train.max_steps.saturating_sub(1));
    let mut timed = 0;
    let mut started = 0.0;
    while trainer.stopped().is_none() && timed < TIMED_STEPS {
        if trainer.step_count() == warm_up {
            started = browser::now_ms();
        }
        let step = trainer.step_with(helpers).await;
        step.map_err(|e| e.to_string())?;
        timed += usize::from(trainer.step_count() > warm_up);
    }
    if timed == 0 {
        return Err("no step to time".into());
    }
    Ok((browser::now_ms() - started) / timed as f64)
}

/// The measurements the page remembers.
pub fn remembered() -> Vec<Measurement> {
    browser::load(MEASUREMENTS_KEY)
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Remembers `measurement` in place of any of the same key; `Err` says why not.
pub fn remember(measurement: Measurement) -> Result<(), String> {
    let mut all = remembered();
    all.retain(|m| m.key != measurement.key);
    all.push(measurement);
    let text = serde_json::to_string(&all).expect("measurements serialise");
    browser::store(MEASUREMENTS_KEY, &text)
}
