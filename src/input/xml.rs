//! Windows events as the Universal Forwarder writes them (`sourcetype=XmlWinEventLog`): one
//! `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>...</Event>` element per event,
//! on one line or spread over several (values may hold raw line breaks).
//!
//! A small hand parser for this fixed shape, not a general XML library: the fields are what the Windows
//! add-on's generic extraction takes from the text with regular expressions, so the parser follows those
//! rules on the raw text (values keep their entities, attribute values keep their quotes) after checking
//! that the element is well formed (tags nest and close, attributes are quoted).

/// Check that `raw` is one well-formed `<Event>` element: every tag closes in order, attributes are
/// `name='v'` or `name="v"`, comments, CDATA and processing instructions end. Nothing after `</Event>`.
pub fn check(raw: &str) -> Result<(), String> {
    let b = raw.as_bytes();
    let t = raw.trim();
    if !(t.starts_with("<Event ") || t.starts_with("<Event>") || t.starts_with("<Event\t")) {
        return Err("not an <Event> element".into());
    }
    let mut stack: Vec<&str> = Vec::new();
    let mut i = 0;
    let mut closed_root = false;
    while let Some(k) = memchr::memchr(b'<', b.get(i..).unwrap_or_default()) {
        let at = i + k;
        let rest = raw.get(at..).unwrap_or_default();
        if closed_root {
            return Err("text after </Event>".into());
        }
        if rest.starts_with("<!--") {
            let end = rest.find("-->").ok_or("unclosed comment")?;
            i = at + end + 3;
        } else if rest.starts_with("<![CDATA[") {
            let end = rest.find("]]>").ok_or("unclosed CDATA section")?;
            i = at + end + 3;
        } else if rest.starts_with("<?") {
            let end = rest.find("?>").ok_or("unclosed processing instruction")?;
            i = at + end + 2;
        } else if let Some(close) = rest.strip_prefix("</") {
            let end = close.find('>').ok_or("unclosed end tag")?;
            let name = close.get(..end).unwrap_or_default().trim_end();
            match stack.pop() {
                Some(open) if open == name => {}
                Some(open) => return Err(format!("</{name}> closes <{open}>")),
                None => return Err(format!("</{name}> without a start tag")),
            }
            if stack.is_empty() {
                closed_root = true;
            }
            i = at + 2 + end + 1;
        } else {
            let (name, len, empty) = start_tag(rest)?;
            if !empty {
                stack.push(name);
            } else if stack.is_empty() {
                closed_root = true;
            }
            i = at + len;
        }
    }
    if !closed_root {
        return Err(match stack.last() {
            Some(open) => format!("unclosed <{open}>"),
            None => "no element".into(),
        });
    }
    if raw.get(i..).is_some_and(|r| !r.trim().is_empty()) {
        return Err("text after </Event>".into());
    }
    Ok(())
}

/// A start tag at the start of `s`: its name, its length and whether it is self-closing.
fn start_tag(s: &str) -> Result<(&str, usize, bool), String> {
    scan_tag(s, |_, _| Ok(()))
}

/// A start tag at the start of `s`, checked to be well formed: each attribute's name and raw (still
/// escaped) value go to `attr`; gives the tag's name, its length and whether it is self-closing.
pub(crate) fn scan_tag<'a>(
    s: &'a str,
    mut attr: impl FnMut(&'a str, &'a str) -> Result<(), String>,
) -> Result<(&'a str, usize, bool), String> {
    let b = s.as_bytes();
    let mut i = 1;
    while i < b.len() && is_name_byte(b[i]) {
        i += 1;
    }
    if i == 1 {
        return Err("`<` that starts no tag".into());
    }
    let name = s.get(1..i).unwrap_or_default();
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        match b.get(i) {
            None => return Err(format!("unclosed tag <{name}")),
            Some(b'>') => return Ok((name, i + 1, false)),
            Some(b'/') if b.get(i + 1) == Some(&b'>') => return Ok((name, i + 2, true)),
            Some(&c) if is_name_byte(c) => {
                let a = i;
                while i < b.len() && is_name_byte(b[i]) {
                    i += 1;
                }
                let an = s.get(a..i).unwrap_or_default();
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                if b.get(i) != Some(&b'=') {
                    return Err(format!("attribute {an} of <{name}> has no value"));
                }
                i += 1;
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                let q = match b.get(i) {
                    Some(&q) if q == b'\'' || q == b'"' => q,
                    _ => return Err(format!("attribute {an} of <{name}> is not quoted")),
                };
                let Some(end) = memchr::memchr(q, b.get(i + 1..).unwrap_or_default()) else {
                    return Err(format!("attribute {an} of <{name}> is not closed"));
                };
                let value = s.get(i + 1..i + 1 + end).unwrap_or_default();
                if memchr::memchr(b'<', value.as_bytes()).is_some() {
                    return Err(format!("`<` in attribute {an} of <{name}>"));
                }
                attr(an, value)?;
                i += end + 2;
            }
            Some(_) => return Err(format!("bad character in tag <{name}>")),
        }
    }
}

