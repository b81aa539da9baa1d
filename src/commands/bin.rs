//! `bin` (alias `bucket`) — put numbers or times into ranges.
//!
//! ```text
//! bin [bins=<int>] [minspan=<span>] [span=<span>] [start=<num>] [end=<num>] [aligntime=<time>]
//!     <field> [AS <newfield>]
//! span := <num> | <num><unit>     unit := s|sec|secs|second|seconds | m|min|mins|minute|minutes
//!         | h|hr|hrs|hour|hours | d|day|days | w|week|weeks | mon|month|months
//!         | q|qtr|qtrs|quarter|quarters | y|yr|yrs|year|years | ms | cs | ds | us
//! ```
//! Options may come before or after the field.
//!
//! Times (the field is `_time`, or the span has a time unit): the value becomes the start of its bucket
//! in epoch seconds. Buckets are aligned as Splunk aligns them, to the user's time zone (`--tz`, UTC by
//! default): a span of hours, minutes or seconds starts at local multiples of the span counted from local
//! midnight of 1970-01-01, a span of days at local midnights, and `mon`/`q`/`y` at the first of a local
//! month whose number since 1970-01 is a multiple of the span. `aligntime=<time>` (epoch seconds or a
//! relative time such as `@d+3h`) shifts second-based buckets to start at that instant instead.
//!
//! Numbers (any other field): `span=N` turns a value x into the text `lo-hi` with lo = floor(x/N)·N and
//! hi = lo + N. Values that are not numbers are left as they are; a row without the field passes.
//!
//! Without `span`, the span is chosen from all the rows' values (so the command holds them until its
//! input ends): the smallest power of ten (numbers) or the smallest of 1s, 5s, 10s, 30s, 1m, 5m, 10m, 30m,
//! 1h, 1d, 7d (times; then months) that makes at most `bins` buckets (default 100) over the range from
//! the smallest value (or `start`) to the largest (or `end`), and is not below `minspan`.
//! Refused: logarithmic spans (`span=log`, `span=2log10`), `aligntime=earliest|latest` (no search time range
//! here).

use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;
use crate::value::{format_num, Value};
use chrono::{Datelike, NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;

/// Default number of buckets when no span is given.
pub const DEFAULT_BINS: usize = 100;

/// A bucket width.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BinSpan {
    /// A plain number (no unit).
    Number(f64),
    /// Seconds (a time unit below a month).
    Seconds(f64),
    /// Calendar months.
    Months(u32),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Bin {
    pub field: String,
    pub as_field: Option<String>,
    pub span: Option<BinSpan>,
    pub bins: Option<usize>,
    pub minspan: Option<BinSpan>,
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub aligntime: Option<String>,
    pub span_at: Span,
}

const OPTIONS: &[&str] = &["bins", "minspan", "span", "start", "end", "aligntime"];

/// Parse a span such as `5m`, `1h`, `2mon`, `10`, `0.5`.
pub fn parse_span(text: &str, at: Span) -> Result<BinSpan> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || {
        Diagnostic::at(
            format!("expected a span such as `5m`, `1h`, `1d` or a number, found `{t}`"),
            at,
        )
    };
    let n: f64 = if num.is_empty() {
        1.0
    } else {
        num.parse().map_err(|_| bad())?
    };
    if n <= 0.0 || !n.is_finite() {
        return Err(Diagnostic::at(
            format!("the span must be positive, not `{t}`"),
            at,
        ));
    }
    let secs = |k: f64| Ok(BinSpan::Seconds(n * k));
    let months = |k: u32| {
        if n.fract() != 0.0 || n > 12_000.0 {
            return Err(Diagnostic::at(
                format!("a span in months must be a whole number, not `{t}`"),
                at,
            ));
        }
        Ok(BinSpan::Months(n as u32 * k))
    };
    match unit.to_ascii_lowercase().as_str() {
        "" if num.is_empty() => Err(bad()),
        "" => Ok(BinSpan::Number(n)),
        "s" | "sec" | "secs" | "second" | "seconds" => secs(1.0),
        "m" | "min" | "mins" | "minute" | "minutes" => secs(60.0),
        "h" | "hr" | "hrs" | "hour" | "hours" => secs(3600.0),
        "d" | "day" | "days" => secs(86_400.0),
        "w" | "week" | "weeks" => secs(604_800.0),
        "ms" => secs(0.001),
        "cs" => secs(0.01),
        "ds" => secs(0.1),
        "us" => secs(0.000_001),
        "mon" | "month" | "months" => months(1),
        "q" | "qtr" | "qtrs" | "quarter" | "quarters" => months(3),
        "y" | "yr" | "yrs" | "year" | "years" => months(12),
        u if u.contains("log") => Err(Diagnostic::at(
            "logarithmic spans are not supported yet",
            at,
        )),
        _ => Err(bad()),
    }
}

