//! `map` — run a search once for each row, with the row's values put into its text.
//!
//! ```text
//! map search="<search>" [maxsearches=<int>]
//! ```
//! `map` holds every row it is given; at the end, for each of the first `maxsearches` rows (default 10,
//! Splunk's default) it replaces each `$field$` in the search text by that row's value of `field`
//! (`$_serial_id$` by the row's number, from 1), expands the macros of the result (Splunk runs the text as
//! a new search, so a backtick macro inside the quotes is expanded), and runs it as a subsearch. The
//! rows of all these searches, in row order, are the command's output; the input rows are not passed on.
//! More rows than `maxsearches` give a warning and are not searched (`maxsearches=0` searches none:
//! zero does not mean unlimited).
//!
//! Not run, refused by name: a saved search name instead of `search=` (spelunk has no saved searches);
//! a row that lacks a field its text names, or holds several values in it (what Splunk substitutes then
//! is not documented) stops the search with an error naming the row and the field.

use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;
use std::collections::HashSet;

/// Splunk's default `maxsearches`.
pub const MAP_MAXSEARCHES: usize = 10;

#[derive(Clone, Debug, PartialEq)]
pub struct Map {
    /// The search text with its `$field$` tokens; `None` for a saved search (refused).
    pub search: Option<String>,
    /// The saved search named instead of `search=`.
    pub saved: Option<String>,
    pub maxsearches: usize,
    pub span: Span,
}

impl Map {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Map> {
        let mut search = None;
        let mut maxsearches = MAP_MAXSEARCHES;
        let mut saved = None;
        loop {
            for (k, v, span) in c.options(&["search", "maxsearches"])? {
                match k.as_str() {
                    "search" => search = Some(v),
                    _ => maxsearches = crate::parse::number("maxsearches", &v, span)?,
                }
            }
            c.ws();
            if c.at_stage_end() {
                break;
            }
            if saved.is_some() || search.is_some() {
                return Err(c.expected("`maxsearches=`, `|` or the end of `map`"));
            }
            let (name, _) = c.value("`search=\"...\"` or a saved search name")?;
            saved = Some(name);
        }
        if search.is_none() && saved.is_none() {
            return Err(c.expected("`search=\"<search>\"` after `map`"));
        }
        Ok(Map {
            search,
            saved,
            maxsearches,
            span: name_span,
        })
    }

    /// The field names the text's `$...$` tokens name, in order, once each.
    fn tokens(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let text = self.search.as_deref().unwrap_or("");
        let mut rest = text;
        while let Some(a) = rest.find('$') {
            let after = &rest[a + 1..];
            let Some(b) = after.find('$') else { break };
            let name = &after[..b];
            if !name.is_empty() && !out.iter().any(|n| n == name) {
                out.push(name.to_string());
            }
            rest = &after[b + 1..];
        }
        out
    }

