//! Search-time knowledge in Splunk's file formats: props.conf stanzas (`[sourcetype]`, `[source::...]`,
//! `[host::...]`, `[default]`), the transforms.conf stanzas they name, eventtypes.conf and tags.conf.
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
//! Every stanza matching an event applies; for one setting name the `source::` stanza wins over `host::`,
//! which wins over the sourcetype's (then `priority`, then the ASCII-first stanza name). The merged
//! knowledge of each kind of event (sourcetype, source, host) is worked out once per query ([`Selection`]).
//! Applied in Splunk's order after the reader's extraction: every `EXTRACT-` then every `REPORT-`
//! ([`extract`]), every `FIELDALIAS` (a missing source field clears the alias, as Splunk does since
//! 7.2.4), then every `EVAL` computed from the event as the aliases left it — all EVALs see the same
//! event, so one cannot use another's result — and then assigned (a null result removes the field), then
//! every automatic lookup (`LOOKUP-<class> = <lookup> <field> [AS <event field>] ... [OUTPUT|OUTPUTNEW
//! <field> [AS <event field>] ...]`, without OUTPUT every column that is not matched on) in ASCII order of
//! the class names, then event types and tags ([`eventtypes`]). Lookups are not nested: each matches on
//! the event as the EVALs left it, and their outputs are then written in that order, so an OUTPUTNEW
//! lookup keeps what an earlier one wrote. A later file's key replaces an earlier one of the same stanza
//! and name, so a user's `--props` file extends or overrides the shipped one. Index-time settings are
//! accepted without effect ([`INDEX_TIME_KEYS`]); other settings are refused by name.
//!
//! A lookup name is a stanza of the `transforms.conf` beside the props file that names it (for the shipped
//! knowledge, `props/transforms.conf`), then of the shipped one, then a definition of the lookup folders
//! (`--lookups`, `--content`), or a file name ending in `.csv`. Its table is read from the `lookups/`
//! folder beside that props file (and an add-on's `lookups/` beside its `default/`), then from the lookup
//! folders, then from the shipped `props/lookups/`; only plain file names, confined to those folders. A
//! transforms.conf lookup stanza may set only what [`crate::lookups::Matcher`] acts on (`filename`,
//! `case_sensitive_match`, `match_type` WILDCARD/EXACT, `max_matches`, `min_matches`, `default_match`);
//! any other setting is refused, naming it.

pub mod conf;
pub mod eventtypes;
pub mod extract;

use crate::diag::{Diagnostic, Result};
use crate::eval::{self, EvalContext, Expr};
use crate::event::{Event, Field};
use crate::lookups::{Definition, Lookups, Matcher};
use conf::ConfStanza;
use eventtypes::EventTypes;
use extract::Extraction;
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
    (
        "props/windows_security.conf",
        include_str!("../props/windows_security.conf"),
    ),
    ("props/sysmon.conf", include_str!("../props/sysmon.conf")),
];

/// The text of the transforms.conf of a knowledge folder (`None`: the shipped one) and its path; empty
/// when the folder has none.
fn transforms_text(folder: Option<&Path>) -> Result<(String, String)> {
    let Some(dir) = folder else {
        return Ok((
            SHIPPED_TRANSFORMS.1.to_string(),
            SHIPPED_TRANSFORMS.0.to_string(),
        ));
    };
    let p = dir.join("transforms.conf");
    if !p.is_file() {
        return Ok((String::new(), String::new()));
    }
    let t = std::fs::read_to_string(&p)
        .map_err(|e| Diagnostic::new(format!("cannot read `{}`: {e}", p.display())))?;
    Ok((t, p.display().to_string()))
}

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

/// The shipped event types (`(path, eventtypes.conf text)`), read before any `--props`.
pub const SHIPPED_EVENTTYPES: &[(&str, &str)] = &[(
    "props/eventtypes.conf",
    include_str!("../props/eventtypes.conf"),
)];

/// The shipped tags (`(path, tags.conf text)`), read before any `--props`.
pub const SHIPPED_TAGS: &[(&str, &str)] =
    &[("props/tags.conf", include_str!("../props/tags.conf"))];

/// props.conf settings that act at index time (event breaking, timestamps, index-time transforms and
/// rewrites) or only describe a sourcetype: accepted, without effect on a search.
pub const INDEX_TIME_KEYS: &[&str] = &[
    "CHARSET",
    "TRUNCATE",
    "LINE_BREAKER",
    "LINE_BREAKER_LOOKBEHIND",
    "SHOULD_LINEMERGE",
    "BREAK_ONLY_BEFORE",
    "BREAK_ONLY_BEFORE_DATE",
    "MUST_BREAK_AFTER",
    "MUST_NOT_BREAK_AFTER",
    "MUST_NOT_BREAK_BEFORE",
    "MAX_EVENTS",
    "EVENT_BREAKER_ENABLE",
    "EVENT_BREAKER",
    "TIME_PREFIX",
    "TIME_FORMAT",
    "MAX_TIMESTAMP_LOOKAHEAD",
    "TZ",
    "TZ_ALIAS",
    "MAX_DAYS_AGO",
    "MAX_DAYS_HENCE",
    "MAX_DIFF_SECS_AGO",
    "MAX_DIFF_SECS_HENCE",
    "DATETIME_CONFIG",
    "ADD_EXTRA_TIME_FIELDS",
    "ANNOTATE_PUNCT",
    "SEGMENTATION",
    "INDEXED_EXTRACTIONS",
    "PREAMBLE_REGEX",
    "FIELD_HEADER_REGEX",
    "HEADER_FIELD_LINE_NUMBER",
    "HEADER_FIELD_DELIMITER",
    "HEADER_FIELD_QUOTE",
    "FIELD_DELIMITER",
    "FIELD_QUOTE",
    "FIELD_NAMES",
    "TIMESTAMP_FIELDS",
    "MISSING_VALUE_REGEX",
    "JSON_TRIM_BRACES_IN_ARRAY_NAMES",
    "NO_BINARY_CHECK",
    "detect_trailing_nulls",
    "CHECK_METHOD",
    "CHECK_FOR_HEADER",
    "PREFIX_SOURCETYPE",
    "LEARN_MODEL",
    "LEARN_SOURCETYPE",
    "maxDist",
    "initCrcLength",
    "unarchive_cmd",
    "unarchive_sourcetype",
    "invalid_cause",
    "is_valid",
    "sourcetype",
    "given_type",
    "category",
    "description",
    "pulldown_type",
    "MATCH_LIMIT",
    "DEPTH_LIMIT",
    "priority",
];

