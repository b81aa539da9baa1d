//! Search-time knowledge per sourcetype, read from props.conf-like files.
//!
//! ```text
//! [aws:cloudtrail]
//! KV_MODE = json
//! TIME_FIELD = eventTime
//! FIELDALIAS-src = sourceIPAddress AS src sourceIPAddress AS src_ip
//! EVAL-errorCode = coalesce(errorCode, "success")
//! LOOKUP-action = aws_cloudtrail_action_status eventName errorCode OUTPUTNEW action status
//! ```
//!
//! Applied in Splunk's order after JSON extraction: every `FIELDALIAS` (a missing source field clears the
//! alias, as Splunk does since 7.2.4), then every `EVAL` computed from the event as the aliases left it —
//! all EVALs of a stanza see the same event, so one cannot use another's result — and then assigned
//! (a null result removes the field), then every automatic lookup (`LOOKUP-<class> = <lookup> <field>
//! [AS <event field>] ... [OUTPUT|OUTPUTNEW <field> [AS <event field>] ...]`, without OUTPUT every column
//! that is not matched on) in ASCII order of the class names. Lookups are not nested: each matches on the
//! event as the EVALs left it, and their outputs are then written in that order, so an OUTPUTNEW lookup
//! keeps what an earlier one wrote. A later file's key replaces an earlier one of the same stanza and
//! name, so a user's `--props` file extends or overrides the shipped one.
//!
//! A lookup name is a stanza of the `transforms.conf` beside the props file that names it (for the shipped
//! knowledge, `props/transforms.conf`), then of the shipped one, then a definition of the lookup folders
//! (`--lookups`, `--content`), or a file name ending in `.csv`. Its table is read from the `lookups/`
//! folder beside that props file, then from the lookup folders, then from the shipped `props/lookups/`;
//! only plain file names, confined to those folders. A transforms.conf stanza may set only what
//! [`crate::lookups::Matcher`] acts on (`filename`, `case_sensitive_match`, `match_type` WILDCARD/EXACT,
//! `max_matches`, `min_matches`, `default_match`); any other setting is refused, naming it.

use crate::diag::{Diagnostic, Result};
use crate::eval::{self, EvalContext, Expr};
use crate::event::{Event, Field};
use crate::lookups::{Definition, Lookups, Matcher};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The shipped knowledge files: the Splunk Add-on for AWS's `aws:cloudtrail` fields, and the Windows
/// add-ons' XmlWinEventLog fields.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "props/aws_cloudtrail.conf",
        include_str!("../props/aws_cloudtrail.conf"),
    ),
    ("props/windows.conf", include_str!("../props/windows.conf")),
];

/// The shipped knowledge's lookup definitions (`props/transforms.conf`).
pub const SHIPPED_TRANSFORMS: (&str, &str) = (
    "props/transforms.conf",
    include_str!("../props/transforms.conf"),
);

/// The shipped knowledge's lookup tables (`props/lookups/`), compiled in.
pub const SHIPPED_TABLES: &[(&str, &str)] = &[
    (
        "aws_cloudtrail_action_status.csv",
        include_str!("../props/lookups/aws_cloudtrail_action_status.csv"),
    ),
    (
        "aws_cloudtrail_object_category.csv",
        include_str!("../props/lookups/aws_cloudtrail_object_category.csv"),
    ),
    (
        "aws_cloudtrail_change_type_by_name.csv",
        include_str!("../props/lookups/aws_cloudtrail_change_type_by_name.csv"),
    ),
    (
        "aws_cloudtrail_change_type_by_source.csv",
        include_str!("../props/lookups/aws_cloudtrail_change_type_by_source.csv"),
    ),
    (
        "windows_signatures.csv",
        include_str!("../props/lookups/windows_signatures.csv"),
    ),
    (
        "windows_audit_changes.csv",
        include_str!("../props/lookups/windows_audit_changes.csv"),
    ),
    (
        "windows_keywords_action.csv",
        include_str!("../props/lookups/windows_keywords_action.csv"),
    ),
    (
        "windows_error_code_action.csv",
        include_str!("../props/lookups/windows_error_code_action.csv"),
    ),
    (
        "windows_app_by_eventcode.csv",
        include_str!("../props/lookups/windows_app_by_eventcode.csv"),
    ),
    (
        "windows_app_by_server.csv",
        include_str!("../props/lookups/windows_app_by_server.csv"),
    ),
    (
        "windows_app_by_logon_type.csv",
        include_str!("../props/lookups/windows_app_by_logon_type.csv"),
    ),
    (
        "windows_app_by_source.csv",
        include_str!("../props/lookups/windows_app_by_source.csv"),
    ),
    (
        "windows_account_result.csv",
        include_str!("../props/lookups/windows_account_result.csv"),
    ),
    (
        "windows_severity.csv",
        include_str!("../props/lookups/windows_severity.csv"),
    ),
    (
        "windows_transport.csv",
        include_str!("../props/lookups/windows_transport.csv"),
    ),
    (
        "sysmon_eventcodes.csv",
        include_str!("../props/lookups/sysmon_eventcodes.csv"),
    ),
];

