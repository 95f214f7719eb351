//! The two algorithmic tasks, their vocabulary, and seeded batches of examples (METHOD §1).
//!
//! An example of length n is `[START, x1..xn, SEP, y1..yn, END]`: x is drawn uniformly with
//! replacement from 1..=99 and y is x reversed (reversal) or sorted ascending (sorting). The model
//! reads the sequence without its last token and is trained to predict the next token; only the
//! n + 1 predictions of `y1..yn, END` count. A training batch lays its examples out one of two
//! ways ([`BatchLayout`]); every evaluation uses the default, PAD after each example.

use serde::{Deserialize, Serialize};

use crate::engine::named::named_enum;
use crate::engine::rng::{Rng, Stream};

/// Number of token ids: values 1..=99, 0 unused, and four special tokens.
pub const VOCAB_SIZE: usize = 104;
/// The largest value an element of x can take; values are 1..=MAX_VALUE.
pub const MAX_VALUE: u32 = 99;
/// Start of an example.
pub const START: u32 = 100;
/// Separates the input x from the answer y.
pub const SEP: u32 = 101;
/// End of the answer.
pub const END: u32 = 102;
/// Fills a batch up to its longest example.
pub const PAD: u32 = 103;

/// The readable name of a token: its value, or START/SEP/END/PAD.
pub fn token_name(token: u32) -> String {
    match token {
        START => "START".into(),
        SEP => "SEP".into(),
        END => "END".into(),
        PAD => "PAD".into(),
        value => value.to_string(),
    }
}

named_enum! {
    /// Which algorithm the model learns.
    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Task("task") {
        /// y is x reversed.
        Reverse = "reverse",
        /// y is x sorted ascending, duplicates kept.
        Sort = "sort",
    }
}

impl Task {
    /// The answer y for the input x.
    pub fn answer(self, x: &[u32]) -> Vec<u32> {
        let mut y = x.to_vec();
        match self {
            Task::Reverse => y.reverse(),
            Task::Sort => y.sort_unstable(),
        }
        y
    }
}

named_enum! {
    /// Where a training batch puts the PAD that fills its shorter examples (config field
    /// `batch_layout`; METHOD §1 and §11).
    #[derive(Default, Serialize, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub enum BatchLayout("batch layout") {
        /// `[START x SEP y END]`, then PAD to the batch's longest example (METHOD's default).
        #[default]
        PadEnd = "pad-end",
        /// The published pipeline's: the prompt `[START x SEP]` padded to the batch's longest
        /// prompt, then the answer `[y END]` padded to the longest answer; a short example has
        /// PAD between its SEP and its answer, and every example's answer starts at the same
        /// position.
        PadBetween = "pad-between",
    }
}

/// One example: the input x and the task's answer y.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// The input values, each in 1..=99.
    pub x: Vec<u32>,
    /// The answer the model must produce.
    pub y: Vec<u32>,
}

impl Example {
    /// Draws an example of `length` values for `task`.
    pub fn generate(task: Task, length: usize, rng: &mut Rng) -> Self {
        let x: Vec<u32> = (0..length)
            .map(|_| rng.range(1, MAX_VALUE as usize) as u32)
            .collect();
        let y = task.answer(&x);
        Self { x, y }
    }

    /// The example's length n.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Whether the example has no values (never produced by [`Example::generate`] with n ≥ 1).
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// The full token sequence `[START, x.., SEP, y.., END]` (2n + 3 tokens).
    pub fn tokens(&self) -> Vec<u32> {
        let mut tokens = Vec::with_capacity(2 * self.len() + 3);
        tokens.push(START);
        tokens.extend(&self.x);
        tokens.push(SEP);
        tokens.extend(&self.y);
        tokens.push(END);
        tokens
    }

    /// The sequence with special tokens by name, e.g. `START 5 3 SEP 3 5 END`.
    pub fn text(&self) -> String {
        let names: Vec<String> = self.tokens().into_iter().map(token_name).collect();
        names.join(" ")
    }
}

/// A batch of examples laid out for the model, row-major `[batch, positions]`.
///
/// `inputs[b, t]` is token t of example b and `targets[b, t]` the token after it; `mask[b, t]` is
/// 1 where that target is one of the example's n + 1 answer tokens (`y1..yn, END`) and 0
/// elsewhere (the input part and the padding).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// Number of examples.
    pub size: usize,
    /// Number of positions: the longest example's 2n + 2.
    pub positions: usize,
    /// Input tokens, PAD after an example's end.
    pub inputs: Vec<u32>,
    /// Next-token targets, PAD after an example's end.
    pub targets: Vec<u32>,
    /// 1.0 at the answer positions, 0.0 elsewhere.
    pub mask: Vec<f32>,
    /// The examples the batch was made from.
    pub examples: Vec<Example>,
    /// Each example's first position (`shifted` training, see [`Batch::shift`]); `None` when
    /// every example starts at position 0, as in every evaluation.
    pub offsets: Option<Vec<usize>>,
}

