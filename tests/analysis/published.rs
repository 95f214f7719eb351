//! The published pipeline (METHOD §11) against an independent implementation of it: a plain-Rust
//! forward pass in f64 over a model's weights, written from §11's text, that ablates a head the
//! published way (its mean before W_O written into its quarter of the attention output, after
//! W_O) and an MLP by its mean, and takes raw gradient norms by finite differences. The
//! analysis' C[slot], C[mean] and raw G on a trained model's fixed OOD set must agree with it.

use burn::module::Param;
use burn::prelude::*;
use gradcause::analysis::ablation::{Ablation, AblationSet};
use gradcause::analysis::analyze::analyze;
use gradcause::analysis::attribution::GWeights;
use gradcause::engine::backend::Backend;
use gradcause::engine::component::{Component, Intervention, Replacement};
use gradcause::engine::model::{Capture, Positions, Transformer, WeightInit};
use gradcause::engine::objective::BatchTensors;
use gradcause::engine::task::{Batch, BatchLayout, Task};
use gradcause::engine::weights::{from_safetensors, to_safetensors};
use gradcause::experiment::config::ExperimentConfig;
use gradcause::experiment::report::train_and_evaluate;

use crate::common::tiny_config;
use crate::helpers::{device, tiny_model};

fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    let data: Vec<f32> = t.into_data().try_to_vec().unwrap();
    data.into_iter().map(f64::from).collect()
}

/// One layer's weights, row-major as the model holds them.
struct Layer {
    ln1: (Vec<f64>, Vec<f64>),
    w_q: Vec<f64>,
    b_q: Vec<f64>,
    w_k: Vec<f64>,
    b_k: Vec<f64>,
    w_v: Vec<f64>,
    b_v: Vec<f64>,
    w_o: Vec<f64>,
    b_o: Vec<f64>,
    ln2: (Vec<f64>, Vec<f64>),
    w_in: Vec<f64>,
    b_in: Vec<f64>,
    w_out: Vec<f64>,
    b_out: Vec<f64>,
}

/// The model in f64, with no position embedding (the published pipeline's).
struct Reference {
    d: usize,
    heads: usize,
    d_head: usize,
    d_ff: usize,
    vocab: usize,
    embedding: Vec<f64>,
    layers: Vec<Layer>,
    ln_final: (Vec<f64>, Vec<f64>),
    w_u: Vec<f64>,
    b_u: Vec<f64>,
}

/// What one reference pass replaces: a head's slot, a head's output or an MLP's output.
#[derive(Clone)]
enum Edit {
    Slot {
        layer: usize,
        head: usize,
        value: Vec<f64>,
    },
    HeadOutput {
        layer: usize,
        head: usize,
        value: Vec<f64>,
    },
    MlpOutput {
        layer: usize,
        value: Vec<f64>,
    },
}

/// What a reference pass records: per layer, each head's values before W_O and its output,
/// `[head][position][..]`, and the MLP's output `[position][d]`.
#[derive(Default)]
struct Recorded {
    head_values: Vec<Vec<Vec<Vec<f64>>>>,
    head_outputs: Vec<Vec<Vec<Vec<f64>>>>,
    mlp_outputs: Vec<Vec<Vec<f64>>>,
}

fn layer_norm(x: &[f64], (gain, bias): &(Vec<f64>, Vec<f64>)) -> Vec<f64> {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let inv = 1.0 / (var + 1e-5).sqrt();
    (0..x.len())
        .map(|i| (x[i] - mean) * inv * gain[i] + bias[i])
        .collect()
}

/// erf by Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7).
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    (1.0 - poly * (-x * x).exp()).copysign(x)
}

fn gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2))
}

/// `x W + b` for `x` `[rows]`, `W` row-major `[rows, cols]` at `offset`, `b` `[cols]`.
fn affine(x: &[f64], w: &[f64], offset: usize, cols: usize, b: &[f64]) -> Vec<f64> {
    (0..cols)
        .map(|j| {
            b[j] + (0..x.len())
                .map(|i| x[i] * w[offset + i * cols + j])
                .sum::<f64>()
        })
        .collect()
}