impl Bin {
    pub fn parse(c: &mut Cursor, _name_span: Span) -> Result<Bin> {
        let mut b = Bin {
            field: String::new(),
            as_field: None,
            span: None,
            bins: None,
            minspan: None,
            start: None,
            end: None,
            aligntime: None,
            span_at: Span::default(),
        };
        let mut field = None;
        loop {
            for (k, v, at) in c.options(OPTIONS)? {
                let num = |v: &str| crate::parse::number::<f64>(&k, v, at);
                match k.as_str() {
                    "span" => {
                        b.span = Some(parse_span(&v, at)?);
                        b.span_at = at;
                    }
                    "minspan" => b.minspan = Some(parse_span(&v, at)?),
                    "bins" => {
                        b.bins = Some(v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                            Diagnostic::at(
                                format!("`bins` takes a whole number from 1, not `{v}`"),
                                at,
                            )
                        })?)
                    }
                    "start" => b.start = Some(num(&v)?),
                    "end" => b.end = Some(num(&v)?),
                    _ => {
                        if v.eq_ignore_ascii_case("earliest") || v.eq_ignore_ascii_case("latest") {
                            return Err(Diagnostic::at(
                                format!("`aligntime={v}` needs the search's time range, which spelunk does not have: give a time such as `@d` or epoch seconds"),
                                at,
                            ));
                        }
                        b.aligntime = Some(v);
                    }
                }
            }
            c.ws();
            if field.is_none() && !c.at_stage_end() && !c.at_option() {
                let (f, _) = c.field("the field to put into bins")?;
                field = Some(f);
                if c.keyword("as") {
                    b.as_field = Some(c.field("a field name after `AS`")?.0);
                }
                continue;
            }
            break;
        }
        super::end_of_args(c, "bin", "an option such as `span=`", OPTIONS)?;
        b.field = field.ok_or_else(|| c.expected("the field to put into bins"))?;
        Ok(b)
    }
}

impl super::SplCommand for Bin {
    fn needs(&self, after: super::Need) -> super::Need {
        let mut n = after?;
        let dest = self.as_field.as_ref().unwrap_or(&self.field);
        if n.remove(dest) {
            n.insert(self.field.clone());
        }
        Some(n)
    }

    fn sql(&self, q: &mut crate::sql::Query) -> Option<Result<()>> {
        Some(self.write_sql(q))
    }

    fn operator(&self, ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        let align = match &self.aligntime {
            None => None,
            Some(t) => Some(resolve_aligntime(t, ctx, self.span_at)?),
        };
        let time = self.field == "_time"
            || matches!(self.span, Some(BinSpan::Seconds(_) | BinSpan::Months(_)));
        Ok(Box::new(BinOp {
            bin: self.clone(),
            tz: ctx.eval.tz,
            align,
            time,
            rows: Vec::new(),
        }))
    }
}

