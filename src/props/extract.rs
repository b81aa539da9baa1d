//! Regular-expression field extractions: inline `EXTRACT-<class> = <regex> [in <field>]` (props.conf) and
//! the transforms.conf stanzas a `REPORT-<class> = t1, t2` names.
//!
//! Each match of the regex, over the whole text (search-time extractions match repeatedly; `REPEAT_MATCH`
//! is an index-time setting), gives pairs of field name and value:
//! - a named group `(?<name>...)` gives the field `name`;
//! - a pair of groups `_KEY_<x>` / `_VAL_<x>` gives a field named by the first and valued by the second;
//! - `FORMAT = name::$1 $2::$3 ...` (transforms only) gives one pair per `name::value` item, where `$n` is
//!   the text of group `n`. Without FORMAT and without named groups, a transform's FORMAT is
//!   `<transform name>::$1`.
//!
//! A pair whose value is empty makes no field unless `KEEP_EMPTY_VALS = true`. A field that exists already
//! (from the reader, from an earlier extraction or an earlier match) keeps its value; with `MV_ADD = true`
//! the new value is appended instead. Names made from the event's text (`$1::`, `_KEY_`) are cleaned unless
//! `CLEAN_KEYS = false`: every character other than an ASCII letter or digit becomes `_`, and leading `_`
//! and digits are dropped. The source text is `_raw`, or the field after ` in ` (EXTRACT) or `SOURCE_KEY`
//! (REPORT); each value of a multivalue source is matched in turn.

use super::conf::ConfStanza;
use crate::commands::rex::Regexp;
use crate::diag::{Diagnostic, Result, Span};
use crate::event::{Event, Field};
use crate::pcre::{Captures, Pcre};
use crate::value::Value;
use std::sync::Arc;

/// transforms.conf settings of a search-time extraction that act.
pub const TRANSFORM_SETTINGS: &[&str] = &[
    "REGEX",
    "FORMAT",
    "MV_ADD",
    "CLEAN_KEYS",
    "KEEP_EMPTY_VALS",
    "SOURCE_KEY",
];

/// transforms.conf settings accepted without effect: `CAN_OPTIMIZE` only lets Splunk skip an extraction
/// none of whose fields the search uses, which spelunk decides by itself from the fields a query needs
/// (results are the same either way); `MATCH_LIMIT`/`DEPTH_LIMIT` bound PCRE backtracking, which spelunk
/// bounds by its own limit (`crate::pcre::BACKTRACK_LIMIT`), stopping the search with an error when it is
/// reached; the others act at index time only.
pub const TRANSFORM_IGNORED: &[&str] = &[
    "CAN_OPTIMIZE",
    "MATCH_LIMIT",
    "DEPTH_LIMIT",
    "LOOKAHEAD",
    "WRITE_META",
    "REPEAT_MATCH",
    "DEFAULT_VALUE",
];

/// A piece of a FORMAT name or value: literal text or a group's text.
#[derive(Debug, Clone)]
enum Piece {
    Lit(String),
    Group(usize),
}

#[derive(Debug, Clone)]
struct Template(Vec<Piece>);

impl Template {
    fn parse(text: &str) -> Template {
        let mut out = Vec::new();
        let mut lit = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                let mut n = 0usize;
                while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    n = n.saturating_mul(10).saturating_add(d as usize);
                    chars.next();
                }
                if !lit.is_empty() {
                    out.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                out.push(Piece::Group(n));
            } else {
                lit.push(c);
            }
        }
        if !lit.is_empty() {
            out.push(Piece::Lit(lit));
        }
        Template(out)
    }

    fn literal(&self) -> Option<&str> {
        match self.0.as_slice() {
            [Piece::Lit(s)] => Some(s),
            _ => None,
        }
    }

    fn groups(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().filter_map(|p| match p {
            Piece::Group(n) => Some(*n),
            Piece::Lit(_) => None,
        })
    }

    fn render(&self, caps: &Captures) -> String {
        let mut s = String::new();
        for p in &self.0 {
            match p {
                Piece::Lit(t) => s.push_str(t),
                Piece::Group(n) => s.push_str(caps.get(*n).map_or("", |m| m.as_str())),
            }
        }
        s
    }
}