impl Reference {
    fn of(model: &Transformer) -> Self {
        assert_eq!(model.positions, Positions::None);
        let ln = |n: &burn::nn::LayerNorm| {
            let beta = n.beta.as_ref().expect("LayerNorm with a bias");
            (values(n.gamma.val()), values(beta.val()))
        };
        let linear = |l: &burn::nn::Linear| {
            let bias = l.bias.as_ref().expect("a bias");
            (values(l.weight.val()), values(bias.val()))
        };
        let config = model.config();
        let layers = model
            .blocks
            .iter()
            .map(|b| {
                let a = &b.attn;
                let ((w_in, b_in), (w_out, b_out)) = (linear(&b.mlp.w_in), linear(&b.mlp.w_out));
                Layer {
                    ln1: ln(&b.ln1),
                    w_q: values(a.w_q.val()),
                    b_q: values(a.b_q.val()),
                    w_k: values(a.w_k.val()),
                    b_k: values(a.b_k.val()),
                    w_v: values(a.w_v.val()),
                    b_v: values(a.b_v.val()),
                    w_o: values(a.w_o.val()),
                    b_o: values(a.b_o.val()),
                    ln2: ln(&b.ln2),
                    w_in,
                    b_in,
                    w_out,
                    b_out,
                }
            })
            .collect();
        let (w_u, b_u) = linear(&model.unembed);
        Self {
            d: config.d_model,
            heads: config.heads,
            d_head: config.d_head(),
            d_ff: config.d_ff,
            vocab: b_u.len(),
            embedding: values(model.token_embedding.val()),
            layers,
            ln_final: ln(&model.ln_final),
            w_u,
            b_u,
        }
    }

