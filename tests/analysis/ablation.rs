//! Causal importance by ablation (METHOD §6): each ablation replaces what it says, and the
//! replays the analysis runs equal whole ablated passes.

use burn::module::Param;
use burn::prelude::*;
use gradcause::analysis::ablation::{Ablation, AblationSet};
use gradcause::engine::component::{Component, Intervention, Replacement};
use gradcause::engine::model::{Capture, Positions};
use gradcause::engine::objective::BatchTensors;
use gradcause::engine::rng::{Rng, Stream};
use gradcause::engine::task::{Batch, Task, ood_set};

use crate::common::tiny_config;
use crate::helpers::{
    clean_output, device, logits, loss_on, loss_under, max_difference, tiny_model,
};

#[test]
fn mean_ablation_per_position_over_a_single_example_changes_nothing() {
    let model = tiny_model(4);
    let one = Batch::new(ood_set(Task::Sort, 4, 5, 1, 1)[0].examples.clone());
    let set = pollster::block_on(AblationSet::new(
        &model,
        std::slice::from_ref(&one),
        4,
        &device(),
    ))
    .unwrap();
    let clean = logits(&model, &one, &Intervention::none());
    for (component, mean) in model
        .components()
        .into_iter()
        .zip(set.means(Ablation::MeanPos))
    {
        let ablated = logits(
            &model,
            &one,
            &Intervention::none().with(component, Replacement::Value(mean.clone())),
        );
        assert!(max_difference(&clean, &ablated) < 1e-5, "{component}");
    }
    let all = model.components();
    let accuracy =
        pollster::block_on(set.ablated_accuracy(&model, &all, Ablation::MeanPos)).unwrap();
    assert_eq!(accuracy, set.base_accuracy);
}

#[test]
fn the_means_are_averages_of_the_recorded_outputs() {
    let model = tiny_model(4);
    // Two batches of different content and sizes.
    let batches = vec![
        ood_set(Task::Sort, 4, 5, 1, 3)[0].clone(),
        ood_set(Task::Sort, 40, 5, 1, 5)[0].clone(),
    ];
    let set = pollster::block_on(AblationSet::new(&model, &batches, 4, &device())).unwrap();
    let capture = Capture {
        outputs: true,
        attention: false,
        residuals: false,
    };
    // Every recorded output, per component: [examples][positions][d_model].
    let components = model.components();
    let mut recorded: Vec<Vec<Vec<Vec<f32>>>> = vec![Vec::new(); components.len()];
    for batch in &batches {
        let inputs = BatchTensors::new(batch, &device()).inputs;
        let run = model.run(inputs, &Intervention::none(), capture);
        for (i, output) in run.outputs.into_iter().enumerate() {
            let [size, positions, d] = output.dims();
            let values: Vec<f32> = output.into_data().try_to_vec().unwrap();
            for e in 0..size {
                recorded[i].push(
                    (0..positions)
                        .map(|p| values[(e * positions + p) * d..][..d].to_vec())
                        .collect(),
                );
            }
        }
    }
    let mut positions_differ = false;
    for (i, component) in components.iter().enumerate() {
        let examples = &recorded[i];
        assert_eq!(examples.len(), 8);
        let (positions, d) = (examples[0].len(), examples[0][0].len());
        let average = |cells: &mut dyn Iterator<Item = &Vec<f32>>| {
            let mut sum = vec![0.0f64; d];
            let mut count = 0.0;
            for cell in cells {
                for (s, &v) in sum.iter_mut().zip(cell) {
                    *s += f64::from(v);
                }
                count += 1.0;
            }
            sum.into_iter().map(|s| s / count).collect::<Vec<f64>>()
        };
        let overall = average(&mut examples.iter().flatten());
        let read = |t: &Tensor<3>| -> Vec<f32> { t.clone().into_data().try_to_vec().unwrap() };
        let (one_vector, per_position) = (
            read(&set.means(Ablation::Mean)[i]),
            read(&set.means(Ablation::MeanPos)[i]),
        );
        for p in 0..positions {
            let at_p = average(&mut examples.iter().map(|e| &e[p]));
            for k in 0..d {
                let (mean, mean_pos) = (one_vector[p * d + k], per_position[p * d + k]);
                // One vector, the same at every position: the mean over examples and positions.
                assert!(
                    (f64::from(mean) - overall[k]).abs() < 1e-4,
                    "{component} mean"
                );
                assert!(
                    (f64::from(mean_pos) - at_p[k]).abs() < 1e-4,
                    "{component} mean-pos"
                );
                positions_differ |= (at_p[k] - overall[k]).abs() > 1e-2;
            }
        }
    }
    assert!(
        positions_differ,
        "the model's outputs depend on position, so the two means differ"
    );
}

