//! Across seeds (METHOD §9): ρ per baseline, per-seed rows, pruning, superadditivity and the
//! per-layer gradient norm, for the selected run's task, updated as seeds finish.

use leptos::prelude::*;

use crate::analysis::ablation::Ablation;
use crate::analysis::stats::MeanStd;
use crate::report::summary::Summary;

use super::browser;
use super::charts::GradNormBars;
use super::guide::Explain;
use super::state::Lab;

/// The across-seed tables of the selected task, once two runs of it are analysed.
#[component]
pub fn AcrossSeeds() -> impl IntoView {
    let lab = Lab::get();
    move || {
        let task = lab.selected_run()?.run.task;
        let summary = Summary::new(task, &lab.current_runs(), lab.g_weights.get());
        (summary.analysed() >= 2).then(|| {
            view! {
                <section id="stage-seeds" class="panel">
                    <h2>{format!("7 · Across seeds: {task}")}</h2>
                    <Explain stage=6 />
                    <SummaryTables summary=summary ablation=lab.ablation.get() scope="runs" />
                </section>
            }
        })
    }
}

/// `0.42 ± 0.10 [0.35, 0.49] (n=3)`, percentages when `percent`.
fn cell(value: MeanStd, percent: bool) -> String {
    if percent {
        value.display(100.0, 1)
    } else {
        value.display(1.0, 3)
    }
}

/// The tables of one summary under `ablation`, with CSV downloads; `scope` keeps element ids
/// unique on the page.
#[component]
pub fn SummaryTables(summary: Summary, ablation: Ablation, scope: &'static str) -> impl IntoView {
    let norm_id = format!("grad-norm-{scope}-{}", summary.task);
    let (table4, pruning) = (&summary.table4[&ablation], &summary.pruning[&ablation]);
    let rho = summary
        .table1
        .rows()
        .into_iter()
        .map(|(name, value)| {
            view! {
                <tr>
                    <td>{name}</td>
                    <td>{cell(value, false)}</td>
                </tr>
            }
        })
        .collect_view();
    let seeds = summary
        .table3
        .rows
        .iter()
        .zip(&table4.rows)
        .zip(&pruning.rows)
        .map(|((r, b), p)| {
            let rho = |x: Option<f64>| x.map_or("—".into(), |x| format!("{x:.3}"));
            let pct = |x: Option<f64>| x.map_or("—".into(), |x| format!("{:.1}", x * 100.0));
            view! {
                <tr>
                    <td>{r.seed}</td>
                    <td>{r.analysis_length}</td>
                    <td>{format!("{:.1}%", r.base_accuracy * 100.0)}</td>
                    <td>{rho(r.spearman[&ablation])}</td>
                    <td>{rho(r.spearman[&Ablation::Zero])}</td>
                    <td>{pct(b.individual_drop)}</td>
                    <td>{pct(b.joint_drop)}</td>
                    <td>{b.additive_ratio.map_or("—".into(), |x| format!("{x:.2}"))}</td>
                    <td>{pct(p.heroes)}</td>
                    <td>{pct(p.bloats)}</td>
                </tr>
            }
        })
        .collect_view();
    let skipped = summary
        .skipped
        .iter()
        .map(|s| view! { <li>{format!("seed {}: {}", s.seed, s.reason)}</li> })
        .collect_view();
    let norms = summary
        .figure4
        .raw
        .iter()
        .map(|m| (m.mean.unwrap_or(0.0), m.std))
        .collect();
    let files = summary.csv_files();
    let download = move |_| {
        for (name, text) in &files {
            browser::download(name, "text/csv", text);
        }
    };
    view! {
        <p>{format!("{} seeds analysed, {} skipped.", summary.analysed(), summary.skipped.len())}</p>
        <table class="small-table">
            <caption>{format!("Spearman ρ across seeds, G on {} (mean ± sample std [95% bootstrap interval])", summary.g_weights)}</caption>
            <tbody>{rho}</tbody>
        </table>
        <table>
            <caption>{format!("Per seed under {ablation} ablation: ρ, top-two Bloat drops (points), pruning change (points)")}</caption>
            <thead>
                <tr>
                    <th>"seed"</th>
                    <th>"n"</th>
                    <th>"base"</th>
                    <th>{format!("ρ {ablation}")}</th>
                    <th>"ρ zero"</th>
                    <th>"single drop"</th>
                    <th>"joint drop"</th>
                    <th>"joint / sum"</th>
                    <th>"prune Heroes"</th>
                    <th>"prune Bloats"</th>
                </tr>
            </thead>
            <tbody>{seeds}</tbody>
        </table>
        <p>
            {format!(
                "Superadditivity of the top-two Bloats: mean joint drop / mean single drop = {}; mean joint drop / mean sum of single drops = {}. Pruning the top-two Heroes: {}; the top-two Bloats: {} (points).",
                table4.ratio.display_times(),
                table4.additive_ratio.display_times(),
                cell(pruning.heroes, true),
                cell(pruning.bloats, true),
            )}
        </p>
        <GradNormBars id=norm_id norms=norms caption="Mean over seeds (± sample std) of each layer's mean raw W_V gradient norm (Figure 4)." />
        <Show when={
            let any = !summary.skipped.is_empty();
            move || any
        }>
            <p>"Skipped seeds:"</p>
        </Show>
        <ul class="skipped">{skipped}</ul>
        <button on:click=download>"Download the tables as CSV"</button>
    }
}
