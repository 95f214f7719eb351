//! The precomputed sweep shipped with the page (`gradcause sweep` over the default seeds of both
//! tasks): its tables at once, and its reports to load into the run list.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::attribution::GWeights;
use crate::model::Positions;
use crate::report::SeedReport;
use crate::summary::{Summary, SweepSummary};
use crate::task::Task;

use super::browser;
use super::comparison::PaperBeside;
use super::leaderboard::Leaderboards;
use super::reading::ReadingSelector;
use super::state::Lab;
use super::tables::SummaryTables;

/// Where Trunk puts each shipped sweep's files, relative to the page: the default position
/// scheme's, and `none`'s (METHOD §2: both are readings of the paper).
fn sweep_dir(positions: Positions) -> &'static str {
    match positions {
        Positions::None => "sweep-none",
        _ => "sweep",
    }
}

/// The position schemes a sweep is shipped for.
const SHIPPED: [Positions; 2] = [Positions::Shifted, Positions::None];

/// The tasks the page ships a sweep for.
const TASKS: [&str; 2] = ["reverse", "sort"];

/// The position scheme whose shipped sweep is shown: the settings' (so the link keeps it, and a
/// run trained next matches what is shown); `learned` has no shipped sweep and shows `shifted`'s.
pub fn shown_positions(lab: Lab) -> Memo<Positions> {
    Memo::new(move |_| match lab.settings.with(|c| c.model.positions) {
        Positions::None => Positions::None,
        _ => Positions::Shifted,
    })
}

/// The shipped sweep summaries under `positions`: a task not shipped under it is left out; none
/// shipped at all, or one unreadable, is an error that says so.
async fn shipped_summaries(positions: Positions) -> Result<Vec<SweepSummary>, String> {
    let dir = sweep_dir(positions);
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for task in TASKS {
        match browser::fetch_text(&format!("{dir}/{task}/summary.json")).await {
            Ok(text) => match serde_json::from_str::<SweepSummary>(&text) {
                Ok(summary) => found.push(summary),
                Err(e) => return Err(format!("the shipped {task} sweep is unreadable: {e}")),
            },
            Err(e) => missing.push(format!("no precomputed {task} sweep in {dir}/ ({e})")),
        }
    }
    if found.is_empty() {
        return Err(missing.join("; "));
    }
    Ok(found)
}

/// The shipped sweep summaries of the scheme shown, fetched once for every part of the page that
/// shows them (the claim cards, the precomputed panel).
#[derive(Clone, Copy)]
pub struct ShippedSweeps(pub LocalResource<Result<Vec<SweepSummary>, String>>);

impl ShippedSweeps {
    /// Starts fetching (again whenever the settings' positions change) and provides the result as
    /// context.
    pub fn provide(lab: Lab) {
        let positions = shown_positions(lab);
        provide_context(Self(LocalResource::new(move || {
            shipped_summaries(positions.get())
        })));
    }

    /// The shipped sweeps from context.
    pub fn get() -> LocalResource<Result<Vec<SweepSummary>, String>> {
        expect_context::<Self>().0
    }
}

/// Per task, the summary over the paper's ten seeds under G reading `g` (the paper beside its own
/// seeds, as REPRODUCTION.md has it).
pub fn paper_seed_summaries(sweeps: &[SweepSummary], g: GWeights) -> BTreeMap<Task, Summary> {
    sweeps
        .iter()
        .flat_map(|sweep| sweep.paper_seeds_under(g))
        .collect()
}

/// The sweep summaries of both tasks, with a button to load their reports.
#[component]
pub fn Precomputed() -> impl IntoView {
    let lab = Lab::get();
    let positions = shown_positions(lab);
    let summaries = ShippedSweeps::get();
    let load = move |summary: SweepSummary| {
        let dir = sweep_dir(positions.get_untracked());
        spawn_local(async move {
            let mut reports = Vec::new();
            for (task, s) in summary.under(GWeights::WvWout) {
                for seed in &s.seeds {
                    let path = format!("{dir}/{task}/{task}-seed{seed}.json");
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
            <label>
                "Positions (your next run's too) "
                <select
                    name="sweep-positions"
                    prop:value=move || positions.get().name()
                    on:change=move |ev| {
                        if let Ok(p) = event_target_value(&ev).parse() {
                            lab.settings.update(|c| c.model.positions = p)
                        }
                    }
                >
                    {SHIPPED
                        .map(|p| view! { <option value=p.name()>{format!("{p} (its sweep)")}</option> })
                        .into_iter()
                        .collect_view()}
                </select>
            </label>
            <Suspense fallback=|| view! { <p>"Loading the shipped sweep…"</p> }>
                {move || {
                    summaries
                        .get()
                        .map(|result| match result {
                            Err(e) => view! { <p class="hint">{e}</p> }.into_any(),
                            Ok(list) => {
                                let (g, ablation) = (lab.g_weights.get(), lab.ablation.get());
                                let both = paper_seed_summaries(&list, g);
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
