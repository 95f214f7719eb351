//! The decoder-only transformer of METHOD §2, in one file.
//!
//! GPT-2 style, pre-LayerNorm: token and absolute position embeddings (or none, see
//! [`Positions`]), `layers` blocks of
//! `x += Attn(LN1(x)); x += MLP(LN2(x))`, a final LayerNorm and a linear unembedding. Each head's
//! W_Q, W_K, W_V (`d_model x d_head`) and W_O (`d_head x d_model`) are slices of per-layer
//! tensors indexed by head, so a head's weights are addressable on their own.
//!
//! Every forward pass takes an [`Intervention`]: the outputs of the components it names are
//! replaced on the way into the residual stream. [`Transformer::run`] can also return every
//! component's output and every head's attention pattern.

use burn::module::Param;
use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::prelude::*;
use burn::tensor::module::embedding;
use serde::{Deserialize, Serialize};

use crate::engine::component::{Component, Intervention, last_positions};
use crate::engine::kernels::{self, LAYER_NORM_EPSILON, causal_softmax, layer_norm};
use crate::engine::named::named_enum;
use crate::engine::objective::BatchTensors;
use crate::engine::rng::{Rng, Stream};
use crate::engine::task::VOCAB_SIZE;

named_enum! {
    /// How the model knows where a token stands (METHOD §2, config field `positions`).
    #[derive(Default, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Positions("positions") {
        /// Learned absolute positions; in training each example starts at its own random offset
        /// in `0..=context - T`, so every position of the context is trained. Evaluation and the
        /// analysis start at 0.
        #[default]
        Shifted = "shifted",
        /// Learned absolute positions, always from 0 (the paper's text read literally): positions
        /// past the longest training example are never trained.
        Learned = "learned",
        /// No position embedding: the causal mask alone carries order.
        None = "none",
    }
}

impl Positions {
    /// Whether the model has a position embedding table.
    pub fn embedded(self) -> bool {
        self != Positions::None
    }
}

named_enum! {
    /// How a fresh model's weights are drawn (config field `init`; METHOD §2 and §11).
    #[derive(Default, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum WeightInit("init") {
        /// GPT-2's: weights N(0, 0.02²), the projections into the residual stream (W_O, an MLP's
        /// W_out) N(0, (0.02/√(2L))²), biases 0.
        #[default]
        Gpt2 = "gpt2",
        /// PyTorch's defaults, as the published pipeline leaves them: embeddings N(0, 1), every
        /// linear layer's weight and bias U(±1/√fan_in) (fan_in: the layer's input width;
        /// d_model for a head's slices, which are slices of d_model × d_model layers).
        Pytorch = "pytorch",
    }
}

/// Shape of the model. The defaults are the paper's (METHOD §2).
#[derive(Config, Debug, PartialEq)]
pub struct ModelConfig {
    /// Number of blocks L.
    #[config(default = 4)]
    pub layers: usize,
    /// Attention heads per block H.
    #[config(default = 4)]
    pub heads: usize,
    /// Width of the residual stream.
    #[config(default = 128)]
    pub d_model: usize,
    /// Hidden width of each MLP.
    #[config(default = 512)]
    pub d_ff: usize,
    /// Number of positions: the longest input the model can read.
    #[config(default = 32)]
    pub context: usize,
    /// How positions are embedded and trained.
    #[config(default = "Positions::Shifted")]
    pub positions: Positions,
    /// How the fresh weights are drawn.
    #[config(default = "WeightInit::Gpt2")]
    pub init: WeightInit,
}

impl ModelConfig {
    /// Width of one head, `d_model / heads`.
    pub fn d_head(&self) -> usize {
        self.d_model / self.heads
    }

    /// The model's components in canonical order.
    pub fn components(&self) -> Vec<Component> {
        Component::all(self.layers, self.heads)
    }

