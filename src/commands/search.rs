//! `search` — keep the events that match a search expression.
//!
//! ```text
//! search <expr>            (implied as the first command of a query)
//! expr  := and
//! and   := or ( [AND] or )*          implicit AND between terms
//! or    := not ( OR not )*           OR binds tighter than AND in search (SPL-SEMANTICS 3)
//! not   := NOT not | primary
//! primary := "(" and? ")" | "[" subsearch "]" | (field | "quoted name") op value | field IN "(" values ")"
//!          | TERM "(" word ")" | CASE "(" word ")" | "phrase" | word
//! op    := = | == | != | < | <= | > | >=
//! ```
//! Whitespace around an operator does not change it: `eventName = StopLogging`, `eventName= X` and
//! `field =value` are comparisons, as in Splunk; after the operator and its spaces the next word or quoted
//! string is the value (none at the end of the text or before a bracket, parenthesis or `|`: `x=` matches the
//! empty value). A double-quoted string before an operator is a field name (`"user name"=bob`, the form
//! `format` writes); a quoted string that no operator follows is a phrase.
//! IN-list values are separated by commas or spaces (a trailing comma is allowed); quoted and unquoted pieces
//! written together are one value (`""*x*""` is `*x*`). In an unquoted value a backslash escapes the next
//! character (`\"` is a quote, not the start of a string).
//! `AND`, `OR`, `NOT` are operators only in upper case; `and` is a search term. `field=value` matches the
//! whole value case-insensitively with `*` wildcards, any value of a multivalue field; `field!=value`
//! needs the field to exist, `NOT field=value` does not. A bare word matches `_raw` as a whole token
//! (Splunk's breakers), case-insensitively. `earliest=`/`latest=` bound `_time`.
//! Refused: `field::value` indexed-field syntax and `TERM()` with wildcards are read as plain terms.

use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::{parse_pipeline, Cursor, Pipeline, MAX_NESTING};
use crate::value::{parse_num, Value};

