//! The analysis of one trained model: gradient magnitude against causal importance
//! (METHOD §5–8, §10).
//!
//! It imports only the [`engine`](crate::engine). [`ablation`] measures causal importance,
//! [`attribution`] gradients and first-order scores (both replaying clean passes with
//! [`replay`]), [`scores`] names the cheap scores,
//! [`stats`] holds ranks, correlations and intervals, [`classes`] the rank gaps and classes, and [`analyze`] puts them together into a
//! seed's [`Analysis`](analyze::Analysis); [`as_published`] measures C the published pipeline's
//! way, apart from the rest.

pub mod ablation;
pub mod analyze;
pub mod as_published;
pub mod attribution;
pub mod classes;
pub mod replay;
pub mod scores;
pub mod stats;
