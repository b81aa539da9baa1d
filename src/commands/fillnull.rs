//! `fillnull` — give null (absent) fields a value.
//!
//! ```text
//! fillnull [value=<string>] [<field> [[,] <field>]...]
//! ```
//! `value` defaults to `0`. With fields named, each row missing one of them gets it, set to the value;
//! rows stream through. Without a list, the fields are every field that any row of the results has
//! (internal `_` fields aside), so the command holds all rows until the end of its input; a field that no
//! row has stays absent. The filled fields go after the row's own fields, in the order the list names
//! them or, without a list, the order the fields first appeared. An empty string is a value and is kept.

use super::{Context, Operator, SubRunner};
use crate::diag::Result;
use crate::diag::Span;
use crate::event::{Event, Field};
use crate::parse::Cursor;
use crate::value::Value;
use std::collections::HashSet;

#[derive(Clone, Debug, PartialEq)]
pub struct FillNull {
    pub value: String,
    /// Empty: every field seen in the results.
    pub fields: Vec<String>,
    pub span: Span,
}

impl FillNull {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<FillNull> {
        let mut value = "0".to_string();
        for (_, v, _) in c.options(&["value"])? {
            value = v;
        }
        let mut fields = Vec::new();
        loop {
            c.ws();
            if c.eat(',') {
                continue;
            }
            let save = c.pos;
            if c.bare().is_some() && c.at('=') {
                c.pos = save;
                break;
            }
            c.pos = save;
            match c.try_field()? {
                Some((f, _)) => fields.push(f),
                None => break,
            }
        }
        super::end_of_args(c, "fillnull", "a field name", &["value"])?;
        Ok(FillNull {
            value,
            fields,
            span: name_span,
        })
    }
}

impl super::SplCommand for FillNull {
    fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(FillNullOp {
            value: Value::str(&self.value),
            fields: self
                .fields
                .iter()
                .map(|f| Field::from(f.as_str()))
                .collect(),
            all: self.fields.is_empty(),
            seen: HashSet::new(),
            rows: Vec::new(),
        }))
    }
}

struct FillNullOp {
    value: Value,
    fields: Vec<Field>,
    /// No list: collect the field names of every row and fill at the end.
    all: bool,
    seen: HashSet<Field>,
    rows: Vec<Event>,
}

impl FillNullOp {
    fn fill(&self, ev: &mut Event) {
        for f in &self.fields {
            if !ev.contains(f) {
                ev.set(f.clone(), self.value.clone());
            }
        }
    }
}

impl Operator for FillNullOp {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        if !self.all {
            self.fill(&mut ev);
            out.push(ev);
            return Ok(());
        }
        for name in ev.names() {
            if !name.starts_with('_') && !self.seen.contains(name) {
                self.seen.insert(name.clone());
                self.fields.push(name.clone());
            }
        }
        self.rows.push(ev);
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        let mut rows = std::mem::take(&mut self.rows);
        for ev in &mut rows {
            self.fill(ev);
        }
        out.extend(rows);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<FillNull> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::FillNull(f)) => Ok(f),
            other => panic!("not fillnull: {other:?}"),
        }
    }

    #[test]
    fn parses_value_and_fields() {
        let f = parse("x | fillnull").unwrap();
        assert_eq!((f.value.as_str(), f.fields.len()), ("0", 0));
        let f = parse("x | fillnull value=NULL").unwrap();
        assert_eq!(f.value, "NULL");
        let f = parse("x | fillnull value=0 unique_accounts, unique_src").unwrap();
        assert_eq!(f.fields, ["unique_accounts", "unique_src"]);
        let f = parse("x | fillnull value=\"n/a\" a").unwrap();
        assert_eq!((f.value.as_str(), f.fields.len()), ("n/a", 1));
    }

    #[test]
    fn refuses_bad_syntax() {
        let e = parse("x | fillnull vale=1").unwrap_err();
        assert!(e.message.contains("did you mean `value`"), "{}", e.message);
        assert_eq!(e.span.map(|s| s.start), Some(13));
        let e = parse("x | fillnull a = b").unwrap_err();
        assert_eq!(e.span.map(|s| s.start), Some(15));
    }
}
