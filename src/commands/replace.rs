//! `replace` — replace field values by others.
//!
//! ```text
//! replace <old> WITH <new> [, <old> WITH <new>]... IN <field> [[,] <field>]...
//! ```
//! Each value of each named field (every value of a multivalue field) that equals an `<old>` becomes its
//! `<new>`. The match is on the whole value and case-sensitive. `*` in `<old>` matches any text (also
//! none); `*`s in `<new>` take the matched texts in order, so `<new>` has as many `*`s as `<old>` or none
//! (Splunk's rule). When several pairs match one value, Splunk's precedence holds: a pair without
//! wildcards beats any wildcard pair, and the later of two such pairs wins; among wildcard pairs the
//! fuller match wins, taken here as the pattern with the most literal characters (the later on a tie).
//! A value no pair matches is left as it is (a number stays a number). Field names may hold `*`.
//!
//! Without `IN`, Splunk replaces values in every field except those made by `stats` or `eval`; which
//! fields those are is not known from the rows, so spelunk refuses that form rather than guess.

use super::{wildcard_captures, wildcard_fill, wildcard_match, Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::Cursor;
use crate::value::Value;

#[derive(Clone, Debug, PartialEq)]
pub struct Replace {
    /// `(old, new)` in the order written.
    pub pairs: Vec<(String, String)>,
    /// Empty when `IN` is missing (refused).
    pub fields: Vec<String>,
    pub span: Span,
}

impl Replace {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Replace> {
        let mut pairs = Vec::new();
        loop {
            c.ws();
            if c.at_stage_end() || c.at_keyword("in") {
                break;
            }
            let (old, ospan) = c.value("a value to replace")?;
            if !c.keyword("with") {
                return Err(c.expected(&format!("`WITH` after `{old}`")));
            }
            let (new, nspan) = c.value("the new value after `WITH`")?;
            let (o, n) = (old.matches('*').count(), new.matches('*').count());
            if n != 0 && n != o {
                return Err(Diagnostic::at(
                    format!("`replace`: `{new}` has {n} wildcards but `{old}` has {o}: the new value needs as many or none"),
                    Span::new(ospan.start, nspan.end),
                ));
            }
            pairs.push((old, new));
            c.ws();
            c.eat(',');
        }
        if pairs.is_empty() {
            return Err(c.expected("`<value> WITH <new value>`"));
        }
        let mut fields = Vec::new();
        if c.keyword("in") {
            loop {
                c.ws();
                if c.eat(',') {
                    continue;
                }
                if c.at_stage_end() {
                    break;
                }
                let (f, _) = c.field_name("a field name after `IN`")?;
                fields.push(f);
            }
            if fields.is_empty() {
                return Err(c.expected("a field name after `IN`"));
            }
        }
        c.end_of_stage("replace")?;
        Ok(Replace {
            pairs,
            fields,
            span: name_span,
        })
    }

    /// The new text of a value, or `None` when no pair matches it.
    fn replaced(&self, text: &str) -> Option<String> {
        if let Some((_, new)) = self
            .pairs
            .iter()
            .rev()
            .find(|(old, _)| !old.contains('*') && old == text)
        {
            return Some(new.clone());
        }
        let mut best: Option<(usize, &str, Vec<&str>)> = None;
        for (old, new) in self.pairs.iter().filter(|(o, _)| o.contains('*')) {
            let Some(caps) = wildcard_captures(old, text) else {
                continue;
            };
            let literal = old.len() - old.matches('*').count();
            if best.as_ref().is_none_or(|(l, _, _)| literal >= *l) {
                best = Some((literal, new, caps));
            }
        }
        best.map(|(_, new, caps)| {
            if new.contains('*') {
                wildcard_fill(new, &caps)
            } else {
                new.to_string()
            }
        })
    }

    fn value(&self, v: &Value) -> Option<Value> {
        match v {
            Value::Multi(items) => {
                let mut changed = false;
                let out: Vec<Value> = items
                    .iter()
                    .map(|x| match self.replaced(&x.text()) {
                        Some(t) => {
                            changed = true;
                            Value::str(t)
                        }
                        None => x.clone(),
                    })
                    .collect();
                if changed {
                    Value::multi(out)
                } else {
                    None
                }
            }
            _ => self.replaced(&v.text()).map(Value::str),
        }
    }
}

impl super::SplCommand for Replace {
    fn kind(&self) -> super::Kind {
        super::Kind::Streaming
    }

    fn needs(&self, after: super::Need) -> super::Need {
        // values change, names do not: what is needed after is what is needed before
        after
    }

    fn keeps_columns(&self) -> bool {
        true
    }

    fn refusals(&self) -> Vec<super::Refusal> {
        if !self.fields.is_empty() {
            return Vec::new();
        }
        vec![super::Refusal {
                kind: super::RefusalKind::Feature,
            span: self.span,
            name: "replace".to_string(),
            reason: "`replace` without `IN <fields>` replaces values in every field not made by stats or eval, which spelunk cannot tell apart: name the fields with `IN`".to_string(),
        }]
    }

    fn operator(&self, _cx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(self.clone()))
    }
}