#[derive(Clone, Debug, PartialEq)]
pub struct Search {
    /// `None`: match everything (`search` with no terms, `search *`).
    pub expr: Option<SearchExpr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SearchExpr {
    And(Vec<SearchExpr>),
    Or(Vec<SearchExpr>),
    Not(Box<SearchExpr>),
    /// `()`: an empty group is true (so `NOT ()` from an empty subsearch is false... kept as Splunk does:
    /// `search NOT [no rows]` keeps every event, see [`crate::plan`]).
    Empty,
    /// `*` alone.
    All,
    Compare {
        field: String,
        op: CmpOp,
        value: String,
        /// The value was quoted (a quoted `*` is still a wildcard in Splunk's search).
        quoted: bool,
        span: Span,
    },
    In {
        field: String,
        values: Vec<String>,
        span: Span,
    },
    /// Free text matched against `_raw`.
    Term {
        text: String,
        phrase: bool,
        case_sensitive: bool,
        span: Span,
    },
    /// `earliest=` / `latest=`: bounds on `_time`, resolved when the plan is built.
    Time {
        latest: bool,
        value: String,
        span: Span,
    },
    /// `[ ... ]`, run and replaced by its formatted rows when the plan is built.
    Subsearch(Box<Pipeline>, Span),
}

impl Search {
    pub fn parse(c: &mut Cursor) -> Result<Search> {
        let expr = parse_expr(c, 0)?;
        if !c.at_stage_end() {
            if c.at(')') {
                return Err(Diagnostic::at("unbalanced `)`", c.span_here()));
            }
            return Err(c.expected("a search term, `|` or the end of the query"));
        }
        Ok(Search { expr })
    }
}

/// Parse a search expression from text (used for formatted subsearch results and `inputlookup where`).
pub fn parse_search_text(text: &str) -> Result<Option<SearchExpr>> {
    let mut c = Cursor::new(text);
    let e = parse_expr(&mut c, 0)?;
    c.ws();
    if !c.at_end() {
        return Err(c.expected("a search term or the end"));
    }
    Ok(e)
}

fn at_expr_end(c: &mut Cursor) -> bool {
    c.at_stage_end() || c.at(')')
}

/// and := or ( [AND] or )*
pub fn parse_expr(c: &mut Cursor, depth: usize) -> Result<Option<SearchExpr>> {
    if depth > MAX_NESTING {
        return Err(Diagnostic::at("search nested too deeply", c.span_here()));
    }
    let mut items = Vec::new();
    loop {
        if at_expr_end(c) {
            break;
        }
        if c.at_keyword_cs("AND") {
            if items.is_empty() {
                return Err(c.expected("a search term before `AND`"));
            }
            c.pos += 3;
            if at_expr_end(c) {
                return Err(c.expected("a search term after `AND`"));
            }
            continue;
        }
        items.push(parse_or(c, depth)?);
    }
    Ok(match items.len() {
        0 => None,
        1 => items.pop(),
        _ => Some(SearchExpr::And(items)),
    })
}

fn parse_or(c: &mut Cursor, depth: usize) -> Result<SearchExpr> {
    let mut items = vec![parse_not(c, depth)?];
    loop {
        c.ws();
        if c.at_keyword_cs("OR") {
            c.pos += 2;
            if at_expr_end(c) {
                return Err(c.expected("a search term after `OR`"));
            }
            items.push(parse_not(c, depth)?);
        } else {
            break;
        }
    }
    Ok(if items.len() == 1 {
        items.remove(0)
    } else {
        SearchExpr::Or(items)
    })
}

fn parse_not(c: &mut Cursor, depth: usize) -> Result<SearchExpr> {
    c.ws();
    if c.at_keyword_cs("NOT") {
        c.pos += 3;
        if at_expr_end(c) {
            return Err(c.expected("a search term after `NOT`"));
        }
        if depth > MAX_NESTING {
            return Err(Diagnostic::at("search nested too deeply", c.span_here()));
        }
        return Ok(SearchExpr::Not(Box::new(parse_not(c, depth + 1)?)));
    }
    parse_primary(c, depth)
}

fn is_word_end(ch: char) -> bool {
    ch.is_whitespace() || matches!(ch, '(' | ')' | '[' | ']' | '|' | '"')
}

fn parse_primary(c: &mut Cursor, depth: usize) -> Result<SearchExpr> {
    c.ws();
    let start = c.pos;
    match c.peek_char() {
        Some('(') => {
            c.pos += 1;
            let inner = parse_expr(c, depth + 1)?;
            c.ws();
            if !c.eat(')') {
                return Err(Diagnostic::at(
                    "unclosed parenthesis: expected `)`",
                    Span::new(start, start + 1),
                ));
            }
            return Ok(inner.unwrap_or(SearchExpr::Empty));
        }
        Some('[') => {
            c.pos += 1;
            if c.depth >= MAX_NESTING {
                return Err(Diagnostic::at(
                    "subsearches nested too deeply",
                    Span::at(start),
                ));
            }
            c.depth += 1;
            let p = parse_pipeline(c)?;
            c.depth -= 1;
            c.ws();
            if !c.eat(']') {
                return Err(Diagnostic::at(
                    "unclosed subsearch: expected `]`",
                    Span::new(start, start + 1),
                ));
            }
            return Ok(SearchExpr::Subsearch(Box::new(p), Span::new(start, c.pos)));
        }
        Some('"') => {
            let (text, span) = c.quoted()?;
            // `"user name"=bob`, `"a.b" = x`: a quoted name before an operator is a field
            if let Some(op) = operator_after_space(c) {
                return comparison(c, text, op, start);
            }
            // `"result.status" IN ("FAIL*")`: and before `IN (`
            if c.rest().starts_with(char::is_whitespace) {
                let save = c.pos;
                if let Some(e) = in_list(c, &text, start)? {
                    return Ok(e);
                }
                c.pos = save;
            }
            return Ok(SearchExpr::Term {
                text,
                phrase: true,
                case_sensitive: false,
                span,
            });
        }
        Some(')') => return Err(Diagnostic::at("unbalanced `)`", c.span_here())),
        None => return Err(c.expected("a search term")),
        _ => {}
    }
    // a field name, up to an operator or a word end
    let rest = c.rest();
    let name_len = rest
        .find(|ch: char| is_word_end(ch) || matches!(ch, '=' | '!' | '<' | '>'))
        .unwrap_or(rest.len());
    let name = &rest[..name_len];
    if !name.is_empty() {
        let save = c.pos;
        c.pos += name_len;
        // `field=value`, and with spaces around the operator: `field = value`, `field =value`
        if let Some(op) = operator_after_space(c) {
            return comparison(c, name.to_string(), op, start);
        }
        c.pos = save;
    }
    // TERM(x) / CASE(x)
    let word_len = rest.find(is_word_end).unwrap_or(rest.len());
    let word = &rest[..word_len];
    if (word.eq_ignore_ascii_case("TERM") || word.eq_ignore_ascii_case("CASE"))
        && rest[word_len..].starts_with('(')
    {
        let case_sensitive = word.eq_ignore_ascii_case("CASE");
        c.pos += word_len + 1;
        c.ws();
        let text = if c.at('"') {
            c.quoted()?.0
        } else {
            let r = c.rest();
            let len = r.find(')').unwrap_or(r.len());
            c.pos += len;
            r[..len].trim().to_string()
        };
        c.ws();
        if !c.eat(')') {
            return Err(Diagnostic::at(
                format!("unclosed `{word}(`: expected `)`"),
                Span::new(start, start + word_len + 1),
            ));
        }
        return Ok(SearchExpr::Term {
            text,
            phrase: !case_sensitive,
            case_sensitive,
            span: Span::new(start, c.pos),
        });
    }
    // field IN (a, b, "c*")
    if !word.is_empty() {
        let save = c.pos;
        c.pos += word_len;
        let ws_before = c.rest().starts_with(char::is_whitespace);
        if ws_before {
            if let Some(e) = in_list(c, word, start)? {
                return Ok(e);
            }
        }
        c.pos = save + word_len;
        if word == "*" {
            return Ok(SearchExpr::All);
        }
        return Ok(SearchExpr::Term {
            text: word.to_string(),
            phrase: false,
            case_sensitive: false,
            span: Span::new(start, c.pos),
        });
    }
    Err(c.expected("a search term"))
}

/// `IN (a, b, "c*")` at the cursor, after the field name: the IN term, or `None` (nothing consumed that
/// matters: the caller resets the cursor) when no `IN (` follows. Splunk separates the values by commas or
/// by spaces alone (`"a" "b"`), and lets a trailing comma pass (`"a",)`); published detections rely on both.
fn in_list(c: &mut Cursor, field: &str, start: usize) -> Result<Option<SearchExpr>> {
    if !c.keyword("IN") {
        return Ok(None);
    }
    c.ws();
    if !c.eat('(') {
        return Ok(None);
    }
    let mut values = Vec::new();
    loop {
        c.ws();
        if c.eat(')') {
            break;
        }
        if c.eat(',') {
            continue;
        }
        if c.at_end() || c.at('|') || c.at('(') || c.at(']') {
            return Err(c.expected("a value, `,` or `)` in the IN list"));
        }
        values.push(in_value(c)?);
    }
    Ok(Some(SearchExpr::In {
        field: field.to_string(),
        values,
        span: Span::new(start, c.pos),
    }))
}

/// The comparison operator at the cursor, after any whitespace, consumed with the whitespace after it.
/// Nothing is consumed when no operator follows. Splunk reads `a = b`, `a= b` and `a =b` as `a=b`.
fn operator_after_space(c: &mut Cursor) -> Option<CmpOp> {
    let save = c.pos;
    c.ws();
    let r = c.rest();
    let (op, len) = if r.starts_with("!=") {
        (CmpOp::Ne, 2)
    } else if r.starts_with("<=") {
        (CmpOp::Le, 2)
    } else if r.starts_with(">=") {
        (CmpOp::Ge, 2)
    } else if r.starts_with("==") {
        (CmpOp::Eq, 2)
    } else if r.starts_with('=') {
        (CmpOp::Eq, 1)
    } else if r.starts_with('<') {
        (CmpOp::Lt, 1)
    } else if r.starts_with('>') {
        (CmpOp::Gt, 1)
    } else {
        c.pos = save;
        return None;
    };
    c.pos += len;
    // whitespace after the operator: the value is the next word (`eventName= ConsoleLogin`); at the
    // end of the text or of a group (`x=`, `x= )`) the value is empty, as it is written without spaces
    let before_ws = c.pos;
    c.ws();
    if at_expr_end(c) || c.at('(') || c.at('[') {
        c.pos = before_ws;
    }
    Some(op)
}

/// The value after `field <op>` (the cursor is past the operator and its spaces).
fn comparison(c: &mut Cursor, name: String, op: CmpOp, start: usize) -> Result<SearchExpr> {
    let (value, quoted) = if c.at('"') {
        (c.quoted()?.0, true)
    } else {
        // `field=` with nothing after it matches the empty value
        (unquoted_word(c), false)
    };
    let span = Span::new(start, c.pos);
    if op == CmpOp::Eq
        && (name.eq_ignore_ascii_case("earliest") || name.eq_ignore_ascii_case("latest"))
    {
        return Ok(SearchExpr::Time {
            latest: name.eq_ignore_ascii_case("latest"),
            value,
            span,
        });
    }
    Ok(SearchExpr::Compare {
        field: name,
        op,
        value,
        quoted,
        span,
    })
}

/// An unquoted value up to a word end. A backslash escapes the next character, so `\"` is a quote that
/// does not start a string; `\"` and `\\` are unescaped as in quoted strings, other backslashes stay.
fn unquoted_word(c: &mut Cursor) -> String {
    let mut out = String::new();
    let mut chars = c.rest().char_indices().peekable();
    let mut end = c.rest().len();
    while let Some((i, ch)) = chars.next() {
        if ch == '\\' {
            match chars.peek() {
                Some(&(_, n @ ('"' | '\\'))) => {
                    out.push(n);
                    chars.next();
                }
                _ => out.push('\\'),
            }
            continue;
        }
        if is_word_end(ch) {
            end = i;
            break;
        }
        out.push(ch);
    }
    c.pos += end;
    out
}

/// One value of an `IN (...)` list: quoted and unquoted pieces written without space between them are
/// one value, as in Splunk's lexer (`""*textbin*""` is `*textbin*`).
fn in_value(c: &mut Cursor) -> Result<String> {
    let mut out = String::new();
    loop {
        if c.at('"') {
            out.push_str(&c.quoted()?.0);
            continue;
        }
        let r = c.rest();
        let len = r
            .find(|ch: char| ch.is_whitespace() || matches!(ch, ',' | '(' | ')' | '|' | ']' | '"'))
            .unwrap_or(r.len());
        if len == 0 {
            break;
        }
        out.push_str(&r[..len]);
        c.pos += len;
    }
    Ok(out)
}

impl<'a> Cursor<'a> {
    /// Upper-case keyword (AND/OR/NOT in search) followed by a word end.
    pub fn at_keyword_cs(&mut self, kw: &str) -> bool {
        self.ws();
        let r = self.rest();
        r.starts_with(kw) && r[kw.len()..].chars().next().is_none_or(is_word_end)
    }
}

// ---------------------------------------------------------------- matching

/// A search expression compiled for matching: wildcards split, time bounds resolved.
#[derive(Clone, Debug)]
pub enum Matcher {
    And(Vec<Matcher>),
    Or(Vec<Matcher>),
    Not(Box<Matcher>),
    True,
    Exists(String),
    Eq(String, Glob),
    Ne(String, Glob),
    Cmp(String, CmpOp, String),
    Term(TermMatch),
    TimeAtLeast(f64),
    TimeBefore(f64),
}

/// Resolves a time modifier (`-24h@h`, `01/02/2024:00:00:00`, epoch) to epoch seconds.
pub type TimeResolver<'a> = &'a dyn Fn(&str) -> Option<f64>;

impl Matcher {
    /// Compile; subsearches must have been replaced already.
    pub fn compile(e: &SearchExpr, time: TimeResolver) -> Result<Matcher> {
        Ok(match e {
            SearchExpr::And(v) => Matcher::And(
                v.iter()
                    .map(|x| Matcher::compile(x, time))
                    .collect::<Result<_>>()?,
            ),
            SearchExpr::Or(v) => Matcher::Or(
                v.iter()
                    .map(|x| Matcher::compile(x, time))
                    .collect::<Result<_>>()?,
            ),
            SearchExpr::Not(x) => Matcher::Not(Box::new(Matcher::compile(x, time)?)),
            SearchExpr::Empty | SearchExpr::All => Matcher::True,
            SearchExpr::Compare {
                field, op, value, ..
            } => match op {
                CmpOp::Eq if value == "*" => Matcher::Exists(field.clone()),
                CmpOp::Eq => Matcher::Eq(field.clone(), Glob::new(value)),
                CmpOp::Ne if value == "*" => Matcher::Not(Box::new(Matcher::True)),
                CmpOp::Ne => Matcher::Ne(field.clone(), Glob::new(value)),
                op => Matcher::Cmp(field.clone(), *op, value.clone()),
            },
            SearchExpr::In { field, values, .. } => Matcher::Or(
                values
                    .iter()
                    .map(|v| {
                        if v == "*" {
                            Matcher::Exists(field.clone())
                        } else {
                            Matcher::Eq(field.clone(), Glob::new(v))
                        }
                    })
                    .collect(),
            ),
            SearchExpr::Term {
                text,
                phrase,
                case_sensitive,
                span,
            } => Matcher::Term(TermMatch::new(text, *phrase, *case_sensitive).map_err(|e| {
                Diagnostic::at(format!("cannot match the search term `{text}`: {e}"), *span)
            })?),
            SearchExpr::Time {
                latest,
                value,
                span,
            } => {
                let t = time(value).ok_or_else(|| {
                    Diagnostic::at(format!("cannot read the time `{value}`"), *span)
                        .with_help("use a relative time such as -24h@h or an absolute one such as 03/01/2024:00:00:00")
                })?;
                if *latest {
                    Matcher::TimeBefore(t)
                } else {
                    Matcher::TimeAtLeast(t)
                }
            }
            SearchExpr::Subsearch(_, span) => {
                return Err(Diagnostic::at("internal: subsearch was not run", *span))
            }
        })
    }

