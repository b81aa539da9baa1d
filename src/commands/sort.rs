//! `sort` — order rows by fields.
//!
//! ```text
//! sort [<count>] [limit=<int>] <key> [[,] <key>]... [d | desc]
//! key := [+|-] <field> | [+|-] auto(<field>) | str(<field>) | num(<field>) | ip(<field>)
//! ```
//! `-` sorts that key descending; a trailing `d`/`desc` reverses the whole order. `<count>` (or `limit=`)
//! keeps the first rows after sorting; 0 keeps all; without either Splunk keeps 10,000 rows, and so does
//! spelunk. The sort is stable: rows that compare equal keep
//! their input order.
//!
//! Collation (Search Reference, `sort`, "Usage"): `auto` (the default) compares numerically when both
//! values are numbers, as IP addresses when both are IPv4 addresses, else as text in byte order (upper
//! case before lower case), numbers before text. `str` is text order, `num` numeric (non-numbers after
//! numbers, in text order), `ip` IPv4 order (non-addresses after). A row missing the field sorts last
//! whether the key is ascending or descending. A multivalue field sorts by its first value.

use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;
use crate::value::{sort_order, Value};
use std::cmp::Ordering;
use std::net::Ipv4Addr;

/// Splunk's default cap on the rows `sort` returns.
pub const DEFAULT_LIMIT: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collation {
    Auto,
    Str,
    Num,
    Ip,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    pub field: String,
    pub descending: bool,
    pub collation: Collation,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Sort {
    /// `None`: Splunk's default cap; `Some(0)`: every row.
    pub limit: Option<usize>,
    pub keys: Vec<SortKey>,
    pub span: Span,
}

/// Parse sort keys up to the stage end (or a word that cannot start a key); a final `d`/`desc` word
/// reverses them all. Shared with `dedup ... sortby`.
pub fn parse_keys(c: &mut Cursor) -> Result<Vec<SortKey>> {
    let mut keys = Vec::new();
    loop {
        c.ws();
        if c.eat(',') {
            continue;
        }
        if c.at_stage_end() {
            break;
        }
        let save = c.pos;
        let sign = if c.eat('-') {
            Some(true)
        } else if c.eat('+') {
            Some(false)
        } else {
            None
        };
        c.ws();
        if sign.is_none() && (c.at_keyword("d") || c.at_keyword("desc")) {
            let mut probe = Cursor {
                src: c.src,
                pos: c.pos,
                depth: c.depth,
            };
            let _ = probe.bare();
            if probe.at_stage_end() && !keys.is_empty() {
                c.pos = probe.pos;
                for k in &mut keys {
                    let k: &mut SortKey = k;
                    k.descending = !k.descending;
                }
                break;
            }
        }
        if c.at('"') || c.peek_char().is_some_and(|ch| !"=|,()[]".contains(ch)) {
            let (name, _) = c.field("a field to sort by")?;
            if c.at('=') {
                // `word=` is an option (maybe misspelt), not a key
                c.pos = save;
                break;
            }
            let collation = if c.at('(') {
                let coll = match name.to_ascii_lowercase().as_str() {
                    "auto" => Collation::Auto,
                    "str" => Collation::Str,
                    "num" => Collation::Num,
                    "ip" => Collation::Ip,
                    other => {
                        return Err(Diagnostic::at(
                            format!("unknown sort function `{other}`: expected `auto`, `str`, `num` or `ip`"),
                            Span::new(save, c.pos),
                        ))
                    }
                };
                c.eat('(');
                let (inner, _) = c.field("a field inside the parentheses")?;
                c.expect(')', "`)`")?;
                keys.push(SortKey {
                    field: inner,
                    descending: sign.unwrap_or(false),
                    collation: coll,
                });
                continue;
            } else {
                Collation::Auto
            };
            keys.push(SortKey {
                field: name,
                descending: sign.unwrap_or(false),
                collation,
            });
        } else {
            c.pos = save;
            break;
        }
    }
    if keys.is_empty() {
        return Err(c.expected("a field to sort by"));
    }
    Ok(keys)
}

impl Sort {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Sort> {
        let mut limit = None;
        c.ws();
        // a leading whole number is the count
        let save = c.pos;
        if let Some((w, span)) = c.bare() {
            if w.bytes().all(|b| b.is_ascii_digit()) {
                limit =
                    Some(w.parse().map_err(|_| {
                        Diagnostic::at(format!("`{w}` is too large a count"), span)
                    })?);
            } else {
                c.pos = save;
            }
        }
        for (_, v, span) in c.options(&["limit"])? {
            limit = Some(v.parse().map_err(|_| {
                Diagnostic::at(format!("`limit` takes a whole number, not `{v}`"), span)
            })?);
        }
        let keys = parse_keys(c)?;
        super::end_of_args(c, "sort", "another sort key", &["limit"])?;
        Ok(Sort {
            limit,
            keys,
            span: name_span,
        })
    }
}

impl super::SplCommand for Sort {
    fn needs(&self, after: super::Need) -> super::Need {
        let mut n = after?;
        for k in &self.keys {
            if k.field.contains('*') {
                return None;
            }
            n.insert(k.field.clone());
        }
        Some(n)
    }

    fn sql(&self, q: &mut crate::sql::Query) -> Option<Result<()>> {
        Some(self.write_sql(q))
    }

    fn operator(&self, ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(SortOp {
            sort: self.clone(),
            rows: Vec::new(),
            cancel: ctx.limits.cancel,
        }))
    }
}

