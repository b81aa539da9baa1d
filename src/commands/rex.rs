//! `rex` — extract fields with a regular expression's named groups, or edit a field with sed.
//!
//! ```text
//! rex [field=<field>] [max_match=<int>] [offset_field=<field>] "<regex>"
//! rex [field=<field>] mode=sed "s/<regex>/<replacement>/[g|<N>][i]"
//! rex [field=<field>] mode=sed "y/<chars>/<chars>/"
//! ```
//! Options and the quoted expression may come in any order. `field` defaults to `_raw`.
//!
//! Extraction: the regex is unanchored; each named group `(?<name>...)` (or `(?P<name>...)`) that takes
//! part in a match sets the field `name`. `max_match` (default 1; 0 = no limit) allows more matches, whose
//! values make a multivalue field. A multivalue input is matched value by value, in order, until
//! `max_match` matches are found. When nothing matches, the row keeps its fields as they were.
//! `offset_field` records where each group matched, as `name=start-end` (0-based character offsets,
//! end inclusive) joined by `&`.
//!
//! Sed: `s` replaces the first match (`g`: every match, `N`: only the Nth) with the replacement, where
//! `\1`..`\9` are the groups; `y` maps each character of the first list to the one at the same place in
//! the second. Another delimiter than `/` may follow `s`/`y`; a delimiter inside a part is written `\/`.
//! Each value of a multivalue field is edited.
//!
//! Splunk's regexes are PCRE; spelunk compiles them with the `regex` crate (linear time), rewriting the
//! common PCRE habits first (`\xHH` escapes, a literal `{` ...). A pattern that is valid PCRE but uses what
//! that engine lacks (look-around, backreferences, atomic groups, possessive quantifiers, `\K`, recursion,
//! conditionals) parses, keeps its text, and is refused when run (`spelunk check` reports it as an
//! unsupported feature); a pattern that is not a regex at all is a parse error.
//! Refused: Splunk's `_KEY_n`/`_VAL_n` dynamic field names.

