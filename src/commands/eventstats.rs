//! `eventstats` — add aggregates over all rows to every row.
//!
//! ```text
//! eventstats [allnum=<bool>] <agg> [AS <name>] [[,] <agg> [AS <name>]]... [BY <field> [[,] <field>]...]
//! ```
//! The aggregates, their names and their results are those of `stats` (one engine computes both, with the
//! query's clock, time zone and limits): `eval(...)` arguments, wildcard fields (`sum(n*)`) and
//! `list()`/`values()` sizes behave the same. Instead of replacing the rows, each row keeps its fields and
//! gains the aggregates of its group, overwriting fields of the same names. A row missing a by-field
//! belongs to no group and passes unchanged (it does not count either); a row whose by-field is
//! multivalue counts in each value's group, as in `stats`, and takes the aggregates of its first value's
//! group. An aggregate with no result for a group (say `avg` of no numbers) leaves the row's field as it
//! was. `allnum=true` is refused (see `stats`). The command holds all rows until its input ends, as
//! Splunk's does.

use super::stats::aggregate::{self, Engine, Groups};
use super::stats::Stats;
use super::{Context, Operator, SubRunner};
use crate::diag::Result;
use crate::diag::Span;
use crate::event::Event;
use crate::parse::Cursor;

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
            stats: Stats::parse_with(c, &["allnum"])?,
            span: name_span,
        })
    }
}

struct EventStatsOp {
    by: Vec<String>,
    engine: Engine,
    groups: Groups,
    /// The rows, each with the group whose aggregates it takes (none without a by-field).
    rows: Vec<(Event, Option<usize>)>,
}

impl Operator for EventStatsOp {
    fn push(&mut self, ev: Event, _out: &mut Vec<Event>) -> Result<()> {
        let EventStatsOp {
            by,
            engine,
            groups,
            rows,
        } = self;
        let seq = rows.len() as u64 + 1;
        let mut first = None;
        aggregate::for_each_key(&ev, by, |key| {
            let i = groups.slot(key, engine);
            first.get_or_insert(i);
            if let Some(g) = groups.get_mut(i) {
                engine.add(&mut g.accs, &ev, seq);
            }
        });
        rows.push((ev, first));
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        self.engine.take_error()?;
        let results: Vec<_> = self
            .groups
            .iter()
            .map(|g| self.engine.results(&g.accs))
            .collect();
        for (mut ev, group) in self.rows.drain(..) {
            if let Some(r) = group.and_then(|i| results.get(i)) {
                for (f, v) in r {
                    ev.set(f.clone(), v.clone());
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

    fn operator(&self, ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(EventStatsOp {
            by: self.stats.by.clone(),
            engine: self.stats.engine(ctx.eval, &ctx.limits),
            groups: Groups::default(),
            rows: Vec::new(),
        }))
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
