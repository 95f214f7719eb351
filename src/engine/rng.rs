//! Seeded random streams that give the same numbers on every platform.
//!
//! METHOD §1: every random stream (data, weight init, evaluation sets, ...) is derived from the
//! run's seed, so a seed gives the same data on every backend and machine, native or wasm. The
//! generator is xoshiro256** seeded through SplitMix64; both are defined by a few lines of integer
//! arithmetic, so the sequence never changes with a dependency's version.

/// What a random stream is used for. Each purpose gets its own independent stream of a seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Initial weights of the model.
    WeightInit,
    /// Training batches.
    TrainData,
    /// The fresh training-distribution examples of the periodic evaluations.
    TrainEval,
    /// The fixed out-of-distribution evaluation set of one sequence length.
    OodEval(usize),
    /// The window's fresh sample of one sequence length (`eval.window_sample`).
    WindowSample(usize),
    /// The fresh examples of C as published (`analysis.causal_sample`).
    CausalSample,
    /// Choices made by the analysis (resample derangements, attention examples).
    Analysis,
    /// Resamples of seeds for the bootstrap intervals across seeds.
    Bootstrap,
    /// Random relabellings of a layer's heads, for the test of a head keeping its role.
    Relabel,
}

impl Stream {
    /// A distinct 64-bit tag per stream.
    fn tag(self) -> u64 {
        match self {
            Stream::WeightInit => 1,
            Stream::TrainData => 2,
            Stream::TrainEval => 3,
            Stream::Analysis => 4,
            Stream::Bootstrap => 5,
            Stream::CausalSample => 6,
            Stream::Relabel => 7,
            Stream::OodEval(length) => 0x100 + length as u64,
            Stream::WindowSample(length) => 0x10_000 + length as u64,
        }
    }
}

/// One step of SplitMix64: advances `state` and returns a well-mixed output.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A xoshiro256** generator.
#[derive(Clone, Debug)]
pub struct Rng {
    state: [u64; 4],
}

impl Rng {
    /// The generator of one purpose of one seed.
    pub fn new(seed: u64, stream: Stream) -> Self {
        let mut mixer = seed;
        let seed_word = splitmix64(&mut mixer);
        let mut mixer = seed_word ^ stream.tag().wrapping_mul(0xD1B5_4A32_D192_ED03);
        let state = std::array::from_fn(|_| splitmix64(&mut mixer));
        Self { state }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = &mut self.state;
        let result = s1.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = *s1 << 17;
        *s2 ^= *s0;
        *s3 ^= *s1;
        *s1 ^= *s2;
        *s0 ^= *s3;
        *s2 ^= t;
        *s3 = s3.rotate_left(45);
        result
    }

    /// A uniform integer in `low..=high` (unbiased, by rejection).
    pub fn range(&mut self, low: usize, high: usize) -> usize {
        assert!(low <= high, "empty range {low}..={high}");
        let span = (high - low) as u64 + 1;
        // The largest multiple of `span` that fits, so every residue is equally likely.
        let zone = u64::MAX - (u64::MAX - span + 1) % span;
        loop {
            let x = self.next_u64();
            if x <= zone {
                return low + (x % span) as usize;
            }
        }
    }

    /// A uniform float in `[0, 1)` with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal sample (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // in (0, 1], so the log is finite
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A random permutation of `0..n` (Fisher–Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, self.range(0, i));
        }
        order
    }

    /// A uniformly random derangement of `0..n`: a permutation that moves every element (by
    /// rejection; about e tries). With fewer than two elements none exists and the identity is
    /// returned.
    pub fn derangement(&mut self, n: usize) -> Vec<usize> {
        if n < 2 {
            return (0..n).collect();
        }
        loop {
            let p = self.permutation(n);
            if p.iter().enumerate().all(|(i, &j)| i != j) {
                return p;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let draw = |seed, stream| {
            let mut rng = Rng::new(seed, stream);
            (0..8).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(42, Stream::TrainData), draw(42, Stream::TrainData));
        assert_ne!(draw(42, Stream::TrainData), draw(43, Stream::TrainData));
        assert_ne!(draw(42, Stream::TrainData), draw(42, Stream::TrainEval));
        assert_ne!(draw(42, Stream::OodEval(8)), draw(42, Stream::OodEval(9)));
    }

    #[test]
    fn range_covers_its_bounds_uniformly() {
        let mut rng = Rng::new(7, Stream::TrainData);
        let mut counts = [0usize; 5];
        for _ in 0..50_000 {
            counts[rng.range(3, 7) - 3] += 1;
        }
        for count in counts {
            assert!((9_000..11_000).contains(&count), "{counts:?}");
        }
    }

    #[test]
    fn normal_has_unit_variance() {
        let mut rng = Rng::new(1, Stream::WeightInit);
        let samples: Vec<f64> = (0..100_000).map(|_| rng.normal()).collect();
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / samples.len() as f64;
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
    }

    #[test]
    fn derangements_move_every_element() {
        let mut rng = Rng::new(5, Stream::Analysis);
        for n in 2..40 {
            let mut d = rng.derangement(n);
            assert!(d.iter().enumerate().all(|(i, &j)| i != j));
            d.sort_unstable();
            assert_eq!(d, (0..n).collect::<Vec<_>>());
        }
        assert_eq!(rng.derangement(1), vec![0]);
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut rng = Rng::new(5, Stream::Analysis);
        let mut p = rng.permutation(64);
        p.sort_unstable();
        assert_eq!(p, (0..64).collect::<Vec<_>>());
    }
}
