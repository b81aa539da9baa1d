//! `extract` (alias `kv`) — key-value fields from the text of `_raw`.
//!
//! ```text
//! extract [pairdelim=<chars>] [kvdelim=<chars>] [auto=<bool>] [limit=<int>] [maxchars=<int>]
//!         [mv_add=<bool>] [clean_keys=<bool>] [reload=<bool>] [segment=<bool>] [<transform-name> ...]
//! ```
//! With `pairdelim` and `kvdelim` (the same delimiter extraction as a transforms.conf `DELIMS`): the
//! first `maxchars` characters of `_raw` (default 10240) are cut into pairs at every character of
//! `pairdelim`, and each pair into key and value at its first character of `kvdelim`. A pair without a
//! `kvdelim` character is skipped, and so is one whose value holds another `kvdelim` character (Splunk
//! does not extract a value that contains the delimiter). Spaces around keys and values are trimmed.
//! Keys are cleaned as `CLEAN_KEYS` does unless `clean_keys=false`; an empty value makes no field; a
//! field that exists already keeps its value unless `mv_add=true` appends to it (the rules of
//! [`crate::props::extract`]). At most `limit` pairs (default 50) are taken from one event.
//! `reload` re-reads configuration files in Splunk and changes no result here.
//!
//! Refused when run, with the reason: the automatic key-value extraction (`extract` without delimiters
//! and without `auto=f`), whose rules Splunk does not specify; only one of `pairdelim` and `kvdelim`;
//! `segment=true`; naming transforms.conf stanzas (put them in a props.conf `REPORT-` instead).

use super::{Context, Operator, Refusal, RefusalKind, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::event::Event;
use crate::parse::{flag, number, Cursor};
use crate::props::extract::{clean_key, put_value};

/// Splunk's default `limit` (pairs per event).
pub const DEFAULT_LIMIT: usize = 50;
/// Splunk's default `maxchars` (characters of `_raw` read).
pub const DEFAULT_MAXCHARS: usize = 10240;

const OPTIONS: &[&str] = &[
    "pairdelim",
    "kvdelim",
    "auto",
    "limit",
    "maxchars",
    "mv_add",
    "clean_keys",
    "reload",
    "segment",
];

#[derive(Clone, Debug, PartialEq)]
pub struct Extract {
    pub pairdelim: Option<String>,
    pub kvdelim: Option<String>,
    pub auto: bool,
    pub limit: usize,
    pub maxchars: usize,
    pub mv_add: bool,
    pub clean_keys: bool,
    /// transforms.conf stanzas named.
    pub transforms: Vec<(String, Span)>,
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

impl Extract {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Extract> {
        let mut x = Extract {
            pairdelim: None,
            kvdelim: None,
            auto: true,
            limit: DEFAULT_LIMIT,
            maxchars: DEFAULT_MAXCHARS,
            mv_add: false,
            clean_keys: true,
            transforms: Vec::new(),
            refused: Vec::new(),
            span: name_span,
        };
        let mut segment = None;
        let mut delim_span = name_span;
        loop {
            for (k, v, at) in c.options(OPTIONS)? {
                match k.as_str() {
                    "pairdelim" | "kvdelim" => {
                        if v.is_empty() {
                            return Err(Diagnostic::at(
                                format!("`{k}` takes one or more delimiter characters"),
                                at,
                            ));
                        }
                        delim_span = at;
                        if k == "pairdelim" {
                            x.pairdelim = Some(v);
                        } else {
                            x.kvdelim = Some(v);
                        }
                    }
                    "auto" => x.auto = flag(&k, &v, at)?,
                    "limit" => x.limit = number(&k, &v, at)?,
                    "maxchars" => x.maxchars = number(&k, &v, at)?,
                    "mv_add" => x.mv_add = flag(&k, &v, at)?,
                    "clean_keys" => x.clean_keys = flag(&k, &v, at)?,
                    "reload" => {
                        flag(&k, &v, at)?;
                    }
                    _ => segment = Some((flag(&k, &v, at)?, at)),
                }
            }
            c.ws();
            if c.at_stage_end() {
                break;
            }
            if c.at_option() {
                super::end_of_args(c, "extract", "an option or a transform name", OPTIONS)?;
            }
            x.transforms.push(c.field("a transforms.conf stanza name")?);
        }
        if let Some((true, at)) = segment {
            x.refused.push(refusal(
                "extract segment",
                "unsupported option in 'extract': `segment=true` (key-value pairs found in segments of the text) is not supported yet".into(),
                at,
            ));
        }
        for (t, at) in &x.transforms {
            x.refused.push(refusal(
                "extract transform",
                format!("unsupported feature in 'extract': applying the transforms.conf stanza `{t}` by name is not supported yet; name it in a props.conf `REPORT-` setting and pass the file with --props"),
                *at,
            ));
        }
        match (&x.pairdelim, &x.kvdelim) {
            (Some(_), Some(_)) => {}
            (None, None) => {
                if x.auto && x.transforms.is_empty() {
                    x.refused.push(refusal(
                        "extract automatic key-value",
                        "unsupported feature in 'extract': automatic key-value extraction (no `pairdelim=` and `kvdelim=`) is not supported yet; give both delimiters".into(),
                        name_span,
                    ));
                }
            }
            (Some(_), None) | (None, Some(_)) => x.refused.push(refusal(
                "extract one delimiter",
                "unsupported feature in 'extract': only one of `pairdelim=` and `kvdelim=` leaves the other to the automatic extraction, which is not supported yet; give both".into(),
                delim_span,
            )),
        }
        Ok(x)
    }
}

impl super::SplCommand for Extract {
    fn kind(&self) -> super::Kind {
        super::Kind::Streaming
    }

    fn refusals(&self) -> Vec<Refusal> {
        self.refused.clone()
    }

    fn operator(&self, _ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(ExtractOp(self.clone())))
    }
}

/// The key-value pairs of `text` (its first `maxchars` characters) cut at `pairdelim` and `kvdelim`.
pub fn delimited_pairs<'t>(
    text: &'t str,
    pairdelim: &str,
    kvdelim: &str,
    maxchars: usize,
) -> Vec<(&'t str, &'t str)> {
    let end = text
        .char_indices()
        .nth(maxchars)
        .map_or(text.len(), |(i, _)| i);
    let text = text.get(..end).unwrap_or(text);
    text.split(|c: char| pairdelim.contains(c))
        .filter_map(|pair| {
            let (k, v) = pair.split_once(|c: char| kvdelim.contains(c))?;
            if v.contains(|c: char| kvdelim.contains(c)) {
                return None;
            }
            Some((k.trim(), v.trim()))
        })
        .collect()
}

