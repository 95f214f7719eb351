//! Runs seeds in Web Workers (`worker.rs`), so that the page's main thread only draws: up to
//! `lab.parallel` seeds at once, each with its own line; Cancel stops them all; a worker that
//! dies is reported by seed and the others go on. Finished runs are kept.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Function, Promise};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsValue;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ErrorEvent, MessageEvent};

use crate::analysis::ablation::Ablation;
use crate::engine::component::Component;
use crate::experiment::config::ExperimentConfig;
use crate::experiment::memory;

use super::browser::{self, WorkerHandle};
use super::jobs::{self, Answer, Job};
use super::measure;
use super::state::{Lab, LivePoint, SeedLine, Status};

/// The paper's default seeds (METHOD §9).
pub const DEFAULT_SEEDS: [u64; 10] = [42, 123, 456, 789, 1010, 2020, 3030, 4040, 5050, 6060];

thread_local! {
    /// The seeds under way, if any.
    static ACTIVE: RefCell<Option<Rc<RefCell<Pool>>>> = const { RefCell::new(None) };
}

/// Trains, evaluates and analyses each config, up to `lab.parallel` at once.
pub fn run_all(lab: Lab, configs: Vec<ExperimentConfig>) {
    // A config too large for a worker is refused before anything under way is stopped.
    if let Err(e) = configs.iter().try_for_each(memory::fits_the_page) {
        lab.status.set(Status::Failed(format!("Not started: {e}.")));
        return;
    }
    stop_active();
    lab.notice.set(None);
    lab.status.set(Status::Starting);
    lab.live.set(Vec::new());
    lab.lines.set(
        configs
            .iter()
            .map(|c| SeedLine::waiting(&format!("{} seed {}", c.task, c.seed)))
            .collect(),
    );
    let module = match browser::module_url() {
        Ok(module) => module,
        Err(e) => {
            lab.status
                .set(Status::Failed(format!("Could not start a worker: {e}")));
            return;
        }
    };
    let workers = lab.parallel.get_untracked().clamp(1, configs.len().max(1));
    // Each seed's helpers come on top of the seeds' own workers: by default the browser's
    // threads less one, shared among the seeds at once.
    let seed_workers = lab
        .seed_workers
        .get_untracked()
        .unwrap_or_else(|| (browser::hardware_threads().saturating_sub(1) / workers).max(1));
    let pool = Rc::new(RefCell::new(Pool {
        lab,
        module,
        seed_workers,
        live: vec![Vec::new(); configs.len()],
        jobs: configs,
        next: 0,
        running: Vec::new(),
        ended: 0,
        failures: 0,
        lead: None,
    }));
    ACTIVE.with(|active| *active.borrow_mut() = Some(pool.clone()));
    for _ in 0..workers {
        if let Err(e) = Pool::spawn(&pool) {
            lab.status
                .set(Status::Failed(format!("Could not start a worker: {e}")));
            stop_active();
            return;
        }
    }
}

/// Stops every seed under way; finished runs are kept.
pub fn cancel(lab: Lab) {
    stop_active();
    lab.lines.update(|lines| {
        for line in lines.iter_mut().filter(|l| !l.ended) {
            line.text = "cancelled".into();
            line.ended = true;
        }
    });
    lab.status.set(Status::Cancelled);
}

fn stop_active() {
    // Dropping the pool terminates its workers.
    let pool = ACTIVE.with(|active| active.borrow_mut().take());
    drop(pool);
}

/// The seeds of one `run_all`.
struct Pool {
    lab: Lab,
    /// The page's JavaScript module, which every worker loads.
    module: String,
    /// Workers each seed trains on (on the CPU).
    seed_workers: usize,
    jobs: Vec<ExperimentConfig>,
    /// Each job's training chart so far.
    live: Vec<Vec<LivePoint>>,
    /// The next job to hand out.
    next: usize,
    /// The live workers, each with the job it runs.
    running: Vec<Running>,
    /// Jobs finished or failed.
    ended: usize,
    /// Jobs failed.
    failures: usize,
    /// The job whose progress the status line and the chart show: the first one running.
    lead: Option<usize>,
}

/// A worker and its job.
struct Running {
    id: usize,
    worker: WorkerHandle,
    job: Option<usize>,
}

