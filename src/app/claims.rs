//! The answer first: each of the paper's claims as a row, checked on the shipped sweep's runs of
//! the paper's ten seeds under the reading selected (as REPRODUCTION.md's "What holds and what
//! does not"), beside its verdict under protocol `published` and the sentence saying which
//! single switch turns it (`assets/decomposition.json`); then Figure 6 over those runs, the
//! decomposition's forest plot, and the per-layer figures (2–4) with the paper's numbers drawn on
//! ours, before anything is trained.

use leptos::prelude::*;

use crate::analysis::ablation::Ablation;
use crate::engine::task::Task;
use crate::experiment::protocol::Protocol;
use crate::report::paper::Reported;
use crate::report::reproduction::{Claim, claims};
use crate::report::summary::{LayerCount, Summary};
use crate::report::switches::decomposition::{Decomposition, Verdict};
use crate::report::switches::forest::forest_svg;

use super::browser;
use super::charts::{GradNormBars, LayerCounts, SweepScatter};
use super::state::Lab;
use super::sweep::{ShippedSweeps, open_shipped_seed, paper_seed_summaries, shown_sweep};

/// The decomposition the page ships, or why it could not be read.
async fn shipped_decomposition() -> Result<Decomposition, String> {
    let text = browser::fetch_text("decomposition.json")
        .await
        .map_err(|e| format!("The decomposition (decomposition.json) did not load: {e}"))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("The decomposition (decomposition.json) is unreadable: {e}"))
}

/// One row per claim with its verdict on ours, under `published`, and why, then Figure 6, the
/// forest plot and Figures 2–4 per task.
#[component]
pub fn ClaimTable() -> impl IntoView {
    let lab = Lab::get();
    let sweep = shown_sweep(lab);
    let sweeps = ShippedSweeps::get();
    let decomposition = LocalResource::new(shipped_decomposition);
    let why = Memo::new(move |_| {
        decomposition.with(|d| match d.as_ref()? {
            Ok(d) => Some(Ok((d.clone(), d.why_lines(), d.why_details()))),
            Err(e) => Some(Err(e.clone())),
        })
    });
    // Derived once per sweep and reading, not per render: the summaries over the paper's seeds
    // and the claims checked on them.
    let summaries = Memo::new(move |_| {
        let list = sweeps.get()?.ok()?;
        Some(paper_seed_summaries(&list, lab.g_weights.get()))
    });
    let checked = Memo::new(move |_| {
        summaries.with(|s| {
            let s = s.as_ref()?;
            Some(claims(&Reported::shipped(), s, lab.ablation.get()))
        })
    });
    let claims_and_figures = move || {
        sweeps.get().map(|result| match result {
            Err(e) => view! { <p class="hint">{e}</p> }.into_any(),
            Ok(_) => {
                let (g, ablation) = (lab.g_weights.get(), lab.ablation.get());
                let summaries = summaries.get().unwrap_or_default();
                let seeds = summaries
                    .values()
                    .map(|s| format!("{} of {} {} seeds", s.analysed(), s.seeds.len(), s.task))
                    .collect::<Vec<_>>()
                    .join(", ");
                let reading = format!(
                    "Our runs of the paper's ten seeds ({seeds} in the OOD window) · G on {g} · {ablation} ablation · the {} sweep. Holds / does not hold: our 95% interval supports / excludes the paper's statement; otherwise inconclusive.",
                    sweep.get()
                );
                let reported = Reported::shipped();
                let why = why.get();
                let (found, failed) = match why {
                    Some(Ok(found)) => (Some(found), None),
                    Some(Err(e)) => (None, Some(e)),
                    None => (None, None),
                };
                let forest = found.as_ref().map(|(d, _, _)| forest_svg(d));
                let everywhere = found.as_ref().and_then(|(d, _, _)| d.unmeasured_everywhere());
                let rows = checked
                    .get()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|claim| {
                        let switches = found.as_ref().and_then(|(d, lines, details)| {
                            let i = d.claims.iter().position(|c| c.key == claim.key)?;
                            Some(Switches {
                                published: d.base(Protocol::Published).map(|c| c.verdicts[i].clone()),
                                cells: d.columns.iter().map(|c| (c.label(), c.verdicts[i].text())).collect(),
                                line: lines[i].clone(),
                                detail: details[i].clone(),
                            })
                        });
                        view! { <ClaimRow claim=claim switches=switches /> }
                    })
                    .collect_view();
                let t = lab.threshold.get();
                let scatters = summaries
                    .values()
                    .map(|summary| {
                        let task = summary.task;
                        let id = match task {
                            Task::Reverse => "sweep-scatter-reverse",
                            Task::Sort => "sweep-scatter-sort",
                        };
                        let open = Callback::new(move |seed| {
                            open_shipped_seed(lab, sweep.get_untracked(), task, seed)
                        });
                        view! { <SweepScatter summary=summary.clone() ablation=ablation t=t id=id open=open /> }
                    })
                    .collect_view();
                let figures = summaries
                    .values()
                    .map(|summary| layer_figures(summary, &reported, ablation, t))
                    .collect_view();
                view! {
                    <p class="hint">{reading}</p>
                    {failed.map(|e| view! { <p class="error">{e}</p> })}
                    {everywhere.map(|e| view! { <p class="hint unmeasured-everywhere">{e}</p> })}
                    <table class="claim-table">
                        <thead>
                            <tr>
                                <th scope="col">"The paper's claim"</th>
                                <th scope="col">"On ours"</th>
                                <th scope="col">"As the author ran it"</th>
                                <th scope="col">"Why the paper found it: the single switch that turns it"</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                    <div class="sweep-scatters">{scatters}</div>
                    {forest.map(|svg| view! {
                        <figure id="forest" class="chart">
                            <figcaption>
                                "Each switch's effect on each claim's statistic: S with the switch minus S under its protocol, published (orange) or METHOD's default (blue), with its 95% interval, on every seed the sweeps hold. Filled: the switch turns the claim (its verdict differs and the interval excludes 0); hollow: it does not; no dot: not measured (the table says why). Each panel has its own scale."
                            </figcaption>
                            // Wider than a narrow window: it scrolls, and a keyboard can scroll it.
                            <div inner_html=svg tabindex="0" role="region" aria-label="Forest plot of effects, scrollable"></div>
                        </figure>
                    })}
                    <h3>"Per layer (Figures 2–4): ours, with the paper's numbers drawn on them"</h3>
                    <div class="sweep-figures">{figures}</div>
                }
                .into_any()
            }
        })
    };
    view! {
        <section id="claims" class="panel">
            <h2>"Does gradient attribution tell the truth? The paper's claims, checked"</h2>
            <Suspense fallback=|| view! { <p>"Loading the shipped sweep…"</p> }>{claims_and_figures}</Suspense>
        </section>
    }
}

