//! The native command-line tool.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use gradcause::backend::Backend;
use gradcause::config::ExperimentConfig;
use gradcause::report::train_and_evaluate;
use gradcause::task::{Example, Task, training_examples};
use gradcause::train::Progress;
use gradcause::weights::to_safetensors;
use indicatif::{ProgressBar, ProgressStyle};

/// Does gradient attribution tell the truth about a transformer? Train the paper's model on
/// sequence reversal or sorting and measure it.
#[derive(Parser, Debug)]
#[command(name = "gradcause", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print examples of a task as tokens and as readable text.
    Data(DataArgs),
    /// Train a model to its stop rule and evaluate it out of distribution (METHOD §3–4).
    Train(TrainArgs),
}

#[derive(Args, Debug)]
struct DataArgs {
    /// The task: reverse or sort.
    #[arg(long)]
    task: Task,
    /// The run's seed.
    #[arg(long)]
    seed: u64,
    /// Show the fixed OOD evaluation set of this length instead of training batches.
    #[arg(long)]
    length: Option<usize>,
    /// Number of examples to print.
    #[arg(long, default_value_t = 8)]
    count: usize,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Args, Debug)]
struct TrainArgs {
    /// The task: reverse or sort.
    #[arg(long)]
    task: Task,
    /// The run's seed.
    #[arg(long)]
    seed: u64,
    /// Where to compute: cpu (Burn flex) or wgpu (Vulkan, Metal, DX12).
    #[arg(long, default_value = "cpu")]
    backend: Backend,
    /// Write the JSON report here (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also save the trained weights as safetensors.
    #[arg(long)]
    save_weights: Option<PathBuf>,
    #[command(flatten)]
    config: ConfigArgs,
}

/// Every METHOD.md default, settable; unset flags keep the paper's value.
#[derive(Args, Debug, Default)]
struct ConfigArgs {
    /// Blocks L [default: 4].
    #[arg(long, help_heading = "Model")]
    layers: Option<usize>,
    /// Heads per block H; must divide d_model [default: 4].
    #[arg(long, help_heading = "Model")]
    heads: Option<usize>,
    /// Residual stream width [default: 128].
    #[arg(long, help_heading = "Model")]
    d_model: Option<usize>,
    /// MLP hidden width [default: 512].
    #[arg(long, help_heading = "Model")]
    d_ff: Option<usize>,
    /// Learned positions; at least 2 x longest length + 2 [default: 32].
    #[arg(long, help_heading = "Model")]
    context: Option<usize>,
    /// Adam learning rate, > 0 [default: 0.001].
    #[arg(long, allow_negative_numbers = true, help_heading = "Training")]
    lr: Option<f64>,
    /// Examples per training batch [default: 64].
    #[arg(long, help_heading = "Training")]
    batch_size: Option<usize>,
    /// Shortest training length n, >= 1 [default: 3].
    #[arg(long, allow_negative_numbers = true, help_heading = "Training")]
    min_length: Option<usize>,
    /// Longest training length n [default: 7].
    #[arg(long, help_heading = "Training")]
    max_length: Option<usize>,
    /// Steps between stop-rule evaluations [default: 250].
    #[arg(long, help_heading = "Training")]
    eval_every: Option<usize>,
    /// Fresh examples per stop-rule evaluation [default: 1024].
    #[arg(long, help_heading = "Training")]
    eval_examples: Option<usize>,
    /// Stop-rule accuracy, in (0, 1] [default: 0.9].
    #[arg(long, allow_negative_numbers = true, help_heading = "Training")]
    target_accuracy: Option<f64>,
    /// Step budget [default: 15000].
    #[arg(long, help_heading = "Training")]
    max_steps: Option<usize>,
    /// OOD lengths, comma-separated, outside the training range [default: 8,9,10,11].
    #[arg(long, value_delimiter = ',', help_heading = "Evaluation")]
    ood_lengths: Option<Vec<usize>>,
    /// Batches per OOD evaluation set [default: 50].
    #[arg(long, help_heading = "Evaluation")]
    ood_batches: Option<usize>,
    /// Examples per OOD batch [default: 64].
    #[arg(long, help_heading = "Evaluation")]
    ood_batch_size: Option<usize>,
    /// Lowest accuracy of an analysable length, in [0, 1] [default: 0.2].
    #[arg(long, allow_negative_numbers = true, help_heading = "Evaluation")]
    window_low: Option<f64>,
    /// Highest accuracy of an analysable length, in [0, 1] [default: 0.75].
    #[arg(long, allow_negative_numbers = true, help_heading = "Evaluation")]
    window_high: Option<f64>,
}

