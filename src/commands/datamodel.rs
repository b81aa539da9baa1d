//! `datamodel` — the events of a data model dataset, with the dataset's fields.
//!
//! ```text
//! | datamodel <Model> <Dataset> (search | flat) [strict_fields=<bool>] [allow_old_summaries=<bool>]
//!             [summariesonly=<bool>]
//! ```
//! A generating command that reads the events: those of the dataset (its constraints and its
//! ancestors', with the add-ons' fields and the model's calculations applied, see [`crate::datamodels`]).
//! `<Dataset>` is a dataset name of the model, a child as well as a root. Mode `search` names the
//! dataset's fields (its own and its ancestors') `<lineage>.<field>` (`Processes.process_name`); `flat`
//! names them bare (`process_name`). `_time`, `host`, `source`, `sourcetype`, `index` and `_raw` come
//! along bare. `strict_fields=true` (the default) keeps only those fields.
//!
//! Refused: no mode (Splunk returns the model's definition as JSON), the modes that return generated
//! search text or acceleration searches, `strict_fields=false`, and `summariesonly=true` (there are
//! no acceleration summaries locally; see `tstats`). `allow_old_summaries` changes no row here.

use super::{Context, Known, Operator, Refusal, RefusalKind, SplCommand, SubRunner};
use crate::datamodels::{DataModel, DataModels, Output, View};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq)]
pub struct Datamodel {
    /// `Model.Dataset`.
    pub dataset: DatasetRef,
    /// `flat`: bare field names; `search`: prefixed.
    pub flat: bool,
    pub refused: Vec<Refusal>,
}

/// A dataset as written: `Model.Dataset` (or `Model` alone), and where.
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetRef {
    pub model: String,
    pub dataset: Option<String>,
    pub span: Span,
}

const OPTIONS: &[&str] = &["strict_fields", "allow_old_summaries", "summariesonly"];

/// What the options of `datamodel` (and the same ones of `from`) refuse.
pub fn option_refusals(opts: &[crate::parse::Opt]) -> Result<Vec<Refusal>> {
    let mut out = Vec::new();
    for (k, v, at) in opts {
        let on = crate::parse::flag(k, v, *at)?;
        let why = match k.as_str() {
            "strict_fields" if !on => "`strict_fields=false` (keeping the event's other fields) is not supported yet",
            "summariesonly" if on => "`summariesonly=true` reads only acceleration summaries, and there are none locally: Splunk would return no events from an unaccelerated model",
            _ => continue,
        };
        out.push(Refusal {
            kind: RefusalKind::Feature,
            name: format!("{k}={v}"),
            reason: why.to_string(),
            span: *at,
        });
    }
    Ok(out)
}

impl DatasetRef {
    /// `Model.Dataset` as one word.
    pub fn from_spec(spec: &str, span: Span) -> DatasetRef {
        match spec.split_once('.') {
            Some((m, d)) => DatasetRef {
                model: m.to_string(),
                dataset: Some(d.to_string()),
                span,
            },
            None => DatasetRef {
                model: spec.to_string(),
                dataset: None,
                span,
            },
        }
    }

    pub fn text(&self) -> String {
        match &self.dataset {
            Some(d) => format!("{}.{d}", self.model),
            None => self.model.clone(),
        }
    }

    /// The model and the dataset (a root or a child), or why not.
    pub fn resolve(
        &self,
        models: &DataModels,
    ) -> std::result::Result<(Arc<DataModel>, usize), Refusal> {
        let refuse = |reason: String| Refusal {
            kind: RefusalKind::Feature,
            name: "datamodel".into(),
            reason,
            span: self.span,
        };
        let (model, root) = match &self.dataset {
            None => models.resolve(&self.model).map_err(refuse)?,
            Some(d) => {
                let m = models
                    .resolve(&self.model)
                    .map(|(m, _)| m)
                    .or_else(|e| match models.get(&self.model) {
                        Some(m) => Ok(m.clone()),
                        None => Err(e),
                    })
                    .map_err(refuse)?;
                let Some(i) = m.by_lineage(d) else {
                    return Err(refuse(format!(
                        "data model `{}` has no dataset `{d}`",
                        m.name
                    )));
                };
                (m, i)
            }
        };
        if let Some(why) = model.refused(root) {
            return Err(refuse(why));
        }
        Ok((model, root))
    }

    /// The fields of the events the dataset's events are made from (see [`DataModel::reads`]).
    pub fn needs(&self, known: &Known) -> super::Need {
        let (model, target) = self.resolve(known.datamodels).ok()?;
        let outputs = outputs(&model, target, true);
        let mut n = model.reads(target, &outputs);
        n.insert("_raw".into());
        Some(n)
    }

    /// The operator giving the dataset's events, with fields bare (`flat`) or prefixed.
    pub fn operator(&self, cx: &Context, flat: bool) -> Result<Box<dyn Operator>> {
        let (model, target) = self
            .resolve(cx.datamodels)
            .map_err(|r| Diagnostic::at(r.reason, r.span))?;
        let outputs = outputs(&model, target, flat);
        let view = View::new(model, target, &outputs, cx.eval, cx.lookups)?;
        Ok(Box::new(DatasetOp {
            view: Arc::new((view, outputs)),
        }))
    }
}