/// The paper's Table 5 counts per layer at threshold `t`, if it gives them for `task`.
fn paper_layer_counts(reported: &Reported, task: Task, t: usize) -> Option<Vec<LayerCount>> {
    if task != Task::Sort {
        return None;
    }
    let paper = reported
        .table5_sort_heads_only_counts_summed_over_seeds
        .get(&format!("t{t}"))?;
    Some(
        paper
            .heroes
            .iter()
            .zip(&paper.bloats)
            .enumerate()
            .map(|(layer, (&heroes, &bloats))| LayerCount {
                layer,
                heroes,
                bloats,
            })
            .collect(),
    )
}

/// Figures 2–3 (Hero and Bloat heads per layer) and Figure 4 (W_V gradient norm per layer) over
/// one task's seeds, with the paper's values where it reports them.
fn layer_figures(
    summary: &Summary,
    reported: &Reported,
    ablation: Ablation,
    t: usize,
) -> impl IntoView {
    let task = summary.task;
    let n = summary.analysed();
    let paper_counts = paper_layer_counts(reported, task, t);
    let paper_seeds = reported.seeds_in_window.sort;
    let counts_caption = match &paper_counts {
        Some(_) => format!(
            "{task}, heads only, summed over our {n} seeds ({ablation} ablation, t = {t}). Outlined: the paper's Table 5 over its {paper_seeds} seeds (mean ablation)."
        ),
        None if task == Task::Sort => format!(
            "{task}, heads only, summed over our {n} seeds ({ablation} ablation, t = {t}). The paper's Table 5 gives t = 4, 6 and 8 only."
        ),
        None => format!(
            "{task}, heads only, summed over our {n} seeds ({ablation} ablation, t = {t}). The paper gives no per-layer counts for reversal."
        ),
    };
    let (counts_id, norm_id) = match task {
        Task::Reverse => ("layers-shipped-reverse", "grad-norm-shipped-reverse"),
        Task::Sort => ("layers-shipped-sort", "grad-norm-shipped-sort"),
    };
    let norms = summary
        .figure4
        .raw
        .iter()
        .map(|m| (m.mean.unwrap_or(f64::NAN), m.std))
        .collect::<Vec<_>>();
    let (paper_norms, norm_caption) = match task {
        Task::Sort => (
            Some(reported.figure4_sort_layer_wv_grad_norm.clone()),
            format!(
                "{task}: mean over our {n} seeds (± std) of each layer's mean raw W_V gradient norm. Diamonds: the paper's Figure 4."
            ),
        ),
        Task::Reverse => (
            None,
            format!(
                "{task}: mean over our {n} seeds (± std) of each layer's mean raw W_V gradient norm. The paper gives no numbers for reversal (“{}”).",
                reported.figure4_reverse_layer_wv_grad_norm
            ),
        ),
    };
    let counts = summary.table5.at(ablation, t).to_vec();
    view! {
        <LayerCounts
            id=counts_id
            title="Heroes and Bloats per layer (Figures 2–3, Table 5)"
            caption=counts_caption
            counts=Signal::stored(counts)
            paper=paper_counts
        />
        <GradNormBars id=norm_id norms=norms caption=norm_caption paper=paper_norms />
    }
}

