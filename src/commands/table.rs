//! `table` — keep exactly the named fields, as columns in that order.
//!
//! ```text
//! table <field> [, <field>]...     wildcards expand in the order fields first appear
//! ```
//! Every named column appears in the output even when no row has it (an empty column, as Splunk shows it).

use super::fields::{parse_field_list, select};
use super::Operator;
use crate::diag::Result;
use crate::event::Event;
use crate::parse::Cursor;

#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub fields: Vec<String>,
}

impl Table {
    pub fn parse(c: &mut Cursor) -> Result<Table> {
        let fields = parse_field_list(c, "a field name")?;
        c.end_of_stage("table")?;
        Ok(Table { fields })
    }
}

impl super::SplCommand for Table {
    fn kind(&self) -> super::Kind {
        super::Kind::Streaming
    }

    fn needs(&self, _after: super::Need) -> super::Need {
        if self.fields.iter().any(|f| f.contains('*')) {
            None
        } else {
            Some(self.fields.iter().cloned().collect())
        }
    }

    /// The columns the table names (shown even when empty).
    fn columns(&self) -> Option<Vec<String>> {
        Some(self.fields.clone())
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

impl Operator for Table {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        out.push(select(ev, &self.fields, false));
        Ok(())
    }
}

impl Table {
    /// This stage as the next step of an SQL statement (see [`crate::sql`]).
    fn write_sql(&self, q: &mut crate::sql::Query) -> Result<()> {
        let mut cols = Vec::new();
        let mut list = Vec::new();
        for f in &self.fields {
            if f.contains('*') {
                return Err(crate::sql::no_sql_form("a wildcard in `table`"));
            }
            if cols.iter().any(|c: &crate::sql::Col| &c.name == f) {
                continue;
            }
            let id = crate::sql::ident(f);
            match q.field(f)? {
                Some(c) => {
                    cols.push(c.clone());
                    list.push(id);
                }
                // a column no row has: empty in every row
                None => {
                    cols.push(crate::sql::Col::text(f));
                    list.push(format!("{} AS {id}", crate::sql::null_text()));
                }
            }
        }
        q.reshape(&list, cols);
        q.unavailable.clear();
        Ok(())
    }
}
