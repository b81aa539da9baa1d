//! Data models — the datasets that `tstats`, `datamodel` and `from datamodel` read.
//!
//! Definitions are Splunk's data model JSON (the `default/data/models/*.json` of an add-on such as the
//! Common Information Model): a model holds datasets ("objects"); a root dataset selects events by its
//! constraints (`parentName` `BaseEvent`) or by a base search (`BaseSearch`: a search expression, then
//! `eval` stages); a child dataset is its parent's events further restricted by its own constraints.
//! A dataset's fields are its declared fields and the outputs of its calculations (`Eval`, `Lookup`,
//! `Rex`), in order, after its parent's; it inherits every ancestor's fields.
//!
//! Outside the model a field is named by the dataset's lineage: `Processes.process_name`,
//! `All_Changes.Account_Management.src_user`; a child's field has a value only on the child's events.
//!
//! spelunk ships its own definitions (`datamodels/*.json`, written from the CIM's documented facts);
//! `--datamodels DIR` adds a folder of such files (an installed add-on's `default/data/models/`), a model
//! of the same name replacing the shipped one.

use crate::commands::search::{Matcher, SearchExpr};
use crate::diag::{Diagnostic, Result};
use crate::eval::{EvalContext, Expr};
use crate::event::Event;
use crate::lookups::Lookups;
use crate::macros::MacroLibrary;
use crate::value::Value;
use serde::Deserialize;
use std::path::Path;
use std::sync::{Arc, OnceLock};

include!(concat!(env!("OUT_DIR"), "/datamodels.rs"));

/// Fields every event has, readable without a dataset prefix.
pub const BASE_FIELDS: &[&str] = &["_time", "host", "source", "sourcetype", "index"];

#[derive(Deserialize)]
struct JsonModel {
    #[serde(rename = "modelName")]
    model_name: String,
    #[serde(default)]
    objects: Vec<JsonObject>,
}

#[derive(Deserialize)]
struct JsonObject {
    #[serde(rename = "objectName")]
    object_name: String,
    #[serde(rename = "parentName", default)]
    parent_name: String,
    #[serde(rename = "baseSearch", default)]
    base_search: Option<String>,
    #[serde(default)]
    constraints: Vec<JsonConstraint>,
    #[serde(default)]
    fields: Vec<JsonField>,
    #[serde(default)]
    calculations: Vec<JsonCalc>,
}

#[derive(Deserialize)]
struct JsonConstraint {
    #[serde(default)]
    search: String,
}

#[derive(Deserialize)]
struct JsonField {
    #[serde(rename = "fieldName")]
    field_name: String,
    #[serde(rename = "lookupOutputFieldName", default)]
    lookup_output: Option<String>,
}

#[derive(Deserialize)]
struct JsonCalc {
    #[serde(rename = "calculationType", default)]
    kind: String,
    #[serde(default)]
    expression: Option<String>,
    #[serde(rename = "inputField", default)]
    input_field: Option<String>,
    #[serde(rename = "lookupName", default)]
    lookup_name: Option<String>,
    #[serde(rename = "lookupInputs", default)]
    lookup_inputs: Vec<JsonLookupInput>,
    #[serde(rename = "outputFields", default)]
    output_fields: Vec<JsonField>,
}

#[derive(Deserialize)]
struct JsonLookupInput {
    #[serde(rename = "inputField")]
    input_field: String,
    #[serde(rename = "lookupField")]
    lookup_field: String,
}

/// A calculated field (or fields) of a dataset.
#[derive(Clone, Debug)]
pub enum Calc {
    Eval {
        field: String,
        expr: Expr,
    },
    /// `lookup <table> <col> AS <field> ... OUTPUTNEW <col> AS <field> ...`
    Lookup {
        table: String,
        inputs: Vec<(String, String)>,
        outputs: Vec<(String, String)>,
    },
    /// Named groups of `regex` over `input`.
    Rex {
        input: String,
        regex: crate::pcre::Pcre,
        outputs: Vec<String>,
    },
    /// A calculation spelunk does not compute (`GeoIP`): reading one of its outputs is refused.
    Unsupported {
        kind: String,
        outputs: Vec<String>,
    },
}

impl Calc {
    fn outputs(&self) -> Vec<&str> {
        match self {
            Calc::Eval { field, .. } => vec![field.as_str()],
            Calc::Lookup { outputs, .. } => outputs.iter().map(|(_, f)| f.as_str()).collect(),
            Calc::Rex { outputs, .. } | Calc::Unsupported { outputs, .. } => {
                outputs.iter().map(String::as_str).collect()
            }
        }
    }
}

/// One dataset of a model.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub name: String,
    /// Index of the parent in [`DataModel::datasets`] (`None` for a root).
    pub parent: Option<usize>,
    /// The names from the root down, joined by `.` (`All_Changes.Account_Management`).
    pub lineage: String,
    /// Its own constraints (and a base search's search part), all of which an event must meet.
    pub filter: Option<SearchExpr>,
    /// The `eval` stages of a base search.
    pub evals: Vec<(String, Expr)>,
    /// Declared fields and calculation outputs, in order.
    pub fields: Vec<String>,
    pub calcs: Vec<Calc>,
    /// Why the dataset cannot be read (a base search with a command other than `eval` ...).
    pub refused: Option<String>,
}

