//! `chart` — aggregate rows by a row-split field, optionally one column per value of a column-split field.
//!
//! ```text
//! chart [limit=[top|bottom]<int>] [agg=sum] [useother=<bool>] [otherstr=<string>] [usenull=<bool>]
//!       [nullstr=<string>] [sep=<string>] [format=<string>] [cont=<bool>]
//!       <agg> [AS <name>] [[,] <agg> [AS <name>]]...
//!       [ OVER <row-split> [BY <column-split> [WHERE <clause>]] | BY <row-split> [[,] <column-split>] ]
//! ```
//! The aggregates are `stats`'s (the stats engine, without wildcard fields).
//!
//! Rows: without a split, one row of the aggregates (as `stats` without BY). With a row split, one row per
//! value of the row-split field, ascending as `stats` sorts (numbers numerically, before text), that field
//! first; rows without it are left out. With a column split, the columns are the series of its values under
//! the series rules of [`super::chart_series`] (`limit` default 10, `useother`, `usenull`, `NULL`/`OTHER`,
//! 0 in empty `count`/`dc` cells, `<agg>: <value>` names for several aggregates).
//!
//! Refused: `span=`/`bins=` and the other bin options on a split field (not run yet; `cont` only concerns
//! them, so it is accepted and changes nothing), a WHERE series filter, `agg=` other than `sum`, eval
//! expressions as aggregates.

use super::chart_series::{self, Series};
use super::stats::aggregate::{self, Engine, Groups};
use super::stats::Agg;
use super::timechart::skip_parens;
use super::{Context, Operator, Refusal, RefusalKind, SubRunner};
use crate::diag::{Result, Span};
use crate::event::Event;
use crate::parse::Cursor;
use crate::value::Value;

#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub aggs: Vec<Agg>,
    pub row: Option<String>,
    pub col: Option<String>,
    pub series: Series,
    pub refused: Vec<Refusal>,
    pub at: Span,
}

const BIN_OPTIONS: &[&str] = &["span", "bins", "minspan", "start", "end", "aligntime"];

impl Chart {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Chart> {
        let mut t = Chart {
            aggs: Vec::new(),
            row: None,
            col: None,
            series: Series::default(),
            refused: Vec::new(),
            at: name_span,
        };
        let all: Vec<&str> = chart_series::OPTIONS
            .iter()
            .chain(&["cont"])
            .copied()
            .collect();
        t.options(c, &all)?;
        loop {
            c.ws();
            if c.eat(',') {
                continue;
            }
            if c.at_stage_end() || c.at_keyword("by") || c.at_keyword("over") || c.at_option() {
                break;
            }
            let start = c.pos;
            let Some((fname, fspan)) = c.bare() else {
                return Err(c.expected("a stats function such as `count` or `avg(field)`"));
            };
            if fname.eq_ignore_ascii_case("eval") {
                c.ws();
                if !c.at('(') {
                    return Err(c.expected("`(` after `eval`"));
                }
                skip_parens(c)?;
                if c.keyword("as") {
                    c.field_name("a name after `AS`")?;
                }
                t.refused.push(Refusal {
                    kind: RefusalKind::Function,
                    name: "eval".into(),
                    reason: "an eval expression as a chart aggregate is not supported yet: compute it with `eval` and aggregate the field".into(),
                    span: Span::new(start, c.pos),
                });
                continue;
            }
            t.aggs.push(aggregate::parse_agg(c, start, fname, fspan)?);
        }
        if t.aggs.is_empty() && t.refused.is_empty() {
            if c.at_option() {
                super::end_of_args(c, "chart", "an option such as `limit=`", &all)?;
            }
            return Err(c.expected("a stats function such as `count`"));
        }
        chart_series::no_wildcards(&t.aggs, "chart")?;
        if c.keyword("over") {
            t.row = Some(c.field("the row-split field after `OVER`")?.0);
            t.bin_options(c)?;
            if c.keyword("by") {
                t.col = Some(c.field("the column-split field after `BY`")?.0);
                t.bin_options(c)?;
            }
        } else if c.keyword("by") {
            t.row = Some(c.field("the row-split field after `BY`")?.0);
            t.bin_options(c)?;
            c.ws();
            c.eat(',');
            c.ws();
            if !c.at_stage_end() && !c.at_keyword("where") && !c.at_option() {
                t.col = Some(c.field("the column-split field")?.0);
                t.bin_options(c)?;
            }
        }
        c.ws();
        if t.col.is_some() {
            t.refused.extend(chart_series::series_filter(c)?);
        }
        t.options(c, &all)?;
        super::end_of_args(c, "chart", "an option such as `limit=`", &all)?;
        Ok(t)
    }

    fn bin_options(&mut self, c: &mut Cursor) -> Result<()> {
        for (k, v, at) in c.options(BIN_OPTIONS)? {
            self.refused.push(chart_series::feature(
                format!("{k}={v}"),
                format!("`{k}=` on a chart split field is not supported yet: bucket the field with `bin` first"),
                at,
            ));
        }
        Ok(())
    }

    fn options(&mut self, c: &mut Cursor, all: &[&str]) -> Result<()> {
        for (k, v, at) in c.options(all)? {
            if k == "cont" {
                crate::parse::flag(&k, &v, at)?;
            } else if let Some(r) = self.series.option(&k, &v, at)? {
                self.refused.push(r);
            }
        }
        Ok(())
    }
}

