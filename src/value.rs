//! Field values as SPL sees them.
//!
//! A field is absent (null: it has no entry in the event), holds one value, or holds several (multivalue).
//! Values are text that is used as a number where it reads as one; eval arithmetic yields `Num`.
//! Splunk compares numerically when both sides read as numbers, else as strings: that rule lives in
//! [`compare`] and nowhere else.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// One field value. `Multi` never nests and never holds fewer than two values once normalised by
/// [`Value::multi`] (a one-element list is the plain value; an empty list is null, i.e. no field).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(Arc<str>),
    Num(f64),
    Multi(Arc<[Value]>),
}

impl Value {
    pub fn str(s: impl AsRef<str>) -> Value {
        Value::Str(Arc::from(s.as_ref()))
    }

    /// Build a multivalue from its parts; `None` when there is nothing (a null field).
    pub fn multi(mut values: Vec<Value>) -> Option<Value> {
        // flatten any nested multivalues
        if values.iter().any(|v| matches!(v, Value::Multi(_))) {
            let mut flat = Vec::with_capacity(values.len());
            for v in values {
                match v {
                    Value::Multi(vs) => flat.extend(vs.iter().cloned()),
                    other => flat.push(other),
                }
            }
            values = flat;
        }
        match values.len() {
            0 => None,
            1 => values.pop(),
            _ => Some(Value::Multi(values.into())),
        }
    }

    /// The scalar values of this value: itself, or each value of a multivalue.
    pub fn values(&self) -> &[Value] {
        match self {
            Value::Multi(vs) => vs,
            single => std::slice::from_ref(single),
        }
    }

    pub fn is_multi(&self) -> bool {
        matches!(self, Value::Multi(_))
    }

    /// The value as a number, if it reads as one (`"42"`, `" 3.5"`, `"1e3"`, `"0x1F"`).
    pub fn as_num(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Str(s) => parse_num(s),
            Value::Multi(vs) => vs.first().and_then(|v| v.as_num()),
        }
    }

    /// Text of a scalar value (the first value of a multivalue).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Value::Str(s) => std::borrow::Cow::Borrowed(s),
            Value::Num(n) => std::borrow::Cow::Owned(format_num(*n)),
            Value::Multi(vs) => vs.first().map(|v| v.text()).unwrap_or_default(),
        }
    }
}

impl fmt::Display for Value {
    /// Multivalues display their values joined by a newline, as Splunk's CSV export does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::Num(n) => f.write_str(&format_num(*n)),
            Value::Multi(vs) => {
                for (i, v) in vs.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    write!(f, "{v}")?;
                }
                Ok(())
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(Arc::from(s))
    }
}
impl From<f64> for Value {
    fn from(n: f64) -> Value {
        Value::Num(n)
    }
}

/// Read text as a number the way Splunk's `tonumber`/`isnum` do for decimal text: optional sign, digits,
/// optional fraction and exponent, surrounding spaces allowed. `inf`/`nan` words are not numbers.
pub fn parse_num(s: &str) -> Option<f64> {
    // fast exit for the common case of text that starts with a letter
    match s.as_bytes().first() {
        Some(b)
            if b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.') || b.is_ascii_whitespace() => {
        }
        _ => return None,
    }
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    let b = t.as_bytes();
    let mut i = 0;
    if b[0] == b'+' || b[0] == b'-' {
        i = 1;
    }
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut had_digits = i > digits_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let f = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        had_digits |= i > f;
    }
    if !had_digits {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let e = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j == e {
            return None;
        }
        i = j;
    }
    if i != b.len() {
        return None;
    }
    t.parse::<f64>().ok()
}

/// Format a number as Splunk prints it: integers without a fraction, others in the shortest form that
/// reads back to the same number.
pub fn format_num(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if n.fract() == 0.0 && n.abs() < 1e17 {
        return format!("{}", n as i64);
    }
    let s = format!("{n}");
    s
}

/// Splunk's ordering of two scalar values: numerically when both read as numbers, else as strings
/// (byte order, which is lexicographic order for the ASCII that field values mostly are).
pub fn compare(a: &Value, b: &Value) -> Ordering {
    match (a.as_num(), b.as_num()) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.text().as_ref().cmp(b.text().as_ref()),
    }
}

/// Ordering used by `sort` and by `stats` group order: numbers before strings, numbers numerically,
/// strings lexicographically.
pub fn sort_order(a: &Value, b: &Value) -> Ordering {
    match (a.as_num(), b.as_num()) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.text().as_ref().cmp(b.text().as_ref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_splunk_reads_them() {
        assert_eq!(parse_num("42"), Some(42.0));
        assert_eq!(parse_num(" 3.5 "), Some(3.5));
        assert_eq!(parse_num("1e3"), Some(1000.0));
        assert_eq!(parse_num("-.5"), Some(-0.5));
        assert_eq!(parse_num("abc"), None);
        assert_eq!(parse_num("1e"), None);
        assert_eq!(parse_num("inf"), None);
        assert_eq!(parse_num(""), None);
        assert_eq!(parse_num("12a"), None);
    }

    #[test]
    fn numbers_print_without_needless_fraction() {
        assert_eq!(format_num(3.0), "3");
        assert_eq!(format_num(3.25), "3.25");
        assert_eq!(format_num(-0.5), "-0.5");
    }

    #[test]
    fn compare_is_numeric_only_when_both_are_numbers() {
        assert_eq!(compare(&"10".into(), &"9".into()), Ordering::Greater);
        assert_eq!(compare(&"10".into(), &"9a".into()), Ordering::Less);
    }

    #[test]
    fn multi_normalises() {
        assert_eq!(Value::multi(vec![]), None);
        assert_eq!(Value::multi(vec!["a".into()]), Some(Value::str("a")));
        let m = Value::multi(vec!["a".into(), "b".into()]).unwrap();
        assert_eq!(m.values().len(), 2);
        assert_eq!(m.to_string(), "a\nb");
    }
}