use super::{Context, Operator, Refusal, RefusalKind, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;
use crate::pcre::{CompileError, LimitError, Pcre};
use crate::value::Value;

/// Compile a Splunk (PCRE) regex of `command`; `span` locates the pattern for errors. A valid PCRE
/// pattern that no engine here runs is an error too (use [`Regexp::compile`] to keep it for a refusal).
pub fn compile(pattern: &str, span: Span, command: &str) -> Result<Pcre> {
    match Regexp::compile(pattern, span)? {
        Regexp::Ready(p) => Ok(p),
        Regexp::PcreOnly { feature, .. } => {
            Err(Diagnostic::at(unsupported_reason(command, &feature), span))
        }
    }
}

fn unsupported_reason(command: &str, feature: &str) -> String {
    format!(
        "unsupported regular expression in '{command}': {feature} is valid PCRE, but spelunk's regex engines do not have it"
    )
}

/// A regular expression of a command: compiled, or kept as written when it is valid PCRE that uses what
/// the regex engines here lack.
#[derive(Clone, Debug, PartialEq)]
pub enum Regexp {
    Ready(Pcre),
    /// Parsed, refused when run.
    PcreOnly {
        text: String,
        /// The construct, e.g. `recursion`.
        feature: String,
        span: Span,
    },
}

impl Regexp {
    /// Compile a Splunk (PCRE) regex, keeping one that no engine here can run; other errors are parse
    /// errors.
    pub fn compile(pattern: &str, span: Span) -> Result<Regexp> {
        match Pcre::new(pattern) {
            Ok(p) => Ok(Regexp::Ready(p)),
            Err(CompileError::Unsupported { feature, .. }) => Ok(Regexp::PcreOnly {
                text: pattern.to_string(),
                feature: feature.to_string(),
                span,
            }),
            Err(CompileError::Invalid(detail)) => Err(Diagnostic::at(
                format!("the regular expression \"{pattern}\" does not compile: {detail}"),
                span,
            )),
        }
    }

    /// The pattern as written.
    pub fn text(&self) -> &str {
        match self {
            Regexp::Ready(p) => p.text(),
            Regexp::PcreOnly { text, .. } => text,
        }
    }

    /// The compiled pattern, when an engine here can run it.
    pub fn ready(&self) -> Option<&Pcre> {
        match self {
            Regexp::Ready(p) => Some(p),
            Regexp::PcreOnly { .. } => None,
        }
    }

    /// Does the pattern have a named group `(?<name>...)`?
    fn has_named_group(&self) -> bool {
        match self {
            Regexp::Ready(p) => p.capture_names().into_iter().flatten().next().is_some(),
            Regexp::PcreOnly { text, .. } => {
                let t = text.replace("(?<=", "").replace("(?<!", "");
                t.contains("(?<") || t.contains("(?P<") || t.contains("(?'")
            }
        }
    }

    /// What `command` cannot run in this pattern.
    pub fn refusals(&self, command: &str) -> Vec<Refusal> {
        match self {
            Regexp::Ready(_) => Vec::new(),
            Regexp::PcreOnly { feature, span, .. } => vec![Refusal {
                kind: RefusalKind::Feature,
                name: format!("regex {feature}"),
                reason: unsupported_reason(command, feature),
                span: *span,
            }],
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Sed {
    Replace {
        pattern: Regexp,
        /// In the `regex` crate's syntax (`${1}`, `$$`).
        replacement: String,
        /// `None`: every match (`g`); `Some(n)`: only the n-th (1-based).
        nth: Option<usize>,
    },
    Translate {
        from: Vec<char>,
        to: Vec<char>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum RexMode {
    Extract {
        pattern: Regexp,
        /// 0: no limit.
        max_match: usize,
        offset_field: Option<String>,
    },
    Sed(Sed),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Rex {
    pub field: String,
    pub mode: RexMode,
    pub span: Span,
}

const OPTIONS: &[&str] = &["field", "max_match", "offset_field", "mode"];

/// Split `s/a/b/g` style text after its command letter into parts at unescaped `delim`s; an escaped
/// delimiter loses its backslash.
fn sed_parts(body: &str, delim: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = body.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch == '\\' && chars.peek() == Some(&delim) {
            chars.next();
            if let Some(p) = parts.last_mut() {
                p.push(delim);
            }
        } else if ch == '\\' {
            if let Some(p) = parts.last_mut() {
                p.push('\\');
                if let Some(n) = chars.next() {
                    p.push(n);
                }
            }
        } else if ch == delim {
            parts.push(String::new());
        } else if let Some(p) = parts.last_mut() {
            p.push(ch);
        }
    }
    parts
}

/// Parse a sed expression (`span` covers the quoted text).
pub fn parse_sed(expr: &str, span: Span) -> Result<Sed> {
    let mut chars = expr.chars();
    let cmd = chars.next();
    let Some(delim) = chars.next().filter(|d| !d.is_alphanumeric() && *d != '\\') else {
        return Err(Diagnostic::at(
            "expected a sed expression such as \"s/regex/replacement/g\" or \"y/abc/xyz/\"",
            span,
        ));
    };
    let parts = sed_parts(chars.as_str(), delim);
    match (cmd, parts.as_slice()) {
        (Some('s'), [re, with, flags]) => {
            let mut nth = Some(1);
            let mut insensitive = false;
            let mut digits = String::new();
            for f in flags.chars() {
                match f {
                    'g' => nth = None,
                    'i' | 'I' => insensitive = true,
                    d if d.is_ascii_digit() => digits.push(d),
                    other => {
                        return Err(Diagnostic::at(
                            format!("unknown sed flag `{other}`: expected `g`, a number or `i`"),
                            span,
                        ))
                    }
                }
            }
            if !digits.is_empty() {
                nth = Some(digits.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    Diagnostic::at(format!("sed occurrence `{digits}` must be 1 or more"), span)
                })?);
            }
            let text = if insensitive {
                format!("(?i){re}")
            } else {
                re.clone()
            };
            Ok(Sed::Replace {
                pattern: Regexp::compile(&text, span)?,
                replacement: crate::eval::strings::replacement(with),
                nth,
            })
        }
        (Some('y'), [from, to, flags]) if flags.is_empty() => {
            let from: Vec<char> = from.chars().collect();
            let to: Vec<char> = to.chars().collect();
            if from.len() != to.len() {
                return Err(Diagnostic::at(
                    format!(
                        "sed `y` needs lists of the same length ({} and {} characters here)",
                        from.len(),
                        to.len()
                    ),
                    span,
                ));
            }
            Ok(Sed::Translate { from, to })
        }
        _ => Err(Diagnostic::at(
            format!(
                "expected a sed expression such as \"s{delim}regex{delim}replacement{delim}g\" or \"y{delim}abc{delim}xyz{delim}\""
            ),
            span,
        )),
    }
}

impl Rex {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Rex> {
        let mut field = "_raw".to_string();
        let mut max_match = 1usize;
        let mut offset_field = None;
        let mut sed = false;
        let mut expr: Option<(String, Span)> = None;
        loop {
            for (k, v, span) in c.options(OPTIONS)? {
                match k.as_str() {
                    "field" => field = v,
                    "offset_field" => offset_field = Some(v),
                    "max_match" => {
                        max_match = v.parse().map_err(|_| {
                            Diagnostic::at(
                                format!("`max_match` takes a whole number, not `{v}`"),
                                span,
                            )
                        })?
                    }
                    _ => {
                        if !v.eq_ignore_ascii_case("sed") {
                            return Err(Diagnostic::at(
                                format!("`mode` takes `sed`, not `{v}`"),
                                span,
                            ));
                        }
                        sed = true;
                    }
                }
            }
            c.ws();
            if c.at('"') {
                if let Some((_, first)) = &expr {
                    return Err(Diagnostic::at(
                        "`rex` takes one quoted expression; this is a second one",
                        c.span_here(),
                    )
                    .with_note(format!("the first starts at byte {}", first.start)));
                }
                expr = Some(c.quoted()?);
                continue;
            }
            break;
        }
        super::end_of_args(
            c,
            "rex",
            "a quoted regular expression or an option",
            OPTIONS,
        )?;
        let Some((text, span)) = expr else {
            return Err(c.expected("a quoted regular expression"));
        };
        let mode = if sed {
            RexMode::Sed(parse_sed(&text, span)?)
        } else {
            let pattern = Regexp::compile(&text, span)?;
            if !pattern.has_named_group() {
                return Err(Diagnostic::at(
                    "the regular expression has no named group `(?<name>...)` to extract into a field",
                    span,
                ));
            }
            RexMode::Extract {
                pattern,
                max_match,
                offset_field,
            }
        };
        Ok(Rex {
            field,
            mode,
            span: name_span,
        })
    }

    /// What cannot run here: a PCRE-only pattern.
    pub fn refusals(&self) -> Vec<Refusal> {
        match &self.mode {
            RexMode::Extract { pattern, .. } | RexMode::Sed(Sed::Replace { pattern, .. }) => {
                pattern.refusals("rex")
            }
            RexMode::Sed(Sed::Translate { .. }) => Vec::new(),
        }
    }
}

impl super::SplCommand for Rex {
    fn kind(&self) -> super::Kind {
        super::Kind::Streaming
    }

    fn refusals(&self) -> Vec<super::Refusal> {
        Rex::refusals(self)
    }

    fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        if let Some(r) = self.refusals().into_iter().next() {
            return Err(Diagnostic::at(r.reason, r.span));
        }
        Ok(Box::new(RexOp(self.clone())))
    }
}

struct RexOp(Rex);

fn char_offset(s: &str, byte: usize) -> usize {
    s.get(..byte).map_or(0, |p| p.chars().count())
}

/// Run an extraction over the values of a field; the fields to set, in group order.
type Extracted = (Vec<(String, Vec<Value>)>, Vec<String>);

fn extract(
    pattern: &Pcre,
    max_match: usize,
    values: &[Value],
) -> std::result::Result<Extracted, LimitError> {
    let names: Vec<&str> = pattern.capture_names().into_iter().flatten().collect();
    let mut found: Vec<(String, Vec<Value>)> =
        names.iter().map(|n| (n.to_string(), Vec::new())).collect();
    let mut offsets = Vec::new();
    let limit = if max_match == 0 {
        usize::MAX
    } else {
        max_match
    };
    let mut matches = 0;
    'values: for v in values {
        let text = v.text();
        for caps in pattern.captures_iter(&text) {
            if matches >= limit {
                break 'values;
            }
            let caps = caps?;
            matches += 1;
            for (name, vals) in found.iter_mut() {
                if let Some(m) = caps.name(name) {
                    vals.push(Value::str(m.as_str()));
                    let start = char_offset(&text, m.start);
                    let end = char_offset(&text, m.end);
                    offsets.push(format!("{name}={start}-{}", end as i64 - 1));
                }
            }
        }
    }
    Ok((found, offsets))
}

fn sed_value(sed: &Sed, text: &str) -> std::result::Result<String, LimitError> {
    match sed {
        Sed::Replace {
            pattern,
            replacement,
            nth,
        } => match pattern.ready() {
            None => Ok(text.to_string()),
            Some(regex) => Ok(regex.replace(text, replacement, *nth)?.into_owned()),
        },
        Sed::Translate { from, to } => Ok(text
            .chars()
            .map(|ch| match from.iter().rposition(|f| *f == ch) {
                Some(i) => to.get(i).copied().unwrap_or(ch),
                None => ch,
            })
            .collect()),
    }
}

impl Operator for RexOp {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let Some(v) = ev.get(&self.0.field) else {
            out.push(ev);
            return Ok(());
        };
        match &self.0.mode {
            RexMode::Extract {
                pattern,
                max_match,
                offset_field,
            } => {
                let Some(regex) = pattern.ready() else {
                    return Err(Diagnostic::at(
                        "this regular expression cannot run here",
                        self.0.span,
                    ));
                };
                let (found, offsets) = extract(regex, *max_match, v.values())
                    .map_err(|e| Diagnostic::at(e.to_string(), self.0.span))?;
                for (name, vals) in found {
                    if let Some(v) = Value::multi(vals) {
                        ev.set(name.as_str(), v);
                    }
                }
                if let (Some(f), false) = (offset_field, offsets.is_empty()) {
                    ev.set(f.as_str(), Value::str(offsets.join("&")));
                }
            }
            RexMode::Sed(sed) => {
                let mut edited: Vec<Value> = Vec::with_capacity(v.values().len());
                for x in v.values() {
                    let text = sed_value(sed, &x.text())
                        .map_err(|e| Diagnostic::at(e.to_string(), self.0.span))?;
                    edited.push(Value::str(text));
                }
                let field = self.0.field.clone();
                ev.set_opt(field.as_str(), Value::multi(edited));
            }
        }
        out.push(ev);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<Rex> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::Rex(r)) => Ok(r),
            other => panic!("not rex: {other:?}"),
        }
    }

    fn run(q: &str, field: &str, value: Value) -> Event {
        let r = parse(q).unwrap();
        let mut ev = Event::new();
        ev.set(field, value);
        let mut out = Vec::new();
        RexOp(r).push(ev, &mut out).unwrap();
        out.pop().unwrap()
    }

    #[test]
    fn parses_options_in_any_order() {
        let r = parse(r#"x | rex max_match=100 field=aceFlags "(?P<aceFlags>[A-Z]{2})""#).unwrap();
        assert_eq!(r.field, "aceFlags");
        assert!(matches!(r.mode, RexMode::Extract { max_match: 100, .. }));
        let r = parse(r#"x | rex "(?<user>\w+)" field=msg offset_field=off"#).unwrap();
        assert_eq!(r.field, "msg");
        assert!(matches!(
            r.mode,
            RexMode::Extract {
                offset_field: Some(_),
                ..
            }
        ));
        let r = parse(r#"x | rex field=a mode=sed "s/(\d+)/<\1>/g""#).unwrap();
        assert!(matches!(
            r.mode,
            RexMode::Sed(Sed::Replace { nth: None, .. })
        ));
        assert_eq!(parse(r#"x | rex "(?<a>.)""#).unwrap().field, "_raw");
    }

    #[test]
    fn refuses_bad_syntax() {
        let e = parse("x | rex field=a").unwrap_err();
        assert!(
            e.message.contains("a quoted regular expression"),
            "{}",
            e.message
        );
        let e = parse(r#"x | rex "(?<a>(x)""#).unwrap_err();
        assert!(e.message.contains("does not compile"), "{}", e.message);
        assert_eq!(e.span, Some(Span::new(8, 18)));
        let e = parse(r#"x | rex "(\d+)""#).unwrap_err();
        assert!(e.message.contains("no named group"), "{}", e.message);
        let e = parse(r#"x | rex "(?<a>x)(?=y" "#).unwrap_err();
        assert!(e.message.contains("does not compile"), "{}", e.message);
        let e = parse(r#"x | rex mode=sed "s/a/b""#).unwrap_err();
        assert!(e.message.contains("sed expression"), "{}", e.message);
        let e = parse(r#"x | rex mode=sed "y/ab/c/""#).unwrap_err();
        assert!(e.message.contains("same length"), "{}", e.message);
        let e = parse(r#"x | rex mode=perl "x""#).unwrap_err();
        assert_eq!(e.span, Some(Span::new(8, 17)));
        let e = parse(r#"x | rex feild=a "(?<a>x)""#).unwrap_err();
        assert!(e.message.contains("did you mean `field`"), "{}", e.message);
        let e = parse(r#"x | rex "(?<a>x)" "(?<b>y)""#).unwrap_err();
        assert_eq!(e.span.map(|s| s.start), Some(18));
    }

    #[test]
    fn pcre_only_patterns_run() {
        // look-around, backreferences, atomic groups, possessive quantifiers and `\K` run on the
        // backtracking engine
        for (q, field, input, want) in [
            (r#"x | rex "(?<a>x)(?=y)""#, "_raw", "xz xy", Some("x")),
            (r#"x | rex field=f "(?<a>\w+)(?<!s)$""#, "f", "cats", None),
            (
                r#"x | rex field=f "(?<a>\w+)(?<!s)$""#,
                "f",
                "dog",
                Some("dog"),
            ),
            (
                r#"x | rex "(?<a>(?<c>.)\k<c>)""#,
                "_raw",
                "abccd",
                Some("cc"),
            ),
            (r#"x | rex "(?<a>(?>ab|a)c)""#, "_raw", "abc", Some("abc")),
            (r#"x | rex "(?<a>(?>ab|a)c)""#, "_raw", "ac", Some("ac")),
            (r#"x | rex "(?<a>\d++)1""#, "_raw", "111", None),
            (r#"x | rex "foo\K(?<a>bar)""#, "_raw", "foobar", Some("bar")),
        ] {
            let r = parse(q).unwrap_or_else(|e| panic!("{q}: {}", e.message));
            assert!(r.refusals().is_empty(), "{q}");
            assert!(Command::Rex(r).is_runnable(), "{q}");
            let ev = run(q, field, input.into());
            assert_eq!(ev.get("a"), want.map(Value::str).as_ref(), "{q} on {input}");
        }
        let ev = run(
            r#"x | rex mode=sed "s/a(?=b)/x/g""#,
            "_raw",
            "ab ac ab".into(),
        );
        assert_eq!(ev.get("_raw"), Some(&Value::str("xb ac xb")));
        // what no engine here has is still refused when run, at the quoted pattern
        for (q, feature) in [
            (r#"x | rex "(?<a>\((?:[^()]|(?R))*\))""#, "recursion"),
            (r#"x | rex "(?<a>(?|x|y))""#, "branch reset groups"),
            (r#"x | rex "(?<a>a(*SKIP)b)""#, "backtracking verbs"),
            (
                r#"x | rex "(?<a>\w+)(?<=b+)""#,
                "look-behind of varying length",
            ),
            // the backtracking engine takes a numbered backreference only in a pattern without names
            (r#"x | rex "(?<a>(.)\2)""#, "backreferences"),
        ] {
            let r = parse(q).unwrap_or_else(|e| panic!("{q}: {}", e.message));
            let refusals = r.refusals();
            assert_eq!(refusals.len(), 1, "{q}");
            assert_eq!(refusals[0].name, format!("regex {feature}"), "{q}");
            assert_eq!(refusals[0].kind, RefusalKind::Feature);
            assert!(
                refusals[0]
                    .reason
                    .starts_with("unsupported regular expression in 'rex'"),
                "{}",
                refusals[0].reason
            );
            assert!(!Command::Rex(r).is_runnable(), "{q}");
        }
        let r = parse(r#"x | rex "(?<a>(?|x|y))""#).unwrap();
        assert_eq!(r.refusals()[0].span, Span::new(8, 23));
        match &r.mode {
            RexMode::Extract { pattern, .. } => assert_eq!(pattern.text(), "(?<a>(?|x|y))"),
            other => panic!("{other:?}"),
        }
        // a PCRE-only pattern still needs a named group to extract into
        let e = parse(r#"x | rex "x(?=y)""#).unwrap_err();
        assert!(e.message.contains("no named group"), "{}", e.message);
        assert!(parse(r#"x | rex "(?<a>x)""#).unwrap().refusals().is_empty());
    }

    #[test]
    fn hex_escapes_run() {
        // PCRE's `\x{HHHH}` and `\xHH` (security_content's RTLO detections use `\x{202E}`)
        let ev = run(
            r#"x | rex field=m "(?<a>.+)(?<rtlo>\\x{202E})(?<b>.+)""#,
            "m",
            "abc\u{202E}fdp.exe".into(),
        );
        assert_eq!(ev.get("a"), Some(&Value::str("abc")));
        assert_eq!(ev.get("b"), Some(&Value::str("fdp.exe")));
        let ev = run(r#"x | rex field=m "(?<c>\x41+)""#, "m", "xAAy".into());
        assert_eq!(ev.get("c"), Some(&Value::str("AA")));
        let ev = run(
            r#"x | rex field=m "(?<c>[\x30-\x39]+)""#,
            "m",
            "ab123c".into(),
        );
        assert_eq!(ev.get("c"), Some(&Value::str("123")));
    }

    #[test]
    fn extracts_named_groups() {
        let ev = run(
            r#"x | rex field=m "user=(?<user>\w+) id=(?<id>\d+)?""#,
            "m",
            "user=bob id=x".into(),
        );
        assert_eq!(ev.get("user"), Some(&Value::str("bob")));
        assert_eq!(ev.get("id"), None);
        let ev = run(
            r#"x | rex field=m max_match=0 "(?<n>\d)""#,
            "m",
            "a1b2c3".into(),
        );
        assert_eq!(ev.get("n").map(|v| v.to_string()), Some("1\n2\n3".into()));
        let ev = run(
            r#"x | rex field=m max_match=2 offset_field=o "(?<n>\d)""#,
            "m",
            "é1b2c3".into(),
        );
        assert_eq!(ev.get("o"), Some(&Value::str("n=1-1&n=3-3")));
        assert_eq!(ev.get("n").map(|v| v.values().len()), Some(2));
    }

    #[test]
    fn sed_edits() {
        let ev = run(
            r#"x | rex field=m mode=sed "s/(\d+)/<\1>/g""#,
            "m",
            "a1 b22".into(),
        );
        assert_eq!(ev.get("m"), Some(&Value::str("a<1> b<22>")));
        let ev = run(
            r#"x | rex field=m mode=sed "s/\d/#/2""#,
            "m",
            "1 2 3".into(),
        );
        assert_eq!(ev.get("m"), Some(&Value::str("1 # 3")));
        let ev = run(
            r#"x | rex field=m mode=sed "s/a\/b/x/""#,
            "m",
            "a/b a/b".into(),
        );
        assert_eq!(ev.get("m"), Some(&Value::str("x a/b")));
        let ev = run(
            r#"x | rex field=m mode=sed "y/abc/xyz/""#,
            "m",
            "aabbcc-d".into(),
        );
        assert_eq!(ev.get("m"), Some(&Value::str("xxyyzz-d")));
    }
}
