//! `spelunk check`: what each detection needs, found without running it.
//!
//! ```text
//! spelunk check [PATH...] [--content DIR] [--macros PATH]... [--lookups DIR]... [--format text|json]
//! ```
//! A PATH is a detection YAML (its `search` key), a `.spl` file, or a folder of them (read recursively).
//! Each search is macro-expanded (an unknown macro expands to nothing and is reported, so the rest is still
//! checked; `*_filter` macros without a definition are empty, as everywhere) and parsed whole, sub-pipelines
//! of `append`/`join`/`appendpipe`... included. Then the pipeline is walked for the commands it uses (those
//! spelunk cannot run yet are reported), the eval functions (`eval`, `where`), the lookups
//! (`lookup`/`inputlookup`: present or missing in the configured lookup folders) and the data models
//! (`tstats ... from datamodel=X`, `| datamodel X Y`, `| from datamodel:X`).
//!
//! Positions are `line:col` in the search text as written (for text that came from a macro: the macro's
//! call). A detection is *parsed* when its whole pipeline parses, *runnable* when it parsed and has no
//! problem at all (unsupported piece, unknown macro, missing lookup). Without `--content`, a PATH inside a
//! security_content checkout (a folder with `detections/` and `macros/`) uses that checkout's macros and
//! lookups. Exit status: 0 when every detection is runnable, 1 when some are not, 2 on a usage error.

use crate::commands::{Command, RefusalKind};
use crate::diag::{line_col, Span};
use crate::eval::Expr;
use crate::lookups::Lookups;
use crate::macros::{self, Expansion, MacroLibrary};
use crate::parse::{self, Pipeline};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Options of `spelunk check`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CheckArgs {
    /// Detection YAML files, `.spl` files, or folders of them (default: with `--content`, its `detections/`
    /// and `baselines/`; otherwise the current folder).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// A security_content checkout: its macros/ and lookups/ (default: the checkout a PATH lies in, if any).
    #[arg(long, value_name = "DIR")]
    pub content: Option<PathBuf>,
    /// More macro definitions (macros.conf, macro .yml, or a folder); repeatable, later wins.
    #[arg(long, value_name = "PATH")]
    pub macros: Vec<PathBuf>,
    /// More lookup folders; repeatable.
    #[arg(long, value_name = "DIR")]
    pub lookups: Vec<PathBuf>,
    /// `text` (default) or `json`.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
    /// Print only the detections that have problems (and the summary).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Event files or folders: each detection's data sources are looked for in them; repeatable.
    #[arg(long, value_name = "PATH")]
    pub data: Vec<String>,
}

/// A search read from a detection file.
#[derive(Clone, Debug)]
pub struct SearchFile {
    pub path: PathBuf,
    /// The detection's `name` (YAML), or the file stem.
    pub name: String,
    pub search: String,
    /// The detection's `data_source:` entries.
    pub data_sources: Vec<String>,
}

/// The keys of a detection YAML that spelunk reads.
#[derive(serde::Deserialize)]
struct DetectionYaml {
    name: Option<String>,
    search: Option<String>,
    data_source: Option<Vec<String>>,
}

/// Parse YAML, retrying with indented continuation lines as the macro loader does (security_content has
/// quoted multi-line values whose continuation lines start in column 0, which PyYAML accepts).
pub fn from_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    match serde_saphyr::from_str::<T>(text) {
        Ok(v) => Ok(v),
        Err(first) => serde_saphyr::from_str::<T>(&macros::indent_quoted_continuations(text))
            .map_err(|_| first.to_string().lines().next().unwrap_or("").to_string()),
    }
}

/// Read the search of a detection YAML (`search` key) or a `.spl` file.
pub fn read_search_file(path: &Path) -> Result<SearchFile, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if is_yaml(path) {
        let det: DetectionYaml =
            from_yaml(&text).map_err(|e| format!("`{}` is not valid YAML: {e}", path.display()))?;
        let search = det
            .search
            .ok_or_else(|| format!("`{}` has no `search` key", path.display()))?;
        Ok(SearchFile {
            path: path.to_path_buf(),
            name: det.name.unwrap_or(stem),
            search,
            data_sources: det.data_source.unwrap_or_default(),
        })
    } else {
        Ok(SearchFile {
            path: path.to_path_buf(),
            name: stem,
            search: text,
            data_sources: Vec::new(),
        })
    }
}

