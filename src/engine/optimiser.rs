//! Adam, the training's optimiser, in the shape that suits the device. On the CPU each
//! parameter steps in one fused pass ([`crate::engine::kernels::adam_step`]). On a GPU the
//! parameters and their gradients are laid end to end in one vector each ([`FlatAdam`]), so that
//! each of Adam's element-wise operations runs once for the whole model instead of once per
//! parameter tensor: each operation is a kernel dispatch, and in a browser a dispatch costs tens
//! of microseconds whatever its size; Burn's `Adam` makes about 13 per parameter tensor, half a
//! training step's dispatches (BENCHMARKS.md). A trainer with helpers, and each helper, keeps
//! the parameters laid end to end in memory and steps them in place with the sum of a step's
//! micro-batches' gradients ([`EndToEndAdam`]).
//!
//! All make Burn's `Adam`'s operations (adaptive momentum without weight decay or AMSGrad) in
//! Burn's order, element by element, so a step gives Burn's values.

use burn::optim::{
    AdamConfig, AdamState, AdaptiveMomentumState, GradientsParams, LearningRate, ModuleOptimizer,
    Optimizer,
};
use burn::prelude::*;

use crate::engine::flat::{fits, from_end_to_end, laid_end_to_end};
use crate::engine::kernels::adam_step_in_place;
use crate::engine::model::Transformer;

/// Adam's β₁ and β₂ (PyTorch's defaults, and Burn's).
pub const ADAM_BETAS: (f32, f32) = (0.9, 0.999);

/// Adam's ε (PyTorch's default; Burn's is 1e-5).
pub const ADAM_EPSILON: f32 = 1e-8;

/// The training's optimiser: Adam with [`ADAM_BETAS`] and [`ADAM_EPSILON`].
pub fn adam() -> ModuleOptimizer {
    FusedAdam {
        burns: AdamConfig::new()
            .with_beta_1(ADAM_BETAS.0)
            .with_beta_2(ADAM_BETAS.1)
            .with_epsilon(ADAM_EPSILON)
            .build(),
    }
    .into()
}

/// Burn's `Adam`, each parameter's step made by [`crate::engine::kernels::adam_step`] on the CPU (one
/// pass on the threads; the same values) and by Burn's `Adam` on any other backend.
#[derive(Clone)]
struct FusedAdam {
    burns: burn::optim::Adam,
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let momentum = state.as_ref().map(|state| &state.momentum);
        let time = momentum.map_or(1, |m| m.time + 1);
        let moments = momentum.map(|m| (&m.moment_1, &m.moment_2));
        let fused = crate::engine::kernels::adam_step(
            ADAM_BETAS,
            ADAM_EPSILON,
            lr,
            time,
            &tensor,
            &grad,
            moments,
        );
        match fused {
            Some([tensor, moment_1, moment_2]) => {
                let momentum = AdaptiveMomentumState::new(time, moment_1, moment_2);
                (tensor, Some(AdamState::new(momentum)))
            }
            None => self.burns.step(lr, tensor, grad, state),
        }
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        burn::optim::Adam::to_device(state, device)
    }
}

/// The optimiser a training run steps with: per parameter on the CPU, laid end to end elsewhere.
pub enum Optimiser {
    /// [`adam`]: each parameter in one fused pass.
    PerParameter(ModuleOptimizer),
    /// [`FlatAdam`]: every parameter at once.
    Flat(Box<FlatAdam>),
}

impl Optimiser {
    /// The one that suits `device` (the device the work runs on, without autodiff).
    pub fn for_device(device: &Device) -> Self {
        if *device == Device::flex() {
            Optimiser::PerParameter(adam())
        } else {
            Optimiser::Flat(Box::default())
        }
    }

    /// One step of `model` against `gradients` at learning rate `lr`.
    pub fn step(&mut self, lr: f64, model: Transformer, gradients: GradientsParams) -> Transformer {
        match self {
            Optimiser::PerParameter(adam) => adam.step(lr, model, gradients),
            Optimiser::Flat(adam) => adam.step(lr, model, &gradients),
        }
    }
}

