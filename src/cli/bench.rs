//! `gradcause bench`: the figures of BENCHMARKS.md, measured in one run.
//!
//! For the paper config (batch 64, lengths 3–7, so up to 17 tokens): milliseconds per training
//! step on each backend asked for, with a forward / backward / optimiser breakdown; milliseconds
//! per OOD forward batch; PyTorch's step on the same machine (`bench/torch_step.py`) and the
//! ratio; with `--analysis`, a whole training run and the full per-seed analysis after it; and
//! the peak resident memory of each part. Medians over `--steps` after `--warmup` untimed ones.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use burn::optim::GradientsParams;
use burn::prelude::*;
use clap::Args;
use gradcause::analysis::analyze::analyze;
use gradcause::analysis::stats;
use gradcause::engine::backend::{Backend, keep_threads_polling, threads_wait_actively};
use gradcause::engine::component::Intervention;
use gradcause::engine::eval::accuracy;
use gradcause::engine::objective::{BatchTensors, exact_matches, loss};
use gradcause::engine::simd::{self, Level};
use gradcause::engine::task::Task;
use gradcause::engine::train::{TrainError, Trainer, TrainingData, train};
use gradcause::experiment::config::ExperimentConfig;
use gradcause::experiment::provenance::{self, StageClock};
use gradcause::experiment::report::TrainReport;
use serde::Serialize;

use super::{Failure, run_error, write_file};

/// The flags of `gradcause bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The task whose batches are timed.
    #[arg(long, default_value = "sort")]
    task: Task,
    /// The seed of the model and the batches.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Backends to time, comma-separated: cpu, wgpu.
    #[arg(long, value_delimiter = ',', default_value = "cpu")]
    backends: Vec<Backend>,
    /// Timed training steps (and OOD batches) per backend.
    #[arg(long, default_value_t = 30)]
    steps: usize,
    /// Untimed steps first (allocations, kernel compilation, autotuning).
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Also time PyTorch's step with `bench/torch_step.py` and print the ratio.
    #[arg(long)]
    pytorch: bool,
    /// The Python that has torch installed.
    #[arg(long, default_value = "python3")]
    python: String,
    /// Also train to the stop rule on the first backend and time the full analysis after it.
    /// A seed outside the accuracy window is analysed at its first OOD length regardless.
    #[arg(long)]
    analysis: bool,
    /// Write the figures as JSON here too.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Keep the project's kernels at this vector width or narrower: sse2, avx2, avx512 (default:
    /// the widest the CPU has). gemm's matrix products take the widest regardless.
    #[arg(long)]
    simd: Option<Level>,
    /// Also time the CPU step on 1, 2, 4, … threads up to this run's, each as one whole-batch
    /// step (1 micro-batch) and cut into as many micro-batches as threads (and PyTorch's step on
    /// as many threads, with --pytorch).
    #[arg(long)]
    scaling: bool,
}

/// Every figure of one run.
#[derive(Debug, Serialize)]
struct Figures {
    task: Task,
    seed: u64,
    /// rayon's threads (`RAYON_NUM_THREADS`), and PyTorch's.
    threads: usize,
    /// The CPU's model name.
    cpu: String,
    /// The vector width the project's kernels ran at.
    simd: String,
    /// How rayon's threads waited for work during a step: `active` (polling) or `passive`
    /// (`GRADCAUSE_WAIT_POLICY=passive`: asleep until woken).
    wait: &'static str,
    steps: Vec<StepFigures>,
    pytorch: Option<serde_json::Value>,
    /// gradcause's CPU step over PyTorch's, medians.
    cpu_over_pytorch: Option<f64>,
    /// The same ratio of the fastest steps: on a machine whose speed varies from one second to
    /// the next (a shared VM), the cost of a step with the least interference.
    cpu_over_pytorch_fastest: Option<f64>,
    analysis: Option<AnalysisFigures>,
    /// With --scaling: the CPU step per thread count and micro-batch count.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scaling: Vec<ScalingFigures>,
}

/// The CPU's training step on some threads, cut into some micro-batches.
#[derive(Debug, Serialize)]
struct ScalingFigures {
    threads: usize,
    micro_batches: usize,
    median_ms: f64,
    min_ms: f64,
    /// PyTorch's step on as many threads, median (with --pytorch).
    pytorch_median_ms: Option<f64>,
}