pub(crate) fn is_yaml(p: &Path) -> bool {
    p.extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("yml") || x.eq_ignore_ascii_case("yaml"))
}

fn is_spl(p: &Path) -> bool {
    p.extension().is_some_and(|x| x.eq_ignore_ascii_case("spl"))
}

/// Files under `path` (itself when a file) whose name satisfies `keep`, sorted; at most 32 folders deep.
pub(crate) fn collect_files(path: &Path, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    fn walk(dir: &Path, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>, depth: usize) {
        if depth > 32 {
            return;
        }
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, keep, out, depth + 1);
            } else if keep(&p) {
                out.push(p);
            }
        }
    }
    if path.is_dir() {
        walk(path, keep, out, 0);
    } else {
        out.push(path.to_path_buf());
    }
}

/// The security_content checkout `path` lies in: the nearest folder at or above it with `detections/` and
/// `macros/`.
pub fn content_root_of(path: &Path) -> Option<PathBuf> {
    let abs = path.canonicalize().ok()?;
    abs.ancestors()
        .find(|a| a.join("detections").is_dir() && a.join("macros").is_dir())
        .map(Path::to_path_buf)
}

/// What a check runs against: macros and lookups.
pub struct Knowledge {
    pub macros: MacroLibrary,
    pub lookups: Lookups,
    /// Whether each lookup name asked about so far can be read.
    present: std::sync::Mutex<BTreeMap<String, bool>>,
}

impl Knowledge {
    /// Whether the lookup `name` leads to a table that can be read (each name is tried once).
    pub fn lookup_present(&self, name: &str) -> bool {
        if let Ok(seen) = self.present.lock() {
            if let Some(p) = seen.get(name) {
                return *p;
            }
        }
        let p = self.lookups.read(name).is_ok();
        if let Ok(mut seen) = self.present.lock() {
            seen.insert(name.to_string(), p);
        }
        p
    }
}

impl Knowledge {
    /// The shipped macros and lookups, then a checkout's, then the given ones (later wins).
    pub fn load(
        content: Option<&Path>,
        macro_paths: &[PathBuf],
        lookup_dirs: &[PathBuf],
    ) -> Result<Knowledge, String> {
        let mut macros = MacroLibrary::new();
        macros
            .load_conf_str(
                crate::session::SHIPPED_MACROS,
                "shipped queries/macros.conf",
            )
            .map_err(|e| e.message)?;
        let mut lookups = Lookups::shipped();
        if let Some(dir) = content {
            if !dir.is_dir() {
                return Err(format!(
                    "--content `{}` is not a folder (expected a security_content checkout)",
                    dir.display()
                ));
            }
            if dir.join("macros").is_dir() {
                macros
                    .load_path(&dir.join("macros"))
                    .map_err(|e| e.message)?;
            }
            if dir.join("lookups").is_dir() {
                lookups
                    .add_dir(&dir.join("lookups"))
                    .map_err(|d| d.message)?;
            }
        }
        for p in macro_paths {
            macros
                .load_path(p)
                .map_err(|e| format!("--macros `{}`: {}", p.display(), e.message))?;
        }
        for d in lookup_dirs {
            lookups.add_dir(d).map_err(|d| d.message)?;
        }
        Ok(Knowledge {
            macros,
            lookups,
            present: Default::default(),
        })
    }
}

/// What kind of problem a detection has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The file cannot be read or has no search.
    File,
    /// Macro expansion failed (wrong argument count, cycle ...).
    Macro,
    UnknownMacro,
    /// The search does not parse.
    Parse,
    UnsupportedCommand,
    UnsupportedFunction,
    /// A feature of an argument that spelunk cannot run (a PCRE-only regex construct).
    UnsupportedFeature,
    MissingLookup,
    /// Legal but suspicious (a warning).
    Suspicious,
}

#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The command, function, macro or lookup concerned (empty for file and parse errors).
    pub name: String,
    pub message: String,
    /// 1-based position in the search text; 0 when the problem is not at a place.
    pub line: usize,
    pub col: usize,
}

impl Problem {
    pub fn render(&self) -> String {
        if self.line == 0 {
            self.message.clone()
        } else {
            format!("{} at {}:{}", self.message, self.line, self.col)
        }
    }
}