    /// A model with fresh weights drawn from the seed's weight-init stream, identical on every
    /// backend, under the config's [`WeightInit`]; LayerNorm gains 1 and biases 0.
    pub fn init(&self, seed: u64, device: &Device) -> Transformer {
        let mut init = Init {
            rng: Rng::new(seed, Stream::WeightInit),
            scheme: self.init,
            device,
        };
        let (d, h, dh, ff) = (self.d_model, self.heads, self.d_head(), self.d_ff);
        let std = 0.02;
        let residual_std = std / (2.0 * self.layers as f64).sqrt();
        let layer_norm = || {
            LayerNormConfig::new(d)
                .with_epsilon(LAYER_NORM_EPSILON.into())
                .init(device)
        };
        Transformer {
            token_embedding: init.embedding([VOCAB_SIZE, d]),
            position_embedding: self
                .positions
                .embedded()
                .then(|| init.embedding([self.context, d])),
            blocks: (0..self.layers)
                .map(|_| Block {
                    ln1: layer_norm(),
                    attn: Attention {
                        w_q: init.weight([h, d, dh], d, std),
                        b_q: init.bias([h, dh], d),
                        w_k: init.weight([h, d, dh], d, std),
                        b_k: init.bias([h, dh], d),
                        w_v: init.weight([h, d, dh], d, std),
                        b_v: init.bias([h, dh], d),
                        w_o: init.weight([h, dh, d], d, residual_std),
                        b_o: init.bias([d], d),
                    },
                    ln2: layer_norm(),
                    mlp: Mlp {
                        w_in: init.linear(d, ff, std),
                        w_out: init.linear(ff, d, residual_std),
                    },
                })
                .collect(),
            ln_final: layer_norm(),
            unembed: init.linear(d, VOCAB_SIZE, std),
            context: self.context,
            positions: self.positions,
        }
    }
}

/// Draws parameters from one random stream, in a fixed order, under one [`WeightInit`].
struct Init<'a> {
    rng: Rng,
    scheme: WeightInit,
    device: &'a Device,
}

impl Init<'_> {
    /// Values drawn one by one into a parameter of `shape`.
    fn draw<const D: usize>(
        &mut self,
        shape: [usize; D],
        mut value: impl FnMut(&mut Rng) -> f64,
    ) -> Param<Tensor<D>> {
        let count = shape.iter().product();
        let values: Vec<f32> = (0..count).map(|_| value(&mut self.rng) as f32).collect();
        Param::from_data(TensorData::new(values, shape), self.device)
    }

    /// An embedding table: N(0, 0.02²) under GPT-2's scheme, N(0, 1) under PyTorch's.
    fn embedding<const D: usize>(&mut self, shape: [usize; D]) -> Param<Tensor<D>> {
        let std = match self.scheme {
            WeightInit::Gpt2 => 0.02,
            WeightInit::Pytorch => 1.0,
        };
        self.draw(shape, |rng| rng.normal() * std)
    }

    /// A weight read by `fan_in` inputs: N(0, std²) under GPT-2's scheme, U(±1/√fan_in) under
    /// PyTorch's.
    fn weight<const D: usize>(
        &mut self,
        shape: [usize; D],
        fan_in: usize,
        std: f64,
    ) -> Param<Tensor<D>> {
        match self.scheme {
            WeightInit::Gpt2 => self.draw(shape, |rng| rng.normal() * std),
            WeightInit::Pytorch => self.uniform(shape, fan_in),
        }
    }

    /// A bias of a layer with `fan_in` inputs: 0 under GPT-2's scheme, U(±1/√fan_in) under
    /// PyTorch's.
    fn bias<const D: usize>(&mut self, shape: [usize; D], fan_in: usize) -> Param<Tensor<D>> {
        match self.scheme {
            WeightInit::Gpt2 => Param::from_tensor(Tensor::zeros(shape, self.device)),
            WeightInit::Pytorch => self.uniform(shape, fan_in),
        }
    }

    /// U(±1/√fan_in).
    fn uniform<const D: usize>(&mut self, shape: [usize; D], fan_in: usize) -> Param<Tensor<D>> {
        let bound = 1.0 / (fan_in as f64).sqrt();
        self.draw(shape, |rng| (2.0 * rng.uniform() - 1.0) * bound)
    }

    fn linear(&mut self, d_input: usize, d_output: usize, std: f64) -> Linear {
        Linear {
            weight: self.weight([d_input, d_output], d_input, std),
            bias: Some(self.bias([d_output], d_input)),
        }
    }
}