#[derive(Clone, Debug)]
pub struct DataModel {
    pub name: String,
    /// The file it was read from (`shipped datamodels/Endpoint.json`).
    pub origin: String,
    pub datasets: Vec<Dataset>,
}

/// The loaded data models.
#[derive(Clone, Debug, Default)]
pub struct DataModels {
    models: Vec<Arc<DataModel>>,
}

/// The shipped models, parsed once (for `check` and commands that name a model when parsed).
pub fn shipped() -> &'static DataModels {
    static SHIPPED: OnceLock<DataModels> = OnceLock::new();
    SHIPPED.get_or_init(|| {
        let mut d = DataModels::default();
        // the shipped files are checked by a test: a failure here leaves the model out
        let _ = d.add_shipped(&MacroLibrary::new());
        d
    })
}

impl DataModels {
    /// The shipped definitions, with index macros expanded by `macros`.
    pub fn add_shipped(&mut self, macros: &MacroLibrary) -> Result<()> {
        for (name, text) in SHIPPED_DATAMODELS {
            self.add_json(text, &format!("shipped {name}"), macros)?;
        }
        Ok(())
    }

    /// A data model JSON file, or every `*.json` in a folder.
    pub fn add_path(&mut self, path: &Path, macros: &MacroLibrary) -> Result<usize> {
        let mut files = Vec::new();
        if path.is_dir() {
            let rd = std::fs::read_dir(path)
                .map_err(|e| Diagnostic::new(format!("--datamodels `{}`: {e}", path.display())))?;
            for e in rd.flatten() {
                let p = e.path();
                if p.is_file()
                    && p.extension()
                        .is_some_and(|x| x.eq_ignore_ascii_case("json"))
                {
                    files.push(p);
                }
            }
            files.sort();
            if files.is_empty() {
                return Err(Diagnostic::new(format!(
                    "--datamodels `{}`: no data model files (*.json) in this folder",
                    path.display()
                )));
            }
        } else {
            files.push(path.to_path_buf());
        }
        for f in &files {
            let text = std::fs::read_to_string(f)
                .map_err(|e| Diagnostic::new(format!("--datamodels `{}`: {e}", f.display())))?;
            self.add_json(&text, &f.display().to_string(), macros)?;
        }
        Ok(files.len())
    }

    /// One model's JSON text; a model of the same name is replaced.
    pub fn add_json(&mut self, text: &str, origin: &str, macros: &MacroLibrary) -> Result<()> {
        let m = parse_model(text, origin, macros)?;
        self.models.retain(|x| x.name != m.name);
        self.models.push(Arc::new(m));
        Ok(())
    }

    pub fn names(&self) -> Vec<&str> {
        self.models.iter().map(|m| m.name.as_str()).collect()
    }

    pub fn get(&self, name: &str) -> Option<&Arc<DataModel>> {
        self.models.iter().find(|m| m.name == name).or_else(|| {
            self.models
                .iter()
                .find(|m| m.name.eq_ignore_ascii_case(name))
        })
    }