/// A data source a detection names.
#[derive(Clone, Debug, Serialize)]
pub struct DataSourceUse {
    pub name: String,
    /// Its events as search terms; `None` when spelunk does not know the name.
    pub search: Option<String>,
    /// Events of it in the `--data` (`None` without `--data`, or when the name is unknown).
    pub events: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LookupUse {
    pub name: String,
    pub command: String,
    pub present: bool,
}

/// The check of one detection.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub path: String,
    pub name: String,
    pub parsed: bool,
    pub runnable: bool,
    pub problems: Vec<Problem>,
    /// Commands used, each once, in order of first use.
    pub commands: Vec<String>,
    /// Eval functions used, each once.
    pub functions: Vec<String>,
    /// Macros expanded.
    pub macros: Vec<String>,
    pub lookups: Vec<LookupUse>,
    pub datamodels: Vec<String>,
    /// The data model fields the search reads (`Processes.process_name`), each once.
    pub datamodel_fields: Vec<String>,
    /// What is legal but suspicious (it does not make the detection unrunnable).
    pub warnings: Vec<Problem>,
    /// The data sources the detection names, as events, and how many of them the `--data` have.
    pub data_sources: Vec<DataSourceUse>,
    /// Time to expand and parse the search, in microseconds.
    pub parse_us: u64,
}

struct Walk<'a> {
    text: &'a str,
    exp: &'a Expansion,
    knowledge: &'a Knowledge,
    report: Report,
}

impl Walk<'_> {
    /// Line and column in the user's text of an offset in the expanded text, and the macros it came from.
    fn place(&self, span: Span) -> (usize, usize, Vec<String>) {
        let (range, chain) = self
            .exp
            .map
            .origin_span(span.start, span.end.max(span.start + 1));
        let (line, col) = line_col(self.text, range.start);
        (line, col, chain)
    }

    fn problem(&mut self, kind: ProblemKind, name: &str, message: String, span: Option<Span>) {
        let (line, col, chain) = match span {
            Some(s) => self.place(s),
            None => (0, 0, Vec::new()),
        };
        let message = match chain.first() {
            Some(m) if span.is_some() => format!("{message} (from macro `{m}`)"),
            _ => message,
        };
        let p = Problem {
            kind,
            name: name.to_string(),
            message,
            line,
            col,
        };
        let dup =
            self.report.problems.iter().any(|q| {
                q.kind == p.kind && q.name == p.name && q.line == p.line && q.col == p.col
            });
        if !dup {
            self.report.problems.push(p);
        }
    }

    fn pipeline(&mut self, p: &Pipeline) {
        for stage in &p.stages {
            let name = stage.command.name().to_string();
            if matches!(stage.command, Command::Noop) {
                continue;
            }
            if !self.report.commands.contains(&name) {
                self.report.commands.push(name.clone());
            }
            let spec = stage.command.spec();
            let refusals = spec.refusals_in(&crate::commands::Known {
                names: crate::props::shipped_names(),
                datamodels: crate::datamodels::shipped(),
            });
            for r in &refusals {
                let kind = match r.kind {
                    RefusalKind::Function => ProblemKind::UnsupportedFunction,
                    RefusalKind::Feature => ProblemKind::UnsupportedFeature,
                };
                self.problem(kind, &r.name, r.reason.clone(), Some(r.span));
            }
            if !stage.command.is_runnable() && refusals.is_empty() {
                let at = if stage.name_span.start == stage.name_span.end {
                    stage.span
                } else {
                    stage.name_span
                };
                self.problem(
                    ProblemKind::UnsupportedCommand,
                    &name,
                    format!("unsupported command '{name}'"),
                    Some(at),
                );
            }
            for (e, base) in spec.eval_exprs() {
                self.expr(e, base);
            }
            for l in spec.lookups() {
                self.lookup(&l.name, l.writes, &name, l.span);
            }
            for f in spec.datamodel_fields() {
                if !self.report.datamodel_fields.contains(&f) {
                    self.report.datamodel_fields.push(f);
                }
            }
            for dm in spec.datamodels() {
                if !self.report.datamodels.contains(&dm) {
                    self.report.datamodels.push(dm);
                }
            }
            for l in spec.lints() {
                let (line, col, _) = self.place(l.span);
                self.report.warnings.push(Problem {
                    kind: ProblemKind::Suspicious,
                    name: name.clone(),
                    message: format!("warning: {}", l.message),
                    line,
                    col,
                });
            }
            for p in spec.sub_pipelines() {
                self.pipeline(p);
            }
        }
    }

    fn parse_failure(&mut self, message: &str, span: Option<Span>) {
        self.report.parsed = false;
        self.problem(
            ProblemKind::Parse,
            "",
            format!("parse error: {message}"),
            span,
        );
    }

    /// Eval functions of an expression whose offsets count from `base` in the expanded text.
    fn expr(&mut self, e: &Expr, base: usize) {
        let unsupported = e.unsupported();
        for (f, at) in e.functions() {
            if !self.report.functions.contains(&f) {
                self.report.functions.push(f.clone());
            }
            let span = Span::new(base + at, base + at + f.len());
            if let Some((_, reason, _)) = unsupported.iter().find(|(n, _, o)| *n == f && *o == at) {
                let message = if crate::eval::FUNCTIONS.contains(&f.as_str()) {
                    reason.clone()
                } else {
                    format!("unsupported function '{f}'")
                };
                self.problem(ProblemKind::UnsupportedFunction, &f, message, Some(span));
            } else if !crate::eval::FUNCTIONS.contains(&f.as_str()) {
                self.problem(
                    ProblemKind::UnsupportedFunction,
                    &f,
                    format!("unsupported function '{f}'"),
                    Some(span),
                );
            }
        }
    }

    fn lookup(&mut self, table: &str, writes: bool, command: &str, span: Span) {
        // outputlookup writes its table: it need not exist
        let present = writes || self.knowledge.lookup_present(table);
        if !self
            .report
            .lookups
            .iter()
            .any(|l| l.name == table && l.command == command)
        {
            self.report.lookups.push(LookupUse {
                name: table.to_string(),
                command: command.to_string(),
                present,
            });
        }
        if !present {
            self.problem(
                ProblemKind::MissingLookup,
                table,
                format!("missing lookup '{table}'"),
                Some(span),
            );
        }
    }
}