/// One backend's training step and OOD forward batch.
#[derive(Debug, Serialize)]
struct StepFigures {
    backend: Backend,
    median_ms: f64,
    mean_ms: f64,
    min_ms: f64,
    /// The same step taken apart (each phase read back before the next starts).
    forward_ms: f64,
    backward_ms: f64,
    optimizer_ms: f64,
    /// One batch of the n = 8 OOD set: forward and exact-match count.
    ood_batch_ms: f64,
    /// Peak resident memory while this backend ran, KiB (Linux only).
    peak_kib: Option<u64>,
    /// Minor page faults per timed training step (fresh pages the allocator got from the
    /// kernel; Linux only).
    page_faults_per_step: Option<f64>,
}

/// A training run and the per-seed analysis after it.
#[derive(Debug, Serialize)]
struct AnalysisFigures {
    backend: Backend,
    train_steps: usize,
    train_s: f64,
    ood_evaluation_s: f64,
    length: usize,
    analysis_s: f64,
    /// Where the analysis time went, per step it reports progress on (the clean pass is in
    /// `gradients`, the joint ablations in `pruning`); what follows the last step is
    /// `analysis_s` less these.
    analysis_steps: BTreeMap<String, f64>,
    /// Analysis time over training time.
    ratio: f64,
    train_peak_kib: Option<u64>,
    analysis_peak_kib: Option<u64>,
}

/// Measures, prints, and optionally writes the figures as JSON.
pub async fn bench(args: &BenchArgs) -> Result<(), Failure> {
    if args.steps == 0 {
        return Err(Failure::Usage("--steps must be at least 1".into()));
    }
    if let Some(level) = args.simd {
        if !simd::available().contains(&level) {
            return Err(Failure::Usage(format!("this CPU has no {}", level.name())));
        }
        simd::limit_to(level);
    }
    let threads = provenance::threads();
    let machine = provenance::Machine::this(threads);
    let mut figures = Figures {
        task: args.task,
        seed: args.seed,
        threads,
        cpu: machine.cpu.clone(),
        simd: machine.simd.clone(),
        wait: if threads_wait_actively() {
            "active"
        } else {
            "passive"
        },
        steps: Vec::new(),
        pytorch: None,
        cpu_over_pytorch: None,
        cpu_over_pytorch_fastest: None,
        analysis: None,
        scaling: Vec::new(),
    };
    println!(
        "gradcause bench: paper config, {} (seed {}), batch 64, lengths 3-7; {threads} threads waiting {}ly; {}, kernels at {}",
        args.task, args.seed, figures.wait, machine.cpu, machine.simd
    );
    for &backend in &args.backends {
        let device = backend.device().await.map_err(run_error)?;
        let step = time_steps(args, backend, &device)
            .await
            .map_err(run_error)?;
        println!(
            "{backend:>5}: training step {:.1} ms median ({:.1} mean, {:.1} min) = forward {:.1} + backward {:.1} + optimiser {:.1}; OOD batch {:.1} ms; peak {}; {} page faults a step",
            step.median_ms,
            step.mean_ms,
            step.min_ms,
            step.forward_ms,
            step.backward_ms,
            step.optimizer_ms,
            step.ood_batch_ms,
            kib(step.peak_kib),
            step.page_faults_per_step
                .map_or("unknown".into(), |faults| format!("{faults:.0}"))
        );
        figures.steps.push(step);
    }

    let mut pytorch_failure = None;
    if args.pytorch {
        match run_pytorch(args, threads) {
            Ok(torch) => {
                let torch_ms = torch["median_ms"].as_f64().unwrap_or(f64::NAN);
                let mkl_path = torch["matrix_products"].as_str();
                let matrix_products = match mkl_path {
                    Some(path) => format!("MKL's matrix products on its path for {path}"),
                    None => "no MKL path known".into(),
                };
                println!(
                    "torch: training step {torch_ms:.1} ms median = forward {:.1} + backward {:.1} + optimiser {:.1} ({}; its kernels at {}, {matrix_products})",
                    torch["forward_ms"].as_f64().unwrap_or(f64::NAN),
                    torch["backward_ms"].as_f64().unwrap_or(f64::NAN),
                    torch["optimizer_ms"].as_f64().unwrap_or(f64::NAN),
                    torch["framework"].as_str().unwrap_or("PyTorch"),
                    torch["kernels"].as_str().unwrap_or("an unknown width"),
                );
                if let Some(cpu) = figures.steps.iter().find(|s| s.backend == Backend::Cpu) {
                    let ratio = cpu.median_ms / torch_ms;
                    let fastest = cpu.min_ms / torch["min_ms"].as_f64().unwrap_or(f64::NAN);
                    println!(
                        "ratio: gradcause cpu / PyTorch = {ratio:.2}x (target <= 1.0x); fastest steps {fastest:.2}x"
                    );
                    if simd::widest() == Level::Avx512
                        && mkl_path.is_some_and(|path| !path.contains("AVX-512"))
                    {
                        println!(
                            "note: this CPU has AVX-512 but PyTorch's MKL does not use it here (MKL chooses by vendor), so the ratio flatters gradcause; `PYTORCH_MKL_INTEL_PATHS=1 scripts/bench-threads` measures MKL on its AVX-512 path (BENCHMARKS.md)"
                        );
                    }
                    figures.cpu_over_pytorch = Some(ratio);
                    figures.cpu_over_pytorch_fastest = Some(fastest);
                }
                figures.pytorch = Some(torch);
            }
            Err(message) => pytorch_failure = Some(message),
        }
    }

    if args.analysis {
        let backend = args.backends[0];
        let device = backend.device().await.map_err(run_error)?;
        let analysis = time_analysis(args, backend, &device).await?;
        println!(
            "analysis on {backend}: training {} steps {:.1} s (peak {}), OOD evaluation {:.1} s, analysis at n={} {:.1} s (peak {}) = {:.1}% of training (target <= 45%: every reading, every score, raw G and slot; issue 36)",
            analysis.train_steps,
            analysis.train_s,
            kib(analysis.train_peak_kib),
            analysis.ood_evaluation_s,
            analysis.length,
            analysis.analysis_s,
            kib(analysis.analysis_peak_kib),
            100.0 * analysis.ratio
        );
        let accounted: f64 = analysis.analysis_steps.values().sum();
        for (step, seconds) in &analysis.analysis_steps {
            println!("  {step}: {seconds:.1} s");
        }
        println!("  the rest: {:.1} s", analysis.analysis_s - accounted);
        figures.analysis = Some(analysis);
    }

    if args.scaling {
        figures.scaling = time_scaling(args, threads)?;
    }

    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&figures).expect("figures serialise") + "\n";
        write_file(path, json.as_bytes())?;
    }
    match pytorch_failure {
        Some(message) => Err(Failure::Run(message)),
        None => Ok(()),
    }
}

