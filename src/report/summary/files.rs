//! A summary's tables as files: CSV, one file a table, and the plain-text tables the
//! command line prints.

use std::fmt::Write as _;

use super::Summary;
use crate::analysis::ablation::Ablation;

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
        header.extend(Ablation::ALL.iter().map(|a| format!("rho_{a}")));
        header.extend(
            Ablation::MEANS
                .iter()
                .map(|a| format!("rho_attribution_patching_{a}")),
        );
        for a in Ablation::ALL {
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
            fields.extend(Ablation::ALL.iter().map(|a| number(r.spearman[a])));
            fields.extend(
                Ablation::MEANS
                    .iter()
                    .map(|a| number(r.attribution_patching[a])),
            );
            for a in Ablation::ALL {
                // Tables 3, 4 and pruning hold the analysed seeds in the same order.
                let (b, p) = (&self.table4[&a].rows[row], &self.pruning[&a].rows[row]);
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

    /// The tables as text, laid out like the paper's, under `ablation` where the paper says
    /// "mean ablation".
    pub fn text(&self, ablation: Ablation) -> String {
        let mut out = String::new();
        // `+ 0.0` turns -0.0 into 0.0, so no "-0.0%" appears.
        let pct =
            |x: Option<f64>| x.map_or("—".to_string(), |x| format!("{:.1}%", 100.0 * x + 0.0));
        let rho = |x: Option<f64>| x.map_or("—".to_string(), |x| format!("{x:.2}"));
        let used = self.analysed();
        let positions: Vec<&str> = self.positions.iter().map(|p| p.name()).collect();
        let _ = writeln!(
            out,
            "== {} — {} of {} seeds analysed (positions: {}; G on {}; ablation {ablation})",
            self.task,
            used,
            self.seeds.len(),
            positions.join(", "),
            self.g_weights,
        );
        for s in &self.skipped {
            let _ = writeln!(out, "   skipped seed {}: {}", s.seed, s.reason);
        }

        let _ = writeln!(
            out,
            "\nTable 1: Spearman ρ, gradient vs causal importance (mean ± std [95% interval])"
        );
        for (baseline, m) in self.table1.rows() {
            let _ = writeln!(out, "  {baseline:<32} {}", m.display(1.0, 2));
        }

        let _ = writeln!(out, "\nTable 3: per-seed Spearman ρ");
        let mut header = format!("  {:>6} {:>4} {:>7}", "seed", "n", "base");
        for a in Ablation::ALL {
            let _ = write!(header, " {:>9}", a.name());
        }
        let _ = writeln!(out, "{header} {:>9}", "attr.p.");
        for r in &self.table3.rows {
            let mut line = format!(
                "  {:>6} {:>4} {:>7}",
                r.seed,
                r.analysis_length,
                pct(Some(r.base_accuracy))
            );
            for a in Ablation::ALL {
                let _ = write!(line, " {:>9}", rho(r.spearman[&a]));
            }
            let _ = writeln!(
                out,
                "{line} {:>9}",
                rho(r
                    .attribution_patching
                    .get(&Ablation::Mean)
                    .copied()
                    .flatten())
            );
        }

        let table4 = &self.table4[&ablation];
        let _ = writeln!(
            out,
            "\nTable 4: top-two Bloats, individual vs joint ablation drops"
        );
        let _ = writeln!(
            out,
            "  {:>6} {:>8} {:>12} {:>10} {:>15}",
            "seed", "base", "indiv. drop", "joint drop", "joint/Σ indiv."
        );
        for r in &table4.rows {
            let _ = writeln!(
                out,
                "  {:>6} {:>8} {:>12} {:>10} {:>15}",
                r.seed,
                pct(Some(r.base_accuracy)),
                pct(r.individual_drop),
                pct(r.joint_drop),
                r.additive_ratio.map_or("—".into(), |x| format!("{x:.2}×"))
            );
        }
        let _ = writeln!(
            out,
            "  mean individual drop {}, mean joint drop {}",
            table4.individual_drop.display(100.0, 1),
            table4.joint_drop.display(100.0, 1)
        );
        let _ = writeln!(
            out,
            "  ratio mean joint / mean individual: {}; mean joint / mean Σ individual: {}",
            table4.ratio.display_times(),
            table4.additive_ratio.display_times()
        );

        let pruning = &self.pruning[&ablation];
        let _ = writeln!(out, "\nPruning the top two (accuracy change, mean ± std)");
        for (class, m) in [("heroes", pruning.heroes), ("bloats", pruning.bloats)] {
            let _ = writeln!(out, "  {class:<8} {}", m.display(100.0, 1));
        }

        if let Some(per_threshold) = self.table5.counts.get(&ablation) {
            let _ = writeln!(
                out,
                "\nTable 5: Hero (H) and Bloat (B) heads per layer, summed over seeds"
            );
            let mut header = format!("  {:>5}", "layer");
            for t in per_threshold.keys() {
                let _ = write!(header, " | ±{t:<2}  H   B");
            }
            let _ = writeln!(out, "{header}");
            let layers = per_threshold.values().next().map_or(0, Vec::len);
            for row in 0..layers {
                let mut line = format!("  {row:>5}");
                for counts in per_threshold.values() {
                    let _ = write!(
                        line,
                        " |     {:>3} {:>3}",
                        counts[row].heroes, counts[row].bloats
                    );
                }
                let _ = writeln!(out, "{line}");
            }
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

        let _ = writeln!(
            out,
            "\nFigure 4: raw W_V gradient norm per layer (mean over heads and seeds)"
        );
        for (layer, m) in self.figure4.raw.iter().enumerate() {
            let _ = writeln!(out, "  layer {layer}: {}", m.display(1.0, 4));
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
