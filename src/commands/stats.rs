//! `stats` — aggregate rows, optionally by groups.
//!
//! ```text
//! stats [allnum=<bool>] [delim=<string>] [partitions=<int>] [dedup_splitvals=<bool>]
//!       <agg> [AS <name>] [[,] <agg> [AS <name>]]... [BY <field> [[,] <field>]...]
//! agg := count | c | count(<field>) | dc(<field>) | distinct_count | estdc | sum | avg | mean | min | max
//!      | range | stdev | stdevp | var | varp | median | mode | perc<N> | p<N> | exactperc<N> | upperperc<N>
//!      | values | list | first | last | earliest | latest | earliest_time | latest_time | sumsq
//!      | <func>(eval(<expr>))
//!      | sparkline | sparkline(<func>[(<field>)] [, <span-length>])        (parsed; refused when run)
//! ```
//! An `AS` name may end in a parenthesised part written without a space (`AS aceFlags(inheritance)`).
//! Rows missing any by-field are dropped; a multivalue by-field puts the row in one group per value.
//! Output: one row per group, sorted ascending by the by-values (numbers numerically, before text),
//! by-fields first then aggregates in the order written; every other field (`_time`, `_raw`) is gone.
//! With no by-clause and no rows, `count` and `dc` give 0 in a single row. Memory grows with the number of
//! groups, not rows (`list` keeps the first `--list-maxsize` values per group, 100 as in Splunk; `values`
//! keeps each distinct value once, at most `--max-values`). Refused when run: `sparkline` (its cells are
//! counts per time bucket over the search's time range, which a run over files does not have).
//!
//! Options: `partitions=<int>` only says how Splunk spreads the work over its processors; it changes no
//! row and is accepted. `allnum=false`, `delim=" "` and `dedup_splitvals=true` are what spelunk does (a
//! numeric function uses the values that are numbers; `list()`/`values()` give multivalue fields; a
//! duplicate value of a multivalue by-field counts once); `allnum=true`, any other `delim` and
//! `dedup_splitvals=false` are refused when run.
//!
//! The functions, their arguments and their rules are the aggregation engine's ([`aggregate`]), which
//! `eventstats` and `streamstats` share.
//!
//! Wildcard fields: `values(*) AS *`, `avg(*)`, `sum(bytes_*) AS total_*` aggregate every field whose
//! name matches, each on its own; the `*` of the output name takes the part the input's `*` matched (without
//! `AS`, the call text with that part filled in: `avg(*)` gives `avg(x)`, `avg(y)`). Internal fields (`_`
//! prefix) and the by-fields are not matched. Output columns of one wildcard aggregate follow the order in
//! which their input fields were first seen. A group that never saw a field gets no value for it (0 for
//! `count`/`dc`).
//!
//! Eval arguments: `count(eval(<expr>))`, `sum(eval(...))` ... aggregate the expression's value per row; a
//! comparison's false is null there, so `count(eval(status=404))` counts the rows where it holds. Named by
//! the call text (`count(eval(status=404))`) unless `AS` names it.

pub mod aggregate;

use super::{Operator, Refusal, RefusalKind};
use crate::diag::{Diagnostic, Result, Span};
use crate::eval::EvalContext;
use crate::event::Event;
use crate::parse::Cursor;
pub use aggregate::{func_of, Agg, AggExpr, Func, FUNCTIONS};
use aggregate::{Engine, Groups};

/// `sparkline(<func>(<field>), <span-length>)`: a small chart per group. Parsed so that searches using
/// it parse; not run (see the module's doc).
#[derive(Clone, Debug, PartialEq)]
pub struct Sparkline {
    /// The aggregate drawn per time bucket (`count` when the sparkline has no arguments).
    pub func: Func,
    pub field: Option<String>,
    /// The bucket width as written (`1h`), if given.
    pub span_length: Option<String>,
    pub name: String,
    pub span: Span,
}

/// Functions that a sparkline may draw (Splunk's `sparkline-func`).
const SPARKLINE_FUNCS: &[&str] = &[
    "c", "count", "dc", "mean", "avg", "stdev", "stdevp", "var", "varp", "sum", "sumsq", "min",
    "max", "range",
];

