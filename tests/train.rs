//! Training on the CPU backend: a reduced model learns reversal of short sequences, and the
//! report and weights it produces are complete and reload exactly.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::prelude::*;
use gradcause::engine::backend::Backend;
use gradcause::engine::component::Intervention;
use gradcause::engine::eval::accuracy;
use gradcause::engine::flat::laid_end_to_end;
use gradcause::engine::model::ModelConfig;
use gradcause::engine::passes::{Alone, Helper, HelperPass, Helpers, Share};
use gradcause::engine::task::Task;
use gradcause::engine::train::{Progress, StopReason, TrainConfig, Trainer};
use gradcause::engine::weights::{from_safetensors, to_safetensors};
use gradcause::experiment::config::ExperimentConfig;
use gradcause::experiment::report::train_and_evaluate;

/// A model and task small enough to learn in seconds on a CPU.
fn reduced(task: Task, seed: u64) -> ExperimentConfig {
    let mut config = ExperimentConfig::new(task, seed);
    config.model = ModelConfig::new()
        .with_layers(2)
        .with_heads(2)
        .with_d_model(64)
        .with_d_ff(128)
        .with_context(16);
    config.train = TrainConfig::new()
        .with_lr(3e-3)
        .with_batch_size(32)
        .with_min_length(2)
        .with_max_length(4)
        .with_eval_every(100)
        .with_eval_examples(256)
        .with_max_steps(2_000);
    config.eval.ood_lengths = vec![5, 6];
    config.eval.ood_batches = 4;
    // Six components: thresholds and pruning counts must stay below six.
    config.analysis.thresholds = vec![1, 2];
    config.analysis.threshold = 2;
    config.analysis.prune_counts = vec![2, 4];
    config.validate().unwrap();
    config
}

#[test]
fn a_reduced_model_learns_reversal_of_short_sequences() {
    let config = reduced(Task::Reverse, 42);
    let device = Device::flex();
    let mut seen = Vec::new();
    let (trained, report) =
        pollster::block_on(train_and_evaluate(&config, Backend::Cpu, &device, |p| {
            seen.push(*p)
        }))
        .unwrap();

    let summary = report.train.as_ref().expect("a training summary");
    assert_eq!(
        summary.stop_reason,
        StopReason::Target,
        "{:?}",
        summary.curve
    );
    assert!(summary.train_accuracy >= 0.9);
    assert!(
        summary.steps < config.train.max_steps,
        "{:?}",
        summary.curve
    );
    assert_eq!(summary.steps % config.train.eval_every, 0);
    assert_eq!(seen.len(), summary.steps);
    assert_eq!(seen.last().unwrap().stopped, Some(StopReason::Target));
    // The curve has one point per evaluation, and the loss came down.
    assert_eq!(summary.curve.len(), summary.steps / config.train.eval_every);
    let (first, last) = (summary.curve[0], *summary.curve.last().unwrap());
    assert!(last.1 < first.1 / 2.0, "loss {} -> {}", first.1, last.1);

    // The stop-rule accuracy holds on fresh training-distribution examples.
    let fresh = gradcause::engine::task::ood_set(Task::Reverse, 7, 3, 8, 32);
    let held = pollster::block_on(accuracy(
        &trained.model,
        &fresh,
        &Intervention::none(),
        &device,
    ))
    .unwrap();
    assert!(held >= 0.85, "accuracy on fresh length-3 examples {held}");

    assert_eq!(
        report.ood_accuracy.keys().copied().collect::<Vec<_>>(),
        vec![5, 6]
    );
    assert_eq!(
        report.analysis_length.is_some(),
        report.skip_reason.is_none()
    );
}

#[test]
fn the_step_budget_stops_training() {
    let mut config = reduced(Task::Sort, 1);
    config.train.max_steps = 7;
    config.train.eval_every = 5;
    config.train.eval_examples = 16;
    let mut trainer = Trainer::new(&config, &Device::flex());
    let mut evaluations = Vec::new();
    while trainer.stopped().is_none() {
        let p = pollster::block_on(trainer.step()).unwrap();
        if p.eval_accuracy.is_some() {
            evaluations.push(p.step);
        }
    }
    assert_eq!(evaluations, vec![5, 7]);
    let summary = trainer.finish().unwrap().summary;
    assert_eq!(summary.stop_reason, StopReason::MaxSteps);
    assert_eq!(summary.steps, 7);
}

