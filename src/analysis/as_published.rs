//! Causal importance as the published pipeline measures it (METHOD §11, `analysis.causal_sample`).
//!
//! Each component is ablated on its own k fresh random examples of the analysis length (the
//! pipeline's 100), a head by its `slot` and an MLP by its mean (both means from the fixed OOD
//! set), and `C_i` is the window's baseline accuracy less that accuracy: two different samples,
//! so C carries the sampling noise of both. The same examples are also ablated by mean and zero
//! ablation, so that C's sample and its intervention can be switched apart. G is the raw norm (`wv-wout-raw`), and the classes
//! follow the config's class rule. These numbers are kept apart from the fixed set's.

use std::collections::BTreeMap;

use burn::tensor::ExecutionError;
use serde::{Deserialize, Serialize};

use crate::analysis::ablation::{Ablation, AblationSet};
use crate::analysis::classes::{Class, ClassRule, compare};
use crate::engine::eval::{accuracy, fresh_batches};
use crate::engine::model::Transformer;
use crate::engine::rng::{Rng, Stream};
use crate::engine::task::{Batch, Task};

/// C as published and what follows from it against raw G, per component in canonical order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AsPublished {
    /// Fresh examples each component was ablated on.
    pub examples: usize,
    /// The baseline accuracy C is measured against: the window's sample at the analysis length.
    pub baseline: f64,
    /// `baseline − accuracy with the component ablated` (heads `slot`, MLPs `mean`).
    pub causal: Vec<f64>,
    /// The same on the same fresh examples under the ablations of [`FRESH_ABLATIONS`], which
    /// the pipeline does not make: C's sample kept, its intervention switched. Empty in
    /// reports made before them (`gradcause complete` adds them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fresh: BTreeMap<Ablation, Vec<f64>>,
    /// Spearman ρ of raw G (`wv-wout-raw`) against this C; `None` where undefined.
    pub spearman: Option<f64>,
    /// `Rank(raw G) − Rank(C)`.
    pub delta: Vec<f64>,
    /// Classes per threshold, under the config's class rule.
    pub class: BTreeMap<usize, Vec<Class>>,
}

impl AsPublished {
    /// C per ablation on the fresh examples: `slot` (C as published) and those of `fresh`.
    pub fn causal_under(&self) -> BTreeMap<Ablation, Vec<f64>> {
        let mut all = self.fresh.clone();
        all.insert(Ablation::Slot, self.causal.clone());
        all
    }

    /// Number of components of `class` at threshold `t`; `None` when `t` was not analysed.
    pub fn count(&self, class: Class, t: usize) -> Option<usize> {
        Some(self.class.get(&t)?.iter().filter(|&&c| c == class).count())
    }
}

/// The ablations C is also measured under on each component's fresh examples, beside `slot`.
pub const FRESH_ABLATIONS: [Ablation; 2] = [Ablation::Mean, Ablation::Zero];

/// How C as published is measured and classed: `examples` fresh examples per component, classes
/// at `thresholds` under `rule` (the run's analysis settings).
pub struct Sampling<'a> {
    /// Fresh examples per component.
    pub examples: usize,
    /// The thresholds t classes are reported at.
    pub thresholds: &'a [usize],
    /// Whether a gap of exactly ±t counts.
    pub rule: ClassRule,
}

/// Measures C as published on `model` at the length of `fixed` (the run's fixed OOD set) with the
/// means of `set` (the ablation set made from it), against `baseline`, with `raw_grad` the raw G
/// per component.
pub async fn causal_as_published(
    model: &Transformer,
    (task, seed): (Task, u64),
    (fixed, set): (&[Batch], &AblationSet),
    baseline: f64,
    raw_grad: &[f64],
    sampling: &Sampling<'_>,
) -> Result<AsPublished, ExecutionError> {
    let device = model.device();
    let length = fixed[0].examples[0].len();
    let batch_size = fixed[0].size;
    let mut rng = Rng::new(seed, Stream::CausalSample);
    let mut causal = Vec::new();
    let mut fresh: BTreeMap<Ablation, Vec<f64>> = BTreeMap::new();
    for component in model.components() {
        let sample = fresh_batches(
            task,
            length..=length,
            sampling.examples,
            batch_size,
            &mut rng,
        );
        let ablated = |a: Ablation| set.fixed_intervention(&[component], a);
        causal.push(baseline - accuracy(model, &sample, &ablated(Ablation::Slot), &device).await?);
        for a in FRESH_ABLATIONS {
            let c = baseline - accuracy(model, &sample, &ablated(a), &device).await?;
            fresh.entry(a).or_default().push(c);
        }
    }
    let comparison = compare(raw_grad, &causal, sampling.thresholds, sampling.rule);
    Ok(AsPublished {
        examples: sampling.examples,
        baseline,
        spearman: comparison.spearman,
        delta: comparison.delta,
        class: comparison.classes,
        causal,
        fresh,
    })
}