/// Every field of dataset `target`, named bare (`flat`) or by its lineage.
fn outputs(model: &DataModel, target: usize, flat: bool) -> Vec<Output> {
    model
        .all_fields(target)
        .into_iter()
        .map(|f| Output {
            name: if flat {
                f.clone()
            } else {
                format!("{}.{f}", model.lineage(target))
            },
            dataset: target,
            field: f,
        })
        .collect()
}

impl Datamodel {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Datamodel> {
        let mut opts = c.options(OPTIONS)?;
        let mut words: Vec<(String, Span)> = Vec::new();
        loop {
            opts.extend(c.options(OPTIONS)?);
            if c.at_stage_end() {
                break;
            }
            words.push(c.value("a data model, a dataset or a mode")?);
        }
        let mut refused = option_refusals(&opts)?;
        let (dataset, mode) = match words.as_slice() {
            [] => {
                return Err(Diagnostic::at(
                    "`datamodel` needs a data model and a dataset: `| datamodel <Model> <Dataset> search`",
                    name_span,
                ))
            }
            [(m, s)] => (DatasetRef::from_spec(m, *s), None),
            [(m, s), (d, ds)] if !m.contains('.') => (
                DatasetRef {
                    model: m.clone(),
                    dataset: Some(d.clone()),
                    span: Span::new(s.start, ds.end),
                },
                None,
            ),
            [(m, s), (mode, ms)] => (DatasetRef::from_spec(m, *s), Some((mode.clone(), *ms))),
            [(m, s), (d, ds), (mode, ms)] => (
                DatasetRef {
                    model: m.clone(),
                    dataset: Some(d.clone()),
                    span: Span::new(s.start, ds.end),
                },
                Some((mode.clone(), *ms)),
            ),
            [_, _, _, (w, ws), ..] => {
                return Err(Diagnostic::at(
                    format!("unexpected `{w}`: `datamodel` takes a model, a dataset and a mode"),
                    *ws,
                ))
            }
        };
        let flat = match &mode {
            Some((m, _)) if m.eq_ignore_ascii_case("search") => false,
            Some((m, _)) if m.eq_ignore_ascii_case("flat") => true,
            Some((m, ms)) => {
                refused.push(Refusal {
                    kind: RefusalKind::Feature,
                    name: format!("datamodel {m}"),
                    reason: format!("`datamodel` mode `{m}` gives Splunk's generated search text or acceleration search: not supported (modes `search` and `flat` are)"),
                    span: *ms,
                });
                false
            }
            None => {
                refused.push(Refusal {
                    kind: RefusalKind::Feature,
                    name: "datamodel".into(),
                    reason: "`datamodel` without `search` or `flat` returns the model's definition as JSON: not supported; add `search` or `flat` for the dataset's events".into(),
                    span: name_span,
                });
                false
            }
        };
        Ok(Datamodel {
            dataset,
            flat,
            refused,
        })
    }
}

impl SplCommand for Datamodel {
    fn kind(&self) -> super::Kind {
        super::Kind::Generating
    }

    fn reads_events(&self) -> bool {
        true
    }

    fn refusals(&self) -> Vec<Refusal> {
        self.refused.clone()
    }

    fn refusals_in(&self, known: &Known) -> Vec<Refusal> {
        let mut out = self.refused.clone();
        if let Err(r) = self.dataset.resolve(known.datamodels) {
            out.push(r);
        }
        out
    }

    fn datamodels(&self) -> Vec<String> {
        vec![self.dataset.text()]
    }

    fn needs_in(&self, _after: super::Need, known: &Known) -> super::Need {
        self.dataset.needs(known)
    }

    fn operator(&self, cx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        if let Some(r) = self.refused.first() {
            return Err(Diagnostic::at(r.reason.clone(), r.span));
        }
        self.dataset.operator(cx, self.flat)
    }
}

/// The events of a dataset, as the dataset sees them.
struct DatasetOp {
    view: Arc<(View, Vec<Output>)>,
}

impl Operator for DatasetOp {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let raw = ev.get("_raw").cloned();
        if let Some(mut e) = self.view.0.project(ev, &self.view.1)? {
            if let Some(r) = raw {
                e.set("_raw", r);
            }
            out.push(e);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<Datamodel> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::Datamodel(t)) => Ok(t),
            other => panic!("not datamodel: {other:?}"),
        }
    }

    #[test]
    fn parses_model_dataset_and_mode() {
        let d = parse("| datamodel Endpoint Processes search").unwrap();
        assert_eq!(d.dataset.text(), "Endpoint.Processes");
        assert!(!d.flat && d.refused.is_empty());
        let d = parse("| datamodel Authentication Failed_Authentication flat strict_fields=true")
            .unwrap();
        assert!(d.flat && d.refused.is_empty());
        assert!(d.dataset.resolve(crate::datamodels::shipped()).is_ok());
        let d = parse("| datamodel Web Web").unwrap();
        assert!(d.refused[0].reason.contains("JSON"));
        let d = parse("| datamodel Web Web search_string").unwrap();
        assert!(d.refused[0].reason.contains("search_string"));
        let d = parse("| datamodel Web Web search strict_fields=f").unwrap();
        assert!(d.refused[0].reason.contains("strict_fields"));
        assert!(parse("| datamodel").is_err());
        let d = parse("| datamodel Nope X search").unwrap();
        assert!(d.dataset.resolve(crate::datamodels::shipped()).is_err());
    }
}
