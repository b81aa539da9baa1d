//! The eval functions: the table of names and argument counts, and what each one computes.
//!
//! Multivalue handling follows Splunk's Search Reference: text transforms (`lower`, `replace`, `trim`,
//! `substr`, `len`, `urldecode`, `tostring`, `tonumber`, the hashes ...) apply to each value; tests (`match`,
//! `like`, `cidrmatch`, `in`) are true when any value passes; numeric functions read the first value;
//! `mv*` functions take the field as a whole. Functions return null for a null argument unless noted.

use super::strings::{regex_arg, round_to};
use super::{
    compare, in_list, json, num, text, time, truth, Ev, EvalError, Expr, Kind, ParseError, Res,
    Scope, Span,
};
use crate::pcre::Pcre;
use crate::value::{sort_order, Value};
use regex::Regex;
use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::Arc;

/// A function's name and how many arguments it takes.
#[derive(Debug)]
pub(crate) struct FuncDef {
    pub(crate) name: &'static str,
    pub(crate) func: Func,
    min: usize,
    max: usize,
    /// arguments come in pairs (`case`, `validate`, `json_object`)
    pairs: bool,
}

impl FuncDef {
    /// The accepted argument count in words, when `n` is not accepted.
    pub(crate) fn arity_error(&self, n: usize) -> Option<String> {
        let ok = n >= self.min && n <= self.max && (!self.pairs || n.is_multiple_of(2));
        if ok {
            return None;
        }
        let plural = |k: usize| if k == 1 { "argument" } else { "arguments" };
        Some(if self.pairs {
            if self.min == 0 {
                "an even number of arguments".to_string()
            } else {
                format!("an even number of arguments, at least {}", self.min)
            }
        } else if self.max == usize::MAX {
            format!("at least {} {}", self.min, plural(self.min))
        } else if self.min == self.max {
            format!("{} {}", self.min, plural(self.min))
        } else {
            format!("{} to {} arguments", self.min, self.max)
        })
    }
}

const MANY: usize = usize::MAX;

macro_rules! functions {
    ($($name:literal => $var:ident($min:expr, $max:expr $(, $pairs:tt)?);)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Func { $($var),* }

        const TABLE: &[FuncDef] = &[
            $(FuncDef { name: $name, func: Func::$var, min: $min, max: $max, pairs: functions!(@pairs $($pairs)?) }),*
        ];

        /// Every supported eval function name, sorted.
        pub const FUNCTIONS: &[&str] = &[$($name),*];
    };
    (@pairs) => { false };
    (@pairs pairs) => { true };
}

