//! `gradcause complete`: adds to each analysed report what the decomposition's readings need and
//! an older analysis did not measure, from the report's kept model: C by mean and zero ablation
//! on the fresh examples of C as published ([`AsPublished::fresh`], checked against the stored C
//! as published, which the same examples must give again), then the joint ablations of other
//! readings' top two Heroes or Bloats on the report's own fixed OOD set ([`Analysis::joints`]).
//!
//! [`AsPublished::fresh`]: gradcause::analysis::as_published::AsPublished::fresh
//! [`Analysis::joints`]: gradcause::analysis::analyze::Analysis::joints

use std::collections::BTreeSet;

use gradcause::analysis::ablation::{Ablation, AblationSet};
use gradcause::analysis::analyze::{Analysis, MeasuredJoint};
use gradcause::analysis::as_published::causal_as_published;
use gradcause::analysis::attribution::GWeights;
use gradcause::engine::component::Component;
use gradcause::engine::model::Transformer;
use gradcause::engine::task::Batch;
use gradcause::engine::weights::from_safetensors;
use gradcause::experiment::config::ExperimentConfig;
use gradcause::experiment::report::SeedReport;
use gradcause::report::switches::READINGS;

use super::run::{read_report, to_json};
use super::{CompleteArgs, Failure, read_file, run_error, sweep_files, write_file};

/// The joint ablations every reading of the decomposition lacks on `report`, each once.
fn missing(report: &SeedReport) -> Vec<(Vec<Component>, Ablation)> {
    let mut seen = BTreeSet::new();
    READINGS
        .iter()
        .flat_map(|reading| reading.missing_joints(report))
        .filter(|(members, ablation)| {
            seen.insert((*ablation, members.iter().copied().collect::<BTreeSet<_>>()))
        })
        .collect()
}

pub async fn complete(args: &CompleteArgs) -> Result<(), Failure> {
    let device = args.backend.device().await.map_err(run_error)?;
    let (mut completed, mut without_model) = (0, 0);
    for path in sweep_files(&args.dir)? {
        let mut report = read_report(&path)?;
        let needs_fresh = report
            .analysis
            .as_ref()
            .and_then(|a| a.as_published.as_ref())
            .is_some_and(|p| p.fresh.is_empty());
        // Without new fresh C the readings' top twos are known now; with it, after it.
        let known = (!needs_fresh).then(|| missing(&report));
        if report.analysis.is_none() || known.as_ref().is_some_and(Vec::is_empty) {
            continue;
        }
        let Some(length) = report.run.analysis_length else {
            continue;
        };
        let config = report.run.config.clone();
        let weights = args
            .models
            .join(format!("{}-seed{}.safetensors", config.task, config.seed));
        if !weights.exists() {
            without_model += 1;
            continue;
        }
        let model = from_safetensors(&read_file(&weights)?, &device).map_err(run_error)?;
        let ood = config.eval.ood_set(config.task, config.seed, length);
        let set = AblationSet::new(&model, &ood, config.seed, &device)
            .await
            .map_err(run_error)?;
        let analysis = report.analysis.as_mut().expect("analysed");
        if set.base_accuracy != analysis.base_accuracy {
            return Err(Failure::Run(format!(
                "{} is not the model {} was analysed on (base accuracy {} here, {} there)",
                weights.display(),
                path.display(),
                set.base_accuracy,
                analysis.base_accuracy
            )));
        }
        if needs_fresh {
            let baseline = report.run.window_baseline(length, analysis.base_accuracy);
            fresh(&model, &report.run.config, (&ood, &set), baseline, analysis)
                .await
                .map_err(|e| Failure::Run(format!("{}: {e}", path.display())))?;
        }
        let wanted = known.unwrap_or_else(|| missing(&report));
        let accuracies = set
            .joint_ablation_accuracies(&model, &wanted, set.batch_count())
            .await
            .map_err(run_error)?;
        let analysis = report.analysis.as_mut().expect("analysed");
        for ((components, ablation), accuracy) in wanted.into_iter().zip(accuracies) {
            analysis.joints.push(MeasuredJoint {
                ablation,
                components,
                accuracy,
                change: accuracy - analysis.base_accuracy,
            });
        }
        write_file(&path, to_json(&report).as_bytes())?;
        completed += 1;
    }
    eprint!("{completed} reports completed in {}", args.dir.display());
    if without_model > 0 {
        let models = args.models.display();
        eprint!("; {without_model} left as they were, their models not kept in {models}");
    }
    eprintln!();
    Ok(())
}

/// Measures C on the fresh examples of C as published under the other ablations, into
/// `analysis`: the same function as the analysis, whose C as published must come out as stored.
async fn fresh(
    model: &Transformer,
    config: &ExperimentConfig,
    (ood, set): (&[Batch], &AblationSet),
    baseline: f64,
    analysis: &mut Analysis,
) -> Result<(), String> {
    let raw = analysis.grad(GWeights::WvWoutRaw);
    let again = causal_as_published(
        model,
        (config.task, config.seed),
        (ood, set),
        baseline,
        &raw,
        &config.analysis.causal_sampling(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let stored = analysis.as_published.as_mut().expect("C as published");
    if again.causal != stored.causal {
        return Err(
            "C as published measured again differs from the stored one: another model \
                    or another build's examples"
                .into(),
        );
    }
    stored.fresh = again.fresh;
    Ok(())
}
