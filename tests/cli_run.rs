//! `spelunk run` as a user meets it: what goes to stdout and stderr, and the exit code, for warnings about
//! files, refused searches, `--limit 0`, and running detections, baselines and analytic stories of a
//! security_content checkout by name (a crafted checkout here; the real one where `../shared` is present).

use std::path::Path;
use std::process::Command;

#[path = "common/shared.rs"]
mod shared;

struct Out {
    stdout: String,
    stderr: String,
    code: i32,
}

fn spelunk(dir: &Path, args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_spelunk"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run spelunk");
    Out {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

fn event(name: &str, user: &str, minute: u32) -> String {
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","userName":"{user}"}},"eventTime":"2024-03-10T10:{minute:02}:00Z","eventSource":"s3.amazonaws.com","eventName":"{name}","eventType":"AwsApiCall"}}"#
    )
}

#[test]
fn only_files_read_to_their_end_are_called_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    // more files than one batch of reading takes, each with one event, and an empty one read last
    for i in 0..12 {
        std::fs::write(
            data.join(format!("f{i:02}.json")),
            event("ListBuckets", "bob", 59 - i) + "\n",
        )
        .unwrap();
    }
    std::fs::write(data.join("zz_empty.json"), "").unwrap();
    // `head 2` stops the reading after the first files: the others are not called empty
    let o = spelunk(
        tmp.path(),
        &[
            "run",
            "--format",
            "csv",
            "--data",
            "data",
            "eventName=* | head 2 | table eventName",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "eventName\nListBuckets\nListBuckets\n");
    assert!(!o.stderr.contains("no events"), "{}", o.stderr);
    // read to the end, the empty file is reported, and only it
    let o = spelunk(
        tmp.path(),
        &[
            "run",
            "--format",
            "csv",
            "--data",
            "data",
            "eventName=* | stats count",
        ],
    );
    assert_eq!(o.stdout, "count\n12\n");
    assert_eq!(
        o.stderr.matches("no events in this file").count(),
        1,
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("zz_empty.json: no events in this file"),
        "{}",
        o.stderr
    );
}

#[test]
fn a_refused_search_prints_nothing_on_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("e.json"),
        event("ListBuckets", "bob", 1) + "\n",
    )
    .unwrap();
    for format in ["csv", "json", "table"] {
        for q in [
            "| mstats count where index=m | table a b",
            "eventName=* | table a b | tstats count",
            "eventName=* | eval x=1 | rex field=x \"(?<y>(?|a|b))\" | table x",
        ] {
            let o = spelunk(
                tmp.path(),
                &["run", "--format", format, "--data", "e.json", q],
            );
            assert_eq!(o.code, 2, "{q}: {}", o.stderr);
            assert_eq!(o.stdout, "", "{format} {q}: stdout must stay empty");
            assert!(o.stderr.starts_with("error: "), "{}", o.stderr);
        }
    }
}

#[test]
fn limit_zero_prints_every_row_in_run_and_in_the_shell() {
    let tmp = tempfile::tempdir().unwrap();
    // kept rows (sort) and rows printed as they come (a final table)
    for q in [
        "| makeresults count=150 | eval n=1 | table n | sort n",
        "| makeresults count=150 | eval n=1 | table n",
    ] {
        let o = spelunk(tmp.path(), &["run", "--format", "csv", "--limit", "0", q]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert_eq!(
            o.stdout.lines().filter(|l| l.ends_with('1')).count(),
            150,
            "{q}: {}",
            o.stdout
        );
        assert!(!o.stderr.contains("--limit"), "{}", o.stderr);
        let o = spelunk(tmp.path(), &["run", "--format", "csv", "--limit", "3", q]);
        assert_eq!(
            o.stdout.lines().filter(|l| l.ends_with('1')).count(),
            3,
            "{q}"
        );
        assert!(
            o.stderr.contains("3 of 150 rows printed (--limit)"),
            "{}",
            o.stderr
        );
    }
    // the shell: 0 is all rows too (its default is 100)
    let shell = |limit: &[&str]| {
        let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_spelunk"))
            .current_dir(tmp.path())
            .env("SPELUNK_HISTORY", tmp.path().join("history"))
            .args(["repl", "--format", "csv"])
            .args(limit)
            .write_stdin("| makeresults count=150 | eval n=1 | table n\n")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| *l == "1")
            .count()
    };
    assert_eq!(shell(&["--limit", "0"]), 150);
    assert_eq!(shell(&[]), 100);
}

