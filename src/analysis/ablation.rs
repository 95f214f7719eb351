//! Causal importance by ablation (METHOD §6).
//!
//! A component is ablated by replacing its output on an evaluation set of one length:
//! - mean ablation: by its mean output, one vector of d_model averaged over every example and
//!   every position of the set (the paper's μ_i);
//! - mean ablation per position (`mean-pos`, a reading kept beside it): by its mean over the set
//!   at each position;
//! - zero ablation: by zeros;
//! - resample ablation (activation patching): by its output on another example of the same batch,
//!   through a fixed derangement of each batch;
//! - `slot` (the published pipeline's, METHOD §11): a head's mean before W_O written into its
//!   quarter of the layer's attention output after W_O ([`Replacement::Slot`]); an MLP's `slot`
//!   is its `mean`.
//!
//! `C_i = Acc_base - Acc_ablated(i)`. Any set of components can be ablated jointly.

use burn::prelude::*;
use burn::tensor::ExecutionError;
use serde::{Deserialize, Serialize};

use crate::analysis::replay;
use crate::engine::backend::{map_parallel, parallel_rounds};
use crate::engine::component::{Component, Intervention, Replacement};
use crate::engine::model::{Capture, Transformer};
use crate::engine::named::named_enum;
use crate::engine::objective::{BatchTensors, exact_matches, loss};
use crate::engine::progress::Observer;
use crate::engine::rng::{Rng, Stream};
use crate::engine::task::Batch;

named_enum! {
    /// How a component's output is removed.
    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub enum Ablation("ablation") {
        /// Replaced by its mean over every example and position of the evaluation set: one vector.
        Mean = "mean",
        /// Replaced by its mean over the evaluation set at each position.
        MeanPos = "mean-pos",
        /// Replaced by zeros.
        Zero = "zero",
        /// Replaced by its output on another example (a fixed derangement of each batch).
        Resample = "resample",
        /// The published pipeline's head intervention: the head's mean before W_O written into dims
        /// `d_head·h ..` of the layer's attention output, after W_O; an MLP's is its `Mean`.
        Slot = "slot",
    }
}

impl Ablation {
    /// The two readings of mean ablation, whose means attribution patching aims at.
    pub const MEANS: [Ablation; 2] = [Ablation::Mean, Ablation::MeanPos];

    /// The ablation `members` ablated together get: itself, but `slot` of MLPs alone is their
    /// `mean` (so a joint ablation is measured once whichever of the two names it).
    pub fn on_all(self, members: &[Component]) -> Ablation {
        let heads = members.iter().any(|c| matches!(c, Component::Head { .. }));
        if heads { self } else { self.on_mlps() }
    }

    /// `mean` for `slot`, else itself: what an ablation is on MLPs.
    fn on_mlps(self) -> Ablation {
        match self {
            Ablation::Slot => Ablation::Mean,
            _ => self,
        }
    }

    /// The ablation that `self` is on `component`: itself, but for an MLP's `slot`, which is
    /// its `mean`.
    pub fn on(self, component: Component) -> Ablation {
        match component {
            Component::Mlp { .. } => self.on_mlps(),
            Component::Head { .. } => self,
        }
    }
}

/// `sums` with `more` added element by element; `more` itself when there is nothing yet.
fn add_up<const D: usize>(sums: Option<Vec<Tensor<D>>>, more: Vec<Tensor<D>>) -> Vec<Tensor<D>> {
    match sums {
        None => more,
        Some(sums) => sums.into_iter().zip(more).map(|(a, b)| a + b).collect(),
    }
}

/// Every component ablated alone under every ablation: `[a][i]` for `Ablation::ALL[a]` and
/// component `i` in canonical order.
#[derive(Clone, Debug, PartialEq)]
pub struct SingleAblations {
    /// Exact-match accuracy.
    pub accuracy: Vec<Vec<f64>>,
    /// `mean_b L_b(ablated) − L_b(clean)`: how much the loss rises.
    pub loss_change: Vec<Vec<f64>>,
}

/// An evaluation set of one length, on the device, with what ablating on it needs: the base
/// accuracy, each component's mean outputs (one vector, and per position) and a fixed
/// derangement of each batch.
pub struct AblationSet {
    batches: Vec<BatchTensors>,
    examples: usize,
    components: Vec<Component>,
    heads: usize,
    /// Per component, the mean output over every example and position of the set, one vector
    /// repeated at every position, `[1, positions, d_model]`.
    means: Vec<Tensor<3>>,
    /// Per component, the mean output over the set at each position, `[1, positions, d_model]`.
    position_means: Vec<Tensor<3>>,
    /// Per component, a head's mean output before W_O over every example and position,
    /// `[d_head]` (what its `slot` writes); `None` for an MLP.
    slot_means: Vec<Option<Tensor<1>>>,
    /// Per batch, where each example takes its resampled outputs from.
    derangements: Vec<Tensor<1, Int>>,
    /// Exact-match accuracy of the clean model.
    pub base_accuracy: f64,
}

