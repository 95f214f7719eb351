//! The finished runs, shown once there is one: pick which one the figures show, export them all
//! as JSON, import a file of runs (a malformed or foreign file is refused with a message and
//! changes nothing), clear them. Before the first run, only the import is offered.

use crate::analysis::ablation::Ablation;
use crate::analysis::attribution::GWeights;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use super::browser;
use super::state::{Lab, parse_runs_file};

/// The button that imports a file of runs.
#[component]
pub fn ImportRuns() -> impl IntoView {
    let lab = Lab::get();
    let import = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        spawn_local(async move {
            match browser::read_chosen_file(&input).await {
                Ok((name, text)) => match parse_runs_file(&name, &text) {
                    Ok(runs) => {
                        let count = runs.len();
                        lab.add_runs(runs);
                        lab.notice
                            .set(Some(format!("Imported {count} run(s) from `{name}`.")));
                    }
                    Err(e) => lab.notice.set(Some(e)),
                },
                Err(e) => lab
                    .notice
                    .set(Some(format!("Could not read the file: {e}"))),
            }
            input.set_value("");
        });
    };
    view! {
        <label class="button">
            "Import runs…"
            <input id="import" type="file" accept=".json,application/json" on:change=import />
        </label>
    }
}

/// The run list with its buttons, once there is a run.
#[component]
pub fn RunList() -> impl IntoView {
    let lab = Lab::get();
    let export = move |_| {
        let text = lab
            .runs
            .with(|runs| serde_json::to_string_pretty(runs).expect("reports serialise"));
        browser::download("gradcause-runs.json", "application/json", &text);
    };
    let clear = move |_| {
        let confirmed = web_sys::window()
            .and_then(|w| {
                w.confirm_with_message("Forget every run kept in this browser?")
                    .ok()
            })
            .unwrap_or(false);
        if confirmed {
            lab.clear_runs();
        }
    };
    let rows = move || {
        lab.runs.with(|runs| {
            runs.iter()
                .enumerate()
                .map(|(i, r)| {
                    let outcome = match (&r.analysis, r.run.analysis_length) {
                        (Some(a), Some(n)) => format!(
                            "n = {n}, ρ(mean) = {}",
                            a.spearman(GWeights::WvWout, Ablation::Mean)
                                .map_or("undefined".into(), |x| format!("{x:.2}"))
                        ),
                        _ if r.outdated().is_some() => {
                            "analysed under an earlier METHOD: analyse again".to_string()
                        }
                        _ => "skipped".to_string(),
                    };
                    view! {
                        <li>
                            <button
                                class="run"
                                class:chosen=move || lab.selected.get() == Some(i)
                                on:click=move |_| lab.selected.set(Some(i))
                            >
                                {format!("{} · seed {} · {outcome}", r.run.task, r.run.seed)}
                            </button>
                        </li>
                    }
                })
                .collect_view()
        })
    };
    let any = move || lab.runs.with(|runs| !runs.is_empty());
    view! {
        <Show when=any>
        <section id="runs" class="panel">
            <h2>"Your runs"</h2>
            <p class="hint">"Kept in this browser; they survive a reload."</p>
            <ol class="run-list">{rows}</ol>
            <div class="figure-controls">
                <button id="export" on:click=export>"Export runs (JSON)"</button>
                <ImportRuns />
                <button on:click=clear>"Clear"</button>
            </div>
        </section>
        </Show>
    }
}
