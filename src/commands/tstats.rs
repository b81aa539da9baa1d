//! `tstats` — aggregate the events of a data model dataset (or index-time fields) with the stats engine.
//!
//! ```text
//! | tstats [prestats=<bool>] [local=<bool>] [append=<bool>] [summariesonly=<bool>]
//!          [include_reduced_buckets=<bool>] [allow_old_summaries=<bool>] [chunk_size=<int>]
//!          [fillnull_value=<string>]
//!          <agg> [AS <name>] [[,] <agg> [AS <name>]]...
//!          [FROM datamodel=<Model>[.<RootDataset>]]   (also `datamodel:<...>`, quoted)
//!          [WHERE <search-expression>]                (may hold `nodename=<lineage>`)
//!          [BY <field> [[,] <field>]... [span=<time>]]
//! ```
//! Keywords are case-insensitive. A generating command: it starts the search (`| tstats ...`).
//!
//! With a data model, the events are those of the dataset (the constraints of it and its ancestors,
//! with the add-ons' fields and the model's calculations, see [`crate::datamodels`]); `where
//! nodename=<lineage>` (a top-level condition) narrows them to a child dataset. Fields are named
//! `<lineage>.<field>` (`Processes.process_name`); `_time`, `host`, `source`, `sourcetype` and `index`
//! may also be named bare. A name the loaded model does not declare (`Processes.path`, a bare `user`)
//! is null, as Splunk reads it, with a warning naming the model and the field (the model a site runs
//! may declare it: `--datamodels` loads that one). WHERE is search
//! syntax (values case-insensitive, `*` wildcards, `IN`, `!=` needing the field, `earliest=`/`latest=`);
//! free-text terms (matched against the index's terms in Splunk) are refused. Without a data model
//! only index-time fields (`_time`, `index`, `host`, `source`, `sourcetype`, `splunk_server`) may be
//! named.
//!
//! The aggregation is the stats engine's (`count`, `dc`, `values`, `min`, `max`, `earliest` ...; no
//! wildcards, no `eval(...)`). An event with no value for a BY field is left out, unless
//! `fillnull_value=X` is given: then the missing value is the text X (security_content's
//! `security_content_summariesonly` macro gives the four letters `null`). `_time` in BY with `span=`
//! is bucketed as `bin` buckets it; without `span=` Splunk picks the span from the search's time
//! range: here the span is picked as `bin` picks it (at most 100 buckets) over the events' own range,
//! and a warning says which. Output: one row per group, sorted by the BY values, BY fields first.
//!
//! Summaries: nothing is accelerated locally, so tstats reads the raw events, which is what
//! `summariesonly=false` (the default) does in Splunk for a model without summaries.
//! `summariesonly=true` is refused: Splunk would return no rows from an unaccelerated model, and
//! reading the raw events instead would silently answer another question. `allow_old_summaries`,
//! `local`, `chunk_size` and `include_reduced_buckets` change where Splunk reads from, not the rows.
//! `prestats=true` hands the dataset's events (with the fields named) to the next command, which is
//! what a following `stats`, `chart` or `timechart` needs; `append=true` is refused.

use super::bin::{self, BinSpan};
use super::search::{parse_expr, CmpOp, Matcher, SearchExpr};
use super::stats::{Agg, Stats};
use super::{Context, Known, Operator, Refusal, RefusalKind, SplCommand, SubRunner};
use crate::datamodels::{DataModel, DataModels, Output, View, BASE_FIELDS};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;
use crate::value::Value;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq)]
pub struct Tstats {
    pub prestats: bool,
    pub fillnull_value: Option<String>,
    pub aggs: Vec<Agg>,
    /// `datamodel=` as written (`Endpoint.Processes`, `Web`).
    pub datamodel: Option<(String, Span)>,
    /// `nodename=` of WHERE.
    pub nodename: Option<(String, Span)>,
    /// WHERE without its `nodename=` condition.
    pub filter: Option<SearchExpr>,
    pub by: Vec<(String, Span)>,
    pub span: Option<BinSpan>,
    /// Legal options and forms spelunk does not run.
    pub refused: Vec<Refusal>,
    pub name_span: Span,
}

