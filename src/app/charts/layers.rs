//! Figures 2–3: how many heads of each layer are Hidden Heroes and Gradient Bloats, for one seed
//! or summed over seeds.

use leptos::prelude::*;

use crate::analysis::Class;
use crate::plot::{Scale, band, class_colour};
use crate::summary::LayerCount;

use super::{Figure, HEIGHT, axes, plot_ranges, svg_frame};

/// Grouped bars, Heroes and Bloats per layer.
#[component]
pub fn LayerCounts(
    /// Element id (and SVG file name).
    id: &'static str,
    /// The heading.
    title: &'static str,
    /// What the counts cover.
    caption: &'static str,
    /// Per layer, the counts; re-read when it changes.
    counts: Signal<Vec<LayerCount>>,
) -> impl IntoView {
    let chart = move || {
        let counts = counts.get();
        let ((left, right), y_range) = plot_ranges();
        let most = counts
            .iter()
            .map(|c| c.heroes.max(c.bloats))
            .max()
            .unwrap_or(0)
            .max(1);
        let y = Scale {
            domain: (0.0, most as f64),
            range: y_range,
        };
        let x = Scale {
            domain: (0.0, 1.0),
            range: (left, right),
        };
        let groups = counts
            .iter()
            .enumerate()
            .map(|(i, count)| {
                let (offset, width) = band(i, counts.len(), right - left);
                let bar = |k: usize, class: Class, value: usize, name: &str| {
                    let top = y.map(value as f64);
                    view! {
                        <rect
                            x=left + offset + k as f64 * width / 2.0
                            y=top
                            width=width / 2.0 - 2.0
                            height=(y.map(0.0) - top).max(0.0)
                            fill=class_colour(class)
                        >
                            <title>{format!("layer {}: {value} {name}", count.layer)}</title>
                        </rect>
                    }
                };
                let middle = left + offset + width / 2.0;
                view! {
                    <g class="layer" data-layer=count.layer>
                        {bar(0, Class::Hero, count.heroes, "Hidden Heroes")}
                        {bar(1, Class::Bloat, count.bloats, "Gradient Bloats")}
                        <text x=middle y=HEIGHT - 32.0 text-anchor="middle">
                            {format!("L{}", count.layer)}
                        </text>
                    </g>
                }
            })
            .collect_view();
        svg_frame(
            title.into(),
            view! {
                {axes(x, 0, y, "layer".into(), "heads".into())}
                {groups}
            },
        )
    };
    view! {
        <Figure id=id title=title caption=caption>
            {chart}
        </Figure>
    }
}
