//! gradcause: does gradient attribution tell the truth about a transformer?
//!
//! The library behind the command-line tool and the browser page, in four layers, each importing
//! only the layers below it:
//!
//! 1. [`engine`]: the tasks, the model with its named components and interventions, training
//!    and evaluation, on the CPU or a GPU;
//! 2. [`analysis`]: one trained model's gradients against its ablations;
//! 3. [`experiment`]: one run's config, report and provenance;
//! 4. [`report`]: across seeds, and beside the paper.
//!
//! Above them, the page (`app`, in the browser) and the command-line tool (`src/cli`, in the
//! binary). `METHOD.md` (shared with the paper's reproduction notes) fixes every number these
//! modules compute.

pub mod analysis;
#[cfg(target_arch = "wasm32")]
pub mod app;
pub mod engine;
pub mod experiment;
pub mod report;
