//! Figure 4: per layer, the mean over its heads of the raw W_V gradient norm, with the paper's
//! values as markers where it gives them.

use leptos::prelude::*;

use crate::report::plot::{Scale, band, format_number};

use super::{Figure, HEIGHT, axes, data_table, plot_ranges, svg_frame};

/// One bar per layer; the paper's value per layer, when given, a diamond on the bar.
#[component]
pub fn GradNormBars(
    /// Element id (and SVG file name).
    #[prop(into)]
    id: String,
    /// Per layer, the norm (and, across seeds, its spread).
    norms: Vec<(f64, Option<f64>)>,
    /// What the bars cover.
    #[prop(into)]
    caption: String,
    /// The paper's value per layer.
    #[prop(optional_no_strip)]
    paper: Option<Vec<f64>>,
) -> impl IntoView {
    let ((left, right), y_range) = plot_ranges();
    let paper = paper.unwrap_or_default();
    let y = Scale::fit(
        norms
            .iter()
            .map(|(m, s)| m + s.unwrap_or(0.0))
            .chain(paper.iter().copied())
            .chain([0.0]),
        y_range,
    );
    let x = Scale {
        domain: (0.0, 1.0),
        range: (left, right),
    };
    let bars = norms
        .iter()
        .enumerate()
        .map(|(layer, &(norm, spread))| {
            let (offset, width) = band(layer, norms.len(), right - left);
            let top = y.map(norm);
            let middle = left + offset + width / 2.0;
            let tip = match spread {
                Some(s) => format!("layer {layer}: {} ± {}", format_number(norm, 3), format_number(s, 2)),
                None => format!("layer {layer}: {}", format_number(norm, 3)),
            };
            let whisker = spread.map(|s| {
                view! {
                    <line x1=middle x2=middle y1=y.map(norm - s) y2=y.map(norm + s) stroke="#222"></line>
                }
            });
            let marker = paper.get(layer).map(|&p| {
                let (cx, cy) = (middle, y.map(p));
                view! {
                    <polygon
                        class="paper"
                        points=format!("{cx},{} {},{cy} {cx},{} {},{cy}", cy - 6.0, cx + 6.0, cy + 6.0, cx - 6.0)
                        fill="#fdae61"
                        stroke="#222"
                    >
                        <title>{format!("layer {layer}, the paper: {}", format_number(p, 3))}</title>
                    </polygon>
                }
            });
            view! {
                <g class="layer">
                    <rect
                        x=left + offset
                        y=top
                        width=width
                        height=(y.map(0.0) - top).max(0.0)
                        fill="#4575b4"
                    >
                        <title>{tip}</title>
                    </rect>
                    {whisker}
                    {marker}
                    <text x=middle y=HEIGHT - 32.0 text-anchor="middle">
                        {format!("L{layer}")}
                    </text>
                </g>
            }
        })
        .collect_view();
    let rows = norms
        .iter()
        .enumerate()
        .map(|(layer, &(norm, spread))| {
            let mut row = vec![
                format!("L{layer}"),
                format_number(norm, 4),
                spread.map_or("—".into(), |s| format_number(s, 3)),
            ];
            if !paper.is_empty() {
                row.push(
                    paper
                        .get(layer)
                        .map_or("—".into(), |&p| format_number(p, 3)),
                );
            }
            row
        })
        .collect();
    let headers: &[&str] = if paper.is_empty() {
        &["layer", "norm", "std"]
    } else {
        &["layer", "norm (ours)", "std", "paper"]
    };
    let table = data_table(caption.clone(), headers, rows);
    view! {
        <Figure id=id title="Gradient norm per layer (W_V)" caption=caption>
            {svg_frame(
                "Gradient norm per layer".into(),
                view! {
                    {axes(x, 0, y, "layer".into(), "mean W_V gradient magnitude".into())}
                    {bars}
                },
            )}
            {table}
        </Figure>
    }
}
