//! What the model is scored on: a batch as tensors, the masked cross-entropy loss (METHOD §3) and
//! exact-match correctness (METHOD §4).

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use crate::engine::task::Batch;

/// A [`Batch`] on a device.
#[derive(Clone, Debug)]
pub struct BatchTensors {
    /// Input tokens, `[batch, positions]`.
    pub inputs: Tensor<2, Int>,
    /// Where each input token stands, `[batch, positions]`, for a shifted batch; `None` when
    /// every example starts at position 0.
    pub position_ids: Option<Tensor<2, Int>>,
    /// Next-token targets, `[batch, positions]`.
    pub targets: Tensor<2, Int>,
    /// 1 at the answer positions, `[batch, positions]`.
    pub mask: Tensor<2>,
    /// Number of answer tokens (the sum of `mask`).
    pub target_count: usize,
    /// Number of final positions that hold every answer position ([`Batch::answer_span`]).
    pub answer_span: usize,
}

impl BatchTensors {
    /// Uploads `batch` to `device`.
    pub fn new(batch: &Batch, device: &Device) -> Self {
        let shape = [batch.size, batch.positions];
        let ints = |values: &[usize]| {
            let values: Vec<i32> = values.iter().map(|&t| t as i32).collect();
            Tensor::from_data(TensorData::new(values, shape), device)
        };
        let tokens = |tokens: &[u32]| ints(&tokens.iter().map(|&t| t as usize).collect::<Vec<_>>());
        Self {
            inputs: tokens(&batch.inputs),
            position_ids: batch.position_ids().map(|ids| ints(&ids)),
            targets: tokens(&batch.targets),
            mask: Tensor::from_data(TensorData::new(batch.mask.clone(), shape), device),
            target_count: batch.target_count(),
            answer_span: batch.answer_span(),
        }
    }
}

/// Mean cross-entropy over every answer token of the batch (`y1..yn, END`), a `[1]` tensor.
/// `logits` cover every position of the batch, or only its last ones as long as every answer
/// position is among them (as for [`exact_matches`]).
pub fn loss(logits: Tensor<3>, batch: &BatchTensors) -> Tensor<1> {
    let [_, read, _] = logits.dims();
    let [_, positions] = batch.targets.dims();
    assert!(
        (batch.answer_span..=positions).contains(&read),
        "logits at {read} of {positions} positions miss answers"
    );
    let (mut targets, mut mask) = (batch.targets.clone(), batch.mask.clone());
    if read < positions {
        targets = targets.narrow(1, positions - read, read);
        mask = mask.narrow(1, positions - read, read);
    }
    let log_probs = log_softmax(logits, 2);
    let picked: Tensor<2> = log_probs.gather(2, targets.unsqueeze_dim(2)).squeeze_dim(2);
    (picked * mask)
        .sum()
        .neg()
        .div_scalar(batch.target_count as f64)
}

/// Per example, 1 when the argmax prediction at every answer position equals the target and 0
/// otherwise, `[batch]`. With the true prefix fed in this is exact-match accuracy, and equals
/// greedy decoding (a fully correct greedy decode sees only true prefixes). `logits` cover every
/// position of the batch, or only its last ones as long as every answer position is among them
/// ([`BatchTensors::answer_span`], [`crate::engine::model::Transformer::answer_logits`]).
pub fn exact_matches(logits: Tensor<3>, batch: &BatchTensors) -> Tensor<1> {
    let [_, read, _] = logits.dims();
    let [_, positions] = batch.targets.dims();
    assert!(
        (batch.answer_span..=positions).contains(&read),
        "logits at {read} of {positions} positions miss answers"
    );
    let targets = batch.targets.clone().narrow(1, positions - read, read);
    let mask = batch.mask.clone().narrow(1, positions - read, read);
    let predicted: Tensor<2, Int> = logits.argmax(2).squeeze_dim(2);
    let wrong = predicted.not_equal(targets).float() * mask;
    let wrong_per_example: Tensor<1> = wrong.sum_dim(1).squeeze_dim(1);
    wrong_per_example.equal_elem(0.0).float()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::task::{Example, Task};

    fn device() -> Device {
        Device::flex()
    }

    /// Logits that put `confidence` on `predicted[b][t]` at every position.
    fn logits_for(predicted: &[Vec<u32>], confidence: f32) -> Tensor<3> {
        let (batch, positions) = (predicted.len(), predicted[0].len());
        let vocab = crate::engine::task::VOCAB_SIZE;
        let mut values = vec![0.0f32; batch * positions * vocab];
        for (b, row) in predicted.iter().enumerate() {
            for (t, &token) in row.iter().enumerate() {
                values[(b * positions + t) * vocab + token as usize] = confidence;
            }
        }
        Tensor::from_data(
            TensorData::new(values, [batch, positions, vocab]),
            &device(),
        )
    }

    fn batch() -> Batch {
        let x = |x: &[u32]| Example {
            x: x.to_vec(),
            y: Task::Reverse.answer(x),
        };
        Batch::new(vec![x(&[1, 2]), x(&[3, 4, 5])])
    }

    #[test]
    fn exact_match_counts_whole_answers_and_ignores_the_rest() {
        let batch = batch();
        let tensors = BatchTensors::new(&batch, &device());
        let rows: Vec<Vec<u32>> = batch
            .targets
            .chunks(batch.positions)
            .map(<[u32]>::to_vec)
            .collect();
        let score = |rows: &[Vec<u32>]| -> Vec<f32> {
            exact_matches(logits_for(rows, 10.0), &tensors)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        assert_eq!(score(&rows), vec![1.0, 1.0]);

        // A wrong prediction on the input part or the padding does not count against an example.
        let mut outside = rows.clone();
        outside[0][0] = 50; // predicts x1
        outside[0][7] = 50; // padding
        assert_eq!(score(&outside), vec![1.0, 1.0]);

        // A wrong answer token or a wrong END does.
        let mut answer = rows.clone();
        answer[1][5] = 50; // y2 of the second example
        answer[0][5] = 50; // END of the first example
        assert_eq!(score(&answer), vec![0.0, 0.0]);
    }

    #[test]
    fn loss_is_masked_to_the_answer_tokens() {
        let batch = batch();
        let tensors = BatchTensors::new(&batch, &device());
        let rows: Vec<Vec<u32>> = batch
            .targets
            .chunks(batch.positions)
            .map(<[u32]>::to_vec)
            .collect();
        let loss_of =
            |rows: &[Vec<u32>]| -> f32 { loss(logits_for(rows, 30.0), &tensors).into_scalar() };
        assert!(loss_of(&rows) < 1e-6);

        // Getting every non-answer position wrong changes nothing.
        let mut outside = rows.clone();
        for (b, row) in outside.iter_mut().enumerate() {
            for (t, token) in row.iter_mut().enumerate() {
                if batch.mask[b * batch.positions + t] == 0.0 {
                    *token = 7;
                }
            }
        }
        assert!(loss_of(&outside) < 1e-6);

        // One confidently wrong answer token costs ~30 nats, spread over the 7 answer tokens.
        let mut one_wrong = rows.clone();
        one_wrong[1][5] = 7;
        let expected = 30.0 / 7.0;
        assert!(
            (loss_of(&one_wrong) - expected).abs() < 1e-3,
            "{}",
            loss_of(&one_wrong)
        );
    }
}
