//! The eval expression language: what `eval` assigns, what `where` tests, and what calculated fields
//! (`EVAL-x = ...` in props files) compute.
//!
//! Syntax (Search Reference: "eval", "Evaluation functions"):
//! - literals: numbers (`42`, `3.5`, `1e3`), `"double-quoted strings"` (`\"` and `\\` are escapes; any other
//!   backslash stays, so `"\d+"` reaches a regex intact), bare `TRUE`/`FALSE`, and `true()`, `false()`, `null()`.
//! - field references: bare names (letters, digits, `_`, `{}`, `:`, `@`) or `'single-quoted'` names with
//!   any characters (`'userIdentity.arn'`, `'resources{}.ARN'`). A name that starts with a digit is a number.
//! - operators, loosest first: `OR`, `XOR`, `AND`, `NOT`, comparisons (`=` `==` `!=` `<` `>` `<=` `>=` `LIKE`
//!   `IN (..)`, also `NOT LIKE` / `NOT IN`), `+` `-` `.`, `*` `/` `%`, unary `-`. Keywords are case-insensitive.
//!   `.` always concatenates, written with or without spaces: `a.b` is `a . b`, as in Splunk, where a field
//!   name with a dot is written in single quotes (`'userIdentity.arn'`).
//!
//! Values and nulls:
//! - arithmetic and concatenation with a null give null; `+` adds when both sides read as numbers and
//!   otherwise concatenates; division or modulo by zero gives null.
//! - a comparison with a null is false (not null), so `NOT x>3` is true when `x` is absent.
//!   `AND`/`OR`/`XOR`/`NOT` treat a null operand as false.
//! - comparisons are numeric when both sides read as numbers, else case-sensitive string comparisons
//!   ([`crate::value::compare`]); with a multivalue operand they are true when any value satisfies them.
//! - arithmetic, concatenation and numeric functions use the first value of a multivalue field; text
//!   transforms (`lower`, `replace`, `substr` ...) apply to each value; `match`/`like`/`cidrmatch`/`in` pass
//!   when any value does.
//! - regexes are PCRE in Splunk and the `regex` crate here: common PCRE habits are rewritten (a literal `{`,
//!   `\Q..\E`, `\h`, `\Z`); look-around and backreferences are refused.
//! - booleans exist only inside an expression. When an expression's result is a boolean, [`Expr::eval`]
//!   returns the text `"true"` or `"false"` (Splunk refuses to store a boolean in a field; storing the text
//!   keeps `eval ok=x>3 | where ok` working). A boolean test ([`is_true`], `if`, `AND` ...) accepts a boolean or
//!   the text `true`/`false` in any case; any other value counts as false.
//! - function names are matched case-insensitively (`IF(` is `if(`). An unknown name or a wrong argument
//!   count is a [`ParseError`]; so is a literal regex (`match`, `replace`, `mvfind`) or `like` pattern that
//!   does not compile. A pattern computed at run time that does not compile is an [`EvalError`].
//! - `now()` and `time()` both return [`EvalContext::now`] (Splunk's `time()` reads the wall clock per call;
//!   one fixed instant keeps a search's results reproducible).

mod digest;
mod functions;
mod json;
mod parse;
mod sql;
pub(crate) mod strings;
pub mod time;

#[cfg(test)]
mod tests;

use crate::event::Event;
use crate::value::{compare, Value};
use std::cmp::Ordering;
use std::fmt;

pub use functions::FUNCTIONS;
/// The `spath` command extracts with the same path rules as the eval function.
pub(crate) use json::spath;
pub use parse::{parse_assignments, parse_expr};

/// A byte range in the parsed text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// A parsed expression. Every node keeps the byte span of the text it came from.
#[derive(Clone, Debug)]
pub struct Expr {
    pub(crate) kind: Kind,
    pub(crate) span: Span,
}

