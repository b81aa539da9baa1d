//! `where` — keep rows for which an eval expression is true.
//!
//! ```text
//! where <expression>
//! ```
//! Unlike `search`, comparisons are case-sensitive, a bare word is a field name and a double-quoted text is
//! a string (SPL-SEMANTICS 6). A comparison with a null field is false.

use super::eval::parse_error;
use super::{Context, Operator};
use crate::diag::{Diagnostic, Result, Span};
use crate::eval::{self, EvalContext, Expr};
use crate::event::Event;
use crate::parse::Cursor;

#[derive(Clone, Debug)]
pub struct Where {
    pub expr: Expr,
    pub span: Span,
}

impl PartialEq for Where {
    fn eq(&self, other: &Self) -> bool {
        self.span == other.span
    }
}

impl Where {
    pub fn parse(c: &mut Cursor) -> Result<Where> {
        c.ws();
        let (text, span) = c.stage_text()?;
        if text.trim().is_empty() {
            return Err(Diagnostic::at("expected an expression after `where`", span));
        }
        let expr = eval::parse_expr(text).map_err(|e| parse_error(e, span.start))?;
        Ok(Where { expr, span })
    }
}

impl super::SplCommand for Where {
    fn kind(&self) -> super::Kind {
        super::Kind::Streaming
    }

    fn needs(&self, after: super::Need) -> super::Need {
        let mut n = after?;
        n.extend(self.expr.fields());
        Some(n)
    }

    fn keeps_columns(&self) -> bool {
        true
    }

    fn eval_exprs(&self) -> Vec<(&Expr, usize)> {
        vec![(&self.expr, self.span.start)]
    }

    fn lints(&self) -> Vec<super::Lint> {
        super::expr_lints(&self.eval_exprs())
    }

    fn operator(&self, ctx: &Context, _sub: &dyn super::SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(WhereOp {
            expr: self.expr.clone(),
            ctx: ctx.eval,
            span: self.span,
        }))
    }
}

struct WhereOp {
    expr: Expr,
    ctx: EvalContext,
    span: Span,
}

impl Operator for WhereOp {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let v = self.expr.eval(&ev, &self.ctx).map_err(|e| {
            Diagnostic::at(
                format!("where: {}", e.message),
                Span::at(self.span.start + e.offset),
            )
        })?;
        if eval::is_true(&v) {
            out.push(ev);
        }
        Ok(())
    }
}
