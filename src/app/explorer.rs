//! The ablation explorer: tick any set of components and measure the OOD accuracy with all of
//! them ablated at once, on the model trained in this visit.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::analysis::ablation::Ablation;
use crate::engine::component::Component;
use crate::experiment::report::SeedReport;

use super::runner;
use super::state::Lab;

/// Checkboxes per component, a baseline and a Measure button.
#[component]
pub fn Explorer(report: SeedReport) -> impl IntoView {
    let lab = Lab::get();
    let index = lab.selected.get_untracked();
    let has_model = lab
        .models
        .with_value(|models| models.iter().any(|(i, _)| Some(*i) == index));
    let Some(length) = report.run.analysis_length else {
        return ().into_any();
    };
    let components = report
        .analysis
        .as_ref()
        .map(|a| a.components.iter().map(|c| c.name).collect::<Vec<_>>())
        .unwrap_or_default();
    let chosen = RwSignal::new(Vec::<Component>::new());
    let ablation = RwSignal::new(Ablation::Mean);
    let result = RwSignal::new(None::<String>);
    let running = RwSignal::new(false);
    let config = report.run.config.clone();
    let measure = move |_| {
        let picked = chosen.get_untracked();
        let ablation = ablation.get_untracked();
        let config = config.clone();
        running.set(true);
        spawn_local(async move {
            let Some(weights) = lab.models.with_value(|models| {
                models
                    .iter()
                    .find(|(i, _)| Some(*i) == index)
                    .map(|(_, w)| w.clone())
            }) else {
                running.set(false);
                return;
            };
            let outcome = runner::ablate(config, length, picked.clone(), ablation, weights).await;
            result.set(Some(match outcome {
                Ok((base, accuracy)) => format!(
                    "{} ablated ({ablation}): {:.1}% exact match at n = {length} (clean: {:.1}%, change {:+.1} points)",
                    if picked.is_empty() {
                        "nothing".to_string()
                    } else {
                        picked.iter().map(ToString::to_string).collect::<Vec<_>>().join(" + ")
                    },
                    accuracy * 100.0,
                    base * 100.0,
                    (accuracy - base) * 100.0
                ),
                Err(e) => format!("The measurement failed: {e}"),
            }));
            running.set(false);
        });
    };
    let boxes = components
        .into_iter()
        .map(|c| {
            view! {
                <label class="component-box">
                    <input
                        type="checkbox"
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            chosen.update(|list| {
                                list.retain(|&x| x != c);
                                if on {
                                    list.push(c);
                                }
                            })
                        }
                    />
                    {c.to_string()}
                </label>
            }
        })
        .collect_view();
    let ablations = Ablation::ALL
        .map(|a| view! { <option value=a.name()>{a.name()}</option> })
        .into_iter()
        .collect_view();
    view! {
        <section id="explorer" class="panel">
            <h2>"Ablation explorer"</h2>
            {if has_model {
                view! {
                    <div class="component-grid">{boxes}</div>
                    <div class="figure-controls">
                        <label>
                            "Ablation "
                            <select on:change=move |ev| {
                                if let Ok(a) = event_target_value(&ev).parse() {
                                    ablation.set(a)
                                }
                            }>{ablations}</select>
                        </label>
                        <button disabled=move || running.get() on:click=measure>
                            {move || if running.get() { "Measuring…" } else { "Measure" }}
                        </button>
                    </div>
                    <p id="explorer-result">{move || result.get()}</p>
                }
                    .into_any()
            } else {
                view! {
                    <p>
                        "Weights are not kept in browser storage: train this run in this visit to ablate any set of its components here (or use "
                        <code>"gradcause ablate"</code>
                        " with saved weights)."
                    </p>
                }
                    .into_any()
            }}
        </section>
    }
    .into_any()
}
