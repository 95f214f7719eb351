//! Saving and loading a model's weights as safetensors.
//!
//! Tensors are float32, little-endian, named after the model's fields. Matrices act on row
//! vectors (`y = x W + b`), so a weight's first axis is its input. With `l` the layer, H heads,
//! D = d_model, d = d_head, F = d_ff, V = 104 and C = context:
//!
//! | name | shape |
//! | --- | --- |
//! | `token_embedding` | `[V, D]` |
//! | `position_embedding` (absent under `positions = none`) | `[C, D]` |
//! | `blocks.{l}.ln1.gamma`, `blocks.{l}.ln1.beta` | `[D]` |
//! | `blocks.{l}.attn.w_q`, `.w_k`, `.w_v` | `[H, D, d]` (head h is `[h, :, :]`) |
//! | `blocks.{l}.attn.b_q`, `.b_k`, `.b_v` | `[H, d]` |
//! | `blocks.{l}.attn.w_o` | `[H, d, D]` |
//! | `blocks.{l}.attn.b_o` | `[D]` (shared by the layer's heads) |
//! | `blocks.{l}.ln2.gamma`, `blocks.{l}.ln2.beta` | `[D]` |
//! | `blocks.{l}.mlp.w_in.weight`, `.bias` | `[D, F]`, `[F]` |
//! | `blocks.{l}.mlp.w_out.weight`, `.bias` | `[F, D]`, `[D]` |
//! | `ln_final.gamma`, `ln_final.beta` | `[D]` |
//! | `unembed.weight`, `unembed.bias` | `[D, V]`, `[V]` |
//!
//! The file's metadata records `positions` (`shifted`, `learned` or `none`) and `context`. The
//! model's shape is read off the tensors, so a file written by another program loads as long
//! as it has exactly these names and consistent shapes; without that metadata its positions are
//! `learned` when it has a `position_embedding` (whose rows are the context) and `none` (with the
//! default context) when it has not. LayerNorm epsilon is 1e-5.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use burn::module::Param;
use burn::nn::LayerNorm;
use burn::prelude::*;
use burn::tensor::ExecutionError;
use safetensors::{Dtype, SafeTensors};

use crate::engine::model::{ModelConfig, Positions, Transformer};
use crate::engine::task::VOCAB_SIZE;

/// A weights file that cannot be used.
#[derive(Debug)]
pub enum WeightsError {
    /// Not a safetensors file, or a tensor that does not fit the model.
    Invalid(String),
    /// Reading the weights off the device failed.
    Device(ExecutionError),
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightsError::Invalid(message) => write!(f, "unusable weights file: {message}"),
            WeightsError::Device(e) => write!(f, "could not read the weights off the device: {e}"),
        }
    }
}

impl std::error::Error for WeightsError {}

fn invalid(message: impl Into<String>) -> WeightsError {
    WeightsError::Invalid(message.into())
}

/// Visits every parameter with its file name.
trait ParamVisitor {
    fn visit<const D: usize>(&mut self, name: &str, param: &mut Param<Tensor<D>>);
}

fn visit_layer_norm(v: &mut impl ParamVisitor, name: &str, norm: &mut LayerNorm) {
    v.visit(&format!("{name}.gamma"), &mut norm.gamma);
    if let Some(beta) = &mut norm.beta {
        v.visit(&format!("{name}.beta"), beta);
    }
}

fn visit_linear(v: &mut impl ParamVisitor, name: &str, linear: &mut burn::nn::Linear) {
    v.visit(&format!("{name}.weight"), &mut linear.weight);
    if let Some(bias) = &mut linear.bias {
        v.visit(&format!("{name}.bias"), bias);
    }
}

