//! `streamstats` — running aggregates: each row gains the aggregates of the rows seen so far.
//!
//! ```text
//! streamstats [current=<bool>] [window=<int>] [global=<bool>] [reset_on_change=<bool>]
//!             [reset_before="(<eval-expression>)"] [reset_after="(<eval-expression>)"] [allnum=<bool>]
//!             <agg> [AS <name>] [[,] <agg> [AS <name>]]... [BY <field> [[,] <field>]...]
//! ```
//! The aggregates are those of `stats` (same functions, names and results). Rows stream through in order;
//! each gains the aggregates over the earlier rows of its by-group, itself included unless `current=f`.
//! `window=N` (default 0: no limit) uses only the last N rows: of the whole stream when `global=t` (the
//! default; the window's rows of the row's group count), of the row's group when `global=f`.
//! `reset_on_change=t` forgets everything when a row's by-values differ from the previous row's;
//! `reset_before` forgets before a row for which the expression is true, `reset_after` after it.
//! A row missing a by-field passes unchanged and does not count. With nothing to aggregate (`current=f` on
//! a group's first row) `count` and `dc` give 0 and the other functions nothing (the field is left as it
//! was). A multivalue by-field groups by all its values together.
//! Refused: `time_window`.

use super::stats::{Func, Stats, LIST_MAX};
use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::eval::{self, EvalContext, Expr};
use crate::event::Event;
use crate::parse::Cursor;
use crate::value::Value;
use std::collections::{BTreeSet, HashMap, VecDeque};

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
                "allnum" => {
                    flag()?;
                }
                "window" => {
                    s.window = v.parse().map_err(|_| {
                        Diagnostic::at(format!("`window` takes a whole number, not `{v}`"), at)
                    })?
                }
                "reset_before" => s.reset_before = Some(expr()?),
                "reset_after" => s.reset_after = Some(expr()?),
                _ => {
                    return Err(Diagnostic::at(
                        "`streamstats time_window=` is not supported yet",
                        at,
                    ))
                }
            }
        }
        let stats = Stats::parse(c)?;
        for a in &stats.aggs {
            if !supported(&a.func) {
                return Err(Diagnostic::at(
                    format!("`{}` is not supported by `streamstats` yet", a.name),
                    a.span,
                ));
            }
        }
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

    pub fn operator(&self, ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(StreamStatsOp {
            s: self.clone(),
            ctx: ctx.eval,
            groups: HashMap::new(),
            window: VecDeque::new(),
            group_windows: HashMap::new(),
            last_key: None,
            seq: 0,
        }))
    }
}

// a `match` so that a function added to `stats` later is refused here until it is written
#[allow(unreachable_patterns, clippy::match_like_matches_macro)]
fn supported(f: &Func) -> bool {
    match f {
        Func::Count
        | Func::DistinctCount
        | Func::Sum
        | Func::SumSq
        | Func::Avg
        | Func::Min
        | Func::Max
        | Func::Range
        | Func::Stdev
        | Func::StdevP
        | Func::Var
        | Func::VarP
        | Func::Median
        | Func::Mode
        | Func::Perc(_)
        | Func::Values
        | Func::List
        | Func::First
        | Func::Last
        | Func::Earliest
        | Func::Latest
        | Func::EarliestTime
        | Func::LatestTime => true,
        _ => false,
    }
}

/// Running state of one aggregate (the same results as `stats` gives over the same rows).
#[derive(Clone, Debug)]
enum Acc {
    Count(u64),
    Distinct(BTreeSet<String>),
    Num {
        n: u64,
        sum: f64,
        sumsq: f64,
    },
    MinMax {
        num: Option<f64>,
        text: Option<String>,
        max: bool,
    },
    Range {
        lo: Option<f64>,
        hi: Option<f64>,
    },
    Nums(Vec<f64>),
    Mode(HashMap<String, (u64, u64)>),
    Values(BTreeSet<String>),
    List(Vec<Value>),
    First(Option<Value>),
    Last(Option<Value>),
    Pick {
        v: Option<(f64, Value)>,
        latest: bool,
    },
    Time {
        t: Option<f64>,
        latest: bool,
    },
}

#[allow(unreachable_patterns)]
fn new_acc(f: &Func) -> Acc {
    match f {
        Func::Count => Acc::Count(0),
        Func::DistinctCount => Acc::Distinct(BTreeSet::new()),
        Func::Min => Acc::MinMax {
            num: None,
            text: None,
            max: false,
        },
        Func::Max => Acc::MinMax {
            num: None,
            text: None,
            max: true,
        },
        Func::Range => Acc::Range { lo: None, hi: None },
        Func::Median | Func::Perc(_) => Acc::Nums(Vec::new()),
        Func::Mode => Acc::Mode(HashMap::new()),
        Func::Values => Acc::Values(BTreeSet::new()),
        Func::List => Acc::List(Vec::new()),
        Func::First => Acc::First(None),
        Func::Last => Acc::Last(None),
        Func::Earliest => Acc::Pick {
            v: None,
            latest: false,
        },
        Func::Latest => Acc::Pick {
            v: None,
            latest: true,
        },
        Func::EarliestTime => Acc::Time {
            t: None,
            latest: false,
        },
        Func::LatestTime => Acc::Time {
            t: None,
            latest: true,
        },
        _ => Acc::Num {
            n: 0,
            sum: 0.0,
            sumsq: 0.0,
        },
    }
}

