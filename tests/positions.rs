//! The position schemes of METHOD §2: `shifted` gives each training example its own offset and
//! so trains every position of the context, `learned` never trains positions past the longest
//! training example, `none` has no position parameters at all.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::module::Module;
use burn::prelude::*;
use gradcause::engine::backend::Backend;
use gradcause::engine::model::{ModelConfig, Positions};
use gradcause::engine::objective::{BatchTensors, loss};
use gradcause::engine::task::Task;
use gradcause::engine::train::{TrainConfig, Trainer, TrainingData};
use gradcause::engine::weights::{from_safetensors, to_safetensors};
use gradcause::experiment::config::ExperimentConfig;
use gradcause::experiment::permalink::{from_query, to_query};
use gradcause::experiment::report::{TrainReport, train_and_evaluate};

/// The paper's context and training lengths on a narrow model.
fn config(positions: Positions, seed: u64) -> ExperimentConfig {
    let mut config = ExperimentConfig::new(Task::Reverse, seed);
    config.model = ModelConfig::new()
        .with_layers(1)
        .with_heads(2)
        .with_d_model(16)
        .with_d_ff(32)
        .with_positions(positions);
    config.train = TrainConfig::new()
        .with_lr(3e-3)
        .with_eval_every(5)
        .with_eval_examples(64)
        .with_max_steps(5);
    config.eval.ood_lengths = vec![8];
    config.eval.ood_batches = 1;
    config.eval.ood_batch_size = 8;
    // Three components: thresholds below three.
    config.analysis.thresholds = vec![1, 2];
    config.analysis.threshold = 2;
    config.analysis.prune_counts = vec![1, 2];
    config.validate().unwrap();
    config
}

#[test]
fn shifted_offsets_are_per_example_in_range_and_reproducible() {
    let shifted = config(Positions::Shifted, 42);
    let batches: Vec<_> = TrainingData::new(&shifted).take(5).collect();
    for batch in &batches {
        let offsets = batch
            .offsets
            .as_ref()
            .expect("shifted batches have offsets");
        assert_eq!(offsets.len(), batch.size);
        let highest = shifted.model.context - batch.positions;
        assert!(offsets.iter().all(|&o| o <= highest), "{offsets:?}");
        // Per example, not per batch.
        assert!(offsets.iter().any(|&o| o != offsets[0]), "{offsets:?}");
        let ids = batch.position_ids().unwrap();
        assert_eq!(ids[0], offsets[0]);
        assert_eq!(ids[batch.positions - 1], offsets[0] + batch.positions - 1);
        assert!(ids.iter().all(|&p| p < shifted.model.context));
    }
    let again: Vec<_> = TrainingData::new(&shifted).take(5).collect();
    assert_eq!(batches, again, "the same seed gives the same offsets");
    let other: Vec<_> = TrainingData::new(&config(Positions::Shifted, 43))
        .take(1)
        .collect();
    assert_ne!(batches[0].offsets, other[0].offsets);

    // The examples are those `learned` draws; only the offsets come on top of them.
    let learned: Vec<_> = TrainingData::new(&config(Positions::Learned, 42))
        .take(1)
        .collect();
    assert_eq!(learned[0].offsets, None);
    assert_eq!(learned[0].examples, batches[0].examples);
    assert!(
        TrainingData::new(&config(Positions::None, 42))
            .take(3)
            .all(|b| b.offsets.is_none())
    );

    // Evaluation starts at position 0: the OOD sets carry no offsets.
    assert!(
        shifted
            .eval
            .ood_set(shifted.task, 42, 8)
            .iter()
            .all(|b| b.offsets.is_none())
    );
}

/// Rows of the position embedding whose gradient is non-zero over `steps` training batches.
fn trained_rows(positions: Positions, steps: usize) -> Vec<bool> {
    let config = config(positions, 42);
    let device = Device::flex().autodiff();
    let model = config.model.init(config.seed, &device);
    let total = TrainingData::new(&config)
        .take(steps)
        .map(|batch| {
            let tensors = BatchTensors::new(&batch, &device);
            loss(model.forward_batch(&tensors), &tensors)
        })
        .reduce(|a, b| a + b)
        .unwrap();
    let gradients = total.backward();
    let table = model.position_embedding.as_ref().unwrap();
    let grad = table.grad(&gradients).expect("the table has a gradient");
    let per_row: Vec<f32> = grad
        .abs()
        .sum_dim(1)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    per_row.iter().map(|&g| g > 0.0).collect()
}

#[test]
fn shifted_trains_every_position_and_learned_only_the_first_sixteen() {
    let shifted = trained_rows(Positions::Shifted, 8);
    assert_eq!(shifted.len(), 32);
    assert!(
        shifted.iter().all(|&t| t),
        "untrained rows under shifted: {shifted:?}"
    );

    // An n = 7 example's inputs end at position 15: positions 16..32 never see a gradient.
    let learned = trained_rows(Positions::Learned, 8);
    assert!(learned[..16].iter().all(|&t| t), "{learned:?}");
    assert!(learned[16..].iter().all(|&t| !t), "{learned:?}");
}

