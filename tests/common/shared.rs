//! The reference material beside the repository (`../shared`: the security_content checkout and the real
//! event samples) for the tests that need it. Where it is absent such a test prints `SKIPPED: <why>` and
//! passes; under CI (`CI=true` in the environment) it fails instead, so that a run missing the material
//! cannot look green. Every test that reads `../shared` goes through [`shared`] (the crate's own unit
//! tests include this file too).

use std::path::{Path, PathBuf};

/// `../shared/<rel>` when it exists; otherwise `None` after printing `SKIPPED: <why> ...`, or a panic
/// under CI.
pub fn shared(rel: &str, why: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(rel);
    if p.exists() {
        return Some(p);
    }
    let msg = format!("SKIPPED: {why}: `{}` is absent", p.display());
    if in_ci() {
        panic!("{msg}, and CI=true: the reference material must be present in CI");
    }
    println!("{msg}");
    eprintln!("{msg}");
    None
}

/// Is this a CI run (`CI=true`, as CI services set it)?
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}