#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Num(f64),
    Str(std::sync::Arc<str>),
    Bool(bool),
    Field(std::sync::Arc<str>),
    /// A field read from [`Scope::slots`] by its place, given by [`Expr::slotted`]; the name is kept for
    /// a bound `mvfilter` value and for a scope without slots.
    Slot(u32, std::sync::Arc<str>),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `x IN (a, b)`; `negated` for `x NOT IN (..)`.
    In {
        subject: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Call(Box<functions::Call>),
    /// `x LIKE "literal"` (`negated`: `x NOT LIKE ...`): the pattern compiled once, when parsed.
    Like {
        subject: Box<Expr>,
        pattern: regex::Regex,
        negated: bool,
    },
    /// A call Splunk accepts that spelunk cannot evaluate (a Splunk function spelunk lacks, or a literal
    /// regex that needs PCRE-only features): parsed so the whole search can be checked, refused when run.
    Unsupported(Box<Unsupported>),
}

#[derive(Clone, Debug)]
pub(crate) struct Unsupported {
    pub(crate) name: String,
    /// Why it cannot run, e.g. "eval function `mvzip` is not supported yet".
    pub(crate) reason: String,
    pub(crate) args: Vec<Expr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Concat,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Like,
    NotLike,
    And,
    Or,
    Xor,
}

/// Where parsing stopped: `offset` is a byte offset into the parsed text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub offset: usize,
    /// What would have been accepted here. Empty when `found` is a complete message on its own
    /// (e.g. ``unknown function `lenn` (did you mean `len`?)``).
    pub expected: String,
    pub found: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.expected.is_empty() {
            f.write_str(&self.found)
        } else {
            write!(f, "expected {}, found {}", self.expected, self.found)
        }
    }
}

impl std::error::Error for ParseError {}

/// A failure while evaluating (a bad regex built at run time, an unsupported function ...).
/// `offset` is the byte offset of the call or operator in the parsed text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalError {
    pub message: String,
    pub offset: usize,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EvalError {}

/// What an expression may know besides the event.
#[derive(Clone, Copy, Debug)]
pub struct EvalContext {
    /// Epoch seconds of the search's start: `now()` and `time()`.
    pub now: f64,
    /// Time zone of `strftime`, `strptime` and `relative_time`.
    pub tz: chrono_tz::Tz,
    /// Longest text (bytes) an expression may make: beyond it evaluation fails, rather than memory.
    pub max_text: usize,
}

/// The default of [`EvalContext::max_text`]: 100 MiB.
pub const MAX_TEXT: usize = 100 << 20;

/// A value during evaluation: field values plus the booleans that comparisons produce.
/// `None` around it is null.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Ev {
    Bool(bool),
    V(Value),
}

impl Ev {
    pub(crate) fn into_value(self) -> Value {
        match self {
            Ev::Bool(b) => Value::str(if b { "true" } else { "false" }),
            Ev::V(v) => v,
        }
    }
}

pub(crate) type Res = Result<Option<Ev>, EvalError>;

pub(crate) fn num(n: f64) -> Option<Ev> {
    Some(Ev::V(Value::Num(n)))
}

pub(crate) fn text(s: impl AsRef<str>) -> Option<Ev> {
    Some(Ev::V(Value::str(s)))
}

/// What the evaluation of one event sees: the event, the context, and the field that `mvfilter`/`mvmap`
/// bind to each value in turn.
#[derive(Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub(crate) event: &'a Event,
    pub(crate) ctx: &'a EvalContext,
    pub(crate) bound: Option<(&'a str, &'a Value)>,
    /// The values of a slotted expression's fields (see [`Expr::slotted`]), looked up once per event.
    pub(crate) slots: Option<&'a [Option<&'a Value>]>,
}

impl<'a> Scope<'a> {
    fn field(&self, name: &str) -> Option<Value> {
        if let Some((b, v)) = self.bound {
            if b == name {
                return Some(v.clone());
            }
        }
        self.event.get(name).cloned()
    }

