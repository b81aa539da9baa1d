//! Event files in: which files a `--data` argument names, how each is read, and the Splunk-shaped events
//! they give.
//!
//! Formats (sniffed from the content, not the name): NDJSON (one JSON object per line), CloudTrail S3
//! delivery files (`{"Records":[...]}`, one per line or pretty-printed), a JSON array of objects, one
//! pretty-printed object, Windows XML events (`XmlWinEventLog`, see [`xml`]), and any of these
//! gzip-compressed (detected by the gzip magic bytes). A JSON object that is a Windows event export
//! (Winlogbeat or NXLog) is rebuilt as the forwarder's XML text and read as that text is (see [`winjson`]),
//! unless a sourcetype other than `XmlWinEventLog` is forced.
//!
//! Every event gets `_raw` (its JSON text), `_time`, `source` (the path as the user gave it, or `--source`),
//! `sourcetype`, `host` and `index`, then the fields of its JSON and its sourcetype's search-time knowledge
//! (see [`crate::props`]). A malformed line is counted, the first one is remembered (line number and reason) and
//! the rest of the file is still read.

pub mod evtx;
pub mod json;
pub mod render;
pub mod winjson;
pub mod xml;

use crate::diag::{Diagnostic, Result};
use crate::event::{Event, Field};
use crate::props::Knowledge;
use crate::value::Value;
use json::{Flat, Names};
use std::collections::HashSet;
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
    /// Forced `source` value (`--source`), else the path (or `XmlWinEventLog:<Channel>` for Windows events).
    pub source: Option<String>,
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

/// A `--data` argument and the `--sourcetype` and `--source` that apply to it.
#[derive(Clone, Debug, Default)]
pub struct DataArg {
    pub path: String,
    pub sourcetype: Option<String>,
    pub source: Option<String>,
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
    /// Lines read (to number the lines of a file read in several parts); records for an EVTX file.
    pub lines: u64,
    /// An EVTX file: `lines`, `bad_lines` and `first_bad` count records.
    pub records: bool,
    /// EVTX chunks whose header is damaged: (chunk number in the file, reason). Their records
    /// cannot be counted; the rest of the file is read.
    pub bad_chunks: Vec<(u64, String)>,
}

/// What reading one part of a file gave; line numbers are counted from the part's start.
pub type UnitReport = FileReport;

impl FileReport {
    /// Add the report of the next part of the same file.
    pub fn merge(&mut self, part: &FileReport) {
        self.events += part.events;
        self.bad_lines += part.bad_lines;
        if self.first_bad.is_none() {
            if let Some((line, why)) = &part.first_bad {
                self.first_bad = Some((self.lines + line, why.clone()));
            }
        }
        if self.error.is_none() {
            self.error = part.error.clone();
        }
        self.lines += part.lines;
        self.records |= part.records;
        self.bad_chunks.extend(part.bad_chunks.iter().cloned());
    }

    /// One line for stderr, or `None` when the file read cleanly.
    pub fn problem(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.bad_lines > 0 {
            let (line, why) = self.first_bad.clone().unwrap_or((0, String::new()));
            let what = if self.records { "record" } else { "line" };
            parts.push(format!(
                "{}: {} malformed {what}{} skipped (first at {what} {}: {})",
                self.source,
                self.bad_lines,
                if self.bad_lines == 1 { "" } else { "s" },
                line,
                why
            ));
        }
        if let Some((chunk, why)) = self.bad_chunks.first() {
            let n = self.bad_chunks.len();
            let more = if n > 1 {
                let rest: Vec<String> = self.bad_chunks[1..]
                    .iter()
                    .map(|c| c.0.to_string())
                    .collect();
                format!(
                    "; also chunk{} {}",
                    if n > 2 { "s" } else { "" },
                    rest.join(", ")
                )
            } else {
                String::new()
            };
            parts.push(format!(
                "{}: {n} damaged chunk{} skipped, records not counted (chunk {chunk}: {why}{more})",
                self.source,
                if n == 1 { "" } else { "s" },
            ));
        }
        if let Some(e) = &self.error {
            parts.push(format!("{}: {}", self.source, e));
        } else if self.events == 0 && self.bad_lines == 0 && self.bad_chunks.is_empty() {
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
                    source: arg.source.clone(),
                });
            }
        } else if p.exists() {
            out.push(Source {
                name: arg.path.clone(),
                content: Content::File(p.to_path_buf()),
                sourcetype: arg.sourcetype.clone(),
                source: arg.source.clone(),
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
                    source: arg.source.clone(),
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
        if name.starts_with('.') {
            continue;
        }
        // Symlinked folders are not followed: a link loop must not hang the walk. A link to nowhere is
        // kept, so that reading it reports it. Folder names may hold dots (`T1003.001_procdump`).
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            walk(&path, out, depth + 1)?;
        } else if !is_event_file_name(&name) {
            continue;
        } else if ft.is_file() || (ft.is_symlink() && !path.is_dir()) {
            out.push(path);
        }
    }
    Ok(())
}

/// Files a folder walk reads: JSON-ish and log names, gzip-compressed or not, and names without an
/// extension. Other files in a folder (`.md`, `.tsv`, `.csv` ...) are not event files and are left alone;
/// a file named directly with `--data` is always read.
pub fn is_event_file_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let n = n.strip_suffix(".gz").unwrap_or(&n);
    match n.rsplit_once('.') {
        None => true,
        Some((_, ext)) => matches!(
            ext,
            "json" | "ndjson" | "jsonl" | "log" | "txt" | "events" | "evtx"
        ),
    }
}

/// The shipped samples as sources.
pub fn sample_sources() -> Vec<Source> {
    SAMPLES
        .iter()
        .map(|(name, text)| Source {
            name: name.to_string(),
            content: Content::Embedded(text),
            sourcetype: None,
            source: None,
        })
        .collect()
}

/// A test of an event, shared by the reading threads.
pub type EventTest = Box<dyn Fn(&Event) -> bool + Send + Sync>;

/// What a query needs from the inputs, worked out by the planner: only these fields are extracted and
/// computed, and events that cannot match the query's first search are dropped as early as possible.
#[derive(Default)]
pub struct ReadPlan {
    /// JSON fields to extract (`None`: all).
    pub projection: Option<json::Projection>,
    /// Calculated and alias fields to compute (`None`: all).
    pub computed: Option<HashSet<String>>,
    /// The fields the query reads, before the knowledge's dependencies (`None`: all): each kind of
    /// event computes only what its own settings need for them.
    pub wanted: Option<HashSet<String>>,
    /// Byte patterns every matching event's raw text contains (see [`RawLiteral`]).
    pub raw_required: Vec<RawLiteral>,
    /// A test on the extracted fields, before calculated fields are computed.
    pub prefilter: Option<EventTest>,
    /// Leave `_raw` out of events (no stage reads it and the rows are not shown as events).
    pub drop_raw: bool,
    /// Set by a reader that met an event whose knowledge cannot give a field the query needs
    /// (props `UNKNOWN_FIELDS`), or whose extraction regex gave up at the backtracking limit: the run
    /// stops with this error.
    pub unknown: std::sync::OnceLock<String>,
}