// Keep this list sorted: FUNCTIONS is generated from it and a test checks the order.
functions! {
    "abs" => Abs(1, 1);
    "acos" => Acos(1, 1);
    "acosh" => Acosh(1, 1);
    "asin" => Asin(1, 1);
    "asinh" => Asinh(1, 1);
    "atan" => Atan(1, 1);
    "atan2" => Atan2(2, 2);
    "atanh" => Atanh(1, 1);
    "avg" => Avg(1, MANY);
    "bit_and" => BitAnd(2, MANY);
    "bit_or" => BitOr(2, MANY);
    "bit_shift_left" => BitShiftLeft(2, 2);
    "bit_shift_right" => BitShiftRight(2, 2);
    "bit_xor" => BitXor(2, MANY);
    "case" => Case(2, MANY, pairs);
    "ceil" => Ceil(1, 1);
    "ceiling" => Ceiling(1, 1);
    "cidrmatch" => Cidrmatch(2, 2);
    "coalesce" => Coalesce(1, MANY);
    "cos" => Cos(1, 1);
    "cosh" => Cosh(1, 1);
    "exact" => Exact(1, 1);
    "exp" => Exp(1, 1);
    "false" => False(0, 0);
    "floor" => Floor(1, 1);
    "hypot" => Hypot(2, 2);
    "if" => If(3, 3);
    "in" => In(2, MANY);
    "ipmask" => Ipmask(2, 2);
    "isbool" => Isbool(1, 1);
    "isint" => Isint(1, 1);
    "isnotnull" => Isnotnull(1, 1);
    "isnull" => Isnull(1, 1);
    "isnum" => Isnum(1, 1);
    "isstr" => Isstr(1, 1);
    "json_array" => JsonArray(0, MANY);
    "json_array_to_mv" => JsonArrayToMv(1, 2);
    "json_extract" => JsonExtract(1, MANY);
    "json_extract_exact" => JsonExtractExact(1, MANY);
    "json_keys" => JsonKeys(1, 1);
    "json_object" => JsonObject(0, MANY, pairs);
    "json_valid" => JsonValid(1, 1);
    "len" => Len(1, 1);
    "like" => Like(2, 2);
    "ln" => Ln(1, 1);
    "log" => Log(1, 2);
    "lower" => Lower(1, 1);
    "ltrim" => Ltrim(1, 2);
    "match" => Match(2, 2);
    "max" => Max(1, MANY);
    "md5" => Md5(1, 1);
    "min" => Min(1, MANY);
    "mv_to_json_array" => MvToJsonArray(1, 2);
    "mvappend" => Mvappend(1, MANY);
    "mvcount" => Mvcount(1, 1);
    "mvdedup" => Mvdedup(1, 1);
    "mvfilter" => Mvfilter(1, 1);
    "mvfind" => Mvfind(2, 2);
    "mvindex" => Mvindex(2, 3);
    "mvjoin" => Mvjoin(2, 2);
    "mvmap" => Mvmap(2, 2);
    "mvrange" => Mvrange(2, 3);
    "mvsort" => Mvsort(1, 1);
    "mvzip" => Mvzip(2, 3);
    "now" => Now(0, 0);
    "null" => Null(0, 0);
    "nullif" => Nullif(2, 2);
    "pi" => Pi(0, 0);
    "pow" => Pow(2, 2);
    "printf" => Printf(1, MANY);
    "random" => Random(0, 0);
    "relative_time" => RelativeTime(2, 2);
    "replace" => Replace(3, 3);
    "round" => Round(1, 2);
    "rtrim" => Rtrim(1, 2);
    "searchmatch" => Searchmatch(1, 1);
    "sha1" => Sha1(1, 1);
    "sha256" => Sha256(1, 1);
    "sha512" => Sha512(1, 1);
    "sin" => Sin(1, 1);
    "sinh" => Sinh(1, 1);
    "spath" => Spath(2, 2);
    "split" => Split(2, 2);
    "sqrt" => Sqrt(1, 1);
    "strftime" => Strftime(2, 2);
    "strptime" => Strptime(2, 2);
    "substr" => Substr(2, 3);
    "tan" => Tan(1, 1);
    "tanh" => Tanh(1, 1);
    "time" => Time(0, 0);
    "tonumber" => Tonumber(1, 2);
    "tostring" => Tostring(1, 2);
    "trim" => Trim(1, 2);
    "true" => True(0, 0);
    "typeof" => Typeof(1, 1);
    "upper" => Upper(1, 1);
    "urldecode" => Urldecode(1, 1);
    "validate" => Validate(2, MANY, pairs);
}

pub(crate) fn lookup(name: &str) -> Option<&'static FuncDef> {
    TABLE
        .binary_search_by(|d| d.name.cmp(name))
        .ok()
        .and_then(|i| TABLE.get(i))
}

/// The known function nearest to an unknown name, when one is close enough to be a likely typo.
pub(crate) fn suggest(name: &str) -> Option<&'static str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    FUNCTIONS
        .iter()
        .map(|f| (levenshtein(name, f), *f))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, f)| f)
}

pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Work done once when the call is parsed.
#[derive(Debug)]
pub(crate) enum Pre {
    None,
    /// the pattern argument was a literal: compiled at parse time
    Regex(Pcre),
    /// `like` with a literal pattern
    Like(Regex),
    /// `mvfilter`/`mvmap`: the field bound to each value in turn
    Bound(Arc<str>),
    /// `random()`: this call's generator state
    Rng(AtomicU64),
    /// `in(x, "a", "b", ...)` with only non-numeric text literals: the values' text looked up, no
    /// value copied or compared as a number (the calculated fields of the AWS add-on test event
    /// names against lists of every length).
    TextSet(Texts),
}

/// Literal texts an `in()` tests against: a scan for a few, a set lookup for more.
#[derive(Clone, Debug)]
pub(crate) enum Texts {
    Few(Vec<Arc<str>>),
    Many(rustc_hash::FxHashSet<Arc<str>>),
}

impl Texts {
    fn new(texts: impl Iterator<Item = Arc<str>>) -> Texts {
        let v: Vec<Arc<str>> = texts.collect();
        if v.len() <= 4 {
            Texts::Few(v)
        } else {
            Texts::Many(v.into_iter().collect())
        }
    }

    fn contains(&self, t: &str) -> bool {
        match self {
            Texts::Few(v) => v.iter().any(|x| x.as_ref() == t),
            Texts::Many(m) => m.contains(t),
        }
    }

    /// The same texts, allocated anew (a selection's own, see [`Call::slotted`]).
    fn fresh(&self) -> Texts {
        let copy = |x: &Arc<str>| Arc::from(x.as_ref());
        match self {
            Texts::Few(v) => Texts::Few(v.iter().map(copy).collect()),
            Texts::Many(m) => Texts::Many(m.iter().map(copy).collect()),
        }
    }
}