impl Pool {
    /// Starts a worker that takes jobs as long as there are any.
    fn spawn(pool: &Rc<RefCell<Pool>>) -> Result<(), String> {
        thread_local!(static NEXT_ID: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });
        let id = NEXT_ID.with(|n| n.replace(n.get() + 1));
        let weak = Rc::downgrade(pool);
        let on_message = Closure::new({
            let weak = weak.clone();
            move |event: MessageEvent| with_pool(&weak, |p| p.message(id, &event.data()))
        });
        let on_error = Closure::new(move |event: ErrorEvent| {
            event.prevent_default();
            let why = format!("its worker stopped ({})", event.message());
            with_pool(&weak, |p| p.worker_died(id, why))
        });
        let module = pool.borrow().module.clone();
        let worker = browser::spawn_worker(&module, on_message, on_error)?;
        pool.borrow_mut().running.push(Running {
            id,
            worker,
            job: None,
        });
        Ok(())
    }

    /// Handles a message from worker `id`.
    fn message(&mut self, id: usize, data: &JsValue) -> Vec<Deferred> {
        let Some(slot) = self.running.iter().position(|r| r.id == id) else {
            return Vec::new();
        };
        let update = match jobs::decode::<Answer>(data) {
            Ok((Answer::Finished(report), weights)) => {
                browser::mark("gradcause:run-finished");
                self.lab.add_runs(vec![*report]);
                let index = self.lab.runs.with_untracked(Vec::len) - 1;
                if let Some(weights) = weights {
                    self.lab.models.update_value(|m| m.push((index, weights)));
                }
                self.end_job(slot, "finished".into(), false);
                return self.next_job(slot);
            }
            Ok((update, _)) => update,
            Err(e) => Answer::Failed(format!("the page received {e}")),
        };
        let Some(job) = self.running[slot].job else {
            // A fresh worker says it is ready.
            return self.next_job(slot);
        };
        match update {
            Answer::Failed(why) => {
                self.end_job(slot, why, true);
                return self.next_job(slot);
            }
            Answer::Backend(text) => self.lab.backend.set(text),
            Answer::Measured(measurement) => {
                if let Err(e) = measure::remember(measurement) {
                    self.lab.notice.set(Some(e));
                }
            }
            Answer::Training {
                progress,
                workers,
                ms_per_step,
                points,
            } => {
                self.live[job].extend(points);
                self.show(
                    job,
                    Status::Training {
                        progress,
                        ms_per_step,
                        workers,
                    },
                );
            }
            Answer::Evaluating => self.show(job, Status::Evaluating),
            Answer::Analysing { stage, done, total } => {
                self.show(job, Status::Analysing { stage, done, total })
            }
            Answer::Ready | Answer::Finished(_) | Answer::Ablated { .. } | Answer::Passed(_) => {}
        }
        Vec::new()
    }

    /// Worker `id` ended with an error: its job fails, a new worker takes over the queue.
    fn worker_died(&mut self, id: usize, why: String) -> Vec<Deferred> {
        let Some(slot) = self.running.iter().position(|r| r.id == id) else {
            return Vec::new();
        };
        if let Some(job) = self.running[slot].job {
            // WebAssembly traps this way when an allocation fails, and on internal errors.
            let why = if why.contains("unreachable") {
                format!(
                    "{why}: most likely it ran out of memory (this run needs about {} by \
                     estimate), else an internal error (the browser's console says which)",
                    memory::size(memory::peak_bytes(&self.jobs[job]))
                )
            } else {
                why
            };
            self.end_job(slot, why, true);
        }
        let mut deferred = vec![Deferred::Drop(self.running.remove(slot))];
        if self.next < self.jobs.len() {
            deferred.push(Deferred::Spawn);
        }
        deferred.extend(self.finish_if_done());
        deferred
    }

    /// Gives worker `slot` the next job, or lets it go when there is none.
    fn next_job(&mut self, slot: usize) -> Vec<Deferred> {
        if self.next < self.jobs.len() {
            let job = self.next;
            self.next += 1;
            self.running[slot].job = Some(job);
            let message = jobs::encode(
                &Job::Run {
                    config: self.jobs[job].clone(),
                    backend: self.lab.backend_choice.get_untracked(),
                    workers: self.seed_workers,
                    module: self.module.clone(),
                    remembered: measure::remembered(),
                },
                None,
            );
            self.set_line(job, "starting".into(), false);
            if let Err(e) = self.running[slot].worker.post(&message) {
                self.end_job(slot, format!("could not reach its worker ({e})"), true);
            }
            return Vec::new();
        }
        let mut deferred = vec![Deferred::Drop(self.running.remove(slot))];
        deferred.extend(self.finish_if_done());
        deferred
    }

    /// Ends worker `slot`'s job with `text` on its line.
    fn end_job(&mut self, slot: usize, text: String, failed: bool) {
        let Some(job) = self.running[slot].job.take() else {
            return;
        };
        self.ended += 1;
        self.failures += usize::from(failed);
        self.set_line(job, text.clone(), true);
        if failed && self.jobs.len() == 1 {
            self.lab.status.set(Status::Failed(text));
        }
        if self.lead == Some(job) {
            self.lead = None;
        }
    }

    /// When every job has ended: the final status, and the pool let go.
    fn finish_if_done(&mut self) -> Vec<Deferred> {
        if self.ended < self.jobs.len() {
            return Vec::new();
        }
        let status = match (self.failures, self.jobs.len()) {
            (0, _) => Status::Idle,
            (_, 1) => return vec![Deferred::Release],
            (failed, all) => Status::Failed(format!(
                "{failed} of {all} seeds failed (each seed's line says why); finished runs are kept."
            )),
        };
        self.lab.status.set(status);
        vec![Deferred::Release]
    }

    /// Shows job `job`'s progress on its line, and on the status line and chart when it leads.
    fn show(&mut self, job: usize, status: Status) {
        self.set_line(job, super::status::describe(&status), false);
        let lead = self.running.iter().filter_map(|r| r.job).min();
        if lead != Some(job) {
            return;
        }
        if self.lead != lead {
            self.lead = lead;
            self.lab.live.set(self.live[job].clone());
        } else {
            let points = &self.live[job];
            let shown = self.lab.live.with_untracked(Vec::len);
            if shown < points.len() {
                self.lab
                    .live
                    .update(|live| live.extend_from_slice(&points[shown..]));
            }
        }
        self.lab.status.set(status);
    }

    fn set_line(&self, job: usize, text: String, ended: bool) {
        self.lab.lines.update(|lines| {
            if let Some(line) = lines.get_mut(job) {
                line.text = text;
                line.ended = ended;
            }
        });
    }
}

