//! `spelunk test`: regression tests of detections — run each test case's search over its event files and
//! compare the rows with what the case expects.
//!
//! ```text
//! spelunk test [PATH...] [--junit FILE] [--summary FILE] [--bless] [--content DIR] [--macros PATH]... [--lookups DIR]...
//!              [--attack-data DIR]
//! ```
//! A PATH is a test file or a folder of them (read recursively; YAML files without `tests:` are passed
//! over). A test file is YAML with the search and a `tests:` list, in the shape of a security_content
//! detection, so a detection file with its own `tests:` section is a test file as it stands:
//!
//! ```yaml
//! detection: ../../queries/detect_api_activity_from_users_without_mfa.spl   # or `search: <SPL text>`
//! lookups: [lookups]            # lookup folders; also `macros:`, `content:`, `now:`, `tz:` (paths relative to this file)
//! tests:
//! - name: flags bob
//!   attack_data:                # the event files, as security_content names them
//!   - data: ../../samples/cloudtrail      # a local path (file or folder), or a URL (see --attack-data)
//!     sourcetype: aws:cloudtrail
//!   rows: mfa_expected.csv      # exact rows: a CSV (as `spelunk run --format csv` prints) or a YAML list
//!   ordered: false              # rows compare in any order unless true
//!   count: 6                    # number of rows
//!   min_rows: 1                 # at least this many rows
//!   contains: [{user: bob}]     # rows that must be among the results (only the fields named)
//!   fields: [user, count]       # columns the results must have
//! ```
//! A test case may also set `macros`, `lookups`, `content`, `now`, `tz`. A case with none of `rows`, `count`,
//! `min_rows`, `contains`, `fields` expects at least one row, which is what security_content's "True
//! Positive Test" means. An `attack_data` entry's `source:` and `sourcetype:` are given to its events as
//! `--source` and `--sourcetype` give them (a declared `source` replaces the path, and the
//! `XmlWinEventLog:<Channel>` of Windows events).
//! A `data:` URL is looked up under `--attack-data DIR` (a local copy of splunk/attack_data: the URL's path
//! after `attack_data/master/`, else its file name); a case whose URL data is not there is skipped.
//!
//! Output: one line per case (`PASS`, `FAIL`, `ERROR`, `SKIP`, `BLESS`, with its time), what differs on
//! failure, then `N passed, N failed` (`, N skipped`, `, N blessed` when there were any; errors count as
//! failures). `--junit FILE` writes JUnit XML; `--summary FILE` a YAML
//! summary in the shape of contentctl's `test_results/summary.yml` (see [`summary_yaml`]). `--bless` writes the actual rows into the CSV file each case's
//! `rows:` names (inline expectations are left alone and reported). Exit status: 0 when no case failed or
//! errored, 1 otherwise, 2 when no test could be found or an option is wrong.

use crate::check::{collect_files, content_root_of, from_yaml, is_yaml, read_search_file};
use crate::input::DataArg;
use crate::output::{self, Format};
use crate::session::{Config, Session};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Options of `spelunk test`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TestArgs {
    /// Test files (a detection YAML with `tests:`, or a test suite) or folders of them (default: `tests/detections`).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a YAML summary in the shape of contentctl's test_results/summary.yml to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Write the actual rows as the new expectation into each case's `rows:` CSV file.
    #[arg(long)]
    pub bless: bool,
    /// A security_content checkout whose macros/ and lookups/ every case uses.
    #[arg(long, value_name = "DIR")]
    pub content: Option<PathBuf>,
    /// More macro definitions for every case; repeatable.
    #[arg(long, value_name = "PATH")]
    pub macros: Vec<PathBuf>,
    /// More lookup folders for every case; repeatable.
    #[arg(long, value_name = "DIR")]
    pub lookups: Vec<PathBuf>,
    /// A local copy of splunk/attack_data: where `data:` URLs are looked up.
    #[arg(long, value_name = "DIR")]
    pub attack_data: Option<PathBuf>,
}

/// How a case ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    Error,
    Skip,
    Bless,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Error => "ERROR",
            Status::Skip => "SKIP",
            Status::Bless => "BLESS",
        }
    }
}