impl Clone for Pre {
    fn clone(&self) -> Pre {
        match self {
            Pre::None => Pre::None,
            Pre::Regex(r) => Pre::Regex(r.clone()),
            Pre::Like(r) => Pre::Like(r.clone()),
            Pre::Bound(b) => Pre::Bound(b.clone()),
            Pre::Rng(s) => Pre::Rng(AtomicU64::new(s.load(AtomicOrdering::Relaxed))),
            Pre::TextSet(t) => Pre::TextSet(t.clone()),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub(crate) name: &'static str,
    func: Func,
    pub(crate) args: Vec<Expr>,
    pre: Pre,
}

fn first_field(e: &Expr) -> Option<Arc<str>> {
    match &e.kind {
        Kind::Field(f) => Some(f.clone()),
        _ => e.fields().into_iter().next().map(Arc::from),
    }
}

impl Call {
    /// The call with slotted arguments (see [`Expr::slotted`]).
    pub(crate) fn slotted(&self, slots: &mut super::Slots) -> Call {
        Call {
            name: self.name,
            func: self.func,
            args: self.args.iter().map(|a| a.slotted(slots)).collect(),
            pre: match &self.pre {
                Pre::TextSet(t) => Pre::TextSet(t.fresh()),
                other => other.clone(),
            },
        }
    }

    pub(crate) fn new(def: &'static FuncDef, args: Vec<Expr>) -> Result<Call, ParseError> {
        let pre = match def.func {
            Func::Match | Func::Replace | Func::Mvfind => match args.get(1) {
                Some(Expr {
                    kind: Kind::Str(p),
                    span,
                }) => Pre::Regex(regex_arg(p, span.start)?),
                _ => Pre::None,
            },
            Func::In
                if args.len() > 1
                    && args.iter().skip(1).all(
                        |a| matches!(&a.kind, Kind::Str(t) if crate::value::parse_num(t).is_none()),
                    ) =>
            {
                Pre::TextSet(Texts::new(args.iter().skip(1).filter_map(
                    |a| match &a.kind {
                        Kind::Str(t) => Some(Arc::from(t.as_ref())),
                        _ => None,
                    },
                )))
            }
            Func::Like => match args.get(1) {
                Some(Expr {
                    kind: Kind::Str(p),
                    span,
                }) => Pre::Like(super::strings::like_regex(p).map_err(|found| ParseError {
                    offset: span.start,
                    expected: "a LIKE pattern".into(),
                    found,
                })?),
                _ => Pre::None,
            },
            Func::Mvfilter => match args.first().and_then(first_field) {
                Some(f) => Pre::Bound(f),
                None => {
                    let at = args.first().map(|a| a.span.start).unwrap_or(0);
                    return Err(ParseError {
                        offset: at,
                        expected: "an expression that reads a field, for `mvfilter`".into(),
                        found: "none".into(),
                    });
                }
            },
            Func::Mvmap => match args.first().and_then(first_field) {
                Some(f) => Pre::Bound(f),
                None => Pre::None,
            },
            Func::Random => {
                let seed = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0x2545_f491_4f6c_dd1d);
                Pre::Rng(AtomicU64::new(seed | 1))
            }
            _ => Pre::None,
        };
        Ok(Call {
            name: def.name,
            func: def.func,
            args,
            pre,
        })
    }

    fn arg(&self, i: usize, s: &Scope<'_>) -> Res {
        match self.args.get(i) {
            Some(e) => e.ev(s),
            None => Ok(None),
        }
    }

    /// An argument as a value (a boolean becomes its text).
    fn value(&self, i: usize, s: &Scope<'_>) -> Result<Option<Value>, EvalError> {
        Ok(self.arg(i, s)?.map(Ev::into_value))
    }

    fn number(&self, i: usize, s: &Scope<'_>) -> Result<Option<f64>, EvalError> {
        Ok(self.value(i, s)?.and_then(|v| v.as_num()))
    }

    fn string(&self, i: usize, s: &Scope<'_>) -> Result<Option<String>, EvalError> {
        Ok(self.value(i, s)?.map(|v| v.text().into_owned()))
    }

    fn fail(&self, span: Span, message: impl Into<String>) -> EvalError {
        EvalError {
            message: format!("{}: {}", self.name, message.into()),
            offset: span.start,
        }
    }

    /// The regex of argument `i`: compiled at parse time when it was a literal.
    fn regex(
        &self,
        i: usize,
        s: &Scope<'_>,
        span: Span,
    ) -> Result<Option<Cow<'_, Pcre>>, EvalError> {
        if let Pre::Regex(r) = &self.pre {
            return Ok(Some(Cow::Borrowed(r)));
        }
        let Some(p) = self.string(i, s)? else {
            return Ok(None);
        };
        regex_arg(&p, span.start)
            .map(|r| Some(Cow::Owned(r)))
            .map_err(|e| self.fail(span, e.to_string()))
    }