/// The whole model.
#[derive(Module, Debug)]
pub struct Transformer {
    /// `[vocab, d_model]`.
    pub token_embedding: Param<Tensor<2>>,
    /// `[context, d_model]`; absent under [`Positions::None`].
    pub position_embedding: Option<Param<Tensor<2>>>,
    /// The blocks, from layer 0.
    pub blocks: Vec<Block>,
    /// LayerNorm before the unembedding.
    pub ln_final: LayerNorm,
    /// `[d_model, vocab]` and a bias.
    pub unembed: Linear,
    /// The longest input the model reads.
    #[module(skip)]
    pub context: usize,
    /// How positions were embedded and trained.
    #[module(skip)]
    pub positions: Positions,
}

/// One pre-LayerNorm block.
#[derive(Module, Debug)]
pub struct Block {
    /// LayerNorm before attention.
    pub ln1: LayerNorm,
    /// Causal multi-head self-attention.
    pub attn: Attention,
    /// LayerNorm before the MLP.
    pub ln2: LayerNorm,
    /// The feed-forward sublayer.
    pub mlp: Mlp,
}

/// Causal multi-head self-attention with per-head weight slices.
#[derive(Module, Debug)]
pub struct Attention {
    /// Queries, `[heads, d_model, d_head]`.
    pub w_q: Param<Tensor<3>>,
    /// Query biases, `[heads, d_head]`.
    pub b_q: Param<Tensor<2>>,
    /// Keys, `[heads, d_model, d_head]`.
    pub w_k: Param<Tensor<3>>,
    /// Key biases, `[heads, d_head]`.
    pub b_k: Param<Tensor<2>>,
    /// Values, `[heads, d_model, d_head]`.
    pub w_v: Param<Tensor<3>>,
    /// Value biases, `[heads, d_head]`.
    pub b_v: Param<Tensor<2>>,
    /// Output projections, `[heads, d_head, d_model]`.
    pub w_o: Param<Tensor<3>>,
    /// The layer's shared output bias, `[d_model]` (part of no head).
    pub b_o: Param<Tensor<1>>,
}

/// `W_out GELU(W_in x + b_in) + b_out`.
#[derive(Module, Debug)]
pub struct Mlp {
    /// `[d_model, d_ff]` and its bias.
    pub w_in: Linear,
    /// `[d_ff, d_model]` and its bias.
    pub w_out: Linear,
}

/// What a forward pass records besides the logits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capture {
    /// Record each component's output.
    pub outputs: bool,
    /// Record each layer's attention pattern.
    pub attention: bool,
    /// Record the residual stream entering each block and between each block's attention and
    /// MLP ([`Forward::residuals`], [`Forward::between`]).
    pub residuals: bool,
}

/// The result of [`Transformer::run`].
#[derive(Debug)]
pub struct Forward {
    /// `[batch, positions, vocab]`, or only the last positions when fewer are read out.
    pub logits: Tensor<3>,
    /// The residual stream after the last block, before the final LayerNorm (at the positions
    /// read out).
    pub residual: Tensor<3>,
    /// With [`Capture::outputs`]: each component's output as it entered the residual stream
    /// (after any replacement), `[batch, positions, d_model]`, in [`Component::all`] order.
    pub outputs: Vec<Tensor<3>>,
    /// With [`Capture::outputs`]: each layer's heads' outputs before W_O (the attention-weighted
    /// values, W_V's bias included), `[batch, heads, positions, d_head]`.
    pub head_values: Vec<Tensor<4>>,
    /// With [`Capture::attention`]: each layer's attention pattern, `[batch, heads, query, key]`.
    pub attention: Vec<Tensor<4>>,
    /// With [`Capture::residuals`]: the residual stream entering each block,
    /// `[batch, positions, d_model]`.
    pub residuals: Vec<Tensor<3>>,
    /// With [`Capture::residuals`]: the residual stream between each block's attention and its
    /// MLP, `[batch, positions, d_model]`.
    pub between: Vec<Tensor<3>>,
}

impl Transformer {
    /// Logits `[batch, positions, vocab]` for `tokens` `[batch, positions]`.
    pub fn forward(&self, tokens: Tensor<2, Int>, intervention: &Intervention) -> Tensor<3> {
        self.run(tokens, intervention, Capture::default()).logits
    }