    /// Logits `[position][vocab]` of one token sequence under `edits`, recording into `record`.
    fn forward(&self, tokens: &[u32], edits: &[Edit], record: &mut Recorded) -> Vec<Vec<f64>> {
        let (d, dh, t_len) = (self.d, self.d_head, tokens.len());
        let mut x: Vec<Vec<f64>> = tokens
            .iter()
            .map(|&t| self.embedding[t as usize * d..(t as usize + 1) * d].to_vec())
            .collect();
        for (l, layer) in self.layers.iter().enumerate() {
            let a: Vec<Vec<f64>> = x.iter().map(|r| layer_norm(r, &layer.ln1)).collect();
            let mut attention = vec![layer.b_o.clone(); t_len];
            let (mut values_l, mut outputs_l) = (Vec::new(), Vec::new());
            for h in 0..self.heads {
                let at = h * d * dh;
                let bias = |b: &[f64]| b[h * dh..(h + 1) * dh].to_vec();
                let project = |w: &[f64], b: &[f64]| -> Vec<Vec<f64>> {
                    a.iter().map(|r| affine(r, w, at, dh, &bias(b))).collect()
                };
                let (q, k, v) = (
                    project(&layer.w_q, &layer.b_q),
                    project(&layer.w_k, &layer.b_k),
                    project(&layer.w_v, &layer.b_v),
                );
                let mut z = vec![vec![0.0; dh]; t_len];
                for i in 0..t_len {
                    let scores: Vec<f64> = (0..=i)
                        .map(|j| {
                            (0..dh).map(|c| q[i][c] * k[j][c]).sum::<f64>() / (dh as f64).sqrt()
                        })
                        .collect();
                    let top = scores.iter().cloned().fold(f64::MIN, f64::max);
                    let weights: Vec<f64> = scores.iter().map(|s| (s - top).exp()).collect();
                    let total: f64 = weights.iter().sum();
                    for j in 0..=i {
                        for c in 0..dh {
                            z[i][c] += weights[j] / total * v[j][c];
                        }
                    }
                }
                let zero = vec![0.0; d];
                let mut output: Vec<Vec<f64>> = z
                    .iter()
                    .map(|r| affine(r, &layer.w_o, h * dh * d, d, &zero))
                    .collect();
                for edit in edits {
                    if let Edit::HeadOutput {
                        layer: el,
                        head,
                        value,
                    } = edit
                        && (*el, *head) == (l, h)
                    {
                        output = vec![value.clone(); t_len];
                    }
                }
                for (sum, o) in attention.iter_mut().zip(&output) {
                    sum.iter_mut().zip(o).for_each(|(s, v)| *s += v);
                }
                values_l.push(z);
                outputs_l.push(output);
            }
            // The published head "ablation": after W_O and its bias, the head's quarter of the
            // attention output is overwritten at every position.
            for edit in edits {
                if let Edit::Slot {
                    layer: el,
                    head,
                    value,
                } = edit
                    && *el == l
                {
                    for row in &mut attention {
                        row[head * dh..(head + 1) * dh].copy_from_slice(value);
                    }
                }
            }
            record.head_values.push(values_l);
            record.head_outputs.push(outputs_l);
            for (r, o) in x.iter_mut().zip(&attention) {
                r.iter_mut().zip(o).for_each(|(s, v)| *s += v);
            }
            let mut mlp: Vec<Vec<f64>> = x
                .iter()
                .map(|r| {
                    let hidden: Vec<f64> = affine(
                        &layer_norm(r, &layer.ln2),
                        &layer.w_in,
                        0,
                        self.d_ff,
                        &layer.b_in,
                    )
                    .into_iter()
                    .map(gelu)
                    .collect();
                    affine(&hidden, &layer.w_out, 0, d, &layer.b_out)
                })
                .collect();
            for edit in edits {
                if let Edit::MlpOutput { layer: el, value } = edit
                    && *el == l
                {
                    mlp = vec![value.clone(); t_len];
                }
            }
            record.mlp_outputs.push(mlp.clone());
            for (r, o) in x.iter_mut().zip(&mlp) {
                r.iter_mut().zip(o).for_each(|(s, v)| *s += v);
            }
        }
        x.iter()
            .map(|r| {
                affine(
                    &layer_norm(r, &self.ln_final),
                    &self.w_u,
                    0,
                    self.vocab,
                    &self.b_u,
                )
            })
            .collect()
    }

    /// The argmax prediction at every answer position of the batch, example by example.
    fn predictions(&self, batch: &Batch, edits: &[Edit]) -> Vec<usize> {
        let mut predicted = Vec::new();
        for b in 0..batch.size {
            let row = b * batch.positions..(b + 1) * batch.positions;
            let logits = self.forward(&batch.inputs[row.clone()], edits, &mut Recorded::default());
            for (t, logit) in logits.iter().enumerate() {
                if batch.mask[row.start + t] > 0.0 {
                    predicted.push(argmax(logit.iter().copied()));
                }
            }
        }
        predicted
    }

    /// Exact matches and the batch's mean cross-entropy over its answer tokens, under `edits`.
    fn score(&self, batch: &Batch, edits: &[Edit]) -> (usize, f64) {
        let (mut correct, mut loss, mut targets) = (0, 0.0, 0);
        for b in 0..batch.size {
            let row = b * batch.positions..(b + 1) * batch.positions;
            let logits = self.forward(&batch.inputs[row.clone()], edits, &mut Recorded::default());
            let mut right = true;
            for (t, logit) in logits.iter().enumerate() {
                if batch.mask[row.start + t] == 0.0 {
                    continue;
                }
                let target = batch.targets[row.start + t] as usize;
                let top = logit.iter().cloned().fold(f64::MIN, f64::max);
                let log_sum = logit.iter().map(|v| (v - top).exp()).sum::<f64>().ln() + top;
                loss += log_sum - logit[target];
                targets += 1;
                right &= argmax(logit.iter().copied()) == target;
            }
            correct += usize::from(right);
        }
        (correct, loss / targets as f64)
    }