#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    pub aggs: Vec<Agg>,
    pub by: Vec<String>,
    /// Sparkline columns: parsed, refused when run.
    pub sparklines: Vec<Sparkline>,
    /// Options that are legal but that spelunk does not run (refused when run).
    pub refused: Vec<Refusal>,
}

/// The options of `stats`, before its aggregates.
pub const OPTIONS: &[&str] = &["allnum", "delim", "partitions", "dedup_splitvals"];

impl Stats {
    pub fn parse(c: &mut Cursor) -> Result<Stats> {
        Stats::parse_with(c, OPTIONS)
    }

    /// The aggregates and by-clause after the options among `options` (those that `stats` has; a command
    /// that reads its own options first passes none).
    pub fn parse_with(c: &mut Cursor, options: &[&str]) -> Result<Stats> {
        let mut refused = Vec::new();
        for (k, v, at) in c.options(options)? {
            if let Some(r) = stats_option(&k, &v, at)? {
                refused.push(r);
            }
        }
        let mut aggs = Vec::new();
        let mut sparklines = Vec::new();
        loop {
            c.ws();
            if c.eat(',') {
                continue;
            }
            if c.at_stage_end() || c.at_keyword("by") {
                break;
            }
            let start = c.pos;
            let Some((fname, fspan)) = c.bare() else {
                return Err(c.expected("a stats function such as `count` or `values(field)`"));
            };
            if fname.eq_ignore_ascii_case("sparkline") {
                sparklines.push(parse_sparkline(c, start)?);
                continue;
            }
            aggs.push(aggregate::parse_agg(c, start, fname, fspan)?);
        }
        if aggs.is_empty() && sparklines.is_empty() {
            return Err(c.expected("a stats function such as `count`"));
        }
        let mut by = Vec::new();
        if c.keyword("by") {
            by = super::fields::parse_field_list(c, "a field name after `BY`")?;
        }
        c.end_of_stage("stats")?;
        Ok(Stats {
            aggs,
            by,
            sparklines,
            refused,
        })
    }

    /// Why this cannot run, if it cannot: a sparkline column, an option spelunk does not run.
    pub fn refusals(&self) -> Vec<Refusal> {
        let mut out: Vec<Refusal> = self
            .sparklines
            .iter()
            .map(|s| Refusal {
                kind: RefusalKind::Function,
                name: "sparkline".to_string(),
                reason: format!(
                    "stats function `sparkline` is not supported: `{}` draws counts per time bucket over the search's time range",
                    s.name
                ),
                span: s.span,
            })
            .collect();
        out.extend(self.refused.iter().cloned());
        out
    }

    /// The engine of these aggregates, running with `ctx` and the `list()`/`values()` sizes of `limits`.
    pub fn engine(&self, ctx: EvalContext, limits: &crate::limits::Limits) -> Engine {
        Engine::new(&self.aggs, &self.by, ctx, limits)
    }

    /// The operator, with the context that `eval(...)` arguments are evaluated in and the
    /// `list()`/`values()` sizes of `limits`.
    pub fn operator_limited(
        &self,
        ctx: EvalContext,
        limits: &crate::limits::Limits,
    ) -> Box<dyn Operator> {
        Box::new(StatsOp {
            by: self.by.clone().into(),
            engine: self.engine(ctx, limits),
            groups: Groups::default(),
            seq: 0,
            cancel: limits.cancel,
        })
    }
}