#[test]
fn none_has_no_position_parameters_and_trains() {
    let none = config(Positions::None, 7);
    let learned = config(Positions::Learned, 7);
    let device = Device::flex();
    let without = none.model.init(none.seed, &device);
    let with = learned.model.init(learned.seed, &device);
    assert!(without.position_embedding.is_none());
    assert_eq!(
        with.num_params() - without.num_params(),
        learned.model.context * learned.model.d_model
    );

    let mut trainer = Trainer::new(&none, &device);
    let first = pollster::block_on(trainer.step()).unwrap().loss;
    let mut last = first;
    while trainer.stopped().is_none() {
        last = pollster::block_on(trainer.step()).unwrap().loss;
    }
    assert!(
        first.is_finite() && last.is_finite() && last < first,
        "{first} -> {last}"
    );
    let model = trainer.finish().expect("training stopped").model;
    assert_eq!(model.config(), none.model);

    // The weights file keeps the scheme and the context.
    let bytes = pollster::block_on(to_safetensors(&model)).unwrap();
    let back = from_safetensors(&bytes, &device).unwrap();
    assert_eq!(back.config(), none.model);
}

#[test]
fn shifted_and_learned_weights_reload_with_their_scheme() {
    for positions in [Positions::Shifted, Positions::Learned] {
        let config = config(positions, 3);
        let model = config.model.init(3, &Device::flex());
        let bytes = pollster::block_on(to_safetensors(&model)).unwrap();
        let back = from_safetensors(&bytes, &Device::flex()).unwrap();
        assert_eq!(back.config().positions, positions);
    }
}

#[test]
fn the_setting_is_named_the_same_everywhere_and_refuses_other_values() {
    assert_eq!(
        ExperimentConfig::new(Task::Sort, 1).model.positions,
        Positions::Shifted
    );
    let mut learned = ExperimentConfig::new(Task::Sort, 1);
    learned.model.positions = Positions::Learned;
    let query = to_query(&learned);
    assert!(query.contains("positions=learned"), "{query}");
    assert_eq!(from_query(&query).unwrap(), learned);
    let refused = from_query("positions=rotary").unwrap_err();
    assert!(
        refused.contains("`positions`") && refused.contains("`shifted`, `learned` or `none`"),
        "{refused}"
    );
    let json = serde_json::to_value(&learned).unwrap();
    assert_eq!(json["model"]["positions"], "learned");
}

#[test]
fn reports_written_before_the_setting_load_as_learned() {
    let config = config(Positions::Shifted, 5);
    let device = Device::flex();
    let (_, report) =
        pollster::block_on(train_and_evaluate(&config, Backend::Cpu, &device, |_| {})).unwrap();
    let mut json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["config"]["model"]["positions"], "shifted");
    let back: TrainReport = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, report);

    json["config"]["model"]
        .as_object_mut()
        .unwrap()
        .remove("positions");
    let old: TrainReport = serde_json::from_value(json).unwrap();
    assert_eq!(old.config.model.positions, Positions::Learned);
}

#[test]
fn the_study_writes_a_report_per_run_resumes_and_tabulates() {
    let dir = std::env::temp_dir().join(format!("gradcause-study-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let study = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gradcause"))
            .args([
                "positions",
                "--tasks",
                "reverse",
                "--schemes",
                "shifted,none",
            ])
            .args(["--seeds", "1,2"])
            .args(common::TINY_RUN_FLAGS)
            .arg("--out-dir")
            .arg(&dir)
            .args(extra)
            .output()
            .unwrap()
    };
    let first = study(&[]);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    for name in ["shifted-seed1", "shifted-seed2", "none-seed1", "none-seed2"] {
        let path = dir.join(format!("reverse-{name}.json"));
        let report: TrainReport = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            report.config.model.positions.name(),
            name.split('-').next().unwrap()
        );
        assert_eq!(report.ood_accuracy.len(), 2);
    }
    let csv = std::fs::read_to_string(dir.join("positions.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "task,positions,seed,steps,stop_reason,ood_8,ood_9,analysis_length,in_window"
    );
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(
        lines[1].starts_with("reverse,shifted,1,3,max_steps,"),
        "{csv}"
    );
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("reverse  shifted  "), "{stdout}");
    assert!(stdout.contains(" of 2"), "{stdout}");

    // A second run reads the reports back instead of training again.
    let second = study(&[]);
    assert!(second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(stderr.matches("not recomputed").count(), 4, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.join("positions.csv")).unwrap(),
        csv
    );

    // A study run in parts: the table holds every run in the directory.
    let part = study(&["--seeds", "1"]);
    assert!(part.status.success());
    assert_eq!(
        std::fs::read_to_string(dir.join("positions.csv")).unwrap(),
        csv
    );

    // The schemes come from --schemes; another position value is refused, with the field.
    let both = study(&["--positions", "learned"]);
    assert!(!both.status.success());
    assert!(String::from_utf8_lossy(&both.stderr).contains("--positions"));
    let unknown = study(&["--schemes", "rotary"]);
    assert!(!unknown.status.success());
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        message.contains("rotary") && message.contains("`shifted`, `learned` or `none`"),
        "{message}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
