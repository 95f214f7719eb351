//! What a claim reads: our summaries under one reading ([`Evidence`]), the C the mean-zero claim
//! compares with zero, and the heads the paper names.

use std::collections::BTreeMap;

use crate::analysis::ablation::Ablation;
use crate::analysis::analyze::Class;
use crate::engine::task::Task;
use crate::report::paper::Reported;
use crate::report::summary::{Summary, Table3Row};

/// The values of `f` over the analysed seeds of `summary`'s Table 3 (defined ones only).
pub(super) fn per_seed(summary: &Summary, f: impl Fn(&Table3Row) -> Option<f64>) -> Vec<f64> {
    summary.table3.rows.iter().filter_map(f).collect()
}

/// What every claim is checked on: the paper's numbers, our summaries (under one G reading) and
/// the reading of the paper's "mean ablation".
#[derive(Clone, Copy)]
pub(super) struct Evidence<'a> {
    pub(super) reported: &'a Reported,
    pub(super) summaries: &'a BTreeMap<Task, Summary>,
    /// The reversal summary, where a seed was analysed.
    pub(super) reverse: Option<&'a Summary>,
    /// The sorting summary, where a seed was analysed.
    pub(super) sort: Option<&'a Summary>,
    pub(super) c: Ablation,
}

impl<'a> Evidence<'a> {
    /// The summary of `task`, where a seed was analysed.
    pub(super) fn analysed(&self, task: Task) -> Option<&'a Summary> {
        match task {
            Task::Reverse => self.reverse,
            Task::Sort => self.sort,
        }
    }
}

/// The mean ablation the mean-zero claim compares with zero under C reading `c`: `c` itself,
/// mean ablation on the same examples for `slot` (not an ablation, METHOD §11), none for zero.
pub(super) fn agreeing(c: Ablation) -> Option<Ablation> {
    match c {
        Ablation::Zero => None,
        Ablation::Slot => Some(Ablation::Mean),
        other => Some(other),
    }
}

/// The heads the paper names with their role (its sorting role table).
pub(super) const NAMED_ROLES: [(&str, Class); 3] = [
    ("L3_H3", Class::Hero),
    ("L1_H1", Class::Bloat),
    ("L1_H3", Class::Bloat),
];

/// The layers and roles of [`NAMED_ROLES`], in the order the identity statistic reads them.
pub(super) const IDENTITY_LAYERS: [(usize, Class); 2] = [(3, Class::Hero), (1, Class::Bloat)];

/// Heads per layer in the paper's model, whose heads the identity claim names.
pub(super) const HEADS: usize = 4;
