//! Where and by which build a report's stages ran, and which revision of METHOD.md its numbers
//! follow. The same seed trained on another CPU or by another build is another model (other
//! kernels, other rounding), so every report says where it was made.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::progress::Observer;

/// The revision of `METHOD.md` this build's analysis follows (its date). Reports made before
/// revisions were recorded followed an earlier contract (mean ablation per position, G on two
/// matrices a component, Figure 4 divided by √N) and are not compared with these.
pub const METHOD_REVISION: &str = "2026-12-02";

/// The machine a stage ran on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// The CPU's model name (natively), or the browser's description of itself.
    pub cpu: String,
    /// The widest vectors the project's kernels used: `avx512`, `avx2`, `sse2` (x86-64),
    /// `simd128` (the browser), or `baseline` ([`crate::engine::simd`]). `gemm`'s matrix products take
    /// the widest the CPU has, and round differently on AVX-512 than on AVX2.
    pub simd: String,
    /// Threads the CPU work ran on.
    pub threads: usize,
}

/// The build that ran a stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Build {
    /// The commit it was built from (`unknown` outside a git checkout).
    pub commit: String,
    /// Cargo's profile and optimisation level.
    pub profile: String,
}

impl Build {
    /// This build.
    pub fn this() -> Self {
        Self {
            commit: env!("GRADCAUSE_COMMIT").to_string(),
            profile: env!("GRADCAUSE_PROFILE").to_string(),
        }
    }
}

/// Where, by what and how long one stage (training, the analysis) ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Made {
    /// The machine.
    pub machine: Machine,
    /// The build.
    pub build: Build,
    /// Wall-clock seconds the stage took.
    pub seconds: f64,
    /// Where those seconds went, by the steps the stage reports progress on ([`StageClock`]);
    /// empty where not recorded.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub steps: BTreeMap<String, f64>,
}

impl Made {
    /// A stage that ran here, on this build, in `seconds`.
    pub fn here(seconds: f64) -> Self {
        Self {
            machine: Machine::this(threads()),
            build: Build::this(),
            seconds,
            steps: BTreeMap::new(),
        }
    }

    /// This record with the time of each step of the stage.
    pub fn with_steps(mut self, steps: BTreeMap<String, f64>) -> Self {
        self.steps = steps;
        self
    }
}

/// An [`Observer`] that also times the steps of a computation: each progress report's time since
/// the one before is added to its step. Work after the last report of a step and before the next
/// report is counted with the next; what follows the last report is the stage's total less the
/// steps.
pub struct StageClock<'a, O> {
    inner: &'a mut O,
    last: f64,
    steps: BTreeMap<String, f64>,
}

impl<'a, O: Observer> StageClock<'a, O> {
    /// Starts timing now, passing progress on to `inner`.
    pub fn new(inner: &'a mut O) -> Self {
        Self {
            inner,
            last: now(),
            steps: BTreeMap::new(),
        }
    }

    /// Seconds per step so far.
    pub fn steps(&self) -> BTreeMap<String, f64> {
        self.steps.clone()
    }
}

impl<O: Observer> Observer for StageClock<'_, O> {
    async fn progress(&mut self, stage: &str, done: usize, total: usize) {
        let reported = now();
        *self.steps.entry(stage.to_string()).or_default() += reported - self.last;
        self.inner.progress(stage, done, total).await;
        // Time the caller spends drawing progress is not the computation's.
        self.last = now();
    }
}

impl Machine {
    /// This machine, running on `threads` threads.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn this(threads: usize) -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, name)| name.trim().to_string())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_string());
        Self {
            cpu,
            simd: crate::engine::simd::current().name().to_string(),
            threads,
        }
    }

    /// The browser, as its user agent names it.
    #[cfg(target_arch = "wasm32")]
    pub fn this(threads: usize) -> Self {
        // `navigator.userAgent` of the window or the worker, whichever this is.
        let field = |object: &js_sys::wasm_bindgen::JsValue, name: &str| {
            js_sys::Reflect::get(object, &name.into()).ok()
        };
        let agent = field(&js_sys::global().into(), "navigator")
            .and_then(|navigator| field(&navigator, "userAgent"))
            .and_then(|agent| agent.as_string())
            .unwrap_or_else(|| "browser".to_string());
        Self {
            cpu: agent,
            simd: crate::engine::simd::current().name().to_string(),
            threads,
        }
    }
}

/// The threads CPU work runs on here: rayon's pool natively, one in the browser.
pub fn threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    {
        rayon::current_num_threads()
    }
    #[cfg(target_arch = "wasm32")]
    {
        1
    }
}

/// Measures a stage's wall-clock time, natively and in the browser (where `std::time` has no
/// clock).
pub struct Stopwatch {
    started: f64,
}

impl Stopwatch {
    /// Starts now.
    pub fn start() -> Self {
        Self { started: now() }
    }

    /// Seconds since the start.
    pub fn seconds(&self) -> f64 {
        now() - self.started
    }
}

/// Seconds on a monotonic-enough clock.
fn now() -> f64 {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::sync::OnceLock;
        use std::time::Instant;
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64()
    }
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now() / 1000.0
    }
}
