//! JSON exports of Windows events (the OTRF Security-Datasets files in ../shared/data/windows/json, NXLog
//! form) read as XmlWinEventLog events: every line is read, the same event gives the same fields in JSON
//! and in the forwarder's XML text, and published detections run over them unchanged. Also `--source`:
//! the PingID detections' `source=PINGID` over a `_json` file.

use spelunk::input::{self, Content, EventBuilder, ReadOptions, Source};
use spelunk::props::Knowledge;
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::Path;
use std::process::Command;

#[path = "common/shared.rs"]
mod shared;

const OTRF: &str = "data/windows/json/otrf_security_datasets/datasets/atomic/windows";
const PSEXEC: &str = "credential_access/host/cmd_psexec_lsa_secrets_dump_2020-10-1903305471.json";

fn read(data: &[u8], sourcetype: Option<&str>) -> (Vec<spelunk::event::Event>, input::FileReport) {
    let knowledge = Knowledge::default();
    let opts = ReadOptions::default();
    let mut builder = EventBuilder::new(&knowledge, &opts);
    let source = Source {
        name: "file".into(),
        content: Content::Embedded(""),
        sourcetype: sourcetype.map(str::to_string),
        source: None,
    };
    let mut events = Vec::new();
    let report = input::read_bytes(data, &source, &mut builder, &mut |ev| {
        events.push(ev);
        ControlFlow::Continue(())
    });
    (events, report)
}

fn text(ev: &spelunk::event::Event, f: &str) -> Option<String> {
    ev.get(f).map(|v| v.text().into_owned())
}

/// Every field of an event (multivalues as their values joined by newlines), `_raw` and the EventData
/// block left out: the export's keys come in another order than the forwarder's `<Data>` elements.
fn fields(ev: &spelunk::event::Event) -> BTreeMap<String, String> {
    ev.iter()
        .filter(|(k, _)| !matches!(k.as_ref(), "_raw" | "EventData_Xml"))
        .map(|(k, v)| {
            let vs = match v {
                spelunk::value::Value::Multi(vs) => {
                    vs.iter().map(|x| x.text().into_owned()).collect()
                }
                other => vec![other.text().into_owned()],
            };
            (k.as_ref().to_string(), vs.join("\n"))
        })
        .collect()
}

fn line_with(file: &Path, needle: &str) -> String {
    let data = std::fs::read_to_string(file).unwrap();
    data.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle}"))
        .to_string()
}

#[test]
fn every_otrf_line_is_a_windows_event() {
    let Some(dir) = shared::shared(OTRF, "reads the OTRF JSON exports") else {
        return;
    };
    let mut total = 0;
    for sub in ["discovery", "credential_access", "lateral_movement"] {
        for f in std::fs::read_dir(dir.join(sub).join("host"))
            .unwrap()
            .flatten()
        {
            let data = std::fs::read(f.path()).unwrap();
            let lines = data
                .split(|&c| c == b'\n')
                .filter(|l| !l.trim_ascii().is_empty())
                .count() as u64;
            let (events, report) = read(&data, None);
            assert_eq!(report.bad_lines, 0, "{report:?}");
            assert_eq!(report.events, lines, "{report:?}");
            for ev in &events {
                assert_eq!(text(ev, "sourcetype").as_deref(), Some("XmlWinEventLog"));
                let channel = text(ev, "Channel").unwrap();
                assert_eq!(
                    text(ev, "source"),
                    Some(format!("XmlWinEventLog:{channel}"))
                );
                assert!(text(ev, "EventCode").is_some());
                assert!(text(ev, "_raw").unwrap().starts_with(
                    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
                ));
                // NXLog's rendered message is not part of the event
                assert!(ev.get("Message").is_none());
            }
            total += report.events;
        }
    }
    assert_eq!(total, 68 + 286 + 285);
}

