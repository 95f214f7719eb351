//! The selected run: its OOD accuracies and analysis length, then every figure of its analysis,
//! the ablation explorer and its checkpoints.

use leptos::prelude::*;

use crate::analysis::ablation::Ablation;
use crate::analysis::analyze::Analysis;
use crate::analysis::attribution::GWeights;
use crate::experiment::report::SeedReport;
use crate::report::summary::Summary;

use super::charts::{AttentionMap, DeltaBars, GradCausalScatter, GradNormBars, LayerCounts};
use super::explorer::Explorer;
use super::guide::Explain;
use super::reading::ReadingSelector;
use super::state::Lab;

/// Everything about the selected run.
#[component]
pub fn Results() -> impl IntoView {
    let lab = Lab::get();
    move || {
        lab.selected_run().map(|report| {
            let analysis = report.analysis.clone();
            view! {
                <section id="stage-ood" class="panel">
                    <h2>"2 · Out of distribution"</h2>
                    <Explain stage=1 />
                    <RunHeader report=report.clone() />
                </section>
                {report.outdated().map(|why| view! { <p class="notice outdated">{why}</p> })}
                {analysis.map(|a| view! { <AnalysisView report=report.clone() analysis=a /> })}
            }
        })
    }
}

/// Task, seed, training outcome, OOD accuracy per length and the analysis length.
#[component]
fn RunHeader(report: SeedReport) -> impl IntoView {
    let run = &report.run;
    let training = match &run.train {
        Some(t) => format!(
            "trained {} steps on {} ({}), stop-rule accuracy {:.1}%",
            t.steps,
            run.backend,
            t.stop_reason,
            t.train_accuracy * 100.0
        ),
        None => "loaded from a weights file".into(),
    };
    let rows = run
        .ood_accuracy
        .iter()
        .map(|(n, a)| {
            let chosen = run.analysis_length == Some(*n);
            view! {
                <tr class:chosen=chosen>
                    <td>{*n}</td>
                    <td>{format!("{:.1}%", a * 100.0)}</td>
                    <td>{if chosen { "analysed" } else { "" }}</td>
                </tr>
            }
        })
        .collect_view();
    let outcome = match (&run.analysis_length, &run.skip_reason) {
        (Some(n), _) => format!(
            "Analysis at length {n}: the smallest length whose accuracy lies in the window."
        ),
        (None, Some(reason)) => format!("Seed skipped: {reason}."),
        (None, None) => String::new(),
    };
    let made = |what: &str, m: &crate::experiment::provenance::Made| {
        format!(
            "{what} in {:.0} s on {} ({}, {} thread{}) by build {}",
            m.seconds,
            m.machine.cpu,
            m.machine.simd,
            m.machine.threads,
            if m.machine.threads == 1 { "" } else { "s" },
            m.build.commit
        )
    };
    let provenance = [
        run.trained.as_ref().map(|m| made("trained", m)),
        report.analysed.as_ref().map(|m| made("analysed", m)),
        report
            .method
            .as_ref()
            .map(|m| format!("METHOD revision {m}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("; ");
    view! {
        <p class="run-title">{format!("{} · seed {} · {training}", run.task, run.seed)}</p>
        <p class="hint provenance">{provenance}</p>
        <table class="ood">
            <thead>
                <tr>
                    <th>"length n"</th>
                    <th>"exact match"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <p id="outcome" class:skipped=run.analysis_length.is_none()>{outcome}</p>
    }
}

/// The analysis figures of one run.
#[component]
fn AnalysisView(report: SeedReport, analysis: Analysis) -> impl IntoView {
    let lab = Lab::get();
    let config = report.run.config.clone();
    let task = report.run.task;
    let thresholds = config.analysis.thresholds.clone();
    if !thresholds.contains(&lab.threshold.get_untracked()) {
        lab.threshold.set(config.analysis.threshold);
    }
    let threshold_options = thresholds
        .iter()
        .map(|t| view! { <option value=t.to_string()>{format!("t = {t}")}</option> })
        .collect_view();
    let seed_report = report.clone();
    let this_seed = Signal::derive(move || {
        let summary = Summary::new(
            task,
            std::slice::from_ref(&seed_report),
            lab.g_weights.get(),
        );
        layer_counts(&summary, lab)
    });
    let all_seeds = Signal::derive(move || {
        layer_counts(
            &Summary::new(task, &lab.current_runs(), lab.g_weights.get()),
            lab,
        )
    });
    let norms = analysis
        .layer_grad_norm
        .raw
        .iter()
        .map(|&n| (n, None))
        .collect();
    let (layers, heads) = (config.model.layers, config.model.heads);
    let rule = config.analysis.class_rule;
    // A report made before a reading (G wv-wout-raw, C slot) shows the others and says so.
    let lacks = StoredValue::new(analysis.lacks());
    let held = move || lacks.with_value(|l| l.holds(lab.g_weights.get(), lab.ablation.get()));
    let lacking = move || {
        view! {
            <p class="hint lacking">
                {format!(
                    "This report was made before these readings: {}. Choose another G or C above, or analyse the run again.",
                    lacks.with_value(ToString::to_string),
                )}
            </p>
        }
    };
    let (scatter_analysis, delta_analysis) = (analysis.clone(), analysis.clone());
    view! {
        <div class="view-controls panel">
            <ReadingSelector />
            <label>
                "Threshold "
                <select
                    name="threshold"
                    prop:value=move || lab.threshold.get().to_string()
                    on:change=move |ev| {
                        if let Ok(t) = event_target_value(&ev).parse() {
                            lab.threshold.set(t)
                        }
                    }
                >
                    {threshold_options}
                </select>
            </label>
            <span>{format!("base accuracy {:.1}%", analysis.base_accuracy * 100.0)}</span>
        </div>
        <section id="stage-scatter" class="panel">
            <h2>"3 · Gradient vs. causal importance"</h2>
            <Explain stage=2 />
            <Show when=held fallback=lacking>
                <GradCausalScatter
                    analysis=scatter_analysis.clone()
                    g=lab.g_weights
                    ablation=lab.ablation
                    threshold=lab.threshold
                    rule=rule
                />
            </Show>
            <SeedSpearman analysis=analysis.clone() />
        </section>
        <section id="stage-delta" class="panel">
            <h2>"4 · Hidden Heroes and Gradient Bloats"</h2>
            <Explain stage=3 />
            <Show when=held fallback=lacking>
                <DeltaBars
                    analysis=delta_analysis.clone()
                    g=lab.g_weights
                    ablation=lab.ablation
                    threshold=lab.threshold
                    rule=rule
                />
                {
                    let analysis = delta_analysis.clone();
                    move || view! { <SeedPruning analysis=analysis.clone() g=lab.g_weights.get() ablation=lab.ablation.get() /> }
                }
            </Show>
        </section>
        <section id="stage-layers" class="panel grid">
            <h2>"5 · Layers"</h2>
            <Explain stage=4 />
            <LayerCounts
                id="layers-seed"
                title="Heroes and Bloats per layer, this seed"
                caption="Heads only. H (green): Hidden Heroes; B (red): Gradient Bloats."
                counts=this_seed
            />
            <LayerCounts
                id="layers-all"
                title="Heroes and Bloats per layer, all seeds so far"
                caption="Heads only, summed over every analysed run of this task."
                counts=all_seeds
            />
            <GradNormBars id="grad-norm" norms=norms caption="This seed: mean over a layer's heads of the raw W_V gradient norm (Figure 4)." />
        </section>
        <section id="stage-attention" class="panel">
            <h2>"6 · Attention"</h2>
            <Explain stage=5 />
            <AttentionMap patterns=analysis.attention.clone() layers=layers heads=heads chosen=lab.head />
        </section>
        <Explorer report=report.clone() />
        <Checkpoints report=report />
    }
}

/// Per layer, Heroes and Bloats among the heads of `summary`, at the lab's baseline and threshold.
fn layer_counts(summary: &Summary, lab: Lab) -> Vec<crate::report::summary::LayerCount> {
    let (ablation, t) = (lab.ablation.get(), lab.threshold.get());
    summary.table5.at(ablation, t).to_vec()
}

/// ρ of G (each reading) against each baseline, and of attribution patching against each mean.
#[component]
fn SeedSpearman(analysis: Analysis) -> impl IntoView {
    let rho = |r: Option<f64>| r.map_or("undefined".to_string(), |r| format!("{r:.3}"));
    let header = GWeights::ALL
        .map(|g| view! { <th>{format!("G on {g}")}</th> })
        .into_iter()
        .collect_view();
    let rows = Ablation::ALL
        .map(|a| {
            let cells = GWeights::ALL
                .map(|g| view! { <td>{rho(analysis.spearman(g, a))}</td> })
                .into_iter()
                .collect_view();
            let patching = analysis
                .attribution_patching
                .get(&a)
                .map_or("—".to_string(), |p| rho(p.spearman));
            view! {
                <tr>
                    <td>{format!("{a} ablation")}</td>
                    {cells}
                    <td>{patching}</td>
                </tr>
            }
        })
        .into_iter()
        .collect_view();
    view! {
        <table class="small-table">
            <caption>"Spearman ρ against C, this seed"</caption>
            <thead>
                <tr>
                    <th>"C"</th>
                    {header}
                    <th>"attribution patching"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// Pruning damage and superadditivity of this seed under one reading.
#[component]
fn SeedPruning(analysis: Analysis, g: GWeights, ablation: Ablation) -> impl IntoView {
    let by_grad = &analysis.by_grad[&g];
    let p = &by_grad.pruning[&ablation];
    let row = |name: &str, joint: &Option<crate::analysis::analyze::JointAblation>| {
        let (who, change) = match joint {
            Some(j) => (
                j.components
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" + "),
                format!("{:+.1} points", j.change * 100.0),
            ),
            None => ("none".to_string(), "—".to_string()),
        };
        view! {
            <tr>
                <td>{name.to_string()}</td>
                <td>{who}</td>
                <td>{change}</td>
            </tr>
        }
    };
    let superadditivity = by_grad.superadditivity[&ablation].as_ref().map(|s| {
        let ratio = |r: Option<f64>| r.map_or("undefined".to_string(), |r| format!("{r:.2}"));
        format!(
            "Top-two Bloats: mean single drop {:.1} points, joint drop {:.1} points; joint / mean single {}, joint / sum of singles {} (above 1: superadditive).",
            s.individual_mean * 100.0,
            s.joint_drop * 100.0,
            ratio(s.ratio),
            ratio(s.additive_ratio)
        )
    });
    view! {
        <table class="small-table">
            <caption>{format!("Pruning the top two, G on {g}, {} ablation, t = {}", p.ablation, p.threshold)}</caption>
            <thead>
                <tr>
                    <th>"class"</th>
                    <th>"ablated together"</th>
                    <th>"accuracy change"</th>
                </tr>
            </thead>
            <tbody>{row("Hidden Heroes", &p.heroes)} {row("Gradient Bloats", &p.bloats)}</tbody>
        </table>
        <p>{superadditivity}</p>
    }
}

/// ρ and class counts at each training snapshot, when the run took snapshots.
#[component]
fn Checkpoints(report: SeedReport) -> impl IntoView {
    (!report.checkpoints.is_empty()).then(|| {
        let rows = report
            .checkpoints
            .iter()
            .map(|c| {
                let count = |class| c.class.iter().filter(|&&k| k == class).count();
                view! {
                    <tr>
                        <td>{c.step}</td>
                        <td>{format!("{:.1}%", c.base_accuracy * 100.0)}</td>
                        <td>
                            {c
                                .spearman
                                .get(&Ablation::Mean)
                                .copied()
                                .flatten()
                                .map_or("undefined".into(), |r| format!("{r:.3}"))}
                        </td>
                        <td>{count(crate::analysis::analyze::Class::Hero)}</td>
                        <td>{count(crate::analysis::analyze::Class::Bloat)}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <section class="panel">
                <h2>"Checkpoints"</h2>
                <table>
                    <thead>
                        <tr>
                            <th>"step"</th>
                            <th>"accuracy"</th>
                            <th>"ρ (mean)"</th>
                            <th>"Heroes"</th>
                            <th>"Bloats"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </section>
        }
    })
}
