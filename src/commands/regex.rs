//! `regex` — keep rows whose field matches (or does not match) a regular expression.
//!
//! ```text
//! regex [<field>=|<field>!=]"<regex>"
//! ```
//! The field defaults to `_raw`. The match is unanchored; a multivalue field matches when any value
//! does. With `=` a row without the field is dropped; with `!=` it is kept (it does not match). The
//! regex is compiled once, as for `rex` (PCRE habits rewritten, look-around refused). An unquoted regex
//! runs to the end of the stage.

use super::rex::{compile, Pattern};
use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;

/// Whether spelunk runs this command (`check` reports the others as unsupported).
pub const RUNNABLE: bool = true;

#[derive(Clone, Debug, PartialEq)]
pub struct Regex {
    pub field: String,
    pub negated: bool,
    pub pattern: Pattern,
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
            pattern: compile(&text, span)?,
            span: name_span,
        })
    }

    pub fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(RegexOp(self.clone())))
    }
}

struct RegexOp(Regex);

impl Operator for RegexOp {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let matched = ev.get(&self.0.field).is_some_and(|v| {
            v.values()
                .iter()
                .any(|x| self.0.pattern.regex.is_match(&x.text()))
        });
        if matched != self.0.negated {
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
        assert_eq!(r.pattern.text, r"^10\.");
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