    /// §11's means over a set: each head's values before W_O (`[layer][head][d_head]`), each
    /// head's output and each MLP's output (`[layer][..][d]`), over examples and positions.
    #[allow(clippy::type_complexity)]
    fn means(&self, batches: &[Batch]) -> (Vec<Vec<Vec<f64>>>, Vec<Vec<Vec<f64>>>, Vec<Vec<f64>>) {
        let (l_count, h_count) = (self.layers.len(), self.heads);
        let mut values = vec![vec![vec![0.0; self.d_head]; h_count]; l_count];
        let mut heads = vec![vec![vec![0.0; self.d]; h_count]; l_count];
        let mut mlps = vec![vec![0.0; self.d]; l_count];
        let mut rows = 0.0;
        for batch in batches {
            for b in 0..batch.size {
                let mut record = Recorded::default();
                self.forward(
                    &batch.inputs[b * batch.positions..(b + 1) * batch.positions],
                    &[],
                    &mut record,
                );
                rows += batch.positions as f64;
                for l in 0..l_count {
                    for h in 0..h_count {
                        for row in &record.head_values[l][h] {
                            values[l][h].iter_mut().zip(row).for_each(|(s, v)| *s += v);
                        }
                        for row in &record.head_outputs[l][h] {
                            heads[l][h].iter_mut().zip(row).for_each(|(s, v)| *s += v);
                        }
                    }
                    for row in &record.mlp_outputs[l] {
                        mlps[l].iter_mut().zip(row).for_each(|(s, v)| *s += v);
                    }
                }
            }
        }
        let scale = |v: &mut Vec<f64>| v.iter_mut().for_each(|x| *x /= rows);
        values.iter_mut().flatten().for_each(scale);
        heads.iter_mut().flatten().for_each(scale);
        mlps.iter_mut().for_each(scale);
        (values, heads, mlps)
    }

    /// The weight `i` of a component's G matrix: a head's W_V slice or an MLP's W_out.
    fn weight_mut(&mut self, component: Component, i: usize) -> &mut f64 {
        let layer = &mut self.layers[component.layer()];
        match component {
            Component::Head { head, .. } => &mut layer.w_v[head * self.d * self.d_head + i],
            Component::Mlp { .. } => &mut layer.w_out[i],
        }
    }

    /// Raw G as §11 takes it: per batch the Frobenius norm of the loss gradient of a head's W_V
    /// slice or an MLP's W_out, here by central differences; mean over the batches.
    fn raw_grad(&mut self, component: Component, batches: &[Batch]) -> f64 {
        let step = 1e-4;
        let entries = match component {
            Component::Head { .. } => self.d * self.d_head,
            Component::Mlp { .. } => self.d_ff * self.d,
        };
        let mut total = 0.0;
        for batch in batches {
            let mut squared = 0.0;
            for i in 0..entries {
                let original = *self.weight_mut(component, i);
                *self.weight_mut(component, i) = original + step;
                let up = self.score(batch, &[]).1;
                *self.weight_mut(component, i) = original - step;
                let down = self.score(batch, &[]).1;
                *self.weight_mut(component, i) = original;
                squared += ((up - down) / (2.0 * step)).powi(2);
            }
            total += squared.sqrt();
        }
        total / batches.len() as f64
    }
}

fn argmax(values: impl Iterator<Item = f64>) -> usize {
    let values: Vec<f64> = values.collect();
    (0..values.len())
        .max_by(|&i, &j| values[i].total_cmp(&values[j]))
        .unwrap()
}