impl ReadPlan {
    /// Does the query read the text of Windows XML events, as `_raw` or as one of the `*_Xml` block
    /// fields? (Else an EVTX record's fields are taken without writing its text.)
    pub fn needs_xml_text(&self) -> bool {
        !self.drop_raw
            || self
                .projection
                .as_ref()
                .is_none_or(|p| xml::BLOCK_FIELDS.iter().any(|f| p.contains(f)))
    }

    /// True when one event's raw text shows that it cannot match. A line ruled out this way is counted
    /// as read after a cheap check of its shape (`{` ... `}`), not fully validated: a truncated line is
    /// still reported as malformed.
    pub fn rules_out(&self, raw: &[u8]) -> bool {
        if self.raw_required.is_empty() {
            return false;
        }
        let t = raw.trim_ascii();
        if !(t.starts_with(b"{") && t.ends_with(b"}")) {
            return false;
        }
        // the texts first; only a line that lacks one is looked at for what keeps it anyway: a `\u`
        // escape (the text could be spelt with escapes there) or a channel key (a JSON export of a
        // Windows event is searched by the fields of its XML form, whose names and spellings its
        // JSON text need not hold)
        !self.raw_required.iter().all(|l| l.found_in(raw))
            && U_ESCAPE.find(raw).is_none()
            && CHANNEL_KEY.find(raw).is_none()
    }
}

static RECORDS_KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"Records\""));

/// `"Channel"` (NXLog) and `"channel"` (Winlogbeat's `winlog.channel`): the key every Windows export has.
static CHANNEL_KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"hannel\""));

static U_ESCAPE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\\u"));

/// Text that must occur in an event's raw JSON for it to match: a JSON key (`"mfaAuthenticated"` is
/// looked for as `mfaAuthenticated"`, case-sensitively, as field names are) and/or a value (ASCII
/// case-insensitively, as search values match). Only built for keys and values that JSON writes without
/// escapes; a line holding a `\u` escape is never skipped, since the text could be spelt with escapes there.
#[derive(Clone, Debug)]
pub struct RawLiteral {
    key: Option<memchr::memmem::Finder<'static>>,
    /// Lower-case.
    value: Option<Vec<u8>>,
    value_finder: Option<memchr::memmem::Finder<'static>>,
}

impl RawLiteral {
    /// `value` is lower-cased here.
    pub fn new(key: Option<&[u8]>, value: Option<&[u8]>) -> RawLiteral {
        let value = value.map(|v| v.to_ascii_lowercase());
        RawLiteral {
            key: key.map(|k| memchr::memmem::Finder::new(k).into_owned()),
            value_finder: value
                .as_ref()
                .map(|v| memchr::memmem::Finder::new(v).into_owned()),
            value,
        }
    }

    fn found_in(&self, raw: &[u8]) -> bool {
        if let Some(k) = &self.key {
            if k.find(raw).is_none() {
                return false;
            }
        }
        if let (Some(v), Some(f)) = (&self.value, &self.value_finder) {
            // the lower-case spelling first (the usual one), then any case
            if f.find(raw).is_none() && !contains_ignore_ascii_case(raw, v) {
                return false;
            }
        }
        true
    }
}

/// `needle` is lower-case ASCII. The needle's rarest byte (by a rough frequency in English and JSON
/// text) is looked for in both cases, and each place it is met is checked around it: lines that
/// lack the text are scanned once, not restarted at each of their common letters.
fn contains_ignore_ascii_case(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    let (j, &rare) = needle
        .iter()
        .enumerate()
        .max_by_key(|&(i, &b)| (rarity(b), std::cmp::Reverse(i)))
        .unwrap_or((0, &needle[0]));
    let upper = rare.to_ascii_uppercase();
    let matches_at = |p: usize| {
        p >= j
            && p - j + needle.len() <= hay.len()
            && hay[p - j..p - j + needle.len()]
                .iter()
                .zip(needle)
                .all(|(h, n)| h.to_ascii_lowercase() == *n)
    };
    if upper == rare {
        memchr::memchr_iter(rare, hay).any(matches_at)
    } else {
        memchr::memchr2_iter(rare, upper, hay).any(matches_at)
    }
}

/// How rare a (lower-case) byte is in log text, roughly: higher is rarer.
fn rarity(b: u8) -> u8 {
    const LETTERS: &[u8] = b"etaoinsrhldcumfpgwybvkxjqz";
    match b {
        b'a'..=b'z' => LETTERS.iter().position(|&c| c == b).map_or(0, |i| i as u8),
        b'0'..=b'9' => 12,
        b'"' | b':' | b',' | b'.' | b'-' | b'_' | b' ' | b'/' => 0,
        _ => 20,
    }
}

/// Reads events of one source, turning each JSON object into a Splunk event.
pub struct EventBuilder<'k> {
    knowledge: &'k Knowledge,
    plan: &'k ReadPlan,
    flat: Flat,
    f_raw: Field,
    f_time: Field,
    f_source: Field,
    f_sourcetype: Field,
    f_host: Field,
    f_index: Field,
    v_host: Value,
    v_index: Value,
    v_source: Option<(String, Value)>,
    /// Per kind of event (sourcetype, and source and host when stanzas key on them): its `sourcetype`
    /// value, the original sourcetype when renamed, and the knowledge to apply.
    v_sourcetypes: Vec<KindOfEvent>,
    names: Names,
    /// The XML text of a converted Windows export, reused from event to event.
    xml_buf: String,
}

/// What is worked out once per kind of event (see [`EventBuilder`]).
struct KindOfEvent {
    sourcetype: String,
    source: String,
    host: String,
    value: Value,
    renamed_from: Option<Value>,
    selection: crate::props::Selection,
}

static READ_ALL: std::sync::OnceLock<ReadPlan> = std::sync::OnceLock::new();

impl<'k> EventBuilder<'k> {
    /// A builder that extracts every field.
    pub fn new(knowledge: &'k Knowledge, opts: &'k ReadOptions) -> Self {
        EventBuilder::with_plan(knowledge, opts, READ_ALL.get_or_init(ReadPlan::default))
    }

    pub fn with_plan(knowledge: &'k Knowledge, opts: &'k ReadOptions, plan: &'k ReadPlan) -> Self {
        let mut names = Names::default();
        EventBuilder {
            knowledge,
            plan,
            f_raw: names.get("_raw"),
            f_time: names.get("_time"),
            f_source: names.get("source"),
            f_sourcetype: names.get("sourcetype"),
            f_host: names.get("host"),
            f_index: names.get("index"),
            flat: Flat::default(),
            v_host: Value::str(&opts.host),
            v_index: Value::str(&opts.index),
            v_source: None,
            v_sourcetypes: Vec::new(),
            names,
            xml_buf: String::new(),
        }
    }

    fn source_value(&mut self, name: &str) -> Value {
        match &self.v_source {
            Some((n, v)) if n == name => v.clone(),
            _ => {
                let v = Value::str(name);
                self.v_source = Some((name.to_string(), v.clone()));
                v
            }
        }
    }

