//! The page's worker: the same WebAssembly module, started in a dedicated Web Worker, where it
//! runs the jobs the page posts (training, evaluation and analysis of a seed; an ablation on a
//! trained model) and posts their progress back. The page's main thread only draws. A worker
//! training a seed on the CPU may start helpers (`helpers.rs`), workers like it that make some
//! of each step's micro-batch passes (the jobs it posts them).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::spawn_local;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::analysis::ablation::AblationSet;
use crate::engine::backend::Backend;
use crate::engine::passes::{Alone, Helper, Share};
use crate::engine::progress::Observer;
use crate::engine::train::Trainer;
use crate::engine::weights::{from_safetensors, to_safetensors};
use crate::experiment::config::ExperimentConfig;
use crate::experiment::permalink::BackendChoice;
use crate::experiment::provenance::Made;
use crate::experiment::report::{SeedReport, TrainReport};

use super::browser;
use super::helpers::HelperWorkers;
use super::jobs::{self, Answer, Job};
use super::measure::{self, Measurement};
use super::state::LivePoint;

/// Least time between two training updates: the page redraws on each.
const UPDATE_EVERY_MS: f64 = 100.0;

/// Whether this code runs in a worker rather than the page.
pub fn in_worker() -> bool {
    js_sys::global().has_type::<DedicatedWorkerGlobalScope>()
}

