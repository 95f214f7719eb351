//! A claim's statistic and what a switch does to it (METHOD §9.1–9.2).
//!
//! Each of the paper's claims is judged on one statistic S: per task, per seed, a few numbers
//! (a [`Sample`]); S combines their means across seeds ([`Statistic::combine`]). S's 95%
//! interval resamples each task's seeds on its own; the verdict is the side of the paper's
//! threshold the interval lies on ([`Measured`]). A switch's effect is S(switched) − S(base)
//! with its interval ([`Effect`]): paired on the seeds both analysed where the two read the same
//! models, two independent resamples where they read other models; and again on each half of the
//! seeds (the paper's ten and 1–10) to see whether its sign replicates.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analysis::stats::{BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, grouped_interval};
use crate::engine::rng::{Rng, Stream};
use crate::engine::task::Task;

/// Whether a claim of the paper holds on ours, judged on a 95% interval over our seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Holds {
    /// Our interval supports the paper's statement.
    Holds,
    /// Our interval excludes it.
    DoesNotHold,
    /// Too few seeds, or an interval on both sides.
    Inconclusive,
}

impl Holds {
    /// The verdict in words.
    pub fn word(self) -> &'static str {
        match self {
            Holds::Holds => "holds",
            Holds::DoesNotHold => "does not hold",
            Holds::Inconclusive => "inconclusive",
        }
    }
}

/// The fewest seeds a task may give a verdict from: a bootstrap over fewer resamples too few
/// distinct draws to say anything, so below it every claim is inconclusive (the interval is
/// still shown).
pub const MIN_SEEDS: usize = 5;

/// The side of its threshold the paper's statement puts S on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// The paper says S exceeds the threshold.
    Above,
    /// The paper says S stays under it.
    Below,
}

/// A claim's statistic as data: what S is, its threshold, the paper's side of it, and how S is
/// made from the means of the sample's numbers.
#[derive(Clone, Copy, Debug)]
pub struct Statistic {
    /// What S is, in a few words.
    pub what: &'static str,
    /// The threshold.
    pub threshold: f64,
    /// The side of it the paper's statement puts S on.
    pub side: Side,
    /// Where S picks the largest of exchangeable values (a layer's heads, whose names are
    /// labels): how many values of a seed form one exchangeable block. The verdict is then a
    /// relabelling test instead of the interval's side: it holds when shuffling each block
    /// within each seed gives an S at least as large in under 5% of the draws, and is
    /// inconclusive otherwise (the interval of a maximum is biased upwards).
    pub exchangeable: Option<usize>,
    /// S from the means across seeds of every number of the sample, group after group in the
    /// sample's order; `None` where S is undefined (a ratio over 0).
    pub combine: fn(&[f64]) -> Option<f64>,
}

/// Two statistics are the same when they say the same: `combine` follows from `what`.
impl PartialEq for Statistic {
    fn eq(&self, other: &Self) -> bool {
        (self.what, self.threshold, self.side, self.exchangeable)
            == (other.what, other.threshold, other.side, other.exchangeable)
    }
}

/// One task's seeds as a statistic reads them: per seed a fixed number of values.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The task.
    pub task: Task,
    /// The seeds that give values, in order.
    pub seeds: Vec<u64>,
    /// Per seed, its values (the same number for every seed).
    pub values: Vec<Vec<f64>>,
    /// How many values a seed gives.
    pub width: usize,
}

impl Group {
    /// An empty group of `task` whose seeds give `width` values each.
    pub fn new(task: Task, width: usize) -> Self {
        Self {
            task,
            seeds: Vec::new(),
            values: Vec::new(),
            width,
        }
    }

    /// Adds `seed`'s values.
    pub fn push(&mut self, seed: u64, values: Vec<f64>) {
        assert_eq!(
            values.len(),
            self.width,
            "a seed gives {} values",
            self.width
        );
        self.seeds.push(seed);
        self.values.push(values);
    }

    /// Value `k` of every seed, in the seeds' order.
    pub fn column(&self, k: usize) -> Vec<f64> {
        self.values.iter().map(|v| v[k]).collect()
    }