/// One option of `stats` (`allnum`, `delim`, `partitions`, `dedup_splitvals`): an error when its value
/// is not of its kind, a refusal when spelunk does not run it, else nothing (it changes no row).
pub fn stats_option(k: &str, v: &str, at: Span) -> Result<Option<Refusal>> {
    let flag = || crate::parse::flag(k, v, at);
    let refuse = |reason: String| {
        Some(Refusal {
            kind: RefusalKind::Feature,
            name: format!("{k}={v}"),
            reason,
            span: at,
        })
    };
    Ok(match k {
        // how Splunk spreads the work over its processors: the rows are the same
        "partitions" => {
            if v.parse::<u64>().is_err() {
                return Err(Diagnostic::at(
                    format!("`partitions` takes a whole number, not `{v}`"),
                    at,
                ));
            }
            None
        }
        // false is the default
        "allnum" => flag()?
            .then(|| "`allnum=true` is not supported: spelunk computes each numeric function over the values that are numbers (as `allnum=false`, the default, does)".to_string())
            .and_then(refuse),
        // true: duplicate values of a multivalue by-field count once, which is what spelunk does
        "dedup_splitvals" => (!flag()?)
            .then(|| "`dedup_splitvals=false` is not supported: spelunk counts each distinct value of a multivalue by-field once (as `dedup_splitvals=true` does)".to_string())
            .and_then(refuse),
        // a single space is the default
        "delim" => (v != " ").then(|| {
            format!("`delim=\"{v}\"` is not supported: spelunk keeps `list()` and `values()` results as multivalue fields (as the default delimiter, a single space, does)")
        }).and_then(refuse),
        _ => None,
    })
}

/// The rest of a sparkline term, after the word `sparkline` (which starts at `start`):
/// `[(<func>[(<field>)] [, <span-length>])] [AS <name>]`.
fn parse_sparkline(c: &mut Cursor, start: usize) -> Result<Sparkline> {
    let mut func = Func::Count;
    let mut field = None;
    let mut span_length = None;
    if c.eat('(') {
        c.ws();
        let Some((fname, fspan)) = c.bare() else {
            return Err(
                c.expected("a function inside `sparkline(...)` such as `count` or `avg(field)`")
            );
        };
        let lower = fname.to_ascii_lowercase();
        func = match func_of(&lower) {
            Some(f) if SPARKLINE_FUNCS.contains(&lower.as_str()) => f,
            _ => {
                let mut d = Diagnostic::at(
                    format!(
                        "`{fname}` cannot be drawn by `sparkline`: expected one of {}",
                        SPARKLINE_FUNCS.join(", ")
                    ),
                    fspan,
                );
                if let Some(s) = crate::diag::suggest(fname, SPARKLINE_FUNCS.iter().copied()) {
                    d.message.push_str(&format!(" (did you mean `{s}`?)"));
                }
                return Err(d);
            }
        };
        c.ws();
        if c.eat('(') {
            field = Some(c.field("a field name inside the parentheses")?.0);
            c.expect(')', "`)`")?;
        } else if func != Func::Count {
            return Err(c.expected(&format!("`(` and a field after `{fname}`")));
        }
        c.ws();
        if c.eat(',') {
            span_length = Some(c.value("a span length such as `1h`")?.0);
        }
        c.expect(')', "`)` closing `sparkline(`")?;
    }
    let text: String = c
        .src
        .get(start..c.pos)
        .unwrap_or("")
        .chars()
        .filter(|ch| !ch.is_whitespace())
        .collect();
    let mut end = c.pos;
    let name = if c.keyword("as") {
        let (n, nspan) = c.field_name("a name after `AS`")?;
        end = nspan.end;
        n
    } else {
        text
    };
    Ok(Sparkline {
        func,
        field,
        span_length,
        name,
        span: Span::new(start, end),
    })
}

struct StatsOp {
    by: std::sync::Arc<[String]>,
    engine: Engine,
    groups: Groups,
    /// Rows seen (the place of the next row in this part of the input).
    seq: u64,
    /// Ctrl-C in the shell: looked at while the groups become rows (there may be millions).
    cancel: crate::limits::Cancel,
}

impl Operator for StatsOp {
    fn fork(&self) -> Option<Box<dyn Operator>> {
        Some(Box::new(StatsOp {
            by: self.by.clone(),
            engine: self.engine.fork(),
            groups: Groups::default(),
            seq: 0,
            cancel: self.cancel,
        }))
    }

