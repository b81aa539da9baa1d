//! What the loaded events hold: field names for completion, and the `.fields` summary (like Splunk's field
//! sidebar: how many events have each field, how many distinct values, the most common values).

use crate::event::Event;
use crate::input::{Content, Source};
use crate::value::Value;
use chrono_tz::Tz;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Distinct values counted per field at most; past this a field shows `10000+`.
pub const DISTINCT_CAP: usize = 10_000;
/// Top values shown per field.
pub const TOP: usize = 3;
/// Longest example value shown (in characters).
const EXAMPLE_LEN: usize = 60;

/// The events kept in memory by the sources (the REPL caches every input).
pub fn cached_events(sources: &[Source]) -> impl Iterator<Item = &Event> {
    sources.iter().flat_map(|s| match &s.content {
        Content::Cached { events, .. } => events.iter(),
        _ => [].iter(),
    })
}

/// Field names and sourcetypes of the events, sorted.
pub fn names_and_sourcetypes<'a>(
    events: impl Iterator<Item = &'a Event>,
) -> (Vec<String>, Vec<String>) {
    // Names are shared between the events of one input: look at each distinct pointer once.
    let mut seen_ptr: HashSet<usize> = HashSet::new();
    let mut names: HashSet<&str> = HashSet::new();
    let mut sts: HashSet<String> = HashSet::new();
    for ev in events {
        for (k, v) in ev.iter() {
            if seen_ptr.insert(Arc::as_ptr(k) as *const u8 as usize) {
                names.insert(k.as_ref());
            }
            if k.as_ref() == "sourcetype" && !sts.contains(v.text().as_ref()) {
                sts.insert(v.text().into_owned());
            }
        }
    }
    let mut names: Vec<String> = names.into_iter().map(str::to_string).collect();
    names.sort_by_key(|n| n.to_ascii_lowercase());
    let mut sts: Vec<String> = sts.into_iter().collect();
    sts.sort();
    (names, sts)
}

/// One field of the summary.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldSummary {
    pub name: String,
    /// Events that have the field.
    pub events: u64,
    pub distinct: usize,
    /// More distinct values than [`DISTINCT_CAP`] were seen.
    pub distinct_capped: bool,
    /// The most common values and their counts, most common first.
    pub top: Vec<(String, u64)>,
}

#[derive(Default)]
struct Acc {
    events: u64,
    values: HashMap<Arc<str>, u64>,
    capped: bool,
}

