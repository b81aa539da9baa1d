//! `eventstats` — add aggregates over all rows to every row.
//!
//! ```text
//! eventstats [allnum=<bool>] <agg> [AS <name>] [[,] <agg> [AS <name>]]... [BY <field> [[,] <field>]...]
//! ```
//! The aggregates and their names are those of `stats` (same functions, same parsing, same results: the
//! computation is `stats` itself). Instead of replacing the rows, each row keeps its fields and gains
//! the aggregates of its group, overwriting fields of the same names. A row missing a by-field belongs to
//! no group and passes unchanged (it does not count either); a row whose by-field is multivalue counts in
//! each value's group, as in `stats`, and takes the aggregates of its first value's group. An aggregate
//! with no result for a group (say `avg` of no numbers) leaves the row's field as it was. The command holds
//! all rows until its input ends, as Splunk's does.

use super::stats::Stats;
use super::{Context, Operator, SubRunner};
use crate::diag::Result;
use crate::diag::Span;
use crate::event::Event;
use crate::parse::Cursor;
use std::collections::HashMap;

/// Whether spelunk runs this command (`check` reports the others as unsupported).
pub const RUNNABLE: bool = true;

#[derive(Clone, Debug, PartialEq)]
pub struct EventStats {
    pub stats: Stats,
    pub span: Span,
}

impl EventStats {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<EventStats> {
        Ok(EventStats {
            stats: Stats::parse(c)?,
            span: name_span,
        })
    }

    pub fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        let mut needed: Vec<String> = self.stats.by.clone();
        needed.push("_time".into());
        for a in &self.stats.aggs {
            if let Some(f) = &a.field {
                needed.push(f.clone());
            }
        }
        Ok(Box::new(EventStatsOp {
            stats: self.stats.clone(),
            needed,
            rows: Vec::new(),
            agg: self.stats.operator(),
        }))
    }
}

struct EventStatsOp {
    stats: Stats,
    /// Fields the aggregation reads (only these are copied into it).
    needed: Vec<String>,
    rows: Vec<Event>,
    agg: Box<dyn Operator>,
}

/// The group of a row: the text of each by-field's first value; `None` when one is missing.
fn group_key(ev: &Event, by: &[String]) -> Option<Vec<String>> {
    by.iter()
        .map(|f| ev.get(f).map(|v| v.text().into_owned()))
        .collect()
}

impl Operator for EventStatsOp {
    fn push(&mut self, ev: Event, _out: &mut Vec<Event>) -> Result<()> {
        let mut slim = Event::with_capacity(self.needed.len());
        for f in &self.needed {
            if let Some(v) = ev.get(f) {
                slim.set(f.as_str(), v.clone());
            }
        }
        let mut ignored = Vec::new();
        self.agg.push(slim, &mut ignored)?;
        self.rows.push(ev);
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        let mut groups = Vec::new();
        self.agg.finish(&mut groups)?;
        if self.rows.is_empty() {
            return Ok(());
        }
        let by = &self.stats.by;
        let index: HashMap<Vec<String>, Event> = groups
            .into_iter()
            .filter_map(|g| group_key(&g, by).map(|k| (k, g)))
            .collect();
        for mut ev in self.rows.drain(..) {
            if let Some(g) = group_key(&ev, by).and_then(|k| index.get(&k)) {
                for a in &self.stats.aggs {
                    if let Some(v) = g.get(&a.name) {
                        ev.set(a.name.as_str(), v.clone());
                    }
                }
            }
            out.push(ev);
        }
        Ok(())
    }
}

impl super::SplCommand for EventStats {
    fn refusals(&self) -> Vec<super::Refusal> {
        self.stats.refusals()
    }

    fn operator(&self, cx: &Context, sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        EventStats::operator(self, cx, sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<EventStats> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::EventStats(e)) => Ok(e),
            other => panic!("not eventstats: {other:?}"),
        }
    }

    #[test]
    fn parses_like_stats() {
        let e = parse("x | eventstats avg(unique_accounts) as comp_avg , stdev(unique_accounts) as comp_std by IpAddress").unwrap();
        assert_eq!(e.stats.aggs.len(), 2);
        assert_eq!(e.stats.aggs[1].name, "comp_std");
        assert_eq!(e.stats.by, ["IpAddress"]);
        let e = parse("x | eventstats count as num_data_samples").unwrap();
        assert!(e.stats.by.is_empty());
    }

    #[test]
    fn refuses_bad_syntax() {
        let e = parse("x | eventstats").unwrap_err();
        assert!(e.message.contains("stats function"), "{}", e.message);
        let e = parse("x | eventstats avg(x) by").unwrap_err();
        assert_eq!(e.span.map(|s| s.start), Some(24));
        let e = parse("x | eventstats cnt(x)").unwrap_err();
        assert!(
            e.message.contains("unknown stats function `cnt`"),
            "{}",
            e.message
        );
        assert_eq!(e.span, Some(Span::new(15, 18)));
    }
}
