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
    // GLIBC_TUNABLES set (to anything) means the user configures the allocator: glibc's
    // defaults then return large buffers to the kernel, and the steps fault them in again
    // (900 to 5,000 pages a step seen, fewer as glibc's mmap threshold adapts).
    let untouched = page_faults_per_step(&[("GLIBC_TUNABLES", "")]);
    assert!(
        untouched > 3.0 * tuned.max(100.0),
        "{untouched} page faults a step with glibc's defaults, {tuned} tuned"
    );
}