    pub fn matches(&self, ev: &Event) -> bool {
        match self {
            Matcher::And(v) => v.iter().all(|m| m.matches(ev)),
            Matcher::Or(v) => v.iter().any(|m| m.matches(ev)),
            Matcher::Not(m) => !m.matches(ev),
            Matcher::True => true,
            Matcher::Exists(f) => ev.contains(f),
            Matcher::Eq(f, g) => ev
                .get(f)
                .is_some_and(|v| v.values().iter().any(|x| g.matches_value(x))),
            Matcher::Ne(f, g) => ev
                .get(f)
                .is_some_and(|v| !v.values().iter().any(|x| g.matches_value(x))),
            Matcher::Cmp(f, op, rhs) => ev
                .get(f)
                .is_some_and(|v| v.values().iter().any(|x| cmp_matches(x, *op, rhs))),
            Matcher::Term(t) => match ev.get("_raw") {
                Some(raw) => t.matches(&raw.text()),
                // rows without _raw (after stats): a term matches any field's value
                None => ev
                    .iter()
                    .any(|(_, v)| v.values().iter().any(|x| t.matches(&x.text()))),
            },
            Matcher::TimeAtLeast(t) => ev.time().is_some_and(|x| x >= *t),
            Matcher::TimeBefore(t) => ev.time().is_some_and(|x| x < *t),
        }
    }