/// The result of one test case.
#[derive(Clone, Debug)]
pub struct CaseResult {
    pub file: String,
    pub name: String,
    pub status: Status,
    /// Why it failed, errored, was skipped or blessed (lines).
    pub detail: Vec<String>,
    pub seconds: f64,
    /// The detection's `name:` (else the file's stem).
    pub detection: String,
    /// The case's `test_type:` (security_content: `unit`, `integration`), `unit` when absent.
    pub test_type: String,
    /// Rows the search gave, when it ran.
    pub result_count: Option<usize>,
}

/// A row as compared: field → its text as the CSV output prints it (absent fields left out).
type Row = BTreeMap<String, String>;

/// Expected rows: a CSV file's header and records, or YAML maps.
enum Rows {
    Csv {
        path: PathBuf,
        header: Vec<String>,
        rows: Vec<BTreeMap<String, String>>,
    },
    /// The CSV file named does not exist yet (`--bless` creates it).
    MissingCsv(PathBuf),
    Inline(Vec<BTreeMap<String, String>>),
}

#[derive(Default)]
struct Expect {
    count: Option<usize>,
    min_rows: Option<usize>,
    rows: Option<Rows>,
    ordered: bool,
    contains: Vec<BTreeMap<String, String>>,
    fields: Vec<String>,
}

/// Settings a test file gives to all its cases and a case may override.
#[derive(Clone, Default)]
struct Settings {
    macros: Vec<PathBuf>,
    lookups: Vec<PathBuf>,
    content: Option<PathBuf>,
    now: Option<f64>,
    tz: Option<String>,
}

const TEST_KEYS: &[&str] = &[
    "name",
    "attack_data",
    "count",
    "min_rows",
    "rows",
    "ordered",
    "contains",
    "fields",
    "macros",
    "lookups",
    "content",
    "now",
    "tz",
    // security_content keys spelunk has no use for
    "test_type",
    "description",
];

fn text_of(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Null => Some(String::new()),
        // a multivalue cell: its values one per line, as the CSV output writes them
        Json::Array(a) => Some(a.iter().filter_map(text_of).collect::<Vec<_>>().join("\n")),
        Json::Object(_) => None,
    }
}

/// A YAML list of paths, or one path, relative to `base`.
fn paths_of(v: Option<&Json>, base: &Path, key: &str) -> Result<Vec<PathBuf>, String> {
    match v {
        None => Ok(Vec::new()),
        Some(Json::String(s)) => Ok(vec![base.join(s)]),
        Some(Json::Array(a)) => a
            .iter()
            .map(|x| match x {
                Json::String(s) => Ok(base.join(s)),
                _ => Err(format!("`{key}` must list paths")),
            })
            .collect(),
        Some(_) => Err(format!("`{key}` must be a path or a list of paths")),
    }
}

fn row_maps(v: &Json, key: &str) -> Result<Vec<BTreeMap<String, String>>, String> {
    let Json::Array(items) = v else {
        return Err(format!(
            "`{key}` must be a list of rows (maps of field: value)"
        ));
    };
    items
        .iter()
        .map(|r| match r {
            Json::Object(m) => Ok(m
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), text_of(v)?)))
                .filter(|(_, v)| !v.is_empty())
                .collect()),
            _ => Err(format!("each row of `{key}` must be a map of field: value")),
        })
        .collect()
}

/// Read a CSV as spelunk prints it: header, then rows (empty cells are absent fields).
fn read_csv(bytes: &[u8]) -> Result<(Vec<String>, Vec<Row>), String> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(bytes);
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| format!("bad CSV header: {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| format!("CSV row {}: {e}", i + 2))?;
        rows.push(
            header
                .iter()
                .zip(rec.iter())
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
        );
    }
    Ok((header, rows))
}

