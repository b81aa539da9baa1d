//! `makeresults` — generate rows (a generating command).
//!
//! ```text
//! | makeresults [count=<int>] [annotate=<bool>] [splunk_server=<string>] [splunk_server_group=<string>]
//! ```
//! Makes `count` rows (default 1), each with only `_time`, the search's start time in whole seconds (so
//! `--now` makes it reproducible). `annotate=t` adds `splunk_server=local`; Splunk's other annotated
//! fields (`_raw`, `host`, `source`, `sourcetype`, `splunk_server_group`) are null there, so they do not
//! exist as fields here either. `splunk_server*` are accepted and ignored (there is one server).
//! It must start the search (`| makeresults`, also inside `[ ... ]`).
//! Refused: `format=csv|json` with `data=` (inline rows).

use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;
use crate::value::Value;

#[derive(Clone, Debug, PartialEq)]
pub struct MakeResults {
    pub count: u64,
    pub annotate: bool,
    pub span: Span,
}

/// Is the command at `name_span` the first of its search (text before it is only `|`, after the start of
/// the query or a `[`)?
fn starts_search(src: &str, name_span: Span) -> bool {
    let before = src.get(..name_span.start).unwrap_or("").trim_end();
    let Some(before) = before.strip_suffix('|') else {
        return false;
    };
    let before = before.trim_end();
    before.is_empty() || before.ends_with('[')
}

impl MakeResults {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<MakeResults> {
        if !starts_search(c.src, name_span) {
            return Err(Diagnostic::at(
                "`makeresults` makes its own rows: it must be the first command (`| makeresults ...`)",
                name_span,
            ));
        }
        let mut out = MakeResults {
            count: 1,
            annotate: false,
            span: name_span,
        };
        let known = [
            "count",
            "annotate",
            "splunk_server",
            "splunk_server_group",
            "format",
            "data",
        ];
        for (k, v, span) in c.options(&known)? {
            match k.as_str() {
                "count" => {
                    out.count = v.parse().map_err(|_| {
                        Diagnostic::at(format!("`count` takes a whole number, not `{v}`"), span)
                    })?
                }
                "annotate" => out.annotate = crate::parse::flag("annotate", &v, span)?,
                "format" | "data" => {
                    return Err(Diagnostic::at(
                        format!("`makeresults {k}=` (inline rows) is not supported yet"),
                        span,
                    ))
                }
                _ => {}
            }
        }
        super::end_of_args(c, "makeresults", "`count=` or `annotate=`", &known)?;
        Ok(out)
    }
}

impl super::SplCommand for MakeResults {
    fn kind(&self) -> super::Kind {
        super::Kind::Generating
    }

    fn operator(&self, ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(MakeResultsOp {
            left: self.count,
            annotate: self.annotate,
            time: ctx.eval.now.floor(),
            limits: ctx.limits,
        }))
    }
}

struct MakeResultsOp {
    left: u64,
    annotate: bool,
    time: f64,
    limits: crate::limits::Limits,
}

impl Operator for MakeResultsOp {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        out.push(ev);
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        while self.left > 0 {
            self.left -= 1;
            if self.left.is_multiple_of(4096) {
                self.limits.check_memory()?;
            }
            let mut row = Event::with_capacity(2);
            row.set("_time", Value::Num(self.time));
            if self.annotate {
                row.set("splunk_server", Value::str("local"));
            }
            out.push(row);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<MakeResults> {
        let p = parse_query(q)?;
        match p.stages.into_iter().next().map(|s| s.command) {
            Some(Command::MakeResults(m)) => Ok(m),
            other => panic!("not makeresults: {other:?}"),
        }
    }

    #[test]
    fn parses_count_and_annotate() {
        let m = parse("| makeresults count=3 annotate=t").unwrap();
        assert_eq!((m.count, m.annotate), (3, true));
        assert_eq!(parse("| makeresults").unwrap().count, 1);
        assert!(parse_query("search [| makeresults count=2 | eval user=\"a\"]").is_ok());
    }

    #[test]
    fn refuses_bad_syntax() {
        let e = parse("| makeresults count=x").unwrap_err();
        assert_eq!(e.span, Some(Span::new(14, 21)));
        let e = parse("| makeresults cont=3").unwrap_err();
        assert!(e.message.contains("did you mean `count`"), "{}", e.message);
        assert_eq!(e.span.map(|s| s.start), Some(14));
        let e = parse_query("search x | makeresults").unwrap_err();
        assert!(e.message.contains("first command"), "{}", e.message);
    }
}
