//! `lookup` — add fields from a lookup table to each row whose fields match a table row.
//!
//! ```text
//! lookup [local=<bool>] [update=<bool>] <lookup> <lookup-field> [AS <event-field>] [[,] ...]
//!        [OUTPUT | OUTPUTNEW <lookup-field> [AS <event-field>] [[,] ...]]
//! ```
//! - A row matches a table row when every match field has a value equal to the table's cell: exact text,
//!   case-sensitive unless the definition sets `case_sensitive_match = false` (transforms.conf default:
//!   true). A multivalue event field matches when any of its values does. A missing event field matches
//!   nothing.
//! - Without `OUTPUT`/`OUTPUTNEW`, every other column of the table is output.
//! - `OUTPUT` replaces the output fields: with no match they are removed (Splunk overwrites them with
//!   nothing). `OUTPUTNEW` sets only output fields that the row does not have yet.
//! - Several matching table rows (up to the definition's `max_matches`, default 1000, in file order) give
//!   multivalue outputs, one value per matching row that has the column. Fewer matches than `min_matches`
//!   give each output field the definition's `default_match`, when it has one.
//! - `local` and `update` are accepted and change nothing (they concern Splunk's distributed search and
//!   real-time searches).
//!
//! Not done: `match_type = WILDCARD(...)`/`CIDR(...)` definitions (match is exact), time-based lookups,
//! external and KV store lookups other than as CSV tables.

use super::{Context, Operator, SubRunner};
use crate::diag::{Result, Span};
use crate::event::Event;
use crate::lookups::DEFAULT_MAX_MATCHES;
use crate::parse::Cursor;
use crate::value::Value;
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputMode {
    /// No clause: every other column, replacing.
    All,
    Output,
    OutputNew,
}

/// `<lookup field> [AS <event field>]`.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldMap {
    pub table: String,
    pub event: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Lookup {
    pub name: String,
    pub inputs: Vec<FieldMap>,
    pub mode: OutputMode,
    pub outputs: Vec<FieldMap>,
    pub span: Span,
}

fn parse_maps(c: &mut Cursor, what: &str, stop_at_output: bool) -> Result<Vec<FieldMap>> {
    let mut out = Vec::new();
    loop {
        c.ws();
        if c.eat(',') {
            continue;
        }
        if c.at_stage_end()
            || (stop_at_output && (c.at_keyword("output") || c.at_keyword("outputnew")))
        {
            break;
        }
        let (table, _) = c.field(what)?;
        let event = if c.keyword("as") {
            c.field("a field name after `AS`")?.0
        } else {
            table.clone()
        };
        out.push(FieldMap { table, event });
    }
    Ok(out)
}

impl Lookup {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Lookup> {
        for (k, v, span) in c.options(&["local", "update", "event_time_field"])? {
            if k != "event_time_field" {
                crate::parse::flag(&k, &v, span)?;
            }
        }
        c.ws();
        if c.at_stage_end() {
            return Err(c.expected("a lookup name after `lookup`"));
        }
        let (name, span) = c.field("a lookup name")?;
        let inputs = parse_maps(c, "a field to match on", true)?;
        if inputs.is_empty() {
            return Err(c.expected(&format!(
                "a field of `{name}` to match on (`lookup {name} <field> [AS <event field>]`)"
            )));
        }
        let mode = if c.keyword("outputnew") {
            OutputMode::OutputNew
        } else if c.keyword("output") {
            OutputMode::Output
        } else {
            OutputMode::All
        };
        let outputs = if mode == OutputMode::All {
            Vec::new()
        } else {
            let o = parse_maps(c, "a field to output", false)?;
            if o.is_empty() {
                return Err(c.expected("a field name after `OUTPUT`"));
            }
            o
        };
        c.end_of_stage("lookup")?;
        let _ = name_span;
        Ok(Lookup {
            name,
            inputs,
            mode,
            outputs,
            span,
        })
    }
}

impl super::SplCommand for Lookup {
    fn lookups(&self) -> Vec<super::LookupRef> {
        vec![super::LookupRef {
            name: self.name.clone(),
            writes: false,
            span: self.span,
        }]
    }

