//! `timechart` — aggregate rows per `_time` bucket, optionally one column per value of a split-by field.
//!
//! ```text
//! timechart [span=<span>] [bins=<int>] [minspan=<span>] [aligntime=<time>] [cont=<bool>]
//!           [partial=<bool>] [fixedrange=<bool>] [dedup_splitvals=<bool>]
//!           [limit=[top|bottom]<int>] [agg=sum] [useother=<bool>] [otherstr=<string>]
//!           [usenull=<bool>] [nullstr=<string>] [sep=<string>] [format=<string>]
//!           <agg> [AS <name>] [[,] <agg> [AS <name>]]... [BY <split-by field> [WHERE <clause>]]
//! ```
//! The aggregates are `stats`'s (the stats engine, without wildcard fields). Options may also follow the
//! split-by field.
//!
//! Rows: one per `_time` bucket, ascending, `_time` first (the bucket's start, aligned as `bin` aligns
//! it, to `--tz`). Without BY the columns are the aggregates' names; with BY they are the series (the
//! series rules — `limit`, `useother`/`otherstr`, `usenull`/`nullstr`, column names with `sep`/`format`,
//! 0 in empty `count`/`dc` cells — are those of [`super::chart_series`]). Rows without `_time` are left
//! out.
//!
//! Time range: spelunk has no search time range, so the range is that of the data: from the bucket of the
//! earliest row to that of the latest (`fixedrange=true`, the default, and `fixedrange=false` give the
//! same rows). `cont=true` (the default) makes a row for every bucket in between, empty ones included
//! (their `count` cells 0); `cont=false` only for buckets that have rows. Without `span=`, the span is
//! picked as `bin` picks it (`bins`, default 100, and `minspan`) over the data's range, with a warning
//! that Splunk picks it from the search's range; the rows are then held until the input ends.
//!
//! Refused: `per_second`/`per_minute`/`per_hour`/`per_day`, a bare eval expression as the aggregate,
//! a WHERE clause after the split-by field, `agg=` other than `sum`, `partial=false` (it drops buckets that
//! the search's time range cuts) and `dedup_splitvals=false`.