    /// The place of the kind of event (sourcetype, source, host) in `v_sourcetypes`, worked out once
    /// per kind; source and host count only when the knowledge has `source::`/`host::` stanzas.
    fn kind_of_event(&mut self, st: &str, source: &Value, host: &Value) -> usize {
        let src = if self.knowledge.keys_on_source() {
            source.text()
        } else {
            std::borrow::Cow::Borrowed("")
        };
        let hst = if self.knowledge.keys_on_host() {
            host.text()
        } else {
            std::borrow::Cow::Borrowed("")
        };
        if let Some(i) = self.v_sourcetypes.iter().position(|k| {
            use crate::event::same_name;
            same_name(&k.sourcetype, st) && same_name(&k.source, &src) && same_name(&k.host, &hst)
        }) {
            return i;
        }
        let selection = self.knowledge.selection_for(
            st,
            &src,
            &hst,
            self.plan.computed.as_ref(),
            self.plan.wanted.as_ref(),
        );
        let (value, renamed_from) = match selection.renamed() {
            Some(r) => (Value::str(r), Some(Value::str(st))),
            None => (Value::str(st), None),
        };
        self.v_sourcetypes.push(KindOfEvent {
            sourcetype: st.to_string(),
            source: src.into_owned(),
            host: hst.into_owned(),
            value,
            renamed_from,
            selection,
        });
        self.v_sourcetypes.len() - 1
    }

    /// Build the event of one JSON object, or `None` when the read plan shows it cannot match.
    /// `fallback_time` is used when the event has no time of its own.
    pub fn build(
        &mut self,
        raw: &str,
        source: &Source,
        fallback_time: f64,
    ) -> std::result::Result<Option<Event>, json::JsonError> {
        let plan = self.plan;
        if plan.rules_out(raw.as_bytes()) {
            return Ok(None);
        }
        json::flatten_only(raw, plan.projection.as_ref(), &mut self.flat)?;
        // a Windows export becomes the forwarder's XML event, unless a sourcetype other than
        // XmlWinEventLog is forced (`--sourcetype _json` keeps it plain JSON)
        let forced_xml = source
            .sourcetype
            .as_deref()
            .map(|st| st.eq_ignore_ascii_case(XML_SOURCETYPE));
        if forced_xml != Some(false) {
            match winjson::kind(&self.flat) {
                Some(kind) => return self.build_export(raw, kind, source, fallback_time),
                None if forced_xml == Some(true) => {
                    return Err(json::JsonError {
                        offset: 0,
                        message: "not a Windows event export (XmlWinEventLog from JSON needs \
                                  winlog.event_id and winlog.channel, or EventID, Channel and \
                                  Hostname or Computer)"
                            .into(),
                    })
                }
                None => {}
            }
        }
        let sourcetype: &str = match &source.sourcetype {
            Some(st) => st,
            None => sniff_sourcetype(&self.flat),
        };
        let time = time_of(self.knowledge, sourcetype, &self.flat)
            .or_else(|| time_in_text(raw))
            .unwrap_or(fallback_time);
        let src = self.source_value(source.source.as_deref().unwrap_or(&source.name));
        let host = self.v_host.clone();
        let (mut ev, st_index) =
            self.start_event(raw, self.flat.len(), time, src, sourcetype, host);
        for (name, v) in self.flat.drain() {
            // a JSON key named like a default field (e.g. `source`) does not replace it
            if is_default_field(&name) {
                continue;
            }
            ev.push(name, v);
        }
        Ok(self.finish_event(st_index, ev))
    }

    /// The event of a JSON export of a Windows event (see [`winjson`]): its XML rendered in the
    /// forwarder's form, then read as that text is.
    fn build_export(
        &mut self,
        raw: &str,
        kind: winjson::Export,
        source: &Source,
        fallback_time: f64,
    ) -> std::result::Result<Option<Event>, json::JsonError> {
        if self.plan.projection.is_some() {
            // the conversion needs every key, not only those the query names
            json::flatten(raw, &mut self.flat)?;
        }
        let tree = winjson::to_tree(&self.flat, kind);
        let mut xml = std::mem::take(&mut self.xml_buf);
        xml.clear();
        render::render(&tree, &mut xml);
        // rendered from a tree, the text is well formed: no need to check it
        let ev = self.build_checked_xml(&xml, source, fallback_time);
        self.xml_buf = xml;
        Ok(ev)
    }

    /// An event with its default fields (`_raw` unless the plan drops it, `_time`, `source`,
    /// `sourcetype`, `host`, `index`), room for `fields` more, and the place of its sourcetype's knowledge.
    fn start_event(
        &mut self,
        raw: &str,
        fields: usize,
        time: f64,
        source: Value,
        sourcetype: &str,
        host: Value,
    ) -> (Event, usize) {
        let mut ev = Event::with_capacity(fields + 6);
        if !self.plan.drop_raw {
            ev.push(self.f_raw.clone(), Value::str(raw));
        }
        ev.push(self.f_time.clone(), Value::Num(time));
        let st_index = self.kind_of_event(sourcetype, &source, &host);
        ev.push(self.f_source.clone(), source);
        let kind = self.v_sourcetypes.get(st_index);
        if let Some(k) = kind {
            ev.push(self.f_sourcetype.clone(), k.value.clone());
        }
        ev.push(self.f_host.clone(), host);
        ev.push(self.f_index.clone(), self.v_index.clone());
        if let Some(orig) = kind.and_then(|k| k.renamed_from.clone()) {
            ev.push(self.names.get("_sourcetype"), orig);
        }
        (ev, st_index)
    }

    /// The read plan's early filter, then the sourcetype's knowledge: the event, or `None` when it
    /// cannot match.
    fn finish_event(&self, st_index: usize, mut ev: Event) -> Option<Event> {
        let kind = self.v_sourcetypes.get(st_index);
        // the early filter leaves out the fields the knowledge makes; one that makes field names from
        // the event's text may make any field
        if let Some(pre) = &self.plan.prefilter {
            if !kind.is_some_and(|k| k.selection.makes_any_field()) && !pre(&ev) {
                return None;
            }
        }
        // an event the early filter rules out cannot matter; any other whose knowledge lacks a field
        // the search reads stops the run
        if let Some(why) = kind.and_then(|k| k.selection.unknown()) {
            let _ = self.plan.unknown.set(why.to_string());
            return None;
        }
        if let Some(k) = kind {
            if let Err(why) = self.knowledge.apply_selected(&mut ev, &k.selection) {
                let _ = self.plan.unknown.set(why);
                return None;
            }
        }
        Some(ev)
    }
}