    /// The value of a field reference, borrowed (see [`Expr::binary`]'s fast path).
    pub(crate) fn peek(&self, e: &Expr) -> Option<Option<&'a Value>> {
        let (slot, name) = match &e.kind {
            Kind::Field(name) => (None, name),
            Kind::Slot(at, name) => (Some(*at), name),
            _ => return None,
        };
        if let Some((b, v)) = self.bound {
            if b == name.as_ref() {
                return Some(Some(v));
            }
        }
        Some(match (slot, self.slots) {
            (Some(at), Some(slots)) => slots.get(at as usize).copied().flatten(),
            _ => self.event.get(name),
        })
    }
}

/// The places of the fields of slotted expressions (see [`Expr::slotted`]): each name's slot.
#[derive(Clone, Debug, Default)]
pub struct Slots {
    index: rustc_hash::FxHashMap<std::sync::Arc<str>, u32>,
}

impl Slots {
    fn place(&mut self, name: &std::sync::Arc<str>) -> u32 {
        let next = self.index.len() as u32;
        *self.index.entry(name.clone()).or_insert(next)
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Fill `out` (of [`Slots::len`] entries) with the event's values of the slotted fields: one pass
    /// over the event's fields, one hash lookup each.
    pub fn fill<'e>(&self, event: &'e Event, out: &mut [Option<&'e Value>]) {
        for v in out.iter_mut() {
            *v = None;
        }
        for (k, v) in event.iter() {
            if let Some(&i) = self.index.get(k) {
                if let Some(o) = out.get_mut(i as usize) {
                    *o = Some(v);
                }
            }
        }
    }
}

/// Whether a result counts as true: what `where` keeps. A boolean result arrives as the text `true`;
/// the text `true` in any case counts, for any value of a multivalue; everything else, null included, is false.
pub fn is_true(v: &Option<Value>) -> bool {
    match v {
        Some(v) => value_truth(v),
        None => false,
    }
}

fn value_truth(v: &Value) -> bool {
    v.values()
        .iter()
        .any(|x| matches!(x, Value::Str(s) if s.eq_ignore_ascii_case("true")))
}

/// Truth of an intermediate result (see [`is_true`]).
pub(crate) fn truth(v: &Option<Ev>) -> bool {
    match v {
        Some(Ev::Bool(b)) => *b,
        Some(Ev::V(v)) => value_truth(v),
        None => false,
    }
}

impl Expr {
    /// The byte span of the whole expression in the parsed text.
    pub fn span(&self) -> Span {
        self.span
    }

    /// Evaluate against one event. `Ok(None)` is null. A boolean result is the text `true`/`false`.
    pub fn eval(&self, event: &Event, ctx: &EvalContext) -> Result<Option<Value>, EvalError> {
        let scope = Scope {
            event,
            ctx,
            bound: None,
            slots: None,
        };
        Ok(self.ev(&scope)?.map(Ev::into_value))
    }

    /// Evaluate a slotted expression (see [`Expr::slotted`]) with its fields' values already looked up
    /// ([`Slots::fill`]).
    pub fn eval_slotted(
        &self,
        event: &Event,
        slots: &[Option<&Value>],
        ctx: &EvalContext,
    ) -> Result<Option<Value>, EvalError> {
        let scope = Scope {
            event,
            ctx,
            bound: None,
            slots: Some(slots),
        };
        Ok(self.ev(&scope)?.map(Ev::into_value))
    }

    /// A copy whose field references read slots placed in `slots`, so that evaluating it looks no field
    /// up by name. Text literals are copied too: a copy made for one reading thread shares no counted
    /// text with another's.
    pub fn slotted(&self, slots: &mut Slots) -> Expr {
        let kind = match &self.kind {
            Kind::Field(name) | Kind::Slot(_, name) => Kind::Slot(slots.place(name), name.clone()),
            Kind::Str(t) => Kind::Str(std::sync::Arc::from(t.as_ref())),
            Kind::Num(n) => Kind::Num(*n),
            Kind::Bool(b) => Kind::Bool(*b),
            Kind::Neg(e) => Kind::Neg(Box::new(e.slotted(slots))),
            Kind::Not(e) => Kind::Not(Box::new(e.slotted(slots))),
            Kind::Binary(op, a, b) => {
                Kind::Binary(*op, Box::new(a.slotted(slots)), Box::new(b.slotted(slots)))
            }
            Kind::In {
                subject,
                list,
                negated,
            } => Kind::In {
                subject: Box::new(subject.slotted(slots)),
                list: list.iter().map(|e| e.slotted(slots)).collect(),
                negated: *negated,
            },
            Kind::Call(c) => Kind::Call(Box::new(c.slotted(slots))),
            Kind::Like {
                subject,
                pattern,
                negated,
            } => Kind::Like {
                subject: Box::new(subject.slotted(slots)),
                pattern: pattern.clone(),
                negated: *negated,
            },
            Kind::Unsupported(u) => Kind::Unsupported(u.clone()),
        };
        Expr {
            kind,
            span: self.span,
        }
    }