impl AblationSet {
    /// Runs the clean model over `batches` (all of one length) once, for the base accuracy and
    /// the mean outputs. The derangements come from the seed's analysis stream.
    pub async fn new(
        model: &Transformer,
        batches: &[Batch],
        seed: u64,
        device: &Device,
    ) -> Result<Self, ExecutionError> {
        let components = model.components();
        let capture = Capture {
            outputs: true,
            attention: false,
            residuals: false,
        };
        let mut rng = Rng::new(seed, Stream::Analysis);
        let derangements = batches
            .iter()
            .map(|batch| {
                let order: Vec<i32> = rng
                    .derangement(batch.size)
                    .into_iter()
                    .map(|i| i as i32)
                    .collect();
                Tensor::from_data(TensorData::new(order, [batch.size]), device)
            })
            .collect();
        let tensors: Vec<BatchTensors> = batches
            .iter()
            .map(|batch| BatchTensors::new(batch, device))
            .collect();
        // Per batch, the clean pass's exact matches, each component's output summed over the
        // batch's examples and each layer's head values before W_O summed over examples and
        // positions; added up below in batch order.
        let clean = map_parallel(device, 0..tensors.len(), |b| {
            let clean = model.run(tensors[b].inputs.clone(), &Intervention::none(), capture);
            let sums: Vec<Tensor<3>> = clean.outputs.into_iter().map(|o| o.sum_dim(0)).collect();
            let values: Vec<Tensor<2>> = clean
                .head_values
                .into_iter()
                .map(|z| z.sum_dims_squeeze::<2, _>(&[0, 2]))
                .collect();
            (exact_matches(clean.logits, &tensors[b]).sum(), sums, values)
        });
        let mut correct = Tensor::<1>::zeros([1], device);
        let mut sums: Option<Vec<Tensor<3>>> = None;
        let mut value_sums: Option<Vec<Tensor<2>>> = None;
        for (batch_correct, batch_sums, batch_values) in clean {
            correct = correct + batch_correct;
            sums = Some(add_up(sums, batch_sums));
            value_sums = Some(add_up(value_sums, batch_values));
        }
        let examples: usize = batches.iter().map(|b| b.size).sum();
        let positions = batches.first().map_or(1, |b| b.positions);
        let value_means: Vec<Tensor<2>> = value_sums
            .unwrap_or_default()
            .into_iter()
            .map(|sum| sum.div_scalar((examples * positions) as f64))
            .collect();
        let slot_means = components
            .iter()
            .map(|c| match *c {
                Component::Head { layer, head } => {
                    Some(value_means[layer].clone().narrow(0, head, 1).squeeze_dim(0))
                }
                Component::Mlp { .. } => None,
            })
            .collect();
        let correct: f32 = correct.into_scalar_async().await?;
        let position_means: Vec<Tensor<3>> = sums
            .unwrap_or_default()
            .into_iter()
            .map(|sum| sum.div_scalar(examples as f64))
            .collect();
        // Every example of the set has the same positions, so the mean over examples and
        // positions is the mean over positions of the per-position means.
        let means = position_means
            .iter()
            .map(|m| {
                let [_, positions, _] = m.dims();
                m.clone().mean_dim(1).repeat_dim(1, positions)
            })
            .collect();
        Ok(Self {
            batches: tensors,
            examples,
            heads: model.heads(),
            components,
            means,
            position_means,
            slot_means,
            derangements,
            base_accuracy: f64::from(correct) / examples.max(1) as f64,
        })
    }

    /// Number of batches in the set.
    pub fn batch_count(&self) -> usize {
        self.batches.len()
    }

    /// Each component's mean output under `ablation` (`Mean` or `MeanPos`), `[1, positions,
    /// d_model]`, in canonical order.
    ///
    /// # Panics
    /// For an ablation that replaces by no mean of the output.
    pub fn means(&self, ablation: Ablation) -> &[Tensor<3>] {
        match ablation {
            Ablation::Mean => &self.means,
            Ablation::MeanPos => &self.position_means,
            Ablation::Zero | Ablation::Resample | Ablation::Slot => {
                panic!("{ablation} ablation has no mean of the output")
            }
        }
    }

    /// Each head's mean before W_O, `[d_head]`, what its `slot` writes; `None` for an MLP.
    pub fn slot_means(&self) -> &[Option<Tensor<1>>] {
        &self.slot_means
    }