impl EventBuilder<'_> {
    /// Build the event of one Windows XML event (`sourcetype=XmlWinEventLog`): `_raw` is its text,
    /// `source` is `XmlWinEventLog:<Channel>`, `host` the first label of `<Computer>`, `_time` its
    /// `SystemTime`, and the fields are those of the Windows add-on's generic XML extraction
    /// (see [`xml::extract`]). `None` when the read plan shows it cannot match.
    pub fn build_xml(
        &mut self,
        raw: &str,
        source: &Source,
        fallback_time: f64,
    ) -> std::result::Result<Option<Event>, String> {
        xml::check(raw)?;
        Ok(self.build_checked_xml(raw, source, fallback_time))
    }

    /// [`EventBuilder::build_xml`] of an EVTX record's text as [`evtx::forwarder_text`] makes it: well
    /// formed by construction (that function checks the nesting and the quoting as it writes), so only
    /// its root element's name is checked here.
    /// Its fields when [`ReadPlan::needs_xml_text`] says the text is not needed: the same event but for
    /// `_raw` and the `*_Xml` blocks, which the query does not read.
    pub fn build_evtx(
        &mut self,
        record: evtx::Record<'_>,
        source: &Source,
        fallback_time: f64,
    ) -> std::result::Result<Option<Event>, String> {
        let raw = match record {
            evtx::Record::Fields(x) => {
                return Ok(self.build_extracted("", x, source, fallback_time))
            }
            evtx::Record::Text(raw) => raw,
        };
        let root = raw.strip_prefix("<Event").and_then(|r| r.bytes().next());
        if !matches!(root, Some(b' ' | b'>' | b'/' | b'\t' | b'\n' | b'\r')) {
            return Err("not an <Event> element".into());
        }
        Ok(self.build_checked_xml(raw, source, fallback_time))
    }

    /// [`EventBuilder::build_xml`] of text known to be one well-formed `<Event>` element.
    fn build_checked_xml(
        &mut self,
        raw: &str,
        source: &Source,
        fallback_time: f64,
    ) -> Option<Event> {
        self.build_extracted(raw, xml::extract(raw), source, fallback_time)
    }

    /// The event of an XML event's extracted fields (`raw` is its text, unused when the plan drops it).
    fn build_extracted(
        &mut self,
        raw: &str,
        x: xml::Extracted<'_>,
        source: &Source,
        fallback_time: f64,
    ) -> Option<Event> {
        let sourcetype = source
            .sourcetype
            .clone()
            .unwrap_or_else(|| XML_SOURCETYPE.to_string());
        let time = x.system_time.and_then(parse_time).unwrap_or(fallback_time);
        let src = match (&source.source, x.channel) {
            (Some(s), _) => self.source_value(s),
            (None, Some(ch)) => self.source_value(&format!("XmlWinEventLog:{ch}")),
            (None, None) => self.source_value(&source.name),
        };
        let host = match x.computer.and_then(|c| c.split('.').next()) {
            Some(h) if !h.is_empty() => Value::str(h),
            _ => self.v_host.clone(),
        };
        // only the fields the query needs, as from JSON (see `ReadPlan::projection`)
        let projection = self.plan.projection.as_ref();
        let kept: Vec<(&str, &str)> = x
            .fields
            .iter()
            .filter(|(name, _)| {
                !DEFAULT_FIELDS.contains(name) && projection.is_none_or(|p| p.contains(name))
            })
            .copied()
            .collect();
        let (mut ev, st_index) = self.start_event(raw, kept.len(), time, src, &sourcetype, host);
        // repeated names become one multivalue field (the add-on's extractions append)
        for (i, (name, _)) in kept.iter().enumerate() {
            if kept[..i].iter().any(|(n, _)| n == name) {
                continue;
            }
            let values: Vec<Value> = kept[i..]
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| Value::str(v))
                .collect();
            if let Some(v) = Value::multi(values) {
                ev.push(self.names.get(name), v);
            }
        }
        self.finish_event(st_index, ev)
    }
}

/// The fields every event has without extraction; a field read from the event's own text with one of
/// these names does not replace it.
pub const DEFAULT_FIELDS: &[&str] = &["_raw", "_time", "source", "sourcetype", "host", "index"];

/// Is `name` one of [`DEFAULT_FIELDS`]? (Asked of every field of every event read.)
pub fn is_default_field(name: &str) -> bool {
    matches!(
        name,
        "_raw" | "_time" | "source" | "sourcetype" | "host" | "index"
    )
}

/// The sourcetype of Windows XML events.
pub const XML_SOURCETYPE: &str = "XmlWinEventLog";

/// `aws:cloudtrail` for an object with `eventVersion`, `eventSource` and `eventName`;
/// `aws:cloudtrail:lake` (the sourcetype security_content's `amazon_security_lake` macro searches) for an
/// Amazon Security Lake OCSF API Activity object: `api.operation` with `class_uid` or `metadata.product.name`;
/// `_json` otherwise.
/// The JSON keys [`sniff_sourcetype`] looks at (the reader extracts them whatever the query needs).
pub const SNIFF_FIELDS: &[&str] = &[
    "eventVersion",
    "eventSource",
    "eventName",
    "api.operation",
    "class_uid",
    "metadata.product.name",
];

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
/// `_time` of a flattened event of `sourcetype`, if it has one that parses: from the field the knowledge
/// names for the sourcetype, else from the first of the default time fields that parses.
fn time_of(knowledge: &Knowledge, sourcetype: &str, flat: &json::Flat) -> Option<f64> {
    let parsed = |f: &str| flat.first(f).and_then(|v| parse_time(&v.text()));
    match knowledge.time_field(sourcetype) {
        Some(f) => parsed(f),
        None => crate::props::DEFAULT_TIME_FIELDS
            .iter()
            .find_map(|f| parsed(f)),
    }
}

/// Splunk's default `MAX_TIMESTAMP_LOOKAHEAD`: how far into an event its timestamp may start.
pub const TIMESTAMP_LOOKAHEAD: usize = 128;

/// The time of a JSON event that has none of the time fields its knowledge names: as Splunk's timestamp
/// recognition does without a `TIME_PREFIX`, the first date and time written in the event's first
/// [`TIMESTAMP_LOOKAHEAD`] characters — here the first quoted value there that is an ISO-8601 date and
/// time (`"recorded":"2023-05-10T14:10:53.538Z"`). Numbers are not taken (an id is as likely as an epoch).
pub fn time_in_text(raw: &str) -> Option<f64> {
    let end = raw
        .char_indices()
        .nth(TIMESTAMP_LOOKAHEAD)
        .map_or(raw.len(), |(i, _)| i);
    let head = &raw[..end];
    let mut rest = raw;
    let mut offset = 0;
    while let Some(q) = rest.find('"') {
        let start = offset + q + 1;
        if start > head.len() {
            return None;
        }
        let after = &raw[start..];
        let close = after.find('"')?;
        let text = &after[..close];
        let b = text.as_bytes();
        let looks_like_date = b.len() >= 19
            && b[..4].iter().all(u8::is_ascii_digit)
            && b[4] == b'-'
            && b[7] == b'-'
            && (b[10] == b'T' || b[10] == b' ')
            && b[13] == b':';
        if looks_like_date {
            if let Some(t) = parse_time(text) {
                return Some(t);
            }
        }
        offset = start + close + 1;
        rest = &raw[offset..];
    }
    None
}

