//! A seed's helper workers, as the worker training it sees them: each a worker of its own
//! running this page's module, holding a copy of the model, sent its share of a step's
//! micro-batches and answering with their gradients, and handed the other workers' gradients or
//! their sum, with which it steps its copy (see [`crate::engine::passes`]). Started by the training worker, they stop
//! with it: when the seed ends, or when the page stops that worker.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ErrorEvent, MessageEvent};

use crate::engine::model::ModelConfig;
use crate::engine::passes::{HelperPass, Helpers, Share};

use super::browser::{self, WorkerHandle};
use super::jobs::{self, Answer, Job};

/// A seed's helper workers.
pub struct HelperWorkers {
    model: ModelConfig,
    helpers: Vec<HelperWorker>,
}

/// One helper worker and the messages it has sent that are not read yet.
struct HelperWorker {
    worker: WorkerHandle,
    inbox: Rc<RefCell<Inbox>>,
}

/// Messages from a helper, or why it stopped, in the order they came; and the reader waiting
/// for the next one, if any.
#[derive(Default)]
struct Inbox {
    arrived: VecDeque<Result<JsValue, String>>,
    waiting: Option<Function>,
}

impl Inbox {
    /// Keeps `message` and wakes the reader waiting for it.
    fn deliver(&mut self, message: Result<JsValue, String>) {
        self.arrived.push_back(message);
        if let Some(wake) = self.waiting.take() {
            let _ = wake.call0(&JsValue::NULL);
        }
    }
}

impl HelperWorkers {
    /// `count` helpers for models of shape `model`, started from the page's JavaScript
    /// `module`, once each says it is ready.
    pub async fn start(count: usize, module: &str, model: &ModelConfig) -> Result<Self, String> {
        let mut helpers = Vec::with_capacity(count);
        for number in 1..=count {
            let inbox = Rc::new(RefCell::new(Inbox::default()));
            let on_message = Closure::new({
                let inbox = inbox.clone();
                move |event: MessageEvent| inbox.borrow_mut().deliver(Ok(event.data()))
            });
            let on_error = Closure::new({
                let inbox = inbox.clone();
                move |event: ErrorEvent| {
                    event.prevent_default();
                    inbox
                        .borrow_mut()
                        .deliver(Err(stopped(number, &event.message())));
                }
            });
            let worker = browser::spawn_worker(module, on_message, on_error)
                .map_err(|e| format!("could not start helper worker {number}: {e}"))?;
            helpers.push(HelperWorker { worker, inbox });
        }
        for (number, helper) in (1..).zip(&helpers) {
            match jobs::decode::<Answer>(&helper.next().await?)? {
                (Answer::Ready, _) => {}
                (other, _) => return Err(format!("helper worker {number} answered {other:?}")),
            }
        }
        Ok(Self {
            model: model.clone(),
            helpers,
        })
    }
}

/// Why helper `number` stopped, from the browser's error message.
fn stopped(number: usize, error: &str) -> String {
    let why = format!("helper worker {number} stopped ({error})");
    if error.contains("unreachable") {
        // WebAssembly traps this way when an allocation fails, and on internal errors.
        format!("{why}: most likely it ran out of memory, else an internal error")
    } else {
        why
    }
}

impl HelperWorker {
    /// The next message from the helper, once it comes, or why it stopped.
    async fn next(&self) -> Result<JsValue, String> {
        loop {
            if let Some(message) = self.inbox.borrow_mut().arrived.pop_front() {
                return message;
            }
            let wake = Promise::new(&mut |resolve, _| {
                self.inbox.borrow_mut().waiting = Some(resolve);
            });
            JsFuture::from(wake)
                .await
                .map_err(|_| "a helper's message was lost".to_string())?;
        }
    }
}

impl Helpers for HelperWorkers {
    fn count(&self) -> usize {
        self.helpers.len()
    }

    async fn replicate(&mut self, parameters: &[f32], lr: f64) -> Result<(), String> {
        let job = Job::Replicate {
            model: self.model.clone(),
            lr,
        };
        for helper in &self.helpers {
            helper
                .worker
                .post(&jobs::encode_floats(&job, &[parameters]))?;
        }
        for (number, helper) in (1..).zip(&self.helpers) {
            match jobs::decode::<Answer>(&helper.next().await?)? {
                (Answer::Ready, _) => {}
                (Answer::Failed(why), _) => return Err(format!("helper worker {number}: {why}")),
                (other, _) => return Err(format!("helper worker {number} answered {other:?}")),
            }
        }
        Ok(())
    }

    fn start(&mut self, helper: usize, share: Share) -> Result<(), String> {
        self.helpers[helper - 1]
            .worker
            .post(&jobs::encode(&Job::Pass(share), None))
    }

    async fn finish(&mut self, helper: usize) -> Result<Vec<HelperPass>, String> {
        let message = self.helpers[helper - 1].next().await?;
        match jobs::decode::<Answer>(&message)? {
            (Answer::Passed(stats), _) => {
                let gradients = jobs::runs(&message, stats.len()).ok_or("no gradients came")?;
                Ok((gradients.into_iter().zip(stats))
                    .map(|(gradients, stats)| HelperPass { gradients, stats })
                    .collect())
            }
            (Answer::Failed(why), _) => Err(format!("helper worker {helper}: {why}")),
            (other, _) => Err(format!("helper worker {helper} answered {other:?}")),
        }
    }

    fn hand(
        &mut self,
        helper: usize,
        step: usize,
        gradients: &[(usize, &[f32])],
    ) -> Result<(), String> {
        let numbers = gradients.iter().map(|(k, _)| *k).collect();
        let runs: Vec<&[f32]> = gradients.iter().map(|(_, run)| *run).collect();
        let job = Job::Gradients { step, numbers };
        self.helpers[helper - 1]
            .worker
            .post(&jobs::encode_floats(&job, &runs))
    }

    fn hand_sum(&mut self, helper: usize, step: usize, sum: &[f32]) -> Result<(), String> {
        let job = Job::Summed { step };
        self.helpers[helper - 1]
            .worker
            .post(&jobs::encode_floats(&job, &[sum]))
    }
}
