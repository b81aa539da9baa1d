//! Lookup tables: where a lookup name leads, and reading its CSV.
//!
//! A name is a lookup definition — security_content-style `*.yml` (`name`, `filename`) or a
//! `transforms.conf` stanza (`[name]` with `filename = x.csv`) — or a file name ending in `.csv`. Names are
//! resolved only inside the configured lookup folders (`--lookups DIR`, later folders first) and the
//! lookups shipped with spelunk: a name with a path separator, `..`, or an absolute path is refused, and so
//! is a file whose real path (after symlinks) leaves its folder.
//!
//! A CSV's header gives the field names; every row is a result; an empty cell means the field is absent.
//!
//! A definition that names a KV store `collection` instead of a `filename` (security_content ships its
//! baselines that way) is kept in the CSV file `<collection>.csv`: spelunk has no KV store, and a CSV
//! in the lookup folder holds the same rows between runs. The KV store's internal `_key` column is not kept.
//! When no folder holds that file, the collection is empty — what a Splunk install has before the search that
//! fills it (a baseline) has run — so a detection reading it finds no rows, as it would there.
//!
//! Writing (`outputlookup`) goes only into the last `--lookups DIR` given, through a temporary file in that
//! folder renamed over the table, so a run that fails half-way never leaves a torn table. The shipped
//! lookups are never written.

use crate::diag::{suggest, Diagnostic, Result};
use crate::event::{Event, Field};
use crate::value::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Lookup tables shipped with spelunk (`lookups/`), compiled in.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "previously_seen_provisioning_activity_src.csv",
        include_str!("../lookups/previously_seen_provisioning_activity_src.csv"),
    ),
    (
        "previously_seen_provisioning_activity_src.yml",
        include_str!("../lookups/previously_seen_provisioning_activity_src.yml"),
    ),
    (
        "previously_seen_ec2_amis.csv",
        include_str!("../lookups/previously_seen_ec2_amis.csv"),
    ),
    (
        "previously_seen_ec2_amis.yml",
        include_str!("../lookups/previously_seen_ec2_amis.yml"),
    ),
    (
        "previously_seen_ec2_instance_types.csv",
        include_str!("../lookups/previously_seen_ec2_instance_types.csv"),
    ),
    (
        "previously_seen_ec2_instance_types.yml",
        include_str!("../lookups/previously_seen_ec2_instance_types.yml"),
    ),
    (
        "previously_seen_ec2_launches_by_user.csv",
        include_str!("../lookups/previously_seen_ec2_launches_by_user.csv"),
    ),
    (
        "previously_seen_ec2_launches_by_user.yml",
        include_str!("../lookups/previously_seen_ec2_launches_by_user.yml"),
    ),
    (
        "previously_seen_users_console_logins_cloudtrail.csv",
        include_str!("../lookups/previously_seen_users_console_logins_cloudtrail.csv"),
    ),
    (
        "previously_seen_users_console_logins_cloudtrail.yml",
        include_str!("../lookups/previously_seen_users_console_logins_cloudtrail.yml"),
    ),
    (
        "asset_lookup_by_str.csv",
        include_str!("../lookups/asset_lookup_by_str.csv"),
    ),
    (
        "asset_lookup_by_str.yml",
        include_str!("../lookups/asset_lookup_by_str.yml"),
    ),
    (
        "previously_seen_aws_regions.csv",
        include_str!("../lookups/previously_seen_aws_regions.csv"),
    ),
    (
        "cim_dns_reply_code_lookup.csv",
        include_str!("../lookups/cim_dns_reply_code_lookup.csv"),
    ),
    (
        "cim_dns_reply_code_lookup.yml",
        include_str!("../lookups/cim_dns_reply_code_lookup.yml"),
    ),
    (
        "api_call_by_user_baseline.csv",
        include_str!("../lookups/api_call_by_user_baseline.csv"),
    ),
    (
        "api_call_by_user_baseline.yml",
        include_str!("../lookups/api_call_by_user_baseline.yml"),
    ),
    (
        "previously_seen_api_calls_from_user_roles.csv",
        include_str!("../lookups/previously_seen_api_calls_from_user_roles.csv"),
    ),
    (
        "previously_seen_api_calls_from_user_roles.yml",
        include_str!("../lookups/previously_seen_api_calls_from_user_roles.yml"),
    ),
    (
        "security_group_activity_baseline.csv",
        include_str!("../lookups/security_group_activity_baseline.csv"),
    ),
    (
        "security_group_activity_baseline.yml",
        include_str!("../lookups/security_group_activity_baseline.yml"),
    ),
    (
        "aws_service_accounts.csv",
        include_str!("../lookups/aws_service_accounts.csv"),
    ),
    (
        "aws_service_accounts.yml",
        include_str!("../lookups/aws_service_accounts.yml"),
    ),
    (
        "identity_lookup_expanded.csv",
        include_str!("../lookups/identity_lookup_expanded.csv"),
    ),
    (
        "identity_lookup_expanded.yml",
        include_str!("../lookups/identity_lookup_expanded.yml"),
    ),
];

