//! One run as the user sets it up and keeps it: its whole config, the report it writes, where and
//! by which build it was made, and the link that reproduces it.
//!
//! It imports the [`engine`](crate::engine) and the [`analysis`](crate::analysis).
//! [`config`] composes the configs that each lower module owns and validates the whole (its range
//! checks in [`checks`]), and [`memory`] estimates what a run needs; [`protocol`] names sets of choices (METHOD's, the published pipeline's);
//! [`report`] trains, analyses and writes a seed's JSON report; [`provenance`] records where it
//! ran; [`permalink`] writes a config as a URL query and reads it back.

pub mod checks;
pub mod config;
pub mod memory;
pub mod permalink;
pub mod protocol;
pub mod provenance;
pub mod report;
