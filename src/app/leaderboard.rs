//! Beyond the paper, for the shipped sweep: which cheap score ranks components the way ablation
//! does? The answer, ρ of every score per task as a chart, and the full table per task, under the
//! C reading selected.

use leptos::prelude::*;

use crate::analysis::ablation::Ablation;
use crate::report::leaderboard::{Leaderboard, percent};
use crate::report::summary::SweepSummary;

use super::charts::ScoreRhoChart;

/// The leaderboard of each shipped task under `ablation`.
#[component]
pub fn Leaderboards(
    /// The shipped sweeps (one per task).
    sweeps: Vec<SweepSummary>,
    /// The C reading selected.
    ablation: Ablation,
) -> impl IntoView {
    let boards: Vec<Leaderboard> = sweeps
        .iter()
        .flat_map(|s| s.leaderboards.values())
        .filter_map(|by_ablation| by_ablation.get(&ablation).cloned())
        .filter(|b| !b.seeds.is_empty())
        .collect();
    if boards.is_empty() {
        return view! {
            <p class="hint">
                "The shipped sweep's reports predate the cheap scores: run `gradcause sweep` again to see the leaderboard."
            </p>
        }
        .into_any();
    }
    let answers = boards
        .iter()
        .filter_map(|b| b.answer())
        .map(|a| view! { <li>{a.replace("**", "")}</li> })
        .collect_view();
    let tables = boards
        .iter()
        .map(|b| view! { <LeaderboardTable board=b.clone() /> })
        .collect_view();
    view! {
        <div class="leaderboard">
            <ul class="answers">{answers}</ul>
            <figure class="figure" id="score-rho">
                <ScoreRhoChart boards=boards.clone() />
                <figcaption>
                    "Mean ρ over the shipped seeds with its 95% bootstrap interval; scores as in docs/scores.md."
                </figcaption>
            </figure>
            {tables}
        </div>
    }
    .into_any()
}

/// One task's leaderboard as a table.
#[component]
fn LeaderboardTable(board: Leaderboard) -> impl IntoView {
    let pruning_headers = board
        .counts
        .iter()
        .filter(|_| !board.causal_pruned_accuracy.is_empty())
        .map(|k| view! { <th>{format!("accuracy, {k} pruned")}</th> })
        .collect_view();
    let rows = board
        .rows
        .iter()
        .map(|row| {
            let name = if row.cheap {
                row.score.label()
            } else {
                format!("{} (an ablation, the reference)", row.score.label())
            };
            let pruned = row
                .pruned_accuracy
                .iter()
                .map(|m| view! { <td>{percent(m)}</td> })
                .collect_view();
            view! {
                <tr data-score=row.score.name()>
                    <th scope="row">{name}</th>
                    <td class="rho">{row.spearman.display(1.0, 2)}</td>
                    <td>{row.top_two.text()}</td>
                    {pruned}
                </tr>
            }
        })
        .collect_view();
    let reference = (!board.causal_pruned_accuracy.is_empty()).then(|| {
        let cells = board
            .causal_pruned_accuracy
            .iter()
            .map(|m| view! { <td>{percent(m)}</td> })
            .collect_view();
        view! {
            <tr>
                <th scope="row">"C's own order"</th>
                <td></td>
                <td></td>
                {cells}
            </tr>
        }
    });
    view! {
        <h4>{format!("{}: every score against {} ablation's C", board.task.name(), board.ablation)}</h4>
        <div class="table-scroll">
            <table class="leaderboard-table" data-task=board.task.name()>
                <thead>
                    <tr>
                        <th scope="col">"score"</th>
                        <th scope="col">"ρ against C"</th>
                        <th scope="col">"top two = C's top two"</th>
                        {pruning_headers}
                    </tr>
                </thead>
                <tbody>{rows} {reference}</tbody>
            </table>
        </div>
    }
}
