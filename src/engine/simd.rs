//! How wide the vectors are that the project's CPU kernels ([`crate::engine::kernels`]) run on: natively
//! on x86-64 the widest this CPU has (SSE2, AVX2 or AVX-512), taken at run time, or narrower where
//! [`limit_to`] asks for it (the tests run every width the CPU has; `gradcause bench --simd`
//! compares them). Every width gives the same values bit for bit: the kernels do the same IEEE
//! operations lane by lane. The browser's build runs SIMD128.
//!
//! The matrix products are `gemm`'s, which picks its own kernels (AVX-512 ones included, through
//! its `x86-v4` feature, which this crate's `avx512` feature turns on); those do change rounding
//! between AVX2 and AVX-512, so a report records the level ([`crate::experiment::provenance`]) and
//! a model trained on one may differ from the same seed trained on the other (training amplifies
//! the last bits). A build without `avx512` tops at AVX2, products included.

use std::sync::atomic::{AtomicU8, Ordering};

/// A vector width the kernels can run at, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Four lanes: x86-64's baseline (SSE2), or the browser's SIMD128.
    Baseline,
    /// Eight lanes (AVX2).
    Avx2,
    /// Sixteen lanes (AVX-512F).
    Avx512,
}

impl Level {
    /// Every level, narrowest first.
    pub const ALL: [Level; 3] = [Level::Baseline, Level::Avx2, Level::Avx512];

    /// Its name in reports and on the command line: `sse2`, `avx2`, `avx512` (`simd128` in the
    /// browser, `baseline` on other CPUs).
    pub fn name(self) -> &'static str {
        match self {
            Level::Baseline if cfg!(target_arch = "x86_64") => "sse2",
            Level::Baseline if cfg!(target_arch = "wasm32") => "simd128",
            Level::Baseline => "baseline",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }
}

impl std::str::FromStr for Level {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Level::ALL
            .into_iter()
            .find(|level| level.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Level::ALL.iter().map(|l| l.name()).collect();
                format!(
                    "`{text}` is not a SIMD level; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// The widest level this CPU has (AVX2 at most in a build without the `avx512` feature, whose
/// products go no wider either).
pub fn widest() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        if cfg!(feature = "avx512") && std::arch::is_x86_feature_detected!("avx512f") {
            return Level::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return Level::Avx2;
        }
    }
    Level::Baseline
}

/// The levels this CPU has, narrowest first.
pub fn available() -> Vec<Level> {
    let widest = widest();
    Level::ALL.into_iter().filter(|&l| l <= widest).collect()
}

/// The widest level the kernels may use (`u8::MAX`: no limit).
static LIMIT: AtomicU8 = AtomicU8::new(u8::MAX);

/// Keeps the kernels at `level` or narrower from now on, in every thread (the widest the CPU
/// has, to lift the limit). The values stay the same; only the speed changes.
pub fn limit_to(level: Level) {
    LIMIT.store(level as u8, Ordering::Relaxed);
}

/// The level the kernels run at now: the widest the CPU has, within the limit.
pub fn current() -> Level {
    let (limit, widest) = (LIMIT.load(Ordering::Relaxed), widest());
    Level::ALL
        .into_iter()
        .rev()
        .find(|&l| l <= widest && l as u8 <= limit)
        .unwrap_or(Level::Baseline)
}
