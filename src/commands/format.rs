//! `format` — turn the rows into one search string, in a row with the field `search`.
//!
//! ```text
//! format [mvsep="<text>"] [maxresults=<N>] [emptystr="<text>"]
//!        ["<row prefix>" "<column prefix>" "<column separator>" "<column end>" "<row separator>" "<row end>"]
//! ```
//! Defaults `"(" "(" "AND" ")" "OR" ")"`, `mvsep="OR"`, `emptystr="NOT ()"`, `maxresults=0` (no limit):
//! `( ( f1="v1" AND f2="v2" ) OR ( f1="v3" ) )`. Each row gives `<column prefix> <terms joined by the
//! column separator> <column end>`; a term is `field="value"` with `"` and `\` escaped; a multivalue field
//! gives `( f="a" OR f="b" )` with `mvsep` between; internal fields (`_` prefix) are left out, and a field
//! named `search` or `query` is inserted as its text. These are the rules a subsearch's implied format
//! follows (SPL-SEMANTICS 4). No rows (or only rows without fields) give `emptystr`.

use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;
use crate::value::Value;

/// Whether spelunk runs this command (`check` reports the others as unsupported).
pub const RUNNABLE: bool = true;

#[derive(Clone, Debug, PartialEq)]
pub struct Format {
    pub row_prefix: String,
    pub col_prefix: String,
    pub col_sep: String,
    pub col_end: String,
    pub row_sep: String,
    pub row_end: String,
    pub mvsep: String,
    pub emptystr: String,
    /// 0: no limit.
    pub maxresults: usize,
    pub span: Span,
}

impl Default for Format {
    fn default() -> Self {
        Format {
            row_prefix: "(".into(),
            col_prefix: "(".into(),
            col_sep: "AND".into(),
            col_end: ")".into(),
            row_sep: "OR".into(),
            row_end: ")".into(),
            mvsep: "OR".into(),
            emptystr: "NOT ()".into(),
            maxresults: 0,
            span: Span::default(),
        }
    }
}

impl Format {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Format> {
        let mut f = Format {
            span: name_span,
            ..Format::default()
        };
        let mut texts: Vec<(String, Span)> = Vec::new();
        loop {
            for (k, v, span) in c.options(&["mvsep", "maxresults", "emptystr"])? {
                match k.as_str() {
                    "mvsep" => f.mvsep = v,
                    "emptystr" => f.emptystr = v,
                    _ => f.maxresults = crate::parse::number("maxresults", &v, span)?,
                }
            }
            c.ws();
            if c.at_stage_end() {
                break;
            }
            if !c.at('"') {
                return Err(
                    c.expected("`mvsep=`, `maxresults=`, `emptystr=` or six quoted separators")
                );
            }
            texts.push(c.quoted()?);
        }
        match texts.len() {
            0 => {}
            6 => {
                let mut t = texts.into_iter().map(|(s, _)| s);
                let mut next = || t.next().unwrap_or_default();
                f.row_prefix = next();
                f.col_prefix = next();
                f.col_sep = next();
                f.col_end = next();
                f.row_sep = next();
                f.row_end = next();
            }
            n => {
                let span = texts.first().map(|(_, s)| *s).unwrap_or(name_span);
                return Err(Diagnostic::at(
                    format!("`format` takes all six separators (row prefix, column prefix, column separator, column end, row separator, row end) or none; found {n}"),
                    span,
                ));
            }
        }
        Ok(f)
    }

    /// The search string of `rows`.
    pub fn text(&self, rows: &[Event]) -> String {
        let limit = if self.maxresults == 0 {
            usize::MAX
        } else {
            self.maxresults
        };
        let mut groups = Vec::new();
        for r in rows.iter().take(limit) {
            let mut terms = Vec::new();
            for (k, v) in r.iter() {
                if k.starts_with('_') {
                    continue;
                }
                if k.as_ref() == "search" || k.as_ref() == "query" {
                    terms.push(
                        v.values()
                            .iter()
                            .map(|x| x.text().into_owned())
                            .collect::<Vec<_>>()
                            .join(" "),
                    );
                    continue;
                }
                let vals: Vec<String> = v.values().iter().map(|x| term(k, x)).collect();
                if vals.len() == 1 {
                    terms.extend(vals);
                } else {
                    terms.push(format!("( {} )", vals.join(&format!(" {} ", self.mvsep))));
                }
            }
            if !terms.is_empty() {
                groups.push(format!(
                    "{} {} {}",
                    self.col_prefix,
                    terms.join(&format!(" {} ", self.col_sep)),
                    self.col_end
                ));
            }
        }
        if groups.is_empty() {
            self.emptystr.clone()
        } else {
            format!(
                "{} {} {}",
                self.row_prefix,
                groups.join(&format!(" {} ", self.row_sep)),
                self.row_end
            )
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Does `term` write this field name in double quotes (it holds characters a search would split on)?
pub fn quotes_name(field: &str) -> bool {
    field.chars().any(|c| {
        c.is_whitespace() || matches!(c, '=' | '"' | '(' | ')' | '[' | ']' | '|' | '!' | '<' | '>')
    })
}

/// `field="value"`, the field quoted when it holds characters a search would split on; the search reads a
/// double-quoted name before `=` as the field (SPL-SEMANTICS 3), so the text reads back as the same rows.
pub fn term(field: &str, v: &Value) -> String {
    let name = if quotes_name(field) {
        format!("\"{}\"", escape(field))
    } else {
        field.to_string()
    };
    format!("{name}=\"{}\"", escape(&v.text()))
}

struct FormatOp {
    format: Format,
    rows: Vec<Event>,
}

impl Operator for FormatOp {
    fn push(&mut self, ev: Event, _out: &mut Vec<Event>) -> Result<()> {
        self.rows.push(ev);
        Ok(())
    }
    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        let mut row = Event::new();
        row.set("search", Value::str(self.format.text(&self.rows)));
        out.push(row);
        Ok(())
    }
}

impl super::SplCommand for Format {
    fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(FormatOp {
            format: self.clone(),
            rows: Vec::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_subsearch_format() {
        let mut a = Event::new();
        a.set("user", Value::str("bob"));
        a.set("_time", Value::Num(1.0));
        let mut b = Event::new();
        b.set("user", Value::str("a\"b"));
        b.set("x", Value::multi(vec!["1".into(), "2".into()]).unwrap());
        let rows = vec![a, b];
        // the same text as a subsearch's implied format (plan::format_rows)
        assert_eq!(
            Format::default().text(&rows),
            r#"( ( user="bob" ) OR ( user="a\"b" AND ( x="1" OR x="2" ) ) )"#
        );
        assert_eq!(Format::default().text(&[]), "NOT ()");
    }
}