impl Bin {
    /// `bin` of times by a whole number of seconds, in UTC, as SQL: a value that reads as a number
    /// becomes the start of its bucket, floor(t / span) · span (as [`time_bucket`] computes it with no
    /// offset), any other is kept. Spans of months, plain numbers' ranges, a span chosen from the data,
    /// `aligntime` and the other options have no SQL form yet.
    fn write_sql(&self, q: &mut crate::sql::Query) -> Result<()> {
        use crate::sql::{ident, no_sql_form, number_of, number_text, replacing, Col};
        let time = self.field == "_time"
            || matches!(self.span, Some(BinSpan::Seconds(_) | BinSpan::Months(_)));
        let secs = match self.span {
            Some(BinSpan::Seconds(s) | BinSpan::Number(s)) if time => s,
            Some(BinSpan::Months(_)) => return Err(no_sql_form("a `bin` span of months")),
            Some(_) => return Err(no_sql_form("`bin` of numbers into ranges")),
            None => {
                return Err(no_sql_form(
                    "`bin` without `span` (a span chosen from the data)",
                ))
            }
        };
        if secs.fract() != 0.0 || !(1.0..=1e9).contains(&secs) {
            return Err(no_sql_form(format!(
                "a `bin` span of {} seconds (not a whole number)",
                format_num(secs)
            )));
        }
        if self.aligntime.is_some()
            || self.bins.is_some()
            || self.minspan.is_some()
            || self.start.is_some()
            || self.end.is_some()
        {
            return Err(no_sql_form(
                "`bin` with `aligntime`, `bins`, `minspan`, `start` or `end`",
            ));
        }
        if !q.utc {
            return Err(no_sql_form("`bin` of times in a time zone other than UTC"));
        }
        let Some(c) = q.field(&self.field)?.cloned() else {
            return Ok(());
        };
        if c.multi {
            return Err(no_sql_form(format!(
                "`bin` of the multivalue field `{}`",
                c.name
            )));
        }
        let dest = self.as_field.clone().unwrap_or_else(|| self.field.clone());
        let n = number_of(&c);
        let keep = crate::sql::text_of(&c);
        let span = format!("CAST({secs} AS DOUBLE)");
        let item = format!(
            "CASE WHEN ({n}) IS NOT NULL THEN {} ELSE {keep} END AS {}",
            number_text(&format!("floor(({n}) / {span}) * {span}")),
            ident(&dest)
        );
        let (list, cols) = replacing(&q.cols, &dest, item, Col::text(&dest));
        q.reshape(&list, cols);
        Ok(())
    }
}

/// The instant an `aligntime=` value names: epoch seconds or a relative time such as `@d+3h`.
pub fn resolve_aligntime(t: &str, ctx: &Context, at: Span) -> Result<f64> {
    t.parse::<f64>()
        .ok()
        .or_else(|| crate::eval::time::parse_time_modifier(t, ctx.eval.now, ctx.eval.tz))
        .ok_or_else(|| {
            Diagnostic::at(
                format!("`aligntime` takes a time such as `@d` or epoch seconds, not `{t}`"),
                at,
            )
        })
}

/// Seconds east of UTC in `tz` at epoch time `t`.
fn offset_at(tz: Tz, t: f64) -> f64 {
    match tz.timestamp_opt(t.floor() as i64, 0) {
        chrono::LocalResult::Single(d) | chrono::LocalResult::Ambiguous(d, _) => {
            d.offset().fix().local_minus_utc() as f64
        }
        chrono::LocalResult::None => 0.0,
    }
}

/// Start of the time bucket of `t`.
pub fn time_bucket(t: f64, span: BinSpan, tz: Tz, align: Option<f64>) -> Option<f64> {
    match span {
        BinSpan::Number(s) | BinSpan::Seconds(s) => {
            if let Some(a) = align {
                return Some(((t - a) / s).floor() * s + a);
            }
            let off = offset_at(tz, t);
            Some(((t + off) / s).floor() * s - off)
        }
        BinSpan::Months(n) => {
            let local = tz.timestamp_opt(t.floor() as i64, 0).earliest()?;
            let index = local.year() as i64 * 12 + local.month0() as i64;
            let base = 1970 * 12;
            let k = (index - base).div_euclid(n as i64) * n as i64 + base;
            let date =
                NaiveDate::from_ymd_opt(k.div_euclid(12) as i32, k.rem_euclid(12) as u32 + 1, 1)?;
            let start = tz
                .from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
                .earliest()?;
            Some(start.timestamp() as f64)
        }
    }
}

/// The start of the time bucket after the one starting at `b` (for filling empty buckets).
pub fn next_time_bucket(b: f64, span: BinSpan, tz: Tz, align: Option<f64>) -> f64 {
    let step = match span {
        BinSpan::Number(s) | BinSpan::Seconds(s) => s,
        // a month has at most 31 days: this lands in the next bucket, whose start is then found
        BinSpan::Months(n) => n as f64 * 31.0 * 86_400.0,
    };
    match time_bucket(b + step, span, tz, align) {
        Some(n) if n > b => n,
        _ => b + step,
    }
}

