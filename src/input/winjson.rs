//! JSON exports of Windows events turned into the Universal Forwarder's XmlWinEventLog form.
//!
//! A JSON object is a Windows export when it has
//! - **Winlogbeat / ECS**: `winlog.event_id` and `winlog.channel`, or
//! - **NXLog / OTRF** (NXLog's `im_msvistalog` fields, as in the OTRF Security-Datasets): top-level
//!   `EventID` and `Channel` and `Hostname` or `Computer`.
//!
//! Such an object is rebuilt as a Windows `<Event>` tree ([`to_tree`]) in the forwarder's element
//! layout and rendered to one line ([`super::render`]); the event is then read exactly as the forwarder's
//! text is (`sourcetype=XmlWinEventLog`, `source=XmlWinEventLog:<Channel>`, `host` from `Computer`,
//! `_time` from `SystemTime`, every field by the Windows add-on's extraction), so a published detection
//! sees the same fields whichever form the event came in. `_raw` is the rendered XML, not the JSON.
//!
//! `<System>` from NXLog / OTRF keys: `SourceName` → `Provider Name`, `ProviderGuid` → `Provider Guid`,
//! `EventID`, `Version`, `Level`, `Task`, `OpcodeValue` (else `Opcode`), `Keywords` (a decimal, as NXLog
//! writes it, becomes the forwarder's `0x…` hex), the time (below), `RecordNumber` (or `EventRecordID`) →
//! `EventRecordID`, `ActivityID` / `RelatedActivityID` → `Correlation`, `ExecutionProcessID` /
//! `ExecutionThreadID` → `Execution ProcessID` / `ThreadID`, `Channel`, `Computer` (else `Hostname`),
//! `UserID` → `Security UserID`. `Version`, `Level`, `Task` and `Opcode` go to `<System>` only when
//! they are whole numbers: NXLog's rendered names (`Level: Information`) are not the event's, and a
//! non-numeric `Version` is Sysmon's EventData `Version` (event 4).
//!
//! NXLog's own keys, never EventData: [`NXLOG_KEYS`] (`EventTime`, `EventReceivedTime`,
//! `SourceModuleName`, `SourceModuleType`, `EventType`, `SeverityValue`, `Severity`, `Message`,
//! `Category`, `AccountType`, `ERROR_EVT_UNRESOLVED`, …), every key starting with `@` (`@timestamp`,
//! `@version` of a Logstash pipeline), and every key from a nested object or an array (a name with `.`
//! or `{}`: EventData names are flat). `AccountName` and `Domain` are NXLog's names for the account of
//! `UserID` only when `AccountType` (written with them) is there too; otherwise they are EventData (7045's
//! `AccountName`, for one). Every other top-level key is an EventData value, `<Data Name='key'>value</Data>`,
//! in the object's order. `Message` (the rendered text) has no place: the forwarder's XML carries none.
//!
//! `<System>` from Winlogbeat keys: `winlog.provider_name` / `winlog.provider_guid` → `Provider`,
//! `winlog.event_id`, `winlog.version`, `@timestamp`, `winlog.record_id`, `winlog.activity_id` /
//! `winlog.related_activity_id`, `winlog.process.pid` / `winlog.process.thread.id` → `Execution`,
//! `winlog.channel`, `winlog.computer_name`, `winlog.user.identifier` → `Security UserID`;
//! `winlog.event_data.<Name>` → `<Data Name='Name'>`. Winlogbeat keeps Level, Task, Opcode and Keywords
//! only as rendered text (`winlog.task`, `log.level`), so those elements are left out; `winlog.user_data`
//! is not converted.
//!
//! Time: the first of `TimeCreated`, `EventTime`, `@timestamp` (NXLog / OTRF; `@timestamp` for Winlogbeat)
//! that carries its zone (`Z` or an offset), else the first that parses, read as UTC when it has no zone
//! (NXLog's `EventTime` is the collecting host's local time: its zone is not in the data). It is written
//! as `SystemTime` in UTC with its fraction. EventID's `Qualifiers` are in neither export, so a converted
//! 7045 has an `EventID` field where the forwarder's form has only `EventCode`.

use super::json::Flat;
use super::render::{Element, Node};
use crate::value::Value;

/// The two JSON shapes of Windows events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Export {
    Nxlog,
    Winlogbeat,
}

/// The JSON keys [`kind`] looks at (the read plan extracts them whatever the query needs; the
/// `winjson_*` golden cases, whose tables name none of them, fail without).
pub const SNIFF_KEYS: &[&str] = &[
    "EventID",
    "Channel",
    "Hostname",
    "Computer",
    "winlog.event_id",
    "winlog.channel",
];

