//! Binary Windows event logs (`.evtx`), read with the `evtx` crate.
//!
//! A file is a 4 KiB header (magic `ElfFile\0`) and 64 KiB chunks (magic `ElfChnk\0`), each holding
//! whole records. Chunks are independent, so a large file is read as groups of chunks on every core
//! (see [`chunk_ranges`]); memory is the chunks in flight, not the file.
//!
//! Each record becomes the event that the Universal Forwarder's `XmlWinEventLog` text of it gives: the
//! crate's XML of the record is parsed into an [`Element`] tree (values unescaped, the crate's
//! double quotes and XML declaration dropped), put into the forwarder's form where the two differ
//! (see [`forwarder_form`]), rendered with [`render`](super::render) and built like a text event.
//!
//! Nothing is lost silently: a record that fails to parse is counted as bad with its reason, a chunk
//! whose header is damaged is reported with its number (its records cannot be counted), and the
//! rest of the file is read. All-zero chunks are unused space (a log file is allocated ahead) and
//! are skipped.

use super::render::{Element, Node};
use std::ops::ControlFlow;
use std::sync::Arc;

/// The file header's magic.
pub const MAGIC: &[u8; 8] = b"ElfFile\0";
/// The file header's size: the first chunk starts here.
pub const HEADER_SIZE: u64 = 4096;
/// The size of a chunk.
pub const CHUNK_SIZE: u64 = 65536;