#[test]
fn forced_json_sourcetype_keeps_the_export_as_json() {
    let Some(dir) = shared::shared(OTRF, "reads the OTRF JSON exports") else {
        return;
    };
    let line = line_with(&dir.join(PSEXEC), "\"EventID\":5140");
    let (events, _) = read(line.as_bytes(), Some("_json"));
    let ev = &events[0];
    assert_eq!(text(ev, "sourcetype").as_deref(), Some("_json"));
    assert_eq!(text(ev, "source").as_deref(), Some("file"));
    assert_eq!(text(ev, "EventID").as_deref(), Some("5140"));
    assert!(ev.get("EventCode").is_none());
    assert!(text(ev, "_raw").unwrap().starts_with('{'));
    // forcing XmlWinEventLog converts, as sniffing does
    let (events, _) = read(line.as_bytes(), Some("XmlWinEventLog"));
    assert_eq!(text(&events[0], "EventCode").as_deref(), Some("5140"));
    // a JSON object that is no Windows export is reported when XmlWinEventLog is forced
    let (events, report) = read(b"{\"a\":1}\n", Some("XmlWinEventLog"));
    assert!(events.is_empty());
    assert_eq!(report.bad_lines, 1);
}

/// A real OTRF line and the forwarder's XML text of the same event, written by hand in the forwarder's
/// layout (System elements for the values the export carries; `<Data>` in the event's schema order).
fn same_fields(json: &str, xml: &str) {
    let (j, rj) = read(json.as_bytes(), None);
    let (x, rx) = read(xml.as_bytes(), None);
    assert_eq!(
        (rj.events, rj.bad_lines, rx.events, rx.bad_lines),
        (1, 0, 1, 0)
    );
    assert_eq!(fields(&j[0]), fields(&x[0]));
    // the EventData block holds the same elements, in another order
    let mut a: Vec<String> = text(&j[0], "EventData_Xml")
        .unwrap()
        .split("<Data ")
        .map(str::to_string)
        .collect();
    let mut b: Vec<String> = text(&x[0], "EventData_Xml")
        .unwrap()
        .split("<Data ")
        .map(str::to_string)
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn security_5140_same_fields_as_forwarder_xml() {
    let Some(dir) = shared::shared(OTRF, "reads the OTRF JSON exports") else {
        return;
    };
    let json = line_with(&dir.join(PSEXEC), "\"EventID\":5140");
    let xml = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
        <Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>5140</EventID><Task>12808</Task>\
        <TimeCreated SystemTime='2020-10-19T03:30:46.625Z'/><Correlation/><Channel>Security</Channel>\
        <Computer>WORKSTATION5</Computer><Security/></System><EventData>\
        <Data Name='SubjectUserSid'>S-1-5-21-3940915590-64593676-1414006259-500</Data>\
        <Data Name='SubjectUserName'>wardog</Data><Data Name='SubjectDomainName'>WORKSTATION5</Data>\
        <Data Name='SubjectLogonId'>0xc61d9</Data><Data Name='ObjectType'>File</Data>\
        <Data Name='IpAddress'>fe80::90e:17af:263c:5209</Data><Data Name='IpPort'>58391</Data>\
        <Data Name='ShareName'>\\\\*\\IPC$</Data><Data Name='AccessMask'>0x1</Data>\
        <Data Name='AccessList'>%%4416\n\t\t\t\t</Data></EventData></Event>\n";
    same_fields(&json, xml);
    let (x, _) = read(xml.as_bytes(), None);
    assert_eq!(text(&x[0], "ShareName").as_deref(), Some("\\\\*\\IPC$"));
    assert_eq!(text(&x[0], "host").as_deref(), Some("WORKSTATION5"));
}

#[test]
fn sysmon_1_same_fields_as_forwarder_xml() {
    let Some(dir) = shared::shared(OTRF, "reads the OTRF JSON exports") else {
        return;
    };
    let json = line_with(
        &dir.join(PSEXEC),
        "\"Image\":\"C:\\\\Windows\\\\PSEXESVC.exe\"",
    );
    assert!(json.contains("\"EventID\":1,"));
    let xml = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
        <Provider Name='Microsoft-Windows-Sysmon'/><EventID>1</EventID><Task>1</Task>\
        <TimeCreated SystemTime='2020-10-19T03:30:46.438Z'/><Correlation/>\
        <Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>WORKSTATION5</Computer><Security/>\
        </System><EventData><Data Name='RuleName'>-</Data><Data Name='UtcTime'>2020-10-19 07:30:46.435</Data>\
        <Data Name='ProcessGuid'>{39e4a257-40a6-5f8d-a105-000000000700}</Data><Data Name='ProcessId'>1460</Data>\
        <Data Name='Image'>C:\\Windows\\PSEXESVC.exe</Data><Data Name='FileVersion'>2.2</Data>\
        <Data Name='Description'>PsExec Service</Data><Data Name='Product'>Sysinternals PsExec</Data>\
        <Data Name='Company'>Sysinternals</Data><Data Name='OriginalFileName'>psexesvc.exe</Data>\
        <Data Name='CommandLine'>C:\\windows\\PSEXESVC.exe</Data><Data Name='CurrentDirectory'>C:\\windows\\system32\\</Data>\
        <Data Name='User'>NT AUTHORITY\\SYSTEM</Data><Data Name='LogonGuid'>{39e4a257-f131-5f8b-e703-000000000000}</Data>\
        <Data Name='LogonId'>0x3e7</Data><Data Name='TerminalSessionId'>0</Data><Data Name='IntegrityLevel'>System</Data>\
        <Data Name='Hashes'>SHA1=A17C21B909C56D93D978014E63FB06926EAEA8E7,MD5=75B55BB34DAC9D02740B9AD6B6820360,SHA256=141B2190F51397DBD0DFDE0E3904B264C91B6F81FEBC823FF0C33DA980B69944,IMPHASH=67012475995FB9027F4511245B57DDEA</Data>\
        <Data Name='ParentProcessGuid'>{39e4a257-f131-5f8b-0b00-000000000700}</Data><Data Name='ParentProcessId'>716</Data>\
        <Data Name='ParentImage'>C:\\Windows\\System32\\services.exe</Data>\
        <Data Name='ParentCommandLine'>C:\\windows\\system32\\services.exe</Data></EventData></Event>\n";
    same_fields(&json, xml);
}

fn spelunk(dir: &Path, args: &[&str]) -> (String, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_spelunk"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run spelunk");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// `network_share_discovery_via_dir_command` (`wineventlog_security` EventCode=5140 on raw EventData
/// fields) over the OTRF PsExec capture: its one 5140 (`\\*\IPC$`, AccessMask 0x1) is the one row.
/// `TimeCreated` there has no zone and is read as UTC; `dest` is `Computer`, from `Hostname`.
#[test]
fn published_security_detection_over_otrf_json() {
    let why = "runs a published detection over an OTRF export";
    let (Some(content), Some(dir)) = (
        shared::shared("security_content", why),
        shared::shared(OTRF, why),
    ) else {
        return;
    };
    let data = dir.join(PSEXEC);
    let (out, err, code) = spelunk(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &[
            "run",
            "--format",
            "csv",
            "--content",
            &content.to_string_lossy(),
            "--data",
            &data.to_string_lossy(),
            "network_share_discovery_via_dir_command",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "ShareName,IpAddress,ObjectType,SubjectUserName,SubjectDomainName,IpPort,AccessMask,firstTime,lastTime,count,dest\n\
         \\\\*\\IPC$,fe80::90e:17af:263c:5209,File,wardog,WORKSTATION5,58391,0x1,2020-10-19T03:30:46,2020-10-19T03:30:46,1,WORKSTATION5\n"
    );
}

/// `pingid_new_mfa_method_registered_for_user` searches `source=PINGID` over a `_json` file, as its test
/// declares (`source: PINGID`, `sourcetype: _json`). The file's own `"source"` key does not set the
/// field, so only `--source PINGID` gives rows: the two `Device Paired` SUCCESS events, `object` from
/// `resources{}.devicemodel` or else the rex's `device_extract`, sorted by the by-fields (`S` < `s`).
#[test]
fn source_option_sets_the_source_field() {
    let Some(file) = shared::shared(
        "data/windows/xmlwineventlog/datasets/attack_techniques/T1621/pingid/pingid.log",
        "runs a PingID detection over its test data",
    ) else {
        return;
    };
    let Some(content) = shared::shared("security_content", "runs a PingID detection") else {
        return;
    };
    let run = |extra: &[&str]| {
        let c = content.to_string_lossy().into_owned();
        let f = file.to_string_lossy().into_owned();
        let mut args = vec!["run", "--format", "csv", "--content", &c, "--data", &f];
        args.extend_from_slice(extra);
        args.push("pingid_new_mfa_method_registered_for_user");
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        spelunk(Path::new(env!("CARGO_MANIFEST_DIR")), &refs)
    };
    let (out, err, code) = run(&["--source", "PINGID", "--sourcetype", "_json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<String> = out
        .lines()
        .map(|l| {
            // firstTime and lastTime come from the file's time (its events' `recorded` is no time field
            // spelunk reads), so they are left out of the comparison
            let cells: Vec<&str> = l.rsplitn(3, ',').collect();
            cells.last().copied().unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(
        rows,
        [
            "src,user,object,action,reason,count",
            "174.235.80.142,VICTIM_USER,\"SMS \"\"Mobile 1\"\"\",created,\"Device Paired SMS \"\"Mobile 1\"\"\",1",
            "174.235.80.142,VICTIM_USER,samsung SM-S901U,created,\"Device Paired \"\"Android \"\"samsung SM-S901U\"\"\"\"\",1",
        ]
    );
    // without --source the path is the source, and the search matches nothing
    let (out, _, code) = run(&["--sourcetype", "_json"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 0, "{out}");
}

/// `--source` goes with the --data paths as `--sourcetype` does: given after paths, it is theirs; given
/// first, it is that of the paths after it. An explicit `--source` replaces `XmlWinEventLog:<Channel>`.
#[test]
fn source_option_pairs_with_data_paths() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("a.json"), "{\"x\":\"1\",\"time\":3}\n").unwrap();
    std::fs::write(tmp.path().join("b.json"), "{\"x\":\"2\",\"time\":2}\n").unwrap();
    std::fs::write(
        tmp.path().join("c.json"),
        "{\"EventID\":4688,\"Channel\":\"Security\",\"Hostname\":\"h\",\"TimeCreated\":\"1970-01-01T00:00:01Z\"}\n",
    )
    .unwrap();
    let (out, err, code) = spelunk(
        tmp.path(),
        &[
            "run",
            "--format",
            "csv",
            "--data",
            "a.json",
            "--source",
            "SA",
            "--data",
            "b.json",
            "--data",
            "c.json",
            "--source",
            "SC",
            "* | table source sourcetype EventCode",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "source,sourcetype,EventCode\nSA,_json,\nSC,_json,\nSC,XmlWinEventLog,4688\n"
    );
    let (out, _, _) = spelunk(
        tmp.path(),
        &[
            "run",
            "--format",
            "csv",
            "--source",
            "FIRST",
            "--data",
            "a.json",
            "--data",
            "c.json",
            "* | table source",
        ],
    );
    assert_eq!(out, "source\nFIRST\nFIRST\n");
}

/// `spelunk test` gives each `attack_data` file the `source` and `sourcetype` its entry declares, as
/// `--source` and `--sourcetype` do: a search on `source=PINGID` finds the file's events only that way.
#[test]
fn spelunk_test_applies_the_declared_source() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("events.json"),
        "{\"source\":\"PINGID\",\"result\":{\"status\":\"SUCCESS\"},\"time\":1}\n",
    )
    .unwrap();
    let suite = |source: &str| {
        format!(
            "name: declared source\nsearch: 'source=PINGID result.status=SUCCESS | stats count by source sourcetype'\n\
             tests:\n- name: t\n  attack_data:\n  - data: events.json\n{source}    sourcetype: _json\n  \
             contains: [{{source: PINGID, sourcetype: _json, count: 1}}]\n"
        )
    };
    std::fs::write(tmp.path().join("with.yml"), suite("    source: PINGID\n")).unwrap();
    std::fs::write(tmp.path().join("without.yml"), suite("")).unwrap();
    let (out, err, code) = spelunk(tmp.path(), &["test", "with.yml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 passed"), "{out}");
    // without the declared source the path is the source: no row, the case fails
    let (out, _, code) = spelunk(tmp.path(), &["test", "without.yml"]);
    assert_eq!(code, 1, "{out}");
}
