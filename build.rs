//! Embeds the shipped sample events (`samples/cloudtrail/*`) so that `spelunk` without `--data` has
//! something to search from any working directory.

use std::fmt::Write;

fn main() {
    let dir = std::path::Path::new("samples/cloudtrail");
    println!("cargo:rerun-if-changed=samples/cloudtrail");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.is_file() && p.extension().is_some_and(|x| x == "json" || x == "ndjson"));
    files.sort();
    let mut out = String::from("pub const SAMPLES: &[(&str, &str)] = &[\n");
    for f in files {
        let abs = std::fs::canonicalize(&f).expect("sample path");
        println!("cargo:rerun-if-changed={}", f.display());
        let _ = writeln!(
            out,
            "    ({:?}, include_str!({:?})),",
            f.display().to_string(),
            abs.display().to_string()
        );
    }
    out.push_str("];\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("samples.rs");
    std::fs::write(dest, out).expect("write samples.rs");
    embed_datamodels();
}

/// Embeds the shipped data model definitions (`datamodels/*.json`).
fn embed_datamodels() {
    let dir = std::path::Path::new("datamodels");
    println!("cargo:rerun-if-changed=datamodels");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"));
    files.sort();
    let mut out = String::from(
        "/// The shipped data model files: (path in the repository, JSON text).\npub const SHIPPED_DATAMODELS: &[(&str, &str)] = &[\n",
    );
    for f in files {
        let abs = std::fs::canonicalize(&f).expect("data model path");
        println!("cargo:rerun-if-changed={}", f.display());
        let _ = writeln!(
            out,
            "    ({:?}, include_str!({:?})),",
            f.display().to_string(),
            abs.display().to_string()
        );
    }
    out.push_str("];\n");
    let dest =
        std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("datamodels.rs");
    std::fs::write(dest, out).expect("write datamodels.rs");
}
