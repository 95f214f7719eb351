//! Replays of a clean forward pass with components replaced: only what comes after the
//! replaced component is computed again, from the residual stream the clean pass captured
//! ([`Capture::residuals`], [`Capture::outputs`]). What ablation and attribution patching run
//! once per component and batch.

use burn::prelude::*;

use crate::engine::component::{Component, Intervention};
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

/// The answer logits with `intervention` applied, given a clean pass that captured the
/// residuals: the pass resumes at the block of the earliest replaced component (what comes
/// before it is the clean pass's).
pub fn intervened(
    model: &Transformer,
    clean: &Forward,
    intervention: &Intervention,
    readout: usize,
) -> Tensor<3> {
    let start = intervention
        .components()
        .map(|c| c.layer())
        .min()
        .unwrap_or(model.layers());
    let capture = Capture::default();
    match clean.residuals.get(start) {
        Some(residual) => {
            model
                .run_blocks(
                    start,
                    false,
                    residual.clone(),
                    intervention,
                    capture,
                    readout,
                )
                .logits
        }
        // Nothing replaced: the clean logits (the last block's stream is cut to the readout).
        None => {
            model
                .run_blocks(
                    model.layers(),
                    false,
                    clean.residual.clone(),
                    intervention,
                    capture,
                    readout,
                )
                .logits
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
