//! A model's parameters, or their gradients, laid end to end in one vector, in the order the
//! model lists them: how Adam steps every parameter at once on a GPU
//! ([`crate::engine::optimiser::FlatAdam`]), and how a model's parameters and a training step's
//! gradients travel between the page's workers ([`crate::engine::passes::Helpers`]).

use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;

/// `model`'s parameters (or, with `gradients`, their gradients) flattened and laid end to end
/// in the order the model lists them, without autodiff.
///
/// # Panics
/// With `gradients`, if a parameter has none (each of the transformer's takes part in every
/// forward pass, so each has one after a backward pass).
pub fn laid_end_to_end(model: &impl Module, gradients: Option<&GradientsParams>) -> Tensor<1> {
    /// Collects each parameter's values or gradient, flattened.
    struct Flatten<'a> {
        gradients: Option<&'a GradientsParams>,
        pieces: Vec<Tensor<1>>,
    }
    impl ModuleVisitor for Flatten<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let values = match self.gradients {
                Some(gradients) => gradients
                    .get::<D>(param.id)
                    .expect("every parameter has a gradient"),
                None => param.val().inner(),
            };
            let count = values.shape().num_elements();
            self.pieces.push(values.reshape([count]));
        }
    }
    let mut flatten = Flatten {
        gradients,
        pieces: Vec::new(),
    };
    model.visit(&mut flatten);
    Tensor::cat(flatten.pieces, 0)
}

/// `model` with each parameter, in the order the model lists them, given its run of `values`
/// (laid out as [`laid_end_to_end`] lays them) in its shape, as a leaf of the autodiff graph
/// where the model's device has one.
pub fn from_end_to_end<M: Module>(model: M, values: Tensor<1>) -> M {
    /// Gives each parameter its run of `values`.
    struct FromEndToEnd {
        values: Tensor<1>,
        offset: usize,
    }
    impl ModuleMapper for FromEndToEnd {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let (id, tensor, mapper) = param.consume();
            let shape = tensor.shape();
            let count = shape.num_elements();
            let run = self.values.clone().slice(self.offset..self.offset + count);
            self.offset += count;
            let value = Tensor::from_inner(run.reshape(shape)).require_grad();
            Param::from_mapped_value(id, value, mapper)
        }
    }
    model.map(&mut FromEndToEnd { values, offset: 0 })
}

/// The gradients laid out end to end in `values` (as [`laid_end_to_end`] lays them), each
/// registered for its parameter of `model`.
pub fn gradients_from_end_to_end(model: &impl Module, values: Tensor<1>) -> GradientsParams {
    /// Registers each parameter's run of `values` as its gradient.
    struct Register {
        values: Tensor<1>,
        offset: usize,
        gradients: GradientsParams,
    }
    impl ModuleVisitor for Register {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let shape = param.lazy_shape();
            let count = shape.num_elements();
            let run = self.values.clone().slice(self.offset..self.offset + count);
            self.offset += count;
            self.gradients.register::<D>(param.id, run.reshape(shape));
        }
    }
    let mut register = Register {
        values,
        offset: 0,
        gradients: GradientsParams::new(),
    };
    model.visit(&mut register);
    register.gradients
}

/// `values` (one per parameter of `model`, laid end to end) as a tensor on `device`; an error
/// naming `what` they are if their count is not the model's.
pub fn end_to_end(
    model: &impl Module,
    values: Vec<f32>,
    what: &str,
    device: &Device,
) -> Result<Tensor<1>, String> {
    fits(model, &values, what)?;
    let count = values.len();
    Ok(Tensor::from_data(TensorData::new(values, [count]), device))
}

/// Whether `values` are one per parameter of `model`, laid end to end; an error naming `what`
/// they are where their count is not the model's.
pub fn fits(model: &impl Module, values: &[f32], what: &str) -> Result<(), String> {
    let (came, count) = (values.len(), model.num_params());
    if came != count {
        return Err(format!(
            "{came} {what} came for a model of {count} parameters"
        ));
    }
    Ok(())
}
