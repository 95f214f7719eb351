//! How much memory a run needs at its peak, estimated from its config, so that a config too large
//! for a browser tab is refused before it starts instead of crashing its worker part way.
//!
//! The estimate counts `f32` values: the model, its gradients and Adam's two moments; and the
//! activations a batch keeps from its forward pass for its backward pass, twice over for the
//! backward's own temporaries, per token: per layer twelve vectors of `d_model` (norms, queries,
//! keys, values, head outputs, residuals), two of `d_ff` (the MLP's input and GELU) and three
//! attention rows a head (scores, mask, probabilities); then the logits three times (logits, log
//! softmax, their gradient). The larger of a training batch and an OOD batch (the analysis takes
//! gradients on those) is the peak. It overstates the measured peak (88 MiB natively for the paper
//! config, BENCHMARKS.md) about twofold, which is the safe side.

use crate::engine::task::VOCAB_SIZE;
use crate::experiment::config::ExperimentConfig;

/// The most a page's worker should need: WebAssembly's 32-bit memory tops out at 4 GiB, and
/// its allocator needs room for fragmentation and the copies a step makes, so half of that.
pub const PAGE_BYTES: u64 = 2 << 30;

/// The estimated peak bytes of a run of `config` (see the module's documentation).
pub fn peak_bytes(config: &ExperimentConfig) -> u64 {
    let m = &config.model;
    let (d, d_ff, layers) = (m.d_model as u64, m.d_ff as u64, m.layers as u64);
    let vocab = VOCAB_SIZE as u64;
    let per_layer = 4 * d * d + 2 * d * d_ff + 9 * d + d_ff;
    let parameters = layers * per_layer + (vocab + m.context as u64) * d + 2 * d;
    // Model, gradients, two moments, and the stepped copy.
    let model = 5 * parameters;
    let batch = |examples: usize, longest: usize| {
        let positions = 2 * longest as u64 + 2;
        let tokens = examples as u64 * positions;
        let per_token =
            layers * (12 * d + 2 * d_ff + 3 * m.heads as u64 * positions) + 2 * d + 3 * vocab;
        2 * tokens * per_token
    };
    let training = batch(config.train.batch_size, config.train.max_length);
    let longest_ood = config.eval.ood_lengths.iter().copied().max().unwrap_or(0);
    let evaluation = batch(config.eval.ood_batch_size, longest_ood);
    4 * (model + training.max(evaluation))
}

/// `Err` with a message when a run of `config` would need more memory than a page's worker
/// can hold ([`PAGE_BYTES`]), naming the estimate and the settings that drive it.
pub fn fits_the_page(config: &ExperimentConfig) -> Result<(), String> {
    let needed = peak_bytes(config);
    if needed <= PAGE_BYTES {
        return Ok(());
    }
    Err(format!(
        "this config needs about {} of memory by estimate (batch size {}, OOD batch size {}, \
         d_model {}, d_ff {}, {} layers), more than a browser tab's worker can hold ({}); make \
         the batches or the model smaller, or run it with the command-line tool",
        size(needed),
        config.train.batch_size,
        config.eval.ood_batch_size,
        config.model.d_model,
        config.model.d_ff,
        config.model.layers,
        size(PAGE_BYTES)
    ))
}

/// `bytes` in MB or GB, two significant digits or more.
pub fn size(bytes: u64) -> String {
    let mb = bytes as f64 / 1e6;
    if mb < 1000.0 {
        format!("{mb:.0} MB")
    } else {
        format!("{:.1} GB", mb / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::task::Task;

    #[test]
    fn the_paper_config_fits_and_a_million_examples_a_batch_do_not() {
        let paper = ExperimentConfig::new(Task::Sort, 42);
        let needed = peak_bytes(&paper);
        // Above the measured native peak (88 MiB), well below the page's limit.
        assert!((92_000_000..400_000_000).contains(&needed), "{needed}");
        assert_eq!(fits_the_page(&paper), Ok(()));

        let mut huge = paper.clone();
        huge.train.batch_size = 1_000_000;
        let refused = fits_the_page(&huge).unwrap_err();
        assert!(refused.contains("batch size 1000000"), "{refused}");
        assert!(refused.contains(&size(peak_bytes(&huge))), "{refused}");
        let mut wide = paper;
        wide.model.d_model = 8192;
        wide.model.d_ff = 32768;
        assert!(fits_the_page(&wide).is_err());
    }

    #[test]
    fn sizes_read_in_megabytes_or_gigabytes() {
        assert_eq!(size(95_400_000), "95 MB");
        assert_eq!(size(2 << 30), "2.1 GB");
    }
}