fn parse_expect(t: &serde_json::Map<String, Json>, base: &Path) -> Result<Expect, String> {
    let mut e = Expect::default();
    let num = |k: &str| -> Result<Option<usize>, String> {
        match t.get(k) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(|n| Some(n as usize))
                .ok_or_else(|| format!("`{k}` must be a whole number")),
        }
    };
    e.count = num("count")?;
    e.min_rows = num("min_rows")?;
    e.ordered = match t.get("ordered") {
        None => false,
        Some(Json::Bool(b)) => *b,
        Some(_) => return Err("`ordered` must be true or false".into()),
    };
    e.rows = match t.get("rows") {
        None => None,
        Some(Json::String(f)) => {
            let path = base.join(f);
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let (header, rows) =
                        read_csv(&bytes).map_err(|m| format!("`{}`: {m}", path.display()))?;
                    Some(Rows::Csv { path, header, rows })
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Rows::MissingCsv(path)),
                Err(e) => return Err(format!("cannot read `{}`: {e}", path.display())),
            }
        }
        Some(v) => Some(Rows::Inline(row_maps(v, "rows")?)),
    };
    if let Some(v) = t.get("contains") {
        e.contains = row_maps(v, "contains")?;
    }
    if let Some(v) = t.get("fields") {
        e.fields = match v {
            Json::Array(a) => a.iter().filter_map(text_of).collect(),
            Json::String(s) => vec![s.clone()],
            _ => return Err("`fields` must be a list of field names".into()),
        };
    }
    if e.count.is_none()
        && e.min_rows.is_none()
        && e.rows.is_none()
        && e.contains.is_empty()
        && e.fields.is_empty()
    {
        // security_content's tests say only which data to run over: the detection must find something
        e.min_rows = Some(1);
    }
    Ok(e)
}

fn settings(
    m: &serde_json::Map<String, Json>,
    base: &Path,
    inherit: &Settings,
) -> Result<Settings, String> {
    let mut s = inherit.clone();
    s.macros.extend(paths_of(m.get("macros"), base, "macros")?);
    s.lookups
        .extend(paths_of(m.get("lookups"), base, "lookups")?);
    if let Some(c) = m.get("content") {
        s.content = Some(base.join(c.as_str().ok_or("`content` must be a path")?));
    }
    if let Some(n) = m.get("now") {
        s.now = Some(n.as_f64().ok_or("`now` must be epoch seconds")?);
    }
    if let Some(z) = m.get("tz") {
        s.tz = Some(
            z.as_str()
                .ok_or("`tz` must be a time zone name")?
                .to_string(),
        );
    }
    Ok(s)
}

/// Where a `data:` URL's file would be in a local copy of splunk/attack_data.
fn local_copy(url: &str, root: &Path) -> Option<PathBuf> {
    let path = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let rel = match path.split_once("/attack_data/master/") {
        Some((_, r)) => r.to_string(),
        None => path
            .split_once('/')
            .map(|(_, r)| r)
            .unwrap_or(path)
            .to_string(),
    };
    let candidates = [
        root.join(&rel),
        root.join(rel.rsplit('/').next().unwrap_or(&rel)),
    ];
    candidates.into_iter().find(|p| p.exists())
}

/// The path a `data:` URL is first looked for at in a local copy of splunk/attack_data.
fn local_candidate(url: &str, root: &Path) -> PathBuf {
    let path = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    match path.split_once("/attack_data/master/") {
        Some((_, r)) => root.join(r),
        None => root.join(path.rsplit('/').next().unwrap_or(path)),
    }
}

/// One case, ready to run (or already decided: skipped or erroring before it runs).
struct Case {
    file: String,
    name: String,
    detection: String,
    test_type: String,
    search: Result<String, String>,
    data: Result<Vec<DataArg>, (Status, String)>,
    settings: Settings,
    expect: Result<Expect, String>,
}

