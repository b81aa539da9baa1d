//! `spelunk check` on small crafted detections, one kind of problem each, in text and JSON.

use std::path::Path;
use std::process::{Command, Output};

fn spelunk(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spelunk"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run spelunk")
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn detection(search: &str) -> String {
    format!("name: Crafted\nsearch: '{}'\n", search.replace('\'', "''"))
}

fn crafted() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "a_ok.yml",
        &detection("`cloudtrail` eventName=Get* | stats count by user | `a_ok_filter`"),
    );
    write(
        d,
        "b_command.yml",
        &detection("| tstats count from datamodel=Nope.Processes by Processes.user\n| eval x=1"),
    );
    write(
        d,
        "c_macro.yml",
        &detection("`no_such_macro` | stats count"),
    );
    write(d, "d_lookup.yml", &detection("`cloudtrail` | lookup identity_lookup_expanded identity as user OUTPUT category | inputlookup append=t nosuch_lookup"));
    write(
        d,
        "e_function.yml",
        &detection("`cloudtrail` | eval n=sigfig(1.234)"),
    );
    write(
        d,
        "f_parse.yml",
        &detection("`cloudtrail` | stats count by user | frobnicate"),
    );
    write(
        d,
        "g_query.spl",
        "search eventName=x | where len(user) > 2\n",
    );
    write(
        d,
        "h_lookup_def.yml",
        "name: not_a_detection\nfilename: x.csv\n",
    );
    dir
}

