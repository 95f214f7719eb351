//! Exact-match accuracy, the out-of-distribution lengths, and the analysis length (METHOD §4).

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use burn::prelude::*;
use burn::tensor::ExecutionError;

use crate::engine::backend::map_parallel;
use crate::engine::component::Intervention;
use crate::engine::model::Transformer;
use crate::engine::objective::{BatchTensors, exact_matches};
use crate::engine::rng::{Rng, Stream};
use crate::engine::task::{Batch, Task, ood_set};

/// Out-of-distribution evaluation settings. The defaults are the paper's.
#[derive(Config, Debug, PartialEq)]
pub struct EvalConfig {
    /// Sequence lengths the model never trained on.
    #[config(default = "vec![8, 9, 10, 11]")]
    pub ood_lengths: Vec<usize>,
    /// Batches in the evaluation set of each length.
    #[config(default = 50)]
    pub ood_batches: usize,
    /// Examples per evaluation batch.
    #[config(default = 64)]
    pub ood_batch_size: usize,
    /// Lowest base accuracy a length may have to be analysed.
    #[config(default = 0.2)]
    pub window_low: f64,
    /// Highest base accuracy a length may have to be analysed.
    #[config(default = 0.75)]
    pub window_high: f64,
    /// What the window is judged on: 0 for the fixed OOD set of each length (METHOD §4), k > 0
    /// for k fresh random examples of each length (the published pipeline's 100, METHOD §11).
    #[config(default = 0)]
    pub window_sample: usize,
}

impl EvalConfig {
    /// The fixed evaluation set of `length` for a task and seed.
    pub fn ood_set(&self, task: Task, seed: u64, length: usize) -> Vec<Batch> {
        ood_set(task, seed, length, self.ood_batches, self.ood_batch_size)
    }

    /// The window's sample of `length` when `window_sample` > 0: that many fresh examples from
    /// the seed's window stream, in batches of at most `ood_batch_size`.
    pub fn window_set(&self, task: Task, seed: u64, length: usize) -> Vec<Batch> {
        let mut rng = Rng::new(seed, Stream::WindowSample(length));
        fresh_batches(
            task,
            length..=length,
            self.window_sample,
            self.ood_batch_size,
            &mut rng,
        )
    }
}

/// `examples` fresh examples with lengths in `lengths` from `rng`, in batches of at most
/// `batch_size`, each batch drawn in turn ([`Batch::generate`]): the stop rule's sample, the
/// window's and C as published's.
pub fn fresh_batches(
    task: Task,
    lengths: RangeInclusive<usize>,
    examples: usize,
    batch_size: usize,
    rng: &mut Rng,
) -> Vec<Batch> {
    let mut batches = Vec::new();
    let mut remaining = examples;
    while remaining > 0 {
        let size = remaining.min(batch_size.max(1));
        batches.push(Batch::generate(
            task,
            size,
            *lengths.start(),
            *lengths.end(),
            rng,
        ));
        remaining -= size;
    }
    batches
}

/// Fraction of the examples in `batches` that `model` answers exactly right under `intervention`.
/// Batches run [`crate::engine::backend::parallel_width`] at a time; the per-batch counts are summed on
/// the device and read back once.
pub async fn accuracy(
    model: &Transformer,
    batches: &[Batch],
    intervention: &Intervention,
    device: &Device,
) -> Result<f64, ExecutionError> {
    let counts = map_parallel(device, 0..batches.len(), |b| {
        let tensors = BatchTensors::new(&batches[b], device);
        let logits = model.answer_logits(&tensors, intervention);
        exact_matches(logits, &tensors).sum()
    });
    let correct = counts
        .into_iter()
        .fold(Tensor::<1>::zeros([1], device), |sum, count| sum + count);
    let total: usize = batches.iter().map(|b| b.size).sum();
    let correct: f32 = correct.into_scalar_async().await?;
    Ok(f64::from(correct) / total.max(1) as f64)
}

/// Base accuracy per OOD length and the length chosen for analysis.
#[derive(Clone, Debug, PartialEq)]
pub struct OodEvaluation {
    /// Exact-match accuracy of each OOD length on its fixed set.
    pub accuracy: BTreeMap<usize, f64>,
    /// With a window sample, the accuracy of each length on it: what chose the length.
    pub window_accuracy: Option<BTreeMap<usize, f64>>,
    /// The analysis length, or why the seed is skipped.
    pub analysis_length: Result<usize, String>,
}

/// Evaluates every OOD length of `config` and picks the analysis length, on the fixed sets or,
/// with a window sample, on it.
pub async fn evaluate_ood(
    model: &Transformer,
    task: Task,
    seed: u64,
    config: &EvalConfig,
    device: &Device,
) -> Result<OodEvaluation, ExecutionError> {
    let none = Intervention::none();
    let mut by_length = BTreeMap::new();
    let mut window = BTreeMap::new();
    for &length in &config.ood_lengths {
        let set = config.ood_set(task, seed, length);
        by_length.insert(length, accuracy(model, &set, &none, device).await?);
        if config.window_sample > 0 {
            let sample = config.window_set(task, seed, length);
            window.insert(length, accuracy(model, &sample, &none, device).await?);
        }
    }
    let judged = if config.window_sample > 0 {
        &window
    } else {
        &by_length
    };
    Ok(OodEvaluation {
        analysis_length: analysis_length(judged, config.window_low, config.window_high),
        window_accuracy: (config.window_sample > 0).then_some(window),
        accuracy: by_length,
    })
}

/// The smallest length whose accuracy lies in `[low, high]`, or the reason none does, naming
/// the accuracy that ruled out each length.
pub fn analysis_length(
    accuracy: &BTreeMap<usize, f64>,
    low: f64,
    high: f64,
) -> Result<usize, String> {
    if let Some((&length, _)) = accuracy.iter().find(|&(_, &a)| (low..=high).contains(&a)) {
        return Ok(length);
    }
    let ruled_out: Vec<String> = accuracy
        .iter()
        .map(|(length, &a)| {
            let side = if a < low { "below" } else { "above" };
            format!("n={length}: {:.1}% ({side})", 100.0 * a)
        })
        .collect();
    Err(format!(
        "no OOD length has base accuracy within [{:.0}%, {:.0}%]: {}",
        100.0 * low,
        100.0 * high,
        ruled_out.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_length_inside_the_window_is_chosen() {
        let acc = BTreeMap::from([(8, 0.9), (9, 0.6), (10, 0.3), (11, 0.1)]);
        assert_eq!(analysis_length(&acc, 0.2, 0.75), Ok(9));
        // The window's ends are inside.
        let acc = BTreeMap::from([(8, 0.75), (9, 0.2)]);
        assert_eq!(analysis_length(&acc, 0.2, 0.75), Ok(8));
    }

    #[test]
    fn a_skip_names_the_accuracy_that_ruled_out_each_length() {
        let acc = BTreeMap::from([(8, 0.95), (9, 0.81), (10, 0.15), (11, 0.03)]);
        let reason = analysis_length(&acc, 0.2, 0.75).unwrap_err();
        assert!(reason.contains("[20%, 75%]"), "{reason}");
        assert!(reason.contains("n=8: 95.0% (above)"), "{reason}");
        assert!(reason.contains("n=10: 15.0% (below)"), "{reason}");
    }
}
