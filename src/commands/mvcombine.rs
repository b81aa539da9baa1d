//! `mvcombine` — merge rows that differ only in one field, making that field multivalue.
//!
//! ```text
//! mvcombine [delim=<string>] <field>
//! ```
//! Rows whose other fields (internal `_` fields aside, as Splunk ignores them here) have the same values
//! become one row: the first such row, with the field holding every value of the group, in input order
//! (duplicates kept). A row without the field joins its group without adding a value. Groups come out in
//! the order their first row arrived; the command holds all rows until its input ends.
//! `delim` is accepted: in Splunk it only shapes the single-value form that `nomv` shows, and spelunk
//! keeps the multivalue.

use super::{Context, Operator, SubRunner};
use crate::diag::Result;
use crate::diag::Span;
use crate::event::Event;
use crate::parse::Cursor;
use crate::value::Value;
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq)]
pub struct MvCombine {
    pub field: String,
    pub delim: String,
    pub span: Span,
}

impl MvCombine {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<MvCombine> {
        let mut delim = " ".to_string();
        let (field, opts) = c.options_and_field(&["delim"], "the field to combine")?;
        for (_, v, _) in opts {
            delim = v;
        }
        super::end_of_args(c, "mvcombine", "`delim=`", &["delim"])?;
        Ok(MvCombine {
            field: field.ok_or_else(|| c.expected("the field to combine"))?,
            delim,
            span: name_span,
        })
    }
}

impl super::SplCommand for MvCombine {
    fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(MvCombineOp {
            field: self.field.clone(),
            index: HashMap::new(),
            groups: Vec::new(),
        }))
    }
}

struct MvCombineOp {
    field: String,
    index: HashMap<Vec<(String, String)>, usize>,
    groups: Vec<(Event, Vec<Value>)>,
}

impl Operator for MvCombineOp {
    fn push(&mut self, mut ev: Event, _out: &mut Vec<Event>) -> Result<()> {
        let mut key: Vec<(String, String)> = ev
            .iter()
            .filter(|(k, _)| !k.starts_with('_') && k.as_ref() != self.field)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        key.sort();
        let values: Vec<Value> = ev
            .remove(&self.field)
            .map(|v| v.values().to_vec())
            .unwrap_or_default();
        match self.index.get(&key) {
            Some(&i) => {
                if let Some(g) = self.groups.get_mut(i) {
                    g.1.extend(values);
                }
            }
            None => {
                self.index.insert(key, self.groups.len());
                // keep the field's place in the row
                let mut first = ev;
                first.set(self.field.as_str(), Value::str(""));
                self.groups.push((first, values));
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        self.index.clear();
        for (mut row, values) in self.groups.drain(..) {
            row.set_opt(self.field.as_str(), Value::multi(values));
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

    fn parse(q: &str) -> Result<MvCombine> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::MvCombine(m)) => Ok(m),
            other => panic!("not mvcombine: {other:?}"),
        }
    }

    #[test]
    fn parses() {
        let m = parse("x | mvcombine delim=\",\" host").unwrap();
        assert_eq!((m.field.as_str(), m.delim.as_str()), ("host", ","));
        assert_eq!(parse("x | mvcombine host").unwrap().delim, " ");
    }

    #[test]
    fn refuses_bad_syntax() {
        let e = parse("x | mvcombine").unwrap_err();
        assert!(e.message.contains("the field to combine"), "{}", e.message);
        let e = parse("x | mvcombine a b").unwrap_err();
        assert_eq!(e.span.map(|s| s.start), Some(16));
        let e = parse("x | mvcombine delm=, a").unwrap_err();
        assert!(e.message.contains("did you mean `delim`"), "{}", e.message);
    }
}
