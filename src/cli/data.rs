//! `gradcause data`: the examples a seed gives.

use gradcause::engine::task::Example;
use gradcause::engine::train::TrainingData;

use super::{DataArgs, Failure};

pub fn data(args: &DataArgs) -> Result<(), Failure> {
    let config = args
        .config
        .resolve(args.task, args.seed)
        .map_err(Failure::Usage)?;
    // Each example with its first position (training under `shifted` positions), or none.
    let (examples, source): (Vec<(Example, Option<usize>)>, String) = match args.length {
        Some(0) => return Err(Failure::Usage("--length must be >= 1".into())),
        Some(length) => (
            config
                .eval
                .ood_set(config.task, config.seed, length)
                .into_iter()
                .flat_map(|batch| batch.examples)
                .map(|example| (example, None))
                .take(args.count)
                .collect(),
            format!("OOD evaluation set, length {length}"),
        ),
        None => (
            TrainingData::new(&config)
                .flat_map(|batch| {
                    let offsets = batch.offsets.map_or(vec![None; batch.size], |o| {
                        o.into_iter().map(Some).collect()
                    });
                    batch.examples.into_iter().zip(offsets)
                })
                .take(args.count)
                .collect(),
            format!("training batches, positions {}", config.model.positions),
        ),
    };
    println!("# {} examples, seed {}, {source}", config.task, config.seed);
    for (i, (example, offset)) in examples.iter().enumerate() {
        let tokens: Vec<String> = example.tokens().iter().map(u32::to_string).collect();
        let offset = offset.map_or(String::new(), |o| format!(" offset={o:<2}"));
        println!(
            "{i:>3}  n={:<2}{offset} tokens: {}",
            example.len(),
            tokens.join(" ")
        );
        println!("{:>3}        text:   {}", "", example.text());
    }
    Ok(())
}
