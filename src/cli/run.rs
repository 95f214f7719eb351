//! `gradcause train`, `analyze` and `sweep`.

use std::path::Path;
use std::time::{Instant, SystemTime};

use burn::prelude::*;
use gradcause::analysis::ablation::Ablation;
use gradcause::analysis::analyze::Analysis;
use gradcause::engine::backend::Backend;
use gradcause::engine::model::{ModelConfig, Transformer};
use gradcause::engine::task::Task;
use gradcause::engine::train::Snapshot;
use gradcause::engine::weights::{from_safetensors, to_safetensors};
use gradcause::experiment::config::ExperimentConfig;
use gradcause::experiment::report::{SeedReport, TrainReport, train_and_evaluate};
use gradcause::report::paper::Reported;
use gradcause::report::summary::{PaperSeedSummary, SweepSummary};

use super::{
    AnalyzeArgs, BarObserver, Failure, SweepArgs, TrainArgs, progress_bar, read_file,
    read_reports_in, run_error, write_file,
};

/// A model to analyse, how it came about, and its training snapshots (if any).
pub(super) struct Subject {
    pub(super) model: Transformer,
    pub(super) run: TrainReport,
    pub(super) snapshots: Vec<Snapshot>,
}

/// Trains to the stop rule with a progress bar, then evaluates out of distribution.
pub(super) async fn train_model(
    config: &ExperimentConfig,
    backend: Backend,
    device: &Device,
) -> Result<Subject, Failure> {
    eprintln!(
        "training {} (seed {}) on {}: up to {} steps",
        config.task, config.seed, backend, config.train.max_steps
    );
    let bar = progress_bar(
        config.train.max_steps as u64,
        "{bar:30} {pos}/{len} steps  {msg}  [{elapsed} < {eta}]",
    );
    let mut last_eval = None;
    let started = Instant::now();
    let result = train_and_evaluate(config, backend, device, |p| {
        last_eval = p.eval_accuracy.or(last_eval);
        let eval = last_eval
            .map(|a| format!("  stop-rule acc {:.1}%", 100.0 * a))
            .unwrap_or_default();
        bar.set_position(p.step as u64);
        bar.set_message(format!(
            "loss {:.3}  batch acc {:.1}%{eval}",
            p.loss,
            100.0 * p.train_accuracy
        ));
    })
    .await
    .map_err(run_error);
    bar.finish_and_clear();
    let (trained, run) = result?;
    eprintln!(
        "trained and evaluated in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Subject {
        model: trained.model,
        run,
        snapshots: trained.snapshots,
    })
}

/// How training went and which length, if any, is analysed.
pub(super) fn print_run(report: &TrainReport) {
    let protocol = report.run_protocol();
    if protocol != "default" {
        eprintln!("protocol: {protocol}");
    }
    if let Some(t) = &report.train {
        eprintln!(
            "stopped after {} steps ({}), stop-rule accuracy {:.1}%",
            t.steps,
            t.stop_reason,
            100.0 * t.train_accuracy
        );
    }
    let window = report.window_accuracy.as_ref();
    for (length, accuracy) in &report.ood_accuracy {
        let sample = window
            .and_then(|w| w.get(length))
            .map_or(String::new(), |a| {
                format!(" (the window's sample: {:.1}%)", 100.0 * a)
            });
        eprintln!("  OOD n={length}: {:.1}%{sample}", 100.0 * accuracy);
    }
    match (&report.analysis_length, &report.skip_reason) {
        (Some(length), _) => eprintln!("analysis length: {length}"),
        (None, Some(reason)) => eprintln!("seed skipped: {reason}"),
        (None, None) => {}
    }
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("reports serialise") + "\n"
}

/// Writes `json` to `out`, or prints it.
fn emit(out: Option<&Path>, json: &str) -> Result<(), Failure> {
    match out {
        Some(path) => write_file(path, json.as_bytes()),
        None => {
            print!("{json}");
            Ok(())
        }
    }
}