/// Prefixes of index-time props.conf settings (`TRANSFORMS-<class>`, `SEDCMD-<class>`, ...): accepted,
/// without effect on a search.
pub const INDEX_TIME_PREFIXES: &[&str] = &[
    "TRANSFORMS-",
    "SEDCMD-",
    "SEGMENTATION-",
    "METRIC-SCHEMA-TRANSFORMS",
];

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

/// One compiled setting of a stanza.
enum Item {
    TimeField(String),
    Aliases(Vec<(String, Field)>),
    Eval(Field, Arc<Expr>),
    Lookup(Arc<AutoLookup>),
    Extract(Arc<Extraction>),
    Report(Vec<Arc<Extraction>>),
    Rename(String),
    /// `UNKNOWN_FIELDS`: fields the add-on gives that this knowledge cannot compute.
    Unknown(Vec<String>, String),
    /// Accepted without effect.
    Ignored,
}

/// What events a stanza applies to.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    Default,
    Sourcetype(String),
    Host(Pattern),
    Source(Pattern),
    /// `rule::` / `delayedrule::`: index-time sourcetype recognition.
    Never,
}

impl Target {
    /// The rank of its settings when stanzas set the same one: `source::` beats `host::` beats the
    /// sourcetype, which beats `[default]`.
    fn rank(&self) -> u8 {
        match self {
            Target::Never | Target::Default => 0,
            Target::Sourcetype(_) => 1,
            Target::Host(_) => 2,
            Target::Source(_) => 3,
        }
    }
}

/// A `source::`/`host::` pattern: `...` matches any text, `*` any text without `/`; the rest literally,
/// with case.
#[derive(Debug, Clone, PartialEq)]
struct Pattern {
    text: String,
    parts: Vec<PatPart>,
}

#[derive(Debug, Clone, PartialEq)]
enum PatPart {
    Lit(String),
    /// `true`: `...` (crosses `/`).
    Any(bool),
}

impl Pattern {
    fn parse(text: &str) -> std::result::Result<Pattern, String> {
        if text.contains(['(', ')', '|']) {
            return Err(format!(
                "stanza pattern `{text}`: regular-expression patterns are not supported; spelunk matches `*` and `...`"
            ));
        }
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            let (part, len) = if rest.starts_with("...") {
                (Some(PatPart::Any(true)), 3)
            } else if c == '*' {
                (Some(PatPart::Any(false)), 1)
            } else {
                lit.push(c);
                (None, c.len_utf8())
            };
            if let Some(p) = part {
                if !lit.is_empty() {
                    parts.push(PatPart::Lit(std::mem::take(&mut lit)));
                }
                parts.push(p);
            }
            rest = &rest[len..];
        }
        if !lit.is_empty() {
            parts.push(PatPart::Lit(lit));
        }
        Ok(Pattern {
            text: text.to_string(),
            parts,
        })
    }

    fn literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, PatPart::Lit(_)))
    }

    fn matches(&self, s: &str) -> bool {
        fn go(parts: &[PatPart], s: &str) -> bool {
            match parts.split_first() {
                None => s.is_empty(),
                Some((PatPart::Lit(l), rest)) => {
                    s.strip_prefix(l.as_str()).is_some_and(|r| go(rest, r))
                }
                Some((PatPart::Any(cross), rest)) => {
                    let mut i = 0;
                    loop {
                        if go(rest, &s[i..]) {
                            return true;
                        }
                        let Some(c) = s[i..].chars().next() else {
                            return false;
                        };
                        if c == '/' && !cross {
                            return false;
                        }
                        i += c.len_utf8();
                    }
                }
            }
        }
        go(&self.parts, s)
    }
}

/// Knowledge of one stanza, compiled.
struct Stanza {
    name: String,
    target: Target,
    /// `priority`, else 100 for a literal pattern and 0 for a wildcard one.
    priority: i64,
    /// Settings in file order.
    items: Vec<(String, Item)>,
}

/// The knowledge that applies to one kind of event (sourcetype, source, host): the settings of every
/// stanza that matches it, each setting from the stanza that wins it, in the order they apply.
#[derive(Default)]
pub struct Merged {
    /// `rename`: the sourcetype the event answers to.
    pub renamed: Option<String>,
    /// Every EXTRACT- in ASCII order of the class, then every REPORT-'s transforms the same way.
    extracts: Vec<Arc<Extraction>>,
    aliases: Vec<(String, Field)>,
    evals: Vec<(Field, Arc<Expr>)>,
    /// In ASCII order of their classes.
    lookups: Vec<Arc<AutoLookup>>,
    /// `UNKNOWN_FIELDS`: each field with the stanza and the `file:line` that name it.
    unknown: Vec<(String, String, String)>,
}

#[derive(Default)]
pub struct Knowledge {
    raw: BTreeMap<String, RawStanza>,
    stanzas: Vec<Stanza>,
    eventtypes: EventTypes,
    has_source: bool,
    has_host: bool,
    ctx: Option<EvalContext>,
}

impl Knowledge {
    /// The shipped knowledge.
    pub fn shipped() -> Result<Knowledge> {
        let mut k = Knowledge::default();
        k.add_shipped()?;
        k.compile()?;
        Ok(k)
    }

    /// Add the shipped props, event types and tags; call [`Knowledge::compile`] afterwards.
    pub fn add_shipped(&mut self) -> Result<()> {
        for (name, text) in SHIPPED {
            self.add_text(text, name)?;
        }
        for (name, text) in SHIPPED_EVENTTYPES {
            self.eventtypes.add_eventtypes(text, name)?;
        }
        for (name, text) in SHIPPED_TAGS {
            self.eventtypes.add_tags(text, name)?;
        }
        Ok(())
    }

    /// Add what `--props PATH` names: an add-on folder (its `default/`), a folder of `.conf` files (its
    /// props.conf, eventtypes.conf and tags.conf; transforms.conf is read for the settings that name
    /// it), or one file: `eventtypes.conf` and `tags.conf` by name, any other file as props.
    pub fn add_path(&mut self, path: &Path) -> Result<()> {
        if path.is_dir() {
            let dir = if path.join("default").is_dir() {
                path.join("default")
            } else {
                path.to_path_buf()
            };
            let mut found = false;
            for name in ["props.conf", "eventtypes.conf", "tags.conf"] {
                let p = dir.join(name);
                if p.is_file() {
                    self.add_file(&p)?;
                    found = true;
                }
            }
            if !found {
                return Err(Diagnostic::new(format!(
                    "--props `{}`: the folder has no props.conf, eventtypes.conf or tags.conf",
                    path.display()
                )));
            }
            return Ok(());
        }
        self.add_file(path)
    }