    /// The group with only the seeds `keep` accepts.
    fn only(&self, keep: impl Fn(u64) -> bool) -> Self {
        let mut out = Self::new(self.task, self.width);
        for (&seed, values) in self.seeds.iter().zip(&self.values) {
            if keep(seed) {
                out.push(seed, values.clone());
            }
        }
        out
    }

    /// The mean of each value over the seeds at `picks`; `None` for no picks.
    fn means(&self, picks: &[usize]) -> Option<Vec<f64>> {
        if picks.is_empty() {
            return None;
        }
        let mut sums = vec![0.0; self.width];
        for &i in picks {
            for (sum, v) in sums.iter_mut().zip(&self.values[i]) {
                *sum += v;
            }
        }
        Some(sums.into_iter().map(|s| s / picks.len() as f64).collect())
    }
}

/// What a claim's statistic reads: one group per task it needs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    /// The groups, in the order [`Statistic::combine`] reads their means.
    pub groups: Vec<Group>,
}

impl Sample {
    /// Per task, the seeds it rests on.
    pub fn seeds(&self) -> BTreeMap<Task, usize> {
        self.groups
            .iter()
            .map(|g| (g.task, g.seeds.len()))
            .collect()
    }

    /// The fewest seeds of a group (0 for none).
    fn fewest(&self) -> usize {
        self.groups.iter().map(|g| g.seeds.len()).min().unwrap_or(0)
    }

    /// The sample with only the seeds `keep` accepts.
    pub fn only(&self, keep: impl Fn(u64) -> bool + Copy) -> Self {
        Self {
            groups: self.groups.iter().map(|g| g.only(keep)).collect(),
        }
    }

    /// Every seed's indices, per group.
    fn everyone(&self) -> Vec<Vec<usize>> {
        self.groups
            .iter()
            .map(|g| (0..g.seeds.len()).collect())
            .collect()
    }
}

impl Statistic {
    /// S on the seeds at `picks` (one list of indices per group).
    fn on(&self, sample: &Sample, picks: &[Vec<usize>]) -> Option<f64> {
        if sample.groups.is_empty() {
            return None;
        }
        let mut means = Vec::new();
        for (group, picks) in sample.groups.iter().zip(picks) {
            means.extend(group.means(picks)?);
        }
        (self.combine)(&means).filter(|s| s.is_finite())
    }

    /// S on `sample` with its interval and the verdict they give.
    pub fn measure(&self, sample: &Sample) -> Measured {
        let value = self.on(sample, &sample.everyone());
        let sizes: Vec<usize> = sample.groups.iter().map(|g| g.seeds.len()).collect();
        let interval = grouped_interval(&sizes, |picks| self.on(sample, picks));
        let p = self
            .exchangeable
            .zip(value)
            .map(|(block, value)| self.relabelled(sample, block, value));
        let verdict = match p {
            _ if sample.fewest() < MIN_SEEDS => Holds::Inconclusive,
            Some(p) if p < 0.05 => Holds::Holds,
            Some(_) => Holds::Inconclusive,
            None => self.verdict(interval),
        };
        Measured {
            value,
            interval,
            seeds: sample.seeds(),
            verdict,
            p,
        }
    }

    /// The share of random relabellings (each block of `block` values shuffled within each seed)
    /// whose S is at least `observed`, counting the observed labelling as one of them.
    fn relabelled(&self, sample: &Sample, block: usize, observed: f64) -> f64 {
        let mut rng = Rng::new(BOOTSTRAP_SEED, Stream::Relabel);
        let mut shuffled = sample.clone();
        let everyone = sample.everyone();
        let mut as_large = 0;
        for _ in 0..BOOTSTRAP_RESAMPLES {
            for group in &mut shuffled.groups {
                for values in &mut group.values {
                    for chunk in values.chunks_mut(block) {
                        for i in (1..chunk.len()).rev() {
                            chunk.swap(i, rng.range(0, i));
                        }
                    }
                }
            }
            if self
                .on(&shuffled, &everyone)
                .is_some_and(|s| s >= observed - 1e-12)
            {
                as_large += 1;
            }
        }
        (as_large + 1) as f64 / (BOOTSTRAP_RESAMPLES + 1) as f64
    }

