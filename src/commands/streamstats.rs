//! `streamstats` — running aggregates: each row gains the aggregates of the rows seen so far.
//!
//! ```text
//! streamstats [current=<bool>] [window=<int>] [global=<bool>] [reset_on_change=<bool>]
//!             [reset_before="(<eval-expression>)"] [reset_after="(<eval-expression>)"] [allnum=<bool>]
//!             <agg> [AS <name>] [[,] <agg> [AS <name>]]... [BY <field> [[,] <field>]...]
//! ```
//! The aggregates are those of `stats`: the same engine, functions, `eval(...)` arguments, wildcard
//! fields, names and results, with the query's clock, time zone and `list()`/`values()` sizes. Rows
//! stream through in order; each gains the aggregates over the earlier rows of its by-group, itself
//! included unless `current=f`. `window=N` (default 0: no limit) uses only the last N rows: of the whole
//! stream when `global=t` (the default; the window's rows of the row's group count), of the row's group
//! when `global=f`. `reset_on_change=t` forgets everything when a row's by-values differ from the previous
//! row's; `reset_before` forgets before a row for which the expression is true, `reset_after` after it.
//! A row missing a by-field passes unchanged and does not count. With nothing to aggregate (`current=f` on
//! a group's first row) `count` and `dc` give 0 and the other functions nothing (the field is left as it
//! was). A multivalue by-field groups by all its values together.
//! Refused when run: `time_window` and `allnum=true`.