impl Batch {
    /// Lays out `examples` as `layout` says.
    pub fn laid_out(examples: Vec<Example>, layout: BatchLayout) -> Self {
        match layout {
            BatchLayout::PadEnd => Self::new(examples),
            BatchLayout::PadBetween => Self::padded_between(examples),
        }
    }

    /// Lays out `examples`, padding each with PAD after its end to the longest
    /// ([`BatchLayout::PadEnd`]).
    pub fn new(examples: Vec<Example>) -> Self {
        let size = examples.len();
        let positions = examples.iter().map(|e| 2 * e.len() + 2).max().unwrap_or(0);
        let mut inputs = vec![PAD; size * positions];
        let mut targets = vec![PAD; size * positions];
        let mut mask = vec![0.0; size * positions];
        for (b, example) in examples.iter().enumerate() {
            let tokens = example.tokens();
            let row = b * positions;
            let n = example.len();
            let length = tokens.len() - 1;
            inputs[row..row + length].copy_from_slice(&tokens[..length]);
            targets[row..row + length].copy_from_slice(&tokens[1..]);
            // Position t predicts token t + 1; the answer tokens are n + 2 ..= 2n + 2.
            for m in &mut mask[row + n + 1..row + 2 * n + 2] {
                *m = 1.0;
            }
        }
        Self {
            size,
            positions,
            inputs,
            targets,
            mask,
            examples,
            offsets: None,
        }
    }

    /// Lays out `examples` as [`BatchLayout::PadBetween`]: with m the longest length, row b is
    /// `[START x SEP]` and PAD up to m + 2 tokens, then `[y END]` and PAD up to m + 1 tokens,
    /// less its last token (2m + 2 positions). Position m + 1 + j predicts answer token j, for
    /// every example; the PAD after a short answer is not a target.
    fn padded_between(examples: Vec<Example>) -> Self {
        let size = examples.len();
        let longest = examples.iter().map(Example::len).max().unwrap_or(0);
        let (prompt, answer) = (longest + 2, longest + 1);
        let positions = prompt + answer - 1;
        let mut inputs = vec![PAD; size * positions];
        let mut targets = vec![PAD; size * positions];
        let mut mask = vec![0.0; size * positions];
        for (b, example) in examples.iter().enumerate() {
            let mut row = vec![PAD; prompt + answer];
            row[0] = START;
            row[1..=example.len()].copy_from_slice(&example.x);
            row[example.len() + 1] = SEP;
            row[prompt..prompt + example.len()].copy_from_slice(&example.y);
            row[prompt + example.len()] = END;
            let at = b * positions;
            inputs[at..at + positions].copy_from_slice(&row[..positions]);
            targets[at..at + positions].copy_from_slice(&row[1..]);
            // The answer's n + 1 tokens are targets of positions prompt − 1 ..= prompt − 1 + n.
            for m in &mut mask[at + prompt - 1..=at + prompt - 1 + example.len()] {
                *m = 1.0;
            }
        }
        Self {
            size,
            positions,
            inputs,
            targets,
            mask,
            examples,
            offsets: None,
        }
    }

    /// Gives each example its own first position, uniform in `0..=context - positions`, drawn
    /// from `rng` (METHOD §2, `shifted`). `context` must be at least the batch's positions.
    pub fn shift(&mut self, context: usize, rng: &mut Rng) {
        let highest = context - self.positions;
        self.offsets = Some((0..self.size).map(|_| rng.range(0, highest)).collect());
    }

    /// The position of token t of example b, `[size, positions]` row-major: its offset plus t.
    pub fn position_ids(&self) -> Option<Vec<usize>> {
        let offsets = self.offsets.as_ref()?;
        Some(
            offsets
                .iter()
                .flat_map(|&offset| offset..offset + self.positions)
                .collect(),
        )
    }

    /// Draws a batch of `size` examples whose lengths are uniform in `min_length..=max_length`,
    /// padded at the end.
    pub fn generate(
        task: Task,
        size: usize,
        min_length: usize,
        max_length: usize,
        rng: &mut Rng,
    ) -> Self {
        Self::new(draw_examples(task, size, min_length, max_length, rng))
    }