/// NXLog's keys that are not EventData (besides those mapped into `<System>` and `@…` keys).
pub const NXLOG_KEYS: &[&str] = &[
    "EventTime",
    "EventTimeWritten",
    "EventReceivedTime",
    "SourceModuleName",
    "SourceModuleType",
    "EventType",
    "SeverityValue",
    "Severity",
    "Message",
    "Category",
    "AccountType",
    "ERROR_EVT_UNRESOLVED",
    "TimeCreated",
];

/// Keys mapped into `<System>` (NXLog / OTRF).
const NXLOG_SYSTEM: &[&str] = &[
    "EventID",
    "SourceName",
    "ProviderGuid",
    "Version",
    "Level",
    "Task",
    "Opcode",
    "OpcodeValue",
    "Keywords",
    "RecordNumber",
    "EventRecordID",
    "ActivityID",
    "RelatedActivityID",
    "ExecutionProcessID",
    "ExecutionThreadID",
    "Channel",
    "Hostname",
    "Computer",
    "UserID",
];

const EVENT_DATA: &str = "winlog.event_data.";

/// Which export `flat` is, if it is one.
pub fn kind(flat: &Flat) -> Option<Export> {
    if flat.has("winlog.event_id") && flat.has("winlog.channel") {
        Some(Export::Winlogbeat)
    } else if flat.has("EventID")
        && flat.has("Channel")
        && (flat.has("Hostname") || flat.has("Computer"))
    {
        Some(Export::Nxlog)
    } else {
        None
    }
}

/// The `<Event>` tree of a Windows export (see the module documentation). `flat` holds every field.
pub fn to_tree(flat: &Flat, kind: Export) -> Element {
    let get = |k: &str| flat.first(k).map(|v| v.text().into_owned());
    let s = match kind {
        Export::Nxlog => System {
            provider_name: get("SourceName"),
            provider_guid: get("ProviderGuid"),
            event_id: get("EventID"),
            version: get("Version").filter(|v| whole(v)),
            level: get("Level").filter(|v| whole(v)),
            task: get("Task").filter(|v| whole(v)),
            opcode: get("OpcodeValue")
                .or_else(|| get("Opcode"))
                .filter(|v| whole(v)),
            keywords: get("Keywords").map(|k| keywords(&k)),
            time: system_time(flat, &["TimeCreated", "EventTime", "@timestamp"]),
            record: get("RecordNumber").or_else(|| get("EventRecordID")),
            activity: get("ActivityID"),
            related_activity: get("RelatedActivityID"),
            pid: get("ExecutionProcessID"),
            tid: get("ExecutionThreadID"),
            channel: get("Channel"),
            computer: get("Computer").or_else(|| get("Hostname")),
            user: get("UserID"),
        },
        Export::Winlogbeat => System {
            provider_name: get("winlog.provider_name"),
            provider_guid: get("winlog.provider_guid"),
            event_id: get("winlog.event_id"),
            version: get("winlog.version"),
            level: None,
            task: None,
            opcode: None,
            keywords: None,
            time: system_time(flat, &["@timestamp"]),
            record: get("winlog.record_id"),
            activity: get("winlog.activity_id"),
            related_activity: get("winlog.related_activity_id"),
            pid: get("winlog.process.pid"),
            tid: get("winlog.process.thread.id"),
            channel: get("winlog.channel"),
            computer: get("winlog.computer_name"),
            user: get("winlog.user.identifier"),
        },
    };
    let mut data = Vec::new();
    match kind {
        Export::Nxlog => {
            let user_account = flat.has("AccountType");
            for (name, values) in flat.iter() {
                // a `Version` that is not a whole number is EventData (Sysmon event 4's)
                let data_version =
                    name == "Version" && values.first().is_some_and(|v| !whole(&v.text()));
                if is_nxlog_own(name, user_account) && !data_version {
                    continue;
                }
                push_data(&mut data, name, values);
            }
        }
        Export::Winlogbeat => {
            for (name, values) in flat.iter() {
                if let Some(n) = name.strip_prefix(EVENT_DATA) {
                    let n = n.strip_suffix("{}").unwrap_or(n);
                    if !n.is_empty() && !n.contains(['.', '{', '}']) {
                        push_data(&mut data, n, values);
                    }
                }
            }
        }
    }
    let mut children = vec![Node::Element(s.element())];
    if !data.is_empty() {
        children.push(Node::Element(Element {
            name: "EventData".into(),
            attrs: Vec::new(),
            children: data,
        }));
    }
    Element {
        name: "Event".into(),
        attrs: vec![(
            "xmlns".into(),
            "http://schemas.microsoft.com/win/2004/08/events/event".into(),
        )],
        children,
    }
}

