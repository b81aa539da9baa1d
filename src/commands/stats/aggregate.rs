//! The aggregation engine of `stats`, `eventstats` and `streamstats`: the functions, their arguments
//! (a field, a wildcard pattern of fields, or `eval(<expr>)`), their output names, their limits and their
//! null and multivalue rules, once.
//!
//! A command parses its aggregate terms with [`parse_agg`], builds one [`Engine`] from them with the
//! query's context (`now()`, time zone, `list()`/`values()` sizes), and keeps one [`Accs`] per group;
//! [`Groups`] keys them by the by-fields' values. Rows are folded in with [`Engine::add`] (or, for a
//! sliding window that is recomputed, read once with [`Engine::inputs`] and folded with
//! [`Engine::add_inputs`]); [`Engine::results`] gives the output fields. Two engines (and their groups)
//! that ran over consecutive parts of the input merge in input order ([`Engine::merge`],
//! [`Groups::merge`]), so an aggregation can run on both cores.
//!
//! Rules (Splunk's, for all three commands):
//! - A null field adds nothing; a multivalue field adds each of its values (`first`, `last`, `earliest`,
//!   `latest` keep the whole value). Plain `count` counts rows.
//! - An `eval(...)` argument is evaluated per row with the query's context; a comparison's false (and a
//!   null result) adds nothing, so `count(eval(x>6))` counts the rows where the comparison holds.
//! - A wildcard field (`sum(n*)`, `values(*)`) aggregates every field whose name matches, each on its own,
//!   except internal fields (`_` prefix) and the by-fields. The output name is the `AS` name (or the call
//!   text) with each `*` replaced by the part that the input's `*` matched. Its columns follow the order in
//!   which their input fields were first seen; a group that never saw one of them gets no value for it
//!   (0 for `count` and `dc`).
//! - `list()` keeps the first `--list-maxsize` values (Splunk's `list_maxsize`, 100), `values()` the
//!   smallest `--max-values` distinct ones (`maxvalues`; 0: all).

use crate::diag::{Diagnostic, Result, Span};
use crate::eval::{EvalContext, Expr};
use crate::event::{Event, Field};
use crate::parse::Cursor;
use crate::value::{sort_order, Value};
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;

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

/// Every function name the aggregating commands accept (README's list is generated from this).
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