/// The text of the numeric bucket of `x`: `lo-hi`.
pub fn num_bucket(x: f64, span: f64) -> String {
    let lo = (x / span).floor() * span;
    // keep float noise (0.1 steps) out of the printed bounds
    let clean = |v: f64| (v * 1e9).round() / 1e9;
    format!("{}-{}", format_num(clean(lo)), format_num(clean(lo + span)))
}

/// The auto-chosen span for values from `lo` to `hi`.
pub fn choose_span(lo: f64, hi: f64, bins: usize, time: bool, min: Option<BinSpan>) -> BinSpan {
    let bins = bins.max(1) as f64;
    let fits = |s: f64| ((hi / s).floor() - (lo / s).floor() + 1.0) <= bins;
    let min_secs = match min {
        Some(BinSpan::Number(s) | BinSpan::Seconds(s)) => s,
        Some(BinSpan::Months(m)) => m as f64 * 2_629_746.0,
        None => 0.0,
    };
    if time {
        const NICE: [f64; 11] = [
            1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0, 86_400.0, 604_800.0,
        ];
        for s in NICE {
            if s >= min_secs && fits(s) {
                return BinSpan::Seconds(s);
            }
        }
        for m in [1u32, 3, 12, 120, 1200] {
            if m as f64 * 2_629_746.0 >= min_secs && fits(m as f64 * 2_629_746.0) {
                return BinSpan::Months(m);
            }
        }
        return BinSpan::Months(12_000);
    }
    let mut k = if hi > lo {
        ((hi - lo) / bins).log10().floor() as i32 - 1
    } else {
        0
    };
    loop {
        let s = 10f64.powi(k);
        if (s >= min_secs && fits(s)) || k > 300 {
            return BinSpan::Number(s);
        }
        k += 1;
    }
}

struct BinOp {
    bin: Bin,
    tz: Tz,
    align: Option<f64>,
    time: bool,
    /// Rows held while the span is not known yet (no `span=`).
    rows: Vec<Event>,
}

impl BinOp {
    fn apply(&self, ev: &mut Event, span: BinSpan) {
        let Some(x) = ev.get(&self.bin.field).and_then(|v| v.as_num()) else {
            return;
        };
        let out = if self.time {
            match time_bucket(x, span, self.tz, self.align) {
                Some(t) => Value::Num(t),
                None => return,
            }
        } else {
            match span {
                BinSpan::Number(s) | BinSpan::Seconds(s) => Value::str(num_bucket(x, s)),
                BinSpan::Months(_) => return,
            }
        };
        let target = self.bin.as_field.as_deref().unwrap_or(&self.bin.field);
        ev.set(target, out);
    }
}

