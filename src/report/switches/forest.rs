//! The decomposition's ρ as a forest plot: per task, one row per column, the mean ρ as a dot
//! with its 95% interval (its seed count beside it where under [`WELL_MEASURED`]), the values
//! under `published` and METHOD's default marked by dashed lines across the panel, the paper's
//! own ρ (its Table 1, labelled) by a dotted one. One SVG text, drawn by the page and written to
//! `docs/` alike.

use std::fmt::Write;

use crate::engine::task::Task;
use crate::experiment::protocol::Protocol;
use crate::report::plot::{Scale, format_number};
use crate::report::switches::decomposition::{Column, Decomposition, WELL_MEASURED};

/// Width of the labels left of each panel, px.
const LABEL: f64 = 360.0;
/// Width of one task's plotting area, px.
const PANEL: f64 = 250.0;
/// Gap between the panels, px.
const GAP: f64 = 40.0;
/// Height of one row, px.
const ROW: f64 = 20.0;
/// Space for the panel titles above the rows, px.
const TOP: f64 = 34.0;
/// Space for the axis below the rows, px.
const BOTTOM: f64 = 34.0;
/// `published`'s colour, and METHOD's default's.
const COLOURS: [(Protocol, &str); 2] = [
    (Protocol::Published, "#c2410c"),
    (Protocol::Default, "#1d4ed8"),
];

/// The colour of a column's protocol.
fn colour(from: Protocol) -> &'static str {
    COLOURS
        .iter()
        .find(|(p, _)| *p == from)
        .map_or("#444", |(_, c)| c)
}

/// The forest plot of `d` as a standalone SVG document.
pub fn forest_svg(d: &Decomposition) -> String {
    let rows = d.columns.len() as f64;
    let width = LABEL + 2.0 * PANEL + GAP + 20.0;
    let height = TOP + rows * ROW + BOTTOM;
    let values = d.columns.iter().flat_map(|c| {
        c.rho
            .values()
            .flat_map(|m| m.interval.into_iter().flatten().chain(m.mean))
    });
    let values = values.chain(d.paper_rho.values().copied());
    let domain = Scale::fit(values.chain([0.0, 1.0]), (0.0, PANEL)).domain;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"forest\" viewBox=\"0 0 {width} \
         {height}\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" \
         font-size=\"12\" role=\"img\" aria-label=\"ρ under each protocol and each single \
         switch, per task\">\n"
    );
    for (i, c) in d.columns.iter().enumerate() {
        let y = TOP + (i as f64 + 0.5) * ROW;
        let weight = if c.is_base() { "bold" } else { "normal" };
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"{}\" font-weight=\"{weight}\">{}</text>",
            LABEL - 8.0,
            y + 4.0,
            colour(c.from),
            escape(&c.label())
        );
    }
    for (p, task) in Task::ALL.into_iter().enumerate() {
        let left = LABEL + p as f64 * (PANEL + GAP);
        let x = Scale {
            domain,
            range: (left, left + PANEL),
        };
        panel(&mut svg, d, task, &x);
    }
    svg + "</svg>\n"
}

/// One task's panel: title, axis, the bases' lines, one dot and interval per column.
fn panel(svg: &mut String, d: &Decomposition, task: Task, x: &Scale) {
    let (left, right) = x.range;
    let bottom = TOP + d.columns.len() as f64 * ROW;
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"16\" text-anchor=\"middle\" font-weight=\"bold\">{task}: ρ (G vs C)</text>",
        (left + right) / 2.0
    );
    let _ = writeln!(
        svg,
        "<line x1=\"{left}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" stroke=\"#888\"/>"
    );
    for tick in x.ticks(5) {
        let tx = x.map(tick);
        let _ = writeln!(
            svg,
            "<line x1=\"{tx}\" y1=\"{TOP}\" x2=\"{tx}\" y2=\"{bottom}\" stroke=\"#eee\"/>\n<text \
             x=\"{tx}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
            bottom + 16.0,
            format_number(tick, 2)
        );
    }
    if let Some(&paper) = d.paper_rho.get(&task) {
        let px = x.map(paper);
        let _ = writeln!(
            svg,
            "<line class=\"paper\" x1=\"{px}\" y1=\"{TOP}\" x2=\"{px}\" y2=\"{bottom}\" \
             stroke=\"#111\" stroke-dasharray=\"1 3\" stroke-width=\"2\"/>\n<text x=\"{px}\" \
             y=\"{}\" text-anchor=\"middle\" font-size=\"10\">paper {}</text>",
            TOP - 4.0,
            format_number(paper, 2)
        );
    }
    for c in d.columns.iter().filter(|c| c.is_base()) {
        if let Some(mean) = c.rho.get(&task).and_then(|m| m.mean) {
            let bx = x.map(mean);
            let _ = writeln!(
                svg,
                "<line class=\"base\" x1=\"{bx}\" y1=\"{TOP}\" x2=\"{bx}\" y2=\"{bottom}\" \
                 stroke=\"{}\" stroke-dasharray=\"4 3\"/>",
                colour(c.from)
            );
        }
    }
    for (i, c) in d.columns.iter().enumerate() {
        let y = TOP + (i as f64 + 0.5) * ROW;
        row(svg, c, task, x, y);
    }
}

/// One column's dot and interval in a panel, or "not measured".
fn row(svg: &mut String, c: &Column, task: Task, x: &Scale, y: f64) {
    let colour = colour(c.from);
    let Some(m) = c.rho.get(&task).filter(|m| m.mean.is_some()) else {
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" fill=\"#888\" font-style=\"italic\">not measured</text>",
            x.range.0 + 6.0,
            y + 4.0
        );
        return;
    };
    if let Some([low, high]) = m.interval {
        let _ = writeln!(
            svg,
            "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"2\"/>",
            x.map(low),
            x.map(high)
        );
    }
    let mean = m.mean.unwrap_or_default();
    if m.n < WELL_MEASURED {
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" fill=\"#555\" font-size=\"10\">n = {}</text>",
            x.map(m.interval.map_or(mean, |i| i[1])) + 8.0,
            y + 4.0,
            m.n
        );
    }
    let fill = if c.is_base() { colour } else { "white" };
    let _ = writeln!(
        svg,
        "<circle class=\"rho\" data-column=\"{}\" data-task=\"{task}\" data-rho=\"{mean:.4}\" \
         cx=\"{}\" cy=\"{y}\" r=\"4.5\" fill=\"{fill}\" stroke=\"{colour}\" stroke-width=\"2\"><title>{}: ρ \
         {mean:.2} (n = {})</title></circle>",
        escape(&c.label()),
        x.map(mean),
        escape(&c.label()),
        m.n
    );
}

/// `text` safe inside SVG text and attributes.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
