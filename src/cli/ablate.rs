//! `gradcause ablate`: a saved model's accuracy with chosen components ablated.

use gradcause::analysis::ablation::{Ablation, AblationSet};
use gradcause::engine::task::ood_set;
use gradcause::engine::weights::from_safetensors;

use super::{AblateArgs, Failure, read_file, run_error};

pub async fn ablate(args: &AblateArgs) -> Result<(), Failure> {
    let device = args.backend.device().await.map_err(run_error)?;
    let model = from_safetensors(&read_file(&args.weights)?, &device).map_err(run_error)?;
    let shape = model.config();
    if let Some(c) = args
        .components
        .iter()
        .find(|c| !c.exists_in(shape.layers, shape.heads))
    {
        return Err(Failure::Usage(format!(
            "{c} is not in this model ({} layers, {} heads)",
            shape.layers, shape.heads
        )));
    }
    if args.length == 0 || 2 * args.length + 2 > shape.context {
        return Err(Failure::Usage(format!(
            "--length must be in 1..={} for this model's {} positions",
            (shape.context - 2) / 2,
            shape.context
        )));
    }
    if args.batches == 0 {
        return Err(Failure::Usage("--batches must be >= 1".into()));
    }
    let batches = ood_set(args.task, args.seed, args.length, args.batches, 64);
    let set = AblationSet::new(&model, &batches, args.seed, &device)
        .await
        .map_err(run_error)?;
    let names: Vec<String> = args.components.iter().map(ToString::to_string).collect();
    println!(
        "{} n={} (seed {} set, {} examples): base accuracy {:.1}%",
        args.task,
        args.length,
        args.seed,
        64 * args.batches,
        100.0 * set.base_accuracy
    );
    let ablations = match args.ablation {
        Some(a) => vec![a],
        None => Ablation::ALL.to_vec(),
    };
    for ablation in ablations {
        let accuracy = set
            .ablated_accuracy(&model, &args.components, ablation)
            .await
            .map_err(run_error)?;
        println!(
            "{ablation:>8} ablation of {}: {:.1}% ({:+.1} points)",
            names.join("+"),
            100.0 * accuracy,
            100.0 * (accuracy - set.base_accuracy)
        );
    }
    Ok(())
}
