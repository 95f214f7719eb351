//! Where the tensors live: the CPU (Burn's pure-Rust `flex` backend) or a GPU through wgpu
//! (Vulkan/Metal/DX12 natively, WebGPU in the browser). One code path serves both; acquiring a GPU
//! is asynchronous so that a browser never blocks.

use std::fmt;
use std::sync::OnceLock;

use crate::engine::named::named_enum;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

named_enum! {
    /// A compute backend.
    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Backend("backend") {
        /// Burn's `flex` backend on the CPU.
        Cpu = "cpu",
        /// wgpu: Vulkan, Metal or DX12 natively; WebGPU in a browser.
        Wgpu = "wgpu",
    }
}

impl Backend {
    /// Opens the backend's default device. The GPU is acquired once per process; later calls
    /// share it (Burn's wgpu runtime cannot be initialised twice).
    pub async fn device(self) -> Result<Device, BackendError> {
        static GPU: OnceLock<Device> = OnceLock::new();
        match self {
            Backend::Cpu => Ok(Device::flex()),
            Backend::Wgpu => {
                if let Some(device) = GPU.get() {
                    return Ok(device.clone());
                }
                match Device::wgpu_options().init_async().await {
                    Ok(device) => Ok(GPU.get_or_init(|| device).clone()),
                    // Another caller initialised the runtime while this one waited.
                    Err(_) if GPU.get().is_some() => Ok(GPU.get().expect("set").clone()),
                    Err(e) => Err(BackendError(format!(
                        "no usable GPU adapter through wgpu: {e}"
                    ))),
                }
            }
        }
    }
}

/// A backend that could not be opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendError(pub String);

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BackendError {}

/// How many independent pieces of work (evaluation batches, say) to run at once on `device`:
/// natively on the CPU backend, one per thread of rayon's pool, each piece's operations then
/// running on a thread of their own instead of waiting on each other's small steps; one on a
/// GPU (its queue already runs everything it is given) and in a browser (one thread per worker).
pub fn parallel_width(device: &Device) -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    if *device == Device::flex() {
        return rayon::current_num_threads();
    }
    let _ = device;
    1
}

/// `0..count` in consecutive ranges of [`parallel_width`] items each (the last may be shorter):
/// the rounds of a loop that reports progress after each [`map_parallel`] over a range.
pub fn parallel_rounds(
    device: &Device,
    count: usize,
) -> impl Iterator<Item = std::ops::Range<usize>> {
    let width = parallel_width(device);
    (0..count)
        .step_by(width)
        .map(move |start| start..(start + width).min(count))
}

/// `work(i)` for each `i` of `items`, in order, [`parallel_width`] at a time: on rayon's threads
/// where that is more than one, else one after another.
pub fn map_parallel<T: Send>(
    device: &Device,
    items: std::ops::Range<usize>,
    work: impl Fn(usize) -> T + Sync + Send,
) -> Vec<T> {
    #[cfg(not(target_arch = "wasm32"))]
    if parallel_width(device) > 1 {
        use rayon::prelude::*;
        return items.into_par_iter().map(work).collect();
    }
    let _ = device;
    items.map(work).collect()
}

/// Whether [`keep_threads_polling`] keeps threads polling: unless `GRADCAUSE_WAIT_POLICY` is
/// `passive`.
pub fn threads_wait_actively() -> bool {
    std::env::var("GRADCAUSE_WAIT_POLICY").map_or(true, |policy| policy != "passive")
}

/// How long a thread kept polling by [`keep_threads_polling`] goes on without finding work
/// before it stops and may sleep: longer than the gaps between a training step's parallel
/// loops, short enough that a finished step leaves no thread busy for long.
#[cfg(not(target_arch = "wasm32"))]
const POLL_WHILE_IDLE: std::time::Duration = std::time::Duration::from_millis(1);

/// Has rayon's other threads poll for work until they have found none for a millisecond,
/// instead of going to sleep as soon as they run out, so that each of a training step's many
/// small parallel loops starts on them at once instead of first waking a sleeping thread (a futex
/// call, and on a virtual machine often an interrupt to a halted virtual CPU). OpenMP's threads,
/// PyTorch's, wait the same way. Called at the start of each step. A polling thread runs the jobs
/// it finds, so a job it was itself waiting in resumes at most a millisecond after the threads
/// run out of work. Does nothing in a browser, on a GPU, on one thread, or where
/// `GRADCAUSE_WAIT_POLICY=passive` is set (for a machine shared with other work; like OpenMP's
/// `OMP_WAIT_POLICY`).
pub fn keep_threads_polling(device: &Device) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::cell::Cell;
        use std::time::Instant;
        thread_local! {
            /// Whether this thread is polling already (further up its stack).
            static POLLING: Cell<bool> = const { Cell::new(false) };
        }
        if parallel_width(device) < 2 || !threads_wait_actively() {
            return;
        }
        let caller = rayon::current_thread_index();
        rayon::spawn_broadcast(move |context| {
            if Some(context.index()) == caller || POLLING.get() {
                return;
            }
            POLLING.set(true);
            let mut idle_since = Instant::now();
            while idle_since.elapsed() < POLL_WHILE_IDLE {
                // Runs a queued job, this thread's or another's, where there is one.
                if rayon::yield_now() == Some(rayon::Yield::Executed) {
                    idle_since = Instant::now();
                } else {
                    std::hint::spin_loop();
                }
            }
            POLLING.set(false);
        });
    }
    #[cfg(target_arch = "wasm32")]
    let _ = device;
}