fn load_file(path: &Path, cli: &TestArgs, explicit: bool) -> Result<Vec<Case>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let doc: Json =
        from_yaml(&text).map_err(|e| format!("`{}` is not valid YAML: {e}", path.display()))?;
    let Some(top) = doc.as_object() else {
        return Err(format!(
            "`{}`: expected a map with `tests:`",
            path.display()
        ));
    };
    let tests = match top.get("tests") {
        Some(Json::Array(t)) if !t.is_empty() => t.clone(),
        _ if !explicit => return Ok(Vec::new()),
        _ => return Err(format!("`{}` has no `tests:` list", path.display())),
    };
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let file = path.display().to_string();
    let detection = top
        .get("name")
        .and_then(Json::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
    let search: Result<String, String> = match (top.get("search"), top.get("detection")) {
        (Some(Json::String(s)), _) => Ok(s.clone()),
        (_, Some(Json::String(d))) => read_search_file(&base.join(d)).map(|f| f.search),
        _ => Err(
            "the test file has neither `search:` nor `detection:` (a .spl or detection YAML path)"
                .into(),
        ),
    };
    let mut inherit = Settings {
        macros: cli.macros.clone(),
        lookups: cli.lookups.clone(),
        content: cli.content.clone(),
        ..Settings::default()
    };
    if inherit.content.is_none() && !top.contains_key("content") {
        // a detection inside a security_content checkout uses that checkout's macros and lookups
        inherit.content = content_root_of(path);
    }
    let file_settings = settings(top, &base, &inherit);
    let mut cases = Vec::new();
    for (i, t) in tests.iter().enumerate() {
        let m = t.as_object().cloned().unwrap_or_default();
        let name = m
            .get("name")
            .and_then(Json::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("#{}", i + 1));
        let unknown: Vec<&String> = m
            .keys()
            .filter(|k| !TEST_KEYS.contains(&k.as_str()))
            .collect();
        let expect = if !t.is_object() {
            Err("a test case must be a map".to_string())
        } else if let Some(k) = unknown.first() {
            let mut msg = format!("unknown key `{k}` in the test case");
            if let Some(s) = crate::diag::suggest(k, TEST_KEYS.iter().copied()) {
                msg.push_str(&format!(" (did you mean `{s}`?)"));
            }
            Err(msg)
        } else {
            parse_expect(&m, &base)
        };
        let case_settings = file_settings.clone().and_then(|s| settings(&m, &base, &s));
        let (case_settings, expect) = match case_settings {
            Ok(s) => (s, expect),
            Err(e) => (Settings::default(), Err(e)),
        };
        let data = case_data(&m, &base, cli);
        let test_type = m
            .get("test_type")
            .and_then(Json::as_str)
            .unwrap_or("unit")
            .to_string();
        cases.push(Case {
            file: file.clone(),
            name,
            detection: detection.clone(),
            test_type,
            search: search.clone(),
            data,
            settings: case_settings,
            expect,
        });
    }
    Ok(cases)
}

fn case_data(
    m: &serde_json::Map<String, Json>,
    base: &Path,
    cli: &TestArgs,
) -> Result<Vec<DataArg>, (Status, String)> {
    let Some(Json::Array(items)) = m.get("attack_data") else {
        return Err((
            Status::Error,
            "no `attack_data:` list (the event files to run over)".into(),
        ));
    };
    if items.is_empty() {
        return Err((Status::Error, "`attack_data:` is empty".into()));
    }
    let mut out = Vec::new();
    for it in items {
        let Some(data) = it.get("data").and_then(Json::as_str) else {
            return Err((
                Status::Error,
                "each `attack_data` entry needs `data:`".into(),
            ));
        };
        let data = data.trim();
        let sourcetype = it
            .get("sourcetype")
            .and_then(Json::as_str)
            .map(str::to_string);
        let source = it.get("source").and_then(Json::as_str).map(str::to_string);
        let path = if data.contains("://") {
            let found = cli.attack_data.as_deref().and_then(|r| local_copy(data, r));
            match found {
                Some(p) => p,
                None => {
                    return Err((
                        Status::Skip,
                        match &cli.attack_data {
                            Some(r) => format!(
                                "data not present locally: `{data}` is not under `{}` (looked for `{}`)",
                                r.display(),
                                local_candidate(data, r).display()
                            ),
                            None => format!(
                                "data not present locally: `{data}` (give --attack-data DIR, a local copy of splunk/attack_data)"
                            ),
                        },
                    ))
                }
            }
        } else {
            base.join(data)
        };
        out.push(DataArg {
            path: path.display().to_string(),
            sourcetype,
            source,
        });
    }
    Ok(out)
}

