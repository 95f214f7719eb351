//! The process's memory allocator, set for Burn's CPU backend.
//!
//! Burn's `flex` backend allocates a fresh buffer for every operation's output (twice, in fact:
//! `FlexTensor::empty` allocates zeroed bytes, then copies them into a 16-byte-aligned
//! allocation). glibc's defaults serve buffers above its (dynamic) mmap threshold straight from
//! the kernel and return the top of the heap on free, so a training step of the paper's model
//! page-faulted 1,000 to 5,000 fresh pages (4 to 19 MiB) every time, at a few microseconds each.
//! Keeping freed memory in the heap lets each step reuse the last one's pages: about 10 faults a
//! step (`gradcause bench` prints them; BENCHMARKS.md has the step times before and after).

/// glibc's `mallopt` parameters (malloc.h).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    pub const M_TRIM_THRESHOLD: i32 = -1;
    pub const M_TOP_PAD: i32 = -2;
    pub const M_MMAP_THRESHOLD: i32 = -3;

    unsafe extern "C" {
        pub fn mallopt(param: i32, value: i32) -> i32;
    }
}

/// The environment variables through which a user sets glibc's allocator themselves.
const GLIBC_VARIABLES: [&str; 4] = [
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "GLIBC_TUNABLES",
];

/// Serves allocations below 64 MiB from the heap and keeps up to 256 MiB of freed memory there,
/// growing it 16 MiB at a time: after the first step, the steps allocate without page faults.
/// Left as it is where the user set glibc's allocator through its environment variables, and
/// on other platforms.
pub fn keep_freed_memory() {
    if GLIBC_VARIABLES
        .iter()
        .any(|name| std::env::var_os(name).is_some())
    {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets allocator parameters; it is called before any other thread
    // exists, and an unaccepted value leaves the parameter as it was.
    unsafe {
        const MIB: i32 = 1 << 20;
        glibc::mallopt(glibc::M_MMAP_THRESHOLD, 64 * MIB);
        glibc::mallopt(glibc::M_TRIM_THRESHOLD, 256 * MIB);
        glibc::mallopt(glibc::M_TOP_PAD, 16 * MIB);
    }
}
