//! Rows out: a terminal table, CSV, JSON, a chart, or an HTML page.
//!
//! Columns are the fields of the rows in the order they first appear (or the columns a final `table`
//! names, shown even when empty). Internal fields (`_` prefix) are hidden except `_time` and `_raw`.
//! `_time` is shown as a date in the chosen time zone: `2024-03-01 10:15:00` in tables, ISO 8601 with
//! milliseconds and offset (`2024-03-01T10:15:00.000+00:00`) in CSV and JSON. Multivalue fields are one
//! value per line in tables, newline-joined in one CSV cell (as Splunk's CSV export), arrays in JSON.
//! `chart` draws a result that is a series ([`crate::chart`]) and refuses any other; `html` is a page
//! with the chart (for a series) and the table.

use crate::event::Event;
use crate::value::Value;
use chrono::TimeZone;
use chrono_tz::Tz;
use std::io::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
    /// A terminal chart of a result that is a series (an error for any other result).
    Chart,
    /// A self-contained HTML page: the chart of a series, then the table.
    Html,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "chart" => Ok(Format::Chart),
            "html" => Ok(Format::Html),
            _ => Err(format!(
                "unknown format `{s}` (table, csv, json, chart or html)"
            )),
        }
    }
}

/// The columns of a result: `fixed` ones first (from a final `table`), then every other field in first-seen order.
pub fn columns(rows: &[Event], fixed: Option<&[String]>) -> Vec<String> {
    if let Some(f) = fixed {
        if !f.iter().any(|c| c.contains('*')) {
            return f.to_vec();
        }
    }
    let mut cols: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for r in rows {
        for name in r.names() {
            if name.starts_with('_') && name.as_ref() != "_time" && name.as_ref() != "_raw" {
                continue;
            }
            if seen.insert(name.clone()) {
                cols.push(name.to_string());
            }
        }
    }
    cols
}

pub fn format_time(t: f64, tz: Tz, iso: bool) -> String {
    // an epoch time in f64 holds about a microsecond: round there, so that `.123` (stored as
    // `.12299999…`) prints as `.123`, not `.122`
    let micros = (t * 1e6).round() as i64;
    let secs = micros.div_euclid(1_000_000);
    let nanos = (micros.rem_euclid(1_000_000) * 1000) as u32;
    match tz.timestamp_opt(secs, nanos) {
        chrono::LocalResult::Single(dt) | chrono::LocalResult::Ambiguous(dt, _) => {
            if let Some(text) = format_plainly(&dt, nanos, iso) {
                return text;
            }
            if iso {
                dt.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
            } else if nanos >= 1_000_000 {
                dt.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
            } else {
                dt.format("%Y-%m-%d %H:%M:%S").to_string()
            }
        }
        chrono::LocalResult::None => crate::value::format_num(t),
    }
}

/// [`format_time`]'s text written field by field, as the strftime patterns there spell it, for the
/// usual case (a four-digit year, an offset of whole minutes); `None` otherwise. Every CSV and JSON
/// row's `_time` is written here, so it skips reading a pattern per row.
fn format_plainly(dt: &chrono::DateTime<Tz>, nanos: u32, iso: bool) -> Option<String> {
    use chrono::{Datelike, Offset, Timelike};
    use std::fmt::Write as _;
    let year = dt.year();
    let offset = dt.offset().fix().local_minus_utc();
    if !(0..=9999).contains(&year) || offset % 60 != 0 {
        return None;
    }
    let mut s = String::with_capacity(29);
    let sep = if iso { 'T' } else { ' ' };
    let _ = write!(
        s,
        "{year:04}-{:02}-{:02}{sep}{:02}:{:02}:{:02}",
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    if iso || nanos >= 1_000_000 {
        let _ = write!(s, ".{:03}", nanos / 1_000_000);
    }
    if iso {
        let sign = if offset < 0 { '-' } else { '+' };
        let m = offset.unsigned_abs() / 60;
        let _ = write!(s, "{sign}{:02}:{:02}", m / 60, m % 60);
    }
    Some(s)
}

fn cell(col: &str, v: &Value, tz: Tz, iso: bool) -> String {
    if col == "_time" {
        if let Some(t) = v.as_num() {
            return format_time(t, tz, iso);
        }
    }
    v.to_string()
}

/// One CSV record of a row.
fn csv_record(r: &Event, cols: &[String], tz: Tz) -> Vec<String> {
    cols.iter()
        .map(|c| r.get(c).map(|v| cell(c, v, tz, true)).unwrap_or_default())
        .collect()
}

/// One JSON object of a row.
fn json_row(r: &Event, cols: &[String], tz: Tz) -> serde_json::Value {
    let mut obj = serde_json::Map::new();
    for c in cols {
        if let Some(v) = r.get(c) {
            let j = match v {
                Value::Multi(vs) => serde_json::Value::Array(
                    vs.iter()
                        .map(|x| serde_json::Value::String(cell(c, x, tz, true)))
                        .collect(),
                ),
                single => serde_json::Value::String(cell(c, single, tz, true)),
            };
            obj.insert(c.clone(), j);
        }
    }
    serde_json::Value::Object(obj)
}

/// Writes CSV or JSON rows as a search produces them, when the columns are known before the first row
/// (a search ending in `table` with plain names): output then needs no memory for the rows.
pub struct Streamer<'w> {
    csv: Option<csv::Writer<&'w mut dyn Write>>,
    json: Option<&'w mut dyn Write>,
    cols: Vec<String>,
    tz: Tz,
    limit: usize,
    pub total: usize,
    pub shown: usize,
    /// The reader of the output went away (a closed pipe): the search stops quietly.
    pub closed: bool,
    /// The CSV header is still to be written (with the first row, or by [`Streamer::finish`]), so
    /// that a query that fails before its first row prints nothing.
    header: bool,
}