    /// Number of final positions that hold every answer position of the batch: from the
    /// earliest position whose target is an answer token to the end.
    pub fn answer_span(&self) -> usize {
        let first = (0..self.size)
            .filter_map(|b| {
                let row = &self.mask[b * self.positions..(b + 1) * self.positions];
                row.iter().position(|&m| m > 0.0)
            })
            .min();
        first.map_or(0, |first| self.positions - first)
    }

    /// Number of answer tokens in the batch (the loss's denominator).
    pub fn target_count(&self) -> usize {
        self.mask.iter().filter(|&&m| m > 0.0).count()
    }

    /// The batch cut into `parts` runs of consecutive rows (the first `size % parts` one row
    /// longer), each keeping the whole batch's width and each row its layout and offset, so that
    /// the parts' rows are exactly the batch's. `parts` must be in `1..=size`.
    pub fn split(&self, parts: usize) -> Vec<Batch> {
        assert!(
            (1..=self.size.max(1)).contains(&parts),
            "{parts} parts of {}",
            self.size
        );
        let width = self.positions;
        let (each, longer) = (self.size / parts, self.size % parts);
        let mut start = 0;
        (0..parts)
            .map(|k| {
                let rows = start..start + each + usize::from(k < longer);
                start = rows.end;
                let cells = rows.start * width..rows.end * width;
                Batch {
                    size: rows.len(),
                    positions: width,
                    inputs: self.inputs[cells.clone()].to_vec(),
                    targets: self.targets[cells.clone()].to_vec(),
                    mask: self.mask[cells].to_vec(),
                    examples: self.examples[rows.clone()].to_vec(),
                    offsets: self.offsets.as_ref().map(|o| o[rows].to_vec()),
                }
            })
            .collect()
    }
}

/// `size` examples whose lengths are uniform in `min_length..=max_length`, each length drawn just
/// before its example.
pub fn draw_examples(
    task: Task,
    size: usize,
    min_length: usize,
    max_length: usize,
    rng: &mut Rng,
) -> Vec<Example> {
    (0..size)
        .map(|_| {
            let n = rng.range(min_length, max_length);
            Example::generate(task, n, rng)
        })
        .collect()
}