async fn save_weights(model: &Transformer, path: Option<&Path>) -> Result<(), Failure> {
    if let Some(path) = path {
        write_file(path, &to_safetensors(model).await.map_err(run_error)?)?;
    }
    Ok(())
}

pub async fn train(args: &TrainArgs) -> Result<(), Failure> {
    let config = args
        .config
        .resolve(args.task, args.seed)
        .map_err(Failure::Usage)?;
    let device = args.backend.device().await.map_err(run_error)?;
    let subject = train_model(&config, args.backend, &device).await?;
    print_run(&subject.run);
    emit(args.out.as_deref(), &to_json(&subject.run))?;
    save_weights(&subject.model, args.save_weights.as_deref()).await
}

pub async fn analyze(args: &AnalyzeArgs) -> Result<(), Failure> {
    let mut config = args
        .config
        .resolve(args.task, args.seed)
        .map_err(Failure::Usage)?;
    let device = args.backend.device().await.map_err(run_error)?;
    let subject = match &args.weights {
        Some(path) => {
            let model = from_safetensors(&read_file(path)?, &device).map_err(run_error)?;
            // The weights say the shape; how they were first drawn is the config's to say.
            let shape = ModelConfig {
                init: config.model.init,
                ..model.config()
            };
            if config.model != ModelConfig::new() && config.model != shape {
                return Err(Failure::Usage(format!(
                    "the model's shape comes from {}: drop the --layers/--heads/--d-model/--d-ff/--context/--positions flags",
                    path.display()
                )));
            }
            config.model = shape;
            config
                .validate()
                .map_err(|e| Failure::Usage(e.to_string()))?;
            eprintln!("loaded {}; evaluating out of distribution", path.display());
            let run = TrainReport::evaluate(&model, &config, args.backend, None)
                .await
                .map_err(run_error)?;
            Subject {
                model,
                run,
                snapshots: Vec::new(),
            }
        }
        None => train_model(&config, args.backend, &device).await?,
    };
    print_run(&subject.run);
    let report = analyse(&subject).await?;
    if let Some(analysis) = &report.analysis {
        print_analysis(analysis, &config);
    }
    emit(args.out.as_deref(), &to_json(&report))?;
    save_weights(&subject.model, args.save_weights.as_deref()).await
}

