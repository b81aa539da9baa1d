//! `head` — the first N rows (default 10).
//!
//! ```text
//! head [N] | head limit=N
//! ```
//! Refused: `head <eval-expression>` (keep rows while an expression holds).

use super::Operator;
use crate::diag::{Diagnostic, Result};
use crate::event::Event;
use crate::parse::Cursor;

#[derive(Clone, Debug, PartialEq)]
pub struct Head {
    pub limit: u64,
}

impl Head {
    pub fn parse(c: &mut Cursor) -> Result<Head> {
        let opts = c.options(&["limit", "null", "keeplast"])?;
        let mut limit = 10;
        for (k, v, span) in opts {
            if k == "limit" {
                limit = crate::parse::number("limit", &v, span)?;
            }
        }
        c.ws();
        if let Some((w, span)) = c.bare() {
            limit = w.parse().map_err(|_| {
                Diagnostic::at(format!("expected a number of rows, found `{w}`"), span)
            })?;
        }
        c.end_of_stage("head")?;
        Ok(Head { limit })
    }
}

impl super::SplCommand for Head {
    fn needs(&self, after: super::Need) -> super::Need {
        after
    }

    fn keeps_columns(&self) -> bool {
        true
    }

    fn sql(&self, q: &mut crate::sql::Query) -> Option<Result<()>> {
        Some(self.write_sql(q))
    }

    fn operator(
        &self,
        _cx: &super::Context,
        _sub: &dyn super::SubRunner,
    ) -> Result<Box<dyn Operator>> {
        Ok(Box::new(HeadOp { left: self.limit }))
    }
}

struct HeadOp {
    left: u64,
}

impl Operator for HeadOp {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        if self.left > 0 {
            self.left -= 1;
            out.push(ev);
        }
        Ok(())
    }
    fn is_done(&self) -> bool {
        self.left == 0
    }
}

impl Head {
    /// This stage as the next step of an SQL statement (see [`crate::sql`]).
    fn write_sql(&self, q: &mut crate::sql::Query) -> Result<()> {
        // the first rows need an order: the events' order is not one SQL keeps
        let Some(order) = q.order().map(<[String]>::to_vec) else {
            return Err(crate::sql::no_sql_form("`head` over events (their order)"));
        };
        let mut select = format!("SELECT * FROM {}", q.from());
        if !order.is_empty() {
            select.push_str(&format!(" ORDER BY {}", order.join(", ")));
        }
        select.push_str(&format!(" LIMIT {}", self.limit));
        let cols = q.cols.clone();
        q.step(select, cols, Some(order));
        Ok(())
    }
}
