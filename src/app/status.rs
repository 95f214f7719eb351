//! What is running: backend, progress bar with loss, accuracy and ETA, the live training chart,
//! and any message for the user.

use leptos::prelude::*;

use super::charts::TrainingCurve;
use super::state::{Lab, Status};

/// The status line, the progress bar and the live chart.
#[component]
pub fn StatusPanel() -> impl IntoView {
    let lab = Lab::get();
    let line = move || lab.status.with(describe);
    let fraction = move || match lab.status.get() {
        Status::Training { progress, .. } => {
            Some(progress.step as f64 / progress.max_steps.max(1) as f64)
        }
        Status::Analysing { done, total, .. } => Some(done as f64 / total.max(1) as f64),
        _ => None,
    };
    let failed = move || matches!(lab.status.get(), Status::Failed(_));
    let live = Signal::derive(move || lab.live.get());
    view! {
        <div class="status" aria-live="polite">
            <Show when=move || !lab.backend.get().is_empty()>
                <p class="backend">"Backend: " {move || lab.backend.get()}</p>
            </Show>
            <Show when=move || fraction().is_some()>
                <progress max="1" value=move || fraction().unwrap_or(0.0)></progress>
            </Show>
            <p id="status" class:error=failed>{line}</p>
            <Show when=move || lab.notice.get().is_some()>
                <p class="notice" role="alert">
                    {move || lab.notice.get()}
                    <button class="small" on:click=move |_| lab.notice.set(None)>"dismiss"</button>
                </p>
            </Show>
            <Show when=move || lab.lines.with(|lines| lines.len() > 1)>
                <ol id="seed-lines" class="seed-lines">
                    <For
                        each=move || lab.lines.get().into_iter().enumerate()
                        key=|(i, line)| (*i, line.clone())
                        children=move |(_, line)| {
                            view! {
                                <li class:ended=line.ended>
                                    <b>{line.label}</b>
                                    " · "
                                    {line.text}
                                </li>
                            }
                        }
                    />
                </ol>
            </Show>
            <Show when=move || !lab.live.with(Vec::is_empty)>
                <TrainingCurve points=live />
            </Show>
        </div>
    }
}

/// The status line's text.
pub fn describe(status: &Status) -> String {
    match status.clone() {
        Status::Idle => String::new(),
        Status::Starting => "Opening the backend…".into(),
        Status::Training {
            progress,
            ms_per_step,
            workers,
        } => {
            let left = (progress.max_steps - progress.step) as f64 * ms_per_step / 1000.0;
            format!(
                "step {} / {} · loss {:.3} · batch accuracy {:.0}% · {:.0} ms/step on {} · at most {} left (stops early at the target accuracy)",
                progress.step,
                progress.max_steps,
                progress.loss,
                progress.train_accuracy * 100.0,
                ms_per_step,
                if workers == 1 {
                    "1 worker".to_string()
                } else {
                    format!("{workers} workers")
                },
                duration(left)
            )
        }
        Status::Evaluating => "Measuring accuracy at the OOD lengths…".into(),
        Status::Analysing { stage, done, total } => {
            format!("Analysing: {stage} ({done}/{total})")
        }
        Status::Cancelled => "Cancelled. Finished runs are kept.".into(),
        Status::Failed(message) => message,
    }
}

/// `95 s`, `4 min`, `1.2 h`.
fn duration(seconds: f64) -> String {
    if seconds < 90.0 {
        format!("{seconds:.0} s")
    } else if seconds < 5400.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}