impl Acc {
    /// Add one row's value of the aggregate's field (`count` without a field gets the row as `Some`).
    fn add(&mut self, v: Option<&Value>, time: Option<f64>, seq: u64) {
        let Some(v) = v else { return };
        match self {
            Acc::First(f) => {
                if f.is_none() {
                    *f = Some(v.clone());
                }
                return;
            }
            Acc::Last(l) => {
                *l = Some(v.clone());
                return;
            }
            Acc::Pick { v: cur, latest } => {
                let t = time.unwrap_or(0.0);
                let better = match cur {
                    None => true,
                    Some((ct, _)) => (*latest && t > *ct) || (!*latest && t < *ct),
                };
                if better {
                    *cur = Some((t, v.clone()));
                }
                return;
            }
            Acc::Time { t: cur, latest } => {
                if let Some(t) = time {
                    if cur.is_none_or(|c| (*latest && t > c) || (!*latest && t < c)) {
                        *cur = Some(t);
                    }
                }
                return;
            }
            _ => {}
        }
        for x in v.values() {
            match self {
                Acc::Count(n) => *n += 1,
                Acc::Distinct(s) | Acc::Values(s) => {
                    s.insert(x.text().into_owned());
                }
                Acc::Num { n, sum, sumsq } => {
                    if let Some(f) = x.as_num() {
                        *n += 1;
                        *sum += f;
                        *sumsq += f * f;
                    }
                }
                Acc::MinMax { num, text, max } => match x.as_num() {
                    Some(f) => {
                        if num.is_none_or(|c| (*max && f > c) || (!*max && f < c)) {
                            *num = Some(f);
                        }
                    }
                    None => {
                        let t = x.text();
                        let better = text
                            .as_deref()
                            .is_none_or(|c| (*max && t.as_ref() > c) || (!*max && t.as_ref() < c));
                        if better {
                            *text = Some(t.into_owned());
                        }
                    }
                },
                Acc::Range { lo, hi } => {
                    if let Some(f) = x.as_num() {
                        *lo = Some(lo.map_or(f, |l| l.min(f)));
                        *hi = Some(hi.map_or(f, |h| h.max(f)));
                    }
                }
                Acc::Nums(v) => {
                    if let Some(f) = x.as_num() {
                        v.push(f);
                    }
                }
                Acc::Mode(m) => m.entry(x.text().into_owned()).or_insert((0, seq)).0 += 1,
                Acc::List(l) if l.len() < LIST_MAX => l.push(x.clone()),
                _ => {}
            }
        }
    }

    fn result(&self, func: &Func) -> Option<Value> {
        match self {
            Acc::Count(n) => Some(Value::Num(*n as f64)),
            Acc::Distinct(s) => Some(Value::Num(s.len() as f64)),
            Acc::Num { n, sum, sumsq } => {
                if *n == 0 {
                    return None;
                }
                let nf = *n as f64;
                let mean = sum / nf;
                let var_p = (sumsq / nf - mean * mean).max(0.0);
                let sample = || (*n >= 2).then(|| (sumsq - nf * mean * mean).max(0.0) / (nf - 1.0));
                Some(Value::Num(match func {
                    Func::Sum => *sum,
                    Func::SumSq => *sumsq,
                    Func::Avg => mean,
                    Func::VarP => var_p,
                    Func::StdevP => var_p.sqrt(),
                    Func::Var => sample()?,
                    Func::Stdev => sample()?.sqrt(),
                    _ => return None,
                }))
            }
            Acc::MinMax { num, text, .. } => match (num, text) {
                (Some(n), _) => Some(Value::Num(*n)),
                (None, Some(t)) => Some(Value::str(t)),
                _ => None,
            },
            Acc::Range { lo, hi } => Some(Value::Num((*hi)? - (*lo)?)),
            Acc::Nums(v) => {
                if v.is_empty() {
                    return None;
                }
                let mut s = v.clone();
                s.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
                let p = match func {
                    Func::Perc(p) => *p as f64,
                    _ => 50.0,
                };
                let rank = ((p / 100.0) * s.len() as f64).ceil().max(1.0) as usize;
                s.get(rank.min(s.len()) - 1).map(|x| Value::Num(*x))
            }
            Acc::Mode(m) => m
                .iter()
                .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1)))
                .map(|(k, _)| Value::str(k)),
            Acc::Values(s) => Value::multi(s.iter().map(Value::str).collect()),
            Acc::List(l) => Value::multi(l.clone()),
            Acc::First(v) | Acc::Last(v) => v.clone(),
            Acc::Pick { v, .. } => v.as_ref().map(|(_, v)| v.clone()),
            Acc::Time { t, .. } => t.map(Value::Num),
        }
    }
}