/// Check one search text.
pub fn check_search(file: &SearchFile, knowledge: &Knowledge) -> Report {
    let mut report = Report {
        path: file.path.display().to_string(),
        name: file.name.clone(),
        parsed: false,
        runnable: false,
        problems: Vec::new(),
        commands: Vec::new(),
        functions: Vec::new(),
        macros: Vec::new(),
        lookups: Vec::new(),
        datamodels: Vec::new(),
        datamodel_fields: Vec::new(),
        warnings: Vec::new(),
        data_sources: file
            .data_sources
            .iter()
            .flat_map(|e| crate::datasources::resolve(e))
            .map(|d| DataSourceUse {
                name: d.name,
                search: d.events.map(|e| e.search()),
                events: None,
            })
            .collect(),
        parse_us: 0,
    };
    let t0 = Instant::now();
    let exp = match macros::expand_lenient(&file.search, &knowledge.macros) {
        Ok(e) => e,
        Err(e) => {
            let (line, col) = line_col(&file.search, e.offset);
            report.problems.push(Problem {
                kind: ProblemKind::Macro,
                name: String::new(),
                message: format!("macro error: {}", e.message),
                line,
                col,
            });
            return report;
        }
    };
    let parsed = parse::parse_query(&exp.text);
    report.parse_us = t0.elapsed().as_micros() as u64;
    report.macros = exp.used.clone();
    let mut w = Walk {
        text: &file.search,
        exp: &exp,
        knowledge,
        report,
    };
    for e in &exp.unknown {
        let name = e
            .message
            .split('`')
            .nth(1)
            .unwrap_or(e.message.as_str())
            .to_string();
        let (line, col) = line_col(&file.search, e.offset);
        w.report.problems.push(Problem {
            kind: ProblemKind::UnknownMacro,
            name: name.clone(),
            message: format!("unknown macro '{name}'"),
            line,
            col,
        });
    }
    match parsed {
        Ok(p) => {
            w.report.parsed = true;
            w.pipeline(&p);
        }
        Err(d) => w.parse_failure(&d.message, d.span),
    }
    let mut report = w.report;
    report.problems.sort_by_key(|p| (p.line, p.col));
    report.runnable = report.parsed && report.problems.is_empty();
    report
}

/// A detection read, or the file that could not be read and why.
pub type Gathered = Result<SearchFile, (PathBuf, String)>;