    fn merge(&mut self, mut other: Box<dyn Operator>) -> Result<()> {
        if let Some(o) = other.as_any_mut().and_then(|a| a.downcast_mut::<StatsOp>()) {
            aggregate::merge_part(
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
        let StatsOp {
            by,
            engine,
            groups,
            seq,
            ..
        } = self;
        aggregate::for_each_key(&ev, by, |key| {
            let i = groups.slot(key, engine);
            if let Some(g) = groups.get_mut(i) {
                engine.add(&mut g.accs, &ev, *seq);
            }
        });
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        self.engine.take_error()?;
        if self.groups.is_empty() && self.by.is_empty() {
            let mut row = Event::new();
            for (f, v) in self.engine.empty_results() {
                row.set(f, v);
            }
            out.push(row);
            return Ok(());
        }
        for (i, g) in std::mem::take(&mut self.groups)
            .into_sorted(self.cancel)?
            .into_iter()
            .enumerate()
        {
            if i % 4096 == 0 {
                self.cancel.check()?;
            }
            let results = self.engine.results(&g.accs);
            let mut row = Event::with_capacity(self.by.len() + results.len());
            for (f, v) in self.by.iter().zip(g.key) {
                row.set(f.as_str(), v);
            }
            for (f, v) in results {
                row.set(f, v);
            }
            out.push(row);
        }
        Ok(())
    }
}

impl super::SplCommand for Stats {
    fn refusals(&self) -> Vec<super::Refusal> {
        Stats::refusals(self)
    }

    fn needs(&self, _after: super::Need) -> super::Need {
        if self.by.iter().any(|f| f.contains('*')) {
            return None;
        }
        let mut n: std::collections::HashSet<String> = self.by.iter().cloned().collect();
        for a in &self.aggs {
            if let Some(e) = &a.expr {
                n.extend(e.expr.fields());
            }
            match &a.field {
                Some(f) if f.contains('*') => return None,
                Some(f) => {
                    n.insert(f.clone());
                }
                None => {}
            }
        }
        n.insert("_time".into());
        Some(n)
    }

    fn sql(&self, q: &mut crate::sql::Query) -> Option<Result<()>> {
        Some(self.write_sql(q))
    }

    fn operator(
        &self,
        cx: &super::Context,
        _sub: &dyn super::SubRunner,
    ) -> Result<Box<dyn Operator>> {
        Ok(self.operator_limited(cx.eval, &cx.limits))
    }
}

impl Stats {
    /// `stats` as SQL: a multivalue by-field is expanded first (one row per value, as Splunk groups
    /// by each value), rows lacking a by-field are dropped, groups come in `sort` order.
    fn write_sql(&self, q: &mut crate::sql::Query) -> Result<()> {
        use crate::sql::{ident, no_sql_form, sort_terms, Col};
        if let Some(r) = self.refusals().into_iter().next() {
            return Err(crate::diag::Diagnostic::at(r.reason, r.span));
        }
        let mut missing_by = false;
        for f in &self.by {
            if f.contains('*') {
                return Err(no_sql_form("a wildcard `by` field of `stats`"));
            }
            let Some(c) = q.field(f)?.cloned() else {
                missing_by = true;
                continue;
            };
            if c.multi {
                // one row per value of this field
                let cols: Vec<String> = q
                    .cols
                    .iter()
                    .map(|x| {
                        let id = ident(&x.name);
                        if x.name == c.name {
                            // each distinct value once: an event is in a group once
                            format!(
                                "{} AS {id}",
                                crate::sql::unnest(&crate::sql::list_distinct(&id))
                            )
                        } else {
                            id
                        }
                    })
                    .collect();
                let select = format!("SELECT {} FROM {}", cols.join(", "), q.from());
                let cols = q
                    .cols
                    .iter()
                    .map(|x| Col {
                        multi: x.multi && x.name != c.name,
                        ..x.clone()
                    })
                    .collect();
                q.step(select, cols, None);
            }
        }
        let mut exprs = Vec::new();
        let mut cols = Vec::new();
        for f in &self.by {
            exprs.push(ident(f));
            cols.push(Col::text(f));
        }
        for a in &self.aggs {
            if a.expr.is_some() {
                return Err(no_sql_form(format!(
                    "`{}` (an eval expression in stats)",
                    a.name
                )));
            }
            let field = match &a.field {
                Some(f) if f.contains('*') => {
                    return Err(no_sql_form(format!("`{}` (a wildcard in stats)", a.name)))
                }
                Some(f) => q.field(f)?.cloned(),
                None => None,
            };
            let name = ident(&a.name);
            let (expr, col) = match (&a.func, &field, &a.field) {
                (Func::Count, _, None) => ("count(*)".to_string(), int_col(&a.name)),
                (Func::Count | Func::DistinctCount, None, Some(_)) => {
                    ("0".to_string(), int_col(&a.name))
                }
                (Func::Count, Some(c), _) if c.multi => (
                    format!(
                        "coalesce(sum({}), 0)",
                        crate::sql::list_len(&ident(&c.name))
                    ),
                    int_col(&a.name),
                ),
                (Func::Count, Some(c), _) => {
                    (format!("count({})", ident(&c.name)), int_col(&a.name))
                }
                (Func::DistinctCount, Some(c), _) => (
                    format!("coalesce({}, 0)", crate::sql::list_len(&distinct_values(c))),
                    int_col(&a.name),
                ),
                (Func::Values, None, _) => ("NULL".to_string(), Col::text(&a.name)),
                (Func::Values, Some(c), _) => {
                    let v = distinct_values(c);
                    (
                        // sorted as text, byte by byte; none: no field
                        format!(
                            "CASE WHEN {} > 0 THEN {} END",
                            crate::sql::list_len(&v),
                            crate::sql::list_sort(&v)
                        ),
                        Col {
                            multi: true,
                            ..Col::text(&a.name)
                        },
                    )
                }
                (Func::Sum, None, _) => ("NULL".to_string(), Col::text(&a.name)),
                // the values that read as numbers, added; none: no field. A sum that is not a whole
                // number stops the query (its text is spelunk's shortest form, not an engine's)
                (Func::Sum, Some(c), _) if !c.multi => (
                    crate::sql::number_text(&format!("sum({})", crate::sql::number_of(c))),
                    Col::text(&a.name),
                ),
                (Func::Min | Func::Max, None, _) => ("NULL".to_string(), Col::text(&a.name)),
                (Func::Min | Func::Max, Some(c), _) if !c.multi => {
                    // the least (greatest) number when any value is one, else the least
                    // (greatest) text, byte by byte
                    let f = if matches!(a.func, Func::Min) {
                        "min"
                    } else {
                        "max"
                    };
                    let n = crate::sql::number_of(c);
                    let id = ident(&c.name);
                    (
                        format!(
                            "CASE WHEN {f}({n}) IS NOT NULL THEN {} ELSE {f}({}) FILTER (WHERE ({n}) IS NULL) END",
                            crate::sql::number_text(&format!("{f}({n})")),
                            crate::sql::binary(&id)
                        ),
                        Col::text(&a.name),
                    )
                }
                _ => {
                    return Err(no_sql_form(format!("the stats function of `{}`", a.name)));
                }
            };
            exprs.push(format!("{expr} AS {name}"));
            cols.push(col);
        }
        let from = q.from();
        if missing_by {
            // no row has a by-field: no groups, no rows
            let list: Vec<String> = cols
                .iter()
                .map(|c| {
                    let t = if c.int {
                        "BIGINT"
                    } else if c.multi {
                        crate::sql::list_type()
                    } else {
                        crate::sql::string_type()
                    };
                    format!("CAST(NULL AS {t}) AS {}", ident(&c.name))
                })
                .collect();
            let select = format!("SELECT {} FROM {from} WHERE false", list.join(", "));
            q.step(select, cols, Some(Vec::new()));
            q.unavailable.clear();
            return Ok(());
        }
        let mut select = format!("SELECT {} FROM {from}", exprs.join(", "));
        let present: Vec<String> = self
            .by
            .iter()
            .filter(|f| q.cols.iter().any(|c| &c.name == *f))
            .map(|f| format!("{} IS NOT NULL", ident(f)))
            .collect();
        if !present.is_empty() {
            select.push_str(&format!(" WHERE {}", present.join(" AND ")));
        }
        if !self.by.is_empty() {
            let by: Vec<String> = self.by.iter().map(|b| ident(b)).collect();
            select.push_str(&format!(" GROUP BY {}", by.join(", ")));
        }
        let order = self.by.iter().flat_map(|b| sort_terms(&ident(b))).collect();
        q.step(select, cols, Some(order));
        // a new table: every field of it is a column
        q.unavailable.clear();
        Ok(())
    }
}

fn int_col(name: &str) -> crate::sql::Col {
    crate::sql::Col {
        int: true,
        ..crate::sql::Col::text(name)
    }
}

/// The distinct non-null values of the field `c` in a group, as a list (a multivalue field's values
/// each count).
fn distinct_values(c: &crate::sql::Col) -> String {
    let id = crate::sql::ident(&c.name);
    let all = crate::sql::collect(&id);
    crate::sql::list_distinct(&if c.multi {
        format!("flatten({all})")
    } else {
        all
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{Command, RefusalKind};
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<Stats> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::Stats(s)) => Ok(s),
            other => panic!("not stats: {other:?}"),
        }
    }

    #[test]
    fn as_names_may_end_in_parentheses() {
        let s = parse("x | stats values(aceFlags) as aceFlags(inheritance), count AS n(x)(y) by a")
            .unwrap();
        let names: Vec<&str> = s.aggs.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["aceFlags(inheritance)", "n(x)(y)"]);
        assert_eq!(s.by, ["a"]);
        // a space ends the name: what follows is the next aggregate
        let s = parse("x | stats count as n (x)");
        assert!(s.is_err());
    }

