//! Search-time knowledge per sourcetype, read from props.conf-like files.
//!
//! ```text
//! [aws:cloudtrail]
//! KV_MODE = json
//! TIME_FIELD = eventTime
//! FIELDALIAS-src = sourceIPAddress AS src sourceIPAddress AS src_ip
//! EVAL-errorCode = coalesce(errorCode, "success")
//! ```
//!
//! Applied in Splunk's order after JSON extraction: every `FIELDALIAS` (a missing source field clears the
//! alias, as Splunk does since 7.2.4), then every `EVAL` computed from the event as the aliases left it —
//! all EVALs of a stanza see the same event, so one cannot use another's result — and then assigned
//! (a null result removes the field). A later file's key replaces an earlier one of the same stanza and
//! name, so a user's `--props` file extends or overrides the shipped one.

use crate::diag::{Diagnostic, Result};
use crate::eval::{self, EvalContext, Expr};
use crate::event::{Event, Field};
use crate::input::json::Flat;
use crate::input::parse_time;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

/// The shipped knowledge file for the Splunk Add-on for AWS's `aws:cloudtrail` fields.
pub const SHIPPED: &[(&str, &str)] = &[(
    "props/aws_cloudtrail.conf",
    include_str!("../props/aws_cloudtrail.conf"),
)];

/// JSON keys tried, in order, for `_time` when a sourcetype names no `TIME_FIELD`.
pub const DEFAULT_TIME_FIELDS: &[&str] = &["_time", "timestamp", "time", "@timestamp", "eventTime"];

#[derive(Default, Clone)]
struct RawStanza {
    keys: BTreeMap<String, (String, String)>, // key -> (value, origin)
    order: Vec<String>,
}

/// Knowledge of one sourcetype, compiled.
#[derive(Default)]
pub struct Stanza {
    pub time_field: Option<String>,
    pub aliases: Vec<(String, Field)>,
    pub evals: Vec<(Field, Expr)>,
}

#[derive(Default)]
pub struct Knowledge {
    raw: BTreeMap<String, RawStanza>,
    stanzas: BTreeMap<String, Stanza>,
    ctx: Option<EvalContext>,
}

impl Knowledge {
    /// The shipped knowledge.
    pub fn shipped() -> Result<Knowledge> {
        let mut k = Knowledge::default();
        for (name, text) in SHIPPED {
            k.add_text(text, name)?;
        }
        k.compile()?;
        Ok(k)
    }