/// The detections under `paths`: every `.spl`, and every YAML with a `search` key (in a folder; a YAML
/// named directly must have one).
pub fn gather(paths: &[PathBuf]) -> Result<Vec<Gathered>, String> {
    let mut out = Vec::new();
    for p in paths {
        if !p.exists() {
            return Err(format!("`{}` does not exist", p.display()));
        }
        let mut files = Vec::new();
        collect_files(p, &|f| is_yaml(f) || is_spl(f), &mut files);
        let direct = p.is_file();
        for f in files {
            match read_search_file(&f) {
                Ok(s) => out.push(Ok(s)),
                // in a folder, YAML without a search (lookup definitions, stories ...) is not a detection
                Err(e) if !direct && e.ends_with("has no `search` key") => {}
                Err(e) => out.push(Err((f, e))),
            }
        }
    }
    Ok(out)
}

/// The whole run's figures.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub checked: usize,
    pub parsed: usize,
    pub runnable: usize,
    /// Total expand-and-parse time, in milliseconds.
    pub parse_ms: f64,
    /// (kind, name, number of detections), most needed first.
    pub unsupported: Vec<(String, String, usize)>,
    pub unknown_macros: usize,
    pub missing_lookups: usize,
}

pub fn summarize(reports: &[Report]) -> Summary {
    let mut need: BTreeMap<(String, String), BTreeSet<usize>> = BTreeMap::new();
    for (i, r) in reports.iter().enumerate() {
        for p in &r.problems {
            let kind = match p.kind {
                ProblemKind::UnsupportedCommand => "command",
                ProblemKind::UnsupportedFunction => "function",
                ProblemKind::UnsupportedFeature => "feature",
                _ => continue,
            };
            need.entry((kind.to_string(), p.name.clone()))
                .or_default()
                .insert(i);
        }
    }
    let mut unsupported: Vec<(String, String, usize)> = need
        .into_iter()
        .map(|((k, n), s)| (k, n, s.len()))
        .collect();
    unsupported.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (&a.0, &a.1).cmp(&(&b.0, &b.1))));
    let with = |k: ProblemKind| {
        reports
            .iter()
            .filter(|r| r.problems.iter().any(|p| p.kind == k))
            .count()
    };
    Summary {
        checked: reports.len(),
        parsed: reports.iter().filter(|r| r.parsed).count(),
        runnable: reports.iter().filter(|r| r.runnable).count(),
        parse_ms: Duration::from_micros(reports.iter().map(|r| r.parse_us).sum()).as_secs_f64()
            * 1000.0,
        unsupported,
        unknown_macros: with(ProblemKind::UnknownMacro),
        missing_lookups: with(ProblemKind::MissingLookup),
    }
}

/// Check the detections under `paths`.
pub fn run(args: &CheckArgs) -> Result<(Vec<Report>, Option<PathBuf>), String> {
    let paths = match (&args.content, args.paths.is_empty()) {
        // `check --content DIR` alone checks that checkout's detections and baselines
        (Some(dir), true) => ["detections", "baselines"]
            .iter()
            .map(|d| dir.join(d))
            .filter(|p| p.is_dir())
            .collect(),
        (None, true) => vec![PathBuf::from(".")],
        (_, false) => args.paths.clone(),
    };
    if paths.is_empty() {
        return Err(format!(
            "--content `{}` has no detections/ or baselines/ folder: name the files to check",
            args.content.as_deref().unwrap_or(Path::new(".")).display()
        ));
    }
    let content = match &args.content {
        Some(c) => Some(c.clone()),
        None => paths.iter().find_map(|p| content_root_of(p)),
    };
    let knowledge = Knowledge::load(content.as_deref(), &args.macros, &args.lookups)?;
    let files = gather(&paths)?;
    let reports = files
        .into_iter()
        .map(|f| match f {
            Ok(sf) => check_search(&sf, &knowledge),
            Err((path, e)) => Report {
                path: path.display().to_string(),
                name: path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                parsed: false,
                runnable: false,
                problems: vec![Problem {
                    kind: ProblemKind::File,
                    name: String::new(),
                    message: e,
                    line: 0,
                    col: 0,
                }],
                commands: Vec::new(),
                functions: Vec::new(),
                macros: Vec::new(),
                lookups: Vec::new(),
                datamodels: Vec::new(),
                datamodel_fields: Vec::new(),
                warnings: Vec::new(),
                data_sources: Vec::new(),
                parse_us: 0,
            },
        })
        .collect::<Vec<Report>>();
    let mut reports = reports;
    if !args.data.is_empty() {
        count_data_sources(&args.data, &mut reports)?;
    }
    Ok((
        reports,
        if args.content.is_none() {
            content
        } else {
            None
        },
    ))
}