    pub(crate) fn call(&self, span: Span, s: &Scope<'_>) -> Res {
        use Func::*;
        match self.func {
            // ---- conditions and nulls
            If => {
                if truth(&self.arg(0, s)?) {
                    self.arg(1, s)
                } else {
                    self.arg(2, s)
                }
            }
            Case => {
                for pair in self.args.chunks(2) {
                    if let [cond, value] = pair {
                        if truth(&cond.ev(s)?) {
                            return value.ev(s);
                        }
                    }
                }
                Ok(None)
            }
            Validate => {
                for pair in self.args.chunks(2) {
                    if let [cond, message] = pair {
                        if !truth(&cond.ev(s)?) {
                            return message.ev(s);
                        }
                    }
                }
                Ok(None)
            }
            Coalesce => {
                for a in &self.args {
                    if let Some(v) = a.ev(s)? {
                        return Ok(Some(v));
                    }
                }
                Ok(None)
            }
            Nullif => {
                let a = self.arg(0, s)?;
                let b = self.arg(1, s)?;
                if let (Some(x), Some(y)) = (&a, &b) {
                    let x = x.clone().into_value();
                    let y = y.clone().into_value();
                    if compare(&x, &y) == std::cmp::Ordering::Equal {
                        return Ok(None);
                    }
                }
                Ok(a)
            }
            Isnull => Ok(bool_ev(self.arg(0, s)?.is_none())),
            Isnotnull => Ok(bool_ev(self.arg(0, s)?.is_some())),
            Isbool => Ok(bool_ev(matches!(self.arg(0, s)?, Some(Ev::Bool(_))))),
            Isnum => Ok(bool_ev(self.type_name(s)? == "Number")),
            Isint => {
                let is = self.type_name(s)? == "Number"
                    && self.number(0, s)?.is_some_and(|n| n.fract() == 0.0);
                Ok(bool_ev(is))
            }
            Isstr => Ok(bool_ev(self.type_name(s)? == "String")),
            Typeof => {
                let t = match self.arg(0, s)? {
                    Some(Ev::V(Value::Multi(_))) => "Multivalue",
                    _ => self.type_name(s)?,
                };
                Ok(text(t))
            }
            True => Ok(bool_ev(true)),
            False => Ok(bool_ev(false)),
            Null => Ok(None),
            In if matches!(self.pre, Pre::TextSet(_)) => {
                let Pre::TextSet(set) = &self.pre else {
                    return Ok(None);
                };
                let test = |v: &Value| v.values().iter().any(|x| set.contains(x.text().as_ref()));
                // a field is looked at where it is, not copied
                let hit = match self.args.first().and_then(|a| s.peek(a)) {
                    Some(v) => v.is_some_and(test),
                    None => self.arg(0, s)?.is_some_and(|v| test(&v.into_value())),
                };
                Ok(bool_ev(hit))
            }
            In => {
                let subject = self.arg(0, s)?;
                let mut items = Vec::with_capacity(self.args.len());
                for a in self.args.iter().skip(1) {
                    items.push(a.ev(s)?);
                }
                Ok(bool_ev(in_list(&subject, &items)))
            }
            Searchmatch => Err(self.fail(span, "not supported; use `match` or `like` instead")),

            // ---- text tests
            // the pattern first: one that does not compile is an error even where the subject is null
            Like => {
                let re = match &self.pre {
                    Pre::Like(r) => Cow::Borrowed(r),
                    _ => {
                        let Some(p) = self.string(1, s)? else {
                            return Ok(bool_ev(false));
                        };
                        Cow::Owned(super::strings::like_regex(&p).map_err(|e| {
                            self.fail(span, format!("the LIKE pattern {e} does not compile"))
                        })?)
                    }
                };
                let Some(v) = self.value(0, s)? else {
                    return Ok(bool_ev(false));
                };
                Ok(bool_ev(v.values().iter().any(|x| re.is_match(&x.text()))))
            }
            Match => {
                let Some(re) = self.regex(1, s, span)? else {
                    return Ok(bool_ev(false));
                };
                let Some(v) = self.value(0, s)? else {
                    return Ok(bool_ev(false));
                };
                for x in v.values() {
                    if re
                        .is_match(&x.text())
                        .map_err(|e| self.fail(span, e.to_string()))?
                    {
                        return Ok(bool_ev(true));
                    }
                }
                Ok(bool_ev(false))
            }
            Cidrmatch => {
                let (Some(cidr), Some(ip)) = (self.string(0, s)?, self.value(1, s)?) else {
                    return Ok(bool_ev(false));
                };
                let m = ip
                    .values()
                    .iter()
                    .any(|x| super::strings::cidr_match(&cidr, &x.text()));
                Ok(bool_ev(m))
            }

            // ---- text transforms (each value)
            Lower => self.map_text(s, |t| Some(t.to_lowercase())),
            Upper => self.map_text(s, |t| Some(t.to_uppercase())),
            Len => self.map_values(s, |v| Some(Value::Num(v.text().chars().count() as f64))),
            Urldecode => self.map_text(s, |t| Some(super::strings::urldecode(t))),
            Trim | Ltrim | Rtrim => {
                let chars = self.string(1, s)?;
                let (left, right) = match self.func {
                    Ltrim => (true, false),
                    Rtrim => (false, true),
                    _ => (true, true),
                };
                self.map_text(s, |t| {
                    Some(super::strings::trim(t, chars.as_deref(), left, right).to_string())
                })
            }
            Substr => {
                let Some(start) = self.number(1, s)? else {
                    return Ok(None);
                };
                let len = if self.args.len() > 2 {
                    match self.number(2, s)? {
                        Some(n) => Some(n),
                        None => return Ok(None),
                    }
                } else {
                    None
                };
                self.map_text(s, |t| Some(super::strings::substr(t, start, len)))
            }
            Replace => {
                let Some(re) = self.regex(1, s, span)? else {
                    return Ok(None);
                };
                let Some(with) = self.string(2, s)? else {
                    return Ok(None);
                };
                let with = super::strings::replacement(&with);
                let failed = std::cell::Cell::new(None);
                let out = self.map_text(s, |t| match re.replace(t, with.as_str(), None) {
                    Ok(r) => Some(r.into_owned()),
                    Err(e) => {
                        failed.set(Some(e));
                        None
                    }
                })?;
                match failed.into_inner() {
                    Some(e) => Err(self.fail(span, e.to_string())),
                    None => Ok(out),
                }
            }
            Md5 => self.map_text(s, |t| Some(super::digest::md5_hex(t))),
            Sha1 => self.map_text(s, |t| Some(super::digest::sha1_hex(t))),
            Sha256 => self.map_text(s, |t| Some(super::digest::sha256_hex(t))),
            Sha512 => self.map_text(s, |t| Some(super::digest::sha512_hex(t))),
            Split => {
                let (Some(v), Some(sep)) = (self.value(0, s)?, self.string(1, s)?) else {
                    return Ok(None);
                };
                let mut parts: Vec<Value> = Vec::new();
                for x in v.values() {
                    let t = x.text();
                    if sep.is_empty() {
                        parts.extend(t.chars().map(|c| Value::str(c.to_string())));
                    } else {
                        parts.extend(t.split(sep.as_str()).map(Value::str));
                    }
                }
                Ok(Value::multi(parts).map(Ev::V))
            }
            Tostring => {
                let Some(v) = self.arg(0, s)? else {
                    return Ok(None);
                };
                let format = self.string(1, s)?;
                if self.args.len() > 1 && format.is_none() {
                    return Ok(None);
                }
                let v = match v {
                    Ev::Bool(b) => return Ok(text(if b { "True" } else { "False" })),
                    Ev::V(v) => v,
                };
                let out: Vec<Value> = v
                    .values()
                    .iter()
                    .filter_map(|x| super::strings::tostring(x, format.as_deref()))
                    .map(Value::str)
                    .collect();
                Ok(Value::multi(out).map(Ev::V))
            }
            Tonumber => {
                let base = if self.args.len() > 1 {
                    match self.number(1, s)? {
                        Some(b) if (2.0..=36.0).contains(&b) && b.fract() == 0.0 => b as u32,
                        _ => {
                            return Err(
                                self.fail(span, "the base must be a whole number from 2 to 36")
                            )
                        }
                    }
                } else {
                    10
                };
                self.map_values(s, |v| match v {
                    Value::Num(n) if base == 10 => Some(Value::Num(*n)),
                    other => super::strings::tonumber(&other.text(), base).map(Value::Num),
                })
            }
            Printf => {
                let Some(format) = self.string(0, s)? else {
                    return Ok(None);
                };
                let mut values = Vec::new();
                for i in 1..self.args.len() {
                    values.push(self.value(i, s)?);
                }
                Ok(text(super::strings::printf(&format, &values)))
            }
            Ipmask => {
                let (Some(mask), Some(ip)) = (self.string(0, s)?, self.string(1, s)?) else {
                    return Ok(None);
                };
                match super::strings::ipmask(&mask, &ip) {
                    Some(r) => Ok(text(r)),
                    None => Err(self.fail(span, "the mask and the address must be IPv4 addresses")),
                }
            }

            // ---- numbers (first value)
            Abs => self.math1(s, f64::abs),
            Ceil | Ceiling => self.math1(s, f64::ceil),
            Floor => self.math1(s, f64::floor),
            Exp => self.math1(s, f64::exp),
            Sqrt => self.math1(s, f64::sqrt),
            Ln => self.math1(s, f64::ln),
            Acos => self.math1(s, f64::acos),
            Acosh => self.math1(s, f64::acosh),
            Asin => self.math1(s, f64::asin),
            Asinh => self.math1(s, f64::asinh),
            Atan => self.math1(s, f64::atan),
            Atanh => self.math1(s, f64::atanh),
            Cos => self.math1(s, f64::cos),
            Cosh => self.math1(s, f64::cosh),
            Sin => self.math1(s, f64::sin),
            Sinh => self.math1(s, f64::sinh),
            Tan => self.math1(s, f64::tan),
            Tanh => self.math1(s, f64::tanh),
            Exact => self.math1(s, |x| x),
            Atan2 => self.math2(s, f64::atan2),
            Hypot => self.math2(s, f64::hypot),
            Pow => self.math2(s, f64::powf),
            Log => {
                let Some(x) = self.number(0, s)? else {
                    return Ok(None);
                };
                let base = if self.args.len() > 1 {
                    match self.number(1, s)? {
                        Some(b) => b,
                        None => return Ok(None),
                    }
                } else {
                    10.0
                };
                Ok(finite(x.log(base)))
            }
            Round => {
                let Some(x) = self.number(0, s)? else {
                    return Ok(None);
                };
                let digits = if self.args.len() > 1 {
                    match self.number(1, s)? {
                        Some(d) => d.trunc().clamp(-15.0, 15.0) as i32,
                        None => return Ok(None),
                    }
                } else {
                    0
                };
                Ok(finite(round_to(x, digits)))
            }
            Pi => Ok(num(std::f64::consts::PI)),
            Random => {
                let Pre::Rng(state) = &self.pre else {
                    return Ok(num(0.0));
                };
                // xorshift64*; the state lives in this call, so no global state is shared
                let mut x = state.load(AtomicOrdering::Relaxed);
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                state.store(x, AtomicOrdering::Relaxed);
                let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33;
                // Splunk's random() is 0 to 2^31-1
                Ok(num((r & 0x7fff_ffff) as f64))
            }
            BitAnd | BitOr | BitXor => {
                let mut acc: Option<i64> = None;
                for i in 0..self.args.len() {
                    let Some(n) = self.number(i, s)? else {
                        return Ok(None);
                    };
                    let n = n as i64;
                    acc = Some(match (acc, self.func) {
                        (None, _) => n,
                        (Some(a), BitAnd) => a & n,
                        (Some(a), BitOr) => a | n,
                        (Some(a), _) => a ^ n,
                    });
                }
                Ok(acc.and_then(|a| num(a as f64)))
            }
            BitShiftLeft | BitShiftRight => {
                let (Some(x), Some(n)) = (self.number(0, s)?, self.number(1, s)?) else {
                    return Ok(None);
                };
                if !(0.0..64.0).contains(&n) {
                    return Ok(None);
                }
                let (x, n) = (x as i64, n as u32);
                let r = if self.func == BitShiftLeft {
                    x.checked_shl(n)
                } else {
                    x.checked_shr(n)
                };
                Ok(r.and_then(|r| num(r as f64)))
            }
            Min | Max | Avg => {
                let mut all: Vec<Value> = Vec::new();
                for i in 0..self.args.len() {
                    if let Some(v) = self.value(i, s)? {
                        all.extend(v.values().iter().cloned());
                    }
                }
                if self.func == Avg {
                    let ns: Vec<f64> = all.iter().filter_map(|v| v.as_num()).collect();
                    if ns.is_empty() {
                        return Ok(None);
                    }
                    return Ok(num(ns.iter().sum::<f64>() / ns.len() as f64));
                }
                // numbers sort before strings, so max of a number and a word is the word
                let pick = if self.func == Max {
                    all.into_iter().max_by(sort_order)
                } else {
                    all.into_iter().min_by(sort_order)
                };
                Ok(pick.map(|v| match v.as_num() {
                    Some(n) => Ev::V(Value::Num(n)),
                    None => Ev::V(v),
                }))
            }

            // ---- multivalue
            Mvcount => Ok(self.value(0, s)?.and_then(|v| num(v.values().len() as f64))),
            Mvindex => {
                let Some(v) = self.value(0, s)? else {
                    return Ok(None);
                };
                let Some(start) = self.number(1, s)? else {
                    return Ok(None);
                };
                let end = if self.args.len() > 2 {
                    match self.number(2, s)? {
                        Some(e) => Some(e),
                        None => return Ok(None),
                    }
                } else {
                    None
                };
                Ok(mvindex(v.values(), start, end).map(Ev::V))
            }
            Mvjoin => {
                let (Some(v), Some(sep)) = (self.value(0, s)?, self.string(1, s)?) else {
                    return Ok(None);
                };
                let parts: Vec<String> = v.values().iter().map(|x| x.text().into_owned()).collect();
                Ok(text(parts.join(&sep)))
            }
            Mvappend => {
                let mut all = Vec::new();
                for i in 0..self.args.len() {
                    if let Some(v) = self.value(i, s)? {
                        all.extend(v.values().iter().cloned());
                    }
                }
                Ok(Value::multi(all).map(Ev::V))
            }
            Mvdedup => {
                let Some(v) = self.value(0, s)? else {
                    return Ok(None);
                };
                let mut out: Vec<Value> = Vec::new();
                for x in v.values() {
                    if !out.iter().any(|o| o.text() == x.text()) {
                        out.push(x.clone());
                    }
                }
                Ok(Value::multi(out).map(Ev::V))
            }
            Mvsort => {
                let Some(v) = self.value(0, s)? else {
                    return Ok(None);
                };
                // lexicographic, numbers too ("10" before "9")
                let mut out: Vec<Value> = v.values().to_vec();
                out.sort_by(|a, b| a.text().cmp(&b.text()));
                Ok(Value::multi(out).map(Ev::V))
            }
            Mvfind => {
                let Some(v) = self.value(0, s)? else {
                    return Ok(None);
                };
                let Some(re) = self.regex(1, s, span)? else {
                    return Ok(None);
                };
                for (i, x) in v.values().iter().enumerate() {
                    if re
                        .is_match(&x.text())
                        .map_err(|e| self.fail(span, e.to_string()))?
                    {
                        return Ok(num(i as f64));
                    }
                }
                Ok(None)
            }
            Mvzip => {
                let (Some(a), Some(b)) = (self.value(0, s)?, self.value(1, s)?) else {
                    return Ok(None);
                };
                let sep = if self.args.len() > 2 {
                    match self.string(2, s)? {
                        Some(d) => d,
                        None => return Ok(None),
                    }
                } else {
                    ",".to_string()
                };
                let out: Vec<Value> = a
                    .values()
                    .iter()
                    .zip(b.values())
                    .map(|(x, y)| Value::str(format!("{}{}{}", x.text(), sep, y.text())))
                    .collect();
                Ok(Value::multi(out).map(Ev::V))
            }
            Mvrange => {
                let (Some(start), Some(end)) = (self.number(0, s)?, self.number(1, s)?) else {
                    return Ok(None);
                };
                let step = if self.args.len() > 2 {
                    match self.number(2, s)? {
                        Some(st) => st,
                        None => return Ok(None),
                    }
                } else {
                    1.0
                };
                if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
                    return Ok(None);
                }
                let count = ((end - start) / step).ceil();
                if count > 1_000_000.0 {
                    return Err(self.fail(span, "the range has more than 1000000 values"));
                }
                let count = if count > 0.0 { count as usize } else { 0 };
                let out: Vec<Value> = (0..count)
                    .map(|i| Value::Num(start + step * i as f64))
                    .collect();
                Ok(Value::multi(out).map(Ev::V))
            }
            Mvfilter => {
                let Pre::Bound(field) = &self.pre else {
                    return Ok(None);
                };
                let Some(v) = s.field(field) else {
                    return Ok(None);
                };
                let mut out = Vec::new();
                for x in v.values() {
                    let inner = Scope {
                        bound: Some((field, x)),
                        ..*s
                    };
                    if truth(&self.arg(0, &inner)?) {
                        out.push(x.clone());
                    }
                }
                Ok(Value::multi(out).map(Ev::V))
            }
            Mvmap => {
                let Some(v) = self.value(0, s)? else {
                    return Ok(None);
                };
                let mut out = Vec::new();
                for x in v.values() {
                    let inner = match &self.pre {
                        Pre::Bound(field) => Scope {
                            bound: Some((field, x)),
                            ..*s
                        },
                        _ => *s,
                    };
                    if let Some(r) = self.arg(1, &inner)? {
                        out.push(r.into_value());
                    }
                }
                Ok(Value::multi(out).map(Ev::V))
            }
            MvToJsonArray => {
                let Some(v) = self.value(0, s)? else {
                    return Ok(None);
                };
                let infer = if self.args.len() > 1 {
                    truth(&self.arg(1, s)?)
                } else {
                    false
                };
                Ok(text(json::mv_to_json_array(v.values(), infer)))
            }

            // ---- JSON
            Spath => {
                let (Some(doc), Some(path)) = (self.string(0, s)?, self.string(1, s)?) else {
                    return Ok(None);
                };
                Ok(json::spath(&doc, &path).map(Ev::V))
            }
            JsonExtract | JsonExtractExact => {
                let Some(doc) = self.string(0, s)? else {
                    return Ok(None);
                };
                let mut paths = Vec::new();
                for i in 1..self.args.len() {
                    paths.push(self.string(i, s)?.unwrap_or_default());
                }
                Ok(json::extract(&doc, &paths, self.func == JsonExtractExact).map(Ev::V))
            }
            JsonKeys => {
                let Some(doc) = self.string(0, s)? else {
                    return Ok(None);
                };
                Ok(json::keys(&doc).and_then(text))
            }
            JsonValid => {
                let Some(doc) = self.string(0, s)? else {
                    return Ok(bool_ev(false));
                };
                Ok(bool_ev(json::valid(&doc)))
            }
            JsonObject => {
                let mut pairs = Vec::new();
                for pair in self.args.chunks(2) {
                    if let [k, v] = pair {
                        let key = k.ev(s)?.map(|k| k.into_value().text().into_owned());
                        let Some(key) = key else {
                            return Err(self.fail(span, "a key is null"));
                        };
                        pairs.push((key, v.ev(s)?));
                    }
                }
                Ok(text(json::object(pairs)))
            }
            JsonArray => {
                let mut items = Vec::new();
                for i in 0..self.args.len() {
                    items.push(self.arg(i, s)?);
                }
                Ok(text(json::array(items)))
            }
            JsonArrayToMv => {
                let Some(doc) = self.string(0, s)? else {
                    return Ok(None);
                };
                let keep_quotes = if self.args.len() > 1 {
                    truth(&self.arg(1, s)?)
                } else {
                    false
                };
                Ok(json::array_to_mv(&doc, keep_quotes).map(Ev::V))
            }

            // ---- time
            Now | Time => Ok(num(s.ctx.now)),
            Strftime => {
                let (Some(t), Some(f)) = (self.number(0, s)?, self.string(1, s)?) else {
                    return Ok(None);
                };
                Ok(time::strftime(t, &f, s.ctx.tz).and_then(text))
            }
            Strptime => {
                let (Some(t), Some(f)) = (self.string(0, s)?, self.string(1, s)?) else {
                    return Ok(None);
                };
                Ok(time::strptime(&t, &f, s.ctx.tz).and_then(num))
            }
            RelativeTime => {
                let (Some(t), Some(spec)) = (self.number(0, s)?, self.string(1, s)?) else {
                    return Ok(None);
                };
                Ok(time::relative_time(t, &spec, s.ctx.tz).and_then(num))
            }
        }
    }

    /// Splunk's type of argument 0: a string literal is a String even when it reads as a number;
    /// a field value that reads as a number is a Number.
    fn type_name(&self, s: &Scope<'_>) -> Result<&'static str, EvalError> {
        if let Some(Expr {
            kind: Kind::Str(_), ..
        }) = self.args.first()
        {
            return Ok("String");
        }
        Ok(match self.arg(0, s)? {
            None => "Invalid",
            Some(Ev::Bool(_)) => "Boolean",
            Some(Ev::V(v)) => match v.values().first() {
                Some(Value::Num(_)) => "Number",
                Some(x) if x.as_num().is_some() => "Number",
                _ => "String",
            },
        })
    }

    fn map_values(&self, s: &Scope<'_>, f: impl Fn(&Value) -> Option<Value>) -> Res {
        let Some(v) = self.value(0, s)? else {
            return Ok(None);
        };
        let out: Vec<Value> = v.values().iter().filter_map(f).collect();
        Ok(Value::multi(out).map(Ev::V))
    }

    fn map_text(&self, s: &Scope<'_>, f: impl Fn(&str) -> Option<String>) -> Res {
        self.map_values(s, |v| f(&v.text()).map(Value::str))
    }

    fn math1(&self, s: &Scope<'_>, f: impl Fn(f64) -> f64) -> Res {
        Ok(self.number(0, s)?.and_then(|x| finite(f(x))))
    }

    fn math2(&self, s: &Scope<'_>, f: impl Fn(f64, f64) -> f64) -> Res {
        let (Some(x), Some(y)) = (self.number(0, s)?, self.number(1, s)?) else {
            return Ok(None);
        };
        Ok(finite(f(x, y)))
    }
}

fn bool_ev(b: bool) -> Option<Ev> {
    Some(Ev::Bool(b))
}

/// A number result; NaN and infinities (`sqrt(-1)`, `ln(0)`) are null.
fn finite(x: f64) -> Option<Ev> {
    if x.is_finite() {
        num(x)
    } else {
        None
    }
}

/// `mvindex`: 0-based, negative from the end, `end` inclusive; out of range is null.
fn mvindex(values: &[Value], start: f64, end: Option<f64>) -> Option<Value> {
    let n = values.len() as i64;
    let norm = |i: f64| {
        let i = i.trunc() as i64;
        if i < 0 {
            n + i
        } else {
            i
        }
    };
    let s = norm(start);
    if s < 0 || s >= n {
        return None;
    }
    let e = match end {
        Some(e) => norm(e).min(n - 1),
        None => s,
    };
    if e < s {
        return None;
    }
    let slice = values.get(s as usize..=e as usize)?;
    Value::multi(slice.to_vec())
}
