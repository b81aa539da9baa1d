//! Golden cases: `tests/golden/<case>/` holds `query.spl`, `events*` files, optional `args`,
//! `expected.csv` (exact stdout of `spelunk run --format csv`), optional `expected_stderr` (lines that must
//! each appear in stderr) and `exit`, and `notes.md` with the Splunk rule behind each expected row.
//! See tests/golden/README.md. Every case runs; all failures are reported together with a diff.
//!
//! Setup for cases that write lookups: when `args` mentions `{lookups}`, the case's `lookups/` folder is
//! copied into a fresh temporary folder whose path replaces `{lookups}`, so `outputlookup` never changes
//! the checked-in tables; afterwards each file in the case's `expected_lookups/` must equal the file of
//! the same name in that temporary folder.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Every folder of tests/golden: each is a case, complete or not (an incomplete one fails).
fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/golden")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// What a case folder lacks: its search, the notes behind its rows, or an expected outcome (the rows,
/// or for an error an `exit` code with the `expected_stderr` lines).
fn incomplete(dir: &Path) -> Vec<&'static str> {
    let has = |f: &str| dir.join(f).is_file();
    let mut missing = Vec::new();
    if !has("query.spl") {
        missing.push("query.spl");
    }
    if !has("notes.md") {
        missing.push("notes.md (the Splunk rule behind each expected row)");
    }
    let expects = has("expected.csv") || (has("exit") && has("expected_stderr"));
    if !expects {
        missing.push("expected.csv, or `exit` with `expected_stderr` for an error");
    }
    missing
}

fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => out.push_str(&format!("   {x}\n")),
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!(" - {x}\n"));
                }
                if let Some(y) = y {
                    out.push_str(&format!(" + {y}\n"));
                }
            }
        }
    }
    out
}

/// Run one case; `Err` describes how it failed.
fn run_case(dir: &Path) -> Result<(), String> {
    let missing = incomplete(dir);
    if !missing.is_empty() {
        return Err(format!("the case folder lacks {}", missing.join("; ")));
    }
    let mut args: Vec<String> = vec!["run".into(), "--format".into(), "csv".into()];
    let mut extra: Vec<String> = std::fs::read_to_string(dir.join("args"))
        .map(|s| {
            s.lines()
                .map(str::to_string)
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let scratch = if extra.iter().any(|a| a.contains("{lookups}")) {
        let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
        let src = dir.join("lookups");
        for entry in std::fs::read_dir(&src)
            .map_err(|e| format!("{}: {e}", src.display()))?
            .flatten()
        {
            std::fs::copy(entry.path(), tmp.path().join(entry.file_name()))
                .map_err(|e| e.to_string())?;
        }
        let path = tmp.path().to_string_lossy().into_owned();
        for a in &mut extra {
            *a = a.replace("{lookups}", &path);
        }
        Some(tmp)
    } else {
        None
    };
    if !extra.iter().any(|a| a == "--data") {
        let mut events: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("events"))
            .collect();
        events.sort();
        for e in events {
            args.push("--data".into());
            args.push(e);
        }
    }
    args.extend(extra);
    args.push("-f".into());
    args.push("query.spl".into());
    let out = Command::new(env!("CARGO_BIN_EXE_spelunk"))
        .args(&args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let mut problems = Vec::new();
    let want_exit: i32 = std::fs::read_to_string(dir.join("exit"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    if out.status.code() != Some(want_exit) {
        problems.push(format!(
            "exit code {:?}, expected {want_exit}",
            out.status.code()
        ));
    }
    // an error leaves stdout empty (nothing of a partial result is printed)
    if want_exit != 0 && !stdout.is_empty() {
        problems.push(format!(
            "exit {want_exit} expects an empty stdout, got:\n{stdout}"
        ));
    }
    if let Ok(expected) = std::fs::read_to_string(dir.join("expected.csv")) {
        let norm = |s: &str| s.replace("\r\n", "\n").trim_end_matches('\n').to_string();
        if norm(&expected) != norm(&stdout) {
            problems.push(format!(
                "stdout differs (- expected, + actual):\n{}",
                diff(&norm(&expected), &norm(&stdout))
            ));
        }
    }
    if let Ok(lines) = std::fs::read_to_string(dir.join("expected_stderr")) {
        for l in lines.lines().filter(|l| !l.trim().is_empty()) {
            if !stderr.contains(l) {
                problems.push(format!("stderr lacks `{l}`"));
            }
        }
    }
    if let (Some(tmp), Ok(entries)) = (&scratch, std::fs::read_dir(dir.join("expected_lookups"))) {
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let want = std::fs::read_to_string(e.path()).unwrap_or_default();
            let got = std::fs::read_to_string(tmp.path().join(e.file_name()))
                .unwrap_or_else(|_| "(missing)".into());
            let norm = |s: &str| s.replace("\r\n", "\n").trim_end_matches('\n').to_string();
            if norm(&want) != norm(&got) {
                problems.push(format!(
                    "lookup {} differs (- expected, + actual):\n{}",
                    e.file_name().to_string_lossy(),
                    diff(&norm(&want), &norm(&got))
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n  stderr:\n{}", problems.join("\n"), stderr))
    }
}

#[test]
fn an_incomplete_case_folder_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let lacks = |d: &Path| run_case(d).err().unwrap_or_default();
    assert!(lacks(dir).contains("query.spl"), "{}", lacks(dir));
    std::fs::write(dir.join("query.spl"), "| makeresults | eval x=1 | table x").unwrap();
    assert!(lacks(dir).contains("notes.md"), "{}", lacks(dir));
    std::fs::write(dir.join("notes.md"), "one row, x=1").unwrap();
    assert!(lacks(dir).contains("expected.csv"), "{}", lacks(dir));
    // an exit code alone is not an expectation
    std::fs::write(dir.join("exit"), "2").unwrap();
    assert!(lacks(dir).contains("expected.csv"), "{}", lacks(dir));
    std::fs::remove_file(dir.join("exit")).unwrap();
    std::fs::write(dir.join("expected.csv"), "x\n1\n").unwrap();
    assert_eq!(run_case(dir), Ok(()));
    // and a wrong expectation fails
    std::fs::write(dir.join("expected.csv"), "x\n2\n").unwrap();
    assert!(lacks(dir).contains("stdout differs"), "{}", lacks(dir));
}

#[test]
fn golden_cases() {
    let cases = cases();
    assert!(
        cases.len() >= 50,
        "expected the golden cases to be present, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for dir in &cases {
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if let Err(e) = run_case(dir) {
            failures.push(format!("--- {name}\n{e}"));
        }
    }
    if !failures.is_empty() {
        panic!(
            "{} of {} golden cases failed:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }
}