/// A CSV writer's error as the I/O error behind it (so that a closed pipe is seen as one).
pub fn io_error(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

/// The message a [`Streamer`] stops a search with when its output is closed.
pub const OUTPUT_CLOSED: &str = "output closed";

impl<'w> Streamer<'w> {
    /// Start writing: nothing is written until the first row or [`Streamer::finish`] (then the CSV header
    /// alone, as for a result with no rows).
    pub fn new(
        w: &'w mut dyn Write,
        cols: Vec<String>,
        format: Format,
        tz: Tz,
        limit: Option<usize>,
    ) -> std::io::Result<Streamer<'w>> {
        let mut s = Streamer {
            csv: None,
            json: None,
            cols,
            tz,
            limit: limit.unwrap_or(usize::MAX),
            total: 0,
            shown: 0,
            closed: false,
            header: false,
        };
        match format {
            Format::Json => s.json = Some(w),
            _ => {
                s.header = !s.cols.is_empty();
                s.csv = Some(csv::Writer::from_writer(w));
            }
        }
        Ok(s)
    }

    fn write_header(&mut self) -> std::io::Result<()> {
        if let (true, Some(c)) = (self.header, &mut self.csv) {
            self.header = false;
            c.write_record(&self.cols).map_err(io_error)?;
        }
        Ok(())
    }

    /// The query ended well: write what is still due (the header of a result with no rows) and flush.
    pub fn finish(&mut self) -> std::io::Result<()> {
        self.write_header()?;
        self.flush()
    }

    fn write(&mut self, r: &Event) -> std::io::Result<()> {
        self.write_header()?;
        if let Some(c) = &mut self.csv {
            // field by field: a text value is written from where it is, not copied first
            for col in &self.cols {
                match r.get(col) {
                    None => c.write_field(b""),
                    Some(Value::Str(t)) if col != "_time" => c.write_field(t.as_bytes()),
                    Some(v) => c.write_field(cell(col, v, self.tz, true)),
                }
                .map_err(io_error)?;
            }
            c.write_record(None::<&[u8]>).map_err(io_error)?;
        } else if let Some(w) = &mut self.json {
            serde_json::to_writer(&mut **w, &json_row(r, &self.cols, self.tz))?;
            w.write_all(b"\n")?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        if let Some(c) = &mut self.csv {
            c.flush()?;
        }
        if let Some(w) = &mut self.json {
            w.flush()?;
        }
        Ok(())
    }
}

impl crate::plan::RowSink for Streamer<'_> {
    fn put(&mut self, ev: Event) -> crate::diag::Result<()> {
        self.total += 1;
        if self.shown >= self.limit {
            return Ok(());
        }
        self.shown += 1;
        match self.write(&ev) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Err(crate::diag::Diagnostic::new(OUTPUT_CLOSED))
            }
            Err(e) => Err(crate::diag::Diagnostic::new(format!(
                "cannot write output: {e}"
            ))),
        }
    }
}

pub struct Rendered {
    pub shown: usize,
    pub total: usize,
}

/// The error of `--format chart` for a result that is not a series.
pub fn not_a_series(cols: &[String]) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "the result is not a series, so it has no chart: a chart needs `_time` or a text category as \
             its first column, followed by columns of numbers (this result's columns: {})",
            if cols.is_empty() {
                "none".to_string()
            } else {
                cols.join(", ")
            }
        ),
    )
}

/// Height in lines of `--format chart`'s chart.
pub const CHART_HEIGHT: usize = 20;

/// Write rows in a format. `limit` caps the rows printed (the rows of an HTML page's table; a chart
/// draws every row).
pub fn render(
    w: &mut dyn Write,
    rows: &[Event],
    cols: &[String],
    format: Format,
    tz: Tz,
    limit: Option<usize>,
    width: Option<u16>,
) -> std::io::Result<Rendered> {
    render_titled(w, rows, cols, format, tz, limit, width, "")
}

