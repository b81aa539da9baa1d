//! `rename` — rename fields.
//!
//! ```text
//! rename <from> AS <to> [[,] <from> AS <to>]...
//! ```
//! Names may be quoted; `*` in both names maps the wildcard parts (`x.* AS *`). A target that exists is
//! replaced; renaming a field that does not exist changes nothing. A name may end in a parenthesised part
//! written without a space (`rename count(x) AS n`).

use super::{wildcard_captures, wildcard_fill, Operator};
use crate::diag::{Diagnostic, Result};
use crate::event::Event;
use crate::parse::Cursor;

#[derive(Clone, Debug, PartialEq)]
pub struct Rename {
    pub pairs: Vec<(String, String)>,
}

impl Rename {
    pub fn parse(c: &mut Cursor) -> Result<Rename> {
        let mut pairs = Vec::new();
        loop {
            c.ws();
            if c.eat(',') {
                continue;
            }
            if c.at_stage_end() {
                break;
            }
            let (from, fspan) = c.field_name("a field name to rename")?;
            if !c.keyword("as") {
                return Err(c.expected(&format!("`AS` after `{from}`")));
            }
            let (to, tspan) = c.field_name("the new field name after `AS`")?;
            if from.matches('*').count() != to.matches('*').count() && to.contains('*') {
                return Err(Diagnostic::at(
                    "wildcards in `rename` must appear as often in both names",
                    crate::diag::Span::new(fspan.start, tspan.end),
                ));
            }
            pairs.push((from, to));
        }
        if pairs.is_empty() {
            return Err(c.expected("`<field> AS <new name>`"));
        }
        Ok(Rename { pairs })
    }
}

impl super::SplCommand for Rename {
    fn kind(&self) -> super::Kind {
        super::Kind::Streaming
    }

    fn needs(&self, after: super::Need) -> super::Need {
        if self
            .pairs
            .iter()
            .any(|(a, b)| a.contains('*') || b.contains('*'))
        {
            return None;
        }
        let mut n = after?;
        for (from, to) in self.pairs.iter().rev() {
            if n.remove(to) {
                n.insert(from.clone());
            }
            // a rename whose source is absent leaves the target as it was
            n.insert(to.clone());
        }
        Some(n)
    }

    fn sql(&self, q: &mut crate::sql::Query) -> Option<Result<()>> {
        Some(self.write_sql(q))
    }

    fn operator(
        &self,
        _cx: &super::Context,
        _sub: &dyn super::SubRunner,
    ) -> Result<Box<dyn Operator>> {
        Ok(Box::new(self.clone()))
    }
}

pub fn rename_event(ev: &mut Event, pairs: &[(String, String)]) {
    for (from, to) in pairs {
        if !from.contains('*') {
            if from == to {
                continue;
            }
            if let Some(v) = ev.remove(from) {
                ev.set(to.as_str(), v);
            }
            continue;
        }
        let names: Vec<(String, String)> = ev
            .names()
            .filter_map(|n| {
                wildcard_captures(from, n).map(|caps| (n.to_string(), wildcard_fill(to, &caps)))
            })
            .collect();
        for (old, new) in names {
            if old == new {
                continue;
            }
            if let Some(v) = ev.remove(&old) {
                ev.set(new, v);
            }
        }
    }
}

impl Operator for Rename {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        rename_event(&mut ev, &self.pairs);
        out.push(ev);
        Ok(())
    }
}

impl Rename {
    /// This stage as the next step of an SQL statement (see [`crate::sql`]).
    fn write_sql(&self, q: &mut crate::sql::Query) -> Result<()> {
        use crate::sql::{ident, no_sql_form, Col};
        // each output column: its SQL over the step before, and what it is
        let mut out: Vec<(String, Col)> =
            q.cols.iter().map(|c| (ident(&c.name), c.clone())).collect();
        for (from, to) in &self.pairs {
            if from.contains('*') || to.contains('*') {
                return Err(no_sql_form("a wildcard in `rename`"));
            }
            if from == to {
                continue;
            }
            if q.is_unavailable(from) || q.is_unavailable(to) {
                q.field(from)?;
                q.field(to)?;
            }
            let Some(k) = out.iter().position(|(_, c)| &c.name == from) else {
                // no row has `from`: nothing changes
                continue;
            };
            let (expr, col) = out.remove(k);
            match out.iter().position(|(_, c)| &c.name == to) {
                Some(j) => {
                    // where the row has `from`, its value replaces `to`'s
                    if out[j].1.multi != col.multi {
                        return Err(no_sql_form(format!(
                            "`rename {from} as {to}` onto a field of another shape"
                        )));
                    }
                    if q.ordered_by(from) || q.ordered_by(to) {
                        return Err(no_sql_form(format!(
                            "`rename {from} as {to}` onto another field, of rows in an order that reads them"
                        )));
                    }
                    let old = out[j].0.clone();
                    out[j].0 = format!("CASE WHEN {expr} IS NOT NULL THEN {expr} ELSE {old} END");
                }
                None => {
                    q.rename_in_order(from, to);
                    out.push((
                        expr,
                        Col {
                            name: to.clone(),
                            ..col
                        },
                    ))
                }
            }
        }
        let list: Vec<String> = out
            .iter()
            .map(|(e, c)| format!("{e} AS {}", ident(&c.name)))
            .collect();
        q.reshape(&list, out.into_iter().map(|(_, c)| c).collect());
        Ok(())
    }
}
