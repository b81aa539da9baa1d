//! `spelunk test`: the shipped detection test cases pass in CI; crafted cases that pass, fail, error and
//! skip give the right lines, summary, JUnit report and exit status; `--bless` rewrites expectations.

use std::path::Path;
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn spelunk(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spelunk"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run spelunk")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A folder with CloudTrail events: bob makes 3 calls, alice 1 (`errorCode` absent: success).
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let ev = |t: &str, user: &str, name: &str| {
        format!(
            r#"{{"eventVersion":"1.08","eventTime":"{t}","eventSource":"s3.amazonaws.com","eventName":"{name}","userIdentity":{{"type":"IAMUser","userName":"{user}","arn":"arn:aws:iam::111122223333:user/{user}"}}}}"#
        )
    };
    let lines = [
        ev("2024-03-01T10:04:00Z", "alice", "ListBuckets"),
        ev("2024-03-01T10:03:00Z", "bob", "GetObject"),
        ev("2024-03-01T10:02:00Z", "bob", "ListBuckets"),
        ev("2024-03-01T10:01:00Z", "bob", "GetObject"),
    ];
    std::fs::write(dir.path().join("events.ndjson"), lines.join("\n") + "\n").unwrap();
    dir
}

#[test]
fn the_seed_detection_cases_pass() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let o = spelunk(
        Path::new(ROOT),
        &[
            "test",
            "tests/detections",
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    let out = stdout(&o);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.ends_with("6 passed, 0 failed\n"), "{out}");
    assert_eq!(out.matches("PASS  tests/detections/").count(), 6, "{out}");
    let x = std::fs::read_to_string(&junit).unwrap();
    assert!(
        x.contains(r#"<testsuites name="spelunk" tests="6" failures="0" errors="0" skipped="0""#),
        "{x}"
    );
    assert!(
        x.contains(r#"name="shipped lookups, no service accounts listed""#),
        "{x}"
    );
}

#[test]
fn passing_failing_erroring_and_skipped_cases() {
    let dir = fixture();
    std::fs::write(dir.path().join("wrong.csv"), "user,count\nbob,3\nalice,2\n").unwrap();
    std::fs::write(
        dir.path().join("suite.yml"),
        r#"search: '`cloudtrail` | stats count by user'
tests:
- name: right rows
  attack_data: [{data: events.ndjson, sourcetype: 'aws:cloudtrail'}]
  rows:
  - {user: alice, count: 1}
  - {user: bob, count: 3}
  ordered: true
- name: right count and fields
  attack_data: [{data: events.ndjson}]
  count: 2
  fields: [user, count]
  contains: [{user: bob}]
- name: wrong count
  attack_data: [{data: events.ndjson}]
  count: 3
- name: wrong rows
  attack_data: [{data: events.ndjson}]
  rows: wrong.csv
- name: missing data file
  attack_data: [{data: nosuch.ndjson}]
  count: 1
- name: remote data
  attack_data:
  - data: https://media.githubusercontent.com/media/splunk/attack_data/master/datasets/x/y.log
    sourcetype: aws:cloudtrail
    source: aws_cloudtrail
"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("parse_error.yml"),
        "search: '`cloudtrail` | statz count'\ntests:\n- name: typo\n  attack_data: [{data: events.ndjson}]\n",
    )
    .unwrap();
    let o = spelunk(dir.path(), &["test", ".", "--junit", "j.xml"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("PASS  ./suite.yml :: right rows ("), "{out}");
    assert!(
        out.contains("PASS  ./suite.yml :: right count and fields ("),
        "{out}"
    );
    assert!(out.contains("FAIL  ./suite.yml :: wrong count ("), "{out}");
    assert!(out.contains("      expected 3 row(s), got 2\n"), "{out}");
    assert!(out.contains("FAIL  ./suite.yml :: wrong rows ("), "{out}");
    assert!(
        out.contains("      - {count=2, user=alice}\n      + {count=1, user=alice}\n"),
        "{out}"
    );
    assert!(
        out.contains("ERROR ./suite.yml :: missing data file ("),
        "{out}"
    );
    assert!(out.contains("nosuch.ndjson"), "{out}");
    assert!(
        out.contains("SKIP  ./suite.yml :: remote data (0 ms)\n      data not present locally"),
        "{out}"
    );
    assert!(out.contains("ERROR ./parse_error.yml :: typo ("), "{out}");
    assert!(
        out.contains("unknown command `statz` (did you mean `stats`?)"),
        "{out}"
    );
    assert!(out.ends_with("2 passed, 4 failed, 1 skipped\n"), "{out}");

    let x = std::fs::read_to_string(dir.path().join("j.xml")).unwrap();
    assert!(
        x.contains(r#"tests="7" failures="2" errors="2" skipped="1""#),
        "{x}"
    );
    assert!(
        x.contains(r#"<failure message="expected 3 row(s), got 2">"#),
        "{x}"
    );
    assert!(
        x.contains("<error message=\"error: unknown command `statz` (did you mean `stats`?)\">"),
        "{x}"
    );
    assert!(
        x.contains("<skipped message=\"data not present locally"),
        "{x}"
    );
    assert!(
        x.contains(r#"<testcase classname="./suite.yml" name="right rows""#),
        "{x}"
    );

    // with a local copy of attack_data, the remote case runs (and finds rows: min_rows 1 by default)
    let copy = dir.path().join("attack_data/datasets/x");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(dir.path().join("events.ndjson"), copy.join("y.log")).unwrap();
    let o = spelunk(
        dir.path(),
        &["test", "suite.yml", "--attack-data", "attack_data"],
    );
    let out = stdout(&o);
    assert!(out.contains("PASS  suite.yml :: remote data ("), "{out}");
    assert!(out.ends_with("3 passed, 3 failed\n"), "{out}");
}

#[test]
fn a_detection_yaml_with_security_content_tests_runs() {
    let dir = fixture();
    std::fs::write(
        dir.path().join("s3_reads.yml"),
        r#"name: S3 reads by user
id: 00000000-0000-0000-0000-000000000000
search: '`cloudtrail` eventName=GetObject | stats count by user | `s3_reads_by_user_filter`'
tests:
- name: True Positive Test
  attack_data:
  - data: events.ndjson
    source: aws_cloudtrail
    sourcetype: aws:cloudtrail
- name: nothing listed
  attack_data:
  - data: events.ndjson
  contains: [{user: alice}]
"#,
    )
    .unwrap();
    let o = spelunk(dir.path(), &["test", "s3_reads.yml"]);
    let out = stdout(&o);
    assert!(
        out.contains("PASS  s3_reads.yml :: True Positive Test ("),
        "{out}"
    );
    assert!(
        out.contains("FAIL  s3_reads.yml :: nothing listed ("),
        "{out}"
    );
    assert!(
        out.contains("expected a row containing {user=alice}"),
        "{out}"
    );
    assert!(out.ends_with("1 passed, 1 failed\n"), "{out}");
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn bless_writes_the_actual_rows() {
    let dir = fixture();
    std::fs::write(dir.path().join("expected.csv"), "user,count\nbob,9\n").unwrap();
    std::fs::write(
        dir.path().join("t.yml"),
        "search: '`cloudtrail` | stats count by user'\ntests:\n- name: counts\n  attack_data: [{data: events.ndjson}]\n  rows: expected.csv\n- name: new file\n  attack_data: [{data: events.ndjson}]\n  rows: new.csv\n",
    )
    .unwrap();
    let o = spelunk(dir.path(), &["test", "t.yml"]);
    let out = stdout(&o);
    assert!(
        out.contains("does not exist (run with --bless to create it)"),
        "{out}"
    );
    assert_eq!(o.status.code(), Some(1));

    let o = spelunk(dir.path(), &["test", "t.yml", "--bless"]);
    let out = stdout(&o);
    assert!(out.contains("BLESS t.yml :: counts ("), "{out}");
    assert!(
        out.contains("wrote 2 row(s) to `expected.csv` as the new expectation"),
        "{out}"
    );
    assert!(out.ends_with("0 passed, 0 failed, 2 blessed\n"), "{out}");
    assert_eq!(o.status.code(), Some(0));
    let csv = std::fs::read_to_string(dir.path().join("expected.csv")).unwrap();
    assert_eq!(csv, "user,count\nalice,1\nbob,3\n");
    assert!(dir.path().join("new.csv").is_file());

    let o = spelunk(dir.path(), &["test", "t.yml"]);
    assert!(
        stdout(&o).ends_with("2 passed, 0 failed\n"),
        "{}",
        stdout(&o)
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn usage_errors_exit_2() {
    let dir = fixture();
    let o = spelunk(dir.path(), &["test", "nosuch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("`nosuch` does not exist"));
    std::fs::write(dir.path().join("plain.yml"), "name: x\nsearch: y\n").unwrap();
    let o = spelunk(dir.path(), &["test", "plain.yml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("has no `tests:` list"));
}

#[test]
fn summary_yaml_counts_detections_and_tests() {
    let dir = fixture();
    let det = |name: &str, tests: &str| {
        format!("name: {name}\nsearch: '`cloudtrail` | stats count by user'\ntests:\n{tests}")
    };
    std::fs::write(
        dir.path().join("a_pass.yml"),
        det(
            "Passing Detection",
            "- name: True Positive Test\n  test_type: unit\n  attack_data: [{data: events.ndjson, sourcetype: 'aws:cloudtrail'}]\n",
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b_fail.yml"),
        det(
            "Failing Detection",
            "- name: right count\n  attack_data: [{data: events.ndjson}]\n  count: 2\n- name: wrong count\n  attack_data: [{data: events.ndjson}]\n  count: 5\n",
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("c_skip.yml"),
        det(
            "Skipped Detection",
            "- name: True Positive Test\n  attack_data:\n  - data: https://media.githubusercontent.com/media/splunk/attack_data/master/datasets/q/r.log\n",
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("ad")).unwrap();
    let o = spelunk(
        dir.path(),
        &[
            "test",
            ".",
            "--summary",
            "s.yml",
            "--junit",
            "j.xml",
            "--attack-data",
            "ad",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(dir.path().join("j.xml").exists());
    let y = std::fs::read_to_string(dir.path().join("s.yml")).unwrap();
    let doc: serde_json::Value =
        spelunk::check::from_yaml(&y).unwrap_or_else(|e| panic!("{e}\n{y}"));
    let s = &doc["summary"];
    assert_eq!(s["success"], false, "{y}");
    assert_eq!(s["total_detections"], 3, "{y}");
    assert_eq!(s["total_tested_detections"], 2, "{y}");
    assert_eq!(s["total_pass"], 1, "{y}");
    assert_eq!(s["total_fail"], 1, "{y}");
    assert_eq!(s["total_skipped"], 1, "{y}");
    assert_eq!(s["success_rate"], "50.0%", "{y}");
    let d = doc["tested_detections"].as_array().unwrap();
    assert_eq!(d.len(), 3, "{y}");
    assert_eq!(d[0]["name"], "Passing Detection");
    assert_eq!(d[0]["path"], "./a_pass.yml");
    let t = &d[0]["tests"][0];
    assert_eq!(t["name"], "True Positive Test");
    assert_eq!(t["test_type"], "unit");
    assert_eq!(t["success"], true);
    assert_eq!(t["message"], "TEST PASSED");
    assert_eq!(t["resultCount"], 2);
    assert!(t["duration"].as_f64().is_some_and(|x| x >= 0.0), "{y}");
    let f = d[1]["tests"].as_array().unwrap();
    assert_eq!(
        (f[0]["success"].clone(), f[1]["success"].clone()),
        (true.into(), false.into())
    );
    assert_eq!(f[1]["message"], "expected 5 row(s), got 2", "{y}");
    assert_eq!(f[1]["resultCount"], 2);
    let k = &d[2]["tests"][0];
    assert_eq!(k["success"], false);
    assert_eq!(k["status"], "skip");
    assert_eq!(k["resultCount"], serde_json::Value::Null);
    let msg = k["message"].as_str().unwrap();
    assert!(msg.contains("looked for `ad/datasets/q/r.log`"), "{msg}");
}