#[test]
fn zero_ablating_every_head_of_a_layer_skips_its_attention() {
    let mut model = tiny_model(5);
    let batch = &ood_set(Task::Reverse, 5, 5, 1, 8)[0];
    // Without the shared output bias (part of no head), the sublayer adds exactly its heads.
    let b_o = &mut model.blocks[1].attn.b_o;
    *b_o = Param::from_tensor(b_o.val().zeros_like());
    let heads = (0..2).map(|head| Component::Head { layer: 1, head });
    let ablated = logits(&model, batch, &Intervention::zero(heads));

    let mut skipped = model.clone();
    let w_o = &mut skipped.blocks[1].attn.w_o;
    *w_o = Param::from_tensor(w_o.val().zeros_like());
    let without = logits(&skipped, batch, &Intervention::none());
    assert!(max_difference(&ablated, &without) < 1e-5);
    assert!(max_difference(&ablated, &logits(&model, batch, &Intervention::none())) > 1e-3);
}

#[test]
fn zero_ablation_replaces_an_mlps_output_bias_included_by_exact_zeros() {
    let mut model = tiny_model(6);
    // A clear output bias in every MLP, so an ablation that kept it would show.
    for block in &mut model.blocks {
        let bias = block.mlp.w_out.bias.as_mut().unwrap();
        *bias = Param::from_tensor(bias.val().ones_like().mul_scalar(0.5));
    }
    let batches = ood_set(Task::Sort, 6, 5, 2, 8);
    let set = pollster::block_on(AblationSet::new(&model, &batches, 6, &device())).unwrap();
    let single = pollster::block_on(set.single_ablations(&model, &mut ())).unwrap();
    let zero = Ablation::ALL
        .iter()
        .position(|&a| a == Ablation::Zero)
        .unwrap();
    let capture = Capture {
        outputs: true,
        attention: false,
        residuals: false,
    };
    for layer in 0..model.layers() {
        let mlp = Component::Mlp { layer };
        let i = mlp.index(model.heads());
        // What the zero-ablated MLP passes on: every element exactly 0.
        let inputs = BatchTensors::new(&batches[0], &device()).inputs;
        let passed = model
            .run(inputs, &Intervention::zero([mlp]), capture)
            .outputs
            .swap_remove(i);
        let passed = passed.into_data().try_to_vec::<f32>().unwrap();
        assert!(passed.iter().all(|&x| x == 0.0), "{mlp} passes {passed:?}");
        // The analysis' zero ablation: the loss change of the MLP's output weights and bias
        // zeroed by hand.
        let mut by_hand = model.clone();
        let w_out = &mut by_hand.blocks[layer].mlp.w_out;
        w_out.weight = Param::from_tensor(w_out.weight.val().zeros_like());
        let bias = w_out.bias.as_mut().unwrap();
        *bias = Param::from_tensor(bias.val().zeros_like());
        let expected = batches
            .iter()
            .map(|b| loss_on(&by_hand, b) - loss_on(&model, b))
            .sum::<f64>()
            / batches.len() as f64;
        let got = single.loss_change[zero][i];
        assert!(
            (got - expected).abs() < 1e-4 * expected.abs().max(1.0),
            "{mlp}: {got} against {expected}"
        );
    }
}

#[test]
fn resample_ablation_takes_outputs_from_other_examples() {
    let model = tiny_model(6);
    // Two batches of distinct examples.
    let batches = ood_set(Task::Sort, 6, 5, 2, 6);
    let set = pollster::block_on(AblationSet::new(&model, &batches, 6, &device())).unwrap();
    let singles = pollster::block_on(set.single_ablations(&model, &mut ())).unwrap();
    let resample = Ablation::ALL
        .iter()
        .position(|&a| a == Ablation::Resample)
        .unwrap();
    // The derangements METHOD §6 names: one per batch, in order, from the seed's analysis stream;
    // none leaves an example its own output.
    let mut rng = Rng::new(6, Stream::Analysis);
    let derangements: Vec<Vec<usize>> = batches.iter().map(|b| rng.derangement(b.size)).collect();
    for order in &derangements {
        assert!(order.iter().enumerate().all(|(e, &from)| e != from));
    }
    let mut moved = false;
    for (i, &component) in model.components().iter().enumerate() {
        // Example e takes the output of example order[e], swapped by hand.
        let mut change = 0.0;
        for (batch, order) in batches.iter().zip(&derangements) {
            let output = clean_output(&model, batch, i);
            let dims = output.dims();
            let per_example = dims[1] * dims[2];
            let values: Vec<f32> = output.into_data().try_to_vec().unwrap();
            let swapped: Vec<f32> = order
                .iter()
                .flat_map(|&from| values[from * per_example..][..per_example].to_vec())
                .collect();
            let swapped = Tensor::from_data(TensorData::new(swapped, dims), &device());
            let intervention = Intervention::none().with(component, Replacement::Value(swapped));
            change += (loss_under(&model, batch, &intervention) - loss_on(&model, batch))
                / batches.len() as f64;
        }
        let got = singles.loss_change[resample][i];
        assert!(
            (got - change).abs() <= 1e-4 + 1e-3 * change.abs(),
            "{component}: resample ablation's loss change {got}, swapped by hand {change}"
        );
        moved |= change.abs() > 1e-3;
    }
    assert!(moved, "the examples differ, so resampling changes the loss");
}