    /// The search text for one row (`n` counts from 1).
    fn text_for(&self, row: &Event, n: usize) -> Result<String> {
        let template = self.search.as_deref().unwrap_or("");
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(a) = rest.find('$') {
            out.push_str(&rest[..a]);
            let after = &rest[a + 1..];
            let Some(b) = after.find('$') else {
                out.push_str(&rest[a..]);
                rest = "";
                break;
            };
            let name = &after[..b];
            if name.is_empty() {
                out.push('$');
            } else if name == "_serial_id" {
                out.push_str(&n.to_string());
            } else {
                match row.get(name) {
                    None => {
                        return Err(Diagnostic::at(
                            format!("map: row {n} has no `{name}` for `${name}$` in its search"),
                            self.span,
                        ))
                    }
                    Some(v) if v.is_multi() => {
                        return Err(Diagnostic::at(
                            format!("map: row {n} has several values in `{name}`; which one `${name}$` takes is not known, so spelunk does not guess (make it single-valued first, e.g. with mvindex)"),
                            self.span,
                        ))
                    }
                    Some(v) => out.push_str(&v.text()),
                }
            }
            rest = &after[b + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

impl super::SplCommand for Map {
    fn needs(&self, _after: super::Need) -> super::Need {
        // the rows after `map` come from its searches: only the fields its text names are read here
        Some(self.tokens().into_iter().collect::<HashSet<_>>())
    }

    fn refusals(&self) -> Vec<super::Refusal> {
        match &self.saved {
            Some(name) if self.search.is_none() => vec![super::Refusal {
                kind: super::RefusalKind::Feature,
                span: self.span,
                name: "map".to_string(),
                reason: format!("`map {name}` runs a saved search; spelunk has no saved searches: write the search as `map search=\"...\"`"),
            }],
            _ => Vec::new(),
        }
    }

    fn operator(&self, cx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(MapOp {
            map: self.clone(),
            macros: cx.macros.cloned(),
            warnings: cx.warnings.clone(),
            rows: Vec::new(),
        }))
    }
}

struct MapOp {
    map: Map,
    macros: Option<crate::macros::MacroLibrary>,
    warnings: super::Warnings,
    rows: Vec<Event>,
}

impl MapOp {
    fn search(&self, n: usize, row: &Event, sub: &dyn SubRunner) -> Result<Vec<Event>> {
        let text = self.map.text_for(row, n)?;
        let expanded = match &self.macros {
            Some(lib) => crate::macros::expand(&text, lib)
                .map_err(|e| {
                    Diagnostic::at(
                        format!("map: the search of row {n} (`{text}`): {}", e.message),
                        self.map.span,
                    )
                })?
                .text,
            None if text.contains('`') => {
                return Err(Diagnostic::at(
                    format!("map: the search of row {n} (`{text}`) calls a macro, and no macros are loaded here"),
                    self.map.span,
                ))
            }
            None => text.clone(),
        };
        let pipeline = crate::parse::parse_query(&expanded).map_err(|e| {
            Diagnostic::at(
                format!(
                    "map: the search of row {n} (`{expanded}`) does not parse: {}",
                    e.message
                ),
                self.map.span,
            )
        })?;
        sub.run(&pipeline)
    }
}

impl Operator for MapOp {
    fn push(&mut self, ev: Event, _out: &mut Vec<Event>) -> Result<()> {
        if self.rows.len() <= self.map.maxsearches {
            self.rows.push(ev);
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<Event>) -> Result<()> {
        Err(Diagnostic::at(
            "map: its searches cannot run here",
            self.map.span,
        ))
    }

    fn finish_with(&mut self, out: &mut Vec<Event>, sub: &dyn SubRunner) -> Result<()> {
        if self.rows.len() > self.map.maxsearches {
            self.warnings.warn(format!(
                "map: more rows than maxsearches={}; only the first {} were searched",
                self.map.maxsearches, self.map.maxsearches
            ));
            self.rows.truncate(self.map.maxsearches);
        }
        let rows = std::mem::take(&mut self.rows);
        for (i, row) in rows.iter().enumerate() {
            out.extend(self.search(i + 1, row, sub)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;
    use crate::parse::parse_query;
    use crate::value::Value;

    fn parse(q: &str) -> Result<Map> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::Map(m)) => Ok(m),
            other => panic!("not map: {other:?}"),
        }
    }

    #[test]
    fn parses_search_and_maxsearches() {
        let m = parse(r#"x | map search="search a=$a$ b=$b$ c=$a$" maxsearches=3"#).unwrap();
        assert_eq!(m.maxsearches, 3);
        assert_eq!(m.tokens(), ["a", "b"]);
        let m = parse(r#"x | map maxsearches=2 search="search x""#).unwrap();
        assert_eq!(m.maxsearches, 2);
        assert_eq!(parse(r#"x | map search="s""#).unwrap().maxsearches, 10);
        assert!(parse("x | map").is_err());
        assert!(parse(r#"x | map search="s" extra"#).is_err());
        use crate::commands::SplCommand;
        let m = parse("x | map mysaved").unwrap();
        assert!(m.refusals()[0].reason.contains("saved search"));
    }

    #[test]
    fn substitutes_row_values() {
        let m = parse(r#"x | map search="search id=$id$ n=$_serial_id$ $$ cost""#).unwrap();
        let mut row = Event::new();
        row.set("id", Value::str("0x3e7"));
        assert_eq!(m.text_for(&row, 2).unwrap(), "search id=0x3e7 n=2 $ cost");
        let e = m.text_for(&Event::new(), 1).unwrap_err();
        assert!(e.message.contains("row 1 has no `id`"), "{}", e.message);
        row.set(
            "id",
            Value::multi(vec![Value::str("a"), Value::str("b")]).unwrap(),
        );
        assert!(m
            .text_for(&row, 1)
            .unwrap_err()
            .message
            .contains("several values"));
    }
}
