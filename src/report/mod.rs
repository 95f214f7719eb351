//! Across seeds: what a sweep of reports says, and how it compares with the paper.
//!
//! The top layer of the library: it imports the [`engine`](crate::engine), the
//! [`analysis`](crate::analysis) and the [`experiment`](crate::experiment), and nothing imports
//! it but the page and the command-line tool. [`summary`] makes the paper's tables from
//! per-seed reports, [`compare`] puts the paper's numbers beside ours, [`claims`] judges the
//! paper's claims on a sweep's summaries, [`leaderboard`] ranks the
//! cheap scores, [`study`] holds the positions study, [`reproduction`] writes `REPRODUCTION.md`,
//! [`table`] is the one table value every renderer shows, [`plot`] holds the figures'
//! geometry, [`workshop`] puts the predecessor paper's per-seed tables beside a sweep under
//! protocol `published`, and [`switches`] reads that sweep's models with its analysis choices
//! switched one at a time and judges every claim under each protocol and each single switch.

pub mod claims;
pub mod compare;
pub mod leaderboard;
pub mod paper;
pub mod plot;
pub mod reproduction;
pub mod statistic;
pub mod study;
pub mod summary;
pub mod switches;
pub mod table;
pub mod workshop;
