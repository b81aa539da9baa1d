//! `from` — the events of a data model dataset, or the rows of a lookup.
//!
//! ```text
//! | from datamodel:<Model>.<Dataset>     | from datamodel <Model>.<Dataset>     (also quoted)
//! | from lookup:<name>                   | from inputlookup:<name>
//! ```
//! A generating command. `datamodel` gives the dataset's events with its fields named bare, as
//! `| datamodel <Model> <Dataset> flat` does (published searches read `| from datamodel Web.Web | stats
//! count by action`); `lookup`/`inputlookup` give the table's rows, as `| inputlookup <name>` does.
//! Refused: `savedsearch:` (a saved search lives on a Splunk server) and other dataset kinds.

use super::datamodel::DatasetRef;
use super::{Context, Known, Operator, Refusal, RefusalKind, SplCommand, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;

#[derive(Clone, Debug, PartialEq)]
pub enum FromDataset {
    Datamodel(DatasetRef),
    Lookup(String, Span),
    Refused(Refusal),
}

impl FromDataset {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<FromDataset> {
        let (word, span) = c.value("a dataset such as `datamodel:Web.Web` or `lookup:<name>`")?;
        let (kind, mut name, mut name_span_) = match word.split_once(':') {
            Some((k, n)) => (k.to_ascii_lowercase(), n.to_string(), span),
            None => (word.to_ascii_lowercase(), String::new(), span),
        };
        if name.is_empty() {
            c.ws();
            if !c.at_stage_end() {
                let (n, s) = c.value("a dataset name")?;
                name = n;
                name_span_ = s;
            }
        }
        let name = name.trim_matches('"').to_string();
        c.end_of_stage("from")?;
        if name.is_empty() {
            return Err(Diagnostic::at(
                format!("`from {word}` needs a dataset name, as in `from datamodel:Web.Web`"),
                span,
            ));
        }
        Ok(match kind.as_str() {
            "datamodel" => FromDataset::Datamodel(DatasetRef::from_spec(&name, name_span_)),
            "lookup" | "inputlookup" => FromDataset::Lookup(name, name_span_),
            other => FromDataset::Refused(Refusal {
                kind: RefusalKind::Feature,
                name: format!("from {other}"),
                reason: if other == "savedsearch" {
                    "`from savedsearch:` runs a saved search of a Splunk server: not supported"
                        .into()
                } else {
                    format!("`from {other}:` datasets are not supported (`datamodel:` and `lookup:` are)")
                },
                span: Span::new(name_span.start, span.end),
            }),
        })
    }
}

impl SplCommand for FromDataset {
    fn kind(&self) -> super::Kind {
        super::Kind::Generating
    }

    fn reads_events(&self) -> bool {
        matches!(self, FromDataset::Datamodel(_))
    }

    fn refusals(&self) -> Vec<Refusal> {
        match self {
            FromDataset::Refused(r) => vec![r.clone()],
            _ => Vec::new(),
        }
    }

    fn refusals_in(&self, known: &Known) -> Vec<Refusal> {
        match self {
            FromDataset::Datamodel(d) => d.resolve(known.datamodels).err().into_iter().collect(),
            _ => self.refusals(),
        }
    }

    fn needs_in(&self, after: super::Need, known: &Known) -> super::Need {
        match self {
            FromDataset::Datamodel(d) => d.needs(known),
            _ => after,
        }
    }

    fn datamodels(&self) -> Vec<String> {
        match self {
            FromDataset::Datamodel(d) => vec![d.text()],
            _ => Vec::new(),
        }
    }

    fn lookups(&self) -> Vec<super::LookupRef> {
        match self {
            FromDataset::Lookup(n, s) => vec![super::LookupRef {
                name: n.clone(),
                writes: false,
                span: *s,
            }],
            _ => Vec::new(),
        }
    }

    fn operator(&self, cx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        match self {
            FromDataset::Datamodel(d) => d.operator(cx, true),
            FromDataset::Lookup(name, span) => {
                let rows = cx
                    .lookups
                    .read(name)
                    .map_err(|d| Diagnostic::at(d.message, *span))?;
                Ok(Box::new(Rows(Some(rows))))
            }
            FromDataset::Refused(r) => Err(Diagnostic::at(r.reason.clone(), r.span)),
        }
    }
}

/// A lookup's rows, given when the (empty) input ends.
struct Rows(Option<Vec<Event>>);

impl Operator for Rows {
    fn push(&mut self, _ev: Event, _out: &mut Vec<Event>) -> Result<()> {
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        out.extend(self.0.take().unwrap_or_default());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<FromDataset> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::From(t)) => Ok(t),
            other => panic!("not from: {other:?}"),
        }
    }

    #[test]
    fn parses_the_forms() {
        let want = |s: &str| match parse(s).unwrap() {
            FromDataset::Datamodel(d) => d.text(),
            other => panic!("{other:?}"),
        };
        assert_eq!(want("| from datamodel:Web.Web"), "Web.Web");
        assert_eq!(want("| from datamodel Risk.All_Risk"), "Risk.All_Risk");
        assert_eq!(want("| from datamodel:\"Web.Web\""), "Web.Web");
        assert!(
            matches!(parse("| from lookup:users").unwrap(), FromDataset::Lookup(n, _) if n == "users")
        );
        assert!(matches!(
            parse("| from savedsearch:x").unwrap(),
            FromDataset::Refused(_)
        ));
        assert!(parse("| from datamodel").is_err());
    }
}