/// Is this top-level NXLog key one of NXLog's own (not an EventData name)?
fn is_nxlog_own(name: &str, user_account: bool) -> bool {
    name.starts_with('@')
        || name.contains(['.', '{', '}'])
        || NXLOG_KEYS.contains(&name)
        || NXLOG_SYSTEM.contains(&name)
        || (user_account && matches!(name, "AccountName" | "Domain"))
}

/// Numeric `Version`, `Level`, `Task`, `Opcode`: whole numbers only.
fn whole(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit())
}

fn push_data(data: &mut Vec<Node>, name: &str, values: &[Value]) {
    let name = name.strip_suffix("{}").unwrap_or(name);
    if name.is_empty() {
        return;
    }
    for v in values {
        data.push(Node::Element(Element {
            name: "Data".into(),
            attrs: vec![("Name".into(), name.to_string())],
            children: vec![Node::Text(v.text().into_owned())],
        }));
    }
}

/// The forwarder writes Keywords as `0x` and hex digits; NXLog writes a (signed) decimal.
fn keywords(k: &str) -> String {
    let t = k.trim();
    if let Ok(n) = t.parse::<i64>() {
        format!("0x{:x}", n as u64)
    } else if let Ok(n) = t.parse::<u64>() {
        format!("0x{n:x}")
    } else {
        t.to_string()
    }
}

/// `SystemTime` in UTC from the first of `keys` that has a zone, else the first that parses.
fn system_time(flat: &Flat, keys: &[&str]) -> Option<String> {
    let parsed: Vec<(bool, chrono::DateTime<chrono::Utc>)> = keys
        .iter()
        .filter_map(|k| flat.first(k))
        .filter_map(|v| parse_utc(&v.text()))
        .collect();
    let (_, t) = parsed
        .iter()
        .find(|(zoned, _)| *zoned)
        .or_else(|| parsed.first())?;
    Some(t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string())
}

/// A time and whether its text named its zone. Zone-less text is read as UTC; a number is epoch seconds
/// (or milliseconds, by size).
fn parse_utc(text: &str) -> Option<(bool, chrono::DateTime<chrono::Utc>)> {
    use chrono::{DateTime, NaiveDateTime, Utc};
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some((true, dt.with_timezone(&Utc)));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(dt) = DateTime::parse_from_str(t, fmt) {
            return Some((true, dt.with_timezone(&Utc)));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, fmt) {
            return Some((false, dt.and_utc()));
        }
    }
    let secs = super::parse_time(t)?;
    let whole = secs.floor();
    let nanos = ((secs - whole) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
    DateTime::from_timestamp(whole as i64, nanos).map(|d| (false, d))
}

/// The `<System>` values, in the forwarder's element order.
struct System {
    provider_name: Option<String>,
    provider_guid: Option<String>,
    event_id: Option<String>,
    version: Option<String>,
    level: Option<String>,
    task: Option<String>,
    opcode: Option<String>,
    keywords: Option<String>,
    time: Option<String>,
    record: Option<String>,
    activity: Option<String>,
    related_activity: Option<String>,
    pid: Option<String>,
    tid: Option<String>,
    channel: Option<String>,
    computer: Option<String>,
    user: Option<String>,
}

