//! Ranks, rank correlation and summary statistics (METHOD §7, §9), with the intervals that
//! across-seed figures carry: a seeded percentile bootstrap over seeds for means and ratios, a
//! Wilson interval for counts of seeds.

use serde::{Deserialize, Serialize};

use crate::engine::rng::{Rng, Stream};

/// The rank of each value: 1 for the smallest, ties given the average of the ranks they span
/// (scipy's `rankdata(method="average")`).
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end hold equal values: ranks start+1 ..= end, averaged.
        let average = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = average;
        }
        start = end;
    }
    ranks
}

/// Pearson correlation of two equally long samples; `None` when either is constant (or shorter
/// than two), where the correlation is undefined.
pub fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    assert_eq!(a.len(), b.len(), "samples of different lengths");
    let (mean_a, mean_b) = (mean(a)?, mean(b)?);
    let mut covariance = 0.0;
    let (mut var_a, mut var_b) = (0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        covariance += (x - mean_a) * (y - mean_b);
        var_a += (x - mean_a).powi(2);
        var_b += (y - mean_b).powi(2);
    }
    if a.len() < 2 || var_a == 0.0 || var_b == 0.0 {
        return None;
    }
    Some((covariance / (var_a * var_b).sqrt()).clamp(-1.0, 1.0))
}

/// Spearman's ρ: the Pearson correlation of the two rank vectors, ties averaged (scipy's
/// `spearmanr`). `None` when either sample is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    pearson(&ranks(a), &ranks(b))
}

/// The arithmetic mean; `None` for no values.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The sample standard deviation (n − 1 in the denominator); `None` for fewer than two values.
pub fn sample_std(values: &[f64]) -> Option<f64> {
    let m = mean(values)?;
    (values.len() >= 2).then(|| {
        let squares: f64 = values.iter().map(|x| (x - m).powi(2)).sum();
        (squares / (values.len() - 1) as f64).sqrt()
    })
}

/// The median (the mean of the middle two for an even count); `None` for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[mid]),
        _ => Some((sorted[mid - 1] + sorted[mid]) / 2.0),
    }
}

/// Resamples of the seeds behind each bootstrap interval (METHOD §9).
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// The seed of every bootstrap, so that an interval is the same on every run and machine.
pub const BOOTSTRAP_SEED: u64 = 9;

/// The normal quantile of a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// The 95% percentile-bootstrap interval of `statistic` over `n` items (seeds): `statistic`
/// gets the indices of one resample (drawn with replacement) and may be undefined on it (a ratio
/// whose denominator came out 0), and such resamples are left out. `None` for fewer than two
/// items, or when the statistic is undefined on half the resamples or more.
pub fn bootstrap_interval(
    n: usize,
    statistic: impl Fn(&[usize]) -> Option<f64>,
) -> Option<[f64; 2]> {
    grouped_interval(&[n], |sample| statistic(&sample[0]))
}

/// The 95% percentile-bootstrap interval of `statistic` over independent groups of items (the
/// seeds of each task, or of two sweeps), `sizes[g]` items in group `g`, each group resampled
/// on its own: `statistic` gets one resample's indices per group. Undefined resamples are left
/// out as in [`bootstrap_interval`], which this is for one group. `None` when a group has fewer
/// than two items, or when the statistic is undefined on half the resamples or more.
pub fn grouped_interval(
    sizes: &[usize],
    statistic: impl Fn(&[Vec<usize>]) -> Option<f64>,
) -> Option<[f64; 2]> {
    if sizes.is_empty() || sizes.iter().any(|&n| n < 2) {
        return None;
    }
    let mut rng = Rng::new(BOOTSTRAP_SEED, Stream::Bootstrap);
    let mut sample: Vec<Vec<usize>> = sizes.iter().map(|&n| vec![0; n]).collect();
    let mut values = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
    for _ in 0..BOOTSTRAP_RESAMPLES {
        for (group, &n) in sample.iter_mut().zip(sizes) {
            for slot in group.iter_mut() {
                *slot = rng.range(0, n - 1);
            }
        }
        values.extend(statistic(&sample));
    }
    if 2 * values.len() <= BOOTSTRAP_RESAMPLES {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some([quantile(&values, 0.025), quantile(&values, 0.975)])
}

/// The bootstrap interval of the mean of `values`.
pub fn mean_interval(values: &[f64]) -> Option<[f64; 2]> {
    bootstrap_interval(values.len(), |sample| {
        Some(sample.iter().map(|&i| values[i]).sum::<f64>() / sample.len() as f64)
    })
}

/// The bootstrap interval of `mean(a) − mean(b)` for two independent samples (the seeds of two
/// tasks), each resampled on its own; `None` when either has fewer than two values.
pub fn difference_interval(a: &[f64], b: &[f64]) -> Option<[f64; 2]> {
    let mean = |values: &[f64], sample: &[usize]| {
        sample.iter().map(|&i| values[i]).sum::<f64>() / sample.len() as f64
    };
    grouped_interval(&[a.len(), b.len()], |s| {
        Some(mean(a, &s[0]) - mean(b, &s[1]))
    })
}

/// The `q` quantile of sorted `values`, linearly interpolated (numpy's default).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64)
}

