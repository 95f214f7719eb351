//! A summary's tables: built once as [`Table`]s for the command line's text and the page's
//! HTML, and the CSV files (every seed, every ablation, unrounded) a sweep writes.

use std::fmt::Write as _;

use super::Summary;
use crate::analysis::ablation::Ablation;
use crate::report::table::{Cell, Format, Table};

/// One CSV line; fields with commas, quotes or newlines are quoted.
fn csv_line(fields: &[String]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect();
    quoted.join(",") + "\n"
}

fn number(x: Option<f64>) -> String {
    x.map_or(String::new(), |x| format!("{x}"))
}

impl Summary {
    /// The tables as CSV files: `(file name, contents)`, named by task and G reading.
    pub fn csv_files(&self) -> Vec<(String, String)> {
        let prefix = format!("{}-g-{}", self.task.name(), self.g_weights);
        let mut files = Vec::new();

        let mut table1 =
            csv_line(&["baseline", "mean", "std", "ci_low", "ci_high", "n"].map(String::from));
        for (baseline, m) in self.table1.rows() {
            let [low, high] = interval_fields(m.interval);
            table1 += &csv_line(&[
                baseline,
                number(m.mean),
                number(m.std),
                low,
                high,
                m.n.to_string(),
            ]);
        }
        files.push((format!("{prefix}-table1-spearman.csv"), table1));

        let mut header: Vec<String> = vec![
            "seed".into(),
            "analysis_length".into(),
            "base_accuracy".into(),
        ];
        let ablations = self.ablations();
        header.extend(ablations.iter().map(|a| format!("rho_{a}")));
        header.extend(
            Ablation::MEANS
                .iter()
                .map(|a| format!("rho_attribution_patching_{a}")),
        );
        for a in &ablations {
            header.extend(
                [
                    "bloat_individual_drop",
                    "bloat_joint_drop",
                    "bloat_additive_ratio",
                    "hero_pruning_change",
                    "bloat_pruning_change",
                ]
                .map(|column| format!("{column}_{a}")),
            );
        }
        header.push("skip_reason".into());
        let mut seeds = csv_line(&header);
        for (row, r) in self.table3.rows.iter().enumerate() {
            let mut fields = vec![
                r.seed.to_string(),
                r.analysis_length.to_string(),
                r.base_accuracy.to_string(),
            ];
            fields.extend(ablations.iter().map(|a| number(r.spearman[a])));
            fields.extend(
                Ablation::MEANS
                    .iter()
                    .map(|a| number(r.attribution_patching[a])),
            );
            for a in &ablations {
                // Tables 3, 4 and pruning hold the analysed seeds in the same order.
                let (b, p) = (&self.table4[a].rows[row], &self.pruning[a].rows[row]);
                fields.extend([
                    number(b.individual_drop),
                    number(b.joint_drop),
                    number(b.additive_ratio),
                    number(p.heroes),
                    number(p.bloats),
                ]);
            }
            fields.push(String::new());
            seeds += &csv_line(&fields);
        }
        for s in &self.skipped {
            let mut fields = vec![s.seed.to_string()];
            fields.extend(std::iter::repeat_n(String::new(), header.len() - 2));
            fields.push(s.reason.clone());
            seeds += &csv_line(&fields);
        }
        files.push((format!("{prefix}-tables3-4-seeds.csv"), seeds));

        let mut table5 =
            csv_line(&["ablation", "threshold", "layer", "heroes", "bloats"].map(String::from));
        for (ablation, per_threshold) in &self.table5.counts {
            for (threshold, layers) in per_threshold {
                for c in layers {
                    table5 += &csv_line(&[
                        ablation.to_string(),
                        threshold.to_string(),
                        c.layer.to_string(),
                        c.heroes.to_string(),
                        c.bloats.to_string(),
                    ]);
                }
            }
        }
        files.push((format!("{prefix}-table5-layer-counts.csv"), table5));

        let mut figure1 = csv_line(
            &[
                "ablation",
                "component",
                "mean_delta",
                "std_delta",
                "n",
                "heroes",
                "bloats",
            ]
            .map(String::from),
        );
        for (ablation, roles) in &self.roles.components {
            for r in roles {
                figure1 += &csv_line(&[
                    ablation.to_string(),
                    r.component.to_string(),
                    number(r.delta.mean),
                    number(r.delta.std),
                    r.delta.n.to_string(),
                    r.heroes.to_string(),
                    r.bloats.to_string(),
                ]);
            }
        }
        files.push((format!("{prefix}-figure1-delta.csv"), figure1));

        let mut figure4 = csv_line(
            &[
                "layer",
                "raw_wv_grad_norm",
                "std",
                "ci_low",
                "ci_high",
                "normalised_wv_grad_norm",
                "n",
            ]
            .map(String::from),
        );
        for (layer, (m, normalised)) in self
            .figure4
            .raw
            .iter()
            .zip(&self.figure4.normalised)
            .enumerate()
        {
            let [low, high] = interval_fields(m.interval);
            figure4 += &csv_line(&[
                layer.to_string(),
                number(m.mean),
                number(m.std),
                low,
                high,
                number(normalised.mean),
                m.n.to_string(),
            ]);
        }
        files.push((format!("{prefix}-figure4-layer-grad-norm.csv"), figure4));
        files
    }

