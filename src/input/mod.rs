//! Event files in: which files a `--data` argument names, how each is read, and the Splunk-shaped events
//! they give.
//!
//! Formats (sniffed from the content, not the name): NDJSON (one JSON object per line), CloudTrail S3
//! delivery files (`{"Records":[...]}`, one per line or pretty-printed), a JSON array of objects, one
//! pretty-printed object, and any of these gzip-compressed (detected by the gzip magic bytes).
//!
//! Every event gets `_raw` (its JSON text), `_time`, `source` (the path as the user gave it), `sourcetype`,
//! `host` and `index`, then the fields of its JSON and its sourcetype's search-time knowledge (see
//! [`crate::props`]). A malformed line is counted, the first one is remembered (line number and reason) and
//! the rest of the file is still read.

pub mod json;

use crate::diag::{Diagnostic, Result};
use crate::event::{Event, Field};
use crate::props::Knowledge;
use crate::value::Value;
use json::{Flat, Names};
use std::io::{BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// Sample events shipped with spelunk (`samples/cloudtrail`), used when no `--data` is given.
mod samples {
    include!(concat!(env!("OUT_DIR"), "/samples.rs"));
}
pub use samples::SAMPLES;

/// One file to read.
#[derive(Clone, Debug)]
pub struct Source {
    /// The `source` field: the path as the user wrote it (joined with the relative path inside a folder).
    pub name: String,
    pub content: Content,
    /// Forced sourcetype (`--sourcetype`), else sniffed per event.
    pub sourcetype: Option<String>,
}

#[derive(Clone, Debug)]
pub enum Content {
    File(PathBuf),
    Embedded(&'static str),
    /// Events read before and kept in memory (the REPL reads its inputs once per session).
    Cached {
        events: std::sync::Arc<[Event]>,
        report: FileReport,
    },
}

/// A `--data` argument and the `--sourcetype` that applies to it.
#[derive(Clone, Debug)]
pub struct DataArg {
    pub path: String,
    pub sourcetype: Option<String>,
}

/// What reading one file gave.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileReport {
    pub source: String,
    pub events: u64,
    pub bad_lines: u64,
    /// Line number (1-based) and reason of the first malformed line.
    pub first_bad: Option<(u64, String)>,
    /// The file could not be read at all, or reading stopped early.
    pub error: Option<String>,
}

impl FileReport {
    /// One line for stderr, or `None` when the file read cleanly.
    pub fn problem(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.bad_lines > 0 {
            let (line, why) = self.first_bad.clone().unwrap_or((0, String::new()));
            parts.push(format!(
                "{}: {} malformed line{} skipped (first at line {}: {})",
                self.source,
                self.bad_lines,
                if self.bad_lines == 1 { "" } else { "s" },
                line,
                why
            ));
        }
        if let Some(e) = &self.error {
            parts.push(format!("{}: {}", self.source, e));
        } else if self.events == 0 && self.bad_lines == 0 {
            parts.push(format!("{}: no events in this file", self.source));
        }
        (!parts.is_empty()).then(|| parts.join("\n"))
    }
}

/// Options that set the default fields of every event.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    pub host: String,
    pub index: String,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            host: "spelunk".into(),
            index: "main".into(),
        }
    }
}