pub fn parse_time(text: &str) -> Option<f64> {
    let t = text.trim();
    if let Some(x) = utc_time(t.as_bytes()) {
        return Some(x);
    }
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

/// `YYYY-MM-DDTHH:MM:SSZ`, with an optional fraction of up to nine digits before the `Z` (CloudTrail's
/// `eventTime`), read without chrono: every event's time is read here. `None` for anything else
/// (including a leap second), which [`parse_time`] then reads with chrono.
fn utc_time(b: &[u8]) -> Option<f64> {
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + (c - b'0') as i64)
        })
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let (frac, rest) = match b[19] {
        b'.' => {
            let digits = b[20..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 || digits > 9 {
                return None;
            }
            let nanos = num(20..20 + digits)? * 10i64.pow(9 - digits as u32);
            (nanos, &b[20 + digits..])
        }
        _ => (0, &b[19..]),
    };
    if rest != b"Z" || !(1..=12).contains(&mo) || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if d < 1 || d > month_days[(mo - 1) as usize] {
        return None;
    }
    // days from 1970-01-01 to the date (the civil-calendar count of H. Hinnant's `days_from_civil`)
    let (yy, m) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    // seconds and nanoseconds added as [`parse_time`] adds chrono's
    Some(secs as f64 + frac as f64 / 1e9)
}

/// A file's modification time in epoch seconds (the time of events that have none of their own).
fn modified(file: &std::fs::File) -> f64 {
    file.metadata()
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
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
        Content::File(path) if evtx_file(path) => {
            return read_evtx(path, None, source, builder, sink);
        }
        Content::File(path) if has_evtx_name(path) => {
            report.error = Some("not an EVTX file (no `ElfFile` header)".into());
            return report;
        }
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

/// Read events from bytes in memory exactly as a file holding them is read (gzip-compressed or not).
pub fn read_bytes(
    data: &[u8],
    source: &Source,
    builder: &mut EventBuilder<'_>,
    sink: &mut dyn FnMut(Event) -> ControlFlow<()>,
) -> FileReport {
    let mut report = FileReport {
        source: source.name.clone(),
        ..FileReport::default()
    };
    if evtx::is_evtx(data) {
        return read_evtx_bytes(data, 0.0, source, builder, sink);
    }
    let reader: Box<dyn BufRead + '_> = if data.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::new(flate2::bufread::MultiGzDecoder::new(data)))
    } else {
        Box::new(data)
    };
    read_stream(reader, source, builder, 0.0, &mut report, sink);
    report
}

fn open(path: &Path) -> std::result::Result<(Box<dyn BufRead>, f64), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mtime = modified(&file);
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
    mut reader: Box<dyn BufRead + '_>,
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
            let looks_xml = match reader.fill_buf() {
                Ok(head) => is_xml_source(source, text, head),
                Err(_) => is_xml_source(source, text, &[]),
            };
            if looks_xml {
                read_xml(reader, &line, line_no, source, builder, mtime, report, sink);
                return;
            }
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
            report.lines = line_no;
            return;
        }
    }
    report.lines = line_no;
}

/// Is this source Windows XML: forced with `--sourcetype XmlWinEventLog`, or its first line starts with
/// `<`, or its first line is not JSON and a line starting with `<Event` follows it in `rest` (the start of
/// the file after the first line; a file may begin with a title line)?
fn is_xml_source(source: &Source, first_line: &[u8], rest: &[u8]) -> bool {
    let t = first_line.trim_ascii_start();
    if let Some(st) = &source.sourcetype {
        // a JSON export given `--sourcetype XmlWinEventLog` is read as JSON and converted
        return st.eq_ignore_ascii_case(XML_SOURCETYPE)
            && !t.starts_with(b"{")
            && !t.starts_with(b"[");
    }
    t.starts_with(b"<")
        || (!t.starts_with(b"{")
            && !t.starts_with(b"[")
            && rest
                .split(|&c| c == b'\n')
                .take(8)
                .any(|l| l.starts_with(b"<Event ") || l.starts_with(b"<Event>")))
}

/// Does this line start an `<Event>` element?
fn starts_event(text: &[u8]) -> bool {
    let t = text.trim_ascii_start();
    t.starts_with(b"<Event ") || t.starts_with(b"<Event>") || t.starts_with(b"<Event\t")
}

/// Read Windows XML events: each runs from a line starting with `<Event` to the first `</Event>`, over one
/// line or several. An event that does not close before the next one starts (or the file ends), bad XML,
/// and text outside events are each counted as one malformed event at the line where they start.
#[allow(clippy::too_many_arguments)]
fn read_xml(
    mut reader: Box<dyn BufRead + '_>,
    first: &[u8],
    first_no: u64,
    source: &Source,
    builder: &mut EventBuilder<'_>,
    mtime: f64,
    report: &mut FileReport,
    sink: &mut dyn FnMut(Event) -> ControlFlow<()>,
) {
    const END: &[u8] = b"</Event>";
    let mut line = first.to_vec();
    let mut line_no = first_no;
    let mut pending: Vec<u8> = Vec::new();
    let mut start_no = 0;
    loop {
        let mut rest: &[u8] = &line;
        if line_no == first_no {
            rest = rest.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(rest);
        }
        while !rest.is_empty() {
            if pending.is_empty() || starts_event(rest) {
                if !pending.is_empty() {
                    bad(report, start_no, "unclosed <Event>".into());
                    pending.clear();
                }
                rest = rest.trim_ascii_start();
                if rest.is_empty() {
                    break;
                }
                if !starts_event(rest) {
                    bad(report, line_no, "not an <Event> element".into());
                    break;
                }
                start_no = line_no;
            }
            match memchr::memmem::find(rest, END) {
                Some(k) => {
                    let (ev, after) = rest.split_at(k + END.len());
                    pending.extend_from_slice(ev);
                    rest = after;
                    let flow = xml_event(&pending, start_no, source, builder, mtime, report, sink);
                    pending.clear();
                    if flow.is_break() {
                        report.lines = line_no;
                        return;
                    }
                }
                None => {
                    pending.extend_from_slice(rest);
                    break;
                }
            }
        }
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => line_no += 1,
            Err(e) => {
                report.error = Some(format!("read error after line {line_no}: {e}"));
                break;
            }
        }
    }
    if !pending.is_empty() && !pending.iter().all(|c| c.is_ascii_whitespace()) {
        bad(report, start_no, "unclosed <Event>".into());
    }
    report.lines = line_no;
}

