//! `stats` — aggregate rows, optionally by groups.
//!
//! ```text
//! stats [allnum=<bool>] [delim=<string>] [partitions=<int>] [dedup_splitvals=<bool>]
//!       <agg> [AS <name>] [[,] <agg> [AS <name>]]... [BY <field> [[,] <field>]...]
//! agg := count | c | count(<field>) | dc(<field>) | distinct_count | estdc | sum | avg | mean | min | max
//!      | range | stdev | stdevp | var | varp | median | mode | perc<N> | p<N> | exactperc<N> | upperperc<N>
//!      | values | list | first | last | earliest | latest | earliest_time | latest_time | sumsq
//!      | <func>(eval(<expr>))
//!      | sparkline | sparkline(<func>[(<field>)] [, <span-length>])        (parsed; refused when run)
//! ```
//! An `AS` name may end in a parenthesised part written without a space (`AS aceFlags(inheritance)`).
//! Rows missing any by-field are dropped; a multivalue by-field puts the row in one group per value.
//! Output: one row per group, sorted ascending by the by-values (numbers numerically, before text),
//! by-fields first then aggregates in the order written; every other field (`_time`, `_raw`) is gone.
//! With no by-clause and no rows, `count` and `dc` give 0 in a single row. Memory grows with the number of
//! groups, not rows (`list` keeps at most 100 values per group, as Splunk does; `values` keeps each
//! distinct value once). Refused when run: `sparkline` (its cells are counts per time bucket over the
//! search's time range, which a run over files does not have), and time-window options.
//!
//! Wildcard fields: `values(*) AS *`, `avg(*)`, `sum(bytes_*) AS total_*` aggregate every field whose
//! name matches, each on its own; the `*` of the output name takes the part the input's `*` matched (without
//! `AS`, the call text with that part filled in: `avg(*)` gives `avg(x)`, `avg(y)`). Internal fields (`_`
//! prefix) and the by-fields are not matched. Output columns of one wildcard aggregate follow the order in
//! which their input fields were first seen. A group that never saw a field gets no value for it (0 for
//! `count`/`dc`).
//!
//! Eval arguments: `count(eval(<expr>))`, `sum(eval(...))` ... aggregate the expression's value per row; a
//! comparison's false is null there, so `count(eval(status=404))` counts the rows where it holds. Named by
//! the call text (`count(eval(status=404))`) unless `AS` names it.

use super::Operator;
use crate::diag::{Diagnostic, Result, Span};
use crate::eval::{EvalContext, Expr};
use crate::event::Event;
use crate::parse::Cursor;
use crate::value::{sort_order, Value};
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeSet;

/// Splunk's default cap on `list()` values.
pub const LIST_MAX: usize = 100;

/// How many values `list()` and `values()` keep (limits.conf `list_maxsize` and `maxvalues`; 0: no cap).
#[derive(Clone, Copy, Debug)]
struct Caps {
    list: usize,
    values: usize,
}

