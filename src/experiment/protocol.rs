//! Protocols: every choice of one way of running the paper, as data (METHOD §11).
//!
//! A protocol is a list of config fields and their values, set through the field table
//! ([`ExperimentConfig::apply_protocol`](crate::experiment::config::ExperimentConfig::apply_protocol)),
//! so each of its choices stays a field of its own that can be switched alone. `default` is METHOD's; `published` is the predecessor paper's
//! public pipeline (repository `donald-ye/ICLR_2026_LIT-workshop_CG`), choice by choice as
//! `docs/published-pipeline.md` describes. What the pipeline does and our defaults already do
//! (Adam at 1e-3, batches of 64, lengths 3..7, the 90% target and 15,000 steps, OOD lengths
//! 8..11, the window [20%, 75%], G and the means on 50 batches of 64) is not listed.

use serde::{Deserialize, Serialize};

use crate::engine::named::named_enum;

named_enum! {
    /// A named set of choices.
    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Protocol("protocol") {
        /// METHOD's defaults.
        Default = "default",
        /// The published pipeline's choices (METHOD §11).
        Published = "published",
    }
}

/// Each choice the protocols differ in: the field's key, its value under `default` and under
/// `published`.
pub const CHOICES: &[(&str, &str, &str)] = &[
    ("positions", "shifted", "none"),
    ("init", "gpt2", "pytorch"),
    ("batch-layout", "pad-end", "pad-between"),
    ("eval-every", "250", "500"),
    ("eval-examples", "1024", "100"),
    ("window-sample", "0", "100"),
    ("class-rule", "inclusive", "strict"),
    ("causal-sample", "0", "100"),
];

impl Protocol {
    /// This protocol's value of each choice, by field key.
    pub fn values(self) -> impl Iterator<Item = (&'static str, &'static str)> {
        CHOICES
            .iter()
            .map(move |&(key, default, published)| match self {
                Protocol::Default => (key, default),
                Protocol::Published => (key, published),
            })
    }
}
