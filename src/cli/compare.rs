//! `gradcause compare` and `gradcause reproduction`: the paper's numbers beside ours.

use std::collections::BTreeMap;
use std::path::Path;

use gradcause::analysis::ablation::Ablation;
use gradcause::engine::model::Positions;
use gradcause::experiment::report::SeedReport;
use gradcause::report::compare::{compare, markdown, tally, text};
use gradcause::report::leaderboard::leaderboards;
use gradcause::report::paper::Reported;
use gradcause::report::reproduction::{Inputs, Sweep, document, of_seeds};
use gradcause::report::summary::Summary;
use gradcause::report::switches::decomposition::Decomposition;
use gradcause::report::switches::forest::forest_svg;
use gradcause::report::switches::switch_table;
use gradcause::report::workshop::{
    WORKSHOP_CITATION, Workshop, all_published, per_seed_table, role_table, table1,
};

use super::run::{read_report, to_json};
use super::study::read_all;
use super::{
    CompareArgs, Failure, ReproductionArgs, folders_in, read_file, sweep_files, write_file,
};

/// The per-seed reports of a sweep directory and of its folders one level down (the shipped
/// sweep keeps each task in its own).
fn sweep_reports(dir: &Path) -> Result<Vec<SeedReport>, Failure> {
    let reports = sweep_files(dir)?
        .iter()
        .map(|p| read_report(p))
        .collect::<Result<Vec<_>, _>>()?;
    if reports.is_empty() {
        return Err(Failure::Run(format!(
            "no per-seed reports (*-seed*.json) in {} or the folders in it",
            dir.display()
        )));
    }
    refuse_outdated(&reports, dir)?;
    Ok(reports)
}

/// [`sweep_reports`] of a sweep that may not have been made: none where `dir` does not exist.
fn made_sweep_reports(dir: &Path) -> Result<Vec<SeedReport>, Failure> {
    if dir.exists() {
        sweep_reports(dir)
    } else {
        Ok(Vec::new())
    }
}

/// A comparison never mixes contracts: reports made under another METHOD revision are refused,
/// naming them.
pub(super) fn refuse_outdated(reports: &[SeedReport], dir: &Path) -> Result<(), Failure> {
    let outdated: Vec<String> = reports.iter().filter_map(SeedReport::outdated).collect();
    match outdated.first() {
        None => Ok(()),
        Some(first) => Err(Failure::Run(format!(
            "{} of the reports in {} cannot be compared: {first}{}",
            outdated.len(),
            dir.display(),
            if outdated.len() > 1 {
                " (and the same for the others)"
            } else {
                ""
            }
        ))),
    }
}

pub fn compare_command(args: &CompareArgs) -> Result<(), Failure> {
    let every_seed = sweep_reports(&args.dir)?;
    let reports = if args.all_seeds {
        every_seed.clone()
    } else {
        of_seeds(&every_seed, &Reported::shipped().seeds)
    };
    let summaries = Summary::per_task(&reports, args.g_weights);
    let lines = compare(&Reported::shipped(), &summaries, args.ablation);
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
    print!("{}", leaderboard_section(&reports, args.ablation));
    if all_published(&reports) {
        let (workshop, reported) = (Workshop::shipped(), Reported::shipped());
        println!("\nUnder protocol published, beside {WORKSHOP_CITATION}:\n");
        print!("{}", table1(&workshop, &reported, &reports).text());
        for task in gradcause::engine::task::Task::ALL {
            println!();
            print!("{}", per_seed_table(&workshop, task, &reports).text());
        }
        println!();
        print!("{}", role_table(&workshop, &reports).text());
        println!();
        print!("{}", switch_table(&reports).text());
        let (default, none) = (
            made_sweep_reports(&args.default_sweep)?,
            made_sweep_reports(&args.none_sweep)?,
        );
        let switched = switch_sweeps(&args.switches)?;
        // The decomposition rests on every seed of every sweep (METHOD §9).
        let d = decomposition(&every_seed, &default, &none, &switched);
        println!(
            "\nWhich choice makes each finding, on every seed (switch sweeps in {}):\n",
            args.switches.display()
        );
        if let Some(everywhere) = d.unmeasured_everywhere() {
            println!("  {everywhere}");
        }
        for ((claim, line), detail) in d.claims.iter().zip(d.why_lines()).zip(d.why_details()) {
            println!("  {}: {line} {detail}", claim.key);
        }
        let (replicated, halves, effects) = d.agreement();
        println!(
            "\nSplit halves: {replicated} of {halves} effects measured on both halves (the \
             paper's ten seeds, 1–10) agree in sign ({effects} effects in all).\n"
        );
        print!("{}", d.effects_table().text());
        println!();
        print!("{}", d.table().text());
        println!();
        print!("{}", d.rho_table().text());
    }
    Ok(())
}

