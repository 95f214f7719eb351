//! The command-line tool keeps freed memory for the next training step (src/cli/allocator.rs),
//! and leaves glibc's allocator alone where the user configured it. Counted in page faults,
//! which `gradcause bench` reads from the kernel; Linux with glibc only.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

use std::process::Command;

/// Minor page faults per timed training step of `gradcause bench`, with `env` set.
fn page_faults_per_step(env: &[(&str, &str)]) -> f64 {
    let json = std::env::temp_dir().join(format!(
        "gradcause-allocator-{}-{}.json",
        std::process::id(),
        env.len()
    ));
    let output = Command::new(env!("CARGO_BIN_EXE_gradcause"))
        .args(["bench", "--steps", "3", "--warmup", "2", "--json"])
        .arg(&json)
        .envs(env.iter().copied())
        .output()
        .expect("gradcause runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let figures: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("bench wrote its JSON"))
            .expect("bench JSON parses");
    std::fs::remove_file(&json).ok();
    figures["steps"][0]["page_faults_per_step"]
        .as_f64()
        .expect("page faults are counted on Linux")
}

#[test]
fn training_steps_reuse_freed_memory_unless_the_user_set_glibc_allocator() {
    // A step allocates some 20 MiB of intermediates; reused, almost none of it is fresh from
    // the kernel (tens of pages a step seen).
    let tuned = page_faults_per_step(&[]);
    assert!(tuned < 500.0, "{tuned} page faults a step");
    // GLIBC_TUNABLES set means the user configures the allocator, and it is left alone. Set here
    // to glibc's own default mmap threshold, fixed: large buffers then come from the kernel and
    // go back to it on every step (thousands of pages a step). Not left empty: glibc's default
    // threshold adapts to the first large free, so the count then depends on when that comes
    // (170 a step seen once, against 900 to 5,000 usually), and the test failed by chance.
    let untouched =
        page_faults_per_step(&[("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=131072")]);
    assert!(
        untouched > 3.0 * tuned.max(100.0),
        "{untouched} page faults a step with glibc's defaults, {tuned} tuned"
    );
}
