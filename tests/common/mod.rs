//! Helpers shared by the native and the browser tests.
// Each test crate that includes this module uses only part of it.
#![allow(dead_code)]

use gradcause::task::{Example, Task, ood_set};
use gradcause::train::TrainingData;

/// The golden examples, checked in: seed 42's first training and OOD examples of each task.
pub const GOLDEN_EXAMPLES: &str = include_str!("../golden/examples.json");

/// The first training examples and the first OOD (n = 8) examples of `seed`, per task, as token
/// lists: the data every machine must agree on.
pub fn sample_examples(seed: u64) -> serde_json::Value {
    let tokens = |examples: Vec<Example>| -> Vec<Vec<u32>> {
        examples.iter().map(Example::tokens).collect()
    };
    let mut tasks = serde_json::Map::new();
    for task in Task::ALL {
        let config = ExperimentConfig::new(task, seed);
        let train = TrainingData::new(&config)
            .flat_map(|batch| batch.examples)
            .take(12)
            .collect();
        let ood = ood_set(task, seed, 8, 1, 64)
            .remove(0)
            .examples
            .into_iter()
            .take(4)
            .collect();
        tasks.insert(
            task.name().into(),
            serde_json::json!({ "train": tokens(train), "ood_8": tokens(ood) }),
        );
    }
    serde_json::json!({ "seed": seed, "tasks": tasks })
}

use gradcause::config::ExperimentConfig;
use gradcause::model::ModelConfig;
use gradcause::train::TrainConfig;

/// A model and task small enough to train and analyse in seconds: 2 layers of 2 heads (6
/// components), lengths 2–4, OOD lengths 5 and 6, every length analysable.
pub fn tiny_config(task: Task, seed: u64) -> ExperimentConfig {
    let mut config = ExperimentConfig::new(task, seed);
    config.model = ModelConfig::new()
        .with_layers(2)
        .with_heads(2)
        .with_d_model(32)
        .with_d_ff(64)
        .with_context(16);
    config.train = TrainConfig::new()
        .with_lr(3e-3)
        .with_batch_size(16)
        .with_min_length(2)
        .with_max_length(4)
        .with_eval_every(50)
        .with_eval_examples(64)
        .with_max_steps(100);
    config.eval.ood_lengths = vec![5, 6];
    config.eval.ood_batches = 3;
    config.eval.ood_batch_size = 16;
    config.eval.window_low = 0.0;
    config.eval.window_high = 1.0;
    config.analysis.thresholds = vec![1, 2];
    config.analysis.threshold = 2;
    config.analysis.attention_examples = 5;
    config.validate().expect("a valid tiny config");
    config
}
