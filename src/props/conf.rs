//! The `.conf` file notation Splunk's knowledge files share (props.conf, transforms.conf, eventtypes.conf,
//! tags.conf): `[stanza]` headers, `key = value` settings, `#` comment lines, and a value continued on the
//! next line by a trailing backslash (the lines are joined with a newline).

use crate::diag::{Diagnostic, Result};

/// One `[name]` stanza and its settings in file order.
#[derive(Clone, Debug)]
pub struct ConfStanza {
    pub name: String,
    /// 1-based line of the header.
    pub line: usize,
    pub keys: Vec<ConfKey>,
}

#[derive(Clone, Debug)]
pub struct ConfKey {
    pub key: String,
    pub value: String,
    /// 1-based line where the setting starts.
    pub line: usize,
}

/// Parse a `.conf` text; `origin` (a path) names it in errors. A setting before any stanza is an error.
pub fn parse(text: &str, origin: &str) -> Result<Vec<ConfStanza>> {
    let mut out: Vec<ConfStanza> = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let mut line = line.trim().to_string();
        while line.ends_with('\\') {
            line.pop();
            match lines.next() {
                Some((_, next)) => {
                    line.push('\n');
                    line.push_str(next.trim());
                }
                None => break,
            }
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            let Some(end) = line.rfind(']') else {
                return Err(Diagnostic::new(format!(
                    "{origin}:{}: stanza header without `]`",
                    n + 1
                )));
            };
            out.push(ConfStanza {
                name: line.get(1..end).unwrap_or("").trim().to_string(),
                line: n + 1,
                keys: Vec::new(),
            });
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(Diagnostic::new(format!(
                "{origin}:{}: expected `KEY = value`",
                n + 1
            )));
        };
        let Some(stanza) = out.last_mut() else {
            return Err(Diagnostic::new(format!(
                "{origin}:{}: setting outside a [stanza]",
                n + 1
            )));
        };
        stanza.keys.push(ConfKey {
            key: key.trim().to_string(),
            value: value.trim().to_string(),
            line: n + 1,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stanzas_keys_comments_and_continuations() {
        let t = "# c\n[a]\nx = 1\ny = p\\\nq\n\n[source::b...]\nz=2=3\n";
        let s = parse(t, "f").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].keys[1].value, "p\nq");
        assert_eq!(s[1].name, "source::b...");
        assert_eq!(s[1].keys[0].value, "2=3");
        assert_eq!(s[1].keys[0].line, 8);
        assert!(parse("x = 1", "f").unwrap_err().message.contains("f:1"));
        assert!(parse("[a\n", "f").is_err());
    }
}
