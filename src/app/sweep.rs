//! The precomputed sweep shipped with the page (`gradcause sweep` over the default seeds of both
//! tasks): its tables at once, and its reports to load into the run list.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::de::DeserializeOwned;

use crate::analysis::attribution::GWeights;
use crate::engine::model::Positions;
use crate::engine::task::Task;
use crate::experiment::config::ExperimentConfig;
use crate::experiment::protocol::Protocol;
use crate::experiment::report::SeedReport;
use crate::report::summary::{PaperSeedSummary, Summary, SweepSummary};

use super::browser;
use super::comparison::PaperBeside;
use super::leaderboard::Leaderboards;
use super::reading::ReadingSelector;
use super::state::Lab;
use super::tables::SummaryTables;

/// A sweep shipped with the page: METHOD's default (`shifted` positions), `none` positions (METHOD
/// §2: both are readings of the paper), and protocol `published` (METHOD §11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShippedSweep {
    /// The default settings.
    Shifted,
    /// The default settings but `positions = none`.
    None,
    /// Protocol `published`.
    Published,
}

impl ShippedSweep {
    /// Every shipped sweep, the default first.
    const ALL: [ShippedSweep; 3] = [
        ShippedSweep::Shifted,
        ShippedSweep::None,
        ShippedSweep::Published,
    ];

    /// Its name in the page's selector.
    pub fn name(self) -> &'static str {
        match self {
            ShippedSweep::Shifted => "shifted",
            ShippedSweep::None => "none",
            ShippedSweep::Published => "published",
        }
    }

    /// How the selector describes it.
    fn label(self) -> &'static str {
        match self {
            ShippedSweep::Shifted => "shifted positions (its sweep)",
            ShippedSweep::None => "no positions (its sweep)",
            ShippedSweep::Published => "protocol published (its sweep)",
        }
    }

    /// Where Trunk puts its files, relative to the page.
    fn dir(self) -> &'static str {
        match self {
            ShippedSweep::Shifted => "sweep",
            ShippedSweep::None => "sweep-none",
            ShippedSweep::Published => "sweep-published",
        }
    }

    /// The sweep whose runs `config` makes (`learned` positions have none and show `shifted`'s).
    fn of(config: &ExperimentConfig) -> Self {
        if config.protocol() == Some(Protocol::Published) {
            ShippedSweep::Published
        } else if config.model.positions == Positions::None {
            ShippedSweep::None
        } else {
            ShippedSweep::Shifted
        }
    }

    /// `config` set to make this sweep's runs, the task and seed kept.
    fn select(self, config: &mut ExperimentConfig) {
        if config.protocol() == Some(Protocol::Published) || self == ShippedSweep::Published {
            let protocol = match self {
                ShippedSweep::Published => Protocol::Published,
                _ => Protocol::Default,
            };
            config.apply_protocol(protocol);
        }
        match self {
            ShippedSweep::Shifted => config.model.positions = Positions::Shifted,
            ShippedSweep::None => config.model.positions = Positions::None,
            ShippedSweep::Published => {}
        }
    }
}

impl std::fmt::Display for ShippedSweep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The tasks the page ships a sweep for.
const TASKS: [&str; 2] = ["reverse", "sort"];

/// The shipped sweep shown: the settings' (so the link keeps it, and a run trained next matches
/// what is shown).
pub fn shown_sweep(lab: Lab) -> Memo<ShippedSweep> {
    Memo::new(move |_| lab.settings.with(ShippedSweep::of))
}

/// Each task's `file` from the shipped sweep `sweep`: a task not shipped under it is
/// left out; none shipped at all, or one unreadable, is an error that says so.
async fn shipped<T: DeserializeOwned>(sweep: ShippedSweep, file: &str) -> Result<Vec<T>, String> {
    let dir = sweep.dir();
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
/// needs, fetched once for every part of the page that shows them (the claim table, the
/// comparison table). Every seed's summaries load on demand ([`Precomputed`]).
#[derive(Clone, Copy)]
pub struct ShippedSweeps(pub LocalResource<Result<Vec<PaperSeedSummary>, String>>);

impl ShippedSweeps {
    /// Starts fetching (again whenever the settings' sweep changes) and provides the result as
    /// context.
    pub fn provide(lab: Lab) {
        let sweep = shown_sweep(lab);
        provide_context(Self(LocalResource::new(move || {
            shipped(sweep.get(), "paper-summary.json")
        })));
    }

    /// The shipped sweeps from context.
    pub fn get() -> LocalResource<Result<Vec<PaperSeedSummary>, String>> {
        expect_context::<Self>().0
    }
}

/// One shipped seed's report, or a message naming the file that could not be read.
async fn shipped_report(sweep: ShippedSweep, task: Task, seed: u64) -> Result<SeedReport, String> {
    let path = format!("{}/{task}/{task}-seed{seed}.json", sweep.dir());
    browser::fetch_text(&path)
        .await
        .and_then(|t| serde_json::from_str::<SeedReport>(&t).map_err(|e| e.to_string()))
        .map_err(|e| format!("Could not load {path}: {e}"))
}

/// Opens one shipped seed's full view: its report joins the runs (once) and is selected, and the
/// page scrolls to it.
pub fn open_shipped_seed(lab: Lab, sweep: ShippedSweep, task: Task, seed: u64) {
    spawn_local(async move {
        let shown = |r: &SeedReport| {
            r.run.task == task && r.run.seed == seed && ShippedSweep::of(&r.run.config) == sweep
        };
        match lab.runs.with_untracked(|runs| runs.iter().position(shown)) {
            Some(i) => lab.selected.set(Some(i)),
            None => match shipped_report(sweep, task, seed).await {
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
    let sweep = shown_sweep(lab);
    let paper_seeds = ShippedSweeps::get();
    let wanted = RwSignal::new(false);
    let every_seed = LocalResource::new(move || {
        let (wanted, sweep) = (wanted.get(), sweep.get());
        async move {
            match wanted {
                true => Some(shipped::<SweepSummary>(sweep, "summary.json").await),
                false => None,
            }
        }
    });
    let load = move |summary: SweepSummary| {
        let shown = sweep.get_untracked();
        spawn_local(async move {
            let mut reports = Vec::new();
            for (task, s) in summary.under(GWeights::WvWout) {
                for &seed in &s.seeds {
                    match shipped_report(shown, task, seed).await {
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
                    "Sweep (your next run's settings too) "
                    <select
                        name="sweep-positions"
                        prop:value=move || sweep.get().name()
                        on:change=move |ev| {
                            let name = event_target_value(&ev);
                            if let Some(s) = ShippedSweep::ALL.into_iter().find(|s| s.name() == name) {
                                lab.settings.update(|c| s.select(c))
                            }
                        }
                    >
                        {ShippedSweep::ALL
                            .map(|s| view! { <option value=s.name()>{s.label()}</option> })
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