    /// The dataset `Model.Dataset` (or `Model` alone, for a model with one root).
    pub fn resolve(&self, spec: &str) -> std::result::Result<(Arc<DataModel>, usize), String> {
        let (model, ds) = match spec.split_once('.') {
            Some((m, d)) => (m, Some(d)),
            None => (spec, None),
        };
        let Some(m) = self.get(model) else {
            let known = self.names().join(", ");
            return Err(format!(
                "data model `{model}` is not loaded (loaded: {known}); give its definition with --datamodels DIR"
            ));
        };
        let i = match ds {
            Some(d) => {
                let Some(i) = m.datasets.iter().position(|x| x.name == d) else {
                    return Err(format!(
                        "data model `{}` has no dataset `{d}` (its datasets: {})",
                        m.name,
                        m.datasets
                            .iter()
                            .map(|x| x.lineage.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                };
                if m.datasets.get(i).is_some_and(|x| x.parent.is_some()) {
                    return Err(format!(
                        "`{spec}` is not a root dataset: name its root after `datamodel=` and the dataset with `where nodename={}`",
                        m.datasets.get(i).map(|x| x.lineage.as_str()).unwrap_or(d)
                    ));
                }
                i
            }
            None => {
                let roots: Vec<usize> = (0..m.datasets.len())
                    .filter(|&i| m.datasets.get(i).is_some_and(|x| x.parent.is_none()))
                    .collect();
                match roots.as_slice() {
                    [one] => *one,
                    _ => {
                        return Err(format!(
                            "data model `{}` has {} root datasets ({}): name one, as in `datamodel={}.{}`",
                            m.name,
                            roots.len(),
                            roots
                                .iter()
                                .filter_map(|&i| m.datasets.get(i).map(|x| x.name.as_str()))
                                .collect::<Vec<_>>()
                                .join(", "),
                            m.name,
                            roots
                                .first()
                                .and_then(|&i| m.datasets.get(i))
                                .map(|x| x.name.as_str())
                                .unwrap_or("Dataset")
                        ))
                    }
                }
            }
        };
        Ok((m.clone(), i))
    }
}

fn parse_model(text: &str, origin: &str, macros: &MacroLibrary) -> Result<DataModel> {
    let json: JsonModel = serde_json::from_str(text).map_err(|e| {
        Diagnostic::new(format!(
            "{origin}: not a data model definition (Splunk's data model JSON): {e}"
        ))
    })?;
    let bad = |what: String| Diagnostic::new(format!("{origin}: {what}"));
    let mut datasets: Vec<Dataset> = Vec::new();
    // parents come before children in the list spelunk keeps, whatever the file's order
    let mut pending: Vec<&JsonObject> = json.objects.iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for o in pending {
            let parent = match o.parent_name.as_str() {
                "BaseEvent" | "BaseSearch" | "BaseTransaction" | "" => None,
                p => match datasets.iter().position(|d| d.name == p) {
                    Some(i) => Some(i),
                    None => {
                        rest.push(o);
                        continue;
                    }
                },
            };
            if datasets.iter().any(|d| d.name == o.object_name) {
                return Err(bad(format!("dataset `{}` is defined twice", o.object_name)));
            }
            datasets.push(dataset(o, parent, &datasets, macros, origin)?);
        }
        if rest.len() == before {
            let names: Vec<String> = rest
                .iter()
                .map(|o| format!("`{}` (parent `{}`)", o.object_name, o.parent_name))
                .collect();
            return Err(bad(format!(
                "datasets whose parent is not in the model: {}",
                names.join(", ")
            )));
        }
        pending = rest;
    }
    Ok(DataModel {
        name: json.model_name,
        origin: origin.to_string(),
        datasets,
    })
}

/// The text of a constraint with the index macro (`` (`cim_Endpoint_indexes`) ``) expanded by `macros`,
/// an undefined one meaning no restriction (the CIM's default), and empty groups `()` dropped.
fn constraint_text(text: &str, macros: &MacroLibrary) -> std::result::Result<String, String> {
    let mut t = text.to_string();
    while let Some(start) = t.find("`cim_") {
        let Some(len) = t.get(start + 1..).and_then(|r| r.find('`')) else {
            break;
        };
        let name = t.get(start + 1..start + 1 + len).unwrap_or("").to_string();
        let def = macros
            .get(&name, 0)
            .map(|d| d.definition.clone())
            .unwrap_or_default();
        t.replace_range(start..start + len + 2, &def);
    }
    let t = strip_empty_groups(&t);
    let exp = crate::macros::expand(&t, macros).map_err(|e| e.message)?;
    Ok(exp.text)
}

fn strip_empty_groups(t: &str) -> String {
    let mut out = t.to_string();
    loop {
        let mut changed = false;
        let bytes: Vec<char> = out.chars().collect();
        let mut quote = false;
        let mut i = 0;
        while i < bytes.len() {
            let ch = bytes.get(i).copied().unwrap_or(' ');
            if ch == '"' {
                quote = !quote;
            } else if !quote && ch == '(' {
                let mut j = i + 1;
                while bytes.get(j).is_some_and(|c| c.is_whitespace()) {
                    j += 1;
                }
                if bytes.get(j) == Some(&')') {
                    let s: String = bytes.get(..i).unwrap_or(&[]).iter().collect();
                    let e: String = bytes.get(j + 1..).unwrap_or(&[]).iter().collect();
                    out = format!("{s} {e}");
                    changed = true;
                    break;
                }
            }
            i += 1;
        }
        if !changed {
            return out;
        }
    }
}

fn dataset(
    o: &JsonObject,
    parent: Option<usize>,
    before: &[Dataset],
    macros: &MacroLibrary,
    origin: &str,
) -> Result<Dataset> {
    let lineage = match parent.and_then(|p| before.get(p)) {
        Some(p) => format!("{}.{}", p.lineage, o.object_name),
        None => o.object_name.clone(),
    };
    let bad =
        |what: String| Diagnostic::new(format!("{origin}: dataset `{}`: {what}", o.object_name));
    let mut searches: Vec<SearchExpr> = Vec::new();
    let mut evals = Vec::new();
    let mut refused = None;
    let mut texts: Vec<String> = o.constraints.iter().map(|c| c.search.clone()).collect();
    if let Some(b) = &o.base_search {
        texts.push(b.clone());
    }
    for text in texts {
        let text = constraint_text(&text, macros).map_err(&bad)?;
        if text.trim().is_empty() {
            continue;
        }
        let p = crate::parse::parse_query(&text)
            .map_err(|d| bad(format!("cannot read the search `{text}`: {}", d.message)))?;
        for (i, st) in p.stages.iter().enumerate() {
            match &st.command {
                crate::commands::Command::Search(s) if i == 0 => {
                    if let Some(e) = &s.expr {
                        searches.push(e.clone());
                    }
                }
                crate::commands::Command::Eval(e) if i > 0 => {
                    evals.extend(e.assignments.iter().cloned());
                }
                crate::commands::Command::Noop => {}
                other => {
                    refused.get_or_insert(format!(
                        "its base search runs `{}`, which spelunk does not run inside a data model (only a search and `eval`)",
                        other.name()
                    ));
                }
            }
        }
    }
    let filter = match searches.len() {
        0 => None,
        1 => searches.pop(),
        _ => Some(SearchExpr::And(searches)),
    };
    let mut fields: Vec<String> = Vec::new();
    let add = |f: &str, fields: &mut Vec<String>| {
        if !fields.iter().any(|x| x == f) {
            fields.push(f.to_string());
        }
    };
    for f in &o.fields {
        add(&f.field_name, &mut fields);
    }
    let mut calcs = Vec::new();
    for c in &o.calculations {
        let calc = calculation(c).map_err(&bad)?;
        for f in calc.outputs() {
            add(f, &mut fields);
        }
        calcs.push(calc);
    }
    Ok(Dataset {
        name: o.object_name.clone(),
        parent,
        lineage,
        filter,
        evals,
        fields,
        calcs,
        refused,
    })
}

fn calculation(c: &JsonCalc) -> std::result::Result<Calc, String> {
    let outputs: Vec<String> = c
        .output_fields
        .iter()
        .map(|f| f.field_name.clone())
        .collect();
    Ok(match c.kind.to_ascii_lowercase().as_str() {
        "eval" => {
            let [field] = outputs.as_slice() else {
                return Err(format!(
                    "an Eval calculation has one output field, not {}",
                    outputs.len()
                ));
            };
            let text = c.expression.as_deref().unwrap_or("");
            let expr = crate::eval::parse_expr(text)
                .map_err(|e| format!("cannot read the eval expression `{text}`: {e}"))?;
            Calc::Eval {
                field: field.clone(),
                expr,
            }
        }
        "lookup" => Calc::Lookup {
            table: c
                .lookup_name
                .clone()
                .ok_or("a Lookup calculation without `lookupName`")?,
            inputs: c
                .lookup_inputs
                .iter()
                .map(|i| (i.lookup_field.clone(), i.input_field.clone()))
                .collect(),
            outputs: c
                .output_fields
                .iter()
                .map(|f| {
                    (
                        f.lookup_output
                            .clone()
                            .unwrap_or_else(|| f.field_name.clone()),
                        f.field_name.clone(),
                    )
                })
                .collect(),
        },
        "rex" => {
            let text = c.expression.as_deref().unwrap_or("");
            let regex = crate::pcre::Pcre::new(text).map_err(|e| match e {
                crate::pcre::CompileError::Invalid(detail) => {
                    format!("cannot read the regular expression `{text}`: {detail}")
                }
                crate::pcre::CompileError::Unsupported { feature, .. } => format!(
                    "the regular expression `{text}` uses {feature}, which spelunk's regex engines do not run"
                ),
            })?;
            Calc::Rex {
                input: c.input_field.clone().unwrap_or_else(|| "_raw".into()),
                regex,
                outputs,
            }
        }
        other => Calc::Unsupported {
            kind: if other.is_empty() {
                "(no type)".into()
            } else {
                c.kind.clone()
            },
            outputs,
        },
    })
}

impl DataModel {
    fn dataset(&self, i: usize) -> Option<&Dataset> {
        self.datasets.get(i)
    }

    /// The dataset with this lineage (`Authentication.Failed_Authentication`) or name.
    pub fn by_lineage(&self, lineage: &str) -> Option<usize> {
        self.datasets
            .iter()
            .position(|d| d.lineage == lineage)
            .or_else(|| self.datasets.iter().position(|d| d.name == lineage))
    }

    /// Is `a` `b` or one of its ancestors?
    fn is_ancestor_or_self(&self, a: usize, b: usize) -> bool {
        let mut cur = Some(b);
        while let Some(c) = cur {
            if c == a {
                return true;
            }
            cur = self.dataset(c).and_then(|d| d.parent);
        }
        false
    }

    /// `d` and its ancestors, root first.
    fn path(&self, d: usize) -> Vec<usize> {
        let mut v = Vec::new();
        let mut cur = Some(d);
        while let Some(c) = cur {
            v.push(c);
            cur = self.dataset(c).and_then(|x| x.parent);
        }
        v.reverse();
        v
    }

    /// Does dataset `d` (or an ancestor) have field `f`? The index of the dataset that gives it.
    fn owner_of(&self, d: usize, f: &str) -> Option<usize> {
        self.path(d).into_iter().rev().find(|&i| {
            self.dataset(i)
                .is_some_and(|x| x.fields.iter().any(|y| y == f))
        })
    }

    /// Resolve a prefixed name (`Processes.process_name`) read from dataset `target`'s events: the dataset
    /// whose lineage prefixes it (the longest) and the field. The dataset must be `target`, one of its
    /// ancestors (the value is `target`'s) or a descendant (a value only on its events). `Ok(None)`: the
    /// model has no such field (no dataset prefix, or a dataset that does not declare it), which Splunk
    /// reads as null; `Err`: a name that cannot be read at all.
    pub fn field(
        &self,
        target: usize,
        name: &str,
    ) -> std::result::Result<Option<(usize, String)>, String> {
        let mut best: Option<(usize, &str)> = None;
        for (i, d) in self.datasets.iter().enumerate() {
            if let Some(rest) = name
                .strip_prefix(d.lineage.as_str())
                .and_then(|r| r.strip_prefix('.'))
            {
                if best.is_none_or(|(b, _)| {
                    self.dataset(b).map_or(0, |x| x.lineage.len()) < d.lineage.len()
                }) {
                    best = Some((i, rest));
                }
            }
        }
        let Some((ds, field)) = best else {
            return Ok(None);
        };
        let reader = if self.is_ancestor_or_self(ds, target) {
            target
        } else if self.is_ancestor_or_self(target, ds) {
            ds
        } else {
            return Err(format!(
                "`{name}` belongs to dataset `{}`, which is not under `{}` in data model `{}`",
                self.dataset(ds).map(|d| d.lineage.as_str()).unwrap_or(""),
                self.dataset(target)
                    .map(|d| d.lineage.as_str())
                    .unwrap_or(""),
                self.name
            ));
        };
        if BASE_FIELDS.contains(&field) {
            return Ok(Some((reader, field.to_string())));
        }
        let Some(owner) = self.owner_of(ds, field) else {
            return Ok(None);
        };
        if let Some(why) = self.dataset(owner).and_then(|d| {
            d.calcs.iter().find_map(|c| match c {
                Calc::Unsupported { kind, outputs } if outputs.iter().any(|o| o == field) => {
                    Some(kind.clone())
                }
                _ => None,
            })
        }) {
            return Err(format!(
                "`{name}` is computed by a `{why}` calculation of data model `{}`, which spelunk does not run",
                self.name
            ));
        }
        Ok(Some((reader, field.to_string())))
    }

    /// Why `name` is null when read from `target` (see [`DataModel::field`]'s `Ok(None)`).
    pub fn undeclared(&self, target: usize, name: &str) -> String {
        let root = self
            .path(target)
            .first()
            .and_then(|&r| self.dataset(r))
            .map(|d| d.lineage.clone())
            .unwrap_or_default();
        let lineage = self.lineage(target);
        if name.starts_with(&format!("{root}.")) {
            format!(
                "data model `{}` ({}) declares no field `{name}` for `{lineage}`: it is null, as Splunk reads a field its data model lacks (a site's CIM version may declare it: give that model with --datamodels)",
                self.name, self.origin
            )
        } else {
            format!(
                "`{name}` is not a field of data model `{}` (its fields are named `{root}.<field>`): it is null, as Splunk reads a field its data model lacks",
                self.name
            )
        }
    }

    /// The event fields reading `outputs` from `target`'s events reads: those the constraints of the
    /// datasets involved read, the outputs' own fields, and — worked back from those — the inputs of the
    /// base-search evals and calculations that make any of them (the reader extracts only these, and a
    /// field the add-on's knowledge cannot compute matters only when it is read).
    pub fn reads(&self, target: usize, outputs: &[Output]) -> std::collections::HashSet<String> {
        let mut sets: Vec<usize> = self.path(target);
        for o in outputs {
            for i in self.path(o.dataset) {
                if !sets.contains(&i) {
                    sets.push(i);
                }
            }
        }
        let mut out: std::collections::HashSet<String> =
            BASE_FIELDS.iter().map(|f| f.to_string()).collect();
        out.extend(outputs.iter().map(|o| o.field.clone()));
        // (outputs, inputs) of every step that may set a field, in all datasets read
        let mut steps: Vec<(Vec<String>, Vec<String>)> = Vec::new();
        for &i in &sets {
            let Some(d) = self.dataset(i) else { continue };
            if let Some(e) = &d.filter {
                if let Ok(m) = Matcher::compile(e, &|_| Some(0.0)) {
                    let mut v = Vec::new();
                    m.fields(&mut v);
                    out.extend(v);
                }
            }
            for (f, x) in &d.evals {
                steps.push((vec![f.clone()], x.fields()));
            }
            for c in &d.calcs {
                steps.push(match c {
                    Calc::Eval { field, expr } => (vec![field.clone()], expr.fields()),
                    Calc::Lookup {
                        inputs, outputs, ..
                    } => (
                        outputs.iter().map(|(_, f)| f.clone()).collect(),
                        inputs.iter().map(|(_, f)| f.clone()).collect(),
                    ),
                    Calc::Rex { input, outputs, .. } => (outputs.clone(), vec![input.clone()]),
                    Calc::Unsupported { outputs, .. } => (outputs.clone(), Vec::new()),
                });
            }
        }
        loop {
            let before = out.len();
            for (outs, ins) in &steps {
                if outs.iter().any(|f| out.contains(f)) {
                    out.extend(ins.iter().cloned());
                }
            }
            if out.len() == before {
                return out;
            }
        }
    }

    /// Why reading dataset `d` is refused, if it is.
    pub fn refused(&self, d: usize) -> Option<String> {
        self.path(d).into_iter().find_map(|i| {
            self.dataset(i).and_then(|x| {
                x.refused
                    .as_ref()
                    .map(|r| format!("dataset `{}` of data model `{}`: {r}", x.lineage, self.name))
            })
        })
    }

    /// Every field of `d` and its ancestors, in order (root first).
    pub fn all_fields(&self, d: usize) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for i in self.path(d) {
            for f in self.dataset(i).map(|x| x.fields.as_slice()).unwrap_or(&[]) {
                if !out.contains(f) {
                    out.push(f.clone());
                }
            }
        }
        out
    }

    pub fn lineage(&self, d: usize) -> &str {
        self.dataset(d).map(|x| x.lineage.as_str()).unwrap_or("")
    }
}

/// What a reader of a dataset asks for: each output field, by name, and where its value comes from.
#[derive(Clone, Debug)]
pub struct Output {
    pub name: String,
    /// The dataset whose events give it (the target, or a descendant).
    pub dataset: usize,
    pub field: String,
}

/// A dataset compiled for one query: an event goes in, the event as the dataset sees it (or nothing,
/// when it is not a member) comes out.
pub struct View {
    model: Arc<DataModel>,
    target: usize,
    /// Per dataset index: compiled filter, evals and calculations (only for the datasets read).
    nodes: Vec<Option<Node>>,
    /// Datasets under the target whose fields are read, parents first.
    below: Vec<usize>,
    path: Vec<usize>,
    ctx: EvalContext,
}

struct Node {
    filter: Option<Matcher>,
    evals: Vec<(String, Expr)>,
    calcs: Vec<CompiledCalc>,
}

enum CompiledCalc {
    Eval(String, Expr),
    Lookup(Arc<crate::lookups::Matcher>),
    Rex(String, crate::pcre::Pcre, Vec<String>),
    Skip,
}

impl View {
    /// Compile the datasets that reading `outputs` from `target`'s events needs.
    pub fn new(
        model: Arc<DataModel>,
        target: usize,
        outputs: &[Output],
        ctx: EvalContext,
        lookups: &Lookups,
    ) -> Result<View> {
        if let Some(why) = model.refused(target) {
            return Err(Diagnostic::new(why));
        }
        let path = model.path(target);
        let mut below: Vec<usize> = Vec::new();
        for o in outputs {
            if o.dataset != target {
                for i in model.path(o.dataset) {
                    if !path.contains(&i) && !below.contains(&i) {
                        below.push(i);
                    }
                }
            }
        }
        // parents before children: a dataset's path is longer than its parent's
        below.sort_by_key(|&i| model.path(i).len());
        let mut nodes: Vec<Option<Node>> = (0..model.datasets.len()).map(|_| None).collect();
        let now = ctx.now;
        let tz = ctx.tz;
        let resolver = move |t: &str| crate::eval::time::parse_time_modifier(t, now, tz);
        for &i in path.iter().chain(&below) {
            let Some(d) = model.dataset(i) else { continue };
            let filter = match &d.filter {
                Some(e) => Some(Matcher::compile(e, &resolver)?),
                None => None,
            };
            let mut calcs = Vec::new();
            for c in &d.calcs {
                calcs.push(match c {
                    Calc::Eval { field, expr } => CompiledCalc::Eval(field.clone(), expr.clone()),
                    Calc::Rex {
                        input,
                        regex,
                        outputs,
                    } => CompiledCalc::Rex(input.clone(), regex.clone(), outputs.clone()),
                    Calc::Lookup {
                        table,
                        inputs,
                        outputs,
                    } => {
                        let rows = lookups.read(table).map_err(|e| {
                            Diagnostic::new(format!(
                                "data model `{}`, dataset `{}`: {}",
                                model.name, d.lineage, e.message
                            ))
                        })?;
                        CompiledCalc::Lookup(Arc::new(crate::lookups::Matcher::new(
                            rows,
                            lookups.definition(table),
                            inputs
                                .iter()
                                .map(|(c, f)| (c.clone(), f.as_str().into()))
                                .collect(),
                            outputs
                                .iter()
                                .map(|(c, f)| (c.clone(), f.as_str().into()))
                                .collect(),
                            true,
                        )))
                    }
                    Calc::Unsupported { .. } => CompiledCalc::Skip,
                });
            }
            if let Some(slot) = nodes.get_mut(i) {
                *slot = Some(Node {
                    filter,
                    evals: d.evals.clone(),
                    calcs,
                });
            }
        }
        Ok(View {
            model,
            target,
            nodes,
            below,
            path,
            ctx,
        })
    }

