//! What `timechart` and `chart` share: the series options (`limit`, `agg`, `useother`, `otherstr`,
//! `usenull`, `nullstr`, `sep`, `format`), the split-by values of a row, the choice of the series that
//! are kept, their column names, and the table of rows × series built from the stats engine's groups.
//!
//! Rules (Splunk's series filtering, with the choices this project made where the Search Reference is
//! silent, each written here):
//! - Each distinct value of the split-by field is a series (every value of a multivalue field counts,
//!   once). A row without the field belongs to the series `nullstr` (default `NULL`) when `usenull=true`
//!   (the default), else it is left out; `NULL` is then a series like the others (ranked, kept or folded,
//!   and placed by its text).
//! - `limit=N` (default 10; `topN` the same, `bottomN` the lowest; `0`: all) keeps the N series whose sum of
//!   the aggregate's cells over all rows is the highest (`agg=sum`, the only `agg` run here); ties go to the
//!   series that sorts first. Kept series are columns in ascending order of their values (numbers
//!   numerically, before text), as `stats` sorts.
//! - With `useother=true` (the default) the series left out are folded into one column `otherstr` (default
//!   `OTHER`), last, when at least one was left out. Its cell is the sum of the left-out series' cells,
//!   which is their aggregate exactly for `count` and `sum`; for any other function a fold stops the
//!   search with an error (set `useother=false` or raise `limit`). With several aggregates, ranking is not
//!   pinned down, so a split that needs folding or dropping stops with an error too.
//! - Column names: the series value for a single aggregate; `format` (default `$AGG$<sep>$VAL$`, `sep`
//!   default `: `) for several (`count: a`, `avg(x): a`), aggregate by aggregate.
//! - A cell with no rows is 0 for `count` and `dc` (nothing was counted), null otherwise.

use super::stats::aggregate::{Engine, Func, Group};
use super::{Refusal, RefusalKind};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::value::{sort_order, Value};
use rustc_hash::FxHashMap as HashMap;

/// The series options both commands take.
pub const OPTIONS: &[&str] = &[
    "limit", "agg", "useother", "otherstr", "usenull", "nullstr", "sep", "format",
];

#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Series kept (0: all).
    pub limit: usize,
    /// `limit=bottomN`: keep the lowest.
    pub bottom: bool,
    pub useother: bool,
    pub otherstr: String,
    pub usenull: bool,
    pub nullstr: String,
    pub sep: String,
    pub format: Option<String>,
}

impl Default for Series {
    fn default() -> Series {
        Series {
            limit: 10,
            bottom: false,
            useother: true,
            otherstr: "OTHER".into(),
            usenull: true,
            nullstr: "NULL".into(),
            sep: ": ".into(),
            format: None,
        }
    }
}

impl Series {
    /// Take one of [`OPTIONS`]: an error when its value is not of its kind, a refusal for what is not
    /// run here (`agg=` other than `sum`).
    pub fn option(&mut self, k: &str, v: &str, at: Span) -> Result<Option<Refusal>> {
        let flag = || crate::parse::flag(k, v, at);
        match k {
            "limit" => {
                let lower = v.to_ascii_lowercase();
                let (bottom, n) = if let Some(n) = lower.strip_prefix("top") {
                    (false, n)
                } else if let Some(n) = lower.strip_prefix("bottom") {
                    (true, n)
                } else {
                    (false, lower.as_str())
                };
                self.bottom = bottom;
                self.limit = n.parse().map_err(|_| {
                    Diagnostic::at(
                        format!("`limit` takes a whole number, `topN` or `bottomN`, not `{v}`"),
                        at,
                    )
                })?;
            }
            "useother" => self.useother = flag()?,
            "usenull" => self.usenull = flag()?,
            "otherstr" => self.otherstr = v.to_string(),
            "nullstr" => self.nullstr = v.to_string(),
            "sep" => self.sep = v.to_string(),
            "format" => self.format = Some(v.to_string()),
            "agg" if v.eq_ignore_ascii_case("sum") => {}
            "agg" => {
                return Ok(Some(Refusal {
                    kind: RefusalKind::Feature,
                    name: format!("agg={v}"),
                    reason: format!("`agg={v}` is not supported: series are ranked by the sum of their cells (`agg=sum`, the default)"),
                    span: at,
                }))
            }
            _ => {}
        }
        Ok(None)
    }