    #[test]
    fn sparklines_parse_and_are_refused_when_run() {
        let s =
            parse("x | stats sparkline, count, values(uri) AS uri latest(_raw) by src").unwrap();
        assert_eq!(s.sparklines.len(), 1);
        assert_eq!(s.sparklines[0].func, Func::Count);
        assert_eq!(s.sparklines[0].name, "sparkline");
        assert_eq!(s.aggs.len(), 3);
        let s = parse("x | stats sparkline(avg(bytes), 1h) AS trend count").unwrap();
        let sp = &s.sparklines[0];
        assert_eq!(
            (
                sp.func.clone(),
                sp.field.as_deref(),
                sp.span_length.as_deref()
            ),
            (Func::Avg, Some("bytes"), Some("1h"))
        );
        assert_eq!(sp.name, "trend");
        let s = parse("x | stats sparkline(count) by a").unwrap();
        assert_eq!(s.sparklines[0].name, "sparkline(count)");
        assert!(s.aggs.is_empty());
        let refusals = Command::Stats(s.clone()).refusals();
        assert_eq!(refusals.len(), 1);
        assert_eq!(refusals[0].kind, RefusalKind::Function);
        assert_eq!(refusals[0].name, "sparkline");
        assert_eq!(refusals[0].span, Span::new(10, 26));
        assert!(!Command::Stats(s).is_runnable());
        assert!(Command::Stats(parse("x | stats count").unwrap()).is_runnable());
    }

