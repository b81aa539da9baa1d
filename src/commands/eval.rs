//! `eval` — compute fields with Splunk's expression language.
//!
//! ```text
//! eval <field>=<expression> [, <field>=<expression>]...
//! ```
//! Assignments run left to right, each seeing the fields the earlier ones set. A null result removes the
//! field. The expression language is in [`crate::eval`].

use super::{Context, Operator};
use crate::diag::{Diagnostic, Result, Span};
use crate::eval::{self, EvalContext, Expr};
use crate::event::Event;
use crate::parse::Cursor;

#[derive(Clone, Debug)]
pub struct Eval {
    pub assignments: Vec<(String, Expr)>,
    pub span: Span,
}

impl PartialEq for Eval {
    fn eq(&self, other: &Self) -> bool {
        self.span == other.span
    }
}

/// Map an eval-engine parse error into a diagnostic at its place in the query.
pub fn parse_error(e: eval::ParseError, base: usize) -> Diagnostic {
    let msg = if e.found.is_empty() {
        format!("expected {}", e.expected)
    } else {
        format!("expected {}, found {}", e.expected, e.found)
    };
    Diagnostic::at(msg, Span::at(base + e.offset))
}

impl Eval {
    pub fn parse(c: &mut Cursor) -> Result<Eval> {
        c.ws();
        let (text, span) = c.stage_text()?;
        if text.trim().is_empty() {
            return Err(Diagnostic::at(
                "expected `<field>=<expression>` after `eval`",
                span,
            ));
        }
        let assignments = eval::parse_assignments(text).map_err(|e| parse_error(e, span.start))?;
        Ok(Eval { assignments, span })
    }
}

impl super::SplCommand for Eval {
    fn kind(&self) -> super::Kind {
        super::Kind::Streaming
    }

    fn needs(&self, after: super::Need) -> super::Need {
        let mut n = after?;
        for (f, _) in &self.assignments {
            n.remove(f);
        }
        for (_, x) in &self.assignments {
            n.extend(x.fields());
        }
        Some(n)
    }

    fn eval_exprs(&self) -> Vec<(&Expr, usize)> {
        self.assignments
            .iter()
            .map(|(_, x)| (x, self.span.start))
            .collect()
    }

    fn lints(&self) -> Vec<super::Lint> {
        super::expr_lints(&self.eval_exprs())
    }

    fn operator(&self, ctx: &Context, _sub: &dyn super::SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(EvalOp {
            assignments: self.assignments.clone(),
            ctx: ctx.eval,
            span: self.span,
        }))
    }
}

struct EvalOp {
    assignments: Vec<(String, Expr)>,
    ctx: EvalContext,
    span: Span,
}

impl Operator for EvalOp {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        for (field, expr) in &self.assignments {
            let v = expr.eval(&ev, &self.ctx).map_err(|e| {
                Diagnostic::at(
                    format!("eval: {}", e.message),
                    Span::at(self.span.start + e.offset),
                )
            })?;
            ev.set_opt(field.as_str(), v);
        }
        out.push(ev);
        Ok(())
    }
}