    pub fn add_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostic::new(format!("cannot read props file `{}`: {e}", path.display()))
        })?;
        let origin = path.display().to_string();
        match path.file_name().and_then(|n| n.to_str()) {
            Some("eventtypes.conf") => return self.eventtypes.add_eventtypes(&text, &origin),
            Some("tags.conf") => return self.eventtypes.add_tags(&text, &origin),
            _ => {}
        }
        let folder = path.parent().map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            }
        });
        self.add_text_in(&text, &origin, folder)
    }

    /// Add a props.conf-like text; call [`Knowledge::compile`] afterwards.
    pub fn add_text(&mut self, text: &str, origin: &str) -> Result<()> {
        self.add_text_in(text, origin, None)
    }

    /// Add an eventtypes.conf text; call [`Knowledge::compile`] afterwards.
    pub fn add_eventtypes_text(&mut self, text: &str, origin: &str) -> Result<()> {
        self.eventtypes.add_eventtypes(text, origin)
    }

    /// Add a tags.conf text; call [`Knowledge::compile`] afterwards.
    pub fn add_tags_text(&mut self, text: &str, origin: &str) -> Result<()> {
        self.eventtypes.add_tags(text, origin)
    }

    /// [`Knowledge::add_text`] for the text of a props file in `folder`, whose `transforms.conf` and
    /// `lookups/` the file's LOOKUP- and REPORT- settings use.
    fn add_text_in(&mut self, text: &str, origin: &str, folder: Option<PathBuf>) -> Result<()> {
        for st in conf::parse(text, origin)? {
            let stanza = self.raw.entry(st.name).or_default();
            for k in st.keys {
                if !stanza.keys.contains_key(&k.key) {
                    stanza.order.push(k.key.clone());
                }
                stanza.keys.insert(
                    k.key,
                    RawKey {
                        value: k.value,
                        origin: format!("{origin}:{}", k.line),
                        folder: folder.clone(),
                    },
                );
            }
        }
        Ok(())
    }

    /// Parse every stanza's settings and read its lookups' tables (no lookup folders but the
    /// knowledge's own).
    pub fn compile(&mut self) -> Result<()> {
        self.compile_with(&Lookups::default())
    }

    /// [`Knowledge::compile`], also finding lookup definitions and tables in `lookups`' folders.
    pub fn compile_with(&mut self, lookups: &Lookups) -> Result<()> {
        let mut stanzas = Vec::new();
        let mut transforms = Transforms::default();
        for (name, raw) in &self.raw {
            stanzas.push(compile_stanza(name, raw, &mut transforms, lookups)?);
        }
        self.has_source = stanzas
            .iter()
            .any(|s| matches!(s.target, Target::Source(_)));
        self.has_host = stanzas.iter().any(|s| matches!(s.target, Target::Host(_)));
        self.stanzas = stanzas;
        self.eventtypes.compile()
    }

    /// Set the context (time zone, `now`) that EVALs run with.
    pub fn set_context(&mut self, ctx: EvalContext) {
        self.ctx = Some(ctx);
    }

    /// The sourcetypes that have a stanza.
    pub fn sourcetypes(&self) -> impl Iterator<Item = &String> {
        self.stanzas.iter().filter_map(|s| match &s.target {
            Target::Sourcetype(n) => Some(n),
            _ => None,
        })
    }

    /// Do `source::` stanzas exist (so that the knowledge of an event depends on its source)?
    pub fn keys_on_source(&self) -> bool {
        self.has_source
    }

    /// Do `host::` stanzas exist?
    pub fn keys_on_host(&self) -> bool {
        self.has_host
    }

    /// Does a `source::` or `host::` stanza apply to events of this source and host?
    pub fn keys_on(&self, source: &str, host: &str) -> bool {
        self.stanzas.iter().any(|s| match &s.target {
            Target::Host(p) => p.matches(host),
            Target::Source(p) => p.matches(source),
            _ => false,
        })
    }

    /// The loaded event types and tags.
    pub fn eventtypes(&self) -> &EventTypes {
        &self.eventtypes
    }

    /// The field that gives events of this sourcetype their `_time` (its stanza's `TIME_FIELD`), if it
    /// names one; otherwise the first of [`DEFAULT_TIME_FIELDS`] that parses is used.
    pub fn time_field(&self, sourcetype: &str) -> Option<&str> {
        self.stanzas
            .iter()
            .filter(|s| matches!(&s.target, Target::Sourcetype(t) if t == sourcetype))
            .flat_map(|s| s.items.iter())
            .find_map(|(_, i)| match i {
                Item::TimeField(f) => Some(f.as_str()),
                _ => None,
            })
    }

    /// Every `TIME_FIELD` of any stanza.
    pub fn time_fields(&self) -> impl Iterator<Item = &str> {
        self.stanzas
            .iter()
            .flat_map(|s| s.items.iter())
            .filter_map(|(_, i)| match i {
                Item::TimeField(f) => Some(f.as_str()),
                _ => None,
            })
    }

    /// The knowledge for events of this sourcetype, source and host.
    pub fn merged(&self, sourcetype: &str, source: &str, host: &str) -> Merged {
        let rename = self
            .stanzas
            .iter()
            .filter(|s| s.target == Target::Sourcetype(sourcetype.to_string()))
            .flat_map(|s| s.items.iter())
            .find_map(|(_, i)| match i {
                Item::Rename(r) => Some(r.clone()),
                _ => None,
            });
        let st = rename.as_deref().unwrap_or(sourcetype);
        let mut matching: Vec<&Stanza> = self
            .stanzas
            .iter()
            .filter(|s| match &s.target {
                Target::Default => true,
                Target::Sourcetype(n) => n == st,
                Target::Host(p) => p.matches(host),
                Target::Source(p) => p.matches(source),
                Target::Never => false,
            })
            .collect();
        // the winner of a setting last: rank, then priority, then the ASCII-first name
        matching.sort_by(|a, b| {
            (a.target.rank(), a.priority)
                .cmp(&(b.target.rank(), b.priority))
                .then_with(|| b.name.cmp(&a.name))
        });
        let mut winners: BTreeMap<&str, &Item> = BTreeMap::new();
        let mut order: Vec<&str> = Vec::new();
        let mut unknown = Vec::new();
        for s in &matching {
            for (k, item) in &s.items {
                if let Item::Unknown(fs, origin) = item {
                    unknown.extend(
                        fs.iter()
                            .map(|f| (f.clone(), s.name.clone(), origin.clone())),
                    );
                }
                if winners.insert(k.as_str(), item).is_none() {
                    order.push(k.as_str());
                }
            }
        }
        let mut m = Merged {
            renamed: rename,
            unknown,
            ..Merged::default()
        };
        let mut extracts: Vec<(&str, &Arc<Extraction>)> = Vec::new();
        let mut reports: Vec<(&str, &Vec<Arc<Extraction>>)> = Vec::new();
        for k in order {
            match winners.get(k) {
                Some(Item::Aliases(a)) => m.aliases.extend(a.iter().cloned()),
                Some(Item::Eval(f, e)) => m.evals.push((f.clone(), e.clone())),
                Some(Item::Lookup(l)) => m.lookups.push(l.clone()),
                Some(Item::Extract(x)) => extracts.push((k, x)),
                Some(Item::Report(r)) => reports.push((k, r)),
                _ => {}
            }
        }
        extracts.sort_by(|a, b| a.0.cmp(b.0));
        reports.sort_by(|a, b| a.0.cmp(b.0));
        m.extracts = extracts.into_iter().map(|(_, x)| x.clone()).collect();
        m.extracts
            .extend(reports.into_iter().flat_map(|(_, r)| r.iter().cloned()));
        m.lookups.sort_by(|a, b| a.class.cmp(&b.class));
        m
    }

    /// Apply every setting to an event of this sourcetype (as if its source and host matched no
    /// `source::`/`host::` stanza).
    pub fn apply(&self, sourcetype: &str, ev: &mut Event) -> std::result::Result<(), String> {
        let sel = self.selection(sourcetype, "", "", None);
        self.apply_selected(ev, &sel)
    }

    /// Every field a setting of any stanza, an event type or a tag can make.
    pub fn computed_fields(&self) -> HashSet<String> {
        let mut out = HashSet::new();
        for (_, item) in self.stanzas.iter().flat_map(|s| s.items.iter()) {
            match item {
                Item::Aliases(a) => out.extend(a.iter().map(|(_, to)| to.to_string())),
                Item::Eval(f, _) => {
                    out.insert(f.to_string());
                }
                Item::Lookup(l) => out.extend(l.matcher.output_fields().map(|f| f.to_string())),
                Item::Extract(x) => out.extend(x.outputs().map(str::to_string)),
                Item::Report(r) => {
                    out.extend(r.iter().flat_map(|x| x.outputs().map(str::to_string)))
                }
                Item::Unknown(fs, _) => out.extend(fs.iter().cloned()),
                _ => {}
            }
        }
        out.extend(self.eventtypes.computed_fields());
        out
    }

    /// Does an extraction make field names from the event's text (so that any field may be computed)?
    pub fn makes_any_field(&self) -> bool {
        self.extractions().any(|x| x.dynamic())
    }

    fn extractions(&self) -> impl Iterator<Item = &Arc<Extraction>> {
        self.stanzas
            .iter()
            .flat_map(|s| s.items.iter())
            .flat_map(|(_, item)| match item {
                Item::Extract(x) => std::slice::from_ref(x),
                Item::Report(r) => r.as_slice(),
                _ => &[],
            })
    }

    /// The fields needed to compute `wanted`: `wanted` itself plus, for each wanted field a setting,
    /// event type or tag can make, the fields it reads (and theirs).
    pub fn dependencies(&self, wanted: &HashSet<String>) -> HashSet<String> {
        let mut need: HashSet<String> = wanted.clone();
        loop {
            let before = need.len();
            need.extend(self.eventtypes.dependencies(&need));
            for (_, item) in self.stanzas.iter().flat_map(|s| s.items.iter()) {
                match item {
                    Item::Aliases(a) => {
                        for (from, to) in a {
                            if need.contains(to.as_ref()) {
                                need.insert(from.clone());
                            }
                        }
                    }
                    Item::Eval(f, e) if need.contains(f.as_ref()) => {
                        need.extend(e.fields());
                    }
                    Item::Lookup(l)
                        if l.matcher.output_fields().any(|f| need.contains(f.as_ref())) =>
                    {
                        need.extend(l.matcher.input_fields().map(|f| f.to_string()));
                    }
                    Item::Extract(x) if need.iter().any(|f| x.makes(f)) => {
                        need.insert(x.source().to_string());
                    }
                    Item::Report(r) => {
                        for x in r {
                            if need.iter().any(|f| x.makes(f)) {
                                need.insert(x.source().to_string());
                            }
                        }
                    }
                    _ => {}
                }
            }
            if need.len() == before {
                return need;
            }
        }
    }

    /// [`Knowledge::dependencies`] through one kind of event's settings only (and the event types and
    /// tags, which apply to every kind).
    fn dependencies_in(&self, m: &Merged, wanted: &HashSet<String>) -> HashSet<String> {
        let mut need: HashSet<String> = wanted.clone();
        loop {
            let before = need.len();
            need.extend(self.eventtypes.dependencies(&need));
            for (from, to) in &m.aliases {
                if need.contains(to.as_ref()) {
                    need.insert(from.clone());
                }
            }
            for (f, e) in &m.evals {
                if need.contains(f.as_ref()) {
                    need.extend(e.fields());
                }
            }
            for l in &m.lookups {
                if l.matcher.output_fields().any(|f| need.contains(f.as_ref())) {
                    need.extend(l.matcher.input_fields().map(|f| f.to_string()));
                }
            }
            for x in &m.extracts {
                if need.iter().any(|f| x.makes(f)) {
                    need.insert(x.source().to_string());
                }
            }
            if need.len() == before {
                return need;
            }
        }
    }

    /// Which settings of the knowledge for this sourcetype, source and host make a field in `only` (all
    /// when `None`). Worked out once per query and kind of event, so that applying them costs nothing
    /// per event.
    pub fn selection(
        &self,
        sourcetype: &str,
        source: &str,
        host: &str,
        only: Option<&HashSet<String>>,
    ) -> Selection {
        self.selection_for(sourcetype, source, host, only, None)
    }

    /// [`Knowledge::selection`], knowing the fields the query itself reads (`wanted`, before the
    /// knowledge's dependencies): of `only`, just what this kind's own settings need to give them.
    /// (`only` is worked out over every sourcetype's settings: a field that another sourcetype's
    /// calculated field reads is not computed for these events unless theirs read it too.)
    pub fn selection_for(
        &self,
        sourcetype: &str,
        source: &str,
        host: &str,
        only: Option<&HashSet<String>>,
        wanted: Option<&HashSet<String>>,
    ) -> Selection {
        let mut m = self.merged(sourcetype, source, host);
        let narrowed: Option<HashSet<String>> = match (only, wanted) {
            (Some(o), Some(w)) => {
                let here = self.dependencies_in(&m, w);
                Some(o.iter().filter(|f| here.contains(*f)).cloned().collect())
            }
            _ => None,
        };
        let only = narrowed.as_ref().or(only);
        // names of this selection's own: a selection serves one reading thread, and names counted
        // by several threads at once make them wait on each other
        for (_, to) in &mut m.aliases {
            *to = Field::from(to.as_ref());
        }
        let wanted = |f: &str| only.is_none_or(|o| o.contains(f));
        let tag_wanted =
            only.is_none_or(|o| o.iter().any(|f| f == "tag" || f.starts_with("tag::")));
        // a needed field the add-on gives but this knowledge cannot compute (unless another setting
        // that applies makes it)
        let unknown = only.and_then(|o| {
            m.unknown
                .iter()
                .find(|(f, _, _)| {
                    o.contains(f)
                        && !m.extracts.iter().any(|x| x.outputs().any(|y| y == f))
                        && !m.aliases.iter().any(|(_, to)| to.as_ref() == f)
                        && !m.evals.iter().any(|(g, _)| g.as_ref() == f)
                        && !m.lookups.iter().any(|l| l.matcher.output_fields().any(|g| g.as_ref() == f))
                })
                .map(|(f, st, origin)| {
                    format!(
                        "the search reads field `{f}`, which the add-on gives events of [{st}] but spelunk's knowledge cannot compute (UNKNOWN_FIELDS, {origin}); load the add-on's own files with --props <add-on folder>"
                    )
                })
        });
        let evals: Vec<usize> = (0..m.evals.len())
            .filter(|&i| wanted(&m.evals[i].0))
            .collect();
        // the calculated fields read their fields by place: looked up once per event, not once per mention
        let mut slots = crate::eval::Slots::default();
        let slotted = evals
            .iter()
            .map(|&i| {
                let (f, e) = &m.evals[i];
                (Field::from(f.as_ref()), e.slotted(&mut slots))
            })
            .collect();
        Selection {
            unknown,
            slots,
            slotted,
            extracts: (0..m.extracts.len())
                .filter(|&i| only.is_none_or(|o| o.iter().any(|f| m.extracts[i].makes(f))))
                .collect(),
            aliases: (0..m.aliases.len())
                .filter(|&i| wanted(&m.aliases[i].1))
                .collect(),
            lookups: (0..m.lookups.len())
                .filter(|&i| m.lookups[i].matcher.output_fields().any(|f| wanted(f)))
                .collect(),
            eventtypes: wanted("eventtype"),
            tags: tag_wanted,
            merged: Arc::new(m),
        }
    }

    /// Apply a [`Selection`]: extractions, aliases, calculated fields, lookups, event types, tags. An
    /// extraction whose regex gives up at the backtracking limit is an error (the search stops).
    pub fn apply_selected(
        &self,
        ev: &mut Event,
        sel: &Selection,
    ) -> std::result::Result<(), String> {
        let m = &sel.merged;
        for x in sel.extracts.iter().filter_map(|&i| m.extracts.get(i)) {
            x.apply(ev)?;
        }
        for (from, to) in sel.aliases.iter().filter_map(|&i| m.aliases.get(i)) {
            match ev.get(from).cloned() {
                Some(v) => ev.set(to.clone(), v),
                None => {
                    ev.remove(to);
                }
            }
        }
        if !sel.slotted.is_empty() {
            self.apply_evals(ev, sel);
        }
        if !sel.lookups.is_empty() {
            // not nested: every lookup matches on the event as the EVALs left it
            let found: Vec<(&Matcher, Vec<usize>)> = sel
                .lookups
                .iter()
                .filter_map(|&i| m.lookups.get(i))
                .map(|l| (&l.matcher, l.matcher.find(ev)))
                .collect();
            for (m, rows) in found {
                m.apply(ev, &rows);
            }
        }
        if (sel.eventtypes || sel.tags) && !self.eventtypes.is_empty() {
            self.eventtypes.apply(ev, sel.eventtypes, sel.tags);
        }
        Ok(())
    }

    /// Every calculated field reads the event as it was before any of them (Splunk computes them
    /// independently of one another): all are evaluated first, then set.
    fn apply_evals(&self, ev: &mut Event, sel: &Selection) {
        let default_ctx = EvalContext {
            now: 0.0,
            tz: chrono_tz::UTC,
            max_text: crate::eval::MAX_TEXT,
        };
        let ctx = self.ctx.as_ref().unwrap_or(&default_ctx);
        const ON_STACK: usize = 64;
        let mut stack = [None; ON_STACK];
        let mut heap = Vec::new();
        let n = sel.slots.len();
        let slots: &mut [Option<&crate::value::Value>] = if n <= ON_STACK {
            &mut stack[..n]
        } else {
            heap.resize(n, None);
            &mut heap
        };
        sel.slots.fill(ev, slots);
        let results: Vec<_> = sel
            .slotted
            .iter()
            .map(|(f, e)| (f, e.eval_slotted(ev, slots, ctx).ok().flatten()))
            .collect();
        for (f, v) in results {
            ev.set_opt(f.clone(), v);
        }
    }
}