/// Expand `--data` arguments into files: a file, a folder (read recursively, in name order), or a glob.
/// A path that names nothing is an error naming it.
pub fn resolve(args: &[DataArg]) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    for arg in args {
        let p = Path::new(&arg.path);
        let before = out.len();
        if p.is_dir() {
            let mut files = Vec::new();
            walk(p, &mut files, 0)?;
            files.sort();
            for f in files {
                out.push(Source {
                    name: f.to_string_lossy().into_owned(),
                    content: Content::File(f),
                    sourcetype: arg.sourcetype.clone(),
                });
            }
        } else if p.exists() {
            out.push(Source {
                name: arg.path.clone(),
                content: Content::File(p.to_path_buf()),
                sourcetype: arg.sourcetype.clone(),
            });
        } else if arg.path.contains(['*', '?', '[']) {
            let paths = glob::glob(&arg.path)
                .map_err(|e| Diagnostic::new(format!("bad --data pattern `{}`: {e}", arg.path)))?;
            let mut files: Vec<PathBuf> = paths
                .filter_map(|r| r.ok())
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            for f in files {
                out.push(Source {
                    name: f.to_string_lossy().into_owned(),
                    content: Content::File(f),
                    sourcetype: arg.sourcetype.clone(),
                });
            }
            if out.len() == before {
                return Err(Diagnostic::new(format!(
                    "--data `{}` matches no file",
                    arg.path
                )));
            }
        } else {
            return Err(Diagnostic::new(format!(
                "--data `{}`: no such file or folder",
                arg.path
            )));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<()> {
    if depth > 64 {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Diagnostic::new(format!("cannot read folder `{}`: {e}", dir.display())))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.ends_with(".md") {
            continue;
        }
        // Symlinked folders are not followed: a link loop must not hang the walk.
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            walk(&path, out, depth + 1)?;
        } else if ft.is_file() || (ft.is_symlink() && path.is_file()) {
            out.push(path);
        }
    }
    Ok(())
}

/// The shipped samples as sources.
pub fn sample_sources() -> Vec<Source> {
    SAMPLES
        .iter()
        .map(|(name, text)| Source {
            name: name.to_string(),
            content: Content::Embedded(text),
            sourcetype: None,
        })
        .collect()
}

/// Reads events of one source, turning each JSON object into a Splunk event.
pub struct EventBuilder<'k> {
    knowledge: &'k Knowledge,
    opts: &'k ReadOptions,
    names: Names,
    flat: Flat,
    f_raw: Field,
    f_time: Field,
    f_source: Field,
    f_sourcetype: Field,
    f_host: Field,
    f_index: Field,
}

impl<'k> EventBuilder<'k> {
    pub fn new(knowledge: &'k Knowledge, opts: &'k ReadOptions) -> Self {
        let mut names = Names::default();
        EventBuilder {
            knowledge,
            opts,
            f_raw: names.get("_raw"),
            f_time: names.get("_time"),
            f_source: names.get("source"),
            f_sourcetype: names.get("sourcetype"),
            f_host: names.get("host"),
            f_index: names.get("index"),
            names,
            flat: Flat::default(),
        }
    }

    /// Build the event of one JSON object. `fallback_time` is used when the event has no time of its own.
    pub fn build(
        &mut self,
        raw: &str,
        source: &Source,
        fallback_time: f64,
    ) -> std::result::Result<Event, json::JsonError> {
        json::flatten(raw.as_bytes(), &mut self.flat)?;
        let sourcetype = match &source.sourcetype {
            Some(st) => st.clone(),
            None => sniff_sourcetype(&self.flat).to_string(),
        };
        let time = self
            .knowledge
            .time_of(&sourcetype, &self.flat)
            .unwrap_or(fallback_time);
        let mut ev = Event::with_capacity(self.flat.fields.len() + 8);
        ev.push(self.f_raw.clone(), Value::str(raw));
        ev.push(self.f_time.clone(), Value::Num(time));
        ev.push(self.f_source.clone(), Value::str(&source.name));
        ev.push(self.f_sourcetype.clone(), Value::str(&sourcetype));
        ev.push(self.f_host.clone(), Value::str(&self.opts.host));
        ev.push(self.f_index.clone(), Value::str(&self.opts.index));
        for (name, values) in self.flat.fields.drain(..) {
            // a JSON key named like a default field (e.g. `source`) does not replace it
            if matches!(
                name.as_str(),
                "_raw" | "_time" | "source" | "sourcetype" | "host" | "index"
            ) {
                continue;
            }
            if let Some(v) = Value::multi(values) {
                let f = self.names.get(&name);
                ev.push(f, v);
            }
        }
        self.knowledge.apply(&sourcetype, &mut ev);
        Ok(ev)
    }
}