/// The paper config for the bench, with no stop-rule evaluation inside the timed steps.
fn step_config(args: &BenchArgs) -> ExperimentConfig {
    let mut config = ExperimentConfig::new(args.task, args.seed);
    let steps = args.warmup + args.steps + 1;
    config.train.max_steps = steps;
    config.train.eval_every = steps;
    config
}

async fn time_steps(
    args: &BenchArgs,
    backend: Backend,
    device: &Device,
) -> Result<StepFigures, Box<dyn std::error::Error>> {
    reset_peak_memory();
    let config = step_config(args);

    // The step exactly as training takes it.
    let mut faults_before_timed = None;
    let whole = step_times(args, &config, device, || {
        faults_before_timed = page_faults()
    })
    .await?;
    let page_faults_per_step = faults_before_timed
        .zip(page_faults())
        .map(|(before, after)| (after - before) as f64 / args.steps as f64);

    // The same work in phases, each synchronised by a read-back before the next starts, with
    // the threads kept polling as a training step keeps them.
    let autodiff = device.clone().autodiff();
    let mut model = config.model.init(config.seed, &autodiff);
    let mut optimizer = gradcause::engine::optimiser::adam();
    let mut batches = TrainingData::new(&config);
    let (mut forward, mut backward, mut update) = (Vec::new(), Vec::new(), Vec::new());
    for step in 0..args.warmup + args.steps {
        let t = &config.train;
        let batch = batches.next().expect("training data never ends");
        let started = Instant::now();
        keep_threads_polling(device);
        let tensors = BatchTensors::new(&batch, &autodiff);
        let logits = model.forward_batch(&tensors);
        let objective = loss(logits.clone(), &tensors);
        let correct = exact_matches(logits.detach(), &tensors).sum();
        Tensor::cat(vec![objective.clone().detach(), correct], 0)
            .into_data_async()
            .await?;
        let forwarded = Instant::now();
        let gradients = GradientsParams::from_grads(objective.backward(), &model);
        sync(&model.token_embedding.val()).await?;
        let backwarded = Instant::now();
        model = optimizer.step(t.lr, model, gradients);
        sync(&model.token_embedding.val()).await?;
        if step >= args.warmup {
            forward.push(between(started, forwarded));
            backward.push(between(forwarded, backwarded));
            update.push(ms(backwarded));
        }
    }

    // OOD forward batches at the first OOD length.
    let model = model.valid();
    let length = config.eval.ood_lengths[0];
    let set = config.eval.ood_set(config.task, config.seed, length);
    let mut ood = Vec::new();
    for (i, batch) in set
        .iter()
        .cycle()
        .take(args.warmup + args.steps)
        .enumerate()
    {
        let started = Instant::now();
        accuracy(
            &model,
            std::slice::from_ref(batch),
            &Intervention::none(),
            device,
        )
        .await?;
        if i >= args.warmup {
            ood.push(ms(started));
        }
    }

    Ok(StepFigures {
        backend,
        median_ms: median(&whole),
        mean_ms: stats::mean(&whole).unwrap_or(f64::NAN),
        min_ms: whole.iter().copied().fold(f64::INFINITY, f64::min),
        forward_ms: median(&forward),
        backward_ms: median(&backward),
        optimizer_ms: median(&update),
        ood_batch_ms: median(&ood),
        peak_kib: peak_memory(),
        page_faults_per_step,
    })
}

