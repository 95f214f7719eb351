//! Replays of a clean forward pass with components replaced: only what comes after the
//! replaced component is computed again, from the residual stream the clean pass captured
//! ([`Capture::residuals`], [`Capture::outputs`]). What ablation and attribution patching run
//! once per component and batch.

use burn::prelude::*;

use crate::engine::component::{Component, Intervention, last_positions};
use crate::engine::model::{Capture, Forward, Transformer};

/// The logits at the last `readout` positions with `component`'s output replaced as
/// `intervention` says, given a clean pass that captured outputs and residuals: only what
/// comes after the component is computed. A head's replacement enters the stream between
/// its block's attention and MLP, so the pass resumes at that MLP; an MLP's enters after its
/// block, so it resumes at the next. With `readout` =
/// [`BatchTensors::answer_span`](crate::engine::objective::BatchTensors::answer_span), what
/// exact match reads (as [`Transformer::answer_logits`]).
pub fn replacing(
    model: &Transformer,
    clean: &Forward,
    component: Component,
    intervention: &Intervention,
    readout: usize,
) -> Tensor<3> {
    let interventions = std::slice::from_ref(intervention);
    let mut logits = replacing_each(model, clean, component, interventions, readout);
    logits.pop().expect("one intervention, one result")
}

/// The answer logits under each of `interventions`, given a clean pass that captured the
/// residuals, in order; each equal to [`Transformer::answer_logits`] under it. Computed as a
/// tree: a pass resumes at the block of its earliest replaced component (what comes before is
/// the clean pass's), and passes whose edits agree on blocks `0..=l` compute those blocks once.
/// `edits_in(i, l)` names the edits of intervention `i` in block `l`: equal names, equal edits.
pub fn intervened_each<K: PartialEq>(
    model: &Transformer,
    clean: &Forward,
    interventions: &[Intervention],
    edits_in: impl Fn(usize, usize) -> K,
    readout: usize,
) -> Vec<Tensor<3>> {
    let mut tree = Tree {
        model,
        clean,
        interventions,
        edits_in,
        readout,
        logits: vec![None; interventions.len()],
    };
    let every: Vec<usize> = (0..interventions.len()).collect();
    tree.descend(0, None, &every);
    tree.logits
        .into_iter()
        .map(|logits| logits.expect("every intervention reaches the unembedding"))
        .collect()
}

/// What [`intervened_each`] walks, and the logits it has reached.
struct Tree<'a, F> {
    model: &'a Transformer,
    clean: &'a Forward,
    interventions: &'a [Intervention],
    edits_in: F,
    readout: usize,
    logits: Vec<Option<Tensor<3>>>,
}

impl<K: PartialEq, F: Fn(usize, usize) -> K> Tree<'_, F> {
    /// Block `layer` and those after it for `members`, whose edits agree on every block before:
    /// `stream` enters block `layer` for all of them, `None` while it is the clean pass's.
    fn descend(&mut self, layer: usize, stream: Option<Tensor<3>>, members: &[usize]) {
        if layer == self.model.layers() {
            let stream =
                stream.unwrap_or_else(|| last_positions(self.clean.residual.clone(), self.readout));
            let logits = self.model.unembed_stream(stream);
            for &member in members {
                self.logits[member] = Some(logits.clone());
            }
            return;
        }
        // The members, grouped by their edits in this block, in order of first appearance.
        let mut groups: Vec<(K, Vec<usize>)> = Vec::new();
        for &member in members {
            let edits = (self.edits_in)(member, layer);
            match groups.iter_mut().find(|(e, _)| *e == edits) {
                Some((_, group)) => group.push(member),
                None => groups.push((edits, vec![member])),
            }
        }
        for (_, group) in groups {
            let intervention = &self.interventions[group[0]];
            let edited = intervention.components().any(|c| c.layer() == layer);
            let leaving = match stream.clone() {
                None if !edited => None,
                entering => {
                    let entering = entering.unwrap_or_else(|| self.clean.residuals[layer].clone());
                    let leaving = self
                        .model
                        .run_block(layer, entering, intervention, self.readout);
                    Some(leaving)
                }
            };
            self.descend(layer + 1, leaving, &group);
        }
    }
}

/// [`replacing`] for several replacements of the same component at once: their streams run
/// through the remaining blocks as one batch (fewer, larger products), and the logits come back
/// one tensor per intervention, in order.
pub fn replacing_each(
    model: &Transformer,
    clean: &Forward,
    component: Component,
    interventions: &[Intervention],
    readout: usize,
) -> Vec<Tensor<3>> {
    let layer = component.layer();
    let output = clean.outputs[component.index(model.heads())].clone();
    let between = clean.between[layer].clone();
    let streams: Vec<Tensor<3>> = interventions
        .iter()
        .map(|intervention| {
            let replaced = intervention.apply(component, output.clone());
            match component {
                Component::Head { .. } if intervention.writes_slots_in(layer) => {
                    // The layer's whole attention output, with the head's replaced and the
                    // slots written in.
                    let entering = clean.residuals[layer].clone();
                    let attention = between.clone() - entering.clone() - output.clone() + replaced;
                    entering + intervention.write_slots(layer, attention)
                }
                Component::Head { .. } => between.clone() - output.clone() + replaced,
                Component::Mlp { .. } => between.clone() + replaced,
            }
        })
        .collect();
    let [size, _, _] = output.dims();
    let (start, skip_attention) = match component {
        Component::Head { .. } => (layer, true),
        Component::Mlp { .. } => (layer + 1, false),
    };
    let logits = model
        .run_blocks(
            start,
            skip_attention,
            Tensor::cat(streams, 0),
            &Intervention::none(),
            Capture::default(),
            readout,
        )
        .logits;
    (0..interventions.len())
        .map(|i| logits.clone().narrow(0, i * size, size))
        .collect()
}