    pub fn model(&self) -> &DataModel {
        &self.model
    }

    pub fn target(&self) -> usize {
        self.target
    }

    /// Run one dataset's constraint and calculations over `ev`: `false` when `ev` is not a member.
    fn step(&self, i: usize, ev: &mut Event) -> Result<bool> {
        let Some(Some(n)) = self.nodes.get(i) else {
            return Ok(false);
        };
        if n.filter.as_ref().is_some_and(|m| !m.matches(ev)) {
            return Ok(false);
        }
        let err = |e: crate::eval::EvalError| {
            Diagnostic::new(format!(
                "data model `{}`, dataset `{}`: {e}",
                self.model.name,
                self.model.lineage(i)
            ))
        };
        for (f, x) in &n.evals {
            let v = x.eval(ev, &self.ctx).map_err(err)?;
            ev.set_opt(f.as_str(), v);
        }
        for c in &n.calcs {
            match c {
                CompiledCalc::Eval(f, x) => {
                    let v = x.eval(ev, &self.ctx).map_err(err)?;
                    ev.set_opt(f.as_str(), v);
                }
                CompiledCalc::Lookup(m) => {
                    let found = m.find(ev);
                    m.apply(ev, &found);
                }
                CompiledCalc::Rex(input, re, outs) => {
                    let text = ev.get(input).map(|v| v.text().into_owned());
                    let first = match text.as_deref() {
                        Some(t) => re.captures_iter(t).next().transpose().map_err(|e| {
                            Diagnostic::new(format!("data model `{}`: {e}", self.model.name))
                        })?,
                        None => None,
                    };
                    if let Some(caps) = first {
                        for o in outs {
                            if let Some(m) = caps.name(o) {
                                ev.set(o.as_str(), Value::str(m.as_str()));
                            }
                        }
                    }
                }
                CompiledCalc::Skip => {}
            }
        }
        Ok(true)
    }

