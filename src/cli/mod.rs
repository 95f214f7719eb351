//! The native command-line tool: `gradcause data | train | analyze | sweep | positions | compare |
//! reproduction | ablate | bench`.

mod ablate;
mod allocator;
mod bench;
mod compare;
mod complete;
mod config_args;
mod data;
mod run;
mod study;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use gradcause::analysis::ablation::Ablation;
use gradcause::analysis::attribution::GWeights;
use gradcause::engine::backend::Backend;
use gradcause::engine::progress::Observer;
use gradcause::engine::task::Task;
use indicatif::{ProgressBar, ProgressStyle};

use config_args::ConfigArgs;

/// Does gradient attribution tell the truth about a transformer? Train the paper's model on
/// sequence reversal or sorting, and compare gradient magnitude with causal importance.
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
    /// Train (or load) a model, then compare gradients with ablations (METHOD §5–8, §10).
    Analyze(AnalyzeArgs),
    /// Train and analyse every seed, then print and save the across-seed tables (METHOD §9).
    Sweep(SweepArgs),
    /// The positions study: train every seed under each position scheme and evaluate out of
    /// distribution (no analysis), one report per run; write the table as CSV.
    Positions(PositionsArgs),
    /// The paper's numbers (reported.json) beside ours over a sweep's analysed seeds.
    Compare(CompareArgs),
    /// Write REPRODUCTION.md: the comparison, the positions study and what holds.
    Reproduction(ReproductionArgs),
    /// Accuracy of a saved model with some components ablated.
    Ablate(AblateArgs),
    /// Add to a sweep's reports what the decomposition's readings need and their analyses did
    /// not measure: C on the fresh examples under mean and zero ablation, and joint ablations
    /// (their models kept by `gradcause sweep --models`).
    Complete(CompleteArgs),
    /// Time the training step, OOD batches and (optionally) the analysis; compare with PyTorch.
    Bench(bench::BenchArgs),
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

#[derive(Args, Debug)]
struct AnalyzeArgs {
    /// The task: reverse or sort.
    #[arg(long)]
    task: Task,
    /// The run's seed (also fixes the OOD evaluation sets).
    #[arg(long)]
    seed: u64,
    /// Analyse these weights (safetensors, see the README) instead of training.
    #[arg(long)]
    weights: Option<PathBuf>,
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

/// The seeds a sweep or study runs: the paper's ten unless given.
#[derive(Args, Debug)]
struct Seeds {
    /// Seeds, comma-separated.
    #[arg(
        long = "seeds",
        value_name = "SEEDS",
        value_delimiter = ',',
        default_value = "42,123,456,789,1010,2020,3030,4040,5050,6060"
    )]
    list: Vec<u64>,
}

#[derive(Args, Debug)]
struct SweepArgs {
    /// The task: reverse or sort.
    #[arg(long)]
    task: Task,
    #[command(flatten)]
    seeds: Seeds,
    /// Directory for the per-seed reports, summary.json (and its part over the paper's seeds,
    /// paper-summary.json, which the page loads first) and the CSV tables. A seed whose report is
    /// already there is not recomputed; one made under another METHOD revision is refused (move
    /// it away, or keep its model with --models to analyse it again without training).
    #[arg(long)]
    out_dir: PathBuf,
    /// Where to compute: cpu (Burn flex) or wgpu (Vulkan, Metal, DX12).
    #[arg(long, default_value = "cpu")]
    backend: Backend,
    /// Keep each seed's trained model here (`{task}-seed{seed}.safetensors` and its training
    /// record `{task}-seed{seed}.train.json`); a seed whose model is there is analysed without
    /// training again (evaluated out of distribution again first where the evaluation settings
    /// differ from its record's; refused where the model or training settings do).
    #[arg(long)]
    models: Option<PathBuf>,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Args, Debug)]
