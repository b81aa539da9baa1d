//! The shipped data model files (datamodels/*.json), checked through the engine and by rule: each loads,
//! its objects form a tree, and the CIM 5.0.1 rules they restate give the right values on hand-built
//! events.
use spelunk::datamodels::{DataModels, Output, View};
use spelunk::eval::EvalContext;
use spelunk::event::Event;
use spelunk::lookups::Lookups;
use spelunk::macros::MacroLibrary;
use spelunk::value::Value;
use std::collections::HashSet;
use std::path::Path;

fn files() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("datamodels");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("datamodels/") {
        let p = entry.expect("entry").path();
        if p.extension().and_then(|e| e.to_str()) == Some("json") {
            let text = std::fs::read_to_string(&p).expect("read");
            out.push((p.display().to_string(), text));
        }
    }
    out.sort();
    out
}

fn model_json(name: &str) -> serde_json::Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("datamodels")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json")
}

fn object<'a>(m: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    m["objects"]
        .as_array()
        .and_then(|a| a.iter().find(|o| o["objectName"] == name))
        .unwrap_or_else(|| panic!("no object {name}"))
}

fn constraint(m: &serde_json::Value, name: &str) -> String {
    object(m, name)["constraints"][0]["search"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn has_field(o: &serde_json::Value, field: &str) -> bool {
    o["fields"]
        .as_array()
        .is_some_and(|a| a.iter().any(|f| f["fieldName"] == field))
}

fn has_calc_output(o: &serde_json::Value, field: &str) -> bool {
    o["calculations"].as_array().is_some_and(|a| {
        a.iter().any(|c| {
            c["outputFields"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["fieldName"] == field))
        })
    })
}

#[test]
fn every_file_loads_and_its_objects_form_a_tree() {
    let all = files();
    assert!(all.len() >= 18, "{} files", all.len());
    for (path, text) in &all {
        let mut d = DataModels::default();
        if let Err(e) = d.add_json(text, path, &MacroLibrary::new()) {
            panic!("{path}: {}", e.message);
        }
        let v: serde_json::Value = serde_json::from_str(text).expect("json");
        let objects = v["objects"].as_array().expect("objects");
        let mut names = HashSet::new();
        for o in objects {
            let n = o["objectName"].as_str().expect("objectName");
            assert!(names.insert(n.to_string()), "{path}: {n} twice");
        }
        for o in objects {
            let p = o["parentName"].as_str().expect("parentName");
            assert!(
                p == "BaseEvent" || p == "BaseSearch" || names.contains(p),
                "{path}: parent {p} of {} is not in the file",
                o["objectName"]
            );
        }
    }
}

#[test]
fn cim_facts_in_the_files() {
    let ep = model_json("Endpoint");
    let processes = object(&ep, "Processes");
    assert!(has_calc_output(processes, "process_name"));
    assert!(has_field(processes, "process_guid"));
    let auth = model_json("Authentication");
    let root = constraint(&auth, "Authentication");
    assert!(root.contains("tag=authentication"), "{root}");
    assert!(root.contains("NOT (action=success user=*$)"), "{root}");
    assert_eq!(constraint(&auth, "Failed_Authentication"), "action=failure");
    let change = model_json("Change");
    let root = constraint(&change, "All_Changes");
    for c in ["file", "directory", "registry"] {
        assert!(root.contains(&format!("object_category={c}")), "{root}");
    }
    assert_eq!(
        object(&change, "Account_Management")["parentName"],
        "All_Changes"
    );
    let nt = model_json("Network_Traffic");
    assert!(constraint(&nt, "All_Traffic").contains("tag=communicate"));
}

fn ev(pairs: &[(&str, &str)]) -> Event {
    let mut e = Event::new();
    for (k, v) in pairs {
        e.set(*k, Value::str(v));
    }
    e
}

/// The event as `target` of the shipped `model` sees it, with `fields` (dataset-qualified names).
fn project(model: &str, target: &str, fields: &[&str], e: Event) -> Option<Event> {
    let mut d = DataModels::default();
    d.add_shipped(&MacroLibrary::new()).expect("shipped");
    let m = d.get(model).expect("model").clone();
    let t = m.by_lineage(target).expect("dataset");
    let outs: Vec<Output> = fields
        .iter()
        .map(|n| {
            let (dataset, field) = m
                .field(t, n)
                .unwrap_or_else(|e| panic!("{n}: {e}"))
                .unwrap_or_else(|| panic!("{n}: not a field of the model"));
            Output {
                name: n.to_string(),
                dataset,
                field,
            }
        })
        .collect();
    let ctx = EvalContext {
        now: 0.0,
        tz: chrono_tz::UTC,
        max_text: spelunk::eval::MAX_TEXT,
    };
    let v = View::new(m, t, &outs, ctx, &Lookups::shipped()).expect("view");
    v.project(e, &outs).expect("project")
}

fn text(e: &Event, f: &str) -> Option<String> {
    e.get(f).map(|v| v.to_string())
}

#[test]
fn process_name_is_the_first_word_of_process() {
    let mut e = ev(&[("process", "  C:\\x\\cmd.exe /c dir")]);
    // Processes takes events tagged both `process` and `report`
    e.set(
        "tag",
        Value::multi(vec![Value::str("process"), Value::str("report")]).expect("mv"),
    );
    let got = project("Endpoint", "Processes", &["Processes.process_name"], e)
        .expect("member of Processes");
    assert_eq!(
        text(&got, "Processes.process_name").as_deref(),
        Some("C:\\x\\cmd.exe")
    );
}

#[test]
fn traffic_ports_bytes_and_defaults() {
    let fields = [
        "All_Traffic.dest_port",
        "All_Traffic.bytes",
        "All_Traffic.dest",
    ];
    let mut e = ev(&[("bytes_in", "100"), ("bytes_out", "23")]);
    e.set("dest_port", Value::str("443"));
    // tag is multivalued in Splunk; the event carries both
    e.set(
        "tag",
        Value::multi(vec![Value::str("network"), Value::str("communicate")]).expect("mv"),
    );
    let got = project("Network_Traffic", "All_Traffic", &fields, e).expect("member");
    assert_eq!(text(&got, "All_Traffic.dest_port").as_deref(), Some("443"));
    assert_eq!(text(&got, "All_Traffic.bytes").as_deref(), Some("123"));
    assert_eq!(text(&got, "All_Traffic.dest").as_deref(), Some("unknown"));
    let mut e = ev(&[("dest_port", "abc"), ("dest", "10.0.0.1")]);
    e.set(
        "tag",
        Value::multi(vec![Value::str("network"), Value::str("communicate")]).expect("mv"),
    );
    let got = project("Network_Traffic", "All_Traffic", &fields, e).expect("member");
    assert_eq!(text(&got, "All_Traffic.dest_port").as_deref(), Some("0"));
    assert_eq!(text(&got, "All_Traffic.dest").as_deref(), Some("10.0.0.1"));
}

#[test]
fn authentication_children_and_the_machine_account_rule() {
    let fields = [
        "Authentication.action",
        "Authentication.Failed_Authentication.action",
    ];
    let got = project(
        "Authentication",
        "Authentication",
        &fields,
        ev(&[
            ("tag", "authentication"),
            ("action", "failure"),
            ("user", "bob"),
        ]),
    )
    .expect("member");
    assert_eq!(
        text(&got, "Authentication.Failed_Authentication.action").as_deref(),
        Some("failure")
    );
    let got = project(
        "Authentication",
        "Authentication",
        &fields,
        ev(&[
            ("tag", "authentication"),
            ("action", "success"),
            ("user", "bob"),
        ]),
    )
    .expect("member");
    assert_eq!(
        text(&got, "Authentication.Failed_Authentication.action"),
        None
    );
    // a successful logon of a machine account ($) is not in the model
    assert!(project(
        "Authentication",
        "Authentication",
        &fields,
        ev(&[
            ("tag", "authentication"),
            ("action", "success"),
            ("user", "PC1$")
        ]),
    )
    .is_none());
}

#[test]
fn dns_reply_code_from_its_id() {
    let mut e = ev(&[("reply_code_id", "3")]);
    e.set(
        "tag",
        Value::multi(vec![
            Value::str("network"),
            Value::str("resolution"),
            Value::str("dns"),
        ])
        .expect("mv"),
    );
    let got = project("Network_Resolution", "DNS", &["DNS.reply_code"], e).expect("member");
    assert_eq!(text(&got, "DNS.reply_code").as_deref(), Some("NXDomain"));
}
