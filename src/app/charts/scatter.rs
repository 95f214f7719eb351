//! Figure 6: gradient magnitude against causal importance, one point per component, coloured by
//! class, with Spearman ρ; by value or by rank.

use leptos::prelude::*;

use crate::analysis::ablation::Ablation;
use crate::analysis::analyze::{Analysis, Class};
use crate::analysis::attribution::GWeights;
use crate::analysis::classes::ClassRule;
use crate::report::plot::{Scale, class_colour, format_number};

use super::{ClassLegend, Figure, axes, class_mark, data_table, plot_ranges, svg_frame};

/// G against C under a reading, classes at threshold t.
#[component]
pub fn GradCausalScatter(
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
    let by_rank = RwSignal::new(false);
    let analysis = StoredValue::new(analysis);
    let rho = move || {
        let (g, ablation) = (g.get(), ablation.get());
        analysis.with_value(|a| match a.spearman(g, ablation) {
            Some(rho) => format!("Spearman ρ = {rho:.3} (G on {g}, {ablation} ablation)"),
            None => {
                format!("Spearman ρ undefined (G on {g}, {ablation} ablation: a constant ranking)")
            }
        })
    };
    let chart = move || {
        let (g, ablation) = (g.get(), ablation.get());
        let t = threshold.get();
        let rank = by_rank.get();
        analysis.with_value(|a| {
            let (xs, ys) = if rank {
                (
                    a.by_grad[&g].ranks.clone(),
                    a.causal_ranks[&ablation].clone(),
                )
            } else {
                (a.grad(g), a.causal(ablation))
            };
            let (x_range, y_range) = plot_ranges();
            let x = Scale::fit(xs.iter().copied(), x_range);
            let y = Scale::fit(ys.iter().copied(), y_range);
            let delta = &a.by_grad[&g].delta[&ablation];
            let points = a
                .components
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let class = Class::by(delta[i], t, rule);
                    let tip = format!(
                        "{}: G = {}, C = {}, Δ = {}, {class:?}",
                        c.name,
                        format_number(c.grad[&g], 3),
                        format_number(c.causal[&ablation], 3),
                        delta[i],
                    );
                    view! {
                        <g
                            class="point"
                            fill=class_colour(class)
                            fill-opacity="0.85"
                            stroke="#222"
                            stroke-width="0.5"
                            data-component=c.name.to_string()
                            data-class=format!("{class:?}")
                        >
                            {class_mark(class, x.map(xs[i]), y.map(ys[i]), 13.0)}
                            <title>{tip}</title>
                        </g>
                    }
                })
                .collect_view();
            let (x_label, y_label) = if rank {
                (
                    "rank of G (1 = smallest)".to_string(),
                    "rank of C".to_string(),
                )
            } else {
                (
                    "gradient magnitude G".to_string(),
                    format!("causal importance C ({ablation}, accuracy drop)"),
                )
            };
            let rows = a
                .components
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    vec![
                        c.name.to_string(),
                        format_number(xs[i], 4),
                        format_number(ys[i], 4),
                        delta[i].to_string(),
                        format!("{:?}", Class::by(delta[i], t, rule)),
                    ]
                })
                .collect();
            let caption = format!("Each component's {x_label} and {y_label}, t = {t}");
            view! {
                {svg_frame(
                    "Gradient magnitude against causal importance".into(),
                    view! {
                        {axes(x, 6, y, x_label, y_label)}
                        <g class="points">{points}</g>
                    },
                )}
                {data_table(caption, &["component", "x", "y", "Δ", "class"], rows)}
            }
        })
    };
    view! {
        <Figure
            id="scatter"
            title="Gradient vs. causal importance"
            caption="Each dot is a component. Green triangle: Hidden Hero (Δ ≤ −t), red square: Gradient Bloat (Δ ≥ t), grey circle: aligned."
        >
            <div class="figure-controls">
                <label>
                    <input
                        type="checkbox"
                        prop:checked=move || by_rank.get()
                        on:change=move |ev| by_rank.set(event_target_checked(&ev))
                    />
                    " by rank"
                </label>
                <span class="rho">{rho}</span>
            </div>
            {chart}
            <ClassLegend />
        </Figure>
    }
}
