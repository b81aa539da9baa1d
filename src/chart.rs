//! Charts of a result that is a series: a line chart over `_time`, or a bar chart over categories.
//!
//! A result is a series ([`series`]) when its first column is `_time` (`timechart`, `bin _time` then
//! `stats ... by _time`) or holds text categories (`chart ... by f`, `stats ... by f`), and every other
//! column holds a number in each row where it has a value. Those other columns are the series, named by
//! their columns (`count`, or split-by values such as `AccessDenied`, `OTHER`, `NULL`).
//!
//! A missing value (no field, or empty text) is a missing point: it is not drawn — a gap in a line, no
//! bar — and the chart's footer counts them. Splunk's `timechart` fills its empty buckets with 0 itself,
//! so its results have none. Nothing is dropped silently: rows that share a terminal column are all drawn
//! in it (the column shows their range) and the footer says so; categories or series that do not fit are
//! named in the footer.
//!
//! [`terminal`] draws with plain characters (no escape codes); [`terminal_colored`] is the same chart
//! with ANSI colours. [`svg`] is the same chart as an SVG image and [`html`] a self-contained page with
//! the chart and the table of rows.

use crate::event::Event;
use crate::output::format_time;
use crate::value::{format_num, parse_num, Value};
use chrono_tz::Tz;
use std::fmt::Write as _;

/// The x axis of a series: times (epoch seconds, ascending) or category labels (in row order).
#[derive(Clone, Debug, PartialEq)]
pub enum Axis {
    Time(Vec<f64>),
    Categories(Vec<String>),
}

/// A result read as series: one x value per row and, per series, one value per row (`None`: missing).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The first column's name (`_time`, or the category field).
    pub x_name: String,
    pub x: Axis,
    /// The series' names: the other columns, in order.
    pub names: Vec<String>,
    /// `values[s][row]`: series `s` at row `row`.
    pub values: Vec<Vec<Option<f64>>>,
}

impl Series {
    /// The number of rows (points on the x axis).
    pub fn len(&self) -> usize {
        match &self.x {
            Axis::Time(t) => t.len(),
            Axis::Categories(c) => c.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_time(&self) -> bool {
        matches!(self.x, Axis::Time(_))
    }

    /// The smallest and largest value present, if any.
    fn range(&self) -> Option<(f64, f64)> {
        let mut it = self.values.iter().flatten().flatten().copied();
        let first = it.next()?;
        Some(it.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v))))
    }

    /// How many points are missing.
    fn missing(&self) -> usize {
        self.values.iter().flatten().filter(|v| v.is_none()).count()
    }
}

/// A series value: `Ok(None)` when missing (empty text), `Err` when not a finite number.
fn number(v: &Value) -> Result<Option<f64>, ()> {
    match v {
        Value::Num(n) if n.is_finite() => Ok(Some(*n)),
        Value::Str(s) if s.trim().is_empty() => Ok(None),
        Value::Str(s) => match parse_num(s) {
            Some(n) if n.is_finite() => Ok(Some(n)),
            _ => Err(()),
        },
        _ => Err(()),
    }
}

