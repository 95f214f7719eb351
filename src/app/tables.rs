//! Across seeds (METHOD §9): ρ per baseline, per-seed rows, pruning, superadditivity and the
//! per-layer gradient norm, for the selected run's task, updated as seeds finish.

use leptos::prelude::*;

use crate::analysis::ablation::Ablation;
use crate::report::summary::Summary;
use crate::report::table::Table;

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

/// A table as the page shows it: the cells the command line prints, as HTML.
#[component]
fn DataTable(table: Table) -> impl IntoView {
    let header = table
        .columns
        .iter()
        .map(|column| view! { <th scope="col">{column.clone()}</th> })
        .collect_view();
    let rows = table
        .rows
        .iter()
        .map(|row| {
            let cells = row
                .iter()
                .map(|cell| view! { <td class:number=cell.is_numeric()>{cell.text()}</td> })
                .collect_view();
            view! { <tr>{cells}</tr> }
        })
        .collect_view();
    view! {
        <table data-table=table.name>
            <caption>{table.title}</caption>
            <thead>
                <tr>{header}</tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// The tables of one summary under `ablation` (Figure 4 drawn as bars), with CSV downloads;
/// `scope` keeps element ids unique on the page.
#[component]
pub fn SummaryTables(summary: Summary, ablation: Ablation, scope: &'static str) -> impl IntoView {
    let norm_id = format!("grad-norm-{scope}-{}", summary.task);
    let tables = summary
        .tables(ablation)
        .into_iter()
        .filter(|table| table.name != "figure4")
        .map(|table| view! { <DataTable table=table /> })
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
        <div class="summary-tables" data-scope=scope data-task=summary.task.name()>
            {tables}
        </div>
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