#[derive(Clone, Debug)]
enum Table {
    File(PathBuf),
    Shipped(&'static str),
    /// A KV store collection with no rows yet.
    EmptyCollection,
}

#[derive(Clone, Debug)]
pub struct Definition {
    pub name: String,
    pub filename: String,
    pub origin: String,
    /// transforms.conf `case_sensitive_match` (default true).
    pub case_sensitive: bool,
    /// transforms.conf `max_matches` (default 1000 for a lookup that is not time-based).
    pub max_matches: usize,
    /// transforms.conf `min_matches` (default 0) and `default_match`: when an event matches fewer rows than
    /// `min_matches`, each output field gets `default_match`.
    pub min_matches: usize,
    pub default_match: Option<String>,
    /// transforms.conf `match_type = WILDCARD(field), ...`: the table columns whose cells may hold `*`.
    pub wildcard: Vec<String>,
    /// Settings the definition has that change how it matches and that spelunk does not do (a `CIDR`
    /// match type, a time-based lookup): the `lookup` command refuses such a definition.
    pub unsupported: Vec<String>,
    /// A KV store collection (kept as `<collection>.csv`): without that file it is empty.
    pub collection: bool,
}

impl Definition {
    fn new(name: String, filename: String, origin: &str) -> Definition {
        Definition {
            name,
            filename,
            origin: origin.to_string(),
            case_sensitive: true,
            max_matches: DEFAULT_MAX_MATCHES,
            min_matches: 0,
            default_match: None,
            wildcard: Vec::new(),
            unsupported: Vec::new(),
            collection: false,
        }
    }

    /// Apply one setting (a YAML key or a transforms.conf key); unknown keys are ignored.
    fn set(&mut self, key: &str, value: &str) {
        let v = value.trim();
        match key {
            "case_sensitive_match" => {
                if let Some(b) = crate::parse::parse_bool(v) {
                    self.case_sensitive = b;
                }
            }
            "max_matches" => {
                if let Ok(n) = v.parse::<usize>() {
                    self.max_matches = n.clamp(1, DEFAULT_MAX_MATCHES);
                }
            }
            "min_matches" => {
                if let Ok(n) = v.parse::<usize>() {
                    self.min_matches = n;
                }
            }
            "default_match" => self.default_match = Some(v.to_string()),
            "match_type" => match parse_match_type(v) {
                Ok(w) => self.wildcard = w,
                Err(m) => self.unsupported.push(format!("`match_type`: {m}")),
            },
            "time_field" if !v.is_empty() => self
                .unsupported
                .push("`time_field` (a time-based lookup) is not supported".to_string()),
            _ => {}
        }
    }
}

/// The settings of a lookup definition that [`Matcher`] acts on; [`strict_definition`] refuses any other.
pub const MATCHER_SETTINGS: &[&str] = &[
    "filename",
    "case_sensitive_match",
    "max_matches",
    "min_matches",
    "default_match",
    "match_type",
];

/// `WILDCARD(a), EXACT(b)` → the WILDCARD fields; any other match type is an error naming it.
pub fn parse_match_type(v: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    for spec in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((kind, rest)) = spec.split_once('(') else {
            return Err(format!("`{spec}` is not `TYPE(field)`"));
        };
        let Some(field) = rest.trim().strip_suffix(')') else {
            return Err(format!("`{spec}` is not `TYPE(field)`"));
        };
        match kind.trim().to_ascii_uppercase().as_str() {
            "WILDCARD" => out.push(field.trim().to_string()),
            "EXACT" => {}
            other => return Err(format!("match type `{other}` is not supported")),
        }
    }
    Ok(out)
}