/// The CPU step on 1, 2, 4, … and `threads` threads (a pool of that many), as one whole batch,
/// in as many micro-batches as threads and in `threads` micro-batches, printed as a table beside
/// PyTorch's step on as many threads where `--pytorch` asks for it.
fn time_scaling(args: &BenchArgs, threads: usize) -> Result<Vec<ScalingFigures>, Failure> {
    let mut counts: Vec<usize> = std::iter::successors(Some(1), |t| Some(t * 2))
        .take_while(|&t| t < threads)
        .collect();
    counts.push(threads);
    println!("threads  micro-batches  step (median, min)  vs 1 thread whole-batch  PyTorch");
    let mut rows: Vec<ScalingFigures> = Vec::new();
    for &t in &counts {
        let torch = if args.pytorch {
            run_pytorch(args, t).map_err(Failure::Run)?["median_ms"].as_f64()
        } else {
            None
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .map_err(|e| Failure::Run(format!("could not start {t} threads: {e}")))?;
        // The whole batch; one micro-batch per thread; and the most threads' micro-batches, so
        // that the same step is timed on every thread count.
        let mut micro_batches = vec![1, t, threads];
        micro_batches.dedup();
        for k in micro_batches {
            let mut config = step_config(args);
            config.train.micro_batches = k;
            let steps = pool
                .install(|| pollster::block_on(step_times(args, &config, &Device::flex(), || {})));
            let steps = steps.map_err(run_error)?;
            let row = ScalingFigures {
                threads: t,
                micro_batches: k,
                median_ms: median(&steps),
                min_ms: steps.iter().copied().fold(f64::INFINITY, f64::min),
                pytorch_median_ms: torch,
            };
            let speedup = rows
                .first()
                .map_or(1.0, |one| one.median_ms / row.median_ms);
            println!(
                "{t:>7}  {k:>13}  {:>8.1} ms ({:.1})  {speedup:>22.2}x  {}",
                row.median_ms,
                row.min_ms,
                torch.map_or("-".into(), |ms| format!(
                    "{ms:.1} ms (ours {:.2}x)",
                    row.median_ms / ms
                ))
            );
            rows.push(row);
        }
    }
    Ok(rows)
}

/// The training step's times under `config` on `device`, as training takes it: `args.warmup`
/// untimed steps, `timed` called, then `args.steps` timed ones (on the threads of the pool it
/// runs in).
async fn step_times(
    args: &BenchArgs,
    config: &ExperimentConfig,
    device: &Device,
    timed: impl FnOnce(),
) -> Result<Vec<f64>, TrainError> {
    let mut trainer = Trainer::new(config, device);
    for _ in 0..args.warmup {
        trainer.step().await?;
    }
    timed();
    let mut times = Vec::with_capacity(args.steps);
    for _ in 0..args.steps {
        let started = Instant::now();
        trainer.step().await?;
        times.push(ms(started));
    }
    Ok(times)
}

/// Trains to the stop rule, evaluates out of distribution and runs the full analysis.
async fn time_analysis(
    args: &BenchArgs,
    backend: Backend,
    device: &Device,
) -> Result<AnalysisFigures, Failure> {
    let config = ExperimentConfig::new(args.task, args.seed);
    eprintln!(
        "training {} (seed {}) on {backend} to the stop rule...",
        config.task, config.seed
    );
    reset_peak_memory();
    let started = Instant::now();
    let trained = train(&config, device, |_| {}).await.map_err(run_error)?;
    let train_s = started.elapsed().as_secs_f64();
    let train_peak_kib = peak_memory();

    let started = Instant::now();
    let report = TrainReport::evaluate(&trained.model, &config, backend, None)
        .await
        .map_err(run_error)?;
    let ood_evaluation_s = started.elapsed().as_secs_f64();
    let length = report.analysis_length.unwrap_or(config.eval.ood_lengths[0]);

    eprintln!("analysing at n={length}...");
    reset_peak_memory();
    let started = Instant::now();
    let mut quiet = ();
    let mut clock = StageClock::new(&mut quiet);
    let ood = config.eval.ood_set(config.task, config.seed, length);
    analyze(
        &trained.model,
        &config.analysis,
        &ood,
        config.seed,
        &mut clock,
    )
    .await
    .map_err(run_error)?;
    let analysis_s = started.elapsed().as_secs_f64();
    let analysis_steps = clock.steps();
    Ok(AnalysisFigures {
        backend,
        train_steps: trained.summary.steps,
        train_s,
        ood_evaluation_s,
        length,
        analysis_s,
        analysis_steps,
        ratio: analysis_s / train_s,
        train_peak_kib,
        analysis_peak_kib: peak_memory(),
    })
}

/// Runs `bench/torch_step.py` with the same task, seed, steps and threads.
fn run_pytorch(args: &BenchArgs, threads: usize) -> Result<serde_json::Value, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/torch_step.py");
    eprintln!("timing PyTorch ({script})...");
    let output = Command::new(&args.python)
        .arg(script)
        .args(["--task", args.task.name()])
        .args(["--seed", &args.seed.to_string()])
        .args(["--steps", &args.steps.to_string()])
        .args(["--warmup", &args.warmup.to_string()])
        .args(["--threads", &threads.to_string()])
        .output()
        .map_err(|e| format!("could not run {}: {e}", args.python))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or("no message");
        return Err(format!(
            "the PyTorch benchmark failed ({last}); install torch with `pip install -r bench/requirements.txt`"
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("the PyTorch benchmark printed no JSON object: {e}"))
}

/// Waits until `tensor` (and so everything it depends on) has been computed.
async fn sync(tensor: &Tensor<2>) -> Result<(), burn::tensor::ExecutionError> {
    tensor.clone().slice([0..1, 0..1]).into_data_async().await?;
    Ok(())
}

/// Milliseconds since `since`.
fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// Milliseconds from `start` to `end`.
fn between(start: Instant, end: Instant) -> f64 {
    (end - start).as_secs_f64() * 1e3
}

fn median(values: &[f64]) -> f64 {
    stats::median(values).unwrap_or(f64::NAN)
}

/// Starts a new peak-memory measurement (Linux: resets VmHWM; elsewhere nothing).
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The peak resident memory since the last reset, KiB (Linux only).
fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The process's minor page faults so far (Linux only): field 10 of `/proc/self/stat`.
fn page_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields = stat.rsplit_once(')')?.1;
    fields.split_whitespace().nth(7)?.parse().ok()
}

fn kib(value: Option<u64>) -> String {
    value.map_or("unknown".into(), |k| {
        format!("{:.0} MiB", k as f64 / 1024.0)
    })
}
