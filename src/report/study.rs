//! The positions study: for each task, position scheme (METHOD §2) and seed, training to the stop
//! rule and the OOD accuracy, nothing else, to see which scheme puts models in the paper's OOD
//! window. `gradcause positions` runs it, one report file per run; this module names the files
//! and turns the reports into the study's table and counts.

use std::collections::BTreeMap;

use crate::engine::model::Positions;
use crate::engine::task::Task;
use crate::experiment::report::TrainReport;

/// The file a run's report is kept in: `{task}-{positions}-seed{seed}.json`.
pub fn report_file(task: Task, positions: Positions, seed: u64) -> String {
    format!("{task}-{positions}-seed{seed}.json")
}

/// Per task and scheme: how many runs there are and how many of them have a length in the
/// window (an analysis length).
pub fn window_counts(reports: &[TrainReport]) -> BTreeMap<(Task, Positions), WindowCount> {
    let mut counts = BTreeMap::new();
    for report in reports {
        let count: &mut WindowCount = counts
            .entry((report.task, report.config.model.positions))
            .or_default();
        count.runs += 1;
        count.in_window += usize::from(report.analysis_length.is_some());
    }
    counts
}

/// Runs of one task and scheme, and those inside the OOD window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowCount {
    /// Runs in the study.
    pub runs: usize,
    /// Runs with a length whose base accuracy lies inside the window.
    pub in_window: usize,
}

/// The study as CSV, a run a line, ordered by task, scheme and seed: steps to the stop rule
/// and why training stopped, OOD accuracy per length (in %), the analysis length and whether
/// the run is in the window. `lengths` are the OOD columns.
pub fn study_csv(reports: &[TrainReport], lengths: &[usize]) -> String {
    let mut rows: Vec<&TrainReport> = reports.iter().collect();
    rows.sort_by_key(|r| (r.task, r.config.model.positions, r.seed));
    let mut csv = String::from("task,positions,seed,steps,stop_reason");
    for length in lengths {
        csv += &format!(",ood_{length}");
    }
    csv += ",analysis_length,in_window\n";
    for r in rows {
        let (steps, stop) = r.train.as_ref().map_or((String::new(), ""), |t| {
            (t.steps.to_string(), t.stop_reason.name())
        });
        csv += &format!(
            "{},{},{},{steps},{stop}",
            r.task, r.config.model.positions, r.seed
        );
        for length in lengths {
            let accuracy = r.ood_accuracy.get(length);
            csv += &accuracy.map_or(",".into(), |a| format!(",{:.1}", 100.0 * a));
        }
        let length = r.analysis_length.map_or(String::new(), |n| n.to_string());
        csv += &format!(",{length},{}\n", r.analysis_length.is_some());
    }
    csv
}
