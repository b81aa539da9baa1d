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
//! - A definition's `match_type = WILDCARD(<column>)` lets that column's cells hold `*` wildcards.
//!
//! Refused: definitions with a `CIDR(...)` match type or a `time_field` (time-based lookups). Not done:
//! external and KV store lookups other than as CSV tables.

use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::{Event, Field};
use crate::lookups::Matcher;
use crate::parse::Cursor;

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
        if let Some(why) = def.and_then(|d| d.unsupported.first()) {
            return Err(Diagnostic::at(
                format!("lookup `{}`: {why}", self.name),
                self.span,
            ));
        }
        let pairs = |maps: &[FieldMap]| -> Vec<(String, Field)> {
            maps.iter()
                .map(|m| (m.table.clone(), Field::from(m.event.as_str())))
                .collect()
        };
        // no OUTPUT clause: every column not matched on, replacing (as OUTPUT does)
        let outputs = match self.mode {
            OutputMode::All => Vec::new(),
            _ => pairs(&self.outputs),
        };
        Ok(Box::new(LookupOp(Matcher::new(
            rows,
            def,
            pairs(&self.inputs),
            outputs,
            self.mode == OutputMode::OutputNew,
        ))))
    }
}

/// Adds the matching table rows' output fields to each row (the matching rules are
/// [`crate::lookups::Matcher`]'s, shared with automatic lookups).
struct LookupOp(Matcher);

impl Operator for LookupOp {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let found = self.0.find(&ev);
        self.0.apply(&mut ev, &found);
        out.push(ev);
        Ok(())
    }
}