    /// The event as the target dataset and the datasets below it that are read see it: `None` when it
    /// is not a member of the target. The first element is the target's.
    pub fn apply(&self, mut ev: Event) -> Result<Option<Vec<(usize, Event)>>> {
        for &i in &self.path {
            if !self.step(i, &mut ev)? {
                return Ok(None);
            }
        }
        let mut states: Vec<(usize, Event)> = vec![(self.target, ev)];
        for &i in &self.below {
            let parent = self.model.dataset(i).and_then(|d| d.parent);
            let Some(base) = states
                .iter()
                .find(|(d, _)| Some(*d) == parent)
                .map(|(_, e)| e.clone())
            else {
                continue;
            };
            let mut e = base;
            if self.step(i, &mut e)? {
                states.push((i, e));
            }
        }
        Ok(Some(states))
    }

    /// The event with just `outputs` (and the base fields), or `None` when it is not a member.
    pub fn project(&self, ev: Event, outputs: &[Output]) -> Result<Option<Event>> {
        let Some(states) = self.apply(ev)? else {
            return Ok(None);
        };
        let mut out = Event::with_capacity(outputs.len() + BASE_FIELDS.len());
        if let Some((_, e)) = states.first() {
            for f in BASE_FIELDS {
                if let Some(v) = e.get(f) {
                    out.set(*f, v.clone());
                }
            }
        }
        for o in outputs {
            let v = states
                .iter()
                .find(|(d, _)| *d == o.dataset)
                .and_then(|(_, e)| e.get(&o.field));
            if let Some(v) = v {
                out.set(o.name.as_str(), v.clone());
            }
        }
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = r#"{
      "modelName": "Test",
      "objects": [
        {"objectName": "Child", "parentName": "Root", "constraints": [{"search": "action=failure"}],
         "fields": [{"fieldName": "reason"}],
         "calculations": [{"calculationType": "Eval", "expression": "upper(user)", "outputFields": [{"fieldName": "shout"}]}]},
        {"objectName": "Root", "parentName": "BaseEvent",
         "constraints": [{"search": "(`cim_Test_indexes`) tag=authentication NOT (action=success user=*$)"}],
         "fields": [{"fieldName": "_time"}, {"fieldName": "action"}, {"fieldName": "src"}],
         "calculations": [
           {"calculationType": "Eval", "expression": "if(isnull(user) OR user=\"\",\"unknown\",user)", "outputFields": [{"fieldName": "user"}]}
         ]}
      ]
    }"#;