    /// Fields this matcher reads (for the planner).
    pub fn fields(&self, out: &mut Vec<String>) {
        match self {
            Matcher::And(v) | Matcher::Or(v) => v.iter().for_each(|m| m.fields(out)),
            Matcher::Not(m) => m.fields(out),
            Matcher::Exists(f) | Matcher::Eq(f, _) | Matcher::Ne(f, _) | Matcher::Cmp(f, _, _) => {
                out.push(f.clone())
            }
            Matcher::Term(_) => out.push("_raw".into()),
            Matcher::TimeAtLeast(_) | Matcher::TimeBefore(_) => out.push("_time".into()),
            Matcher::True => {}
        }
    }
}

fn cmp_matches(v: &Value, op: CmpOp, rhs: &str) -> bool {
    use std::cmp::Ordering::*;
    let ord = match (v.as_num(), parse_num(rhs)) {
        (Some(a), Some(b)) => a.partial_cmp(&b),
        _ => Some(
            v.text()
                .to_lowercase()
                .as_str()
                .cmp(rhs.to_lowercase().as_str()),
        ),
    };
    let Some(ord) = ord else { return false };
    match op {
        CmpOp::Lt => ord == Less,
        CmpOp::Le => ord != Greater,
        CmpOp::Gt => ord == Greater,
        CmpOp::Ge => ord != Less,
        CmpOp::Eq => ord == Equal,
        CmpOp::Ne => ord != Equal,
    }
}

/// A case-insensitive whole-value pattern with `*` wildcards.
#[derive(Clone, Debug)]
pub struct Glob {
    /// Lower-cased parts between `*`s.
    parts: Vec<String>,
    wildcard: bool,
    number: Option<f64>,
}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        let lower = pattern.to_lowercase();
        let wildcard = lower.contains('*');
        Glob {
            parts: lower.split('*').map(str::to_string).collect(),
            wildcard,
            number: if wildcard { None } else { parse_num(pattern) },
        }
    }

    /// The longest text between wildcards (lower case), unless the pattern is a number (numbers also match
    /// other spellings of the same number).
    pub fn required_literal(&self) -> Option<&str> {
        if self.number.is_some() {
            return None;
        }
        self.parts
            .iter()
            .map(String::as_str)
            .max_by_key(|p| p.len())
            .filter(|p| !p.is_empty())
    }

    pub fn matches_value(&self, v: &Value) -> bool {
        if let (Some(n), Value::Num(x)) = (self.number, v) {
            return n == *x;
        }
        let t = v.text();
        if self.matches(&t) {
            return true;
        }
        // `port=443` also matches `443.0`: numeric equality when both read as numbers
        match (self.number, parse_num(&t)) {
            (Some(n), Some(x)) => n == x,
            _ => false,
        }
    }

    pub fn matches(&self, text: &str) -> bool {
        if text.is_ascii() && self.parts.iter().all(|p| p.is_ascii()) {
            glob_ascii(&self.parts, self.wildcard, text.as_bytes())
        } else {
            let lower = text.to_lowercase();
            glob_ascii(&self.parts, self.wildcard, lower.as_bytes())
        }
    }
}

fn eq_ci(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_ascii_lowercase() == *y)
}

/// `parts` are lower case; `text` is compared ignoring ASCII case.
fn glob_ascii(parts: &[String], wildcard: bool, text: &[u8]) -> bool {
    if !wildcard {
        return parts.first().is_some_and(|p| eq_ci(text, p.as_bytes()));
    }
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return true;
    };
    let (first, last) = (first.as_bytes(), last.as_bytes());
    if text.len() < first.len() + last.len() {
        return false;
    }
    if !eq_ci(&text[..first.len()], first) || !eq_ci(&text[text.len() - last.len()..], last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        let m = mid.as_bytes();
        if m.is_empty() {
            continue;
        }
        match find_ci(rest, m) {
            Some(i) => rest = &rest[i + m.len()..],
            None => return false,
        }
    }
    true
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).find(|&i| eq_ci(&hay[i..i + needle.len()], needle))
}

/// Splunk's major and minor breakers: a bare term must start and end at one of these (or the text's ends).
fn is_breaker(b: u8) -> bool {
    is_major_breaker(b)
        || matches!(
            b,
            b'*' | b'&'
                | b'?'
                | b'+'
                | b'/'
                | b':'
                | b'='
                | b'@'
                | b'.'
                | b'-'
                | b'$'
                | b'#'
                | b'%'
                | b'\\'
                | b'_'
        )
}

/// Free-text matching of a term or phrase against raw text.
#[derive(Clone, Debug)]
pub struct TermMatch {
    parts: Vec<String>,
    wildcard: Option<Wildcard>,
    case_sensitive: bool,
}

/// How a term with `*` is matched, decided once when the search is planned.
#[derive(Clone, Debug)]
enum Wildcard {
    /// By scanning for the parts between the `*`s (see [`TermMatch::wildcard_matches`]).
    Parts,
    /// By a regex, when a part after the first holds a major breaker (the scan's leftmost choice of a part
    /// is then not always right).
    Regex(regex::bytes::Regex),
}

/// Splunk's major breakers: what a `*` inside a term does not run across.
fn is_major_breaker(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b'[' | b']'
                | b'<'
                | b'>'
                | b'('
                | b')'
                | b'{'
                | b'}'
                | b'|'
                | b'!'
                | b';'
                | b','
                | b'\''
                | b'"'
        )
}

impl TermMatch {
    /// The matcher of a term; `Err` says why a wildcard term's pattern does not compile.
    pub fn new(
        text: &str,
        _phrase: bool,
        case_sensitive: bool,
    ) -> std::result::Result<TermMatch, String> {
        let t = if case_sensitive {
            text.to_string()
        } else {
            text.to_lowercase()
        };
        let parts: Vec<String> = t.split('*').map(str::to_string).collect();
        let wildcard = if !t.contains('*') {
            None
        } else if parts
            .iter()
            .skip(1)
            .any(|p| p.bytes().any(is_major_breaker))
        {
            let re = wildcard_regex(&parts, case_sensitive);
            Some(Wildcard::Regex(
                regex::bytes::RegexBuilder::new(&re)
                    .size_limit(crate::pcre::SIZE_LIMIT)
                    .build()
                    .map_err(|e| crate::pcre::regex_error_detail(&e))?,
            ))
        } else {
            Some(Wildcard::Parts)
        };
        Ok(TermMatch {
            parts,
            wildcard,
            case_sensitive,
        })
    }

    /// True when the term occurs in `raw` starting and ending at breakers; `*` matches any run of
    /// characters other than major breakers.
    pub fn matches(&self, raw: &str) -> bool {
        let owned;
        let hay: &[u8] = if self.case_sensitive || raw.is_ascii() {
            raw.as_bytes()
        } else {
            owned = raw.to_lowercase();
            owned.as_bytes()
        };
        match &self.wildcard {
            Some(Wildcard::Regex(re)) => return re.is_match(hay),
            Some(Wildcard::Parts) => return self.wildcard_matches(hay),
            None => {}
        }
        let first = self.parts.first().map(|s| s.as_bytes()).unwrap_or(b"");
        if first.is_empty() {
            return true;
        }
        self.find_bounded(hay, first, true, true)
    }

