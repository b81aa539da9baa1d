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
