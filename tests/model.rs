//! The model's interventions and component decomposition (METHOD §2), on the CPU backend.
#![cfg(not(target_arch = "wasm32"))]

use burn::module::Param;
use burn::prelude::*;
use gradcause::analysis::replay;
use gradcause::engine::component::{Component, Intervention, Replacement};
use gradcause::engine::model::{Capture, ModelConfig, Transformer};
use gradcause::engine::objective::{BatchTensors, exact_matches};
use gradcause::engine::rng::{Rng, Stream};
use gradcause::engine::task::{Batch, Task};

fn device() -> Device {
    Device::flex()
}

fn small_config() -> ModelConfig {
    ModelConfig::new()
        .with_layers(3)
        .with_heads(2)
        .with_d_model(16)
        .with_d_ff(32)
        .with_context(16)
}

/// A model with random biases and LayerNorm parameters too, so no term is trivially zero.
fn model() -> Transformer {
    let mut model = small_config().init(7, &device());
    let mut rng = Rng::new(99, Stream::Analysis);
    let mut noise = |param: &mut Param<Tensor<1>>| {
        let n = param.dims()[0];
        let values: Vec<f32> = (0..n).map(|_| rng.normal() as f32 * 0.1).collect();
        *param = Param::from_tensor(
            param.val() + Tensor::from_data(TensorData::new(values, [n]), &device()),
        );
    };
    for block in &mut model.blocks {
        noise(&mut block.attn.b_o);
        noise(&mut block.ln1.gamma);
        noise(block.ln2.beta.as_mut().unwrap());
        noise(block.mlp.w_out.bias.as_mut().unwrap());
    }
    model
}

/// Five examples of lengths 2..=6, padded to the longest.
fn batch() -> BatchTensors {
    let mut rng = Rng::new(1, Stream::TrainData);
    let batch = Batch::generate(Task::Sort, 5, 2, 6, &mut rng);
    BatchTensors::new(&batch, &device())
}

fn tokens() -> Tensor<2, Int> {
    batch().inputs
}

/// The last `count` positions of `logits` `[batch, positions, vocab]`.
fn last(logits: Tensor<3>, count: usize) -> Tensor<3> {
    let [_, positions, _] = logits.dims();
    logits.narrow(1, positions - count, count)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

fn assert_close<const D: usize>(a: Tensor<D>, b: Tensor<D>, tolerance: f32) {
    assert_eq!(a.dims(), b.dims());
    let (a, b) = (values(a), values(b));
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(
        worst <= tolerance,
        "largest difference {worst} > {tolerance}"
    );
}

fn max_abs_difference<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    values(a - b).into_iter().map(f32::abs).fold(0.0, f32::max)
}

#[test]
fn an_empty_intervention_equals_the_plain_forward() {
    let (model, tokens) = (model(), tokens());
    let plain = model.forward(tokens.clone(), &Intervention::none());
    // Capturing outputs takes the per-head path; it must agree with the fused one.
    let all = Capture {
        outputs: true,
        attention: true,
        residuals: false,
    };
    let traced = model.run(tokens, &Intervention::none(), all);
    assert_close(plain, traced.logits, 1e-5);
    assert_eq!(traced.outputs.len(), 9);
    assert_eq!(traced.attention.len(), 3);
}