const OPTIONS: &[&str] = &[
    "prestats",
    "local",
    "append",
    "summariesonly",
    "include_reduced_buckets",
    "allow_old_summaries",
    "chunk_size",
    "fillnull_value",
];

/// Fields a tstats without a data model may read: the index-time ones.
const INDEX_FIELDS: &[&str] = &[
    "_time",
    "index",
    "host",
    "source",
    "sourcetype",
    "splunk_server",
];

fn refusal(name: &str, reason: String, span: Span) -> Refusal {
    Refusal {
        kind: RefusalKind::Feature,
        name: name.to_string(),
        reason,
        span,
    }
}

impl Tstats {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Tstats> {
        let mut t = Tstats {
            prestats: false,
            fillnull_value: None,
            aggs: Vec::new(),
            datamodel: None,
            nodename: None,
            filter: None,
            by: Vec::new(),
            span: None,
            refused: Vec::new(),
            name_span,
        };
        parse_options(c, &mut t)?;
        loop {
            c.ws();
            if c.eat(',') {
                continue;
            }
            if c.at_stage_end()
                || c.at_keyword("from")
                || c.at_keyword("where")
                || c.at_keyword("by")
            {
                break;
            }
            // options written among the functions (`count `security_content_summariesonly` values(x)`)
            if c.at_option() {
                let before = c.pos;
                parse_options(c, &mut t)?;
                if c.pos != before {
                    continue;
                }
            }
            let start = c.pos;
            let Some((fname, fspan)) = c.bare() else {
                return Err(c.expected("a tstats function such as `count` or `values(field)`"));
            };
            let a = super::stats::aggregate::parse_agg(c, start, fname, fspan)?;
            if a.expr.is_some() {
                return Err(Diagnostic::at(
                    "tstats functions take a field, not `eval(...)`",
                    a.span,
                ));
            }
            if a.is_wildcard() {
                return Err(Diagnostic::at(
                    "tstats functions cannot name fields with wildcards",
                    a.span,
                ));
            }
            t.aggs.push(a);
        }
        if t.aggs.is_empty() {
            return Err(c.expected("a tstats function such as `count`"));
        }
        let (mut seen_from, mut seen_where) = (false, false);
        loop {
            if !seen_from && c.keyword("from") {
                seen_from = true;
                parse_from(c, &mut t)?;
            } else if !seen_where && c.keyword("where") {
                seen_where = true;
                parse_where(c, &mut t)?;
            } else if c.keyword("by") {
                parse_by(c, &mut t)?;
                break;
            } else {
                break;
            }
        }
        c.end_of_stage("tstats")?;
        Ok(t)
    }

    /// Every field the command names, with where it is written.
    fn named_fields(&self) -> Vec<(String, Span)> {
        let mut out: Vec<(String, Span)> = Vec::new();
        let mut add = |f: &str, s: Span| {
            if !out.iter().any(|(g, _)| g == f) {
                out.push((f.to_string(), s));
            }
        };
        if let Some(e) = &self.filter {
            let mut v = Vec::new();
            where_fields(e, &mut v);
            for (f, s) in v {
                add(&f, s);
            }
        }
        for (f, s) in &self.by {
            add(f, *s);
        }
        for a in &self.aggs {
            if let Some(f) = &a.field {
                add(f, a.span);
            }
        }
        out
    }