    /// Logits at the batch's last [`BatchTensors::answer_span`] positions only,
    /// `[batch, answer_span, vocab]`: what exact match reads. Equal to the same positions of
    /// a whole pass, but the last block computes its queries and MLP, and the unembedding runs,
    /// at those positions alone (nothing after the last block reads the others).
    pub fn answer_logits(&self, batch: &BatchTensors, intervention: &Intervention) -> Tensor<3> {
        let x = self.embed(batch.inputs.clone(), batch.position_ids.clone());
        let capture = Capture::default();
        self.run_blocks(0, false, x, intervention, capture, batch.answer_span)
            .logits
    }

    /// Logits of a batch as it stands, each example at its own positions when the batch is
    /// shifted, with no intervention: what training scores.
    pub fn forward_batch(&self, batch: &BatchTensors) -> Tensor<3> {
        let (tokens, position_ids) = (batch.inputs.clone(), batch.position_ids.clone());
        self.run_at(
            tokens,
            position_ids,
            &Intervention::none(),
            Capture::default(),
        )
        .logits
    }

    /// A forward pass that also records what `capture` asks for, every example starting at
    /// position 0.
    pub fn run(
        &self,
        tokens: Tensor<2, Int>,
        intervention: &Intervention,
        capture: Capture,
    ) -> Forward {
        self.run_at(tokens, None, intervention, capture)
    }

    /// A forward pass whose token t of example b stands at position `position_ids[b, t]`
    /// (`[batch, positions]`; training under [`Positions::Shifted`]), or at t when `None`.
    pub fn run_at(
        &self,
        tokens: Tensor<2, Int>,
        position_ids: Option<Tensor<2, Int>>,
        intervention: &Intervention,
        capture: Capture,
    ) -> Forward {
        let x = self.embed(tokens, position_ids);
        self.run_from(0, x, intervention, capture)
    }

    /// The residual stream entering block 0: token plus position embeddings.
    fn embed(&self, tokens: Tensor<2, Int>, position_ids: Option<Tensor<2, Int>>) -> Tensor<3> {
        let [_, positions] = tokens.dims();
        let x = embedding(self.token_embedding.val(), tokens);
        match (&self.position_embedding, position_ids) {
            (None, _) => x,
            (Some(table), Some(ids)) => x + embedding(table.val(), ids),
            (Some(table), None) => x + table.val().narrow(0, 0, positions).unsqueeze_dim(0),
        }
    }

    /// The forward pass from block `start` on, given the residual stream entering it (as
    /// [`Forward::residuals`] records it). Equal to a whole pass whose intervention touches
    /// only blocks `start` and later, without recomputing the blocks before; what is captured
    /// starts at block `start`.
    pub fn run_from(
        &self,
        start: usize,
        residual: Tensor<3>,
        intervention: &Intervention,
        capture: Capture,
    ) -> Forward {
        let [_, positions, _] = residual.dims();
        self.run_blocks(start, false, residual, intervention, capture, positions)
    }

    /// The blocks from `start` on, and the unembedding; with `skip_attention`, block `start`
    /// runs only its MLP (`residual` is then the stream between its attention and MLP). The last
    /// block and the unembedding compute only the last `readout` positions; with fewer than all,
    /// nothing may be captured (what the last block would record would cover those alone).
    /// The analysis resumes clean passes here to replay them with one component replaced.
    pub fn run_blocks(
        &self,
        start: usize,
        skip_attention: bool,
        residual: Tensor<3>,
        intervention: &Intervention,
        capture: Capture,
        readout: usize,
    ) -> Forward {
        let [_, positions, _] = residual.dims();
        assert!(
            readout == positions || capture == Capture::default(),
            "a pass that reads out {readout} of {positions} positions captures nothing"
        );
        let mut x = residual;
        let mut trace = Trace::new(capture);
        let (mut residuals, mut between) = (Vec::new(), Vec::new());
        for layer in start..self.layers() {
            let attend = !(skip_attention && layer == start);
            if capture.residuals && attend {
                residuals.push(x.clone());
            }
            let (mid, leaving) = self.block(layer, attend, x, intervention, &mut trace, readout);
            if capture.residuals {
                between.push(mid);
            }
            x = leaving;
        }
        // A pass that resumes after the last block has not cut the stream yet.
        let x = last_positions(x, readout);
        Forward {
            logits: self.unembed_stream(x.clone()),
            residual: x,
            outputs: trace.outputs,
            head_values: trace.head_values,
            attention: trace.attention,
            residuals,
            between,
        }
    }

