//! The real public CloudTrail samples in ../shared/data/cloudtrail read cleanly and carry the Splunk Add-on
//! for AWS's search-time fields. Counts are worked out independently here with serde_json.

use spelunk::input::DataArg;
use spelunk::session::{Config, Session};
use std::path::{Path, PathBuf};

#[path = "common/shared.rs"]
mod shared;

fn data_dir() -> Option<PathBuf> {
    shared::shared(
        "data/cloudtrail",
        "reads the real public CloudTrail samples",
    )
}

/// Every event object of the folder's JSON files, read with serde_json.
fn all_events(dir: &Path) -> Vec<serde_json::Value> {
    let mut files = Vec::new();
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "json" || x == "ndjson") {
                out.push(p);
            }
        }
    }
    walk(dir, &mut files);
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let docs: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&text)
            .into_iter::<serde_json::Value>()
            .map(|r| r.unwrap_or_else(|e| panic!("{}: {e}", f.display())))
            .collect();
        for d in docs {
            match d {
                serde_json::Value::Array(a) => out.extend(a),
                serde_json::Value::Object(ref o)
                    if o.get("Records").is_some_and(|r| r.is_array()) =>
                {
                    out.extend(o["Records"].as_array().unwrap().iter().cloned())
                }
                other => out.push(other),
            }
        }
    }
    out
}

fn count(session: &Session, q: &str) -> u64 {
    let out = session.run(q).unwrap_or_else(|e| panic!("{}", e.render()));
    out.rows[0].get("count").and_then(|v| v.as_num()).unwrap() as u64
}

#[test]
fn real_cloudtrail_samples_read_cleanly_with_addon_fields() {
    let Some(dir) = data_dir() else { return };
    let session = Session::new(&Config {
        data: vec![DataArg {
            path: dir.display().to_string(),
            sourcetype: None,
            source: None,
        }],
        ..Config::default()
    })
    .unwrap();
    let out = session.run("* | stats count").unwrap();
    for r in &out.reports {
        assert_eq!(r.problem(), None, "no malformed-line report expected");
    }
    let events = all_events(&dir);
    assert_eq!(
        out.rows[0].get("count").unwrap().as_num(),
        Some(events.len() as f64)
    );

    let is_ct = |e: &serde_json::Value| {
        ["eventVersion", "eventSource", "eventName"]
            .iter()
            .all(|k| e.get(k).is_some())
    };
    let ct: Vec<&serde_json::Value> = events.iter().filter(|e| is_ct(e)).collect();
    assert_eq!(
        count(&session, "sourcetype=aws:cloudtrail | stats count"),
        ct.len() as u64
    );

    // errorCode exists on every CloudTrail event: raw, else failure for a failed console login, else success
    assert_eq!(
        count(
            &session,
            "sourcetype=aws:cloudtrail NOT errorCode=* | stats count"
        ),
        0
    );
    let success = ct
        .iter()
        .filter(|e| {
            e.get("errorCode").is_none_or(|v| v.is_null())
                && e.pointer("/responseElements/ConsoleLogin")
                    .and_then(|v| v.as_str())
                    != Some("Failure")
        })
        .count() as u64;
    assert_eq!(
        count(
            &session,
            "sourcetype=aws:cloudtrail errorCode=success | stats count"
        ),
        success
    );

    // src is an alias of sourceIPAddress
    let with_ip = ct
        .iter()
        .filter(|e| e.get("sourceIPAddress").is_some_and(|v| v.is_string()))
        .count() as u64;
    assert_eq!(
        count(&session, "sourcetype=aws:cloudtrail src=* | stats count"),
        with_ip
    );

    // an IAM user's unlisted API call gives user = userIdentity.userName
    let iam_get_caller = ct
        .iter()
        .filter(|e| {
            e.pointer("/userIdentity/type").and_then(|v| v.as_str()) == Some("IAMUser")
                && e.get("eventName").and_then(|v| v.as_str()) == Some("RunInstances")
                && e.pointer("/userIdentity/userName").is_some()
        })
        .count() as u64;
    assert!(iam_get_caller > 0);
    assert_eq!(
        count(
            &session,
            "sourcetype=aws:cloudtrail userIdentity.type=IAMUser eventName=RunInstances | where user=='userIdentity.userName' | stats count"
        ),
        iam_get_caller
    );
}
