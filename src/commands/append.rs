//! `append` — add a subsearch's rows after the rows.
//!
//! ```text
//! append [extendtimerange=<bool>] [maxtime=<seconds>] [maxout=<N>] [timeout=<seconds>] [ <subsearch> ]
//! ```
//! The subsearch is a complete search (it reads the inputs itself, or starts with a generating command
//! such as `| inputlookup`); it runs before the main search, and its rows come after all the main rows.
//! At most `maxout` rows (default 50,000, Splunk's limit for `append`) are added; more are dropped with a
//! warning. `extendtimerange`, `maxtime` and `timeout` are accepted and change nothing (spelunk has no
//! time range picker and no time limits).

use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::{parse_pipeline, Cursor, Pipeline, MAX_NESTING};

/// Splunk's default `maxout` for `append` (limits.conf).
pub const APPEND_MAXOUT: usize = 50_000;

#[derive(Clone, Debug, PartialEq)]
pub struct Append {
    pub subsearch: Pipeline,
    pub maxout: usize,
    /// Options given that change nothing here (`check` warns about them).
    pub no_effect: Vec<(String, Span)>,
    pub span: Span,
}

/// `[ <search> ]` at the cursor: the pipeline inside, and the span of the brackets. With `commands_first`,
/// the text inside starts with a command (`appendpipe [stats count]`) rather than search terms.
pub fn parse_subsearch(
    c: &mut Cursor,
    command: &str,
    commands_first: bool,
) -> Result<(Pipeline, Span)> {
    c.ws();
    let start = c.pos;
    if !c.eat('[') {
        return Err(c.expected(&format!("`[` and a subsearch after `{command}`")));
    }
    if c.depth >= MAX_NESTING {
        return Err(Diagnostic::at(
            "subsearches nested too deeply",
            Span::at(start),
        ));
    }
    c.depth += 1;
    let p = if commands_first {
        parse_commands(c)
    } else {
        parse_pipeline(c)
    };
    c.depth -= 1;
    let p = p?;
    c.ws();
    if !c.eat(']') {
        return Err(Diagnostic::at(
            "unclosed subsearch: expected `]`",
            Span::new(start, start + 1),
        ));
    }
    Ok((p, Span::new(start, c.pos)))
}

/// A pipeline whose first stage is a command named without a leading `|`.
fn parse_commands(c: &mut Cursor) -> Result<Pipeline> {
    c.ws();
    if c.at('|') {
        return parse_pipeline(c);
    }
    let start = c.pos;
    let (name, name_span) = c.command_name()?;
    let command = super::parse_command(&name, name_span, c)?;
    let first = crate::parse::Stage {
        command,
        span: Span::new(start, c.pos),
        name_span,
    };
    let mut rest = parse_pipeline(c)?;
    // `parse_pipeline` reads an (empty) implied search before the first `|`; there is none here
    if matches!(rest.stages.first(), Some(crate::parse::Stage { command: super::Command::Search(s), .. }) if s.expr.is_none())
    {
        rest.stages.remove(0);
    }
    rest.stages.insert(0, first);
    rest.span = Span::new(start, rest.span.end);
    Ok(rest)
}

impl Append {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Append> {
        let mut maxout = APPEND_MAXOUT;
        let mut no_effect = Vec::new();
        for (k, v, span) in c.options(&["extendtimerange", "maxtime", "maxout", "timeout"])? {
            match k.as_str() {
                "maxout" => maxout = crate::parse::number("maxout", &v, span)?,
                "extendtimerange" => {
                    crate::parse::flag(&k, &v, span)?;
                    no_effect.push((k, span));
                }
                _ => {
                    crate::parse::number::<f64>(&k, &v, span)?;
                    no_effect.push((k, span));
                }
            }
        }
        let (subsearch, _) = parse_subsearch(c, "append", false)?;
        c.end_of_stage("append")?;
        Ok(Append {
            subsearch,
            maxout,
            no_effect,
            span: name_span,
        })
    }
}

impl super::SplCommand for Append {
    fn sub_pipelines(&self) -> Vec<&Pipeline> {
        vec![&self.subsearch]
    }

    fn lints(&self) -> Vec<super::Lint> {
        self.no_effect
            .iter()
            .map(|(k, span)| super::Lint {
                message: format!(
                    "`append {k}=` changes nothing here: spelunk has no time range picker and runs subsearches to --subsearch-maxtime"
                ),
                span: *span,
            })
            .collect()
    }

    fn operator(&self, ctx: &Context, sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        // a subsearch runs before the search that holds it
        let mut rows = sub.run(&self.subsearch)?;
        if rows.len() > self.maxout {
            ctx.warn(format!(
                "append: the subsearch gave {} rows; only the first {} are added (maxout)",
                rows.len(),
                self.maxout
            ));
            rows.truncate(self.maxout);
        }
        Ok(Box::new(AppendOp { rows: Some(rows) }))
    }
}

struct AppendOp {
    rows: Option<Vec<Event>>,
}

impl Operator for AppendOp {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        out.push(ev);
        Ok(())
    }
    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        out.extend(self.rows.take().unwrap_or_default());
        Ok(())
    }
}
