//! `multikv` — one result per row of a table written in an event's text.
//!
//! ```text
//! multikv [copyattrs=<bool>] [forceheader=<int>] [noheader=<bool>] [multitable=<bool>] [rmorig=<bool>]
//!         [conf=<stanza>] [fields <field> ...] [filter <term> ...]
//! ```
//! The lines of `_raw` (empty ones skipped) are a header line and rows. A line is cut into values at runs
//! of spaces, tabs and commas; a value that starts with `"` runs to the next `"` and keeps its quotes. The
//! header's values, cleaned as transforms.conf's `CLEAN_KEYS` does (characters other than letters and
//! digits become `_`, leading `_` and digits are dropped: `"sc_status"` gives `sc_status_`), name the
//! fields. Every row after the header becomes a result: its `_raw` is the row's line, each value sets the
//! field of its column (over a field of that name copied from the event), and with `copyattrs=true` (the
//! default) the event's other fields are copied onto it; with `copyattrs=false` it has only `_raw` and
//! the row's fields. The event itself is removed (`rmorig=true`, the default).
//!
//! `forceheader=N` makes line N (from 1) the header; earlier lines are not rows. `noheader=true` reads
//! every line as a row and names the columns `Column_1`, `Column_2`, ... `fields` keeps only the named
//! columns; `filter` keeps only rows whose line contains one of the terms (ignoring case).
//!
//! Without `forceheader` or `noheader` Splunk guesses the header; spelunk takes the first line, and only
//! when none of its values is a number: otherwise the search stops with an error asking for
//! `forceheader=`. A row with a different number of values than the header (a column aligned by
//! position, a value with spaces) stops the search with an error, as does a second table after an empty
//! line: spelunk does not align columns by offset. Refused: `conf=` (multikv.conf stanzas) and
//! `rmorig=false`.

use super::{Context, Operator, Refusal, RefusalKind, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::{flag, number, Cursor};
use crate::props::extract::clean_key;
use crate::value::Value;

const OPTIONS: &[&str] = &[
    "conf",
    "copyattrs",
    "forceheader",
    "noheader",
    "multitable",
    "rmorig",
];

#[derive(Clone, Debug, PartialEq)]
pub struct MultiKv {
    pub copyattrs: bool,
    /// Header line, from 1.
    pub forceheader: Option<usize>,
    pub noheader: bool,
    pub fields: Vec<String>,
    pub filter: Vec<String>,
    pub refused: Vec<Refusal>,
    pub span: Span,
}

fn refusal(name: &str, reason: String, span: Span) -> Refusal {
    Refusal {
        kind: RefusalKind::Feature,
        name: name.to_string(),
        reason,
        span,
    }
}

impl MultiKv {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<MultiKv> {
        let mut m = MultiKv {
            copyattrs: true,
            forceheader: None,
            noheader: false,
            fields: Vec::new(),
            filter: Vec::new(),
            refused: Vec::new(),
            span: name_span,
        };
        loop {
            for (k, v, at) in c.options(OPTIONS)? {
                match k.as_str() {
                    "conf" => m.refused.push(refusal(
                        "multikv conf",
                        format!("unsupported option in 'multikv': `conf={v}` (a multikv.conf stanza) is not supported yet"),
                        at,
                    )),
                    "copyattrs" => m.copyattrs = flag(&k, &v, at)?,
                    "forceheader" => {
                        let n: usize = number(&k, &v, at)?;
                        if n == 0 {
                            return Err(Diagnostic::at(
                                "`forceheader` counts lines from 1".to_string(),
                                at,
                            ));
                        }
                        m.forceheader = Some(n);
                    }
                    "noheader" => m.noheader = flag(&k, &v, at)?,
                    "multitable" => {
                        flag(&k, &v, at)?;
                    }
                    _ => {
                        if !flag(&k, &v, at)? {
                            m.refused.push(refusal(
                                "multikv rmorig",
                                "unsupported option in 'multikv': `rmorig=false` (keeping the event beside its rows) is not supported yet".into(),
                                at,
                            ));
                        }
                    }
                }
            }
            c.ws();
            if c.at_stage_end() {
                break;
            }
            let list = if c.keyword("fields") {
                &mut m.fields
            } else if c.keyword("filter") {
                &mut m.filter
            } else {
                return super::end_of_args(
                    c,
                    "multikv",
                    "an option, `fields` or `filter`",
                    OPTIONS,
                )
                .map(|_| m);
            };
            let before = list.len();
            loop {
                c.ws();
                if c.at_stage_end()
                    || c.at_option()
                    || c.at_keyword("fields")
                    || c.at_keyword("filter")
                {
                    break;
                }
                list.push(c.field("a name")?.0);
                c.eat(',');
            }
            if list.len() == before {
                return Err(c.expected("a list after `fields` or `filter`"));
            }
        }
        Ok(m)
    }
}

impl super::SplCommand for MultiKv {
    fn kind(&self) -> super::Kind {
        super::Kind::Streaming
    }

    fn refusals(&self) -> Vec<Refusal> {
        self.refused.clone()
    }

    fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(MultiKvOp(self.clone())))
    }
}