    /// S known only as a value with an interval computed elsewhere (the paper's mean ± sd), on
    /// `seeds` seeds a task, judged as [`Statistic::measure`] judges a sample.
    pub fn judge(
        &self,
        value: Option<f64>,
        interval: Option<[f64; 2]>,
        seeds: BTreeMap<Task, usize>,
    ) -> Measured {
        let fewest = seeds.values().copied().min().unwrap_or(0);
        Measured {
            value,
            interval,
            verdict: match fewest {
                n if n < MIN_SEEDS => Holds::Inconclusive,
                _ => self.verdict(interval),
            },
            seeds,
            p: None,
        }
    }

    /// The verdict an interval of S gives: wholly on the paper's side holds, wholly on the other
    /// does not, across the threshold (or none) is inconclusive.
    pub fn verdict(&self, interval: Option<[f64; 2]>) -> Holds {
        let Some([low, high]) = interval else {
            return Holds::Inconclusive;
        };
        let (paper_side, other_side) = match self.side {
            Side::Above => (low > self.threshold, high < self.threshold),
            Side::Below => (high < self.threshold, low > self.threshold),
        };
        match (paper_side, other_side) {
            (true, _) => Holds::Holds,
            (_, true) => Holds::DoesNotHold,
            _ => Holds::Inconclusive,
        }
    }

    /// S(switched) − S(base) with its interval: `paired` when both read the same models (each
    /// task's seeds both samples hold, resampled together), else each sample resampled on its
    /// own. Also on each half of the seeds `half` splits them into.
    pub fn effect(
        &self,
        base: &Sample,
        switched: &Sample,
        paired: bool,
        half: impl Fn(u64) -> bool + Copy,
    ) -> Effect {
        let whole = self.difference(base, switched, paired);
        let halves = [true, false].map(|side| {
            let keep = move |seed| half(seed) == side;
            self.difference(&base.only(keep), &switched.only(keep), paired)
                .value
        });
        Effect {
            replicated: match halves {
                [Some(a), Some(b)] if a == 0.0 && b == 0.0 => None,
                [Some(a), Some(b)] => Some(a != 0.0 && a.signum() == b.signum()),
                _ => None,
            },
            halves,
            ..whole
        }
    }

    /// The effect on all the seeds given, without its halves.
    fn difference(&self, base: &Sample, switched: &Sample, paired: bool) -> Effect {
        if paired {
            let (base, switched) = common(base, switched);
            let seeds = base.fewest();
            let both =
                |picks: &[Vec<usize>]| Some(self.on(&switched, picks)? - self.on(&base, picks)?);
            let sizes: Vec<usize> = base.groups.iter().map(|g| g.seeds.len()).collect();
            return Effect {
                value: both(&base.everyone()),
                interval: grouped_interval(&sizes, both),
                paired,
                seeds: [seeds, seeds],
                halves: [None, None],
                replicated: None,
            };
        }
        let groups = base.groups.len();
        let sizes: Vec<usize> = (base.groups.iter().chain(&switched.groups))
            .map(|g| g.seeds.len())
            .collect();
        let apart = |picks: &[Vec<usize>]| {
            let (b, s) = picks.split_at(groups);
            Some(self.on(switched, s)? - self.on(base, b)?)
        };
        let everyone: Vec<Vec<usize>> = base
            .everyone()
            .into_iter()
            .chain(switched.everyone())
            .collect();
        // Tasks missing from one side leave S of the two on different tasks: no effect.
        let same_tasks = groups == switched.groups.len();
        Effect {
            value: same_tasks.then(|| apart(&everyone)).flatten(),
            interval: same_tasks
                .then(|| grouped_interval(&sizes, apart))
                .flatten(),
            paired,
            seeds: [base.fewest(), switched.fewest()],
            halves: [None, None],
            replicated: None,
        }
    }
}

/// The two samples on the seeds both hold, task by task, in the same order.
fn common(base: &Sample, switched: &Sample) -> (Sample, Sample) {
    let mut out = (Sample::default(), Sample::default());
    for (b, s) in base.groups.iter().zip(&switched.groups) {
        let shared: Vec<u64> = b
            .seeds
            .iter()
            .copied()
            .filter(|x| s.seeds.contains(x))
            .collect();
        let pick = |g: &Group| {
            let mut kept = Group::new(g.task, g.width);
            for seed in &shared {
                let i = g
                    .seeds
                    .iter()
                    .position(|x| x == seed)
                    .expect("a shared seed");
                kept.push(*seed, g.values[i].clone());
            }
            kept
        };
        out.0.groups.push(pick(b));
        out.1.groups.push(pick(s));
    }
    out
}