#[test]
fn zero_ablating_a_head_equals_removing_its_term_by_hand() {
    let (model, tokens) = (model(), tokens());
    let head = Component::Head { layer: 1, head: 1 };
    let ablated = model.forward(tokens.clone(), &Intervention::zero([head]));

    // By hand: a zero W_O slice makes the head contribute nothing to the residual stream.
    let mut by_hand = model.clone();
    let w_o = by_hand.blocks[1].attn.w_o.val();
    let [heads, d_head, d_model] = w_o.dims();
    let keep = Tensor::<3>::from_data(
        TensorData::new(
            (0..heads * d_head * d_model)
                .map(|i| {
                    if i / (d_head * d_model) == 1 {
                        0.0f32
                    } else {
                        1.0
                    }
                })
                .collect::<Vec<_>>(),
            [heads, d_head, d_model],
        ),
        &device(),
    );
    by_hand.blocks[1].attn.w_o = Param::from_tensor(w_o * keep);
    let removed = by_hand.forward(tokens.clone(), &Intervention::none());
    assert_close(ablated.clone(), removed, 1e-5);

    // And the ablation does change the output.
    let plain = model.forward(tokens, &Intervention::none());
    assert!(max_abs_difference(ablated, plain) > 1e-3);
}

#[test]
fn zero_ablating_an_mlp_equals_skipping_it() {
    let (model, tokens) = (model(), tokens());
    let ablated = model.forward(
        tokens.clone(),
        &Intervention::zero([Component::Mlp { layer: 2 }]),
    );
    let mut by_hand = model.clone();
    let mlp = &mut by_hand.blocks[2].mlp;
    mlp.w_out.weight = Param::from_tensor(mlp.w_out.weight.val().zeros_like());
    mlp.w_out.bias = Some(Param::from_tensor(
        mlp.w_out.bias.as_ref().unwrap().val().zeros_like(),
    ));
    assert_close(
        ablated,
        by_hand.forward(tokens, &Intervention::none()),
        1e-5,
    );
}

#[test]
fn replacing_every_output_by_itself_changes_nothing() {
    let (model, tokens) = (model(), tokens());
    let capture = Capture {
        outputs: true,
        attention: false,
        residuals: false,
    };
    let clean = model.run(tokens.clone(), &Intervention::none(), capture);
    let same = model
        .components()
        .into_iter()
        .zip(clean.outputs)
        .fold(Intervention::none(), |i, (c, output)| {
            i.with(c, Replacement::Value(output))
        });
    let patched = model.forward(tokens, &same);
    assert_close(clean.logits, patched, 1e-5);
}

#[test]
fn replacing_an_output_by_another_value_changes_the_logits() {
    let (model, tokens) = (model(), tokens());
    let capture = Capture {
        outputs: true,
        attention: false,
        residuals: false,
    };
    let clean = model.run(tokens.clone(), &Intervention::none(), capture);
    let head = Component::Head { layer: 2, head: 0 };
    let doubled = clean.outputs[head.index(2)].clone().mul_scalar(2.0);
    let patched = model.forward(
        tokens,
        &Intervention::none().with(head, Replacement::Value(doubled)),
    );
    assert!(max_abs_difference(clean.logits, patched) > 1e-3);
}

#[test]
fn component_outputs_sum_to_the_final_residual_stream() {
    let (model, tokens) = (model(), tokens());
    let capture = Capture {
        outputs: true,
        attention: false,
        residuals: false,
    };
    let run = model.run(tokens.clone(), &Intervention::none(), capture);
    let [_, positions] = tokens.dims();
    let embeddings = burn::tensor::module::embedding(model.token_embedding.val(), tokens)
        + model
            .position_embedding
            .as_ref()
            .expect("the default positions are embedded")
            .val()
            .narrow(0, 0, positions)
            .unsqueeze_dim(0);
    let biases = model
        .blocks
        .iter()
        .map(|b| b.attn.b_o.val())
        .reduce(|a, b| a + b)
        .unwrap()
        .unsqueeze_dims::<3>(&[0, 1]);
    let sum = run
        .outputs
        .into_iter()
        .fold(embeddings + biases, |sum, o| sum + o);
    assert_close(sum, run.residual, 1e-4);
}

