//! `where` — keep rows for which an eval expression is true.
//!
//! ```text
//! where <expression>
//! ```
//! Unlike `search`, comparisons are case-sensitive, a bare word is a field name and a double-quoted text is
//! a string (SPL-SEMANTICS 6). A comparison with a null field is false. A `[subsearch]` in the expression is
//! run first and its text put in its place before the expression is read (`where [search ... | return x]`
//! is `where x="v"`), as in [`super::eval`].

use super::eval::{parse_error, substituted_error, WithSubsearches};
use super::{Context, Operator};
use crate::diag::{Diagnostic, Result, Span};
use crate::eval::{self, EvalContext, Expr};
use crate::event::Event;
use crate::parse::Cursor;

#[derive(Clone, Debug)]
pub struct Where {
    pub expr: Expr,
    pub span: Span,
    /// The expression's `[subsearch]`es, until the plan runs them and parses the text with their text in
    /// place ([`Where::resolve`]; see [`super::eval`]); `expr` is then the text with each read as `null()`.
    pub subsearches: Option<WithSubsearches>,
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
        if let Some(subs) = WithSubsearches::split(c, text, span.start)? {
            let placeholder = subs.placeholder();
            let expr = eval::parse_expr(&placeholder)
                .or_else(|_| eval::parse_expr("null()"))
                .map_err(|e| parse_error(e, span.start))?;
            return Ok(Where {
                expr,
                span,
                subsearches: Some(subs),
            });
        }
        let expr = eval::parse_expr(text).map_err(|e| parse_error(e, span.start))?;
        Ok(Where {
            expr,
            span,
            subsearches: None,
        })
    }

    /// Read the expression from `text`, the stage text with its subsearches' text in place.
    pub fn resolve(&mut self, text: &str) -> Result<()> {
        self.expr =
            eval::parse_expr(text).map_err(|e| substituted_error("where", text, e, self.span))?;
        self.subsearches = None;
        Ok(())
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

    fn resolve_subsearches(&mut self, rows: &mut super::SubsearchRows) -> Result<()> {
        if let Some(subs) = &self.subsearches {
            let text = subs.resolved_text(rows)?;
            self.resolve(&text)?;
        }
        Ok(())
    }

    fn sub_pipelines(&self) -> Vec<&crate::parse::Pipeline> {
        self.subsearches
            .as_ref()
            .map(|s| s.pipelines().collect())
            .unwrap_or_default()
    }

    fn sql(&self, q: &mut crate::sql::Query) -> Option<Result<()>> {
        Some(self.expr.sql_condition(q).map(|cond| {
            let select = format!("SELECT * FROM {} WHERE {cond}", q.from());
            let cols = q.cols.clone();
            q.step_in_order(select, cols);
        }))
    }

    fn operator(&self, ctx: &Context, _sub: &dyn super::SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(WhereOp {
            expr: self.expr.clone(),
            ctx: ctx.eval,
            span: self.span,
            unresolved: self.subsearches.is_some(),
        }))
    }
}

struct WhereOp {
    expr: Expr,
    ctx: EvalContext,
    span: Span,
    unresolved: bool,
}

impl Operator for WhereOp {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        if self.unresolved {
            return Err(Diagnostic::at("internal: subsearch was not run", self.span));
        }
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
