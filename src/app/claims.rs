//! The answer first: Figure 6 over the shipped sweep's runs of the paper's ten seeds, then each of
//! the paper's claims as a card checked on them under the reading selected (as REPRODUCTION.md's
//! "What holds and what does not"), before anything is trained.

use leptos::prelude::*;

use crate::compare::Reported;
use crate::reproduction::{Claim, claims};
use crate::task::Task;

use super::charts::SweepScatter;
use super::state::Lab;
use super::sweep::{ShippedSweeps, paper_seed_summaries, shown_positions};

/// Figure 6 per task, then one card per claim with its verdict, the numbers behind it and how it
/// is judged.
#[component]
pub fn ClaimCards() -> impl IntoView {
    let lab = Lab::get();
    let positions = shown_positions(lab);
    let sweeps = ShippedSweeps::get();
    let cards = move || {
        sweeps.get().map(|result| match result {
            Err(e) => view! { <p class="hint">{e}</p> }.into_any(),
            Ok(list) => {
                let (g, ablation) = (lab.g_weights.get(), lab.ablation.get());
                let summaries = paper_seed_summaries(&list, g);
                let seeds = summaries
                    .values()
                    .map(|s| format!("{} of {} {} seeds", s.analysed(), s.seeds.len(), s.task))
                    .collect::<Vec<_>>()
                    .join(", ");
                let reading = format!(
                    "Checked on the shipped sweep's runs of the paper's ten seeds ({seeds} in the OOD window), G on {g}, {ablation} ablation, {} positions. A verdict needs our 95% interval to support (holds) or exclude (does not hold) the paper's statement; otherwise it is inconclusive.",
                    positions.get()
                );
                let cards = claims(&Reported::shipped(), &summaries, ablation)
                    .into_iter()
                    .map(|claim| view! { <ClaimCard claim=claim /> })
                    .collect_view();
                let t = lab.threshold.get();
                let scatters = summaries
                    .into_values()
                    .map(|summary| {
                        let id = match summary.task {
                            Task::Reverse => "sweep-scatter-reverse",
                            Task::Sort => "sweep-scatter-sort",
                        };
                        view! { <SweepScatter summary=summary ablation=ablation t=t id=id /> }
                    })
                    .collect_view();
                view! {
                    <p class="hint">{reading}</p>
                    <div class="sweep-scatters">{scatters}</div>
                    <div class="claim-cards">{cards}</div>
                }
                .into_any()
            }
        })
    };
    view! {
        <section id="claims" class="panel">
            <h2>"Does gradient attribution tell the truth? The paper's claims, checked"</h2>
            <Suspense fallback=|| view! { <p>"Loading the shipped sweep…"</p> }>{cards}</Suspense>
        </section>
    }
}

/// A claim: the paper's statement and our verdict, with our numbers and the rule on demand.
#[component]
fn ClaimCard(claim: Claim) -> impl IntoView {
    let word = claim.verdict.word();
    view! {
        <article class="claim" data-key=claim.key data-verdict=word>
            <h3>{claim.claim}</h3>
            <p class="claim-verdict">
                <span class=format!("verdict verdict-{}", word.replace(' ', "-"))>{word}</span>
                {format!(" on ours: {}", claim.headline)}
            </p>
            <details>
                <summary>"Our numbers, the rule, why ours may differ"</summary>
                <p>{claim.ours}</p>
                <p>{claim.rule}</p>
                {(!claim.why.is_empty()).then(|| view! { <p>{claim.why}</p> })}
            </details>
        </article>
    }
}
