//! Ranks, rank gaps, Spearman ρ and the Hero/Bloat classes of G against C (METHOD §7), and the
//! top two of a class that pruning removes (§8).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analysis::stats::{ranks, spearman};
use crate::engine::named::named_enum;

named_enum! {
    /// Where the class boundary lies (config field `class_rule`).
    #[derive(Default, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum ClassRule("class rule") {
        /// Hero at Δ ≤ −t, Bloat at Δ ≥ t (METHOD §7, the paper's text).
        #[default]
        Inclusive = "inclusive",
        /// Hero at Δ < −t, Bloat at Δ > t (the published pipeline's `classify`).
        Strict = "strict",
    }
}

/// How gradient ranks relate to causal ranks for one component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Low gradient, high causal importance: Δ ≤ −t.
    Hero,
    /// High gradient, low causal importance: Δ ≥ t.
    Bloat,
    /// |Δ| < t.
    Aligned,
}

impl Class {
    /// The class of a rank gap Δ at threshold t under `rule` (METHOD §7 counts a gap of exactly
    /// ±t: `Inclusive`).
    pub fn by(delta: f64, threshold: usize, rule: ClassRule) -> Class {
        let t = threshold as f64;
        let beyond = |gap: f64| match rule {
            ClassRule::Inclusive => gap >= t,
            ClassRule::Strict => gap > t,
        };
        if beyond(-delta) {
            Class::Hero
        } else if beyond(delta) {
            Class::Bloat
        } else {
            Class::Aligned
        }
    }
}

/// The (at most) two components of `class` (under `rule`) that pruning removes: the Heroes with
/// the most negative Δ, or the Bloats with the largest Δ; ties broken by larger C, then
/// component order. Fewer than two: all there are.
pub fn top_two(
    class: Class,
    delta: &[f64],
    causal: &[f64],
    threshold: usize,
    rule: ClassRule,
) -> Vec<usize> {
    let mut members: Vec<usize> = (0..delta.len())
        .filter(|&i| Class::by(delta[i], threshold, rule) == class)
        .collect();
    let extremity = |i: usize| {
        if class == Class::Hero {
            delta[i]
        } else {
            -delta[i]
        }
    };
    members.sort_by(|&a, &b| {
        extremity(a)
            .total_cmp(&extremity(b))
            .then(causal[b].total_cmp(&causal[a]))
            .then(a.cmp(&b))
    });
    members.truncate(2);
    members
}

/// Ranks, gaps, correlation and classes of G against one ablation's C.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Ranks of the causal importance (1 = smallest, ties averaged).
    pub causal_ranks: Vec<f64>,
    /// `Rank(G) − Rank(C)` per component.
    pub delta: Vec<f64>,
    /// Spearman ρ of G against C; `None` when undefined.
    pub spearman: Option<f64>,
    /// Class per component, per threshold.
    pub classes: BTreeMap<usize, Vec<Class>>,
}

/// Compares gradient magnitude with causal importance for one ablation, classes under `rule`.
pub fn compare(grad: &[f64], causal: &[f64], thresholds: &[usize], rule: ClassRule) -> Comparison {
    let grad_ranks = ranks(grad);
    let causal_ranks = ranks(causal);
    let delta: Vec<f64> = grad_ranks
        .iter()
        .zip(&causal_ranks)
        .map(|(g, c)| g - c)
        .collect();
    let classes = thresholds
        .iter()
        .map(|&t| (t, delta.iter().map(|&d| Class::by(d, t, rule)).collect()))
        .collect();
    Comparison {
        spearman: spearman(grad, causal),
        causal_ranks,
        delta,
        classes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_threshold() {
        assert_eq!(Class::by(-6.0, 6, ClassRule::Inclusive), Class::Hero);
        assert_eq!(Class::by(-5.5, 6, ClassRule::Inclusive), Class::Aligned);
        assert_eq!(Class::by(5.5, 6, ClassRule::Inclusive), Class::Aligned);
        assert_eq!(Class::by(6.0, 6, ClassRule::Inclusive), Class::Bloat);
        assert_eq!(Class::by(4.0, 4, ClassRule::Inclusive), Class::Bloat);
        assert_eq!(Class::by(0.0, 4, ClassRule::Inclusive), Class::Aligned);
        // The published pipeline's strict rule leaves a gap of exactly ±t aligned.
        assert_eq!(Class::by(-6.0, 6, ClassRule::Strict), Class::Aligned);
        assert_eq!(Class::by(-6.5, 6, ClassRule::Strict), Class::Hero);
        assert_eq!(Class::by(6.0, 6, ClassRule::Strict), Class::Aligned);
        assert_eq!(Class::by(6.5, 6, ClassRule::Strict), Class::Bloat);
    }

    #[test]
    fn top_two_takes_the_most_extreme_and_breaks_ties() {
        //            0     1     2    3    4     5    6
        let delta = [-9.0, -6.0, 7.0, 0.0, -9.0, 7.0, 8.0];
        let causal = [0.1, 0.5, 0.0, 0.3, 0.2, 0.05, 0.0];
        // Heroes 0, 1, 4: the two at -9 come first, the larger C (4) before 0.
        assert_eq!(
            top_two(Class::Hero, &delta, &causal, 6, ClassRule::Inclusive),
            vec![4, 0]
        );
        // Bloats 2, 5, 6: 6 (Δ 8) first; 2 and 5 tie at 7 and 5 has the larger C.
        assert_eq!(
            top_two(Class::Bloat, &delta, &causal, 6, ClassRule::Inclusive),
            vec![6, 5]
        );
        // Equal Δ and C: component order.
        assert_eq!(
            top_two(
                Class::Bloat,
                &[7.0, 7.0, 7.0],
                &[0.0; 3],
                6,
                ClassRule::Inclusive
            ),
            vec![0, 1]
        );
    }

    #[test]
    fn top_two_of_small_or_empty_classes_takes_what_there_is() {
        let delta = [-7.0, 1.0, 2.0];
        assert_eq!(
            top_two(Class::Hero, &delta, &[0.0; 3], 6, ClassRule::Inclusive),
            vec![0]
        );
        assert!(top_two(Class::Bloat, &delta, &[0.0; 3], 6, ClassRule::Inclusive).is_empty());
    }

    #[test]
    fn comparison_ranks_gaps_and_classes() {
        // G ranks 1..6; C reversed: Δ = −5, −3, −1, 1, 3, 5.
        let grad = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let causal = [6.0, 5.0, 4.0, 3.0, 2.0, 1.0];
        let c = compare(&grad, &causal, &[4], ClassRule::Inclusive);
        assert_eq!(c.delta, vec![-5.0, -3.0, -1.0, 1.0, 3.0, 5.0]);
        assert_eq!(c.spearman, Some(-1.0));
        use Class::*;
        assert_eq!(
            c.classes[&4],
            vec![Hero, Aligned, Aligned, Aligned, Aligned, Bloat]
        );
        // A constant C leaves ρ undefined, not 0.
        assert_eq!(
            compare(&grad, &[0.0; 6], &[4], ClassRule::Inclusive).spearman,
            None
        );
    }
}