impl super::SplCommand for Chart {
    fn refusals(&self) -> Vec<Refusal> {
        self.refused.clone()
    }

    fn needs(&self, _after: super::Need) -> super::Need {
        let mut n: std::collections::HashSet<String> =
            self.row.iter().chain(&self.col).cloned().collect();
        for a in &self.aggs {
            if let Some(e) = &a.expr {
                n.extend(e.expr.fields());
            }
            if let Some(f) = &a.field {
                n.insert(f.clone());
            }
        }
        n.insert("_time".into());
        Some(n)
    }

    fn operator(&self, cx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        let by: Vec<String> = self.row.iter().chain(&self.col).cloned().collect();
        Ok(Box::new(ChartOp {
            chart: std::sync::Arc::new(self.clone()),
            engine: Engine::new(&self.aggs, &by, cx.eval, &cx.limits),
            groups: Groups::default(),
            seq: 0,
            cancel: cx.limits.cancel,
        }))
    }
}

struct ChartOp {
    chart: std::sync::Arc<Chart>,
    engine: Engine,
    groups: Groups,
    seq: u64,
    cancel: crate::limits::Cancel,
}

impl Operator for ChartOp {
    fn fork(&self) -> Option<Box<dyn Operator>> {
        Some(Box::new(ChartOp {
            chart: self.chart.clone(),
            engine: self.engine.fork(),
            groups: Groups::default(),
            seq: 0,
            cancel: self.cancel,
        }))
    }

    fn merge(&mut self, mut other: Box<dyn Operator>) -> Result<()> {
        if let Some(o) = other.as_any_mut().and_then(|a| a.downcast_mut::<ChartOp>()) {
            super::stats::aggregate::merge_part(
                (&mut self.engine, &mut self.groups, &mut self.seq),
                (&mut o.engine, &mut o.groups, o.seq),
                self.cancel,
            )?;
        }
        Ok(())
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }

    fn push(&mut self, ev: Event, _out: &mut Vec<Event>) -> Result<()> {
        self.seq += 1;
        let ChartOp {
            chart,
            engine,
            groups,
            seq,
            ..
        } = self;
        let empty = Value::str("");
        let rows: Vec<Value> = match &chart.row {
            None => vec![empty.clone()],
            Some(r) => match ev.get(r) {
                None => return Ok(()),
                Some(v) => {
                    let mut out: Vec<Value> = Vec::new();
                    for x in v.values() {
                        if !out.iter().any(|o| o.text() == x.text()) {
                            out.push(x.clone());
                        }
                    }
                    out
                }
            },
        };
        let cols: Vec<Value> = match &chart.col {
            None => Vec::new(),
            Some(f) => chart.series.keys(&ev, f),
        };
        for r in &rows {
            if chart.col.is_none() {
                let i = groups.slot(&[r], engine);
                if let Some(g) = groups.get_mut(i) {
                    engine.add(&mut g.accs, &ev, *seq);
                }
                continue;
            }
            for k in &cols {
                let i = groups.slot(&[r, k], engine);
                if let Some(g) = groups.get_mut(i) {
                    engine.add(&mut g.accs, &ev, *seq);
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        self.engine.take_error()?;
        let groups = std::mem::take(&mut self.groups).into_sorted(self.cancel)?;
        let Some(row_field) = &self.chart.row else {
            // no split: one row of the aggregates, as `stats` without BY
            let mut row = Event::new();
            let results = match groups.first() {
                Some(g) => self.engine.results(&g.accs),
                None => self.engine.empty_results(),
            };
            for (f, v) in results {
                row.set(f, v);
            }
            out.push(row);
            return Ok(());
        };
        let mut rows: Vec<Value> = Vec::new();
        for g in &groups {
            if let Some(r) = g.key.first() {
                if rows.last().map(|l| l.text()) != Some(r.text()) {
                    rows.push(r.clone());
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        rows.retain(|r| seen.insert(r.text().into_owned()));
        let table = chart_series::table(
            &self.engine,
            groups,
            row_field,
            &rows,
            &|v| v.clone(),
            self.chart.col.as_ref().map(|_| &self.chart.series),
            self.chart.at,
        )?;
        out.extend(table);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<Chart> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::Chart(t)) => Ok(t),
            other => panic!("not chart: {other:?}"),
        }
    }

    #[test]
    fn parses_over_by_and_two_bys() {
        let t = parse("x | chart limit=3 count over a by b").unwrap();
        assert_eq!((t.row.as_deref(), t.col.as_deref()), (Some("a"), Some("b")));
        assert_eq!(t.series.limit, 3);
        let t = parse("x | chart count avg(x) by a, b useother=f").unwrap();
        assert_eq!((t.row.as_deref(), t.col.as_deref()), (Some("a"), Some("b")));
        assert!(!t.series.useother);
        let t = parse("x | chart count by a").unwrap();
        assert_eq!((t.row.as_deref(), t.col), (Some("a"), None));
        let t = parse("x | chart count over size span=10 by b where count in top3").unwrap();
        let names: Vec<&str> = t.refused.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["span=10", "where"]);
        assert!(parse("x | chart over a").is_err());
    }
}
