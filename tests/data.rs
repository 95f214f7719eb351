//! Seeded data is fixed: the same seed gives the examples checked in under `tests/golden/`, on
//! every machine (the wasm tests compare against the same file).
//!
//! Regenerate the file, only when the data format is meant to change, with
//! `GRADCAUSE_BLESS=1 cargo test --test data`.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{GOLDEN_EXAMPLES, sample_examples};
use gradcause::engine::task::Task;

#[test]
fn a_seed_gives_the_checked_in_examples() {
    let generated = sample_examples(42);
    if std::env::var_os("GRADCAUSE_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&generated).unwrap() + "\n";
        std::fs::write("tests/golden/examples.json", text).unwrap();
        return;
    }
    let golden: serde_json::Value = serde_json::from_str(GOLDEN_EXAMPLES).unwrap();
    assert_eq!(generated, golden);
}

#[test]
fn different_seeds_give_different_examples() {
    assert_ne!(sample_examples(42)["tasks"], sample_examples(43)["tasks"]);
}

#[test]
fn golden_examples_obey_the_task() {
    let golden: serde_json::Value = serde_json::from_str(GOLDEN_EXAMPLES).unwrap();
    for task in Task::ALL {
        for example in golden["tasks"][task.name()]["train"].as_array().unwrap() {
            let tokens: Vec<u32> = serde_json::from_value(example.clone()).unwrap();
            let n = (tokens.len() - 3) / 2;
            assert!((3..=7).contains(&n));
            let (x, y) = (&tokens[1..=n], &tokens[n + 2..=2 * n + 1]);
            assert_eq!(y, task.answer(x).as_slice());
        }
    }
}
