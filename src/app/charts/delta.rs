//! Figure 1: the rank gap Δ = Rank(G) − Rank(C) of every component, with the ±t lines.

use leptos::prelude::*;

use crate::analysis::ablation::Ablation;
use crate::analysis::analyze::{Analysis, Class};
use crate::analysis::attribution::GWeights;
use crate::analysis::classes::ClassRule;
use crate::report::plot::{Scale, band, class_colour};

use super::{Figure, HEIGHT, axes, data_table, plot_ranges, svg_frame};

/// Δ per component under a reading, bars coloured by class at threshold t.
#[component]
pub fn DeltaBars(
    /// The seed's analysis.
    analysis: Analysis,
    /// The reading of G shown.
    #[prop(into)]
    g: Signal<GWeights>,
    /// The ablation C is read under.
    #[prop(into)]
    ablation: Signal<Ablation>,
    /// The Hero/Bloat threshold t.
    #[prop(into)]
    threshold: Signal<usize>,
    /// Whether a gap of exactly ±t counts: the rule the report was analysed under.
    rule: ClassRule,
) -> impl IntoView {
    let analysis = StoredValue::new(analysis);
    let chart = move || {
        let (g, ablation) = (g.get(), ablation.get());
        let t = threshold.get() as f64;
        analysis.with_value(|a| {
            let delta = &a.by_grad[&g].delta[&ablation];
            let reach = delta.iter().fold(t + 1.0, |m, d| m.max(d.abs())).ceil();
            let ((left, right), y_range) = plot_ranges();
            let y = Scale {
                domain: (-reach, reach),
                range: y_range,
            };
            let x = Scale {
                domain: (0.0, 1.0),
                range: (left, right),
            };
            let bars = a
                .components
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let class = Class::by(delta[i], t as usize, rule);
                    let (offset, width) = band(i, delta.len(), right - left);
                    let top = y.map(delta[i].max(0.0));
                    let height = (y.map(0.0) - y.map(delta[i].abs())).max(0.5);
                    let label_x = left + offset + width / 2.0;
                    view! {
                        <rect
                            class="bar"
                            x=left + offset
                            y=top
                            width=width
                            height=height
                            fill=class_colour(class)
                            data-component=c.name.to_string()
                        >
                            <title>{format!("{}: Δ = {} ({class:?})", c.name, delta[i])}</title>
                        </rect>
                        <text
                            x=label_x
                            y=HEIGHT - 40.0
                            font-size="9"
                            text-anchor="end"
                            transform=format!("rotate(-60 {label_x} {})", HEIGHT - 40.0)
                        >
                            {c.name.to_string()}
                        </text>
                    }
                })
                .collect_view();
            let line = |value: f64| {
                let py = y.map(value);
                view! {
                    <line
                        x1=left
                        x2=right
                        y1=py
                        y2=py
                        stroke="#444"
                        stroke-dasharray="4 3"
                    ></line>
                }
            };
            let rows = a
                .components
                .iter()
                .zip(delta)
                .map(|(c, &d)| {
                    vec![
                        c.name.to_string(),
                        d.to_string(),
                        format!("{:?}", Class::by(d, t as usize, rule)),
                    ]
                })
                .collect();
            view! {
                {svg_frame(
                    "Rank gap per component".into(),
                    view! {
                        {axes(x, 0, y, String::new(), format!("Δ = Rank(G) − Rank(C), {ablation}"))}
                        {line(t)}
                        {line(-t)}
                        <g class="bars">{bars}</g>
                    },
                )}
                {data_table(
                    format!("Δ per component, G on {g}, {ablation} ablation, t = {t}"),
                    &["component", "Δ", "class"],
                    rows,
                )}
            }
        })
    };
    view! {
        <Figure
            id="delta"
            title="Rank gap Δ per component"
            caption="Above the upper dashed line: Gradient Bloats; below the lower one: Hidden Heroes."
        >
            {chart}
        </Figure>
    }
}
