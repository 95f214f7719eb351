//! A run's config as a URL query, so a link reproduces a run: each field of the config's one
//! field table ([`FIELDS`]) under its key.
//!
//! Keys are the command line's flag names (`max-steps`, `ood-lengths`, ...). A query names
//! only the fields that differ from the paper's defaults, plus `task` and `seed`, and the page's
//! backend when it is not chosen automatically (`backend=cpu`, `backend=webgpu` or
//! `backend=measure`) and its
//! workers per seed when not automatic (`workers=2`).

use crate::engine::task::Task;
use crate::experiment::config::{ExperimentConfig, FIELDS, field_by_key, parse};

/// Where the page trains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BackendChoice {
    /// On a hardware adapter, the faster of WebGPU and the CPU's workers, measured once per
    /// adapter and config shape (remembered by the page); the CPU where WebGPU is missing,
    /// fails, or offers only a software adapter (which is many times slower than the CPU
    /// backend).
    #[default]
    Auto,
    /// The faster of WebGPU (on whatever adapter) and the CPU's workers, measured again now.
    Measure,
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
            BackendChoice::Measure => Some("measure"),
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
        Some("measure") => Ok(BackendChoice::Measure),
        Some("webgpu") => Ok(BackendChoice::WebGpu),
        Some("cpu") => Ok(BackendChoice::Cpu),
        Some(other) => Err(format!(
            "link field `backend`: expected auto, measure, webgpu or cpu, got `{other}`"
        )),
    }
}

/// Most workers one seed trains on in the page.
pub const MAX_WORKERS: usize = 16;

/// The workers per seed a query asks for: `None` (automatic) where it names none or `auto`; a
/// value that is not a whole number in `1..=MAX_WORKERS` is refused with a message.
pub fn workers_from_query(query: &str) -> Result<Option<usize>, String> {
    let value = query
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix("workers="));
    match value {
        None | Some("auto") => Ok(None),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_WORKERS).contains(&n) => Ok(Some(n)),
            _ => Err(format!(
                "link field `workers`: expected auto or a whole number from 1 to {MAX_WORKERS}, got `{text}`"
            )),
        },
    }
}

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
/// (default 42) with each named field applied in [`FIELDS`] order, then validated. Unknown keys, unparsable values
/// and values out of range are refused with a message naming the key. The `backend` and
/// `workers` keys are the page's, read by [`backend_from_query`] and [`workers_from_query`].
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
    for (key, _) in &pairs {
        let page = ["task", "seed", "backend", "workers"].contains(&key.as_str());
        if !page && field_by_key(key).is_none() {
            return Err(format!("link field `{key}` is not a setting"));
        }
    }
    // In the fields' order, whatever the link's: the protocol before the choices it sets.
    for field in FIELDS {
        if let Some(value) = value_of(field.key) {
            (field.set)(&mut config, value)
                .map_err(|e| format!("link field `{}`: {e}", field.key))?;
        }
    }
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::ablation::Ablation;
    use crate::analysis::attribution::GWeights;

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
        assert_eq!(
            backend_from_query("backend=measure"),
            Ok(BackendChoice::Measure)
        );
        assert!(
            backend_from_query("backend=tpu")
                .unwrap_err()
                .contains("tpu")
        );
        assert_eq!(BackendChoice::Auto.key_value(), None);
        assert_eq!(workers_from_query("?seed=1&workers=3"), Ok(Some(3)));
        assert_eq!(workers_from_query("seed=1"), Ok(None));
        assert_eq!(workers_from_query("workers=auto"), Ok(None));
        for bad in ["workers=0", "workers=17", "workers=two"] {
            let refused = workers_from_query(bad).unwrap_err();
            assert!(refused.contains("`workers`"), "{refused}");
        }
        assert!(from_query("seed=1&workers=2").is_ok());
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
        let default = ExperimentConfig::new(Task::Sort, 9);
        let mut config = default.clone();
        for field in FIELDS {
            let value = &field.example;
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