impl crate::commands::search::Defines for Knowledge {
    fn eventtype(&self, pattern: &str) -> bool {
        self.eventtypes.defines(pattern)
    }

    fn tag(&self, pattern: &str) -> bool {
        self.eventtypes.gives_tag(pattern)
    }
}

/// The shipped knowledge's event types and tags (what `spelunk check` knows of).
pub fn shipped_names() -> &'static EventTypes {
    static NAMES: std::sync::OnceLock<EventTypes> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut t = EventTypes::default();
        for (name, text) in SHIPPED_EVENTTYPES {
            let _ = t.add_eventtypes(text, name);
        }
        for (name, text) in SHIPPED_TAGS {
            let _ = t.add_tags(text, name);
        }
        t
    })
}

impl crate::commands::search::Defines for EventTypes {
    fn eventtype(&self, pattern: &str) -> bool {
        self.defines(pattern)
    }

    fn tag(&self, pattern: &str) -> bool {
        self.gives_tag(pattern)
    }
}

/// Compile one props stanza.
fn compile_stanza(
    name: &str,
    raw: &RawStanza,
    transforms: &mut Transforms,
    lookups: &Lookups,
) -> Result<Stanza> {
    let first_origin = raw
        .order
        .first()
        .and_then(|k| raw.keys.get(k))
        .map(|k| k.origin.clone())
        .unwrap_or_default();
    let pattern = |p: &str| {
        Pattern::parse(p).map_err(|m| Diagnostic::new(format!("{first_origin}: [{name}]: {m}")))
    };
    let target = if let Some(p) = name.strip_prefix("source::") {
        Target::Source(pattern(p)?)
    } else if let Some(p) = name.strip_prefix("host::") {
        Target::Host(pattern(p)?)
    } else if name.starts_with("rule::") || name.starts_with("delayedrule::") {
        Target::Never
    } else if name == "default" {
        Target::Default
    } else {
        Target::Sourcetype(name.to_string())
    };
    let mut priority = match &target {
        Target::Source(p) | Target::Host(p) if p.literal() => 100,
        _ => 0,
    };
    let mut items = Vec::new();
    for key in &raw.order {
        let Some(RawKey {
            value,
            origin,
            folder,
        }) = raw.keys.get(key)
        else {
            continue;
        };
        let err = |m: String| Diagnostic::new(format!("{origin}: {key}: {m}"));
        let item = if key == "TIME_FIELD" {
            if !matches!(target, Target::Sourcetype(_)) {
                return Err(err(
                    "TIME_FIELD is read in a [sourcetype] stanza only".into()
                ));
            }
            Item::TimeField(value.clone())
        } else if key.starts_with("FIELDALIAS-") {
            Item::Aliases(parse_aliases(value).map_err(err)?)
        } else if let Some(field) = key.strip_prefix("EVAL-") {
            let expr = eval::parse_expr(value).map_err(|e| err(e.to_string()))?;
            Item::Eval(Arc::from(field), Arc::new(expr))
        } else if let Some(class) = key.strip_prefix("LOOKUP-") {
            let matcher = transforms
                .lookup(value, folder.as_deref(), lookups)
                .map_err(|m| {
                    let mut d = Diagnostic::new(format!("{origin}: {key}: {}", m.message));
                    d.help = m.help;
                    d
                })?;
            Item::Lookup(Arc::new(AutoLookup {
                class: class.to_string(),
                matcher,
            }))
        } else if key.starts_with("EXTRACT-") {
            Item::Extract(Arc::new(Extraction::inline(key, value, origin)?))
        } else if key.starts_with("REPORT-") {
            let mut out = Vec::new();
            for t in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                let Some((st, path)) = transforms.report(t, folder.as_deref())? else {
                    return Err(err(format!(
                        "no transform `[{t}]` in the transforms.conf beside the props file or the shipped one"
                    )));
                };
                out.push(Arc::new(Extraction::transform(key, &st, &path)?));
            }
            Item::Report(out)
        } else if key == "rename" {
            if !matches!(target, Target::Sourcetype(_)) {
                return Err(err("rename is read in a [sourcetype] stanza only".into()));
            }
            Item::Rename(value.clone())
        } else if key == "KV_MODE" {
            // the reader extracts by file format: JSON objects as KV_MODE=json does, Windows XML events
            // as the Windows add-on's own extractions do (its stanzas set KV_MODE=none)
            match value.to_ascii_lowercase().as_str() {
                "json" | "none" => Item::Ignored,
                other => {
                    return Err(err(format!(
                        "KV_MODE = {other} is not supported (spelunk reads JSON as KV_MODE = json does, and Windows XML events with the Windows add-on's extractions)"
                    )))
                }
            }
        } else if key == "UNKNOWN_FIELDS" {
            Item::Unknown(
                value.split_whitespace().map(str::to_string).collect(),
                origin.clone(),
            )
        } else if key == "priority" {
            priority = value
                .parse()
                .map_err(|_| err("priority takes a whole number".into()))?;
            Item::Ignored
        } else if INDEX_TIME_KEYS.contains(&key.as_str())
            || INDEX_TIME_PREFIXES.iter().any(|p| key.starts_with(p))
        {
            Item::Ignored
        } else {
            return Err(err(
                "this search-time setting is not supported; spelunk applies EXTRACT-, REPORT-, FIELDALIAS-, EVAL-, LOOKUP-, rename and TIME_FIELD (index-time settings are accepted without effect)".into(),
            ));
        };
        items.push((key.clone(), item));
    }
    Ok(Stanza {
        name: name.to_string(),
        target,
        priority,
        items,
    })
}

