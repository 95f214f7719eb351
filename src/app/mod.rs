//! The browser lab: a Leptos page that trains on WebGPU (or the CPU), analyses, and draws the
//! paper's figures. One component a file; `state::Lab` holds the shared signals.

mod browser;
mod charts;
mod claims;
mod comparison;
mod controls;
mod explorer;
mod guide;
mod helpers;
mod jobs;
mod leaderboard;
mod measure;
mod reading;
mod results;
mod runner;
mod runs;
mod state;
mod status;
mod sweep;
mod tables;
mod worker;

use leptos::prelude::*;

use crate::experiment::permalink;

use guide::{Explain, GuideBar};
use state::Lab;

/// Mounts the page on the document body; in the page's worker, serves its jobs instead.
pub fn start() {
    console_error_panic_hook::set_once();
    if worker::in_worker() {
        worker::serve();
    } else {
        leptos::mount::mount_to_body(App);
    }
}

/// The whole page.
#[component]
fn App() -> impl IntoView {
    let lab = Lab::new();
    provide_context(lab);
    sweep::ShippedSweeps::provide(lab);
    // The address bar always links to the current settings, backend and workers per seed.
    Effect::new(move |_| {
        let mut query = permalink::to_query(&lab.settings.get());
        if let Some(backend) = lab.backend_choice.get().key_value() {
            query.push_str(&format!("&backend={backend}"));
        }
        if let Some(workers) = lab.seed_workers.get() {
            query.push_str(&format!("&workers={workers}"));
        }
        browser::set_query(&query);
    });
    view! {
        <header class="top">
            <div>
                <h1>"gradcause"</h1>
                <p class="tagline">
                    "Does gradient attribution tell the truth about a transformer? Train one here, then compare each component's gradient with what removing it actually does."
                </p>
            </div>
            <label class="guided">
                <input
                    type="checkbox"
                    prop:checked=move || lab.guided.get()
                    on:change=move |ev| lab.guided.set(event_target_checked(&ev))
                />
                " Classroom walkthrough"
            </label>
        </header>
        <nav class="jump" aria-label="On this page">
            <a href="#claims">"The claims, checked"</a>
            <a href="#stage-train">"Train your own"</a>
            <a href="#precomputed">"Every number beside the paper's"</a>
        </nav>
        <GuideBar />
        <main>
            <claims::ClaimTable />
            <section id="stage-train" class="panel">
                <h2>"1 · Train your own"</h2>
                <Explain stage=0 />
                <controls::Controls />
                <Show when=move || lab.runs.with(Vec::is_empty)>
                    <p class="hint">
                        "Or bring back runs exported earlier: " <runs::ImportRuns />
                    </p>
                </Show>
                <status::StatusPanel />
            </section>
            <results::Results />
            <tables::AcrossSeeds />
            <comparison::YourRunsBesidePaper />
            <runs::RunList />
            <sweep::Precomputed />
        </main>
        <footer>
            "gradcause reproduces “Hidden Heroes and Gradient Bloats” (Ye 2026, arXiv 2602.01442, CC BY 4.0). Every number is computed in your browser or by "
            <code>"gradcause sweep"</code>
            ", except the paper's own, shown only in the columns marked “paper” (from its reported.json)."
        </footer>
    }
}