/// One compiled extraction.
#[derive(Debug)]
pub struct Extraction {
    /// `EXTRACT-x` or `REPORT-x (transform t)`, for messages.
    pub name: String,
    regex: Pcre,
    source: Field,
    /// Named groups (not `_KEY_`/`_VAL_`): group index and field.
    named: Vec<(usize, Field)>,
    /// `_KEY_x`/`_VAL_x` group pairs.
    kv: Vec<(usize, usize)>,
    /// FORMAT items (name, value).
    format: Vec<(Template, Template)>,
    mv_add: bool,
    clean_keys: bool,
    keep_empty: bool,
}

/// Compile a regex of a knowledge file; `origin` is `file:line`.
fn compile(pattern: &str, origin: &str, key: &str) -> Result<Pcre> {
    match Regexp::compile(pattern, Span::default()) {
        Ok(Regexp::Ready(p)) => Ok(p),
        Ok(Regexp::PcreOnly { feature, .. }) => Err(Diagnostic::new(format!(
            "{origin}: {key}: the regular expression uses {feature}, which spelunk's regex engines do not run"
        ))),
        Err(e) => Err(Diagnostic::new(format!("{origin}: {key}: {}", e.message))),
    }
}

/// Named groups (index, field) and `_KEY_`/`_VAL_` pairs (indexes) of a regex.
type Groups = (Vec<(usize, Field)>, Vec<(usize, usize)>);

/// Named groups and `_KEY_`/`_VAL_` pairs of a regex.
fn groups(regex: &Pcre) -> std::result::Result<Groups, String> {
    let mut named = Vec::new();
    let mut keys = Vec::new();
    let mut vals = Vec::new();
    for (i, n) in regex.capture_names().into_iter().enumerate() {
        let Some(n) = n else { continue };
        if let Some(k) = n.strip_prefix("_KEY_") {
            keys.push((k.to_string(), i));
        } else if let Some(v) = n.strip_prefix("_VAL_") {
            vals.push((v.to_string(), i));
        } else {
            named.push((i, Arc::from(n)));
        }
    }
    let mut kv = Vec::new();
    for (k, ki) in &keys {
        match vals.iter().find(|(v, _)| v == k) {
            Some((_, vi)) => kv.push((*ki, *vi)),
            None => return Err(format!("group `_KEY_{k}` has no `_VAL_{k}`")),
        }
    }
    if let Some((v, _)) = vals.iter().find(|(v, _)| !keys.iter().any(|(k, _)| k == v)) {
        return Err(format!("group `_VAL_{v}` has no `_KEY_{v}`"));
    }
    Ok((named, kv))
}

