//! `addtotals` — sum numeric fields across each row, and optionally down each column.
//!
//! ```text
//! addtotals [row=<bool>] [col=<bool>] [labelfield=<field>] [label=<string>] [fieldname=<field>]
//!           [<field> [[,] <field>]...]
//! ```
//! `row=t` (the default) sets `fieldname` (default `Total`) on each row to the sum of the row's fields
//! that hold a number: the listed fields (wildcards allowed) or, without a list, every field except the
//! internal `_` ones. A row with no such field gets no total. `col=t` adds a last row holding, for each of
//! those fields (the row total included), the sum of its numbers over all rows; `labelfield` names a
//! field of that row set to `label` (default `Total`). With `col=t` the command holds all rows until its
//! input ends.

use super::{wildcard_match, Context, Operator, SubRunner};
use crate::diag::{Result, Span};
use crate::event::{Event, Field};
use crate::parse::Cursor;
use crate::value::Value;

const OPTIONS: &[&str] = &["row", "col", "labelfield", "label", "fieldname"];

#[derive(Clone, Debug, PartialEq)]
pub struct AddTotals {
    pub row: bool,
    pub col: bool,
    pub labelfield: Option<String>,
    pub label: String,
    pub fieldname: String,
    /// Empty: every non-internal field.
    pub fields: Vec<String>,
    pub span: Span,
}

impl AddTotals {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<AddTotals> {
        let mut a = AddTotals {
            row: true,
            col: false,
            labelfield: None,
            label: "Total".into(),
            fieldname: "Total".into(),
            fields: Vec::new(),
            span: name_span,
        };
        loop {
            for (k, v, at) in c.options(OPTIONS)? {
                let flag = || crate::parse::flag(&k, &v, at);
                match k.as_str() {
                    "row" => a.row = flag()?,
                    "col" => a.col = flag()?,
                    "labelfield" => a.labelfield = Some(v),
                    "label" => a.label = v,
                    _ => a.fieldname = v,
                }
            }
            c.ws();
            if c.eat(',') {
                continue;
            }
            if c.at_option() {
                break;
            }
            match c.try_field()? {
                Some((f, _)) => a.fields.push(f),
                None => break,
            }
        }
        super::end_of_args(c, "addtotals", "a field name", OPTIONS)?;
        Ok(a)
    }
}

impl super::SplCommand for AddTotals {
    fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(AddTotalsOp {
            a: self.clone(),
            sums: Vec::new(),
            rows: Vec::new(),
        }))
    }
}

struct AddTotalsOp {
    a: AddTotals,
    /// Column sums in order of first appearance (`col=t`).
    sums: Vec<(Field, f64)>,
    rows: Vec<Event>,
}

impl AddTotalsOp {
    fn counts(&self, name: &str) -> bool {
        if self.a.fields.is_empty() {
            !name.starts_with('_')
        } else {
            self.a.fields.iter().any(|p| wildcard_match(p, name))
        }
    }
}

impl Operator for AddTotalsOp {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        if self.a.row {
            let mut total = None;
            for (k, v) in ev.iter() {
                if k.as_ref() == self.a.fieldname || !self.counts(k) {
                    continue;
                }
                if let Some(n) = v.as_num() {
                    total = Some(total.unwrap_or(0.0) + n);
                }
            }
            if let Some(t) = total {
                ev.set(self.a.fieldname.as_str(), Value::Num(t));
            }
        }
        if !self.a.col {
            out.push(ev);
            return Ok(());
        }
        for (k, v) in ev.iter() {
            let is_total = self.a.row && k.as_ref() == self.a.fieldname;
            if !(is_total || self.counts(k)) || self.a.labelfield.as_deref() == Some(k.as_ref()) {
                continue;
            }
            if let Some(n) = v.as_num() {
                match self.sums.iter_mut().find(|(f, _)| f == k) {
                    Some(slot) => slot.1 += n,
                    None => self.sums.push((k.clone(), n)),
                }
            }
        }
        self.rows.push(ev);
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        if !self.a.col {
            return Ok(());
        }
        out.append(&mut self.rows);
        let mut row = Event::with_capacity(self.sums.len() + 1);
        for (f, n) in self.sums.drain(..) {
            row.set(f, Value::Num(n));
        }
        if let Some(l) = &self.a.labelfield {
            row.set(l.as_str(), Value::str(&self.a.label));
        }
        out.push(row);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<AddTotals> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::AddTotals(a)) => Ok(a),
            other => panic!("not addtotals: {other:?}"),
        }
    }

    #[test]
    fn parses() {
        let a = parse("x | addtotals fieldname=Score,").unwrap();
        assert_eq!(a.fieldname, "Score");
        assert!(a.fields.is_empty());
        let a = parse("x | addtotals fieldname=Score is_autodiscover, powershell, mapi").unwrap();
        assert_eq!(a.fields, ["is_autodiscover", "powershell", "mapi"]);
        let a = parse("x | addtotals row=f col=t labelfield=name label=All count*").unwrap();
        assert_eq!((a.row, a.col), (false, true));
        assert_eq!(
            (a.labelfield.as_deref(), a.label.as_str()),
            (Some("name"), "All")
        );
        assert_eq!(a.fields, ["count*"]);
    }

    #[test]
    fn refuses_bad_syntax() {
        let e = parse("x | addtotals col=maybe").unwrap_err();
        assert_eq!(e.span, Some(Span::new(14, 23)));
        let e = parse("x | addtotals fieldnme=S").unwrap_err();
        assert!(
            e.message.contains("did you mean `fieldname`"),
            "{}",
            e.message
        );
        let e = parse("x | addtotals a (b)").unwrap_err();
        assert_eq!(e.span.map(|s| s.start), Some(16));
    }
}
