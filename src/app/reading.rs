//! The reading every figure, table and comparison shows: G's weights (METHOD §5) and the
//! ablation read as the paper's "mean ablation" (§6). Every report holds all of them, so
//! switching recomputes nothing; the link keeps the choice.

use leptos::prelude::*;

use crate::analysis::ablation::Ablation;
use crate::analysis::attribution::GWeights;

use super::state::Lab;

/// Two menus: the gradient's weights and the baseline.
#[component]
pub fn ReadingSelector() -> impl IntoView {
    let lab = Lab::get();
    let g_options = GWeights::ALL
        .map(|g| view! { <option value=g.name()>{format!("G on {g}")}</option> })
        .into_iter()
        .collect_view();
    let c_options = Ablation::ALL
        .map(|a| view! { <option value=a.name()>{format!("{a} ablation")}</option> })
        .into_iter()
        .collect_view();
    view! {
        <label>
            "Gradient "
            <select
                name="g-weights"
                prop:value=move || lab.g_weights.get().name()
                on:change=move |ev| {
                    if let Ok(g) = event_target_value(&ev).parse() {
                        lab.set_reading(g, lab.ablation.get_untracked())
                    }
                }
            >
                {g_options}
            </select>
        </label>
        <label>
            "Baseline "
            <select
                name="ablation"
                prop:value=move || lab.ablation.get().name()
                on:change=move |ev| {
                    if let Ok(a) = event_target_value(&ev).parse() {
                        lab.set_reading(lab.g_weights.get_untracked(), a)
                    }
                }
            >
                {c_options}
            </select>
        </label>
    }
}
