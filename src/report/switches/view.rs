//! A report seen under one reading: its G, its C and its class rule in the places every summary
//! reads, so that the paper's claims are judged under that reading by the code that judges them
//! under METHOD's ([`crate::report::claims`]).
//!
//! Nothing is measured again. ρ, Δ and the classes are recomputed from the per-component G and C
//! the report holds. Pruning and superadditivity need a joint ablation of the reading's top two:
//! where the analysis measured the same components under the same intervention (for any of its
//! readings, or after it: [`Analysis::joints`]) that accuracy is used; where it did not, the seed
//! has no number there ([`Reading::missing_joints`] names what to measure). Joint ablations are
//! always those of the fixed OOD set, also for C on the fresh examples (under its intervention).

use std::collections::{BTreeMap, BTreeSet};

use crate::analysis::ablation::Ablation;
use crate::analysis::analyze::{
    Analysis, Class, GradAnalysis, JointAblation, Pruning, compare, superadditivity, top_two,
};
use crate::analysis::as_published::AsPublished;
use crate::analysis::stats::ranks;
use crate::engine::component::Component;
use crate::experiment::report::SeedReport;
use crate::report::switches::{CSource, Reading};

impl Reading {
    /// The ablation a view files this reading's C under: its intervention, on the fixed set or
    /// the fresh examples.
    pub fn key(&self) -> Ablation {
        match self.c {
            CSource::Fresh(a) | CSource::FixedSet(a) => a,
        }
    }

    /// C per ablation from this reading's source in `analysis`: the fresh examples' (none where
    /// the analysis did not measure them) or the fixed set's.
    pub fn causal_source(&self, analysis: &Analysis) -> BTreeMap<Ablation, Vec<f64>> {
        match self.c {
            CSource::Fresh(_) => analysis
                .as_published
                .as_ref()
                .map(AsPublished::causal_under)
                .unwrap_or_default(),
            CSource::FixedSet(_) => fixed_set_causal(analysis),
        }
    }

    /// `report` as this reading sees it: the analysis holds only this reading's G, C on the fresh
    /// examples (where the reading's is) in the place of every fixed-set C, and classes,
    /// pruning and superadditivity under this reading's rule. A report without this reading's G
    /// or C keeps its run, not its analysis: a summary lists it as skipped, saying why.
    pub fn view(&self, report: &SeedReport) -> SeedReport {
        self.seen(report).0
    }

    /// The joint ablations this reading's view of `report` lacks: the top two of a class under
    /// an intervention the analysis never ablated together, each with the ablation it gets.
    /// `gradcause complete` measures them ([`Analysis::joints`]).
    pub fn missing_joints(&self, report: &SeedReport) -> Vec<(Vec<Component>, Ablation)> {
        self.seen(report).1
    }

    /// [`Reading::view`] and [`Reading::missing_joints`] at once.
    fn seen(&self, report: &SeedReport) -> (SeedReport, Vec<(Vec<Component>, Ablation)>) {
        let mut missing = Vec::new();
        let mut view = report.clone();
        view.run.config.analysis.class_rule = self.rule;
        view.checkpoints.clear();
        let Some(analysis) = view.analysis.as_mut() else {
            return (view, missing);
        };
        let fixed = fixed_set_causal(analysis);
        let causal = self.causal_source(analysis);
        if !analysis.by_grad.contains_key(&self.g) || !causal.contains_key(&self.key()) {
            view.run.skip_reason = Some(format!(
                "its report lacks the G or C of reading `{}`",
                self.label
            ));
            view.analysis = None;
            return (view, missing);
        }
        let joints = measured_joints(analysis);
        let stored = &analysis.by_grad[&self.g];
        let thresholds: Vec<usize> = stored
            .class
            .values()
            .next()
            .map_or_else(Vec::new, |per_t| per_t.keys().copied().collect());
        let threshold = report.run.config.analysis.threshold;
        let grad = analysis.grad(self.g);
        let names: Vec<Component> = analysis.components.iter().map(|c| c.name).collect();
        let mut seen = GradAnalysis {
            ranks: stored.ranks.clone(),
            spearman: BTreeMap::new(),
            delta: BTreeMap::new(),
            class: BTreeMap::new(),
            pruning: BTreeMap::new(),
            superadditivity: BTreeMap::new(),
        };
        for (&a, c) in &causal {
            let comparison = compare(&grad, c, &thresholds, self.rule);
            let mut joint = |class: Class| -> Option<JointAblation> {
                let members: Vec<Component> =
                    top_two(class, &comparison.delta, c, threshold, self.rule)
                        .into_iter()
                        .map(|i| names[i])
                        .collect();
                if members.is_empty() {
                    return None;
                }
                let ablation = a.on_all(&members);
                let key = (ablation, members.iter().copied().collect());
                let Some(&change) = joints.get(&key) else {
                    missing.push((members, ablation));
                    return None;
                };
                Some(JointAblation {
                    accuracy: analysis.base_accuracy + change,
                    change,
                    components: members,
                })
            };
            let (heroes, bloats) = (joint(Class::Hero), joint(Class::Bloat));
            // Single drops on the fixed set, where the joint drop is measured.
            let singles = fixed.get(&a);
            seen.superadditivity.insert(
                a,
                bloats.as_ref().zip(singles).map(|(j, singles)| {
                    let drops = j
                        .components
                        .iter()
                        .map(|m| singles[names.iter().position(|n| n == m).expect("a component")])
                        .collect();
                    superadditivity(j.components.clone(), drops, -j.change)
                }),
            );
            seen.pruning.insert(
                a,
                Pruning {
                    ablation: a,
                    threshold,
                    heroes,
                    bloats,
                },
            );
            seen.spearman.insert(a, comparison.spearman);
            seen.delta.insert(a, comparison.delta);
            seen.class.insert(a, comparison.classes);
        }
        analysis.causal_ranks = causal.iter().map(|(&a, c)| (a, ranks(c))).collect();
        for (i, component) in analysis.components.iter_mut().enumerate() {
            component.causal = causal.iter().map(|(&a, c)| (a, c[i])).collect();
        }
        analysis.by_grad = [(self.g, seen)].into();
        (view, missing)
    }
}

/// C per ablation on the fixed OOD set.
fn fixed_set_causal(analysis: &Analysis) -> BTreeMap<Ablation, Vec<f64>> {
    analysis
        .causal_ranks
        .keys()
        .map(|&a| (a, analysis.causal(a)))
        .collect()
}

/// Every joint ablation measured on the fixed OOD set, by the analysis or after it, by
/// intervention and components: the accuracy change.
fn measured_joints(analysis: &Analysis) -> BTreeMap<(Ablation, BTreeSet<Component>), f64> {
    let mut joints = BTreeMap::new();
    for by_grad in analysis.by_grad.values() {
        for (&a, pruning) in &by_grad.pruning {
            for joint in [&pruning.heroes, &pruning.bloats].into_iter().flatten() {
                let members = joint.components.iter().copied().collect();
                joints.insert((a.on_all(&joint.components), members), joint.change);
            }
        }
    }
    for joint in &analysis.joints {
        let members = joint.components.iter().copied().collect();
        joints.insert((joint.ablation, members), joint.change);
    }
    joints
}
