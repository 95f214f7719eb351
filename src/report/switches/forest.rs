//! The decomposition's effects as a forest plot (METHOD §9.2): one panel per claim, one row per
//! switch, the switch's effect on the claim's statistic, S(switched) − S(its protocol), as a dot
//! with its 95% interval and a line at 0. A dot is filled where the switch turns the claim (its
//! verdict differs and the interval excludes 0), hollow where it does not; a row without a dot
//! is not measured (the table says why). Each panel has its own scale, as each claim's S has
//! its own unit. One SVG text, drawn by the page and written to `docs/` alike.

use std::fmt::Write;

use crate::experiment::protocol::Protocol;
use crate::report::plot::{Scale, format_number};
use crate::report::switches::decomposition::{ClaimName, Column, Decomposition, Verdict};

/// Width of the switches' labels left of each row of panels, px.
const LABEL: f64 = 340.0;
/// Width of one claim's plotting area, px.
const PANEL: f64 = 190.0;
/// Gap between two panels side by side, px.
const GAP: f64 = 26.0;
/// Panels side by side.
const ACROSS: usize = 4;
/// Height of one row, px.
const ROW: f64 = 18.0;
/// Space for a panel's title above its rows, px.
const TOP: f64 = 40.0;
/// Space for a panel's axis below its rows, px.
const BOTTOM: f64 = 30.0;
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

/// The forest plot of `d`'s effects as a standalone SVG document.
pub fn forest_svg(d: &Decomposition) -> String {
    let switches: Vec<&Column> = d.columns.iter().filter(|c| !c.is_base()).collect();
    let band = TOP + switches.len() as f64 * ROW + BOTTOM;
    let bands = d.claims.len().div_ceil(ACROSS);
    let width = LABEL + ACROSS as f64 * (PANEL + GAP);
    let height = bands as f64 * band;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"forest\" viewBox=\"0 0 {width} \
         {height}\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" \
         font-size=\"12\" role=\"img\" aria-label=\"Each switch's effect on each claim's \
         statistic, with its 95% interval\">\n"
    );
    for b in 0..bands {
        let top = b as f64 * band + TOP;
        for (i, c) in switches.iter().enumerate() {
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"{}\">{}</text>",
                LABEL - 8.0,
                top + (i as f64 + 0.5) * ROW + 4.0,
                colour(c.from),
                escape(&c.label())
            );
        }
    }
    for (k, claim) in d.claims.iter().enumerate() {
        let left = LABEL + (k % ACROSS) as f64 * (PANEL + GAP);
        let top = (k / ACROSS) as f64 * band + TOP;
        panel(&mut svg, d, k, claim, (left, top), &switches);
    }
    svg + "</svg>\n"
}

/// Claim `k`'s panel, its top left corner at `corner`: title, axis, the line at 0, one row
/// per switch.
fn panel(
    svg: &mut String,
    d: &Decomposition,
    k: usize,
    claim: &ClaimName,
    corner: (f64, f64),
    switches: &[&Column],
) {
    let (left, top) = corner;
    let bottom = top + switches.len() as f64 * ROW;
    let effects = switches
        .iter()
        .filter_map(|c| c.verdicts[k].effect.as_ref())
        .flat_map(|e| e.interval.into_iter().flatten().chain(e.value));
    let x = Scale::fit(effects.chain([0.0]), (left, left + PANEL));
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\">{}<title>{}</title></text>",
        left + PANEL / 2.0,
        top - 22.0,
        escape(&claim.key),
        escape(&format!("{}: effect on {}", claim.title, claim.statistic))
    );
    let _ = writeln!(
        svg,
        "<line x1=\"{left}\" y1=\"{bottom}\" x2=\"{}\" y2=\"{bottom}\" stroke=\"#888\"/>",
        left + PANEL
    );
    for tick in x.ticks(4) {
        let tx = x.map(tick);
        let _ = writeln!(
            svg,
            "<line x1=\"{tx}\" y1=\"{top}\" x2=\"{tx}\" y2=\"{bottom}\" stroke=\"#eee\"/>\n<text \
             x=\"{tx}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\" font-size=\"10\">{}</text>",
            bottom + 14.0,
            format_number(tick, 2)
        );
    }
    let zero = x.map(0.0);
    let _ = writeln!(
        svg,
        "<line class=\"zero\" x1=\"{zero}\" y1=\"{}\" x2=\"{zero}\" y2=\"{bottom}\" stroke=\"#111\" \
         stroke-dasharray=\"3 3\"/>",
        top - 6.0
    );
    for (i, c) in switches.iter().enumerate() {
        let y = top + (i as f64 + 0.5) * ROW;
        let base = d.base(c.from).map(|b| &b.verdicts[k]);
        row(svg, &claim.key, c, (&c.verdicts[k], base), &x, y);
    }
}

/// Switch `c`'s effect on claim `key` in its panel, from its verdict and its protocol's:
/// nothing where it is not measured.
fn row(
    svg: &mut String,
    key: &str,
    c: &Column,
    (verdict, base): (&Verdict, Option<&Verdict>),
    x: &Scale,
    y: f64,
) {
    let Some(effect) = verdict.effect.as_ref() else {
        return;
    };
    let Some(value) = effect.value else {
        return;
    };
    let colour = colour(c.from);
    if let Some([low, high]) = effect.interval {
        let _ = writeln!(
            svg,
            "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"2\"/>",
            x.map(low),
            x.map(high)
        );
    }
    let turns = base.is_some_and(|b| verdict.turns(b));
    let fill = if turns { colour } else { "white" };
    let label = escape(&c.label());
    let _ = writeln!(
        svg,
        "<circle class=\"effect\" data-claim=\"{}\" data-column=\"{label}\" data-effect=\"{value:.4}\" \
         data-turns=\"{turns}\" cx=\"{}\" cy=\"{y}\" r=\"4\" fill=\"{fill}\" stroke=\"{colour}\" \
         stroke-width=\"2\"><title>{label} on {}: {}{}</title></circle>",
        escape(key),
        x.map(value),
        escape(key),
        escape(&effect.text(2)),
        if turns { " (turns it)" } else { "" }
    );
}

/// `text` safe inside SVG text and attributes.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
