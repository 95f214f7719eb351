//! The model's components and interventions on their outputs (METHOD §2).
//!
//! A component is one attention head, `L{layer}_H{head}`, or one MLP, `L{layer}_MLP`, layers and
//! heads counted from 0. Its output is its own additive contribution to the residual stream. An
//! [`Intervention`] is data: a list of components and what replaces each one's output during a
//! forward pass. Any subset can be replaced at once; an empty intervention is the plain model.

use std::fmt;
use std::str::FromStr;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// One attention head or one MLP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    /// Head `head` of the attention sublayer of block `layer`.
    Head {
        /// Block index, from 0.
        layer: usize,
        /// Head index within the layer, from 0.
        head: usize,
    },
    /// The MLP sublayer of block `layer`.
    Mlp {
        /// Block index, from 0.
        layer: usize,
    },
}

impl Component {
    /// Every component of a model, in the canonical order: for each layer its heads, then its MLP
    /// (`L0_H0 .. L0_H3, L0_MLP, L1_H0, ..`). Reports list components in this order and ties are
    /// broken by it.
    pub fn all(layers: usize, heads: usize) -> Vec<Component> {
        (0..layers)
            .flat_map(|layer| {
                (0..heads)
                    .map(move |head| Component::Head { layer, head })
                    .chain(std::iter::once(Component::Mlp { layer }))
            })
            .collect()
    }

    /// The block the component belongs to.
    pub fn layer(self) -> usize {
        match self {
            Component::Head { layer, .. } | Component::Mlp { layer } => layer,
        }
    }

    /// Position in [`Component::all`] for a model with `heads` heads per layer.
    pub fn index(self, heads: usize) -> usize {
        match self {
            Component::Head { layer, head } => layer * (heads + 1) + head,
            Component::Mlp { layer } => layer * (heads + 1) + heads,
        }
    }

    /// Whether the component exists in a model of `layers` layers and `heads` heads.
    pub fn exists_in(self, layers: usize, heads: usize) -> bool {
        match self {
            Component::Head { layer, head } => layer < layers && head < heads,
            Component::Mlp { layer } => layer < layers,
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Component::Head { layer, head } => write!(f, "L{layer}_H{head}"),
            Component::Mlp { layer } => write!(f, "L{layer}_MLP"),
        }
    }
}

impl FromStr for Component {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid =
            || format!("`{s}` is not a component name: expected L<layer>_H<head> or L<layer>_MLP");
        let (layer, rest) = s
            .strip_prefix('L')
            .and_then(|rest| rest.split_once('_'))
            .ok_or_else(invalid)?;
        let layer: usize = layer.parse().map_err(|_| invalid())?;
        if rest == "MLP" {
            return Ok(Component::Mlp { layer });
        }
        let head = rest
            .strip_prefix('H')
            .and_then(|head| head.parse().ok())
            .ok_or_else(invalid)?;
        Ok(Component::Head { layer, head })
    }
}

impl Serialize for Component {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Component {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// What replaces a component's output.
// A handful exist per forward pass, so the size of a tensor handle inline costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Replacement {
    /// The zero vector at every position (zero ablation).
    Zero,
    /// A given output, `[batch, positions, d_model]`, or `[1, positions, d_model]` for one value
    /// broadcast over the batch (mean ablation; resample ablation).
    Value(Tensor<3>),
    /// The output plus a given tensor of its shape. With a zero tensor that requires gradients,
    /// the forward pass is unchanged and backward yields dL/d(output) (attribution patching).
    Shifted(Tensor<3>),
    /// Heads only, the published pipeline's intervention (METHOD §6 `slot`, §11): the head's
    /// output is left alone, and this `[d_head]` vector (its mean before W_O) is written into
    /// dims `d_head·h .. d_head·(h+1)` of its layer's attention output, after W_O and its bias,
    /// at every position. Those dims mix every head; the head's own output reaches the other
    /// dims unchanged.
    Slot(Tensor<1>),
}

/// Replacements of component outputs for one forward pass.
#[derive(Clone, Debug, Default)]
pub struct Intervention {
    edits: Vec<(Component, Replacement)>,
}

impl Intervention {
    /// No replacement: the plain model.
    pub fn none() -> Self {
        Self::default()
    }

    /// Zero ablation of every component in `components`.
    pub fn zero(components: impl IntoIterator<Item = Component>) -> Self {
        components
            .into_iter()
            .fold(Self::none(), |edits, component| {
                edits.with(component, Replacement::Zero)
            })
    }

    /// This intervention with `component`'s output also replaced (the last replacement of a
    /// component wins).
    pub fn with(mut self, component: Component, replacement: Replacement) -> Self {
        self.edits.retain(|(c, _)| *c != component);
        self.edits.push((component, replacement));
        self
    }

