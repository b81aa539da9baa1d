//! `regex` — keep rows whose field matches (or does not match) a regular expression.
//!
//! ```text
//! regex [<field>=|<field>!=]"<regex>"
//! ```
//! Spaces may stand around `=` and `!=`.
//! The field defaults to `_raw`. The match is unanchored; a multivalue field matches when any value
//! does. With `=` a row without the field is dropped; with `!=` it is kept (it does not match). The
//! regex is compiled once, as for `rex` (see `crate::pcre`: look-around and backreferences run on the
//! bounded backtracking engine; a valid PCRE pattern that no engine here runs, such as one with
//! recursion, parses and is refused when run). An unquoted regex runs to the end of the stage.

use super::rex::Regexp;
use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;

#[derive(Clone, Debug, PartialEq)]
pub struct Regex {
    pub field: String,
    pub negated: bool,
    pub pattern: Regexp,
    pub span: Span,
}

impl Regex {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Regex> {
        c.ws();
        let mut field = "_raw".to_string();
        let mut negated = false;
        if !c.at('"') {
            let save = c.pos;
            if let Some((f, _)) = c.bare() {
                // spaces around the operator are allowed (`regex file_name = "\\x{202E}"`)
                c.ws();
                if c.eat('=') {
                    field = f.to_string();
                } else if c.rest().starts_with("!=") {
                    c.pos += 2;
                    field = f.to_string();
                    negated = true;
                } else {
                    c.pos = save;
                }
            }
        }
        c.ws();
        let (text, span) = if c.at('"') {
            c.quoted()?
        } else {
            let (t, s) = c.stage_text()?;
            let trimmed = t.trim_end();
            (
                trimmed.to_string(),
                Span::new(s.start, s.start + trimmed.len()),
            )
        };
        if text.is_empty() {
            return Err(Diagnostic::at("expected a regular expression", span));
        }
        c.end_of_stage("regex")?;
        Ok(Regex {
            field,
            negated,
            pattern: Regexp::compile(&text, span)?,
            span: name_span,
        })
    }
}

impl super::SplCommand for Regex {
    fn kind(&self) -> super::Kind {
        super::Kind::Streaming
    }

    fn refusals(&self) -> Vec<super::Refusal> {
        self.pattern.refusals("regex")
    }

    fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        if let Some(r) = self.pattern.refusals("regex").into_iter().next() {
            return Err(Diagnostic::at(r.reason, r.span));
        }
        let Some(regex) = self.pattern.ready() else {
            return Err(Diagnostic::at(
                "this regular expression cannot run here",
                self.span,
            ));
        };
        Ok(Box::new(RegexOp {
            field: self.field.clone(),
            negated: self.negated,
            regex: regex.clone(),
            span: self.span,
        }))
    }
}

struct RegexOp {
    field: String,
    negated: bool,
    regex: crate::pcre::Pcre,
    span: Span,
}

impl Operator for RegexOp {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let mut matched = false;
        if let Some(v) = ev.get(&self.field) {
            for x in v.values() {
                if self
                    .regex
                    .is_match(&x.text())
                    .map_err(|e| Diagnostic::at(e.to_string(), self.span))?
                {
                    matched = true;
                    break;
                }
            }
        }
        if matched != self.negated {
            out.push(ev);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<Regex> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::Regex(r)) => Ok(r),
            other => panic!("not regex: {other:?}"),
        }
    }

    #[test]
    fn parses_field_and_operator() {
        let r = parse(r#"x | regex "^\d+$""#).unwrap();
        assert_eq!((r.field.as_str(), r.negated), ("_raw", false));
        let r = parse(r#"x | regex user!="^svc-""#).unwrap();
        assert_eq!((r.field.as_str(), r.negated), ("user", true));
        let p = parse_query(r#"x | regex _raw="(?i)error" | head 1"#).unwrap();
        assert_eq!(p.stages.len(), 3);
        let r = parse(r#"x | regex src=^10\. "#).unwrap();
        assert_eq!(r.pattern.text(), r"^10\.");
    }

    #[test]
    fn pcre_only_patterns_run_and_what_no_engine_has_is_refused() {
        let r = parse(r#"x | regex f="^(?!\d)\w+$""#).unwrap();
        assert_eq!(r.pattern.text(), r"^(?!\d)\w+$");
        assert!(Command::Regex(r.clone()).refusals().is_empty());
        let re = r.pattern.ready().unwrap();
        assert_eq!(re.is_match("abc"), Ok(true));
        assert_eq!(re.is_match("1bc"), Ok(false));
        let r = parse(r#"x | regex f="^(?|a|b)$""#).unwrap();
        let refusals = Command::Regex(r.clone()).refusals();
        assert_eq!(refusals.len(), 1);
        assert_eq!(refusals[0].name, "regex branch reset groups");
        assert_eq!(refusals[0].span, Span::new(12, 23));
        assert!(!Command::Regex(r).is_runnable());
        // escapes PCRE reads as hex characters run
        let r = parse(r#"x | regex file_name = "\\x{202E}""#).unwrap();
        assert!(Command::Regex(r.clone()).is_runnable());
        assert!(r
            .pattern
            .ready()
            .is_some_and(|re| re.is_match("a\u{202E}b") == Ok(true)));
    }

    #[test]
    fn refuses_bad_syntax() {
        let e = parse("x | regex").unwrap_err();
        assert!(
            e.message.contains("expected a regular expression"),
            "{}",
            e.message
        );
        let e = parse(r#"x | regex a="(""#).unwrap_err();
        assert_eq!(e.span, Some(Span::new(12, 15)));
        let e = parse(r#"x | regex a="x" b"#).unwrap_err();
        assert_eq!(e.span.map(|s| s.start), Some(16));
    }
}