/// The values of one table line: cut at runs of spaces, tabs and commas; a value starting with `"` runs
/// to the next `"` and keeps its quotes.
pub fn cells(line: &str) -> Vec<&str> {
    let is_sep = |c: char| c == ' ' || c == '\t' || c == ',';
    let mut out = Vec::new();
    let mut rest = line;
    loop {
        rest = rest.trim_start_matches(is_sep);
        if rest.is_empty() {
            return out;
        }
        let end = if let Some(inner) = rest.strip_prefix('"') {
            match inner.find('"') {
                Some(q) => {
                    let after = q + 2;
                    // text glued to the closing quote belongs to the value
                    after
                        + rest
                            .get(after..)
                            .and_then(|r| r.find(is_sep))
                            .unwrap_or(rest.len() - after)
                }
                None => rest.len(),
            }
        } else {
            rest.find(is_sep).unwrap_or(rest.len())
        };
        let end = end.min(rest.len());
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
}

fn is_number(s: &str) -> bool {
    let t = s.trim_matches('"');
    !t.is_empty() && t.parse::<f64>().is_ok()
}

struct MultiKvOp(MultiKv);

impl MultiKvOp {
    fn rows(&self, ev: &Event, raw: &str, out: &mut Vec<Event>) -> Result<()> {
        let m = &self.0;
        // (line number from 1, text); a blank line between lines ends a table
        let mut lines: Vec<(usize, &str, bool)> = Vec::new();
        let mut gap = false;
        for (i, l) in raw.lines().enumerate() {
            let l = l.trim_end_matches('\r');
            if l.trim().is_empty() {
                gap = !lines.is_empty();
                continue;
            }
            lines.push((i + 1, l, gap));
            gap = false;
        }
        let (names, body): (Vec<String>, &[(usize, &str, bool)]) = if m.noheader {
            let n = lines.first().map_or(0, |(_, l, _)| cells(l).len());
            ((1..=n).map(|i| format!("Column_{i}")).collect(), &lines[..])
        } else {
            let at = match m.forceheader {
                Some(n) => match lines.iter().position(|(no, _, _)| *no >= n) {
                    Some(p) if lines[p].0 == n => p,
                    _ => {
                        return Err(Diagnostic::new(format!(
                            "multikv: `forceheader={n}` names an empty or missing line of the event"
                        )))
                    }
                },
                None => 0,
            };
            let Some((_, header, _)) = lines.get(at) else {
                return Ok(());
            };
            let hs = cells(header);
            if m.forceheader.is_none() && hs.iter().any(|h| is_number(h)) {
                return Err(Diagnostic::new(format!(
                    "multikv: the first line of the event (`{header}`) holds a number, so it may not be the header Splunk would pick; give `forceheader=N` (the header's line, from 1) or `noheader=true`"
                )));
            }
            (
                hs.iter().map(|h| clean_key(h)).collect(),
                lines.get(at + 1..).unwrap_or(&[]),
            )
        };
        for (no, line, gap) in body {
            if *gap {
                return Err(Diagnostic::new(format!(
                    "multikv: line {no} follows an empty line: a second table in one event is not supported yet"
                )));
            }
            if !m.filter.is_empty() {
                let low = line.to_lowercase();
                if !m.filter.iter().any(|t| low.contains(&t.to_lowercase())) {
                    continue;
                }
            }
            let vals = cells(line);
            if vals.len() != names.len() {
                return Err(Diagnostic::new(format!(
                    "multikv: line {no} (`{line}`) has {} values for {} columns; spelunk cuts rows at spaces and commas and does not align columns by position",
                    vals.len(),
                    names.len()
                )));
            }
            let mut row = if m.copyattrs {
                ev.clone()
            } else {
                Event::new()
            };
            row.set("_raw", Value::str(*line));
            for (name, v) in names.iter().zip(vals) {
                if name.is_empty() || (!m.fields.is_empty() && !m.fields.contains(name)) {
                    continue;
                }
                row.set(name.as_str(), Value::str(v));
            }
            out.push(row);
        }
        Ok(())
    }
}

impl Operator for MultiKvOp {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let Some(raw) = ev.get("_raw").map(|v| v.text().into_owned()) else {
            return Ok(());
        };
        self.rows(&ev, &raw, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{Command, SplCommand};
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<MultiKv> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::MultiKv(x)) => Ok(x),
            other => panic!("not multikv: {other:?}"),
        }
    }

    fn run(q: &str, raw: &str) -> Result<Vec<Event>> {
        let m = parse(q).unwrap();
        let mut ev = Event::new();
        ev.set("_raw", Value::str(raw));
        ev.set("host", Value::str("h"));
        let mut out = Vec::new();
        MultiKvOp(m).push(ev, &mut out)?;
        Ok(out)
    }

    fn get(e: &Event, f: &str) -> Option<String> {
        e.get(f).map(|v| v.text().into_owned())
    }

    #[test]
    fn cells_keep_quotes() {
        assert_eq!(
            cells(r#""a","b c",,"" d"#),
            [r#""a""#, r#""b c""#, r#""""#, "d"]
        );
        assert_eq!(cells("Name   Age\t x"), ["Name", "Age", "x"]);
    }

    #[test]
    fn rows_become_results() {
        let out = run("x | multikv", "Name Age\nJosh 42\n\n").unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(get(&out[0], "Name").as_deref(), Some("Josh"));
        assert_eq!(get(&out[0], "_raw").as_deref(), Some("Josh 42"));
        assert_eq!(get(&out[0], "host").as_deref(), Some("h"));
        let out = run("x | multikv copyattrs=f fields Age", "Name Age\nJosh 42").unwrap();
        assert_eq!(get(&out[0], "host"), None);
        assert_eq!(get(&out[0], "Name"), None);
        assert_eq!(get(&out[0], "Age").as_deref(), Some("42"));
        let out = run("x | multikv noheader=t filter josh", "Josh 42\nAmy 7").unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(get(&out[0], "Column_2").as_deref(), Some("42"));
        let out = run("x | multikv forceheader=2", "title\nA B\n1 2").unwrap();
        assert_eq!(get(&out[0], "B").as_deref(), Some("2"));
        let e = run("x | multikv", "1 2\n3 4").unwrap_err();
        assert!(e.message.contains("forceheader"), "{}", e.message);
        let e = run("x | multikv", "A B\n1 2 3").unwrap_err();
        assert!(
            e.message.contains("3 values for 2 columns"),
            "{}",
            e.message
        );
        let e = run("x | multikv", "A B\n1 2\n\nC D\n3 4").unwrap_err();
        assert!(e.message.contains("second table"), "{}", e.message);
    }

    #[test]
    fn refuses_what_it_does_not_do() {
        assert_eq!(parse("x | multikv conf=x").unwrap().refusals().len(), 1);
        assert_eq!(parse("x | multikv rmorig=f").unwrap().refusals().len(), 1);
        assert!(parse("x | multikv rmorig=t multitable=f")
            .unwrap()
            .refusals()
            .is_empty());
        assert!(parse("x | multikv fields").is_err());
        assert!(parse("x | multikv forceheader=0").is_err());
        let e = parse("x | multikv copyatrs=t").unwrap_err();
        assert!(
            e.message.contains("did you mean `copyattrs`"),
            "{}",
            e.message
        );
    }
}