/// Training steps taken at once from several threads outside rayon's pool (as tests and library
/// users may) all finish, with the same values as one at a time: the pool's threads, kept polling
/// for work during each step (`backend::keep_threads_polling`), never hold up for good a job
/// they were waiting in when they started polling.
#[test]
fn trainers_on_several_threads_at_once_all_finish_with_the_same_values() {
    let train = |seed: u64| {
        let mut config = reduced(Task::Sort, seed);
        config.train.max_steps = 12;
        config.train.eval_every = 2;
        config.train.eval_examples = 128;
        let mut trainer = Trainer::new(&config, &Device::flex());
        let mut losses = Vec::new();
        while trainer.stopped().is_none() {
            losses.push(pollster::block_on(trainer.step()).unwrap().loss);
        }
        losses
    };
    let (done, finished) = std::sync::mpsc::channel();
    for seed in 0..4 {
        let done = done.clone();
        std::thread::spawn(move || done.send((seed, train(seed))));
    }
    for _ in 0..4 {
        let (seed, losses) = finished
            .recv_timeout(std::time::Duration::from_secs(300))
            .expect("every trainer finishes within five minutes");
        assert_eq!(losses, train(seed), "seed {seed} alone");
    }
}

#[test]
fn an_accuracy_exactly_at_the_target_stops_training() {
    // The first evaluation's accuracy, with a target out of reach; then the same run with that
    // accuracy as its target (training is deterministic) must stop there.
    let first_evaluation = |target: f64| {
        let mut config = reduced(Task::Sort, 2);
        config.train.eval_every = 5;
        config.train.eval_examples = 16;
        config.train.max_steps = 10;
        config.train.target_accuracy = target;
        let mut trainer = Trainer::new(&config, &Device::flex());
        loop {
            let p = pollster::block_on(trainer.step()).unwrap();
            if let Some(accuracy) = p.eval_accuracy {
                return (accuracy, p.stopped);
            }
        }
    };
    let (accuracy, stopped) = first_evaluation(1.0);
    assert!(
        accuracy < 1.0 && stopped.is_none(),
        "{accuracy} {stopped:?}"
    );
    assert_eq!(
        first_evaluation(accuracy),
        (accuracy, Some(StopReason::Target))
    );
    assert_eq!(first_evaluation(accuracy + 1e-9).1, None);
}

#[test]
fn a_nan_loss_stops_training_with_a_message() {
    let mut config = reduced(Task::Sort, 1);
    config.train.lr = 1e30;
    let mut trainer = Trainer::new(&config, &Device::flex());
    let error = (0..20)
        .find_map(|_| pollster::block_on(trainer.step()).err())
        .expect("an absurd learning rate must break training");
    assert!(error.to_string().contains("NaN or infinite"), "{error}");
}

#[test]
fn saved_weights_reload_to_the_same_model() {
    let mut config = reduced(Task::Sort, 5);
    config.train.max_steps = 3;
    let device = Device::flex();
    let mut trainer = Trainer::new(&config, &device);
    while trainer.stopped().is_none() {
        pollster::block_on(trainer.step()).unwrap();
    }
    let model = trainer.finish().unwrap().model;
    let bytes = pollster::block_on(to_safetensors(&model)).unwrap();
    let reloaded = from_safetensors(&bytes, &device).unwrap();

    let set = config.eval.ood_set(Task::Sort, 5, 5);
    let tokens = gradcause::engine::objective::BatchTensors::new(&set[0], &device).inputs;
    let a: Vec<f32> = model
        .forward(tokens.clone(), &Intervention::none())
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let b: Vec<f32> = reloaded
        .forward(tokens, &Intervention::none())
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert_eq!(a, b);
    // The same model saves to the same bytes, every time and after a reload.
    for again in [&model, &model, &model, &reloaded] {
        assert!(pollster::block_on(to_safetensors(again)).unwrap() == bytes);
    }
}

#[test]
fn malformed_weights_are_refused_with_a_message() {
    let device = Device::flex();
    let error = from_safetensors(b"not a safetensors file", &device).unwrap_err();
    assert!(
        error.to_string().contains("not a safetensors file"),
        "{error}"
    );

    let model = reduced(Task::Sort, 5).model.init(5, &device);
    let bytes = pollster::block_on(to_safetensors(&model)).unwrap();
    // Drop one tensor: the file no longer describes a whole model.
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let kept: Vec<_> = file
        .tensors()
        .into_iter()
        .filter(|(name, _)| name != "blocks.1.attn.b_k")
        .collect();
    let partial = safetensors::serialize(kept, None).unwrap();
    let error = from_safetensors(&partial, &device).unwrap_err();
    assert!(
        error.to_string().contains("`blocks.1.attn.b_k` is missing"),
        "{error}"
    );
}

