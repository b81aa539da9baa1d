//! `return` — pass values out of a subsearch as search text, in a row with the field `search`.
//!
//! ```text
//! return [<count>] [<field> | <alias>=<field> | $<field>]...
//! ```
//! Takes the first `count` rows (default 1). Per row: `<field>` gives `field="value"`, `<alias>=<field>`
//! gives `alias="value"`, `$<field>` gives the value alone; terms are joined by a space. A multivalue field
//! gives `( field="a" OR field="b" )` (`$field`: `a OR b`). One row is returned as its terms; several rows
//! are each put in parentheses and joined by ` OR `: `(user="a") OR (user="b")`. A field missing from a
//! row gives no term; a row with no terms is left out. No rows give no row (so a subsearch made of it
//! matches nothing, as an empty subsearch does).

use super::format::term;
use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;
use crate::value::Value;

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `field`: `field="value"`.
    Field(String),
    /// `alias=field`: `alias="value"`.
    Alias { alias: String, field: String },
    /// `$field`: the value alone.
    Value(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Return {
    pub count: usize,
    pub items: Vec<Item>,
    pub span: Span,
}

impl Return {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Return> {
        let mut r = Return {
            count: 1,
            items: Vec::new(),
            span: name_span,
        };
        let mut first = true;
        loop {
            c.ws();
            if c.eat(',') {
                continue;
            }
            if c.at_stage_end() {
                break;
            }
            let (word, span) = c.field("a field, `alias=field` or `$field`")?;
            if first && word.chars().all(|ch| ch.is_ascii_digit()) {
                r.count = word
                    .parse()
                    .map_err(|_| Diagnostic::at(format!("`{word}` is too large a count"), span))?;
                first = false;
                continue;
            }
            first = false;
            if let Some(f) = word.strip_prefix('$') {
                if f.is_empty() {
                    return Err(Diagnostic::at("expected a field name after `$`", span));
                }
                r.items.push(Item::Value(f.to_string()));
            } else if c.eat('=') {
                let (field, _) = c.field("a field name after `=`")?;
                r.items.push(Item::Alias { alias: word, field });
            } else {
                r.items.push(Item::Field(word));
            }
        }
        if r.items.is_empty() {
            return Err(Diagnostic::at(
                "`return` needs at least one field (`return user`, `return src=ip` or `return $user`)",
                name_span,
            ));
        }
        Ok(r)
    }

    /// The terms of one row.
    fn row_text(&self, ev: &Event) -> Option<String> {
        let mut terms = Vec::new();
        for item in &self.items {
            let (name, field) = match item {
                Item::Field(f) => (Some(f.as_str()), f),
                Item::Alias { alias, field } => (Some(alias.as_str()), field),
                Item::Value(f) => (None, f),
            };
            let Some(v) = ev.get(field) else { continue };
            let parts: Vec<String> = v
                .values()
                .iter()
                .map(|x| match name {
                    Some(n) => term(n, x),
                    None => x.text().into_owned(),
                })
                .collect();
            terms.push(if parts.len() == 1 || name.is_none() {
                let joined = parts.join(" OR ");
                if parts.len() > 1 {
                    format!("( {joined} )")
                } else {
                    joined
                }
            } else {
                format!("( {} )", parts.join(" OR "))
            });
        }
        (!terms.is_empty()).then(|| terms.join(" "))
    }
}

impl super::SplCommand for Return {
    fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(ReturnOp {
            ret: self.clone(),
            rows: Vec::new(),
        }))
    }
}

struct ReturnOp {
    ret: Return,
    rows: Vec<String>,
}

impl Operator for ReturnOp {
    fn push(&mut self, ev: Event, _out: &mut Vec<Event>) -> Result<()> {
        if self.rows.len() < self.ret.count {
            if let Some(t) = self.ret.row_text(&ev) {
                self.rows.push(t);
            }
        }
        Ok(())
    }
    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        let text = match self.rows.as_slice() {
            [] => return Ok(()),
            [one] => one.clone(),
            many => many
                .iter()
                .map(|t| format!("({t})"))
                .collect::<Vec<_>>()
                .join(" OR "),
        };
        let mut row = Event::new();
        row.set("search", Value::str(text));
        out.push(row);
        Ok(())
    }
}