fn xml_event(
    raw: &[u8],
    line_no: u64,
    source: &Source,
    builder: &mut EventBuilder<'_>,
    mtime: f64,
    report: &mut FileReport,
    sink: &mut dyn FnMut(Event) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let Ok(raw) = std::str::from_utf8(raw) else {
        bad(report, line_no, "invalid UTF-8".into());
        return ControlFlow::Continue(());
    };
    match builder.build_xml(raw, source, mtime) {
        Ok(Some(ev)) => {
            report.events += 1;
            sink(ev)
        }
        Ok(None) => {
            report.events += 1;
            ControlFlow::Continue(())
        }
        Err(why) => {
            bad(report, line_no, why);
            ControlFlow::Continue(())
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
    if builder.plan.rules_out(text) && RECORDS_KEY.find(text).is_none() {
        report.events += 1;
        return ControlFlow::Continue(());
    }
    let Ok(text) = std::str::from_utf8(text) else {
        bad(report, line_no, "invalid UTF-8".into());
        return ControlFlow::Continue(());
    };
    let text = text.trim_start();
    let members = match text.as_bytes().first() {
        // only an object that mentions `"Records"` can be a CloudTrail delivery file
        Some(b'{') if RECORDS_KEY.find(text.as_bytes()).is_none() => None,
        Some(b'{') => match json::records_members(text) {
            Ok(m) => m,
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
        let Some(raw) = text.get(a..b) else {
            continue;
        };
        match builder.build(raw, source, mtime) {
            Ok(Some(ev)) => {
                report.events += 1;
                sink(ev)?;
            }
            Ok(None) => report.events += 1,
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
    let Ok(text) = std::str::from_utf8(doc) else {
        bad(
            report,
            first_line,
            "invalid UTF-8 (the rest of the document is unreadable)".into(),
        );
        return;
    };
    match json::validate(text) {
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
                source: src.source.clone(),
            }
        })
        .collect()
}

/// A piece of reading work: a whole source, or a byte range of a large file of one-event-per-line JSON,
/// or a group of whole chunks of an EVTX file.
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    /// Index into the sources.
    pub source: usize,
    /// Byte range; always starts at a line start (at a chunk start in an EVTX file).
    pub range: Option<(u64, u64)>,
    /// A gzip file of one JSON value per line: decompressed on a thread of its own and read in pieces
    /// of whole lines ([`gzip_pieces`], [`read_piece`]) on the other cores.
    pub gzip_lines: bool,
}

/// Split the sources into units of about `bytes` each. Only plain (not gzip) files whose first line is a
/// complete JSON value are split, at line boundaries.
pub fn units(sources: &[Source], bytes: u64) -> Vec<Unit> {
    let mut out = Vec::new();
    for (i, src) in sources.iter().enumerate() {
        let whole = Unit {
            source: i,
            range: None,
            gzip_lines: false,
        };
        let Content::File(path) = &src.content else {
            out.push(whole);
            continue;
        };
        if evtx_file(path) {
            let len = std::fs::metadata(path).map_or(0, |m| m.len());
            let ranges = evtx::chunk_ranges(len, bytes);
            if ranges.len() > 1 {
                out.extend(ranges.into_iter().map(|r| Unit {
                    source: i,
                    range: Some(r),
                    gzip_lines: false,
                }));
            } else {
                out.push(whole);
            }
            continue;
        }
        if src
            .sourcetype
            .as_deref()
            .is_some_and(|st| st.eq_ignore_ascii_case(XML_SOURCETYPE))
        {
            out.push(whole);
            continue;
        }
        match split_points(path, bytes) {
            Some(points) if points.len() > 2 => {
                for w in points.windows(2) {
                    out.push(Unit {
                        source: i,
                        range: Some((w[0], w[1])),
                        gzip_lines: false,
                    });
                }
            }
            _ if gzip_of_lines(path) => out.push(Unit {
                gzip_lines: true,
                ..whole
            }),
            _ => out.push(whole),
        }
    }
    out
}

fn split_points(path: &Path, bytes: u64) -> Option<Vec<u64>> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    if len <= bytes {
        return None;
    }
    let mut head = vec![0u8; 64 * 1024];
    let n = f.read(&mut head).ok()?;
    let head = &head[..n];
    if head.starts_with(&[0x1f, 0x8b]) {
        return None;
    }
    if !lines_of_json(head) {
        return None;
    }
    let mut points = vec![0u64];
    let mut at = bytes;
    let mut buf = vec![0u8; 64 * 1024];
    while at < len {
        f.seek(SeekFrom::Start(at)).ok()?;
        let mut pos = at;
        let next = loop {
            let n = f.read(&mut buf).ok()?;
            if n == 0 {
                break len;
            }
            if let Some(k) = memchr::memchr(b'\n', &buf[..n]) {
                break pos + k as u64 + 1;
            }
            pos += n as u64;
        };
        if next >= len {
            break;
        }
        points.push(next);
        at = next + bytes;
    }
    points.push(len);
    Some(points)
}

/// Does a file starting with `head` hold one JSON value per line (so that it may be read in pieces
/// cut at line ends)? Not when its first line starts a pretty-printed document or XML, is blank, or
/// fills the whole head.
fn lines_of_json(head: &[u8]) -> bool {
    let Some(first_line) = head.split(|&b| b == b'\n').next() else {
        return false;
    };
    !(starts_document(&String::from_utf8_lossy(first_line))
        || first_line.len() == head.len()
        || first_line.trim_ascii().is_empty()
        || first_line.trim_ascii_start().starts_with(b"<")
        || memchr::memmem::find(head, b"\n<Event").is_some())
}

/// Is this a gzip file whose decompressed text holds one JSON value per line?
fn gzip_of_lines(path: &Path) -> bool {
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let mut r = BufReader::new(f);
    if !r.fill_buf().is_ok_and(|h| h.starts_with(&[0x1f, 0x8b])) {
        return false;
    }
    let mut gz = flate2::bufread::MultiGzDecoder::new(r);
    let mut head = Vec::with_capacity(64 * 1024);
    if (&mut gz).take(64 * 1024).read_to_end(&mut head).is_err() {
        // a damaged file is read as one stream, which reports where it breaks
        return false;
    }
    lines_of_json(&head)
}

/// What the decompressing thread of a gzip file hands on (see [`gzip_pieces`]).
pub enum Piece {
    /// Whole lines of decompressed text.
    Lines(Vec<u8>),
    /// The end of the file: `Some(why)` when it could not be read to its end.
    End(Option<String>),
}

/// Decompress a gzip file and hand on its text in pieces of whole lines of about `bytes` each, then
/// [`Piece::End`]. Stops early when `send` breaks (the query needs no more).
pub fn gzip_pieces(path: &Path, bytes: usize, send: &mut dyn FnMut(Piece) -> ControlFlow<()>) {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            let _ = send(Piece::End(Some(format!("cannot open: {e}"))));
            return;
        }
    };
    let mut gz = flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(256 * 1024, file));
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let mut buf = Vec::with_capacity(bytes + 64 * 1024);
        buf.append(&mut carry);
        let mut eof = false;
        while buf.len() < bytes {
            match (&mut gz)
                .take((bytes - buf.len()) as u64)
                .read_to_end(&mut buf)
            {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    if !buf.is_empty() {
                        let _ = send(Piece::Lines(buf));
                    }
                    let _ = send(Piece::End(Some(format!("read error: {e}"))));
                    return;
                }
            }
        }
        if !eof {
            // the piece ends at its last line end; the rest starts the next piece
            match memchr::memrchr(b'\n', &buf) {
                Some(k) => carry = buf.split_off(k + 1),
                // one line longer than a piece: keep reading it
                None => {
                    carry = buf;
                    continue;
                }
            }
        }
        if !buf.is_empty() && send(Piece::Lines(buf)).is_break() {
            return;
        }
        if eof {
            let _ = send(Piece::End(None));
            return;
        }
    }
}

