//! A run's config as a URL query, so a link reproduces a run, and the one table of settable
//! fields that the page's "advanced" panel is drawn from.
//!
//! Keys are the command line's flag names (`max-steps`, `ood-lengths`, ...). A query names
//! only the fields that differ from the paper's defaults, plus `task` and `seed`, and the page's
//! backend when it is not chosen automatically (`backend=cpu` or `backend=webgpu`).

use crate::ablation::Ablation;
use crate::attribution::GWeights;
use crate::config::ExperimentConfig;
use crate::task::Task;

/// One config field the user can set: its key, its section, a one-line help, and how to read
/// and write it as text.
pub struct Field {
    /// The query key and command-line flag, e.g. `max-steps`.
    pub key: &'static str,
    /// The METHOD section it belongs to: Model, Training, Evaluation or Analysis.
    pub section: &'static str,
    /// What it is.
    pub help: &'static str,
    /// Its value as text.
    pub get: fn(&ExperimentConfig) -> String,
    /// Sets it from text; `Err` says what was expected.
    pub set: fn(&mut ExperimentConfig, &str) -> Result<(), String>,
}

/// Where the page trains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BackendChoice {
    /// WebGPU on a hardware adapter; the CPU where WebGPU is missing, fails, or offers only a
    /// software adapter (which is many times slower than the CPU backend).
    #[default]
    Auto,
    /// WebGPU on whatever adapter the browser offers, software included.
    WebGpu,
    /// The CPU backend.
    Cpu,
}

impl BackendChoice {
    /// The value of the `backend` key; `None` for [`BackendChoice::Auto`], which is left out.
    pub fn key_value(self) -> Option<&'static str> {
        match self {
            BackendChoice::Auto => None,
            BackendChoice::WebGpu => Some("webgpu"),
            BackendChoice::Cpu => Some("cpu"),
        }
    }
}

/// The backend a query asks for; an unknown value is refused with a message.
pub fn backend_from_query(query: &str) -> Result<BackendChoice, String> {
    let value = query
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix("backend="));
    match value {
        None | Some("auto") => Ok(BackendChoice::Auto),
        Some("webgpu") => Ok(BackendChoice::WebGpu),
        Some("cpu") => Ok(BackendChoice::Cpu),
        Some(other) => Err(format!(
            "link field `backend`: expected auto, webgpu or cpu, got `{other}`"
        )),
    }
}

