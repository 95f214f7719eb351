//! gradcause: does gradient attribution tell the truth about a transformer?
//!
//! The engine behind the command-line tool and the browser page: the tasks ([`task`]), the model
//! with its named components and interventions ([`model`], [`component`]), training ([`train`])
//! and evaluation ([`eval`]), on the CPU or a GPU ([`backend`]); the analysis ([`analysis`]) and,
//! in the browser, the page (`app`). `METHOD.md` (shared with the
//! paper's reproduction notes) fixes every number these modules compute.

pub mod ablation;
pub mod analysis;
#[cfg(target_arch = "wasm32")]
pub mod app;
pub mod attribution;
pub mod backend;
pub mod compare;
pub mod component;
pub mod config;
pub mod eval;
pub mod kernels;
pub mod lanes;
pub mod leaderboard;
pub mod model;
pub mod objective;
pub mod permalink;
pub mod plot;
pub mod progress;
pub mod provenance;
pub mod report;
pub mod reproduction;
pub mod rng;
pub mod scores;
pub mod simd;
pub mod stats;
pub mod study;
pub mod summary;
pub mod task;
pub mod train;
pub mod weights;