impl Sort {
    /// `sort` as SQL, as [`compare_rows`] orders rows: a row missing the key's field last either way,
    /// a multivalue field by its first value, `auto` and `num` numbers numerically before text in byte
    /// order (all reversed for `-`), `str` text in byte order; ties keep the order the rows had, so the
    /// rows must have one (after `stats`, say). `auto` compares two IPv4 addresses as addresses: a value
    /// that looks like one stops the query. `ip()` has no SQL form yet.
    fn write_sql(&self, q: &mut crate::sql::Query) -> Result<()> {
        use crate::sql::{
            as_number, binary, full_match, ident, list_item, no_sql_form, raise, text_of,
        };
        let Some(before) = q.order().map(<[String]>::to_vec) else {
            return Err(no_sql_form(
                "`sort` over events (rows that tie keep the events' order)",
            ));
        };
        let mut terms = Vec::new();
        for k in &self.keys {
            if k.field.contains('*') {
                return Err(no_sql_form("a wildcard in `sort`"));
            }
            if k.collation == Collation::Ip {
                return Err(no_sql_form("`sort` by `ip()`"));
            }
            let Some(c) = q.field(&k.field)?.cloned() else {
                // no row has it: every row ties on this key
                continue;
            };
            let v = if c.multi {
                list_item(&ident(&c.name), 1)
            } else {
                text_of(&c)
            };
            let dir = if k.descending { "DESC" } else { "ASC" };
            terms.push(format!("({v}) IS NULL ASC"));
            if k.collation == Collation::Auto {
                // two IPv4 addresses compare as addresses: not written here
                terms.push(format!(
                    "CASE WHEN {} THEN {} END",
                    full_match(
                        &v,
                        "[ \\t\\n\\f\\r]*[0-9]{1,3}(\\.[0-9]{1,3}){3}[ \\t\\n\\f\\r]*"
                    ),
                    raise(&format!(
                        "sort by the field {} over a value that looks like an IPv4 address (sorted as an address) has no SQL form yet",
                        k.field
                    ))
                ));
            }
            if k.collation != Collation::Str {
                let n = if c.int && !c.multi {
                    format!("CAST({} AS DOUBLE)", ident(&c.name))
                } else {
                    as_number(&v)
                };
                terms.push(format!("({n}) IS NULL {dir}"));
                terms.push(format!("{n} {dir} NULLS LAST"));
                // equal numbers tie (`10` and `10.0`); text is compared only between non-numbers
                terms.push(format!(
                    "CASE WHEN ({n}) IS NULL THEN {} END {dir} NULLS LAST",
                    binary(&v)
                ));
            } else {
                terms.push(format!("{} {dir} NULLS LAST", binary(&v)));
            }
        }
        terms.extend(before);
        let mut select = format!("SELECT * FROM {}", q.from());
        if !terms.is_empty() {
            select.push_str(&format!(" ORDER BY {}", terms.join(", ")));
        }
        match self.limit {
            None => select.push_str(&format!(" LIMIT {DEFAULT_LIMIT}")),
            Some(0) => {}
            Some(n) => select.push_str(&format!(" LIMIT {n}")),
        }
        let cols = q.cols.clone();
        q.step(select, cols, Some(terms));
        Ok(())
    }
}

fn ipv4(v: &Value) -> Option<u32> {
    v.text().trim().parse::<Ipv4Addr>().ok().map(u32::from)
}