struct PositionsArgs {
    /// Tasks, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "reverse,sort")]
    tasks: Vec<Task>,
    /// Position schemes, comma-separated, run in this order.
    #[arg(long, value_delimiter = ',', default_value = "shifted,none,learned")]
    schemes: Vec<gradcause::engine::model::Positions>,
    #[command(flatten)]
    seeds: Seeds,
    /// Directory for one report per run and `positions.csv`. A run whose report is already
    /// there is not recomputed.
    #[arg(long)]
    out_dir: PathBuf,
    /// Where to compute: cpu (Burn flex) or wgpu (Vulkan, Metal, DX12).
    #[arg(long, default_value = "cpu")]
    backend: Backend,
    /// Sweep directories (comma-separated) whose per-seed reports stand in for runs made under
    /// exactly the same config, instead of training them again.
    #[arg(long, value_delimiter = ',')]
    reuse: Vec<PathBuf>,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Args, Debug)]
struct CompareArgs {
    /// A sweep directory: its per-seed reports, and those of the folders in it (one per task).
    dir: PathBuf,
    /// The reading of G (METHOD §5): wv-wout or wvo-inout.
    #[arg(long, default_value = "wv-wout")]
    g_weights: GWeights,
    /// The ablation read as the paper's "mean ablation" (METHOD §6): mean, mean-pos, zero or
    /// resample.
    #[arg(long, default_value = "mean")]
    ablation: Ablation,
    /// Compare every seed of the sweep, not only the paper's ten.
    #[arg(long)]
    all_seeds: bool,
    /// Print a Markdown table instead of text.
    #[arg(long)]
    markdown: bool,
    /// For a sweep under protocol published: the switch sweeps, one folder per training scheme
    /// (`published+init=gpt2`) with one folder per task; missing folders are left out.
    #[arg(long, default_value = "assets/switches")]
    switches: PathBuf,
    /// For a sweep under protocol published: the sweep under METHOD's default.
    #[arg(long, default_value = "assets/sweep")]
    default_sweep: PathBuf,
    /// For a sweep under protocol published: the default sweep with `positions = none`.
    #[arg(long, default_value = "assets/sweep-none")]
    none_sweep: PathBuf,
}

#[derive(Args, Debug)]
struct ReproductionArgs {
    /// The sweep to compare with the paper (positions = shifted).
    #[arg(long, default_value = "assets/sweep")]
    sweep: PathBuf,
    /// The same seeds under positions = none (left out when the folder does not exist).
    #[arg(long, default_value = "assets/sweep-none")]
    sweep_none: PathBuf,
    /// The positions study's reports.
    #[arg(long, default_value = "assets/positions")]
    positions: PathBuf,
    /// The sweep under protocol published (left out when the folder does not exist).
    #[arg(long, default_value = "assets/sweep-published")]
    sweep_published: PathBuf,
    /// The switch sweeps, one folder per training scheme (`published+init=gpt2`) with one folder
    /// per task (left out when the folder does not exist).
    #[arg(long, default_value = "assets/switches")]
    switches: PathBuf,
    /// The file to write.
    #[arg(long, default_value = "REPRODUCTION.md")]
    out: PathBuf,
    /// The decomposition's data, which the page reads.
    #[arg(long, default_value = "assets/decomposition.json")]
    decomposition: PathBuf,
    /// The decomposition's forest plot of effects.
    #[arg(long, default_value = "docs/forest.svg")]
    forest: PathBuf,
    /// Write nothing; fail if the file differs from what would be written.
    #[arg(long)]
    check: bool,
}

#[derive(Args, Debug)]
struct CompleteArgs {
    /// A sweep directory: its per-seed reports, and those of the folders in it; each report
    /// that lacks a measurement is rewritten with it.
    dir: PathBuf,
    /// The folder of the sweep's kept models (`TASK-seedN.safetensors`).
    #[arg(long)]
    models: PathBuf,
    /// Where to compute: cpu (Burn flex) or wgpu (Vulkan, Metal, DX12).
    #[arg(long, default_value = "cpu")]
    backend: Backend,
}

#[derive(Args, Debug)]
struct AblateArgs {
    /// Saved weights (safetensors).
    #[arg(long)]
    weights: PathBuf,
    /// The task the weights were trained on.
    #[arg(long)]
    task: Task,
    /// The sequence length of the evaluation set.
    #[arg(long)]
    length: usize,
    /// Components to ablate together, comma-separated (e.g. L3_H3,L1_H1,L2_MLP).
    #[arg(long, value_delimiter = ',', required = true)]
    components: Vec<gradcause::engine::component::Component>,
    /// mean, zero or resample; all three when omitted.
    #[arg(long)]
    ablation: Option<Ablation>,
    /// The seed whose OOD evaluation set is used.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Batches in the evaluation set.
    #[arg(long, default_value_t = 50)]
    batches: usize,
    /// Where to compute: cpu (Burn flex) or wgpu (Vulkan, Metal, DX12).
    #[arg(long, default_value = "cpu")]
    backend: Backend,
}