    fn ev(pairs: &[(&str, &str)]) -> Event {
        let mut e = Event::new();
        for (k, v) in pairs {
            e.set(*k, Value::str(v));
        }
        e
    }

    fn view(outputs: &[&str], target: &str) -> (View, Vec<Output>) {
        let mut d = DataModels::default();
        d.add_json(MODEL, "test", &MacroLibrary::new()).unwrap();
        let (m, root) = d.resolve("Test").unwrap();
        let t = m.by_lineage(target).unwrap_or(root);
        let outs: Vec<Output> = outputs
            .iter()
            .map(|n| {
                let (ds, field) = m.field(t, n).unwrap().unwrap();
                Output {
                    name: n.to_string(),
                    dataset: ds,
                    field,
                }
            })
            .collect();
        let v = View::new(
            m,
            t,
            &outs,
            EvalContext {
                now: 0.0,
                tz: chrono_tz::UTC,
                max_text: crate::eval::MAX_TEXT,
            },
            &Lookups::default(),
        )
        .unwrap();
        (v, outs)
    }

    #[test]
    fn constraints_calculations_and_children() {
        let (v, outs) = view(&["Root.user", "Root.Child.shout", "Root.action"], "Root");
        let a = ev(&[
            ("tag", "authentication"),
            ("action", "failure"),
            ("user", "bob"),
        ]);
        let got = v.project(a, &outs).unwrap().unwrap();
        assert_eq!(got.get("Root.user"), Some(&Value::str("bob")));
        assert_eq!(got.get("Root.Child.shout"), Some(&Value::str("BOB")));
        // not in the child: no child field
        let b = ev(&[("tag", "authentication"), ("action", "success")]);
        let got = v.project(b, &outs).unwrap().unwrap();
        assert_eq!(got.get("Root.user"), Some(&Value::str("unknown")));
        assert_eq!(got.get("Root.Child.shout"), None);
        // excluded by the root's constraint
        let c = ev(&[
            ("tag", "authentication"),
            ("action", "success"),
            ("user", "PC1$"),
        ]);
        assert!(v.project(c, &outs).unwrap().is_none());
        let d = ev(&[("action", "failure")]);
        assert!(v.project(d, &outs).unwrap().is_none());
    }