/// Rows as printed by `spelunk run --format csv`: the exact bytes, header and rows.
struct Actual {
    csv: Vec<u8>,
    header: Vec<String>,
    rows: Vec<BTreeMap<String, String>>,
}

fn run_case(case: &Case) -> Result<Actual, String> {
    let search = case.search.clone()?;
    let data = match &case.data {
        Ok(d) => d.clone(),
        Err((_, m)) => return Err(m.clone()),
    };
    let s = &case.settings;
    let tz = match &s.tz {
        Some(z) => Some(
            z.parse::<chrono_tz::Tz>()
                .map_err(|_| format!("unknown time zone `{z}`"))?,
        ),
        None => None,
    };
    let cfg = Config {
        data,
        macros: s.macros.clone(),
        lookups: s.lookups.clone(),
        content: s.content.clone(),
        tz,
        now: s.now,
        ..Config::default()
    };
    let session = Session::new(&cfg).map_err(|d| d.render(""))?;
    let out = session.run(&search).map_err(|e| e.render())?;
    let mut csv = Vec::new();
    output::render(
        &mut csv,
        &out.rows,
        &out.columns,
        Format::Csv,
        session.tz,
        None,
        None,
    )
    .map_err(|e| format!("cannot render rows: {e}"))?;
    let (header, rows) = if out.columns.is_empty() && out.rows.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        read_csv(&csv)?
    };
    Ok(Actual { csv, header, rows })
}

fn show_row(r: &BTreeMap<String, String>) -> String {
    let cells: Vec<String> = r
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace('\n', "|")))
        .collect();
    format!("{{{}}}", cells.join(", "))
}

/// What differs between expected and actual rows; empty when they agree.
fn diff_rows(
    expected: &[BTreeMap<String, String>],
    actual: &[BTreeMap<String, String>],
    ordered: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    if ordered {
        let n = expected.len().max(actual.len());
        for i in 0..n {
            match (expected.get(i), actual.get(i)) {
                (Some(e), Some(a)) if e == a => {}
                (e, a) => {
                    out.push(format!("row {} differs (order matters):", i + 1));
                    if let Some(e) = e {
                        out.push(format!("- {}", show_row(e)));
                    }
                    if let Some(a) = a {
                        out.push(format!("+ {}", show_row(a)));
                    }
                }
            }
        }
        return out;
    }
    let mut left: Vec<&BTreeMap<String, String>> = actual.iter().collect();
    let mut missing = Vec::new();
    for e in expected {
        match left.iter().position(|a| *a == e) {
            Some(i) => {
                left.remove(i);
            }
            None => missing.push(e),
        }
    }
    if missing.is_empty() && left.is_empty() {
        return out;
    }
    out.push(format!(
        "rows differ (in any order): {} expected row(s) missing (-), {} unexpected row(s) (+)",
        missing.len(),
        left.len()
    ));
    out.extend(missing.iter().map(|r| format!("- {}", show_row(r))));
    out.extend(left.iter().map(|r| format!("+ {}", show_row(r))));
    out
}

/// Compare; returns the failure lines (empty: pass).
fn compare(e: &Expect, a: &Actual) -> Vec<String> {
    let mut out = Vec::new();
    let n = a.rows.len();
    if let Some(c) = e.count {
        if n != c {
            out.push(format!("expected {c} row(s), got {n}"));
        }
    }
    if let Some(m) = e.min_rows {
        if n < m {
            out.push(format!("expected at least {m} row(s), got {n}"));
        }
    }
    for f in &e.fields {
        if !a.header.contains(f) {
            out.push(format!(
                "expected field `{f}` among the columns, got: {}",
                a.header.join(", ")
            ));
        }
    }
    for want in &e.contains {
        let found = a
            .rows
            .iter()
            .any(|r| want.iter().all(|(k, v)| r.get(k) == Some(v)));
        if !found {
            out.push(format!("expected a row containing {}", show_row(want)));
        }
    }
    match &e.rows {
        Some(Rows::Csv { header, rows, path }) => {
            if *header != a.header && !(rows.is_empty() && a.rows.is_empty()) {
                out.push(format!(
                    "columns differ from `{}`:\n- {}\n+ {}",
                    path.display(),
                    header.join(","),
                    a.header.join(",")
                ));
            }
            out.extend(diff_rows(rows, &a.rows, e.ordered));
        }
        Some(Rows::Inline(rows)) => out.extend(diff_rows(rows, &a.rows, e.ordered)),
        Some(Rows::MissingCsv(p)) => out.push(format!(
            "the expected rows file `{}` does not exist (run with --bless to create it)",
            p.display()
        )),
        None => {}
    }
    out
}

