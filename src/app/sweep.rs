//! The precomputed sweep shipped with the page (`gradcause sweep` over the default seeds of both
//! tasks): its tables at once, and its reports to load into the run list.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::de::DeserializeOwned;

use crate::analysis::attribution::GWeights;
use crate::engine::model::Positions;
use crate::engine::task::Task;
use crate::experiment::report::SeedReport;
use crate::report::summary::{PaperSeedSummary, Summary, SweepSummary};

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

/// Each task's `file` from the shipped sweep under `positions`: a task not shipped under it is
/// left out; none shipped at all, or one unreadable, is an error that says so.
async fn shipped<T: DeserializeOwned>(positions: Positions, file: &str) -> Result<Vec<T>, String> {
    let dir = sweep_dir(positions);
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for task in TASKS {
        match browser::fetch_text(&format!("{dir}/{task}/{file}")).await {
            Ok(text) => match serde_json::from_str::<T>(&text) {
                Ok(summary) => found.push(summary),
                Err(e) => {
                    return Err(format!(
                        "the shipped {task} sweep's {file} is unreadable: {e}"
                    ));
                }
            },
            Err(e) => missing.push(format!("no precomputed {task} sweep in {dir}/ ({e})")),
        }
    }
    if found.is_empty() {
        return Err(missing.join("; "));
    }
    Ok(found)
}

/// The shipped sweeps' summaries over the paper's seeds, of the scheme shown: all the first screen
/// needs, fetched once for every part of the page that shows them (the claim cards, the
/// comparison table). Every seed's summaries load on demand ([`Precomputed`]).
#[derive(Clone, Copy)]
pub struct ShippedSweeps(pub LocalResource<Result<Vec<PaperSeedSummary>, String>>);

impl ShippedSweeps {
    /// Starts fetching (again whenever the settings' positions change) and provides the result as
    /// context.
    pub fn provide(lab: Lab) {
        let positions = shown_positions(lab);
        provide_context(Self(LocalResource::new(move || {
            shipped(positions.get(), "paper-summary.json")
        })));
    }

    /// The shipped sweeps from context.
    pub fn get() -> LocalResource<Result<Vec<PaperSeedSummary>, String>> {
        expect_context::<Self>().0
    }
}

/// One shipped seed's report, or a message naming the file that could not be read.
async fn shipped_report(positions: Positions, task: Task, seed: u64) -> Result<SeedReport, String> {
    let path = format!("{}/{task}/{task}-seed{seed}.json", sweep_dir(positions));
    browser::fetch_text(&path)
        .await
        .and_then(|t| serde_json::from_str::<SeedReport>(&t).map_err(|e| e.to_string()))
        .map_err(|e| format!("Could not load {path}: {e}"))
}

/// Opens one shipped seed's full view: its report joins the runs (once) and is selected, and the
/// page scrolls to it.
pub fn open_shipped_seed(lab: Lab, positions: Positions, task: Task, seed: u64) {
    spawn_local(async move {
        let shown = |r: &SeedReport| {
            r.run.task == task && r.run.seed == seed && r.run.config.model.positions == positions
        };
        match lab.runs.with_untracked(|runs| runs.iter().position(shown)) {
            Some(i) => lab.selected.set(Some(i)),
            None => match shipped_report(positions, task, seed).await {
                Ok(report) => lab.add_runs(vec![report]),
                Err(e) => {
                    lab.notice.set(Some(e));
                    return;
                }
            },
        }
        request_animation_frame(|| browser::scroll_to("stage-ood"));
    });
}

/// Per task, the summary over the paper's ten seeds under G reading `g` (the paper beside its own
/// seeds, as REPRODUCTION.md has it).
pub fn paper_seed_summaries(sweeps: &[PaperSeedSummary], g: GWeights) -> BTreeMap<Task, Summary> {
    sweeps.iter().flat_map(|sweep| sweep.under(g)).collect()
}

/// The shipped sweep beside the paper (its summaries over the paper's seeds, loaded with the first
/// screen), then on demand every seed's tables, the score leaderboard and the reports.
#[component]
pub fn Precomputed() -> impl IntoView {
    let lab = Lab::get();
    let positions = shown_positions(lab);
    let paper_seeds = ShippedSweeps::get();
    let wanted = RwSignal::new(false);
    let every_seed = LocalResource::new(move || {
        let (wanted, positions) = (wanted.get(), positions.get());
        async move {
            match wanted {
                true => Some(shipped::<SweepSummary>(positions, "summary.json").await),
                false => None,
            }
        }
    });
    let load = move |summary: SweepSummary| {
        let positions = positions.get_untracked();
        spawn_local(async move {
            let mut reports = Vec::new();
            for (task, s) in summary.under(GWeights::WvWout) {
                for &seed in &s.seeds {
                    match shipped_report(positions, task, seed).await {
                        Ok(report) => reports.push(report),
                        Err(e) => {
                            lab.notice.set(Some(e));
                            return;
                        }
                    }
                }
            }
            lab.add_runs(reports);
        });
    };
    let beside = move || {
        paper_seeds.get().map(|result| match result {
            Err(e) => view! { <p class="hint">{e}</p> }.into_any(),
            Ok(list) => {
                let (g, ablation) = (lab.g_weights.get(), lab.ablation.get());
                view! {
                    <PaperBeside
                        summaries=paper_seed_summaries(&list, g)
                        ablation=ablation
                        scope="shipped"
                    />
                }
                .into_any()
            }
        })
    };
    let every_seed_view = move || {
        every_seed.get().flatten().map(|result| match result {
            Err(e) => view! { <p class="hint">{e}</p> }.into_any(),
            Ok(list) => {
                let (g, ablation) = (lab.g_weights.get(), lab.ablation.get());
                let sweeps = list
                    .iter()
                    .map(|sweep| {
                        let under = sweep.under(g);
                        let positions = under
                            .values()
                            .flat_map(|s| s.positions.iter().map(|p| p.name()))
                            .collect::<Vec<_>>()
                            .join(", ");
                        let header = format!(
                            "Made by `{}` on {} (positions: {positions}).",
                            sweep.command, sweep.generated
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
                        let sweep = sweep.clone();
                        view! {
                            <p class="hint">{header}</p>
                            {tables}
                            <button on:click=move |_| load(sweep.clone())>
                                "Load these reports into your runs"
                            </button>
                        }
                    })
                    .collect_view();
                view! {
                    <h3>"Beyond the paper: which cheap score ranks components the way ablation does?"</h3>
                    <Leaderboards sweeps=list ablation=ablation />
                    {sweeps}
                }
                .into_any()
            }
        })
    };
    view! {
        <section id="precomputed" class="panel">
            <h2>"The paper beside the shipped sweep (the paper's ten seeds)"</h2>
            <div class="view-controls">
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
                <ReadingSelector />
            </div>
            <Suspense fallback=|| view! { <p>"Loading the shipped sweep…"</p> }>{beside}</Suspense>
            <h2>"Every seed of the shipped sweep"</h2>
            <Show
                when=move || wanted.get()
                fallback=move || {
                    view! {
                        <p>
                            <button id="every-seed" on:click=move |_| wanted.set(true)>
                                "Show every seed's tables and the score leaderboard"
                            </button>
                            " (loads the sweep's summaries over all its seeds)"
                        </p>
                    }
                }
            >
                <Suspense fallback=|| view! { <p>"Loading every seed's summaries…"</p> }>
                    {every_seed_view}
                </Suspense>
            </Show>
        </section>
    }
}
