//! `fields` — keep or remove fields.
//!
//! ```text
//! fields [+] <field> [, <field>]...     keep these (wildcards allowed) plus _time and _raw
//! fields - <field> [, <field>]...       remove these
//! ```
//! Kept fields come in the order the list names them (a wildcard expands in the row's own order), then
//! the internal fields `_time` and `_raw` when the row has them and the list did not name them.
//! A name may end in a parenthesised part written without a space, as the names other commands give
//! their results do (`count(x)`, `predicted(score)`).

use super::{wildcard_match, Operator};
use crate::diag::Result;
use crate::event::Event;
use crate::parse::Cursor;

#[derive(Clone, Debug, PartialEq)]
pub struct Fields {
    pub remove: bool,
    pub fields: Vec<String>,
}

impl Fields {
    pub fn parse(c: &mut Cursor) -> Result<Fields> {
        c.ws();
        let remove = if c.eat('-') {
            true
        } else {
            c.eat('+');
            false
        };
        let fields = parse_field_list(c, "a field name")?;
        c.end_of_stage("fields")?;
        Ok(Fields { remove, fields })
    }
}

impl super::SplCommand for Fields {
    fn kind(&self) -> super::Kind {
        super::Kind::Streaming
    }

    fn needs(&self, after: super::Need) -> super::Need {
        if self.remove {
            let mut n = after?;
            for x in &self.fields {
                if !x.contains('*') {
                    n.remove(x);
                }
            }
            Some(n)
        } else if self.fields.iter().any(|f| f.contains('*')) {
            None
        } else {
            let mut n: std::collections::HashSet<String> = self.fields.iter().cloned().collect();
            n.insert("_time".into());
            n.insert("_raw".into());
            Some(n)
        }
    }

    fn sql(&self, q: &mut crate::sql::Query) -> Option<Result<()>> {
        Some(self.write_sql(q))
    }

    fn operator(
        &self,
        _cx: &super::Context,
        _sub: &dyn super::SubRunner,
    ) -> Result<Box<dyn Operator>> {
        Ok(Box::new(self.clone()))
    }
}

/// `a, b c "d e" count(x)` — names separated by spaces and/or commas, at least one; a name may end in a
/// parenthesised part written without a space (the names `stats` gives its results).
pub fn parse_field_list(c: &mut Cursor, what: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    loop {
        c.ws();
        if c.eat(',') {
            continue;
        }
        match c.try_field_name()? {
            Some((f, _)) => out.push(f),
            None => break,
        }
    }
    if out.is_empty() {
        return Err(c.expected(what));
    }
    Ok(out)
}

/// Reorder/select the fields of `ev` by `patterns` (each may hold `*`).
pub fn select(ev: Event, patterns: &[String], keep_internal: bool) -> Event {
    use crate::event::same_name;
    // each field is taken out of its place once (names are unique in an event); the places reuse
    // the event's own list, so the row costs one allocation
    type Place = Option<(crate::event::Field, crate::value::Value)>;
    let mut places: Vec<Place> = ev.into_fields().into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(patterns.len() + 2);
    let take_named = |places: &mut [Place], out: &mut Vec<_>, name: &str| {
        if let Some(p) = places
            .iter_mut()
            .find(|p| matches!(p, Some((k, _)) if same_name(k, name)))
        {
            out.extend(p.take());
        }
    };
    for p in patterns {
        if !p.contains('*') {
            take_named(&mut places, &mut out, p);
            continue;
        }
        for place in places.iter_mut() {
            if matches!(place, Some((k, _)) if wildcard_match(p, k)) {
                out.extend(place.take());
            }
        }
    }
    if keep_internal {
        for internal in ["_time", "_raw"] {
            take_named(&mut places, &mut out, internal);
        }
    }
    Event::from_fields(out)
}

impl Operator for Fields {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        if self.remove {
            ev.retain(|k| !self.fields.iter().any(|p| wildcard_match(p, k)));
            out.push(ev);
        } else {
            out.push(select(ev, &self.fields, true));
        }
        Ok(())
    }
}

impl Fields {
    /// This stage as the next step of an SQL statement (see [`crate::sql`]).
    fn write_sql(&self, q: &mut crate::sql::Query) -> Result<()> {
        let listed = |name: &str| self.fields.iter().any(|f| super::wildcard_match(f, name));
        // `fields` keeps the internal fields (`_time`, `_raw` ...) unless it removes them by name
        let keep = |name: &str| {
            if self.remove {
                !listed(name)
            } else {
                listed(name) || name.starts_with('_')
            }
        };
        let cols: Vec<crate::sql::Col> = q.cols.iter().filter(|c| keep(&c.name)).cloned().collect();
        q.unavailable.retain(|(n, _)| keep(n));
        let list: Vec<String> = cols.iter().map(|c| crate::sql::ident(&c.name)).collect();
        q.reshape(&list, cols);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<Fields> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::Fields(f)) => Ok(f),
            other => panic!("not fields: {other:?}"),
        }
    }

    #[test]
    fn names_may_end_in_parentheses() {
        let f =
            parse("x | fields - unusual_cmdline* predicted(unusual_cmdline_logits) orig_process")
                .unwrap();
        assert!(f.remove);
        assert_eq!(
            f.fields,
            [
                "unusual_cmdline*",
                "predicted(unusual_cmdline_logits)",
                "orig_process"
            ]
        );
        let f = parse("x | fields count(x), \"a b\", f(g(h)).i").unwrap();
        assert_eq!(f.fields, ["count(x)", "a b", "f(g(h)).i"]);
        // unbalanced or spaced parentheses are not part of a name
        assert!(parse("x | fields a(b").is_err());
        assert!(parse("x | fields a( b)").is_err());
    }
}