fn is_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b':') || c >= 0x80
}

/// The fields that hold a whole block of the text (the inner text of `<System>`, `<EventData>` ...).
pub const BLOCK_FIELDS: [&str; 5] = [
    "System_Props_Xml",
    "EventData_Xml",
    "UserData_Xml",
    "DebugData_Xml",
    "RenderingInfo_Xml",
];

/// The tags whose blocks the extraction takes, in [`Blocks`] order.
const BLOCK_TAGS: [&str; 5] = [
    "System",
    "EventData",
    "UserData",
    "DebugData",
    "RenderingInfo",
];

/// For each of [`BLOCK_TAGS`], the inner texts of every `<tag>...</tag>` (or `<tag attr='v'>...</tag>`)
/// in the text, in order; a self-closing `<tag/>` has none. Each tag's blocks are found as a search for
/// that tag alone finds them (a block ends at the first `</tag>` after its start tag, and the next one
/// is looked for after that), in one pass over the text's tags for all five.
struct Blocks<'a>([Vec<&'a str>; 5]);

impl<'a> Blocks<'a> {
    fn of(s: &'a str) -> Blocks<'a> {
        let mut out: [Vec<&'a str>; 5] = Default::default();
        // per tag: where its next start tag may begin; `usize::MAX` once a block had no end
        let mut from = [0usize; 5];
        let b = s.as_bytes();
        let mut i = 0;
        while let Some(k) = memchr::memchr(b'<', b.get(i..).unwrap_or_default()) {
            let at = i + k;
            i = at + 1;
            let mut e = at + 1;
            while e < b.len() && is_name_byte(b[e]) {
                e += 1;
            }
            let name = s.get(at + 1..e).unwrap_or_default();
            let Some(t) = BLOCK_TAGS.iter().position(|&t| t == name) else {
                continue;
            };
            if at < from[t] {
                continue;
            }
            let rest = s.get(at..).unwrap_or_default();
            let Ok((_, len, empty)) = start_tag(rest) else {
                continue;
            };
            if empty {
                continue;
            }
            let a = at + len;
            let close = ["</", name, ">"].concat();
            let Some(end) = s
                .get(a..)
                .and_then(|r| memchr::memmem::find(r.as_bytes(), close.as_bytes()))
            else {
                from[t] = usize::MAX;
                continue;
            };
            if let Some(inner) = s.get(a..a + end) {
                out[t].push(inner);
            }
            from[t] = a + end + close.len();
        }
        Blocks(out)
    }

    fn of_tag(&self, tag: &str) -> &[&'a str] {
        let t = BLOCK_TAGS.iter().position(|&t| t == tag).unwrap_or(0);
        self.0.get(t).map_or(&[], Vec::as_slice)
    }
}

/// The inner texts of every `<tag>...</tag>` in `s`, searched for that tag alone (the tests compare
/// [`Blocks`] with it).
#[cfg(test)]
fn blocks<'a>(s: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(k) = s
        .get(from..)
        .and_then(|r| memchr::memmem::find(r.as_bytes(), open.as_bytes()))
    {
        let at = from + k;
        let rest = s.get(at..).unwrap_or_default();
        from = at + open.len();
        let Ok((name, len, empty)) = start_tag(rest) else {
            continue;
        };
        if name != tag || empty {
            continue;
        }
        let a = at + len;
        let Some(e) = s
            .get(a..)
            .and_then(|r| memchr::memmem::find(r.as_bytes(), close.as_bytes()))
        else {
            break;
        };
        if let Some(inner) = s.get(a..a + e) {
            out.push(inner);
        }
        from = a + e + close.len();
    }
    out
}

/// The fields of one event in the order the extractions make them, before repeats are merged.
/// `channel` and `computer` and `system_time` are the first values of those names.
#[derive(Default, Debug)]
pub struct Extracted<'a> {
    pub fields: Vec<(&'a str, &'a str)>,
    pub channel: Option<&'a str>,
    pub computer: Option<&'a str>,
    /// Without its quotes.
    pub system_time: Option<&'a str>,
}