/// [`render`], with the query text as the title of an HTML page.
#[allow(clippy::too_many_arguments)]
pub fn render_titled(
    w: &mut dyn Write,
    rows: &[Event],
    cols: &[String],
    format: Format,
    tz: Tz,
    limit: Option<usize>,
    width: Option<u16>,
    title: &str,
) -> std::io::Result<Rendered> {
    let shown = limit.unwrap_or(usize::MAX).min(rows.len());
    let rows_shown = &rows[..shown];
    match format {
        Format::Chart => {
            let s = crate::chart::series(rows, cols).ok_or_else(|| not_a_series(cols))?;
            let width = width.map_or(80, usize::from);
            let colour = console::colors_enabled()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            let text = if colour {
                crate::chart::terminal_colored(&s, width, CHART_HEIGHT, tz)
            } else {
                crate::chart::terminal(&s, width, CHART_HEIGHT, tz)
            };
            w.write_all(text.as_bytes())?;
            return Ok(Rendered {
                shown: rows.len(),
                total: rows.len(),
            });
        }
        Format::Html => {
            w.write_all(crate::chart::page(rows, cols, tz, title, shown).as_bytes())?;
        }
        Format::Csv => {
            if cols.is_empty() {
                return Ok(Rendered {
                    shown,
                    total: rows.len(),
                });
            }
            let mut wr = csv::Writer::from_writer(w);
            wr.write_record(cols).map_err(io_error)?;
            for r in rows_shown {
                wr.write_record(csv_record(r, cols, tz)).map_err(io_error)?;
            }
            wr.flush()?;
        }
        Format::Json => {
            for r in rows_shown {
                serde_json::to_writer(&mut *w, &json_row(r, cols, tz))?;
                w.write_all(b"\n")?;
            }
        }
        Format::Table => {
            let mut t = comfy_table::Table::new();
            t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
            if let Some(wd) = width {
                t.set_width(wd);
            }
            t.set_header(cols);
            for r in rows_shown {
                t.add_row(
                    cols.iter()
                        .map(|c| r.get(c).map(|v| cell(c, v, tz, false)).unwrap_or_default())
                        .collect::<Vec<_>>(),
                );
            }
            if !cols.is_empty() {
                writeln!(w, "{t}")?;
            }
        }
    }
    Ok(Rendered {
        shown,
        total: rows.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The field-by-field writing gives exactly the strftime patterns' text.
    #[test]
    fn times_written_plainly_are_what_strftime_writes() {
        let zones: Vec<Tz> = [
            "UTC",
            "America/New_York",
            "Asia/Kolkata",
            "Europe/Amsterdam",
            "Pacific/Chatham",
        ]
        .iter()
        .map(|z| z.parse().unwrap())
        .collect();
        // 1900 (Amsterdam's offset then was not whole minutes), a DST change, milliseconds, 9999
        let times = [
            -2208988800.0,
            0.0,
            1.5,
            1709288100.123,
            1710054000.0,
            1710057599.999,
            253402300799.0,
        ];
        for tz in &zones {
            for &t in &times {
                for iso in [true, false] {
                    let micros = (t * 1e6_f64).round() as i64;
                    let secs = micros.div_euclid(1_000_000);
                    let nanos = (micros.rem_euclid(1_000_000) * 1000) as u32;
                    let dt = tz.timestamp_opt(secs, nanos).earliest().unwrap();
                    let want = if iso {
                        dt.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
                    } else if nanos >= 1_000_000 {
                        dt.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
                    } else {
                        dt.format("%Y-%m-%d %H:%M:%S").to_string()
                    };
                    assert_eq!(format_time(t, *tz, iso), want, "{tz} {t} {iso}");
                }
            }
        }
    }

    #[test]
    fn time_renders_in_the_zone() {
        let tz: Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            format_time(1709288100.0, chrono_tz::UTC, true),
            "2024-03-01T10:15:00.000+00:00"
        );
        assert_eq!(
            format_time(1709288100.0, tz, true),
            "2024-03-01T05:15:00.000-05:00"
        );
        assert_eq!(
            format_time(1709288100.5, chrono_tz::UTC, false),
            "2024-03-01 10:15:00.500"
        );
    }

    #[test]
    fn csv_joins_multivalues_with_newlines() {
        let mut e = Event::new();
        e.set("a", Value::multi(vec!["x".into(), "y".into()]).unwrap());
        let mut out = Vec::new();
        render(
            &mut out,
            &[e],
            &["a".into(), "b".into()],
            Format::Csv,
            chrono_tz::UTC,
            None,
            None,
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a,b\n\"x\ny\",\n");
    }
}