/// `aws:cloudtrail` for an object with `eventVersion`, `eventSource` and `eventName`;
/// `aws:cloudtrail:lake` (the sourcetype security_content's `amazon_security_lake` macro searches) for an
/// Amazon Security Lake OCSF API Activity object: `api.operation` with `class_uid` or `metadata.product.name`;
/// `_json` otherwise.
pub fn sniff_sourcetype(flat: &Flat) -> &'static str {
    if flat.has("eventVersion") && flat.has("eventSource") && flat.has("eventName") {
        "aws:cloudtrail"
    } else if flat.has("api.operation")
        && (flat.has("class_uid") || flat.has("metadata.product.name"))
    {
        "aws:cloudtrail:lake"
    } else {
        "_json"
    }
}

/// Parse a timestamp as Splunk's JSON sourcetypes would: epoch seconds (with fraction), or ISO-8601 /
/// RFC 3339 text (`2024-03-01T10:15:00Z`, with fraction or offset, or a space instead of `T`, no zone = UTC).
pub fn parse_time(text: &str) -> Option<f64> {
    let t = text.trim();
    if let Some(n) = crate::value::parse_num(t) {
        // epoch seconds; values in milliseconds are recognised by size
        return Some(if n > 1e11 { n / 1000.0 } else { n });
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp() as f64 + dt.timestamp_subsec_nanos() as f64 / 1e9);
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.fZ",
        "%Y-%m-%d %H:%M:%S%.fZ",
    ] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, fmt) {
            let u = dt.and_utc();
            return Some(u.timestamp() as f64 + u.timestamp_subsec_nanos() as f64 / 1e9);
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(dt) = chrono::DateTime::parse_from_str(t, fmt) {
            return Some(dt.timestamp() as f64 + dt.timestamp_subsec_nanos() as f64 / 1e9);
        }
    }
    None
}

/// Read one source, handing each event to `sink` until it answers `Break`.
pub fn read_source(
    source: &Source,
    builder: &mut EventBuilder<'_>,
    sink: &mut dyn FnMut(Event) -> ControlFlow<()>,
) -> FileReport {
    let mut report = FileReport {
        source: source.name.clone(),
        ..FileReport::default()
    };
    let (reader, mtime): (Box<dyn BufRead>, f64) = match &source.content {
        Content::Cached {
            events,
            report: cached,
        } => {
            let mut report = cached.clone();
            report.events = 0;
            for ev in events.iter() {
                report.events += 1;
                if sink(ev.clone()).is_break() {
                    break;
                }
            }
            return report;
        }
        Content::Embedded(text) => (Box::new(text.as_bytes()), 0.0),
        Content::File(path) => match open(path) {
            Ok(x) => x,
            Err(e) => {
                report.error = Some(e);
                return report;
            }
        },
    };
    read_stream(reader, source, builder, mtime, &mut report, sink);
    report
}

fn open(path: &Path) -> std::result::Result<(Box<dyn BufRead>, f64), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mtime = file
        .metadata()
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let mut buf = BufReader::with_capacity(256 * 1024, file);
    let head = buf.fill_buf().map_err(|e| format!("cannot read: {e}"))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let gz = flate2::bufread::MultiGzDecoder::new(buf);
        Ok((Box::new(BufReader::with_capacity(256 * 1024, gz)), mtime))
    } else {
        Ok((Box::new(buf), mtime))
    }
}

/// Is this first line the start of a pretty-printed document rather than a complete JSON value?
fn starts_document(line: &str) -> bool {
    let t = line.trim();
    t == "{"
        || t == "["
        || t.ends_with('[')
        || t.ends_with('{')
        || t.ends_with(',')
        || t.ends_with(':')
}

fn read_stream(
    mut reader: Box<dyn BufRead>,
    source: &Source,
    builder: &mut EventBuilder<'_>,
    mtime: f64,
    report: &mut FileReport,
    sink: &mut dyn FnMut(Event) -> ControlFlow<()>,
) {
    let mut line = Vec::with_capacity(64 * 1024);
    let mut line_no: u64 = 0;
    let mut first = true;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                report.error = Some(format!("read error after line {line_no}: {e}"));
                break;
            }
        }
        line_no += 1;
        let text = trim_line(&line);
        if text.iter().all(|c| c.is_ascii_whitespace()) {
            continue;
        }
        if first {
            first = false;
            if let Ok(s) = std::str::from_utf8(text) {
                if starts_document(s) {
                    // pretty-printed: read the whole document
                    let mut doc = line.clone();
                    if let Err(e) = reader.read_to_end(&mut doc) {
                        report.error = Some(format!("read error: {e}"));
                        return;
                    }
                    read_document(&doc, line_no, source, builder, mtime, report, sink);
                    return;
                }
            }
        }
        if read_value(text, line_no, source, builder, mtime, report, sink).is_break() {
            return;
        }
    }
}

