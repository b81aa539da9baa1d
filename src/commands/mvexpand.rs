//! `mvexpand` — one row per value of a multivalue field.
//!
//! ```text
//! mvexpand <field> [limit=<int>]
//! ```
//! Each row becomes one row per value of the field, in value order, each a copy of the row with the field
//! holding that single value; `limit` keeps only the first N values (0, the default, keeps all). A row
//! without the field has no values and so makes no row, as in Splunk (fill it first with `fillnull` to
//! keep it).
//!
//! Once the rows made add up to `max_mem_usage_mb` (limits.conf, 500 MB; `--mvexpand-max-mem`), the
//! output is truncated there with a warning, as in Splunk.

use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;

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
        let (field, opts) = c.options_and_field(&["limit"], "the multivalue field to expand")?;
        for (_, v, at) in opts {
            limit = v.parse().map_err(|_| {
                Diagnostic::at(format!("`limit` takes a whole number, not `{v}`"), at)
            })?;
        }
        super::end_of_args(c, "mvexpand", "`limit=`", &["limit"])?;
        Ok(MvExpand {
            field: field.ok_or_else(|| c.expected("the multivalue field to expand"))?,
            limit,
            span: name_span,
        })
    }
}

impl super::SplCommand for MvExpand {
    fn operator(&self, ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(MvExpandOp {
            cmd: self.clone(),
            limits: ctx.limits,
            made: 0,
            truncated: false,
            warnings: ctx.warnings.clone(),
        }))
    }
}

struct MvExpandOp {
    cmd: MvExpand,
    limits: crate::limits::Limits,
    /// Estimated bytes of the rows made so far.
    made: u64,
    /// Set once `max_mem_usage_mb` is reached: Splunk truncates mvexpand's output there, so later rows
    /// are dropped.
    truncated: bool,
    warnings: super::Warnings,
}

/// A row's size in memory, roughly: a slot per field plus its value's text; `but` is left out (the
/// expanded field, replaced in each row).
fn row_bytes(ev: &Event, but: &str) -> u64 {
    ev.iter()
        .filter(|(k, _)| k.as_ref() != but)
        .map(|(k, v)| {
            48 + k.len() as u64
                + v.values()
                    .iter()
                    .map(|x| 16 + x.text().len() as u64)
                    .sum::<u64>()
        })
        .sum()
}

impl Operator for MvExpandOp {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        if self.truncated {
            return Ok(());
        }
        let Some(v) = ev.get(&self.cmd.field) else {
            return Ok(());
        };
        let values = v.values().to_vec();
        let n = if self.cmd.limit == 0 {
            values.len()
        } else {
            self.cmd.limit.min(values.len())
        };
        let base = row_bytes(&ev, &self.cmd.field) + 64;
        for x in values.into_iter().take(n) {
            self.made += base + x.text().len() as u64;
            if self.made > self.limits.mvexpand_max_mem {
                self.truncated = true;
                self.warnings.warn(format!(
                    "mvexpand: output truncated at {} MB of rows (Splunk's max_mem_usage_mb, --mvexpand-max-mem)",
                    self.limits.mvexpand_max_mem >> 20
                ));
                return Ok(());
            }
            let mut row = ev.clone();
            row.set(self.cmd.field.as_str(), x);
            out.push(row);
        }
        self.limits.check_memory()
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
        let mut op = MvExpandOp {
            cmd: parse("x | mvexpand m limit=2").unwrap(),
            limits: Default::default(),
            made: 0,
            truncated: false,
            warnings: Default::default(),
        };
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