    /// The residual stream leaving block `layer` under `intervention`, given the stream entering
    /// it; the last block computes only the last `readout` positions. What [`Self::run_blocks`]
    /// computes there: replays that agree on the blocks before share them this way.
    pub fn run_block(
        &self,
        layer: usize,
        residual: Tensor<3>,
        intervention: &Intervention,
        readout: usize,
    ) -> Tensor<3> {
        let mut trace = Trace::new(Capture::default());
        let (_, leaving) = self.block(layer, true, residual, intervention, &mut trace, readout);
        leaving
    }

    /// The logits of the stream leaving the last block, at each of its positions: the final
    /// LayerNorm and the unembedding.
    pub fn unembed_stream(&self, x: Tensor<3>) -> Tensor<3> {
        rows(layer_norm(x, &self.ln_final), |x| dense(x, &self.unembed))
    }

    /// Block `layer` on `x`, the stream entering it (with `attend`) or the stream between its
    /// attention and its MLP (without, and the attention is skipped): the stream between the two
    /// and the stream leaving the block. Every position feeds the blocks after it; the last block
    /// computes only the last `readout`, what is read out.
    fn block(
        &self,
        layer: usize,
        attend: bool,
        mut x: Tensor<3>,
        intervention: &Intervention,
        trace: &mut Trace,
        readout: usize,
    ) -> (Tensor<3>, Tensor<3>) {
        let block = &self.blocks[layer];
        let [_, positions, _] = x.dims();
        let queries = if layer + 1 == self.layers() {
            readout
        } else {
            positions
        };
        if attend {
            let attention = block.attn.forward(
                layer_norm(x.clone(), &block.ln1),
                queries,
                layer,
                intervention,
                trace,
            );
            x = last_positions(x, queries) + attention;
        } else {
            x = last_positions(x, queries);
        }
        let mlp = block.mlp.forward(
            layer_norm(x.clone(), &block.ln2),
            layer,
            intervention,
            trace,
        );
        (x.clone(), x + mlp)
    }

    /// The shape of this model, read off its weights.
    pub fn config(&self) -> ModelConfig {
        let [_, d_model] = self.token_embedding.dims();
        let [_, d_ff] = self.blocks[0].mlp.w_in.weight.dims();
        ModelConfig::new()
            .with_layers(self.layers())
            .with_heads(self.heads())
            .with_d_model(d_model)
            .with_d_ff(d_ff)
            .with_context(self.context)
            .with_positions(self.positions)
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.token_embedding.device()
    }

    /// Number of blocks.
    pub fn layers(&self) -> usize {
        self.blocks.len()
    }

    /// Heads per block.
    pub fn heads(&self) -> usize {
        self.blocks[0].attn.w_q.dims()[0]
    }

    /// The model's components in canonical order.
    pub fn components(&self) -> Vec<Component> {
        Component::all(self.layers(), self.heads())
    }
}

/// Outputs and patterns collected during one forward pass.
struct Trace {
    capture: Capture,
    outputs: Vec<Tensor<3>>,
    head_values: Vec<Tensor<4>>,
    attention: Vec<Tensor<4>>,
}

