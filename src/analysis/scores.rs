//! Cheap importance scores beside G (`docs/scores.md`): which of them ranks components the way
//! ablation does?
//!
//! Every score is one number per component, larger meaning "more important". G and
//! gradient × activation and Taylor importance are magnitudes; attribution patching, integrated
//! gradients and the ablation loss change are signed estimates of the loss change that ablating
//! the component causes (positive: the loss rises), ranked as they are.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::analysis::ablation::Ablation;
use crate::analysis::attribution::GWeights;

/// One per-component importance score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Score {
    /// Gradient magnitude G under a reading of METHOD §5 (the paper's score).
    Grad(GWeights),
    /// `mean_examples |Σ_positions o_i · ∂L/∂o_i|`: the head importance of Michel et al. (2019),
    /// the gradient of a mask on the component's output at 1.
    GradTimesActivation,
    /// `mean_b |Σ_θ θ · ∂L_b/∂θ|` over G's default weights (a head's W_V, an MLP's W_out): the
    /// first-order Taylor importance of Molchanov et al. (2017).
    Taylor,
    /// Attribution patching toward a mean, `Σ (μ_i − o_i) · ∂L/∂o_i` (METHOD §10).
    Patching(Ablation),
    /// Integrated gradients on the component's output from its one-vector mean to its value: by
    /// completeness, an estimate of the loss change of mean ablation.
    IntegratedGradients,
    /// The loss change when the component is ablated: a continuous C.
    LossChange(Ablation),
}

impl Score {
    /// Every score, in report order.
    pub const ALL: [Score; 11] = [
        Score::Grad(GWeights::WvWout),
        Score::Grad(GWeights::WvoInout),
        Score::GradTimesActivation,
        Score::Taylor,
        Score::Patching(Ablation::Mean),
        Score::Patching(Ablation::MeanPos),
        Score::IntegratedGradients,
        Score::LossChange(Ablation::Mean),
        Score::LossChange(Ablation::MeanPos),
        Score::LossChange(Ablation::Zero),
        Score::LossChange(Ablation::Resample),
    ];

    /// The scores a report holds beside its G and A fields (see [`Score::ALL`] for all).
    pub const MEASURED: [Score; 7] = [
        Score::GradTimesActivation,
        Score::Taylor,
        Score::IntegratedGradients,
        Score::LossChange(Ablation::Mean),
        Score::LossChange(Ablation::MeanPos),
        Score::LossChange(Ablation::Zero),
        Score::LossChange(Ablation::Resample),
    ];

    /// The name the reports, CSVs and the command line use: `g-wv-wout`, `grad-x-act`, `taylor`,
    /// `patching-mean`, `ig-mean`, `loss-zero`, ...
    pub fn name(self) -> String {
        match self {
            Score::Grad(g) => format!("g-{g}"),
            Score::GradTimesActivation => "grad-x-act".into(),
            Score::Taylor => "taylor".into(),
            Score::Patching(a) => format!("patching-{a}"),
            Score::IntegratedGradients => "ig-mean".into(),
            Score::LossChange(a) => format!("loss-{a}"),
        }
    }

    /// Whether the score costs less than ablating every component: all but the loss change of
    /// an ablation, which is an ablation.
    pub fn is_cheap(self) -> bool {
        !matches!(self, Score::LossChange(_))
    }

    /// A short description for tables and charts.
    pub fn label(self) -> String {
        match self {
            Score::Grad(g) => format!("G ({g}, the paper's)"),
            Score::GradTimesActivation => "gradient × activation".into(),
            Score::Taylor => "Taylor importance".into(),
            Score::Patching(a) => format!("attribution patching ({a})"),
            Score::IntegratedGradients => "integrated gradients (mean)".into(),
            Score::LossChange(a) => format!("ablation loss change ({a})"),
        }
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for Score {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Score::ALL
            .into_iter()
            .find(|score| score.name() == s)
            .ok_or_else(|| {
                let names: Vec<String> = Score::ALL.iter().map(|s| s.name()).collect();
                format!("unknown score `{s}`: expected one of {}", names.join(", "))
            })
    }
}

impl Serialize for Score {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Score {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The `k` components `values` rank least important: the smallest values, ties broken by
/// component order; returned in component order.
pub fn least_important(values: &[f64], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]).then(a.cmp(&b)));
    order.truncate(k);
    order.sort_unstable();
    order
}

/// The two components `values` rank most important: the largest values, ties broken by component
/// order; returned in component order.
pub fn top_two(values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    order.truncate(2);
    order.sort_unstable();
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        let names: Vec<String> = Score::ALL.iter().map(|s| s.name()).collect();
        for (score, name) in Score::ALL.iter().zip(&names) {
            assert_eq!(name.parse::<Score>(), Ok(*score));
            assert_eq!(names.iter().filter(|n| *n == name).count(), 1, "{name}");
        }
        assert_eq!(names[0], "g-wv-wout");
        assert!("g-wv".parse::<Score>().is_err());
        for measured in Score::MEASURED {
            assert!(Score::ALL.contains(&measured));
        }
    }

    #[test]
    fn least_and_most_important_break_ties_by_component_order() {
        let values = [0.3, -1.0, 0.3, 0.0, 5.0, 0.3];
        assert_eq!(least_important(&values, 2), vec![1, 3]);
        // Three tie at 0.3: the first in component order goes first.
        assert_eq!(least_important(&values, 3), vec![0, 1, 3]);
        assert_eq!(top_two(&values), vec![0, 4]);
        assert!(least_important(&values, 0).is_empty());
    }
}
