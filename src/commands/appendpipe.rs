//! `appendpipe` — run a sub-pipeline over the results so far and add its rows after them.
//!
//! ```text
//! appendpipe [run_in_preview=<bool>] [ <command> [| <command>]... ]
//! ```
//! The sub-pipeline starts with a command (`appendpipe [stats count by user]`; a leading `|` is allowed
//! too). It sees every row that reached `appendpipe`; the rows pass on unchanged and its own rows follow
//! them. `run_in_preview` only decides whether Splunk shows the sub-pipeline's rows in a search's preview
//! while it runs, never the final rows, so it is checked (true or false) and has nothing else to do here.

use super::append::parse_subsearch;
use super::{Context, Operator, SubRunner};
use crate::diag::{Result, Span};
use crate::event::Event;
use crate::parse::{Cursor, Pipeline};

#[derive(Clone, Debug, PartialEq)]
pub struct AppendPipe {
    pub pipeline: Pipeline,
    pub span: Span,
}

impl AppendPipe {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<AppendPipe> {
        for (k, v, span) in c.options(&["run_in_preview"])? {
            crate::parse::flag(&k, &v, span)?;
        }
        let (pipeline, _) = parse_subsearch(c, "appendpipe", true)?;
        c.end_of_stage("appendpipe")?;
        Ok(AppendPipe {
            pipeline,
            span: name_span,
        })
    }
}

impl super::SplCommand for AppendPipe {
    fn sub_pipelines(&self) -> Vec<&crate::parse::Pipeline> {
        vec![&self.pipeline]
    }

    fn operator(&self, _ctx: &Context, sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(AppendPipeOp {
            chain: sub.compile(&self.pipeline)?,
            seen: Vec::new(),
        }))
    }
}

struct AppendPipeOp {
    chain: Box<dyn Operator>,
    /// Copies of the rows, for the sub-pipeline at the end.
    seen: Vec<Event>,
}

impl Operator for AppendPipeOp {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        self.seen.push(ev.clone());
        out.push(ev);
        Ok(())
    }
    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        self.run(out, None)
    }
    fn finish_with(&mut self, out: &mut Vec<Event>, sub: &dyn SubRunner) -> Result<()> {
        self.run(out, Some(sub))
    }
}

impl AppendPipeOp {
    fn run(&mut self, out: &mut Vec<Event>, sub: Option<&dyn SubRunner>) -> Result<()> {
        let mut extra = Vec::new();
        for ev in self.seen.drain(..) {
            self.chain.push(ev, &mut extra)?;
        }
        match sub {
            Some(sub) => self.chain.finish_with(&mut extra, sub)?,
            None => self.chain.finish(&mut extra)?,
        }
        out.append(&mut extra);
        Ok(())
    }
}