/// JSON keys tried, in order, for `_time` when a sourcetype names no `TIME_FIELD`.
pub const DEFAULT_TIME_FIELDS: &[&str] = &["_time", "timestamp", "time", "@timestamp", "eventTime"];

#[derive(Default, Clone)]
struct RawStanza {
    keys: BTreeMap<String, RawKey>,
    order: Vec<String>,
}

#[derive(Clone)]
struct RawKey {
    value: String,
    /// `file:line`, for messages.
    origin: String,
    /// The folder of the props file that set it (`None` for text given without a file).
    folder: Option<PathBuf>,
}

/// An automatic lookup of a stanza (`LOOKUP-<class>`).
#[derive(Debug)]
pub struct AutoLookup {
    pub class: String,
    pub matcher: Matcher,
}

/// Knowledge of one sourcetype, compiled.
#[derive(Default)]
pub struct Stanza {
    pub time_field: Option<String>,
    pub aliases: Vec<(String, Field)>,
    pub evals: Vec<(Field, Expr)>,
    /// In ASCII order of their classes.
    pub lookups: Vec<AutoLookup>,
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
        let folder = path.parent().map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            }
        });
        self.add_text_in(&text, &path.display().to_string(), folder)
    }

    /// Add a props.conf-like text; call [`Knowledge::compile`] afterwards.
    pub fn add_text(&mut self, text: &str, origin: &str) -> Result<()> {
        self.add_text_in(text, origin, None)
    }

    /// [`Knowledge::add_text`] for the text of a props file in `folder`, whose `transforms.conf` and
    /// `lookups/` the file's LOOKUP- settings use.
    fn add_text_in(&mut self, text: &str, origin: &str, folder: Option<PathBuf>) -> Result<()> {
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
            stanza.keys.insert(
                key,
                RawKey {
                    value,
                    origin: format!("{origin}:{}", n + 1),
                    folder: folder.clone(),
                },
            );
        }
        Ok(())
    }

    /// Parse every stanza's aliases and eval expressions and read its lookups' tables (no lookup
    /// folders but the knowledge's own).
    pub fn compile(&mut self) -> Result<()> {
        self.compile_with(&Lookups::default())
    }

    /// [`Knowledge::compile`], also finding lookup definitions and tables in `lookups`' folders.
    pub fn compile_with(&mut self, lookups: &Lookups) -> Result<()> {
        let mut stanzas = BTreeMap::new();
        let mut transforms = Transforms::default();
        for (name, raw) in &self.raw {
            let mut st = Stanza::default();
            for key in &raw.order {
                let Some(RawKey {
                    value,
                    origin,
                    folder,
                }) = raw.keys.get(key)
                else {
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
                } else if let Some(class) = key.strip_prefix("LOOKUP-") {
                    let matcher = transforms
                        .lookup(value, folder.as_deref(), lookups)
                        .map_err(|m| {
                            let mut d = Diagnostic::new(format!("{origin}: {key}: {}", m.message));
                            d.help = m.help;
                            d
                        })?;
                    st.lookups.push(AutoLookup {
                        class: class.to_string(),
                        matcher,
                    });
                } else if key.starts_with("EXTRACT-") || key.starts_with("REPORT-") {
                    // regex extractions would give fields this knowledge leaves out: refuse, never skip
                    return Err(Diagnostic::new(format!(
                        "{origin}: {key}: search-time regex extraction (EXTRACT-/REPORT-) is not supported yet; spelunk applies TIME_FIELD, FIELDALIAS-, EVAL- and LOOKUP-"
                    )));
                }
            }
            st.lookups.sort_by(|a, b| a.class.cmp(&b.class));
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

    /// The field that gives events of this sourcetype their `_time` (its stanza's `TIME_FIELD`), if it
    /// names one; otherwise the first of [`DEFAULT_TIME_FIELDS`] that parses is used.
    pub fn time_field(&self, sourcetype: &str) -> Option<&str> {
        self.stanzas
            .get(sourcetype)
            .and_then(|s| s.time_field.as_deref())
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
            for l in &st.lookups {
                out.extend(l.matcher.output_fields().map(|f| f.to_string()));
            }
        }
        out
    }

    /// The fields needed to compute `wanted`: `wanted` itself plus, for each wanted alias, calculated
    /// field or lookup output, the fields it reads (and theirs, for the aliases and calculated fields
    /// those read).
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
                for l in &st.lookups {
                    if l.matcher.output_fields().any(|f| need.contains(f.as_ref())) {
                        need.extend(l.matcher.input_fields().map(|f| f.to_string()));
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
            lookups: (0..st.lookups.len())
                .filter(|&i| st.lookups[i].matcher.output_fields().any(|f| wanted(f)))
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
        if !sel.evals.is_empty() {
            self.apply_evals(st, ev, sel);
        }
        if !sel.lookups.is_empty() {
            // not nested: every lookup matches on the event as the EVALs left it
            let found: Vec<(&Matcher, Vec<usize>)> = sel
                .lookups
                .iter()
                .filter_map(|&i| st.lookups.get(i))
                .map(|l| (&l.matcher, l.matcher.find(ev)))
                .collect();
            for (m, rows) in found {
                m.apply(ev, &rows);
            }
        }
    }

    fn apply_evals(&self, st: &Stanza, ev: &mut Event, sel: &Selection) {
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
    lookups: Vec<usize>,
}

/// A transforms.conf stanza: its name, its settings in file order, and the file it is in.
type TransformStanza = (String, Vec<(String, String)>, String);

/// The transforms.conf files read while compiling, by folder (`None`: the shipped one).
#[derive(Default)]
struct Transforms {
    by_folder: BTreeMap<Option<PathBuf>, Vec<TransformStanza>>,
}

impl Transforms {
    /// The stanzas of the transforms.conf of a knowledge folder (`None`: the shipped one), with its path.
    fn stanzas(&mut self, folder: Option<&Path>) -> Result<&[TransformStanza]> {
        let key = folder.map(Path::to_path_buf);
        if !self.by_folder.contains_key(&key) {
            let (text, origin) = match folder {
                None => (
                    SHIPPED_TRANSFORMS.1.to_string(),
                    SHIPPED_TRANSFORMS.0.to_string(),
                ),
                Some(dir) => {
                    let p = dir.join("transforms.conf");
                    if p.is_file() {
                        let t = std::fs::read_to_string(&p).map_err(|e| {
                            Diagnostic::new(format!("cannot read `{}`: {e}", p.display()))
                        })?;
                        (t, p.display().to_string())
                    } else {
                        (String::new(), String::new())
                    }
                }
            };
            let stanzas = crate::lookups::parse_transforms(&text)
                .into_iter()
                .map(|(n, k)| (n, k, origin.clone()))
                .collect();
            self.by_folder.insert(key.clone(), stanzas);
        }
        Ok(self.by_folder.get(&key).map(Vec::as_slice).unwrap_or(&[]))
    }

    /// The definition a LOOKUP- names: the knowledge folder's transforms.conf, the shipped one, the lookup
    /// folders' definitions; `None` for a bare `.csv` name.
    fn definition(
        &mut self,
        name: &str,
        folder: Option<&Path>,
        lookups: &Lookups,
    ) -> Result<Option<Definition>> {
        let mut places = vec![None];
        if folder.is_some() {
            places.insert(0, folder);
        }
        for place in places {
            if let Some((n, keys, origin)) = self.stanzas(place)?.iter().find(|(n, _, _)| n == name)
            {
                return crate::lookups::strict_definition(n, keys, origin).map(Some);
            }
        }
        if let Some(d) = lookups.definition(name) {
            return Ok(Some(d.clone()));
        }
        if name.ends_with(".csv") {
            return Ok(None);
        }
        Err(Diagnostic::new(format!("unknown lookup `{name}`")).with_help(
            "define it in a transforms.conf beside the props file (`[name]` and `filename = x.csv`), or give its folder with --lookups DIR",
        ))
    }

    /// Build the matcher of a `LOOKUP-` value.
    fn lookup(&mut self, value: &str, folder: Option<&Path>, lookups: &Lookups) -> Result<Matcher> {
        let spec = parse_lookup(value).map_err(Diagnostic::new)?;
        let def = self.definition(&spec.name, folder, lookups)?;
        let filename = def
            .as_ref()
            .map_or(spec.name.clone(), |d| d.filename.clone());
        let mut dirs: Vec<PathBuf> = folder.map(|f| f.join("lookups")).into_iter().collect();
        dirs.extend(lookups.dirs());
        let rows = match crate::lookups::read_table_in(&dirs, &filename)? {
            Some(rows) => rows,
            None => match SHIPPED_TABLES.iter().find(|(f, _)| *f == filename) {
                Some((f, text)) => crate::lookups::read_csv(text.as_bytes(), &format!("props/lookups/{f}"))?,
                None => {
                    return Err(Diagnostic::new(format!(
                        "missing lookup table `{filename}` for lookup `{}`",
                        spec.name
                    ))
                    .with_help(
                        "put it in the `lookups/` folder beside the props file, or give its folder with --lookups DIR",
                    ))
                }
            },
        };
        Ok(Matcher::new(
            rows,
            def.as_ref(),
            spec.inputs,
            spec.outputs,
            spec.only_new,
        ))
    }
}

/// A parsed `LOOKUP-` value.
struct LookupSpec {
    name: String,
    inputs: Vec<(String, Field)>,
    outputs: Vec<(String, Field)>,
    only_new: bool,
}

/// `<lookup> <field> [AS <event field>] ... [OUTPUT|OUTPUTNEW <field> [AS <event field>] ...]`.
fn parse_lookup(text: &str) -> std::result::Result<LookupSpec, String> {
    let words = split_words(text)?;
    let mut it = words.iter().peekable();
    let Some(name) = it.next() else {
        return Err("expected `<lookup> <field> ... [OUTPUT|OUTPUTNEW <field> ...]`".into());
    };
    let maps = |it: &mut std::iter::Peekable<std::slice::Iter<String>>, stop: bool| {
        let mut out: Vec<(String, Field)> = Vec::new();
        while let Some(w) = it.peek() {
            if stop && (w.eq_ignore_ascii_case("output") || w.eq_ignore_ascii_case("outputnew")) {
                break;
            }
            let col = w.to_string();
            it.next();
            let event = match it.peek() {
                Some(a) if a.eq_ignore_ascii_case("as") => {
                    it.next();
                    match it.next() {
                        Some(e) => e.clone(),
                        None => return Err(format!("expected a field name after `{col} AS`")),
                    }
                }
                _ => col.clone(),
            };
            out.push((col, Arc::from(event.as_str())));
        }
        Ok(out)
    };
    let inputs = maps(&mut it, true)?;
    if inputs.is_empty() {
        return Err(format!(
            "expected a field of `{name}` to match on after `{name}`"
        ));
    }
    let only_new = match it.next() {
        None => {
            return Ok(LookupSpec {
                name: name.clone(),
                inputs,
                outputs: Vec::new(),
                only_new: false,
            })
        }
        Some(w) => w.eq_ignore_ascii_case("outputnew"),
    };
    let outputs = maps(&mut it, false)?;
    if outputs.is_empty() {
        return Err("expected a field name after `OUTPUT`/`OUTPUTNEW`".into());
    }
    Ok(LookupSpec {
        name: name.clone(),
        inputs,
        outputs,
        only_new,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_outputs_are_computed_and_need_their_match_fields() {
        let k = Knowledge::shipped().unwrap();
        let computed = k.computed_fields();
        for f in ["action", "status", "change_type", "object_category"] {
            assert!(computed.contains(f), "{f}");
        }
        let need = k.dependencies(&HashSet::from(["action".to_string()]));
        // the lookup's match fields, and what EVAL-errorCode reads to rewrite errorCode
        for f in ["eventName", "errorCode", "responseElements.ConsoleLogin"] {
            assert!(need.contains(f), "{f}: {need:?}");
        }
        let sel = k.selection("aws:cloudtrail", Some(&HashSet::from(["user".to_string()])));
        assert!(
            sel.lookups.is_empty(),
            "a query without lookup fields runs none"
        );
    }

    #[test]
    fn lookup_values_are_parsed() {
        let s = parse_lookup("t a AS b, c OUTPUTNEW x AS y z").unwrap();
        assert_eq!(s.name, "t");
        assert_eq!(s.inputs.len(), 2);
        assert_eq!(s.inputs[0].1.as_ref(), "b");
        assert!(s.only_new);
        assert_eq!(s.outputs[0].1.as_ref(), "y");
        assert!(parse_lookup("t").is_err());
        assert!(parse_lookup("t a OUTPUT").is_err());
        assert!(parse_lookup("t a AS").is_err());
    }
}
