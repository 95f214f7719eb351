//! One run's whole configuration and its validation.
//!
//! Every field METHOD.md calls a default lives here, so the command line and the page can set
//! each of them; [`ExperimentConfig::validate`] refuses values out of range with a message that
//! names the field and the allowed range.

use std::fmt;

use burn::prelude::*;

use crate::analysis::AnalysisConfig;
use crate::eval::EvalConfig;
use crate::model::ModelConfig;
use crate::task::Task;
use crate::train::TrainConfig;

/// Everything that determines a run: the task, the seed, the model, training and evaluation.
#[derive(Config, Debug, PartialEq)]
pub struct ExperimentConfig {
    /// The task the model learns.
    pub task: Task,
    /// The seed every random stream is derived from.
    pub seed: u64,
    /// Shape of the model.
    #[config(default = "ModelConfig::new()")]
    pub model: ModelConfig,
    /// Optimiser, batches and stop rule.
    #[config(default = "TrainConfig::new()")]
    pub train: TrainConfig,
    /// Out-of-distribution evaluation and the analysis length window.
    #[config(default = "EvalConfig::new()")]
    pub eval: EvalConfig,
    /// Thresholds, pruning and attention patterns of the analysis.
    #[config(default = "AnalysisConfig::new()")]
    pub analysis: AnalysisConfig,
}

/// A config value out of its allowed range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The field, as `section.name` (e.g. `train.lr`).
    pub field: &'static str,
    /// What is allowed, and what was given.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid config field `{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Refuses with `message` unless `ok`.
fn require(
    ok: bool,
    field: &'static str,
    message: impl FnOnce() -> String,
) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError {
            field,
            message: message(),
        })
    }
}

/// Upper bound on model sizes the tool accepts, so a typo cannot ask for terabytes.
const MAX_WIDTH: usize = 4096;
/// Upper bound on the number of blocks and heads.
const MAX_COUNT: usize = 64;

impl ExperimentConfig {
    /// Checks every field; the first value out of range is reported.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let (m, t, e) = (&self.model, &self.train, &self.eval);

        require((1..=MAX_COUNT).contains(&m.layers), "model.layers", || {
            format!("must be in 1..={MAX_COUNT}, got {}", m.layers)
        })?;
        require((1..=MAX_COUNT).contains(&m.heads), "model.heads", || {
            format!("must be in 1..={MAX_COUNT}, got {}", m.heads)
        })?;
        require(
            (1..=MAX_WIDTH).contains(&m.d_model),
            "model.d_model",
            || format!("must be in 1..={MAX_WIDTH}, got {}", m.d_model),
        )?;
        require(m.d_model % m.heads == 0, "model.heads", || {
            format!(
                "must divide model.d_model = {} (got {} heads)",
                m.d_model, m.heads
            )
        })?;
        require((1..=MAX_WIDTH).contains(&m.d_ff), "model.d_ff", || {
            format!("must be in 1..={MAX_WIDTH}, got {}", m.d_ff)
        })?;

        require(t.lr.is_finite() && t.lr > 0.0, "train.lr", || {
            format!("must be a number > 0, got {}", t.lr)
        })?;
        require(t.batch_size >= 1, "train.batch_size", || {
            format!("must be >= 1, got {}", t.batch_size)
        })?;
        require(t.min_length >= 1, "train.min_length", || {
            format!("must be >= 1, got {}", t.min_length)
        })?;
        require(t.max_length >= t.min_length, "train.max_length", || {
            format!(
                "must be >= train.min_length = {}, got {}",
                t.min_length, t.max_length
            )
        })?;
        require(t.eval_every >= 1, "train.eval_every", || {
            format!("must be >= 1, got {}", t.eval_every)
        })?;
        require(t.eval_examples >= 1, "train.eval_examples", || {
            format!("must be >= 1, got {}", t.eval_examples)
        })?;
        require(
            t.target_accuracy > 0.0 && t.target_accuracy <= 1.0,
            "train.target_accuracy",
            || format!("must be in (0, 1], got {}", t.target_accuracy),
        )?;
        require(t.max_steps >= 1, "train.max_steps", || {
            format!("must be >= 1, got {}", t.max_steps)
        })?;

        require(!e.ood_lengths.is_empty(), "eval.ood_lengths", || {
            "must name at least one length".into()
        })?;
        for &n in &e.ood_lengths {
            require(n >= 1, "eval.ood_lengths", || {
                format!("lengths must be >= 1, got {n}")
            })?;
            require(
                !(t.min_length..=t.max_length).contains(&n),
                "eval.ood_lengths",
                || {
                    format!(
                        "must lie outside the training lengths {}..={}, got {n}",
                        t.min_length, t.max_length
                    )
                },
            )?;
        }
        require(e.ood_batches >= 1, "eval.ood_batches", || {
            format!("must be >= 1, got {}", e.ood_batches)
        })?;
        require(e.ood_batch_size >= 1, "eval.ood_batch_size", || {
            format!("must be >= 1, got {}", e.ood_batch_size)
        })?;
        let fraction = |x: f64| (0.0..=1.0).contains(&x);
        require(fraction(e.window_low), "eval.window_low", || {
            format!("must be in [0, 1], got {}", e.window_low)
        })?;
        require(fraction(e.window_high), "eval.window_high", || {
            format!("must be in [0, 1], got {}", e.window_high)
        })?;
        require(e.window_low <= e.window_high, "eval.window_low", || {
            format!(
                "must be <= eval.window_high = {}, got {}",
                e.window_high, e.window_low
            )
        })?;

