//! `top` and `rare` — the most (least) common combinations of field values, with counts and percents.
//!
//! ```text
//! top  [<N>] [<option>...] <field> [[,] <field>]... [BY <field> [[,] <field>]...]
//! rare [<N>] [<option>...] <field> [[,] <field>]... [BY <field> [[,] <field>]...]
//! option := limit=<int> | countfield=<string> | percentfield=<string> | showcount=<bool>
//!         | showperc=<bool> | useother=<bool> | otherstr=<string>
//! ```
//! Counts each combination of the listed fields' values (a row missing one of them, or a by-field, is not
//! counted; a multivalue field counts once per value, as `stats ... by` groups). For each by-group, the N
//! (default 10; `limit=0`: all) combinations with the highest counts (`rare`: lowest) come out, ties in the
//! ascending order of their values, as `stats count by ... | sort -count` gives them. Columns: the
//! by-fields, the listed fields, `count` (`countfield`) and `percent` (`percentfield`): the count's share
//! of the group's counted rows, printed with six decimals as Splunk does (`33.333333`). `useother=t` adds
//! a row whose listed fields hold `otherstr` (default `OTHER`) and that counts every combination left out.
//! Groups come out in ascending order of their by-values. The command holds its counts until its input
//! ends (memory grows with the number of combinations).

use super::{Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;
use crate::value::{sort_order, Value};
use std::cmp::Ordering;
use std::collections::HashMap;

const OPTIONS: &[&str] = &[
    "limit",
    "countfield",
    "percentfield",
    "showcount",
    "showperc",
    "useother",
    "otherstr",
];

#[derive(Clone, Debug, PartialEq)]
pub struct Top {
    /// `rare`: least common first.
    pub rare: bool,
    /// 0: all.
    pub limit: usize,
    pub fields: Vec<String>,
    pub by: Vec<String>,
    pub countfield: String,
    pub percentfield: String,
    pub showcount: bool,
    pub showperc: bool,
    pub useother: bool,
    pub otherstr: String,
    pub span: Span,
}

impl Top {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Top> {
        let name = c
            .src
            .get(name_span.start..name_span.end)
            .unwrap_or("top")
            .to_ascii_lowercase();
        let mut t = Top {
            rare: name == "rare",
            limit: 10,
            fields: Vec::new(),
            by: Vec::new(),
            countfield: "count".into(),
            percentfield: "percent".into(),
            showcount: true,
            showperc: true,
            useother: false,
            otherstr: "OTHER".into(),
            span: name_span,
        };
        c.ws();
        let save = c.pos;
        if let Some((w, at)) = c.bare() {
            if w.bytes().all(|b| b.is_ascii_digit()) {
                t.limit = w
                    .parse()
                    .map_err(|_| Diagnostic::at(format!("`{w}` is too large a count"), at))?;
            } else {
                c.pos = save;
            }
        }
        loop {
            for (k, v, at) in c.options(OPTIONS)? {
                let flag = || crate::parse::flag(&k, &v, at);
                match k.as_str() {
                    "limit" => {
                        t.limit = v.parse().map_err(|_| {
                            Diagnostic::at(format!("`limit` takes a whole number, not `{v}`"), at)
                        })?
                    }
                    "countfield" => t.countfield = v,
                    "percentfield" => t.percentfield = v,
                    "showcount" => t.showcount = flag()?,
                    "showperc" => t.showperc = flag()?,
                    "useother" => t.useother = flag()?,
                    _ => t.otherstr = v,
                }
            }
            c.ws();
            if c.eat(',') {
                continue;
            }
            if c.at_stage_end() || c.at_keyword("by") {
                break;
            }
            if c.at_option() {
                break;
            }
            match c.try_field()? {
                Some((f, _)) => t.fields.push(f),
                None => break,
            }
        }
        if t.fields.is_empty() {
            return Err(c.expected("a field name"));
        }
        if c.keyword("by") {
            t.by = super::fields::parse_field_list(c, "a field name after `BY`")?;
        }
        super::end_of_args(c, &name, "a field name or `BY`", OPTIONS)?;
        Ok(t)
    }
}

impl super::SplCommand for Top {
    fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(TopOp {
            top: self.clone(),
            groups: HashMap::new(),
        }))
    }
}

/// Count per combination, with the combination's values.
type Counts = HashMap<Vec<String>, (Vec<Value>, u64)>;

struct TopOp {
    top: Top,
    /// by-values text → (by-values, counts)
    groups: HashMap<Vec<String>, (Vec<Value>, Counts)>,
}

/// Every combination of the values of `fields` in `ev`; none when a field is missing.
fn combinations(ev: &Event, fields: &[String]) -> Vec<Vec<Value>> {
    let mut out: Vec<Vec<Value>> = vec![Vec::new()];
    for f in fields {
        let Some(v) = ev.get(f) else {
            return Vec::new();
        };
        let mut vals: Vec<&Value> = Vec::new();
        for x in v.values() {
            if !vals.iter().any(|y| y.text() == x.text()) {
                vals.push(x);
            }
        }
        let mut next = Vec::with_capacity(out.len() * vals.len());
        for combo in &out {
            for x in &vals {
                let mut c = combo.clone();
                c.push((*x).clone());
                next.push(c);
            }
        }
        out = next;
    }
    out
}