    #[test]
    fn names_resolve_to_datasets() {
        let mut d = DataModels::default();
        d.add_json(MODEL, "test", &MacroLibrary::new()).unwrap();
        let (m, root) = d.resolve("Test").unwrap();
        let child = m.by_lineage("Root.Child").unwrap();
        assert_eq!(
            m.field(root, "Root.src").unwrap(),
            Some((root, "src".to_string()))
        );
        // an inherited field read through the child
        assert_eq!(
            m.field(child, "Root.Child.src").unwrap(),
            Some((child, "src".to_string()))
        );
        assert_eq!(
            m.field(child, "Root.src").unwrap(),
            Some((child, "src".to_string()))
        );
        // a field the model lacks, or a name without a dataset prefix: null, as in Splunk
        assert_eq!(m.field(root, "Root.nope"), Ok(None));
        assert!(m
            .undeclared(root, "Root.nope")
            .contains("no field `Root.nope`"));
        assert_eq!(m.field(root, "Other.src"), Ok(None));
        assert!(d
            .resolve("Test.Child")
            .unwrap_err()
            .contains("nodename=Root.Child"));
        assert!(d.resolve("Nope").unwrap_err().contains("not loaded"));
    }

    #[test]
    fn a_user_model_replaces_the_shipped_one_of_the_same_name() {
        let mut d = DataModels::default();
        d.add_json(MODEL, "a", &MacroLibrary::new()).unwrap();
        d.add_json(
            &MODEL.replace("\"src\"", "\"dest\""),
            "b",
            &MacroLibrary::new(),
        )
        .unwrap();
        assert_eq!(d.names(), ["Test"]);
        let (m, root) = d.resolve("Test").unwrap();
        assert_eq!(m.field(root, "Root.dest").map(|f| f.is_some()), Ok(true));
        assert_eq!(m.field(root, "Root.src"), Ok(None));
    }

