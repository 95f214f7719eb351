//! One run's whole configuration, the one table of its settable fields, and its validation.
//!
//! Each section's config lives beside the module it configures ([`ModelConfig`],
//! [`TrainConfig`], [`EvalConfig`], [`AnalysisConfig`]); this module composes them. [`FIELDS`]
//! holds every METHOD.md default the user can change: the name its errors carry, the key that
//! is both its command-line flag and its link key, its help, how to read and write it as text,
//! and the check of its value. Validation ([`ExperimentConfig::validate`]), the permalink, the
//! page's "advanced" panel and the command line all read it, so a field added there is
//! settable, linkable and checked everywhere.

use std::fmt;

use burn::prelude::*;

use crate::analysis::ablation::Ablation;
use crate::analysis::analyze::AnalysisConfig;
use crate::analysis::attribution::GWeights;
use crate::engine::eval::EvalConfig;
use crate::engine::model::ModelConfig;
use crate::engine::task::Task;
use crate::engine::train::{TrainConfig, TrainSetup};
use crate::experiment::checks::{
    self, MAX_COUNT, MAX_WIDTH, at_least_one, component_counts, fraction, require, up_to,
};
use crate::experiment::protocol::Protocol;

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

impl From<&ExperimentConfig> for TrainSetup {
    fn from(config: &ExperimentConfig) -> Self {
        Self {
            task: config.task,
            seed: config.seed,
            model: config.model.clone(),
            train: config.train.clone(),
            snapshot_every: config.analysis.checkpoint_every,
        }
    }
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

impl ExperimentConfig {
    /// Sets every choice of `protocol` ([`Protocol::values`]) through its field.
    pub fn apply_protocol(&mut self, protocol: Protocol) {
        for (key, value) in protocol.values() {
            let field = field_by_key(key).expect("a protocol's choices are fields");
            (field.set)(self, value).expect("a protocol's values parse");
        }
    }

    /// The protocol whose every choice this config makes; `None` when it mixes them.
    pub fn protocol(&self) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|protocol| {
            (protocol.values()).all(|(key, value)| {
                (field_by_key(key)
                    .expect("a protocol's choices are fields")
                    .get)(self)
                    == value
            })
        })
    }

    /// Checks every field of [`FIELDS`] in its order; the first value out of range is reported.
    pub fn validate(&self) -> Result<(), ConfigError> {
        FIELDS.iter().try_for_each(|field| {
            (field.check)(self).map_err(|message| ConfigError {
                field: field.name,
                message,
            })
        })
    }
}

// ---------------------------------------------------------------- the field table

/// One config field the user can set.
pub struct Field {
    /// As errors name it: `section.name`, e.g. `train.lr`.
    pub name: &'static str,
    /// The command-line flag (`--max-steps`) and the link's query key (`max-steps`).
    pub key: &'static str,
    /// A valid value other than the paper's default, together with every other field's: what the
    /// tests set each field to, by link and by flag.
    pub example: &'static str,
    /// The METHOD section it belongs to: Protocol, Model, Training, Evaluation or Analysis.
    pub section: &'static str,
    /// What it is, in a few words (the page's form).
    pub label: &'static str,
    /// What it is and which values it takes (the command line's help).
    pub help: &'static str,
    /// Its value as text.
    pub get: fn(&ExperimentConfig) -> String,
    /// Sets it from text; `Err` says what was expected.
    pub set: fn(&mut ExperimentConfig, &str) -> Result<(), String>,
    /// Checks its value in the whole config (some ranges depend on other fields); `Err` says
    /// what is allowed and what was given.
    pub check: fn(&ExperimentConfig) -> Result<(), String>,
}

/// Parses `text` as a `T`, saying what was expected on failure.
pub fn parse<T: std::str::FromStr>(text: &str, expected: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("expected {expected}, got `{text}`"))
}

/// Parses a comma-separated list of whole numbers.
fn parse_list(text: &str) -> Result<Vec<usize>, String> {
    text.split(',')
        .map(|part| parse(part, "whole numbers separated by commas"))
        .collect()
}

