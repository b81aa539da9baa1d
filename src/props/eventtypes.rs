//! Event types (eventtypes.conf) and tags (tags.conf), the last two search-time steps.
//!
//! ```text
//! # eventtypes.conf
//! [windows_logon_success]
//! search = sourcetype=XmlWinEventLog EventCode=4624
//! # tags.conf
//! [eventtype=windows_logon_success]
//! authentication = enabled
//! [EventCode=4625]
//! failure = enabled
//! ```
//!
//! An event's `eventtype` is every enabled event type whose search matches it (after the lookups), in ASCII
//! order. An event type's search is a search expression (no pipes, no time bounds, no subsearches) and may
//! name other event types with `eventtype=<name>` (a `*` wildcard allowed): the definition is used in its
//! place, so a cycle is an error. `priority`, `color` and `description` are accepted and do nothing to the
//! results; `disabled = 1` leaves an event type out.
//!
//! `tag` is the union, in ASCII order, of the enabled tags of the event's event types (`[eventtype=NAME]`)
//! and of its field values (`[field=value]`, the value compared exactly); `tag::eventtype` holds the first
//! kind and `tag::<field>` those of `<field>`'s values. A later file's `tag = enabled|disabled` replaces an
//! earlier one. An event type's search cannot use tags (they are computed after event types).

use super::conf::{self, ConfStanza};
use crate::commands::search::{parse_search_text, CmpOp, Glob, Matcher, SearchExpr};
use crate::diag::{Diagnostic, Result};
use crate::event::{Event, Field};
use crate::value::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

#[derive(Clone)]
struct RawType {
    search: Option<(String, String)>,
    disabled: bool,
}

/// Event types and tags, as loaded.
#[derive(Default)]
pub struct EventTypes {
    raw: BTreeMap<String, RawType>,
    /// `(field, value)` → tag → enabled.
    raw_tags: BTreeMap<(String, String), BTreeMap<String, bool>>,
    /// Enabled event types in ASCII order, compiled.
    types: Vec<(Value, Matcher)>,
    /// Fields the event type searches read.
    type_fields: HashSet<String>,
    /// Tags of each event type.
    type_tags: HashMap<String, Vec<String>>,
    /// field → value → tags.
    value_tags: HashMap<String, HashMap<String, Vec<String>>>,
    /// `tag::<field>` names, by field.
    tag_fields: HashMap<String, Field>,
    f_eventtype: Option<Field>,
}

const EVENTTYPE_SETTINGS: &[&str] = &["search", "disabled", "priority", "color", "description"];

impl EventTypes {
    /// Add an eventtypes.conf text (`origin` names it).
    pub fn add_eventtypes(&mut self, text: &str, origin: &str) -> Result<()> {
        for st in conf::parse(text, origin)? {
            if st.name.contains('%') {
                return Err(Diagnostic::new(format!(
                    "{origin}:{}: event type `[{}]`: names with `%field%` templates are not supported",
                    st.line, st.name
                )));
            }
            let entry = self.raw.entry(st.name.clone()).or_insert(RawType {
                search: None,
                disabled: false,
            });
            for k in &st.keys {
                match k.key.as_str() {
                    "search" => entry.search = Some((k.value.clone(), format!("{origin}:{}", k.line))),
                    "disabled" => {
                        entry.disabled = crate::parse::parse_bool(&k.value).ok_or_else(|| {
                            Diagnostic::new(format!(
                                "{origin}:{}: `disabled` takes true or false",
                                k.line
                            ))
                        })?
                    }
                    "priority" | "color" | "description" => {}
                    other => {
                        return Err(Diagnostic::new(format!(
                            "{origin}:{}: event type `[{}]`: setting `{other}` is not supported (supported: {})",
                            k.line,
                            st.name,
                            EVENTTYPE_SETTINGS.join(", ")
                        )))
                    }
                }
            }
        }
        Ok(())
    }