/// Apply the generic XML extraction of the Windows add-on to a well-formed event (see [`check`]).
pub fn extract(raw: &str) -> Extracted<'_> {
    let mut x = Extracted::default();
    let all = Blocks::of(raw);
    let systems = all.of_tag("System");
    for &sys in systems {
        x.fields.push(("System_Props_Xml", sys));
    }
    if let Some(&sys) = systems.first() {
        elements(sys, true, &mut x.fields);
        x.system_time = attr_value(sys, "TimeCreated", "SystemTime");
    }
    // EventCode: EventID's text, also when <EventID> has attributes (Qualifiers)
    if let Some(code) = event_code(raw) {
        x.fields.push(("EventCode", code));
    }
    let record: Vec<&str> = x
        .fields
        .iter()
        .filter(|(n, _)| *n == "EventRecordID")
        .map(|(_, v)| *v)
        .collect();
    for r in record {
        x.fields.push(("RecordNumber", r));
    }
    let datas = all.of_tag("EventData");
    for &d in datas {
        x.fields.push(("EventData_Xml", d));
    }
    for tag in ["UserData", "DebugData", "RenderingInfo"] {
        for &b in all.of_tag(tag) {
            x.fields.push((
                match tag {
                    "UserData" => "UserData_Xml",
                    "DebugData" => "DebugData_Xml",
                    _ => "RenderingInfo_Xml",
                },
                b,
            ));
        }
    }
    for &d in datas {
        named_data(d, &mut x.fields);
    }
    for &r in all.of_tag("RenderingInfo") {
        // RenderingInfo's children (`Message`, `Level` ...) append to the System values of the same name
        elements(r, false, &mut x.fields);
    }
    let sub: Vec<&str> = x
        .fields
        .iter()
        .filter(|(n, _)| *n == "SubStatus")
        .map(|(_, v)| *v)
        .collect();
    for s in sub {
        x.fields.push(("Sub_Status", s));
    }
    // empty captures create no field
    x.fields.retain(|(_, v)| !v.is_empty());
    x.channel = x.fields.iter().find(|(n, _)| *n == "Channel").map(|f| f.1);
    x.computer = x.fields.iter().find(|(n, _)| *n == "Computer").map(|f| f.1);
    x
}

/// `<Tag>text</Tag>` (no attributes, plain text) and, with `attrs`, every `attr='value'` (value with its
/// quotes) inside a block, in document order.
fn elements<'a>(sys: &'a str, attrs: bool, out: &mut Vec<(&'a str, &'a str)>) {
    let b = sys.as_bytes();
    let mut i = 0;
    while let Some(k) = memchr::memchr(b'<', b.get(i..).unwrap_or_default()) {
        let at = i + k;
        i = at + 1;
        let Some(rest) = sys.get(at..) else { break };
        if rest.starts_with("</") || rest.starts_with("<!") || rest.starts_with("<?") {
            continue;
        }
        let Ok((name, len, empty)) = start_tag(rest) else {
            continue;
        };
        let tag = rest.get(..len).unwrap_or_default();
        if tag.len() == name.len() + 2 && !empty {
            // <Tag>text</Tag>
            let body = rest.get(len..).unwrap_or_default();
            let text_end = memchr::memchr(b'<', body.as_bytes()).unwrap_or(body.len());
            let text = body.get(..text_end).unwrap_or_default();
            let after = body.get(text_end..).unwrap_or_default();
            if after.starts_with("</")
                && after.get(2..2 + name.len()) == Some(name)
                && after.as_bytes().get(2 + name.len()) == Some(&b'>')
            {
                out.push((name, text));
            }
        } else if attrs {
            attributes(tag, out);
        }
        i = at + len;
    }
}