use super::bin::{self, BinSpan};
use super::chart_series::{self, Series};
use super::stats::aggregate::{self, Engine, Groups};
use super::stats::Agg;
use super::{Context, Operator, Refusal, RefusalKind, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;
use crate::value::Value;

#[derive(Clone, Debug, PartialEq)]
pub struct Timechart {
    pub aggs: Vec<Agg>,
    pub split: Option<String>,
    pub span: Option<BinSpan>,
    pub bins: Option<usize>,
    pub minspan: Option<BinSpan>,
    pub aligntime: Option<String>,
    pub cont: bool,
    pub series: Series,
    /// What is legal but not run here.
    pub refused: Vec<Refusal>,
    pub span_at: Span,
    /// The command's name, where run-time errors point.
    pub at: Span,
}

/// The options of `timechart` (besides the series options).
const OWN_OPTIONS: &[&str] = &[
    "span",
    "bins",
    "minspan",
    "aligntime",
    "cont",
    "partial",
    "fixedrange",
    "dedup_splitvals",
];

/// Functions that count per unit of time: not run here.
const PER_FUNCS: &[&str] = &["per_second", "per_minute", "per_hour", "per_day"];

/// The largest number of buckets `cont=true` fills.
const MAX_BUCKETS: usize = 1_000_000;

/// The text of a parenthesised argument list starting at the cursor (`(`), skipping quoted text; the
/// cursor ends after its `)`.
pub fn skip_parens(c: &mut Cursor) -> Result<()> {
    let open = c.pos;
    let bytes = c.src.as_bytes();
    let mut depth = 0usize;
    let mut i = c.pos;
    let mut quote: Option<u8> = None;
    while let Some(&b) = bytes.get(i) {
        match (quote, b) {
            (Some(b'"'), b'\\') => i += 1,
            (Some(q), x) if x == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'(') => depth += 1,
            (None, b')') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    c.pos = i + 1;
                    return Ok(());
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(Diagnostic::at("unclosed `(`", Span::new(open, open + 1)))
}

impl Timechart {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Timechart> {
        let mut t = Timechart {
            aggs: Vec::new(),
            split: None,
            span: None,
            bins: None,
            minspan: None,
            aligntime: None,
            cont: true,
            series: Series::default(),
            refused: Vec::new(),
            span_at: name_span,
            at: name_span,
        };
        let all: Vec<&str> = OWN_OPTIONS
            .iter()
            .chain(chart_series::OPTIONS)
            .copied()
            .collect();
        t.options(c, &all)?;
        loop {
            c.ws();
            if c.eat(',') {
                continue;
            }
            if c.at_stage_end() || c.at_keyword("by") || c.at_option() {
                break;
            }
            let start = c.pos;
            let Some((fname, fspan)) = c.bare() else {
                return Err(c.expected("a stats function such as `count` or `avg(field)`"));
            };
            let lower = fname.to_ascii_lowercase();
            let per = PER_FUNCS.contains(&lower.as_str());
            if per || lower == "eval" {
                c.ws();
                if !c.at('(') {
                    return Err(c.expected(&format!("`(` after `{fname}`")));
                }
                skip_parens(c)?;
                if c.keyword("as") {
                    c.field_name("a name after `AS`")?;
                }
                let span = Span::new(start, c.pos);
                t.refused.push(Refusal {
                    kind: RefusalKind::Function,
                    name: lower.clone(),
                    reason: if per {
                        format!("timechart function `{lower}` is not supported yet")
                    } else {
                        "an eval expression as a timechart aggregate is not supported yet: compute it with `eval` and aggregate the field".to_string()
                    },
                    span,
                });
                continue;
            }
            t.aggs.push(aggregate::parse_agg(c, start, fname, fspan)?);
        }
        if t.aggs.is_empty() && t.refused.iter().all(|r| r.kind != RefusalKind::Function) {
            if c.at_option() {
                super::end_of_args(c, "timechart", "an option such as `span=`", &all)?;
            }
            return Err(c.expected("a stats function such as `count`"));
        }
        chart_series::no_wildcards(&t.aggs, "timechart")?;
        if c.keyword("by") {
            t.split = Some(c.field("the split-by field after `BY`")?.0);
            t.refused.extend(chart_series::series_filter(c)?);
        }
        t.options(c, &all)?;
        super::end_of_args(c, "timechart", "an option such as `span=`", &all)?;
        Ok(t)
    }

    fn options(&mut self, c: &mut Cursor, all: &[&str]) -> Result<()> {
        for (k, v, at) in c.options(all)? {
            let flag = || crate::parse::flag(&k, &v, at);
            match k.as_str() {
                "span" => {
                    self.span = Some(bin::parse_span(&v, at)?);
                    self.span_at = at;
                }
                "minspan" => self.minspan = Some(bin::parse_span(&v, at)?),
                "bins" => {
                    self.bins = Some(v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                        Diagnostic::at(format!("`bins` takes a whole number from 1, not `{v}`"), at)
                    })?)
                }
                "aligntime" => {
                    if v.eq_ignore_ascii_case("earliest") || v.eq_ignore_ascii_case("latest") {
                        self.refused.push(chart_series::feature(
                            format!("aligntime={v}"),
                            format!("`aligntime={v}` needs the search's time range, which spelunk does not have: give a time such as `@d` or epoch seconds"),
                            at,
                        ));
                    } else {
                        self.aligntime = Some(v);
                    }
                }
                "cont" => self.cont = flag()?,
                "fixedrange" => {
                    flag()?;
                }
                "partial" => {
                    if !flag()? {
                        self.refused.push(chart_series::feature(
                            format!("partial={v}"),
                            "`partial=false` drops the buckets the search's time range cuts: spelunk has no search time range".into(),
                            at,
                        ));
                    }
                }
                "dedup_splitvals" => {
                    if let Some(r) = super::stats::stats_option(&k, &v, at)? {
                        self.refused.push(r);
                    }
                }
                _ => {
                    if let Some(r) = self.series.option(&k, &v, at)? {
                        self.refused.push(r);
                    }
                }
            }
        }
        Ok(())
    }
}