    /// The next place of `needle` in `hay` at or after `from`.
    fn find_from(&self, hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
        let rest = hay.get(from..)?;
        if self.case_sensitive {
            memchr::memmem::find(rest, needle).map(|k| k + from)
        } else {
            find_ci(rest, needle).map(|k| k + from)
        }
    }

    /// A wildcard term without a regex: the first part starts at a breaker (or the text's start), each `*`
    /// is a run without major breakers, and the last part ends at a breaker (or the text's end). Taking each
    /// middle part at its leftmost place is right because no part after the first holds a major breaker:
    /// a later place would only lengthen the runs around it.
    fn wildcard_matches(&self, hay: &[u8]) -> bool {
        // the first part starts at a breaker; after a leading `*` (`*x*y`) the first non-empty part may
        // start anywhere: whatever precedes it back to the last breaker is the run
        let anchored = self.parts.first().is_some_and(|p| !p.is_empty());
        let Some(at) = self.parts.iter().position(|p| !p.is_empty()) else {
            return true;
        };
        let (Some(first), Some(rest)) = (self.parts.get(at), self.parts.get(at + 1..)) else {
            return true;
        };
        if rest.is_empty() {
            // `*x`: only the end of `x` is bounded
            return self.rest_matches(hay, 0, self.parts.get(at..).unwrap_or_default(), false);
        }
        let first = first.as_bytes();
        let mut i = 0;
        while let Some(k) = self.find_from(hay, i, first) {
            let left = !anchored || k == 0 || hay.get(k - 1).copied().is_some_and(is_breaker);
            if left && self.rest_matches(hay, k + first.len(), rest, true) {
                return true;
            }
            i = k + 1;
        }
        false
    }

    /// The parts after a `*` each, from `pos`; `bounded`: the run before the next part may not hold a major
    /// breaker (false only for a leading `*`, where `parts` is one part).
    fn rest_matches(
        &self,
        hay: &[u8],
        mut pos: usize,
        parts: &[String],
        mut bounded: bool,
    ) -> bool {
        let Some((last, middle)) = parts.split_last() else {
            return true;
        };
        let run_ok = |from: usize, to: usize| {
            hay.get(from..to)
                .is_some_and(|r| !r.iter().copied().any(is_major_breaker))
        };
        for p in middle {
            let p = p.as_bytes();
            if p.is_empty() {
                continue;
            }
            let Some(j) = self.find_from(hay, pos, p) else {
                return false;
            };
            if bounded && !run_ok(pos, j) {
                return false;
            }
            pos = j + p.len();
            bounded = true;
        }
        let last = last.as_bytes();
        if last.is_empty() {
            // the run goes on to the next breaker or the end, either of which ends the term
            return true;
        }
        // the last part may start no later than the first major breaker after `pos`
        let limit = if bounded {
            hay.get(pos..)
                .and_then(|r| r.iter().position(|&b| is_major_breaker(b)))
                .map_or(hay.len(), |m| pos + m)
        } else {
            hay.len()
        };
        let mut i = pos;
        while let Some(j) = self.find_from(hay, i, last) {
            if j > limit {
                return false;
            }
            let end = j + last.len();
            if end == hay.len() || hay.get(end).copied().is_some_and(is_breaker) {
                return true;
            }
            i = j + 1;
        }
        false
    }

    fn find_bounded(&self, hay: &[u8], needle: &[u8], left: bool, right: bool) -> bool {
        let n = needle.len();
        if n > hay.len() {
            return false;
        }
        let mut i = 0;
        while i + n <= hay.len() {
            let found = if self.case_sensitive {
                memchr::memmem::find(&hay[i..], needle).map(|k| k + i)
            } else {
                find_ci(&hay[i..], needle).map(|k| k + i)
            };
            let Some(k) = found else { return false };
            let lok = !left || k == 0 || is_breaker(hay[k - 1]) || is_breaker(needle[0]);
            let rok =
                !right || k + n == hay.len() || is_breaker(hay[k + n]) || is_breaker(needle[n - 1]);
            if lok && rok {
                return true;
            }
            i = k + 1;
        }
        false
    }
}

/// The regex of a wildcard term (`parts` split at `*`): it starts and ends at a breaker or the text's
/// ends, and each `*` is a run of characters other than major breakers.
fn wildcard_regex(parts: &[String], case_sensitive: bool) -> String {
    let breakers = r#"\s\[\]<>(){}|!;,'"*&?+/:=@.\-$#%\\_"#;
    let mut re = String::new();
    if !case_sensitive {
        re.push_str("(?i-u)");
    } else {
        re.push_str("(?-u)");
    }
    re.push_str(&format!("(?:^|[{breakers}])"));
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            re.push_str(r#"[^\s\[\]<>(){}|!;,'"]*?"#);
        }
        re.push_str(&regex::escape(p));
    }
    re.push_str(&format!("(?:$|[{breakers}])"));
    re
}

/// `user=user`: in `search` the right side is a value, so this compares the field with its own name as
/// text — legal, and almost always meant as `where user=user` or a typo.
fn self_compares(e: &SearchExpr, out: &mut Vec<super::Lint>) {
    match e {
        SearchExpr::And(v) | SearchExpr::Or(v) => v.iter().for_each(|x| self_compares(x, out)),
        SearchExpr::Not(x) => self_compares(x, out),
        SearchExpr::Compare {
            field,
            value,
            quoted: false,
            span,
            ..
        } if field == value => out.push(super::Lint {
            message: format!(
                "`{field}` is compared with the text \"{value}\", not with a field: in `search` the right side is a value (compare two fields with `where`)"
            ),
            span: *span,
        }),
        _ => {}
    }
}

pub fn resolve_expr(e: &mut SearchExpr, rows: &mut super::SubsearchRows) -> Result<()> {
    match e {
        SearchExpr::And(v) | SearchExpr::Or(v) => {
            for x in v {
                resolve_expr(x, rows)?;
            }
        }
        SearchExpr::Not(x) => resolve_expr(x, rows)?,
        SearchExpr::Subsearch(p, span) => {
            let text = super::format::Format::default().text(&rows(p)?);
            let span = *span;
            let parsed = parse_search_text(&text).map_err(|d| {
                Diagnostic::at(
                    format!(
                        "the subsearch's results do not form a search: {}",
                        d.message
                    ),
                    span,
                )
            })?;
            *e = parsed.unwrap_or(SearchExpr::Empty);
        }
        _ => {}
    }
    Ok(())
}

/// The subsearches (`[ ... ]`) of a search expression, in order.
pub fn subsearches<'a>(e: &'a SearchExpr, out: &mut Vec<&'a Pipeline>) {
    match e {
        SearchExpr::And(v) | SearchExpr::Or(v) => v.iter().for_each(|x| subsearches(x, out)),
        SearchExpr::Not(x) => subsearches(x, out),
        SearchExpr::Subsearch(p, _) => out.push(p),
        _ => {}
    }
}