/// Count, for every data source the reports name, its events in the `data` paths. The events are read
/// once, keyed by what tells data sources apart (source, sourcetype and the separator fields).
fn count_data_sources(data: &[String], reports: &mut [Report]) -> Result<(), String> {
    use crate::event::Event;
    use std::collections::HashMap;
    let args: Vec<crate::input::DataArg> = data
        .iter()
        .map(|p| crate::input::DataArg {
            path: p.clone(),
            sourcetype: None,
            source: None,
        })
        .collect();
    let sources = crate::input::resolve(&args).map_err(|d| d.message)?;
    let props = crate::props::Knowledge::shipped().map_err(|d| d.message)?;
    let opts = crate::input::ReadOptions::default();
    let mut builder = crate::input::EventBuilder::new(&props, &opts);
    let fields = crate::datasources::separator_fields();
    let mut kinds: HashMap<Vec<String>, (Event, u64)> = HashMap::new();
    for src in &sources {
        let report = crate::input::read_source(src, &mut builder, &mut |ev| {
            let mut key = Vec::with_capacity(fields.len() + 2);
            let mut small = Event::new();
            for f in ["source", "sourcetype"]
                .into_iter()
                .chain(fields.iter().copied())
            {
                let v = ev.get(f).cloned();
                key.push(
                    v.as_ref()
                        .map(|v| v.text().into_owned())
                        .unwrap_or_default(),
                );
                small.set_opt(f, v);
            }
            kinds.entry(key).or_insert((small, 0)).1 += 1;
            std::ops::ControlFlow::Continue(())
        });
        if let Some(p) = report.problem() {
            eprintln!("warning: {p}");
        }
    }
    for r in reports.iter_mut() {
        for d in &mut r.data_sources {
            let Some(events) = crate::datasources::resolve(&d.name)
                .pop()
                .and_then(|x| x.events)
            else {
                continue;
            };
            d.events = Some(
                kinds
                    .values()
                    .filter(|(ev, _)| events.matches(ev))
                    .map(|(_, n)| n)
                    .sum(),
            );
        }
    }
    Ok(())
}

/// Render the text report. With `data` (check was given `--data`), each detection's data sources are
/// listed with their events in the data.
pub fn render_text(reports: &[Report], quiet: bool, data: bool) -> String {
    let mut out = String::new();
    for r in reports {
        let missing = data && r.data_sources.iter().any(|d| d.events.unwrap_or(0) == 0);
        if r.problems.is_empty() && !missing && (quiet || (r.warnings.is_empty() && !data)) {
            if !quiet {
                out.push_str(&format!("{}: ok\n", r.path));
            }
            continue;
        }
        if r.problems.is_empty() {
            out.push_str(&format!("{}: ok\n", r.path));
        } else {
            out.push_str(&format!("{}:\n", r.path));
        }
        for p in r.problems.iter().chain(&r.warnings) {
            out.push_str(&format!("  {}\n", p.render()));
        }
        for dm in &r.datamodels {
            out.push_str(&format!("  note: reads data model '{dm}'\n"));
        }
        if !r.datamodel_fields.is_empty() {
            out.push_str(&format!(
                "  note: data model fields: {}\n",
                r.datamodel_fields.join(", ")
            ));
        }
        if data {
            for d in &r.data_sources {
                out.push_str(&match (&d.search, d.events) {
                    (Some(s), Some(0)) => {
                        format!("  data: {} ({s}): no events in the given data\n", d.name)
                    }
                    (Some(s), Some(1)) => format!("  data: {} ({s}): 1 event\n", d.name),
                    (Some(s), Some(n)) => format!("  data: {} ({s}): {n} events\n", d.name),
                    _ => format!(
                        "  data: {}: spelunk does not know which events this data source names\n",
                        d.name
                    ),
                });
            }
            if r.data_sources.is_empty() {
                out.push_str("  data: the detection names no data source\n");
            }
        }
    }
    let s = summarize(reports);
    if data {
        let covered = reports
            .iter()
            .filter(|r| {
                !r.data_sources.is_empty()
                    && r.data_sources.iter().all(|d| d.events.unwrap_or(0) > 0)
            })
            .count();
        out.push_str(&format!(
            "\ndata: {covered}/{} detections have events of every data source they name in the given data\n",
            reports.len()
        ));
    }
    out.push_str(&format!(
        "\nparsed: {}/{}, runnable: {}/{}\n",
        s.parsed, s.checked, s.runnable, s.checked
    ));
    let per = if s.checked > 0 {
        s.parse_ms / s.checked as f64
    } else {
        0.0
    };
    out.push_str(&format!(
        "parse time: {:.1} ms in all, {:.3} ms per search (macro expansion and parsing)\n",
        s.parse_ms, per
    ));
    if s.unknown_macros > 0 {
        out.push_str(&format!(
            "unknown macros in {} detection(s); missing lookups in {}\n",
            s.unknown_macros, s.missing_lookups
        ));
    } else if s.missing_lookups > 0 {
        out.push_str(&format!(
            "missing lookups in {} detection(s)\n",
            s.missing_lookups
        ));
    }
    if !s.unsupported.is_empty() {
        let width = s
            .unsupported
            .iter()
            .map(|(k, n, _)| k.len() + n.len() + 1)
            .max()
            .unwrap_or(0)
            .max(11);
        out.push_str(&format!("\n{:<width$}  detections\n", "unsupported"));
        for (k, n, c) in &s.unsupported {
            out.push_str(&format!("{:<width$}  {c:>10}\n", format!("{k} {n}")));
        }
    }
    out
}