struct ExtractOp(Extract);

impl Operator for ExtractOp {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let x = &self.0;
        if let (Some(pd), Some(kd)) = (&x.pairdelim, &x.kvdelim) {
            let raw = ev.get("_raw").map(|v| v.text().into_owned());
            if let Some(raw) = raw {
                let mut taken = 0;
                for (k, v) in delimited_pairs(&raw, pd, kd, x.maxchars) {
                    if taken >= x.limit {
                        break;
                    }
                    let key = if x.clean_keys {
                        clean_key(k)
                    } else {
                        k.to_string()
                    };
                    if put_value(&mut ev, &key, v, x.mv_add, false) {
                        taken += 1;
                    }
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
    use crate::commands::{Command, SplCommand};
    use crate::parse::parse_query;
    use crate::value::Value;

    fn parse(q: &str) -> Result<Extract> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::Extract(x)) => Ok(x),
            other => panic!("not extract: {other:?}"),
        }
    }

    fn run(q: &str, raw: &str) -> Event {
        let x = parse(q).unwrap();
        let mut ev = Event::new();
        ev.set("_raw", Value::str(raw));
        let mut out = Vec::new();
        ExtractOp(x).push(ev, &mut out).unwrap();
        out.pop().unwrap()
    }

    #[test]
    fn delimited_pairs_follow_the_rules() {
        assert_eq!(
            delimited_pairs("a:1;b:2;;c;d:x:y; e : 3 ", ";", ":", 100),
            [("a", "1"), ("b", "2"), ("e", "3")]
        );
        assert_eq!(
            delimited_pairs("a=1|b:2", "|", "=:", 100),
            [("a", "1"), ("b", "2")]
        );
        assert_eq!(delimited_pairs("a=1|b=2", "|", "=", 5), [("a", "1")]);
        assert_eq!(
            delimited_pairs("a=1|b=2", "|", "=", 6),
            [("a", "1"), ("b", "")]
        );
    }

    #[test]
    fn runs_with_both_delimiters() {
        let ev = run(
            r#"x | extract pairdelim=";" kvdelim=":""#,
            "Rescan Verdict:Phish;x:;a:1;a:2",
        );
        assert_eq!(ev.get("Rescan_Verdict"), Some(&Value::str("Phish")));
        assert_eq!(ev.get("x"), None);
        assert_eq!(ev.get("a"), Some(&Value::str("1")));
        let ev = run(
            r#"x | kv pairdelim=";" kvdelim=":" mv_add=t clean_keys=f limit=3"#,
            "a b:1;a b:2;c:3;d:4",
        );
        assert_eq!(
            ev.get("a b"),
            Value::multi(vec![Value::str("1"), Value::str("2")]).as_ref()
        );
        assert_eq!(ev.get("c"), Some(&Value::str("3")));
        assert_eq!(ev.get("d"), None);
        assert!(parse(r#"x | extract auto=f"#)
            .unwrap()
            .refusals()
            .is_empty());
    }

    #[test]
    fn refuses_what_it_does_not_do() {
        for (q, name) in [
            ("x | extract", "extract automatic key-value"),
            ("x | kv limit=5", "extract automatic key-value"),
            (r#"x | extract pairdelim=",""#, "extract one delimiter"),
            ("x | extract my_transform", "extract transform"),
            (
                r#"x | extract segment=t pairdelim="," kvdelim="=""#,
                "extract segment",
            ),
        ] {
            let x = parse(q).unwrap_or_else(|e| panic!("{q}: {}", e.message));
            let r = x.refusals();
            assert_eq!(r.len(), 1, "{q}: {r:?}");
            assert_eq!(r[0].name, name, "{q}");
        }
        let e = parse("x | extract limit=x").unwrap_err();
        assert!(e.message.contains("limit"), "{}", e.message);
        let e = parse("x | extract pairdlim=x").unwrap_err();
        assert!(
            e.message.contains("did you mean `pairdelim`"),
            "{}",
            e.message
        );
    }
}
