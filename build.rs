//! Records the commit and profile a build was made from, for the reports' provenance
//! (`src/experiment/provenance.rs`).

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "unknown".to_string(), |s| s.trim().to_string());
    // A build of changes not yet committed is not that commit's build.
    let dirty = Command::new("git")
        .args([
            "diff",
            "--quiet",
            "HEAD",
            "--",
            "src",
            "build.rs",
            "Cargo.toml",
            "Cargo.lock",
        ])
        .status()
        .is_ok_and(|s| s.code() == Some(1));
    let commit = if dirty {
        format!("{commit}+uncommitted")
    } else {
        commit
    };
    println!("cargo:rustc-env=GRADCAUSE_COMMIT={commit}");
    let profile = std::env::var("PROFILE").unwrap_or_default();
    let opt_level = std::env::var("OPT_LEVEL").unwrap_or_default();
    println!("cargo:rustc-env=GRADCAUSE_PROFILE={profile}, opt-level {opt_level}");
    // A new commit or checkout changes HEAD or the ref it points to; an edit, the sources.
    for path in [
        ".git/HEAD",
        ".git/refs/heads",
        ".git/packed-refs",
        "src",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