/// S measured: its value, its 95% interval, the seeds per task and the verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// S over every seed; `None` where undefined.
    pub value: Option<f64>,
    /// Its 95% bootstrap interval; `None` under two seeds a task.
    pub interval: Option<[f64; 2]>,
    /// Per task, the seeds it rests on.
    pub seeds: BTreeMap<Task, usize>,
    /// The verdict its interval (or its relabelling test) gives.
    pub verdict: Holds,
    /// Where S picks the largest of exchangeable values: the share of random relabellings
    /// giving an S as large ([`Statistic::exchangeable`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<f64>,
}

impl Measured {
    /// `0.36 [0.22, 0.50], 19 and 20 seeds` (at `digits` decimals).
    pub fn text(&self, digits: usize) -> String {
        format!(
            "{}, {}",
            value_and_interval(self.value, self.interval, digits, false),
            seeds_text(self.seeds.values().copied())
        )
    }
}

/// What a switch does to a claim's statistic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Effect {
    /// S(switched) − S(base); `None` where either is undefined.
    pub value: Option<f64>,
    /// Its 95% bootstrap interval.
    pub interval: Option<[f64; 2]>,
    /// Whether it is paired: both columns read the same models, resampled together.
    pub paired: bool,
    /// The fewest seeds a task of the base and of the switched column gives (equal when
    /// paired: the seeds both analysed).
    pub seeds: [usize; 2],
    /// The effect on the paper's ten seeds and on the others.
    pub halves: [Option<f64>; 2],
    /// Whether both halves give it the same sign; `None` where a half has none, or both are 0
    /// (the switch leaves S as it is).
    pub replicated: Option<bool>,
}

impl Effect {
    /// Whether its interval excludes 0.
    pub fn excludes_zero(&self) -> bool {
        matches!(self.interval, Some([low, high]) if low > 0.0 || high < 0.0)
    }

    /// `−0.35 [−0.55, −0.15], 19 and 20 seeds, both halves` (at `digits` decimals).
    pub fn text(&self, digits: usize) -> String {
        let seeds = if self.paired {
            format!("{} seeds paired", self.seeds[0])
        } else {
            seeds_text(self.seeds)
        };
        let halves = match self.replicated {
            Some(true) => ", both halves",
            Some(false) => ", not in both halves",
            None => "",
        };
        format!(
            "{}, {seeds}{halves}",
            value_and_interval(self.value, self.interval, digits, true)
        )
    }
}

/// `+0.36 [0.22, 0.50]`, `0.36 (no interval)` or `undefined`.
fn value_and_interval(
    value: Option<f64>,
    interval: Option<[f64; 2]>,
    digits: usize,
    signed: bool,
) -> String {
    let number = |x: f64| {
        if signed {
            format!("{x:+.digits$}")
        } else {
            format!("{x:.digits$}")
        }
        .replace('-', "−")
    };
    let plain = |x: f64| format!("{x:.digits$}").replace('-', "−");
    match (value, interval) {
        (None, _) => "undefined".into(),
        (Some(v), None) => format!("{} (no interval)", number(v)),
        (Some(v), Some([low, high])) => format!("{} [{}, {}]", number(v), plain(low), plain(high)),
    }
}