/// The model's own argmax predictions at the batch's answer positions under `intervention`.
fn our_predictions(model: &Transformer, batch: &Batch, intervention: &Intervention) -> Vec<usize> {
    let inputs = BatchTensors::new(batch, &device()).inputs;
    let logits: Vec<f32> = model
        .forward(inputs, intervention)
        .into_data()
        .try_to_vec()
        .unwrap();
    let vocab = logits.len() / batch.mask.len();
    (0..batch.mask.len())
        .filter(|&p| batch.mask[p] > 0.0)
        .map(|p| {
            argmax(
                logits[p * vocab..(p + 1) * vocab]
                    .iter()
                    .map(|&v| f64::from(v)),
            )
        })
        .collect()
}

/// A tiny model (smaller than the other tests': the reference takes every gradient by
/// differences) trained under the published choices, through a saved weights file, and its fixed
/// evaluation set of length 3 (a training length, where it answers well enough for every
/// ablation to show).
fn published_model() -> (Transformer, Vec<Batch>, ExperimentConfig) {
    let mut config = tiny_config(Task::Sort, 11);
    config.model.d_model = 16;
    config.model.d_ff = 32;
    config.eval.ood_batches = 2;
    config.eval.ood_batch_size = 8;
    config.model.positions = Positions::None;
    config.model.init = WeightInit::Pytorch;
    config.train.batch_layout = BatchLayout::PadBetween;
    config.train.max_steps = 300;
    let (trained, _) =
        pollster::block_on(train_and_evaluate(&config, Backend::Cpu, &device(), |_| {})).unwrap();
    let saved = pollster::block_on(to_safetensors(&trained.model)).unwrap();
    let model = from_safetensors(&saved, &device()).unwrap();
    let batches = config.eval.ood_set(config.task, config.seed, 3);
    (model, batches, config)
}

#[test]
fn c_slot_c_mean_and_raw_g_agree_with_an_independent_implementation_of_section_11() {
    let (model, batches, config) = published_model();
    let analysis =
        pollster::block_on(analyze(&model, &config.analysis, &batches, 11, &mut ())).unwrap();
    let mut reference = Reference::of(&model);
    let examples: usize = batches.iter().map(|b| b.size).sum();
    let accuracy = |reference: &Reference, edits: &[Edit]| -> f64 {
        let correct: usize = batches.iter().map(|b| reference.score(b, edits).0).sum();
        correct as f64 / examples as f64
    };
    let base = accuracy(&reference, &[]);
    assert_eq!(analysis.base_accuracy, base);
    // A model this small answers few examples exactly after a short training; the predictions
    // at every answer position below are what the comparison rests on.
    let clean_predictions: Vec<usize> = batches
        .iter()
        .flat_map(|b| reference.predictions(b, &[]))
        .collect();
    let mut changed = 0;
    let (head_values, head_means, mlp_means) = reference.means(&batches);
    let set = pollster::block_on(AblationSet::new(&model, &batches, 11, &device())).unwrap();
    let single = pollster::block_on(set.single_ablations(&model, &mut ())).unwrap();
    let at = |a: Ablation| Ablation::ALL.iter().position(|&x| x == a).unwrap();
    let one_example = 1.0 / examples as f64;
    for (i, component) in model.components().into_iter().enumerate() {
        let (slot, mean) = match component {
            Component::Head { layer, head } => (
                Edit::Slot {
                    layer,
                    head,
                    value: head_values[layer][head].clone(),
                },
                Edit::HeadOutput {
                    layer,
                    head,
                    value: head_means[layer][head].clone(),
                },
            ),
            Component::Mlp { layer } => {
                let edit = Edit::MlpOutput {
                    layer,
                    value: mlp_means[layer].clone(),
                };
                (edit.clone(), edit)
            }
        };
        for (ablation, edit) in [(Ablation::Slot, &slot), (Ablation::Mean, &mean)] {
            let intervention = set.fixed_intervention(&[component], ablation);
            let ours: Vec<usize> = batches
                .iter()
                .flat_map(|b| our_predictions(&model, b, &intervention))
                .collect();
            let theirs: Vec<usize> = batches
                .iter()
                .flat_map(|b| reference.predictions(b, std::slice::from_ref(edit)))
                .collect();
            let differ = ours.iter().zip(&theirs).filter(|(a, b)| a != b).count();
            assert!(
                differ <= 1,
                "{component} {ablation}: {differ} predictions differ"
            );
            changed += usize::from(theirs != clean_predictions);
            let ours = analysis.components[i].causal[&ablation];
            let theirs = base - accuracy(&reference, std::slice::from_ref(edit));
            assert!(
                (ours - theirs).abs() <= one_example,
                "{component} {ablation}: {ours} vs {theirs}"
            );
            // The loss change is continuous: it shows the replacement itself is the same.
            let clean_loss: f64 = batches
                .iter()
                .map(|b| reference.score(b, &[]).1)
                .sum::<f64>();
            let ablated_loss: f64 = batches
                .iter()
                .map(|b| reference.score(b, std::slice::from_ref(edit)).1)
                .sum::<f64>();
            let theirs = (ablated_loss - clean_loss) / batches.len() as f64;
            let ours = single.loss_change[at(ablation)][i];
            assert!(
                (ours - theirs).abs() < 2e-4 + 1e-3 * theirs.abs(),
                "{component} {ablation} loss: {ours} vs {theirs}"
            );
        }
        let ours = analysis.components[i].grad[&GWeights::WvWoutRaw];
        let theirs = reference.raw_grad(component, &batches);
        assert!(
            (ours - theirs).abs() < 1e-3 * theirs.abs() + 1e-6,
            "{component} raw G: {ours} vs {theirs}"
        );
    }
    assert!(
        changed >= 4,
        "ablations that change no prediction test nothing: {changed}"
    );
}