/// One claim's part of the decomposition: its verdict under `published`, every column's cell,
/// and its sentence.
#[derive(Clone)]
struct Switches {
    /// Its verdict under `published`.
    published: Option<Verdict>,
    /// Each column's label and cell.
    cells: Vec<(String, String)>,
    /// Its why-sentence.
    line: String,
    /// What the sentence leaves to be unfolded: changes within noise, switches not measured.
    detail: String,
}

/// A verdict word, coloured.
fn verdict(word: &'static str) -> impl IntoView {
    view! { <span class=format!("verdict verdict-{}", word.replace(' ', "-"))>{word}</span> }
}

/// A claim: the paper's statement, our verdict, the verdict under `published` and the sentence
/// saying which switch turns it, with our numbers, the rule and every switch's cell on demand.
#[component]
fn ClaimRow(claim: Claim, switches: Option<Switches>) -> impl IntoView {
    let word = claim.verdict.word();
    let published = switches.as_ref().and_then(|s| s.published.clone());
    let published_cell = match published {
        Some(v) if v.measured() => view! {
            <td class="published" data-verdict=v.verdict.word()>
                {verdict(v.verdict.word())} " " {v.headline}
            </td>
        }
        .into_any(),
        Some(v) => view! {
            <td class="published" data-verdict="not measured" title=v.missing>
                "not measured"
            </td>
        }
        .into_any(),
        None => view! { <td class="published" data-verdict="not measured">"—"</td> }.into_any(),
    };
    let why = switches.map(|s| {
        let cells = s
            .cells
            .into_iter()
            .map(|(label, text)| {
                view! {
                    <tr>
                        <th scope="row">{label}</th>
                        <td>{text}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <p class="why-line">{s.line}</p>
            <details>
                <summary>"Every switch"</summary>
                {(!s.detail.is_empty()).then(|| view! { <p class="why-detail">{s.detail}</p> })}
                <table class="switch-cells">
                    <tbody>{cells}</tbody>
                </table>
            </details>
        }
    });
    view! {
        <tr class="claim" data-key=claim.key data-verdict=word data-claim=claim.claim>
            <th scope="row">
                <details>
                    <summary>{claim.title}</summary>
                    <p>{claim.claim}</p>
                    <p>{claim.ours}</p>
                    <p>{claim.rule}</p>
                    <p class="paper-under-rule">"The paper's own numbers under this rule: " {claim.paper.text()}</p>
                    {(!claim.why.is_empty()).then(|| view! { <p>{claim.why}</p> })}
                </details>
            </th>
            <td class="ours">{verdict(word)} " " {claim.headline}</td>
            {published_cell}
            <td class="why">{why}</td>
        </tr>
    }
}
