//! Commands Splunk has that spelunk cannot run yet (`mstats`, `apply`, `pivot` ...).
//!
//! Their arguments are kept as text, so a search that uses one still parses and `check` can report it;
//! running it stops with an error naming the command. What `check` wants to know of them is read from that
//! text here: the data model a `pivot` reads, and the `[ ... ]` searches of
//! commands that take subsearches (`appendcols [...]`, `union [...]`, `map [...]`), parsed as pipelines so
//! that their own commands are checked too.

use super::{Context, Operator, SplCommand, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::parse::{parse_command_pipeline, parse_pipeline, Cursor, Pipeline, MAX_NESTING};

#[derive(Clone, Debug, PartialEq)]
pub struct Unsupported {
    pub name: String,
    pub args: String,
    pub span: Span,
    /// The `[ ... ]` pipelines among the arguments of a command that takes subsearches.
    pub subsearches: Vec<Pipeline>,
}

/// Commands whose bracketed arguments are complete searches.
const SUBSEARCH_COMMANDS: &[&str] = &[
    "appendcols",
    "union",
    "multisearch",
    "set",
    "selfjoin",
    "map",
];

/// Commands whose bracketed argument is a pipeline over the rows they are given.
const SUBPIPELINE_COMMANDS: &[&str] = &[];

impl Unsupported {
    /// Keep the arguments of `name` (lower case) up to the end of the stage, parsing the subsearches of
    /// the commands that take them.
    pub fn parse(name: &str, name_span: Span, c: &mut Cursor) -> Result<Unsupported> {
        let from = c.pos;
        let (args, _) = c.stage_text()?;
        let to = c.pos;
        let commands_first = SUBPIPELINE_COMMANDS.contains(&name);
        let mut subsearches = Vec::new();
        if commands_first || SUBSEARCH_COMMANDS.contains(&name) {
            for open in top_level_brackets(c.src, from, to) {
                subsearches.push(bracketed(c, open, commands_first)?);
            }
        }
        Ok(Unsupported {
            name: name.to_string(),
            args: args.trim().to_string(),
            span: name_span,
            subsearches,
        })
    }
}

/// Parse the pipeline inside the `[` at `open` (the cursor is left where it was).
fn bracketed(c: &Cursor, open: usize, commands_first: bool) -> Result<Pipeline> {
    if c.depth >= MAX_NESTING {
        return Err(Diagnostic::at(
            "subsearches nested too deeply",
            Span::at(open),
        ));
    }
    let mut inner = Cursor::new(c.src);
    inner.pos = open + 1;
    inner.depth = c.depth + 1;
    let p = if commands_first {
        parse_command_pipeline(&mut inner)?
    } else {
        parse_pipeline(&mut inner)?
    };
    inner.ws();
    if !inner.eat(']') {
        return Err(inner.expected("`]` closing the subsearch"));
    }
    Ok(p)
}

impl SplCommand for Unsupported {
    fn runnable(&self) -> bool {
        false
    }

    fn sub_pipelines(&self) -> Vec<&Pipeline> {
        self.subsearches.iter().collect()
    }

    fn datamodels(&self) -> Vec<String> {
        datamodel_of(&self.name, &self.args).into_iter().collect()
    }

    fn operator(&self, _cx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Err(Diagnostic::at(
            super::unsupported_message(&self.name),
            self.span,
        ))
    }
}

/// Offsets of the `[` that open top-level bracketed parts of `text[from..to]`, outside quotes.
fn top_level_brackets(text: &str, from: usize, to: usize) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = from;
    while i < to.min(bytes.len()) {
        let b = bytes.get(i).copied().unwrap_or(0);
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'"' => quote = Some(b),
                b'[' => {
                    if depth == 0 {
                        out.push(i);
                    }
                    depth += 1;
                }
                b']' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
        i += 1;
    }
    out
}

/// The data model a command that spelunk keeps as text reads, if any (`pivot <Model> <Dataset> ...`).
fn datamodel_of(command: &str, args: &str) -> Option<String> {
    if command != "pivot" {
        return None;
    }
    let words: Vec<&str> = args
        .split_whitespace()
        .take(2)
        .map(|w| w.trim_matches(|c: char| c == '"' || c == '\''))
        .collect();
    (words.len() == 2).then(|| words.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_models_are_read_from_the_arguments() {
        assert_eq!(
            datamodel_of("pivot", "Change All_Changes count(All_Changes) AS n"),
            Some("Change.All_Changes".into())
        );
        assert_eq!(datamodel_of("mstats", "count where index=m"), None);
    }

    #[test]
    fn subsearches_of_kept_commands_are_parsed() {
        let p =
            crate::parse::parse_query("search a | appendcols [search b | stats count]").unwrap();
        let Some(Command::Unsupported(u)) = p.stages.last().map(|s| &s.command) else {
            panic!("appendcols is kept as text")
        };
        assert_eq!(u.subsearches.len(), 1);
        assert_eq!(u.subsearches[0].stages.len(), 2);
    }

    use super::super::Command;
}