/// Listens for jobs and runs them one at a time, in the order they came (a helper is handed
/// gradients while it still makes its passes), and says it is ready.
pub fn serve() {
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        INBOX.with(|inbox| inbox.borrow_mut().push_back(event.data()));
        if !RUNNING.replace(true) {
            spawn_local(run_in_order());
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post(&Answer::Ready, None);
}

/// Runs the jobs waiting, in order, until none is left.
async fn run_in_order() {
    while let Some(data) = INBOX.with(|inbox| inbox.borrow_mut().pop_front()) {
        let outcome = match jobs::decode::<Job>(&data) {
            Ok((job, weights)) => run(job, weights, &data).await,
            Err(e) => Err(format!("the worker received {e}")),
        };
        if let Err(e) = outcome {
            post(&Answer::Failed(e), None);
        }
    }
    RUNNING.set(false);
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

thread_local! {
    /// A helper's copy of the model, from [`Job::Replicate`] on.
    static HELPER: RefCell<Option<Helper>> = const { RefCell::new(None) };
    /// The messages not run yet, in the order they came.
    static INBOX: RefCell<VecDeque<JsValue>> = const { RefCell::new(VecDeque::new()) };
    /// Whether a job is running (and will run those in the inbox after it).
    static RUNNING: Cell<bool> = const { Cell::new(false) };
}

/// Posts an update to the page (or, from a helper, to the worker it helps), transferring the
/// weights' bytes.
fn post(update: &Answer, weights: Option<&[u8]>) {
    send(&jobs::encode(update, weights));
}

/// Posts `message`, transferring its byte and float arrays.
fn send(message: &js_sys::Array) {
    let transfer = browser::transferables(message);
    // Posting fails only for values that cannot be cloned, which these are not.
    let _ = scope().post_message_with_transfer(message, &transfer);
}

/// Runs `job`, which came in the message `data` with `weights` (bytes), if any.
async fn run(job: Job, weights: Option<Vec<u8>>, data: &JsValue) -> Result<(), String> {
    match job {
        Job::Run {
            config,
            backend,
            workers,
            module,
            remembered,
        } => run_seed(&config, backend, workers, &module, &remembered).await,
        Job::Replicate { model, lr } => {
            let parameters = jobs::floats(data).ok_or("no parameters came with the model")?;
            let device = Backend::Cpu.device().await.map_err(|e| e.to_string())?;
            let helper = Helper::new(&model, parameters, lr, &device)?;
            HELPER.with(|h| *h.borrow_mut() = Some(helper));
            post(&Answer::Ready, None);
            Ok(())
        }
        Job::Pass(share) => make_passes(&share).await,
        Job::Gradients { step, numbers } => {
            let gradients = jobs::runs(data, numbers.len()).ok_or("no gradients came")?;
            HELPER.with(|h| {
                let mut helper = h.borrow_mut();
                let helper = helper.as_mut().ok_or(NO_MODEL)?;
                for (k, run) in numbers.into_iter().zip(gradients) {
                    helper.receive(step, k, run)?;
                }
                Ok(())
            })
        }
        Job::Summed { step } => {
            let sum = jobs::floats(data).ok_or("no gradients came")?;
            HELPER.with(|h| match h.borrow_mut().as_mut() {
                Some(helper) => helper.receive_sum(step, sum),
                None => Err(NO_MODEL.into()),
            })
        }
        Job::Ablate {
            config,
            length,
            components,
            ablation,
        } => {
            let weights = weights.ok_or("no weights came with the ablation")?;
            let device = Backend::Cpu.device().await.map_err(|e| e.to_string())?;
            let model = from_safetensors(&weights, &device).map_err(|e| e.to_string())?;
            let batches = config.eval.ood_set(config.task, config.seed, length);
            let failed = |e: burn::tensor::ExecutionError| format!("the measurement failed: {e}");
            let set = AblationSet::new(&model, &batches, config.seed, &device)
                .await
                .map_err(failed)?;
            let accuracy = set
                .ablated_accuracy(&model, &components, ablation)
                .await
                .map_err(failed)?;
            post(
                &Answer::Ablated {
                    base: set.base_accuracy,
                    accuracy,
                },
                None,
            );
            Ok(())
        }
    }
}

/// What a helper asked for passes or a step before its model came says.
const NO_MODEL: &str = "a helper was asked to train before it had the model";

/// As a helper: the passes of `share` on its copy of the model, posted back with their
/// gradients.
async fn make_passes(share: &Share) -> Result<(), String> {
    let mut helper = HELPER.with(|h| h.borrow_mut().take()).ok_or(NO_MODEL)?;
    let stats = helper.passes(share).await;
    if let Ok(stats) = &stats {
        let gradients: Vec<&[f32]> = (share.parts.iter())
            .map(|(k, _)| helper.gradients(*k).expect("made"))
            .collect();
        send(&jobs::encode_floats(
            &Answer::Passed(stats.clone()),
            &gradients,
        ));
    }
    HELPER.with(|h| *h.borrow_mut() = Some(helper));
    stats.map(drop)
}

/// Trains, evaluates and analyses one seed; posts the report and the weights. On the CPU it
/// trains on `workers` workers (this one and helpers started from the page's JavaScript
/// `module`), each step's batch cut into the config's micro-batches, or, where the config
/// leaves that at 1, into one per worker (the report's config says how many). `remembered`:
/// the page's measurements of which backend is faster.
async fn run_seed(
    config: &ExperimentConfig,
    choice: BackendChoice,
    workers: usize,
    module: &str,
    remembered: &[Measurement],
) -> Result<(), String> {
    let what = format!("{} seed {}", config.task, config.seed);
    let failed = |e: String| format!("{what} stopped: {e}. Finished runs are kept.");
    let (backend, device) = open_backend(choice, config, workers, module, remembered).await;
    let (config, workers) = match backend {
        Backend::Cpu => on_cpu(config, workers),
        Backend::Wgpu => (config.clone(), 1),
    };
    let config = &config;
    let mut helpers = HelperWorkers::start(workers - 1, module, &config.model)
        .await
        .map_err(failed)?;
    let mut trainer = Trainer::new(config, &device);
    let started = browser::now_ms();
    let mut last_post = f64::NEG_INFINITY;
    let mut points = Vec::new();
    while trainer.stopped().is_none() {
        let progress =
            (trainer.step_with(&mut helpers).await).map_err(|e| failed(e.to_string()))?;
        points.push(LivePoint {
            step: progress.step,
            loss: progress.loss,
            eval_accuracy: progress.eval_accuracy,
        });
        let now = browser::now_ms();
        if now - last_post >= UPDATE_EVERY_MS || progress.stopped.is_some() {
            last_post = now;
            let update = Answer::Training {
                progress,
                workers,
                ms_per_step: (now - started) / progress.step as f64,
                points: std::mem::take(&mut points),
            };
            post(&update, None);
        }
    }
    let trained = trainer.finish().expect("training has stopped");
    drop(helpers);
    post(&Answer::Evaluating, None);
    let mut run = TrainReport::evaluate(&trained.model, config, backend, Some(trained.summary))
        .await
        .map_err(|e| failed(e.to_string()))?;
    run.trained = Some(Made::here((browser::now_ms() - started) / 1000.0));
    let mut observer = WorkerObserver {
        last_post: f64::NEG_INFINITY,
    };
    let report = SeedReport::analyse(&trained.model, run, &trained.snapshots, &mut observer)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let weights = to_safetensors(&trained.model)
        .await
        .map_err(|e| failed(e.to_string()))?;
    post(&Answer::Finished(Box::new(report)), Some(&weights));
    Ok(())
}

/// `config` as it trains on the CPU on `workers` workers, and how many it uses: its batch cut
/// into its micro-batches, or, where it leaves that at 1, one per worker; never more workers
/// than micro-batches.
fn on_cpu(config: &ExperimentConfig, workers: usize) -> (ExperimentConfig, usize) {
    let mut config = config.clone();
    if config.train.micro_batches == 1 {
        config.train.micro_batches = workers.clamp(1, config.train.batch_size);
    }
    let workers = workers.clamp(1, config.train.micro_batches);
    (config, workers)
}

/// Opens the backend `choice` asks for, telling the page which and why: by default, on a
/// hardware adapter, the faster of WebGPU and the CPU's `workers` as measured (once: a
/// measurement `remembered` for this adapter and shape is taken), and the CPU where WebGPU is
/// missing, fails or offers only a software adapter. A forced choice is followed, and a
/// failing WebGPU still falls back.
async fn open_backend(
    choice: BackendChoice,
    config: &ExperimentConfig,
    workers: usize,
    module: &str,
    remembered: &[Measurement],
) -> (Backend, burn::prelude::Device) {
    let reason = if choice == BackendChoice::Cpu {
        "chosen in the settings".to_string()
    } else {
        match browser::webgpu_adapter().await {
            Ok(adapter) if adapter.software && choice == BackendChoice::Auto => format!(
                "WebGPU offers only a software adapter ({}), which is slower than the CPU; choose WebGPU to use it anyway",
                adapter.name
            ),
            Ok(adapter) => match Backend::Wgpu.device().await {
                Ok(device) if choice == BackendChoice::WebGpu => {
                    post(&Answer::Backend(format!("WebGPU: {}", adapter.name)), None);
                    return (Backend::Wgpu, device);
                }
                Ok(device) => {
                    let measured =
                        measured(choice, config, workers, module, &adapter.name, remembered);
                    match measured.await {
                        Ok((measurement, why)) if measurement.backend == Backend::Wgpu => {
                            let line = format!("WebGPU: {}, {why}", adapter.name);
                            post(&Answer::Backend(line), None);
                            return (Backend::Wgpu, device);
                        }
                        Ok((_, why)) => why,
                        Err(e) => format!("measuring which backend is faster failed ({e})"),
                    }
                }
                Err(e) => e.to_string(),
            },
            Err(e) => e,
        }
    };
    post(&Answer::Backend(format!("CPU: {reason}")), None);
    (Backend::Cpu, Backend::Cpu.device().await.expect("the CPU"))
}

/// Which of WebGPU on `adapter` and the CPU's `workers` trains `config` faster, and why in
/// words: measured now (and posted to the page to remember), or, unless `choice` asks to
/// measure again, as measured before.
async fn measured(
    choice: BackendChoice,
    config: &ExperimentConfig,
    workers: usize,
    module: &str,
    adapter: &str,
    remembered: &[Measurement],
) -> Result<(Measurement, String), String> {
    let (on_cpu, workers) = on_cpu(config, workers);
    let key = measure::key(adapter, &on_cpu, workers);
    let before = remembered.iter().find(|m| m.key == key);
    if let Some(measurement) = before.filter(|_| choice == BackendChoice::Auto) {
        let why = format!(
            "{} (measured earlier in this browser; the backend menu's \"the faster, measured now\" measures again)",
            measurement.reason(adapter)
        );
        return Ok((measurement.clone(), why));
    }
    let line = format!("measuring: a few training steps on WebGPU ({adapter}) and on the CPU…");
    post(&Answer::Backend(line), None);
    let mut helpers = HelperWorkers::start(workers - 1, module, &on_cpu.model).await?;
    let cpu_ms = measure::step_ms(&on_cpu, Backend::Cpu, &mut helpers).await?;
    drop(helpers);
    let webgpu_ms = measure::step_ms(config, Backend::Wgpu, &mut Alone).await?;
    let measurement = Measurement::new(key, cpu_ms, webgpu_ms, workers);
    post(&Answer::Measured(measurement.clone()), None);
    let why = measurement.reason(adapter);
    Ok((measurement, why))
}

/// Posts analysis progress, spaced out like training's.
struct WorkerObserver {
    last_post: f64,
}

impl Observer for WorkerObserver {
    async fn progress(&mut self, stage: &str, done: usize, total: usize) {
        let now = browser::now_ms();
        if now - self.last_post >= UPDATE_EVERY_MS || done == total {
            self.last_post = now;
            let update = Answer::Analysing {
                stage: stage.to_string(),
                done,
                total,
            };
            post(&update, None);
        }
    }
}