/// A span as written in a warning (`5m`, `1mon`).
pub fn span_text(s: BinSpan) -> String {
    match s {
        BinSpan::Number(n) => crate::value::format_num(n),
        BinSpan::Seconds(n) => {
            for (k, u) in [(86_400.0, "d"), (3600.0, "h"), (60.0, "m")] {
                if n >= k && (n / k).fract() == 0.0 {
                    return format!("{}{u}", crate::value::format_num(n / k));
                }
            }
            format!("{}s", crate::value::format_num(n))
        }
        BinSpan::Months(m) => format!("{m}mon"),
    }
}

impl super::SplCommand for Timechart {
    fn refusals(&self) -> Vec<Refusal> {
        self.refused.clone()
    }

    fn needs(&self, _after: super::Need) -> super::Need {
        let mut n: std::collections::HashSet<String> = self.split.iter().cloned().collect();
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
        let align = match &self.aligntime {
            None => None,
            Some(t) => Some(bin::resolve_aligntime(t, cx, self.span_at)?),
        };
        let by: Vec<String> = self.split.iter().cloned().collect();
        Ok(Box::new(TimechartOp {
            tc: std::sync::Arc::new(self.clone()),
            engine: Engine::new(&self.aggs, &by, cx.eval, &cx.limits),
            groups: Groups::default(),
            seq: 0,
            tz: cx.eval.tz,
            align,
            held: Vec::new(),
            warnings: cx.warnings.clone(),
            cancel: cx.limits.cancel,
        }))
    }
}

struct TimechartOp {
    tc: std::sync::Arc<Timechart>,
    engine: Engine,
    groups: Groups,
    seq: u64,
    tz: chrono_tz::Tz,
    align: Option<f64>,
    /// Rows held until the span is known (no `span=`).
    held: Vec<Event>,
    warnings: super::Warnings,
    cancel: crate::limits::Cancel,
}

impl TimechartOp {
    fn add(&mut self, ev: &Event, span: BinSpan) {
        self.seq += 1;
        let Some(b) = ev
            .time()
            .and_then(|t| bin::time_bucket(t, span, self.tz, self.align))
        else {
            return;
        };
        let b = Value::Num(b);
        let TimechartOp {
            tc,
            engine,
            groups,
            seq,
            ..
        } = self;
        match &tc.split {
            None => {
                let i = groups.slot(&[&b], engine);
                if let Some(g) = groups.get_mut(i) {
                    engine.add(&mut g.accs, ev, *seq);
                }
            }
            Some(f) => {
                for k in tc.series.keys(ev, f) {
                    let i = groups.slot(&[&b, &k], engine);
                    if let Some(g) = groups.get_mut(i) {
                        engine.add(&mut g.accs, ev, *seq);
                    }
                }
            }
        }
    }
}

impl Operator for TimechartOp {
    fn fork(&self) -> Option<Box<dyn Operator>> {
        // without a span the rows are held whole: one part
        self.tc.span?;
        Some(Box::new(TimechartOp {
            tc: self.tc.clone(),
            engine: self.engine.fork(),
            groups: Groups::default(),
            seq: 0,
            tz: self.tz,
            align: self.align,
            held: Vec::new(),
            warnings: self.warnings.clone(),
            cancel: self.cancel,
        }))
    }