    /// The paper's tables over these seeds, each built once for every renderer (the command
    /// line's text, the page's HTML), under `ablation` where the paper says "mean ablation":
    /// Table 1, Table 3, Table 4 and its means, pruning, Table 5 and Figure 4's numbers.
    pub fn tables(&self, ablation: Ablation) -> Vec<Table> {
        let mut tables = vec![Table {
            name: "table1",
            title: format!(
                "Table 1: Spearman ρ, G on {} against causal importance (mean ± std [95% \
                 interval])",
                self.g_weights
            ),
            columns: vec!["baseline".into(), "ρ".into()],
            rows: self
                .table1
                .rows()
                .into_iter()
                .map(|(baseline, m)| vec![Cell::Text(baseline), Cell::Spread(m, Format::Rho)])
                .collect(),
        }];

        let mut columns: Vec<String> = ["seed", "n", "base"].map(String::from).into();
        let ablations = self.ablations();
        columns.extend(ablations.iter().map(|a| format!("ρ {a}")));
        columns.push("ρ attr. patching (mean)".into());
        tables.push(Table {
            name: "table3",
            title: "Table 3: per-seed Spearman ρ".into(),
            columns,
            rows: self
                .table3
                .rows
                .iter()
                .map(|r| {
                    let mut row = vec![
                        Cell::Count(r.seed),
                        Cell::Count(r.analysis_length as u64),
                        Cell::Number(Some(r.base_accuracy), Format::Percent),
                    ];
                    row.extend(
                        ablations
                            .iter()
                            .map(|a| Cell::Number(r.spearman[a], Format::Rho)),
                    );
                    let patching = r.attribution_patching.get(&Ablation::Mean);
                    row.push(Cell::Number(patching.copied().flatten(), Format::Rho));
                    row
                })
                .collect(),
        });

        let table4 = &self.table4[&ablation];
        tables.push(Table {
            name: "table4",
            title: format!(
                "Table 4: the top-two Bloats under {ablation} ablation, individual against joint \
                 drops (points)"
            ),
            columns: [
                "seed",
                "base",
                "individual drop",
                "joint drop",
                "joint / Σ individual",
            ]
            .map(String::from)
            .into(),
            rows: table4
                .rows
                .iter()
                .map(|r| {
                    vec![
                        Cell::Count(r.seed),
                        Cell::Number(Some(r.base_accuracy), Format::Percent),
                        Cell::Number(r.individual_drop, Format::Points),
                        Cell::Number(r.joint_drop, Format::Points),
                        Cell::Number(r.additive_ratio, Format::Ratio),
                    ]
                })
                .collect(),
        });
        tables.push(Table {
            name: "table4-means",
            title: format!("Table 4 across seeds, under {ablation} ablation"),
            columns: ["", "mean ± std [95% interval]"].map(String::from).into(),
            rows: vec![
                vec![
                    Cell::Text("individual drop (points)".into()),
                    Cell::Spread(table4.individual_drop, Format::Points),
                ],
                vec![
                    Cell::Text("joint drop (points)".into()),
                    Cell::Spread(table4.joint_drop, Format::Points),
                ],
                vec![
                    Cell::Text("mean joint / mean individual".into()),
                    Cell::Estimate(table4.ratio),
                ],
                vec![
                    Cell::Text("mean joint / mean Σ individual".into()),
                    Cell::Estimate(table4.additive_ratio),
                ],
            ],
        });

        let pruning = &self.pruning[&ablation];
        tables.push(Table {
            name: "pruning",
            title: format!(
                "Pruning the top two under {ablation} ablation: the accuracy change (points)"
            ),
            columns: ["pruned", "mean ± std [95% interval]"]
                .map(String::from)
                .into(),
            rows: [("Heroes", pruning.heroes), ("Bloats", pruning.bloats)]
                .map(|(class, m)| vec![Cell::Text(class.into()), Cell::Spread(m, Format::Points)])
                .into(),
        });

        if let Some(per_threshold) = self.table5.counts.get(&ablation) {
            let mut columns = vec!["layer".to_string()];
            for t in per_threshold.keys() {
                columns.extend([format!("H ±{t}"), format!("B ±{t}")]);
            }
            let layers = per_threshold.values().next().map_or(0, Vec::len);
            tables.push(Table {
                name: "table5",
                title: "Table 5: Hero (H) and Bloat (B) heads per layer, summed over seeds".into(),
                columns,
                rows: (0..layers)
                    .map(|layer| {
                        let mut row = vec![Cell::Count(layer as u64)];
                        for counts in per_threshold.values() {
                            row.push(Cell::Count(counts[layer].heroes as u64));
                            row.push(Cell::Count(counts[layer].bloats as u64));
                        }
                        row
                    })
                    .collect(),
            });
        }

        tables.push(Table {
            name: "figure4",
            title: "Figure 4: the raw W_V gradient norm per layer (mean over heads, then seeds)"
                .into(),
            columns: ["layer", "mean ± std [95% interval]"]
                .map(String::from)
                .into(),
            rows: self
                .figure4
                .raw
                .iter()
                .enumerate()
                .map(|(layer, m)| vec![Cell::Count(layer as u64), Cell::Spread(*m, Format::Norm)])
                .collect(),
        });
        tables
    }

