//! `mvexpand` — one row per value of a multivalue field.
//!
//! ```text
//! mvexpand <field> [limit=<int>]
//! ```
//! Each row becomes one row per value of the field, in value order, each a copy of the row with the field
//! holding that single value; `limit` keeps only the first N values (0, the default, keeps all). A row
//! without the field has no values and so makes no row, as in Splunk (fill it first with `fillnull` to
//! keep it).

use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;

/// Whether spelunk runs this command (`check` reports the others as unsupported).
pub const RUNNABLE: bool = true;

#[derive(Clone, Debug, PartialEq)]
pub struct MvExpand {
    pub field: String,
    /// 0: every value.
    pub limit: usize,
    pub span: Span,
}

impl MvExpand {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<MvExpand> {
        let mut limit = 0;
        let mut field = None;
        loop {
            for (_, v, at) in c.options(&["limit"])? {
                limit = v.parse().map_err(|_| {
                    Diagnostic::at(format!("`limit` takes a whole number, not `{v}`"), at)
                })?;
            }
            c.ws();
            if field.is_none() && !c.at_stage_end() {
                let save = c.pos;
                let is_option = c.bare().is_some() && c.at('=');
                c.pos = save;
                if !is_option {
                    field = Some(c.field("the multivalue field to expand")?.0);
                    continue;
                }
            }
            break;
        }
        super::end_of_args(c, "mvexpand", "`limit=`", &["limit"])?;
        Ok(MvExpand {
            field: field.ok_or_else(|| c.expected("the multivalue field to expand"))?,
            limit,
            span: name_span,
        })
    }

    pub fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(MvExpandOp(self.clone())))
    }
}

struct MvExpandOp(MvExpand);

impl Operator for MvExpandOp {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let Some(v) = ev.get(&self.0.field) else {
            return Ok(());
        };
        let values = v.values().to_vec();
        let n = if self.0.limit == 0 {
            values.len()
        } else {
            self.0.limit.min(values.len())
        };
        for x in values.into_iter().take(n) {
            let mut row = ev.clone();
            row.set(self.0.field.as_str(), x);
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
    use crate::value::Value;

    fn parse(q: &str) -> Result<MvExpand> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::MvExpand(m)) => Ok(m),
            other => panic!("not mvexpand: {other:?}"),
        }
    }

    #[test]
    fn parses() {
        let m = parse("x | mvexpand resources{}.ARN limit=2").unwrap();
        assert_eq!((m.field.as_str(), m.limit), ("resources{}.ARN", 2));
        assert_eq!(parse("x | mvexpand limit=1 a").unwrap().field, "a");
    }

    #[test]
    fn refuses_bad_syntax() {
        let e = parse("x | mvexpand").unwrap_err();
        assert!(e.message.contains("multivalue field"), "{}", e.message);
        let e = parse("x | mvexpand a limit=x").unwrap_err();
        assert_eq!(e.span, Some(Span::new(15, 22)));
        let e = parse("x | mvexpand a b").unwrap_err();
        assert_eq!(e.span.map(|s| s.start), Some(15));
    }

    #[test]
    fn expands_values() {
        let mut ev = Event::new();
        ev.set("k", Value::str("x"));
        ev.set(
            "m",
            Value::multi(vec!["a".into(), "b".into(), "c".into()]).unwrap(),
        );
        let mut out = Vec::new();
        let mut op = MvExpandOp(parse("x | mvexpand m limit=2").unwrap());
        op.push(ev, &mut out).unwrap();
        op.push(Event::new(), &mut out).unwrap();
        let got: Vec<String> = out
            .iter()
            .map(|e| e.get("m").unwrap().to_string())
            .collect();
        assert_eq!(got, ["a", "b"]);
        assert_eq!(out[1].get("k"), Some(&Value::str("x")));
    }
}