        let a = &self.analysis;
        require(!a.thresholds.is_empty(), "analysis.thresholds", || {
            "must name at least one threshold".into()
        })?;
        let components = m.layers * (m.heads + 1);
        for &t in &a.thresholds {
            require((1..components).contains(&t), "analysis.thresholds", || {
                format!("must be in 1..{components} (the number of components), got {t}")
            })?;
        }
        require(
            a.thresholds.contains(&a.threshold),
            "analysis.threshold",
            || {
                format!(
                    "must be one of analysis.thresholds {:?}, got {}",
                    a.thresholds, a.threshold
                )
            },
        )?;
        require(
            a.attention_examples >= 1,
            "analysis.attention_examples",
            || format!("must be >= 1, got {}", a.attention_examples),
        )?;
        require(
            (1..=MAX_COUNT).contains(&a.ig_steps),
            "analysis.ig_steps",
            || format!("must be in 1..={MAX_COUNT}, got {}", a.ig_steps),
        )?;
        require(a.ig_batches >= 1, "analysis.ig_batches", || {
            format!("must be >= 1, got {}", a.ig_batches)
        })?;
        require(a.prune_batches >= 1, "analysis.prune_batches", || {
            format!("must be >= 1, got {}", a.prune_batches)
        })?;
        for &k in &a.prune_counts {
            require(
                (1..components).contains(&k),
                "analysis.prune_counts",
                || format!("must be in 1..{components} (the number of components), got {k}"),
            )?;
        }

        // The longest input, 2n + 2 tokens, must fit the learned positions.
        let longest = e
            .ood_lengths
            .iter()
            .copied()
            .chain([t.max_length])
            .max()
            .unwrap_or(0);
        require(2 * longest + 2 <= m.context, "model.context", || {
            format!(
                "must be >= {} to hold the longest input (2 x {longest} + 2 tokens), got {}",
                2 * longest + 2,
                m.context
            )
        })?;
        require(m.context <= MAX_WIDTH, "model.context", || {
            format!("must be <= {MAX_WIDTH}, got {}", m.context)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> ExperimentConfig {
        ExperimentConfig::new(Task::Reverse, 42)
    }

    fn refused(edit: impl FnOnce(&mut ExperimentConfig)) -> ConfigError {
        let mut config = defaults();
        edit(&mut config);
        config.validate().expect_err("should be refused")
    }

    #[test]
    fn the_paper_defaults_are_valid() {
        let config = defaults();
        config.validate().unwrap();
        assert_eq!(config.train.lr, 1e-3);
        assert_eq!(config.train.max_steps, 15_000);
        assert_eq!(config.eval.ood_lengths, vec![8, 9, 10, 11]);
        assert_eq!(config.model.d_head(), 32);
    }

    #[test]
    fn out_of_range_values_name_their_field() {
        assert_eq!(
            refused(|c| c.train.min_length = 0).field,
            "train.min_length"
        );
        assert_eq!(
            refused(|c| c.train.max_length = 2).field,
            "train.max_length"
        );
        assert_eq!(refused(|c| c.train.lr = 0.0).field, "train.lr");
        assert_eq!(refused(|c| c.train.lr = f64::NAN).field, "train.lr");
        assert_eq!(refused(|c| c.model.heads = 3).field, "model.heads");
        assert_eq!(refused(|c| c.model.heads = 0).field, "model.heads");
        assert_eq!(
            refused(|c| c.eval.ood_lengths = vec![7, 8]).field,
            "eval.ood_lengths"
        );
        assert_eq!(
            refused(|c| c.eval.ood_lengths = vec![]).field,
            "eval.ood_lengths"
        );
        assert_eq!(
            refused(|c| c.eval.window_low = 0.9).field,
            "eval.window_low"
        );
        assert_eq!(
            refused(|c| c.eval.window_high = 1.5).field,
            "eval.window_high"
        );
        assert_eq!(
            refused(|c| c.train.target_accuracy = 0.0).field,
            "train.target_accuracy"
        );
        assert_eq!(
            refused(|c| c.eval.ood_lengths = vec![20]).field,
            "model.context"
        );
        let overlap = refused(|c| c.eval.ood_lengths = vec![5]);
        assert!(
            overlap
                .to_string()
                .contains("outside the training lengths 3..=7"),
            "{overlap}"
        );
    }

    #[test]
    fn configs_round_trip_through_json() {
        let config = defaults();
        let json = serde_json::to_string(&config).unwrap();
        assert!(json.contains("\"task\":\"reverse\""), "{json}");
        let back: ExperimentConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, config);
    }
}