/// What the knowledge does to events of one sourcetype to give the fields a query reads, as
/// `spelunk sql` writes it: the aliases in the order they apply, then the calculated fields (every one
/// reading the event as the aliases left it), and the needed fields it makes some other way.
#[derive(Default)]
pub struct SqlSteps {
    /// Every field these settings read or make on the way to the wanted ones (the wanted included).
    pub needs: HashSet<String>,
    /// `FIELDALIAS-`: (from, to).
    pub aliases: Vec<(String, String)>,
    /// `EVAL-`: (field, expression).
    pub evals: Vec<(String, Arc<Expr>)>,
    /// Needed fields made by an extraction, an automatic lookup or named in `UNKNOWN_FIELDS`, with
    /// what makes them.
    pub other: Vec<(String, String)>,
    /// `rename`: the sourcetype these events answer to.
    pub renamed: Option<String>,
}

impl Knowledge {
    /// The settings for events of `sourcetype` (whatever their source and host) that give `wanted`.
    pub fn sql_steps(&self, sourcetype: &str, wanted: &HashSet<String>) -> SqlSteps {
        let m = self.merged(sourcetype, "", "");
        let needs = self.dependencies_in(&m, wanted);
        let aliases = m
            .aliases
            .iter()
            .filter(|(_, to)| needs.contains(to.as_ref()))
            .map(|(from, to)| (from.clone(), to.to_string()))
            .collect();
        let evals = m
            .evals
            .iter()
            .filter(|(f, _)| needs.contains(f.as_ref()))
            .map(|(f, e)| (f.to_string(), e.clone()))
            .collect();
        let mut other = Vec::new();
        for f in &needs {
            if m.extracts.iter().any(|x| x.makes(f)) {
                other.push((f.clone(), "a field extraction of the add-on".to_string()));
            } else if m
                .lookups
                .iter()
                .any(|l| l.matcher.output_fields().any(|g| g.as_ref() == f))
            {
                other.push((f.clone(), "an automatic lookup of the add-on".to_string()));
            } else if m.unknown.iter().any(|(g, _, _)| g == f)
                && !m.aliases.iter().any(|(_, to)| to.as_ref() == f)
                && !m.evals.iter().any(|(g, _)| g.as_ref() == f)
            {
                other.push((
                    f.clone(),
                    "given by the add-on but not computed by this knowledge (UNKNOWN_FIELDS)"
                        .to_string(),
                ));
            }
        }
        other.sort();
        SqlSteps {
            needs,
            aliases,
            evals,
            other,
            renamed: m.renamed.clone(),
        }
    }
}