fn trim_line(line: &[u8]) -> &[u8] {
    let mut t = line;
    while let Some((&last, rest)) = t.split_last() {
        if last == b'\n' || last == b'\r' {
            t = rest;
        } else {
            break;
        }
    }
    // a UTF-8 byte order mark at the start of a file
    t.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(t)
}

fn bad(report: &mut FileReport, line: u64, why: String) {
    report.bad_lines += 1;
    if report.first_bad.is_none() {
        report.first_bad = Some((line, why));
    }
}

/// One complete JSON value: an event object, a `Records` object, or an array of objects.
fn read_value(
    text: &[u8],
    line_no: u64,
    source: &Source,
    builder: &mut EventBuilder<'_>,
    mtime: f64,
    report: &mut FileReport,
    sink: &mut dyn FnMut(Event) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let start = text
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(0);
    let text = &text[start..];
    let members = match text.first() {
        Some(b'{') => match json::records_members(text) {
            Ok(Some(m)) => Some(m),
            Ok(None) => None,
            Err(e) => {
                bad(report, line_no, e.message);
                return ControlFlow::Continue(());
            }
        },
        Some(b'[') => match json::array_members(text) {
            Ok(m) => Some(m),
            Err(e) => {
                bad(report, line_no, e.message);
                return ControlFlow::Continue(());
            }
        },
        _ => {
            bad(report, line_no, "not a JSON object".into());
            return ControlFlow::Continue(());
        }
    };
    let ranges = members.unwrap_or_else(|| vec![(0, text.len())]);
    for (a, b) in ranges {
        let Some(member) = text.get(a..b) else {
            continue;
        };
        let Ok(raw) = std::str::from_utf8(member) else {
            bad(report, line_no, "invalid UTF-8".into());
            continue;
        };
        match builder.build(raw, source, mtime) {
            Ok(ev) => {
                report.events += 1;
                sink(ev)?;
            }
            Err(e) => bad(report, line_no, e.message),
        }
    }
    ControlFlow::Continue(())
}

fn read_document(
    doc: &[u8],
    first_line: u64,
    source: &Source,
    builder: &mut EventBuilder<'_>,
    mtime: f64,
    report: &mut FileReport,
    sink: &mut dyn FnMut(Event) -> ControlFlow<()>,
) {
    let doc = trim_line(doc);
    match json::validate(doc) {
        Ok(_) => {
            let _ = read_value(doc, first_line, source, builder, mtime, report, sink);
        }
        Err(e) => {
            let line = first_line - 1
                + doc[..e.offset.min(doc.len())]
                    .iter()
                    .filter(|&&c| c == b'\n')
                    .count() as u64
                + 1;
            bad(
                report,
                line,
                format!("{} (the rest of the document is unreadable)", e.message),
            );
        }
    }
}

/// Read every source into memory once: the returned sources replay their events without parsing.
/// Memory: the events' fields and `_raw`, about 2–3 times the size of the JSON text.
pub fn cache(sources: &[Source], knowledge: &Knowledge, opts: &ReadOptions) -> Vec<Source> {
    let mut builder = EventBuilder::new(knowledge, opts);
    sources
        .iter()
        .map(|src| {
            let mut events = Vec::new();
            let report = read_source(src, &mut builder, &mut |ev| {
                events.push(ev);
                ControlFlow::Continue(())
            });
            Source {
                name: src.name.clone(),
                content: Content::Cached {
                    events: events.into(),
                    report,
                },
                sourcetype: src.sourcetype.clone(),
            }
        })
        .collect()
}