/// The training's Adam gives Burn's `Adam`'s values bit for bit (`common`).
#[test]
fn the_fused_and_the_flat_adam_step_as_burns_adam_does() {
    common::fused_and_flat_adam_give_burns_values();
}

/// Under `pad-between` the loss is the mean cross-entropy over the answer tokens alone: PAD in a
/// short example's prompt and after its answer counts for nothing.
#[test]
fn the_pad_between_loss_counts_only_the_answer_tokens() {
    use gradcause::engine::objective::{BatchTensors, loss};
    use gradcause::engine::task::{Batch, BatchLayout, Example, PAD};
    let config = reduced(Task::Sort, 4);
    let model = config.model.init(4, &Device::flex());
    let examples: Vec<Example> = [vec![5, 3], vec![9, 1, 4, 4]]
        .into_iter()
        .map(|x| Example {
            y: Task::Sort.answer(&x),
            x,
        })
        .collect();
    let batch = Batch::laid_out(examples, BatchLayout::PadBetween);
    let tensors = BatchTensors::new(&batch, &Device::flex());
    let logits = model.forward_batch(&tensors);
    let ours: f32 = loss(logits.clone(), &tensors).into_scalar();
    let logits: Vec<f32> = logits.into_data().try_to_vec().unwrap();
    let vocab = logits.len() / batch.mask.len();
    // By hand: positions from (prompt width − 1) on whose target is not PAD; prompt width 6.
    let (mut sum, mut count) = (0.0f64, 0);
    for b in 0..batch.size {
        for t in 5..batch.positions {
            let p = b * batch.positions + t;
            let target = batch.targets[p];
            if target == PAD {
                continue;
            }
            let row = &logits[p * vocab..(p + 1) * vocab];
            let top = row.iter().fold(f32::MIN, |m, &v| m.max(v)) as f64;
            let log_sum = row
                .iter()
                .map(|&v| (v as f64 - top).exp())
                .sum::<f64>()
                .ln()
                + top;
            sum += log_sum - row[target as usize] as f64;
            count += 1;
        }
    }
    assert_eq!(count, 3 + 5, "y1..yn and END of each example");
    assert!(
        (f64::from(ours) - sum / count as f64).abs() < 1e-5,
        "{ours} vs {}",
        sum / count as f64
    );
}

