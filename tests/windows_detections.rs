//! The published detections of `../shared/data/windows/xmlwineventlog/DETECTIONS.tsv` — those that search
//! events directly and those that start with `| tstats` over the shipped CIM data models — run unchanged over
//! their own test data and give what Splunk gives: at least one row where Splunk fires, none where it would not (with the reason in
//! `tests/windows_detections/expectations.tsv`), and for the cases with a folder of their own the exact rows
//! worked out by hand. See `tests/windows_detections/README.md`.

use std::path::Path;
use std::process::Command;

#[path = "common/shared.rs"]
mod shared;

struct Listed {
    file: String,
    name: String,
    data: String,
    source: String,
    sourcetype: String,
}

fn listed(dir: &Path) -> Vec<Listed> {
    let text = std::fs::read_to_string(dir.join("DETECTIONS.tsv")).expect("read DETECTIONS.tsv");
    text.lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let get = |i: usize| c.get(i).copied().unwrap_or("").to_string();
            let data = if get(4).is_empty() { get(3) } else { get(4) };
            Listed {
                file: get(0),
                name: get(1),
                data,
                source: get(5),
                sourcetype: get(6),
            }
        })
        .collect()
}

#[test]
fn direct_search_detections_give_splunks_rows() {
    let Some(content) = shared::shared("security_content", "published detections") else {
        return;
    };
    let Some(dir) = shared::shared("data/windows/xmlwineventlog", "real Windows events") else {
        return;
    };
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/windows_detections");
    let expectations =
        std::fs::read_to_string(here.join("expectations.tsv")).expect("read expectations.tsv");
    let expect: Vec<Vec<&str>> = expectations
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    let mut failures = Vec::new();
    let mut checked = 0;
    let all = listed(&dir);
    let mut seen: Vec<&str> = Vec::new();
    for d in &all {
        // a detection whose test has several data files runs over all of them together
        if seen.contains(&d.name.as_str()) {
            continue;
        }
        seen.push(&d.name);
        let files: Vec<&Listed> = all.iter().filter(|x| x.name == d.name).collect();
        let Some(e) = expect.iter().find(|e| e.first() == Some(&d.name.as_str())) else {
            failures.push(format!("{}: no line in expectations.tsv", d.name));
            continue;
        };
        checked += 1;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_spelunk"));
        cmd.args(["run", "--format", "csv", "--limit", "0", "--content"])
            .arg(&content)
            .arg(&d.name);
        for f in &files {
            cmd.arg("--data").arg(dir.join(&f.data));
            // Windows events name their own source (`XmlWinEventLog:<Channel>`); others get the test's
            if !f.source.starts_with("XmlWinEventLog") {
                cmd.args(["--source", &f.source, "--sourcetype", &f.sourcetype]);
            }
        }
        let out = cmd.output().expect("run spelunk");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let rows = stdout.lines().count().saturating_sub(1);
        let want = e.get(1).copied().unwrap_or("");
        if want == "refused" {
            // spelunk stops with an error naming what it lacks (never a silent wrong answer)
            let why = e.get(2).copied().unwrap_or("");
            if out.status.code() != Some(2) || !stderr.contains(why) || !stdout.is_empty() {
                failures.push(format!(
                    "{} over {}: expected a refusal naming `{why}`, got exit {:?}\n{stderr}",
                    d.name,
                    d.data,
                    out.status.code()
                ));
            }
            continue;
        }
        if !out.status.success() {
            failures.push(format!(
                "{} over {}: exit {:?}\n{stderr}",
                d.name,
                d.data,
                out.status.code()
            ));
            continue;
        }
        match want {
            "rows" if rows == 0 => failures.push(format!(
                "{} over {}: no rows, Splunk fires\n{stderr}",
                d.name, d.data
            )),
            "none" if rows > 0 => failures.push(format!(
                "{} over {}: {rows} rows, Splunk gives none ({})",
                d.name,
                d.data,
                e.get(2).copied().unwrap_or("")
            )),
            "rows" | "none" => {}
            other => failures.push(format!("{}: unknown expectation `{other}`", d.name)),
        }
        let stem = Path::new(&d.file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let case = here.join(&stem);
        if case.is_dir() {
            let expected =
                std::fs::read_to_string(case.join("expected.csv")).expect("expected.csv");
            assert!(case.join("notes.md").exists(), "{stem}: notes.md");
            if stdout != expected {
                failures.push(format!(
                    "{} over {}: rows differ\n--- expected\n{expected}--- got\n{stdout}",
                    d.name, d.data
                ));
            }
        }
    }
    assert!(checked >= 28, "only {checked} detections checked");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `spelunk test --content ... --attack-data ...` runs security_content's own test blocks of the detections in
/// DETECTIONS.tsv (their `attack_data` URLs mapped onto the local copy) with contentctl's rule — a test passes
/// when the search gives at least one row — and every outcome is the one `expectations.tsv` explains: `rows`
/// passes, `none` and `refused` fail (Splunk would not fire either, or spelunk names what it lacks). A test whose
/// file the local copy keeps under another name (DETECTIONS.tsv's `local_file_if_different`) is skipped, naming
/// the path that was looked for.
#[test]
fn security_content_tests_run_over_the_attack_data() {
    let Some(content) = shared::shared("security_content", "published detections") else {
        return;
    };
    let Some(dir) = shared::shared("data/windows/xmlwineventlog", "real Windows events") else {
        return;
    };
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/windows_detections");
    let expectations =
        std::fs::read_to_string(here.join("expectations.tsv")).expect("read expectations.tsv");
    let text = std::fs::read_to_string(dir.join("DETECTIONS.tsv")).expect("read DETECTIONS.tsv");
    let mut files: Vec<String> = Vec::new();
    // detection file → (name, renamed locally)
    let mut listed: Vec<(String, String, bool)> = Vec::new();
    for l in text.lines().skip(1) {
        let c: Vec<&str> = l.split('\t').collect();
        let (Some(file), Some(name)) = (c.first(), c.get(1)) else {
            continue;
        };
        let renamed = c.get(4).is_some_and(|x| !x.is_empty());
        let path = content.join(file).to_string_lossy().into_owned();
        if !files.contains(&path) {
            files.push(path.clone());
            listed.push((path, name.to_string(), renamed));
        } else if renamed {
            if let Some(x) = listed.iter_mut().find(|x| x.0 == path) {
                x.2 = true;
            }
        }
    }
    let junit = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_spelunk"))
        .arg("test")
        .arg("--content")
        .arg(&content)
        .arg("--attack-data")
        .arg(&dir)
        .arg("--junit")
        .arg(junit.path())
        .args(&files)
        .output()
        .expect("run spelunk test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut failures = Vec::new();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (path, name, renamed) in &listed {
        let Some(line) = stdout.lines().find(|l| l.contains(&format!("{path} :: "))) else {
            failures.push(format!("{name}: no result line"));
            continue;
        };
        let status = line.split_whitespace().next().unwrap_or("");
        let want = expectations
            .lines()
            .find(|l| l.split('\t').next() == Some(name.as_str()))
            .and_then(|l| l.split('\t').nth(1))
            .unwrap_or("");
        let ok = match status {
            "SKIP" => {
                skipped += 1;
                *renamed
            }
            "PASS" => {
                passed += 1;
                want == "rows"
            }
            "FAIL" => {
                failed += 1;
                want == "none"
            }
            // the search stopped with an error naming what spelunk lacks
            "ERROR" => {
                failed += 1;
                want == "refused"
            }
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{name}: {status}, expected `{want}` (renamed locally: {renamed})\n{line}"
            ));
        }
    }
    assert!(passed >= 19, "only {passed} passed\n{stdout}");
    assert!(
        stdout.contains(&format!(
            "{passed} passed, {failed} failed, {skipped} skipped"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("is not under"),
        "a skip names the path looked for"
    );
    let xml = std::fs::read_to_string(junit.path()).unwrap();
    assert!(
        xml.contains("<testsuite") && xml.contains("<skipped"),
        "{xml}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
