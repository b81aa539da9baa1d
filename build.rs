//! Embeds the shipped sample events (`samples/cloudtrail/*`), so that `spelunk` without `--data` has
//! something to search from any working directory, and the shipped data model definitions
//! (`datamodels/*.json`).

use std::fmt::Write;

fn main() {
    embed(
        "samples/cloudtrail",
        &["json", "ndjson"],
        "",
        "SAMPLES",
        "samples.rs",
    );
    embed(
        "datamodels",
        &["json"],
        "/// The shipped data model files: (path in the repository, JSON text).\n",
        "SHIPPED_DATAMODELS",
        "datamodels.rs",
    );
}

/// Writes `$OUT_DIR/<dest>` holding `pub const <name>: &[(&str, &str)]`: each file of `dir` whose extension
/// is one of `exts`, by path, with its text.
fn embed(dir: &str, exts: &[&str], doc: &str, name: &str, dest: &str) {
    println!("cargo:rerun-if-changed={dir}");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.is_file() && p.extension().is_some_and(|x| exts.iter().any(|e| x == *e)));
    files.sort();
    let mut out = format!("{doc}pub const {name}: &[(&str, &str)] = &[\n");
    for f in files {
        let abs = std::fs::canonicalize(&f).expect("embedded file path");
        println!("cargo:rerun-if-changed={}", f.display());
        let _ = writeln!(
            out,
            "    ({:?}, include_str!({:?})),",
            f.display().to_string(),
            abs.display().to_string()
        );
    }
    out.push_str("];\n");
    let path = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join(dest);
    std::fs::write(path, out).expect("write the embedded files");
}