impl Operator for Replace {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        for f in &self.fields {
            if f.contains('*') {
                let names: Vec<_> = ev
                    .names()
                    .filter(|n| wildcard_match(f, n))
                    .cloned()
                    .collect();
                for n in names {
                    if let Some(v) = ev.get(&n).and_then(|v| self.value(v)) {
                        ev.set(n, v);
                    }
                }
            } else if let Some(v) = ev.get(f).and_then(|v| self.value(v)) {
                ev.set(f.as_str(), v);
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

    fn parse(q: &str) -> Result<Replace> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::Replace(r)) => Ok(r),
            other => panic!("not replace: {other:?}"),
        }
    }

    fn run(q: &str, field: &str, v: Value) -> Option<Value> {
        let mut r = parse(q).unwrap();
        let mut ev = Event::new();
        ev.set(field, v);
        let mut out = Vec::new();
        r.push(ev, &mut out).unwrap();
        out.pop().and_then(|e| e.get(field).cloned())
    }

    #[test]
    fn parses_pairs_and_fields() {
        let r = parse(r#"x | replace "%%14674" with "Value Added", "%%14675" with "Value Deleted" in OperationType"#).unwrap();
        assert_eq!(r.pairs.len(), 2);
        assert_eq!(r.pairs[1], ("%%14675".into(), "Value Deleted".into()));
        assert_eq!(r.fields, ["OperationType"]);
        let r = parse(r#"x | replace "::ffff:*" with * in src"#).unwrap();
        assert_eq!(r.pairs, [("::ffff:*".to_string(), "*".to_string())]);
        let r = parse("x | replace a WITH b IN f1, f2 f3").unwrap();
        assert_eq!(r.fields, ["f1", "f2", "f3"]);
    }

    #[test]
    fn refuses_bad_forms() {
        let e = parse("x | replace a* WITH *b* IN f").unwrap_err();
        assert!(e.message.contains("wildcards"), "{}", e.message);
        assert!(parse("x | replace a b IN f").is_err());
        assert!(parse("x | replace IN f").is_err());
        let r = parse("x | replace a WITH b").unwrap();
        use crate::commands::SplCommand;
        assert!(r.refusals()[0].reason.contains("IN"));
    }

    #[test]
    fn replaces_whole_values_case_sensitively() {
        let q = r#"x | replace "%%14674" with "Value Added", "%%14675" with "Value Deleted" in OperationType"#;
        assert_eq!(
            run(q, "OperationType", Value::str("%%14674")),
            Some(Value::str("Value Added"))
        );
        // not a whole-value match: unchanged
        assert_eq!(
            run(q, "OperationType", Value::str("x%%14674")),
            Some(Value::str("x%%14674"))
        );
        let q = "x | replace abc WITH d IN f";
        assert_eq!(run(q, "f", Value::str("ABC")), Some(Value::str("ABC")));
    }

    #[test]
    fn wildcards_carry_the_matched_text() {
        let q = r#"x | replace "::ffff:*" with * in src"#;
        assert_eq!(
            run(q, "src", Value::str("::ffff:10.0.1.15")),
            Some(Value::str("10.0.1.15"))
        );
        assert_eq!(
            run(q, "src", Value::str("10.0.1.15")),
            Some(Value::str("10.0.1.15"))
        );
        let q = r#"x | replace "* localhost" WITH "localhost *" IN host"#;
        assert_eq!(
            run(q, "host", Value::str("web localhost")),
            Some(Value::str("localhost web"))
        );
        let q = "x | replace *host WITH h IN host";
        assert_eq!(
            run(q, "host", Value::str("localhost")),
            Some(Value::str("h"))
        );
    }

    #[test]
    fn precedence_exact_then_fuller_then_later() {
        // an exact pair beats a wildcard pair written after it
        let q = "x | replace a WITH exact, a* WITH wild IN f";
        assert_eq!(run(q, "f", Value::str("a")), Some(Value::str("exact")));
        // of two exact pairs the later wins
        let q = "x | replace a WITH one, a WITH two IN f";
        assert_eq!(run(q, "f", Value::str("a")), Some(Value::str("two")));
        // the fuller wildcard match wins whatever the order
        let q = "x | replace abc* WITH full, a* WITH short IN f";
        assert_eq!(run(q, "f", Value::str("abcd")), Some(Value::str("full")));
        let q = "x | replace a* WITH short, abc* WITH full IN f";
        assert_eq!(run(q, "f", Value::str("abcd")), Some(Value::str("full")));
    }

    #[test]
    fn every_value_of_a_multivalue_and_numbers() {
        let q = r#"x | replace "%%14674" with "Value Added" in OperationType"#;
        let mv = Value::multi(vec![Value::str("%%14674"), Value::str("%%14675")]).unwrap();
        let want = Value::multi(vec![Value::str("Value Added"), Value::str("%%14675")]).unwrap();
        assert_eq!(run(q, "OperationType", mv), Some(want));
        let q = "x | replace 4624 WITH logon IN EventCode";
        assert_eq!(
            run(q, "EventCode", Value::Num(4624.0)),
            Some(Value::str("logon"))
        );
        assert_eq!(
            run(q, "EventCode", Value::Num(4625.0)),
            Some(Value::Num(4625.0))
        );
    }
}