    /// Evaluate as a condition, as `where` does: true only for a true result.
    pub fn test(&self, event: &Event, ctx: &EvalContext) -> Result<bool, EvalError> {
        let scope = Scope {
            event,
            ctx,
            bound: None,
            slots: None,
        };
        Ok(truth(&self.ev(&scope)?))
    }

    /// Field names the expression reads, each once, in order of first mention.
    pub fn fields(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        self.walk(&mut |e| {
            if let Kind::Field(name) | Kind::Slot(_, name) = &e.kind {
                if !out.iter().any(|o| o == name.as_ref()) {
                    out.push(name.to_string());
                }
            }
        });
        out
    }

    /// Functions called, with the byte offset of each call's name, in text order.
    pub fn functions(&self) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        self.walk(&mut |e| match &e.kind {
            Kind::Call(c) => out.push((c.name.to_string(), e.span.start)),
            Kind::Unsupported(u) => out.push((u.name.to_ascii_lowercase(), e.span.start)),
            _ => {}
        });
        out.sort_by_key(|(_, o)| *o);
        out
    }

    /// Comparisons of a field with itself (`a=a`, `a!=a`, `a<a` ...): (field, byte offset), in text order.
    /// They are legal, but their answer does not depend on the value (true or false for every row that has
    /// the field), so `check` warns about them.
    pub fn self_comparisons(&self) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let Kind::Binary(
                BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Gt | BinOp::Le | BinOp::Ge,
                a,
                b,
            ) = &e.kind
            {
                if let (Kind::Field(x), Kind::Field(y)) = (&a.kind, &b.kind) {
                    if x == y {
                        out.push((x.to_string(), e.span.start));
                    }
                }
            }
        });
        out.sort_by_key(|(_, o)| *o);
        out
    }

    /// Calls that parse but cannot run: (function name, reason, byte offset of the call), in text order.
    pub fn unsupported(&self) -> Vec<(String, String, usize)> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let Kind::Unsupported(u) = &e.kind {
                out.push((u.name.to_ascii_lowercase(), u.reason.clone(), e.span.start));
            }
        });
        out.sort_by_key(|(_, _, o)| *o);
        out
    }

    fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match &self.kind {
            Kind::Num(_) | Kind::Str(_) | Kind::Bool(_) | Kind::Field(_) | Kind::Slot(..) => {}
            Kind::Neg(e) | Kind::Not(e) => e.walk(f),
            Kind::Binary(_, a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Kind::Like { subject, .. } => subject.walk(f),
            Kind::In { subject, list, .. } => {
                subject.walk(f);
                for e in list {
                    e.walk(f);
                }
            }
            Kind::Call(c) => {
                for a in &c.args {
                    a.walk(f);
                }
            }
            Kind::Unsupported(u) => {
                for a in &u.args {
                    a.walk(f);
                }
            }
        }
    }

    pub(crate) fn ev(&self, s: &Scope<'_>) -> Res {
        let r = self.ev_unchecked(s)?;
        // only operators and functions make new text; each result is checked, so a doubling chain
        // stops at twice the cap at most
        if matches!(self.kind, Kind::Binary(..) | Kind::Call(_)) {
            if let Some(Ev::V(v)) = &r {
                let len: usize = v
                    .values()
                    .iter()
                    .map(|x| match x {
                        Value::Str(t) => t.len(),
                        _ => 8,
                    })
                    .sum();
                if len > s.ctx.max_text {
                    return Err(EvalError {
                        message: format!(
                            "the result is {} MB of text, more than the limit of {} MB (--max-eval-text)",
                            len >> 20,
                            s.ctx.max_text >> 20
                        ),
                        offset: self.span.start,
                    });
                }
            }
        }
        Ok(r)
    }

    fn ev_unchecked(&self, s: &Scope<'_>) -> Res {
        match &self.kind {
            Kind::Num(n) => Ok(num(*n)),
            Kind::Str(t) => Ok(Some(Ev::V(Value::Str(t.clone())))),
            Kind::Bool(b) => Ok(Some(Ev::Bool(*b))),
            Kind::Field(name) => Ok(s.field(name).map(Ev::V)),
            Kind::Slot(..) => Ok(s.peek(self).flatten().cloned().map(Ev::V)),
            Kind::Neg(e) => Ok(match e.ev(s)? {
                Some(Ev::V(v)) => v.as_num().and_then(|n| num(-n)),
                _ => None,
            }),
            Kind::Not(e) => Ok(Some(Ev::Bool(!truth(&e.ev(s)?)))),
            Kind::Binary(op, a, b) => self.binary(*op, a, b, s),
            Kind::Like {
                subject,
                pattern,
                negated,
            } => {
                // as `compare_op`: a null subject makes both LIKE and NOT LIKE false
                let Some(v) = subject.ev(s)? else {
                    return Ok(Some(Ev::Bool(false)));
                };
                let v = v.into_value();
                let m = v.values().iter().any(|x| pattern.is_match(&x.text()));
                Ok(Some(Ev::Bool(m != *negated)))
            }
            Kind::In {
                subject,
                list,
                negated,
            } => {
                let subject = subject.ev(s)?;
                let mut items = Vec::with_capacity(list.len());
                for e in list {
                    items.push(e.ev(s)?);
                }
                let found = in_list(&subject, &items);
                // `x NOT IN (..)` is `NOT (x IN (..))`: true for a null `x`
                Ok(Some(Ev::Bool(found != *negated)))
            }
            Kind::Call(c) => c.call(self.span, s),
            Kind::Unsupported(u) => Err(EvalError {
                message: u.reason.clone(),
                offset: self.span.start,
            }),
        }
    }

    fn binary(&self, op: BinOp, a: &Expr, b: &Expr, s: &Scope<'_>) -> Res {
        match op {
            BinOp::And => {
                // short-circuit: the right side is not evaluated (nor can it fail) when the left is false
                if !truth(&a.ev(s)?) {
                    return Ok(Some(Ev::Bool(false)));
                }
                Ok(Some(Ev::Bool(truth(&b.ev(s)?))))
            }
            BinOp::Or => {
                if truth(&a.ev(s)?) {
                    return Ok(Some(Ev::Bool(true)));
                }
                Ok(Some(Ev::Bool(truth(&b.ev(s)?))))
            }
            BinOp::Xor => {
                let x = truth(&a.ev(s)?);
                let y = truth(&b.ev(s)?);
                Ok(Some(Ev::Bool(x != y)))
            }
            _ => {
                if let Some(hit) = compare_in_place(op, a, b, s) {
                    return Ok(Some(Ev::Bool(hit)));
                }
                let l = a.ev(s)?;
                let r = b.ev(s)?;
                match op {
                    BinOp::Eq
                    | BinOp::Ne
                    | BinOp::Lt
                    | BinOp::Gt
                    | BinOp::Le
                    | BinOp::Ge
                    | BinOp::Like
                    | BinOp::NotLike => compare_op(op, &l, &r).map_err(|message| EvalError {
                        message,
                        offset: b.span.start,
                    }),
                    _ => Ok(arith(op, l, r)),
                }
            }
        }
    }
}