/// The analysis of a model and its snapshots, timed.
async fn analyse(subject: &Subject) -> Result<SeedReport, Failure> {
    let started = Instant::now();
    let observer = &mut BarObserver::new();
    let report = SeedReport::analyse(
        &subject.model,
        subject.run.clone(),
        &subject.snapshots,
        observer,
    )
    .await
    .map_err(run_error)?;
    if report.analysis.is_some() {
        eprintln!("analysed in {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(report)
}

/// One seed's analysis as a table, under the configured G reading and ablation.
fn print_analysis(a: &Analysis, config: &ExperimentConfig) {
    let (g, ablation) = (config.analysis.g_weights, config.analysis.pruning_ablation);
    let t = config.analysis.threshold;
    let by_grad = &a.by_grad[&g];
    let rho = |x: Option<f64>| x.map_or("undefined".to_string(), |x| format!("{x:.3}"));
    eprintln!("\nbase accuracy {:.1}%", 100.0 * a.base_accuracy);
    let per_ablation: Vec<String> = Ablation::ALL
        .iter()
        .map(|c| format!("{c} {}", rho(by_grad.spearman[c])))
        .collect();
    let patching: Vec<String> = a
        .attribution_patching
        .iter()
        .map(|(c, p)| format!("{c} {}", rho(p.spearman)))
        .collect();
    eprintln!(
        "Spearman ρ of G ({g}): {}; attribution patching: {}",
        per_ablation.join(", "),
        patching.join(", ")
    );
    eprintln!(
        "\n{:<7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>6}  class ({ablation}, t={t})",
        "", "G", "C mean", "C m-pos", "C zero", "C resamp", "A", "Δ"
    );
    for (i, c) in a.components.iter().enumerate() {
        eprintln!(
            "{:<7} {:>9.5} {:>8.1}% {:>8.1}% {:>8.1}% {:>8.1}% {:>10.4} {:>6.1}  {:?}",
            c.name.to_string(),
            c.grad[&g],
            100.0 * c.causal[&Ablation::Mean],
            100.0 * c.causal[&Ablation::MeanPos],
            100.0 * c.causal[&Ablation::Zero],
            100.0 * c.causal[&Ablation::Resample],
            c.attribution_patching[&Ablation::Mean],
            by_grad.delta[&ablation][i],
            by_grad.class[&ablation][&t][i]
        );
    }
    let joint = |j: &Option<gradcause::analysis::analyze::JointAblation>| match j {
        Some(j) => format!(
            "{} → {:+.1}%",
            j.components
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("+"),
            100.0 * j.change
        ),
        None => "none".into(),
    };
    let pruning = &by_grad.pruning[&ablation];
    eprintln!(
        "\npruning ({ablation}): heroes {}; bloats {}",
        joint(&pruning.heroes),
        joint(&pruning.bloats)
    );
    if let Some(s) = &by_grad.superadditivity[&ablation] {
        eprintln!(
            "superadditivity: individual mean drop {:.1}%, joint drop {:.1}%, joint/Σ individual {}",
            100.0 * s.individual_mean,
            100.0 * s.joint_drop,
            s.additive_ratio
                .map_or("undefined".into(), |r| format!("{r:.2}×"))
        );
    }
}

/// The model of `config` kept in `dir` (see `gradcause sweep --models`), or a new one trained
/// and kept there. A kept model must have been trained under the same task, seed, model and
/// training settings; under other evaluation settings (the window's sample, the OOD sets) it is
/// evaluated out of distribution again, so one set of models serves every evaluation reading.
async fn kept_model(
    dir: &Path,
    config: &ExperimentConfig,
    backend: Backend,
    device: &Device,
) -> Result<Subject, Failure> {
    let base = dir.join(format!("{}-seed{}", config.task, config.seed));
    let (weights, record) = (
        base.with_extension("safetensors"),
        base.with_extension("train.json"),
    );
    if !(weights.exists() && record.exists()) {
        let subject = train_model(config, backend, device).await?;
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Run(format!("could not create {}: {e}", dir.display())))?;
        save_weights(&subject.model, Some(&weights)).await?;
        write_file(&record, to_json(&subject.run).as_bytes())?;
        return Ok(subject);
    }
    let run: TrainReport = serde_json::from_slice(&read_file(&record)?).map_err(|e| {
        Failure::Run(format!(
            "{} is not a training record ({e})",
            record.display()
        ))
    })?;
    let kept = &run.config;
    let same = kept.task == config.task
        && kept.seed == config.seed
        && kept.model == config.model
        && kept.train == config.train;
    if !same {
        return Err(Failure::Run(format!(
            "the model in {} was trained under other settings; use another --models folder",
            record.display()
        )));
    }
    let model = from_safetensors(&read_file(&weights)?, device).map_err(run_error)?;
    let run = if kept.eval == config.eval {
        eprintln!(
            "model kept in {}: analysed without training",
            weights.display()
        );
        // The analysis settings are this sweep's; training and evaluation are the record's.
        TrainReport {
            config: config.clone(),
            ..run
        }
    } else {
        eprintln!(
            "model kept in {}: evaluated out of distribution under this sweep's settings, then \
             analysed, without training",
            weights.display()
        );
        let evaluated = TrainReport::evaluate(&model, config, backend, run.train).await;
        TrainReport {
            trained: run.trained,
            ..evaluated.map_err(run_error)?
        }
    };
    Ok(Subject {
        model,
        run,
        snapshots: Vec::new(),
    })
}

/// The report of `seed` in the sweep directory `dir`.
pub(super) fn sweep_report_path(dir: &Path, task: Task, seed: u64) -> std::path::PathBuf {
    dir.join(format!("{task}-seed{seed}.json"))
}

/// Every per-seed analysis report directly in `dir`, in file-name order.
pub(super) fn read_seed_reports(dir: &Path) -> Result<Vec<SeedReport>, Failure> {
    read_reports_in(dir, read_report)
}

/// A report written earlier, refused with a message when malformed.
pub(super) fn read_report(path: &Path) -> Result<SeedReport, Failure> {
    serde_json::from_slice(&read_file(path)?).map_err(|e| {
        Failure::Run(format!(
            "{} is not a gradcause report ({e}); move it away to recompute that seed",
            path.display()
        ))
    })
}

pub async fn sweep(args: &SweepArgs) -> Result<(), Failure> {
    let dir = &args.out_dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::Run(format!("could not create {}: {e}", dir.display())))?;
    let configs = args
        .seeds
        .list
        .iter()
        .map(|&seed| args.config.resolve(args.task, seed))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::Usage)?;
    let device = args.backend.device().await.map_err(run_error)?;
    let started = Instant::now();
    for (i, config) in configs.iter().enumerate() {
        let path = sweep_report_path(dir, args.task, config.seed);
        eprintln!(
            "\n[{}/{}] {} seed {}",
            i + 1,
            configs.len(),
            args.task,
            config.seed
        );
        if path.exists() {
            let report = read_report(&path)?;
            if let Some(outdated) = report.outdated() {
                return Err(Failure::Run(format!(
                    "{}: {outdated}. Move it away (with --models, its model is kept and not \
                     trained again)",
                    path.display()
                )));
            }
            if report.run.config != *config {
                return Err(Failure::Run(format!(
                    "{} was made with a different config; use another --out-dir or move it away",
                    path.display()
                )));
            }
            eprintln!("report found in {}: not recomputed", path.display());
            continue;
        }
        let subject = match &args.models {
            Some(models) => kept_model(models, config, args.backend, &device).await?,
            None => train_model(config, args.backend, &device).await?,
        };
        print_run(&subject.run);
        let report = analyse(&subject).await?;
        write_file(&path, to_json(&report).as_bytes())?;
    }
    eprintln!("\nsweep done in {:.1} s", started.elapsed().as_secs_f64());

    // The summary covers every report in the directory, of either task.
    let mut reports = read_seed_reports(dir)?;
    reports.sort_by_key(|r| (r.run.task, r.run.seed));
    // Recorded as typed, with the binary's path shortened to its name.
    let command = std::iter::once("gradcause".to_string())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(first) = reports.iter().find_map(SeedReport::outdated) {
        return Err(Failure::Run(format!(
            "{} holds reports of another METHOD revision: {first}",
            dir.display()
        )));
    }
    let paper_seeds = Reported::shipped().seeds;
    let summary = SweepSummary::new(&reports, &paper_seeds, command, utc_now());
    write_file(&dir.join("summary.json"), to_json(&summary).as_bytes())?;
    let first_screen = PaperSeedSummary::from(&summary);
    write_file(
        &dir.join("paper-summary.json"),
        to_json(&first_screen).as_bytes(),
    )?;
    for by_g in summary.tasks.values() {
        for task_summary in by_g.values() {
            for (name, contents) in task_summary.csv_files() {
                write_file(&dir.join(name), contents.as_bytes())?;
            }
        }
    }
    let (g, ablation) = (args.config.g_weights(), args.config.ablation());
    if let Some(task_summary) = summary.tasks.get(&args.task).and_then(|by_g| by_g.get(&g)) {
        println!("{}", task_summary.text(ablation));
    }
    Ok(())
}

/// The current time in UTC, as `2026-11-24T05:40:00Z`.
fn utc_now() -> String {
    let seconds = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (year, month, day) = civil(seconds.div_euclid(86_400));
    let rest = seconds.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The civil date (year, month, day) of a day counted from 1970-01-01 (Howard Hinnant's
/// algorithm).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates_are_civil_dates() {
        // Spot checks of the day arithmetic against known dates.
        assert_eq!(super::civil(0), (1970, 1, 1));
        assert_eq!(super::civil(11_016), (2000, 2, 29));
        assert_eq!(super::civil(20_781), (2026, 11, 24));
    }
}
