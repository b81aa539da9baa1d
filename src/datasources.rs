//! Data sources: what the `data_source:` names of a security_content detection ("Sysmon EventID 1",
//! "Windows Event Log Security 4688", "AWS CloudTrail ConsoleLogin") mean as events, so that `spelunk
//! check` can say which events a detection reads and whether given data has them.
//!
//! The meaning is data, `knowledge/data_sources.csv`: one row per name pattern with the `source` and
//! `sourcetype` Splunk gives those events and the field that tells one event of the source from another
//! (`separator`, as security_content's data source files call it). A pattern ending in ` *` stands for a
//! name whose last word is the separator's value, or several comma-separated ones ("NTLM Operational
//! 8004,8005,8006"). Names joined by ` AND ` are each needed. A name that matches no row is unknown: its
//! events cannot be told, and `check` says so.

use crate::event::Event;
use std::sync::OnceLock;

/// The shipped table.
pub const TABLE: &str = include_str!("../knowledge/data_sources.csv");

#[derive(Clone, Debug, PartialEq)]
struct Rule {
    pattern: String,
    source: Option<String>,
    sourcetype: String,
    separator: Option<String>,
}

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        TABLE
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| {
                let cols: Vec<&str> = l.split(',').map(str::trim).collect();
                let [pattern, source, sourcetype, separator] = cols.as_slice() else {
                    return None;
                };
                let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
                Some(Rule {
                    pattern: pattern.to_string(),
                    source: opt(source),
                    sourcetype: sourcetype.to_string(),
                    separator: opt(separator),
                })
            })
            .collect()
    })
}

/// The fields that tell the events of one data source from another's (the table's separators).
pub fn separator_fields() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for r in rules() {
        if let Some(f) = r.separator.as_deref() {
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
    out
}

/// The events of one data source.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Events {
    pub source: Option<String>,
    pub sourcetype: String,
    /// The separator field and the values any of which an event has.
    pub field: Option<String>,
    pub values: Vec<String>,
}

impl Events {
    /// The events as search terms (`source=... EventCode=1`).
    pub fn search(&self) -> String {
        let mut parts = Vec::new();
        match &self.source {
            Some(s) => parts.push(format!("source=\"{s}\"")),
            None => parts.push(format!("sourcetype=\"{}\"", self.sourcetype)),
        }
        if let Some(f) = &self.field {
            match self.values.as_slice() {
                [one] => parts.push(format!("{f}={one}")),
                many => parts.push(format!("{f} IN ({})", many.join(", "))),
            }
        }
        parts.join(" ")
    }

    /// Is `ev` one of these events? Values compare as search terms do: without regard to case.
    pub fn matches(&self, ev: &Event) -> bool {
        let is = |name: &str, want: &str| {
            ev.get(name).is_some_and(|v| {
                v.values()
                    .iter()
                    .any(|x| x.text().eq_ignore_ascii_case(want))
            })
        };
        if let Some(s) = &self.source {
            if !is("source", s) {
                return false;
            }
        }
        if !is("sourcetype", &self.sourcetype) {
            return false;
        }
        match &self.field {
            Some(f) => self.values.iter().any(|v| is(f, v)),
            None => true,
        }
    }
}

/// One name of a detection's `data_source:` list, as events (`None`: the name is unknown).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DataSource {
    pub name: String,
    pub events: Option<Events>,
}

/// The data sources a `data_source:` entry names (` AND ` joins several).
pub fn resolve(entry: &str) -> Vec<DataSource> {
    entry
        .split(" AND ")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|name| DataSource {
            name: name.to_string(),
            events: events_of(name),
        })
        .collect()
}

fn events_of(name: &str) -> Option<Events> {
    for r in rules() {
        let Some(prefix) = r.pattern.strip_suffix(" *") else {
            if r.pattern.eq_ignore_ascii_case(name) {
                return Some(Events {
                    source: r.source.clone(),
                    sourcetype: r.sourcetype.clone(),
                    field: None,
                    values: Vec::new(),
                });
            }
            continue;
        };
        let Some(rest) = name
            .get(..prefix.len())
            .filter(|p| p.eq_ignore_ascii_case(prefix))
            .and_then(|_| name[prefix.len()..].strip_prefix(' '))
        else {
            continue;
        };
        let values: Vec<String> = rest
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        let field = r.separator.clone()?;
        if values.is_empty() || values.iter().any(|v| v.contains(' ')) {
            continue;
        }
        return Some(Events {
            source: r.source.clone(),
            sourcetype: r.sourcetype.clone(),
            field: Some(field),
            values,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn names_resolve_to_events() {
        let d = resolve("Sysmon EventID 1 AND Sysmon EventID 11");
        assert_eq!(d.len(), 2);
        let e = d[1].events.as_ref().unwrap();
        assert_eq!(
            e.search(),
            "source=\"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational\" EventCode=11"
        );
        let e = resolve("NTLM Operational 8004,8005,8006")[0]
            .events
            .clone()
            .unwrap();
        assert_eq!(e.values, ["8004", "8005", "8006"]);
        let e = resolve("AWS CloudTrail ConsoleLogin")[0]
            .events
            .clone()
            .unwrap();
        assert_eq!(
            e.search(),
            "sourcetype=\"aws:cloudtrail\" eventName=ConsoleLogin"
        );
        let e = resolve("AWS CloudTrail")[0].events.clone().unwrap();
        assert_eq!(e.search(), "sourcetype=\"aws:cloudtrail\"");
        assert_eq!(resolve("CrowdStrike ProcessRollup2")[0].events, None);
        // a pattern's prefix must be followed by a value
        assert_eq!(resolve("Sysmon EventID")[0].events, None);
        assert_eq!(resolve("Sysmon EventIDs 1")[0].events, None);
    }

    #[test]
    fn events_match_by_source_sourcetype_and_separator() {
        let e = resolve("Windows Event Log Security 4688")[0]
            .events
            .clone()
            .unwrap();
        let mut ev = Event::new();
        ev.set("source", Value::str("XmlWinEventLog:Security"));
        ev.set("sourcetype", Value::str("xmlwineventlog"));
        ev.set("EventCode", Value::str("4688"));
        assert!(e.matches(&ev));
        ev.set("EventCode", Value::str("4624"));
        assert!(!e.matches(&ev));
        ev.set("EventCode", Value::str("4688"));
        ev.set("source", Value::str("XmlWinEventLog:System"));
        assert!(!e.matches(&ev));
    }
}
