//! `append` — add a subsearch's rows after the rows.
//!
//! ```text
//! append ...    (not written yet: parses its argument text and refuses to run)
//! ```

use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::parse::Cursor;

/// Whether spelunk runs this command (`check` reports the others as unsupported).
pub const RUNNABLE: bool = false;

#[derive(Clone, Debug, PartialEq)]
pub struct Append {
    pub args: String,
    pub span: Span,
}

impl Append {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Append> {
        let (text, _) = c.stage_text()?;
        Ok(Append {
            args: text.trim().to_string(),
            span: name_span,
        })
    }

    pub fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Err(Diagnostic::at(
            "command `append` is not supported yet",
            self.span,
        ))
    }
}
