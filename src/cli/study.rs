//! `gradcause positions`: the positions study, one report per task, scheme and seed.

use std::path::{Path, PathBuf};

use gradcause::experiment::config::ExperimentConfig;
use gradcause::experiment::report::TrainReport;
use gradcause::report::study::{report_file, study_csv, window_counts};

use super::run::{
    print_run, read_report as read_seed_report, sweep_report_path, to_json, train_model,
};
use super::{Failure, PositionsArgs, read_file, read_reports_in, run_error, write_file};

pub async fn positions(args: &PositionsArgs) -> Result<(), Failure> {
    if args.config.positions_given() {
        return Err(Failure::Usage(
            "--schemes picks the position schemes of the study; drop --positions".into(),
        ));
    }
    let dir = &args.out_dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::Run(format!("could not create {}: {e}", dir.display())))?;
    let mut configs = Vec::new();
    for &positions in &args.schemes {
        for &task in &args.tasks {
            for &seed in &args.seeds.list {
                let mut config = args.config.resolve(task, seed).map_err(Failure::Usage)?;
                config.model.positions = positions;
                configs.push(config);
            }
        }
    }
    let device = args.backend.device().await.map_err(run_error)?;
    for (i, config) in configs.iter().enumerate() {
        let path = dir.join(report_file(
            config.task,
            config.model.positions,
            config.seed,
        ));
        eprintln!(
            "\n[{}/{}] {} positions={} seed {}",
            i + 1,
            configs.len(),
            config.task,
            config.model.positions,
            config.seed
        );
        if path.exists() {
            let report = read_report(&path)?;
            if report.config != *config {
                return Err(Failure::Run(format!(
                    "{} was made with a different config; use another --out-dir or move it away",
                    path.display()
                )));
            }
            eprintln!("report found in {}: not recomputed", path.display());
            print_run(&report);
        } else if let Some((report, from)) = reusable(&args.reuse, config)? {
            eprintln!(
                "same config in {}: its training and OOD figures reused",
                from.display()
            );
            write_file(&path, to_json(&report).as_bytes())?;
            print_run(&report);
        } else {
            let subject = train_model(config, args.backend, &device).await?;
            write_file(&path, to_json(&subject.run).as_bytes())?;
            print_run(&subject.run);
            // The table so far, so an interrupted study still leaves one.
            write_table(dir, &config.eval.ood_lengths)?;
        }
    }
    // Every run in the directory, so a study run in parts still tabulates whole.
    let lengths = configs.first().map_or(&[][..], |c| &c.eval.ood_lengths[..]);
    let reports = write_table(dir, lengths)?;
    eprintln!(
        "\nruns with a length in the OOD window (every run in {}):",
        dir.display()
    );
    for ((task, positions), count) in window_counts(&reports) {
        println!(
            "{:<8} {:<8} {} of {}",
            task.name(),
            positions.name(),
            count.in_window,
            count.runs
        );
    }
    Ok(())
}

/// A sweep's report of the same run (same config), from the first of `dirs` that has one.
fn reusable(
    dirs: &[PathBuf],
    config: &ExperimentConfig,
) -> Result<Option<(TrainReport, PathBuf)>, Failure> {
    for dir in dirs {
        let path = sweep_report_path(dir, config.task, config.seed);
        if !path.exists() {
            continue;
        }
        let report = read_seed_report(&path)?;
        if report.run.config == *config {
            return Ok(Some((report.run, path)));
        }
    }
    Ok(None)
}

/// Writes `positions.csv` of every run in `dir` and returns their reports.
fn write_table(dir: &Path, lengths: &[usize]) -> Result<Vec<TrainReport>, Failure> {
    let reports = read_all(dir)?;
    write_file(
        &dir.join("positions.csv"),
        study_csv(&reports, lengths).as_bytes(),
    )?;
    Ok(reports)
}

/// Every run's report in `dir`, by the study's file names.
pub(super) fn read_all(dir: &Path) -> Result<Vec<TrainReport>, Failure> {
    read_reports_in(dir, read_report)
}

/// A report written earlier, refused with a message when malformed.
fn read_report(path: &Path) -> Result<TrainReport, Failure> {
    serde_json::from_slice(&read_file(path)?).map_err(|e| {
        Failure::Run(format!(
            "{} is not a gradcause training report ({e}); move it away to recompute that run",
            path.display()
        ))
    })
}
