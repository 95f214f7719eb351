//! The paper's figures, one component a file, drawn as SVG from a run's report. Shared here: the
//! plot frame, the axes, and the figure box with its SVG download.

mod attention;
mod curve;
mod delta;
mod grad_norm;
mod layers;
mod scatter;
mod score_rho;
mod sweep_scatter;

pub use attention::AttentionMap;
pub use curve::TrainingCurve;
pub use delta::DeltaBars;
pub use grad_norm::GradNormBars;
pub use layers::LayerCounts;
pub use scatter::GradCausalScatter;
pub use score_rho::ScoreRhoChart;
pub use sweep_scatter::SweepScatter;

use leptos::prelude::*;

use crate::analysis::analyze::Class;
use crate::report::plot::{Scale, class_colour, format_number};

use super::browser;

/// Width of every chart's drawing, in SVG units (the page scales it).
pub const WIDTH: f64 = 520.0;
/// Height of every chart's drawing.
pub const HEIGHT: f64 = 320.0;
/// Room for the y axis labels.
pub const LEFT: f64 = 64.0;
/// Room above the plot.
pub const TOP: f64 = 16.0;
/// Room right of the plot.
pub const RIGHT: f64 = 20.0;
/// Room for the x axis labels.
pub const BOTTOM: f64 = 52.0;

/// The plot area's pixel ranges: x left to right, y bottom to top.
pub fn plot_ranges() -> ((f64, f64), (f64, f64)) {
    ((LEFT, WIDTH - RIGHT), (HEIGHT - BOTTOM, TOP))
}

/// Axis lines, ticks, tick labels and axis titles; `x_ticks` about how many x ticks (0: none).
pub fn axes(x: Scale, x_ticks: usize, y: Scale, x_label: String, y_label: String) -> impl IntoView {
    let (x0, y0) = (x.range.0, y.range.0);
    let x_ticks = x
        .ticks(x_ticks)
        .into_iter()
        .map(|t| {
            let px = x.map(t);
            view! {
                <g class="tick">
                    <line x1=px x2=px y1=y0 y2=y0 + 5.0 stroke="#555"></line>
                    <text x=px y=y0 + 18.0 text-anchor="middle">{format_number(t, 3)}</text>
                </g>
            }
        })
        .collect_view();
    let y_ticks = y
        .ticks(5)
        .into_iter()
        .map(|t| {
            let py = y.map(t);
            view! {
                <g class="tick">
                    <line x1=x0 - 5.0 x2=x.range.1 y1=py y2=py stroke="#e3e3e3"></line>
                    <text x=x0 - 8.0 y=py + 4.0 text-anchor="end">{format_number(t, 3)}</text>
                </g>
            }
        })
        .collect_view();
    let x_mid = (x.range.0 + x.range.1) / 2.0;
    let y_mid = (y.range.0 + y.range.1) / 2.0;
    view! {
        <g class="axes">
            {y_ticks}
            {x_ticks}
            <line x1=x0 x2=x.range.1 y1=y0 y2=y0 stroke="#555"></line>
            <line x1=x0 x2=x0 y1=y0 y2=y.range.1 stroke="#555"></line>
            <text font-weight="600" x=x_mid y=HEIGHT - 8.0 text-anchor="middle">{x_label}</text>
            <text
                font-weight="600"
                text-anchor="middle"
                transform=format!("translate(14 {y_mid}) rotate(-90)")
            >
                {y_label}
            </text>
        </g>
    }
}

/// A figure: title, its controls, the chart, a caption, and a button that saves the chart as SVG.
#[component]
pub fn Figure(
    /// Element id, also the SVG file's name.
    #[prop(into)]
    id: String,
    /// The heading.
    title: &'static str,
    /// One line under the chart.
    #[prop(optional, into)]
    caption: String,
    /// Controls and the chart.
    children: Children,
) -> impl IntoView {
    let file = format!("gradcause-{id}.svg");
    let target = id.clone();
    let save = move |_| {
        if let Some(svg) = browser::svg_markup(&target) {
            browser::download(&file, "image/svg+xml", &svg);
        }
    };
    view! {
        <figure class="figure" id=id>
            <header>
                <h3>{title}</h3>
                <button class="small" on:click=save title="Save this figure as an SVG file">
                    "SVG"
                </button>
            </header>
            {children()}
            <figcaption>{caption}</figcaption>
        </figure>
    }
}

/// The `<svg>` element every chart draws into.
pub fn svg_frame(label: String, content: impl IntoView) -> impl IntoView {
    view! {
        <svg
            xmlns="http://www.w3.org/2000/svg"
            viewBox=format!("0 0 {WIDTH} {HEIGHT}")
            role="img"
            aria-label=label
            class="chart"
            font-family="system-ui, sans-serif"
            font-size="12"
            fill="#333"
        >
            {content}
        </svg>
    }
}

/// The mark of a class at `(x, y)`, `size` across: Heroes a triangle, Bloats a square, Aligned a
/// circle, so the classes differ in shape as well as colour.
pub fn class_mark(class: Class, x: f64, y: f64, size: f64) -> impl IntoView + use<> {
    let h = size / 2.0;
    match class {
        Class::Hero => view! {
            <polygon points=format!(
                "{x},{} {},{} {},{}",
                y - h * 1.15,
                x - h * 1.15,
                y + h * 0.85,
                x + h * 1.15,
                y + h * 0.85,
            ) />
        }
        .into_any(),
        Class::Bloat => {
            view! { <rect x=x - h * 0.85 y=y - h * 0.85 width=h * 1.7 height=h * 1.7 /> }.into_any()
        }
        Class::Aligned => view! { <circle cx=x cy=y r=h * 0.8 /> }.into_any(),
    }
}

/// The three classes, each with its mark, colour and name.
#[component]
pub fn ClassLegend() -> impl IntoView {
    let items = [
        (Class::Hero, "Hidden Hero"),
        (Class::Bloat, "Gradient Bloat"),
        (Class::Aligned, "Aligned"),
    ]
    .map(|(class, name)| {
        view! {
            <span class="legend-item">
                <svg class="swatch" viewBox="0 0 12 12" aria-hidden="true" fill=class_colour(class)>
                    {class_mark(class, 6.0, 6.5, 10.0)}
                </svg>
                {name}
            </span>
        }
    });
    view! { <div class="legend">{items.into_iter().collect_view()}</div> }
}

/// A chart's numbers as a table, folded under its chart: the chart's text alternative.
pub fn data_table<H: ToString>(
    caption: String,
    headers: &[H],
    rows: Vec<Vec<String>>,
) -> impl IntoView + use<H> {
    let head = headers
        .iter()
        .map(|h| view! { <th scope="col">{h.to_string()}</th> })
        .collect_view();
    let body = rows
        .into_iter()
        .map(|row| {
            let cells = row
                .into_iter()
                .map(|cell| view! { <td>{cell}</td> })
                .collect_view();
            view! { <tr>{cells}</tr> }
        })
        .collect_view();
    view! {
        <details class="chart-data">
            <summary>"The numbers (table)"</summary>
            <table>
                <caption>{caption}</caption>
                <thead>
                    <tr>{head}</tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </details>
    }
}
