//! Figure 6 over a sweep: the rank of G against the rank of C for every component of every
//! analysed seed of one task, coloured and shaped by class, with the mean ρ and its interval.

use leptos::prelude::*;

use crate::analysis::ablation::Ablation;
use crate::analysis::analyze::Class;
use crate::analysis::stats::interval_text;
use crate::report::plot::{Scale, class_colour};
use crate::report::summary::Summary;

use super::{Figure, LEFT, TOP, axes, class_mark, data_table, plot_ranges, svg_frame};

/// One point: a component of a seed.
struct Point {
    seed: u64,
    component: String,
    grad_rank: f64,
    causal_rank: f64,
    class: Class,
}

/// Every component of every analysed seed of `summary`, under `ablation` at threshold `t`.
fn points(summary: &Summary, ablation: Ablation, t: usize) -> Vec<Point> {
    let names = &summary.table3.components;
    summary
        .table3
        .rows
        .iter()
        .filter_map(|row| Some((row, row.causal_ranks.get(&ablation)?)))
        .flat_map(|(row, causal)| {
            names
                .iter()
                .zip(&row.grad_ranks)
                .zip(causal)
                .map(|((name, &g), &c)| Point {
                    seed: row.seed,
                    component: name.to_string(),
                    grad_rank: g,
                    causal_rank: c,
                    class: Class::by(g - c, t, summary.class_rule),
                })
        })
        .collect()
}

/// A small deterministic offset (under a third of a rank) so that seeds' points on the same pair
/// of ranks stay visible.
fn jitter(seed: u64, component: &str, axis: u64) -> f64 {
    let h = component
        .bytes()
        .fold(seed.wrapping_mul(31).wrapping_add(axis), |h, b| {
            h.wrapping_mul(131).wrapping_add(u64::from(b))
        });
    (h % 1000) as f64 / 1000.0 * 0.6 - 0.3
}

/// The mark of one point, shaped by class, with a tooltip naming the seed and the component.
fn mark(p: &Point, x: f64, y: f64, open: Callback<u64>) -> impl IntoView + use<> {
    let tip = format!(
        "seed {}, {}: rank of G {}, rank of C {}, Δ = {}, {:?}",
        p.seed,
        p.component,
        p.grad_rank,
        p.causal_rank,
        p.grad_rank - p.causal_rank,
        p.class
    );
    let seed = p.seed;
    view! {
        <g
            class="point"
            on:click=move |_| open.run(seed)
            fill=class_colour(p.class)
            fill-opacity="0.7"
            data-seed=p.seed
            data-component=p.component.clone()
            data-class=format!("{:?}", p.class)
        >
            {class_mark(p.class, x, y, 9.0)}
            <title>{tip}</title>
        </g>
    }
}

/// Figure 6 over the seeds of `summary` (one task, one G reading), under `ablation` at threshold
/// `t`; `id` keeps the element unique. Clicking a mark, or choosing its seed below the chart,
/// calls `open` with the seed.
#[component]
pub fn SweepScatter(
    summary: Summary,
    ablation: Ablation,
    t: usize,
    id: &'static str,
    open: Callback<u64>,
) -> impl IntoView {
    let points = points(&summary, ablation, t);
    let components = summary.table3.components.len().max(1) as f64;
    let (x_range, y_range) = plot_ranges();
    let x = Scale::fit([0.5, components + 0.5], x_range);
    let y = Scale::fit([0.5, components + 0.5], y_range);
    let count = |class: Class| points.iter().filter(|p| p.class == class).count();
    let rho = summary.table1.of(ablation);
    let rho_text = match rho.mean {
        Some(m) => format!(
            "ρ = {m:.2}{} over {} seeds",
            interval_text(rho.interval, 1.0, 2),
            rho.n
        ),
        None => "ρ undefined".to_string(),
    };
    let label = format!(
        "Rank of G against rank of C, {} ({ablation} ablation, t = {t}): {} points from {} seeds; {} Hidden Heroes, {} Gradient Bloats, {} aligned; {rho_text}.",
        summary.task,
        points.len(),
        summary.table3.rows.len(),
        count(Class::Hero),
        count(Class::Bloat),
        count(Class::Aligned),
    );
    let marks = points
        .iter()
        .map(|p| {
            let (sx, sy) = (
                jitter(p.seed, &p.component, 0),
                jitter(p.seed, &p.component, 1),
            );
            mark(p, x.map(p.grad_rank + sx), y.map(p.causal_rank + sy), open)
        })
        .collect_view();
    let rows = points
        .iter()
        .map(|p| {
            vec![
                p.seed.to_string(),
                p.component.clone(),
                p.grad_rank.to_string(),
                p.causal_rank.to_string(),
                (p.grad_rank - p.causal_rank).to_string(),
                format!("{:?}", p.class),
            ]
        })
        .collect();
    let table = data_table(
        format!(
            "{}: every component of every seed, {ablation} ablation, t = {t}",
            summary.task
        ),
        &["seed", "component", "rank of G", "rank of C", "Δ", "class"],
        rows,
    );
    let seeds: Vec<u64> = summary.table3.rows.iter().map(|r| r.seed).collect();
    let chosen = RwSignal::new(seeds.first().copied());
    let options = seeds
        .iter()
        .map(|&s| view! { <option value=s.to_string()>{format!("seed {s}")}</option> })
        .collect_view();
    // The diagonal: where G's rank equals C's.
    let (low, high) = (0.5, components + 0.5);
    view! {
        <Figure
            id=id
            title="Every seed: rank of G against rank of C (Figure 6)"
            caption="Each mark is one component of one seed (jittered by under a third of a rank so overlapping seeds show). Green triangle: Hidden Hero (Δ ≤ −t); red square: Gradient Bloat (Δ ≥ t); grey circle: aligned. The dashed line is G's rank equal to C's. Click a mark to open its seed."
        >
            <p class="rho">{format!("{}: {rho_text}", summary.task)}</p>
            {svg_frame(
                label,
                view! {
                    {axes(
                        x,
                        5,
                        y,
                        "rank of G (1 = smallest)".to_string(),
                        format!("rank of C ({ablation})"),
                    )}
                    <line
                        x1=x.map(low)
                        y1=y.map(low)
                        x2=x.map(high)
                        y2=y.map(high)
                        stroke="#888"
                        stroke-dasharray="4 3"
                    />
                    <g class="points">{marks}</g>
                    <text x=LEFT + 4.0 y=TOP + 12.0 font-size="11">{rho_text.clone()}</text>
                },
            )}
            <div class="figure-controls">
                <label>
                    "One seed's full view: "
                    <select on:change=move |ev| chosen.set(event_target_value(&ev).parse().ok())>
                        {options}
                    </select>
                </label>
                <button
                    class="small"
                    disabled=move || chosen.get().is_none()
                    on:click=move |_| {
                        if let Some(seed) = chosen.get_untracked() {
                            open.run(seed)
                        }
                    }
                >
                    "Open"
                </button>
            </div>
            {table}
        </Figure>
    }
}