/// A transforms.conf lookup stanza read strictly: every setting must be one spelunk acts on
/// ([`MATCHER_SETTINGS`]) with a value it understands, and the stanza must name its table with `filename`.
pub fn strict_definition(
    name: &str,
    keys: &[(String, String)],
    origin: &str,
) -> Result<Definition> {
    let refuse = |m: String| Diagnostic::new(format!("{origin}: lookup `[{name}]`: {m}"));
    let mut filename = None;
    for (k, v) in keys {
        if !MATCHER_SETTINGS.contains(&k.as_str()) {
            return Err(refuse(format!(
                "setting `{k}` is not supported (supported: {})",
                MATCHER_SETTINGS.join(", ")
            )));
        }
        let ok = match k.as_str() {
            "filename" => {
                filename = Some(v.clone());
                true
            }
            "case_sensitive_match" => crate::parse::parse_bool(v).is_some(),
            "max_matches" | "min_matches" => v.parse::<usize>().is_ok(),
            "match_type" => {
                parse_match_type(v).map_err(|m| refuse(format!("`match_type`: {m}")))?;
                true
            }
            _ => true,
        };
        if !ok {
            return Err(refuse(format!(
                "`{k} = {v}` is not a value spelunk understands"
            )));
        }
    }
    let Some(filename) = filename else {
        return Err(refuse(
            "no `filename`: only CSV table lookups are supported".to_string(),
        ));
    };
    let mut d = Definition::new(name.to_string(), filename, origin);
    for (k, v) in keys {
        d.set(k, v);
    }
    Ok(d)
}

/// The stanzas of a transforms.conf text, each with its settings in file order.
pub fn parse_transforms(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut stanzas: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') {
            continue;
        }
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            stanzas.push((name.trim().to_string(), Vec::new()));
        } else if let (Some((_, keys)), Some((k, v))) = (stanzas.last_mut(), t.split_once('=')) {
            keys.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    stanzas
}

/// Read the table `filename` from the first of `dirs` that holds it (a plain file name, confined to its
/// folder); `None` when none does.
pub fn read_table_in(dirs: &[PathBuf], filename: &str) -> Result<Option<Vec<Event>>> {
    check_name(filename)?;
    for dir in dirs {
        let p = dir.join(filename);
        if p.is_file() {
            confined(dir, &p)?;
            let bytes = std::fs::read(&p).map_err(|e| {
                Diagnostic::new(format!("cannot read lookup `{}`: {e}", p.display()))
            })?;
            return read_csv(&bytes, &p.display().to_string()).map(Some);
        }
    }
    Ok(None)
}

/// Splunk's `max_matches` for a lookup that is not time-based (transforms.conf.spec).
pub const DEFAULT_MAX_MATCHES: usize = 1000;

/// How `outputlookup` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteOptions {
    /// Add the rows after the table's rows instead of replacing them.
    pub append: bool,
    /// With no rows: create an empty table when there is none.
    pub create_empty: bool,
    /// With no rows: empty an existing table (else leave it as it is).
    pub override_if_empty: bool,
}

/// What a write did, for messages and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Written {
    Rows(usize),
    /// No rows, and the table was left as it was (or not created).
    Untouched,
}

/// The lookup folders and definitions of a session.
#[derive(Clone, Debug, Default)]
pub struct Lookups {
    /// User folders, in the order given (a later folder wins).
    dirs: Vec<PathBuf>,
    /// The folder `outputlookup` writes into: the last one added with [`Lookups::add_dir`] (not one
    /// added with [`Lookups::add_read_only_dir`], such as a security_content checkout's).
    writable: Option<PathBuf>,
    definitions: BTreeMap<String, Definition>,
}

#[derive(serde::Deserialize)]
struct YamlDef {
    name: Option<String>,
    filename: Option<String>,
    collection: Option<String>,
    case_sensitive_match: Option<Scalar>,
    max_matches: Option<Scalar>,
    min_matches: Option<Scalar>,
    default_match: Option<Scalar>,
    match_type: Option<Scalar>,
    time_field: Option<Scalar>,
}

/// A YAML scalar whatever its type (`'false'`, `false` and `1` are all written in the corpus).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(n) => n.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Text(t) => t.clone(),
        }
    }
}

impl Lookups {
    /// The shipped lookups only.
    pub fn shipped() -> Lookups {
        let mut l = Lookups::default();
        for (file, text) in SHIPPED {
            if file.ends_with(".yml") {
                let _ = l.add_yaml_definition(text, &format!("shipped lookups/{file}"));
            }
        }
        l
    }