    /// Add a tags.conf text (`origin` names it).
    pub fn add_tags(&mut self, text: &str, origin: &str) -> Result<()> {
        for st in conf::parse(text, origin)? {
            let (field, value) = tag_stanza(&st, origin)?;
            let entry = self.raw_tags.entry((field, value)).or_default();
            for k in &st.keys {
                let on = match k.value.to_ascii_lowercase().as_str() {
                    "enabled" => true,
                    "disabled" => false,
                    _ => {
                        return Err(Diagnostic::new(format!(
                            "{origin}:{}: tag `{}` must be `enabled` or `disabled`",
                            k.line, k.key
                        )))
                    }
                };
                entry.insert(k.key.clone(), on);
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty() && self.raw_tags.is_empty()
    }

    /// Does an enabled event type match the name pattern `pattern` (`*` wildcards)?
    pub fn defines(&self, pattern: &str) -> bool {
        let g = Glob::new(pattern);
        self.raw
            .iter()
            .any(|(n, t)| !t.disabled && t.search.is_some() && g.matches(n))
    }

    /// Does tags.conf give an enabled tag matching `pattern`?
    pub fn gives_tag(&self, pattern: &str) -> bool {
        let g = Glob::new(pattern);
        self.raw_tags
            .values()
            .any(|tags| tags.iter().any(|(t, on)| *on && g.matches(t)))
    }

    pub fn compile(&mut self) -> Result<()> {
        let mut types = Vec::new();
        let mut fields = Vec::new();
        for (name, t) in &self.raw {
            if t.disabled {
                continue;
            }
            let Some((search, origin)) = &t.search else {
                continue;
            };
            let expr = self.expand(name, search, origin, &mut Vec::new())?;
            let m = Matcher::compile(&expr, &|_| None).map_err(|e| {
                Diagnostic::new(format!("{origin}: event type `{name}`: {}", e.message))
            })?;
            m.fields(&mut fields);
            types.push((Value::str(name), m));
        }
        self.types = types;
        self.type_fields = fields.into_iter().collect();
        self.type_tags.clear();
        self.value_tags.clear();
        self.tag_fields.clear();
        for ((field, value), tags) in &self.raw_tags {
            let on: Vec<String> = tags
                .iter()
                .filter(|(_, on)| **on)
                .map(|(t, _)| t.clone())
                .collect();
            if on.is_empty() {
                continue;
            }
            if field == "eventtype" {
                self.type_tags.insert(value.clone(), on);
            } else {
                self.value_tags
                    .entry(field.clone())
                    .or_default()
                    .insert(value.clone(), on);
                self.tag_fields
                    .insert(field.clone(), Arc::from(format!("tag::{field}").as_str()));
            }
        }
        self.f_eventtype = Some(Arc::from("eventtype"));
        Ok(())
    }

    /// The search of event type `name` with every `eventtype=` it names replaced by that definition.
    fn expand(
        &self,
        name: &str,
        search: &str,
        origin: &str,
        stack: &mut Vec<String>,
    ) -> Result<SearchExpr> {
        let err = |m: String| Diagnostic::new(format!("{origin}: event type `{name}`: {m}"));
        if stack.iter().any(|s| s == name) {
            return Err(err(format!(
                "its search refers to itself through {}",
                stack.join(" -> ")
            )));
        }
        let expr = parse_search_text(search)
            .map_err(|e| err(format!("the search does not parse: {}", e.message)))?
            .unwrap_or(SearchExpr::All);
        stack.push(name.to_string());
        let out = self.expand_expr(expr, stack).map_err(|m| match m {
            Expand::Msg(m) => err(m),
            Expand::Diag(d) => d,
        });
        stack.pop();
        out
    }

    fn expand_expr(
        &self,
        e: SearchExpr,
        stack: &mut Vec<String>,
    ) -> std::result::Result<SearchExpr, Expand> {
        Ok(match e {
            SearchExpr::And(v) => SearchExpr::And(
                v.into_iter()
                    .map(|x| self.expand_expr(x, stack))
                    .collect::<std::result::Result<_, _>>()?,
            ),
            SearchExpr::Or(v) => SearchExpr::Or(
                v.into_iter()
                    .map(|x| self.expand_expr(x, stack))
                    .collect::<std::result::Result<_, _>>()?,
            ),
            SearchExpr::Not(x) => SearchExpr::Not(Box::new(self.expand_expr(*x, stack)?)),
            SearchExpr::Compare {
                field, op, value, ..
            } if field == "eventtype" => {
                let any = self.refer(&value, stack)?;
                match op {
                    CmpOp::Eq => any,
                    CmpOp::Ne => SearchExpr::Not(Box::new(any)),
                    _ => {
                        return Err(Expand::Msg(
                            "`eventtype` can only be compared with = or !=".into(),
                        ))
                    }
                }
            }
            SearchExpr::In { field, values, .. } if field == "eventtype" => SearchExpr::Or(
                values
                    .iter()
                    .map(|v| self.refer(v, stack))
                    .collect::<std::result::Result<_, _>>()?,
            ),
            SearchExpr::Compare { ref field, .. } | SearchExpr::In { ref field, .. }
                if field == "tag" || field.starts_with("tag::") =>
            {
                return Err(Expand::Msg(format!(
                    "its search uses `{field}`, but tags are given after event types"
                )))
            }
            SearchExpr::Time { .. } => {
                return Err(Expand::Msg(
                    "an event type's search cannot have time bounds".into(),
                ))
            }
            SearchExpr::Subsearch(..) => {
                return Err(Expand::Msg(
                    "an event type's search cannot have a subsearch".into(),
                ))
            }
            other => other,
        })
    }

    /// The definitions of the enabled event types whose name matches `pattern`, as one OR.
    fn refer(
        &self,
        pattern: &str,
        stack: &mut Vec<String>,
    ) -> std::result::Result<SearchExpr, Expand> {
        let g = Glob::new(pattern);
        let mut alts = Vec::new();
        for (n, t) in &self.raw {
            if t.disabled || !g.matches(n) {
                continue;
            }
            if let Some((s, o)) = &t.search {
                alts.push(self.expand(n, s, o, stack).map_err(Expand::Diag)?);
            }
        }
        Ok(SearchExpr::Or(alts))
    }

    /// `eventtype`, `tag`, `tag::eventtype` and the `tag::<field>` names, when loaded.
    pub fn computed_fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.types.is_empty() {
            out.push("eventtype".to_string());
        }
        if !self.type_tags.is_empty() || !self.value_tags.is_empty() {
            out.push("tag".to_string());
        }
        if !self.type_tags.is_empty() {
            out.push("tag::eventtype".to_string());
        }
        out.extend(self.tag_fields.values().map(|f| f.to_string()));
        out
    }

    /// Fields needed to compute the event types and tags among `need`.
    pub fn dependencies(&self, need: &HashSet<String>) -> Vec<String> {
        let mut out = Vec::new();
        let tags = need.contains("tag") || need.contains("tag::eventtype");
        if tags || need.contains("eventtype") {
            out.extend(self.type_fields.iter().cloned());
        }
        if tags {
            out.extend(self.value_tags.keys().cloned());
        }
        for (f, tf) in &self.tag_fields {
            if need.contains(tf.as_ref()) {
                out.push(f.clone());
            }
        }
        out
    }

    /// Give the event its `eventtype` (when `types`) and tag fields (when `tags`).
    pub fn apply(&self, ev: &mut Event, types: bool, tags: bool) {
        let matched: Vec<&Value> = if types || (tags && !self.type_tags.is_empty()) {
            self.types
                .iter()
                .filter(|(_, m)| m.matches(ev))
                .map(|(n, _)| n)
                .collect()
        } else {
            Vec::new()
        };
        if types {
            if let Some(f) = &self.f_eventtype {
                ev.set_opt(
                    f.clone(),
                    Value::multi(matched.iter().map(|v| (*v).clone()).collect()),
                );
            }
        }
        if !tags {
            return;
        }
        let mut all: BTreeSet<&str> = BTreeSet::new();
        let mut of_types: BTreeSet<&str> = BTreeSet::new();
        for n in &matched {
            if let Some(ts) = self.type_tags.get(n.text().as_ref()) {
                of_types.extend(ts.iter().map(String::as_str));
            }
        }
        all.extend(of_types.iter().copied());
        let mut per_field: Vec<(Field, Value)> = Vec::new();
        for (field, by_value) in &self.value_tags {
            let Some(v) = ev.get(field) else { continue };
            let mut these: BTreeSet<&str> = BTreeSet::new();
            for x in v.values() {
                if let Some(ts) = by_value.get(x.text().as_ref()) {
                    these.extend(ts.iter().map(String::as_str));
                }
            }
            if let (Some(tf), Some(val)) = (
                self.tag_fields.get(field),
                Value::multi(these.iter().map(Value::str).collect()),
            ) {
                per_field.push((tf.clone(), val));
            }
            all.extend(these);
        }
        let set = |s: &BTreeSet<&str>| Value::multi(s.iter().map(Value::str).collect());
        let (tag, tag_types) = (set(&all), set(&of_types));
        if !self.type_tags.is_empty() {
            ev.set_opt("tag::eventtype", tag_types);
        }
        for (f, v) in per_field {
            ev.set(f, v);
        }
        ev.set_opt("tag", tag);
    }
}

enum Expand {
    Msg(String),
    Diag(Diagnostic),
}

/// `[field=value]` of tags.conf (`eventtype=NAME` included).
fn tag_stanza(st: &ConfStanza, origin: &str) -> Result<(String, String)> {
    match st.name.split_once('=') {
        Some((f, v)) if !f.trim().is_empty() => {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .unwrap_or(v);
            Ok((f.trim().to_string(), v.to_string()))
        }
        _ => Err(Diagnostic::new(format!(
            "{origin}:{}: tags.conf stanza `[{}]` is not `[<field>=<value>]`",
            st.line, st.name
        ))),
    }
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

    fn texts(e: &Event, f: &str) -> Vec<String> {
        e.get(f)
            .map(|v| v.values().iter().map(|x| x.text().into_owned()).collect())
            .unwrap_or_default()
    }

    fn loaded() -> EventTypes {
        let mut t = EventTypes::default();
        t.add_eventtypes(
            "[logon]\nsearch = sourcetype=win EventCode=4624\npriority = 1\n\
             [logon_net]\nsearch = eventtype=logon Logon_Type=3\n\
             [any_logon]\nsearch = eventtype=logon*\n\
             [off]\nsearch = EventCode=*\ndisabled = 1\n",
            "e.conf",
        )
        .unwrap();
        t.add_tags(
            "[eventtype=logon]\nauthentication = enabled\nold = enabled\n\
             [eventtype=logon_net]\nnetwork = enabled\n\
             [EventCode=4624]\nsuccess = enabled\n",
            "t.conf",
        )
        .unwrap();
        t.add_tags("[eventtype=logon]\nold = disabled\n", "t2.conf")
            .unwrap();
        t.compile().unwrap();
        t
    }

    #[test]
    fn event_types_match_nest_and_are_sorted() {
        let t = loaded();
        let mut e = ev(&[
            ("sourcetype", "win"),
            ("EventCode", "4624"),
            ("Logon_Type", "3"),
        ]);
        t.apply(&mut e, true, false);
        assert_eq!(texts(&e, "eventtype"), ["any_logon", "logon", "logon_net"]);
        assert!(e.get("tag").is_none());
        let mut e = ev(&[("sourcetype", "win"), ("EventCode", "4625")]);
        t.apply(&mut e, true, true);
        assert!(e.get("eventtype").is_none(), "disabled types do not match");
        assert!(t.defines("logon") && t.defines("logon*") && !t.defines("off"));
    }

    #[test]
    fn tags_of_event_types_and_field_values() {
        let t = loaded();
        let mut e = ev(&[
            ("sourcetype", "win"),
            ("EventCode", "4624"),
            ("Logon_Type", "3"),
        ]);
        t.apply(&mut e, false, true);
        assert!(e.get("eventtype").is_none());
        assert_eq!(texts(&e, "tag"), ["authentication", "network", "success"]);
        assert_eq!(texts(&e, "tag::eventtype"), ["authentication", "network"]);
        assert_eq!(texts(&e, "tag::EventCode"), ["success"]);
        assert!(t.gives_tag("success") && !t.gives_tag("old"));
        let need = HashSet::from(["tag".to_string()]);
        let deps = t.dependencies(&need);
        for f in ["sourcetype", "EventCode", "Logon_Type"] {
            assert!(deps.iter().any(|d| d == f), "{f}");
        }
    }

    #[test]
    fn bad_definitions_are_errors() {
        for (text, word) in [
            (
                "[a]\nsearch = eventtype=b\n[b]\nsearch = eventtype=a\n",
                "itself",
            ),
            ("[a]\nsearch = tag=x\n", "tags are given after"),
            ("[a]\nsearch = x | y\n", "does not parse"),
            ("[a]\nsearch = earliest=-1d x\n", "time bounds"),
            ("[a]\ntags = x\n", "tags"),
        ] {
            let mut t = EventTypes::default();
            let r = t.add_eventtypes(text, "e.conf").and_then(|_| t.compile());
            let m = r.unwrap_err().message;
            assert!(m.contains(word) && m.contains("e.conf"), "{text}: {m}");
        }
        let mut t = EventTypes::default();
        assert!(t.add_tags("[x]\na = enabled\n", "t.conf").is_err());
        assert!(t.add_tags("[x=1]\na = yes\n", "t.conf").is_err());
    }
}
