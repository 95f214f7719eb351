//! Helpers shared by the native and the browser tests.

use gradcause::task::{Example, Task, ood_set, training_examples};

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
        let train = training_examples(task, seed, 64, 3, 7).take(12).collect();
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