/// The settings of the knowledge for one kind of event that a query needs (indexes into its
/// [`Merged`]).
#[derive(Clone, Default)]
pub struct Selection {
    merged: Arc<Merged>,
    /// Why events of this kind cannot be given a needed field (`UNKNOWN_FIELDS`).
    unknown: Option<String>,
    extracts: Vec<usize>,
    aliases: Vec<usize>,
    /// The selected calculated fields, in the order of `evals`, with their fields read by place.
    slotted: Vec<(Field, Expr)>,
    slots: crate::eval::Slots,
    lookups: Vec<usize>,
    eventtypes: bool,
    tags: bool,
}

impl Selection {
    /// The error when the query needs a field these events have in Splunk but not here
    /// (`UNKNOWN_FIELDS`).
    pub fn unknown(&self) -> Option<&str> {
        self.unknown.as_deref()
    }

    /// Does an extraction of this kind of event make field names from the event's text?
    pub fn makes_any_field(&self) -> bool {
        self.merged.extracts.iter().any(|x| x.dynamic())
    }

    /// `rename`: the sourcetype the events answer to.
    pub fn renamed(&self) -> Option<&str> {
        self.merged.renamed.as_deref()
    }
}

/// A transforms.conf stanza: its name, its settings in file order, and the file it is in.
type TransformStanza = (String, Vec<(String, String)>, String);