/// The 95% Wilson score interval of a proportion: `successes` of `trials`; `None` for no trials.
pub fn wilson_interval(successes: usize, trials: usize) -> Option<[f64; 2]> {
    if trials == 0 {
        return None;
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some([(centre - half).max(0.0), (centre + half).min(1.0)])
}

/// A mean ± sample standard deviation over `n` values, with a 95% bootstrap interval of the
/// mean; `None` where undefined (no values; one value for the deviation and the interval).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// The mean.
    pub mean: Option<f64>,
    /// The sample standard deviation.
    pub std: Option<f64>,
    /// The 95% bootstrap interval of the mean over the values (seeds).
    pub interval: Option<[f64; 2]>,
    /// Number of values.
    pub n: usize,
}

impl MeanStd {
    /// Of the defined values among `values`.
    pub fn of(values: impl IntoIterator<Item = Option<f64>>) -> Self {
        let values: Vec<f64> = values.into_iter().flatten().collect();
        Self {
            mean: mean(&values),
            std: sample_std(&values),
            interval: mean_interval(&values),
            n: values.len(),
        }
    }

    /// `0.72 ± 0.08 [0.67, 0.77] (n=9)`, with `scale` applied (100 for percentages).
    pub fn display(&self, scale: f64, digits: usize) -> String {
        let number = |x: Option<f64>| {
            x.map_or("—".to_string(), |x| {
                format!("{:.digits$}", x * scale + 0.0)
            })
        };
        format!(
            "{} ± {}{} (n={})",
            number(self.mean),
            number(self.std),
            interval_text(self.interval, scale, digits),
            self.n
        )
    }
}

/// ` [low, high]`, or nothing without an interval.
pub fn interval_text(interval: Option<[f64; 2]>, scale: f64, digits: usize) -> String {
    interval.map_or(String::new(), |[low, high]| {
        format!(
            " [{:.digits$}, {:.digits$}]",
            low * scale + 0.0,
            high * scale + 0.0
        )
    })
}

/// A derived number across seeds (a ratio of means) with its 95% bootstrap interval over the
/// seeds behind it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The value; `None` where undefined.
    pub value: Option<f64>,
    /// The 95% bootstrap interval.
    pub interval: Option<[f64; 2]>,
    /// The seeds behind it.
    pub n: usize,
}

impl Estimate {
    /// `mean(numerators) / mean(denominators)` over the seeds where both are defined, the
    /// interval from resampling those seeds together.
    pub fn ratio_of_means(pairs: impl IntoIterator<Item = (Option<f64>, Option<f64>)>) -> Self {
        let pairs: Vec<(f64, f64)> = pairs
            .into_iter()
            .filter_map(|(a, b)| Some((a?, b?)))
            .collect();
        let ratio = |sample: &mut dyn Iterator<Item = (f64, f64)>| {
            let (mut a, mut b) = (0.0, 0.0);
            for (x, y) in sample {
                a += x;
                b += y;
            }
            (b != 0.0).then(|| a / b)
        };
        Self {
            value: if pairs.is_empty() {
                None
            } else {
                ratio(&mut pairs.iter().copied())
            },
            interval: bootstrap_interval(pairs.len(), |sample| {
                ratio(&mut sample.iter().map(|&i| pairs[i]))
            }),
            n: pairs.len(),
        }
    }