/// Does this file start with the EVTX magic?
pub fn is_evtx(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// Byte ranges of groups of whole chunks of about `bytes` each, covering a file of `len` bytes
/// (the header is not in any; a partial chunk at the end is in the last group).
pub fn chunk_ranges(len: u64, bytes: u64) -> Vec<(u64, u64)> {
    let per = (bytes / CHUNK_SIZE).max(1) * CHUNK_SIZE;
    let mut out = Vec::new();
    let mut at = HEADER_SIZE;
    while at < len {
        let end = (at + per).min(len);
        out.push((at, end));
        at = end;
    }
    out
}

/// What reading some chunks gave.
#[derive(Debug, Default)]
pub struct ChunkReport {
    /// Records handed on.
    pub records: u64,
    /// Records that could not be read: (record ordinal within these chunks, 1-based; reason).
    pub bad_records: Vec<(u64, String)>,
    /// Records counted as bad without an ordinal of their own (a chunk's header names more records
    /// than could be found in it).
    pub missing: u64,
    /// Chunks whose header is damaged: (chunk number in the file, reason).
    pub bad_chunks: Vec<(u64, String)>,
    /// Records seen (read or bad), to number the records of the next group.
    pub seen: u64,
}

/// One record as [`read_chunks`] hands it on.
pub enum Record<'a> {
    /// Its text in the forwarder's form.
    Text(&'a str),
    /// The fields the add-on's extraction takes from that text, but the `*_Xml` blocks (see
    /// [`fields_of_record`]), when the reader asked for fields only.
    Fields(super::xml::Extracted<'a>),
}

/// Read the chunks in `data`, which starts at chunk number `first_chunk`; each record goes to `sink`
/// with its ordinal (as in [`ChunkReport::bad_records`]) until it answers `Break`: as the fields
/// `fields_only` names when it is given and the record has the plain shape, else as its text. `live_after(n)` tells whether
/// a chunk after chunk `n` of the file has a chunk header (an all-zero chunk before one is reported).
pub fn read_chunks(
    data: &[u8],
    first_chunk: u64,
    live_after: &mut dyn FnMut(u64) -> bool,
    report: &mut ChunkReport,
    fields_only: Option<&dyn Fn(&str) -> bool>,
    sink: &mut dyn FnMut(u64, Record<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let settings = Arc::new(evtx::ParserSettings::new().indent(false));
    let mut raw = String::new();
    let mut scratch = Scratch::default();
    for (i, chunk) in data.chunks(CHUNK_SIZE as usize).enumerate() {
        let number = first_chunk + i as u64;
        if chunk.iter().all(|&b| b == 0) {
            // unused space at the end of the file; before a live chunk it is a lost chunk
            if live_after(number) {
                report
                    .bad_chunks
                    .push((number, "all zeros, before live chunks".into()));
            }
            continue;
        }
        if chunk.len() < CHUNK_SIZE as usize {
            report.bad_chunks.push((
                number,
                format!("truncated: {} of {CHUNK_SIZE} bytes", chunk.len()),
            ));
            continue;
        }
        let mut cd = match evtx::EvtxChunkData::new(chunk.to_vec(), false) {
            Ok(c) => c,
            Err(e) => {
                report.bad_chunks.push((number, chain(&e)));
                continue;
            }
        };
        cd.number = Some(number);
        let header = &cd.header;
        let expected = header
            .last_event_record_id
            .checked_sub(header.first_event_record_id)
            .and_then(|d| d.checked_add(1));
        let mut parsed = match cd.parse(settings.clone()) {
            Ok(p) => p,
            Err(e) => {
                report.bad_chunks.push((number, chain(&e)));
                continue;
            }
        };
        let mut in_chunk = 0u64;
        for record in parsed.iter() {
            in_chunk += 1;
            report.seen += 1;
            let xml = record
                .map_err(|e| chain(&e))
                .and_then(|r| r.into_xml().map_err(|e| chain(&e)));
            let fields = match &xml {
                Ok(r) => fields_only.and_then(|w| fields_of_record(&r.data, w, &mut scratch)),
                _ => None,
            };
            if let Some(x) = fields {
                report.records += 1;
                sink(report.seen, Record::Fields(x))?;
                continue;
            }
            let text = xml.and_then(|r| {
                raw.clear();
                forwarder_text(&r.data, &mut raw)
            });
            match text {
                Ok(()) => {
                    report.records += 1;
                    sink(report.seen, Record::Text(&raw))?;
                }
                Err(why) => report
                    .bad_records
                    .push((report.seen, format!("chunk {number}: {why}"))),
            }
        }
        // a record the crate could not find at all is still a record of the file
        if let Some(n) = expected.filter(|&n| n <= 65536 / 24) {
            report.missing += n.saturating_sub(in_chunk);
        }
    }
    ControlFlow::Continue(())
}

/// An error and its causes, one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The forwarder's text of one record from the crate's XML of it: what [`parse`], [`forwarder_form`]
/// and [`render`](super::render::render) give, in one pass without building the tree (the tests check
/// that the two agree on every record of the real files).
pub fn forwarder_text(xml: &str, out: &mut String) -> Result<(), String> {
    let b = xml.as_bytes();
    let mut i = 0;
    let mut open: Vec<&str> = Vec::new();
    let mut roots = 0;
    let mut value = String::new();
    while i < b.len() {
        if b[i] != b'<' {
            let end = memchr::memchr(b'<', &b[i..]).map_or(b.len(), |k| i + k);
            let chunk = xml.get(i..end).unwrap_or_default();
            if open.is_empty() {
                if !chunk.trim().is_empty() {
                    return Err("text outside the event element".into());
                }
            } else if chunk.len() != 38 && memchr::memchr2(b'&', b'>', chunk.as_bytes()).is_none() {
                // nothing to unescape, upper-case or escape: the text as it is
                out.push_str(chunk);
            } else {
                value.clear();
                unescape(chunk, &mut value)?;
                upper_guid(&mut value);
                escape_into(&value, false, out);
            }
            i = end;
            continue;
        }
        let rest = xml.get(i..).unwrap_or_default();
        if rest.starts_with("<?") {
            i += rest.find("?>").ok_or("unclosed declaration")? + 2;
        } else if rest.starts_with("<!") {
            // comments and CDATA sections (which the crate does not write): the tree route
            out.clear();
            let mut event = parse(xml)?;
            forwarder_form(&mut event);
            super::render::render(&event, out);
            return Ok(());
        } else if let Some(close) = rest.strip_prefix("</") {
            let end = close.find('>').ok_or("unclosed end tag")?;
            let name = close.get(..end).unwrap_or_default().trim_end();
            match open.pop() {
                Some(o) if o == name => {}
                Some(o) => return Err(format!("</{name}> closes <{o}>")),
                None => return Err("end tag without a start tag".into()),
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
            i += end + 3;
        } else {
            if open.is_empty() {
                roots += 1;
                if roots > 1 {
                    return Err("more than one element".into());
                }
            }
            // the tag's name, as scan_tag reads it, goes before its attributes
            let name_len = rest.get(1..).map_or(0, |r| {
                r.find(|c: char| c.is_ascii_whitespace() || matches!(c, '>' | '/' | '='))
                    .unwrap_or(r.len())
            });
            let time_created = rest.get(1..1 + name_len) == Some("TimeCreated");
            out.push('<');
            out.push_str(rest.get(1..1 + name_len).unwrap_or_default());
            let (name, len, empty) = super::xml::scan_tag(rest, |an, raw| {
                out.push(' ');
                out.push_str(an);
                out.push_str("='");
                if raw.len() != 38
                    && !(time_created && an == "SystemTime")
                    && memchr::memchr3(b'&', b'\'', b'>', raw.as_bytes()).is_none()
                {
                    out.push_str(raw);
                    out.push('\'');
                    return Ok(());
                }
                value.clear();
                unescape(raw, &mut value)?;
                if time_created && an == "SystemTime" {
                    nine_digits(&mut value);
                }
                upper_guid(&mut value);
                escape_into(&value, true, out);
                out.push('\'');
                Ok(())
            })?;
            out.push_str(if empty { "/>" } else { ">" });
            if !empty {
                open.push(name);
            }
            i += len;
        }
    }
    if let Some(o) = open.last() {
        return Err(format!("unclosed <{o}>"));
    }
    if roots == 0 {
        return Err("no element".into());
    }
    Ok(())
}

fn escape_into(s: &str, attr: bool, out: &mut String) {
    super::render::escape_text(s, attr, out);
}

/// The tree route of [`forwarder_text`] (the tests compare the two).
#[doc(hidden)]
pub fn forwarder_text_by_tree(xml: &str, out: &mut String) -> Result<(), String> {
    let mut event = parse(xml)?;
    forwarder_form(&mut event);
    super::render::render(&event, out);
    Ok(())
}

/// Where the forwarder's text differs from the crate's rendering of the same values:
/// - `TimeCreated`'s `SystemTime` has 9 fractional digits (`...37.653084200Z`: the 7 of a FILETIME
///   and `00`), the crate writes 7;
/// - GUIDs are upper-case (`{5770385F-C22A-43E0-BF4C-06F5698FFBD9}`), the crate writes lower-case:
///   a value that is exactly one brace-enclosed GUID is upper-cased (a string value spelt that way
///   in lower case would be too: the crate's XML does not say which values are GUIDs).
pub fn forwarder_form(e: &mut Element) {
    let time_created = e.name == "TimeCreated";
    for (name, value) in &mut e.attrs {
        if time_created && name == "SystemTime" {
            nine_digits(value);
        }
        upper_guid(value);
    }
    for child in &mut e.children {
        match child {
            Node::Element(c) => forwarder_form(c),
            Node::Text(t) => upper_guid(t),
        }
    }
}

/// `2022-03-25T17:46:37.6530842Z` -> `2022-03-25T17:46:37.653084200Z`.
fn nine_digits(v: &mut String) {
    let Some(dot) = v.rfind('.') else { return };
    let Some(frac) = v.get(dot + 1..).and_then(|f| f.strip_suffix('Z')) else {
        return;
    };
    if frac.len() < 9 && frac.bytes().all(|c| c.is_ascii_digit()) {
        let pad = 9 - frac.len();
        v.truncate(v.len() - 1);
        v.extend(std::iter::repeat_n('0', pad));
        v.push('Z');
    }
}

fn upper_guid(v: &mut String) {
    let b = v.as_bytes();
    if b.len() != 38 || b[0] != b'{' || b[37] != b'}' {
        return;
    }
    let ok = b[1..37].iter().enumerate().all(|(i, &c)| match i {
        8 | 13 | 18 | 23 => c == b'-',
        _ => c.is_ascii_hexdigit(),
    });
    if ok {
        v.make_ascii_uppercase();
    }
}

/// Parse the crate's XML of one record (an optional declaration, then one element) into a tree.
/// An element written `<X></X>` gets an empty text child, so that it renders the same way.
pub fn parse(xml: &str) -> Result<Element, String> {
    let b = xml.as_bytes();
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut i = 0;
    let mut text = String::new();
    while i < b.len() {
        if b[i] != b'<' {
            let end = memchr::memchr(b'<', &b[i..]).map_or(b.len(), |k| i + k);
            let chunk = xml.get(i..end).unwrap_or_default();
            if stack.is_empty() {
                if !chunk.trim().is_empty() {
                    return Err("text outside the event element".into());
                }
            } else {
                unescape(chunk, &mut text)?;
            }
            i = end;
            continue;
        }
        let rest = xml.get(i..).unwrap_or_default();
        if rest.starts_with("<?") {
            i += rest.find("?>").ok_or("unclosed declaration")? + 2;
        } else if rest.starts_with("<!--") {
            i += rest.find("-->").ok_or("unclosed comment")? + 3;
        } else if let Some(cdata) = rest.strip_prefix("<![CDATA[") {
            let end = cdata.find("]]>").ok_or("unclosed CDATA section")?;
            text.push_str(cdata.get(..end).unwrap_or_default());
            i += 9 + end + 3;
        } else if let Some(close) = rest.strip_prefix("</") {
            let end = close.find('>').ok_or("unclosed end tag")?;
            let name = close.get(..end).unwrap_or_default().trim_end();
            let mut e = stack.pop().ok_or("end tag without a start tag")?;
            if e.name != name {
                return Err(format!("</{name}> closes <{}>", e.name));
            }
            flush(&mut text, &mut e);
            if e.children.is_empty() {
                e.children.push(Node::Text(String::new()));
            }
            close_element(e, &mut stack, &mut root)?;
            i += 2 + end + 1;
        } else {
            if let Some(parent) = stack.last_mut() {
                flush(&mut text, parent);
            }
            let (e, len, empty) = start_tag(rest)?;
            i += len;
            if empty {
                close_element(e, &mut stack, &mut root)?;
            } else {
                stack.push(e);
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("unclosed <{}>", open.name));
    }
    root.ok_or_else(|| "no element".into())
}

fn flush(text: &mut String, e: &mut Element) {
    if !text.is_empty() {
        e.children.push(Node::Text(std::mem::take(text)));
    }
}

fn close_element(
    e: Element,
    stack: &mut [Element],
    root: &mut Option<Element>,
) -> Result<(), String> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Element(e)),
        None if root.is_none() => *root = Some(e),
        None => return Err("more than one element".into()),
    }
    Ok(())
}

/// A start tag at the start of `s`: the element (attributes unescaped), the tag's length, and
/// whether it is self-closing.
fn start_tag(s: &str) -> Result<(Element, usize, bool), String> {
    let mut attrs = Vec::new();
    let (name, len, empty) = super::xml::scan_tag(s, |name, raw| {
        let mut value = String::new();
        unescape(raw, &mut value)?;
        attrs.push((name.to_string(), value));
        Ok(())
    })?;
    let e = Element {
        name: name.to_string(),
        attrs,
        children: Vec::new(),
    };
    Ok((e, len, empty))
}

/// Append `s` with its entity and character references resolved.
fn unescape(s: &str, out: &mut String) -> Result<(), String> {
    let mut rest = s;
    while let Some(k) = rest.find('&') {
        out.push_str(rest.get(..k).unwrap_or_default());
        let after = rest.get(k + 1..).unwrap_or_default();
        let end = after.find(';').ok_or("`&` without `;`")?;
        let name = after.get(..end).unwrap_or_default();
        let c = match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(h) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                    u32::from_str_radix(h, 16).ok()
                } else if let Some(d) = name.strip_prefix('#') {
                    d.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .ok_or_else(|| format!("unknown reference &{name};"))?
            }
        };
        out.push(c);
        rest = after.get(end + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    Ok(())
}

/// Where one extracted name or value is: in the crate's XML of the record as it is, or (when the
/// forwarder writes it differently) in the text [`fields_of_record`] wrote aside.
#[derive(Clone, Copy, Debug)]
enum Piece {
    Xml(usize, usize),
    Own(usize, usize),
}

/// What [`fields_of_record`] reuses from record to record.
#[derive(Default)]
pub struct Scratch {
    /// Names and values the forwarder writes differently from the crate.
    own: String,
    /// (name, value) of the first System block's elements, of the EventData blocks' named data, and
    /// of the RenderingInfo blocks' elements.
    system: Vec<(Piece, Piece)>,
    data: Vec<(Piece, Piece)>,
    rendering: Vec<(Piece, Piece)>,
    /// The open elements' names (start, end).
    open: Vec<(usize, usize)>,
    /// The current start tag's attributes: (name start, name end, value start, value end).
    attrs: Vec<(usize, usize, usize, usize)>,
    unescaped: String,
}

/// A name or value of the record in the forwarder's spelling (`xml[at..end]` as the crate writes it):
/// the crate's text as it is when the two agree (nothing to unescape, upper-case or pad), else
/// converted into `own`. `None` for a reference that does not resolve (the text route reports it).
fn forwarder_piece(
    xml: &str,
    (at, end): (usize, usize),
    attr: bool,
    system_time: bool,
    own: &mut String,
    unescaped: &mut String,
) -> Option<Piece> {
    let raw = xml.get(at..end)?;
    let escapes = if attr {
        memchr::memchr3(b'&', b'\'', b'>', raw.as_bytes())
    } else {
        memchr::memchr2(b'&', b'>', raw.as_bytes())
    };
    if raw.len() != 38 && !system_time && escapes.is_none() {
        return Some(Piece::Xml(at, end));
    }
    unescaped.clear();
    unescape(raw, unescaped).ok()?;
    if system_time {
        nine_digits(unescaped);
    }
    upper_guid(unescaped);
    let start = own.len();
    escape_into(unescaped, attr, own);
    Some(Piece::Own(start, own.len()))
}

/// The start tag at `at`: its name's end, its length and whether it is self-closing; its attributes
/// go to `attrs`.
fn tag_at(
    xml: &str,
    at: usize,
    attrs: &mut Vec<(usize, usize, usize, usize)>,
) -> Option<(usize, usize, bool)> {
    attrs.clear();
    let rest = xml.get(at..)?;
    let base = xml.as_ptr() as usize;
    let (name, len, empty) = super::xml::scan_tag(rest, |an, raw| {
        let (a, v) = (an.as_ptr() as usize - base, raw.as_ptr() as usize - base);
        attrs.push((a, a + an.len(), v, v + raw.len()));
        Ok(())
    })
    .ok()?;
    Some((at + 1 + name.len(), len, empty))
}

/// The text from `at` up to the next `<` (or the end): its end.
fn text_end(b: &[u8], at: usize) -> usize {
    memchr::memchr(b'<', b.get(at..).unwrap_or_default()).map_or(b.len(), |k| at + k)
}

/// Is an end tag `</name>` (spaces allowed before `>`) at `at`?
fn end_tag_at(xml: &str, at: usize, name: &str) -> bool {
    xml.get(at..)
        .and_then(|r| r.strip_prefix("</"))
        .and_then(|r| r.strip_prefix(name))
        .is_some_and(|r| r.trim_start().starts_with('>'))
}

/// Does every reference in `text` resolve?
fn references_resolve(text: &str, scratch: &mut String) -> bool {
    memchr::memchr(b'&', text.as_bytes()).is_none() || {
        scratch.clear();
        unescape(text, scratch).is_ok()
    }
}

/// The fields that [`xml::extract`](super::xml::extract) takes from the record's forwarder text (see
/// [`forwarder_text`]), worked out from the crate's XML without writing that text — except the
/// `*_Xml` block fields ([`super::xml::BLOCK_FIELDS`]), which only the text has: for a query that
/// reads neither `_raw` nor those. The values are the forwarder's spelling of them (entities as it
/// writes them, upper-case GUIDs, nine-digit `SystemTime`), borrowed from `xml` where the two agree
/// and written aside where they do not.
///
/// In the text, the extraction takes: the first `<System>` block's `<Tag>text</Tag>` elements and
/// every attribute (`name='value'`, quotes kept) of its other tags, and `TimeCreated`'s `SystemTime`;
/// `EventCode` from the first `<EventID>`; `RecordNumber` for each `EventRecordID`; each
/// `<EventData>` block's `<Any Name='N'>v` tags; each `<RenderingInfo>` block's `<Tag>text</Tag>`
/// elements; `Sub_Status` for each `SubStatus`. A block runs from its start tag to the first end tag
/// of its name. Empty values make no field.
///
/// Only the fields `wanted` names are kept, with those the reader or another field is made of
/// (`Channel`, `Computer`, `EventRecordID`, `SubStatus`), so the rest is never written out.
///
/// `None` when the record has anything outside the plain shape the crate writes (a comment, a
/// processing instruction inside the event, an unresolved reference, a broken tag, a root that is
/// not `<Event>`): the caller then takes the text route, which reads it or names what is wrong.
pub fn fields_of_record<'a>(
    xml: &'a str,
    wanted: &dyn Fn(&str) -> bool,
    scratch: &'a mut Scratch,
) -> Option<super::xml::Extracted<'a>> {
    let Scratch {
        own,
        system,
        data,
        rendering,
        open,
        attrs,
        unescaped,
    } = scratch;
    own.clear();
    system.clear();
    data.clear();
    rendering.clear();
    open.clear();
    let b = xml.as_bytes();
    let name_of = |(a, e): (usize, usize)| xml.get(a..e).unwrap_or_default();
    let keep =
        |n: &str| matches!(n, "Channel" | "Computer" | "EventRecordID" | "SubStatus") || wanted(n);
    let mut event_code: Option<Piece> = None;
    let mut event_code_seen = false;
    let mut system_time: Option<Piece> = None;
    let mut system_time_seen = false;
    // the first System block: 0 before it, 1 in it, 2 after it
    let mut in_system = 0u8;
    let (mut in_data, mut in_rendering) = (false, false);
    let mut roots = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            let end = text_end(b, i);
            let text = xml.get(i..end)?;
            if open.is_empty() && !text.trim_ascii().is_empty() {
                return None;
            }
            if !references_resolve(text, unescaped) {
                return None;
            }
            i = end;
            continue;
        }
        match b.get(i + 1) {
            Some(b'?') if roots == 0 => {
                i += memchr::memmem::find(b.get(i..)?, b"?>")? + 2;
                continue;
            }
            Some(b'?' | b'!') => return None,
            Some(b'/') => {
                let end = i + 2 + memchr::memchr(b'>', b.get(i + 2..)?)?;
                let name = xml.get(i + 2..end)?.trim_end();
                if name_of(open.pop()?) != name {
                    return None;
                }
                match name {
                    "System" if in_system == 1 => in_system = 2,
                    "EventData" => in_data = false,
                    "RenderingInfo" => in_rendering = false,
                    _ => {}
                }
                i = end + 1;
                continue;
            }
            _ => {}
        }
        let (name_end, len, empty) = tag_at(xml, i, attrs)?;
        let name = xml.get(i + 1..name_end)?;
        // every reference must resolve, extracted or not, as on the text route
        for &(_, _, v, ve) in attrs.iter() {
            if !references_resolve(xml.get(v..ve)?, unescaped) {
                return None;
            }
        }
        if open.is_empty() {
            roots += 1;
            if roots > 1 || name != "Event" {
                return None;
            }
        }
        let after = i + len;
        // `<Tag>text</Tag>` (a tag without attributes, holding text only): where its text is
        let plain_text = || -> Option<(usize, usize)> {
            if empty || !attrs.is_empty() {
                return None;
            }
            let end = text_end(b, after);
            end_tag_at(xml, end, name).then_some((after, end))
        };
        let name_piece = Piece::Xml(i + 1, name_end);
        if in_system == 1 {
            if !empty && attrs.is_empty() {
                if let Some(text) = plain_text().filter(|_| keep(name)) {
                    let v = forwarder_piece(xml, text, false, false, own, unescaped)?;
                    system.push((name_piece, v));
                }
            } else {
                let time_created = name == "TimeCreated";
                for &(a, ae, v, ve) in attrs.iter() {
                    if !keep(xml.get(a..ae)?) {
                        continue;
                    }
                    // the value with its quotes, as the add-on's extraction takes it
                    let start = own.len();
                    own.push('\'');
                    let system_time = time_created && xml.get(a..ae) == Some("SystemTime");
                    if let Piece::Xml(x, xe) =
                        forwarder_piece(xml, (v, ve), true, system_time, own, unescaped)?
                    {
                        own.push_str(xml.get(x..xe)?);
                    }
                    own.push('\'');
                    system.push((Piece::Xml(a, ae), Piece::Own(start, own.len())));
                }
            }
            if !system_time_seen && name.starts_with("TimeCreated") {
                system_time_seen = true;
                let time = attrs
                    .iter()
                    .find(|&&(a, ae, _, _)| xml.get(a..ae) == Some("SystemTime"));
                if let Some(&(_, _, v, ve)) = time {
                    let nine = name == "TimeCreated";
                    system_time = Some(forwarder_piece(xml, (v, ve), true, nine, own, unescaped)?);
                }
            }
        }
        if !event_code_seen && name.starts_with("EventID") {
            event_code_seen = true;
            if name == "EventID" && !empty {
                let v = forwarder_piece(
                    xml,
                    (after, text_end(b, after)),
                    false,
                    false,
                    own,
                    unescaped,
                )?;
                let code = resolve(xml, own, v);
                if !code.is_empty() && code.bytes().all(|c| c.is_ascii_digit()) {
                    event_code = Some(v);
                }
            }
        }
        if in_data && !empty {
            // `<Any Name='N'>v`: field N = v (the text up to the next `<`)
            let named = attrs
                .iter()
                .find(|&&(a, ae, _, _)| xml.get(a..ae) == Some("Name"));
            if let Some(&(_, _, v, ve)) = named {
                let n = forwarder_piece(xml, (v, ve), true, false, own, unescaped)?;
                let field = resolve(xml, own, n);
                if !field.is_empty() && keep(field) {
                    let text = (after, text_end(b, after));
                    let v = forwarder_piece(xml, text, false, false, own, unescaped)?;
                    data.push((n, v));
                }
            }
        }
        if in_rendering {
            if let Some(text) = plain_text().filter(|_| keep(name)) {
                let v = forwarder_piece(xml, text, false, false, own, unescaped)?;
                rendering.push((name_piece, v));
            }
        }
        if !empty {
            match name {
                "System" if in_system == 0 => in_system = 1,
                "EventData" => in_data = true,
                "RenderingInfo" => in_rendering = true,
                _ => {}
            }
            open.push((i + 1, name_end));
        }
        i = after;
    }
    if !open.is_empty() || roots == 0 {
        return None;
    }
    let own: &'a str = own;
    let r = |p: Piece| resolve(xml, own, p);
    let mut fields: Vec<(&'a str, &'a str)> =
        Vec::with_capacity(system.len() + data.len() + rendering.len() + 4);
    fields.extend(system.iter().map(|&(n, v)| (r(n), r(v))));
    if let Some(code) = event_code {
        fields.push(("EventCode", r(code)));
    }
    let sys_end = fields.len();
    for k in 0..sys_end {
        if fields[k].0 == "EventRecordID" {
            fields.push(("RecordNumber", fields[k].1));
        }
    }
    fields.extend(data.iter().map(|&(n, v)| (r(n), r(v))));
    fields.extend(rendering.iter().map(|&(n, v)| (r(n), r(v))));
    let before_sub = fields.len();
    for k in 0..before_sub {
        if fields[k].0 == "SubStatus" {
            fields.push(("Sub_Status", fields[k].1));
        }
    }
    fields.retain(|(_, v)| !v.is_empty());
    let channel = fields.iter().find(|(n, _)| *n == "Channel").map(|f| f.1);
    let computer = fields.iter().find(|(n, _)| *n == "Computer").map(|f| f.1);
    Some(super::xml::Extracted {
        fields,
        channel,
        computer,
        system_time: system_time.map(r),
    })
}