/// The function of a name (any case), if it is one.
pub fn func_of(name: &str) -> Option<Func> {
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

/// One aggregate term whose function name (`fname` at `fspan`, starting the term at `start`) has been
/// read: `<func>[(<field> | eval(<expr>))] [AS <name>]`.
pub fn parse_agg(c: &mut Cursor, start: usize, fname: &str, fspan: Span) -> Result<Agg> {
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
        if c.at_keyword("eval")
            && c.rest()
                .get(4..)
                .is_some_and(|r| r.trim_start().starts_with('('))
        {
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
    let text: String = c
        .src
        .get(start..c.pos)
        .unwrap_or("")
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
    if wild && name.matches('*').count() > field.as_deref().unwrap_or("").matches('*').count() {
        return Err(Diagnostic::at(
            "the `AS` name has more `*` than the field it aggregates",
            Span::new(start, c.pos),
        ));
    }
    Ok(Agg {
        func,
        field,
        expr,
        name,
        span: Span::new(start, c.pos),
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
    let expr = crate::eval::parse_expr(text)
        .map_err(|e| crate::commands::eval::parse_error(e, body_start))?;
    c.pos = i + 1;
    Ok(AggExpr {
        expr,
        text: text.trim().to_string(),
    })
}

/// How many values `list()` and `values()` keep (limits.conf `list_maxsize` and `maxvalues`).
#[derive(Clone, Copy, Debug)]
pub struct Caps {
    list: usize,
    values: usize,
}

impl Caps {
    pub fn of(l: &crate::limits::Limits) -> Caps {
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

/// The running states of the aggregates of one group.
#[derive(Clone, Debug)]
pub struct Accs {
    states: Vec<State>,
    /// Per aggregate (empty when none has a wildcard): a wildcard aggregate's states by input field.
    wild: Vec<HashMap<String, State>>,
}

/// What one row gives each aggregate, read once (for a window that is recomputed as it slides).
#[derive(Clone, Debug)]
pub struct Inputs {
    time: Option<f64>,
    values: Vec<Input>,
}

#[derive(Clone, Debug)]
enum Input {
    One(Option<Value>),
    Wild(Vec<(Field, Value)>),
}

/// The aggregates of one command, with the context they run in.
#[derive(Clone, Debug)]
pub struct Engine {
    aggs: Arc<[Agg]>,
    /// The output name of each aggregate that is not a wildcard one.
    names: Arc<[Field]>,
    /// Fields that wildcards do not match: the by-fields.
    exclude: Arc<[String]>,
    any_wild: bool,
    ctx: EvalContext,
    caps: Caps,
    /// Per aggregate: the input fields a wildcard matched, in order of first sight, and their output names.
    order: Vec<Vec<(String, Field)>>,
    /// The first failure of an `eval(...)` argument, reported at the end.
    error: Option<Diagnostic>,
}

impl Engine {
    pub fn new(
        aggs: &[Agg],
        by: &[String],
        ctx: EvalContext,
        limits: &crate::limits::Limits,
    ) -> Engine {
        Engine {
            names: aggs.iter().map(|a| Field::from(a.name.as_str())).collect(),
            any_wild: aggs.iter().any(Agg::is_wildcard),
            aggs: aggs.into(),
            exclude: by.into(),
            ctx,
            caps: Caps::of(limits),
            order: vec![Vec::new(); aggs.len()],
            error: None,
        }
    }

    /// The same aggregates with nothing seen yet, for another part of the input.
    pub fn fork(&self) -> Engine {
        Engine {
            order: vec![Vec::new(); self.aggs.len()],
            error: None,
            ..self.clone()
        }
    }

    pub fn aggs(&self) -> &[Agg] {
        &self.aggs
    }

    /// Empty states for a new group.
    pub fn fresh(&self) -> Accs {
        Accs {
            states: self.aggs.iter().map(|a| new_state(&a.func)).collect(),
            wild: if self.any_wild {
                vec![HashMap::default(); self.aggs.len()]
            } else {
                Vec::new()
            },
        }
    }

    /// Fold one row into a group's states; `seq` is the row's place in the input.
    pub fn add(&mut self, accs: &mut Accs, ev: &Event, seq: u64) {
        let time = ev.time();
        let Engine {
            aggs,
            exclude,
            ctx,
            order,
            error,
            caps,
            ..
        } = self;
        read(aggs, exclude, ctx, order, error, ev, |i, name, v| {
            feed(aggs, accs, i, name, v, time, seq, *caps)
        });
    }

    /// What `ev` gives each aggregate, to fold in later (perhaps several times) with
    /// [`Engine::add_inputs`].
    pub fn inputs(&mut self, ev: &Event) -> Inputs {
        let mut values: Vec<Input> = Vec::with_capacity(self.aggs.len());
        for a in self.aggs.iter() {
            values.push(if a.is_wildcard() {
                Input::Wild(Vec::new())
            } else {
                Input::One(None)
            });
        }
        let Engine {
            aggs,
            exclude,
            ctx,
            order,
            error,
            ..
        } = self;
        read(aggs, exclude, ctx, order, error, ev, |i, name, v| {
            match (values.get_mut(i), name) {
                (Some(Input::Wild(l)), Some(n)) => {
                    if let Some(v) = v {
                        l.push((n.clone(), v.clone()));
                    }
                }
                (Some(Input::One(slot)), None) => *slot = v.cloned(),
                _ => {}
            }
        });
        Inputs {
            time: ev.time(),
            values,
        }
    }

    /// Fold in a row read by [`Engine::inputs`].
    pub fn add_inputs(&self, accs: &mut Accs, inputs: &Inputs, seq: u64) {
        for (i, inp) in inputs.values.iter().enumerate() {
            match inp {
                Input::One(v) => feed(
                    &self.aggs,
                    accs,
                    i,
                    None,
                    v.as_ref(),
                    inputs.time,
                    seq,
                    self.caps,
                ),
                Input::Wild(l) => {
                    for (n, v) in l {
                        feed(
                            &self.aggs,
                            accs,
                            i,
                            Some(n),
                            Some(v),
                            inputs.time,
                            seq,
                            self.caps,
                        );
                    }
                }
            }
        }
    }

    /// Fold in what an engine that ran over the next part of the input saw (wildcard fields, errors).
    pub fn merge(&mut self, other: &mut Engine) {
        if self.error.is_none() {
            self.error = other.error.take();
        }
        for (mine, theirs) in self.order.iter_mut().zip(other.order.iter_mut()) {
            for (n, out) in theirs.drain(..) {
                if !mine.iter().any(|(m, _)| *m == n) {
                    mine.push((n, out));
                }
            }
        }
    }

    /// Fold the states of a group over the next part of the input into this group's; `offset` is the
    /// number of rows before that part.
    pub fn merge_accs(&self, a: &mut Accs, b: Accs, offset: u64) {
        for (x, y) in a.states.iter_mut().zip(b.states) {
            x.merge(y, offset, self.caps);
        }
        for (x, y) in a.wild.iter_mut().zip(b.wild) {
            for (name, st) in y {
                match x.get_mut(&name) {
                    Some(s) => s.merge(st, offset, self.caps),
                    None => {
                        x.insert(name, st);
                    }
                }
            }
        }
    }

    /// The first failure of an `eval(...)` argument, once.
    pub fn take_error(&mut self) -> Result<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The output fields of a group's states, in the order of the aggregates (a wildcard aggregate's in
    /// the order its input fields were first seen). A result that is null gives no field.
    pub fn results(&self, accs: &Accs) -> Vec<(Field, Value)> {
        let mut out = Vec::with_capacity(self.aggs.len());
        for (i, (a, st)) in self.aggs.iter().zip(&accs.states).enumerate() {
            if a.is_wildcard() {
                let Some(order) = self.order.get(i) else {
                    continue;
                };
                let wild = accs.wild.get(i);
                for (input, name) in order {
                    let v = match wild.and_then(|w| w.get(input)) {
                        Some(st) => st.result(&a.func),
                        None => new_state(&a.func)
                            .result(&a.func)
                            .filter(|_| matches!(a.func, Func::Count | Func::DistinctCount)),
                    };
                    if let Some(v) = v {
                        out.push((name.clone(), v));
                    }
                }
                continue;
            }
            if let (Some(v), Some(name)) = (st.result(&a.func), self.names.get(i)) {
                out.push((name.clone(), v));
            }
        }
        out
    }

    /// The row of an aggregation over no rows at all: `count` and `dc` are 0, the others null.
    pub fn empty_results(&self) -> Vec<(Field, Value)> {
        self.aggs
            .iter()
            .zip(self.names.iter())
            .filter(|(a, _)| {
                !a.is_wildcard() && matches!(a.func, Func::Count | Func::DistinctCount)
            })
            .map(|(_, n)| (n.clone(), Value::Num(0.0)))
            .collect()
    }
}

/// Read what each aggregate takes from `ev`, giving it to `sink(aggregate, input field of a wildcard,
/// value)`; records the wildcard fields first seen and the first failure of an `eval(...)` argument.
fn read(
    aggs: &[Agg],
    exclude: &[String],
    ctx: &EvalContext,
    order: &mut [Vec<(String, Field)>],
    error: &mut Option<Diagnostic>,
    ev: &Event,
    mut sink: impl FnMut(usize, Option<&Field>, Option<&Value>),
) {
    for (i, a) in aggs.iter().enumerate() {
        if let Some(e) = &a.expr {
            match eval_arg(e, ev, ctx) {
                Ok(v) => sink(i, None, v.as_ref()),
                Err(m) => {
                    if error.is_none() {
                        *error = Some(Diagnostic::at(format!("stats: {m}"), a.span));
                    }
                }
            }
            continue;
        }
        match &a.field {
            // plain `count`: the row counts
            None => sink(i, None, Some(&Value::Num(1.0))),
            Some(f) if f.contains('*') => {
                let Some(order) = order.get_mut(i) else {
                    continue;
                };
                for (name, v) in ev.iter() {
                    if name.starts_with('_')
                        || exclude.iter().any(|b| b == name.as_ref())
                        || crate::commands::wildcard_captures(f, name).is_none()
                    {
                        continue;
                    }
                    if !order.iter().any(|(o, _)| o == name.as_ref()) {
                        order.push((name.to_string(), wild_name(a, name).into()));
                    }
                    sink(i, Some(name), Some(v));
                }
            }
            Some(f) => sink(i, None, ev.get(f)),
        }
    }
}

/// Give one value to aggregate `i` of a group (to its state for `name`, for a wildcard aggregate).
#[allow(clippy::too_many_arguments)]
fn feed(
    aggs: &[Agg],
    accs: &mut Accs,
    i: usize,
    name: Option<&Field>,
    v: Option<&Value>,
    time: Option<f64>,
    seq: u64,
    caps: Caps,
) {
    match name {
        None => {
            if let Some(st) = accs.states.get_mut(i) {
                st.add(v, time, seq, caps);
            }
        }
        Some(n) => {
            let (Some(wild), Some(a)) = (accs.wild.get_mut(i), aggs.get(i)) else {
                return;
            };
            match wild.get_mut(n.as_ref()) {
                Some(st) => st.add(v, time, seq, caps),
                None => {
                    let mut st = new_state(&a.func);
                    st.add(v, time, seq, caps);
                    wild.insert(n.to_string(), st);
                }
            }
        }
    }
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
        slots: None,
    };
    match e.expr.ev(&scope) {
        Ok(Some(crate::eval::Ev::Bool(false))) | Ok(None) => Ok(None),
        Ok(Some(v)) => Ok(Some(v.into_value())),
        Err(err) => Err(err.message),
    }
}

/// The output name of a wildcard aggregate for one matched input field.
fn wild_name(agg: &Agg, input: &str) -> String {
    let pattern = agg.field.as_deref().unwrap_or("*");
    let caps = crate::commands::wildcard_captures(pattern, input).unwrap_or_default();
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

/// Groups of rows keyed by their by-values, each with its aggregates' states, in order of first sight.
#[derive(Default)]
pub struct Groups {
    /// Group by key: the by-values' texts, each prefixed with its length (unambiguous).
    index: HashMap<String, usize>,
    list: Vec<Group>,
    /// Reused to build keys without allocating for groups already seen.
    scratch: String,
}

pub struct Group {
    pub key: Vec<Value>,
    pub accs: Accs,
}

impl Groups {
    /// The group of these by-values (every value of a multivalue counts), made if new.
    pub fn slot(&mut self, key: &[&Value], engine: &Engine) -> usize {
        self.scratch.clear();
        for v in key {
            for x in v.values() {
                let t = x.text();
                let _ = write!(self.scratch, "{}:", t.len());
                self.scratch.push_str(&t);
            }
            self.scratch.push(';');
        }
        if let Some(i) = self.index.get(self.scratch.as_str()) {
            return *i;
        }
        let i = self.list.len();
        self.index.insert(self.scratch.clone(), i);
        self.list.push(Group {
            key: key.iter().map(|v| (*v).clone()).collect(),
            accs: engine.fresh(),
        });
        i
    }

    pub fn get(&self, i: usize) -> Option<&Group> {
        self.list.get(i)
    }

    pub fn get_mut(&mut self, i: usize) -> Option<&mut Group> {
        self.list.get_mut(i)
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn clear(&mut self) {
        self.index.clear();
        self.list.clear();
    }

    /// The groups in order of first sight.
    pub fn iter(&self) -> impl Iterator<Item = &Group> {
        self.list.iter()
    }

    /// Fold in the groups of the next part of the input (`offset` rows came before it); stops with
    /// `Err(cancelled)` soon after `cancel` is set, the part's groups not merged yet freed on another
    /// thread.
    pub fn merge(
        &mut self,
        other: Groups,
        engine: &Engine,
        offset: u64,
        cancel: crate::limits::Cancel,
    ) -> crate::diag::Result<()> {
        let mut keys: Vec<(usize, String)> = other.index.into_iter().map(|(k, i)| (i, k)).collect();
        keys.sort_unstable_by_key(|(i, _)| *i);
        let mut rest = keys.into_iter().zip(other.list);
        let mut n = 0usize;
        while let Some(((_, k), g)) = rest.next() {
            n += 1;
            if n.is_multiple_of(4096) && cancel.is_set() {
                crate::limits::set_aside((rest, k, g));
                return cancel.check();
            }
            match self.index.get(&k) {
                Some(&i) => {
                    if let Some(mine) = self.list.get_mut(i) {
                        engine.merge_accs(&mut mine.accs, g.accs, offset);
                    }
                }
                None => {
                    self.index.insert(k, self.list.len());
                    self.list.push(g);
                }
            }
        }
        Ok(())
    }

    /// The groups, sorted ascending by their by-values (numbers numerically, before text); stops
    /// with `Err(cancelled)` soon after `cancel` is set.
    pub fn into_sorted(self, cancel: crate::limits::Cancel) -> crate::diag::Result<Vec<Group>> {
        crate::limits::sort_by_cancellable(self.list, cancel, |a, b| {
            for (x, y) in a.key.iter().zip(&b.key) {
                let o = sort_order(x, y);
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        })
    }
}

/// Fold a fork's engine and groups into these, for an aggregating operator's `merge`: the fork ran over
/// the `other_seq` rows that follow this part's `seq` rows.
pub fn merge_part(
    (engine, groups, seq): (&mut Engine, &mut Groups, &mut u64),
    (other_engine, other_groups, other_seq): (&mut Engine, &mut Groups, u64),
    cancel: crate::limits::Cancel,
) -> crate::diag::Result<()> {
    let offset = *seq;
    *seq += other_seq;
    engine.merge(other_engine);
    groups.merge(std::mem::take(other_groups), engine, offset, cancel)
}

/// The by-values of `ev`, once per combination of the by-fields' values (a multivalue by-field gives one
/// combination per distinct value): `f` is called with each. False, and no call, when a by-field is
/// missing.
pub fn for_each_key(ev: &Event, by: &[String], mut f: impl FnMut(&[&Value])) -> bool {
    // the usual case: every by-field has one value
    let mut single: Vec<&Value> = Vec::with_capacity(by.len());
    let mut multi = false;
    for b in by {
        let Some(v) = ev.get(b) else { return false };
        multi |= v.is_multi();
        single.push(v);
    }
    if !multi {
        f(&single);
        return true;
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
    for k in keys {
        f(&k);
    }
    true
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