/// Adam's state over the whole model: both moments laid out as the parameters are, and the
/// parameters the last step made, already laid end to end.
#[derive(Debug, Default)]
pub struct FlatAdam {
    /// The first and second moments after the last step; `None` before the first.
    moments: Option<[Tensor<1>; 2]>,
    /// The parameters the last step made, whose runs the model it returned holds.
    parameters: Option<Tensor<1>>,
    /// Steps taken.
    time: usize,
}

impl FlatAdam {
    /// One step of every parameter of `model` against its gradient in `gradients`, at learning
    /// rate `lr`. Every parameter must have a gradient (each of the transformer's takes part in
    /// every forward pass), and `model` must be the one the previous step returned (its
    /// parameters are not laid out again).
    pub fn step<M: Module>(&mut self, lr: f64, model: M, gradients: &GradientsParams) -> M {
        let (beta_1, beta_2) = ADAM_BETAS;
        let grad = laid_end_to_end(&model, Some(gradients));
        let param = match self.parameters.take() {
            Some(parameters) => parameters,
            None => laid_end_to_end(&model, None),
        };
        let (moment_1, moment_2) = match self.moments.take() {
            Some([m, v]) => (
                m.mul_scalar(beta_1)
                    .add(grad.clone().mul_scalar(1.0 - beta_1)),
                v.mul_scalar(beta_2)
                    .add(grad.square().mul_scalar(1.0 - beta_2)),
            ),
            None => (
                grad.clone().mul_scalar(1.0 - beta_1),
                grad.square().mul_scalar(1.0 - beta_2),
            ),
        };
        self.time += 1;
        let time = self.time as i32;
        let bias_correction_2_sqrt = (1.0 - beta_2.powi(time)).sqrt();
        let combined_factor = bias_correction_2_sqrt / (1.0 - beta_1.powi(time));
        let update = moment_1.clone().mul_scalar(combined_factor).div(
            moment_2
                .clone()
                .sqrt()
                .add_scalar(ADAM_EPSILON * bias_correction_2_sqrt),
        );
        let stepped = param - update.mul_scalar(lr);
        self.moments = Some([moment_1, moment_2]);
        self.parameters = Some(stepped.clone());
        from_end_to_end(model, stepped)
    }
}

/// Adam over a model's parameters laid end to end in memory ([`crate::engine::flat`]), stepped in
/// place with the sum of a step's micro-batches' gradients: how a trainer with helpers steps its
/// model, and each helper its copy ([`crate::engine::passes`]). Element by element [`adam`]'s
/// operations, so the same values, and every copy steps alike.
pub struct EndToEndAdam {
    /// The parameters after the last step.
    parameters: Vec<f32>,
    /// The first and second moments after the last step (not read before the first).
    moments: [Vec<f32>; 2],
    /// Steps taken.
    time: usize,
}

impl EndToEndAdam {
    /// Adam before its first step, on `parameters` laid end to end.
    pub fn new(parameters: Vec<f32>) -> Self {
        let count = parameters.len();
        Self {
            parameters,
            moments: [vec![0.0; count], vec![0.0; count]],
            time: 0,
        }
    }

    /// One step at learning rate `lr` with the sum of `parts` (a step's micro-batches' gradients,
    /// laid end to end) taken in their order: `model` (whose parameters are this optimiser's)
    /// with the parameters after it, on `device` (without autodiff). A part (or this optimiser's
    /// parameters) of another length than the model's parameters is refused, and nothing steps.
    pub fn step<M: Module>(
        &mut self,
        lr: f64,
        model: M,
        parts: Vec<Vec<f32>>,
        device: &Device,
    ) -> Result<M, String> {
        fits(&model, &self.parameters, "parameters")?;
        for part in &parts {
            fits(&model, part, "gradients")?;
        }
        if parts.is_empty() {
            return Err("no gradients came".into());
        }
        self.time += 1;
        let [moment_1, moment_2] = &mut self.moments;
        let parts: Vec<&[f32]> = parts.iter().map(Vec::as_slice).collect();
        adam_step_in_place(
            ADAM_BETAS,
            ADAM_EPSILON,
            lr,
            self.time,
            &mut self.parameters,
            &parts,
            [moment_1, moment_2],
        );
        let count = self.parameters.len();
        let values = TensorData::new(self.parameters.clone(), [count]);
        Ok(from_end_to_end(model, Tensor::from_data(values, device)))
    }
}