/// The one list of names and parameters, in file order.
fn walk(model: &mut Transformer, v: &mut impl ParamVisitor) {
    v.visit("token_embedding", &mut model.token_embedding);
    if let Some(table) = &mut model.position_embedding {
        v.visit("position_embedding", table);
    }
    for (l, block) in model.blocks.iter_mut().enumerate() {
        let prefix = format!("blocks.{l}");
        visit_layer_norm(v, &format!("{prefix}.ln1"), &mut block.ln1);
        let attn = &mut block.attn;
        v.visit(&format!("{prefix}.attn.w_q"), &mut attn.w_q);
        v.visit(&format!("{prefix}.attn.b_q"), &mut attn.b_q);
        v.visit(&format!("{prefix}.attn.w_k"), &mut attn.w_k);
        v.visit(&format!("{prefix}.attn.b_k"), &mut attn.b_k);
        v.visit(&format!("{prefix}.attn.w_v"), &mut attn.w_v);
        v.visit(&format!("{prefix}.attn.b_v"), &mut attn.b_v);
        v.visit(&format!("{prefix}.attn.w_o"), &mut attn.w_o);
        v.visit(&format!("{prefix}.attn.b_o"), &mut attn.b_o);
        visit_layer_norm(v, &format!("{prefix}.ln2"), &mut block.ln2);
        visit_linear(v, &format!("{prefix}.mlp.w_in"), &mut block.mlp.w_in);
        visit_linear(v, &format!("{prefix}.mlp.w_out"), &mut block.mlp.w_out);
    }
    visit_layer_norm(v, "ln_final", &mut model.ln_final);
    visit_linear(v, "unembed", &mut model.unembed);
}

/// The model's weights as a safetensors file.
pub async fn to_safetensors(model: &Transformer) -> Result<Vec<u8>, WeightsError> {
    struct Collect(Vec<(String, Vec<usize>, Tensor<1>)>);
    impl ParamVisitor for Collect {
        fn visit<const D: usize>(&mut self, name: &str, param: &mut Param<Tensor<D>>) {
            let value = param.val();
            self.0
                .push((name.into(), value.dims().to_vec(), value.flatten(0, D - 1)));
        }
    }
    let mut collected = Collect(Vec::new());
    walk(&mut model.clone(), &mut collected);

    let mut tensors = Vec::new();
    for (name, shape, value) in collected.0 {
        let data = value
            .into_data_async()
            .await
            .map_err(WeightsError::Device)?;
        let values: Vec<f32> = data
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("f32 after convert");
        let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
        tensors.push((name, shape, bytes));
    }
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            let view = safetensors::tensor::TensorView::new(Dtype::F32, shape.clone(), bytes)
                .expect("shape matches the data");
            (name.as_str(), view)
        })
        .collect::<Vec<_>>();
    let metadata = HashMap::from([
        ("positions".to_string(), model.positions.name().to_string()),
        ("context".to_string(), model.context.to_string()),
    ]);
    let file = safetensors::serialize(views, Some(metadata)).map_err(|e| invalid(e.to_string()))?;
    Ok(sorted_header(file))
}

/// `file`, a safetensors file, with its header's keys in sorted order, so that a model always
/// saves to the same bytes (safetensors writes its metadata in a hash map's order, which changes
/// from one map to the next). The data's offsets count from after the header, so they stand.
fn sorted_header(file: Vec<u8>) -> Vec<u8> {
    let length = u64::from_le_bytes(file[..8].try_into().expect("a length")) as usize;
    let header: serde_json::Value =
        serde_json::from_slice(&file[8..8 + length]).expect("safetensors writes JSON");
    // serde_json's maps are sorted by key.
    let mut text = serde_json::to_vec(&header).expect("JSON serialises");
    // Padded with spaces to a multiple of 8 bytes, as safetensors pads it.
    text.resize(text.len().next_multiple_of(8), b' ');
    let mut sorted = (text.len() as u64).to_le_bytes().to_vec();
    sorted.extend_from_slice(&text);
    sorted.extend_from_slice(&file[8 + length..]);
    sorted
}