/// The fixed out-of-distribution evaluation set of one length: `batches` batches of
/// `batch_size` examples, the same for a seed on every machine (METHOD §4).
pub fn ood_set(
    task: Task,
    seed: u64,
    length: usize,
    batches: usize,
    batch_size: usize,
) -> Vec<Batch> {
    let mut rng = Rng::new(seed, Stream::OodEval(length));
    (0..batches)
        .map(|_| Batch::generate(task, batch_size, length, length, &mut rng))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(x: &[u32], task: Task) -> Example {
        Example {
            x: x.to_vec(),
            y: task.answer(x),
        }
    }

    #[test]
    fn layout_is_start_x_sep_y_end() {
        let e = example(&[5, 3, 9], Task::Reverse);
        assert_eq!(e.tokens(), vec![START, 5, 3, 9, SEP, 9, 3, 5, END]);
        assert_eq!(e.text(), "START 5 3 9 SEP 9 3 5 END");
    }

    #[test]
    fn answers_reverse_and_sort_keeping_duplicates() {
        assert_eq!(Task::Reverse.answer(&[1, 7, 7, 2]), vec![2, 7, 7, 1]);
        assert_eq!(Task::Sort.answer(&[42, 7, 99, 7, 1]), vec![1, 7, 7, 42, 99]);
    }

    #[test]
    fn generated_examples_are_valid() {
        let mut rng = Rng::new(3, Stream::TrainData);
        for task in Task::ALL {
            for n in 1..12 {
                let e = Example::generate(task, n, &mut rng);
                assert_eq!(e.len(), n);
                assert!(e.x.iter().all(|&v| (1..=MAX_VALUE).contains(&v)));
                assert_eq!(e.y, task.answer(&e.x));
            }
        }
    }

    #[test]
    fn batch_pads_and_masks_the_answer_only() {
        let short = example(&[4, 2], Task::Sort);
        let long = example(&[8, 6, 1], Task::Sort);
        let batch = Batch::new(vec![short, long]);
        assert_eq!(batch.positions, 8);
        // Short row: START 4 2 SEP 2 4 END, then padding.
        assert_eq!(&batch.inputs[..8], &[START, 4, 2, SEP, 2, 4, PAD, PAD]);
        assert_eq!(&batch.targets[..8], &[4, 2, SEP, 2, 4, END, PAD, PAD]);
        assert_eq!(&batch.mask[..8], &[0., 0., 0., 1., 1., 1., 0., 0.]);
        // Long row: START 8 6 1 SEP 1 6 8 (END is only a target).
        assert_eq!(&batch.inputs[8..], &[START, 8, 6, 1, SEP, 1, 6, 8]);
        assert_eq!(&batch.targets[8..], &[8, 6, 1, SEP, 1, 6, 8, END]);
        assert_eq!(&batch.mask[8..], &[0., 0., 0., 0., 1., 1., 1., 1.]);
        assert_eq!(batch.target_count(), 3 + 4);
    }

    #[test]
    fn a_split_batch_is_the_batch_in_order() {
        let mut rng = Rng::new(3, crate::engine::rng::Stream::TrainData);
        let mut batch = Batch::laid_out(
            draw_examples(Task::Sort, 7, 2, 5, &mut rng),
            BatchLayout::PadBetween,
        );
        batch.shift(32, &mut rng);
        let parts = batch.split(3);
        assert_eq!(parts.iter().map(|p| p.size).collect::<Vec<_>>(), [3, 2, 2]);
        let joined = |f: fn(&Batch) -> Vec<f32>| parts.iter().flat_map(f).collect::<Vec<_>>();
        assert_eq!(joined(|p| p.mask.clone()), batch.mask);
        let inputs: Vec<u32> = parts.iter().flat_map(|p| p.inputs.clone()).collect();
        let targets: Vec<u32> = parts.iter().flat_map(|p| p.targets.clone()).collect();
        let positions: Vec<usize> = parts
            .iter()
            .flat_map(|p| p.position_ids().unwrap())
            .collect();
        assert_eq!(inputs, batch.inputs);
        assert_eq!(targets, batch.targets);
        assert_eq!(positions, batch.position_ids().unwrap());
        assert!(parts.iter().all(|p| p.positions == batch.positions));
        let counts: usize = parts.iter().map(Batch::target_count).sum();
        assert_eq!(counts, batch.target_count());
        assert_eq!(batch.split(1)[0].inputs, batch.inputs);
    }

    #[test]
    fn pad_between_puts_every_answer_at_the_same_position() {
        let short = example(&[4, 2], Task::Sort);
        let long = example(&[8, 6, 1], Task::Sort);
        let batch = Batch::laid_out(vec![short, long.clone()], BatchLayout::PadBetween);
        // Longest n = 3: prompt width 5, answer width 4, 8 positions.
        assert_eq!(batch.positions, 8);
        // Short row: START 4 2 SEP PAD | 2 4 END (its last PAD only a target).
        assert_eq!(&batch.inputs[..8], &[START, 4, 2, SEP, PAD, 2, 4, END]);
        assert_eq!(&batch.targets[..8], &[4, 2, SEP, PAD, 2, 4, END, PAD]);
        // Targets 2 4 END count; the answer's padding does not.
        assert_eq!(&batch.mask[..8], &[0., 0., 0., 0., 1., 1., 1., 0.]);
        // The longest example is laid out as under pad-end.
        let alone = Batch::new(vec![long]);
        assert_eq!(&batch.inputs[8..], &alone.inputs[..]);
        assert_eq!(&batch.targets[8..], &alone.targets[..]);
        assert_eq!(&batch.mask[8..], &alone.mask[..]);
        assert_eq!(batch.target_count(), 3 + 4);
        assert_eq!(batch.answer_span(), 4);
        // Under pad-end the short example's answer starts earlier: a longer span.
        let end = Batch::new(batch.examples.clone());
        assert_eq!(end.answer_span(), 5);
        assert_eq!("pad-between".parse(), Ok(BatchLayout::PadBetween));
    }

    #[test]
    fn training_lengths_span_the_range() {
        let mut rng = Rng::new(9, Stream::TrainData);
        let batch = Batch::generate(Task::Reverse, 500, 3, 7, &mut rng);
        let lengths: std::collections::BTreeSet<usize> =
            batch.examples.iter().map(Example::len).collect();
        assert_eq!(lengths.into_iter().collect::<Vec<_>>(), vec![3, 4, 5, 6, 7]);
        assert_eq!(batch.positions, 16);
    }

    #[test]
    fn ood_sets_are_fixed_by_the_seed_and_one_length() {
        let a = ood_set(Task::Sort, 42, 9, 3, 8);
        assert_eq!(a, ood_set(Task::Sort, 42, 9, 3, 8));
        assert_ne!(a, ood_set(Task::Sort, 43, 9, 3, 8));
        assert!(a.iter().flat_map(|b| &b.examples).all(|e| e.len() == 9));
    }

    #[test]
    fn task_names_round_trip() {
        for task in Task::ALL {
            assert_eq!(task.name().parse::<Task>(), Ok(task));
        }
        assert!("copy".parse::<Task>().unwrap_err().contains("unknown task"));
    }
}