/// The switch sweeps under `dir`, by training scheme (the folder's name); none where `dir` does
/// not exist.
fn switch_sweeps(dir: &Path) -> Result<BTreeMap<String, Vec<SeedReport>>, Failure> {
    let mut sweeps = BTreeMap::new();
    if !dir.exists() {
        return Ok(sweeps);
    }
    for folder in folders_in(dir)? {
        let scheme = folder
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        sweeps.insert(scheme, sweep_reports(&folder)?);
    }
    Ok(sweeps)
}

/// The decomposition of the published sweep's `published` reports against the default sweeps
/// and the switch sweeps.
fn decomposition(
    published: &[SeedReport],
    default: &[SeedReport],
    none: &[SeedReport],
    switched: &BTreeMap<String, Vec<SeedReport>>,
) -> Decomposition {
    let mut sweeps: BTreeMap<&str, &[SeedReport]> = switched
        .iter()
        .map(|(scheme, reports)| (scheme.as_str(), reports.as_slice()))
        .collect();
    sweeps.insert("published", published);
    sweeps.insert("default", default);
    sweeps.insert("default+positions=none", none);
    Decomposition::new(&Reported::shipped(), &sweeps)
}

/// After the paper's comparison: every score against C under `ablation`, per task
/// (`docs/scores.md`).
fn leaderboard_section(reports: &[SeedReport], ablation: Ablation) -> String {
    let mut out = format!(
        "\nBeyond the paper: which cheap score ranks components the way {ablation} ablation does?\n"
    );
    for (task, boards) in leaderboards(reports) {
        let board = &boards[&ablation];
        out.push_str(&format!("\n{}\n", task.name()));
        match board.answer() {
            Some(answer) => out.push_str(&format!("{answer}\n\n{}", board.markdown())),
            None => out.push_str("no analysed seed holds the scores (reports made before them)\n"),
        }
        if !board.without_scores.is_empty() {
            out.push_str(&format!(
                "left out, made before the scores: seeds {:?}\n",
                board.without_scores
            ));
        }
    }
    out
}

pub fn reproduction(args: &ReproductionArgs) -> Result<(), Failure> {
    let reports = sweep_reports(&args.sweep)?;
    let none = made_sweep_reports(&args.sweep_none)?;
    let published = made_sweep_reports(&args.sweep_published)?;
    let study = read_all(&args.positions)?;
    let switched = switch_sweeps(&args.switches)?;
    let d = decomposition(&published, &reports, &none, &switched);
    let switches = args.switches.display().to_string();
    let sweep_published = args.sweep_published.display().to_string();
    let sweep = args.sweep.display().to_string();
    let sweep_none = args.sweep_none.display().to_string();
    let positions = args.positions.display().to_string();
    let sweeps = [
        Sweep {
            positions: Positions::Shifted,
            dir: &sweep,
            about: "the sweep the page opens on, `positions = shifted`",
            reports: &reports,
        },
        Sweep {
            positions: Positions::None,
            dir: &sweep_none,
            about: "the same seeds under `positions = none`",
            reports: &none,
        },
    ];
    let contents = document(&Inputs {
        reported: &Reported::shipped(),
        sweeps: &sweeps,
        study: &study,
        study_dir: &positions,
        published: (&sweep_published, &published),
        decomposition: (&switches, &d),
    });
    let json = to_json(&d);
    let files = [
        (&args.out, contents),
        (&args.decomposition, json),
        (&args.forest, forest_svg(&d)),
    ];
    if args.check {
        for (path, contents) in &files {
            let current = String::from_utf8_lossy(&read_file(path)?).into_owned();
            if current != *contents {
                return Err(Failure::Run(format!(
                    "{} is out of date with {sweep}, {sweep_none}, {sweep_published}, {switches} \
                     and {positions}: run `gradcause reproduction`",
                    path.display()
                )));
            }
            eprintln!("{} is up to date", path.display());
        }
        return Ok(());
    }
    for (path, contents) in &files {
        write_file(path, contents.as_bytes())?;
    }
    Ok(())
}
