//! The classroom walkthrough: a plain-language explanation beside each stage, and a bar that
//! steps through the stages.

use leptos::prelude::*;

use super::browser;
use super::state::Lab;

/// The stages, each with its section id, title and explanation.
const STAGES: [(&str, &str, &str); 7] = [
    (
        "stage-train",
        "Train",
        "A small transformer (4 layers × 4 attention heads + 4 MLPs = 20 components) learns to reverse or sort a list of numbers of length 3–7. Training stops once it gets 90% of fresh lists exactly right.",
    ),
    (
        "stage-ood",
        "Test on longer lists",
        "We then test it on longer lists (8–11) it never saw. We study the length where it is right some of the time (20–75%): there, components matter visibly, because the model is on the edge of failing.",
    ),
    (
        "stage-scatter",
        "Gradient vs. causal effect",
        "Gradient attribution says a component matters if the loss is sensitive to its weights. Ablation asks directly: replace its output (by its average output, or by zero) and see how much accuracy drops. If gradients told the truth, the dots would lie on a rising line (Spearman ρ near 1). The paper leaves some details open (which weights, which average); the menus show every reading, and the verdicts say which findings survive all of them.",
    ),
    (
        "stage-delta",
        "Heroes and Bloats",
        "Rank all 20 components by gradient and by causal effect. Δ is the difference of the two ranks. A Hidden Hero (green) matters much more than its gradient says; a Gradient Bloat (red) has a big gradient but little effect.",
    ),
    (
        "stage-layers",
        "Where they live",
        "Counting Heroes and Bloats per layer shows whether gradients mislead more in early or late layers, and the gradient norm per layer shows how gradient size itself varies with depth.",
    ),
    (
        "stage-attention",
        "What heads do",
        "Each head's attention pattern shows where a position looks. Click a Hero or a Bloat head to see whether it follows the structure of the task (for reversal, a diagonal running backwards).",
    ),
    (
        "stage-seeds",
        "Across seeds",
        "One model can be a fluke. Run several seeds: the tables average ρ, pruning damage and superadditivity (does removing two Bloats together hurt more than the sum of each alone?), each with a 95% interval in brackets: the range the average would likely fall in with other seeds.",
    ),
];

/// The explanation of stage `stage`, shown in walkthrough mode only.
#[component]
pub fn Explain(
    /// Index into the stages.
    stage: usize,
) -> impl IntoView {
    let lab = Lab::get();
    let (_, title, text) = STAGES[stage];
    view! {
        <Show when=move || lab.guided.get()>
            <aside class="explain">
                <strong>{format!("Step {} of {}: {title}. ", stage + 1, STAGES.len())}</strong>
                {text}
            </aside>
        </Show>
    }
}

/// Previous / next buttons that scroll from stage to stage, in walkthrough mode.
#[component]
pub fn GuideBar() -> impl IntoView {
    let lab = Lab::get();
    let current = RwSignal::new(0usize);
    let go = move |step: usize| {
        current.set(step);
        browser::scroll_to(STAGES[step].0);
    };
    view! {
        <Show when=move || lab.guided.get()>
            <nav class="guide-bar">
                <button
                    disabled=move || current.get() == 0
                    on:click=move |_| go(current.get().saturating_sub(1))
                >
                    "← Previous"
                </button>
                <span>
                    {move || {
                        let (_, title, _) = STAGES[current.get()];
                        format!("Stage {} of {}: {title}", current.get() + 1, STAGES.len())
                    }}
                </span>
                <button
                    disabled=move || current.get() + 1 == STAGES.len()
                    on:click=move |_| go((current.get() + 1).min(STAGES.len() - 1))
                >
                    "Next →"
                </button>
            </nav>
        </Show>
    }
}
