//! The training chart: batch loss at every step and the stop-rule accuracy where it was measured.

use leptos::prelude::*;

use crate::report::plot::{Scale, format_number};

use super::super::state::LivePoint;
use super::{Figure, axes, data_table, plot_ranges, svg_frame};

/// Loss (left axis) and stop-rule accuracy (right axis, 0–100%) against steps.
#[component]
pub fn TrainingCurve(
    /// The points to draw; re-read when they change.
    points: Signal<Vec<LivePoint>>,
) -> impl IntoView {
    let chart = move || {
        let points = points.get();
        let (x_range, y_range) = plot_ranges();
        let x = Scale::fit(points.iter().map(|p| p.step as f64).chain([0.0]), x_range);
        let y = Scale::fit(points.iter().map(|p| p.loss).chain([0.0]), y_range);
        let accuracy = Scale {
            domain: (0.0, 1.0),
            range: y_range,
        };
        let loss_path = points
            .iter()
            .filter(|p| p.loss.is_finite())
            .map(|p| format!("{:.1},{:.1}", x.map(p.step as f64), y.map(p.loss)))
            .collect::<Vec<_>>()
            .join(" ");
        let evaluations: Vec<(usize, f64)> = points
            .iter()
            .filter_map(|p| p.eval_accuracy.map(|a| (p.step, a)))
            .collect();
        let accuracy_path = evaluations
            .iter()
            .map(|&(s, a)| format!("{:.1},{:.1}", x.map(s as f64), accuracy.map(a)))
            .collect::<Vec<_>>()
            .join(" ");
        let dots = evaluations
            .iter()
            .map(|&(s, a)| {
                view! {
                    <circle cx=x.map(s as f64) cy=accuracy.map(a) r="3.5" fill="#1a9850">
                        <title>{format!("step {s}: {}% exact match", format_number(a * 100.0, 3))}</title>
                    </circle>
                }
            })
            .collect_view();
        let rows = points
            .iter()
            .filter(|p| p.eval_accuracy.is_some())
            .map(|p| {
                vec![
                    p.step.to_string(),
                    format_number(p.loss, 4),
                    p.eval_accuracy.map_or("—".into(), |a| {
                        format!("{}%", format_number(a * 100.0, 3))
                    }),
                ]
            })
            .collect();
        let table = data_table(
            "At each accuracy check: the step's batch loss and the exact-match accuracy".into(),
            &["step", "batch loss", "accuracy"],
            rows,
        );
        let right = x.range.1;
        let drawing = svg_frame(
            "Training loss and accuracy".into(),
            view! {
                {axes(x, 6, y, "step".into(), "batch loss".into())}
                <polyline points=loss_path fill="none" stroke="#4575b4" stroke-width="1.5"></polyline>
                <polyline points=accuracy_path fill="none" stroke="#1a9850" stroke-width="2"></polyline>
                {dots}
                <text x=right - 4.0 y=accuracy.map(1.0) + 12.0 text-anchor="end" fill="#1a9850">
                    "stop-rule accuracy (100% at top)"
                </text>
                <text x=right - 4.0 y=accuracy.map(1.0) + 28.0 text-anchor="end" fill="#4575b4">
                    "batch loss"
                </text>
            },
        );
        view! {
            {drawing}
            {table}
        }
    };
    view! {
        <Figure
            id="training"
            title="Training"
            caption="Blue: each step's batch loss. Green: exact-match accuracy on fresh examples, checked every few hundred steps."
        >
            {chart}
        </Figure>
    }
}
