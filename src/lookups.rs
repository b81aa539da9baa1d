//! Lookup tables: where a lookup name leads, and reading its CSV.
//!
//! A name is a lookup definition — security_content-style `*.yml` (`name`, `filename`) or a
//! `transforms.conf` stanza (`[name]` with `filename = x.csv`) — or a file name ending in `.csv`. Names are
//! resolved only inside the configured lookup folders (`--lookups DIR`, later folders first) and the
//! lookups shipped with spelunk: a name with a path separator, `..`, or an absolute path is refused, and so
//! is a file whose real path (after symlinks) leaves its folder.
//!
//! A CSV's header gives the field names; every row is a result; an empty cell means the field is absent.

use crate::diag::{suggest, Diagnostic, Result};
use crate::event::{Event, Field};
use crate::value::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Lookup tables shipped with spelunk (`lookups/`), compiled in.
pub const SHIPPED: &[(&str, &str)] = &[
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
}

#[derive(Clone, Debug)]
pub struct Definition {
    pub name: String,
    pub filename: String,
    pub origin: String,
}

/// The lookup folders and definitions of a session.
#[derive(Clone, Debug, Default)]
pub struct Lookups {
    /// User folders, in the order given (a later folder wins).
    dirs: Vec<PathBuf>,
    definitions: BTreeMap<String, Definition>,
}

#[derive(serde::Deserialize)]
struct YamlDef {
    name: Option<String>,
    filename: Option<String>,
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
        Ok(())
    }

    fn add_yaml_definition(&mut self, text: &str, origin: &str) -> Result<()> {
        let def: YamlDef =
            serde_saphyr::from_str(text).map_err(|e| Diagnostic::new(format!("{origin}: {e}")))?;
        if let (Some(name), Some(filename)) = (def.name, def.filename) {
            self.definitions.insert(
                name.clone(),
                Definition {
                    name,
                    filename,
                    origin: origin.to_string(),
                },
            );
        }
        Ok(())
    }

    fn add_transforms(&mut self, text: &str, origin: &str) {
        let mut current: Option<String> = None;
        for line in text.lines() {
            let t = line.trim();
            if t.starts_with('[') && t.ends_with(']') {
                current = Some(t[1..t.len() - 1].trim().to_string());
            } else if let (Some(name), Some((k, v))) = (&current, t.split_once('=')) {
                if k.trim() == "filename" {
                    self.definitions.insert(
                        name.clone(),
                        Definition {
                            name: name.clone(),
                            filename: v.trim().to_string(),
                            origin: origin.to_string(),
                        },
                    );
                }
            }
        }
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
        }
    }
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
                ev.push(k.clone(), Value::str(v));
            }
        }
        rows.push(ev);
    }
    Ok(rows)
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

    #[test]
    fn empty_cells_are_absent() {
        let rows = read_csv(b"\xEF\xBB\xBFa,b\n1,\n,2\n", "t").unwrap();
        assert_eq!(rows[0].get("a"), Some(&Value::str("1")));
        assert_eq!(rows[0].get("b"), None);
        assert_eq!(rows[1].get("a"), None);
    }
}