#[test]
fn a_kept_model_is_evaluated_again_under_other_evaluation_settings_and_never_trained_again() {
    let root = std::env::temp_dir().join(format!("gradcause-kept-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let sweep = |out: &str, extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gradcause"))
            .args(["sweep", "--task", "sort", "--seeds", "7"])
            .args(common::TINY_RUN_FLAGS)
            // A window no untrained model reaches: the seed is skipped, nothing is analysed.
            .args(["--window-low", "0.99", "--window-high", "1"])
            .arg("--models")
            .arg(root.join("models"))
            .arg("--out-dir")
            .arg(root.join(out))
            .args(extra)
            .output()
            .unwrap()
    };
    let report = |out: &str| -> gradcause::experiment::report::TrainReport {
        let path = root.join(out).join("sort-seed7.json");
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    let first = sweep("fixed-sets", &["--window-sample", "0"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = sweep("window-sample", &["--window-sample", "16"]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert!(stderr.contains("evaluated out of distribution"), "{stderr}");
    assert!(!stderr.contains("training sort"), "{stderr}");
    let (fixed, sampled) = (report("fixed-sets"), report("window-sample"));
    assert_eq!(fixed.window_accuracy, None);
    let window = sampled
        .window_accuracy
        .expect("the window's sample was evaluated");
    assert_eq!(window.keys().copied().collect::<Vec<_>>(), [8, 9]);
    assert_eq!(sampled.config.eval.window_sample, 16);
    // The same model: its training record and its accuracy on the fixed sets are the kept ones.
    assert_eq!(sampled.train, fixed.train);
    assert_eq!(sampled.ood_accuracy, fixed.ood_accuracy);
    // Other training settings need another model.
    let other = sweep("other-lr", &["--lr", "0.002"]);
    assert!(!other.status.success());
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert!(stderr.contains("other settings"), "{stderr}");
    let _ = std::fs::remove_dir_all(&root);
}

/// Trains `config` on the CPU to its stop rule, `helpers` making some of the passes: every
/// step's progress, and the final weights as saved.
fn train_to_the_end(
    config: &ExperimentConfig,
    helpers: &mut impl Helpers,
) -> (Vec<Progress>, Vec<u8>) {
    let mut trainer = Trainer::new(config, &Device::flex());
    let mut progress = Vec::new();
    while trainer.stopped().is_none() {
        progress.push(pollster::block_on(trainer.step_with(helpers)).unwrap());
    }
    let weights = pollster::block_on(to_safetensors(&trainer.finish().unwrap().model));
    (progress, weights.unwrap())
}

/// Micro-batches: cut in two, a batch's loss and gradients are its whole-batch step's (up to the
/// order of float sums), and the same count of micro-batches trains to the same values bit for
/// bit whether one thread runs them or two.
#[test]
fn micro_batches_give_the_whole_batch_step_and_never_depend_on_the_threads() {
    let run = |micro_batches: usize, threads: usize| {
        let mut config = reduced(Task::Sort, 5);
        config.train.micro_batches = micro_batches;
        config.train.max_steps = 6;
        config.train.eval_every = 3;
        config.train.eval_examples = 64;
        config.validate().unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| train_to_the_end(&config, &mut Alone))
    };
    let (whole, _) = run(1, 1);
    let (one_thread, weights) = run(2, 1);
    let (two_threads, same_weights) = run(2, 2);
    assert_eq!(one_thread, two_threads);
    assert!(weights == same_weights, "the same weights after training");
    // The first step's loss and batch accuracy are the whole batch's, summed over two parts.
    assert!((one_thread[0].loss - whole[0].loss).abs() < 1e-5 * whole[0].loss);
    assert_eq!(one_thread[0].train_accuracy, whole[0].train_accuracy);
    // Later steps follow the same training closely (the sums' order differs in the last bits).
    for (part, all) in one_thread.iter().zip(&whole) {
        assert!(
            (part.loss - all.loss).abs() < 1e-3 * all.loss,
            "{part:?} vs {all:?}"
        );
    }
}

/// Helpers in this process, as the page's helper workers are in theirs: each keeps its own copy
/// of the model, and reads what the trainer sends it in the order sent, at once.
struct InProcess {
    /// The model's shape.
    model: ModelConfig,
    /// How many helpers the trainer is to find.
    count: usize,
    /// Their copies of the model, once replicated.
    helpers: Vec<Helper>,
    /// The passes each helper made when last started, or why it could not.
    made: Vec<Option<Result<Vec<HelperPass>, String>>>,
}

impl Helpers for InProcess {
    fn count(&self) -> usize {
        self.count
    }

    async fn replicate(&mut self, parameters: &[f32], lr: f64) -> Result<(), String> {
        self.helpers = (0..self.count)
            .map(|_| Helper::new(&self.model, parameters.to_vec(), lr, &Device::flex()))
            .collect::<Result<_, _>>()?;
        self.made = vec![None; self.count];
        Ok(())
    }

    fn start(&mut self, h: usize, share: Share) -> Result<(), String> {
        let helper = &mut self.helpers[h - 1];
        let made = pollster::block_on(helper.passes(&share)).map(|stats| {
            (share.parts.iter().zip(stats))
                .map(|((k, _), stats)| HelperPass {
                    gradients: helper.gradients(*k).expect("made").to_vec(),
                    stats,
                })
                .collect()
        });
        self.made[h - 1] = Some(made);
        Ok(())
    }

    async fn finish(&mut self, h: usize) -> Result<Vec<HelperPass>, String> {
        self.made[h - 1].take().ok_or("not started")?
    }

    fn hand(&mut self, h: usize, step: usize, gradients: &[(usize, &[f32])]) -> Result<(), String> {
        for (k, made) in gradients {
            self.helpers[h - 1].receive(step, *k, made.to_vec())?;
        }
        Ok(())
    }

    fn hand_sum(&mut self, h: usize, step: usize, sum: &[f32]) -> Result<(), String> {
        self.helpers[h - 1].receive_sum(step, sum.to_vec())
    }
}

/// Micro-batches made partly by helpers (each with its own copy of the model, stepped with the
/// gradients handed over: one helper is handed the parts, several the sum) train to the same
/// values bit for bit as all made by the trainer, and every helper's copy ends as the trainer's
/// model, the idle ones' too (5 helpers for 2 micro-batches beside the trainer's).
#[test]
fn micro_batches_made_by_helpers_train_to_the_same_values() {
    let mut config = reduced(Task::Reverse, 3);
    config.train.micro_batches = 3;
    config.train.max_steps = 4;
    config.train.eval_every = 2;
    config.train.eval_examples = 32;
    config.validate().unwrap();
    let (alone, weights) = train_to_the_end(&config, &mut Alone);
    let final_parameters = {
        let trained = from_safetensors(&weights, &Device::flex()).unwrap();
        let flat = laid_end_to_end(&trained, None).into_data();
        flat.try_into_vec::<f32>().unwrap()
    };
    for count in [1, 2, 5] {
        let mut helpers = InProcess {
            model: config.model.clone(),
            count,
            helpers: Vec::new(),
            made: Vec::new(),
        };
        let (helped, helped_weights) = train_to_the_end(&config, &mut helpers);
        assert_eq!(helped, alone, "{count} helpers");
        assert!(
            helped_weights == weights,
            "the same weights with {count} helpers"
        );
        for (h, helper) in helpers.helpers.iter().enumerate() {
            let copy = pollster::block_on(helper.parameters()).unwrap();
            assert!(
                copy == final_parameters,
                "helper {} of {count} in step",
                h + 1
            );
        }
    }
}

/// A helper asked for a step its copy of the model has not reached, or handed gradients (or
/// their sum) of the wrong length, of another step or twice, says so instead of making passes on
/// another model.
#[test]
fn a_helper_out_of_step_says_so() {
    let config = reduced(Task::Reverse, 3);
    let device = Device::flex();
    let parameters = {
        let model = config.model.init(1, &device);
        laid_end_to_end(&model, None)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
    };
    let count = parameters.len();
    let mut helper = Helper::new(&config.model, parameters, 1e-3, &device).unwrap();
    let share = |step| Share {
        step,
        micro_batches: 2,
        parts: Vec::new(),
        target_count: 10,
    };
    let why = pollster::block_on(helper.passes(&share(1))).unwrap_err();
    assert!(
        why.contains("step 1") && why.contains("after 0 steps"),
        "{why}"
    );
    let why = helper.receive(0, 0, vec![0.0; count]).unwrap_err();
    assert!(why.contains("before that step's passes"), "{why}");
    assert!(
        pollster::block_on(helper.passes(&share(0)))
            .unwrap()
            .is_empty()
    );
    let why = helper.receive(0, 0, vec![0.0; count - 1]).unwrap_err();
    assert!(why.contains(&format!("{} gradients", count - 1)), "{why}");
    let why = helper.receive(0, 2, vec![0.0; count]).unwrap_err();
    assert!(why.contains("micro-batch 2 of a step of 2"), "{why}");
    helper.receive(0, 0, vec![0.0; count]).unwrap();
    let why = helper.receive(0, 0, vec![0.0; count]).unwrap_err();
    assert!(why.contains("came twice"), "{why}");
    // The second micro-batch's gradients complete the step.
    helper.receive(0, 1, vec![0.0; count]).unwrap();
    assert!(
        pollster::block_on(helper.passes(&share(1)))
            .unwrap()
            .is_empty()
    );
    // So does a sum of the right length, in place of the parts.
    let why = helper.receive_sum(2, vec![0.0; count]).unwrap_err();
    assert!(why.contains("step 2's gradients after 1 steps"), "{why}");
    let why = helper.receive_sum(1, vec![0.0; 5]).unwrap_err();
    assert!(why.contains("5 gradients came"), "{why}");
    helper.receive_sum(1, vec![0.0; count]).unwrap();
    assert!(
        pollster::block_on(helper.passes(&share(2)))
            .unwrap()
            .is_empty()
    );
    let why = Helper::new(&config.model, vec![0.0; 3], 1e-3, &device)
        .err()
        .unwrap();
    assert!(why.contains("3 parameters came"), "{why}");
}

/// A whole seed trained in two micro-batches, evaluated and analysed, reports the same on one
/// thread as on two (where and how long each stage ran aside).
#[test]
fn a_seed_in_micro_batches_reports_the_same_on_one_thread_and_on_two() {
    use gradcause::experiment::report::SeedReport;

    let mut config = reduced(Task::Sort, 8);
    config.train.micro_batches = 2;
    config.train.max_steps = 40;
    config.train.eval_every = 20;
    config.eval.window_low = 0.0;
    config.eval.window_high = 1.0;
    config.analysis.ig_steps = 2;
    config.analysis.prune_batches = 2;
    config.validate().unwrap();
    let report = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            pollster::block_on(async {
                let device = Device::flex();
                let (trained, run) = train_and_evaluate(&config, Backend::Cpu, &device, |_| {})
                    .await
                    .unwrap();
                let mut report = SeedReport::analyse(&trained.model, run, &[], &mut ())
                    .await
                    .unwrap();
                (report.run.trained, report.analysed) = (None, None);
                report
            })
        })
    };
    let one = report(1);
    assert!(one.analysis.is_some(), "the seed is analysed");
    assert!(one == report(2), "the same report on two threads");
}