    /// Add a lookup folder: its `*.yml` definitions and `transforms.conf` are read now, its CSV files when used.
    pub fn add_dir(&mut self, dir: &Path) -> Result<()> {
        if !dir.is_dir() {
            return Err(Diagnostic::new(format!(
                "--lookups `{}` is not a folder",
                dir.display()
            )));
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Diagnostic::new(format!("cannot read `{}`: {e}", dir.display())))?
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.ends_with(".yml") || name.ends_with(".yaml") {
                if let Ok(text) = std::fs::read_to_string(&p) {
                    // a YAML file that is not a lookup definition is not an error
                    let _ = self.add_yaml_definition(&text, &p.display().to_string());
                }
            } else if name == "transforms.conf" {
                let text = std::fs::read_to_string(&p)
                    .map_err(|e| Diagnostic::new(format!("cannot read `{}`: {e}", p.display())))?;
                self.add_transforms(&text, &p.display().to_string());
            }
        }
        self.dirs.push(dir.to_path_buf());
        self.writable = Some(dir.to_path_buf());
        Ok(())
    }

    /// Add a folder to read lookups from that `outputlookup` never writes into (`--content`'s `lookups/`).
    pub fn add_read_only_dir(&mut self, dir: &Path) -> Result<()> {
        let writable = self.writable.clone();
        self.add_dir(dir)?;
        self.writable = writable;
        Ok(())
    }

    fn add_yaml_definition(&mut self, text: &str, origin: &str) -> Result<()> {
        let def: YamlDef =
            serde_saphyr::from_str(text).map_err(|e| Diagnostic::new(format!("{origin}: {e}")))?;
        let collection = def.filename.is_none() && def.collection.is_some();
        let filename = def
            .filename
            .or_else(|| def.collection.map(|c| format!("{c}.csv")));
        if let (Some(name), Some(filename)) = (def.name, filename) {
            let mut d = Definition::new(name.clone(), filename, origin);
            d.collection = collection;
            for (k, v) in [
                ("case_sensitive_match", &def.case_sensitive_match),
                ("max_matches", &def.max_matches),
                ("min_matches", &def.min_matches),
                ("default_match", &def.default_match),
                ("match_type", &def.match_type),
                ("time_field", &def.time_field),
            ] {
                if let Some(v) = v {
                    d.set(k, &v.text());
                }
            }
            self.definitions.insert(name, d);
        }
        Ok(())
    }

    fn add_transforms(&mut self, text: &str, origin: &str) {
        // settings are gathered per stanza; a stanza becomes a definition once it names its table
        let stanzas = parse_transforms(text);
        for (name, keys) in stanzas {
            let table = keys.iter().find_map(|(k, v)| match k.as_str() {
                "filename" => Some(v.clone()),
                "collection" => Some(format!("{v}.csv")),
                _ => None,
            });
            let Some(filename) = table else { continue };
            let mut d = Definition::new(name.clone(), filename, origin);
            d.collection = !keys.iter().any(|(k, _)| k == "filename");
            for (k, v) in &keys {
                d.set(k, v);
            }
            self.definitions.insert(name, d);
        }
    }

    /// The definition of a lookup name, if it has one (a bare `.csv` name has none).
    pub fn definition(&self, name: &str) -> Option<&Definition> {
        self.definitions.get(name)
    }

    /// Whether a lookup name leads to a table that exists.
    pub fn exists(&self, name: &str) -> bool {
        self.resolve(name).is_ok()
    }

    /// The lookup folders given, in the order a table is looked for (the last one given first).
    pub fn dirs(&self) -> Vec<PathBuf> {
        self.dirs.iter().rev().cloned().collect()
    }

    /// The lookup definitions read (`.yml` and `transforms.conf`), by name.
    pub fn definitions(&self) -> impl Iterator<Item = &Definition> {
        self.definitions.values()
    }

    /// Lookup names known (definitions and CSV files), for completion and `.lookups`.
    pub fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = self.definitions.keys().cloned().collect();
        for d in &self.dirs {
            if let Ok(rd) = std::fs::read_dir(d) {
                for e in rd.flatten() {
                    let n = e.file_name().to_string_lossy().into_owned();
                    if n.ends_with(".csv") {
                        out.push(n);
                    }
                }
            }
        }
        for (f, _) in SHIPPED {
            if f.ends_with(".csv") {
                out.push(f.to_string());
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Find the table a lookup name means.
    fn resolve(&self, name: &str) -> Result<Table> {
        check_name(name)?;
        let filename = match self.definitions.get(name) {
            Some(d) => {
                check_name(&d.filename)?;
                d.filename.clone()
            }
            None if name.ends_with(".csv") => name.to_string(),
            None => {
                let names = self.names();
                let mut d = Diagnostic::new(format!("unknown lookup `{name}`"));
                if let Some(s) = suggest(name, names.iter().map(String::as_str)) {
                    d.message.push_str(&format!(" (did you mean `{s}`?)"));
                }
                return Err(d.with_help(
                    "give the folder that holds it with --lookups DIR (a lookup definition .yml or transforms.conf, or NAME.csv)",
                ));
            }
        };
        for dir in self.dirs.iter().rev() {
            let p = dir.join(&filename);
            if p.is_file() {
                confined(dir, &p)?;
                return Ok(Table::File(p));
            }
        }
        if let Some((_, text)) = SHIPPED.iter().find(|(f, _)| *f == filename) {
            return Ok(Table::Shipped(text));
        }
        if self.definitions.get(name).is_some_and(|d| d.collection) {
            return Ok(Table::EmptyCollection);
        }
        Err(Diagnostic::new(format!(
            "missing lookup table `{filename}` for lookup `{name}`: not found in the lookup folders"
        ))
        .with_help("give the folder that holds it with --lookups DIR"))
    }

    /// Read a lookup's rows.
    pub fn read(&self, name: &str) -> Result<Vec<Event>> {
        match self.resolve(name)? {
            Table::File(p) => {
                let bytes = std::fs::read(&p).map_err(|e| {
                    Diagnostic::new(format!("cannot read lookup `{}`: {e}", p.display()))
                })?;
                read_csv(&bytes, &p.display().to_string())
            }
            Table::Shipped(text) => read_csv(text.as_bytes(), name),
            Table::EmptyCollection => Ok(Vec::new()),
        }
    }
}

impl Lookups {
    /// The file name a lookup name writes to: its definition's table, or the name itself when it ends in `.csv`.
    fn table_file(&self, name: &str) -> Result<String> {
        check_name(name)?;
        match self.definitions.get(name) {
            Some(d) => {
                check_name(&d.filename)?;
                Ok(d.filename.clone())
            }
            None if name.ends_with(".csv") => Ok(name.to_string()),
            None => {
                let names = self.names();
                let mut d = Diagnostic::new(format!(
                    "unknown lookup `{name}`: outputlookup writes a lookup definition's table or a file name ending in `.csv`"
                ));
                if let Some(s) = suggest(name, names.iter().map(String::as_str)) {
                    d.message.push_str(&format!(" (did you mean `{s}`?)"));
                }
                Err(d.with_help(format!("write `{name}.csv` to create a new table")))
            }
        }
    }

    /// Write rows to a lookup table in the last `--lookups DIR`. Columns are the rows' fields in the order
    /// they first appear (after the table's own columns when appending); a multivalue is written as its
    /// values joined by a line break, which is how it reads back.
    pub fn write(&self, name: &str, rows: &[Event], opts: WriteOptions) -> Result<Written> {
        let filename = self.table_file(name)?;
        let Some(dir) = self.writable.as_ref() else {
            return Err(Diagnostic::new(format!(
                "outputlookup `{name}`: there is no lookup folder to write to"
            ))
            .with_help(
                "give a folder with --lookups DIR: lookups are written only into the last folder given",
            ));
        };
        let target = dir.join(&filename);
        if target.exists() {
            confined(dir, &target)?;
        }
        let exists = target.is_file();
        if rows.is_empty() && !opts.append {
            // Search Reference, outputlookup: with no results, `override_if_empty=false` keeps the table;
            // `create_empty=false` creates none.
            if exists && !opts.override_if_empty {
                return Ok(Written::Untouched);
            }
            if !exists && !opts.create_empty {
                return Ok(Written::Untouched);
            }
        }
        let mut columns: Vec<String> = Vec::new();
        let mut old: Vec<Event> = Vec::new();
        if opts.append && exists {
            let bytes = std::fs::read(&target).map_err(|e| {
                Diagnostic::new(format!("cannot read lookup `{}`: {e}", target.display()))
            })?;
            let (header, rows) = read_csv_with_header(&bytes, &target.display().to_string())?;
            columns = header;
            old = rows;
        }
        if opts.append && rows.is_empty() {
            return Ok(Written::Untouched);
        }
        for r in rows {
            for k in r.names() {
                if !columns.iter().any(|c| c == k.as_ref()) {
                    columns.push(k.to_string());
                }
            }
        }
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        let io = |e: csv::Error| Diagnostic::new(format!("outputlookup `{name}`: {e}"));
        if !columns.is_empty() {
            w.write_record(&columns).map_err(io)?;
        }
        for r in old.iter().chain(rows) {
            let cells: Vec<String> = columns
                .iter()
                .map(|c| r.get(c).map(|v| v.to_string()).unwrap_or_default())
                .collect();
            w.write_record(&cells).map_err(io)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| Diagnostic::new(format!("outputlookup `{name}`: {e}")))?;
        write_atomic(dir, &filename, &bytes)?;
        Ok(Written::Rows(rows.len()))
    }
}

/// Write `bytes` to `dir/filename` through a temporary file in the same folder and a rename, so readers
/// see the old table or the new one, never a part.
fn write_atomic(dir: &Path, filename: &str, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let target = dir.join(filename);
    let tmp = dir.join(format!(".{filename}.{}.tmp", std::process::id()));
    let fail = |what: &str, e: std::io::Error| {
        Diagnostic::new(format!(
            "cannot write lookup `{}`: {what}: {e}",
            target.display()
        ))
    };
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(|e| fail("create", e))?;
        f.write_all(bytes).map_err(|e| fail("write", e))?;
        f.sync_all().map_err(|e| fail("sync", e))?;
        std::fs::rename(&tmp, &target).map_err(|e| fail("rename", e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A lookup name or file name must stay inside its folder.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.contains('/')
        || name.contains('\\')
        || name.contains("..")
        || Path::new(name).is_absolute()
        || name.contains('\0')
    {
        return Err(Diagnostic::new(format!(
            "lookup name `{name}` is refused: lookups are read only inside the configured lookup folders (no paths, no `..`)"
        )));
    }
    Ok(())
}

fn confined(dir: &Path, file: &Path) -> Result<()> {
    let (Ok(d), Ok(f)) = (dir.canonicalize(), file.canonicalize()) else {
        return Err(Diagnostic::new(format!(
            "cannot resolve lookup `{}`",
            file.display()
        )));
    };
    if !f.starts_with(&d) {
        return Err(Diagnostic::new(format!(
            "lookup `{}` is refused: it leads outside its lookup folder",
            file.display()
        )));
    }
    Ok(())
}

/// Parse CSV bytes into rows (header = field names; empty cells are absent fields; a BOM is ignored).
pub fn read_csv(bytes: &[u8], origin: &str) -> Result<Vec<Event>> {
    read_csv_with_header(bytes, origin).map(|(_, rows)| rows)
}

/// [`read_csv`], also giving the header's names. A cell holding line breaks is a multivalue (that is how
/// `outputlookup` writes one).
pub fn read_csv_with_header(bytes: &[u8], origin: &str) -> Result<(Vec<String>, Vec<Event>)> {
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header: Vec<Field> = rdr
        .headers()
        .map_err(|e| Diagnostic::new(format!("lookup `{origin}`: bad CSV header: {e}")))?
        .iter()
        .map(|h| Arc::from(h.trim()))
        .collect();
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec =
            rec.map_err(|e| Diagnostic::new(format!("lookup `{origin}`: row {}: {e}", i + 2)))?;
        let mut ev = Event::with_capacity(header.len());
        for (k, v) in header.iter().zip(rec.iter()) {
            if !v.is_empty() && !k.is_empty() && !ev.contains(k) {
                let value = if v.contains('\n') {
                    Value::multi(v.split('\n').map(Value::str).collect())
                } else {
                    Some(Value::str(v))
                };
                if let Some(value) = value {
                    ev.push(k.clone(), value);
                }
            }
        }
        rows.push(ev);
    }
    Ok((header.iter().map(|h| h.to_string()).collect(), rows))
}

/// One cell pattern of a table row: its text (lower-cased when the lookup ignores case), split at `*` when
/// the column is a WILDCARD one and the cell holds one.
#[derive(Clone, Debug)]
enum Pattern {
    Exact(String),
    Wild(Vec<String>),
}

impl Pattern {
    fn matches(&self, text: &str) -> bool {
        match self {
            Pattern::Exact(p) => p == text,
            Pattern::Wild(parts) => glob_parts(parts, text),
        }
    }
}

/// `parts` are the texts between `*`s (at least two: the pattern held a `*`).
fn glob_parts(parts: &[String], text: &str) -> bool {
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return true;
    };
    if text.len() < first.len() + last.len() || !text.starts_with(first.as_str()) {
        return false;
    }
    let Some(mut rest) = text.get(first.len()..text.len() - last.len()) else {
        return false;
    };
    if !text.ends_with(last.as_str()) {
        return false;
    }
    for mid in parts.iter().skip(1).take(parts.len().saturating_sub(2)) {
        if mid.is_empty() {
            continue;
        }
        match rest.find(mid.as_str()) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// A lookup table made ready to match events, as the `lookup` command and automatic lookups (`LOOKUP-`)
/// use it: a row matches when, for every match field, one of the event's values equals one of the row
/// cell's values (or fits it, for a `WILDCARD(...)` column; `*` stands for any text). Case counts unless
/// `case_sensitive_match = false`. Rows are taken in file order, up to `max_matches`; fewer than
/// `min_matches` give each output field `default_match`, when the definition has one. A table row with an
/// empty match cell matches nothing.
#[derive(Debug)]
pub struct Matcher {
    rows: Vec<Event>,
    /// (table column, event field) of each match field.
    inputs: Vec<(String, Field)>,
    /// (table column, event field) of each output field.
    outputs: Vec<(String, Field)>,
    only_new: bool,
    case_sensitive: bool,
    max_matches: usize,
    min_matches: usize,
    default_match: Option<Value>,
    /// Per row, per match field, the cell's patterns (empty for a row that matches nothing).
    patterns: Vec<Vec<Vec<Pattern>>>,
    /// Rows by the exact text of their first match cell.
    index: std::collections::HashMap<String, Vec<usize>>,
    /// Rows whose first match cell holds a wildcard: tried for every event.
    wild_rows: Vec<usize>,
}

impl Matcher {
    /// `outputs` empty means every column that is not matched on. `only_new` is OUTPUTNEW: an output field
    /// the event already has is kept; otherwise (OUTPUT) outputs replace, and no match removes them.
    pub fn new(
        rows: Vec<Event>,
        def: Option<&Definition>,
        inputs: Vec<(String, Field)>,
        outputs: Vec<(String, Field)>,
        only_new: bool,
    ) -> Matcher {
        let case_sensitive = def.is_none_or(|d| d.case_sensitive);
        let wild: Vec<bool> = inputs
            .iter()
            .map(|(col, _)| def.is_some_and(|d| d.wildcard.iter().any(|w| w == col)))
            .collect();
        let outputs = if outputs.is_empty() {
            let mut cols: Vec<(String, Field)> = Vec::new();
            for r in &rows {
                for k in r.names() {
                    if !inputs.iter().any(|(c, _)| c == k.as_ref())
                        && !cols.iter().any(|(c, _)| c == k.as_ref())
                    {
                        cols.push((k.to_string(), k.clone()));
                    }
                }
            }
            cols
        } else {
            outputs
        };
        let norm = |t: &str| {
            if case_sensitive {
                t.to_string()
            } else {
                t.to_lowercase()
            }
        };
        let mut patterns = Vec::with_capacity(rows.len());
        let mut index: std::collections::HashMap<String, Vec<usize>> = Default::default();
        let mut wild_rows = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            let mut per_input: Vec<Vec<Pattern>> = Vec::with_capacity(inputs.len());
            for (j, (col, _)) in inputs.iter().enumerate() {
                let Some(v) = r.get(col) else {
                    per_input.clear();
                    break;
                };
                let pats = v
                    .values()
                    .iter()
                    .map(|x| {
                        let t = norm(&x.text());
                        if wild.get(j) == Some(&true) && t.contains('*') {
                            Pattern::Wild(t.split('*').map(str::to_string).collect())
                        } else {
                            Pattern::Exact(t)
                        }
                    })
                    .collect();
                per_input.push(pats);
            }
            if let Some(first) = per_input.first() {
                for p in first {
                    match p {
                        Pattern::Exact(t) => {
                            let e = index.entry(t.clone()).or_default();
                            if e.last() != Some(&i) {
                                e.push(i);
                            }
                        }
                        Pattern::Wild(_) => {
                            if wild_rows.last() != Some(&i) {
                                wild_rows.push(i);
                            }
                        }
                    }
                }
            }
            patterns.push(per_input);
        }
        Matcher {
            max_matches: def.map_or(DEFAULT_MAX_MATCHES, |d| d.max_matches),
            min_matches: def.map_or(0, |d| d.min_matches),
            default_match: def.and_then(|d| d.default_match.as_deref().map(Value::str)),
            rows,
            inputs,
            outputs,
            only_new,
            case_sensitive,
            patterns,
            index,
            wild_rows,
        }
    }

    /// The event fields matched on.
    pub fn input_fields(&self) -> impl Iterator<Item = &Field> {
        self.inputs.iter().map(|(_, f)| f)
    }

    /// The event fields written.
    pub fn output_fields(&self) -> impl Iterator<Item = &Field> {
        self.outputs.iter().map(|(_, f)| f)
    }

    /// The table rows an event matches, in file order, at most `max_matches`.
    pub fn find(&self, ev: &Event) -> Vec<usize> {
        let mut texts: Vec<Vec<String>> = Vec::with_capacity(self.inputs.len());
        for (_, f) in &self.inputs {
            let Some(v) = ev.get(f) else {
                return Vec::new();
            };
            texts.push(
                v.values()
                    .iter()
                    .map(|x| {
                        if self.case_sensitive {
                            x.text().into_owned()
                        } else {
                            x.text().to_lowercase()
                        }
                    })
                    .collect(),
            );
        }
        let Some(first) = texts.first() else {
            return Vec::new();
        };
        let mut candidates: Vec<usize> = self.wild_rows.clone();
        for t in first {
            if let Some(rows) = self.index.get(t) {
                candidates.extend_from_slice(rows);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut found = Vec::new();
        for r in candidates {
            let Some(pats) = self.patterns.get(r) else {
                continue;
            };
            let all = pats.len() == texts.len()
                && pats
                    .iter()
                    .zip(&texts)
                    .all(|(ps, ts)| ts.iter().any(|t| ps.iter().any(|p| p.matches(t))));
            if all {
                found.push(r);
                if found.len() >= self.max_matches {
                    break;
                }
            }
        }
        found
    }

    /// Write the output fields of the rows `found` (from [`Matcher::find`]) into an event.
    pub fn apply(&self, ev: &mut Event, found: &[usize]) {
        let use_default = found.len() < self.min_matches && self.default_match.is_some();
        for (col, field) in &self.outputs {
            if self.only_new && ev.contains(field) {
                continue;
            }
            let value = if use_default {
                self.default_match.clone()
            } else {
                let vals: Vec<Value> = found
                    .iter()
                    .filter_map(|&i| self.rows.get(i).and_then(|r| r.get(col)))
                    .flat_map(|v| v.values().to_vec())
                    .collect();
                Value::multi(vals)
            };
            match value {
                Some(v) => ev.set(field.clone(), v),
                // OUTPUTNEW never removes; OUTPUT overwrites with nothing
                None if !self.only_new => {
                    ev.remove(field);
                }
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_tables_are_empty_with_a_header() {
        let l = Lookups::shipped();
        assert_eq!(l.read("aws_service_accounts").unwrap().len(), 0);
        assert_eq!(l.read("identity_lookup_expanded.csv").unwrap().len(), 0);
    }

    #[test]
    fn paths_are_refused() {
        let l = Lookups::shipped();
        for bad in ["../x.csv", "/etc/passwd", "a/b.csv", "..", "a\\b.csv"] {
            let e = l.read(bad).unwrap_err();
            assert!(e.message.contains("refused"), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn unknown_lookup_is_named() {
        let e = Lookups::shipped().read("aws_service_acounts").unwrap_err();
        assert!(e.message.contains("unknown lookup `aws_service_acounts`"));
        assert!(e.message.contains("aws_service_accounts"));
    }

    fn ev(pairs: &[(&str, &str)]) -> Event {
        let mut e = Event::with_capacity(pairs.len());
        for (k, v) in pairs {
            e.set(*k, Value::str(v));
        }
        e
    }

    fn def(keys: &[(&str, &str)]) -> Definition {
        let keys: Vec<(String, String)> = keys
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        strict_definition("t", &keys, "test").unwrap()
    }

    #[test]
    fn wildcard_rows_match_in_file_order() {
        let rows = read_csv(
            b"name,code,action\nLogin,success,ok\nLogin,*,bad\nGet*,*,read\nGetObject,*,\n",
            "t",
        )
        .unwrap();
        let d = def(&[
            ("filename", "t.csv"),
            ("match_type", "WILDCARD(name), WILDCARD(code)"),
            ("max_matches", "1"),
        ]);
        let m = Matcher::new(
            rows,
            Some(&d),
            vec![
                ("name".into(), "name".into()),
                ("code".into(), "code".into()),
            ],
            vec![("action".into(), "action".into())],
            true,
        );
        let run = |name: &str, code: &str| {
            let mut e = ev(&[("name", name), ("code", code)]);
            let f = m.find(&e);
            m.apply(&mut e, &f);
            e.get("action").map(|v| v.to_string())
        };
        assert_eq!(run("Login", "success").as_deref(), Some("ok"));
        assert_eq!(run("Login", "AccessDenied").as_deref(), Some("bad"));
        assert_eq!(run("GetUser", "success").as_deref(), Some("read"));
        // the first matching row wins even when a later, more exact row exists
        assert_eq!(run("GetObject", "success").as_deref(), Some("read"));
        assert_eq!(run("login", "success"), None, "case counts by default");
        assert_eq!(run("Put", "success"), None);
    }

    #[test]
    fn strict_definitions_name_what_they_refuse() {
        let keys = |k: &str, v: &str| {
            vec![
                ("filename".to_string(), "a.csv".to_string()),
                (k.to_string(), v.to_string()),
            ]
        };
        let e = strict_definition("t", &keys("time_field", "ts"), "o").unwrap_err();
        assert!(
            e.message.contains("setting `time_field` is not supported"),
            "{}",
            e.message
        );
        let e = strict_definition("t", &keys("match_type", "CIDR(ip)"), "o").unwrap_err();
        assert!(e.message.contains("match type `CIDR`"), "{}", e.message);
        let e = strict_definition(
            "t",
            &[("external_cmd".to_string(), "x.py".to_string())],
            "o",
        )
        .unwrap_err();
        assert!(e.message.contains("`external_cmd`"), "{}", e.message);
        assert!(glob_parts(&["a".into(), "".into()], "abc"));
        assert!(!glob_parts(&["ab".into(), "bc".into()], "abc"));
    }

    #[test]
    fn empty_cells_are_absent() {
        let rows = read_csv(b"\xEF\xBB\xBFa,b\n1,\n,2\n", "t").unwrap();
        assert_eq!(rows[0].get("a"), Some(&Value::str("1")));
        assert_eq!(rows[0].get("b"), None);
        assert_eq!(rows[1].get("a"), None);
    }
}