    /// The dataset read and the fields it gives (with, for each name the model lacks, why it is null),
    /// or why it cannot be read.
    fn resolve(&self, models: &DataModels) -> std::result::Result<Option<Resolved>, Refusal> {
        let Some((spec, at)) = &self.datamodel else {
            for (f, s) in self.named_fields() {
                if !INDEX_FIELDS.contains(&f.as_str()) {
                    return Err(refusal(
                        &f,
                        format!("tstats without a data model reads index-time fields only ({}): `{f}` is a search-time field; name a data model with `from datamodel=...`", INDEX_FIELDS.join(", ")),
                        s,
                    ));
                }
            }
            return Ok(None);
        };
        let (model, root) = models
            .resolve(spec)
            .map_err(|why| refusal("datamodel", why, *at))?;
        let target = match &self.nodename {
            None => root,
            Some((node, nspan)) => {
                let Some(i) = model.by_lineage(node) else {
                    return Err(refusal(
                        "nodename",
                        format!(
                            "data model `{}` has no dataset `{node}` for `nodename=`",
                            model.name
                        ),
                        *nspan,
                    ));
                };
                if !model.lineage(i).starts_with(model.lineage(root)) {
                    return Err(refusal(
                        "nodename",
                        format!(
                            "`nodename={node}` is not under `{}` in data model `{}`",
                            model.lineage(root),
                            model.name
                        ),
                        *nspan,
                    ));
                }
                i
            }
        };
        if let Some(why) = model.refused(target) {
            return Err(refusal("datamodel", why, *at));
        }
        let mut outputs = Vec::new();
        let mut nulls = Vec::new();
        for (f, s) in self.named_fields() {
            if BASE_FIELDS.contains(&f.as_str()) {
                continue;
            }
            match model.field(target, &f).map_err(|why| refusal(&f, why, s))? {
                Some((dataset, field)) => outputs.push(Output {
                    name: f,
                    dataset,
                    field,
                }),
                None => nulls.push((model.undeclared(target, &f), s)),
            }
        }
        Ok(Some(Resolved {
            model,
            target,
            outputs,
            nulls,
        }))
    }
}

/// The `key=value` options at the cursor.
fn parse_options(c: &mut Cursor, t: &mut Tstats) -> Result<()> {
    for (k, v, at) in c.options(OPTIONS)? {
        let flag = || crate::parse::flag(&k, &v, at);
        match k.as_str() {
            "prestats" => t.prestats = flag()?,
            "summariesonly" if flag()? => {
                t.refused.push(refusal(
                        "summariesonly=true",
                        "`summariesonly=true` reads only data model acceleration summaries, and there are none locally: Splunk would return no rows from an unaccelerated model, so spelunk stops rather than answer from the raw events; use `summariesonly=false` (what security_content's `security_content_summariesonly` macro gives)".into(),
                        at,
                    ));
            }
            "append" if flag()? => {
                t.refused.push(refusal(
                    "append=true",
                    "`append=true` (adding prestats results to earlier ones) is not supported"
                        .into(),
                    at,
                ));
            }
            "summariesonly"
            | "append"
            | "local"
            | "include_reduced_buckets"
            | "allow_old_summaries" => {
                flag()?;
            }
            "chunk_size" => {
                crate::parse::number::<u64>(&k, &v, at)?;
            }
            "fillnull_value" => t.fillnull_value = Some(v),
            _ => {}
        }
    }
    Ok(())
}

/// A dataset as a tstats reads it.
struct Resolved {
    model: Arc<DataModel>,
    target: usize,
    outputs: Vec<Output>,
    /// Names the model lacks (null, as in Splunk): the message saying so, and where they are written.
    nulls: Vec<(String, Span)>,
}

/// `datamodel=<Model>[.<Dataset>]` or `datamodel:<...>` after `FROM`.
fn parse_from(c: &mut Cursor, t: &mut Tstats) -> Result<()> {
    c.ws();
    let start = c.pos;
    let is_dm = c.rest().len() >= 9
        && c.rest()
            .get(..9)
            .is_some_and(|w| w.eq_ignore_ascii_case("datamodel"))
        && matches!(c.rest()[9..].trim_start().chars().next(), Some('=' | ':'));
    if !is_dm {
        let (what, span) = c.value("`datamodel=<Model>.<Dataset>` after `from`")?;
        t.refused.push(refusal(
            "from",
            format!("tstats `from {what}` reads a tscollect namespace or a search job's results, which exist only on a Splunk server: only `from datamodel=...` is supported"),
            Span::new(start, span.end),
        ));
        return Ok(());
    }
    c.pos += 9;
    c.ws();
    c.pos += 1; // `=` or `:`
    let (name, span) = c.value("a data model name such as `Endpoint.Processes`")?;
    t.datamodel = Some((name, span));
    Ok(())
}