/// Every `name='value'` / `name="value"` of one start tag; the value keeps its quotes.
fn attributes<'a>(tag: &'a str, out: &mut Vec<(&'a str, &'a str)>) {
    let b = tag.as_bytes();
    let mut i = 1;
    while i < b.len() && is_name_byte(b[i]) {
        i += 1;
    }
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let a = i;
        while i < b.len() && is_name_byte(b[i]) {
            i += 1;
        }
        if i == a {
            return;
        }
        let name = tag.get(a..i).unwrap_or_default();
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'=') {
            i += 1;
        }
        let Some(&q) = b.get(i) else { return };
        let Some(end) = memchr::memchr(q, b.get(i + 1..).unwrap_or_default()) else {
            return;
        };
        if let Some(v) = tag.get(i..i + end + 2) {
            out.push((name, v));
        }
        i += end + 2;
    }
}

/// The value of `attr` of the first `<element ...>` in `s`, without its quotes.
fn attr_value<'a>(s: &'a str, element: &str, attr: &str) -> Option<&'a str> {
    let open = format!("<{element}");
    let at = s.find(&open)?;
    let rest = s.get(at..)?;
    let (_, len, _) = start_tag(rest).ok()?;
    let mut attrs = Vec::new();
    attributes(rest.get(..len)?, &mut attrs);
    let v = attrs.iter().find(|(n, _)| *n == attr)?.1;
    v.get(1..v.len().checked_sub(1)?)
}

/// The text of `<EventID ...>text</EventID>` when it is a number.
fn event_code(raw: &str) -> Option<&str> {
    let at = raw.find("<EventID")?;
    let rest = raw.get(at..)?;
    let (name, len, empty) = start_tag(rest).ok()?;
    if name != "EventID" || empty {
        return None;
    }
    let body = rest.get(len..)?;
    let end = body.find('<')?;
    let code = body.get(..end)?;
    (!code.is_empty() && code.bytes().all(|c| c.is_ascii_digit())).then_some(code)
}