#[test]
fn a_slot_writes_the_mean_into_its_quarter_of_the_attention_output_and_nothing_else() {
    let model = tiny_model(5);
    let batch = gradcause::engine::task::ood_set(Task::Sort, 5, 5, 1, 4).remove(0);
    let inputs = BatchTensors::new(&batch, &device()).inputs;
    let capture = Capture {
        outputs: false,
        attention: false,
        residuals: true,
    };
    let (layer, head, d_head) = (1, 1, model.config().d_head());
    let mut model = model;
    // A W_O bias that is not zero, so that overwriting it shows.
    let d_model = model.config().d_model;
    let bias: Vec<f32> = (0..d_model).map(|i| 0.1 * i as f32 - 1.0).collect();
    model.blocks[layer].attn.b_o = Param::from_data(TensorData::new(bias, [d_model]), &device());
    let value: Vec<f32> = (0..d_head).map(|i| 0.5 + i as f32).collect();
    let slot = Tensor::<1>::from_data(TensorData::new(value.clone(), [d_head]), &device());
    let intervention =
        Intervention::none().with(Component::Head { layer, head }, Replacement::Slot(slot));
    let clean = model.run(inputs.clone(), &Intervention::none(), capture);
    let slotted = model.run(inputs, &intervention, capture);
    let attention = |run: &gradcause::engine::model::Forward| -> Vec<f32> {
        (run.between[layer].clone() - run.residuals[layer].clone())
            .into_data()
            .try_to_vec()
            .unwrap()
    };
    let (clean, slotted) = (attention(&clean), attention(&slotted));
    let dims = d_head * head..d_head * (head + 1);
    for (row, (c, s)) in clean
        .chunks(d_model)
        .zip(slotted.chunks(d_model))
        .enumerate()
    {
        for dim in 0..d_model {
            if dims.contains(&dim) {
                // The value itself (read back through the residual stream, so to its rounding):
                // W_O's bias and every head's share overwritten.
                let v = value[dim - dims.start];
                assert!(
                    (s[dim] - v).abs() < 1e-5 * (1.0 + v.abs()),
                    "row {row} dim {dim}"
                );
                assert!(
                    (c[dim] - v).abs() > 1e-3,
                    "row {row} dim {dim}: already the value"
                );
            } else {
                assert_eq!(s[dim], c[dim], "row {row} dim {dim}");
            }
        }
    }
}