/// The modification time of a file, as epoch seconds (the time of events that have none).
pub fn file_mtime(path: &Path) -> f64 {
    std::fs::File::open(path).map_or(0.0, |f| modified(&f))
}

/// Read one piece of a gzip file's lines (see [`gzip_pieces`]); line numbers count from its start.
pub fn read_piece(
    source: &Source,
    lines: &[u8],
    mtime: f64,
    builder: &mut EventBuilder<'_>,
    sink: &mut dyn FnMut(Event) -> ControlFlow<()>,
) -> UnitReport {
    let mut report = FileReport {
        source: source.name.clone(),
        ..FileReport::default()
    };
    read_lines(lines, source, builder, mtime, &mut report, sink);
    report
}

/// Read one JSON value per line of `buf`.
fn read_lines(
    buf: &[u8],
    source: &Source,
    builder: &mut EventBuilder<'_>,
    mtime: f64,
    report: &mut FileReport,
    sink: &mut dyn FnMut(Event) -> ControlFlow<()>,
) {
    let mut line_no = 0;
    let mut start = 0;
    while start < buf.len() {
        let end = memchr::memchr(b'\n', &buf[start..]).map_or(buf.len(), |k| start + k);
        line_no += 1;
        let text = trim_line(&buf[start..end]);
        start = end + 1;
        if text.iter().all(|c| c.is_ascii_whitespace()) {
            continue;
        }
        if read_value(text, line_no, source, builder, mtime, report, sink).is_break() {
            break;
        }
    }
    report.lines = line_no;
}

/// Read one unit (see [`units`]).
pub fn read_unit(
    source: &Source,
    unit: &Unit,
    builder: &mut EventBuilder<'_>,
    sink: &mut dyn FnMut(Event) -> ControlFlow<()>,
) -> UnitReport {
    let Some((start, end)) = unit.range else {
        return read_source(source, builder, sink);
    };
    let mut report = FileReport {
        source: source.name.clone(),
        ..FileReport::default()
    };
    let Content::File(path) = &source.content else {
        return read_source(source, builder, sink);
    };
    if evtx_file(path) {
        return read_evtx(path, Some((start, end)), source, builder, sink);
    }
    // each reading thread reuses one buffer: a fresh one per part costs page faults
    let mut buf = UNIT_BUF.with(|b| std::mem::take(&mut *b.borrow_mut()));
    buf.clear();
    let data = (|| -> std::io::Result<f64> {
        use std::io::{Seek, SeekFrom};
        let mut f = std::fs::File::open(path)?;
        let mtime = modified(&f);
        f.seek(SeekFrom::Start(start))?;
        buf.reserve((end - start) as usize);
        f.take(end - start).read_to_end(&mut buf)?;
        Ok(mtime)
    })();
    let mtime = match data {
        Ok(x) => x,
        Err(e) => {
            report.error = Some(format!("cannot read: {e}"));
            UNIT_BUF.with(|b| *b.borrow_mut() = buf);
            return report;
        }
    };
    read_lines(&buf, source, builder, mtime, &mut report, sink);
    UNIT_BUF.with(|b| *b.borrow_mut() = buf);
    report
}

thread_local! {
    static UNIT_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Does this file start with the EVTX magic?
fn evtx_file(path: &Path) -> bool {
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && evtx::is_evtx(&head)
}

/// Does a chunk after chunk `number` of this EVTX file (of `len` bytes) have a chunk header?
fn live_chunk_after_in_file(path: &Path, len: u64, number: u64) -> bool {
    use std::io::{Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut at = evtx::HEADER_SIZE + (number + 1) * evtx::CHUNK_SIZE;
    let mut magic = [0u8; 8];
    while at + evtx::CHUNK_SIZE <= len {
        if f.seek(SeekFrom::Start(at)).is_err() || f.read_exact(&mut magic).is_err() {
            return false;
        }
        if &magic == b"ElfChnk\0" {
            return true;
        }
        at += evtx::CHUNK_SIZE;
    }
    false
}

fn has_evtx_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
}

/// Read an EVTX file, or the chunks in `range` of it (see [`evtx`]), a few chunks at a time.
fn read_evtx(
    path: &Path,
    range: Option<(u64, u64)>,
    source: &Source,
    builder: &mut EventBuilder<'_>,
    sink: &mut dyn FnMut(Event) -> ControlFlow<()>,
) -> FileReport {
    use std::io::{Seek, SeekFrom};
    let mut report = evtx_report(source);
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            report.error = Some(format!("cannot open: {e}"));
            return report;
        }
    };
    let mtime = modified(&f);
    let len = f.metadata().map_or(0, |m| m.len());
    if range.is_none_or(|r| r.0 < evtx::HEADER_SIZE) && len < evtx::HEADER_SIZE {
        report.error = Some(truncated_evtx(len));
        return report;
    }
    let (start, end) = range.unwrap_or((evtx::HEADER_SIZE, len));
    let (start, end) = (start.max(evtx::HEADER_SIZE), end.min(len));
    let mut state = EvtxState::new(mtime);
    let group = 16 * evtx::CHUNK_SIZE;
    let mut buf = Vec::new();
    let mut at = start;
    while at < end {
        let n = group.min(end - at);
        buf.clear();
        let read = f
            .seek(SeekFrom::Start(at))
            .and_then(|_| (&mut f).take(n).read_to_end(&mut buf));
        if let Err(e) = read {
            report.error = Some(format!("read error at byte {at}: {e}"));
            break;
        }
        let first_chunk = (at - evtx::HEADER_SIZE) / evtx::CHUNK_SIZE;
        let mut live_after = |n: u64| live_chunk_after_in_file(path, len, n);
        if state
            .read(&buf, first_chunk, &mut live_after, source, builder, sink)
            .is_break()
        {
            break;
        }
        at += n;
    }
    state.finish(&mut report);
    report
}

/// Read an EVTX file held in memory.
fn read_evtx_bytes(
    data: &[u8],
    mtime: f64,
    source: &Source,
    builder: &mut EventBuilder<'_>,
    sink: &mut dyn FnMut(Event) -> ControlFlow<()>,
) -> FileReport {
    let mut report = evtx_report(source);
    match data.get(evtx::HEADER_SIZE as usize..) {
        Some(chunks) => {
            let mut state = EvtxState::new(mtime);
            let mut live_after = |n: u64| evtx::live_chunk_after(chunks, n);
            let _ = state.read(chunks, 0, &mut live_after, source, builder, sink);
            state.finish(&mut report);
        }
        None => report.error = Some(truncated_evtx(data.len() as u64)),
    }
    report
}

/// The empty report of an EVTX source (its counts are of records, not lines).
fn evtx_report(source: &Source) -> FileReport {
    FileReport {
        source: source.name.clone(),
        records: true,
        ..FileReport::default()
    }
}

