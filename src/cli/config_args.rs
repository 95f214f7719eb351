//! Command-line flags for every config field.

use clap::Args;
use gradcause::ablation::Ablation;
use gradcause::attribution::GWeights;
use gradcause::config::ExperimentConfig;
use gradcause::model::Positions;
use gradcause::task::Task;

/// Every METHOD.md default, settable; unset flags keep the paper's value.
#[derive(Args, Debug, Default)]
pub struct ConfigArgs {
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
    /// Longest input, in positions; at least 2 x longest length + 2 [default: 32].
    #[arg(long, help_heading = "Model")]
    context: Option<usize>,
    /// Positions: shifted (each training example at a random offset), learned (always from 0)
    /// or none (no position embedding) [default: shifted].
    #[arg(long, help_heading = "Model")]
    positions: Option<Positions>,
    /// Adam learning rate, > 0 [default: 0.001].
    #[arg(long, allow_negative_numbers = true, help_heading = "Training")]
    lr: Option<f64>,
    /// Examples per training batch [default: 64].
    #[arg(long, help_heading = "Training")]
    batch_size: Option<usize>,
    /// Shortest training length n, >= 1 [default: 3].
    #[arg(long, help_heading = "Training")]
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
    /// Hero/Bloat thresholds t, comma-separated [default: 4,6,8].
    #[arg(long, value_delimiter = ',', help_heading = "Analysis")]
    thresholds: Option<Vec<usize>>,
    /// The threshold that picks what pruning removes; one of --thresholds [default: 6].
    #[arg(long, help_heading = "Analysis")]
    threshold: Option<usize>,
    /// The reading of G shown first and kept in checkpoints: wv-wout or wvo-inout (reports hold
    /// both) [default: wv-wout].
    #[arg(long, help_heading = "Analysis")]
    g_weights: Option<GWeights>,
    /// Ablation shown first for pruning and superadditivity: mean, mean-pos, zero or resample
    /// (reports hold all four) [default: mean].
    #[arg(long, help_heading = "Analysis")]
    pruning_ablation: Option<Ablation>,
    /// Examples averaged into each attention pattern [default: 20].
    #[arg(long, help_heading = "Analysis")]
    attention_examples: Option<usize>,
    /// Midpoint steps of integrated gradients [default: 8].
    #[arg(long, help_heading = "Analysis")]
    ig_steps: Option<usize>,
    /// Evaluation batches integrated gradients run on, the first ones [default: 4].
    #[arg(long, help_heading = "Analysis")]
    ig_batches: Option<usize>,
    /// How many components pruning by each score removes, comma-separated [default: 2,4,6].
    #[arg(long, value_delimiter = ',', help_heading = "Analysis")]
    prune_counts: Option<Vec<usize>>,
    /// Evaluation batches pruning by score is measured on, the first ones [default: 25].
    #[arg(long, help_heading = "Analysis")]
    prune_batches: Option<usize>,
    /// Also analyse snapshots taken every this many training steps; 0 for none [default: 0].
    #[arg(long, help_heading = "Analysis")]
    checkpoint_every: Option<usize>,
}

/// Replaces `slot` by `value` when one is given.
fn set<T: Clone>(slot: &mut T, value: &Option<T>) {
    if let Some(v) = value {
        *slot = v.clone();
    }
}

impl ConfigArgs {
    /// The G reading given with `--g-weights`, or the default.
    pub fn g_weights(&self) -> GWeights {
        self.g_weights.unwrap_or(GWeights::WvWout)
    }

    /// The ablation given with `--pruning-ablation`, or the default.
    pub fn ablation(&self) -> Ablation {
        self.pruning_ablation.unwrap_or(Ablation::Mean)
    }

    /// The position scheme given with `--positions`, if any.
    pub fn positions(&self) -> Option<Positions> {
        self.positions
    }

    /// The paper's config for `task` and `seed` with every given flag applied, validated.
    pub fn resolve(&self, task: Task, seed: u64) -> Result<ExperimentConfig, String> {
        let mut c = ExperimentConfig::new(task, seed);
        set(&mut c.model.layers, &self.layers);
        set(&mut c.model.heads, &self.heads);
        set(&mut c.model.d_model, &self.d_model);
        set(&mut c.model.d_ff, &self.d_ff);
        set(&mut c.model.context, &self.context);
        set(&mut c.model.positions, &self.positions);
        set(&mut c.train.lr, &self.lr);
        set(&mut c.train.batch_size, &self.batch_size);
        set(&mut c.train.min_length, &self.min_length);
        set(&mut c.train.max_length, &self.max_length);
        set(&mut c.train.eval_every, &self.eval_every);
        set(&mut c.train.eval_examples, &self.eval_examples);
        set(&mut c.train.target_accuracy, &self.target_accuracy);
        set(&mut c.train.max_steps, &self.max_steps);
        set(&mut c.eval.ood_lengths, &self.ood_lengths);
        set(&mut c.eval.ood_batches, &self.ood_batches);
        set(&mut c.eval.ood_batch_size, &self.ood_batch_size);
        set(&mut c.eval.window_low, &self.window_low);
        set(&mut c.eval.window_high, &self.window_high);
        set(&mut c.analysis.thresholds, &self.thresholds);
        set(&mut c.analysis.threshold, &self.threshold);
        set(&mut c.analysis.g_weights, &self.g_weights);
        set(&mut c.analysis.pruning_ablation, &self.pruning_ablation);
        set(&mut c.analysis.attention_examples, &self.attention_examples);
        set(&mut c.analysis.ig_steps, &self.ig_steps);
        set(&mut c.analysis.ig_batches, &self.ig_batches);
        set(&mut c.analysis.prune_counts, &self.prune_counts);
        set(&mut c.analysis.prune_batches, &self.prune_batches);
        set(&mut c.analysis.checkpoint_every, &self.checkpoint_every);
        c.validate().map_err(|e| e.to_string())?;
        Ok(c)
    }
}
