//! The range checks of the config field table ([`FIELDS`](crate::experiment::config::FIELDS)):
//! each takes the parts of a config it reads and says what is allowed and what was given.

use crate::engine::eval::EvalConfig;
use crate::engine::model::ModelConfig;
use crate::engine::train::TrainConfig;

/// Upper bound on model sizes the tool accepts, so a typo cannot ask for terabytes.
pub const MAX_WIDTH: usize = 4096;
/// Upper bound on the number of blocks and heads.
pub const MAX_COUNT: usize = 64;

/// `Err(message())` unless `ok`.
pub fn require(ok: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(message()) }
}

/// A whole number of at least 1.
pub fn at_least_one(value: usize) -> Result<(), String> {
    require(value >= 1, || format!("must be >= 1, got {value}"))
}

/// A whole number in `1..=max`.
pub fn up_to(value: usize, max: usize) -> Result<(), String> {
    require((1..=max).contains(&value), || {
        format!("must be in 1..={max}, got {value}")
    })
}

/// A fraction in [0, 1].
pub fn fraction(value: f64) -> Result<(), String> {
    require((0.0..=1.0).contains(&value), || {
        format!("must be in [0, 1], got {value}")
    })
}

/// Each of a list of component counts in `1..components`.
pub fn component_counts(values: &[usize], model: &ModelConfig) -> Result<(), String> {
    let components = model.layers * (model.heads + 1);
    values.iter().try_for_each(|&k| {
        require((1..components).contains(&k), || {
            format!("must be in 1..{components} (the number of components), got {k}")
        })
    })
}

/// The model's context must hold the longest input, 2n + 2 tokens, in its learned positions.
pub fn context(model: &ModelConfig, t: &TrainConfig, e: &EvalConfig) -> Result<(), String> {
    let context = model.context;
    let longest = e
        .ood_lengths
        .iter()
        .copied()
        .chain([t.max_length])
        .max()
        .unwrap_or(0);
    require(2 * longest + 2 <= context, || {
        format!(
            "must be >= {} to hold the longest input (2 x {longest} + 2 tokens), got {context}",
            2 * longest + 2
        )
    })?;
    require(context <= MAX_WIDTH, || {
        format!("must be <= {MAX_WIDTH}, got {context}")
    })
}

/// The OOD lengths: at least one, each at least 1 and outside the training lengths.
pub fn ood_lengths(t: &TrainConfig, lengths: &[usize]) -> Result<(), String> {
    require(!lengths.is_empty(), || {
        "must name at least one length".into()
    })?;
    lengths.iter().try_for_each(|&n| {
        require(n >= 1, || format!("lengths must be >= 1, got {n}"))?;
        require(!(t.min_length..=t.max_length).contains(&n), || {
            format!(
                "must lie outside the training lengths {}..={}, got {n}",
                t.min_length, t.max_length
            )
        })
    })
}