/// Compare two present values under a collation (ascending).
pub fn collate(a: &Value, b: &Value, coll: Collation) -> Ordering {
    let a = a.values().first().unwrap_or(a);
    let b = b.values().first().unwrap_or(b);
    let text = || a.text().as_ref().cmp(b.text().as_ref());
    match coll {
        Collation::Str => text(),
        Collation::Num => match (a.as_num(), b.as_num()) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => text(),
        },
        Collation::Ip => match (ipv4(a), ipv4(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => text(),
        },
        Collation::Auto => match (ipv4(a), ipv4(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => sort_order(a, b),
        },
    }
}

/// Compare two rows by `keys`: missing values last in either direction.
pub fn compare_rows(a: &Event, b: &Event, keys: &[SortKey]) -> Ordering {
    for k in keys {
        let o = match (a.get(&k.field), b.get(&k.field)) {
            (Some(x), Some(y)) => {
                let o = collate(x, y, k.collation);
                if k.descending {
                    o.reverse()
                } else {
                    o
                }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

struct SortOp {
    sort: Sort,
    rows: Vec<Event>,
    cancel: crate::limits::Cancel,
}

impl Operator for SortOp {
    fn push(&mut self, ev: Event, _out: &mut Vec<Event>) -> Result<()> {
        self.rows.push(ev);
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        let keys = &self.sort.keys;
        let mut rows = crate::limits::sort_by_cancellable(
            std::mem::take(&mut self.rows),
            self.cancel,
            |a, b| compare_rows(a, b, keys),
        )?;
        let limit = match self.sort.limit {
            None => DEFAULT_LIMIT,
            Some(0) => usize::MAX,
            Some(n) => n,
        };
        rows.truncate(limit);
        out.extend(rows);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<Sort> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::Sort(s)) => Ok(s),
            other => panic!("not sort: {other:?}"),
        }
    }

    fn key(f: &str, descending: bool, collation: Collation) -> SortKey {
        SortKey {
            field: f.into(),
            descending,
            collation,
        }
    }

    #[test]
    fn parses_keys_counts_and_desc() {
        let s = parse("x | sort - total_failures").unwrap();
        assert_eq!(s.keys, vec![key("total_failures", true, Collation::Auto)]);
        assert_eq!(s.limit, None);
        let s = parse("x | sort 100 +a, -num(b) str(c) ip(d)").unwrap();
        assert_eq!(s.limit, Some(100));
        assert_eq!(
            s.keys,
            vec![
                key("a", false, Collation::Auto),
                key("b", true, Collation::Num),
                key("c", false, Collation::Str),
                key("d", false, Collation::Ip)
            ]
        );
        let s = parse("x | sort limit=5 a -b desc").unwrap();
        assert_eq!(s.limit, Some(5));
        assert_eq!(
            s.keys,
            vec![
                key("a", true, Collation::Auto),
                key("b", false, Collation::Auto)
            ]
        );
        let s = parse("x | sort 0 -_time").unwrap();
        assert_eq!(s.limit, Some(0));
        // a lone `d` is a field name
        assert_eq!(
            parse("x | sort d").unwrap().keys,
            vec![key("d", false, Collation::Auto)]
        );
    }

    #[test]
    fn refuses_bad_syntax() {
        let e = parse("x | sort").unwrap_err();
        assert!(e.message.contains("a field to sort by"), "{}", e.message);
        let e = parse("x | sort foo(a)").unwrap_err();
        assert!(
            e.message.contains("unknown sort function `foo`"),
            "{}",
            e.message
        );
        assert_eq!(e.span, Some(Span::new(9, 12)));
        let e = parse("x | sort limit=a b").unwrap_err();
        assert_eq!(e.span, Some(Span::new(9, 16)));
        let e = parse("x | sort num(a").unwrap_err();
        assert_eq!(e.span.map(|s| s.start), Some(14));
        let e = parse("x | sort a lmit=3").unwrap_err();
        assert!(e.message.contains("did you mean `limit`"), "{}", e.message);
    }

    #[test]
    fn collations() {
        let v = |s: &str| Value::str(s);
        assert_eq!(collate(&v("9"), &v("10"), Collation::Auto), Ordering::Less);
        assert_eq!(
            collate(&v("9"), &v("10"), Collation::Str),
            Ordering::Greater
        );
        assert_eq!(
            collate(&v("10.0.0.9"), &v("10.0.0.10"), Collation::Auto),
            Ordering::Less
        );
        assert_eq!(
            collate(&v("10.0.0.9"), &v("10.0.0.10"), Collation::Str),
            Ordering::Greater
        );
        assert_eq!(
            collate(&v("abc"), &v("5"), Collation::Num),
            Ordering::Greater
        );
        assert_eq!(
            collate(&v("Zed"), &v("abc"), Collation::Auto),
            Ordering::Less
        );
    }
}
