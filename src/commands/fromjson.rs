//! `fromjson` — fields from the top-level keys of a JSON object held in a field.
//!
//! ```text
//! fromjson <field> [prefix=<string>]
//! ```
//! When the field's value is a JSON object, each key sets the field `<prefix><key>`: a string gives its
//! text, a number or boolean its JSON text as written (`1.50` stays `1.50`), an array a multivalue field
//! of its elements (nested objects and arrays as compact JSON text, `null` elements dropped), an object
//! its JSON text; a `null` sets nothing. Keys keep their document order. A value that is not a JSON
//! object (or a multivalue field: its first value is read) leaves the row unchanged.

use super::{Context, Operator, SubRunner};
use crate::diag::Result;
use crate::diag::Span;
use crate::event::Event;
use crate::parse::Cursor;
use crate::value::Value;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

#[derive(Clone, Debug, PartialEq)]
pub struct FromJson {
    pub field: String,
    pub prefix: String,
    pub span: Span,
}

impl FromJson {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<FromJson> {
        let mut prefix = String::new();
        let (field, opts) = c.options_and_field(&["prefix"], "the field that holds JSON")?;
        for (_, v, _) in opts {
            prefix = v;
        }
        super::end_of_args(c, "fromjson", "`prefix=`", &["prefix"])?;
        Ok(FromJson {
            field: field.ok_or_else(|| c.expected("the field that holds JSON"))?,
            prefix,
            span: name_span,
        })
    }
}

impl super::SplCommand for FromJson {
    fn kind(&self) -> super::Kind {
        super::Kind::Streaming
    }

    fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(FromJsonOp(self.clone())))
    }
}

/// A JSON object's members in document order, values unparsed.
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Members, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Box<RawValue>>()? {
                    out.push((k, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A JSON scalar or nested value as field text; `None` for `null`.
fn text_of(raw: &RawValue) -> Option<String> {
    let t = raw.get().trim();
    if t == "null" {
        return None;
    }
    if t.starts_with('"') {
        return serde_json::from_str::<String>(t).ok();
    }
    if t.starts_with('{') || t.starts_with('[') {
        // compact form, as Splunk shows nested JSON
        return serde_json::from_str::<serde_json::Value>(t)
            .ok()
            .map(|v| v.to_string());
    }
    Some(t.to_string())
}

fn value_of(raw: &RawValue) -> Option<Value> {
    let t = raw.get().trim();
    if t.starts_with('[') {
        let items: Vec<Box<RawValue>> = serde_json::from_str(t).ok()?;
        return Value::multi(
            items
                .iter()
                .filter_map(|i| text_of(i))
                .map(Value::str)
                .collect(),
        );
    }
    text_of(raw).map(Value::str)
}

struct FromJsonOp(FromJson);

impl Operator for FromJsonOp {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let members = ev
            .get(&self.0.field)
            .and_then(|v| serde_json::from_str::<Members>(v.text().trim()).ok());
        if let Some(Members(members)) = members {
            for (k, raw) in members {
                if let Some(v) = value_of(&raw) {
                    ev.set(format!("{}{k}", self.0.prefix).as_str(), v);
                }
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

    fn parse(q: &str) -> Result<FromJson> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::FromJson(f)) => Ok(f),
            other => panic!("not fromjson: {other:?}"),
        }
    }

    #[test]
    fn parses() {
        let f = parse("x | fromjson Data").unwrap();
        assert_eq!((f.field.as_str(), f.prefix.as_str()), ("Data", ""));
        assert_eq!(parse("x | fromjson prefix=d_ Data").unwrap().prefix, "d_");
    }

    #[test]
    fn refuses_bad_syntax() {
        let e = parse("x | fromjson").unwrap_err();
        assert!(e.message.contains("holds JSON"), "{}", e.message);
        let e = parse("x | fromjson a prefx=b").unwrap_err();
        assert!(e.message.contains("did you mean `prefix`"), "{}", e.message);
        assert_eq!(e.span.map(|s| s.start), Some(15));
    }

    #[test]
    fn reads_top_level_keys() {
        let mut ev = Event::new();
        ev.set(
            "j",
            Value::str(
                r#"{"b":1.50,"a":"x","n":null,"arr":[1,"two",null,{"k":[1, 2]}],"o":{"p": true}}"#,
            ),
        );
        let mut out = Vec::new();
        FromJsonOp(parse("x | fromjson j prefix=p_").unwrap())
            .push(ev, &mut out)
            .unwrap();
        let ev = out.pop().unwrap();
        let names: Vec<&str> = ev.names().map(|n| n.as_ref()).collect();
        assert_eq!(names, ["j", "p_b", "p_a", "p_arr", "p_o"]);
        assert_eq!(ev.get("p_b"), Some(&Value::str("1.50")));
        assert_eq!(
            ev.get("p_arr").map(|v| v.to_string()),
            Some("1\ntwo\n{\"k\":[1,2]}".into())
        );
        assert_eq!(ev.get("p_o"), Some(&Value::str(r#"{"p":true}"#)));
    }
}