/// What the loaded knowledge defines: event type names (eventtypes.conf) and tags (tags.conf).
pub trait Defines {
    /// Does an enabled event type have a name matching `pattern` (`*` wildcards)?
    fn eventtype(&self, pattern: &str) -> bool;
    /// Does an enabled tag match `pattern`?
    fn tag(&self, pattern: &str) -> bool;
}

/// Conditions on `eventtype` or `tag` that every matching event must meet (terms of the top-level AND,
/// also under `NOT`) and that no loaded event type or tag can meet: no event has the value, so such a
/// search would silently find nothing (or, under `NOT`, everything). An alternative inside an `OR`
/// beside others (`eventtype=wineventlog_security OR Channel=security ...`) is left alone: the other
/// alternatives still select the events.
fn knowledge_refusals(e: &SearchExpr, known: &dyn Defines, out: &mut Vec<super::Refusal>) {
    let refuse = |field: &str, what: &str, span: Span| super::Refusal {
        kind: super::RefusalKind::Feature,
        name: field.to_string(),
        reason: if field == "eventtype" {
            format!("`{what}` needs an event type that no loaded eventtypes.conf defines: no event would match; load the add-on that defines it with --props <add-on folder>")
        } else {
            format!("`{what}` needs a tag that no loaded tags.conf gives: no event would match; load the add-on that defines it with --props <add-on folder>")
        },
        span,
    };
    let defined = |field: &str, v: &str| {
        if field == "eventtype" {
            known.eventtype(v)
        } else {
            known.tag(v)
        }
    };
    match e {
        SearchExpr::And(v) => v.iter().for_each(|x| knowledge_refusals(x, known, out)),
        SearchExpr::Not(x) => knowledge_refusals(x, known, out),
        SearchExpr::Or(v) if v.len() == 1 => {
            v.iter().for_each(|x| knowledge_refusals(x, known, out))
        }
        SearchExpr::Compare {
            field, value, span, ..
        } if (field == "eventtype" || field == "tag") && !defined(field, value) => {
            out.push(refuse(field, &format!("{field}={value}"), *span))
        }
        SearchExpr::In {
            field,
            values,
            span,
        } if (field == "eventtype" || field == "tag")
            && !values.iter().any(|v| v == "*" || defined(field, v)) =>
        {
            out.push(refuse(
                field,
                &format!("{field} IN ({})", values.join(", ")),
                *span,
            ))
        }
        _ => {}
    }
}

impl Search {
    /// The pieces of this search that cannot run with the knowledge `known` (see [`Defines`]).
    pub fn refusals_with(&self, known: &dyn Defines) -> Vec<super::Refusal> {
        let mut out = Vec::new();
        if let Some(e) = &self.expr {
            knowledge_refusals(e, known, &mut out);
        }
        out
    }
}

impl super::SplCommand for Search {
    fn kind(&self) -> super::Kind {
        super::Kind::Streaming
    }

    /// Refusals with the shipped knowledge only (what `spelunk check` knows of); a run uses its loaded
    /// knowledge instead ([`Search::refusals_with`]).
    fn refusals(&self) -> Vec<super::Refusal> {
        self.refusals_with(crate::props::shipped_names())
    }

    fn refusals_in(&self, known: &super::Known) -> Vec<super::Refusal> {
        self.refusals_with(known.names)
    }

    fn reads_events(&self) -> bool {
        true
    }

    /// Each `[ ... ]` becomes its rows formatted as Splunk's implied `format` does, read as search terms.
    fn resolve_subsearches(&mut self, rows: &mut super::SubsearchRows) -> Result<()> {
        match &mut self.expr {
            Some(e) => resolve_expr(e, rows),
            None => Ok(()),
        }
    }

    fn needs(&self, after: super::Need) -> super::Need {
        let mut n = after?;
        if let Some(e) = &self.expr {
            let m = Matcher::compile(e, &|_| Some(0.0)).ok()?;
            let mut fs = Vec::new();
            m.fields(&mut fs);
            n.extend(fs);
        }
        Some(n)
    }

    fn keeps_columns(&self) -> bool {
        true
    }

    fn lints(&self) -> Vec<super::Lint> {
        let mut out = Vec::new();
        if let Some(e) = &self.expr {
            self_compares(e, &mut out);
        }
        out
    }

    fn sub_pipelines(&self) -> Vec<&Pipeline> {
        let mut out = Vec::new();
        if let Some(e) = &self.expr {
            subsearches(e, &mut out);
        }
        out
    }

    fn sql(&self, q: &mut crate::sql::Query) -> Option<Result<()>> {
        Some(self.write_sql(q))
    }

    fn operator(
        &self,
        cx: &super::Context,
        _sub: &dyn super::SubRunner,
    ) -> Result<Box<dyn super::Operator>> {
        let now = cx.eval.now;
        let tz = cx.eval.tz;
        let resolver = move |t: &str| crate::eval::time::parse_time_modifier(t, now, tz);
        let m = match &self.expr {
            Some(e) => Matcher::compile(e, &resolver)?,
            None => Matcher::True,
        };
        Ok(Box::new(SearchOp(m)))
    }
}

impl Matcher {
    /// The matcher as a two-valued SQL condition on the step `q` is at (see [`crate::sql`]): a field
    /// that is not a column of the step is missing from every row.
    pub fn sql(&self, q: &crate::sql::Query) -> Result<String> {
        use crate::sql::{any_value, ident, no_sql_form};
        let join = |v: &[Matcher], op: &str, empty: &str| -> Result<String> {
            if v.is_empty() {
                return Ok(empty.into());
            }
            let parts = v.iter().map(|m| m.sql(q)).collect::<Result<Vec<_>>>()?;
            Ok(format!("({})", parts.join(&format!(" {op} "))))
        };
        Ok(match self {
            Matcher::And(v) => join(v, "AND", "true")?,
            Matcher::Or(v) => join(v, "OR", "false")?,
            Matcher::Not(m) => format!("(NOT {})", m.sql(q)?),
            Matcher::True => "true".into(),
            Matcher::Exists(f) => match q.field(f)? {
                Some(c) => format!("({} IS NOT NULL)", ident(&c.name)),
                None => "false".into(),
            },
            Matcher::Eq(f, g) => match q.field(f)? {
                Some(c) => any_value(c, &|v| g.sql(v)),
                None => "false".into(),
            },
            Matcher::Ne(f, g) => match q.field(f)? {
                Some(c) => format!(
                    "({} IS NOT NULL AND NOT {})",
                    ident(&c.name),
                    any_value(c, &|v| g.sql(v))
                ),
                None => "false".into(),
            },
            Matcher::Cmp(f, op, rhs) => match q.field(f)? {
                Some(c) => any_value(c, &|v| cmp_sql(v, *op, rhs)),
                None => "false".into(),
            },
            Matcher::Term(_) => {
                return Err(no_sql_form(
                    "a free-text search term (matched against _raw)",
                ))
            }
            Matcher::TimeAtLeast(_) | Matcher::TimeBefore(_) => {
                return Err(no_sql_form("`earliest`/`latest` (they need _time)"))
            }
        })
    }
}

