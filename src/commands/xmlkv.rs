//! `xmlkv` — extract fields from XML.
//!
//! ```text
//! xmlkv ...    (not written yet: parses its argument text and refuses to run)
//! ```

use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::parse::Cursor;

/// Whether spelunk runs this command (`check` reports the others as unsupported).
pub const RUNNABLE: bool = false;

#[derive(Clone, Debug, PartialEq)]
pub struct XmlKv {
    pub args: String,
    pub span: Span,
}

impl XmlKv {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<XmlKv> {
        let (text, _) = c.stage_text()?;
        Ok(XmlKv {
            args: text.trim().to_string(),
            span: name_span,
        })
    }

    pub fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Err(Diagnostic::at(
            "command `xmlkv` is not supported yet",
            self.span,
        ))
    }
}