/// A tiny security_content checkout: a story with a detection and two baselines (one deprecated), the
/// detection reading the table the baseline writes, and a detection of another story.
fn tiny_content(root: &Path) {
    let w = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    w(
        "content/macros/cloudtrail.yml",
        "definition: sourcetype=aws:cloudtrail\nname: cloudtrail\n",
    );
    w("content/stories/tiny.yml", "name: Tiny Story\nid: 1\n");
    w("content/stories/other.yml", "name: Other Story\nid: 2\n");
    w(
        "content/detections/cloud/tiny_detection.yml",
        "name: Tiny Detection\ntype: TTP\nsearch: '| inputlookup tiny_seen.csv | stats sum(count) as total'\ntags:\n  analytic_story:\n  - Tiny Story\n",
    );
    w(
        "content/detections/cloud/other_detection.yml",
        "name: Other Detection\nsearch: '`cloudtrail` | stats count'\ntags:\n  analytic_story:\n  - Other Story\n",
    );
    w(
        "content/baselines/tiny_baseline.yml",
        "name: Tiny Baseline\ntype: Baseline\nsearch: '`cloudtrail` eventName=* | stats count by eventName | outputlookup tiny_seen.csv'\ntags:\n  analytic_story:\n  - Tiny Story\n",
    );
    w(
        "content/baselines/deprecated/old_baseline.yml",
        "name: Old Baseline\ntype: Baseline\nsearch: '`cloudtrail` | stats dc(userIdentity.userName) as users'\ntags:\n  analytic_story:\n  - Tiny Story\n",
    );
    let events = [
        event("ListBuckets", "bob", 3),
        event("GetObject", "alice", 2),
        event("ListBuckets", "alice", 1),
    ];
    w("events.json", &(events.join("\n") + "\n"));
    std::fs::create_dir_all(root.join("tables")).unwrap();
}

#[test]
fn a_story_runs_its_baselines_then_its_detections() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_content(tmp.path());
    let common = [
        "run",
        "--format",
        "csv",
        "--content",
        "content",
        "--lookups",
        "tables",
        "--data",
        "events.json",
    ];
    let o = spelunk(
        tmp.path(),
        &[&common[..], &["--story", "tiny story"]].concat(),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    // baselines first (the deprecated one too; each kind in path order), then the detection, which reads
    // the table a baseline wrote
    assert_eq!(
        o.stdout,
        "== baseline 1: Old Baseline\nusers\n2\n\n\
         == baseline 2: Tiny Baseline\neventName,count\nGetObject,1\nListBuckets,2\n\n\
         == detection 3: Tiny Detection\ntotal\n3\n"
    );
    assert!(
        o.stderr.contains("story `Tiny Story`: 3 searches"),
        "{}",
        o.stderr
    );
    assert!(!o.stdout.contains("Other"), "{}", o.stdout);

    // a baseline runs by name, like a detection
    let o = spelunk(tmp.path(), &[&common[..], &["Old Baseline"]].concat());
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "users\n2\n");
    assert!(o.stderr.contains("old_baseline.yml"), "{}", o.stderr);

    // a misspelt name gets the nearest one
    let o = spelunk(tmp.path(), &[&common[..], &["Tiny Baselin"]].concat());
    assert_eq!(o.code, 2);
    assert_eq!(o.stdout, "");
    assert!(
        o.stderr.contains("(did you mean `Tiny Baseline`?)"),
        "{}",
        o.stderr
    );
    let o = spelunk(tmp.path(), &[&common[..], &["tiny_detectoin"]].concat());
    assert!(
        o.stderr.contains("(did you mean `tiny_detection`?)"),
        "{}",
        o.stderr
    );
    let o = spelunk(
        tmp.path(),
        &[&common[..], &["--story", "Tiny Stroy"]].concat(),
    );
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("no analytic story named `Tiny Stroy`"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("(did you mean `Tiny Story`?)"),
        "{}",
        o.stderr
    );
    // --story needs --content
    let o = spelunk(tmp.path(), &["run", "--story", "Tiny Story"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("--content"), "{}", o.stderr);
}

#[test]
fn a_story_goes_on_after_a_search_that_fails() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_content(tmp.path());
    // without --lookups the baseline cannot write its table: it fails, the others still run
    let o = spelunk(
        tmp.path(),
        &[
            "run",
            "--format",
            "csv",
            "--content",
            "content",
            "--data",
            "events.json",
            "--story",
            "Tiny Story",
        ],
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(!o.stdout.contains("Tiny Baseline"), "{}", o.stdout);
    assert_eq!(
        o.stdout, "== baseline 1: Old Baseline\nusers\n2\n",
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("== baseline 2: Tiny Baseline ("),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("== detection 3: Tiny Detection ("),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr
            .contains("2 of 3 searches of `Tiny Story` could not run"),
        "{}",
        o.stderr
    );
}

