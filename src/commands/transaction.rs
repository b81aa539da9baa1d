//! `transaction` — group events into transactions.
//!
//! ```text
//! transaction [<field> [[,] <field>]...] [name=<text>] [maxspan=<duration>] [maxpause=<duration>]
//!             [maxevents=<N>] [startswith=<filter>] [endswith=<filter>] [connected=<bool>]
//!             [keepevicted=<bool>] [mvlist=<bool>] [delim=<text>] [keeporphans=<bool>] [unifyends=<bool>]
//! filter   := "<search expression>" | (<search expression>) | eval(<eval expression>)
//! duration := <N>[s|m|h|d]   (plain number: seconds; -1: no limit)
//! ```
//! Events are taken in time order (oldest first). An event joins the open transaction whose field values
//! agree with its own on every listed field that both have, sharing at least one (with no fields listed,
//! every event joins the one open transaction). A transaction is closed, and a new one started, when adding
//! the event would make it last longer than `maxspan` or pause longer than `maxpause`, or hold more than
//! `maxevents` (default 1000). `startswith` starts a new transaction with the matching event (an event
//! that matches nothing open and does not start one is left out); `endswith` closes the transaction
//! after the matching event. With `endswith`, a transaction that closes without it is evicted: dropped,
//! unless `keepevicted=true` (then `closed_txn` is 0 for it and 1 for the others).
//!
//! Each transaction is one row: `_time` of its first event, `duration` (last − first `_time`, seconds),
//! `eventcount`, `_raw` (the events' `_raw` joined by line breaks), and every other field with the values
//! of all its events — distinct and sorted (`mvlist=false`, the default) or all of them in time order
//! (`mvlist=true`). Rows come out newest transaction first, as Splunk returns them.
//!
//! Accepted and without effect: `name`, `delim` (multivalues are kept as values), `unifyends`,
//! `keeporphans`, `maxopentxn`, `maxopenevents`, `connected` (always the rule above).

use super::search::{parse_search_text, Matcher};
use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::eval::{EvalContext, Expr};
use crate::event::Event;
use crate::parse::Cursor;
use crate::value::Value;
use std::collections::BTreeSet;

/// How `startswith`/`endswith` test an event.
#[derive(Clone, Debug)]
pub enum Filter {
    /// A search expression, kept as text (search rules: case-insensitive, free text matches `_raw`).
    Search(String),
    /// `eval(<expression>)`: the event matches when it is true.
    Eval { expr: Expr, text: String },
}

impl PartialEq for Filter {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Filter::Search(a), Filter::Search(b)) => a == b,
            (Filter::Eval { text: a, .. }, Filter::Eval { text: b, .. }) => a == b,
            _ => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Transaction {
    pub fields: Vec<String>,
    pub maxspan: Option<f64>,
    pub maxpause: Option<f64>,
    pub maxevents: usize,
    pub startswith: Option<Filter>,
    pub endswith: Option<Filter>,
    pub keepevicted: bool,
    pub mvlist: bool,
    pub span: Span,
}

/// `30s`, `5m`, `2h`, `1d`, `90`; `-1` (or any negative) means no limit.
fn duration(v: &str) -> Option<Option<f64>> {
    let t = v.trim();
    let (num, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, "s"),
    };
    let n: f64 = num.parse().ok()?;
    if n < 0.0 {
        return Some(None);
    }
    let mult = match unit.to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86400.0,
        _ => return None,
    };
    Some(Some(n * mult))
}

/// The text of a balanced `( ... )` at the cursor (quotes respected); the cursor moves past it.
fn balanced(c: &mut Cursor) -> Result<(String, Span)> {
    let start = c.pos;
    let bytes = c.src.as_bytes();
    let mut depth = 0usize;
    let mut i = start;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' | b'\'' => {
                i += 1;
                while let Some(&d) = bytes.get(i) {
                    if d == b'\\' {
                        i += 1;
                    } else if d == b {
                        break;
                    }
                    i += 1;
                }
            }
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    c.pos = i + 1;
                    let inner = c.src.get(start + 1..i).unwrap_or("").to_string();
                    return Ok((inner, Span::new(start, i + 1)));
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(Diagnostic::at(
        "unclosed parenthesis: expected `)`",
        Span::new(start, start + 1),
    ))
}

fn parse_filter(c: &mut Cursor, key: &str) -> Result<Filter> {
    c.ws();
    if c.at('"') {
        let (text, span) = c.quoted()?;
        parse_search_text(&text)
            .map_err(|d| Diagnostic::at(format!("`{key}`: {}", d.message), span))?;
        return Ok(Filter::Search(text));
    }
    if c.at('(') {
        let (text, span) = balanced(c)?;
        parse_search_text(&text)
            .map_err(|d| Diagnostic::at(format!("`{key}`: {}", d.message), span))?;
        return Ok(Filter::Search(text));
    }
    if c.at_keyword("eval") {
        c.keyword("eval");
        c.ws();
        if !c.at('(') {
            return Err(c.expected("`(` after `eval`"));
        }
        let body = c.pos + 1;
        let (text, _) = balanced(c)?;
        let expr = crate::eval::parse_expr(&text).map_err(|e| super::eval::parse_error(e, body))?;
        return Ok(Filter::Eval { expr, text });
    }
    // a bare word is a one-term search
    let (text, span) = c.value(&format!("a filter after `{key}=`"))?;
    parse_search_text(&text)
        .map_err(|d| Diagnostic::at(format!("`{key}`: {}", d.message), span))?;
    Ok(Filter::Search(text))
}