/// `<Any Name='N'>v</Any>` inside EventData: field `N` = `v` (the text up to the next `<`). Only a
/// single-quoted `Name` counts, as in the add-on's pattern.
fn named_data<'a>(data: &'a str, out: &mut Vec<(&'a str, &'a str)>) {
    let b = data.as_bytes();
    let mut i = 0;
    while let Some(k) = memchr::memchr(b'<', b.get(i..).unwrap_or_default()) {
        let at = i + k;
        i = at + 1;
        let Some(rest) = data.get(at..) else { break };
        let Ok((_, len, empty)) = start_tag(rest) else {
            continue;
        };
        i = at + len;
        if empty {
            continue;
        }
        let tag = rest.get(..len).unwrap_or_default();
        let Some(n) = tag.find(" Name='") else {
            continue;
        };
        let name_start = n + " Name='".len();
        let Some(name_len) = tag.get(name_start..).and_then(|r| r.find('\'')) else {
            continue;
        };
        let name = tag
            .get(name_start..name_start + name_len)
            .unwrap_or_default();
        if name.is_empty() {
            continue;
        }
        let body = rest.get(len..).unwrap_or_default();
        let end = memchr::memchr(b'<', body.as_bytes()).unwrap_or(body.len());
        out.push((name, body.get(..end).unwrap_or_default()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EV: &str = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='P' Guid='{G}'/><EventID Qualifiers='16384'>7045</EventID><Level>4</Level><TimeCreated SystemTime='2024-01-02T03:04:05.123Z'/><EventRecordID>9</EventRecordID><Correlation/><Execution ProcessID='1' ThreadID='2'/><Channel>System</Channel><Computer>h.example</Computer><Security/></System><EventData><Data Name='ServiceName'>a &amp; b</Data><Data Name='Empty'></Data><Data Name='Self'/><Data Name='R'>1</Data><Data Name='R'>2</Data><Data>unnamed</Data><Data Name=\"Dq\">x</Data></EventData></Event>";

    #[test]
    fn rendering_info_appends_to_system_values() {
        let ev = "<Event><System><Level>4</Level><EventID>1</EventID></System><EventData/><RenderingInfo Culture='en-US'><Message>m</Message><Level>Information</Level></RenderingInfo></Event>";
        assert!(check(ev).is_ok());
        let x = extract(ev);
        let levels: Vec<&str> = x
            .fields
            .iter()
            .filter(|f| f.0 == "Level")
            .map(|f| f.1)
            .collect();
        assert_eq!(levels, ["4", "Information"]);
        assert!(x.fields.contains(&("Message", "m")));
        assert!(!x
            .fields
            .iter()
            .any(|f| f.0 == "Culture" || f.0 == "EventData_Xml"));
    }

    #[test]
    fn one_pass_blocks_equal_each_tags_own_search() {
        // texts made of pieces that open, close and nest the five tags (and near-misses), cut anywhere
        let pieces = [
            "<System>",
            "</System>",
            "<SystemTime a='1'/>",
            "<EventData>",
            "</EventData>",
            "<EventData/>",
            "<UserData x='y'>",
            "</UserData>",
            "<DebugData>",
            "</DebugData>",
            "<RenderingInfo Culture='en'>",
            "</RenderingInfo>",
            "<Data Name='a'>v</Data>",
            "text",
            "<System a=b>",
            "<!-- <System> -->",
            "<System",
            "</System",
            ">",
            "<",
            "&amp;",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..20_000 {
            let mut text = String::from("<Event>");
            for _ in 0..next(14) {
                text.push_str(pieces[next(pieces.len())]);
            }
            let all = Blocks::of(&text);
            for tag in BLOCK_TAGS {
                assert_eq!(
                    all.of_tag(tag),
                    blocks(&text, tag).as_slice(),
                    "{tag} in {text}"
                );
            }
        }
        let x = extract(EV);
        assert!(x.fields.contains(&("EventData_Xml", "<Data Name='ServiceName'>a &amp; b</Data><Data Name='Empty'></Data><Data Name='Self'/><Data Name='R'>1</Data><Data Name='R'>2</Data><Data>unnamed</Data><Data Name=\"Dq\">x</Data>")));
    }

    #[test]
    fn well_formed_and_broken() {
        assert!(check(EV).is_ok());
        for n in [10, 50, 100, EV.len() - 1, EV.len() - 8] {
            let cut = EV.get(..n).unwrap_or_default();
            assert!(check(cut).is_err(), "{cut}");
        }
        assert!(check("<Event><System></Event></System>").is_err());
        assert!(check("<Event><A b=c/></Event>").is_err());
        assert!(check("<Event></Event>junk").is_err());
        assert!(check("{\"a\":1}").is_err());
    }

    #[test]
    fn fields_follow_the_addon_rules() {
        let x = extract(EV);
        let get = |n: &str| -> Vec<&str> {
            x.fields
                .iter()
                .filter(|(k, _)| *k == n)
                .map(|(_, v)| *v)
                .collect()
        };
        assert_eq!(get("Name"), ["'P'"]);
        assert_eq!(get("Qualifiers"), ["'16384'"]);
        assert!(get("EventID").is_empty());
        assert_eq!(get("EventCode"), ["7045"]);
        assert_eq!(get("RecordNumber"), ["9"]);
        assert_eq!(get("ProcessID"), ["'1'"]);
        assert_eq!(get("ServiceName"), ["a &amp; b"]);
        assert!(get("Empty").is_empty());
        assert!(get("Self").is_empty());
        assert!(get("Dq").is_empty());
        assert_eq!(get("R"), ["1", "2"]);
        assert!(get("Correlation").is_empty());
        assert_eq!(x.channel, Some("System"));
        assert_eq!(x.computer, Some("h.example"));
        assert_eq!(x.system_time, Some("2024-01-02T03:04:05.123Z"));
    }
}