use super::stats::aggregate::{Engine, Groups, Inputs};
use super::stats::{stats_option, Stats};
use super::{Context, Operator, Refusal, RefusalKind, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::eval::{self, EvalContext, Expr};
use crate::event::Event;
use crate::parse::Cursor;
use crate::value::Value;
use std::collections::VecDeque;

/// Whether spelunk runs this command (`check` reports the others as unsupported).
pub const RUNNABLE: bool = true;

#[derive(Clone, Debug)]
pub struct StreamStats {
    pub stats: Stats,
    pub current: bool,
    /// 0: no limit.
    pub window: usize,
    pub global: bool,
    pub reset_on_change: bool,
    pub reset_before: Option<Expr>,
    pub reset_after: Option<Expr>,
    pub span: Span,
}

impl PartialEq for StreamStats {
    fn eq(&self, other: &Self) -> bool {
        self.stats == other.stats && self.span == other.span
    }
}

/// The options, read before the aggregates.
struct Options {
    current: bool,
    window: usize,
    global: bool,
    reset_on_change: bool,
    reset_before: Option<Expr>,
    reset_after: Option<Expr>,
}

const OPTIONS: &[&str] = &[
    "current",
    "window",
    "global",
    "reset_on_change",
    "reset_before",
    "reset_after",
    "allnum",
    "time_window",
];

impl StreamStats {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<StreamStats> {
        let mut s = Options {
            current: true,
            window: 0,
            global: true,
            reset_on_change: false,
            reset_before: None,
            reset_after: None,
        };
        let mut refused = Vec::new();
        for (k, v, at) in c.options(OPTIONS)? {
            let flag = || {
                crate::parse::parse_bool(&v).ok_or_else(|| {
                    Diagnostic::at(format!("`{k}` takes true or false, not `{v}`"), at)
                })
            };
            let expr = || {
                // the value's text starts after `key=` (and its opening quote, when quoted)
                let raw = c.src.get(at.start..at.end).unwrap_or("");
                let quoted = raw.get(k.len() + 1..).is_some_and(|r| r.starts_with('"'));
                let base = at.start + k.len() + 1 + usize::from(quoted);
                eval::parse_expr(&v).map_err(|e| super::eval::parse_error(e, base))
            };
            match k.as_str() {
                "current" => s.current = flag()?,
                "global" => s.global = flag()?,
                "reset_on_change" => s.reset_on_change = flag()?,
                "allnum" => refused.extend(stats_option(&k, &v, at)?),
                "window" => {
                    s.window = v.parse().map_err(|_| {
                        Diagnostic::at(format!("`window` takes a whole number, not `{v}`"), at)
                    })?
                }
                "reset_before" => s.reset_before = Some(expr()?),
                "reset_after" => s.reset_after = Some(expr()?),
                _ => refused.push(Refusal {
                    kind: RefusalKind::Feature,
                    name: format!("{k}={v}"),
                    reason: "`streamstats time_window=` is not supported: spelunk's windows count rows (`window=N`)".to_string(),
                    span: at,
                }),
            }
        }
        let mut stats = Stats::parse_with(c, &[])?;
        stats.refused.extend(refused);
        Ok(StreamStats {
            stats,
            current: s.current,
            window: s.window,
            global: s.global,
            reset_on_change: s.reset_on_change,
            reset_before: s.reset_before,
            reset_after: s.reset_after,
            span: name_span,
        })
    }
}

/// A row kept in a window: its group, its place in the input and what it gives the aggregates.
struct Entry {
    group: usize,
    seq: u64,
    inputs: Inputs,
}

struct StreamStatsOp {
    s: StreamStats,
    ctx: EvalContext,
    engine: Engine,
    /// The groups seen since the last reset; without a window, with their running states.
    groups: Groups,
    /// `window>0, global=t`: the last rows of the stream.
    window: VecDeque<Entry>,
    /// `window>0, global=f`: the last rows of each group, by group.
    group_windows: Vec<VecDeque<Entry>>,
    /// The group of the previous row (`reset_on_change`).
    last: Option<usize>,
    seq: u64,
}

impl StreamStatsOp {
    fn reset(&mut self) {
        self.groups.clear();
        self.window.clear();
        self.group_windows.clear();
        self.last = None;
    }

    fn test(&self, e: &Option<Expr>, ev: &Event) -> Result<bool> {
        match e {
            None => Ok(false),
            Some(e) => e.test(ev, &self.ctx).map_err(|err| {
                Diagnostic::at(format!("streamstats: {}", err.message), self.s.span)
            }),
        }
    }

    /// The group of a row (its by-values, a multivalue with all its values), made if new; `None` when
    /// a by-field is missing.
    fn group(&mut self, ev: &Event) -> Option<usize> {
        let key: Option<Vec<&Value>> = self.s.stats.by.iter().map(|f| ev.get(f)).collect();
        Some(self.groups.slot(&key?, &self.engine))
    }

    /// Take a row into the aggregates of its group.
    fn add(&mut self, group: usize, ev: &Event) {
        let w = self.s.window;
        if w == 0 {
            if let Some(g) = self.groups.get_mut(group) {
                self.engine.add(&mut g.accs, ev, self.seq);
            }
            return;
        }
        let entry = Entry {
            group,
            seq: self.seq,
            inputs: self.engine.inputs(ev),
        };
        let q = if self.s.global {
            &mut self.window
        } else {
            if self.group_windows.len() <= group {
                self.group_windows.resize_with(group + 1, VecDeque::new);
            }
            match self.group_windows.get_mut(group) {
                Some(q) => q,
                None => return,
            }
        };
        q.push_back(entry);
        while q.len() > w {
            q.pop_front();
        }
    }

    /// The aggregates of a group now.
    fn results(&self, group: usize) -> Vec<(crate::event::Field, Value)> {
        if self.s.window == 0 {
            return match self.groups.get(group) {
                Some(g) => self.engine.results(&g.accs),
                None => self.engine.results(&self.engine.fresh()),
            };
        }
        let mut accs = self.engine.fresh();
        let rows: Box<dyn Iterator<Item = &Entry>> = if self.s.global {
            Box::new(self.window.iter().filter(|e| e.group == group))
        } else {
            Box::new(self.group_windows.get(group).into_iter().flatten())
        };
        for e in rows {
            self.engine.add_inputs(&mut accs, &e.inputs, e.seq);
        }
        self.engine.results(&accs)
    }
}

impl Operator for StreamStatsOp {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let Some(mut group) = self.group(&ev) else {
            out.push(ev);
            return Ok(());
        };
        if self.s.reset_on_change && self.last.is_some_and(|l| l != group) {
            self.reset();
            group = self.group(&ev).unwrap_or(group);
        }
        if self.test(&self.s.reset_before, &ev)? {
            self.reset();
            group = self.group(&ev).unwrap_or(group);
        }
        self.last = Some(group);
        self.seq += 1;
        let results = if self.s.current {
            self.add(group, &ev);
            self.results(group)
        } else {
            let r = self.results(group);
            self.add(group, &ev);
            r
        };
        self.engine.take_error()?;
        for (f, v) in results {
            ev.set(f, v);
        }
        let reset_after = self.test(&self.s.reset_after, &ev)?;
        out.push(ev);
        if reset_after {
            self.reset();
        }
        Ok(())
    }
}

impl super::SplCommand for StreamStats {
    fn refusals(&self) -> Vec<super::Refusal> {
        self.stats.refusals()
    }

    fn operator(&self, ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(StreamStatsOp {
            s: self.clone(),
            ctx: ctx.eval,
            engine: self.stats.engine(ctx.eval, &ctx.limits),
            groups: Groups::default(),
            window: VecDeque::new(),
            group_windows: Vec::new(),
            last: None,
            seq: 0,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<StreamStats> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::StreamStats(s)) => Ok(s),
            other => panic!("not streamstats: {other:?}"),
        }
    }

    fn run(q: &str, rows: Vec<Vec<(&str, &str)>>) -> Vec<Event> {
        let s = parse(q).unwrap();
        let ctx = test_ctx();
        let mut op = StreamStatsOp {
            engine: s.stats.engine(ctx, &crate::limits::Limits::default()),
            s,
            ctx,
            groups: Groups::default(),
            window: VecDeque::new(),
            group_windows: Vec::new(),
            last: None,
            seq: 0,
        };
        let mut out = Vec::new();
        for r in rows {
            let mut ev = Event::new();
            for (k, v) in r {
                ev.set(k, Value::str(v));
            }
            op.push(ev, &mut out).unwrap();
        }
        out
    }

