//! The settings: task, seed, every METHOD field in an "advanced" panel, the backend choice, and
//! the buttons that start and stop runs.

use leptos::prelude::*;

use crate::engine::task::Task;
use crate::experiment::config::ExperimentConfig;
use crate::experiment::config::FIELDS;
use crate::experiment::permalink::{self, BackendChoice};

use super::runner::{self, DEFAULT_SEEDS, run_all};
use super::state::Lab;

/// A change to the settings that may be refused with a message.
type Edit = Box<dyn FnOnce(&mut ExperimentConfig) -> Result<(), String>>;

/// Task, seed, advanced settings and the run buttons.
#[component]
pub fn Controls() -> impl IntoView {
    let lab = Lab::get();
    let error = RwSignal::new(None::<String>);
    let busy = move || lab.status.with(|s| s.busy());
    let chosen = move |choice: BackendChoice| move || lab.backend_choice.get() == choice;
    // Applies `edit` to a copy of the settings; keeps it only when the result is valid.
    let apply = move |edit: Edit| {
        let mut config = lab.settings.get_untracked();
        match edit(&mut config).and_then(|()| config.validate().map_err(|e| e.to_string())) {
            Ok(()) => {
                error.set(None);
                lab.settings.set(config);
            }
            Err(e) => error.set(Some(e)),
        }
    };
    let train = move |_| {
        let config = lab.settings.get_untracked();
        run_all(lab, vec![config]);
    };
    let train_all = move |_| {
        let base = lab.settings.get_untracked();
        let configs = DEFAULT_SEEDS
            .iter()
            .map(|&seed| ExperimentConfig {
                seed,
                ..base.clone()
            })
            .collect();
        run_all(lab, configs);
    };
    let tasks = Task::ALL
        .map(|task| view! { <option value=task.name()>{task.name()}</option> })
        .into_iter()
        .collect_view();
    let advanced = ["Protocol", "Model", "Training", "Evaluation", "Analysis"]
        .map(|section| {
            let inputs = FIELDS
                .iter()
                .filter(|f| f.section == section)
                .map(|field| {
                    let set = field.set;
                    view! {
                        <label class="field" title=field.help>
                            <span>{field.key}</span>
                            <input
                                name=field.key
                                prop:value=move || lab.settings.with(|c| (field.get)(c))
                                on:change=move |ev| {
                                    let text = event_target_value(&ev);
                                    apply(
                                        Box::new(move |c| {
                                            set(c, &text).map_err(|e| format!("`{}`: {e}", field.key))
                                        }),
                                    )
                                }
                            />
                            <small>{field.label}</small>
                        </label>
                    }
                })
                .collect_view();
            view! {
                <fieldset>
                    <legend>{section}</legend>
                    {inputs}
                </fieldset>
            }
        })
        .into_iter()
        .collect_view();
    view! {
        <div class="controls">
            <label>
                "Task "
                <select
                    name="task"
                    prop:value=move || lab.settings.with(|c| c.task.name())
                    on:change=move |ev| {
                        let text = event_target_value(&ev);
                        apply(Box::new(move |c| {
                            c.task = text.parse()?;
                            Ok(())
                        }))
                    }
                >
                    {tasks}
                </select>
            </label>
            <label>
                "Seed "
                <input
                    name="seed"
                    type="number"
                    min="0"
                    prop:value=move || lab.settings.with(|c| c.seed.to_string())
                    on:change=move |ev| {
                        let text = event_target_value(&ev);
                        apply(Box::new(move |c| {
                            c.seed = text
                                .trim()
                                .parse()
                                .map_err(|_| format!("`seed`: expected a whole number, got `{text}`"))?;
                            Ok(())
                        }))
                    }
                />
            </label>
            <label title="Automatic: on a hardware adapter, the faster of WebGPU and the CPU's workers (a few steps of each timed once, remembered by this browser); else the CPU">
                "Backend "
                <select
                    name="backend"
                    on:change=move |ev| {
                        lab.backend_choice
                            .set(
                                match event_target_value(&ev).as_str() {
                                    "measure" => BackendChoice::Measure,
                                    "webgpu" => BackendChoice::WebGpu,
                                    "cpu" => BackendChoice::Cpu,
                                    _ => BackendChoice::Auto,
                                },
                            )
                    }
                >
                    <option value="auto" prop:selected=chosen(BackendChoice::Auto)>
                        "automatic"
                    </option>
                    <option value="measure" prop:selected=chosen(BackendChoice::Measure)>
                        "the faster, measured now"
                    </option>
                    <option value="webgpu" prop:selected=chosen(BackendChoice::WebGpu)>
                        "WebGPU"
                    </option>
                    <option value="cpu" prop:selected=chosen(BackendChoice::Cpu)>
                        "CPU"
                    </option>
                </select>
            </label>
            <label
                class="seed-workers"
                title="Workers that train one seed on the CPU, each making some of every step's micro-batches. Automatic: the browser's threads less one, shared among the seeds at once. Unless the link sets micro-batches, each batch is cut into one micro-batch per worker (the run's settings record how many)."
            >
                "Workers per seed "
                <input
                    id="seed-workers"
                    type="text"
                    inputmode="numeric"
                    size="4"
                    placeholder="auto"
                    prop:value=move || lab.seed_workers.get().map(|n| n.to_string()).unwrap_or_default()
                    on:change=move |ev| {
                        let text = event_target_value(&ev);
                        let query = format!("workers={}", text.trim());
                        match permalink::workers_from_query(&query) {
                            Ok(workers) => {
                                error.set(None);
                                lab.seed_workers.set(workers);
                            }
                            Err(_) if text.trim().is_empty() => {
                                error.set(None);
                                lab.seed_workers.set(None);
                            }
                            Err(e) => error.set(Some(e.replace("link field ", ""))),
                        }
                    }
                />
            </label>
            <button id="train" class="primary" disabled=busy on:click=train>
                "Train"
            </button>
            <button id="train-all" disabled=busy on:click=train_all>
                "Run all 10 default seeds"
            </button>
            <label class="parallel" title="Seeds trained at once, each in its own worker (default: the browser's threads less one)">
                " in parallel: "
                <input
                    id="parallel"
                    type="number"
                    min="1"
                    max="10"
                    prop:value=move || lab.parallel.get().to_string()
                    on:change=move |ev| {
                        match event_target_value(&ev).trim().parse::<usize>() {
                            Ok(n) if (1..=10).contains(&n) => {
                                error.set(None);
                                lab.parallel.set(n);
                            }
                            _ => {
                                error.set(Some("`in parallel`: expected a whole number from 1 to 10".into()))
                            }
                        }
                    }
                />
            </label>
            <button
                id="cancel"
                disabled=move || !busy()
                on:click=move |_| runner::cancel(lab)
            >
                "Cancel"
            </button>
        </div>
        <Show when=move || error.get().is_some()>
            <p class="error" role="alert">{move || error.get()}</p>
        </Show>
        <details class="advanced">
            <summary>"Advanced settings (METHOD.md defaults reproduce the paper)"</summary>
            <div class="fieldsets">{advanced}</div>
            <button on:click=move |_| {
                let c = lab.settings.get_untracked();
                error.set(None);
                lab.settings.set(ExperimentConfig::new(c.task, c.seed));
            }>"Reset to the paper's settings"</button>
        </details>
    }
}