    fn merge(&mut self, mut other: Box<dyn Operator>) -> Result<()> {
        if let Some(o) = other
            .as_any_mut()
            .and_then(|a| a.downcast_mut::<TimechartOp>())
        {
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
        match self.tc.span {
            Some(span) => self.add(&ev, span),
            None => self.held.push(ev),
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        let span = match self.tc.span {
            Some(s) => s,
            None => {
                let held = std::mem::take(&mut self.held);
                let mut lo: Option<f64> = None;
                let mut hi: Option<f64> = None;
                for t in held.iter().filter_map(Event::time) {
                    lo = Some(lo.map_or(t, |l| l.min(t)));
                    hi = Some(hi.map_or(t, |h| h.max(t)));
                }
                let span = bin::choose_span(
                    lo.unwrap_or(0.0),
                    hi.unwrap_or(0.0),
                    self.tc.bins.unwrap_or(bin::DEFAULT_BINS),
                    true,
                    self.tc.minspan,
                );
                if lo.is_some() {
                    self.warnings.warn(format!(
                        "timechart: no `span=` given: the span is picked from the events' own time range (Splunk picks it from the search's), here span={}",
                        span_text(span)
                    ));
                }
                for (i, ev) in held.iter().enumerate() {
                    if i % 4096 == 0 {
                        self.cancel.check()?;
                    }
                    self.add(ev, span);
                }
                span
            }
        };
        self.engine.take_error()?;
        let groups = std::mem::take(&mut self.groups).into_sorted(self.cancel)?;
        let mut buckets: Vec<f64> = Vec::new();
        for g in &groups {
            if let Some(b) = g.key.first().and_then(Value::as_num) {
                if buckets.last() != Some(&b) {
                    buckets.push(b);
                }
            }
        }
        buckets.dedup();
        if self.tc.cont {
            if let (Some(&first), Some(&last)) = (buckets.first(), buckets.last()) {
                let mut all = vec![first];
                let mut b = first;
                while b < last {
                    b = bin::next_time_bucket(b, span, self.tz, self.align);
                    if b <= last {
                        all.push(b);
                    }
                    if all.len() > MAX_BUCKETS {
                        return Err(Diagnostic::at(
                            format!("timechart: more than {MAX_BUCKETS} buckets between the first and the last event: give a larger `span=` or `cont=false`"),
                            self.tc.at,
                        ));
                    }
                }
                // buckets of the data that the stepping did not land on (a zone's clock change)
                all.extend(
                    buckets
                        .iter()
                        .filter(|x| !all.contains(x))
                        .copied()
                        .collect::<Vec<_>>(),
                );
                all.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
                buckets = all;
            }
        }
        let rows: Vec<Value> = buckets.into_iter().map(Value::Num).collect();
        let table = chart_series::table(
            &self.engine,
            groups,
            "_time",
            &rows,
            &|v| v.clone(),
            self.tc.split.as_ref().map(|_| &self.tc.series),
            self.tc.at,
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

    fn parse(q: &str) -> Result<Timechart> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::Timechart(t)) => Ok(t),
            other => panic!("not timechart: {other:?}"),
        }
    }

    #[test]
    fn parses_options_aggregates_and_split() {
        let t = parse("x | timechart limit=0 span=5m count").unwrap();
        assert_eq!(t.span, Some(BinSpan::Seconds(300.0)));
        assert_eq!(t.series.limit, 0);
        assert!(t.refused.is_empty());
        let t = parse("x | timechart limit=bottom3 useother=f count, avg(x) AS a by host span=1h")
            .unwrap();
        assert_eq!(
            (t.series.limit, t.series.bottom, t.series.useother),
            (3, true, false)
        );
        assert_eq!(t.aggs.len(), 2);
        assert_eq!(t.split.as_deref(), Some("host"));
        assert_eq!(t.span, Some(BinSpan::Seconds(3600.0)));
    }

    #[test]
    fn refuses_what_does_not_run() {
        let t = parse("x | timechart per_second(bytes) by host where count in top5").unwrap();
        let names: Vec<&str> = t.refused.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["per_second", "where"]);
        let t = parse("x | timechart partial=f agg=max count").unwrap();
        let names: Vec<&str> = t.refused.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["partial=f", "agg=max"]);
        assert!(parse("x | timechart values(*) by a").is_err());
        assert!(parse("x | timechart").is_err());
        let e = parse("x | timechart spn=5m count").unwrap_err();
        assert!(e.message.contains("did you mean `span`"), "{}", e.message);
    }
}
