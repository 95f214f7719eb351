//! One table value — a name, a title, column headings and typed cells — rendered as plain text
//! (the command line) and Markdown (REPRODUCTION.md) here and as HTML by the page, with every number format those renderers use
//! in one place ([`Format`]). A table is built once, from a summary, and every renderer shows the
//! same cells.

use crate::analysis::stats::{Estimate, MeanStd};

/// How a number is shown to a reader: its scale, digits and unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A rank correlation: `0.42`.
    Rho,
    /// A fraction as a percentage: `61.3%`.
    Percent,
    /// A change of accuracy in percentage points: `-12.5`.
    Points,
    /// A ratio: `2.10×`.
    Ratio,
    /// A gradient norm: `0.1234`.
    Norm,
}

impl Format {
    /// What the value is multiplied by before it is shown.
    fn scale(self) -> f64 {
        match self {
            Format::Percent | Format::Points => 100.0,
            Format::Rho | Format::Ratio | Format::Norm => 1.0,
        }
    }

    /// Digits after the point.
    fn digits(self) -> usize {
        match self {
            Format::Rho | Format::Ratio => 2,
            Format::Percent | Format::Points => 1,
            Format::Norm => 4,
        }
    }

    /// What follows the number.
    fn unit(self) -> &'static str {
        match self {
            Format::Percent => "%",
            Format::Ratio => "×",
            Format::Rho | Format::Points | Format::Norm => "",
        }
    }

    /// `x` as a reader sees it, `—` where undefined. `+ 0.0` turns -0.0 into 0.0, so no
    /// "-0.0%" appears.
    pub fn number(self, x: Option<f64>) -> String {
        x.map_or("—".into(), |x| {
            let digits = self.digits();
            format!("{:.digits$}{}", x * self.scale() + 0.0, self.unit())
        })
    }

    /// `0.72 ± 0.08 [0.67, 0.77] (n=9)`: a mean across seeds with its spread and interval.
    pub fn spread(self, m: &MeanStd) -> String {
        m.display(self.scale(), self.digits())
    }
}

/// One cell of a table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Words (a name, a seed's label).
    Text(String),
    /// A whole number (a seed, a length, a count).
    Count(u64),
    /// A number, `None` where undefined.
    Number(Option<f64>, Format),
    /// A mean across seeds with its spread and interval.
    Spread(MeanStd, Format),
    /// A ratio across seeds with its interval.
    Estimate(Estimate),
}

impl Cell {
    /// The cell as a reader sees it.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(text) => text.clone(),
            Cell::Count(n) => n.to_string(),
            Cell::Number(x, format) => format.number(*x),
            Cell::Spread(m, format) => format.spread(m),
            Cell::Estimate(e) => e.display_times(),
        }
    }

    /// Whether the cell holds a number (right-aligned in text).
    pub fn is_numeric(&self) -> bool {
        !matches!(self, Cell::Text(_))
    }
}

/// A table as every renderer shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// A stable name, for element ids and tests: `table1`, `table3`, ….
    pub name: &'static str,
    /// The caption.
    pub title: String,
    /// The column headings.
    pub columns: Vec<String>,
    /// The rows, each with one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// The title, then the columns padded to their widest cell, numbers to the right; indented
    /// by two spaces under the title.
    pub fn text(&self) -> String {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|row| row.iter().map(Cell::text).collect())
            .collect();
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|c| {
                cells
                    .iter()
                    .map(|row| row[c].chars().count())
                    .chain([self.columns[c].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let right = |c: usize| self.rows.iter().any(|row| row[c].is_numeric());
        let line = |fields: &[String]| {
            let padded: Vec<String> = fields
                .iter()
                .enumerate()
                .map(|(c, field)| {
                    let pad = " ".repeat(widths[c] - field.chars().count());
                    if right(c) {
                        format!("{pad}{field}")
                    } else {
                        format!("{field}{pad}")
                    }
                })
                .collect();
            format!("  {}\n", padded.join("  ").trim_end())
        };
        let mut out = format!("{}\n", self.title);
        out += &line(&self.columns);
        for row in &cells {
            out += &line(row);
        }
        out
    }
}

impl Table {
    /// The title in italics, then a Markdown table (`|` in a cell escaped).
    pub fn markdown(&self) -> String {
        let line = |fields: Vec<String>| {
            let fields: Vec<String> = fields.iter().map(|f| f.replace('|', "\\|")).collect();
            format!("| {} |\n", fields.join(" | "))
        };
        let mut out = format!("*{}*\n\n", self.title);
        out += &line(self.columns.clone());
        out += &format!("|{}\n", "---|".repeat(self.columns.len()));
        for row in &self.rows {
            out += &line(row.iter().map(Cell::text).collect());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            name: "example",
            title: "An example".into(),
            columns: vec!["seed".into(), "ρ".into(), "base".into(), "note".into()],
            rows: vec![
                vec![
                    Cell::Count(7),
                    Cell::Number(Some(0.4251), Format::Rho),
                    Cell::Number(Some(0.613), Format::Percent),
                    Cell::Text("a | b".into()),
                ],
                vec![
                    Cell::Count(123),
                    Cell::Number(None, Format::Rho),
                    Cell::Number(Some(-0.0), Format::Percent),
                    Cell::Text("c".into()),
                ],
            ],
        }
    }

    #[test]
    fn formats_scale_round_and_mark_what_is_undefined() {
        assert_eq!(Format::Rho.number(Some(0.4251)), "0.43");
        assert_eq!(Format::Percent.number(Some(0.6125)), "61.3%");
        assert_eq!(Format::Points.number(Some(-0.125)), "-12.5");
        assert_eq!(Format::Ratio.number(Some(2.1)), "2.10×");
        assert_eq!(Format::Norm.number(Some(0.123456)), "0.1235");
        assert_eq!(Format::Percent.number(Some(-0.0)), "0.0%");
        assert_eq!(Format::Rho.number(None), "—");
        let m = MeanStd::of([Some(0.5), Some(0.7)]);
        assert_eq!(Format::Points.spread(&m), m.display(100.0, 1));
    }

    #[test]
    fn markdown_escapes_bars_and_marks_what_is_undefined() {
        assert_eq!(
            table().markdown(),
            "*An example*\n\n| seed | ρ | base | note |\n|---|---|---|---|\n\
             | 7 | 0.43 | 61.3% | a \\| b |\n| 123 | — | 0.0% | c |\n"
        );
    }

    #[test]
    fn text_aligns_numbers_right_and_words_left() {
        assert_eq!(
            table().text(),
            "An example\n  seed     ρ   base  note\n     7  0.43  61.3%  a | b\n   123     —   0.0%  c\n"
        );
    }
}