/// The transforms.conf files read while compiling, by folder (`None`: the shipped one).
#[derive(Default)]
struct Transforms {
    by_folder: BTreeMap<Option<PathBuf>, Vec<TransformStanza>>,
    /// The same files read with their line numbers, for REPORT- transforms: stanzas and path.
    conf_by_folder: BTreeMap<Option<PathBuf>, (Vec<ConfStanza>, String)>,
}

impl Transforms {
    /// The transform `[name]` a REPORT- names: in the transforms.conf beside the props file, else the
    /// shipped one; with the file's path.
    fn report(
        &mut self,
        name: &str,
        folder: Option<&Path>,
    ) -> Result<Option<(ConfStanza, String)>> {
        let mut places = vec![None];
        if let Some(f) = folder {
            places.insert(0, Some(f.to_path_buf()));
        }
        for place in places {
            if !self.conf_by_folder.contains_key(&place) {
                let (text, origin) = transforms_text(place.as_deref())?;
                let stanzas = conf::parse(&text, &origin)?;
                self.conf_by_folder.insert(place.clone(), (stanzas, origin));
            }
            if let Some((stanzas, origin)) = self.conf_by_folder.get(&place) {
                // a later stanza of the same name adds to and overrides an earlier one
                let mut found: Option<ConfStanza> = None;
                for st in stanzas.iter().filter(|s| s.name == name) {
                    match &mut found {
                        None => found = Some(st.clone()),
                        Some(f) => {
                            for k in &st.keys {
                                f.keys.retain(|x| x.key != k.key);
                                f.keys.push(k.clone());
                            }
                        }
                    }
                }
                if let Some(f) = found {
                    return Ok(Some((f, origin.clone())));
                }
            }
        }
        Ok(None)
    }

