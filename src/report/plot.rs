//! The geometry and colours of the page's figures, kept apart from the page so that they can be
//! tested natively and in the browser: scales, ticks, bar bands, class colours, heat-map colours.

use crate::analysis::analyze::Class;

/// Maps a data interval linearly onto a pixel interval (the pixel interval may run backwards,
/// as a y axis does).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    /// Data interval `(low, high)`.
    pub domain: (f64, f64),
    /// Pixel interval the domain's ends map to.
    pub range: (f64, f64),
}

impl Scale {
    /// A scale whose domain is the nice interval around `values` (see [`nice_domain`]).
    pub fn fit(values: impl IntoIterator<Item = f64>, range: (f64, f64)) -> Self {
        Self {
            domain: nice_domain(values),
            range,
        }
    }

    /// The pixel position of `value`; the middle of the range when the domain is empty.
    pub fn map(&self, value: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        if d1 == d0 {
            return (r0 + r1) / 2.0;
        }
        r0 + (value - d0) / (d1 - d0) * (r1 - r0)
    }

    /// Round-numbered ticks inside the domain, about `count` of them (none for 0).
    pub fn ticks(&self, count: usize) -> Vec<f64> {
        if count == 0 {
            return Vec::new();
        }
        let (low, high) = self.domain;
        let step = tick_step(high - low, count);
        if step <= 0.0 || !step.is_finite() {
            return vec![low];
        }
        let first = (low / step).ceil() as i64;
        let last = (high / step + 1e-9).floor() as i64;
        (first..=last).map(|i| clean(i as f64 * step)).collect()
    }
}

/// A round tick spacing (1, 2 or 5 times a power of ten) giving about `count` ticks over `span`.
fn tick_step(span: f64, count: usize) -> f64 {
    if span <= 0.0 || count == 0 {
        return 0.0;
    }
    let raw = span / count as f64;
    let power = 10f64.powf(raw.log10().floor());
    let fraction = raw / power;
    let nice = if fraction < 1.5 {
        1.0
    } else if fraction < 3.5 {
        2.0
    } else if fraction < 7.5 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// Removes float noise from a tick value (0.30000000000000004 → 0.3).
fn clean(value: f64) -> f64 {
    (value * 1e9).round() / 1e9
}

/// The smallest interval with round ends (multiples of a tick step) that holds every finite
/// value and zero's side of them as given; `(0, 1)` when there is no finite value, and a unit
/// interval around a lone value.
pub fn nice_domain(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let finite: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
    let Some(low) = finite.iter().copied().reduce(f64::min) else {
        return (0.0, 1.0);
    };
    let high = finite.iter().copied().reduce(f64::max).expect("non-empty");
    if low == high {
        return (low - 0.5, high + 0.5);
    }
    let step = tick_step(high - low, 5);
    (
        clean((low / step).floor() * step),
        clean((high / step).ceil() * step),
    )
}

/// The slot of bar `index` of `count` bars across `width` pixels: `(left, bar width)`, with a
/// fifth of each slot left as a gap.
pub fn band(index: usize, count: usize, width: f64) -> (f64, f64) {
    let slot = width / count.max(1) as f64;
    (index as f64 * slot + slot * 0.1, slot * 0.8)
}

/// The colour a class is drawn in: Heroes green, Bloats red, Aligned grey (the paper's colours).
pub fn class_colour(class: Class) -> &'static str {
    match class {
        Class::Hero => "#1a9850",
        Class::Bloat => "#d73027",
        Class::Aligned => "#9e9e9e",
    }
}

/// The heat-map colour of an attention weight in [0, 1]: white at 0, deep blue at 1 (values
/// outside are clamped), as `rgb(r,g,b)`.
pub fn heat_colour(weight: f64) -> String {
    let w = if weight.is_finite() {
        weight.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let channel = |to: f64| (255.0 + (to - 255.0) * w).round() as u8;
    format!("rgb({},{},{})", channel(8.0), channel(48.0), channel(107.0))
}

/// A number for an axis or a tooltip: up to `digits` significant digits, no trailing zeros.
pub fn format_number(value: f64, digits: usize) -> String {
    if !value.is_finite() {
        return "—".to_string();
    }
    if value == 0.0 {
        return "0".to_string();
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (digits as i32 - 1 - magnitude).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_map_ends_and_may_run_backwards() {
        let y = Scale {
            domain: (0.0, 1.0),
            range: (200.0, 0.0),
        };
        assert_eq!(y.map(0.0), 200.0);
        assert_eq!(y.map(1.0), 0.0);
        assert_eq!(y.map(0.25), 150.0);
        let empty = Scale {
            domain: (3.0, 3.0),
            range: (0.0, 10.0),
        };
        assert_eq!(empty.map(3.0), 5.0);
    }

    #[test]
    fn domains_and_ticks_are_round() {
        assert_eq!(nice_domain([0.013, 0.072]), (0.01, 0.08));
        // Span 0.33 over 5 ticks: step 0.05.
        assert_eq!(nice_domain([-0.02, 0.31]), (-0.05, 0.35));
        assert_eq!(nice_domain([f64::NAN]), (0.0, 1.0));
        assert_eq!(nice_domain([2.0, 2.0]), (1.5, 2.5));
        let scale = Scale {
            domain: (0.0, 1.0),
            range: (0.0, 100.0),
        };
        assert_eq!(scale.ticks(5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        let ranks = Scale {
            domain: (1.0, 20.0),
            range: (0.0, 100.0),
        };
        assert_eq!(ranks.ticks(4), vec![5.0, 10.0, 15.0, 20.0]);
        assert!(ranks.ticks(0).is_empty());
    }

    #[test]
    fn bands_tile_the_width() {
        assert_eq!(band(0, 4, 100.0), (2.5, 20.0));
        assert_eq!(band(3, 4, 100.0), (77.5, 20.0));
    }

    #[test]
    fn classes_have_distinct_colours() {
        let colours = [Class::Hero, Class::Bloat, Class::Aligned].map(class_colour);
        assert_eq!(colours, ["#1a9850", "#d73027", "#9e9e9e"]);
    }

    #[test]
    fn heat_colours_run_from_white_to_blue_and_clamp() {
        assert_eq!(heat_colour(0.0), "rgb(255,255,255)");
        assert_eq!(heat_colour(1.0), "rgb(8,48,107)");
        assert_eq!(heat_colour(2.0), heat_colour(1.0));
        assert_eq!(heat_colour(f64::NAN), heat_colour(0.0));
    }

    #[test]
    fn numbers_keep_significant_digits() {
        assert_eq!(format_number(0.071564, 3), "0.0716");
        assert_eq!(format_number(12.7, 2), "13");
        assert_eq!(format_number(-0.5, 3), "-0.5");
        assert_eq!(format_number(0.0, 3), "0");
        assert_eq!(format_number(f64::NAN, 3), "—");
    }
}