/// [`cmp_matches`] in SQL, for one value `v`: numerically when both sides read as numbers, else as
/// lower-case text in byte order.
fn cmp_sql(v: &str, op: CmpOp, rhs: &str) -> String {
    use crate::sql::{as_number, number, text};
    let sym = match op {
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
        CmpOp::Eq => "=",
        CmpOp::Ne => "<>",
    };
    let as_text = format!("lower({v}) {sym} {}", text(&rhs.to_lowercase()));
    match parse_num(rhs) {
        Some(n) => {
            let x = as_number(v);
            format!(
                "CASE WHEN ({x}) IS NOT NULL THEN ({x}) {sym} {} ELSE {as_text} END",
                number(n)
            )
        }
        None => as_text,
    }
}

impl Glob {
    /// [`Glob::matches_value`] in SQL, for one text value `v`.
    pub fn sql(&self, v: &str) -> String {
        use crate::sql::{as_number, number, text};
        let by_text = if self.wildcard {
            let mut pattern = String::new();
            for (i, p) in self.parts.iter().enumerate() {
                if i > 0 {
                    pattern.push('%');
                }
                for ch in p.chars() {
                    if matches!(ch, '%' | '_' | '!') {
                        pattern.push('!');
                    }
                    pattern.push(ch);
                }
            }
            // `!` escapes (a backslash would need escaping itself in Spark's literals)
            format!("lower({v}) LIKE {} ESCAPE '!'", text(&pattern))
        } else {
            format!(
                "lower({v}) = {}",
                text(self.parts.first().map_or("", String::as_str))
            )
        };
        match self.number {
            Some(n) => format!(
                "({by_text} OR coalesce(({}) = {}, false))",
                as_number(v),
                number(n)
            ),
            None => by_text,
        }
    }
}

/// Keeps the rows that match.
struct SearchOp(Matcher);

impl super::Operator for SearchOp {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        if self.0.matches(&ev) {
            out.push(ev);
        }
        Ok(())
    }
}