    /// The tables as text (as `gradcause sweep` prints them), under `ablation` where the paper
    /// says "mean ablation", with Figure 1's mean rank gaps drawn as bars.
    pub fn text(&self, ablation: Ablation) -> String {
        let positions: Vec<&str> = self.positions.iter().map(|p| p.name()).collect();
        let mut out = format!(
            "== {} — {} of {} seeds analysed (positions: {}; G on {}; ablation {ablation})\n",
            self.task,
            self.analysed(),
            self.seeds.len(),
            positions.join(", "),
            self.g_weights,
        );
        for s in &self.skipped {
            let _ = writeln!(out, "   skipped seed {}: {}", s.seed, s.reason);
        }
        for table in self.tables(ablation) {
            let _ = write!(out, "\n{}", table.text());
        }
        if let Some(roles) = self.roles.components.get(&ablation) {
            let _ = writeln!(out, "\nFigure 1: mean Δ = Rank(G) − Rank(C) per component");
            for r in roles {
                let d = r.delta.mean.unwrap_or(0.0);
                let bar = "█".repeat(d.abs().round() as usize);
                let (left, right) = if d < 0.0 {
                    (bar, String::new())
                } else {
                    (String::new(), bar)
                };
                let _ = writeln!(
                    out,
                    "  {:<7} {:>20}|{:<20} {:+.1}  (Hero {}×, Bloat {}×)",
                    r.component.to_string(),
                    left,
                    right,
                    d,
                    r.heroes,
                    r.bloats
                );
            }
        }
        out
    }
}

/// An interval's two ends as CSV fields (empty without one).
fn interval_fields(interval: Option<[f64; 2]>) -> [String; 2] {
    interval.map_or([String::new(), String::new()], |[low, high]| {
        [low.to_string(), high.to_string()]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it() {
        let line = csv_line(&["a".into(), "b,c".into(), "say \"hi\"".into()]);
        assert_eq!(line, "a,\"b,c\",\"say \"\"hi\"\"\"\n");
    }
}