#[test]
fn attention_is_causal_and_normalised() {
    let (model, tokens) = (model(), tokens());
    let capture = Capture {
        outputs: false,
        attention: true,
        residuals: false,
    };
    let run = model.run(tokens, &Intervention::none(), capture);
    for pattern in run.attention {
        let [batch, heads, positions, _] = pattern.dims();
        let p = values(pattern);
        for row in 0..batch * heads * positions {
            let query = row % positions;
            let weights = &p[row * positions..(row + 1) * positions];
            assert!((weights.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert!(
                weights[query + 1..].iter().all(|&w| w == 0.0),
                "attends to the future"
            );
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_initial_weights() {
    let a = values(small_config().init(3, &device()).blocks[0].attn.w_q.val());
    let b = values(small_config().init(3, &device()).blocks[0].attn.w_q.val());
    let c = values(small_config().init(4, &device()).blocks[0].attn.w_q.val());
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn answer_logits_equal_the_whole_pass_at_the_answer_positions() {
    let (model, batch) = (model(), batch());
    let [_, positions] = batch.inputs.dims();
    // Lengths 2..=6: the shortest answers from position 3, so 11 of 14 positions are read.
    assert_eq!((positions, batch.answer_span), (14, 11));
    let clean = model.run(
        batch.inputs.clone(),
        &Intervention::none(),
        Capture {
            outputs: true,
            attention: false,
            residuals: false,
        },
    );
    let last_head = Component::Head { layer: 2, head: 1 };
    let mean = clean.outputs[last_head.index(model.heads())]
        .clone()
        .mean_dim(0);
    let interventions = [
        Intervention::none(),
        // Replacements in the last block, whose queries are cut to the answers: a zero, and a
        // value made for every position.
        Intervention::zero([last_head, Component::Mlp { layer: 2 }]),
        Intervention::none().with(last_head, Replacement::Value(mean)),
        Intervention::zero([Component::Head { layer: 0, head: 0 }]),
    ];
    for intervention in &interventions {
        let whole = model.forward(batch.inputs.clone(), intervention);
        let answers = model.answer_logits(&batch, intervention);
        assert_close(
            last(whole.clone(), batch.answer_span),
            answers.clone(),
            1e-5,
        );
        assert_eq!(
            values(exact_matches(whole, &batch)),
            values(exact_matches(answers, &batch))
        );
    }
}

#[test]
#[should_panic(expected = "miss answers")]
fn exact_match_refuses_logits_that_miss_answer_positions() {
    let (model, batch) = (model(), batch());
    let logits = model.forward(batch.inputs.clone(), &Intervention::none());
    exact_matches(last(logits, batch.answer_span - 1), &batch);
}

#[test]
fn resuming_from_a_clean_residual_equals_the_whole_pass() {
    let (model, tokens) = (model(), tokens());
    let capture = Capture {
        outputs: false,
        attention: false,
        residuals: true,
    };
    let clean = model.run(tokens.clone(), &Intervention::none(), capture);
    assert_eq!(clean.residuals.len(), model.layers());
    for component in model.components() {
        let layer = component.layer();
        let ablated = Intervention::none().with(component, Replacement::Zero);
        let whole = model.forward(tokens.clone(), &ablated);
        let resumed = model
            .run_from(
                layer,
                clean.residuals[layer].clone(),
                &ablated,
                Capture::default(),
            )
            .logits;
        assert_close(whole.clone(), resumed, 1e-5);
        // Not trivially equal: the ablation changes the logits.
        assert!(max_abs_difference(whole, clean.logits.clone()) > 1e-4);
    }
}

#[test]
fn rerunning_after_a_replaced_component_equals_the_whole_pass() {
    let (model, tokens) = (model(), tokens());
    let capture = Capture {
        outputs: true,
        attention: false,
        residuals: true,
    };
    let clean = model.run(tokens.clone(), &Intervention::none(), capture);
    assert_eq!(clean.between.len(), model.layers());
    let mean = |c: Component| clean.outputs[c.index(model.heads())].clone().mean_dim(0);
    let [_, positions] = tokens.dims();
    let span = batch().answer_span;
    for component in model.components() {
        let zero = Intervention::none().with(component, Replacement::Zero);
        let by_mean = Intervention::none().with(component, Replacement::Value(mean(component)));
        for ablated in [&zero, &by_mean] {
            let whole = model.forward(tokens.clone(), ablated);
            assert_close(
                whole.clone(),
                replay::replacing(&model, &clean, component, ablated, positions),
                1e-5,
            );
            // Read out at the answer positions only: the same logits there.
            assert_close(
                last(whole, span),
                replay::replacing(&model, &clean, component, ablated, span),
                1e-5,
            );
        }
        // Not trivially equal: removing the component changes the logits.
        let whole = model.forward(tokens.clone(), &zero);
        assert!(
            max_abs_difference(whole, clean.logits.clone()) > 1e-4,
            "{component}"
        );
    }
}

#[test]
fn pytorch_init_draws_in_pytorchs_ranges() {
    let config = small_config()
        .with_positions(gradcause::engine::model::Positions::None)
        .with_init(gradcause::engine::model::WeightInit::Pytorch);
    let model = config.init(3, &device());
    let (d, ff) = (config.d_model, config.d_ff);
    // Embedding N(0, 1): its sample's mean and spread.
    let embedding = values(model.token_embedding.val());
    let n = embedding.len() as f32;
    let mean = embedding.iter().sum::<f32>() / n;
    let std = (embedding.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt();
    assert!(
        mean.abs() < 0.05 && (std - 1.0).abs() < 0.05,
        "{mean} {std}"
    );
    // Every linear weight and bias U(±1/√fan_in): inside the bound, and filling it.
    let uniform = |values: Vec<f32>, fan_in: usize, what: &str| {
        let bound = 1.0 / (fan_in as f32).sqrt();
        let largest = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(largest <= bound, "{what}: {largest} > {bound}");
        if values.len() >= 200 {
            assert!(
                largest > 0.9 * bound,
                "{what}: {largest} fills too little of ±{bound}"
            );
            let mean = values.iter().sum::<f32>() / values.len() as f32;
            assert!(mean.abs() < 0.2 * bound, "{what}: mean {mean}");
        }
    };
    for block in &model.blocks {
        let a = &block.attn;
        for (w, b, what) in [
            (&a.w_q, &a.b_q, "W_Q"),
            (&a.w_k, &a.b_k, "W_K"),
            (&a.w_v, &a.b_v, "W_V"),
        ] {
            uniform(values(w.val()), d, what);
            uniform(values(b.val()), d, what);
        }
        uniform(values(a.w_o.val()), d, "W_O");
        uniform(values(a.b_o.val()), d, "b_O");
        let bias = |l: &burn::nn::Linear| values(l.bias.as_ref().unwrap().val());
        uniform(values(block.mlp.w_in.weight.val()), d, "W_in");
        uniform(bias(&block.mlp.w_in), d, "b_in");
        uniform(values(block.mlp.w_out.weight.val()), ff, "W_out");
        uniform(bias(&block.mlp.w_out), ff, "b_out");
        for norm in [&block.ln1, &block.ln2] {
            assert!(values(norm.gamma.val()).iter().all(|&g| g == 1.0));
            assert!(
                values(norm.beta.as_ref().unwrap().val())
                    .iter()
                    .all(|&b| b == 0.0)
            );
        }
    }
    uniform(values(model.unembed.weight.val()), d, "unembedding");
    assert!(model.position_embedding.is_none());
    // GPT-2's scheme draws in the same order: the same stream, other values.
    let gpt2 = small_config()
        .with_positions(gradcause::engine::model::Positions::None)
        .init(3, &device());
    let gpt2_embedding = values(gpt2.token_embedding.val());
    assert!(
        (gpt2_embedding[0] * 50.0 - embedding[0]).abs() < 1e-5,
        "0.02 and 1 times one normal draw"
    );
}