    #[test]
    fn sparklines_refuse_bad_arguments() {
        let e = parse("x | stats sparkline(values(a))").unwrap_err();
        assert!(
            e.message.contains("cannot be drawn by `sparkline`"),
            "{}",
            e.message
        );
        let e = parse("x | stats sparkline(avg)").unwrap_err();
        assert!(
            e.message.contains("`(` and a field after `avg`"),
            "{}",
            e.message
        );
        let e = parse("x | stats sparkline(count, 1h").unwrap_err();
        assert!(e.message.contains("closing `sparkline(`"), "{}", e.message);
    }

    #[test]
    fn options_run_refuse_or_fail() {
        let s =
            parse("x | stats partitions=4 allnum=f delim=\" \" dedup_splitvals=t count").unwrap();
        assert!(s.refusals().is_empty());
        let s = parse("x | stats allnum=true delim=\";\" dedup_splitvals=f count").unwrap();
        let r = s.refusals();
        let names: Vec<&str> = r.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["allnum=true", "delim=;", "dedup_splitvals=f"]);
        assert!(r.iter().all(|r| r.kind == RefusalKind::Feature));
        assert_eq!(r[0].span, Span::new(10, 21));
        assert!(!Command::Stats(s).is_runnable());
        let e = parse("x | stats partitions=many count").unwrap_err();
        assert!(e.message.contains("whole number"), "{}", e.message);
        let e = parse("x | stats allnum=maybe count").unwrap_err();
        assert!(e.message.contains("true or false"), "{}", e.message);
    }

    #[test]
    fn ctrl_c_stops_making_rows_from_groups() {
        let s = parse("x | stats count by g").unwrap();
        let ctx = EvalContext {
            now: 0.0,
            tz: chrono_tz::UTC,
            max_text: crate::eval::MAX_TEXT,
        };
        let limits = crate::limits::Limits {
            cancel: crate::limits::Cancel::new(),
            ..Default::default()
        };
        let mut op = s.operator_limited(ctx, &limits);
        let mut out = Vec::new();
        for i in 0..10 {
            let mut ev = Event::new();
            ev.set("g", crate::value::Value::str(i.to_string()));
            op.push(ev, &mut out).unwrap();
        }
        limits.cancel.set(true);
        let e = op.finish(&mut out).unwrap_err();
        assert_eq!(e.message, crate::limits::CANCELLED);
        assert!(out.is_empty());
    }

    fn run(q: &str, parts: &[&[(&str, &str, &str)]]) -> Vec<Event> {
        let s = parse(q).unwrap();
        let ctx = EvalContext {
            now: 0.0,
            tz: chrono_tz::UTC,
            max_text: crate::eval::MAX_TEXT,
        };
        let mut op = s.operator_limited(ctx, &crate::limits::Limits::default());
        let mut ignored = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let mut fork = op.fork().unwrap();
            for (t, (g, k, v)) in part.iter().enumerate() {
                let mut ev = Event::new();
                ev.set("_time", crate::value::Value::Num((i * 10 + t) as f64));
                ev.set("g", crate::value::Value::str(g));
                ev.set(*k, crate::value::Value::str(v));
                fork.push(ev, &mut ignored).unwrap();
            }
            op.merge(fork).unwrap();
        }
        let mut out = Vec::new();
        op.finish(&mut out).unwrap();
        out
    }

    #[test]
    fn parts_merge_in_input_order() {
        let q = "x | stats count first(x) as f last(x) as l list(x) as li mode(x) as mo earliest(x) as e latest(x) as la values(x*) as v_* dc(*) by g";
        let rows: &[(&str, &str, &str)] = &[
            ("a", "x", "3"),
            ("b", "x", "1"),
            ("a", "xy", "9"),
            ("b", "x", "3"),
            ("a", "x", "7"),
            ("b", "x", "1"),
        ];
        let whole = run(q, &[rows]);
        let (a, b) = rows.split_at(2);
        let (b, c) = b.split_at(3);
        let parts = run(q, &[a, b, c]);
        assert_eq!(whole.len(), 2);
        // earliest/latest follow _time, which the parts number differently: compare the rest
        let strip = |rows: Vec<Event>| -> Vec<Event> {
            rows.into_iter()
                .map(|mut r| {
                    r.remove("e");
                    r.remove("la");
                    r
                })
                .collect()
        };
        assert_eq!(strip(whole.clone()), strip(parts));
        let a = &whole[0];
        let text = |f: &str| a.get(f).map(|v| v.to_string()).unwrap_or_default();
        assert_eq!(
            [
                text("count"),
                text("f"),
                text("l"),
                text("mo"),
                text("v_"),
                text("v_y")
            ],
            ["3", "3", "7", "3", "3\n7", "9"].map(String::from)
        );
    }
}