/// `x IN (..)` and `in(x, ..)`: whether any value of `x` equals any listed value.
pub(crate) fn in_list(subject: &Option<Ev>, items: &[Option<Ev>]) -> bool {
    let Some(subject) = subject else {
        return false;
    };
    let subject = subject.clone().into_value();
    items.iter().flatten().any(|item| {
        let item = item.clone().into_value();
        any_pair(&subject, &item, |o| o == Ordering::Equal)
    })
}

fn any_pair(a: &Value, b: &Value, test: impl Fn(Ordering) -> bool) -> bool {
    a.values()
        .iter()
        .any(|x| b.values().iter().any(|y| test(compare(x, y))))
}

/// `field == "text"` / `field != "text"` with text that is no number, the value looked at where it is:
/// what [`compare_op`] answers (a text comparison, value by value; false for a null field), without
/// copying either side. `None` for any other comparison.
fn compare_in_place(op: BinOp, a: &Expr, b: &Expr, s: &Scope<'_>) -> Option<bool> {
    let Kind::Str(t) = &b.kind else {
        return None;
    };
    if !matches!(op, BinOp::Eq | BinOp::Ne) || crate::value::parse_num(t).is_some() {
        return None;
    }
    let v = s.peek(a)?;
    let t: &str = t;
    Some(v.is_some_and(|v| {
        v.values()
            .iter()
            .any(|x| (x.text().as_ref() == t) == (op == BinOp::Eq))
    }))
}