fn run_one(case: &Case, bless: bool) -> CaseResult {
    let start = Instant::now();
    let mut res = CaseResult {
        file: case.file.clone(),
        name: case.name.clone(),
        status: Status::Pass,
        detail: Vec::new(),
        seconds: 0.0,
        detection: case.detection.clone(),
        test_type: case.test_type.clone(),
        result_count: None,
    };
    let finish = |mut r: CaseResult, status: Status, detail: Vec<String>| {
        r.status = status;
        r.detail = detail;
        r.seconds = start.elapsed().as_secs_f64();
        r
    };
    if let Err((Status::Skip, why)) = &case.data {
        return finish(res, Status::Skip, vec![why.clone()]);
    }
    let expect = match &case.expect {
        Ok(e) => e,
        Err(m) => return finish(res, Status::Error, vec![m.clone()]),
    };
    let actual = match run_case(case) {
        Ok(a) => a,
        Err(m) => return finish(res, Status::Error, m.lines().map(str::to_string).collect()),
    };
    res.result_count = Some(actual.rows.len());
    let failures = compare(expect, &actual);
    if bless {
        if let Some(Rows::Csv { path, .. } | Rows::MissingCsv(path)) = &expect.rows {
            let rows_wrong = failures.iter().any(|f| {
                f.starts_with("rows differ")
                    || f.starts_with("row ")
                    || f.starts_with("columns differ")
                    || f.starts_with("the expected rows file")
            });
            if rows_wrong {
                return match std::fs::write(path, &actual.csv) {
                    Ok(()) => finish(
                        res,
                        Status::Bless,
                        vec![format!(
                            "wrote {} row(s) to `{}` as the new expectation",
                            actual.rows.len(),
                            path.display()
                        )],
                    ),
                    Err(e) => finish(
                        res,
                        Status::Error,
                        vec![format!("cannot write `{}`: {e}", path.display())],
                    ),
                };
            }
        } else if !failures.is_empty() {
            res.detail.push(
                "not blessed: this case's expectation is written in the test file (give `rows: FILE.csv` to let --bless write it)"
                    .into(),
            );
        }
    }
    if failures.is_empty() {
        let d = std::mem::take(&mut res.detail);
        finish(res, Status::Pass, d)
    } else {
        let mut d = failures;
        d.append(&mut res.detail);
        finish(res, Status::Fail, d)
    }
}

fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => o.push(c),
        }
    }
    o
}