impl Caps {
    fn of(l: &crate::limits::Limits) -> Caps {
        Caps {
            list: l.list_maxsize,
            values: if l.max_values == 0 {
                usize::MAX
            } else {
                l.max_values
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Func {
    Count,
    DistinctCount,
    Sum,
    SumSq,
    Avg,
    Min,
    Max,
    Range,
    Stdev,
    StdevP,
    Var,
    VarP,
    Median,
    Mode,
    Perc(u32),
    Values,
    List,
    First,
    Last,
    Earliest,
    Latest,
    EarliestTime,
    LatestTime,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Agg {
    pub func: Func,
    /// `None` for plain `count` and for an eval argument. May hold `*` wildcards.
    pub field: Option<String>,
    /// `count(eval(<expr>))`: the expression whose value is aggregated.
    pub expr: Option<AggExpr>,
    /// The output name; for a wildcard field, with `*` where the matched part goes.
    pub name: String,
    pub span: Span,
}

/// An eval expression inside a stats function, compared by its text.
#[derive(Clone, Debug)]
pub struct AggExpr {
    pub expr: Expr,
    pub text: String,
}

impl PartialEq for AggExpr {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Agg {
    /// Does this aggregate read fields by a wildcard pattern?
    pub fn is_wildcard(&self) -> bool {
        self.field.as_deref().is_some_and(|f| f.contains('*'))
    }
}

/// `sparkline(<func>(<field>), <span-length>)`: a small chart per group. Parsed so that searches using
/// it parse; not run (see the module's doc).
#[derive(Clone, Debug, PartialEq)]
pub struct Sparkline {
    /// The aggregate drawn per time bucket (`count` when the sparkline has no arguments).
    pub func: Func,
    pub field: Option<String>,
    /// The bucket width as written (`1h`), if given.
    pub span_length: Option<String>,
    pub name: String,
    pub span: Span,
}

/// Functions that a sparkline may draw (Splunk's `sparkline-func`).
const SPARKLINE_FUNCS: &[&str] = &[
    "c", "count", "dc", "mean", "avg", "stdev", "stdevp", "var", "varp", "sum", "sumsq", "min",
    "max", "range",
];

#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    pub aggs: Vec<Agg>,
    pub by: Vec<String>,
    /// Sparkline columns: parsed, refused when run.
    pub sparklines: Vec<Sparkline>,
}

/// Every function name `stats` accepts (README's list is generated from this).
pub const FUNCTIONS: &[&str] = &[
    "avg",
    "c",
    "count",
    "dc",
    "distinct_count",
    "earliest",
    "earliest_time",
    "estdc",
    "exactperc<N>",
    "first",
    "last",
    "latest",
    "latest_time",
    "list",
    "max",
    "mean",
    "median",
    "min",
    "mode",
    "p<N>",
    "perc<N>",
    "range",
    "stdev",
    "stdevp",
    "sum",
    "sumsq",
    "upperperc<N>",
    "values",
    "var",
    "varp",
];

fn func_of(name: &str) -> Option<Func> {
    let n = name.to_ascii_lowercase();
    Some(match n.as_str() {
        "count" | "c" => Func::Count,
        "dc" | "distinct_count" | "estdc" => Func::DistinctCount,
        "sum" => Func::Sum,
        "sumsq" => Func::SumSq,
        "avg" | "mean" => Func::Avg,
        "min" => Func::Min,
        "max" => Func::Max,
        "range" => Func::Range,
        "stdev" => Func::Stdev,
        "stdevp" => Func::StdevP,
        "var" => Func::Var,
        "varp" => Func::VarP,
        "median" => Func::Median,
        "mode" => Func::Mode,
        "values" => Func::Values,
        "list" => Func::List,
        "first" => Func::First,
        "last" => Func::Last,
        "earliest" => Func::Earliest,
        "latest" => Func::Latest,
        "earliest_time" => Func::EarliestTime,
        "latest_time" => Func::LatestTime,
        _ => {
            for prefix in ["exactperc", "upperperc", "perc", "p"] {
                if let Some(num) = n.strip_prefix(prefix) {
                    if let Ok(p) = num.parse::<u32>() {
                        if p <= 100 {
                            return Some(Func::Perc(p));
                        }
                    }
                }
            }
            return None;
        }
    })
}

impl Stats {
    pub fn parse(c: &mut Cursor) -> Result<Stats> {
        // options such as allnum=f or delim="," come first
        let _ = c.options(&["allnum", "delim", "partitions", "dedup_splitvals"])?;
        let mut aggs = Vec::new();
        let mut sparklines = Vec::new();
        loop {
            c.ws();
            if c.eat(',') {
                continue;
            }
            if c.at_stage_end() || c.at_keyword("by") {
                break;
            }
            let start = c.pos;
            let Some((fname, fspan)) = c.bare() else {
                return Err(c.expected("a stats function such as `count` or `values(field)`"));
            };
            if fname.eq_ignore_ascii_case("sparkline") {
                sparklines.push(parse_sparkline(c, start)?);
                continue;
            }
            let Some(func) = func_of(fname) else {
                let mut d = Diagnostic::at(format!("unknown stats function `{fname}`"), fspan);
                let known = FUNCTIONS.iter().copied().filter(|f| !f.contains('<'));
                if let Some(s) = crate::diag::suggest(fname, known) {
                    d.message.push_str(&format!(" (did you mean `{s}`?)"));
                }
                return Err(d);
            };
            let mut expr = None;
            let field = if c.eat('(') {
                c.ws();
                if c.at_keyword("eval") && c.rest()[4..].trim_start().starts_with('(') {
                    expr = Some(parse_eval_arg(c)?);
                    c.expect(')', "`)` closing the stats function")?;
                    None
                } else {
                    let (f, _) = c.field("a field name inside the parentheses")?;
                    c.expect(')', "`)`")?;
                    Some(f)
                }
            } else {
                if func != Func::Count {
                    return Err(c.expected(&format!("`(` and a field after `{fname}`")));
                }
                None
            };
            let text: String = c.src[start..c.pos]
                .chars()
                .filter(|ch| !ch.is_whitespace())
                .collect();
            let wild = field.as_deref().is_some_and(|f| f.contains('*'));
            let name = if c.keyword("as") {
                let (n, nspan) = c.field_name("a name after `AS`")?;
                if wild && !n.contains('*') {
                    return Err(Diagnostic::at(
                        format!("`{text}` aggregates several fields: its `AS` name needs a `*` for each field's name (e.g. `AS *`)"),
                        nspan,
                    ));
                }
                if !wild && n.contains('*') {
                    return Err(Diagnostic::at(
                        format!("`*` in the `AS` name needs a wildcard field in `{text}`"),
                        nspan,
                    ));
                }
                n
            } else if wild {
                // the call text with its field's `*` kept as the place of the matched part
                text.clone()
            } else if let Some(e) = &expr {
                // named by the call text as written (spaces inside the expression kept)
                format!("{fname}(eval({}))", e.text)
            } else {
                text
            };
            if wild
                && name.matches('*').count() > field.as_deref().unwrap_or("").matches('*').count()
            {
                return Err(Diagnostic::at(
                    "the `AS` name has more `*` than the field it aggregates",
                    Span::new(start, c.pos),
                ));
            }
            aggs.push(Agg {
                func,
                field,
                expr,
                name,
                span: Span::new(start, c.pos),
            });
        }
        if aggs.is_empty() && sparklines.is_empty() {
            return Err(c.expected("a stats function such as `count`"));
        }
        let mut by = Vec::new();
        if c.keyword("by") {
            by = super::fields::parse_field_list(c, "a field name after `BY`")?;
        }
        c.end_of_stage("stats")?;
        Ok(Stats {
            aggs,
            by,
            sparklines,
        })
    }

    /// Why this cannot run, if it cannot: a sparkline column.
    pub fn refusals(&self) -> Vec<super::Refusal> {
        self.sparklines
            .iter()
            .map(|s| super::Refusal {
                kind: super::RefusalKind::Function,
                name: "sparkline".to_string(),
                reason: format!(
                    "stats function `sparkline` is not supported: `{}` draws counts per time bucket over the search's time range",
                    s.name
                ),
                span: s.span,
            })
            .collect()
    }

    pub fn operator(&self) -> Box<dyn Operator> {
        self.operator_in(EvalContext {
            now: 0.0,
            tz: chrono_tz::UTC,
            max_text: crate::eval::MAX_TEXT,
        })
    }

    /// The operator, with the context that `eval(...)` arguments are evaluated in.
    pub fn operator_in(&self, ctx: EvalContext) -> Box<dyn Operator> {
        self.operator_limited(ctx, &crate::limits::Limits::default())
    }

    /// The operator, with the `list()`/`values()` sizes of `limits`.
    pub fn operator_limited(
        &self,
        ctx: EvalContext,
        limits: &crate::limits::Limits,
    ) -> Box<dyn Operator> {
        Box::new(StatsOp {
            stats: self.clone(),
            groups: HashMap::default(),
            scratch: String::new(),
            seq: 0,
            ctx,
            caps: Caps::of(limits),
            wild_order: vec![Vec::new(); self.aggs.len()],
            error: None,
        })
    }
}

/// The rest of a sparkline term, after the word `sparkline` (which starts at `start`):
/// `[(<func>[(<field>)] [, <span-length>])] [AS <name>]`.
fn parse_sparkline(c: &mut Cursor, start: usize) -> Result<Sparkline> {
    let mut func = Func::Count;
    let mut field = None;
    let mut span_length = None;
    if c.eat('(') {
        c.ws();
        let Some((fname, fspan)) = c.bare() else {
            return Err(
                c.expected("a function inside `sparkline(...)` such as `count` or `avg(field)`")
            );
        };
        let lower = fname.to_ascii_lowercase();
        func = match func_of(&lower) {
            Some(f) if SPARKLINE_FUNCS.contains(&lower.as_str()) => f,
            _ => {
                let mut d = Diagnostic::at(
                    format!(
                        "`{fname}` cannot be drawn by `sparkline`: expected one of {}",
                        SPARKLINE_FUNCS.join(", ")
                    ),
                    fspan,
                );
                if let Some(s) = crate::diag::suggest(fname, SPARKLINE_FUNCS.iter().copied()) {
                    d.message.push_str(&format!(" (did you mean `{s}`?)"));
                }
                return Err(d);
            }
        };
        c.ws();
        if c.eat('(') {
            field = Some(c.field("a field name inside the parentheses")?.0);
            c.expect(')', "`)`")?;
        } else if func != Func::Count {
            return Err(c.expected(&format!("`(` and a field after `{fname}`")));
        }
        c.ws();
        if c.eat(',') {
            span_length = Some(c.value("a span length such as `1h`")?.0);
        }
        c.expect(')', "`)` closing `sparkline(`")?;
    }
    let text: String = c
        .src
        .get(start..c.pos)
        .unwrap_or("")
        .chars()
        .filter(|ch| !ch.is_whitespace())
        .collect();
    let mut end = c.pos;
    let name = if c.keyword("as") {
        let (n, nspan) = c.field_name("a name after `AS`")?;
        end = nspan.end;
        n
    } else {
        text
    };
    Ok(Sparkline {
        func,
        field,
        span_length,
        name,
        span: Span::new(start, end),
    })
}

/// `eval(<expr>)` inside a stats function; the cursor is at `eval`. Leaves the cursor after its `)`.
fn parse_eval_arg(c: &mut Cursor) -> Result<AggExpr> {
    c.keyword("eval");
    c.ws();
    let open = c.pos;
    if !c.eat('(') {
        return Err(c.expected("`(` after `eval`"));
    }
    let body_start = c.pos;
    let bytes = c.src.as_bytes();
    let mut depth = 1usize;
    let mut i = body_start;
    while i < bytes.len() {
        match bytes.get(i) {
            Some(q @ (b'"' | b'\'')) => {
                let q = *q;
                i += 1;
                while i < bytes.len() && bytes.get(i) != Some(&q) {
                    if bytes.get(i) == Some(&b'\\') {
                        i += 1;
                    }
                    i += 1;
                }
            }
            Some(b'(') => depth += 1,
            Some(b')') => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if depth != 0 || i > bytes.len() {
        return Err(Diagnostic::at(
            "unclosed `eval(`: expected `)`",
            Span::new(open, open + 1),
        ));
    }
    let text = c.src.get(body_start..i).unwrap_or("");
    if text.trim().is_empty() {
        return Err(Diagnostic::at(
            "expected an expression inside `eval(...)`",
            Span::new(open, i + 1),
        ));
    }
    let expr =
        crate::eval::parse_expr(text).map_err(|e| super::eval::parse_error(e, body_start))?;
    c.pos = i + 1;
    Ok(AggExpr {
        expr,
        text: text.trim().to_string(),
    })
}

/// Running state of one aggregate in one group.
#[derive(Clone, Debug)]
enum State {
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
    Pick {
        v: Option<(f64, u64, Value)>,
        latest: bool,
    },
    First(Option<Value>),
    Last(Option<Value>),
    Time {
        t: Option<f64>,
        latest: bool,
    },
}

impl State {
    /// Fold in the state of the same aggregate over a later part of the input; `offset` turns the
    /// other's arrival numbers into this one's.
    fn merge(&mut self, other: State, offset: u64, caps: Caps) {
        match (self, other) {
            (State::Count(a), State::Count(b)) => *a += b,
            (State::Distinct(a), State::Distinct(b)) => a.extend(b),
            (State::Values(a), State::Values(b)) => {
                a.extend(b);
                while a.len() > caps.values {
                    a.pop_last();
                }
            }
            (
                State::Num { n, sum, sumsq },
                State::Num {
                    n: n2,
                    sum: s2,
                    sumsq: q2,
                },
            ) => {
                *n += n2;
                *sum += s2;
                *sumsq += q2;
            }
            (
                State::MinMax { num, text, max },
                State::MinMax {
                    num: n2, text: t2, ..
                },
            ) => {
                if let Some(b) = n2 {
                    *num = Some(match *num {
                        Some(a) if (*max && a >= b) || (!*max && a <= b) => a,
                        _ => b,
                    });
                }
                if let Some(b) = t2 {
                    let keep = match text {
                        Some(a) => (*max && *a >= b) || (!*max && *a <= b),
                        None => false,
                    };
                    if !keep {
                        *text = Some(b);
                    }
                }
            }
            (State::Range { lo, hi }, State::Range { lo: l2, hi: h2 }) => {
                if let Some(l) = l2 {
                    *lo = Some(lo.map_or(l, |x| x.min(l)));
                }
                if let Some(h) = h2 {
                    *hi = Some(hi.map_or(h, |x| x.max(h)));
                }
            }
            (State::Nums(a), State::Nums(b)) => a.extend(b),
            (State::Mode(a), State::Mode(b)) => {
                for (k, (n, first)) in b {
                    let e = a.entry(k).or_insert((0, first + offset));
                    e.0 += n;
                }
            }
            (State::List(a), State::List(b)) => {
                let room = caps.list.saturating_sub(a.len());
                a.extend(b.into_iter().take(room));
            }
            (State::First(a @ None), State::First(b)) => *a = b,
            (State::Last(a), State::Last(b @ Some(_))) => *a = b,
            (
                State::Pick { v, latest },
                State::Pick {
                    v: Some((t, seq, val)),
                    ..
                },
            ) => {
                let better = match v {
                    None => true,
                    Some((ct, _, _)) => (*latest && t > *ct) || (!*latest && t < *ct),
                };
                if better {
                    *v = Some((t, seq + offset, val));
                }
            }
            (State::Time { t, latest }, State::Time { t: Some(b), .. }) => {
                *t = Some(match *t {
                    Some(a) if (*latest && a >= b) || (!*latest && a <= b) => a,
                    _ => b,
                });
            }
            _ => {}
        }
    }
}

fn new_state(f: &Func) -> State {
    match f {
        Func::Count => State::Count(0),
        Func::DistinctCount => State::Distinct(BTreeSet::new()),
        Func::Sum
        | Func::SumSq
        | Func::Avg
        | Func::Stdev
        | Func::StdevP
        | Func::Var
        | Func::VarP => State::Num {
            n: 0,
            sum: 0.0,
            sumsq: 0.0,
        },
        Func::Min => State::MinMax {
            num: None,
            text: None,
            max: false,
        },
        Func::Max => State::MinMax {
            num: None,
            text: None,
            max: true,
        },
        Func::Range => State::Range { lo: None, hi: None },
        Func::Median | Func::Perc(_) => State::Nums(Vec::new()),
        Func::Mode => State::Mode(HashMap::default()),
        Func::Values => State::Values(BTreeSet::new()),
        Func::List => State::List(Vec::new()),
        Func::First => State::First(None),
        Func::Last => State::Last(None),
        Func::Earliest => State::Pick {
            v: None,
            latest: false,
        },
        Func::Latest => State::Pick {
            v: None,
            latest: true,
        },
        Func::EarliestTime => State::Time {
            t: None,
            latest: false,
        },
        Func::LatestTime => State::Time {
            t: None,
            latest: true,
        },
    }
}

impl State {
    fn add(&mut self, field: Option<&Value>, time: Option<f64>, seq: u64, caps: Caps) {
        let Some(v) = field else { return };
        for x in v.values() {
            match self {
                State::Count(n) => *n += 1,
                State::Distinct(s) => {
                    let t = x.text();
                    if !s.contains(t.as_ref()) {
                        s.insert(t.into_owned());
                    }
                }
                State::Num { n, sum, sumsq } => {
                    if let Some(f) = x.as_num() {
                        *n += 1;
                        *sum += f;
                        *sumsq += f * f;
                    }
                }
                State::MinMax { num, text, max } => match x.as_num() {
                    Some(f) => {
                        let better = match num {
                            None => true,
                            Some(cur) => (*max && f > *cur) || (!*max && f < *cur),
                        };
                        if better {
                            *num = Some(f);
                        }
                    }
                    None => {
                        let t = x.text();
                        let better = match text {
                            None => true,
                            Some(cur) => {
                                (*max && t.as_ref() > cur.as_str())
                                    || (!*max && t.as_ref() < cur.as_str())
                            }
                        };
                        if better {
                            *text = Some(t.into_owned());
                        }
                    }
                },
                State::Range { lo, hi } => {
                    if let Some(f) = x.as_num() {
                        *lo = Some(lo.map_or(f, |l| l.min(f)));
                        *hi = Some(hi.map_or(f, |h| h.max(f)));
                    }
                }
                State::Nums(v) => {
                    if let Some(f) = x.as_num() {
                        v.push(f);
                    }
                }
                State::Mode(m) => {
                    let e = m.entry(x.text().into_owned()).or_insert((0, seq));
                    e.0 += 1;
                }
                State::Values(s) => {
                    let t = x.text();
                    if !s.contains(t.as_ref()) {
                        s.insert(t.into_owned());
                        // the smallest values are kept, as they are shown in order
                        if s.len() > caps.values {
                            s.pop_last();
                        }
                    }
                }
                State::List(l) => {
                    if l.len() < caps.list {
                        l.push(x.clone());
                    }
                }
                State::First(f) => {
                    if f.is_none() {
                        *f = Some(v.clone());
                    }
                    return;
                }
                State::Last(l) => {
                    *l = Some(v.clone());
                    return;
                }
                State::Pick { v: cur, latest } => {
                    let t = time.unwrap_or(0.0);
                    let better = match cur {
                        None => true,
                        Some((ct, _, _)) => (*latest && t > *ct) || (!*latest && t < *ct),
                    };
                    if better {
                        *cur = Some((t, seq, v.clone()));
                    }
                    return;
                }
                State::Time { t: cur, latest } => {
                    if let Some(t) = time {
                        let better = match cur {
                            None => true,
                            Some(c) => (*latest && t > *c) || (!*latest && t < *c),
                        };
                        if better {
                            *cur = Some(t);
                        }
                    }
                    return;
                }
            }
        }
    }

    fn result(&self, func: &Func) -> Option<Value> {
        match self {
            State::Count(n) => Some(Value::Num(*n as f64)),
            State::Distinct(s) => Some(Value::Num(s.len() as f64)),
            State::Num { n, sum, sumsq } => {
                if *n == 0 {
                    return None;
                }
                let nf = *n as f64;
                let mean = sum / nf;
                let var_p = (sumsq / nf - mean * mean).max(0.0);
                Some(Value::Num(match func {
                    Func::Sum => *sum,
                    Func::SumSq => *sumsq,
                    Func::Avg => mean,
                    Func::VarP => var_p,
                    Func::StdevP => var_p.sqrt(),
                    Func::Var | Func::Stdev => {
                        if *n < 2 {
                            return None;
                        }
                        let v = (sumsq - nf * mean * mean).max(0.0) / (nf - 1.0);
                        if *func == Func::Var {
                            v
                        } else {
                            v.sqrt()
                        }
                    }
                    _ => return None,
                }))
            }
            State::MinMax { num, text, .. } => match (num, text) {
                (Some(n), _) => Some(Value::Num(*n)),
                (None, Some(t)) => Some(Value::str(t)),
                _ => None,
            },
            State::Range { lo, hi } => match (lo, hi) {
                (Some(l), Some(h)) => Some(Value::Num(h - l)),
                _ => None,
            },
            State::Nums(v) => {
                if v.is_empty() {
                    return None;
                }
                let mut s = v.clone();
                s.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
                let p = match func {
                    Func::Perc(p) => *p as f64,
                    _ => 50.0,
                };
                // nearest rank
                let rank = ((p / 100.0) * s.len() as f64).ceil().max(1.0) as usize;
                s.get(rank.min(s.len()) - 1).map(|x| Value::Num(*x))
            }
            State::Mode(m) => m
                .iter()
                .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1)))
                .map(|(k, _)| Value::str(k)),
            // Splunk sorts values() as strings, even numbers
            State::Values(s) => Value::multi(s.iter().map(Value::str).collect()),
            State::List(l) => Value::multi(l.clone()),
            State::First(v) | State::Last(v) => v.clone(),
            State::Pick { v, .. } => v.as_ref().map(|(_, _, v)| v.clone()),
            State::Time { t, .. } => t.map(Value::Num),
        }
    }
}

struct Group {
    key: Vec<Value>,
    states: Vec<State>,
    /// Per aggregate: the states of a wildcard aggregate, by matched input field.
    wild: Vec<HashMap<String, State>>,
}

struct StatsOp {
    stats: Stats,
    /// Groups by their key: the by-values' texts, each prefixed with its length (unambiguous).
    groups: HashMap<String, Group>,
    /// Reused to build keys without allocating for groups already seen.
    scratch: String,
    seq: u64,
    ctx: EvalContext,
    caps: Caps,
    /// Per aggregate: the input fields a wildcard matched, in order of first sight.
    wild_order: Vec<Vec<String>>,
    /// The first failure of an `eval(...)` argument, reported at the end.
    error: Option<Diagnostic>,
}

/// The value of an `eval(...)` argument for one row: a comparison's false counts as null.
fn eval_arg(
    e: &AggExpr,
    ev: &Event,
    ctx: &EvalContext,
) -> std::result::Result<Option<Value>, String> {
    let scope = crate::eval::Scope {
        event: ev,
        ctx,
        bound: None,
    };
    match e.expr.ev(&scope) {
        Ok(Some(crate::eval::Ev::Bool(false))) | Ok(None) => Ok(None),
        Ok(Some(v)) => Ok(Some(v.into_value())),
        Err(err) => Err(err.message),
    }
}

impl StatsOp {
    fn add_to(&mut self, key: &[&Value], ev: &Event) {
        let aggs = &self.stats.aggs;
        self.scratch.clear();
        for v in key {
            let t = v.text();
            self.scratch.push_str(&t.len().to_string());
            self.scratch.push(':');
            self.scratch.push_str(&t);
        }
        if !self.groups.contains_key(self.scratch.as_str()) {
            self.groups.insert(
                self.scratch.clone(),
                Group {
                    key: key.iter().map(|v| (*v).clone()).collect(),
                    states: aggs.iter().map(|a| new_state(&a.func)).collect(),
                    wild: vec![HashMap::default(); aggs.len()],
                },
            );
        }
        let Some(g) = self.groups.get_mut(self.scratch.as_str()) else {
            return;
        };
        let time = ev.time();
        for (i, (a, st)) in aggs.iter().zip(g.states.iter_mut()).enumerate() {
            if let Some(e) = &a.expr {
                match eval_arg(e, ev, &self.ctx) {
                    Ok(v) => st.add(v.as_ref(), time, self.seq, self.caps),
                    Err(m) => {
                        if self.error.is_none() {
                            self.error = Some(Diagnostic::at(format!("stats: {m}"), a.span));
                        }
                    }
                }
                continue;
            }
            match (&a.func, &a.field) {
                (Func::Count, None) => {
                    if let State::Count(n) = st {
                        *n += 1
                    }
                }
                (_, Some(f)) if a.is_wildcard() => {
                    let (Some(wild), Some(order)) = (g.wild.get_mut(i), self.wild_order.get_mut(i))
                    else {
                        continue;
                    };
                    for (name, v) in ev.iter() {
                        if name.starts_with('_')
                            || self.stats.by.iter().any(|b| b == name.as_ref())
                            || super::wildcard_captures(f, name).is_none()
                        {
                            continue;
                        }
                        if !order.iter().any(|o| o == name.as_ref()) {
                            order.push(name.to_string());
                        }
                        wild.entry(name.to_string())
                            .or_insert_with(|| new_state(&a.func))
                            .add(Some(v), time, self.seq, self.caps);
                    }
                }
                (_, Some(f)) => st.add(ev.get(f), time, self.seq, self.caps),
                (_, None) => {}
            }
        }
    }
}

/// The output name of a wildcard aggregate for one matched input field.
fn wild_name(agg: &Agg, input: &str) -> String {
    let pattern = agg.field.as_deref().unwrap_or("*");
    let caps = super::wildcard_captures(pattern, input).unwrap_or_default();
    let mut out = String::new();
    let mut caps = caps.iter();
    for (i, part) in agg.name.split('*').enumerate() {
        if i > 0 {
            out.push_str(caps.next().copied().unwrap_or(""));
        }
        out.push_str(part);
    }
    out
}

impl StatsOp {
    fn merge_from(&mut self, other: &mut StatsOp) {
        let offset = self.seq;
        let caps = self.caps;
        self.seq += other.seq;
        if self.error.is_none() {
            self.error = other.error.take();
        }
        for (i, names) in other.wild_order.iter().enumerate() {
            if let Some(order) = self.wild_order.get_mut(i) {
                for n in names {
                    if !order.contains(n) {
                        order.push(n.clone());
                    }
                }
            }
        }
        for (k, g) in other.groups.drain() {
            match self.groups.get_mut(&k) {
                None => {
                    self.groups.insert(k, g);
                }
                Some(mine) => {
                    for (a, b) in mine.states.iter_mut().zip(g.states) {
                        a.merge(b, offset, caps);
                    }
                    for (a, b) in mine.wild.iter_mut().zip(g.wild) {
                        for (name, st) in b {
                            match a.get_mut(&name) {
                                Some(x) => x.merge(st, offset, caps),
                                None => {
                                    a.insert(name, st);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

impl Operator for StatsOp {
    fn fork(&self) -> Option<Box<dyn Operator>> {
        Some(Box::new(StatsOp {
            stats: self.stats.clone(),
            groups: HashMap::default(),
            scratch: String::new(),
            seq: 0,
            ctx: self.ctx,
            caps: self.caps,
            wild_order: vec![Vec::new(); self.stats.aggs.len()],
            error: None,
        }))
    }

    fn merge(&mut self, mut other: Box<dyn Operator>) -> Result<()> {
        if let Some(o) = other.as_any_mut().and_then(|a| a.downcast_mut::<StatsOp>()) {
            self.merge_from(o);
        }
        Ok(())
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }

    fn push(&mut self, ev: Event, _out: &mut Vec<Event>) -> Result<()> {
        self.seq += 1;
        // the usual case: every by-field has one value
        let mut single: Vec<&Value> = Vec::with_capacity(self.stats.by.len());
        let mut multi = false;
        for f in &self.stats.by {
            let Some(v) = ev.get(f) else { return Ok(()) };
            multi |= v.is_multi();
            single.push(v);
        }
        if !multi {
            self.add_to(&single, &ev);
            return Ok(());
        }
        // the cross product of the by-fields' values, each distinct value once
        let mut keys: Vec<Vec<&Value>> = vec![Vec::new()];
        for v in single {
            let vals = v.values();
            let mut next = Vec::with_capacity(keys.len() * vals.len());
            for k in &keys {
                let mut seen = BTreeSet::new();
                for x in vals {
                    if seen.insert(x.text()) {
                        let mut nk = k.clone();
                        nk.push(x);
                        next.push(nk);
                    }
                }
            }
            keys = next;
        }
        for key in keys {
            self.add_to(&key, &ev);
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.groups.is_empty() && self.stats.by.is_empty() {
            let mut row = Event::new();
            for a in &self.stats.aggs {
                if a.is_wildcard() {
                    continue;
                }
                if matches!(a.func, Func::Count | Func::DistinctCount) {
                    row.set(a.name.as_str(), Value::Num(0.0));
                }
            }
            out.push(row);
            return Ok(());
        }
        let mut groups: Vec<Group> = self.groups.drain().map(|(_, g)| g).collect();
        groups.sort_by(|a, b| {
            for (x, y) in a.key.iter().zip(&b.key) {
                let o = sort_order(x, y);
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        for g in groups {
            let mut row = Event::with_capacity(self.stats.by.len() + self.stats.aggs.len());
            for (f, v) in self.stats.by.iter().zip(g.key) {
                row.set(f.as_str(), v);
            }
            for (i, (a, st)) in self.stats.aggs.iter().zip(&g.states).enumerate() {
                if a.is_wildcard() {
                    let (Some(order), Some(wild)) = (self.wild_order.get(i), g.wild.get(i)) else {
                        continue;
                    };
                    for input in order {
                        let v = match wild.get(input) {
                            Some(st) => st.result(&a.func),
                            None => new_state(&a.func)
                                .result(&a.func)
                                .filter(|_| matches!(a.func, Func::Count | Func::DistinctCount)),
                        };
                        row.set_opt(wild_name(a, input), v);
                    }
                    continue;
                }
                row.set_opt(a.name.as_str(), st.result(&a.func));
            }
            out.push(row);
        }
        Ok(())
    }
}

impl super::SplCommand for Stats {
    fn refusals(&self) -> Vec<super::Refusal> {
        Stats::refusals(self)
    }

    fn needs(&self, _after: super::Need) -> super::Need {
        if self.by.iter().any(|f| f.contains('*')) {
            return None;
        }
        let mut n: std::collections::HashSet<String> = self.by.iter().cloned().collect();
        for a in &self.aggs {
            if let Some(e) = &a.expr {
                n.extend(e.expr.fields());
            }
            match &a.field {
                Some(f) if f.contains('*') => return None,
                Some(f) => {
                    n.insert(f.clone());
                }
                None => {}
            }
        }
        n.insert("_time".into());
        Some(n)
    }

    fn operator(
        &self,
        cx: &super::Context,
        _sub: &dyn super::SubRunner,
    ) -> Result<Box<dyn Operator>> {
        Ok(self.operator_limited(cx.eval, &cx.limits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{Command, RefusalKind};
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<Stats> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::Stats(s)) => Ok(s),
            other => panic!("not stats: {other:?}"),
        }
    }

    #[test]
    fn as_names_may_end_in_parentheses() {
        let s = parse("x | stats values(aceFlags) as aceFlags(inheritance), count AS n(x)(y) by a")
            .unwrap();
        let names: Vec<&str> = s.aggs.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["aceFlags(inheritance)", "n(x)(y)"]);
        assert_eq!(s.by, ["a"]);
        // a space ends the name: what follows is the next aggregate
        let s = parse("x | stats count as n (x)");
        assert!(s.is_err());
    }

    #[test]
    fn sparklines_parse_and_are_refused_when_run() {
        let s =
            parse("x | stats sparkline, count, values(uri) AS uri latest(_raw) by src").unwrap();
        assert_eq!(s.sparklines.len(), 1);
        assert_eq!(s.sparklines[0].func, Func::Count);
        assert_eq!(s.sparklines[0].name, "sparkline");
        assert_eq!(s.aggs.len(), 3);
        let s = parse("x | stats sparkline(avg(bytes), 1h) AS trend count").unwrap();
        let sp = &s.sparklines[0];
        assert_eq!(
            (
                sp.func.clone(),
                sp.field.as_deref(),
                sp.span_length.as_deref()
            ),
            (Func::Avg, Some("bytes"), Some("1h"))
        );
        assert_eq!(sp.name, "trend");
        let s = parse("x | stats sparkline(count) by a").unwrap();
        assert_eq!(s.sparklines[0].name, "sparkline(count)");
        assert!(s.aggs.is_empty());
        let refusals = Command::Stats(s.clone()).refusals();
        assert_eq!(refusals.len(), 1);
        assert_eq!(refusals[0].kind, RefusalKind::Function);
        assert_eq!(refusals[0].name, "sparkline");
        assert_eq!(refusals[0].span, Span::new(10, 26));
        assert!(!Command::Stats(s).is_runnable());
        assert!(Command::Stats(parse("x | stats count").unwrap()).is_runnable());
    }

    #[test]
    fn sparklines_refuse_bad_arguments() {
        let e = parse("x | stats sparkline(values(a))").unwrap_err();
        assert!(
            e.message.contains("cannot be drawn by `sparkline`"),
            "{}",
            e.message
        );
        let e = parse("x | stats sparkline(avg)").unwrap_err();
        assert!(
            e.message.contains("`(` and a field after `avg`"),
            "{}",
            e.message
        );
        let e = parse("x | stats sparkline(count, 1h").unwrap_err();
        assert!(e.message.contains("closing `sparkline(`"), "{}", e.message);
    }
}