    /// The stanzas of the transforms.conf of a knowledge folder (`None`: the shipped one), with its path.
    fn stanzas(&mut self, folder: Option<&Path>) -> Result<&[TransformStanza]> {
        let key = folder.map(Path::to_path_buf);
        if !self.by_folder.contains_key(&key) {
            let (text, origin) = transforms_text(folder)?;
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
        // an add-on's tables are in `lookups/` beside its `default/` folder
        if let Some(f) = folder.filter(|f| f.file_name().is_some_and(|n| n == "default")) {
            if let Some(addon) = f.parent() {
                dirs.push(addon.join("lookups"));
            }
        }
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
        let sel = k.selection(
            "aws:cloudtrail",
            "",
            "",
            Some(&HashSet::from(["user".to_string()])),
        );
        assert!(
            sel.lookups.is_empty(),
            "a query without lookup fields runs none"
        );
    }

    fn knowledge(text: &str) -> Knowledge {
        let mut k = Knowledge::default();
        k.add_text(text, "p.conf").unwrap();
        k.compile().unwrap();
        k
    }

    fn run(k: &Knowledge, st: &str, source: &str, host: &str, ev: &mut Event) {
        let sel = k.selection(st, source, host, None);
        k.apply_selected(ev, &sel).unwrap();
    }

    fn text(ev: &Event, f: &str) -> Option<String> {
        ev.get(f).map(|v| v.text().into_owned())
    }

    fn raw(r: &str) -> Event {
        let mut e = Event::new();
        e.set("_raw", crate::value::Value::str(r));
        e
    }

    #[test]
    fn source_beats_host_beats_sourcetype_for_the_same_setting() {
        let k = knowledge(
            "[st]\nEVAL-a = \"st\"\nEVAL-b = \"st\"\nEVAL-c = \"st\"\n\
             [host::web*]\nEVAL-a = \"host\"\nEVAL-b = \"host\"\n\
             [source::/var/.../x.log]\nEVAL-a = \"source\"\n\
             [default]\nEVAL-d = \"default\"\nEVAL-c = \"default\"\n",
        );
        let mut e = raw("x");
        run(&k, "st", "/var/log/app/x.log", "web01", &mut e);
        assert_eq!(text(&e, "a").as_deref(), Some("source"));
        assert_eq!(text(&e, "b").as_deref(), Some("host"));
        assert_eq!(text(&e, "c").as_deref(), Some("st"));
        assert_eq!(text(&e, "d").as_deref(), Some("default"));
        let mut e = raw("x");
        run(&k, "other", "/var/tmp/x.log", "db01", &mut e);
        assert_eq!(text(&e, "a").as_deref(), Some("source"));
        assert_eq!(text(&e, "b"), None);
        assert!(k.keys_on_source() && k.keys_on_host());
    }

    #[test]
    fn stanza_patterns_and_priority() {
        let p = |t: &str| Pattern::parse(t).unwrap();
        assert!(p("XmlWinEventLog:*").matches("XmlWinEventLog:Security"));
        assert!(
            !p("XmlWinEventLog:*").matches("XmlWinEventLog:Microsoft-Windows-Sysmon/Operational")
        );
        assert!(
            p("XmlWinEventLog:...").matches("XmlWinEventLog:Microsoft-Windows-Sysmon/Operational")
        );
        assert!(
            p(".../bar/*.log").matches("/a/b/bar/c.log")
                && !p(".../bar/*.log").matches("/bar/c/d.log")
        );
        assert!(
            !p("xmlwineventlog:*").matches("XmlWinEventLog:Security"),
            "case-sensitive"
        );
        assert!(Pattern::parse("...(gz|bz2)").is_err());
        // equal rank: a literal pattern (priority 100) beats a wildcard one; then the ASCII-first name;
        // an explicit priority beats both
        let k = knowledge(
            "[source::a...]\nEVAL-x = \"wild\"\n[source::abc]\nEVAL-x = \"literal\"\n\
             [source::...c]\nEVAL-y = \"dots-c\"\n[source::a*]\nEVAL-y = \"a-star\"\n\
             [source::*c]\nEVAL-z = \"first\"\n[source::ab*]\nEVAL-z = \"second\"\npriority = 200\n",
        );
        let mut e = raw("x");
        run(&k, "st", "abc", "h", &mut e);
        assert_eq!(text(&e, "x").as_deref(), Some("literal"));
        // `...c` < `a*` in ASCII order: the first wins
        assert_eq!(text(&e, "y").as_deref(), Some("dots-c"));
        assert_eq!(text(&e, "z").as_deref(), Some("second"));
    }

    #[test]
    fn sourcetype_stanzas_are_case_sensitive_and_rename_answers_to_the_new_name() {
        let k = knowledge(
            "[XmlWinEventLog]\nEVAL-a = \"upper\"\n[xmlwineventlog]\nEVAL-a = \"lower\"\n\
             [old]\nrename = xmlwineventlog\nEVAL-b = \"ignored\"\n",
        );
        let mut e = raw("x");
        run(&k, "XmlWinEventLog", "", "", &mut e);
        assert_eq!(text(&e, "a").as_deref(), Some("upper"));
        let sel = k.selection("old", "", "", None);
        assert_eq!(sel.renamed(), Some("xmlwineventlog"));
        let mut e = raw("x");
        k.apply_selected(&mut e, &sel).unwrap();
        assert_eq!(text(&e, "a").as_deref(), Some("lower"));
        assert_eq!(
            text(&e, "b"),
            None,
            "a renamed sourcetype uses the new name's knowledge only"
        );
    }

    #[test]
    fn extract_report_alias_eval_lookup_order() {
        let k = knowledge(
            "[st]\nEVAL-e = b . \"+\"\nFIELDALIAS-b = a AS b\n\
             EXTRACT-2late = v=(?<a>\\w+)\nEXTRACT-1early = v=(?<a>\\w)\n",
        );
        let mut e = raw("v=xyz");
        run(&k, "st", "", "", &mut e);
        // EXTRACT classes in ASCII order: 1early takes `a` first, and the first value wins
        assert_eq!(text(&e, "a").as_deref(), Some("x"));
        assert_eq!(
            text(&e, "b").as_deref(),
            Some("x"),
            "the alias sees the extraction"
        );
        assert_eq!(
            text(&e, "e").as_deref(),
            Some("x+"),
            "the EVAL sees the alias"
        );
        // only what a needed field comes from runs, and the extraction's source joins the needs
        let need = k.dependencies(&HashSet::from(["e".to_string()]));
        assert!(need.contains("_raw") && need.contains("a"), "{need:?}");
        let sel = k.selection("st", "", "", Some(&HashSet::from(["zzz".to_string()])));
        assert!(sel.extracts.is_empty() && sel.slotted.is_empty());
    }

    /// A field that one sourcetype's calculated field reads is not computed for another sourcetype's
    /// events whose own settings do not read it.
    #[test]
    fn each_kind_of_event_computes_only_what_its_own_settings_need() {
        let k = knowledge(
            "[win]\nEVAL-user = coalesce(src_user, \"-\")\n\n[aws]\nEVAL-user = lower(name)\nEVAL-src_user = upper(name)\n",
        );
        let wanted = HashSet::from(["user".to_string()]);
        let only = k.dependencies(&wanted);
        assert!(only.contains("src_user"), "{only:?}");
        let names = |st: &str| -> Vec<String> {
            k.selection_for(st, "", "", Some(&only), Some(&wanted))
                .slotted
                .iter()
                .map(|(f, _)| f.to_string())
                .collect()
        };
        assert_eq!(names("aws"), ["user"]);
        assert_eq!(names("win"), ["user"]);
        // without the query's own fields, all that `only` names
        let all: Vec<String> = k
            .selection("aws", "", "", Some(&only))
            .slotted
            .iter()
            .map(|(f, _)| f.to_string())
            .collect();
        assert_eq!(all.len(), 2, "{all:?}");
        // and the values are the same either way
        let mut a = Event::new();
        a.set("name", crate::value::Value::str("Bob"));
        let mut b = a.clone();
        k.apply_selected(
            &mut a,
            &k.selection_for("aws", "", "", Some(&only), Some(&wanted)),
        )
        .unwrap();
        k.apply_selected(&mut b, &k.selection("aws", "", "", Some(&only)))
            .unwrap();
        assert_eq!(text(&a, "user"), text(&b, "user"));
        assert_eq!(text(&a, "user").as_deref(), Some("bob"));
    }

    #[test]
    fn index_time_keys_are_accepted_and_unknown_search_time_keys_refused() {
        knowledge(
            "[st]\nSHOULD_LINEMERGE = false\nTRANSFORMS-x = y\nSEDCMD-a = s/a/b/\nKV_MODE = none\n",
        );
        for (bad, word) in [
            ("[st]\nKV_MODE = xml\n", "KV_MODE"),
            ("[st]\nAUTO_KV_JSON = false\n", "AUTO_KV_JSON"),
            ("[st]\nREPORT-x = nosuch\n", "nosuch"),
            ("[st]\nEXTRACT-x = (?<a>(\n", "p.conf:2"),
            ("[source::x]\nTIME_FIELD = t\n", "TIME_FIELD"),
        ] {
            let mut k = Knowledge::default();
            k.add_text(bad, "p.conf").unwrap();
            let m = k.compile().err().map(|e| e.message).unwrap_or_default();
            assert!(m.contains(word), "{bad}: {m}");
        }
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