/// JUnit XML: one `<testsuite>` per test file, one `<testcase>` per case.
pub fn junit(results: &[CaseResult]) -> String {
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    let total: f64 = results.iter().map(|r| r.seconds).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"spelunk\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{total:.3}\">\n",
        results.len(),
        count(Status::Fail),
        count(Status::Error),
        count(Status::Skip)
    ));
    let mut files: Vec<&str> = Vec::new();
    for r in results {
        if !files.contains(&r.file.as_str()) {
            files.push(&r.file);
        }
    }
    for f in files {
        let rs: Vec<&CaseResult> = results.iter().filter(|r| r.file == f).collect();
        let c = |s: Status| rs.iter().filter(|r| r.status == s).count();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">\n",
            xml_escape(f),
            rs.len(),
            c(Status::Fail),
            c(Status::Error),
            c(Status::Skip),
            rs.iter().map(|r| r.seconds).sum::<f64>()
        ));
        for r in rs {
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                xml_escape(f),
                xml_escape(&r.name),
                r.seconds
            ));
            let first = r.detail.first().map(String::as_str).unwrap_or("");
            let body = xml_escape(&r.detail.join("\n"));
            match r.status {
                Status::Pass | Status::Bless if r.detail.is_empty() => out.push_str("/>\n"),
                Status::Pass | Status::Bless => out.push_str(&format!(
                    ">\n      <system-out>{body}</system-out>\n    </testcase>\n"
                )),
                Status::Fail => out.push_str(&format!(
                    ">\n      <failure message=\"{}\">{body}</failure>\n    </testcase>\n",
                    xml_escape(first)
                )),
                Status::Error => out.push_str(&format!(
                    ">\n      <error message=\"{}\">{body}</error>\n    </testcase>\n",
                    xml_escape(first)
                )),
                Status::Skip => out.push_str(&format!(
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                    xml_escape(first)
                )),
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// A YAML scalar: quoted unless it is a plain word.
fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A summary in the shape of contentctl's `test_results/summary.yml`: a `summary:` block of counts and
/// `tested_detections:` with each detection's tests. A detection succeeds when none of its tests failed or
/// errored and at least one passed; one whose tests were all skipped is counted as skipped.
pub fn summary_yaml(results: &[CaseResult]) -> String {
    let mut detections: Vec<(&str, &str)> = Vec::new();
    for r in results {
        if !detections.contains(&(r.detection.as_str(), r.file.as_str())) {
            detections.push((&r.detection, &r.file));
        }
    }
    let bad = |r: &&CaseResult| matches!(r.status, Status::Fail | Status::Error);
    let good = |r: &&CaseResult| matches!(r.status, Status::Pass | Status::Bless);
    let (mut pass, mut fail, mut skip) = (0, 0, 0);
    for (d, f) in &detections {
        let rs: Vec<&CaseResult> = results
            .iter()
            .filter(|r| r.detection == *d && r.file == *f)
            .collect();
        if rs.iter().any(bad) {
            fail += 1;
        } else if rs.iter().any(good) {
            pass += 1;
        } else {
            skip += 1;
        }
    }
    let tested = pass + fail;
    let rate = if tested == 0 {
        0.0
    } else {
        100.0 * pass as f64 / tested as f64
    };
    let mut out = String::from("summary:\n");
    out.push_str("  mode: selected\n");
    out.push_str("  enable_integration_testing: false\n");
    out.push_str(&format!("  success: {}\n", fail == 0 && tested > 0));
    out.push_str(&format!("  total_detections: {}\n", detections.len()));
    out.push_str(&format!("  total_tested_detections: {tested}\n"));
    out.push_str(&format!("  total_pass: {pass}\n"));
    out.push_str(&format!("  total_fail: {fail}\n"));
    out.push_str(&format!("  total_skipped: {skip}\n"));
    out.push_str(&format!("  success_rate: {rate:.1}%\n"));
    out.push_str("tested_detections:\n");
    if detections.is_empty() {
        out.truncate(out.len() - 1);
        out.push_str(" []\n");
    }
    for (d, f) in &detections {
        out.push_str(&format!("- name: {}\n", yaml_str(d)));
        out.push_str(&format!("  path: {}\n", yaml_str(f)));
        out.push_str("  tests:\n");
        for r in results.iter().filter(|r| r.detection == *d && r.file == *f) {
            let message = match r.status {
                Status::Pass | Status::Bless if r.detail.is_empty() => "TEST PASSED".to_string(),
                _ => r.detail.join("\n"),
            };
            out.push_str(&format!("  - name: {}\n", yaml_str(&r.name)));
            out.push_str(&format!("    test_type: {}\n", yaml_str(&r.test_type)));
            out.push_str(&format!("    success: {}\n", good(&r)));
            out.push_str(&format!(
                "    status: {}\n",
                r.status.word().to_ascii_lowercase()
            ));
            out.push_str(&format!("    message: {}\n", yaml_str(&message)));
            out.push_str(&format!("    duration: {:.3}\n", r.seconds));
            match r.result_count {
                Some(n) => out.push_str(&format!("    resultCount: {n}\n")),
                None => out.push_str("    resultCount: null\n"),
            }
        }
    }
    out
}

/// `N passed, N failed[, N skipped][, N blessed]` (errors count as failures).
pub fn summary_line(results: &[CaseResult]) -> String {
    let c = |s: Status| results.iter().filter(|r| r.status == s).count();
    let mut line = format!(
        "{} passed, {} failed",
        c(Status::Pass),
        c(Status::Fail) + c(Status::Error)
    );
    if c(Status::Skip) > 0 {
        line.push_str(&format!(", {} skipped", c(Status::Skip)));
    }
    if c(Status::Bless) > 0 {
        line.push_str(&format!(", {} blessed", c(Status::Bless)));
    }
    line
}

/// Find and run the cases under `args.paths`, printing one line per case as it ends.
pub fn run(args: &TestArgs, print: &mut dyn FnMut(&CaseResult)) -> Result<Vec<CaseResult>, String> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("tests/detections")]
    } else {
        args.paths.clone()
    };
    let mut cases = Vec::new();
    for p in &paths {
        if !p.exists() {
            return Err(format!("`{}` does not exist", p.display()));
        }
        let mut files = Vec::new();
        collect_files(p, &|f| is_yaml(f), &mut files);
        for f in files {
            cases.extend(load_file(&f, args, p.is_file())?);
        }
    }
    if cases.is_empty() {
        return Err(format!(
            "no test cases found in {} (a test file is YAML with a `tests:` list)",
            paths
                .iter()
                .map(|p| format!("`{}`", p.display()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut results = Vec::new();
    for c in &cases {
        let r = run_one(c, args.bless);
        print(&r);
        results.push(r);
    }
    Ok(results)
}

pub fn render_result(r: &CaseResult) -> String {
    let mut s = format!(
        "{:<5} {} :: {} ({:.0} ms)\n",
        r.status.word(),
        r.file,
        r.name,
        r.seconds * 1000.0
    );
    for d in &r.detail {
        for line in d.lines() {
            s.push_str(&format!("      {line}\n"));
        }
    }
    s
}

/// `spelunk test`.
pub fn main(args: TestArgs) -> Result<ExitCode, String> {
    let results =
        run(&args, &mut |r| print!("{}", render_result(r))).map_err(|e| format!("error: {e}"))?;
    println!("{}", summary_line(&results));
    if let Some(path) = &args.junit {
        std::fs::write(path, junit(&results))
            .map_err(|e| format!("error: cannot write `{}`: {e}", path.display()))?;
    }
    if let Some(path) = &args.summary {
        std::fs::write(path, summary_yaml(&results))
            .map_err(|e| format!("error: cannot write `{}`: {e}", path.display()))?;
    }
    let bad = results
        .iter()
        .any(|r| matches!(r.status, Status::Fail | Status::Error));
    Ok(if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn rows_compare_in_any_order_unless_ordered() {
        let a = [row(&[("u", "a")]), row(&[("u", "b")])];
        let b = [row(&[("u", "b")]), row(&[("u", "a")])];
        assert!(diff_rows(&a, &b, false).is_empty());
        assert!(!diff_rows(&a, &b, true).is_empty());
        let d = diff_rows(&a, &[row(&[("u", "a")]), row(&[("u", "c")])], false);
        assert_eq!(d[1], "- {u=b}");
        assert_eq!(d[2], "+ {u=c}");
    }

    #[test]
    fn urls_map_into_a_local_attack_data_copy() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("datasets/x/y.log");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "").unwrap();
        let url =
            "https://media.githubusercontent.com/media/splunk/attack_data/master/datasets/x/y.log";
        assert_eq!(local_copy(url, dir.path()), Some(p));
        assert_eq!(local_copy("https://example.com/z.log", dir.path()), None);
    }

    #[test]
    fn junit_escapes_and_counts() {
        let r = CaseResult {
            file: "a&b.yml".into(),
            name: "<x>".into(),
            status: Status::Fail,
            detail: vec!["expected 1 row(s), got 2".into()],
            seconds: 0.5,
            detection: "d".into(),
            test_type: "unit".into(),
            result_count: Some(2),
        };
        let x = junit(&[r]);
        assert!(x.contains("failures=\"1\""));
        assert!(x.contains("name=\"&lt;x&gt;\""));
        assert!(x.contains("<failure message=\"expected 1 row(s), got 2\">"));
    }
}
