//! `spath` — extract fields from JSON text.
//!
//! ```text
//! spath [input=<field>] [output=<field>] [path=<datapath> | <datapath>]
//! ```
//! - `input` defaults to `_raw`; an event without it is passed on unchanged. A multivalue input is read
//!   from its first value.
//! - With a path, the values it leads to go into `output` (default: the path as written). Paths are
//!   dotted keys with array steps: `a.b{}.c` takes every element of `b`, `a{2}` the second (XPath-style,
//!   counting from 1; `{-1}` is the last). Several values make a multivalue; an object or array comes out
//!   as its JSON text; a JSON `null` or a path that leads nowhere leaves `output` as it was.
//! - Without a path, every leaf of the JSON becomes a field named by its path, as KV_MODE=json names
//!   them (`userIdentity.arn`, `resources{}.ARN`), replacing fields of the same name.
//!
//! Refused: `output=` without a path (Splunk ignores it; here it is an error, since the field would never
//! be set). Not done: XML input (Splunk's spath also reads XML; here text that is not JSON extracts
//! nothing), and the 5,000-byte `extraction_cutoff` of the extract-all form (spelunk reads the whole text).

use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::input::json::{flatten, Flat};
use crate::parse::Cursor;

#[derive(Clone, Debug, PartialEq)]
pub struct Spath {
    pub input: String,
    pub output: Option<String>,
    pub path: Option<String>,
    pub span: Span,
}

impl Spath {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Spath> {
        let mut out = Spath {
            input: "_raw".into(),
            output: None,
            path: None,
            span: name_span,
        };
        let mut output_span = name_span;
        loop {
            for (k, v, span) in c.options(&["input", "output", "path"])? {
                match k.as_str() {
                    "input" => out.input = v,
                    "output" => {
                        out.output = Some(v);
                        output_span = span;
                    }
                    _ => {
                        if out.path.is_some() {
                            return Err(Diagnostic::at("`spath` takes one path", span));
                        }
                        out.path = Some(v);
                    }
                }
            }
            if c.at_stage_end() {
                break;
            }
            // a bare path: `spath userIdentity.arn`
            let (p, span) = c.value("a path, or `input=`, `output=` or `path=`")?;
            if out.path.is_some() {
                return Err(Diagnostic::at(
                    format!("`spath` takes one path; `{p}` is a second one"),
                    span,
                ));
            }
            out.path = Some(p);
        }
        if out.output.is_some() && out.path.is_none() {
            return Err(Diagnostic::at(
                "`output=` needs a path to extract (`spath output=<field> path=<datapath>`)",
                output_span,
            ));
        }
        Ok(out)
    }
}

impl super::SplCommand for Spath {
    fn kind(&self) -> super::Kind {
        super::Kind::Streaming
    }

    fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(SpathOp {
            spath: self.clone(),
            flat: Flat::default(),
        }))
    }
}

struct SpathOp {
    spath: Spath,
    flat: Flat,
}

impl Operator for SpathOp {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let Some(doc) = ev.get(&self.spath.input).map(|v| v.text().into_owned()) else {
            out.push(ev);
            return Ok(());
        };
        match &self.spath.path {
            Some(path) => {
                if let Some(v) = crate::eval::spath(&doc, path) {
                    let name = self.spath.output.as_deref().unwrap_or(path);
                    ev.set(name, v);
                }
            }
            None => {
                // text that is not a JSON object extracts nothing
                if flatten(&doc, &mut self.flat).is_ok() {
                    for (name, v) in self.flat.drain() {
                        ev.set(name, v);
                    }
                }
            }
        }
        out.push(ev);
        Ok(())
    }
}
