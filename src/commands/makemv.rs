//! `makemv` — split a field's value into a multivalue field.
//!
//! ```text
//! makemv [delim=<string> | tokenizer=<regex>] [allowempty=<bool>] <field>
//! ```
//! `delim` (default a single space; several characters allowed) splits the value at every occurrence.
//! `tokenizer` matches a regex over and over; each match gives the text of its first group (the whole
//! match when it has none). Empty pieces (two delimiters in a row, or an empty match) are dropped unless
//! `allowempty=t`. A value that is already multivalue has each value split. When nothing is left the field
//! is removed (null). Internal fields (`_raw`, `_time` ...) are left alone, as in Splunk.
//! Refused: `setsv=t`.

use super::rex::compile;
use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;
use crate::pcre::Pcre;
use crate::value::Value;

#[derive(Clone, Debug, PartialEq)]
pub enum Splitter {
    Delim(String),
    Tokenizer(Pcre),
}

#[derive(Clone, Debug, PartialEq)]
pub struct MakeMv {
    pub field: String,
    pub splitter: Splitter,
    pub allowempty: bool,
    pub span: Span,
}

const OPTIONS: &[&str] = &["delim", "tokenizer", "allowempty", "setsv"];

impl MakeMv {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<MakeMv> {
        let mut splitter = None;
        let mut allowempty = false;
        let mut field = None;
        loop {
            for (k, v, at) in c.options(OPTIONS)? {
                match k.as_str() {
                    "delim" | "tokenizer" if splitter.is_some() => {
                        return Err(Diagnostic::at(
                            "give either `delim` or `tokenizer`, once",
                            at,
                        ))
                    }
                    "delim" => {
                        if v.is_empty() {
                            return Err(Diagnostic::at("`delim` must not be empty", at));
                        }
                        splitter = Some(Splitter::Delim(v));
                    }
                    "tokenizer" => {
                        let vstart = at.start + "tokenizer=".len();
                        splitter = Some(Splitter::Tokenizer(compile(
                            &v,
                            Span::new(vstart, at.end),
                            "makemv",
                        )?));
                    }
                    "allowempty" => allowempty = crate::parse::flag("allowempty", &v, at)?,
                    _ => {
                        if crate::parse::parse_bool(&v) != Some(false) {
                            return Err(Diagnostic::at("`makemv setsv=` is not supported yet", at));
                        }
                    }
                }
            }
            c.ws();
            if field.is_none() && !c.at_stage_end() && !c.at_option() {
                field = Some(c.field("the field to split")?.0);
                continue;
            }
            break;
        }
        super::end_of_args(c, "makemv", "an option", OPTIONS)?;
        Ok(MakeMv {
            field: field.ok_or_else(|| c.expected("the field to split"))?,
            splitter: splitter.unwrap_or(Splitter::Delim(" ".into())),
            allowempty,
            span: name_span,
        })
    }
}

impl super::SplCommand for MakeMv {
    fn kind(&self) -> super::Kind {
        super::Kind::Streaming
    }

    fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(MakeMvOp(self.clone())))
    }
}

struct MakeMvOp(MakeMv);

impl MakeMvOp {
    fn split(&self, text: &str, out: &mut Vec<Value>) -> Result<()> {
        let keep = |p: &str| self.0.allowempty || !p.is_empty();
        match &self.0.splitter {
            Splitter::Delim(d) => {
                out.extend(text.split(d.as_str()).filter(|p| keep(p)).map(Value::str))
            }
            Splitter::Tokenizer(p) => {
                for caps in p.captures_iter(text) {
                    let caps = caps.map_err(|e| Diagnostic::new(e.to_string()))?;
                    let piece = caps
                        .get(1)
                        .or_else(|| caps.get(0))
                        .map_or("", |m| m.as_str());
                    if keep(piece) {
                        out.push(Value::str(piece));
                    }
                }
            }
        }
        Ok(())
    }
}

impl Operator for MakeMvOp {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        if !self.0.field.starts_with('_') {
            if let Some(v) = ev.get(&self.0.field) {
                let mut parts = Vec::new();
                for x in v.values() {
                    self.split(&x.text(), &mut parts)?;
                }
                let field = self.0.field.clone();
                ev.set_opt(field.as_str(), Value::multi(parts));
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

    fn parse(q: &str) -> Result<MakeMv> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::MakeMv(m)) => Ok(m),
            other => panic!("not makemv: {other:?}"),
        }
    }

    fn split(q: &str, text: &str) -> Option<String> {
        let mut ev = Event::new();
        ev.set("f", Value::str(text));
        let mut out = Vec::new();
        MakeMvOp(parse(q).unwrap()).push(ev, &mut out).unwrap();
        out.pop().and_then(|e| {
            e.get("f").map(|v| {
                v.values()
                    .iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join("|")
            })
        })
    }

    #[test]
    fn parses() {
        let m = parse("x | makemv delim=\" \" Scope").unwrap();
        assert_eq!(
            (m.field.as_str(), &m.splitter),
            ("Scope", &Splitter::Delim(" ".into()))
        );
        let m = parse("x | makemv current_answer").unwrap();
        assert_eq!(m.splitter, Splitter::Delim(" ".into()));
        let m = parse("x | makemv tokenizer=\"([^,]+),?\" allowempty=t f").unwrap();
        assert!(matches!(m.splitter, Splitter::Tokenizer(_)) && m.allowempty);
    }

    #[test]
    fn refuses_bad_syntax() {
        let e = parse("x | makemv").unwrap_err();
        assert!(e.message.contains("the field to split"), "{}", e.message);
        let e = parse("x | makemv delim=\";\" tokenizer=\"(a)\" f").unwrap_err();
        assert!(e.message.contains("either"), "{}", e.message);
        let e = parse("x | makemv tokenizer=\"(a\" f").unwrap_err();
        assert_eq!(e.span, Some(Span::new(21, 25)));
        let e = parse("x | makemv setsv=t f").unwrap_err();
        assert!(e.message.contains("setsv"), "{}", e.message);
        let e = parse("x | makemv delm=, f").unwrap_err();
        assert!(e.message.contains("did you mean `delim`"), "{}", e.message);
    }

    #[test]
    fn splits() {
        assert_eq!(
            split("x | makemv delim=\",\" f", "a,,b").as_deref(),
            Some("a|b")
        );
        assert_eq!(
            split("x | makemv delim=\",\" allowempty=t f", "a,,b").as_deref(),
            Some("a||b")
        );
        assert_eq!(
            split("x | makemv delim=\"::\" f", "a::b::c").as_deref(),
            Some("a|b|c")
        );
        assert_eq!(
            split("x | makemv tokenizer=\"([^,]+),?\" f", "x,y,z").as_deref(),
            Some("x|y|z")
        );
        assert_eq!(split("x | makemv f", "").as_deref(), None);
    }
}
