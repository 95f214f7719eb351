//! `gradcause joints`: measures, on each analysed report's own fixed OOD set, the joint ablations
//! that the decomposition's readings need and the analysis did not make (the top two Heroes or
//! Bloats of another reading), and adds them to the report ([`Analysis::joints`]).
//!
//! [`Analysis::joints`]: gradcause::analysis::analyze::Analysis::joints

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gradcause::analysis::ablation::{Ablation, AblationSet};
use gradcause::analysis::analyze::MeasuredJoint;
use gradcause::engine::component::Component;
use gradcause::engine::weights::from_safetensors;
use gradcause::experiment::report::SeedReport;
use gradcause::report::switches::READINGS;

use super::run::{read_report, to_json};
use super::{Failure, JointsArgs, read_file, run_error, write_file};

/// The per-seed reports in `dir` and in the folders in it, by path.
fn report_paths(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let list = |dir: &Path| -> Result<Vec<PathBuf>, Failure> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| Failure::Run(format!("could not list {}: {e}", dir.display())))?;
        let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        Ok(paths)
    };
    let is_report = |p: &Path| {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        name.contains("-seed") && name.ends_with(".json")
    };
    let mut reports = Vec::new();
    for path in list(dir)? {
        if path.is_dir() {
            reports.extend(list(&path)?.into_iter().filter(|p| is_report(p)));
        } else if is_report(&path) {
            reports.push(path);
        }
    }
    Ok(reports)
}

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

pub async fn joints(args: &JointsArgs) -> Result<(), Failure> {
    let device = args.backend.device().await.map_err(run_error)?;
    let mut measured = 0;
    for path in report_paths(&args.dir)? {
        let mut report = read_report(&path)?;
        let wanted = missing(&report);
        let (Some(length), Some(analysis)) = (report.run.analysis_length, &mut report.analysis)
        else {
            continue;
        };
        if wanted.is_empty() {
            continue;
        }
        let config = &report.run.config;
        let weights = args
            .models
            .join(format!("{}-seed{}.safetensors", config.task, config.seed));
        let model = from_safetensors(&read_file(&weights)?, &device).map_err(run_error)?;
        let ood = config.eval.ood_set(config.task, config.seed, length);
        let set = AblationSet::new(&model, &ood, config.seed, &device)
            .await
            .map_err(run_error)?;
        if set.base_accuracy != analysis.base_accuracy {
            return Err(Failure::Run(format!(
                "{} is not the model {} was analysed on (base accuracy {} here, {} there)",
                weights.display(),
                path.display(),
                set.base_accuracy,
                analysis.base_accuracy
            )));
        }
        let accuracies = set
            .joint_ablation_accuracies(&model, &wanted, set.batch_count())
            .await
            .map_err(run_error)?;
        let added = wanted.len();
        for ((components, ablation), accuracy) in wanted.into_iter().zip(accuracies) {
            analysis.joints.push(MeasuredJoint {
                ablation,
                components,
                accuracy,
                change: accuracy - analysis.base_accuracy,
            });
            measured += 1;
        }
        write_file(&path, to_json(&report).as_bytes())?;
        eprintln!("{}: {added} joint ablations added", path.display());
    }
    eprintln!(
        "{measured} joint ablations measured in {}",
        args.dir.display()
    );
    Ok(())
}