    fn test_ctx() -> EvalContext {
        EvalContext {
            now: 0.0,
            tz: chrono_tz::UTC,
            max_text: crate::eval::MAX_TEXT,
        }
    }

    fn col(rows: &[Event], f: &str) -> Vec<String> {
        rows.iter()
            .map(|r| r.get(f).map(|v| v.to_string()).unwrap_or_default())
            .collect()
    }

    #[test]
    fn parses_options() {
        let s = parse("x | streamstats window=2 current=1 range(_time) as TimeDelta by session_id")
            .unwrap();
        assert_eq!((s.window, s.current, s.global), (2, true, true));
        assert_eq!(s.stats.by, ["session_id"]);
        let s = parse("x | streamstats count as rank by src query").unwrap();
        assert_eq!(s.stats.aggs[0].name, "rank");
        let s = parse(r#"x | streamstats reset_after="(x>2)" global=f count"#).unwrap();
        assert!(s.reset_after.is_some() && !s.global);
    }

    #[test]
    fn refuses_bad_syntax() {
        let e = parse("x | streamstats window=a count").unwrap_err();
        assert_eq!(e.span, Some(Span::new(16, 24)));
        let s = parse("x | streamstats time_window=1h allnum=t count").unwrap();
        let r = s.stats.refusals();
        assert_eq!(r.len(), 2);
        assert!(r[0].reason.contains("time_window"), "{}", r[0].reason);
        assert_eq!(r[0].span, Span::new(16, 30));
        assert!(r[1].reason.contains("allnum=true"), "{}", r[1].reason);
        let e = parse(r#"x | streamstats reset_before="(x>)" count"#).unwrap_err();
        assert_eq!(e.span.map(|s| s.start), Some(33));
        let e = parse("x | streamstats").unwrap_err();
        assert!(e.message.contains("stats function"), "{}", e.message);
    }

    #[test]
    fn counts_run_per_group() {
        let rows = vec![
            vec![("u", "a")],
            vec![("u", "b")],
            vec![("u", "a")],
            vec![],
            vec![("u", "a")],
        ];
        let out = run("x | streamstats count by u", rows.clone());
        assert_eq!(col(&out, "count"), ["1", "1", "2", "", "3"]);
        let out = run("x | streamstats current=f count by u", rows.clone());
        assert_eq!(col(&out, "count"), ["0", "0", "1", "", "2"]);
        let out = run("x | streamstats reset_on_change=t count by u", rows);
        assert_eq!(col(&out, "count"), ["1", "1", "1", "", "2"]);
    }

    #[test]
    fn windows() {
        let rows: Vec<Vec<(&str, &str)>> = ["1", "2", "4", "8"]
            .iter()
            .map(|v| vec![("x", *v), ("g", "k")])
            .collect();
        let out = run("x | streamstats window=2 sum(x) as s", rows.clone());
        assert_eq!(col(&out, "s"), ["1", "3", "6", "12"]);
        let out = run(
            "x | streamstats window=2 current=f sum(x) as s last(x) as prev",
            rows.clone(),
        );
        assert_eq!(col(&out, "s"), ["", "1", "3", "6"]);
        assert_eq!(col(&out, "prev"), ["", "1", "2", "4"]);
        let out = run(r#"x | streamstats reset_after="(x>=2)" sum(x) as s"#, rows);
        assert_eq!(col(&out, "s"), ["1", "3", "4", "8"]);
    }

    #[test]
    fn same_results_as_stats() {
        let q = "avg(x) as a, stdev(x) as sd, median(x) as md, perc90(x) as p, mode(x) as mo, values(x) as v, list(x) as l, dc(x) as d, min(x) as mn, max(x) as mx, range(x) as r, first(x) as f, last(x) as la, earliest(x) as e, latest(x) as lt, var(x) as vr, sum(x) as s, count(x) as c";
        let xs = ["3", "10", "x", "3", "7.5", "-2", "10", "b"];
        let rows: Vec<Vec<(&str, &str)>> = xs.iter().map(|x| vec![("x", *x)]).collect();
        let out = run(&format!("x | streamstats {q}"), rows);
        let last = out.last().unwrap();
        let stats = match parse_query(&format!("x | stats {q}"))
            .unwrap()
            .stages
            .pop()
            .map(|s| s.command)
        {
            Some(Command::Stats(s)) => s,
            _ => unreachable!(),
        };
        let mut op = stats.operator_limited(test_ctx(), &crate::limits::Limits::default());
        let mut ignored = Vec::new();
        for x in xs {
            let mut ev = Event::new();
            ev.set("x", Value::str(x));
            op.push(ev, &mut ignored).unwrap();
        }
        let mut res = Vec::new();
        op.finish(&mut res).unwrap();
        for a in &stats.aggs {
            assert_eq!(last.get(&a.name), res[0].get(&a.name), "{}", a.name);
        }
    }
}
