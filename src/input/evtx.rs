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

/// Read the chunks in `data`, which starts at chunk number `first_chunk`; each record's text in the
/// forwarder's form goes to `sink` with its ordinal (as in [`ChunkReport::bad_records`]) until it
/// answers `Break`. `live_after(n)` tells whether a chunk after chunk `n` of the file has a chunk
/// header (an all-zero chunk before one is reported).
pub fn read_chunks(
    data: &[u8],
    first_chunk: u64,
    live_after: &mut dyn FnMut(u64) -> bool,
    report: &mut ChunkReport,
    sink: &mut dyn FnMut(u64, &str) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let settings = Arc::new(evtx::ParserSettings::new().indent(false));
    let mut raw = String::new();
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
            let text = record
                .map_err(|e| chain(&e))
                .and_then(|r| r.into_xml().map_err(|e| chain(&e)))
                .and_then(|r| {
                    raw.clear();
                    forwarder_text(&r.data, &mut raw)
                });
            match text {
                Ok(()) => {
                    report.records += 1;
                    sink(report.seen, &raw)?;
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
                value.clear();
                unescape(raw, &mut value)?;
                if time_created && an == "SystemTime" {
                    nine_digits(&mut value);
                }
                upper_guid(&mut value);
                out.push(' ');
                out.push_str(an);
                out.push_str("='");
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
