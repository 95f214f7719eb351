//! Beyond the paper: Spearman ρ of every score against C, per task, each mean with its 95%
//! interval over seeds (`docs/scores.md`).

use leptos::prelude::*;

use crate::analysis::scores::Score;
use crate::report::leaderboard::Leaderboard;
use crate::report::plot::{Scale, format_number};

/// Room for the score names.
const NAMES: f64 = 230.0;
/// Height of one score's row.
const ROW: f64 = 26.0;
/// Drawing width.
const WIDTH: f64 = 560.0;

/// One row per score, one marker per task (a circle for the first, a square for the second, so
/// that shape tells them apart as well as colour), the whisker its interval.
#[component]
pub fn ScoreRhoChart(
    /// One leaderboard per task, all under the same C reading.
    boards: Vec<Leaderboard>,
) -> impl IntoView {
    let top = 28.0;
    let height = top + ROW * Score::ALL.len() as f64 + 36.0;
    let x = Scale {
        domain: (-1.0, 1.0),
        range: (NAMES, WIDTH - 16.0),
    };
    let colours = ["#4575b4", "#d73027"];
    let ticks = x
        .ticks(5)
        .into_iter()
        .map(|t| {
            let px = x.map(t);
            view! {
                <line x1=px x2=px y1=top - 4.0 y2=height - 30.0 stroke="#e3e3e3"></line>
                <text x=px y=height - 16.0 text-anchor="middle">{format_number(t, 2)}</text>
            }
        })
        .collect_view();
    let legend = boards
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let lx = NAMES + 150.0 * i as f64;
            view! {
                {marker(i, lx, 10.0, colours[i % 2])}
                <text x=lx + 10.0 y=14.0>{format!("{} ({} seeds)", b.task.name(), b.seeds.len())}</text>
            }
        })
        .collect_view();
    let rows = Score::ALL
        .iter()
        .enumerate()
        .map(|(r, &score)| {
            let cy = top + ROW * r as f64 + ROW / 2.0;
            let points = boards
                .iter()
                .enumerate()
                .filter_map(|(i, b)| {
                    let row = b.row(score)?;
                    let mean = row.spearman.mean?;
                    let y = cy + (i as f64 - 0.5) * 8.0;
                    let whisker = row.spearman.interval.map(|[low, high]| {
                        view! {
                            <line x1=x.map(low) x2=x.map(high) y1=y y2=y stroke=colours[i % 2]></line>
                        }
                    });
                    let tip = format!(
                        "{}, {}: ρ {}{}",
                        b.task.name(),
                        score.label(),
                        format_number(mean, 2),
                        row.spearman
                            .interval
                            .map_or(String::new(), |[l, h]| format!(" [{l:.2}, {h:.2}]"))
                    );
                    Some(view! {
                        <g>
                            {whisker}
                            {marker(i, x.map(mean), y, colours[i % 2])}
                            <title>{tip}</title>
                        </g>
                    })
                })
                .collect_view();
            let name = if score.is_cheap() {
                score.label()
            } else {
                format!("{} *", score.label())
            };
            view! {
                <g class="score-row">
                    <text x=NAMES - 8.0 y=cy + 4.0 text-anchor="end">{name}</text>
                    {points}
                </g>
            }
        })
        .collect_view();
    let zero = x.map(0.0);
    view! {
        <svg
            xmlns="http://www.w3.org/2000/svg"
            viewBox=format!("0 0 {WIDTH} {height}")
            role="img"
            aria-label="Spearman ρ of every score against ablation's C, per task, with 95% intervals; the table below gives the numbers"
            class="chart"
            font-family="system-ui, sans-serif"
            font-size="12"
            fill="#333"
        >
            {legend}
            {ticks}
            <line x1=zero x2=zero y1=top - 4.0 y2=height - 30.0 stroke="#555"></line>
            {rows}
            <text x=(NAMES + WIDTH) / 2.0 y=height - 2.0 text-anchor="middle" font-weight="600">
                "Spearman ρ against C (* an ablation itself, the reference)"
            </text>
        </svg>
    }
}

/// The task's marker: a circle for the first, a square for the second.
fn marker(task: usize, x: f64, y: f64, colour: &'static str) -> AnyView {
    if task == 0 {
        view! { <circle cx=x cy=y r=4.5 fill=colour></circle> }.into_any()
    } else {
        view! { <rect x=x - 4.0 y=y - 4.0 width=8.0 height=8.0 fill=colour></rect> }.into_any()
    }
}
