//! Windows events rendered as the Universal Forwarder writes them (`sourcetype=XmlWinEventLog`).
//!
//! The form, as in the forwarder's own lines:
//! - one line, no XML declaration, no indentation, no line breaks added (a value's own CR/LF stay);
//! - attributes in the order given, `name='value'` (single quotes);
//! - an element without children is self-closed (`<Correlation/>`, `<Security/>`,
//!   `<Provider Name='...' Guid='...'/>`); an element whose content is an empty text
//!   (`Node::Text("")`) is written open and closed (`<Data Name='Path'></Data>`), as the forwarder does
//!   for an empty value of a template that has content there;
//! - text escapes `&` `<` `>` as `&amp;` `&lt;` `&gt;` and nothing else (quotes stay as they are);
//! - attribute values escape the same three and `'` as `&apos;` (a value quoted with `'` cannot hold
//!   a raw `'`); `"` stays as it is.
//!
//! Values in the tree are plain (unescaped) text.

/// One XML element: its name, its attributes in order and its children.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

/// A child of an [`Element`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
}

/// Append `event` in the Universal Forwarder's XmlWinEventLog form (see the module documentation).
pub fn render(event: &Element, out: &mut String) {
    element(event, out);
}

fn element(e: &Element, out: &mut String) {
    out.push('<');
    out.push_str(&e.name);
    for (name, value) in &e.attrs {
        out.push(' ');
        out.push_str(name);
        out.push_str("='");
        escape(value, true, out);
        out.push('\'');
    }
    if e.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for child in &e.children {
        match child {
            Node::Element(c) => element(c, out),
            Node::Text(t) => escape(t, false, out),
        }
    }
    out.push_str("</");
    out.push_str(&e.name);
    out.push('>');
}

/// Append `s` escaped as the forwarder does: in text `&` `<` `>`, in an attribute value also `'`.
pub fn escape_text(s: &str, attr: bool, out: &mut String) {
    escape(s, attr, out)
}

fn escape(s: &str, attr: bool, out: &mut String) {
    let b = s.as_bytes();
    let mut from = 0;
    loop {
        let rest = b.get(from..).unwrap_or_default();
        let next = if attr {
            memchr::memchr3(b'&', b'<', b'>', rest)
                .into_iter()
                .chain(memchr::memchr(b'\'', rest))
                .min()
        } else {
            memchr::memchr3(b'&', b'<', b'>', rest)
        };
        let Some(k) = next else { break };
        let i = from + k;
        out.push_str(s.get(from..i).unwrap_or_default());
        out.push_str(match b.get(i) {
            Some(b'&') => "&amp;",
            Some(b'<') => "&lt;",
            Some(b'>') => "&gt;",
            _ => "&apos;",
        });
        from = i + 1;
    }
    out.push_str(s.get(from..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(name: &str, attrs: &[(&str, &str)], children: Vec<Node>) -> Node {
        Node::Element(Element {
            name: name.into(),
            attrs: attrs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            children,
        })
    }
    fn text(name: &str, t: &str) -> Node {
        el(name, &[], vec![Node::Text(t.into())])
    }
    fn data(name: &str, t: &str) -> Node {
        el("Data", &[("Name", name)], vec![Node::Text(t.into())])
    }

    /// A real forwarder line (splunk/attack_data, T1649/certify_abuse/certify_esc1_abuse.log, first
    /// event): a raw line break and `&` inside a value, `<Correlation ActivityID=.../>`, `<Security/>`.
    const LINE: &str = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-A5BA-3E3B0328C30D}'/><EventID>4887</EventID><Version>0</Version><Level>0</Level><Task>12805</Task><Opcode>0</Opcode><Keywords>0x8020000000000000</Keywords><TimeCreated SystemTime='2023-05-25T12:47:37.394191200Z'/><EventRecordID>1830975491</EventRecordID><Correlation ActivityID='{28AAD79F-81AB-0001-BED7-AA28AB81D901}'/><Execution ProcessID='668' ThreadID='4068'/><Channel>Security</Channel><Computer>cert_authority.attack_range.local</Computer><Security/></System><EventData><Data Name='RequestId'>4</Data><Data Name='Requester'>attack_range\\attack_user</Data><Data Name='Attributes'>CertificateTemplate:VulnerableTemplate_ESC1\nSAN:dns=victim_machine.attack_range.local&amp;upn=victim_admin_user</Data><Data Name='Disposition'>3</Data><Data Name='SubjectKeyIdentifier'>00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 0C</Data><Data Name='Subject'>CN=attack_user</Data></EventData></Event>";

    #[test]
    fn renders_a_forwarder_line() {
        let system = el(
            "System",
            &[],
            vec![
                el(
                    "Provider",
                    &[
                        ("Name", "Microsoft-Windows-Security-Auditing"),
                        ("Guid", "{54849625-5478-4994-A5BA-3E3B0328C30D}"),
                    ],
                    vec![],
                ),
                text("EventID", "4887"),
                text("Version", "0"),
                text("Level", "0"),
                text("Task", "12805"),
                text("Opcode", "0"),
                text("Keywords", "0x8020000000000000"),
                el(
                    "TimeCreated",
                    &[("SystemTime", "2023-05-25T12:47:37.394191200Z")],
                    vec![],
                ),
                text("EventRecordID", "1830975491"),
                el(
                    "Correlation",
                    &[("ActivityID", "{28AAD79F-81AB-0001-BED7-AA28AB81D901}")],
                    vec![],
                ),
                el(
                    "Execution",
                    &[("ProcessID", "668"), ("ThreadID", "4068")],
                    vec![],
                ),
                text("Channel", "Security"),
                text("Computer", "cert_authority.attack_range.local"),
                el("Security", &[], vec![]),
            ],
        );
        let event_data = el(
            "EventData",
            &[],
            vec![
                data("RequestId", "4"),
                data("Requester", "attack_range\\attack_user"),
                data(
                    "Attributes",
                    "CertificateTemplate:VulnerableTemplate_ESC1\nSAN:dns=victim_machine.attack_range.local&upn=victim_admin_user",
                ),
                data("Disposition", "3"),
                data(
                    "SubjectKeyIdentifier",
                    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 0C",
                ),
                data("Subject", "CN=attack_user"),
            ],
        );
        let Node::Element(event) = el(
            "Event",
            &[(
                "xmlns",
                "http://schemas.microsoft.com/win/2004/08/events/event",
            )],
            vec![system, event_data],
        ) else {
            unreachable!()
        };
        let mut out = String::new();
        render(&event, &mut out);
        assert_eq!(out, LINE);
        assert!(super::super::xml::check(&out).is_ok());
    }

    #[test]
    fn empty_values_quotes_and_escapes() {
        let Node::Element(e) = el(
            "EventData",
            &[],
            vec![
                data("Path", ""),
                data("CommandLine", "\"a.exe\" 'x' <b> & c"),
                el("Binary", &[("k", "it's \"q\" <&>")], vec![]),
            ],
        ) else {
            unreachable!()
        };
        let mut out = String::from("x");
        render(&e, &mut out);
        assert_eq!(
            out,
            "x<EventData><Data Name='Path'></Data><Data Name='CommandLine'>\"a.exe\" 'x' &lt;b&gt; &amp; c</Data><Binary k='it&apos;s \"q\" &lt;&amp;&gt;'/></EventData>"
        );
    }
}
