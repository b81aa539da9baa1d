//! `inputlookup` — the rows of a lookup table (a generating command).
//!
//! ```text
//! | inputlookup [append=<bool>] [start=<N>] [max=<N>] <lookup> [append=<bool>] ... [WHERE <search expression>]
//! ```
//! Options may also follow the name (`inputlookup api_call_by_user_baseline append=t`, as published
//! detections write it).
//! `<lookup>` is a lookup definition name or a `.csv` file name in the lookup folders. `append=t` adds the
//! rows after the rows that came in instead of starting the pipeline. `start` skips rows (0-based), `max`
//! caps them. `where` filters rows with search semantics.

use super::search::{parse_expr, SearchExpr};
use super::Context;
use crate::diag::{Result, Span};
use crate::event::Event;
use crate::parse::Cursor;

#[derive(Clone, Debug, PartialEq)]
pub struct InputLookup {
    pub name: String,
    pub append: bool,
    pub start: usize,
    pub max: Option<usize>,
    pub filter: Option<SearchExpr>,
    pub span: Span,
}

impl InputLookup {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<InputLookup> {
        let mut out = InputLookup {
            name: String::new(),
            append: false,
            start: 0,
            max: None,
            filter: None,
            span: name_span,
        };
        let mut opts = c.options(&["append", "start", "max", "strict"])?;
        let (name, span) = c.field("a lookup name")?;
        opts.extend(c.options(&["append", "start", "max", "strict"])?);
        for (k, v, span) in opts {
            match k.as_str() {
                "append" => out.append = crate::parse::flag("append", &v, span)?,
                "start" => out.start = crate::parse::number("start", &v, span)?,
                "max" => out.max = Some(crate::parse::number("max", &v, span)?),
                _ => {}
            }
        }
        out.name = name;
        out.span = span;
        if c.keyword("where") {
            out.filter = parse_expr(c, 0)?;
        }
        c.end_of_stage("inputlookup")?;
        Ok(out)
    }

    /// The table's rows, after `start`, `max` and `where`.
    pub fn rows(&self, ctx: &Context) -> Result<Vec<Event>> {
        let rows = ctx.lookups.read(&self.name).map_err(|mut d| {
            d.span = Some(self.span);
            d
        })?;
        let matcher = match &self.filter {
            Some(f) => Some(super::search::Matcher::compile(f, &|_| None)?),
            None => None,
        };
        Ok(rows
            .into_iter()
            .skip(self.start)
            .filter(|r| matcher.as_ref().is_none_or(|m| m.matches(r)))
            .take(self.max.unwrap_or(usize::MAX))
            .collect())
    }
}

impl super::SplCommand for InputLookup {
    /// Generating, unless `append=t` adds the rows after the rows that came in.
    fn kind(&self) -> super::Kind {
        if self.append {
            super::Kind::Stateful
        } else {
            super::Kind::Generating
        }
    }

    fn sub_pipelines(&self) -> Vec<&crate::parse::Pipeline> {
        let mut out = Vec::new();
        if let Some(f) = &self.filter {
            super::search::subsearches(f, &mut out);
        }
        out
    }

    fn lookups(&self) -> Vec<super::LookupRef> {
        vec![super::LookupRef {
            name: self.name.clone(),
            writes: false,
            span: self.span,
        }]
    }

    fn operator(
        &self,
        cx: &Context,
        _sub: &dyn super::SubRunner,
    ) -> Result<Box<dyn super::Operator>> {
        Ok(Box::new(AppendRows(Some(self.rows(cx)?))))
    }
}

/// Hands on the rows that come in, then the table's rows.
struct AppendRows(Option<Vec<Event>>);

impl super::Operator for AppendRows {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        out.push(ev);
        Ok(())
    }
    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        out.extend(self.0.take().unwrap_or_default());
        Ok(())
    }
}