impl Operator for BinOp {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        match self.bin.span {
            Some(span) => {
                self.apply(&mut ev, span);
                out.push(ev);
            }
            None => self.rows.push(ev),
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        if self.bin.span.is_some() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        let mut lo = self.bin.start;
        let mut hi = self.bin.end;
        for r in &rows {
            if let Some(x) = r.get(&self.bin.field).and_then(|v| v.as_num()) {
                lo = Some(lo.map_or(x, |l: f64| l.min(x)));
                hi = Some(hi.map_or(x, |h: f64| h.max(x)));
            }
        }
        let span = choose_span(
            lo.unwrap_or(0.0),
            hi.unwrap_or(0.0),
            self.bin.bins.unwrap_or(DEFAULT_BINS),
            self.time,
            self.bin.minspan,
        );
        for mut r in rows {
            self.apply(&mut r, span);
            out.push(r);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<Bin> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::Bin(b)) => Ok(b),
            other => panic!("not bin: {other:?}"),
        }
    }

    #[test]
    fn parses_spans_and_fields() {
        let b = parse("x | bucket span=5m _time").unwrap();
        assert_eq!(
            (b.field.as_str(), b.span),
            ("_time", Some(BinSpan::Seconds(300.0)))
        );
        let b = parse("x | bin _time span=3s").unwrap();
        assert_eq!(b.span, Some(BinSpan::Seconds(3.0)));
        let b = parse("x | bin bins=10 start=0 end=1000 size AS range").unwrap();
        assert_eq!(b.bins, Some(10));
        assert_eq!(b.as_field.as_deref(), Some("range"));
        assert_eq!((b.start, b.end), (Some(0.0), Some(1000.0)));
        assert_eq!(
            parse("x | bin span=2mon _time").unwrap().span,
            Some(BinSpan::Months(2))
        );
        assert_eq!(
            parse("x | bin span=1q _time").unwrap().span,
            Some(BinSpan::Months(3))
        );
        assert_eq!(
            parse("x | bin span=0.5 x").unwrap().span,
            Some(BinSpan::Number(0.5))
        );
    }

    #[test]
    fn refuses_bad_syntax() {
        let e = parse("x | bin span=5x _time").unwrap_err();
        assert_eq!(e.span, Some(Span::new(8, 15)));
        assert!(e.message.contains("`5m`"), "{}", e.message);
        let e = parse("x | bin span=5m").unwrap_err();
        assert!(
            e.message.contains("the field to put into bins"),
            "{}",
            e.message
        );
        let e = parse("x | bin _time spn=5m").unwrap_err();
        assert!(e.message.contains("did you mean `span`"), "{}", e.message);
        let e = parse("x | bin span=log _time").unwrap_err();
        assert!(e.message.contains("logarithmic"), "{}", e.message);
        let e = parse("x | bin aligntime=earliest span=1h _time").unwrap_err();
        assert_eq!(e.span.map(|s| s.start), Some(8));
        let e = parse("x | bin span=0 _time").unwrap_err();
        assert!(e.message.contains("positive"), "{}", e.message);
        let e = parse("x | bin _time y").unwrap_err();
        assert_eq!(e.span.map(|s| s.start), Some(14));
    }

    #[test]
    fn time_buckets_follow_the_zone() {
        let utc: Tz = chrono_tz::UTC;
        // 2024-03-08T10:47:13Z
        let t = 1_709_894_833.0;
        assert_eq!(
            time_bucket(t, BinSpan::Seconds(300.0), utc, None),
            Some(1_709_894_700.0)
        );
        assert_eq!(
            time_bucket(t, BinSpan::Seconds(86_400.0), utc, None),
            Some(1_709_856_000.0)
        );
        // Kolkata is UTC+5:30: hours start at :30 UTC, days at 18:30 UTC the day before
        let ist: Tz = "Asia/Kolkata".parse().unwrap();
        assert_eq!(
            time_bucket(t, BinSpan::Seconds(3600.0), ist, None),
            Some(1_709_893_800.0)
        );
        assert_eq!(
            time_bucket(t, BinSpan::Seconds(86_400.0), ist, None),
            Some(1_709_836_200.0)
        );
        // 2024-03-01T00:00:00Z
        assert_eq!(
            time_bucket(t, BinSpan::Months(1), utc, None),
            Some(1_709_251_200.0)
        );
        // 2024-01-01 for 3 months
        assert_eq!(
            time_bucket(t, BinSpan::Months(3), utc, None),
            Some(1_704_067_200.0)
        );
        assert_eq!(
            time_bucket(100.0, BinSpan::Seconds(60.0), utc, Some(30.0)),
            Some(90.0)
        );
    }

    #[test]
    fn number_buckets_and_auto_span() {
        assert_eq!(num_bucket(47.0, 10.0), "40-50");
        assert_eq!(num_bucket(-3.0, 10.0), "-10-0");
        assert_eq!(num_bucket(0.35, 0.1), "0.3-0.4");
        assert_eq!(
            choose_span(0.0, 1000.0, 10, false, None),
            BinSpan::Number(1000.0)
        );
        assert_eq!(
            choose_span(3.0, 97.0, 10, false, None),
            BinSpan::Number(10.0)
        );
        assert_eq!(
            choose_span(3.0, 100.0, 10, false, None),
            BinSpan::Number(100.0)
        );
        assert_eq!(
            choose_span(3.0, 97.0, 100, false, None),
            BinSpan::Number(1.0)
        );
        assert_eq!(
            choose_span(0.0, 3000.0, 100, true, None),
            BinSpan::Seconds(60.0)
        );
    }
}