/// Writes a list comma-separated.
fn join(values: &[usize]) -> String {
    values
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A field table entry for a field at `$($path).+` parsed with `FromStr` and written with
/// `Display`; `$expected` names what a bad value should have been.
macro_rules! parsed {
    ($name:literal, $key:literal, $example:literal, $section:literal, $label:literal,
     $help:literal, $expected:literal, $($path:ident).+, $check:expr) => {
        Field {
            name: $name,
            key: $key,
            example: $example,
            section: $section,
            label: $label,
            help: $help,
            get: |c| c.$($path).+.to_string(),
            set: |c, text| {
                c.$($path).+ = parse(text, $expected)?;
                Ok(())
            },
            check: $check,
        }
    };
}

/// A field table entry for a whole-number field at `$($path).+`.
macro_rules! whole {
    ($name:literal, $key:literal, $example:literal, $section:literal, $label:literal,
     $help:literal, $($path:ident).+, $check:expr) => {
        parsed!($name, $key, $example, $section, $label, $help, "a whole number", $($path).+, $check)
    };
}

/// A field table entry for a real-number field at `$($path).+`.
macro_rules! real {
    ($name:literal, $key:literal, $example:literal, $section:literal, $label:literal,
     $help:literal, $($path:ident).+, $check:expr) => {
        parsed!($name, $key, $example, $section, $label, $help, "a number", $($path).+, $check)
    };
}

/// A field table entry for a list-of-whole-numbers field at `$($path).+`.
macro_rules! list {
    ($name:literal, $key:literal, $example:literal, $section:literal, $label:literal,
     $help:literal, $($path:ident).+, $check:expr) => {
        Field {
            name: $name,
            key: $key,
            example: $example,
            section: $section,
            label: $label,
            help: $help,
            get: |c| join(&c.$($path).+),
            set: |c, text| {
                c.$($path).+ = parse_list(text)?;
                Ok(())
            },
            check: $check,
        }
    };
}

/// Every METHOD.md default the user can change, in the command line's order, which is also the
/// order validation checks them in and the order flags and link keys are applied in: the
/// protocol first, so that a field given beside it changes that one choice.
pub const FIELDS: &[Field] = &[
    Field {
        name: "protocol",
        key: "protocol",
        example: "published",
        section: "Protocol",
        label: "Protocol: default or published",
        help: "Every choice of a protocol at once (METHOD §11): default (METHOD's) or published \
               (the author's published pipeline); the other flags then change single choices",
        get: |c| c.protocol().map_or("custom", Protocol::name).to_string(),
        set: |c, text| match text.trim() {
            // What a link of a changed protocol says; the fields after it say the changes.
            "custom" => Ok(()),
            name => {
                c.apply_protocol(name.parse()?);
                Ok(())
            }
        },
        check: |_| Ok(()),
    },
    whole!(
        "model.layers",
        "layers",
        "2",
        "Model",
        "Blocks L",
        "Blocks L",
        model.layers,
        |c| up_to(c.model.layers, MAX_COUNT)
    ),
    whole!(
        "model.heads",
        "heads",
        "2",
        "Model",
        "Heads per block H (divides d_model)",
        "Heads per block H; must divide d_model",
        model.heads,
        |c| {
            let m = &c.model;
            up_to(m.heads, MAX_COUNT)?;
            require(m.d_model % m.heads == 0, || {
                format!(
                    "must divide model.d_model = {} (got {} heads)",
                    m.d_model, m.heads
                )
            })
        }
    ),
    whole!(
        "model.d_model",
        "d-model",
        "64",
        "Model",
        "Residual stream width",
        "Residual stream width",
        model.d_model,
        |c| up_to(c.model.d_model, MAX_WIDTH)
    ),
    whole!(
        "model.d_ff",
        "d-ff",
        "96",
        "Model",
        "MLP hidden width",
        "MLP hidden width",
        model.d_ff,
        |c| up_to(c.model.d_ff, MAX_WIDTH)
    ),
    whole!(
        "model.context",
        "context",
        "24",
        "Model",
        "Longest input, in positions",
        "Longest input, in positions; at least 2 x longest length + 2",
        model.context,
        |c| checks::context(&c.model, &c.train, &c.eval)
    ),
    parsed!(
        "model.positions",
        "positions",
        "none",
        "Model",
        "Positions: shifted, learned or none",
        "Positions: shifted (each training example at a random offset), learned (always from 0) \
         or none (no position embedding)",
        "`shifted`, `learned` or `none`",
        model.positions,
        |_| Ok(())
    ),
    parsed!(
        "model.init",
        "init",
        "pytorch",
        "Model",
        "Initial weights: gpt2 or pytorch",
        "Initial weights: gpt2 (N(0, 0.02²), METHOD §2) or pytorch (PyTorch's defaults, the \
         published pipeline's)",
        "`gpt2` or `pytorch`",
        model.init,
        |_| Ok(())
    ),
    parsed!(
        "train.batch_layout",
        "batch-layout",
        "pad-between",
        "Training",
        "Training batches: pad-end or pad-between",
        "Where training batches pad short examples: pad-end (after the answer) or pad-between \
         (between SEP and the answer, the published pipeline's)",
        "`pad-end` or `pad-between`",
        train.batch_layout,
        |_| Ok(())
    ),
    real!(
        "train.lr",
        "lr",
        "0.003",
        "Training",
        "Adam learning rate",
        "Adam learning rate, > 0",
        train.lr,
        |c| require(c.train.lr.is_finite() && c.train.lr > 0.0, || {
            format!("must be a number > 0, got {}", c.train.lr)
        })
    ),
    whole!(
        "train.batch_size",
        "batch-size",
        "32",
        "Training",
        "Examples per batch",
        "Examples per training batch",
        train.batch_size,
        |c| at_least_one(c.train.batch_size)
    ),
    whole!(
        "train.micro_batches",
        "micro-batches",
        "2",
        "Training",
        "Micro-batches per step",
        "Cut each training batch into this many micro-batches, their gradients summed in order \
         before one Adam step (natively side by side on the CPU's threads; in the page on the \
         seed's workers, and where this is 1 the page cuts one micro-batch per worker); the \
         result depends on this number, never on the threads or workers. 1 (the default) is \
         one whole-batch step",
        train.micro_batches,
        |c| {
            let (k, batch) = (c.train.micro_batches, c.train.batch_size);
            require((1..=batch.max(1)).contains(&k), || {
                format!("must be in 1..={batch} (the batch size), got {k}")
            })
        }
    ),
    whole!(
        "train.min_length",
        "min-length",
        "4",
        "Training",
        "Shortest training length n",
        "Shortest training length n, >= 1",
        train.min_length,
        |c| at_least_one(c.train.min_length)
    ),
    whole!(
        "train.max_length",
        "max-length",
        "6",
        "Training",
        "Longest training length n",
        "Longest training length n",
        train.max_length,
        |c| {
            let t = &c.train;
            require(t.max_length >= t.min_length, || {
                format!(
                    "must be >= train.min_length = {}, got {}",
                    t.min_length, t.max_length
                )
            })
        }
    ),
    whole!(
        "train.eval_every",
        "eval-every",
        "50",
        "Training",
        "Steps between stop-rule checks",
        "Steps between stop-rule evaluations",
        train.eval_every,
        |c| at_least_one(c.train.eval_every)
    ),
    whole!(
        "train.eval_examples",
        "eval-examples",
        "256",
        "Training",
        "Examples per stop-rule check",
        "Fresh examples per stop-rule evaluation",
        train.eval_examples,
        |c| at_least_one(c.train.eval_examples)
    ),
    real!(
        "train.target_accuracy",
        "target-accuracy",
        "0.95",
        "Training",
        "Stop-rule accuracy",
        "Stop-rule accuracy, in (0, 1]",
        train.target_accuracy,
        |c| {
            let target = c.train.target_accuracy;
            require(target > 0.0 && target <= 1.0, || {
                format!("must be in (0, 1], got {target}")
            })
        }
    ),
    whole!(
        "train.max_steps",
        "max-steps",
        "300",
        "Training",
        "Step budget",
        "Step budget",
        train.max_steps,
        |c| at_least_one(c.train.max_steps)
    ),
    list!(
        "eval.ood_lengths",
        "ood-lengths",
        "8,9",
        "Evaluation",
        "OOD lengths (comma-separated)",
        "OOD lengths, comma-separated, outside the training range",
        eval.ood_lengths,
        |c| checks::ood_lengths(&c.train, &c.eval.ood_lengths)
    ),
    whole!(
        "eval.ood_batches",
        "ood-batches",
        "5",
        "Evaluation",
        "Batches per OOD set",
        "Batches per OOD evaluation set",
        eval.ood_batches,
        |c| at_least_one(c.eval.ood_batches)
    ),
    whole!(
        "eval.ood_batch_size",
        "ood-batch-size",
        "32",
        "Evaluation",
        "Examples per OOD batch",
        "Examples per OOD batch",
        eval.ood_batch_size,
        |c| at_least_one(c.eval.ood_batch_size)
    ),
    whole!(
        "eval.window_sample",
        "window-sample",
        "100",
        "Evaluation",
        "Window judged on k fresh examples (0: the fixed set)",
        "Judge the OOD window on this many fresh random examples per length (the published \
         pipeline's 100); 0 for the fixed OOD set",
        eval.window_sample,
        |_| Ok(())
    ),
    real!(
        "eval.window_low",
        "window-low",
        "0.3",
        "Evaluation",
        "Lowest analysable accuracy",
        "Lowest accuracy of an analysable length, in [0, 1]",
        eval.window_low,
        |c| {
            let e = &c.eval;
            fraction(e.window_low)?;
            require(e.window_low <= e.window_high, || {
                format!(
                    "must be <= eval.window_high = {}, got {}",
                    e.window_high, e.window_low
                )
            })
        }
    ),
    real!(
        "eval.window_high",
        "window-high",
        "0.8",
        "Evaluation",
        "Highest analysable accuracy",
        "Highest accuracy of an analysable length, in [0, 1]",
        eval.window_high,
        |c| fraction(c.eval.window_high)
    ),
    list!(
        "analysis.thresholds",
        "thresholds",
        "3,5",
        "Analysis",
        "Hero/Bloat thresholds t",
        "Hero/Bloat thresholds t, comma-separated",
        analysis.thresholds,
        |c| {
            let thresholds = &c.analysis.thresholds;
            require(!thresholds.is_empty(), || {
                "must name at least one threshold".into()
            })?;
            component_counts(thresholds, &c.model)
        }
    ),
    whole!(
        "analysis.threshold",
        "pruning-threshold",
        "3",
        "Analysis",
        "t that picks what pruning removes",
        "The threshold that picks what pruning removes; one of --thresholds",
        analysis.threshold,
        |c| {
            let a = &c.analysis;
            require(a.thresholds.contains(&a.threshold), || {
                format!(
                    "must be one of analysis.thresholds {:?}, got {}",
                    a.thresholds, a.threshold
                )
            })
        }
    ),
    Field {
        name: "analysis.g_weights",
        key: "g-weights",
        example: "wvo-inout",
        section: "Analysis",
        label: "G shown first: wv-wout or wvo-inout",
        help: "The reading of G shown first and kept in checkpoints: wv-wout or wvo-inout \
               (reports hold both)",
        get: |c| c.analysis.g_weights.to_string(),
        set: |c, text| {
            c.analysis.g_weights = text.trim().parse::<GWeights>()?;
            Ok(())
        },
        check: |_| Ok(()),
    },
    Field {
        name: "analysis.pruning_ablation",
        key: "pruning-ablation",
        example: "zero",
        section: "Analysis",
        label: "Ablation for pruning: mean, mean-pos, zero or resample",
        help: "Ablation shown first for pruning and superadditivity: mean, mean-pos, zero or \
               resample (reports hold all four)",
        get: |c| c.analysis.pruning_ablation.to_string(),
        set: |c, text| {
            c.analysis.pruning_ablation = text.trim().parse::<Ablation>()?;
            Ok(())
        },
        check: |_| Ok(()),
    },
    parsed!(
        "analysis.class_rule",
        "class-rule",
        "strict",
        "Analysis",
        "Classes at exactly ±t: inclusive or strict",
        "Whether a rank gap of exactly ±t is a Hero or Bloat: inclusive (METHOD §7) or strict \
         (the published pipeline's)",
        "`inclusive` or `strict`",
        analysis.class_rule,
        |_| Ok(())
    ),
    whole!(
        "analysis.causal_sample",
        "causal-sample",
        "100",
        "Analysis",
        "Also C as published, on k fresh examples (0: no)",
        "Also measure C as published: each component on this many fresh examples against the \
         window's baseline (the published pipeline's 100); 0 for none",
        analysis.causal_sample,
        |_| Ok(())
    ),
    whole!(
        "analysis.attention_examples",
        "attention-examples",
        "7",
        "Analysis",
        "Examples per attention pattern",
        "Examples averaged into each attention pattern",
        analysis.attention_examples,
        |c| at_least_one(c.analysis.attention_examples)
    ),
    whole!(
        "analysis.ig_steps",
        "ig-steps",
        "4",
        "Analysis",
        "Integrated gradients' steps",
        "Midpoint steps of integrated gradients",
        analysis.ig_steps,
        |c| up_to(c.analysis.ig_steps, MAX_COUNT)
    ),
    whole!(
        "analysis.ig_batches",
        "ig-batches",
        "2",
        "Analysis",
        "Batches integrated gradients run on",
        "Evaluation batches integrated gradients run on, the first ones",
        analysis.ig_batches,
        |c| at_least_one(c.analysis.ig_batches)
    ),
    list!(
        "analysis.prune_counts",
        "prune-counts",
        "1,3",
        "Analysis",
        "Components pruned by each score (comma-separated)",
        "How many components pruning by each score removes, comma-separated",
        analysis.prune_counts,
        |c| component_counts(&c.analysis.prune_counts, &c.model)
    ),
    whole!(
        "analysis.prune_batches",
        "prune-batches",
        "10",
        "Analysis",
        "Batches pruning by score is measured on",
        "Evaluation batches pruning by score is measured on, the first ones",
        analysis.prune_batches,
        |c| at_least_one(c.analysis.prune_batches)
    ),
    whole!(
        "analysis.checkpoint_every",
        "checkpoint-every",
        "100",
        "Analysis",
        "Analyse snapshots every k steps (0: none)",
        "Also analyse snapshots taken every this many training steps; 0 for none",
        analysis.checkpoint_every,
        |_| Ok(())
    ),
];

/// The field whose key is `key`.
pub fn field_by_key(key: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.key == key)
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
        type Edit = fn(&mut ExperimentConfig);
        let cases: [(Edit, &str); 13] = [
            (|c| c.train.min_length = 0, "train.min_length"),
            (|c| c.train.max_length = 2, "train.max_length"),
            (|c| c.train.lr = 0.0, "train.lr"),
            (|c| c.train.lr = f64::NAN, "train.lr"),
            (|c| c.model.heads = 3, "model.heads"),
            (|c| c.model.heads = 0, "model.heads"),
            (|c| c.eval.ood_lengths = vec![7, 8], "eval.ood_lengths"),
            (|c| c.eval.ood_lengths = vec![], "eval.ood_lengths"),
            (|c| c.eval.window_low = 0.9, "eval.window_low"),
            (|c| c.eval.window_high = 1.5, "eval.window_high"),
            (|c| c.train.target_accuracy = 0.0, "train.target_accuracy"),
            (|c| c.eval.ood_lengths = vec![20], "model.context"),
            (|c| c.eval.ood_lengths = vec![5], "eval.ood_lengths"),
        ];
        for (edit, field) in cases {
            assert_eq!(refused(edit).field, field);
        }
        let overlap = refused(|c| c.eval.ood_lengths = vec![5]);
        assert!(
            overlap
                .to_string()
                .contains("outside the training lengths 3..=7"),
            "{overlap}"
        );
    }

    #[test]
    fn protocols_set_every_choice_and_one_switch_makes_a_mix() {
        let mut config = defaults();
        assert_eq!(config.protocol(), Some(Protocol::Default));
        config.apply_protocol(Protocol::Published);
        config.validate().unwrap();
        assert_eq!(config.protocol(), Some(Protocol::Published));
        assert_eq!(
            (config.train.eval_every, config.analysis.causal_sample),
            (500, 100)
        );
        for (key, default) in Protocol::Default.values() {
            let mut switched = config.clone();
            (field_by_key(key).unwrap().set)(&mut switched, default).unwrap();
            assert_eq!(switched.protocol(), None, "{key}");
        }
        config.apply_protocol(Protocol::Default);
        assert_eq!(config, defaults());
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