/// A category's label: its text, a multivalue's values joined by `, `.
fn category(v: Option<&Value>) -> String {
    match v {
        None => String::new(),
        Some(v) => v
            .values()
            .iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The result as series, or `None` when it is not one (see the module's documentation). A result with
/// no rows but a `_time` or category column and at least one more is an empty series.
pub fn series(rows: &[Event], cols: &[String]) -> Option<Series> {
    let (first, rest) = cols.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let mut values: Vec<Vec<Option<f64>>> = vec![Vec::with_capacity(rows.len()); rest.len()];
    for r in rows {
        for (s, c) in rest.iter().enumerate() {
            let v = match r.get(c) {
                None => None,
                Some(v) => number(v).ok()?,
            };
            values[s].push(v);
        }
    }
    let x = if first == "_time" {
        let times = rows
            .iter()
            .map(|r| match r.get("_time") {
                Some(v @ (Value::Num(_) | Value::Str(_))) => v.as_num().filter(|t| t.is_finite()),
                _ => None,
            })
            .collect::<Option<Vec<f64>>>()?;
        // drawn left to right in time order (a `stats ... by _time` is, a hand-made result may not be)
        let mut order: Vec<usize> = (0..times.len()).collect();
        order.sort_by(|&a, &b| times[a].total_cmp(&times[b]));
        for v in &mut values {
            *v = order.iter().map(|&i| v[i]).collect();
        }
        Axis::Time(order.iter().map(|&i| times[i]).collect())
    } else {
        // a category column holds text: a first column of numbers alone (`stats count, avg(x)`) is not one
        let text = rows
            .iter()
            .filter_map(|r| r.get(first))
            .any(|v| v.is_multi() || v.as_num().is_none());
        if !rows.is_empty() && !text {
            return None;
        }
        Axis::Categories(rows.iter().map(|r| category(r.get(first))).collect())
    };
    Some(Series {
        x_name: first.clone(),
        x,
        names: rest.to_vec(),
        values,
    })
}

/// The marker of each series in a terminal line chart (`#` marks a cell where several series meet).
const MARKERS: &[char] = &[
    '*', '+', 'o', 'x', '@', '%', '&', '=', '~', '$', '^', '?', 'a', 'b', 'c', 'd', 'e', 'f', 'g',
    'h', 'i', 'j', 'k', 'm', 'n', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'y', 'z', 'A', 'B', 'C',
    'D', 'E', 'F', 'G', 'H', 'J', 'K', 'L', 'M', 'N', 'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X',
    'Y', 'Z',
];
const SEVERAL: char = '#';
/// ANSI foreground colours, one per series (cycled).
const ANSI: &[u8] = &[32, 33, 34, 35, 36, 31, 92, 93, 94, 95, 96, 91];
/// Eighths of a cell, bottom up, for bar tops.
const EIGHTHS: [char; 8] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇'];
const FULL: char = '█';
/// Terminal charts are drawn at most this wide and tall (a larger `width`/`height` still fits).
const MAX_WIDTH: usize = 1000;
const MAX_HEIGHT: usize = 400;

/// The chart of `s` for a terminal `width` columns wide and `height` lines tall, without escape codes.
/// A line chart over `_time`, a bar chart over categories; when it cannot be drawn in that size (under
/// 20 columns or 8 lines, or no values), a short message instead. Never wider or taller than asked.
pub fn terminal(s: &Series, width: usize, height: usize, tz: Tz) -> String {
    draw(s, width, height, tz, false)
}

/// [`terminal`]'s chart with each series in its own ANSI colour.
pub fn terminal_colored(s: &Series, width: usize, height: usize, tz: Tz) -> String {
    draw(s, width, height, tz, true)
}

/// Text cut to `w` columns (with `…` when cut).
fn fit(text: &str, w: usize) -> String {
    if console::measure_text_width(text) <= w {
        text.to_string()
    } else if w == 0 {
        String::new()
    } else {
        console::truncate_str(text, w, "…").into_owned()
    }
}

fn width_of(text: &str) -> usize {
    console::measure_text_width(text)
}

/// A one-line message in place of a chart (cut to the width; nothing when there is no room at all).
fn message(text: &str, width: usize, height: usize) -> String {
    if height == 0 || width == 0 {
        return String::new();
    }
    let mut m = fit(text, width);
    m.push('\n');
    m
}

/// One grid cell: a character and the series that colours it.
#[derive(Clone, Copy)]
struct Cell {
    ch: char,
    series: Option<usize>,
}

const BLANK: Cell = Cell {
    ch: ' ',
    series: None,
};

fn paint(text: &str, series: Option<usize>, color: bool) -> String {
    match (series, color) {
        (Some(s), true) => format!("\x1b[{}m{text}\x1b[0m", ANSI[s % ANSI.len()]),
        _ => text.to_string(),
    }
}

/// Entries (plain text, series to colour the first character with) laid out in lines of `width`.
fn wrap(entries: &[(String, Option<usize>)], width: usize, color: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let (mut line, mut used) = (String::new(), 0);
    for (text, series) in entries {
        let text = fit(text, width);
        let w = width_of(&text);
        if used > 0 && used + 2 + w > width {
            lines.push(std::mem::take(&mut line));
            used = 0;
        }
        if used > 0 {
            line.push_str("  ");
            used += 2;
        }
        let mut chars = text.chars();
        if let Some(c) = chars.next() {
            line.push_str(&paint(&c.to_string(), *series, color));
            line.push_str(chars.as_str());
        }
        used += w;
    }
    if used > 0 {
        lines.push(line);
    }
    lines
}

/// A tick value's label, rounded to the precision the axis span calls for.
fn tick_label(v: f64, span: f64) -> String {
    let digits = if span > 0.0 {
        (2.0 - span.log10().floor()).clamp(0.0, 12.0) as usize
    } else {
        0
    };
    let mut t = format!("{v:.digits$}");
    if t.contains('.') {
        t = t.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    if t == "-0" {
        t = "0".into();
    }
    t
}

/// Where `v` lies between `lo` and `hi`, 0 to 1 (halved first, so that no difference overflows).
fn frac(v: f64, lo: f64, hi: f64) -> f64 {
    let span = hi / 2.0 - lo / 2.0;
    let f = (v / 2.0 - lo / 2.0) / span;
    if f.is_nan() {
        0.0
    } else {
        f.clamp(0.0, 1.0)
    }
}

/// The value axis: from the smaller of 0 and the data's minimum to the larger of 0 and its maximum.
fn value_range(s: &Series) -> Option<(f64, f64)> {
    let (min, max) = s.range()?;
    let (lo, hi) = (min.min(0.0), max.max(0.0));
    Some(if hi > lo { (lo, hi) } else { (lo, lo + 1.0) })
}

/// The most intervals the value axis is cut into.
const MAX_TICKS: usize = 8;

/// The value `k/n` of the way down from `hi` to `lo` (in halves, so that nothing overflows).
fn between(lo: f64, hi: f64, k: usize, n: usize) -> f64 {
    if k == 0 {
        return hi;
    }
    if k >= n {
        return lo;
    }
    let x = (hi / 2.0 - lo / 2.0) * (k as f64 / n as f64);
    (hi / 2.0 - x) * 2.0
}

/// The text of the value axis' `k`th of `n` labels: exact for `lo` and `hi`, rounded between.
fn value_text(lo: f64, hi: f64, k: usize, n: usize) -> String {
    if k == 0 {
        format_num(hi)
    } else if k >= n {
        format_num(lo)
    } else {
        tick_label(between(lo, hi, k, n), (hi / 2.0 - lo / 2.0) * 2.0)
    }
}

/// How many intervals the SVG value axis is cut into: the most, up to [`MAX_TICKS`], whose step is a
/// round number (1, 2, 2.5 or 5 times a power of ten: 0 to 6 in steps of 1), else 5.
fn svg_ticks(lo: f64, hi: f64) -> usize {
    let round = |step: f64| {
        let p = 10f64.powf(step.log10().floor());
        [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .any(|m| ((step / p) - m).abs() < 1e-9)
    };
    (2..=MAX_TICKS)
        .rev()
        .find(|&k| {
            let step = (hi - lo) / k as f64;
            step.is_finite() && step > 0.0 && round(step)
        })
        .unwrap_or(5)
}

/// The widest value label any height gives.
fn value_label_width(lo: f64, hi: f64) -> usize {
    (1..=MAX_TICKS)
        .flat_map(|n| (0..=n).map(move |k| width_of(&value_text(lo, hi, k, n))))
        .max()
        .unwrap_or(1)
}

/// The plot's rows for at most `avail` of them, and the intervals of its value axis: the axis runs over
/// `rows - 1` row steps (`rows` for a bar chart, whose axis line is its `lo`), cut into intervals of 3
/// to 5 rows each so that every label lies exactly on its row (a row or few may be given up for that).
fn plot_rows(avail: usize, bottom_edge: bool) -> (usize, usize) {
    let extra = usize::from(!bottom_edge);
    let steps = avail.saturating_sub(extra).max(1);
    for last in (steps.saturating_sub(4).max(1)..=steps).rev() {
        for step in [4, 5, 3] {
            if last % step == 0 && last / step <= MAX_TICKS {
                return (last + extra, last / step);
            }
        }
    }
    (steps + extra, 1)
}

/// The labels of the value axis (row 0 at the top is `hi`) over `rows` rows in `n` intervals (see
/// [`plot_rows`]); with `bottom_edge`, `lo` is on the row below the last, the axis line.
fn value_labels(
    lo: f64,
    hi: f64,
    rows: usize,
    n: usize,
    bottom_edge: bool,
) -> Vec<(usize, String)> {
    let last = if bottom_edge {
        rows
    } else {
        rows.saturating_sub(1)
    };
    let n = n.max(1);
    (0..=n)
        .map(|k| (k * last / n, value_text(lo, hi, k, n)))
        .collect()
}

fn draw(s: &Series, width: usize, height: usize, tz: Tz, color: bool) -> String {
    let width = width.min(MAX_WIDTH);
    let height = height.min(MAX_HEIGHT);
    if width < 20 {
        return message("chart: needs 20+ columns", width, height);
    }
    if height < 8 {
        return message("chart: needs 8+ lines", width, height);
    }
    if s.names.is_empty() {
        return message("chart: no series", width, height);
    }
    if s.is_empty() {
        return message(
            &format!("chart: no rows (series: {})", s.names.join(", ")),
            width,
            height,
        );
    }
    let Some((lo, hi)) = value_range(s) else {
        return message(
            "chart: every value is missing: nothing to draw",
            width,
            height,
        );
    };
    match &s.x {
        Axis::Time(times) => line_chart(s, times, lo, hi, width, height, tz, color),
        Axis::Categories(cats) => bar_chart(s, cats, lo, hi, width, height, color),
    }
}

/// Rows of the plot with the value axis at their left, then the axis line (`axis_label` at its left).
#[allow(clippy::too_many_arguments)]
fn framed(
    grid: &[Vec<Cell>],
    labels: &[(usize, String)],
    label_w: usize,
    axis_label: &str,
    ticks: &[usize],
    plot_w: usize,
    color: bool,
    out: &mut Vec<String>,
) {
    for (r, row) in grid.iter().enumerate() {
        let label = labels
            .iter()
            .find(|(lr, _)| *lr == r)
            .map(|(_, t)| t.as_str());
        let mut line = format!(
            "{:>label_w$} {}",
            label.unwrap_or(""),
            if label.is_some() { '┤' } else { '│' }
        );
        let mut run = String::new();
        let mut run_series = None;
        for c in row {
            if c.series != run_series {
                line.push_str(&paint(&run, run_series, color));
                run.clear();
                run_series = c.series;
            }
            run.push(c.ch);
        }
        line.push_str(&paint(&run, run_series, color));
        out.push(line.trim_end().to_string());
    }
    let mut axis = format!("{axis_label:>label_w$} └");
    for c in 0..plot_w {
        axis.push(if ticks.contains(&c) { '┬' } else { '─' });
    }
    out.push(axis);
}

#[allow(clippy::too_many_arguments)]
fn line_chart(
    s: &Series,
    times: &[f64],
    lo: f64,
    hi: f64,
    width: usize,
    height: usize,
    tz: Tz,
    color: bool,
) -> String {
    let drawn = s.names.len().min(MARKERS.len());
    let mut notes = Vec::new();
    if drawn < s.names.len() {
        notes.push(format!(
            "first {drawn} of {} series drawn (no more markers)",
            s.names.len()
        ));
    }
    let missing = s.missing();
    if missing > 0 {
        notes.push(format!(
            "{missing} missing value{} not drawn (gaps)",
            plural(missing)
        ));
    }
    let label_w = value_label_width(lo, hi);
    if label_w + 2 + 10 > width {
        return message("chart: too narrow for the value labels", width, height);
    }
    let plot_w = width - label_w - 2;
    let (t0, t1) = (times[0], times[times.len() - 1]);
    let col = |t: f64| -> usize {
        if t1 > t0 {
            (frac(t, t0, t1) * (plot_w - 1) as f64).round() as usize
        } else {
            0
        }
    };
    let cols: Vec<usize> = times.iter().map(|&t| col(t)).collect();
    let distinct = {
        let mut d = cols.clone();
        d.dedup();
        d.len()
    };
    if distinct < times.len() {
        notes.push(format!(
            "{} rows in {distinct} columns: a column shows every point in it",
            times.len()
        ));
    }
    // legend: each drawn series' marker; `#` for cells several series share, when there are any
    let mut legend: Vec<(String, Option<usize>)> = (0..drawn)
        .map(|i| (format!("{} {}", MARKERS[i], s.names[i]), Some(i)))
        .collect();
    let legend_w = width;
    let notes_lines = wrap(
        &notes.iter().map(|n| (n.clone(), None)).collect::<Vec<_>>(),
        width,
        false,
    );
    // the several-series entry may add one line to the legend: count it in, whether or not it shows
    let mut with_several = legend.clone();
    with_several.push((format!("{SEVERAL} several series"), None));
    let legend_lines = wrap(&with_several, legend_w, false).len();
    let fixed = 2 + legend_lines + notes_lines.len();
    if fixed + 3 > height {
        return message("chart: too short for the legend", width, height);
    }
    let (plot_h, intervals) = plot_rows(height - fixed, false);
    let labels = value_labels(lo, hi, plot_h, intervals, false);
    let row =
        |v: f64| -> usize { plot_h - 1 - (frac(v, lo, hi) * (plot_h - 1) as f64).round() as usize };

    let mut grid = vec![vec![BLANK; plot_w]; plot_h];
    // guide lines between neighbouring points of a series first, then the points over them
    for (si, vals) in s.values.iter().take(drawn).enumerate() {
        for i in 1..vals.len() {
            if let (Some(a), Some(b)) = (vals[i - 1], vals[i]) {
                let (c0, r0, c1, r1) = (cols[i - 1], row(a), cols[i], row(b));
                // a dot per column (a column's own points are joined top to bottom)
                let steps = if c1 > c0 { c1 - c0 } else { r1.abs_diff(r0) };
                for k in 1..steps {
                    let f = k as f64 / steps as f64;
                    let c = (c0 as f64 + (c1 as f64 - c0 as f64) * f).round() as usize;
                    let r = (r0 as f64 + (r1 as f64 - r0 as f64) * f).round() as usize;
                    let cell = &mut grid[r.min(plot_h - 1)][c.min(plot_w - 1)];
                    if cell.ch == ' ' {
                        *cell = Cell {
                            ch: '·',
                            series: Some(si),
                        };
                    }
                }
            }
        }
    }
    let mut owner: Vec<Vec<Option<usize>>> = vec![vec![None; plot_w]; plot_h];
    let mut several = false;
    for (si, vals) in s.values.iter().take(drawn).enumerate() {
        for (i, v) in vals.iter().enumerate() {
            let Some(v) = v else { continue };
            let (r, c) = (row(*v), cols[i]);
            match owner[r][c] {
                Some(o) if o != si => {
                    several = true;
                    grid[r][c] = Cell {
                        ch: SEVERAL,
                        series: None,
                    };
                }
                Some(_) => {}
                None => {
                    owner[r][c] = Some(si);
                    grid[r][c] = Cell {
                        ch: MARKERS[si],
                        series: Some(si),
                    };
                }
            }
        }
    }
    if several {
        legend.push((format!("{SEVERAL} several series"), None));
    }

    // time labels at points, none overlapping: the last one first, then from the left
    let texts: Vec<String> = times.iter().map(|&t| format_time(t, tz, false)).collect();
    let mut placed: Vec<(usize, usize, usize)> = Vec::new(); // (start, end, row)
    let span = |i: usize| -> (usize, usize) {
        let w = width_of(&texts[i]).min(plot_w);
        let start = cols[i].min(plot_w - w);
        (start, start + w)
    };
    let last = times.len() - 1;
    let order = std::iter::once(last).chain(0..last);
    for i in order {
        let (a, b) = span(i);
        if placed.iter().all(|&(pa, pb, _)| b + 2 <= pa || pb + 2 <= a) {
            placed.push((a, b, i));
        }
    }
    placed.sort();
    let mut xline = " ".repeat(label_w + 2);
    let mut at = 0;
    let mut ticks = Vec::new();
    for &(a, b, i) in &placed {
        xline.push_str(&" ".repeat(a - at));
        xline.push_str(&fit(&texts[i], b - a));
        at = b;
        ticks.push(cols[i]);
    }

    let mut out = Vec::new();
    framed(&grid, &labels, label_w, "", &ticks, plot_w, color, &mut out);
    out.push(xline.trim_end().to_string());
    out.extend(wrap(&legend, legend_w, color));
    out.extend(notes_lines);
    finish(out)
}

fn finish(lines: Vec<String>) -> String {
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn digits(n: usize) -> usize {
    n.max(1).ilog10() as usize + 1
}

fn shown_label(c: &str) -> &str {
    if c.is_empty() {
        "(empty)"
    } else {
        c
    }
}

fn bar_chart(
    s: &Series,
    cats: &[String],
    lo: f64,
    hi: f64,
    width: usize,
    height: usize,
    color: bool,
) -> String {
    // the axis' ends move to put zero on a row boundary: their labels may be wider than guessed
    let mut label_w = value_label_width(lo, hi);
    for _ in 0..3 {
        match bar_layout(s, cats, lo, hi, width, height, color, label_w) {
            Ok(text) => return text,
            Err(w) => label_w = w,
        }
    }
    message("chart: no room for the value labels", width, height)
}

/// [`bar_chart`] with value labels `label_w` wide; `Err` with the width they need when it is more.
#[allow(clippy::too_many_arguments)]
fn bar_layout(
    s: &Series,
    cats: &[String],
    lo: f64,
    hi: f64,
    width: usize,
    height: usize,
    color: bool,
    label_w: usize,
) -> Result<String, usize> {
    let nser = s.names.len();
    if label_w + 2 + 10 > width {
        return Ok(message(
            "chart: too narrow for the value labels",
            width,
            height,
        ));
    }
    let plot_w = width - label_w - 2;
    if nser + 1 > plot_w {
        return Ok(message(
            &format!("chart: {nser} series need more than {width} columns"),
            width,
            height,
        ));
    }
    // categories shown: as many as fit, each a group of one bar per series and a gap
    let mut shown = cats.len().min(plot_w / (nser + 1));
    let mut bar_w = ((plot_w / shown - 1) / nser).clamp(1, 8);
    let mut slot = bar_w * nser + 1;
    let direct = cats[..shown]
        .iter()
        .all(|c| width_of(shown_label(c)) < slot);
    if !direct && digits(shown) >= slot {
        // numbered groups: room for each number
        slot = digits(shown).max(bar_w * nser) + 1;
        shown = shown.min(plot_w / slot).max(1);
        bar_w = ((slot - 1) / nser).clamp(1, 8);
    }
    let mut notes = Vec::new();
    if shown < cats.len() {
        notes.push(format!(
            "first {shown} of {} categories shown (no room for more in {width} columns)",
            cats.len()
        ));
    }
    let missing = s
        .values
        .iter()
        .map(|v| v[..shown].iter().filter(|x| x.is_none()).count())
        .sum::<usize>();
    if missing > 0 {
        notes.push(format!(
            "{missing} missing value{}: no bar",
            plural(missing)
        ));
    }
    let key: Vec<(String, Option<usize>)> = if direct {
        Vec::new()
    } else {
        cats[..shown]
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("{} {}", i + 1, shown_label(c)), None))
            .collect()
    };
    let key_lines = wrap(&key, width, false);
    let mut legend: Vec<(String, Option<usize>)> = Vec::new();
    if nser > 1 {
        legend.push(("bars left to right:".to_string(), None));
    }
    legend.extend(
        s.names
            .iter()
            .enumerate()
            .map(|(i, n)| (format!("{FULL} {n}"), Some(i))),
    );
    let legend_lines = wrap(&legend, width, color);
    let notes_lines = wrap(
        &notes.iter().map(|n| (n.clone(), None)).collect::<Vec<_>>(),
        width,
        false,
    );
    let fixed = 2 + key_lines.len() + legend_lines.len() + notes_lines.len();
    if fixed + 3 > height {
        return Ok(message("chart: too short for the legend", width, height));
    }
    let (plot_h, intervals) = plot_rows(height - fixed, true);
    // the zero line on a row boundary, `below` rows under it, each row `unit` of value: bars of equal
    // size are then equally long on either side of zero
    let Some((below, unit)) = zero_rows(lo, hi, plot_h) else {
        return Ok(message(
            "chart: values too large to draw as bars",
            width,
            height,
        ));
    };
    let (lo, hi) = (-(below as f64) * unit, (plot_h - below) as f64 * unit);
    let axis_label = format_num(lo);
    let labels = value_labels(lo, hi, plot_h, intervals, true);
    let need = labels
        .iter()
        .map(|(_, t)| width_of(t))
        .chain([width_of(&axis_label)])
        .max()
        .unwrap_or(1);
    if need > label_w {
        return Err(need);
    }
    let mut grid = vec![vec![BLANK; plot_w]; plot_h];
    for ci in 0..shown {
        for (si, vals) in s.values.iter().enumerate() {
            let Some(v) = vals[ci] else { continue };
            let x0 = ci * slot + si * bar_w;
            // the bar's length in rows
            let rows = (v.abs() / unit).min(plot_h as f64);
            let mut fill = |row_from_bottom: usize, ch: char| {
                if row_from_bottom < plot_h {
                    let line = &mut grid[plot_h - 1 - row_from_bottom];
                    for cell in &mut line[x0.min(plot_w)..(x0 + bar_w).min(plot_w)] {
                        *cell = Cell {
                            ch,
                            series: Some(si),
                        };
                    }
                }
            };
            // up from zero in eighths of a row; down in halves (a block's top half is the finest)
            if v > 0.0 {
                let eighths = ((rows * 8.0).round() as usize).clamp(1, (plot_h - below) * 8);
                for k in 0..eighths / 8 {
                    fill(below + k, FULL);
                }
                if !eighths.is_multiple_of(8) {
                    fill(below + eighths / 8, EIGHTHS[eighths % 8]);
                }
            } else if v < 0.0 {
                let halves = ((rows * 2.0).round() as usize).clamp(1, below * 2);
                for k in 0..halves / 2 {
                    fill(below - 1 - k, FULL);
                }
                if halves % 2 == 1 {
                    fill(below - 1 - halves / 2, '▀');
                }
            }
        }
    }
    let mut xline = " ".repeat(label_w + 2);
    for (i, c) in cats[..shown].iter().enumerate() {
        let text = if direct {
            shown_label(c).to_string()
        } else {
            (i + 1).to_string()
        };
        let text = fit(&text, slot - 1);
        let w = width_of(&text);
        xline.push_str(&text);
        xline.push_str(&" ".repeat(slot - w));
    }
    let labels: Vec<(usize, String)> = labels.into_iter().filter(|(r, _)| *r < plot_h).collect();
    let mut out = Vec::new();
    framed(
        &grid,
        &labels,
        label_w,
        &axis_label,
        &[],
        plot_w,
        color,
        &mut out,
    );
    out.push(xline.trim_end().to_string());
    out.extend(key_lines);
    out.extend(legend_lines);
    out.extend(notes_lines);
    Ok(finish(out))
}

/// How many of `rows` rows lie below zero, and the value of one row, for an axis from `lo` (≤ 0) to
/// `hi` (≥ 0, above `lo`) that puts zero on a row boundary with the smallest row value; `None` when an
/// end would not be a finite number.
fn zero_rows(lo: f64, hi: f64, rows: usize) -> Option<(usize, f64)> {
    let best = if lo >= 0.0 {
        (0, hi / rows as f64)
    } else if hi <= 0.0 {
        (rows, -lo / rows as f64)
    } else {
        (1..rows)
            .map(|below| (below, (-lo / below as f64).max(hi / (rows - below) as f64)))
            .min_by(|a, b| a.1.total_cmp(&b.1))?
    };
    let ends = [best.0 as f64 * best.1, (rows - best.0) as f64 * best.1];
    (best.1 > 0.0 && best.1.is_finite() && ends.iter().all(|e| e.is_finite())).then_some(best)
}

/// Series colours in the SVG chart (after the tenth, repeated with dashes).
const PALETTE: &[&str] = &[
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];
const DASHES: &[&str] = &["", "6 3", "2 2", "8 3 2 3"];

fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

fn dash(i: usize) -> &'static str {
    DASHES[(i / PALETTE.len()) % DASHES.len()]
}

/// Text escaped for XML and HTML (content and attribute values).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Estimated width in pixels of text in the chart's 12px font.
fn px(text: &str) -> f64 {
    width_of(text) as f64 * 7.0
}

/// A number as an SVG coordinate.
fn n(v: f64) -> String {
    format!("{:.1}", if v.is_finite() { v } else { 0.0 })
}

/// The chart of `s` as a standalone SVG image (with its namespace; no external references).
pub fn svg(s: &Series, tz: Tz) -> String {
    svg_chart(s, tz, true)
}

fn svg_chart(s: &Series, tz: Tz, namespace: bool) -> String {
    let (lo, hi) = value_range(s).unwrap_or((0.0, 1.0));
    let label_w = value_label_width(lo, hi);
    let left = 16.0 + label_w as f64 * 7.0;
    let top = 16.0;
    let plot_h = 300.0;
    let count = s.len();
    let nser = s.names.len().max(1);
    // bars: a slot per category, wide enough for one bar of 2px or more per series
    let (plot_w, slot) = match &s.x {
        Axis::Time(_) => (760.0, 0.0),
        Axis::Categories(_) => {
            let min_slot = (nser * 2 + 4) as f64;
            let fit = 760.0 / count.max(1) as f64;
            if fit >= min_slot {
                (760.0, fit)
            } else {
                (min_slot * count as f64, min_slot)
            }
        }
    };
    let y = |v: f64| top + plot_h * (1.0 - frac(v, lo, hi));
    let mut body = String::new();
    let mut bottom = top + plot_h + 24.0;
    // value axis
    let _ = write!(
        body,
        r##"<g class="axis"><line x1="{l}" y1="{t}" x2="{l}" y2="{b}" stroke="#333"/><line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#333"/>"##,
        l = n(left),
        t = n(top),
        b = n(top + plot_h),
        r = n(left + plot_w),
    );
    let ticks = svg_ticks(lo, hi);
    for k in 0..=ticks {
        let v = between(lo, hi, k, ticks);
        let yy = y(v);
        let _ = write!(
            body,
            r##"<line x1="{a}" y1="{yy}" x2="{l}" y2="{yy}" stroke="#333"/><line x1="{l}" y1="{yy}" x2="{r}" y2="{yy}" stroke="#ddd"/><text x="{tx}" y="{ty}" text-anchor="end">{t}</text>"##,
            a = n(left - 4.0),
            l = n(left),
            r = n(left + plot_w),
            yy = n(yy),
            tx = n(left - 6.0),
            ty = n(yy + 4.0),
            t = escape(&value_text(lo, hi, k, ticks)),
        );
    }
    body.push_str("</g>");
    let mut notes = Vec::new();
    let missing = s.missing();
    if missing > 0 {
        notes.push(format!(
            "{missing} missing value{} not drawn",
            plural(missing)
        ));
    }
    if count == 0 {
        notes.push("no rows".to_string());
    }
    match &s.x {
        Axis::Time(times) if count > 0 => {
            let (t0, t1) = (times[0], times[count - 1]);
            let x = |t: f64| {
                if t1 > t0 {
                    left + plot_w * frac(t, t0, t1)
                } else {
                    left + plot_w / 2.0
                }
            };
            // time labels at points, none overlapping: the last one first, then from the left
            let mut placed: Vec<(f64, f64, usize)> = Vec::new();
            let texts: Vec<String> = times.iter().map(|&t| format_time(t, tz, false)).collect();
            for i in std::iter::once(count - 1).chain(0..count - 1) {
                let w = px(&texts[i]);
                let a = (x(times[i]) - w / 2.0).clamp(0.0, (left + plot_w + 20.0 - w).max(0.0));
                let b = a + w;
                if placed
                    .iter()
                    .all(|&(pa, pb, _)| b + 12.0 <= pa || pb + 12.0 <= a)
                {
                    placed.push((a, b, i));
                }
            }
            body.push_str(r#"<g class="x">"#);
            for &(a, b, i) in &placed {
                let xx = x(times[i]);
                let _ = write!(
                    body,
                    r##"<line x1="{xx}" y1="{b0}" x2="{xx}" y2="{b1}" stroke="#333"/><text x="{c}" y="{ty}" text-anchor="middle">{t}</text>"##,
                    xx = n(xx),
                    b0 = n(top + plot_h),
                    b1 = n(top + plot_h + 4.0),
                    c = n((a + b) / 2.0),
                    ty = n(top + plot_h + 18.0),
                    t = escape(&texts[i]),
                );
            }
            body.push_str("</g>");
            for (si, vals) in s.values.iter().enumerate() {
                let _ = write!(
                    body,
                    r#"<g class="series" stroke="{c}" fill="{c}"><title>{name}</title>"#,
                    c = colour(si),
                    name = escape(&s.names[si]),
                );
                // one polyline per run of present values; points as dots when few, or alone
                let mut run: Vec<usize> = Vec::new();
                let mut runs: Vec<Vec<usize>> = Vec::new();
                for (i, v) in vals.iter().enumerate() {
                    if v.is_some() {
                        run.push(i);
                    } else if !run.is_empty() {
                        runs.push(std::mem::take(&mut run));
                    }
                }
                if !run.is_empty() {
                    runs.push(run);
                }
                for r in &runs {
                    if r.len() > 1 {
                        let pts: Vec<String> = r
                            .iter()
                            .map(|&i| {
                                format!("{},{}", n(x(times[i])), n(y(vals[i].unwrap_or(0.0))))
                            })
                            .collect();
                        let d = dash(si);
                        let _ = write!(
                            body,
                            r#"<polyline fill="none" stroke-width="2"{} points="{}"/>"#,
                            if d.is_empty() {
                                String::new()
                            } else {
                                format!(r#" stroke-dasharray="{d}""#)
                            },
                            pts.join(" ")
                        );
                    }
                    if r.len() == 1 || count <= 60 {
                        for &i in r {
                            let _ = write!(
                                body,
                                r#"<circle cx="{}" cy="{}" r="2.5"/>"#,
                                n(x(times[i])),
                                n(y(vals[i].unwrap_or(0.0)))
                            );
                        }
                    }
                }
                body.push_str("</g>");
            }
        }
        Axis::Categories(cats) if count > 0 => {
            let bar = ((slot - 4.0) / nser as f64).min(40.0);
            let group = bar * nser as f64;
            let zero = y(0.0);
            for (si, vals) in s.values.iter().enumerate() {
                let _ = write!(
                    body,
                    r#"<g class="series" fill="{}"><title>{}</title>"#,
                    colour(si),
                    escape(&s.names[si])
                );
                for (ci, v) in vals.iter().enumerate() {
                    let Some(v) = v else { continue };
                    let x0 = left + ci as f64 * slot + (slot - group) / 2.0 + si as f64 * bar;
                    let (a, b) = (y(*v).min(zero), y(*v).max(zero));
                    let _ = write!(
                        body,
                        r#"<rect x="{}" y="{}" width="{}" height="{}"><title>{}: {}</title></rect>"#,
                        n(x0),
                        n(a),
                        n(bar),
                        n(b - a),
                        escape(shown_label(&cats[ci])),
                        escape(&format_num(*v))
                    );
                }
                body.push_str("</g>");
            }
            // category labels: level when they fit their slot, else turned; long ones cut (in full on hover)
            let longest = cats.iter().map(|c| px(shown_label(c))).fold(0.0, f64::max);
            let turned = longest > slot - 4.0;
            let cut = |c: &str| fit(shown_label(c), 40);
            body.push_str(r#"<g class="x">"#);
            for (ci, c) in cats.iter().enumerate() {
                let cx = left + (ci as f64 + 0.5) * slot;
                let ty = top + plot_h + 16.0;
                if turned {
                    let _ = write!(
                        body,
                        r#"<text x="{x}" y="{y}" text-anchor="end" transform="rotate(-45 {x} {y})"><title>{full}</title>{t}</text>"#,
                        x = n(cx),
                        y = n(ty - 6.0),
                        full = escape(shown_label(c)),
                        t = escape(&cut(c)),
                    );
                } else {
                    let _ = write!(
                        body,
                        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
                        n(cx),
                        n(ty),
                        escape(shown_label(c))
                    );
                }
            }
            body.push_str("</g>");
            if turned {
                let l = cats.iter().map(|c| px(&cut(c))).fold(0.0, f64::max);
                bottom = top + plot_h + 12.0 + l * 0.72;
            }
        }
        _ => {}
    }
    // legend, then notes
    let total_w = left + plot_w + 24.0;
    let mut lx = left;
    let mut ly = bottom + 12.0;
    body.push_str(r#"<g class="legend">"#);
    for (si, name) in s.names.iter().enumerate() {
        let w = 22.0 + px(name) + 16.0;
        if lx > left && lx + w > total_w {
            lx = left;
            ly += 18.0;
        }
        let d = dash(si);
        let _ = write!(
            body,
            r#"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{c}" stroke-width="{sw}"{da}/><text x="{}" y="{ty}">{}</text>"#,
            n(lx),
            n(lx + 16.0),
            n(lx + 21.0),
            escape(name),
            y = n(ly - 4.0),
            ty = n(ly),
            c = colour(si),
            sw = if s.is_time() { 2 } else { 8 },
            da = if d.is_empty() {
                String::new()
            } else {
                format!(r#" stroke-dasharray="{d}""#)
            },
        );
        lx += w;
    }
    body.push_str("</g>");
    for note in &notes {
        ly += 18.0;
        let _ = write!(
            body,
            r##"<text class="note" x="{}" y="{}" fill="#555">{}</text>"##,
            n(left),
            n(ly),
            escape(note)
        );
    }
    let total_h = ly + 12.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg{} width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12" role="img"><title>{}</title>"#,
        if namespace {
            r#" xmlns="http://www.w3.org/2000/svg""#
        } else {
            ""
        },
        escape(&format!(
            "{} by {}",
            s.names.join(", "),
            if s.x_name == "_time" {
                "time"
            } else {
                &s.x_name
            }
        )),
        w = n(total_w),
        h = n(total_h),
    );
    out.push_str(&body);
    out.push_str("</svg>");
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}\
h1{font-size:1em;font-family:monospace;white-space:pre-wrap;word-break:break-word;background:#f4f4f4;padding:.6em;border-radius:4px}\
figure{margin:1em 0;overflow-x:auto}\
p.count{color:#555;font-size:.9em}\
table{border-collapse:collapse;font-size:.85em}\
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top;white-space:pre-wrap}\
td.time{white-space:nowrap}\
th{background:#eee;position:sticky;top:0}\
tr:nth-child(even) td{background:#fafafa}";

/// A self-contained HTML page of a result: the query (`title`) as its heading, the chart first when the
/// result is a series, then the table of every row (`_time` as in CSV output, a multivalue's values
/// one per line). No scripts, links or anything fetched.
pub fn html(rows: &[Event], cols: &[String], tz: Tz, title: &str) -> String {
    page(rows, cols, tz, title, rows.len())
}

/// [`html`] with the table cut to its first `shown` rows (the chart still draws every row) and a line
/// saying so.
pub fn page(rows: &[Event], cols: &[String], tz: Tz, title: &str, shown: usize) -> String {
    let shown = shown.min(rows.len());
    let mut out = String::new();
    let t = escape(title);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n",
        if t.is_empty() { "spelunk results".to_string() } else { t.replace('\n', " ") }
    );
    if let Some(s) = series(rows, cols) {
        out.push_str("<figure>");
        out.push_str(&svg_chart(&s, tz, false));
        out.push_str("</figure>\n");
    }
    let _ = writeln!(
        out,
        "<p class=\"count\">{} row{}{}</p>",
        rows.len(),
        plural(rows.len()),
        if shown < rows.len() {
            format!(", the first {shown} in the table (--limit)")
        } else {
            String::new()
        }
    );
    out.push_str("<table>\n<thead><tr>");
    for c in cols {
        let _ = write!(out, "<th>{}</th>", escape(c));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in &rows[..shown] {
        out.push_str("<tr>");
        for c in cols {
            // a time is not broken across lines
            out.push_str(if c == "_time" {
                "<td class=\"time\">"
            } else {
                "<td>"
            });
            if let Some(v) = r.get(c) {
                let parts: Vec<String> = v
                    .values()
                    .iter()
                    .map(|x| match x.as_num() {
                        Some(t) if c == "_time" => format_time(t, tz, true),
                        _ => x.to_string(),
                    })
                    .map(|x| escape(&x))
                    .collect();
                out.push_str(&parts.join("<br>"));
            }
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(fields: &[(&str, &str)]) -> Event {
        let mut e = Event::new();
        for (k, v) in fields {
            e.set(*k, Value::str(v));
        }
        e
    }

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// A timechart's shape: `_time`, then one column per split-by value.
    fn timechart() -> (Vec<Event>, Vec<String>) {
        let c = cols(&["_time", "AccessDenied", "OTHER", "NULL"]);
        let rows = vec![
            row(&[
                ("_time", "1709251200"),
                ("AccessDenied", "3"),
                ("OTHER", "0"),
                ("NULL", "1"),
            ]),
            row(&[
                ("_time", "1709337600"),
                ("AccessDenied", "37"),
                ("OTHER", "2"),
                ("NULL", "0"),
            ]),
            row(&[
                ("_time", "1709424000"),
                ("AccessDenied", "12"),
                ("OTHER", "5"),
                ("NULL", "4"),
            ]),
        ];
        (rows, c)
    }

    fn widths_ok(text: &str, width: usize, height: usize) {
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines.len() <= height,
            "{} lines > {height}:\n{text}",
            lines.len()
        );
        for l in &lines {
            assert!(
                width_of(l) <= width,
                "line wider than {width}: {l:?}\n{text}"
            );
        }
    }

    #[test]
    fn a_timechart_is_a_series_named_by_its_columns() {
        let (rows, c) = timechart();
        let s = series(&rows, &c).expect("a series");
        assert!(s.is_time());
        assert_eq!(s.names, ["AccessDenied", "OTHER", "NULL"]);
        assert_eq!(
            s.x,
            Axis::Time(vec![1709251200.0, 1709337600.0, 1709424000.0])
        );
        assert_eq!(s.values[0], [Some(3.0), Some(37.0), Some(12.0)]);
    }

    #[test]
    fn rows_out_of_time_order_are_drawn_in_time_order() {
        let c = cols(&["_time", "count"]);
        let rows = vec![
            row(&[("_time", "200"), ("count", "2")]),
            row(&[("_time", "100"), ("count", "1")]),
        ];
        let s = series(&rows, &c).unwrap();
        assert_eq!(s.x, Axis::Time(vec![100.0, 200.0]));
        assert_eq!(s.values[0], [Some(1.0), Some(2.0)]);
    }

    #[test]
    fn text_or_lone_columns_are_not_series() {
        let (mut rows, mut c) = timechart();
        // a text column among the numbers
        c.push("user".into());
        rows[1].set("user", Value::str("alice"));
        assert_eq!(series(&rows, &c), None);
        // `_time` alone
        let only = vec![row(&[("_time", "1709251200")])];
        assert_eq!(series(&only, &cols(&["_time"])), None);
        // no columns
        assert_eq!(series(&[], &[]), None);
        // words that name non-numbers are text
        let nan = vec![row(&[("_time", "1"), ("count", "NaN")])];
        assert_eq!(series(&nan, &cols(&["_time", "count"])), None);
        let inf = vec![row(&[("_time", "1"), ("count", "inf")])];
        assert_eq!(series(&inf, &cols(&["_time", "count"])), None);
        // a multivalue count
        let mut mv = row(&[("_time", "1")]);
        mv.set("count", Value::multi(vec!["1".into(), "2".into()]).unwrap());
        assert_eq!(series(&[mv], &cols(&["_time", "count"])), None);
        // a `_time` that is not a time
        let bad = vec![row(&[("_time", "yesterday"), ("count", "1")])];
        assert_eq!(series(&bad, &cols(&["_time", "count"])), None);
        // a first column of numbers is no category (`stats count, dc(user)`)
        let nums = vec![row(&[("count", "16"), ("dc(user)", "3")])];
        assert_eq!(series(&nums, &cols(&["count", "dc(user)"])), None);
    }

    #[test]
    fn a_category_column_then_numbers_is_a_series_with_missing_points() {
        let c = cols(&["eventName", "count", "avg"]);
        let rows = vec![
            row(&[("eventName", "GetObject"), ("count", "3"), ("avg", "")]),
            row(&[("eventName", "ListBuckets"), ("count", "6"), ("avg", "2.5")]),
            row(&[("count", "1")]),
        ];
        let s = series(&rows, &c).unwrap();
        assert_eq!(
            s.x,
            Axis::Categories(vec!["GetObject".into(), "ListBuckets".into(), "".into()])
        );
        assert_eq!(s.values[1], [None, Some(2.5), None]);
        assert_eq!(s.missing(), 2);
    }

    #[test]
    fn a_bar_chart_drawn_by_hand() {
        // 2 and 4 on an axis 0..4 of 5 rows: 2 is two and a half cells, 4 all five; bars 6 wide
        let s = series(
            &[
                row(&[("k", "a"), ("n", "2")]),
                row(&[("k", "b"), ("n", "4")]),
            ],
            &cols(&["k", "n"]),
        )
        .unwrap();
        let want = "   4 ┤       ██████\n     │       ██████\n     │▄▄▄▄▄▄ ██████\n     │██████ ██████\n     │██████ ██████\n   0 └──────────────\n      a      b\n█ n\n";
        assert_eq!(terminal(&s, 20, 8, chrono_tz::UTC), want);
    }

    #[test]
    fn a_line_chart_has_its_axes_points_labels_and_legend() {
        let s = series(
            &[
                row(&[("_time", "0"), ("v", "0")]),
                row(&[("_time", "60"), ("v", "8")]),
            ],
            &cols(&["_time", "v"]),
        )
        .unwrap();
        let text = terminal(&s, 50, 8, chrono_tz::UTC);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8, "{text}");
        // 5 plot rows: 8 at the top, 0 at the bottom, the two points at the plot's corners
        assert!(lines[0].starts_with("   8 ┤"), "{text}");
        assert!(lines[0].ends_with('*'), "{text}");
        assert_eq!(width_of(lines[0]), 50, "{text}");
        assert!(lines[4].starts_with("   0 ┤*"), "{text}");
        assert_eq!(lines[5], format!("     └┬{}┬", "─".repeat(42)));
        assert_eq!(
            lines[6],
            "      1970-01-01 00:00:00      1970-01-01 00:01:00"
        );
        assert_eq!(lines[7], "* v");
    }

    #[test]
    fn the_terminal_chart_fits_and_names_every_series() {
        let (rows, c) = timechart();
        let s = series(&rows, &c).unwrap();
        for (w, h) in [(20, 8), (37, 12), (80, 20), (200, 50), (24, 30)] {
            let text = terminal(&s, w, h, chrono_tz::UTC);
            widths_ok(&text, w, h);
            if w >= 37 {
                for name in &s.names {
                    assert!(text.contains(name.as_str()), "{name} missing:\n{text}");
                }
                // the top label is the data's maximum
                assert!(text.trim_start().starts_with("37 ┤"), "{text}");
                assert!(text.contains("└"), "{text}");
            }
        }
        let coloured = terminal_colored(&s, 80, 20, chrono_tz::UTC);
        assert!(coloured.contains("\x1b["));
        assert!(!terminal(&s, 80, 20, chrono_tz::UTC).contains('\x1b'));
    }

    #[test]
    fn rows_sharing_a_column_and_missing_values_are_said() {
        let c = cols(&["_time", "count"]);
        let rows: Vec<Event> = (0..500)
            .map(|i| {
                let t = (i * 60).to_string();
                let v = if i == 7 {
                    String::new()
                } else {
                    (i % 13).to_string()
                };
                row(&[("_time", &t), ("count", &v)])
            })
            .collect();
        let s = series(&rows, &c).unwrap();
        let text = terminal(&s, 80, 20, chrono_tz::UTC);
        widths_ok(&text, 80, 20);
        assert!(text.contains("500 rows in 74 columns"), "{text}");
        assert!(text.contains("1 missing value not drawn"), "{text}");
        assert!(text.trim_start().starts_with("12 ┤"), "{text}");
    }

    #[test]
    fn categories_beyond_the_width_are_said() {
        let c = cols(&["host", "count"]);
        let rows: Vec<Event> = (0..100)
            .map(|i| row(&[("host", &format!("h{i}")), ("count", "1")]))
            .collect();
        let s = series(&rows, &c).unwrap();
        let text = terminal(&s, 40, 20, chrono_tz::UTC);
        widths_ok(&text, 40, 20);
        assert!(text.contains("of 100 categories shown"), "{text}");
    }

    #[test]
    fn odd_inputs_give_a_chart_or_a_message_that_fits() {
        let c = cols(&["_time", "a", "b"]);
        let one = vec![row(&[("_time", "5"), ("a", "1"), ("b", "1")])];
        let equal = vec![
            row(&[("_time", "5"), ("a", "3"), ("b", "3")]),
            row(&[("_time", "6"), ("a", "3"), ("b", "3")]),
        ];
        let negative = vec![
            row(&[("_time", "5"), ("a", "-3"), ("b", "-1e5")]),
            row(&[("_time", "6"), ("a", "2"), ("b", "-0.5")]),
        ];
        let huge = vec![
            row(&[("_time", "5"), ("a", "1e308"), ("b", "-1e308")]),
            row(&[("_time", "6"), ("a", "1e-300"), ("b", "")]),
        ];
        let missing = vec![row(&[("_time", "5"), ("a", ""), ("b", "")])];
        let sets: Vec<Vec<Event>> = vec![vec![], one, equal, negative, huge, missing];
        for rows in &sets {
            for first in ["_time", "cat"] {
                let rows: Vec<Event> = rows
                    .iter()
                    .map(|r| {
                        let mut r = r.clone();
                        if first == "cat" {
                            r.set("cat", Value::str("x"));
                        }
                        r
                    })
                    .collect();
                let mut c = c.clone();
                c[0] = first.to_string();
                let s = series(&rows, &c).expect("a series");
                for (w, h) in [
                    (0, 0),
                    (5, 3),
                    (19, 20),
                    (20, 8),
                    (80, 20),
                    (usize::MAX, usize::MAX),
                ] {
                    let text = terminal(&s, w, h, chrono_tz::UTC);
                    if w < 10_000 {
                        widths_ok(&text, w, h);
                    }
                    assert!(text.lines().count() <= MAX_HEIGHT);
                    let _ = svg(&s, chrono_tz::UTC);
                }
            }
        }
        let s = series(&[], &cols(&["_time", "count"])).unwrap();
        assert_eq!(
            terminal(&s, 80, 20, chrono_tz::UTC),
            "chart: no rows (series: count)\n"
        );
        assert_eq!(terminal(&s, 10, 20, chrono_tz::UTC), "chart: ne…\n");
    }

    #[test]
    fn negative_bars_hang_below_zero() {
        // -2 and 2 on 5 rows: zero on a row boundary, a row worth 1, two rows below and three above (an
        // axis of -2 to 3): both bars two rows long
        let s = series(
            &[
                row(&[("k", "a"), ("n", "-2")]),
                row(&[("k", "b"), ("n", "2")]),
            ],
            &cols(&["k", "n"]),
        )
        .unwrap();
        let want = "    3 ┤\n      │      █████\n      │      █████\n      │█████\n      │█████\n   -2 └─────────────\n       a     b\n█ n\n";
        assert_eq!(terminal(&s, 20, 8, chrono_tz::UTC), want);
        // -1.5 and 3: a row worth 1 again (two rows below zero); -1.5 a row and a half, the half a block's top
        let s = series(
            &[
                row(&[("k", "a"), ("n", "-1.5")]),
                row(&[("k", "b"), ("n", "3")]),
            ],
            &cols(&["k", "n"]),
        )
        .unwrap();
        let text = terminal(&s, 20, 8, chrono_tz::UTC);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[3], "      │█████", "{text}");
        assert_eq!(lines[4], "      │▀▀▀▀▀", "{text}");
        assert!(lines[5].starts_with("   -2 └"), "{text}");
    }

    #[test]
    fn the_svg_and_page_hold_the_chart_and_the_escaped_table() {
        let (mut rows, c) = timechart();
        rows[0].set("NULL", Value::str(""));
        let s = series(&rows, &c).unwrap();
        let image = svg(&s, chrono_tz::UTC);
        assert!(image.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(image.ends_with("</svg>"));
        assert_eq!(image.matches("<polyline").count(), 3);
        assert!(image.contains(">37</text>"), "the top tick is the maximum");
        assert!(image.contains("1 missing value not drawn"));
        let page = html(&rows, &c, chrono_tz::UTC, "index=x | timechart <b>");
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("<h1>index=x | timechart &lt;b&gt;</h1>"));
        assert_eq!(page.matches("<svg").count(), 1);
        assert!(!page.contains("http"));
        assert!(page.contains("<td class=\"time\">2024-03-01T00:00:00.000+00:00</td>"));
        assert_eq!(page.matches("<tr>").count(), 4);
        // a page of a result that is no series: the table alone, multivalues one per line
        let mut e = row(&[("user", "<a&b>")]);
        e.set(
            "ip",
            Value::multi(vec!["1.1.1.1".into(), "2.2.2.2".into()]).unwrap(),
        );
        let page = html(&[e], &cols(&["user", "ip"]), chrono_tz::UTC, "q");
        assert!(!page.contains("<svg"));
        assert!(page.contains("<td>&lt;a&amp;b&gt;</td><td>1.1.1.1<br>2.2.2.2</td>"));
    }
}