impl Extraction {
    /// `EXTRACT-<class> = <regex> [in <field>]`; `origin` is `file:line`.
    pub fn inline(key: &str, value: &str, origin: &str) -> Result<Extraction> {
        let (pattern, source) = match value.rsplit_once(" in ") {
            Some((p, f))
                if !f.is_empty() && f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                (p.trim_end(), f)
            }
            _ => (value, "_raw"),
        };
        let regex = compile(pattern, origin, key)?;
        let (named, kv) =
            groups(&regex).map_err(|m| Diagnostic::new(format!("{origin}: {key}: {m}")))?;
        if named.is_empty() && kv.is_empty() {
            return Err(Diagnostic::new(format!(
                "{origin}: {key}: the regular expression has no named group (`(?<field>...)`), so it extracts no field"
            )));
        }
        Ok(Extraction {
            name: key.to_string(),
            regex,
            source: Arc::from(source),
            named,
            kv,
            format: Vec::new(),
            mv_add: false,
            clean_keys: true,
            keep_empty: false,
        })
    }

    /// The transforms.conf stanza `t` that `REPORT-<class>` (`key`) names; `path` is the transforms file.
    pub fn transform(key: &str, t: &ConfStanza, path: &str) -> Result<Extraction> {
        let at = |line: usize| format!("{path}:{line}");
        let err = |line: usize, m: String| {
            Diagnostic::new(format!(
                "{}: transform `[{}]` ({key}): {m}",
                at(line),
                t.name
            ))
        };
        let mut regex = None;
        let mut format = None;
        let mut mv_add = false;
        let mut clean_keys = true;
        let mut keep_empty = false;
        let mut source = "_raw".to_string();
        for k in &t.keys {
            let flag = || {
                crate::parse::parse_bool(&k.value)
                    .ok_or_else(|| err(k.line, format!("`{}` takes true or false", k.key)))
            };
            match k.key.as_str() {
                "REGEX" => regex = Some((compile(&k.value, &at(k.line), "REGEX")?, k.line)),
                "FORMAT" => format = Some((k.value.clone(), k.line)),
                "MV_ADD" => mv_add = flag()?,
                "CLEAN_KEYS" => clean_keys = flag()?,
                "KEEP_EMPTY_VALS" => keep_empty = flag()?,
                "SOURCE_KEY" => {
                    let f = k.value.strip_prefix("field:").unwrap_or(&k.value);
                    if f.is_empty() || f.contains(':') {
                        return Err(err(
                            k.line,
                            format!("`SOURCE_KEY = {}` is not a field name (at search time it names the field to match)", k.value),
                        ));
                    }
                    source = f.to_string();
                }
                "DEST_KEY" => {
                    return Err(err(
                        k.line,
                        "`DEST_KEY` rewrites the event at index time; a REPORT- transform cannot have it".into(),
                    ))
                }
                "DELIMS" | "FIELDS" => {
                    return Err(err(
                        k.line,
                        format!("delimiter-based extraction (`{}`) is not supported yet; spelunk runs REGEX transforms", k.key),
                    ))
                }
                other if TRANSFORM_IGNORED.contains(&other) => {}
                other if crate::lookups::MATCHER_SETTINGS.contains(&other) => {
                    return Err(err(
                        k.line,
                        format!("`{other}` is a lookup setting: this stanza is a lookup, which a REPORT- cannot name (use LOOKUP-)"),
                    ))
                }
                other => {
                    return Err(err(
                        k.line,
                        format!(
                            "setting `{other}` is not supported (supported: {})",
                            TRANSFORM_SETTINGS.join(", ")
                        ),
                    ))
                }
            }
        }
        let Some((regex, regex_line)) = regex else {
            return Err(err(t.line, "no `REGEX`".into()));
        };
        let (named, kv) = groups(&regex).map_err(|m| err(regex_line, m))?;
        let format_text = match format {
            Some((f, line)) => Some((f, line)),
            None if named.is_empty() && kv.is_empty() => Some((format!("{}::$1", t.name), t.line)),
            None => None,
        };
        let mut items = Vec::new();
        if let Some((f, line)) = format_text {
            for item in f.split_whitespace() {
                let Some((n, v)) = item.split_once("::") else {
                    return Err(err(
                        line,
                        format!("FORMAT item `{item}` is not `<field>::<value>` (an index-time FORMAT cannot be used at search time)"),
                    ));
                };
                let v = v
                    .strip_prefix('"')
                    .and_then(|x| x.strip_suffix('"'))
                    .unwrap_or(v);
                let (n, v) = (Template::parse(n), Template::parse(v));
                if let Some(g) = n
                    .groups()
                    .chain(v.groups())
                    .find(|&g| g >= regex.captures_len())
                {
                    return Err(err(
                        line,
                        format!(
                            "FORMAT uses ${g}, but the REGEX has only {} groups",
                            regex.captures_len() - 1
                        ),
                    ));
                }
                if n.0.is_empty() {
                    return Err(err(line, format!("FORMAT item `{item}` has no field name")));
                }
                items.push((n, v));
            }
        }
        Ok(Extraction {
            name: format!("{key} (transform {})", t.name),
            regex,
            source: Arc::from(source.as_str()),
            named,
            kv,
            format: items,
            mv_add,
            clean_keys,
            keep_empty,
        })
    }

    /// The field whose text is matched.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Can the extraction make a field whose name comes from the event (`$1::`, `_KEY_`)? Such an
    /// extraction may make any field.
    pub fn dynamic(&self) -> bool {
        !self.kv.is_empty() || self.format.iter().any(|(n, _)| n.literal().is_none())
    }

    /// The fields of fixed name it can make.
    pub fn outputs(&self) -> impl Iterator<Item = &str> {
        self.named
            .iter()
            .map(|(_, f)| f.as_ref())
            .chain(self.format.iter().filter_map(|(n, _)| n.literal()))
    }

    /// Could it make field `f`?
    pub fn makes(&self, f: &str) -> bool {
        self.dynamic() || self.outputs().any(|o| o == f)
    }

    /// Apply to an event; a match given up at the backtracking limit is an error naming the extraction.
    pub fn apply(&self, ev: &mut Event) -> std::result::Result<(), String> {
        let Some(src) = ev.get(&self.source).cloned() else {
            return Ok(());
        };
        for v in src.values() {
            let text = v.text();
            for caps in self.regex.captures_iter(&text) {
                let caps = caps.map_err(|e| format!("{}: {e}", self.name))?;
                for (i, f) in &self.named {
                    if let Some(m) = caps.get(*i) {
                        self.put(ev, f.as_ref(), m.as_str());
                    }
                }
                for (k, val) in &self.kv {
                    if let (Some(k), Some(val)) = (caps.get(*k), caps.get(*val)) {
                        let name = self.key(k.as_str());
                        self.put(ev, &name, val.as_str());
                    }
                }
                for (n, val) in &self.format {
                    let name = match n.literal() {
                        Some(l) => l.to_string(),
                        None => self.key(&n.render(&caps)),
                    };
                    self.put(ev, &name, &val.render(&caps));
                }
            }
        }
        Ok(())
    }

    /// A field name taken from the event's text, cleaned as `CLEAN_KEYS` says.
    fn key(&self, raw: &str) -> String {
        if !self.clean_keys {
            return raw.to_string();
        }
        clean_key(raw)
    }

    fn put(&self, ev: &mut Event, name: &str, value: &str) {
        put_value(ev, name, value, self.mv_add, self.keep_empty);
    }
}

