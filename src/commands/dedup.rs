//! `dedup` — keep the first rows for each combination of field values.
//!
//! ```text
//! dedup [<N>] <field> [[,] <field>]... [keepevents=<bool>] [keepempty=<bool>] [consecutive=<bool>]
//!       [sortby <sort key>...]
//! ```
//! Keeps the first N rows (default 1) for each combination of values of the fields, in input order.
//! A row missing any of the fields is dropped, or kept untouched with `keepempty=t`. `consecutive=t`
//! removes a row only when it repeats the combination of the row kept just before it. `keepevents=t`
//! keeps every row but removes the fields from the duplicates. `sortby` (keys as in `sort`) orders the
//! rows that remain. Options may come before or after the fields. A multivalue field's combination is
//! all of its values in order.

use super::sort::{compare_rows, parse_keys, SortKey};
use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;
use std::collections::HashMap;

const OPTIONS: &[&str] = &["keepevents", "keepempty", "consecutive"];

#[derive(Clone, Debug, PartialEq)]
pub struct Dedup {
    pub count: usize,
    pub fields: Vec<String>,
    pub keepevents: bool,
    pub keepempty: bool,
    pub consecutive: bool,
    pub sortby: Vec<SortKey>,
    pub span: Span,
}

impl Dedup {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Dedup> {
        let mut d = Dedup {
            count: 1,
            fields: Vec::new(),
            keepevents: false,
            keepempty: false,
            consecutive: false,
            sortby: Vec::new(),
            span: name_span,
        };
        c.ws();
        let save = c.pos;
        if let Some((w, span)) = c.bare() {
            if w.bytes().all(|b| b.is_ascii_digit()) {
                d.count = w.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    Diagnostic::at(format!("the count must be at least 1, not `{w}`"), span)
                })?;
            } else {
                c.pos = save;
            }
        }
        loop {
            for (k, v, span) in c.options(OPTIONS)? {
                let b = crate::parse::flag(&k, &v, span)?;
                match k.as_str() {
                    "keepevents" => d.keepevents = b,
                    "keepempty" => d.keepempty = b,
                    _ => d.consecutive = b,
                }
            }
            c.ws();
            if c.eat(',') {
                continue;
            }
            if c.at_stage_end() {
                break;
            }
            if c.keyword("sortby") {
                d.sortby = parse_keys(c)?;
                continue;
            }
            // a word followed by `=` is a misspelt option, not a field
            if c.at_option() {
                return super::end_of_args(c, "dedup", "a field", OPTIONS).map(|_| d);
            }
            match c.try_field()? {
                Some((f, _)) => d.fields.push(f),
                None => return Err(c.expected("a field name, an option or `sortby`")),
            }
        }
        if d.fields.is_empty() {
            return Err(c.expected("a field to deduplicate on"));
        }
        Ok(d)
    }
}

impl super::SplCommand for Dedup {
    fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(DedupOp {
            dedup: self.clone(),
            seen: HashMap::new(),
            last: None,
            held: Vec::new(),
        }))
    }
}

struct DedupOp {
    dedup: Dedup,
    seen: HashMap<Vec<String>, usize>,
    /// `consecutive=t`: the combination of the previous row and how many times it ran.
    last: Option<(Vec<String>, usize)>,
    /// Rows kept back for `sortby`.
    held: Vec<Event>,
}

impl DedupOp {
    fn key(&self, ev: &Event) -> Option<Vec<String>> {
        self.dedup
            .fields
            .iter()
            .map(|f| ev.get(f).map(|v| v.to_string()))
            .collect()
    }

    fn emit(&mut self, ev: Event, out: &mut Vec<Event>) {
        if self.dedup.sortby.is_empty() {
            out.push(ev);
        } else {
            self.held.push(ev);
        }
    }
}

impl Operator for DedupOp {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let Some(key) = self.key(&ev) else {
            if self.dedup.keepempty {
                self.emit(ev, out);
            }
            return Ok(());
        };
        let keep = if self.dedup.consecutive {
            let n = match &self.last {
                Some((k, n)) if *k == key => n + 1,
                _ => 1,
            };
            self.last = Some((key, n));
            n <= self.dedup.count
        } else {
            let n = self.seen.entry(key).or_insert(0);
            *n += 1;
            *n <= self.dedup.count
        };
        if keep {
            self.emit(ev, out);
        } else if self.dedup.keepevents {
            for f in &self.dedup.fields {
                ev.remove(f);
            }
            self.emit(ev, out);
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        let mut rows = std::mem::take(&mut self.held);
        rows.sort_by(|a, b| compare_rows(a, b, &self.dedup.sortby));
        out.extend(rows);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::sort::Collation;
    use crate::commands::Command;
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<Dedup> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::Dedup(d)) => Ok(d),
            other => panic!("not dedup: {other:?}"),
        }
    }

    #[test]
    fn parses_fields_options_and_sortby() {
        let d = parse("x | dedup src_ip src_user").unwrap();
        assert_eq!(d.fields, ["src_ip", "src_user"]);
        assert_eq!(d.count, 1);
        let d =
            parse("x | dedup 2 keepempty=t a, b consecutive=true sortby -_time, str(a)").unwrap();
        assert_eq!(
            (d.count, d.keepempty, d.consecutive, d.keepevents),
            (2, true, true, false)
        );
        assert_eq!(d.fields, ["a", "b"]);
        assert_eq!(d.sortby.len(), 2);
        assert!(d.sortby[0].descending);
        assert_eq!(d.sortby[1].collation, Collation::Str);
        let d = parse("x | dedup user.username user.groups{} keepevents=1").unwrap();
        assert_eq!(d.fields, ["user.username", "user.groups{}"]);
        assert!(d.keepevents);
    }

    #[test]
    fn refuses_bad_syntax() {
        let e = parse("x | dedup").unwrap_err();
        assert!(
            e.message.contains("a field to deduplicate on"),
            "{}",
            e.message
        );
        let e = parse("x | dedup a keepempty=maybe").unwrap_err();
        assert_eq!(e.span, Some(Span::new(12, 27)));
        let e = parse("x | dedup a keepempy=t").unwrap_err();
        assert!(
            e.message.contains("did you mean `keepempty`"),
            "{}",
            e.message
        );
        assert_eq!(e.span.map(|s| s.start), Some(12));
        let e = parse("x | dedup 0 a").unwrap_err();
        assert_eq!(e.span, Some(Span::new(10, 11)));
        let e = parse("x | dedup a sortby").unwrap_err();
        assert!(e.message.contains("a field to sort by"), "{}", e.message);
    }
}
