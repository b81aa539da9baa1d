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

    pub fn operator(&self) -> Box<dyn Operator> {
        Box::new(self.clone())
    }

    /// The columns a table names without wildcards (shown even when empty).
    pub fn fixed_columns(&self) -> Vec<String> {
        self.fields.clone()
    }
}

impl Operator for Table {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        out.push(select(ev, &self.fields, false));
        Ok(())
    }
}
