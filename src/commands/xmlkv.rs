//! `xmlkv` — fields from the XML elements of a field.
//!
//! ```text
//! xmlkv [<field>] [maxinputs=<int>]
//! ```
//! Every element that holds only text, `<name attr="...">text</name>`, sets the field `name` to its text
//! (entities `&lt;` `&gt;` `&amp;` `&quot;` `&apos;` and numeric ones decoded). An element name that occurs
//! several times gives a multivalue field, in document order. The field read is `_raw` unless one is
//! named. Only the first `maxinputs` rows (default 50,000, as Splunk) are processed; later rows pass
//! unchanged. Elements with child elements, self-closing elements, comments and CDATA give no field.

use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;
use crate::value::Value;

/// Splunk's default `maxinputs`.
pub const DEFAULT_MAXINPUTS: u64 = 50_000;

#[derive(Clone, Debug, PartialEq)]
pub struct XmlKv {
    pub field: String,
    pub maxinputs: u64,
    pub span: Span,
}

impl XmlKv {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<XmlKv> {
        let mut maxinputs = DEFAULT_MAXINPUTS;
        let (field, opts) = c.options_and_field(&["maxinputs"], "a field name")?;
        for (_, v, at) in opts {
            maxinputs = v.parse().map_err(|_| {
                Diagnostic::at(format!("`maxinputs` takes a whole number, not `{v}`"), at)
            })?;
        }
        super::end_of_args(c, "xmlkv", "`maxinputs=`", &["maxinputs"])?;
        Ok(XmlKv {
            field: field.unwrap_or_else(|| "_raw".into()),
            maxinputs,
            span: name_span,
        })
    }
}

impl super::SplCommand for XmlKv {
    fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(XmlKvOp {
            x: self.clone(),
            seen: 0,
        }))
    }
}

/// Decode the five named XML entities and numeric character references.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let Some(end) = after.find(';').filter(|e| *e <= 10) else {
            out.push('&');
            rest = &after[1..];
            continue;
        };
        let ent = &after[1..end];
        let ch = match ent {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => ent
                .strip_prefix("#x")
                .or_else(|| ent.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| ent.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text-only elements of `doc`, in document order.
pub fn elements(doc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(off) = doc.get(pos..).and_then(|r| r.find('<')) {
        let open = pos + off;
        pos = open + 1;
        let rest = &doc[pos..];
        let name_len = rest
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        if name.is_empty() || name.starts_with(['?', '!']) {
            continue;
        }
        let Some(gt) = rest.find('>') else { break };
        if rest[..gt].ends_with('/') {
            continue;
        }
        let body_start = pos + gt + 1;
        let Some(lt) = doc.get(body_start..).and_then(|r| r.find('<')) else {
            break;
        };
        let body = &doc[body_start..body_start + lt];
        let close = format!("</{name}>");
        if doc[body_start + lt..].starts_with(&close) {
            out.push((name.to_string(), unescape(body)));
            pos = body_start + lt + close.len();
        }
    }
    out
}

struct XmlKvOp {
    x: XmlKv,
    seen: u64,
}

impl Operator for XmlKvOp {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        self.seen += 1;
        if self.seen <= self.x.maxinputs {
            if let Some(v) = ev.get(&self.x.field) {
                let mut found: Vec<(String, Vec<Value>)> = Vec::new();
                for x in v.values() {
                    for (k, text) in elements(&x.text()) {
                        match found.iter_mut().find(|(n, _)| *n == k) {
                            Some(slot) => slot.1.push(Value::str(text)),
                            None => found.push((k, vec![Value::str(text)])),
                        }
                    }
                }
                for (k, vals) in found {
                    if let Some(v) = Value::multi(vals) {
                        ev.set(k.as_str(), v);
                    }
                }
            }
        }
        out.push(ev);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<XmlKv> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::XmlKv(x)) => Ok(x),
            other => panic!("not xmlkv: {other:?}"),
        }
    }

    #[test]
    fn parses() {
        assert_eq!(parse("x | xmlkv Message").unwrap().field, "Message");
        let x = parse("x | xmlkv maxinputs=5").unwrap();
        assert_eq!((x.field.as_str(), x.maxinputs), ("_raw", 5));
    }

    #[test]
    fn refuses_bad_syntax() {
        let e = parse("x | xmlkv a b").unwrap_err();
        assert_eq!(e.span.map(|s| s.start), Some(12));
        let e = parse("x | xmlkv maxinputs=x").unwrap_err();
        assert_eq!(e.span, Some(Span::new(10, 21)));
    }

    #[test]
    fn finds_text_elements() {
        let doc = r#"<?xml version="1.0"?><Event><System><EventID>4624</EventID><Computer>dc&amp;01</Computer></System><Data Name="a">x</Data><Data Name="b">y</Data><Empty/><e></e></Event>"#;
        let got = elements(doc);
        assert_eq!(
            got,
            vec![
                ("EventID".to_string(), "4624".to_string()),
                ("Computer".into(), "dc&01".into()),
                ("Data".into(), "x".into()),
                ("Data".into(), "y".into()),
                ("e".into(), "".into()),
            ]
        );
        assert_eq!(unescape("&#65;&#x42;&bogus; &"), "AB&bogus; &");
    }
}