fn text_key(vals: &[Value]) -> Vec<String> {
    vals.iter().map(|v| v.text().into_owned()).collect()
}

fn cmp_values(a: &[Value], b: &[Value]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| sort_order(x, y))
        .find(|o| *o != Ordering::Equal)
        .unwrap_or(Ordering::Equal)
}

/// Splunk prints `top`'s percent with six decimals.
pub fn format_percent(count: u64, total: u64) -> String {
    if total == 0 {
        return "0.000000".into();
    }
    format!("{:.6}", count as f64 * 100.0 / total as f64)
}

impl Operator for TopOp {
    fn push(&mut self, ev: Event, _out: &mut Vec<Event>) -> Result<()> {
        let fields = combinations(&ev, &self.top.fields);
        if fields.is_empty() {
            return Ok(());
        }
        for by in combinations(&ev, &self.top.by) {
            let g = self
                .groups
                .entry(text_key(&by))
                .or_insert_with(|| (by.clone(), HashMap::new()));
            for combo in &fields {
                g.1.entry(text_key(combo))
                    .or_insert_with(|| (combo.clone(), 0))
                    .1 += 1;
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        let mut groups: Vec<(Vec<Value>, Counts)> = self.groups.drain().map(|(_, g)| g).collect();
        groups.sort_by(|a, b| cmp_values(&a.0, &b.0));
        let t = &self.top;
        for (by, counts) in groups {
            let total: u64 = counts.values().map(|(_, n)| n).sum();
            let mut combos: Vec<(Vec<Value>, u64)> = counts.into_values().collect();
            combos.sort_by(|a, b| {
                let by_count = if t.rare { a.1.cmp(&b.1) } else { b.1.cmp(&a.1) };
                by_count.then_with(|| cmp_values(&a.0, &b.0))
            });
            let keep = if t.limit == 0 {
                combos.len()
            } else {
                t.limit.min(combos.len())
            };
            let other: u64 = combos.iter().skip(keep).map(|(_, n)| n).sum();
            let left_out = combos.len() > keep;
            combos.truncate(keep);
            let mut emit = |vals: Vec<Value>, n: u64| {
                let mut row = Event::with_capacity(t.by.len() + t.fields.len() + 2);
                for (f, v) in t.by.iter().zip(&by) {
                    row.set(f.as_str(), v.clone());
                }
                for (f, v) in t.fields.iter().zip(vals) {
                    row.set(f.as_str(), v);
                }
                if t.showcount {
                    row.set(t.countfield.as_str(), Value::Num(n as f64));
                }
                if t.showperc {
                    row.set(
                        t.percentfield.as_str(),
                        Value::str(format_percent(n, total)),
                    );
                }
                out.push(row);
            };
            for (vals, n) in combos {
                emit(vals, n);
            }
            if t.useother && left_out {
                let vals = t.fields.iter().map(|_| Value::str(&t.otherstr)).collect();
                emit(vals, other);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;
    use crate::parse::parse_query;

    fn parse(q: &str) -> Result<Top> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::Top(t)) => Ok(t),
            other => panic!("not top: {other:?}"),
        }
    }

    #[test]
    fn parses_top_and_rare() {
        let t = parse(
            "x | top src_ip src_user http_user_agent data.labels.authorization.k8s.io/decision",
        )
        .unwrap();
        assert_eq!(t.fields.len(), 4);
        assert!(!t.rare);
        assert_eq!(t.limit, 10);
        let t = parse("x | RARE user.username").unwrap();
        assert!(t.rare);
        let t = parse("x | top 3 showperc=f countfield=n useother=t otherstr=rest a, b BY c d")
            .unwrap();
        assert_eq!(t.limit, 3);
        assert_eq!((t.showperc, t.useother), (false, true));
        assert_eq!((t.countfield.as_str(), t.otherstr.as_str()), ("n", "rest"));
        assert_eq!(t.fields, ["a", "b"]);
        assert_eq!(t.by, ["c", "d"]);
        assert_eq!(parse("x | top limit=0 a").unwrap().limit, 0);
    }

    #[test]
    fn refuses_bad_syntax() {
        let e = parse("x | top").unwrap_err();
        assert!(e.message.contains("a field name"), "{}", e.message);
        let e = parse("x | top a by").unwrap_err();
        assert!(e.message.contains("after `BY`"), "{}", e.message);
        let e = parse("x | top showcount=maybe a").unwrap_err();
        assert_eq!(e.span, Some(Span::new(8, 23)));
        let e = parse("x | rare a limt=3").unwrap_err();
        assert!(e.message.contains("did you mean `limit`"), "{}", e.message);
        assert!(e.message.contains("`rare`"), "{}", e.message);
    }

    #[test]
    fn percent_has_six_decimals() {
        assert_eq!(format_percent(1, 3), "33.333333");
        assert_eq!(format_percent(2, 3), "66.666667");
        assert_eq!(format_percent(5, 5), "100.000000");
    }
}