/// `20 seeds` or `19 and 20 seeds`.
fn seeds_text(seeds: impl IntoIterator<Item = usize>) -> String {
    let mut seeds: Vec<usize> = seeds.into_iter().collect();
    seeds.dedup();
    match seeds.as_slice() {
        [] => "no seeds".into(),
        [one] => format!("{one} seeds"),
        [rest @ .., last] => format!(
            "{} and {last} seeds",
            rest.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// S = the mean of one value per seed, above 0.
    const MEAN: Statistic = Statistic {
        what: "the mean",
        threshold: 0.0,
        side: Side::Above,
        exchangeable: None,
        combine: |m| Some(m[0]),
    };

    fn sample(values: &[(u64, f64)]) -> Sample {
        let mut g = Group::new(Task::Sort, 1);
        for &(seed, v) in values {
            g.push(seed, vec![v]);
        }
        Sample { groups: vec![g] }
    }

    #[test]
    fn the_verdict_is_the_side_of_the_threshold_the_interval_lies_on() {
        assert_eq!(MEAN.verdict(Some([0.1, 0.3])), Holds::Holds);
        assert_eq!(MEAN.verdict(Some([-0.3, -0.1])), Holds::DoesNotHold);
        assert_eq!(MEAN.verdict(Some([-0.1, 0.1])), Holds::Inconclusive);
        assert_eq!(MEAN.verdict(None), Holds::Inconclusive);
        let below = Statistic {
            side: Side::Below,
            threshold: 0.1,
            ..MEAN
        };
        assert_eq!(below.verdict(Some([0.0, 0.05])), Holds::Holds);
        assert_eq!(below.verdict(Some([0.2, 0.3])), Holds::DoesNotHold);
        assert_eq!(below.verdict(Some([0.05, 0.3])), Holds::Inconclusive);
    }

    #[test]
    fn too_few_seeds_give_no_verdict_but_keep_the_interval() {
        let few = sample(&[(1, 1.0), (2, 1.1), (3, 0.9), (4, 1.2)]);
        let m = MEAN.measure(&few);
        assert!(m.interval.is_some());
        assert_eq!(m.verdict, Holds::Inconclusive);
        let more = sample(&[(1, 1.0), (2, 1.1), (3, 0.9), (4, 1.2), (5, 1.0)]);
        assert_eq!(MEAN.measure(&more).verdict, Holds::Holds);
    }

    #[test]
    fn a_paired_effect_sees_through_the_seeds_spread_that_an_unpaired_one_cannot() {
        // Seeds spread widely; the switch adds 0.1 to every one of them.
        let seeds: Vec<(u64, f64)> = (1..=10).map(|s| (s, s as f64 - 5.5)).collect();
        let base = sample(&seeds);
        let switched = sample(&seeds.iter().map(|&(s, v)| (s, v + 0.1)).collect::<Vec<_>>());
        let paper = |s: u64| s <= 5;
        let paired = MEAN.effect(&base, &switched, true, paper);
        assert!((paired.value.unwrap() - 0.1).abs() < 1e-12);
        assert!(paired.excludes_zero(), "{:?}", paired.interval);
        assert_eq!(paired.seeds, [10, 10]);
        assert_eq!(paired.replicated, Some(true));
        let apart = MEAN.effect(&base, &switched, false, paper);
        assert!((apart.value.unwrap() - 0.1).abs() < 1e-12);
        assert!(!apart.excludes_zero(), "{:?}", apart.interval);
    }

    #[test]
    fn a_paired_effect_reads_only_the_seeds_both_analysed_and_halves_may_disagree() {
        let base = sample(&[(1, 0.0), (2, 0.0), (3, 0.0), (7, 0.0), (8, 0.0), (9, 0.0)]);
        // Seed 9 is not analysed under the switch; the first half rises, the second falls.
        let switched = sample(&[(1, 0.2), (2, 0.3), (3, 0.2), (7, -0.1), (8, -0.2)]);
        let e = MEAN.effect(&base, &switched, true, |s| s <= 3);
        assert_eq!(e.seeds, [5, 5]);
        assert!((e.value.unwrap() - 0.08).abs() < 1e-12);
        assert_eq!(e.replicated, Some(false));
        assert!(e.text(2).starts_with("+0.08 ["), "{}", e.text(2));
        assert!(
            e.text(2).ends_with("5 seeds paired, not in both halves"),
            "{}",
            e.text(2)
        );
    }

    #[test]
    fn texts_name_the_seeds_and_the_sign() {
        let m = MEAN.measure(&sample(&[(1, -1.0), (2, -1.0), (3, -1.0)]));
        assert_eq!(m.text(2), "−1.00 [−1.00, −1.00], 3 seeds");
        assert_eq!(seeds_text([19, 20]), "19 and 20 seeds");
        assert_eq!(seeds_text([20, 20]), "20 seeds");
    }
}