    /// The set's batches on the device.
    pub fn batches(&self) -> &[BatchTensors] {
        &self.batches
    }

    /// The intervention ablating `components` under `ablation`, the same on any batch of the
    /// set's length (every ablation but resample, which takes outputs from the batch itself).
    ///
    /// # Panics
    /// Under resample ablation.
    pub fn fixed_intervention(&self, components: &[Component], ablation: Ablation) -> Intervention {
        assert!(
            ablation != Ablation::Resample,
            "resample ablation depends on the batch"
        );
        self.intervention(components, ablation, 0, &[])
    }

    /// The intervention ablating `components` on batch `b`. `clean` holds the batch's clean
    /// outputs, which resample ablation needs.
    fn intervention(
        &self,
        components: &[Component],
        ablation: Ablation,
        b: usize,
        clean: &[Tensor<3>],
    ) -> Intervention {
        components
            .iter()
            .fold(Intervention::none(), |intervention, &c| {
                let replacement = match ablation {
                    Ablation::Zero => Replacement::Zero,
                    Ablation::Mean | Ablation::MeanPos => {
                        Replacement::Value(self.means(ablation)[c.index(self.heads)].clone())
                    }
                    Ablation::Resample => Replacement::Value(
                        clean[c.index(self.heads)]
                            .clone()
                            .select(0, self.derangements[b].clone()),
                    ),
                    Ablation::Slot => match &self.slot_means[c.index(self.heads)] {
                        Some(value) => Replacement::Slot(value.clone()),
                        None => Replacement::Value(self.means[c.index(self.heads)].clone()),
                    },
                };
                intervention.with(c, replacement)
            })
    }

    /// The batch's clean component outputs, when `ablation` needs them.
    fn clean_outputs(&self, model: &Transformer, b: usize, ablation: Ablation) -> Vec<Tensor<3>> {
        if ablation != Ablation::Resample {
            return Vec::new();
        }
        let capture = Capture {
            outputs: true,
            attention: false,
            residuals: false,
        };
        model
            .run(
                self.batches[b].inputs.clone(),
                &Intervention::none(),
                capture,
            )
            .outputs
    }

    /// Accuracy with every component of `components` ablated at once; batches run
    /// [`crate::engine::backend::parallel_width`] at a time.
    pub async fn ablated_accuracy(
        &self,
        model: &Transformer,
        components: &[Component],
        ablation: Ablation,
    ) -> Result<f64, ExecutionError> {
        let device = &self.batches[0].mask.device();
        let counts = map_parallel(device, 0..self.batches.len(), |b| {
            let clean = self.clean_outputs(model, b, ablation);
            let intervention = self.intervention(components, ablation, b, &clean);
            let logits = model.answer_logits(&self.batches[b], &intervention);
            exact_matches(logits, &self.batches[b]).sum()
        });
        let correct = counts
            .into_iter()
            .fold(Tensor::<1>::zeros([1], device), |sum, count| sum + count);
        let correct: f32 = correct.into_scalar_async().await?;
        Ok(f64::from(correct) / self.examples as f64)
    }

    /// The accuracy with each set of components ablated together under its ablation, on the first
    /// `batches` batches of the set, in one pass: each batch's clean pass is shared, and each
    /// set's pass resumes at its earliest component's block, and sets that agree on the blocks
    /// before one share them ([`replay::intervened_each`]).
    /// On every batch, equal to [`Self::ablated_accuracy`] of each set.
    pub async fn joint_ablation_accuracies(
        &self,
        model: &Transformer,
        sets: &[(Vec<Component>, Ablation)],
        batches: usize,
    ) -> Result<Vec<f64>, ExecutionError> {
        if sets.is_empty() {
            return Ok(Vec::new());
        }
        let batches = batches.clamp(1, self.batches.len());
        let examples: usize = self.batches[..batches]
            .iter()
            .map(|b| b.inputs.dims()[0])
            .sum();
        let device = &self.batches[0].mask.device();
        let capture = Capture {
            outputs: true,
            attention: false,
            residuals: true,
        };
        let counts = map_parallel(device, 0..batches, |b| {
            let batch = &self.batches[b];
            let clean = model.run(batch.inputs.clone(), &Intervention::none(), capture);
            let interventions: Vec<Intervention> = sets
                .iter()
                .map(|(components, ablation)| {
                    self.intervention(components, *ablation, b, &clean.outputs)
                })
                .collect();
            // A set's edits in a block: its components there, each with the ablation it gets.
            let edits_in = |set: usize, layer: usize| {
                let (components, ablation) = &sets[set];
                let mut edits: Vec<(Component, Ablation)> = components
                    .iter()
                    .filter(|c| c.layer() == layer)
                    .map(|&c| (c, ablation.on(c)))
                    .collect();
                edits.sort();
                edits
            };
            let logits =
                replay::intervened_each(model, &clean, &interventions, edits_in, batch.answer_span);
            let per_set: Vec<Tensor<1>> = logits
                .into_iter()
                .map(|logits| exact_matches(logits, batch).sum())
                .collect();
            Tensor::cat(per_set, 0)
        });
        let correct = counts
            .into_iter()
            .fold(Tensor::<1>::zeros([sets.len()], device), |sum, c| sum + c);
        let correct: Vec<f32> = correct
            .into_data_async()
            .await?
            .try_to_vec::<f32>()
            .expect("f32 counts");
        Ok(correct
            .into_iter()
            .map(|c| f64::from(c) / examples as f64)
            .collect())
    }