impl System {
    fn element(self) -> Element {
        fn empty(name: &str, attrs: Vec<(&str, Option<String>)>) -> Node {
            Node::Element(Element {
                name: name.into(),
                attrs: attrs
                    .into_iter()
                    .filter_map(|(n, v)| v.map(|v| (n.to_string(), v)))
                    .collect(),
                children: Vec::new(),
            })
        }
        fn text(out: &mut Vec<Node>, name: &str, v: Option<String>) {
            if let Some(v) = v {
                out.push(Node::Element(Element {
                    name: name.into(),
                    attrs: Vec::new(),
                    children: vec![Node::Text(v)],
                }));
            }
        }
        let mut c = Vec::with_capacity(14);
        c.push(empty(
            "Provider",
            vec![("Name", self.provider_name), ("Guid", self.provider_guid)],
        ));
        text(&mut c, "EventID", self.event_id);
        text(&mut c, "Version", self.version);
        text(&mut c, "Level", self.level);
        text(&mut c, "Task", self.task);
        text(&mut c, "Opcode", self.opcode);
        text(&mut c, "Keywords", self.keywords);
        if self.time.is_some() {
            c.push(empty("TimeCreated", vec![("SystemTime", self.time)]));
        }
        text(&mut c, "EventRecordID", self.record);
        c.push(empty(
            "Correlation",
            vec![
                ("ActivityID", self.activity),
                ("RelatedActivityID", self.related_activity),
            ],
        ));
        if self.pid.is_some() || self.tid.is_some() {
            c.push(empty(
                "Execution",
                vec![("ProcessID", self.pid), ("ThreadID", self.tid)],
            ));
        }
        text(&mut c, "Channel", self.channel);
        text(&mut c, "Computer", self.computer);
        c.push(empty("Security", vec![("UserID", self.user)]));
        Element {
            name: "System".into(),
            attrs: Vec::new(),
            children: c,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::json;

    fn xml(text: &str) -> String {
        let mut flat = Flat::default();
        json::flatten(text, &mut flat).unwrap_or_default();
        let k = kind(&flat).unwrap_or(Export::Nxlog);
        let mut out = String::new();
        super::super::render::render(&to_tree(&flat, k), &mut out);
        out
    }

    #[test]
    fn sniffs_the_two_shapes_only() {
        let mut flat = Flat::default();
        let k = |t: &str, flat: &mut Flat| {
            json::flatten(t, flat).unwrap_or_default();
            kind(flat)
        };
        assert_eq!(
            k(r#"{"EventID":1,"Channel":"c","Hostname":"h"}"#, &mut flat),
            Some(Export::Nxlog)
        );
        assert_eq!(
            k(r#"{"EventID":1,"Channel":"c","Computer":"h"}"#, &mut flat),
            Some(Export::Nxlog)
        );
        assert_eq!(k(r#"{"EventID":1,"Channel":"c"}"#, &mut flat), None);
        assert_eq!(
            k(r#"{"winlog":{"event_id":"1","channel":"c"}}"#, &mut flat),
            Some(Export::Winlogbeat)
        );
        assert_eq!(k(r#"{"winlog":{"event_id":"1"}}"#, &mut flat), None);
        assert_eq!(
            k(r#"{"eventVersion":"1","eventName":"x"}"#, &mut flat),
            None
        );
    }

    #[test]
    fn nxlog_system_and_event_data() {
        // NXLog's own keys, the account of UserID (AccountType present), a decimal Keywords, a local
        // EventTime beside a zoned TimeCreated, a text Level, escapes in values
        let out = xml(
            r#"{"EventTime":"2020-10-19 03:30:46","Hostname":"WS5.corp","Keywords":-9214364837600034816,"EventType":"AUDIT_SUCCESS","SeverityValue":2,"Severity":"INFO","EventID":4688,"SourceName":"Microsoft-Windows-Security-Auditing","ProviderGuid":"{54849625-5478-4994-A5BA-3E3B0328C30D}","Version":2,"Task":13312,"OpcodeValue":0,"Opcode":"Info","Level":"Information","RecordNumber":77,"ExecutionProcessID":4,"ExecutionThreadID":96,"Channel":"Security","Domain":"NT AUTHORITY","AccountName":"SYSTEM","UserID":"S-1-5-18","AccountType":"Well Known Group","Message":"A new process","Category":"Process Creation","TimeCreated":"2020-10-19T07:30:46.2512345Z","NewProcessName":"C:\\a&b.exe","CommandLine":"x <y> 'z'","@version":"1","host":{"name":"collector"},"tags":["a"],"EventReceivedTime":"2020-10-19 03:30:47","SourceModuleName":"eventlog","SourceModuleType":"im_msvistalog"}"#,
        );
        assert_eq!(
            out,
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
             <Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-A5BA-3E3B0328C30D}'/>\
             <EventID>4688</EventID><Version>2</Version><Task>13312</Task><Opcode>0</Opcode>\
             <Keywords>0x8020000000000000</Keywords><TimeCreated SystemTime='2020-10-19T07:30:46.251234500Z'/>\
             <EventRecordID>77</EventRecordID><Correlation/><Execution ProcessID='4' ThreadID='96'/>\
             <Channel>Security</Channel><Computer>WS5.corp</Computer><Security UserID='S-1-5-18'/></System>\
             <EventData><Data Name='NewProcessName'>C:\\a&amp;b.exe</Data><Data Name='CommandLine'>x &lt;y&gt; 'z'</Data></EventData></Event>"
        );
    }

    #[test]
    fn account_name_without_account_type_is_event_data() {
        let out = xml(
            r#"{"EventID":7045,"Channel":"System","Hostname":"h","ServiceName":"S","AccountName":"LocalSystem","Domain":"D","Version":"13.33","TimeCreated":"2020-10-19 03:30:46.416"}"#,
        );
        assert!(
            out.contains("<Data Name='AccountName'>LocalSystem</Data>"),
            "{out}"
        );
        assert!(out.contains("<Data Name='Domain'>D</Data>"), "{out}");
        assert!(out.contains("<Data Name='Version'>13.33</Data>"), "{out}");
        assert!(!out.contains("<Version>"), "{out}");
        // no zone: read as UTC
        assert!(
            out.contains("SystemTime='2020-10-19T03:30:46.416Z'"),
            "{out}"
        );
    }

    #[test]
    fn winlogbeat_system_and_event_data() {
        let out = xml(
            r#"{"@timestamp":"2024-05-01T10:00:00.123Z","event":{"code":"1","kind":"event"},"host":{"name":"ws1"},"message":"Process Create","log":{"level":"information"},"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","computer_name":"ws1.corp.local","event_id":"1","provider_name":"Microsoft-Windows-Sysmon","provider_guid":"{5770385f-c22a-43e0-bf4c-06f5698ffbd9}","record_id":4242,"version":5,"task":"Process Create (rule: ProcessCreate)","opcode":"Info","process":{"pid":2740,"thread":{"id":2488}},"user":{"identifier":"S-1-5-18","name":"SYSTEM","domain":"NT AUTHORITY","type":"User"},"event_data":{"RuleName":"-","Image":"C:\\Windows\\System32\\calc.exe","CommandLine":"calc.exe","Nested":{"x":"1"}}}}"#,
        );
        assert_eq!(
            out,
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
             <Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385f-c22a-43e0-bf4c-06f5698ffbd9}'/>\
             <EventID>1</EventID><Version>5</Version><TimeCreated SystemTime='2024-05-01T10:00:00.123Z'/>\
             <EventRecordID>4242</EventRecordID><Correlation/><Execution ProcessID='2740' ThreadID='2488'/>\
             <Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>ws1.corp.local</Computer>\
             <Security UserID='S-1-5-18'/></System><EventData><Data Name='RuleName'>-</Data>\
             <Data Name='Image'>C:\\Windows\\System32\\calc.exe</Data><Data Name='CommandLine'>calc.exe</Data>\
             </EventData></Event>"
        );
    }

    #[test]
    fn empty_values_and_arrays() {
        let out = xml(r#"{"EventID":1,"Channel":"c","Hostname":"h","Path":"","List":["a","b"]}"#);
        assert!(out.contains("<Data Name='Path'></Data>"), "{out}");
        // an array is not an EventData value (a pipeline's `tags`, say)
        assert!(!out.contains("List"), "{out}");
        assert!(out.contains("<Provider/>"), "{out}");
    }

    #[test]
    fn a_windows_export_is_not_ruled_out_by_its_json_text() {
        // `EventCode` is a field of the XML form, never a key of the JSON text
        let plan = crate::input::ReadPlan {
            raw_required: vec![crate::input::RawLiteral::new(Some(b"EventCode\""), None)],
            ..Default::default()
        };
        assert!(!plan.rules_out(br#"{"EventID":4688,"Channel":"Security","Hostname":"h"}"#));
        assert!(!plan.rules_out(br#"{"winlog":{"event_id":"1","channel":"c"}}"#));
        assert!(plan.rules_out(br#"{"EventID":4688,"Hostname":"h"}"#));
    }

    #[test]
    fn rendered_text_is_always_well_formed() {
        // the reader trusts the rendered text without checking it again
        for t in [
            r#"{"EventID":"1</EventID>","Channel":"c'<>&\"","Hostname":"<h>","SourceName":"a'b","x'y":"</Event>","<z>":"]]>"}"#,
            r#"{"winlog":{"event_id":"<","channel":"&","computer_name":"'","event_data":{"a'":"<!--","b":"<?x"}}}"#,
        ] {
            let out = xml(t);
            assert_eq!(crate::input::xml::check(&out), Ok(()), "{out}");
        }
    }

    #[test]
    fn keywords_forms() {
        assert_eq!(keywords("-9214364837600034816"), "0x8020000000000000");
        assert_eq!(keywords("0"), "0x0");
        assert_eq!(keywords("0x8000000000000000"), "0x8000000000000000");
    }
}