#[test]
fn the_real_story_and_its_baselines_run_by_name() {
    let why = "runs the AWS User Monitoring story of the real security_content checkout";
    let (Some(content), Some(data)) = (
        shared::shared("security_content", why),
        shared::shared("data/cloudtrail", why),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (content, data) = (content.to_string_lossy(), data.to_string_lossy());
    let common = [
        "run",
        "--format",
        "csv",
        "--content",
        &*content,
        "--data",
        &*data,
        "--lookups",
        ".",
    ];
    let o = spelunk(
        tmp.path(),
        &[&common[..], &["Baseline of API Calls per User ARN"]].concat(),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("baselines/deprecated/baseline_of_api_calls_per_user_arn.yml"),
        "{}",
        o.stderr
    );
    // the baseline ends in `outputlookup ... | stats count`: one count of the users it wrote
    let mut lines = o.stdout.lines();
    assert_eq!(lines.next(), Some("count"));
    let n: u64 = lines.next().and_then(|l| l.parse().ok()).expect("a count");
    assert!(n > 10, "{}", o.stdout);

    let o = spelunk(
        tmp.path(),
        &[&common[..], &["--story", "AWS User Monitoring"]].concat(),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let titles: Vec<&str> = o.stdout.lines().filter(|l| l.starts_with("== ")).collect();
    // the story's four baselines (two deprecated) come before its detections
    let kinds: Vec<bool> = titles
        .iter()
        .map(|t| t.starts_with("== baseline"))
        .collect();
    assert_eq!(kinds.iter().filter(|b| **b).count(), 4, "{titles:?}");
    assert!(kinds.windows(2).all(|w| w[0] || !w[1]), "{titles:?}");
    for name in [
        "Baseline of API Calls per User ARN",
        "Create a list of approved AWS service accounts",
        "Detect Spike in AWS API Activity",
        "AWS Excessive Security Scanning",
    ] {
        assert!(
            titles.iter().any(|t| t.ends_with(&format!(": {name}"))),
            "{name}: {titles:?}"
        );
    }
}

#[test]
fn missing_reference_material_is_skipped_or_fails_under_ci() {
    let r = std::panic::catch_unwind(|| shared::shared("no/such/folder", "a test of the helper"));
    if shared::in_ci() {
        assert!(r.is_err(), "under CI=true a missing folder fails");
    } else {
        assert!(
            matches!(r, Ok(None)),
            "without CI a missing folder is SKIPPED"
        );
    }
}

/// A user's data model file (`--datamodels`) replaces the shipped model of the same `modelName` as a whole:
/// its datasets, constraints and calculations are the ones `tstats` reads, and the shipped datasets it does
/// not have are gone.
#[test]
fn a_users_data_model_replaces_the_shipped_one() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("e.json"),
        [
            event("ListBuckets", "bob", 1),
            event("GetObject", "bob", 2),
            event("GetObject", "alice", 3),
        ]
        .join("\n")
            + "\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("Endpoint.json"),
        r#"{"modelName": "Endpoint", "objects": [
          {"objectName": "Processes", "parentName": "BaseEvent",
           "constraints": [{"search": "eventSource=s3.amazonaws.com"}],
           "fields": [{"fieldName": "_time"}, {"fieldName": "eventName"}],
           "calculations": [{"calculationType": "Eval", "expression": "upper(eventName)",
                             "outputFields": [{"fieldName": "process_name"}]}]}]}"#,
    )
    .unwrap();
    let q = "| tstats count dc(Processes.eventName) AS n from datamodel=Endpoint.Processes by Processes.process_name";
    let o = spelunk(
        tmp.path(),
        &[
            "run",
            "--format",
            "csv",
            "--data",
            "e.json",
            "--datamodels",
            "Endpoint.json",
            q,
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout,
        "Processes.process_name,count,n\nGETOBJECT,2,1\nLISTBUCKETS,1,1\n"
    );
    // the shipped Endpoint.Processes selects `tag=process tag=report` events: none of these
    let o = spelunk(
        tmp.path(),
        &["run", "--format", "csv", "--data", "e.json", q],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout.lines().skip(1).count(), 0, "{}", o.stdout);
    // the user's model has no Registry dataset: the shipped one is not merged in
    let o = spelunk(
        tmp.path(),
        &[
            "run",
            "--data",
            "e.json",
            "--datamodels",
            "Endpoint.json",
            "| tstats count from datamodel=Endpoint.Registry",
        ],
    );
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("no dataset `Registry`"), "{}", o.stderr);
}