/// What a handler leaves for after it returns: a worker's handlers cannot be dropped while
/// one of them runs.
enum Deferred {
    /// Terminate this worker.
    Drop(Running),
    /// Start a worker for the jobs still queued.
    Spawn,
    /// Every job has ended.
    Release,
}

/// Runs `f` on the pool if it is still the active one, then what it deferred.
fn with_pool(weak: &Weak<RefCell<Pool>>, f: impl FnOnce(&mut Pool) -> Vec<Deferred>) {
    let Some(pool) = weak.upgrade() else {
        return;
    };
    let deferred = f(&mut pool.borrow_mut());
    if deferred.is_empty() {
        return;
    }
    spawn_local(async move {
        for action in deferred {
            match action {
                Deferred::Drop(running) => drop(running),
                Deferred::Spawn => {
                    if let Err(e) = Pool::spawn(&pool) {
                        let lab = pool.borrow().lab;
                        lab.status
                            .set(Status::Failed(format!("Could not start a worker: {e}")));
                    }
                }
                Deferred::Release => ACTIVE.with(|active| {
                    let mut active = active.borrow_mut();
                    if active.as_ref().is_some_and(|a| Rc::ptr_eq(a, &pool)) {
                        *active = None;
                    }
                }),
            }
        }
    });
}

/// Accuracy at `length` with `components` ablated, clean and ablated, measured in a worker
/// on the model whose `weights` are given.
pub async fn ablate(
    config: ExperimentConfig,
    length: usize,
    components: Vec<Component>,
    ablation: Ablation,
    weights: Vec<u8>,
) -> Result<(f64, f64), String> {
    let job = jobs::encode(
        &Job::Ablate {
            config,
            length,
            components,
            ablation,
        },
        Some(&weights),
    );
    let worker: Rc<RefCell<Option<WorkerHandle>>> = Rc::default();
    let mut answer = None::<(Function, Function)>;
    let promise = Promise::new(&mut |resolve, reject| answer = Some((resolve, reject)));
    let (resolve, reject) = answer.expect("the promise runs its executor at once");
    let on_message = Closure::new({
        let worker = worker.clone();
        let reject = reject.clone();
        move |event: MessageEvent| {
            let data = event.data();
            let posted = match jobs::decode::<Answer>(&data) {
                Ok((Answer::Ready, _)) => worker
                    .borrow()
                    .as_ref()
                    .map(|w| w.post(&job))
                    .unwrap_or(Ok(())),
                _ => resolve
                    .call1(&JsValue::NULL, &data)
                    .map(drop)
                    .map_err(|_| String::new()),
            };
            if let Err(e) = posted {
                let _ = reject.call1(&JsValue::NULL, &e.into());
            }
        }
    });
    let on_error = Closure::new(move |event: ErrorEvent| {
        event.prevent_default();
        let why = format!("the worker stopped ({})", event.message());
        let _ = reject.call1(&JsValue::NULL, &why.into());
    });
    let module = browser::module_url()?;
    *worker.borrow_mut() = Some(browser::spawn_worker(&module, on_message, on_error)?);
    let outcome = JsFuture::from(promise).await;
    worker.borrow_mut().take();
    let data = outcome.map_err(|e| e.as_string().unwrap_or_else(|| format!("{e:?}")))?;
    match jobs::decode::<Answer>(&data)? {
        (Answer::Ablated { base, accuracy }, _) => Ok((base, accuracy)),
        (Answer::Failed(why), _) => Err(why),
        (other, _) => Err(format!("the worker answered {other:?}")),
    }
}