/// Parses `text` as a `T`, saying what was expected on failure.
fn parse<T: std::str::FromStr>(text: &str, expected: &str) -> Result<T, String> {
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

/// A field table entry for a field at `$($path).+` parsed with `FromStr`; `$expected` names
/// what a bad value should have been.
macro_rules! parsed {
    ($key:literal, $section:literal, $help:literal, $expected:literal, $($path:ident).+) => {
        Field {
            key: $key,
            section: $section,
            help: $help,
            get: |c| c.$($path).+.to_string(),
            set: |c, text| {
                c.$($path).+ = parse(text, $expected)?;
                Ok(())
            },
        }
    };
}

/// A field table entry for a whole-number field at `$($path).+`.
macro_rules! whole {
    ($key:literal, $section:literal, $help:literal, $($path:ident).+) => {
        parsed!($key, $section, $help, "a whole number", $($path).+)
    };
}

/// A field table entry for a real-number field at `$($path).+`.
macro_rules! real {
    ($key:literal, $section:literal, $help:literal, $($path:ident).+) => {
        parsed!($key, $section, $help, "a number", $($path).+)
    };
}

/// A field table entry for a list-of-whole-numbers field at `$($path).+`.
macro_rules! list {
    ($key:literal, $section:literal, $help:literal, $($path:ident).+) => {
        Field {
            key: $key,
            section: $section,
            help: $help,
            get: |c| join(&c.$($path).+),
            set: |c, text| {
                c.$($path).+ = parse_list(text)?;
                Ok(())
            },
        }
    };
}

/// Every METHOD.md default the user can change, in the command line's order.
pub const FIELDS: &[Field] = &[
    whole!("layers", "Model", "Blocks L", model.layers),
    whole!(
        "heads",
        "Model",
        "Heads per block H (divides d_model)",
        model.heads
    ),
    whole!("d-model", "Model", "Residual stream width", model.d_model),
    whole!("d-ff", "Model", "MLP hidden width", model.d_ff),
    whole!(
        "context",
        "Model",
        "Longest input, in positions",
        model.context
    ),
    parsed!(
        "positions",
        "Model",
        "Positions: shifted, learned or none",
        "`shifted`, `learned` or `none`",
        model.positions
    ),
    real!("lr", "Training", "Adam learning rate", train.lr),
    whole!(
        "batch-size",
        "Training",
        "Examples per batch",
        train.batch_size
    ),
    whole!(
        "min-length",
        "Training",
        "Shortest training length n",
        train.min_length
    ),
    whole!(
        "max-length",
        "Training",
        "Longest training length n",
        train.max_length
    ),
    whole!(
        "eval-every",
        "Training",
        "Steps between stop-rule checks",
        train.eval_every
    ),
    whole!(
        "eval-examples",
        "Training",
        "Examples per stop-rule check",
        train.eval_examples
    ),
    real!(
        "target-accuracy",
        "Training",
        "Stop-rule accuracy",
        train.target_accuracy
    ),
    whole!("max-steps", "Training", "Step budget", train.max_steps),
    list!(
        "ood-lengths",
        "Evaluation",
        "OOD lengths (comma-separated)",
        eval.ood_lengths
    ),
    whole!(
        "ood-batches",
        "Evaluation",
        "Batches per OOD set",
        eval.ood_batches
    ),
    whole!(
        "ood-batch-size",
        "Evaluation",
        "Examples per OOD batch",
        eval.ood_batch_size
    ),
    real!(
        "window-low",
        "Evaluation",
        "Lowest analysable accuracy",
        eval.window_low
    ),
    real!(
        "window-high",
        "Evaluation",
        "Highest analysable accuracy",
        eval.window_high
    ),
    list!(
        "thresholds",
        "Analysis",
        "Hero/Bloat thresholds t",
        analysis.thresholds
    ),
    whole!(
        "pruning-threshold",
        "Analysis",
        "t that picks what pruning removes",
        analysis.threshold
    ),
    Field {
        key: "g-weights",
        section: "Analysis",
        help: "G shown first: wv-wout or wvo-inout",
        get: |c| c.analysis.g_weights.name().to_string(),
        set: |c, text| {
            c.analysis.g_weights = text.trim().parse::<GWeights>()?;
            Ok(())
        },
    },
    Field {
        key: "pruning-ablation",
        section: "Analysis",
        help: "Ablation for pruning: mean, mean-pos, zero or resample",
        get: |c| c.analysis.pruning_ablation.name().to_string(),
        set: |c, text| {
            c.analysis.pruning_ablation = text.trim().parse::<Ablation>()?;
            Ok(())
        },
    },
    whole!(
        "attention-examples",
        "Analysis",
        "Examples per attention pattern",
        analysis.attention_examples
    ),
    whole!(
        "ig-steps",
        "Analysis",
        "Integrated gradients' steps",
        analysis.ig_steps
    ),
    whole!(
        "ig-batches",
        "Analysis",
        "Batches integrated gradients run on",
        analysis.ig_batches
    ),
    list!(
        "prune-counts",
        "Analysis",
        "Components pruned by each score (comma-separated)",
        analysis.prune_counts
    ),
    whole!(
        "prune-batches",
        "Analysis",
        "Batches pruning by score is measured on",
        analysis.prune_batches
    ),
    whole!(
        "checkpoint-every",
        "Analysis",
        "Analyse snapshots every k steps (0: none)",
        analysis.checkpoint_every
    ),
];

/// The query string (without `?`) for `config`: task, seed, and each field that differs from
/// the paper's default, keys in [`FIELDS`] order.
pub fn to_query(config: &ExperimentConfig) -> String {
    let defaults = ExperimentConfig::new(config.task, config.seed);
    let mut pairs = vec![
        format!("task={}", config.task.name()),
        format!("seed={}", config.seed),
    ];
    for field in FIELDS {
        let value = (field.get)(config);
        if value != (field.get)(&defaults) {
            pairs.push(format!("{}={}", field.key, value.replace(',', "%2C")));
        }
    }
    pairs.join("&")
}

/// The config a query describes: the paper's config for its task (default reversal) and seed
/// (default 42) with each named field applied, then validated. Unknown keys, unparsable values
/// and values out of range are refused with a message naming the key. The `backend` key is the
/// page's, read by [`backend_from_query`].
pub fn from_query(query: &str) -> Result<ExperimentConfig, String> {
    let pairs: Vec<(String, String)> = query
        .trim_start_matches('?')
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                key.to_string(),
                value.replace("%2C", ",").replace("%2c", ","),
            )
        })
        .collect();
    let value_of = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let task = match value_of("task") {
        Some(text) => text
            .parse::<Task>()
            .map_err(|e| format!("link field `task`: {e}"))?,
        None => Task::Reverse,
    };
    let seed = match value_of("seed") {
        Some(text) => {
            parse::<u64>(text, "a whole number").map_err(|e| format!("link field `seed`: {e}"))?
        }
        None => 42,
    };
    let mut config = ExperimentConfig::new(task, seed);
    for (key, value) in &pairs {
        if key == "task" || key == "seed" || key == "backend" {
            continue;
        }
        let field = FIELDS
            .iter()
            .find(|f| f.key == key)
            .ok_or_else(|| format!("link field `{key}` is not a setting"))?;
        (field.set)(&mut config, value).map_err(|e| format!("link field `{key}`: {e}"))?;
    }
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paper_config_needs_only_task_and_seed() {
        let config = ExperimentConfig::new(Task::Sort, 123);
        assert_eq!(to_query(&config), "task=sort&seed=123");
        assert_eq!(from_query("?task=sort&seed=123").unwrap(), config);
    }

    #[test]
    fn the_backend_is_the_pages_own_key() {
        let query = "task=sort&seed=3&backend=cpu&max-steps=50";
        assert_eq!(backend_from_query(query), Ok(BackendChoice::Cpu));
        assert_eq!(from_query(query).unwrap().train.max_steps, 50);
        assert_eq!(
            backend_from_query("?backend=webgpu"),
            Ok(BackendChoice::WebGpu)
        );
        assert_eq!(backend_from_query("seed=1"), Ok(BackendChoice::Auto));
        assert!(
            backend_from_query("backend=tpu")
                .unwrap_err()
                .contains("tpu")
        );
        assert_eq!(BackendChoice::Auto.key_value(), None);
        assert_eq!(BackendChoice::Cpu.key_value(), Some("cpu"));
    }

    #[test]
    fn changed_fields_round_trip() {
        let mut config = ExperimentConfig::new(Task::Reverse, 7);
        config.train.max_steps = 300;
        config.train.lr = 0.003;
        config.eval.ood_lengths = vec![6, 8];
        config.train.max_length = 5;
        config.analysis.g_weights = GWeights::WvoInout;
        config.analysis.pruning_ablation = Ablation::MeanPos;
        let query = to_query(&config);
        assert_eq!(
            query,
            "task=reverse&seed=7&lr=0.003&max-length=5&max-steps=300&ood-lengths=6%2C8&g-weights=wvo-inout&pruning-ablation=mean-pos"
        );
        assert_eq!(from_query(&query).unwrap(), config);
    }

    #[test]
    fn every_field_reads_back_what_it_writes() {
        let config = ExperimentConfig::new(Task::Reverse, 1);
        for field in FIELDS {
            let mut copy = config.clone();
            (field.set)(&mut copy, &(field.get)(&config)).unwrap();
            assert_eq!(copy, config, "{}", field.key);
        }
    }

    #[test]
    fn every_field_changed_at_once_round_trips() {
        // A valid value other than the default for every field; a field added without one here
        // fails the test.
        let values = [
            ("layers", "2"),
            ("heads", "2"),
            ("d-model", "64"),
            ("d-ff", "96"),
            ("context", "24"),
            ("positions", "none"),
            ("lr", "0.003"),
            ("batch-size", "32"),
            ("min-length", "4"),
            ("max-length", "6"),
            ("eval-every", "50"),
            ("eval-examples", "256"),
            ("target-accuracy", "0.95"),
            ("max-steps", "300"),
            ("ood-lengths", "8,9"),
            ("ood-batches", "5"),
            ("ood-batch-size", "32"),
            ("window-low", "0.3"),
            ("window-high", "0.8"),
            ("thresholds", "3,5"),
            ("pruning-threshold", "3"),
            ("g-weights", "wvo-inout"),
            ("pruning-ablation", "zero"),
            ("attention-examples", "7"),
            ("ig-steps", "4"),
            ("ig-batches", "2"),
            ("prune-counts", "1,3"),
            ("prune-batches", "10"),
            ("checkpoint-every", "100"),
        ];
        let default = ExperimentConfig::new(Task::Sort, 9);
        let mut config = default.clone();
        for field in FIELDS {
            let (_, value) = values
                .iter()
                .find(|(key, _)| *key == field.key)
                .unwrap_or_else(|| panic!("no test value for `{}`", field.key));
            assert_ne!(
                (field.get)(&default),
                *value,
                "{} is its default",
                field.key
            );
            (field.set)(&mut config, value).unwrap();
            assert_eq!((field.get)(&config), *value, "{}", field.key);
        }
        config.validate().unwrap();
        let query = to_query(&config);
        for field in FIELDS {
            assert!(query.contains(&format!("&{}=", field.key)), "{query}");
        }
        assert_eq!(from_query(&query).unwrap(), config);
    }

    #[test]
    fn bad_links_name_the_key() {
        let error = |q: &str| from_query(q).unwrap_err();
        assert!(error("task=copy").contains("`task`"));
        assert!(error("seed=-1").contains("`seed`"));
        assert!(error("colour=red").contains("`colour` is not a setting"));
        assert!(error("max-steps=lots").contains("`max-steps`: expected a whole number"));
        assert!(error("lr=0").contains("train.lr"));
        assert!(error("ood-lengths=5").contains("eval.ood_lengths"));
    }
}