/// WHERE up to a top-level `by` (or the end of the stage).
fn parse_where(c: &mut Cursor, t: &mut Tstats) -> Result<()> {
    let end = where_end(c)?;
    let mut sub = Cursor {
        src: c.src.get(..end).unwrap_or(c.src),
        pos: c.pos,
        depth: c.depth,
    };
    let expr = parse_expr(&mut sub, 0)?;
    sub.ws();
    if !sub.at_end() {
        return Err(sub.expected("a condition, `by` or the end of `tstats`"));
    }
    c.pos = end;
    let Some(expr) = expr else { return Ok(()) };
    let mut conjuncts = match expr {
        SearchExpr::And(v) => v,
        other => vec![other],
    };
    let mut rest = Vec::new();
    for e in conjuncts.drain(..) {
        match e {
            SearchExpr::Compare {
                field,
                op: CmpOp::Eq,
                value,
                span,
                ..
            } if field == "nodename" => {
                if t.nodename.is_some() {
                    return Err(Diagnostic::at("`nodename=` is given twice", span));
                }
                t.nodename = Some((value, span));
            }
            other => rest.push(other),
        }
    }
    let mut refused = Vec::new();
    for e in &rest {
        where_refusals(e, &mut refused);
    }
    t.refused.extend(refused);
    t.filter = match rest.len() {
        0 => None,
        1 => rest.pop(),
        _ => Some(SearchExpr::And(rest)),
    };
    Ok(())
}

/// Where WHERE ends: the first top-level word `by`, or the end of the stage.
fn where_end(c: &Cursor) -> Result<usize> {
    let mut probe = Cursor {
        src: c.src,
        pos: c.pos,
        depth: c.depth,
    };
    let (text, span) = probe.stage_text()?;
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            b if depth == 0
                && b.is_ascii_whitespace()
                && text
                    .get(i + 1..i + 3)
                    .is_some_and(|w| w.eq_ignore_ascii_case("by"))
                && text
                    .as_bytes()
                    .get(i + 3)
                    .is_none_or(|n| n.is_ascii_whitespace()) =>
            {
                return Ok(span.start + i);
            }
            _ => {}
        }
        i += 1;
    }
    Ok(span.end)
}

/// The fields a WHERE expression names.
fn where_fields(e: &SearchExpr, out: &mut Vec<(String, Span)>) {
    match e {
        SearchExpr::And(v) | SearchExpr::Or(v) => v.iter().for_each(|x| where_fields(x, out)),
        SearchExpr::Not(x) => where_fields(x, out),
        SearchExpr::Compare { field, span, .. } | SearchExpr::In { field, span, .. } => {
            out.push((field.clone(), *span))
        }
        _ => {}
    }
}

/// What in a WHERE expression tstats cannot run here.
fn where_refusals(e: &SearchExpr, out: &mut Vec<Refusal>) {
    match e {
        SearchExpr::And(v) | SearchExpr::Or(v) => v.iter().for_each(|x| where_refusals(x, out)),
        SearchExpr::Not(x) => where_refusals(x, out),
        SearchExpr::Term { text, span, .. } => out.push(refusal(
            "tstats free text",
            format!("tstats WHERE term `{text}` would match the index's terms, which spelunk does not have: write it as a field condition"),
            *span,
        )),
        SearchExpr::Compare { field, span, .. } if field == "nodename" => out.push(refusal(
            "nodename",
            "`nodename=` is supported only as a condition of the whole WHERE (not under OR or NOT)".into(),
            *span,
        )),
        SearchExpr::Compare { field, span, .. } | SearchExpr::In { field, span, .. }
            if field.contains('*') =>
        {
            out.push(refusal(
                field,
                format!("tstats WHERE field `{field}`: field names with wildcards are not supported"),
                *span,
            ))
        }
        _ => {}
    }
}

