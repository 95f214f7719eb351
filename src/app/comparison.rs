//! The paper beside ours: every number of `reported.json` next to the same quantity over the
//! shipped sweep or the user's own runs, with the verdict per line (as `gradcause compare`).

use std::collections::BTreeMap;

use leptos::prelude::*;

use crate::analysis::ablation::Ablation;
use crate::engine::task::Task;
use crate::report::compare::{Line, compare, tally};
use crate::report::paper::{CITATION, Reported};
use crate::report::summary::Summary;

use super::state::Lab;

/// The comparison table for `summaries` (made under one G reading), with `ablation` read as the
/// paper's mean ablation; `scope` keeps element ids unique on the page.
#[component]
pub fn PaperBeside(
    summaries: BTreeMap<Task, Summary>,
    ablation: Ablation,
    scope: &'static str,
) -> impl IntoView {
    let g = summaries.values().next().map(|s| s.g_weights);
    let lines = compare(&Reported::shipped(), &summaries, ablation);
    let (within, differs, unavailable) = tally(&lines);
    let mut sections: Vec<(&'static str, Vec<Line>)> = Vec::new();
    for line in lines {
        match sections.last_mut() {
            Some((name, group)) if *name == line.section => group.push(line),
            _ => sections.push((line.section, vec![line])),
        }
    }
    let groups = sections
        .into_iter()
        .map(|(name, group)| {
            let (w, d, u) = tally(&group);
            let counts = [(w, "within"), (d, "differ"), (u, "not available")]
                .into_iter()
                .filter(|&(n, _)| n > 0)
                .map(|(n, word)| format!("{n} {word}"))
                .collect::<Vec<_>>()
                .join(", ");
            let rows = group
                .into_iter()
                .map(|l| {
                    let verdict = l.verdict();
                    let class = format!("verdict verdict-{}", verdict.word().replace('/', ""));
                    view! {
                        <tr>
                            <td>{l.what}</td>
                            <td class="paper">{l.paper}</td>
                            <td>{l.ours}</td>
                            <td>{l.seeds}</td>
                            <td class=class>{verdict.to_string()}</td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <details class="comparison-section">
                    <summary>
                        <span class="section-name">{name}</span>
                        <span class="section-tally">{format!(" — {counts}")}</span>
                    </summary>
                    <table class="comparison" aria-label=name>
                        <thead>
                            <tr>
                                <th>"reported"</th>
                                <th>"paper"</th>
                                <th>"ours"</th>
                                <th>"seeds"</th>
                                <th>"verdict"</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                </details>
            }
        })
        .collect_view();
    view! {
        <div class="paper-beside" id=format!("paper-beside-{scope}")>
            <p class="tally">
                {format!(
                    "{} entries: {within} within the paper's spread, {differs} differ, {unavailable} not available on these runs (G on {}, {ablation} ablation).",
                    within + differs + unavailable,
                    g.map_or("—".to_string(), |g| g.to_string())
                )}
            </p>
            <p class="hint">
                {format!(
                    "Paper column: {CITATION}, as reported.json lists it. Everything else is computed from these runs. A seed number names a different model here than in the paper's code, so compare spreads, not single seeds; each verdict names the spread it uses (REPRODUCTION.md explains them)."
                )}
            </p>
            {groups}
        </div>
    }
}

/// The comparison for the user's own runs, once two seeds of a task are analysed.
#[component]
pub fn YourRunsBesidePaper() -> impl IntoView {
    let lab = Lab::get();
    move || {
        let summaries = Summary::per_task(&lab.current_runs(), lab.g_weights.get());
        summaries.values().any(|s| s.analysed() >= 2).then(|| {
            view! {
                <section id="stage-paper" class="panel">
                    <h2>"8 · Your runs beside the paper"</h2>
                    <PaperBeside summaries=summaries ablation=lab.ablation.get() scope="runs" />
                </section>
            }
        })
    }
}