impl ConfigArgs {
    /// The paper's config for `task` and `seed` with every given flag applied, validated.
    fn resolve(&self, task: Task, seed: u64) -> Result<ExperimentConfig, String> {
        let mut c = ExperimentConfig::new(task, seed);
        let set = |slot: &mut usize, value: Option<usize>| {
            if let Some(v) = value {
                *slot = v;
            }
        };
        set(&mut c.model.layers, self.layers);
        set(&mut c.model.heads, self.heads);
        set(&mut c.model.d_model, self.d_model);
        set(&mut c.model.d_ff, self.d_ff);
        set(&mut c.model.context, self.context);
        set(&mut c.train.batch_size, self.batch_size);
        set(&mut c.train.min_length, self.min_length);
        set(&mut c.train.max_length, self.max_length);
        set(&mut c.train.eval_every, self.eval_every);
        set(&mut c.train.eval_examples, self.eval_examples);
        set(&mut c.train.max_steps, self.max_steps);
        set(&mut c.eval.ood_batches, self.ood_batches);
        set(&mut c.eval.ood_batch_size, self.ood_batch_size);
        c.train.lr = self.lr.unwrap_or(c.train.lr);
        c.train.target_accuracy = self.target_accuracy.unwrap_or(c.train.target_accuracy);
        c.eval.window_low = self.window_low.unwrap_or(c.eval.window_low);
        c.eval.window_high = self.window_high.unwrap_or(c.eval.window_high);
        if let Some(lengths) = &self.ood_lengths {
            c.eval.ood_lengths = lengths.clone();
        }
        c.validate().map_err(|e| e.to_string())?;
        Ok(c)
    }
}

/// Runs the tool; the exit code is 0 on success, 1 on failure, 2 on bad usage.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Data(args) => data(&args),
        Command::Train(args) => pollster::block_on(train(&args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Run(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Why a command failed.
enum Failure {
    /// The arguments are wrong.
    Usage(String),
    /// The work itself failed.
    Run(String),
}

fn run_error(e: impl std::fmt::Display) -> Failure {
    Failure::Run(e.to_string())
}

fn data(args: &DataArgs) -> Result<(), Failure> {
    let config = args
        .config
        .resolve(args.task, args.seed)
        .map_err(Failure::Usage)?;
    let examples: Vec<Example> = match args.length {
        Some(0) => return Err(Failure::Usage("--length must be >= 1".into())),
        Some(length) => config
            .eval
            .ood_set(config.task, config.seed, length)
            .into_iter()
            .flat_map(|batch| batch.examples)
            .take(args.count)
            .collect(),
        None => {
            let t = &config.train;
            training_examples(
                config.task,
                config.seed,
                t.batch_size,
                t.min_length,
                t.max_length,
            )
            .take(args.count)
            .collect()
        }
    };
    let source = match args.length {
        Some(length) => format!("OOD evaluation set, length {length}"),
        None => "training batches".to_string(),
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

async fn train(args: &TrainArgs) -> Result<(), Failure> {
    let config = args
        .config
        .resolve(args.task, args.seed)
        .map_err(Failure::Usage)?;
    let device = args.backend.device().await.map_err(run_error)?;
    eprintln!(
        "training {} (seed {}) on {}: up to {} steps",
        config.task, config.seed, args.backend, config.train.max_steps
    );
    let bar = progress_bar(config.train.max_steps as u64);
    let mut last_eval = None;
    let (model, report) = train_and_evaluate(&config, args.backend, &device, |p| {
        show_progress(&bar, p, &mut last_eval)
    })
    .await
    .map_err(run_error)?;
    bar.finish();

    eprintln!(
        "stopped after {} steps ({}), stop-rule accuracy {:.1}%",
        report.train.steps,
        report.train.stop_reason,
        100.0 * report.train.train_accuracy
    );
    for (length, accuracy) in &report.ood_accuracy {
        eprintln!("  OOD n={length}: {:.1}%", 100.0 * accuracy);
    }
    match (&report.analysis_length, &report.skip_reason) {
        (Some(length), _) => eprintln!("analysis length: {length}"),
        (None, Some(reason)) => eprintln!("seed skipped: {reason}"),
        (None, None) => {}
    }

    let json = serde_json::to_string_pretty(&report).expect("reports serialise");
    match &args.out {
        Some(path) => write_file(path, json.as_bytes())?,
        None => println!("{json}"),
    }
    if let Some(path) = &args.save_weights {
        let bytes = to_safetensors(&model).await.map_err(run_error)?;
        write_file(path, &bytes)?;
    }
    Ok(())
}

fn progress_bar(steps: u64) -> ProgressBar {
    let bar = ProgressBar::new(steps);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}  [{elapsed} < {eta}]")
            .expect("valid template"),
    );
    bar
}

/// Shows a step on the bar, with the latest stop-rule accuracy.
fn show_progress(bar: &ProgressBar, p: &Progress, last_eval: &mut Option<f64>) {
    *last_eval = p.eval_accuracy.or(*last_eval);
    let eval = last_eval
        .map(|a| format!("  stop-rule acc {:.1}%", 100.0 * a))
        .unwrap_or_default();
    bar.set_position(p.step as u64);
    bar.set_message(format!(
        "loss {:.3}  batch acc {:.1}%{eval}",
        p.loss,
        100.0 * p.train_accuracy
    ));
}

/// Writes `bytes` to `path` through a temporary file, so a failed write leaves any earlier file.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::Run(format!("could not write {}: {e}", path.display()));
    let temporary = path.with_extension("partial");
    std::fs::write(&temporary, bytes).map_err(fail)?;
    std::fs::rename(&temporary, path).map_err(fail)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
