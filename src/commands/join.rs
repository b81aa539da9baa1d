//! `join` — combine each row with the rows of a subsearch that have the same values in the join fields.
//!
//! ```text
//! join [type=inner|outer|left] [usetime=<bool>] [earlier=<bool>] [overwrite=<bool>] [max=<N>]
//!      [<field> [[,] <field>]...] [ <subsearch> ]
//! ```
//! - Join fields: those listed; none listed means every field the row and the subsearch row share
//!   (internal `_` fields left out).
//!   Values match as exact text (case-sensitive); a row missing a join field matches nothing.
//! - `max` (default 1) is how many subsearch rows each row combines with, in subsearch order; `max=0` is
//!   no limit. Each combination is one output row: the row's fields, then the subsearch row's fields, which
//!   replace the row's when `overwrite=true` (the default).
//! - `type=inner` (default) drops rows without a match; `left` and `outer` (the same in Splunk) keep them.
//! - The subsearch runs first, to at most 50,000 rows (Splunk's `subsearch_maxout` for join;
//!   `--join-maxout`).
//!
//! Refused: `usetime=true` (matching by time order). `earlier` only acts together with `usetime=true`, so
//! it is checked (true or false) and changes nothing. Not done: Splunk's own `join` time and memory
//! limits.

use super::append::parse_subsearch;
use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::{Cursor, Pipeline};
use std::collections::HashMap;

/// limits.conf `[join] subsearch_maxout`.
pub const JOIN_MAXOUT: usize = 50_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinType {
    Inner,
    /// `left` or `outer`.
    Left,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Join {
    pub kind: JoinType,
    pub overwrite: bool,
    /// 0: no limit.
    pub max: usize,
    pub fields: Vec<String>,
    pub subsearch: Pipeline,
    pub span: Span,
}

impl Join {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Join> {
        let mut j = Join {
            kind: JoinType::Inner,
            overwrite: true,
            max: 1,
            fields: Vec::new(),
            subsearch: Pipeline {
                stages: Vec::new(),
                span: name_span,
            },
            span: name_span,
        };
        let known = ["type", "usetime", "earlier", "overwrite", "max"];
        let mut opts = c.options(&known)?;
        loop {
            c.ws();
            if c.eat(',') {
                continue;
            }
            if c.at('[') || c.at_stage_end() {
                break;
            }
            let (f, _) = c.field("a join field or `[`")?;
            j.fields.push(f);
            opts.extend(c.options(&known)?);
        }
        for (k, v, span) in opts {
            let flag = |v: &str| crate::parse::flag(&k, v, span);
            match k.as_str() {
                "type" => {
                    j.kind = match v.to_ascii_lowercase().as_str() {
                        "inner" => JoinType::Inner,
                        "left" | "outer" => JoinType::Left,
                        _ => {
                            return Err(Diagnostic::at(
                                format!("`type` is inner, outer or left, not `{v}`"),
                                span,
                            ))
                        }
                    }
                }
                "overwrite" => j.overwrite = flag(&v)?,
                "max" => j.max = crate::parse::number("max", &v, span)?,
                "usetime" if flag(&v)? => {
                    return Err(Diagnostic::at(
                        "`usetime=true` is not supported: join matches on field values only",
                        span,
                    ));
                }
                "earlier" | "usetime" => {
                    flag(&v)?;
                }
                _ => {}
            }
        }
        let (subsearch, _) = parse_subsearch(c, "join", false)?;
        j.subsearch = subsearch;
        c.end_of_stage("join")?;
        Ok(j)
    }
}

impl super::SplCommand for Join {
    fn sub_pipelines(&self) -> Vec<&Pipeline> {
        vec![&self.subsearch]
    }

    fn operator(&self, ctx: &Context, sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        let mut rows = sub.run(&self.subsearch)?;
        let maxout = ctx.limits.join_maxout;
        if rows.len() > maxout {
            ctx.warn(format!(
                "join: the subsearch gave {} rows; only the first {maxout} are used (--join-maxout)",
                rows.len()
            ));
            rows.truncate(maxout);
        }
        let mut index = HashMap::new();
        if !self.fields.is_empty() {
            for (i, r) in rows.iter().enumerate() {
                if let Some(k) = key(r, &self.fields) {
                    index.entry(k).or_insert_with(Vec::new).push(i);
                }
            }
        }
        Ok(Box::new(JoinOp {
            join: self.clone(),
            rows,
            index,
        }))
    }
}

/// The join key of a row: the text of each join field, `None` when one is missing.
fn key(r: &Event, fields: &[String]) -> Option<Vec<String>> {
    fields
        .iter()
        .map(|f| r.get(f).map(|v| v.to_string()))
        .collect()
}

struct JoinOp {
    join: Join,
    rows: Vec<Event>,
    index: HashMap<Vec<String>, Vec<usize>>,
}

impl JoinOp {
    /// Subsearch rows matching `ev`, in subsearch order.
    fn matches(&self, ev: &Event) -> Vec<usize> {
        if self.join.fields.is_empty() {
            // every shared field must agree; rows sharing no field do not match
            return self
                .rows
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    let mut shared = 0;
                    for (k, v) in r.iter() {
                        // internal fields (`_time`, `_raw` ...) are not join fields
                        if k.starts_with('_') {
                            continue;
                        }
                        if let Some(mine) = ev.get(k) {
                            if mine.to_string() != v.to_string() {
                                return false;
                            }
                            shared += 1;
                        }
                    }
                    shared > 0
                })
                .map(|(i, _)| i)
                .collect();
        }
        key(ev, &self.join.fields)
            .and_then(|k| self.index.get(&k).cloned())
            .unwrap_or_default()
    }
}

impl Operator for JoinOp {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let mut found = self.matches(&ev);
        if self.join.max > 0 {
            found.truncate(self.join.max);
        }
        if found.is_empty() {
            if self.join.kind == JoinType::Left {
                out.push(ev);
            }
            return Ok(());
        }
        for i in found {
            let Some(r) = self.rows.get(i) else { continue };
            let mut row = ev.clone();
            for (k, v) in r.iter() {
                if self.join.overwrite || !row.contains(k) {
                    row.set(k.clone(), v.clone());
                }
            }
            out.push(row);
        }
        Ok(())
    }
}