    /// The series `ev` belongs to by its split-by `field`: each distinct value, or `nullstr` when it
    /// has none and `usenull` is on; empty when the row is left out.
    pub fn keys(&self, ev: &Event, field: &str) -> Vec<Value> {
        match ev.get(field) {
            None if self.usenull => vec![Value::str(&self.nullstr)],
            None => Vec::new(),
            Some(v) => {
                let mut out: Vec<Value> = Vec::new();
                for x in v.values() {
                    if !out.iter().any(|o| o.text() == x.text()) {
                        out.push(x.clone());
                    }
                }
                out
            }
        }
    }

    /// The column of aggregate `agg` for series `val`.
    fn column(&self, agg: &str, val: &str, several: bool) -> String {
        if !several {
            return val.to_string();
        }
        let format = self
            .format
            .clone()
            .unwrap_or_else(|| format!("$AGG${}$VAL$", self.sep));
        format.replace("$AGG$", agg).replace("$VAL$", val)
    }
}

/// Rejects wildcard fields: a chart's aggregates each name one field.
/// A feature of `chart`/`timechart` that spelunk does not run.
pub fn feature(name: String, reason: String, span: Span) -> Refusal {
    Refusal {
        kind: RefusalKind::Feature,
        name,
        reason,
        span,
    }
}

/// A `WHERE` series filter after the split-by field, if one is written: refused (the rest of the stage is
/// taken).
pub fn series_filter(c: &mut crate::parse::Cursor) -> Result<Option<Refusal>> {
    c.ws();
    if !c.at_keyword("where") {
        return Ok(None);
    }
    let (text, span) = c.stage_text()?;
    Ok(Some(feature(
        "where".into(),
        format!(
            "the series filter `{}` is not supported yet: use `limit=`",
            text.trim()
        ),
        span,
    )))
}

pub fn no_wildcards(aggs: &[super::stats::Agg], command: &str) -> Result<()> {
    match aggs.iter().find(|a| a.is_wildcard()) {
        Some(a) => Err(Diagnostic::at(
            format!("`{command}` takes no wildcard fields in its aggregates"),
            a.span,
        )),
        None => Ok(()),
    }
}

/// The value of a cell with no rows: 0 for counting functions, else null.
fn empty_cell(f: &Func) -> Option<Value> {
    matches!(f, Func::Count | Func::DistinctCount).then_some(Value::Num(0.0))
}