/// What a row contributes: its group, its time, its order and the value of each aggregate's field.
#[derive(Clone, Debug)]
struct Entry {
    key: Vec<String>,
    time: Option<f64>,
    seq: u64,
    values: Vec<Option<Value>>,
}

struct StreamStatsOp {
    s: StreamStats,
    ctx: EvalContext,
    /// `window=0`: running state per group.
    groups: HashMap<Vec<String>, Vec<Acc>>,
    /// `window>0, global=t`: the last rows of the stream.
    window: VecDeque<Entry>,
    /// `window>0, global=f`: the last rows of each group.
    group_windows: HashMap<Vec<String>, VecDeque<Entry>>,
    last_key: Option<Vec<String>>,
    seq: u64,
}

impl StreamStatsOp {
    fn reset(&mut self) {
        self.groups.clear();
        self.window.clear();
        self.group_windows.clear();
    }

    fn test(&self, e: &Option<Expr>, ev: &Event) -> Result<bool> {
        match e {
            None => Ok(false),
            Some(e) => e.test(ev, &self.ctx).map_err(|err| {
                Diagnostic::at(format!("streamstats: {}", err.message), self.s.span)
            }),
        }
    }

    fn fresh(&self) -> Vec<Acc> {
        self.s.stats.aggs.iter().map(|a| new_acc(&a.func)).collect()
    }

    fn add(accs: &mut [Acc], e: &Entry) {
        for (acc, v) in accs.iter_mut().zip(&e.values) {
            acc.add(v.as_ref(), e.time, e.seq);
        }
    }

    fn add_entry(&mut self, e: Entry) {
        let w = self.s.window;
        if w == 0 {
            let fresh = self.fresh();
            let accs = self.groups.entry(e.key.clone()).or_insert(fresh);
            Self::add(accs, &e);
        } else if self.s.global {
            self.window.push_back(e);
            while self.window.len() > w {
                self.window.pop_front();
            }
        } else {
            let q = self.group_windows.entry(e.key.clone()).or_default();
            q.push_back(e);
            while q.len() > w {
                q.pop_front();
            }
        }
    }

    fn results(&self, key: &[String]) -> Vec<Option<Value>> {
        let computed;
        let accs: &[Acc] = if self.s.window == 0 {
            match self.groups.get(key) {
                Some(a) => a,
                None => {
                    computed = self.fresh();
                    &computed
                }
            }
        } else {
            let mut accs = self.fresh();
            let rows: Box<dyn Iterator<Item = &Entry>> = if self.s.global {
                Box::new(self.window.iter().filter(|e| e.key == key))
            } else {
                Box::new(self.group_windows.get(key).into_iter().flatten())
            };
            for e in rows {
                Self::add(&mut accs, e);
            }
            computed = accs;
            &computed
        };
        self.s
            .stats
            .aggs
            .iter()
            .zip(accs)
            .map(|(a, acc)| acc.result(&a.func))
            .collect()
    }
}

impl Operator for StreamStatsOp {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let key: Option<Vec<String>> = self
            .s
            .stats
            .by
            .iter()
            .map(|f| ev.get(f).map(|v| v.to_string()))
            .collect();
        let Some(key) = key else {
            out.push(ev);
            return Ok(());
        };
        if self.s.reset_on_change && self.last_key.as_ref().is_some_and(|k| *k != key) {
            self.reset();
        }
        self.last_key = Some(key.clone());
        if self.test(&self.s.reset_before, &ev)? {
            self.reset();
        }
        self.seq += 1;
        let entry = Entry {
            key: key.clone(),
            time: ev.time(),
            seq: self.seq,
            values: self
                .s
                .stats
                .aggs
                .iter()
                .map(|a| match &a.field {
                    Some(f) => ev.get(f).cloned(),
                    // plain `count` counts the row
                    None => Some(Value::Num(1.0)),
                })
                .collect(),
        };
        if self.s.current {
            self.add_entry(entry.clone());
        }
        let results = self.results(&key);
        if !self.s.current {
            self.add_entry(entry);
        }
        for (a, v) in self.s.stats.aggs.iter().zip(results) {
            if let Some(v) = v {
                ev.set(a.name.as_str(), v);
            }
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

    fn operator(&self, cx: &Context, sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        StreamStats::operator(self, cx, sub)
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
        let mut op = StreamStatsOp {
            s,
            ctx: EvalContext {
                now: 0.0,
                tz: chrono_tz::UTC,
                max_text: crate::eval::MAX_TEXT,
            },
            groups: HashMap::new(),
            window: VecDeque::new(),
            group_windows: HashMap::new(),
            last_key: None,
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
        let e = parse("x | streamstats time_window=1h count").unwrap_err();
        assert!(e.message.contains("time_window"), "{}", e.message);
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
        let mut op = stats.operator();
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