/// BY fields, with `span=` anywhere among them.
fn parse_by(c: &mut Cursor, t: &mut Tstats) -> Result<()> {
    loop {
        c.ws();
        if c.eat(',') {
            continue;
        }
        if c.at_stage_end() {
            break;
        }
        if c.at_option() {
            let save = c.pos;
            let opts = c.options(&["span"])?;
            let Some((_, v, at)) = opts.into_iter().next() else {
                c.pos = save;
                return Err(c.expected("a field name or `span=` after `BY`"));
            };
            let s = bin::parse_span(&v, at)?;
            if matches!(s, BinSpan::Number(_)) {
                return Err(Diagnostic::at(
                    format!("tstats `span=` takes a time span such as `1h`, not `{v}`"),
                    at,
                ));
            }
            t.span = Some(s);
            continue;
        }
        let save = c.pos;
        if c.at_keyword("prefix") {
            c.keyword("prefix");
            c.ws();
            if c.at('(') {
                return Err(Diagnostic::at(
                    "tstats `PREFIX(...)` (grouping by indexed term prefixes) is not supported",
                    Span::new(save, c.pos),
                ));
            }
            c.pos = save;
        }
        let (f, s) = c.field("a field name after `BY`")?;
        t.by.push((f, s));
    }
    if t.by.is_empty() {
        return Err(c.expected("a field name after `BY`"));
    }
    if t.span.is_some() && !t.by.iter().any(|(f, _)| f == "_time") {
        return Err(Diagnostic::at(
            "tstats `span=` needs `_time` among the BY fields",
            t.by.first().map(|(_, s)| *s).unwrap_or(t.name_span),
        ));
    }
    Ok(())
}