/// A field name taken from an event's text as `CLEAN_KEYS = true` makes it: every character other than
/// an ASCII letter or digit becomes `_`, then leading `_` and digits are dropped.
pub fn clean_key(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    cleaned
        .trim_start_matches(|c: char| c == '_' || c.is_ascii_digit())
        .to_string()
}

/// Set an extracted `name=value` on `ev` as search-time extractions do: an empty value makes no field
/// unless `keep_empty`; a field that exists already keeps its value, unless `mv_add` appends to it.
/// Returns whether the event took the value.
pub fn put_value(ev: &mut Event, name: &str, value: &str, mv_add: bool, keep_empty: bool) -> bool {
    if name.is_empty() || (value.is_empty() && !keep_empty) {
        return false;
    }
    match ev.get(name) {
        None => {
            ev.push(Arc::from(name), Value::str(value));
            true
        }
        Some(old) if mv_add => {
            let mut vs = old.values().to_vec();
            vs.push(Value::str(value));
            if let Some(m) = Value::multi(vs) {
                ev.set(name, m);
            }
            true
        }
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(raw: &str) -> Event {
        let mut e = Event::new();
        e.set("_raw", Value::str(raw));
        e
    }

    fn transform(text: &str) -> Result<Extraction> {
        let st = super::super::conf::parse(text, "t.conf")?;
        Extraction::transform("REPORT-x", &st[0], "t.conf")
    }

    fn get(e: &Event, f: &str) -> Option<String> {
        e.get(f).map(|v| {
            v.values()
                .iter()
                .map(|x| x.text().into_owned())
                .collect::<Vec<_>>()
                .join("|")
        })
    }

    #[test]
    fn inline_named_groups_in_a_field_and_empty_captures() {
        let x = Extraction::inline(
            "EXTRACT-a",
            r"user=(?<user>\w*) id=(?<id>\d+) in msg",
            "p:1",
        )
        .unwrap();
        assert_eq!(x.source(), "msg");
        let mut e = event("user=zed id=1");
        x.apply(&mut e).unwrap();
        assert_eq!(get(&e, "user"), None, "reads msg, not _raw");
        e.set("msg", Value::str("user= id=7 user=bob id=8"));
        x.apply(&mut e).unwrap();
        // the empty capture makes no field; the first id wins, a later match's user fills the gap
        assert_eq!(get(&e, "id").as_deref(), Some("7"));
        assert_eq!(get(&e, "user").as_deref(), Some("bob"));
        assert!(Extraction::inline("EXTRACT-b", "(x", "p:2")
            .unwrap_err()
            .message
            .contains("p:2"));
        assert!(Extraction::inline("EXTRACT-c", "x(\\d)", "p:3").is_err());
        // `[i]n` keeps a trailing "in word" in the regex
        let y = Extraction::inline("EXTRACT-d", r"(?<w>\w+) [i]n box", "p:4").unwrap();
        assert_eq!(y.source(), "_raw");
    }

    #[test]
    fn first_value_wins_and_mv_add_appends() {
        let mut e = event("a=1 a=2");
        e.set("b", Value::str("old"));
        transform("[t]\nREGEX = (\\w)=(\\d)\nFORMAT = $1::$2 b::$2\n")
            .unwrap()
            .apply(&mut e)
            .unwrap();
        assert_eq!(get(&e, "a").as_deref(), Some("1"));
        assert_eq!(
            get(&e, "b").as_deref(),
            Some("old"),
            "an existing field keeps its value"
        );
        let mut e = event("a=1 a=2");
        transform("[t]\nREGEX = (\\w)=(\\d)\nFORMAT = $1::$2\nMV_ADD = true\n")
            .unwrap()
            .apply(&mut e)
            .unwrap();
        assert_eq!(get(&e, "a").as_deref(), Some("1|2"));
    }

    #[test]
    fn dynamic_names_are_cleaned_and_key_val_groups_pair() {
        let mut e = event("<D Name='Logon Type'>3</D><D Name='_9x'>y</D><D Name='E'></D>");
        let x = transform("[t]\nREGEX = Name='(?<_KEY_1>[^']*)'>(?<_VAL_1>[^<]*)<\n").unwrap();
        assert!(x.dynamic() && x.makes("anything"));
        x.apply(&mut e).unwrap();
        assert_eq!(get(&e, "Logon_Type").as_deref(), Some("3"));
        assert_eq!(get(&e, "x").as_deref(), Some("y"));
        assert_eq!(get(&e, "E"), None, "empty value");
        let mut e = event("k v=");
        transform("[t]\nREGEX = (\\w) (\\w)=(\\w*)\nFORMAT = $2::$3\nCLEAN_KEYS = false\nKEEP_EMPTY_VALS = true\n")
            .unwrap()
            .apply(&mut e)
            .unwrap();
        assert_eq!(get(&e, "v").as_deref(), Some(""));
    }

    #[test]
    fn source_key_default_format_and_refusals() {
        let mut e = event("x");
        e.set("CommandLine", Value::str("run.exe -x"));
        let x = transform("[process_name]\nREGEX = ^(\\S+)\nSOURCE_KEY = CommandLine\n").unwrap();
        assert!(!x.dynamic());
        assert_eq!(x.outputs().collect::<Vec<_>>(), vec!["process_name"]);
        x.apply(&mut e).unwrap();
        assert_eq!(get(&e, "process_name").as_deref(), Some("run.exe"));
        for (bad, word) in [
            ("[t]\nREGEX = (a)\nDEST_KEY = _raw\n", "DEST_KEY"),
            ("[t]\nDELIMS = \",\"\n", "DELIMS"),
            ("[t]\nREGEX = (a)\nFOO = 1\n", "FOO"),
            ("[t]\nREGEX = (a)\nFORMAT = $3::x\n", "$3"),
            ("[t]\nREGEX = (a\n", "t.conf:2"),
            ("[t]\nFORMAT = a::b\n", "REGEX"),
            ("[t]\nREGEX = (a)\nfilename = x.csv\n", "lookup"),
        ] {
            let m = transform(bad).unwrap_err().message;
            assert!(m.contains(word), "{bad}: {m}");
        }
        assert!(transform("[t]\nREGEX = (a)\nCAN_OPTIMIZE = false\n").is_ok());
    }
}