/// Runs the tool; the exit code is 0 on success, 1 on failure, 2 on bad usage.
pub fn main() -> ExitCode {
    allocator::keep_freed_memory();
    let cli = Cli::parse();
    // On a thread of rayon's pool, so that the tensor operations' parallel loops start there
    // instead of handing each loop from this thread to the pool and sleeping until it is done.
    let result = rayon::scope(|_| match cli.command {
        Command::Data(args) => data::data(&args),
        Command::Train(args) => pollster::block_on(run::train(&args)),
        Command::Analyze(args) => pollster::block_on(run::analyze(&args)),
        Command::Sweep(args) => pollster::block_on(run::sweep(&args)),
        Command::Positions(args) => pollster::block_on(study::positions(&args)),
        Command::Compare(args) => compare::compare_command(&args),
        Command::Reproduction(args) => compare::reproduction(&args),
        Command::Ablate(args) => pollster::block_on(ablate::ablate(&args)),
        Command::Complete(args) => pollster::block_on(complete::complete(&args)),
        Command::Bench(args) => pollster::block_on(bench::bench(&args)),
    });
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

/// A progress bar on standard error.
fn progress_bar(length: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(length);
    bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
    bar
}

/// Shows the analysis' stages on a progress bar.
struct BarObserver(ProgressBar);

impl BarObserver {
    fn new() -> Self {
        Self(progress_bar(
            0,
            "{bar:30} {pos}/{len} {msg}  [{elapsed} < {eta}]",
        ))
    }
}

impl Observer for BarObserver {
    async fn progress(&mut self, stage: &str, done: usize, total: usize) {
        if self.0.message() != stage {
            self.0.reset();
            self.0.set_message(stage.to_string());
        }
        self.0.set_length(total as u64);
        self.0.set_position(done as u64);
    }
}

impl Drop for BarObserver {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Writes `bytes` to `path` through a temporary file, so a failed write leaves any earlier file.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::Run(format!("could not write {}: {e}", path.display()));
    // Renaming over a device (`--out /dev/null`, `/dev/stdout`), a pipe or a link would replace
    // it with a file: those are written in place.
    let in_place = std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_file());
    if in_place {
        std::fs::write(path, bytes).map_err(fail)?;
    } else {
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".partial");
        std::fs::write(&temporary, bytes).map_err(fail)?;
        std::fs::rename(&temporary, path).map_err(fail)?;
    }
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// Every report (`*-seed*.json`) directly in `dir`, in file-name order, each read by `read`.
fn read_reports_in<T>(
    dir: &Path,
    read: fn(&Path) -> Result<T, Failure>,
) -> Result<Vec<T>, Failure> {
    report_files(dir)?.iter().map(|p| read(p)).collect()
}

/// The entries of `dir`, by name.
fn entries(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Failure::Run(format!("could not list {}: {e}", dir.display())))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    Ok(paths)
}

/// The per-seed report files (`*-seed*.json`) in `dir`, by name.
fn report_files(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let is_report = |path: &PathBuf| {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        name.contains("-seed") && name.ends_with(".json")
    };
    Ok(entries(dir)?.into_iter().filter(is_report).collect())
}

/// The folders in `dir`, by name.
fn folders_in(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    Ok(entries(dir)?.into_iter().filter(|p| p.is_dir()).collect())
}

/// The per-seed report files of a sweep: in `dir` and in the folders in it, one level down (a
/// shipped sweep keeps each task in its own).
fn sweep_files(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let mut files = report_files(dir)?;
    for folder in folders_in(dir)? {
        files.extend(report_files(&folder)?);
    }
    Ok(files)
}

/// Reads a file, with its name in the error.
fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::Run(format!("could not read {}: {e}", path.display())))
}