/// Summarise the fields of the events (of one sourcetype, if given, compared without case), those
/// whose name matches `pattern` (`*` wildcards, case-insensitive) when one is given.
/// `_raw` is left out (its values are whole events); `_time` values are shown as dates.
/// Returns the number of events looked at and one summary per field, sorted by name.
pub fn summarize<'a>(
    events: impl Iterator<Item = &'a Event>,
    sourcetype: Option<&str>,
    pattern: Option<&str>,
    tz: Tz,
    mut tick: impl FnMut(),
) -> (u64, Vec<FieldSummary>) {
    let pattern = pattern.map(str::to_lowercase);
    // whether a name is wanted, decided once per distinct name
    let mut wanted: HashMap<Arc<str>, bool> = HashMap::new();
    let mut accs: HashMap<Arc<str>, Acc> = HashMap::new();
    let mut total = 0u64;
    for ev in events {
        tick();
        if let Some(st) = sourcetype {
            let ok = ev
                .get("sourcetype")
                .is_some_and(|v| v.text().eq_ignore_ascii_case(st));
            if !ok {
                continue;
            }
        }
        total += 1;
        for (k, v) in ev.iter() {
            if k.as_ref() == "_raw" {
                continue;
            }
            if let Some(p) = &pattern {
                let ok = match wanted.get(k.as_ref()) {
                    Some(&ok) => ok,
                    None => {
                        let ok = crate::commands::wildcard_match(p, &k.to_lowercase());
                        wanted.insert(k.clone(), ok);
                        ok
                    }
                };
                if !ok {
                    continue;
                }
            }
            let acc = match accs.get_mut(k.as_ref()) {
                Some(a) => a,
                None => accs.entry(k.clone()).or_default(),
            };
            acc.events += 1;
            for x in v.values() {
                let key: Arc<str> = match x {
                    Value::Str(s) => s.clone(),
                    other if k.as_ref() == "_time" => match other.as_num() {
                        Some(t) => Arc::from(crate::output::format_time(t, tz, false)),
                        None => Arc::from(other.text().as_ref()),
                    },
                    other => Arc::from(other.text().as_ref()),
                };
                if let Some(c) = acc.values.get_mut(&key) {
                    *c += 1;
                } else if acc.values.len() < DISTINCT_CAP {
                    acc.values.insert(key, 1);
                } else {
                    acc.capped = true;
                }
            }
        }
    }
    let mut out: Vec<FieldSummary> = accs
        .into_iter()
        .map(|(name, acc)| {
            let mut vals: Vec<(Arc<str>, u64)> = acc.values.into_iter().collect();
            vals.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            FieldSummary {
                name: name.to_string(),
                events: acc.events,
                distinct: vals.len(),
                distinct_capped: acc.capped,
                top: vals
                    .into_iter()
                    .take(TOP)
                    .map(|(v, c)| (shorten(&v), c))
                    .collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        a.name
            .to_ascii_lowercase()
            .cmp(&b.name.to_ascii_lowercase())
            .then_with(|| a.name.cmp(&b.name))
    });
    (total, out)
}

fn shorten(v: &str) -> String {
    let one_line = v.replace(['\n', '\r'], " ");
    if one_line.chars().count() > EXAMPLE_LEN {
        let cut: String = one_line.chars().take(EXAMPLE_LEN - 1).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

/// The summary as rows for the table printer: field, events (count and share), distinct values, top values.
pub fn summary_rows(total: u64, fields: &[FieldSummary]) -> (Vec<Event>, Vec<String>) {
    let cols: Vec<String> = ["field", "events", "distinct", "top values"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let rows = fields
        .iter()
        .map(|f| {
            let mut e = Event::new();
            e.set("field", Value::str(&f.name));
            let pct = if total == 0 {
                0.0
            } else {
                f.events as f64 * 100.0 / total as f64
            };
            e.set("events", Value::str(format!("{} ({pct:.0}%)", f.events)));
            let distinct = if f.distinct_capped {
                format!("{}+", f.distinct)
            } else {
                f.distinct.to_string()
            };
            e.set("distinct", Value::str(distinct));
            // one line per field keeps the listing as compact as Splunk's sidebar
            let top: Vec<String> = f
                .top
                .iter()
                .map(|(v, c)| {
                    if v.is_empty() {
                        format!("\"\" ({c})")
                    } else {
                        format!("{v} ({c})")
                    }
                })
                .collect();
            e.set("top values", Value::str(top.join(", ")));
            e
        })
        .collect();
    (rows, cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(pairs: &[(&str, &str)]) -> Event {
        let mut e = Event::new();
        for (k, v) in pairs {
            e.set(*k, Value::str(v));
        }
        e
    }

    #[test]
    fn counts_events_distinct_and_top_values() {
        let evs = [
            ev(&[("sourcetype", "a"), ("user", "bob"), ("x", "1")]),
            ev(&[("sourcetype", "a"), ("user", "bob")]),
            ev(&[("sourcetype", "b"), ("user", "amy"), ("_raw", "{}")]),
        ];
        let (total, fs) = summarize(evs.iter(), None, None, chrono_tz::UTC, || {});
        assert_eq!(total, 3);
        let names: Vec<&str> = fs.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, vec!["sourcetype", "user", "x"], "_raw is left out");
        let user = &fs[1];
        assert_eq!(user.events, 3);
        assert_eq!(user.distinct, 2);
        assert_eq!(
            user.top,
            vec![("bob".to_string(), 2), ("amy".to_string(), 1)]
        );
        let (total, fs) = summarize(evs.iter(), Some("B"), None, chrono_tz::UTC, || {});
        assert_eq!(total, 1);
        assert_eq!(fs.len(), 2);
        // a name pattern keeps the matching fields (without case); the events are still all counted
        let (total, fs) = summarize(evs.iter(), None, Some("US*"), chrono_tz::UTC, || {});
        assert_eq!(total, 3);
        let names: Vec<&str> = fs.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, vec!["user"]);
        let (_, fs) = summarize(evs.iter(), Some("a"), Some("*x*"), chrono_tz::UTC, || {});
        assert_eq!((fs.len(), fs[0].events), (1, 1));
        let (rows, cols) = summary_rows(
            3,
            &summarize(evs.iter(), None, None, chrono_tz::UTC, || {}).1,
        );
        assert_eq!(cols[0], "field");
        assert_eq!(rows[2].get("events").unwrap().to_string(), "1 (33%)");
        assert_eq!(
            rows[1].get("top values").unwrap().to_string(),
            "bob (2), amy (1)"
        );
    }

    #[test]
    fn multivalues_count_each_value() {
        let mut e = Event::new();
        e.set("a", Value::multi(vec!["x".into(), "y".into()]).unwrap());
        let (_, fs) = summarize([e].iter(), None, None, chrono_tz::UTC, || {});
        assert_eq!(fs[0].events, 1);
        assert_eq!(fs[0].distinct, 2);
    }

    #[test]
    fn names_and_sourcetypes_are_sorted_and_unique() {
        let evs = [
            ev(&[("sourcetype", "b"), ("Zed", "1"), ("alpha", "1")]),
            ev(&[("sourcetype", "a"), ("alpha", "2")]),
        ];
        let (names, sts) = names_and_sourcetypes(evs.iter());
        assert_eq!(names, vec!["alpha", "sourcetype", "Zed"]);
        assert_eq!(sts, vec!["a", "b"]);
    }
}
