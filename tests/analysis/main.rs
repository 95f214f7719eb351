//! The analysis (METHOD §5–10) on tiny models, natively on the CPU backend: one test binary, a
//! file per concern.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../common/mod.rs"]
mod common;

mod ablation;
mod attribution;
mod helpers;
mod published;
mod report;
mod summary;
