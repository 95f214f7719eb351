//! `gradcause compare` and `gradcause reproduction`: the paper's numbers beside ours.

use std::path::Path;

use gradcause::compare::{Reported, compare, markdown, tally, text};
use gradcause::report::SeedReport;
use gradcause::reproduction::{Sources, document};
use gradcause::summary::Summary;

use super::run::read_seed_reports;
use super::study::read_all;
use super::{CompareArgs, Failure, ReproductionArgs, read_file, write_file};

/// The per-seed reports of a sweep directory and of its subdirectories one level down (the
/// shipped sweep keeps each task in its own).
fn sweep_reports(dir: &Path) -> Result<Vec<SeedReport>, Failure> {
    let mut reports = read_seed_reports(dir)?;
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Failure::Run(format!("could not list {}: {e}", dir.display())))?;
    let mut subdirs: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    for subdir in subdirs {
        reports.extend(read_seed_reports(&subdir)?);
    }
    if reports.is_empty() {
        return Err(Failure::Run(format!(
            "no per-seed reports (*-seed*.json) in {} or the folders in it",
            dir.display()
        )));
    }
    Ok(reports)
}

pub fn compare_command(args: &CompareArgs) -> Result<(), Failure> {
    let reports = sweep_reports(&args.dir)?;
    let lines = compare(&Reported::shipped(), &Summary::per_task(&reports));
    if args.markdown {
        print!("{}", markdown(&lines));
    } else {
        print!("{}", text(&lines));
    }
    let (within, differs, unavailable) = tally(&lines);
    eprintln!(
        "\n{} entries of reported.json: {within} within the paper's spread, {differs} differ, \
         {unavailable} not available on ours",
        lines.len()
    );
    Ok(())
}

pub fn reproduction(args: &ReproductionArgs) -> Result<(), Failure> {
    let reports = sweep_reports(&args.sweep)?;
    let study = read_all(&args.positions)?;
    let sweep = args.sweep.display().to_string();
    let positions = args.positions.display().to_string();
    let sources = Sources {
        sweep: &sweep,
        study: &positions,
    };
    let sweep_runs: Vec<_> = reports.iter().map(|r| r.run.clone()).collect();
    let contents = document(
        &Reported::shipped(),
        &Summary::per_task(&reports),
        &sweep_runs,
        &study,
        &sources,
    );
    if args.check {
        let current = String::from_utf8_lossy(&read_file(&args.out)?).into_owned();
        if current != contents {
            return Err(Failure::Run(format!(
                "{} is out of date with {sweep} and {positions}: run `gradcause reproduction`",
                args.out.display()
            )));
        }
        eprintln!("{} is up to date", args.out.display());
        return Ok(());
    }
    write_file(&args.out, contents.as_bytes())
}