const OPTIONS: &[&str] = &[
    "name",
    "maxspan",
    "maxpause",
    "maxevents",
    "startswith",
    "endswith",
    "connected",
    "unifyends",
    "keeporphans",
    "keepevicted",
    "mvlist",
    "delim",
    "nullstr",
    "mvraw",
    "maxopentxn",
    "maxopenevents",
    "fields",
];

impl Transaction {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Transaction> {
        let mut t = Transaction {
            fields: Vec::new(),
            maxspan: None,
            maxpause: None,
            maxevents: 1000,
            startswith: None,
            endswith: None,
            keepevicted: false,
            mvlist: false,
            span: name_span,
        };
        loop {
            c.ws();
            if c.eat(',') {
                continue;
            }
            if c.at_stage_end() {
                break;
            }
            let save = c.pos;
            let Some((word, wspan)) = c.bare() else {
                return Err(c.expected("a field name or a `transaction` option"));
            };
            let word = word.to_string();
            if !c.at('=') || c.rest().starts_with("==") {
                t.fields.push(word);
                continue;
            }
            let key = word.to_ascii_lowercase();
            if !OPTIONS.contains(&key.as_str()) {
                c.pos = save;
                let mut d = Diagnostic::at(format!("unknown `transaction` option `{word}`"), wspan);
                if let Some(s) = crate::diag::suggest(&word, OPTIONS.iter().copied()) {
                    d.message.push_str(&format!(" (did you mean `{s}`?)"));
                }
                return Err(d);
            }
            c.eat('=');
            if key == "startswith" || key == "endswith" {
                let f = parse_filter(c, &key)?;
                if key == "startswith" {
                    t.startswith = Some(f);
                } else {
                    t.endswith = Some(f);
                }
                continue;
            }
            let (v, vspan) = c.value(&format!("a value after `{key}=`"))?;
            let flag = |v: &str| crate::parse::flag(&key, v, vspan);
            let dur = |v: &str| {
                duration(v).ok_or_else(|| {
                    Diagnostic::at(
                        format!(
                            "`{key}` takes a duration such as `30s`, `5m`, `1h` or `1d`, not `{v}`"
                        ),
                        vspan,
                    )
                })
            };
            match key.as_str() {
                "maxspan" => t.maxspan = dur(&v)?,
                "maxpause" => t.maxpause = dur(&v)?,
                "maxevents" => {
                    let n: i64 = crate::parse::number("maxevents", &v, vspan)?;
                    t.maxevents = if n <= 0 { usize::MAX } else { n as usize };
                }
                "keepevicted" => t.keepevicted = flag(&v)?,
                "mvlist" => {
                    // mvlist may also name fields; any field list means "list" for those: take it as true
                    t.mvlist = crate::parse::parse_bool(&v).unwrap_or(true)
                }
                "fields" => t.fields.extend(
                    v.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty()),
                ),
                "connected" | "unifyends" | "keeporphans" | "mvraw" => {
                    flag(&v)?;
                }
                _ => {}
            }
        }
        Ok(t)
    }
}

impl super::SplCommand for Transaction {
    fn operator(&self, ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        let now = ctx.eval.now;
        let tz = ctx.eval.tz;
        let resolver = move |t: &str| crate::eval::time::parse_time_modifier(t, now, tz);
        let compile = |f: &Option<Filter>| -> Result<Option<Test>> {
            Ok(match f {
                None => None,
                Some(Filter::Eval { expr, .. }) => Some(Test::Eval(expr.clone())),
                Some(Filter::Search(text)) => {
                    let m = match parse_search_text(text)? {
                        Some(e) => Matcher::compile(&e, &resolver)?,
                        None => Matcher::True,
                    };
                    Some(Test::Search(m))
                }
            })
        };
        Ok(Box::new(TransactionOp {
            t: self.clone(),
            start: compile(&self.startswith)?,
            end: compile(&self.endswith)?,
            ctx: ctx.eval,
            events: Vec::new(),
        }))
    }
}

enum Test {
    Search(Matcher),
    Eval(Expr),
}

impl Test {
    fn matches(&self, ev: &Event, ctx: &EvalContext) -> bool {
        match self {
            Test::Search(m) => m.matches(ev),
            Test::Eval(e) => e.test(ev, ctx).unwrap_or(false),
        }
    }
}

struct TransactionOp {
    t: Transaction,
    start: Option<Test>,
    end: Option<Test>,
    ctx: EvalContext,
    events: Vec<Event>,
}