    /// Whether nothing is replaced.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// The replaced components.
    pub fn components(&self) -> impl Iterator<Item = Component> + '_ {
        self.edits.iter().map(|(c, _)| *c)
    }

    /// Whether any head output of `layer` is replaced (a [`Replacement::Slot`] replaces none).
    pub fn touches_heads_of(&self, layer: usize) -> bool {
        self.edits.iter().any(|(c, r)| {
            matches!(c, Component::Head { layer: l, .. } if *l == layer)
                && !matches!(r, Replacement::Slot(_))
        })
    }

    /// Whether a slot is written into `layer`'s attention output.
    pub fn writes_slots_in(&self, layer: usize) -> bool {
        self.slots(layer).next().is_some()
    }

    /// The heads of `layer` whose slots are written, with what.
    fn slots(&self, layer: usize) -> impl Iterator<Item = (usize, &Tensor<1>)> + '_ {
        self.edits.iter().filter_map(move |(c, r)| match (c, r) {
            (Component::Head { layer: l, head }, Replacement::Slot(value)) if *l == layer => {
                Some((*head, value))
            }
            _ => None,
        })
    }

    /// `layer`'s attention output `[batch, positions, d_model]` with every [`Replacement::Slot`]
    /// of its heads written in: head h's vector into dims `d_head·h .. d_head·(h+1)`.
    pub fn write_slots(&self, layer: usize, mut output: Tensor<3>) -> Tensor<3> {
        let [batch, positions, _] = output.dims();
        for (head, value) in self.slots(layer) {
            let [d_head] = value.dims();
            let dims = d_head * head..d_head * (head + 1);
            let value = value
                .clone()
                .reshape([1, 1, d_head])
                .expand([batch, positions, d_head]);
            output = output.slice_assign([0..batch, 0..positions, dims], value);
        }
        output
    }

    /// The output `component` passes on: `output` itself, or its replacement (a slot leaves the
    /// head's output alone: [`Intervention::write_slots`] writes it).
    pub fn apply(&self, component: Component, output: Tensor<3>) -> Tensor<3> {
        match self.edits.iter().find(|(c, _)| *c == component) {
            None | Some((_, Replacement::Slot(_))) => output,
            Some((_, Replacement::Zero)) => output.zeros_like(),
            Some((_, Replacement::Value(value))) => {
                // Made for the whole sequence; a pass that reads out fewer positions in its last
                // block takes the last ones.
                let [_, positions, _] = output.dims();
                last_positions(value.clone(), positions).expand(output.shape())
            }
            Some((_, Replacement::Shifted(shift))) => output + shift.clone(),
        }
    }
}

/// The last `count` positions of `x` `[batch, positions, d]`.
pub fn last_positions(x: Tensor<3>, count: usize) -> Tensor<3> {
    let [_, positions, _] = x.dims();
    if count == positions {
        x
    } else {
        x.narrow(1, positions - count, count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_paper_and_round_trip() {
        let all = Component::all(4, 4);
        assert_eq!(all.len(), 20);
        let names: Vec<String> = all.iter().map(ToString::to_string).collect();
        assert_eq!(
            &names[..6],
            ["L0_H0", "L0_H1", "L0_H2", "L0_H3", "L0_MLP", "L1_H0"]
        );
        assert_eq!(names[19], "L3_MLP");
        for (i, c) in all.iter().enumerate() {
            assert_eq!(c.index(4), i);
            assert_eq!(c.to_string().parse::<Component>(), Ok(*c));
        }
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in [
            "", "L", "L1", "L1_", "LX_H0", "L1_H", "L1_Hx", "L1_mlp", "H1_L0",
        ] {
            assert!(bad.parse::<Component>().is_err(), "{bad}");
        }
    }

    #[test]
    fn existence_depends_on_the_shape() {
        assert!(Component::Head { layer: 3, head: 3 }.exists_in(4, 4));
        assert!(!Component::Head { layer: 3, head: 4 }.exists_in(4, 4));
        assert!(!Component::Mlp { layer: 4 }.exists_in(4, 4));
    }

    #[test]
    fn later_edits_of_a_component_win() {
        let head = Component::Head { layer: 1, head: 2 };
        let intervention = Intervention::zero([head, Component::Mlp { layer: 0 }]);
        assert!(intervention.touches_heads_of(1));
        assert!(!intervention.touches_heads_of(0));
        assert_eq!(intervention.components().count(), 2);
        let intervention = intervention.with(head, Replacement::Zero);
        assert_eq!(intervention.components().count(), 2);
    }
}
