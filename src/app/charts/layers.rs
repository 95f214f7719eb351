//! Figures 2–3: how many heads of each layer are Hidden Heroes and Gradient Bloats, for one seed
//! or summed over seeds, with the paper's counts beside ours where it gives them (Table 5).

use leptos::prelude::*;

use crate::analysis::analyze::Class;
use crate::report::plot::{Scale, band, class_colour};
use crate::report::summary::LayerCount;

use super::{Figure, HEIGHT, axes, data_table, plot_ranges, svg_frame};

/// Grouped bars per layer: Heroes then Bloats, each followed by the paper's count (an outlined
/// bar) when `paper` is given. Each bar is lettered H or B, so the classes differ without colour.
#[component]
pub fn LayerCounts(
    /// Element id (and SVG file name).
    id: &'static str,
    /// The heading.
    title: &'static str,
    /// What the counts cover.
    #[prop(into)]
    caption: String,
    /// Per layer, the counts; re-read when it changes.
    counts: Signal<Vec<LayerCount>>,
    /// The paper's counts per layer, drawn beside ours.
    #[prop(optional_no_strip)]
    paper: Option<Vec<LayerCount>>,
) -> impl IntoView {
    let caption = StoredValue::new(caption);
    let paper = StoredValue::new(paper);
    let chart = move || {
        let counts = counts.get();
        let paper = paper.get_value();
        let paper_at = |layer: usize| paper.as_ref()?.iter().find(|c| c.layer == layer).copied();
        let ((left, right), y_range) = plot_ranges();
        let most = counts
            .iter()
            .chain(paper.iter().flatten())
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
        let slots = if paper.is_some() { 4.0 } else { 2.0 };
        let groups = counts
            .iter()
            .enumerate()
            .map(|(i, count)| {
                let (offset, width) = band(i, counts.len(), right - left);
                let slot = width / slots;
                let bar = |k: usize, class: Class, value: usize, whose: &str, ours: bool| {
                    let top = y.map(value as f64);
                    let (bx, letter) = (left + offset + k as f64 * slot, &format!("{class:?}")[..1]);
                    let (fill, stroke) = if ours {
                        (class_colour(class), "none")
                    } else {
                        ("#fff", class_colour(class))
                    };
                    view! {
                        <rect
                            class=if ours { "ours" } else { "paper" }
                            x=bx
                            y=top
                            width=slot - 2.0
                            height=(y.map(0.0) - top).max(0.0)
                            fill=fill
                            stroke=stroke
                            stroke-width="1.5"
                            stroke-dasharray="3 2"
                        >
                            <title>{format!("layer {}: {value} {class:?}s ({whose})", count.layer)}</title>
                        </rect>
                        <text x=bx + slot / 2.0 - 1.0 y=top - 3.0 text-anchor="middle" font-size="10">
                            {letter.to_string()}
                        </text>
                    }
                };
                let theirs = paper_at(count.layer).map(|p| {
                    view! {
                        {bar(1, Class::Hero, p.heroes, "paper", false)}
                        {bar(3, Class::Bloat, p.bloats, "paper", false)}
                    }
                });
                let bloat_slot = if paper.is_some() { 2 } else { 1 };
                let middle = left + offset + width / 2.0;
                view! {
                    <g class="layer" data-layer=count.layer>
                        {bar(0, Class::Hero, count.heroes, "ours", true)}
                        {bar(bloat_slot, Class::Bloat, count.bloats, "ours", true)}
                        {theirs}
                        <text x=middle y=HEIGHT - 32.0 text-anchor="middle">
                            {format!("L{}", count.layer)}
                        </text>
                    </g>
                }
            })
            .collect_view();
        let rows = counts
            .iter()
            .map(|c| {
                let mut row = vec![
                    format!("L{}", c.layer),
                    c.heroes.to_string(),
                    c.bloats.to_string(),
                ];
                if paper.is_some() {
                    let p = paper_at(c.layer);
                    let show = |n: Option<usize>| n.map_or("—".into(), |n| n.to_string());
                    row.push(show(p.map(|p| p.heroes)));
                    row.push(show(p.map(|p| p.bloats)));
                }
                row
            })
            .collect();
        let headers: &[&str] = if paper.is_some() {
            &[
                "layer",
                "Heroes (ours)",
                "Bloats (ours)",
                "Heroes (paper)",
                "Bloats (paper)",
            ]
        } else {
            &["layer", "Heroes", "Bloats"]
        };
        view! {
            {svg_frame(
                format!("{title}: {}", caption.get_value()),
                view! {
                    {axes(x, 0, y, "layer".into(), "heads".into())}
                    {groups}
                },
            )}
            {data_table(caption.get_value(), headers, rows)}
        }
    };
    view! {
        <Figure id=id title=title caption=caption.get_value()>
            {chart}
        </Figure>
    }
}