struct Open {
    keys: Vec<Option<String>>,
    events: Vec<Event>,
    first: f64,
    last: f64,
}

impl TransactionOp {
    fn keys(&self, ev: &Event) -> Vec<Option<String>> {
        self.t
            .fields
            .iter()
            .map(|f| ev.get(f).map(|v| v.to_string()))
            .collect()
    }

    /// Close a transaction: its row, unless it is evicted and not kept.
    fn close(&self, txn: Open, complete: bool, out: &mut Vec<(f64, Event)>) {
        let evicted = self.end.is_some() && !complete;
        if evicted && !self.t.keepevicted {
            return;
        }
        let mut row = Event::new();
        row.set("_time", Value::Num(txn.first));
        let raws: Vec<String> = txn
            .events
            .iter()
            .filter_map(|e| e.get("_raw").map(|v| v.to_string()))
            .collect();
        if !raws.is_empty() {
            row.set("_raw", Value::str(raws.join("\n")));
        }
        let mut names: Vec<String> = Vec::new();
        for e in &txn.events {
            for k in e.names() {
                if !k.starts_with('_') && !names.iter().any(|n| n == k.as_ref()) {
                    names.push(k.to_string());
                }
            }
        }
        for n in names {
            let vals: Vec<Value> = if self.t.mvlist {
                txn.events
                    .iter()
                    .filter_map(|e| e.get(&n))
                    .flat_map(|v| v.values().to_vec())
                    .collect()
            } else {
                // a set of distinct values in lexicographic order (Search Reference, transaction: mvlist)
                let set: BTreeSet<String> = txn
                    .events
                    .iter()
                    .filter_map(|e| e.get(&n))
                    .flat_map(|v| {
                        v.values()
                            .iter()
                            .map(|x| x.text().into_owned())
                            .collect::<Vec<_>>()
                    })
                    .collect();
                set.into_iter().map(Value::str).collect()
            };
            if let Some(v) = Value::multi(vals) {
                row.set(n, v);
            }
        }
        row.set("duration", Value::Num(txn.last - txn.first));
        row.set("eventcount", Value::Num(txn.events.len() as f64));
        if self.t.keepevicted {
            row.set("closed_txn", Value::Num(if evicted { 0.0 } else { 1.0 }));
        }
        out.push((txn.first, row));
    }
}

/// Whether an event may join an open transaction: every field both have agrees, and (with fields listed)
/// at least one is shared.
fn compatible(keys: &[Option<String>], open: &[Option<String>]) -> bool {
    let mut shared = 0;
    for (a, b) in keys.iter().zip(open) {
        if let (Some(a), Some(b)) = (a, b) {
            if a != b {
                return false;
            }
            shared += 1;
        }
    }
    keys.is_empty() || shared > 0
}

impl Operator for TransactionOp {
    fn push(&mut self, ev: Event, _out: &mut Vec<Event>) -> Result<()> {
        self.events.push(ev);
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        let mut events = std::mem::take(&mut self.events);
        events.sort_by(|a, b| {
            a.time()
                .unwrap_or(0.0)
                .partial_cmp(&b.time().unwrap_or(0.0))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut open: Vec<Open> = Vec::new();
        let mut done: Vec<(f64, Event)> = Vec::new();
        for ev in events {
            let keys = self.keys(&ev);
            if !self.t.fields.is_empty() && keys.iter().all(Option::is_none) {
                continue;
            }
            let t = ev.time().unwrap_or(0.0);
            let starts = self
                .start
                .as_ref()
                .is_some_and(|s| s.matches(&ev, &self.ctx));
            let ends = self.end.as_ref().is_some_and(|s| s.matches(&ev, &self.ctx));
            let mut found = open.iter().rposition(|o| compatible(&keys, &o.keys));
            if let Some(i) = found {
                let o = &open[i];
                let too_long = self.t.maxspan.is_some_and(|m| t - o.first > m);
                let paused = self.t.maxpause.is_some_and(|m| t - o.last > m);
                let full = o.events.len() >= self.t.maxevents;
                if too_long || paused || full || starts {
                    let txn = open.remove(i);
                    self.close(txn, false, &mut done);
                    found = None;
                }
            }
            let i = match found {
                Some(i) => i,
                None => {
                    if self.start.is_some() && !starts {
                        // not inside a transaction, and not the start of one
                        continue;
                    }
                    open.push(Open {
                        keys: keys.clone(),
                        events: Vec::new(),
                        first: t,
                        last: t,
                    });
                    open.len() - 1
                }
            };
            let o = &mut open[i];
            for (k, nk) in o.keys.iter_mut().zip(keys) {
                if k.is_none() {
                    *k = nk;
                }
            }
            o.events.push(ev);
            o.last = t;
            if ends {
                let txn = open.remove(i);
                self.close(txn, true, &mut done);
            }
        }
        for txn in open {
            self.close(txn, false, &mut done);
        }
        // newest transaction first; a stable sort keeps the order of equal start times
        done.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
        out.extend(done.into_iter().map(|(_, r)| r));
        Ok(())
    }
}
