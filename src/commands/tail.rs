//! `tail` — the last N rows, last first.
//!
//! ```text
//! tail [<N>]          N defaults to 10; 0 keeps nothing
//! ```
//! As Splunk does, the rows come out in reverse order: the last row of the input first. Memory holds at
//! most N rows.

use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;
use std::collections::VecDeque;

#[derive(Clone, Debug, PartialEq)]
pub struct Tail {
    pub count: usize,
    pub span: Span,
}

impl Tail {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Tail> {
        let mut count = 10;
        c.ws();
        if !c.at_stage_end() {
            let Some((w, span)) = c.bare() else {
                return Err(c.expected("a number of rows"));
            };
            count = w.parse().map_err(|_| {
                Diagnostic::at(format!("expected a number of rows, found `{w}`"), span)
            })?;
        }
        c.end_of_stage("tail")?;
        Ok(Tail {
            count,
            span: name_span,
        })
    }
}

impl super::SplCommand for Tail {
    fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(TailOp {
            count: self.count,
            rows: VecDeque::new(),
        }))
    }
}

struct TailOp {
    count: usize,
    rows: VecDeque<Event>,
}

impl Operator for TailOp {
    fn push(&mut self, ev: Event, _out: &mut Vec<Event>) -> Result<()> {
        if self.count == 0 {
            return Ok(());
        }
        if self.rows.len() == self.count {
            self.rows.pop_front();
        }
        self.rows.push_back(ev);
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        out.extend(self.rows.drain(..).rev());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<Tail> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::Tail(t)) => Ok(t),
            other => panic!("not tail: {other:?}"),
        }
    }

    #[test]
    fn parses_count() {
        assert_eq!(parse("x | tail").unwrap().count, 10);
        assert_eq!(parse("x | tail 3").unwrap().count, 3);
    }

    #[test]
    fn refuses_bad_count() {
        let e = parse("x | tail -3").unwrap_err();
        assert_eq!(e.span, Some(Span::new(9, 11)));
        let e = parse("x | tail 3 4").unwrap_err();
        assert_eq!(e.span.map(|s| s.start), Some(11));
    }

    #[test]
    fn keeps_the_last_rows_reversed() {
        let mut op = TailOp {
            count: 2,
            rows: VecDeque::new(),
        };
        let mut out = Vec::new();
        for i in 0..5 {
            let mut e = Event::new();
            e.set("i", crate::value::Value::Num(i as f64));
            op.push(e, &mut out).unwrap();
        }
        op.finish(&mut out).unwrap();
        let got: Vec<String> = out
            .iter()
            .map(|e| e.get("i").unwrap().to_string())
            .collect();
        assert_eq!(got, ["4", "3"]);
    }
}