impl Attention {
    /// The sublayer's contribution to the residual stream at the last `queries` positions of
    /// `x`: the sum of the heads' outputs (each possibly replaced) plus the shared output bias,
    /// and then any slot the intervention writes ([`Intervention::write_slots`]).
    fn forward(
        &self,
        x: Tensor<3>,
        queries: usize,
        layer: usize,
        intervention: &Intervention,
        trace: &mut Trace,
    ) -> Tensor<3> {
        let [batch, _, d_model] = x.dims();
        let [heads, d_head, _] = self.w_o.dims();
        let q = project(last_positions(x.clone(), queries), &self.w_q, &self.b_q);
        let k = project(x.clone(), &self.w_k, &self.b_k);
        let v = project(x, &self.w_v, &self.b_v);
        let scores = kernels::matmul(q, k.swap_dims(2, 3));
        let pattern = causal_softmax(scores, (d_head as f32).sqrt());
        if trace.capture.attention {
            trace.attention.push(pattern.clone());
        }
        let z = kernels::matmul(pattern, v); // [batch, heads, queries, d_head]
        let bias = self.b_o.val().unsqueeze_dims::<3>(&[0, 1]);
        if trace.capture.outputs {
            trace.head_values.push(z.clone());
        }

        let output = if !trace.capture.outputs && !intervention.touches_heads_of(layer) {
            // Nothing per head to see or change: one matmul over the concatenated heads.
            let z = kernels::swap_middle_dims(z).reshape([batch * queries, heads * d_head]);
            let w_o = self.w_o.val().reshape([heads * d_head, d_model]);
            kernels::matmul(z, w_o).reshape([batch, queries, d_model]) + bias
        } else {
            // Each head's rows of every example as one matrix: one product per head.
            let z = kernels::swap_middle_dims(z.reshape([1, batch, heads, queries * d_head]))
                .reshape([heads, batch * queries, d_head]);
            let per_head = kernels::matmul(z, self.w_o.val()); // [heads, batch · queries, d_model]
            (0..heads).fold(bias, |sum, head| {
                let output = per_head
                    .clone()
                    .narrow(0, head, 1)
                    .reshape([batch, queries, d_model]);
                sum + trace.pass(Component::Head { layer, head }, output, intervention)
            })
        };
        intervention.write_slots(layer, output)
    }
}

/// `x W + b` for every head at once: `[batch, positions, d_model]` to `[batch, heads, positions, d_head]`.
fn project(x: Tensor<3>, w: &Param<Tensor<3>>, b: &Param<Tensor<2>>) -> Tensor<4> {
    let [batch, positions, d_model] = x.dims();
    let [heads, _, d_head] = w.dims();
    let w = w.val().swap_dims(0, 1).reshape([d_model, heads * d_head]);
    let b = b.val().reshape([heads * d_head]);
    let x = x.reshape([batch * positions, d_model]);
    kernels::swap_middle_dims(kernels::linear(x, w, b).reshape([batch, positions, heads, d_head]))
}

/// A linear layer on the rows of `x` `[rows, d_input]`.
fn dense(x: Tensor<2>, layer: &Linear) -> Tensor<2> {
    let bias = layer
        .bias
        .as_ref()
        .expect("the model's linear layers have a bias");
    kernels::linear(x, layer.weight.val(), bias.val())
}

/// Applies `f` to every position of every example as the rows of one matrix: one large matmul
/// instead of a batch of small ones, forward and backward.
fn rows(x: Tensor<3>, f: impl FnOnce(Tensor<2>) -> Tensor<2>) -> Tensor<3> {
    let [batch, positions, d] = x.dims();
    let y = f(x.reshape([batch * positions, d]));
    let [_, d_out] = y.dims();
    y.reshape([batch, positions, d_out])
}

impl Mlp {
    fn forward(
        &self,
        x: Tensor<3>,
        layer: usize,
        intervention: &Intervention,
        trace: &mut Trace,
    ) -> Tensor<3> {
        let output = rows(x, |x| {
            dense(kernels::gelu(dense(x, &self.w_in)), &self.w_out)
        });
        trace.pass(Component::Mlp { layer }, output, intervention)
    }
}

impl Trace {
    /// Nothing recorded yet.
    fn new(capture: Capture) -> Self {
        Trace {
            capture,
            outputs: Vec::new(),
            head_values: Vec::new(),
            attention: Vec::new(),
        }
    }

    /// Applies the intervention to a component's output and records what is passed on.
    fn pass(
        &mut self,
        component: Component,
        output: Tensor<3>,
        intervention: &Intervention,
    ) -> Tensor<3> {
        let output = intervention.apply(component, output);
        if self.capture.outputs {
            self.outputs.push(output.clone());
        }
        output
    }
}