fn resolve<'a>(xml: &'a str, own: &'a str, p: Piece) -> &'a str {
    match p {
        Piece::Xml(a, e) => xml.get(a..e).unwrap_or_default(),
        Piece::Own(a, e) => own.get(a..e).unwrap_or_default(),
    }
}

/// Is there a chunk with a chunk header after chunk `number` in `chunks` (the file after its header)?
pub fn live_chunk_after(chunks: &[u8], number: u64) -> bool {
    let from = (number + 1).saturating_mul(CHUNK_SIZE);
    let Ok(from) = usize::try_from(from) else {
        return false;
    };
    chunks
        .get(from..)
        .unwrap_or_default()
        .chunks(CHUNK_SIZE as usize)
        .any(|c| c.starts_with(b"ElfChnk\0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_xml_to_forwarder_text() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System><Provider Name=\"Microsoft-Windows-Sysmon\" Guid=\"{5770385f-c22a-43e0-bf4c-06f5698ffbd9}\"/><EventID>1</EventID><TimeCreated SystemTime=\"2022-08-31T19:18:42.1649394Z\"/><Correlation/><Security UserID=\"S-1-5-18\"/></System><EventData><Data Name=\"CommandLine\">\"a.exe\" &amp; &lt;b&gt; &apos;c&apos; &#233;</Data><Data Name=\"Empty\"></Data><Data Name=\"Guid\">{9d1ed712-fffd-623d-1f02-000000003b02}</Data><Data Name=\"NotGuid\">x{9d1ed712-fffd-623d-1f02-000000003b02}</Data></EventData></Event>";
        let mut out = String::new();
        forwarder_text(xml, &mut out).unwrap_or_default();
        assert_eq!(
            out,
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385F-C22A-43E0-BF4C-06F5698FFBD9}'/><EventID>1</EventID><TimeCreated SystemTime='2022-08-31T19:18:42.164939400Z'/><Correlation/><Security UserID='S-1-5-18'/></System><EventData><Data Name='CommandLine'>\"a.exe\" &amp; &lt;b&gt; 'c' é</Data><Data Name='Empty'></Data><Data Name='Guid'>{9D1ED712-FFFD-623D-1F02-000000003B02}</Data><Data Name='NotGuid'>x{9d1ed712-fffd-623d-1f02-000000003b02}</Data></EventData></Event>"
        );
    }

    #[test]
    fn broken_xml_is_an_error() {
        for bad in [
            "",
            "<Event>",
            "<Event></System>",
            "<Event a=1/>",
            "<Event>&bogus;</Event>",
            "<A/><B/>",
            "x<A/>",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ranges_cover_whole_chunks() {
        assert_eq!(chunk_ranges(4096, 1 << 20), vec![]);
        assert_eq!(
            chunk_ranges(4096 + 3 * 65536 + 10, 2 * 65536),
            vec![
                (4096, 4096 + 2 * 65536),
                (4096 + 2 * 65536, 4096 + 3 * 65536 + 10)
            ]
        );
        assert_eq!(chunk_ranges(4096 + 65536, 10).len(), 1);
    }
}
