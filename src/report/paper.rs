//! The paper's numbers: `assets/paper/reported.json` (every number the paper reports, copied
//! from its text and tables) as typed data, and how every page and file cites them. Shown only
//! as the paper's, beside ours ([`crate::report::compare`]).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::engine::component::Component;
use crate::engine::task::Task;

/// `reported.json` as shipped with gradcause (every number the paper reports).
pub const REPORTED_JSON: &str = include_str!("../../assets/paper/reported.json");

/// How every page and file cites the paper's numbers.
pub const CITATION: &str =
    "Ye (2026), Hidden Heroes and Gradient Bloats, arXiv 2602.01442 (CC BY 4.0)";

/// Every number the paper reports, keyed as in `reported.json`. Unknown keys are refused, so an
/// entry added to the file cannot go uncompared.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reported {
    /// Where the numbers come from.
    pub source: String,
    /// The paper's seeds.
    pub seeds: Vec<u64>,
    /// Seeds inside the OOD window, per task, and those skipped.
    pub seeds_in_window: SeedsInWindow,
    /// Table 1: ρ `[mean, std]` per task and baseline.
    pub table1_rho_mean_std: BTreeMap<Task, PaperTable1>,
    /// Table 3: ρ under mean ablation per task and seed (`null`: skipped).
    pub table3_rho_mean_ablation_per_seed: BTreeMap<Task, BTreeMap<String, Option<f64>>>,
    /// §3.1: sorting seed 456's ρ under both baselines.
    pub text_sort_seed456_rho_both_baselines_about: f64,
    /// §3.1: ρ between gradient and activation-patching ranks on one (unnamed) sorting seed.
    pub text_activation_patching_rho_best_characterized_seed: f64,
    /// Table 4: sorting, the top-two Bloats' drops (in points).
    pub table4_sort_bloat_superadditivity_percent: PaperTable4,
    /// §3.3: pruning the top two, `[mean, std]` in points.
    pub pruning_top_two_accuracy_change_percent_mean_std: BTreeMap<Task, PaperPruning>,
    /// Table 5: sorting, Hero and Bloat heads per layer summed over seeds, per threshold (`t4`..).
    pub table5_sort_heads_only_counts_summed_over_seeds: BTreeMap<String, PaperLayerCounts>,
    /// §3.4: in how many sorting seeds named heads took a role.
    pub component_identity_sort: PaperIdentity,
    /// Figure 4: sorting, W_V gradient norm per layer.
    pub figure4_sort_layer_wv_grad_norm: Vec<f64>,
    /// Figure 4: reversal, in words.
    pub figure4_reverse_layer_wv_grad_norm: String,
    /// Figure 5: sorting seed 2020 at n = 10, the heads shown as Heroes and Bloats.
    pub figure5_sort_seed2020_n10: PaperFigure5,
}

/// Seeds in the window.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedsInWindow {
    /// Reversal seeds in the window.
    pub reverse: usize,
    /// Sorting seeds in the window.
    pub sort: usize,
    /// The seeds skipped, per task.
    pub skipped: BTreeMap<Task, Vec<u64>>,
}

/// Table 1 of one task: `[mean, std]` per baseline.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperTable1 {
    /// G against mean-ablation C.
    pub mean_ablation: [f64; 2],
    /// G against zero-ablation C.
    pub zero_ablation: [f64; 2],
}

/// Table 4, in points.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperTable4 {
    /// Per seed.
    pub per_seed: BTreeMap<String, PaperTable4Row>,
    /// Mean of the individual drops.
    pub mean_individual_drop: f64,
    /// Mean of the joint drops.
    pub mean_joint_drop: f64,
    /// Mean joint / mean individual.
    pub ratio: f64,
}

/// One seed of Table 4, in points.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperTable4Row {
    /// Base accuracy at the analysis length.
    pub baseline: f64,
    /// Mean single drop of the top-two Bloats.
    pub individual_drop: f64,
    /// Their joint drop.
    pub joint_drop: f64,
}

/// Pruning of one task, `[mean, std]` in points.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperPruning {
    /// The top-two Heroes.
    pub heroes: [f64; 2],
    /// The top-two Bloats.
    pub bloats: [f64; 2],
    /// Hero damage over Bloat damage (given for reversal only).
    pub hero_to_bloat_damage: Option<f64>,
}

/// Table 5 at one threshold: one count per layer.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperLayerCounts {
    /// Hero heads per layer.
    pub heroes: Vec<usize>,
    /// Bloat heads per layer.
    pub bloats: Vec<usize>,
}

/// Component identity on sorting.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperIdentity {
    /// Seeds where L3_H3 is a Hero.
    #[serde(rename = "L3_H3_hero_seeds")]
    pub l3_h3_hero_seeds: usize,
    /// Seeds where L1_H1 is a Bloat.
    #[serde(rename = "L1_H1_bloat_seeds")]
    pub l1_h1_bloat_seeds: usize,
    /// Seeds where L1_H3 is a Bloat.
    #[serde(rename = "L1_H3_bloat_seeds")]
    pub l1_h3_bloat_seeds: usize,
    /// The seeds counted.
    pub out_of: usize,
}

/// Figure 5's heads.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperFigure5 {
    /// Heads shown as Hidden Heroes.
    pub hero_heads: Vec<Component>,
    /// Heads shown as Gradient Bloats.
    pub bloat_heads: Vec<Component>,
}

impl Reported {
    /// The numbers shipped with gradcause.
    pub fn shipped() -> Self {
        serde_json::from_str(REPORTED_JSON).expect("assets/paper/reported.json is valid")
    }
}