fn truncated_evtx(len: u64) -> String {
    format!(
        "truncated EVTX file: {len} bytes, less than its {} byte header",
        evtx::HEADER_SIZE
    )
}

/// The counts of an EVTX read in progress.
struct EvtxState {
    chunks: evtx::ChunkReport,
    events: u64,
    /// Records whose text does not build an event: (ordinal, reason).
    unbuilt: Vec<(u64, String)>,
    mtime: f64,
}

impl EvtxState {
    fn new(mtime: f64) -> Self {
        EvtxState {
            chunks: evtx::ChunkReport::default(),
            events: 0,
            unbuilt: Vec::new(),
            mtime,
        }
    }

    fn read(
        &mut self,
        data: &[u8],
        first_chunk: u64,
        live_after: &mut dyn FnMut(u64) -> bool,
        source: &Source,
        builder: &mut EventBuilder<'_>,
        sink: &mut dyn FnMut(Event) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let (events, unbuilt, mtime) = (&mut self.events, &mut self.unbuilt, self.mtime);
        let plan: &ReadPlan = builder.plan;
        let wanted = |name: &str| plan.projection.as_ref().is_none_or(|p| p.contains(name));
        let fields_only = (!plan.needs_xml_text()).then_some(&wanted as &dyn Fn(&str) -> bool);
        evtx::read_chunks(
            data,
            first_chunk,
            live_after,
            &mut self.chunks,
            fields_only,
            &mut |ordinal, record| match builder.build_evtx(record, source, mtime) {
                Ok(Some(ev)) => {
                    *events += 1;
                    sink(ev)
                }
                Ok(None) => {
                    *events += 1;
                    ControlFlow::Continue(())
                }
                Err(why) => {
                    unbuilt.push((ordinal, why));
                    ControlFlow::Continue(())
                }
            },
        )
    }

    fn finish(self, report: &mut FileReport) {
        let c = self.chunks;
        report.events = self.events;
        report.bad_lines = c.bad_records.len() as u64 + c.missing + self.unbuilt.len() as u64;
        report.first_bad = c
            .bad_records
            .into_iter()
            .chain(self.unbuilt)
            .min_by_key(|b| b.0);
        if report.first_bad.is_none() && c.missing > 0 {
            report.first_bad = Some((
                c.seen + 1,
                format!(
                    "{} records named by chunk headers were not found",
                    c.missing
                ),
            ));
        }
        report.lines = c.seen + c.missing;
        report.bad_chunks = c.bad_chunks;
    }
}

#[cfg(test)]
mod time_tests {
    use super::{time_in_text, utc_time};

    #[test]
    fn utc_times_read_as_chrono_reads_them() {
        let mut texts: Vec<String> = vec![
            "2024-02-29T23:59:59Z".into(),
            "2023-02-29T00:00:00Z".into(),
            "1970-01-01T00:00:00Z".into(),
            "1969-12-31T23:59:59.5Z".into(),
            "2000-12-31T12:00:00.123456789Z".into(),
            "2024-03-01T10:15:00.1234567891Z".into(),
            "2024-13-01T10:15:00Z".into(),
            "2024-03-01T24:00:00Z".into(),
            "2016-12-31T23:59:60Z".into(),
            "2024-03-01T10:15:00+01:00".into(),
            "2024-03-01T10:15:00.Z".into(),
            "0001-01-01T00:00:00Z".into(),
            "9999-12-31T23:59:59.999Z".into(),
        ];
        let mut seed = 88172645463325252u64;
        for _ in 0..5000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let r = |k: u64, m: u64| (seed >> k) % m;
            texts.push(format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}Z",
                1900 + r(0, 300),
                1 + r(9, 12),
                1 + r(14, 31),
                r(19, 24),
                r(24, 60),
                r(30, 60),
                match r(36, 3) {
                    0 => String::new(),
                    1 => format!(".{:03}", r(40, 1000)),
                    _ => format!(".{:06}", r(40, 1_000_000)),
                }
            ));
        }
        for t in &texts {
            let chrono = chrono::DateTime::parse_from_rfc3339(t)
                .ok()
                .filter(|dt| dt.timestamp_subsec_nanos() < 1_000_000_000)
                .map(|dt| dt.timestamp() as f64 + dt.timestamp_subsec_nanos() as f64 / 1e9);
            match utc_time(t.as_bytes()) {
                Some(x) => assert_eq!(Some(x), chrono, "{t}"),
                // what is not read here is read by chrono, or by nothing
                None => assert!(
                    !t.ends_with('Z') || chrono.is_none() || t.contains(":60") || t.len() > 30,
                    "{t}"
                ),
            }
        }
    }

    #[test]
    fn the_first_date_in_the_first_128_characters() {
        let t = time_in_text(
            r#"{"source":"PINGID","id":"b2eb","recorded":"2023-05-10T14:10:53.538Z","x":"2024-01-01T00:00:00Z"}"#,
        );
        assert_eq!(t, Some(1683727853.538));
        // numbers and other strings are passed over
        assert_eq!(time_in_text(r#"{"id":1683727853,"a":"b"}"#), None);
        // a date starting past the lookahead is not taken
        let far = format!(
            r#"{{"pad":"{}","t":"2023-05-10T14:10:53Z"}}"#,
            "x".repeat(130)
        );
        assert_eq!(time_in_text(&far), None);
        assert_eq!(
            time_in_text(r#"{"t":"2023-05-10 14:10:53"}"#),
            Some(1683727853.0)
        );
        assert_eq!(time_in_text(r#"{"t":"2023-05-10T99:10:53Z"}"#), None);
        assert_eq!(time_in_text("{\"t\":\"2023-05"), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A required value is found in any ASCII case, wherever it starts or ends, and only whole.
    #[test]
    fn a_required_value_is_found_in_any_case() {
        let found =
            |hay: &str, needle: &str| contains_ignore_ascii_case(hay.as_bytes(), needle.as_bytes());
        assert!(found(
            r#"{"eventName":"DescribeInstances"}"#,
            "describeinstances"
        ));
        assert!(found("DESCRIBEINSTANCES", "describeinstances"));
        assert!(found("xyz", "xyz"));
        assert!(found("zzz", "z"));
        assert!(found("abc", ""));
        assert!(found("..q-9", "q-9"));
        assert!(!found("xy", "xyz"));
        assert!(!found("yz", "xyz"));
        assert!(!found("DescribeInstance", "describeinstances"));
        assert!(!found("x x x x", "x-x"));
        // the rare byte met first where the text cannot start
        assert!(found("q zq", "zq"));
        let lit = RawLiteral::new(Some(b"eventName\""), Some(b"NoSuchEvent"));
        assert!(lit.found_in(br#"{"eventName":"NOSUCHEVENT"}"#));
        assert!(lit.found_in(br#"{"eventName":"NoSuchEvents0"}"#));
        assert!(!lit.found_in(br#"{"eventname":"NoSuchEvent"}"#));
        assert!(!lit.found_in(br#"{"eventName":"NoSuch Event"}"#));
    }
}
