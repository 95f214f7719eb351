//! The engine: the tasks, the model with its named components and interventions, its training and
//! evaluation, on the CPU or a GPU.
//!
//! The bottom layer. It imports no other layer of the crate; everything above builds on it.
//! Within it, [`task`] and [`rng`] make the data, [`model`] (with [`component`]'s names and
//! interventions, and [`objective`]'s loss) is the transformer, [`train`] (with [`passes`], [`optimiser`], and [`flat`] to lay parameters end to end) and [`eval`] drive it,
//! [`weights`] saves it, `named` declares the enums the command line and reports name, and [`backend`], [`kernels`], [`simd`] and [`lanes`] are where and how
//! its arithmetic runs.

pub mod backend;
pub mod component;
pub mod eval;
pub mod flat;
pub mod kernels;
pub mod lanes;
pub mod model;
pub(crate) mod named;
pub mod objective;
pub mod optimiser;
pub mod passes;
pub mod progress;
pub mod rng;
pub mod simd;
pub mod task;
pub mod train;
pub mod weights;