    pub fn add_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostic::new(format!("cannot read props file `{}`: {e}", path.display()))
        })?;
        self.add_text(&text, &path.display().to_string())
    }

    /// Add a props.conf-like text; call [`Knowledge::compile`] afterwards.
    pub fn add_text(&mut self, text: &str, origin: &str) -> Result<()> {
        let mut current: Option<String> = None;
        let mut lines = text.lines().enumerate().peekable();
        while let Some((n, line)) = lines.next() {
            let mut line = line.trim().to_string();
            // continuation lines end with a backslash
            while line.ends_with('\\') {
                line.pop();
                match lines.next() {
                    Some((_, next)) => {
                        line.push('\n');
                        line.push_str(next.trim());
                    }
                    None => break,
                }
            }
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with('[') {
                let Some(end) = line.find(']') else {
                    return Err(Diagnostic::new(format!(
                        "{origin}:{}: stanza header without `]`",
                        n + 1
                    )));
                };
                current = Some(line[1..end].trim().to_string());
                continue;
            }
            let Some(eq) = line.find('=') else {
                return Err(Diagnostic::new(format!(
                    "{origin}:{}: expected `KEY = value`",
                    n + 1
                )));
            };
            let Some(st) = current.clone() else {
                return Err(Diagnostic::new(format!(
                    "{origin}:{}: setting outside a [sourcetype] stanza",
                    n + 1
                )));
            };
            let key = line[..eq].trim().to_string();
            let value = line[eq + 1..].trim().to_string();
            let stanza = self.raw.entry(st).or_default();
            if !stanza.keys.contains_key(&key) {
                stanza.order.push(key.clone());
            }
            stanza
                .keys
                .insert(key, (value, format!("{origin}:{}", n + 1)));
        }
        Ok(())
    }

    /// Parse every stanza's aliases and eval expressions.
    pub fn compile(&mut self) -> Result<()> {
        let mut stanzas = BTreeMap::new();
        for (name, raw) in &self.raw {
            let mut st = Stanza::default();
            for key in &raw.order {
                let Some((value, origin)) = raw.keys.get(key) else {
                    continue;
                };
                if key == "TIME_FIELD" {
                    st.time_field = Some(value.clone());
                } else if key.starts_with("FIELDALIAS-") {
                    st.aliases.extend(
                        parse_aliases(value)
                            .map_err(|m| Diagnostic::new(format!("{origin}: {key}: {m}")))?,
                    );
                } else if let Some(field) = key.strip_prefix("EVAL-") {
                    let expr = eval::parse_expr(value)
                        .map_err(|e| Diagnostic::new(format!("{origin}: {key}: {e}")))?;
                    st.evals.push((Arc::from(field), expr));
                }
            }
            stanzas.insert(name.clone(), st);
        }
        self.stanzas = stanzas;
        Ok(())
    }

    /// Set the context (time zone, `now`) that EVALs run with.
    pub fn set_context(&mut self, ctx: EvalContext) {
        self.ctx = Some(ctx);
    }

    pub fn stanza(&self, sourcetype: &str) -> Option<&Stanza> {
        self.stanzas.get(sourcetype)
    }

    pub fn sourcetypes(&self) -> impl Iterator<Item = &String> {
        self.stanzas.keys()
    }

    /// `_time` of a flattened event of this sourcetype, if it has one that parses.
    pub fn time_of(&self, sourcetype: &str, flat: &Flat) -> Option<f64> {
        match self
            .stanzas
            .get(sourcetype)
            .and_then(|s| s.time_field.as_deref())
        {
            Some(f) => flat.first(f).and_then(|v| parse_time(&v.text())),
            None => DEFAULT_TIME_FIELDS
                .iter()
                .find_map(|f| flat.first(f).and_then(|v| parse_time(&v.text()))),
        }
    }

    /// Apply aliases then calculated fields to an event of this sourcetype.
    pub fn apply(&self, sourcetype: &str, ev: &mut Event) {
        self.apply_only(sourcetype, ev, None)
    }

    /// Every field an alias or EVAL of any stanza makes.
    pub fn computed_fields(&self) -> HashSet<String> {
        let mut out = HashSet::new();
        for st in self.stanzas.values() {
            out.extend(st.aliases.iter().map(|(_, to)| to.to_string()));
            out.extend(st.evals.iter().map(|(f, _)| f.to_string()));
        }
        out
    }

    /// The fields needed to compute `wanted`: `wanted` itself plus, for each wanted alias or calculated
    /// field, the fields it reads (and theirs, for aliases that calculated fields read).
    pub fn dependencies(&self, wanted: &HashSet<String>) -> HashSet<String> {
        let mut need: HashSet<String> = wanted.clone();
        loop {
            let before = need.len();
            for st in self.stanzas.values() {
                for (from, to) in &st.aliases {
                    if need.contains(to.as_ref()) {
                        need.insert(from.clone());
                    }
                }
                for (f, e) in &st.evals {
                    if need.contains(f.as_ref()) {
                        need.extend(e.fields());
                    }
                }
            }
            if need.len() == before {
                return need;
            }
        }
    }

    /// Which aliases and calculated fields of a sourcetype make a field in `only` (all when `None`).
    /// Worked out once per query and sourcetype, so that applying them costs nothing per event.
    pub fn selection(&self, sourcetype: &str, only: Option<&HashSet<String>>) -> Selection {
        let Some(st) = self.stanzas.get(sourcetype) else {
            return Selection::default();
        };
        let wanted = |f: &str| only.is_none_or(|o| o.contains(f));
        Selection {
            aliases: (0..st.aliases.len())
                .filter(|&i| wanted(&st.aliases[i].1))
                .collect(),
            evals: (0..st.evals.len())
                .filter(|&i| wanted(&st.evals[i].0))
                .collect(),
        }
    }

    /// Apply the aliases and calculated fields of this sourcetype whose result is in `only` (all when
    /// `None`).
    pub fn apply_only(&self, sourcetype: &str, ev: &mut Event, only: Option<&HashSet<String>>) {
        let sel = self.selection(sourcetype, only);
        self.apply_selected(sourcetype, ev, &sel)
    }

    /// Apply a [`Selection`] of this sourcetype's knowledge.
    pub fn apply_selected(&self, sourcetype: &str, ev: &mut Event, sel: &Selection) {
        let Some(st) = self.stanzas.get(sourcetype) else {
            return;
        };
        for (from, to) in sel.aliases.iter().filter_map(|&i| st.aliases.get(i)) {
            match ev.get(from).cloned() {
                Some(v) => ev.set(to.clone(), v),
                None => {
                    ev.remove(to);
                }
            }
        }
        if sel.evals.is_empty() {
            return;
        }
        let default_ctx = EvalContext {
            now: 0.0,
            tz: chrono_tz::UTC,
            max_text: crate::eval::MAX_TEXT,
        };
        let ctx = self.ctx.as_ref().unwrap_or(&default_ctx);
        let results: Vec<_> = sel
            .evals
            .iter()
            .filter_map(|&i| st.evals.get(i))
            .map(|(f, e)| (f, e.eval(ev, ctx).ok().flatten()))
            .collect();
        for (f, v) in results {
            ev.set_opt(f.clone(), v);
        }
    }
}

/// The aliases and calculated fields of one sourcetype that a query needs (indexes into its stanza).
#[derive(Clone, Debug, Default)]
pub struct Selection {
    aliases: Vec<usize>,
    evals: Vec<usize>,
}

/// `a AS b c AS d` (commas optional, names may be double-quoted).
fn parse_aliases(text: &str) -> std::result::Result<Vec<(String, Field)>, String> {
    let words = split_words(text)?;
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if i + 2 >= words.len() {
            return Err(format!("expected `<field> AS <alias>` near `{}`", words[i]));
        }
        if !words[i + 1].eq_ignore_ascii_case("as") {
            return Err(format!("expected `AS` after `{}`", words[i]));
        }
        out.push((words[i].clone(), Arc::from(words[i + 2].as_str())));
        i += 3;
    }
    Ok(out)
}

fn split_words(text: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() || c == ',' {
            chars.next();
            continue;
        }
        let mut w = String::new();
        if c == '"' {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => {
                        if let Some(n) = chars.next() {
                            w.push(n)
                        }
                    }
                    Some(ch) => w.push(ch),
                    None => return Err("unclosed quote".into()),
                }
            }
        } else {
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() || ch == ',' {
                    break;
                }
                w.push(ch);
                chars.next();
            }
        }
        out.push(w);
    }
    Ok(out)
}
