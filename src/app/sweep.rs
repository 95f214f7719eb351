//! The precomputed sweep shipped with the page (`gradcause sweep` over the default seeds of both
//! tasks): its tables at once, and its reports to load into the run list.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::attribution::GWeights;
use crate::report::SeedReport;
use crate::summary::{Summary, SweepSummary};
use crate::task::Task;

use super::browser;
use super::comparison::PaperBeside;
use super::leaderboard::Leaderboards;
use super::reading::ReadingSelector;
use super::state::Lab;
use super::tables::SummaryTables;

/// Where Trunk puts the sweep's files, relative to the page.
const SWEEP_DIR: &str = "sweep";

/// The tasks the page ships a sweep for.
const TASKS: [&str; 2] = ["reverse", "sort"];

/// The sweep summaries of both tasks, with a button to load their reports.
#[component]
pub fn Precomputed() -> impl IntoView {
    let lab = Lab::get();
    let summaries = LocalResource::new(|| async {
        let mut found = Vec::new();
        for task in TASKS {
            match browser::fetch_text(&format!("{SWEEP_DIR}/{task}/summary.json")).await {
                Ok(text) => match serde_json::from_str::<SweepSummary>(&text) {
                    Ok(summary) => found.push(summary),
                    Err(e) => return Err(format!("the shipped {task} sweep is unreadable: {e}")),
                },
                Err(e) => return Err(format!("no precomputed {task} sweep ({e})")),
            }
        }
        Ok(found)
    });
    let load = move |summary: SweepSummary| {
        spawn_local(async move {
            let mut reports = Vec::new();
            for (task, s) in summary.under(GWeights::WvWout) {
                for seed in &s.seeds {
                    let path = format!("{SWEEP_DIR}/{task}/{task}-seed{seed}.json");
                    let parsed = browser::fetch_text(&path).await.and_then(|t| {
                        serde_json::from_str::<SeedReport>(&t).map_err(|e| e.to_string())
                    });
                    match parsed {
                        Ok(report) => reports.push(report),
                        Err(e) => {
                            lab.notice.set(Some(format!("Could not load {path}: {e}")));
                            return;
                        }
                    }
                }
            }
            lab.add_runs(reports);
        });
    };
    view! {
        <section id="precomputed" class="panel">
            <h2>"Precomputed sweep"</h2>
            <Suspense fallback=|| view! { <p>"Loading the shipped sweep…"</p> }>
                {move || {
                    summaries
                        .get()
                        .map(|result| match result {
                            Err(e) => view! { <p class="hint">{e}</p> }.into_any(),
                            Ok(list) => {
                                let (g, ablation) = (lab.g_weights.get(), lab.ablation.get());
                                // The paper beside its own ten seeds, as REPRODUCTION.md has it.
                                let both: BTreeMap<Task, Summary> = list
                                    .iter()
                                    .flat_map(|sweep| sweep.paper_seeds_under(g))
                                    .collect();
                                let boards = view! {
                                    <h3>"Beyond the paper: which cheap score ranks components the way ablation does?"</h3>
                                    <Leaderboards sweeps=list.clone() ablation=ablation />
                                };
                                let sweeps = list
                                    .into_iter()
                                    .map(|sweep| {
                                        let under = sweep.under(g);
                                        let positions = under
                                            .values()
                                            .flat_map(|s| s.positions.iter().map(|p| p.name()))
                                            .collect::<Vec<_>>()
                                            .join(", ");
                                        let header = format!(
                                            "Made by `{}` on {} (positions: {positions}).",
                                            sweep.command,
                                            sweep.generated
                                        );
                                        let tables = under
                                            .values()
                                            .map(|s| {
                                                view! {
                                                    <h3>{s.task.name()}</h3>
                                                    <SummaryTables summary=s.clone() ablation=ablation scope="shipped" />
                                                }
                                            })
                                            .collect_view();
                                        view! {
                                            <p class="hint">{header}</p>
                                            {tables}
                                            <button on:click={
                                                let sweep = sweep.clone();
                                                move |_| load(sweep.clone())
                                            }>"Load these reports into your runs"</button>
                                        }
                                    })
                                    .collect_view();
                                view! {
                                    <h3>"The paper beside the shipped sweep (the paper's ten seeds)"</h3>
                                    <div class="view-controls">
                                        <ReadingSelector />
                                    </div>
                                    <PaperBeside summaries=both ablation=ablation scope="shipped" />
                                    {boards}
                                    {sweeps}
                                }
                                    .into_any()
                            }
                        })
                }}
            </Suspense>
        </section>
    }
}