    fn operator(&self, ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        let rows = ctx.lookups.read(&self.name).map_err(|mut d| {
            d.span = Some(self.span);
            d
        })?;
        let def = ctx.lookups.definition(&self.name);
        let case_sensitive = def.is_none_or(|d| d.case_sensitive);
        let max_matches = def.map_or(DEFAULT_MAX_MATCHES, |d| d.max_matches);
        let min_matches = def.map_or(0, |d| d.min_matches);
        let default_match = def.and_then(|d| d.default_match.clone());
        let outputs = if self.mode == OutputMode::All {
            // every column that is not matched on, in the table's order of first appearance
            let mut cols: Vec<String> = Vec::new();
            for r in &rows {
                for k in r.names() {
                    if !self.inputs.iter().any(|i| i.table == k.as_ref())
                        && !cols.iter().any(|c| c == k.as_ref())
                    {
                        cols.push(k.to_string());
                    }
                }
            }
            cols.into_iter()
                .map(|c| FieldMap {
                    table: c.clone(),
                    event: c,
                })
                .collect()
        } else {
            self.outputs.clone()
        };
        let norm = move |s: &str| {
            if case_sensitive {
                s.to_string()
            } else {
                s.to_lowercase()
            }
        };
        let mut index: HashMap<Vec<String>, Vec<usize>> = HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            // a table row with an empty match cell matches nothing; a cell with several values
            // matches any of them
            let mut keys: Vec<Vec<String>> = vec![Vec::new()];
            for f in &self.inputs {
                let Some(v) = r.get(&f.table) else {
                    keys.clear();
                    break;
                };
                let mut next = Vec::new();
                for k in &keys {
                    for x in v.values() {
                        let mut nk = k.clone();
                        nk.push(norm(&x.text()));
                        next.push(nk);
                    }
                }
                keys = next;
            }
            for k in keys {
                let e = index.entry(k).or_default();
                if e.last() != Some(&i) {
                    e.push(i);
                }
            }
        }
        Ok(Box::new(LookupOp {
            inputs: self.inputs.clone(),
            outputs,
            mode: self.mode.clone(),
            rows,
            index,
            case_sensitive,
            max_matches,
            min_matches,
            default_match,
        }))
    }
}

struct LookupOp {
    inputs: Vec<FieldMap>,
    outputs: Vec<FieldMap>,
    mode: OutputMode,
    rows: Vec<Event>,
    index: HashMap<Vec<String>, Vec<usize>>,
    case_sensitive: bool,
    max_matches: usize,
    min_matches: usize,
    default_match: Option<String>,
}

impl LookupOp {
    fn matches(&self, ev: &Event) -> Vec<usize> {
        let mut keys: Vec<Vec<String>> = vec![Vec::new()];
        for f in &self.inputs {
            let Some(v) = ev.get(&f.event) else {
                return Vec::new();
            };
            let mut next = Vec::new();
            for k in &keys {
                for x in v.values() {
                    let t = x.text();
                    let mut nk = k.clone();
                    nk.push(if self.case_sensitive {
                        t.into_owned()
                    } else {
                        t.to_lowercase()
                    });
                    next.push(nk);
                }
            }
            keys = next;
        }
        let mut found: Vec<usize> = Vec::new();
        for k in keys {
            if let Some(rows) = self.index.get(&k) {
                for &r in rows {
                    if !found.contains(&r) {
                        found.push(r);
                    }
                }
            }
        }
        found.sort_unstable();
        found.truncate(self.max_matches);
        found
    }
}

impl Operator for LookupOp {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let found = self.matches(&ev);
        let use_default = found.len() < self.min_matches && self.default_match.is_some();
        for o in &self.outputs {
            if self.mode == OutputMode::OutputNew && ev.contains(&o.event) {
                continue;
            }
            let value = if use_default {
                self.default_match.as_deref().map(Value::str)
            } else {
                let vals: Vec<Value> = found
                    .iter()
                    .filter_map(|&i| self.rows.get(i).and_then(|r| r.get(&o.table)))
                    .flat_map(|v| v.values().to_vec())
                    .collect();
                Value::multi(vals)
            };
            match (value, &self.mode) {
                (Some(v), _) => ev.set(o.event.as_str(), v),
                // OUTPUTNEW never removes; OUTPUT (and no clause) overwrite with nothing
                (None, OutputMode::OutputNew) => {}
                (None, _) => {
                    ev.remove(&o.event);
                }
            }
        }
        out.push(ev);
        Ok(())
    }
}
