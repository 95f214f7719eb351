//! `gradcause data`: the examples a seed gives.

use gradcause::task::{Example, training_examples};

use super::{DataArgs, Failure};

pub fn data(args: &DataArgs) -> Result<(), Failure> {
    let config = args
        .config
        .resolve(args.task, args.seed)
        .map_err(Failure::Usage)?;
    let (examples, source): (Vec<Example>, String) = match args.length {
        Some(0) => return Err(Failure::Usage("--length must be >= 1".into())),
        Some(length) => (
            config
                .eval
                .ood_set(config.task, config.seed, length)
                .into_iter()
                .flat_map(|batch| batch.examples)
                .take(args.count)
                .collect(),
            format!("OOD evaluation set, length {length}"),
        ),
        None => {
            let t = &config.train;
            let stream = training_examples(
                config.task,
                config.seed,
                t.batch_size,
                t.min_length,
                t.max_length,
            );
            (
                stream.take(args.count).collect(),
                "training batches".to_string(),
            )
        }
    };
    println!("# {} examples, seed {}, {source}", config.task, config.seed);
    for (i, example) in examples.iter().enumerate() {
        let tokens: Vec<String> = example.tokens().iter().map(u32::to_string).collect();
        println!(
            "{i:>3}  n={:<2} tokens: {}",
            example.len(),
            tokens.join(" ")
        );
        println!("{:>3}        text:   {}", "", example.text());
    }
    Ok(())
}