/// `spelunk check`.
pub fn main(args: CheckArgs) -> Result<ExitCode, String> {
    let (reports, found_content) = run(&args).map_err(|e| format!("error: {e}"))?;
    if let Some(c) = found_content {
        eprintln!(
            "note: using the macros and lookups of the security_content checkout `{}` (--content overrides)",
            c.display()
        );
    }
    if args.format == "json" {
        #[derive(Serialize)]
        struct Out<'a> {
            detections: &'a [Report],
            summary: Summary,
        }
        let s = serde_json::to_string_pretty(&Out {
            detections: &reports,
            summary: summarize(&reports),
        })
        .map_err(|e| format!("error: {e}"))?;
        println!("{s}");
    } else {
        print!(
            "{}",
            render_text(&reports, args.quiet, !args.data.is_empty())
        );
    }
    Ok(if reports.iter().all(|r| r.runnable) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn knowledge() -> Knowledge {
        Knowledge::load(None, &[], &[]).unwrap()
    }

    fn check(search: &str) -> Report {
        let f = SearchFile {
            path: PathBuf::from("t.spl"),
            name: "t".into(),
            search: search.into(),
            data_sources: Vec::new(),
        };
        check_search(&f, &knowledge())
    }

    #[test]
    fn a_supported_search_is_runnable() {
        let r = check("`cloudtrail` eventName=Get* | stats count by user | where count > 1");
        assert!(r.parsed && r.runnable, "{:?}", r.problems);
        assert_eq!(r.commands, ["search", "stats", "where"]);
        assert_eq!(r.macros, ["cloudtrail"]);
    }

    #[test]
    fn unsupported_commands_are_placed() {
        let r = check("| mstats count where index=m by x\n| eval a=1");
        assert!(r.parsed && !r.runnable);
        assert_eq!(
            r.problems[0].render(),
            "unsupported command 'mstats' at 1:3"
        );
        let r =
            check("| tstats count from datamodel=Endpoint.Processes by Processes.dest\n| eval a=1");
        assert!(r.parsed && r.runnable, "{:?}", r.problems);
        assert_eq!(r.datamodels, ["Endpoint.Processes"]);
        assert_eq!(r.datamodel_fields, ["Processes.dest"]);
        // a data model that is not loaded
        let r = check("| tstats count from datamodel=Nope.X by x");
        assert!(r.parsed && !r.runnable);
        assert!(
            r.problems[0].render().contains("`Nope` is not loaded"),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn unknown_macros_are_reported_and_the_rest_is_checked() {
        let r = check("`foo` | `bar(1)` | mstats count");
        assert!(r.parsed);
        let msgs: Vec<String> = r.problems.iter().map(Problem::render).collect();
        assert_eq!(
            msgs,
            [
                "unknown macro 'foo' at 1:1",
                "unknown macro 'bar' at 1:9",
                "unsupported command 'mstats' at 1:20"
            ]
        );
    }

    #[test]
    fn suspicious_text_is_a_warning_that_keeps_the_search_runnable() {
        let r = check(
            "search user=user \"user\"=x | where a==a | append maxtime=5 [search b] | eval c=if(d<d, 1, 0)",
        );
        let w: Vec<String> = r.warnings.iter().map(|p| p.render()).collect();
        assert_eq!(w.len(), 4, "{w:?}");
        assert!(
            w[0].starts_with("warning: `user` is compared with the text \"user\""),
            "{w:?}"
        );
        assert!(w[0].ends_with("at 1:8"), "{w:?}");
        assert!(
            w[1].contains("`a` is compared with itself") && w[1].ends_with("at 1:35"),
            "{w:?}"
        );
        assert!(w[2].contains("`append maxtime=` changes nothing"), "{w:?}");
        assert!(w[3].contains("`d` is compared with itself"), "{w:?}");
        assert!(r.runnable, "{:?}", r.problems);
        // a quoted value is a deliberate text match, and `user=bob` is ordinary
        assert!(check("search user=\"user\" name=bob").warnings.is_empty());
    }

    #[test]
    fn lookups_are_present_or_missing() {
        let r = check("| inputlookup aws_service_accounts | lookup local=t nosuch x OUTPUT y");
        assert_eq!(r.lookups.len(), 2);
        assert!(r.lookups[0].present);
        assert!(!r.lookups[1].present);
        assert!(r
            .problems
            .iter()
            .any(|p| p.render() == "missing lookup 'nosuch' at 1:53"));
    }

    #[test]
    fn eval_functions_spelunk_lacks_are_unsupported() {
        let r = check("search x | eval a=sigfig(b), d=lower(e)");
        assert!(r.parsed);
        assert_eq!(r.functions, ["sigfig", "lower"]);
        assert_eq!(
            r.problems[0].render(),
            "unsupported function 'sigfig' at 1:19"
        );
        let r = check("search x | where len(replace(a, \"x(?=y)\", \"\")) > 1");
        assert!(r.parsed && r.runnable, "{:?}", r.problems);
        let r = check("search x | where len(replace(a, \"x(?R)?\", \"\")) > 1");
        assert!(r.parsed && !r.runnable);
        assert!(r.problems[0]
            .render()
            .starts_with("unsupported regular expression in 'replace'"));
    }

    #[test]
    fn parsed_pieces_spelunk_cannot_run_are_unsupported() {
        // look-around runs
        let r = check("search x | rex field=a \"(?<b>\\w+)(?=c)\" | stats count by b");
        assert!(r.parsed && r.runnable, "{:?}", r.problems);
        // valid PCRE that no regex engine here has: parsed, not runnable, reported as a feature
        let r = check("search x | rex field=a \"(?<b>\\w+)(?|c|d)\" | stats count by b");
        assert!(r.parsed && !r.runnable, "{:?}", r.problems);
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        assert_eq!(r.problems[0].kind, ProblemKind::UnsupportedFeature);
        assert_eq!(r.problems[0].name, "regex branch reset groups");
        assert!(
            r.problems[0].render().ends_with("at 1:24"),
            "{:?}",
            r.problems
        );
        // a stats sparkline: parsed, reported as a function
        let r = check("search x | stats sparkline count by y");
        assert!(r.parsed && !r.runnable);
        assert_eq!(r.problems[0].kind, ProblemKind::UnsupportedFunction);
        assert_eq!(r.problems[0].name, "sparkline");
        let s = summarize(&[
            check("search x | regex \"a(?<=b)\""),
            check("search x | regex \"a(?<=b+)\""),
        ]);
        assert_eq!((s.parsed, s.runnable), (2, 1));
        assert_eq!(
            s.unsupported,
            [(
                "feature".to_string(),
                "regex look-behind of varying length".to_string(),
                1
            )]
        );
    }

    #[test]
    fn sub_pipelines_are_parsed_and_walked() {
        let r = check("search a | join x [ | tstats count from datamodel=Web by x ]");
        assert!(r.parsed);
        assert!(r.commands.contains(&"tstats".to_string()));
        assert_eq!(r.datamodels, ["Web"]);
        let r = check("search a | append [ search b | statz ]");
        assert!(!r.parsed);
        assert!(
            r.problems.iter().any(
                |p| p.message == "parse error: unknown command `statz` (did you mean `stats`?)"
            ),
            "{:?}",
            r.problems
        );
        let r = check("search a | appendpipe [ stats count ]");
        assert!(
            r.commands.contains(&"stats".to_string()),
            "{:?}",
            r.commands
        );
    }

    #[test]
    fn parse_errors_are_placed() {
        let r = check("search a\n| statz count");
        assert!(!r.parsed);
        assert!(
            r.problems[0].render().ends_with("at 2:3"),
            "{:?}",
            r.problems
        );
    }
}