#[test]
fn each_kind_of_problem_is_reported_with_its_place() {
    let dir = crafted();
    let o = spelunk(dir.path(), &["check", "."]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{out}");
    let expected = [
        "./a_ok.yml: ok\n",
        "./b_command.yml:\n  data model `Nope` is not loaded (loaded: ",
        "give its definition with --datamodels DIR at 1:31\n  note: reads data model 'Nope.Processes'\n",
        "./c_macro.yml:\n  unknown macro 'no_such_macro' at 1:1\n",
        "./d_lookup.yml:\n",
        "  missing lookup 'nosuch_lookup' at 1:",
        "./e_function.yml:\n  unsupported function 'sigfig' at 1:23\n",
        "./f_parse.yml:\n  parse error: unknown command `frobnicate` at 1:38\n",
        "./g_query.spl: ok\n",
        "parsed: 6/7, runnable: 2/7\n",
        "feature datamodel",
        "function sigfig",
    ];
    for e in expected {
        assert!(out.contains(e), "missing {e:?} in:\n{out}");
    }
    // the lookup definition YAML is not a detection; the shipped identity_lookup_expanded is present
    assert!(!out.contains("h_lookup_def"), "{out}");
    assert!(
        !out.contains("missing lookup 'identity_lookup_expanded'"),
        "{out}"
    );
}

#[test]
fn missing_lookups_are_named_and_found_with_lookups() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "d.yml",
        &detection("| inputlookup my_table | stats count"),
    );
    let o = spelunk(dir.path(), &["check", "d.yml"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        out.contains("d.yml:\n  missing lookup 'my_table' at 1:15\n"),
        "{out}"
    );
    assert!(out.contains("parsed: 1/1, runnable: 0/1\n"), "{out}");
    std::fs::create_dir(dir.path().join("lk")).unwrap();
    write(
        &dir.path().join("lk"),
        "my_table.yml",
        "name: my_table\nfilename: my_table.csv\n",
    );
    write(&dir.path().join("lk"), "my_table.csv", "a\n1\n");
    let o = spelunk(dir.path(), &["check", "d.yml", "--lookups", "lk"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("d.yml: ok\n"), "{out}");
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn macros_come_from_the_options() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "d.spl", "`my_base` | stats count");
    write(
        dir.path(),
        "m.conf",
        "[my_base]\ndefinition = sourcetype=aws:cloudtrail\n",
    );
    let o = spelunk(dir.path(), &["check", "d.spl"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("unknown macro 'my_base' at 1:1"));
    let o = spelunk(dir.path(), &["check", "d.spl", "--macros", "m.conf", "-q"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.starts_with("\nparsed: 1/1, runnable: 1/1\n"), "{out}");
}

#[test]
fn json_output_for_machines() {
    let dir = crafted();
    let o = spelunk(dir.path(), &["check", ".", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let s = &v["summary"];
    assert_eq!(s["checked"], 7);
    assert_eq!(s["parsed"], 6);
    assert_eq!(s["runnable"], 2);
    let dets = v["detections"].as_array().unwrap();
    let b = dets
        .iter()
        .find(|d| d["path"] == "./b_command.yml")
        .unwrap();
    assert_eq!(b["parsed"], true);
    assert_eq!(b["runnable"], false);
    assert_eq!(b["datamodels"][0], "Nope.Processes");
    assert_eq!(b["problems"][0]["kind"], "unsupported_feature");
    assert_eq!(b["problems"][0]["name"], "datamodel");
    assert_eq!(b["problems"][0]["line"], 1);
    assert_eq!(b["problems"][0]["col"], 31);
    let d = dets.iter().find(|d| d["path"] == "./d_lookup.yml").unwrap();
    assert_eq!(d["lookups"][0]["name"], "identity_lookup_expanded");
    assert_eq!(d["lookups"][0]["present"], true);
    assert_eq!(d["lookups"][1]["present"], false);
}

#[test]
fn the_shipped_queries_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = spelunk(root, &["check", "queries"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("parsed: 2/2, runnable: 2/2\n"), "{out}");
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn a_missing_path_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = spelunk(dir.path(), &["check", "nosuch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("`nosuch` does not exist"));
}

#[test]
fn content_alone_checks_its_detections_and_baselines() {
    let content = tempfile::tempdir().unwrap();
    for d in ["detections/cloud", "baselines", "macros", "lookups"] {
        std::fs::create_dir_all(content.path().join(d)).unwrap();
    }
    write(
        &content.path().join("detections/cloud"),
        "d.yml",
        &detection("`cloudtrail` eventName=Get* | stats count by user"),
    );
    write(
        &content.path().join("baselines"),
        "b.yml",
        &detection("| mstats count where index=m by host"),
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let dir = content.path().to_string_lossy().into_owned();
    let o = spelunk(elsewhere.path(), &["check", "--content", &dir]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("detections/cloud/d.yml: ok"), "{out}");
    assert!(
        out.contains("baselines/b.yml:\n  unsupported command 'mstats'"),
        "{out}"
    );
    assert!(out.contains("parsed: 2/2, runnable: 1/2\n"), "{out}");
    // a folder that is not a checkout says so instead of checking nothing
    let o = spelunk(elsewhere.path(), &["check", "--content", "."]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("has no detections/ or baselines/ folder"),
        "{err}"
    );
}

/// `check --data`: each detection's data sources (security_content's `data_source:` names) with the
/// number of their events in the data; a name spelunk does not know is said to be unknown.
#[test]
fn data_sources_are_counted_in_the_given_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "sysmon.yml",
        "name: Crafted Sysmon\ndata_source:\n- Sysmon EventID 1 AND Sysmon EventID 11\n- CrowdStrike ProcessRollup2\nsearch: 'EventCode=1 | stats count'\n",
    );
    write(
        d,
        "trail.yml",
        "name: Crafted Trail\ndata_source:\n- AWS CloudTrail ConsoleLogin\nsearch: 'eventName=ConsoleLogin | stats count'\n",
    );
    let ev = |code: u32, rec: u32| {
        format!("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Sysmon'/><EventID>{code}</EventID><TimeCreated SystemTime='2024-01-01T00:00:0{rec}.000Z'/><EventRecordID>{rec}</EventRecordID><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>h1</Computer></System><EventData><Data Name='Image'>C:\\x.exe</Data></EventData></Event>\n")
    };
    std::fs::create_dir(d.join("data")).unwrap();
    write(d, "data/sysmon.log", &(ev(1, 1) + &ev(1, 2) + &ev(3, 3)));
    write(
        d,
        "data/trail.json",
        "{\"eventVersion\":\"1.08\",\"eventSource\":\"signin.amazonaws.com\",\"eventName\":\"ConsoleLogin\",\"eventTime\":\"2024-01-01T00:00:00Z\"}\n",
    );
    let out = spelunk(d, &["check", "sysmon.yml", "trail.yml", "--data", "data"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("data: Sysmon EventID 1 (source=\"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational\" EventCode=1): 2 events"),
        "{text}"
    );
    assert!(
        text.contains("data: Sysmon EventID 11 (source=\"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational\" EventCode=11): no events in the given data"),
        "{text}"
    );
    assert!(
        text.contains("data: CrowdStrike ProcessRollup2: spelunk does not know which events this data source names"),
        "{text}"
    );
    assert!(
        text.contains("data: AWS CloudTrail ConsoleLogin (sourcetype=\"aws:cloudtrail\" eventName=ConsoleLogin): 1 event"),
        "{text}"
    );
    assert!(
        text.contains("data: 1/2 detections have events of every data source they name"),
        "{text}"
    );
    // without --data the text report says nothing of data; the JSON names them with their events
    let out = spelunk(d, &["check", "sysmon.yml", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ds = &v["detections"][0]["data_sources"];
    assert_eq!(ds[0]["name"], "Sysmon EventID 1");
    assert_eq!(ds[1]["name"], "Sysmon EventID 11");
    assert_eq!(ds[2]["search"], serde_json::Value::Null);
    assert_eq!(ds[0]["events"], serde_json::Value::Null);
}
