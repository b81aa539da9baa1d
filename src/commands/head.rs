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
