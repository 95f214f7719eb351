//! Figure 5: the mean attention pattern of a head, picked from the grid of heads.

use leptos::prelude::*;

use crate::analysis::analyze::AttentionPatterns;
use crate::engine::component::Component;
use crate::report::plot::{format_number, heat_colour};

use super::{Figure, HEIGHT, LEFT, TOP, data_table, svg_frame};

/// The heat map of the chosen head; clicking a head in the grid picks it.
#[component]
pub fn AttentionMap(
    /// Every head's pattern.
    patterns: AttentionPatterns,
    /// Blocks.
    layers: usize,
    /// Heads per block.
    heads: usize,
    /// The head shown, which the grid sets.
    chosen: RwSignal<Component>,
) -> impl IntoView {
    let patterns = StoredValue::new(patterns);
    let picker = (0..layers)
        .map(|layer| {
            let row = (0..heads)
                .map(|head| {
                    let component = Component::Head { layer, head };
                    view! {
                        <button
                            class="head"
                            class:chosen=move || chosen.get() == component
                            on:click=move |_| chosen.set(component)
                        >
                            {component.to_string()}
                        </button>
                    }
                })
                .collect_view();
            view! { <div class="head-row">{row}</div> }
        })
        .collect_view();
    let chart = move || {
        let head = chosen.get();
        patterns.with_value(|p| {
            let matrix = p.heads.get(&head).cloned().unwrap_or_default();
            let n = matrix.len().max(1);
            let side = HEIGHT - TOP - 40.0;
            let cell = side / n as f64;
            let cells = matrix
                .iter()
                .enumerate()
                .flat_map(|(q, row)| {
                    row.iter().enumerate().map(move |(k, &w)| {
                        view! {
                            <rect
                                x=LEFT + k as f64 * cell
                                y=TOP + q as f64 * cell
                                width=cell
                                height=cell
                                fill=heat_colour(w)
                            >
                                <title>
                                    {format!("query {q} → key {k}: {}", format_number(w, 3))}
                                </title>
                            </rect>
                        }
                    })
                })
                .collect_view();
            let headers: Vec<String> = std::iter::once("query \\ key".to_string())
                .chain((0..matrix.len()).map(|k| k.to_string()))
                .collect();
            let rows = matrix
                .iter()
                .enumerate()
                .map(|(q, row)| {
                    std::iter::once(q.to_string())
                        .chain(row.iter().map(|&w| format_number(w, 3)))
                        .collect()
                })
                .collect();
            let table = data_table(
                format!("{head}: mean attention weight of each query position on each key"),
                &headers,
                rows,
            );
            let drawing = svg_frame(
                format!("Attention pattern of {head}"),
                view! {
                    <rect x=LEFT y=TOP width=side height=side fill="none" stroke="#555"></rect>
                    {cells}
                    <text x=LEFT + side / 2.0 y=TOP + side + 20.0 text-anchor="middle" font-weight="600">
                        "key position"
                    </text>
                    <text
                        text-anchor="middle"
                        font-weight="600"
                        transform=format!("translate({} {}) rotate(-90)", LEFT - 12.0, TOP + side / 2.0)
                    >
                        "query position"
                    </text>
                    <text x=LEFT + side + 16.0 y=TOP + 14.0 font-weight="600">{head.to_string()}</text>
                    <text x=LEFT + side + 16.0 y=TOP + 34.0>
                        {format!("mean of {} examples", p.examples)}
                    </text>
                },
            );
            view! {
                {drawing}
                {table}
            }
        })
    };
    view! {
        <Figure
            id="attention"
            title="Attention pattern"
            caption="Pick a head. Rows: the position attending; columns: where it looks. Darker = more weight."
        >
            <div class="head-grid">{picker}</div>
            {chart}
        </Figure>
    }
}