/// The table of rows × series. `groups` are keyed `[row]` (no split) or `[row, series]`; `rows` are the
/// row keys in output order (empty buckets included); `row_field` names the first column and `label`
/// gives its cell from a row key. `at` is where errors point (the command).
pub fn table(
    engine: &Engine,
    groups: Vec<Group>,
    row_field: &str,
    rows: &[Value],
    label: &dyn Fn(&Value) -> Value,
    split: Option<&Series>,
    at: Span,
) -> Result<Vec<Event>> {
    let aggs = engine.aggs();
    let cells_of = |g: &Group| -> Vec<Option<Value>> {
        let results = engine.results(&g.accs);
        aggs.iter()
            .map(|a| {
                results
                    .iter()
                    .find(|(n, _)| n.as_ref() == a.name.as_str())
                    .map(|(_, v)| v.clone())
            })
            .collect()
    };
    let row_index: HashMap<String, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.text().into_owned(), i))
        .collect();
    let Some(series) = split else {
        let mut cells: Vec<Option<Vec<Option<Value>>>> = vec![None; rows.len()];
        for g in &groups {
            let Some(i) = g.key.first().and_then(|k| row_index.get(k.text().as_ref())) else {
                continue;
            };
            if let Some(slot) = cells.get_mut(*i) {
                *slot = Some(cells_of(g));
            }
        }
        let mut out = Vec::with_capacity(rows.len());
        for (r, c) in rows.iter().zip(cells) {
            let mut ev = Event::with_capacity(aggs.len() + 1);
            ev.set(row_field, label(r));
            for (i, a) in aggs.iter().enumerate() {
                let v = c
                    .as_ref()
                    .and_then(|c| c.get(i).cloned().flatten())
                    .or_else(|| empty_cell(&a.func));
                ev.set_opt(a.name.as_str(), v);
            }
            out.push(ev);
        }
        return Ok(out);
    };
    // the series, their cells and their scores
    let mut names: Vec<Value> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::default();
    let mut cells: HashMap<(usize, usize), Vec<Option<Value>>> = HashMap::default();
    let mut score: Vec<f64> = Vec::new();
    for g in &groups {
        let (Some(r), Some(s)) = (g.key.first(), g.key.get(1)) else {
            continue;
        };
        let Some(&ri) = row_index.get(r.text().as_ref()) else {
            continue;
        };
        let si = *index.entry(s.text().into_owned()).or_insert_with(|| {
            names.push(s.clone());
            score.push(0.0);
            names.len() - 1
        });
        let c = cells_of(g);
        if let (Some(sc), Some(Some(v))) = (score.get_mut(si), c.first()) {
            *sc += v.as_num().unwrap_or(0.0);
        }
        cells.insert((ri, si), c);
    }
    let mut ranked: Vec<usize> = (0..names.len()).collect();
    let by_name = |a: &usize, b: &usize| sort_order(&names[*a], &names[*b]);
    ranked.sort_by(|a, b| {
        let (x, y) = (score[*a], score[*b]);
        let o = if series.bottom {
            x.partial_cmp(&y)
        } else {
            y.partial_cmp(&x)
        };
        o.unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| by_name(a, b))
    });
    let keep_n = if series.limit == 0 {
        ranked.len()
    } else {
        series.limit.min(ranked.len())
    };
    let folded: Vec<usize> = ranked.split_off(keep_n);
    let mut kept = ranked;
    kept.sort_by(by_name);
    let several = aggs.len() > 1;
    if !folded.is_empty() {
        if several {
            return Err(Diagnostic::at(
                format!(
                    "{} series, more than `limit={}`: choosing series by several aggregates is not supported; give `limit=0` or a single aggregate",
                    names.len(),
                    series.limit
                ),
                at,
            ));
        }
        if series.useother {
            if let Some(a) = aggs
                .iter()
                .find(|a| !matches!(a.func, Func::Count | Func::Sum))
            {
                return Err(Diagnostic::at(
                    format!(
                        "{} series, more than `limit={}`: the `{}` column of `{}` is not supported (only `count` and `sum` fold); give `useother=false` or `limit=0`",
                        names.len(),
                        series.limit,
                        series.otherstr,
                        a.name
                    ),
                    at,
                ));
            }
        }
    }
    let other = series.useother && !folded.is_empty();
    let mut out = Vec::with_capacity(rows.len());
    for (ri, r) in rows.iter().enumerate() {
        let mut ev = Event::with_capacity(aggs.len() * (kept.len() + 1) + 1);
        ev.set(row_field, label(r));
        for (ai, a) in aggs.iter().enumerate() {
            for &si in &kept {
                let name = series.column(&a.name, &names[si].text(), several);
                let v = cells
                    .get(&(ri, si))
                    .and_then(|c| c.get(ai).cloned().flatten())
                    .or_else(|| empty_cell(&a.func));
                ev.set_opt(name, v);
            }
            if other {
                let mut sum: Option<f64> = None;
                for &si in &folded {
                    if let Some(x) = cells
                        .get(&(ri, si))
                        .and_then(|c| c.get(ai).cloned().flatten())
                        .and_then(|v| v.as_num())
                    {
                        *sum.get_or_insert(0.0) += x;
                    }
                }
                let v = sum.map(Value::Num).or_else(|| empty_cell(&a.func));
                ev.set_opt(series.column(&a.name, &series.otherstr, several), v);
            }
        }
        out.push(ev);
    }
    Ok(out)
}