/// Loads a model from a safetensors file, inferring its shape from the tensors.
pub fn from_safetensors(bytes: &[u8], device: &Device) -> Result<Transformer, WeightsError> {
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| invalid(format!("not a safetensors file ({e})")))?;
    let mut tensors = BTreeMap::new();
    for (name, view) in file.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(invalid(format!(
                "tensor `{name}` is {:?}, expected F32",
                view.dtype()
            )));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        tensors.insert(name, (view.shape().to_vec(), values));
    }

    let config = infer_config(&tensors, file_metadata(bytes)?)?;
    let mut model = config.init(0, device);

    struct Load<'a> {
        tensors: &'a mut BTreeMap<String, (Vec<usize>, Vec<f32>)>,
        device: &'a Device,
        error: Option<WeightsError>,
    }
    impl ParamVisitor for Load<'_> {
        fn visit<const D: usize>(&mut self, name: &str, param: &mut Param<Tensor<D>>) {
            if self.error.is_some() {
                return;
            }
            let expected = param.dims().to_vec();
            match self.tensors.remove(name) {
                None => self.error = Some(invalid(format!("tensor `{name}` is missing"))),
                Some((shape, _)) if shape != expected => {
                    self.error = Some(invalid(format!(
                        "tensor `{name}` has shape {shape:?}, expected {expected:?}"
                    )))
                }
                Some((shape, values)) => {
                    *param = Param::from_data(TensorData::new(values, shape), self.device);
                }
            }
        }
    }
    let mut load = Load {
        tensors: &mut tensors,
        device,
        error: None,
    };
    walk(&mut model, &mut load);
    if let Some(error) = load.error {
        return Err(error);
    }
    if let Some(extra) = tensors.keys().next() {
        return Err(invalid(format!("unknown tensor `{extra}`")));
    }
    Ok(model)
}

/// The file's metadata (`positions`, `context`), empty when it has none.
fn file_metadata(bytes: &[u8]) -> Result<HashMap<String, String>, WeightsError> {
    let (_, metadata) = SafeTensors::read_metadata(bytes)
        .map_err(|e| invalid(format!("not a safetensors file ({e})")))?;
    Ok(metadata.metadata().clone().unwrap_or_default())
}

/// The model shape implied by the tensors' names and shapes and the file's metadata.
fn infer_config(
    tensors: &BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    metadata: HashMap<String, String>,
) -> Result<ModelConfig, WeightsError> {
    let shape = |name: &str| {
        tensors
            .get(name)
            .map(|(shape, _)| shape.as_slice())
            .ok_or_else(|| invalid(format!("tensor `{name}` is missing")))
    };
    let layers = (0..)
        .take_while(|l| tensors.contains_key(&format!("blocks.{l}.attn.w_q")))
        .count();
    if layers == 0 {
        return Err(invalid("no `blocks.0.attn.w_q`: not a gradcause model"));
    }
    let [vocab, d_model] = *shape("token_embedding")? else {
        return Err(invalid("`token_embedding` must have 2 axes"));
    };
    if vocab != VOCAB_SIZE {
        return Err(invalid(format!(
            "`token_embedding` has {vocab} rows, expected {VOCAB_SIZE}"
        )));
    }
    let positions = match metadata.get("positions") {
        Some(name) => name
            .parse::<Positions>()
            .map_err(|e| invalid(format!("metadata `positions`: {e}")))?,
        None if tensors.contains_key("position_embedding") => Positions::Learned,
        None => Positions::None,
    };
    let context = if positions.embedded() {
        let [context, _] = *shape("position_embedding")? else {
            return Err(invalid("`position_embedding` must have 2 axes"));
        };
        context
    } else {
        match metadata.get("context") {
            Some(text) => text
                .parse()
                .map_err(|_| invalid(format!("metadata `context`: `{text}` is not a number")))?,
            None => ModelConfig::new().context,
        }
    };
    let [heads, _, _] = *shape("blocks.0.attn.w_q")? else {
        return Err(invalid("`blocks.0.attn.w_q` must have 3 axes"));
    };
    let [_, d_ff] = *shape("blocks.0.mlp.w_in.weight")? else {
        return Err(invalid("`blocks.0.mlp.w_in.weight` must have 2 axes"));
    };
    if heads == 0 || d_model % heads != 0 {
        return Err(invalid(format!(
            "{heads} heads do not divide d_model = {d_model}"
        )));
    }
    Ok(ModelConfig::new()
        .with_layers(layers)
        .with_heads(heads)
        .with_d_model(d_model)
        .with_d_ff(d_ff)
        .with_context(context)
        .with_positions(positions))
}