impl SplCommand for Tstats {
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
        if let Err(r) = self.resolve(known.datamodels) {
            out.push(r);
        }
        out
    }

    fn needs_in(&self, _after: super::Need, known: &Known) -> super::Need {
        match self.resolve(known.datamodels).ok()? {
            Some(r) => {
                let mut n = r.model.reads(r.target, &r.outputs);
                n.insert("_time".into());
                Some(n)
            }
            None => Some(
                self.named_fields()
                    .into_iter()
                    .map(|(f, _)| f)
                    .chain(INDEX_FIELDS.iter().map(|f| f.to_string()))
                    .collect(),
            ),
        }
    }

    fn lints(&self) -> Vec<super::Lint> {
        match self.resolve(crate::datamodels::shipped()) {
            Ok(Some(r)) => r
                .nulls
                .into_iter()
                .map(|(message, span)| super::Lint { message, span })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn sub_pipelines(&self) -> Vec<&crate::parse::Pipeline> {
        let mut out = Vec::new();
        if let Some(e) = &self.filter {
            super::search::subsearches(e, &mut out);
        }
        out
    }

    fn resolve_subsearches(&mut self, rows: &mut super::SubsearchRows) -> Result<()> {
        match &mut self.filter {
            Some(e) => super::search::resolve_expr(e, rows),
            None => Ok(()),
        }
    }

    fn datamodels(&self) -> Vec<String> {
        self.datamodel.iter().map(|(m, _)| m.clone()).collect()
    }

    fn datamodel_fields(&self) -> Vec<String> {
        self.named_fields().into_iter().map(|(f, _)| f).collect()
    }

    fn operator(&self, cx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        if let Some(r) = self
            .refusals_in(&Known {
                names: crate::props::shipped_names(),
                datamodels: cx.datamodels,
            })
            .into_iter()
            .next()
        {
            return Err(Diagnostic::at(r.reason, r.span));
        }
        let view = match self.resolve(cx.datamodels) {
            Ok(Some(r)) => {
                for (m, _) in &r.nulls {
                    cx.warn(m.clone());
                }
                Some(Arc::new((
                    View::new(r.model, r.target, &r.outputs, cx.eval, cx.lookups)?,
                    r.outputs,
                )))
            }
            Ok(None) => None,
            Err(r) => return Err(Diagnostic::at(r.reason, r.span)),
        };
        let filter = match &self.filter {
            Some(e) => {
                let now = cx.eval.now;
                let tz = cx.eval.tz;
                let resolver = move |t: &str| crate::eval::time::parse_time_modifier(t, now, tz);
                Some(Arc::new(Matcher::compile(e, &resolver)?))
            }
            None => None,
        };
        let by: Vec<String> = self.by.iter().map(|(f, _)| f.clone()).collect();
        let time_by = by.iter().any(|f| f == "_time");
        let inner = (!self.prestats).then(|| {
            Stats {
                aggs: self.aggs.clone(),
                by: by.clone(),
                sparklines: Vec::new(),
                refused: Vec::new(),
            }
            .operator_limited(cx.eval, &cx.limits)
        });
        Ok(Box::new(TstatsOp {
            view,
            filter,
            by: by.into(),
            fillnull: self.fillnull_value.as_deref().map(Value::str),
            span: self.span,
            auto_span: time_by && self.span.is_none(),
            held: Vec::new(),
            tz: cx.eval.tz,
            inner,
            warnings: cx.warnings.clone(),
        }))
    }
}

struct TstatsOp {
    view: Option<Arc<(View, Vec<Output>)>>,
    filter: Option<Arc<Matcher>>,
    by: Arc<[String]>,
    fillnull: Option<Value>,
    span: Option<BinSpan>,
    /// `_time` in BY without `span=`: the events are held until the range (and so the span) is known.
    auto_span: bool,
    held: Vec<Event>,
    tz: chrono_tz::Tz,
    /// The stats engine (`None` with `prestats=true`: the events go on).
    inner: Option<Box<dyn Operator>>,
    warnings: super::Warnings,
}

impl TstatsOp {
    /// The event as tstats sees it, or `None` when it is not aggregated.
    fn prepare(&self, ev: Event) -> Result<Option<Event>> {
        let mut ev = match &self.view {
            Some(v) => match v.0.project(ev, &v.1)? {
                Some(e) => e,
                None => return Ok(None),
            },
            None => ev,
        };
        if self.filter.as_ref().is_some_and(|m| !m.matches(&ev)) {
            return Ok(None);
        }
        if let Some(fill) = &self.fillnull {
            for f in self.by.iter() {
                if f != "_time" && ev.get(f).is_none() {
                    ev.set(f.as_str(), fill.clone());
                }
            }
        }
        if let Some(span) = self.span {
            bucket(&mut ev, span, self.tz);
        }
        Ok(Some(ev))
    }

    fn emit(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        match &mut self.inner {
            Some(op) => op.push(ev, out),
            None => {
                out.push(ev);
                Ok(())
            }
        }
    }
}

fn bucket(ev: &mut Event, span: BinSpan, tz: chrono_tz::Tz) {
    if let Some(b) = ev.time().and_then(|t| bin::time_bucket(t, span, tz, None)) {
        ev.set("_time", Value::Num(b));
    }
}

impl Operator for TstatsOp {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let Some(ev) = self.prepare(ev)? else {
            return Ok(());
        };
        if self.auto_span {
            self.held.push(ev);
            return Ok(());
        }
        self.emit(ev, out)
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        if self.auto_span {
            let held = std::mem::take(&mut self.held);
            let times = held.iter().filter_map(Event::time);
            let (lo, hi) = times.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), t| {
                (a.min(t), b.max(t))
            });
            if lo.is_finite() {
                let span = bin::choose_span(lo, hi, bin::DEFAULT_BINS, true, None);
                self.warnings.warn(format!(
                    "tstats BY _time without span=: the span is {} (chosen as bin chooses it, from the events' time range; Splunk chooses it from the search's time range)",
                    span_text(span)
                ));
                for mut ev in held {
                    bucket(&mut ev, span, self.tz);
                    self.emit(ev, out)?;
                }
            }
        }
        match &mut self.inner {
            Some(op) => op.finish(out),
            None => Ok(()),
        }
    }

    fn fork(&self) -> Option<Box<dyn Operator>> {
        if self.auto_span {
            return None;
        }
        let inner = self.inner.as_ref()?.fork()?;
        Some(Box::new(TstatsOp {
            view: self.view.clone(),
            filter: self.filter.clone(),
            by: self.by.clone(),
            fillnull: self.fillnull.clone(),
            span: self.span,
            auto_span: false,
            held: Vec::new(),
            tz: self.tz,
            inner: Some(inner),
            warnings: self.warnings.clone(),
        }))
    }

    fn merge(&mut self, mut part: Box<dyn Operator>) -> Result<()> {
        if let (Some(p), Some(inner)) = (
            part.as_any_mut().and_then(|a| a.downcast_mut::<TstatsOp>()),
            self.inner.as_mut(),
        ) {
            if let Some(pi) = p.inner.take() {
                inner.merge(pi)?;
            }
        }
        Ok(())
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }
}