impl Search {
    /// This stage as the next step of an SQL statement (see [`crate::sql`]).
    fn write_sql(&self, q: &mut crate::sql::Query) -> Result<()> {
        let cond = match &self.expr {
            // earliest/latest resolve to times; they are refused below, as _time has no SQL form
            Some(e) => Matcher::compile(e, &|_| Some(0.0))?.sql(q)?,
            None => "true".into(),
        };
        let select = format!("SELECT * FROM {} WHERE {cond}", q.from());
        let cols = q.cols.clone();
        q.step_in_order(select, cols);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> SearchExpr {
        parse_search_text(s).unwrap().unwrap()
    }

    #[test]
    fn or_binds_tighter_than_implicit_and() {
        let e = p("a b OR c");
        assert!(
            matches!(&e, SearchExpr::And(v) if v.len() == 2 && matches!(v[1], SearchExpr::Or(_)))
        );
    }

    #[test]
    fn lower_case_and_is_a_term() {
        let e = p("a and b");
        assert!(matches!(&e, SearchExpr::And(v) if v.len() == 3));
    }

    #[test]
    fn globs_match_case_insensitively() {
        assert!(Glob::new("Describe*").matches("describeInstances"));
        assert!(Glob::new("*bucket*").matches("ListBuckets"));
        assert!(!Glob::new("bucket").matches("ListBuckets"));
        assert!(Glob::new("a*b*c").matches("aXbYc"));
        assert!(!Glob::new("a*b*c").matches("ac"));
    }

    #[test]
    fn terms_match_whole_tokens() {
        let raw = r#"{"errorCode":"AccessDenied","user":"a.b"}"#;
        assert!(TermMatch::new("accessdenied", false, false)
            .unwrap()
            .matches(raw));
        assert!(!TermMatch::new("access", false, false).unwrap().matches(raw));
        assert!(TermMatch::new("access*", false, false)
            .unwrap()
            .matches(raw));
        assert!(TermMatch::new("a.b", false, false).unwrap().matches(raw));
        assert!(TermMatch::new("b", false, false).unwrap().matches(raw));
    }

    #[test]
    fn wildcard_terms_match_as_their_regex_does() {
        // a small deterministic generator: terms and texts over an alphabet of letters and breakers
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let text_chars = b"abAB.-_:= ,\"/";
        let term_chars = b"abAB.-_:*";
        let mut checked = 0;
        for _ in 0..20_000 {
            let term: String = (0..1 + next(6))
                .map(|_| term_chars[next(term_chars.len())] as char)
                .collect();
            if !term.contains('*') {
                continue;
            }
            let text: String = (0..next(14))
                .map(|_| text_chars[next(text_chars.len())] as char)
                .collect();
            for case_sensitive in [false, true] {
                let m = TermMatch::new(&term, false, case_sensitive).unwrap();
                let t = if case_sensitive {
                    term.clone()
                } else {
                    term.to_lowercase()
                };
                let parts: Vec<String> = t.split('*').map(str::to_string).collect();
                let re = regex::bytes::Regex::new(&wildcard_regex(&parts, case_sensitive)).unwrap();
                assert_eq!(
                    m.matches(&text),
                    re.is_match(text.as_bytes()),
                    "term {term:?} over {text:?} (case-sensitive: {case_sensitive})"
                );
                checked += 1;
            }
        }
        assert!(checked > 10_000, "{checked}");
        // a part after the first with a major breaker goes by the regex
        let m = TermMatch::new("a*b,c", false, false).unwrap();
        assert!(matches!(m.wildcard, Some(Wildcard::Regex(_))));
        assert!(m.matches("x ab,c y") && !m.matches("a b,c"));
        let m = TermMatch::new("describe*instances", false, false).unwrap();
        assert!(matches!(m.wildcard, Some(Wildcard::Parts)));
        assert!(m.matches(r#"{"eventName":"DescribeSpotInstances"}"#));
        assert!(!m.matches(r#"{"eventName":"DescribeSpot Instances"}"#));
        assert!(!m.matches(r#"{"eventName":"XDescribeInstances"}"#));
        assert!(!m.matches(r#"{"eventName":"DescribeInstancesX"}"#));
    }

    #[test]
    fn empty_group_and_subsearch_parse() {
        assert_eq!(p("NOT ()"), SearchExpr::Not(Box::new(SearchExpr::Empty)));
        assert!(matches!(p("NOT [ | inputlookup x ]"), SearchExpr::Not(_)));
    }

    fn cmp(field: &str, op: CmpOp, value: &str, quoted: bool) -> SearchExpr {
        SearchExpr::Compare {
            field: field.into(),
            op,
            value: value.into(),
            quoted,
            span: Span::default(),
        }
    }

    /// The expression with every span zeroed, to compare shapes.
    fn shape(e: SearchExpr) -> SearchExpr {
        match e {
            SearchExpr::And(v) => SearchExpr::And(v.into_iter().map(shape).collect()),
            SearchExpr::Or(v) => SearchExpr::Or(v.into_iter().map(shape).collect()),
            SearchExpr::Not(x) => SearchExpr::Not(Box::new(shape(*x))),
            SearchExpr::Compare {
                field,
                op,
                value,
                quoted,
                ..
            } => SearchExpr::Compare {
                field,
                op,
                value,
                quoted,
                span: Span::default(),
            },
            SearchExpr::Term {
                text,
                phrase,
                case_sensitive,
                ..
            } => SearchExpr::Term {
                text,
                phrase,
                case_sensitive,
                span: Span::default(),
            },
            SearchExpr::Time { latest, value, .. } => SearchExpr::Time {
                latest,
                value,
                span: Span::default(),
            },
            SearchExpr::In { field, values, .. } => SearchExpr::In {
                field,
                values,
                span: Span::default(),
            },
            other => other,
        }
    }

    #[test]
    fn spaces_around_an_operator_do_not_change_it() {
        for text in [
            "eventName=StopLogging",
            "eventName = StopLogging",
            "eventName= StopLogging",
            "eventName =StopLogging",
            "eventName\n=\tStopLogging",
        ] {
            assert_eq!(
                shape(p(text)),
                cmp("eventName", CmpOp::Eq, "StopLogging", false),
                "{text:?}"
            );
        }
        for (text, op) in [
            ("n != 3", CmpOp::Ne),
            ("n < 3", CmpOp::Lt),
            ("n <= 3", CmpOp::Le),
            ("n > 3", CmpOp::Gt),
            ("n >= 3", CmpOp::Ge),
            ("n == 3", CmpOp::Eq),
        ] {
            assert_eq!(shape(p(text)), cmp("n", op, "3", false), "{text}");
        }
        assert_eq!(
            shape(p(r#"MFAUsed = "Yes""#)),
            cmp("MFAUsed", CmpOp::Eq, "Yes", true)
        );
        assert_eq!(
            shape(p("NOT a = b")),
            SearchExpr::Not(Box::new(cmp("a", CmpOp::Eq, "b", false)))
        );
        // at the end of the text, of a group or before a bracket the value is empty, as in `x=`
        assert_eq!(shape(p("x =")), cmp("x", CmpOp::Eq, "", false));
        assert_eq!(shape(p("x= ")), cmp("x", CmpOp::Eq, "", false));
        assert_eq!(
            shape(p("(x = )")),
            cmp("x", CmpOp::Eq, "", false),
            "an empty value before `)`"
        );
        assert_eq!(
            shape(p("x = (a)")),
            SearchExpr::And(vec![cmp("x", CmpOp::Eq, "", false), shape(p("a"))])
        );
        assert_eq!(
            shape(p("earliest = -24h latest= now")),
            SearchExpr::And(vec![
                SearchExpr::Time {
                    latest: false,
                    value: "-24h".into(),
                    span: Span::default()
                },
                SearchExpr::Time {
                    latest: true,
                    value: "now".into(),
                    span: Span::default()
                },
            ])
        );
        // two comparisons, each with spaces
        assert_eq!(
            shape(p("a = 1 b != 2")),
            SearchExpr::And(vec![
                cmp("a", CmpOp::Eq, "1", false),
                cmp("b", CmpOp::Ne, "2", false)
            ])
        );
        // IN lists and plain terms are unaffected
        assert_eq!(
            shape(p("x IN (a, b)")),
            SearchExpr::In {
                field: "x".into(),
                values: vec!["a".into(), "b".into()],
                span: Span::default()
            }
        );
        assert!(matches!(p("a b"), SearchExpr::And(v) if v.len() == 2));
    }

    #[test]
    fn spaces_around_an_operator_in_a_later_search_and_a_subsearch() {
        let q = crate::parse::parse_query("a [ search b = 1 ] | search c >= 2").unwrap();
        let crate::commands::Command::Search(first) = &q.stages[0].command else {
            panic!()
        };
        let Some(SearchExpr::And(v)) = &first.expr else {
            panic!("{first:?}")
        };
        let SearchExpr::Subsearch(sub, _) = &v[1] else {
            panic!("{v:?}")
        };
        let crate::commands::Command::Search(inner) = &sub.stages[0].command else {
            panic!()
        };
        assert_eq!(
            inner.expr.clone().map(shape),
            Some(cmp("b", CmpOp::Eq, "1", false))
        );
        let crate::commands::Command::Search(later) = &q.stages[1].command else {
            panic!()
        };
        assert_eq!(
            later.expr.clone().map(shape),
            Some(cmp("c", CmpOp::Ge, "2", false))
        );
    }

    #[test]
    fn a_quoted_name_before_an_operator_is_a_field() {
        assert_eq!(
            shape(p(r#""additionalEventData.MFAUsed"=No"#)),
            cmp("additionalEventData.MFAUsed", CmpOp::Eq, "No", false)
        );
        assert_eq!(
            shape(p(r#""user name" = "bob""#)),
            cmp("user name", CmpOp::Eq, "bob", true)
        );
        assert_eq!(shape(p(r#""a\"b"!=1"#)), cmp("a\"b", CmpOp::Ne, "1", false));
        // a quoted string with no operator after it stays a phrase
        assert!(matches!(
            p(r#""access denied" x"#),
            SearchExpr::And(v) if matches!(&v[0], SearchExpr::Term { phrase: true, text, .. } if text == "access denied")
        ));
        assert!(matches!(
            p(r#""a=b""#),
            SearchExpr::Term { phrase: true, .. }
        ));
    }

    #[test]
    fn formatted_rows_read_back_as_the_same_comparisons() {
        let mut ev = Event::new();
        ev.set("user name", Value::str("bob"));
        ev.set("a.b", Value::str("x\"y"));
        ev.set("c(d)", Value::str("1"));
        let text = crate::commands::format::Format::default().text(&[ev]);
        assert_eq!(
            shape(p(&text)),
            SearchExpr::And(vec![
                cmp("user name", CmpOp::Eq, "bob", true),
                cmp("a.b", CmpOp::Eq, "x\"y", true),
                cmp("c(d)", CmpOp::Eq, "1", true),
            ])
        );
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = parse_search_text("a (b").unwrap_err();
        assert_eq!(e.span, Some(Span::new(2, 3)));
        let e = parse_search_text("a=\"x").unwrap_err();
        assert!(e.message.contains("unclosed quote"));
    }
}