    /// Each component ablated alone under each ablation, in one pass over the set: accuracy and
    /// loss change. Each ablation reuses the clean pass up to its component
    /// ([`replay::replacing_each`]); batches run [`crate::engine::backend::parallel_width`] at
    /// a time.
    pub async fn single_ablations(
        &self,
        model: &Transformer,
        observer: &mut impl Observer,
    ) -> Result<SingleAblations, ExecutionError> {
        let device = &self.batches[0].mask.device();
        let batches = self.batches.len();
        let cells = Ablation::ALL.len() * self.components.len();
        let mut correct = Tensor::<1>::zeros([cells], device);
        let mut loss_change = Tensor::<1>::zeros([cells], device);
        for round in parallel_rounds(device, batches) {
            let end = round.end;
            for (counts, losses) in
                map_parallel(device, round, |b| self.single_ablation_counts(model, b))
            {
                correct = correct + counts;
                loss_change = loss_change + losses;
            }
            observer.progress("ablations", end, batches).await;
        }
        let read = |t: Tensor<1>, divisor: usize| async move {
            let values: Vec<f32> = t.into_data_async().await?.try_to_vec::<f32>().expect("f32");
            Ok::<_, ExecutionError>(
                values
                    .chunks(self.components.len())
                    .map(|row| row.iter().map(|&c| f64::from(c) / divisor as f64).collect())
                    .collect(),
            )
        };
        Ok(SingleAblations {
            accuracy: read(correct, self.examples).await?,
            loss_change: read(loss_change, batches).await?,
        })
    }

    /// On batch `b`, with each component ablated alone under each ablation, the number of
    /// examples right and the loss change, each `[ablations x components]` in the order of
    /// [`SingleAblations`].
    fn single_ablation_counts(&self, model: &Transformer, b: usize) -> (Tensor<1>, Tensor<1>) {
        let batch = &self.batches[b];
        let capture = Capture {
            outputs: true,
            attention: false,
            residuals: true,
        };
        // One clean pass gives every output and the residual stream around each sublayer: each
        // ablation reruns only what comes after its component.
        let clean = model.run(batch.inputs.clone(), &Intervention::none(), capture);
        let clean_loss = loss(clean.logits.clone(), batch);
        // Per ablation, one count and one loss per component; each component's distinct
        // ablations run as one batch (an MLP's `slot` is its `mean`: run once, counted twice).
        let mut counts: Vec<Vec<Tensor<1>>> = vec![Vec::new(); Ablation::ALL.len()];
        let mut losses: Vec<Vec<Tensor<1>>> = vec![Vec::new(); Ablation::ALL.len()];
        for &component in &self.components {
            let distinct: Vec<Ablation> = Ablation::ALL
                .into_iter()
                .filter(|&a| a.on(component) == a)
                .collect();
            let interventions: Vec<Intervention> = distinct
                .iter()
                .map(|&ablation| self.intervention(&[component], ablation, b, &clean.outputs))
                .collect();
            let logits =
                replay::replacing_each(model, &clean, component, &interventions, batch.answer_span);
            let measured: Vec<(Tensor<1>, Tensor<1>)> = logits
                .into_iter()
                .map(|logits| {
                    let change = loss(logits.clone(), batch) - clean_loss.clone();
                    (exact_matches(logits, batch).sum(), change)
                })
                .collect();
            for (a, ablation) in Ablation::ALL.into_iter().enumerate() {
                let at = distinct.iter().position(|&d| d == ablation.on(component));
                let (count, change) =
                    measured[at.expect("every ablation is run or stood for")].clone();
                counts[a].push(count);
                losses[a].push(change);
            }
        }
        let flat = |rows: Vec<Vec<Tensor<1>>>| Tensor::cat(rows.into_iter().flatten().collect(), 0);
        (flat(counts), flat(losses))
    }
}