    #[test]
    fn index_macros_default_to_no_restriction() {
        assert_eq!(
            constraint_text("(`cim_X_indexes`) tag=a", &MacroLibrary::new())
                .unwrap()
                .trim(),
            "tag=a"
        );
    }

    #[test]
    fn the_shipped_models_load_and_their_datasets_compile() {
        let mut models = DataModels::default();
        if let Err(e) = models.add_shipped(&MacroLibrary::new()) {
            panic!("{}", e.message);
        }
        assert!(models.names().len() >= 18, "{:?}", models.names());
        for name in models.names() {
            let m = models.get(name).unwrap().clone();
            for d in 0..m.datasets.len() {
                if m.refused(d).is_some() {
                    continue;
                }
                let outputs: Vec<Output> = m
                    .all_fields(d)
                    .into_iter()
                    .map(|f| Output {
                        name: f.clone(),
                        dataset: d,
                        field: f,
                    })
                    .collect();
                let ctx = EvalContext {
                    now: 0.0,
                    tz: chrono_tz::UTC,
                    max_text: crate::eval::MAX_TEXT,
                };
                if let Err(e) = View::new(m.clone(), d, &outputs, ctx, &Lookups::shipped()) {
                    panic!("{name} {}: {}", m.lineage(d), e.message);
                }
            }
        }
        let (m, d) = models.resolve("Endpoint.Processes").unwrap();
        assert!(matches!(m.field(d, "Processes.process_name"), Ok(Some(_))));
        assert_eq!(m.field(d, "Processes.no_such_field"), Ok(None));
    }
}