fn span_text(s: BinSpan) -> String {
    match s {
        BinSpan::Seconds(x) if x >= 86_400.0 && x % 86_400.0 == 0.0 => format!("{}d", x / 86_400.0),
        BinSpan::Seconds(x) if x >= 3600.0 && x % 3600.0 == 0.0 => format!("{}h", x / 3600.0),
        BinSpan::Seconds(x) if x >= 60.0 && x % 60.0 == 0.0 => format!("{}m", x / 60.0),
        BinSpan::Seconds(x) => format!("{x}s"),
        BinSpan::Months(m) => format!("{m}mon"),
        BinSpan::Number(n) => format!("{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<Tstats> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::Tstats(t)) => Ok(t),
            other => panic!("not tstats: {other:?}"),
        }
    }

    #[test]
    fn parses_the_corpus_shape() {
        let t = parse("| tstats summariesonly=false allow_old_summaries=true fillnull_value=null count min(_time) as firstTime from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe nodename=Processes by Processes.dest Processes.user _time span=1h").unwrap();
        assert_eq!(t.fillnull_value.as_deref(), Some("null"));
        assert_eq!(t.aggs.len(), 2);
        assert_eq!(t.datamodel.as_ref().unwrap().0, "Endpoint.Processes");
        assert_eq!(t.nodename.as_ref().unwrap().0, "Processes");
        let by: Vec<&str> = t.by.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(by, ["Processes.dest", "Processes.user", "_time"]);
        assert_eq!(t.span, Some(BinSpan::Seconds(3600.0)));
        assert!(t.refused.is_empty());
        // keywords in any case, `datamodel:` and quotes, commas
        let t = parse("| tstats count, dc(Web.src) AS n FROM datamodel:\"Web\" WHERE Web.url IN (\"a\", \"b by c\") BY Web.dest, Web.src").unwrap();
        assert_eq!(t.datamodel.as_ref().unwrap().0, "Web");
        assert_eq!(t.by.len(), 2);
        // no model
        let t = parse("| tstats count where index=* by sourcetype, _time span=1d").unwrap();
        assert!(t.datamodel.is_none());
    }

    #[test]
    fn refuses_what_has_no_local_meaning() {
        let t = parse("| tstats summariesonly=true count from datamodel=Web").unwrap();
        assert!(t.refused[0].reason.contains("no rows"));
        let t = parse("| tstats count from mynamespace").unwrap();
        assert!(t.refused[0].reason.contains("tscollect"));
        let t = parse("| tstats count where index=main failed").unwrap();
        assert!(t.refused[0].reason.contains("index's terms"));
        assert!(parse("| tstats count(eval(x=1)) from datamodel=Web").is_err());
        assert!(parse("| tstats values(*) from datamodel=Web").is_err());
        assert!(parse("| tstats count by x span=1h").is_err());
        assert!(parse("| tstats count by _time span=10").is_err());
    }

    #[test]
    fn names_are_checked_against_the_model() {
        let models = crate::datamodels::shipped();
        let ok = parse("| tstats count from datamodel=Endpoint.Processes where Processes.process_name=x by Processes.dest host").unwrap();
        assert!(ok.resolve(models).is_ok());
        let bad = parse("| tstats count from datamodel=Endpoint.Processes by Processes.nope temp")
            .unwrap();
        let r = bad.resolve(models).unwrap().unwrap();
        assert!(r.outputs.is_empty());
        assert!(r.nulls[0].0.contains("Processes.nope"), "{:?}", r.nulls);
        assert!(
            r.nulls[1].0.contains("`temp` is not a field"),
            "{:?}",
            r.nulls
        );
        let bare = parse("| tstats count where index=* by user").unwrap();
        assert!(bare.resolve(models).is_err());
        let child = parse("| tstats count from datamodel=Authentication where nodename=Authentication.Failed_Authentication by Authentication.user").unwrap();
        let r = child.resolve(models).unwrap().unwrap();
        assert_eq!(
            r.model.lineage(r.target),
            "Authentication.Failed_Authentication"
        );
    }
}