fn compare_op(op: BinOp, l: &Option<Ev>, r: &Option<Ev>) -> Result<Option<Ev>, String> {
    let (Some(l), Some(r)) = (l, r) else {
        return Ok(Some(Ev::Bool(false)));
    };
    // two booleans compare as booleans; a boolean against a value compares its text `true`/`false`
    if let (Ev::Bool(x), Ev::Bool(y)) = (l, r) {
        let res = match op {
            BinOp::Eq => x == y,
            BinOp::Ne => x != y,
            _ => false,
        };
        return Ok(Some(Ev::Bool(res)));
    }
    let l = l.clone().into_value();
    let r = r.clone().into_value();
    let res = match op {
        BinOp::Eq => any_pair(&l, &r, |o| o == Ordering::Equal),
        BinOp::Ne => any_pair(&l, &r, |o| o != Ordering::Equal),
        BinOp::Lt => any_pair(&l, &r, |o| o == Ordering::Less),
        BinOp::Gt => any_pair(&l, &r, |o| o == Ordering::Greater),
        BinOp::Le => any_pair(&l, &r, |o| o != Ordering::Greater),
        BinOp::Ge => any_pair(&l, &r, |o| o != Ordering::Less),
        BinOp::Like | BinOp::NotLike => {
            let re = strings::like_regex(&r.text())
                .map_err(|e| format!("the LIKE pattern {e} does not compile"))?;
            let m = l.values().iter().any(|v| re.is_match(&v.text()));
            m == (op == BinOp::Like)
        }
        _ => false,
    };
    Ok(Some(Ev::Bool(res)))
}

fn arith(op: BinOp, l: Option<Ev>, r: Option<Ev>) -> Option<Ev> {
    let (Some(Ev::V(l)), Some(Ev::V(r))) = (&l, &r) else {
        // null (or a boolean) in arithmetic gives null; concatenation takes a boolean's text
        if op == BinOp::Concat {
            if let (Some(l), Some(r)) = (l, r) {
                let l = l.into_value();
                let r = r.into_value();
                return text(format!("{}{}", l.text(), r.text()));
            }
        }
        return None;
    };
    if op == BinOp::Concat {
        return text(format!("{}{}", l.text(), r.text()));
    }
    let (x, y) = match (l.as_num(), r.as_num()) {
        (Some(x), Some(y)) => (x, y),
        _ => {
            // `+` on text concatenates
            return if op == BinOp::Add {
                text(format!("{}{}", l.text(), r.text()))
            } else {
                None
            };
        }
    };
    let n = match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => {
            if y == 0.0 {
                return None;
            }
            x / y
        }
        BinOp::Mod => {
            if y == 0.0 {
                return None;
            }
            x % y
        }
        _ => return None,
    };
    if n.is_finite() {
        num(n)
    } else {
        None
    }
}