#[test]
fn single_ablations_resumed_mid_model_equal_whole_ablated_passes() {
    // Trained long enough to answer some examples, so the accuracies compared are not all 0.
    // Positions from 0 (`learned`): the tiny model learns those within the step budget.
    let mut config = tiny_config(Task::Reverse, 5);
    config.train.max_steps = 1500;
    config.model.positions = Positions::Learned;
    let trained =
        pollster::block_on(gradcause::engine::train::train(&config, &device(), |_| {})).unwrap();
    let model = trained.model;
    let mut rng = Rng::new(5, Stream::TrainEval);
    let batches: Vec<Batch> = (0..2)
        .map(|_| Batch::generate(Task::Reverse, 16, 2, 4, &mut rng))
        .collect();
    let set = pollster::block_on(AblationSet::new(&model, &batches, 5, &device())).unwrap();
    assert!(
        set.base_accuracy > 0.0,
        "the check needs a model that answers something"
    );
    let single = pollster::block_on(set.single_ablations(&model, &mut ())).unwrap();
    for (a, &ablation) in Ablation::ALL.iter().enumerate() {
        for (i, component) in model.components().into_iter().enumerate() {
            let whole =
                pollster::block_on(set.ablated_accuracy(&model, &[component], ablation)).unwrap();
            assert_eq!(single.accuracy[a][i], whole, "{ablation} {component}");
        }
    }
    // The loss change: the mean over batches of the ablated loss less the clean one, each loss
    // here from a whole pass with the replacement made by hand.
    for (a, ablation) in [(0, Ablation::Mean), (2, Ablation::Zero)] {
        for (i, component) in model.components().into_iter().enumerate() {
            let replacement = match ablation {
                Ablation::Zero => Replacement::Zero,
                _ => Replacement::Value(set.means(ablation)[i].clone()),
            };
            let intervention = Intervention::none().with(component, replacement);
            let expected = batches
                .iter()
                .map(|b| loss_under(&model, b, &intervention) - loss_on(&model, b))
                .sum::<f64>()
                / 2.0;
            let got = single.loss_change[a][i];
            assert!(
                (got - expected).abs() < 1e-4 * expected.abs().max(1.0),
                "{ablation} {component}: {got} against {expected}"
            );
        }
    }
    // Sets ablated together, in one shared pass resuming at each set's earliest block and
    // sharing the blocks sets agree on, equal whole ablated passes; a set starting in the last
    // layer, sets spanning both, sets agreeing on layer 0 alone (the MLP's `slot` is its `mean`:
    // shared across those two ablations too) and the empty set included.
    let parse =
        |names: &[&str]| -> Vec<Component> { names.iter().map(|n| n.parse().unwrap()).collect() };
    let sets: Vec<(Vec<Component>, Ablation)> = Ablation::ALL
        .iter()
        .flat_map(|&a| {
            [
                (parse(&["L1_H0", "L1_MLP"]), a),
                (parse(&["L0_MLP", "L1_H1"]), a),
                (parse(&["L0_H0"]), a),
                (parse(&["L0_MLP", "L1_H0"]), a),
                (parse(&["L0_MLP"]), a),
            ]
        })
        .chain([(Vec::new(), Ablation::Mean)])
        .collect();
    let joint = pollster::block_on(set.joint_ablation_accuracies(&model, &sets, 2)).unwrap();
    let mut changed = false;
    for ((components, ablation), accuracy) in sets.iter().zip(&joint) {
        let whole =
            pollster::block_on(set.ablated_accuracy(&model, components, *ablation)).unwrap();
        assert_eq!(*accuracy, whole, "{ablation} {components:?}");
        changed |= whole != set.base_accuracy;
    }
    assert!(
        changed,
        "some ablation changes the accuracy, so the check can fail"
    );
}