    /// `2.1× [1.4, 3.0]`, or `—`.
    pub fn display_times(&self) -> String {
        self.value.map_or("—".into(), |x| {
            format!("{x:.1}×{}", interval_text(self.interval, 1.0, 1))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn ranks_start_at_one_for_the_smallest_and_average_ties() {
        assert_eq!(ranks(&[10.0, 30.0, 20.0]), vec![1.0, 3.0, 2.0]);
        // 5 and 5 share ranks 2 and 3; the three 7s share 4, 5, 6.
        assert_eq!(
            ranks(&[5.0, 1.0, 7.0, 5.0, 7.0, 7.0]),
            vec![2.5, 1.0, 5.0, 2.5, 5.0, 5.0]
        );
        assert_eq!(ranks(&[4.0, 4.0, 4.0]), vec![2.0, 2.0, 2.0]);
        assert!(ranks(&[]).is_empty());
    }

    #[test]
    fn spearman_matches_values_computed_by_hand() {
        // Perfect monotone agreement and disagreement.
        assert!(close(
            spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 35.0, 90.0]).unwrap(),
            1.0
        ));
        assert!(close(
            spearman(&[1.0, 2.0, 3.0, 4.0], &[9.0, 7.0, 5.0, 1.0]).unwrap(),
            -1.0
        ));
        // No ties: 1 - 6 Σd² / (n(n² - 1)); ranks (1,2,3,4,5) vs (2,1,4,3,5): Σd² = 4, ρ = 0.8.
        assert!(close(
            spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 1.0, 4.0, 3.0, 5.0]).unwrap(),
            0.8
        ));
        // With ties, the Pearson correlation of average ranks (scipy.stats.spearmanr):
        // a ranks (1, 2.5, 2.5, 4), b ranks (1, 2, 3, 4): r = 4.5 / sqrt(4.5 * 5) = 0.9486832980505138.
        let rho = spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert!(close(rho, 0.948_683_298_050_513_8), "{rho}");
    }

    #[test]
    fn spearman_is_undefined_when_a_sample_is_constant() {
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[0.0, 0.0, 0.0]), None);
        assert_eq!(spearman(&[1.0], &[2.0]), None);
    }

    #[test]
    fn mean_and_sample_std() {
        assert_eq!(mean(&[]), None);
        assert_eq!(sample_std(&[3.0]), None);
        assert!(close(mean(&[1.0, 2.0, 6.0]).unwrap(), 3.0));
        // Deviations -2, -1, 3: squares sum to 14, over n - 1 = 2: std = √7.
        assert!(close(sample_std(&[1.0, 2.0, 6.0]).unwrap(), 7f64.sqrt()));
    }

    #[test]
    fn median_of_odd_even_and_no_values() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn wilson_intervals_match_published_values() {
        // 9 of 10: (0.5958, 0.9821); 0 of 10: (0, 0.2775); 5 of 10: (0.2366, 0.7634).
        let [low, high] = wilson_interval(9, 10).unwrap();
        assert!((low - 0.5958).abs() < 1e-4 && (high - 0.9821).abs() < 1e-4);
        let [low, high] = wilson_interval(0, 10).unwrap();
        assert!(low == 0.0 && (high - 0.2775).abs() < 1e-4);
        let [low, high] = wilson_interval(5, 10).unwrap();
        assert!((low - 0.2366).abs() < 1e-4 && (high - 0.7634).abs() < 1e-4);
        assert_eq!(wilson_interval(0, 0), None);
    }

    #[test]
    fn bootstrap_intervals_cover_the_mean_and_narrow_with_more_seeds() {
        let few = [0.1, 0.5, 0.3, 0.7, 0.2];
        let [low, high] = mean_interval(&few).unwrap();
        let m = mean(&few).unwrap();
        assert!(low < m && m < high && low >= 0.1 && high <= 0.7);
        // The same spread over four times the seeds: about half as wide.
        let many: Vec<f64> = few.iter().cycle().take(20).copied().collect();
        let [low4, high4] = mean_interval(&many).unwrap();
        let ratio = (high4 - low4) / (high - low);
        assert!((0.35..0.65).contains(&ratio), "width ratio {ratio}");
        // Seeded: the same interval every time.
        assert_eq!(mean_interval(&few), Some([low, high]));
        // Constant values: a point; one value: none.
        assert_eq!(mean_interval(&[0.5, 0.5, 0.5]), Some([0.5, 0.5]));
        assert_eq!(mean_interval(&[0.4]), None);
        // Two samples: the interval of the difference of means covers it, and a clear
        // difference excludes 0.
        let [low, high] = difference_interval(&[0.8, 0.7, 0.9, 0.75], &few).unwrap();
        let difference = 0.7875 - 0.36;
        assert!(low > 0.0 && low < difference && difference < high);
        assert_eq!(difference_interval(&[0.8], &few), None);
        // A statistic undefined on most resamples has no interval.
        assert_eq!(
            bootstrap_interval(3, |s| (s == [0, 1, 2]).then_some(1.0)),
            None
        );
    }

    #[test]
    fn mean_std_skips_undefined_values() {
        let m = MeanStd::of([Some(1.0), None, Some(3.0)]);
        assert_eq!((m.mean, m.n), (Some(2.0), 2));
        assert_eq!(m.interval, Some([1.0, 3.0]));
        assert!((m.std.unwrap() - 2f64.sqrt()).abs() < 1e-12);
        let one = MeanStd::of([Some(5.0)]);
        assert_eq!((one.mean, one.std, one.n), (Some(5.0), None, 1));
        assert_eq!(one.interval, None);
        assert_eq!(MeanStd::of([None]).display(1.0, 2), "— ± — (n=0)");
    }
}
