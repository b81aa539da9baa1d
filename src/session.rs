//! A session owns what a query runs against — macros, sourcetype knowledge, lookups, inputs and options —
//! and runs queries: text → macro expansion → parse → plan → rows. The CLI, the REPL and the test runner
//! all go through it.

use crate::commands::Context;
use crate::diag::{Diagnostic, Span};
use crate::eval::EvalContext;
use crate::event::Event;
use crate::input::{self, DataArg, FileReport, ReadOptions, Source};
use crate::limits::Limits;
use crate::lookups::Lookups;
use crate::macros::{self, Expansion, MacroLibrary};
use crate::output;
use crate::parse::{parse_query, Pipeline};
use crate::plan::{self, Env};
use crate::props::Knowledge;
use chrono_tz::Tz;
use std::path::{Path, PathBuf};

/// Macros shipped with spelunk.
pub const SHIPPED_MACROS: &str = include_str!("../queries/macros.conf");

/// Everything a session is configured with (the CLI's options).
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub data: Vec<DataArg>,
    pub macros: Vec<PathBuf>,
    pub lookups: Vec<PathBuf>,
    pub props: Vec<PathBuf>,
    /// Data model definitions (`*.json` files, or folders of them): a model replaces the shipped one of
    /// the same name.
    pub datamodels: Vec<PathBuf>,
    /// A security_content checkout: its `macros/` and `lookups/` are loaded.
    pub content: Option<PathBuf>,
    pub tz: Option<Tz>,
    /// Pin `now()` (epoch seconds) for reproducible runs.
    pub now: Option<f64>,
    pub read: ReadOptions,
    pub limits: Limits,
}

pub struct Session {
    pub macros: MacroLibrary,
    pub knowledge: Knowledge,
    pub lookups: Lookups,
    pub datamodels: crate::datamodels::DataModels,
    pub sources: Vec<Source>,
    pub tz: Tz,
    pub now: f64,
    pub read: ReadOptions,
    pub subsearch_maxout: usize,
    pub limits: Limits,
    /// True when no `--data` was given and the shipped samples are used.
    pub using_samples: bool,
    /// Progress count and cancellation of running queries (set by the REPL).
    pub watch: plan::Watch,
}

/// The rows of a query and what happened on the way.
pub struct QueryOutput {
    pub rows: Vec<Event>,
    pub columns: Vec<String>,
    pub reports: Vec<FileReport>,
    pub warnings: Vec<String>,
    /// `*_filter` macros that had no definition and were treated as empty.
    pub defaulted_filters: Vec<String>,
}

/// An error in a query, with the text it points into (the user's text, before macro expansion).
#[derive(Debug)]
pub struct QueryError {
    pub diag: Diagnostic,
    pub text: String,
}

impl QueryError {
    pub fn render(&self) -> String {
        self.diag.render(&self.text)
    }
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

fn now_epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Session {
    pub fn new(cfg: &Config) -> Result<Session, Diagnostic> {
        let mut macros = MacroLibrary::new();
        macros
            .load_conf_str(SHIPPED_MACROS, "shipped queries/macros.conf")
            .map_err(|e| Diagnostic::new(e.message))?;
        let mut lookups = Lookups::shipped();
        if let Some(dir) = &cfg.content {
            if !dir.is_dir() {
                return Err(Diagnostic::new(format!(
                    "--content `{}` is not a folder (expected a security_content checkout)",
                    dir.display()
                )));
            }
            let m = dir.join("macros");
            if m.is_dir() {
                macros
                    .load_path(&m)
                    .map_err(|e| Diagnostic::new(e.message))?;
            }
            let l = dir.join("lookups");
            if l.is_dir() {
                lookups.add_read_only_dir(&l)?;
            }
        }
        for p in &cfg.macros {
            macros.load_path(p).map_err(|e| {
                Diagnostic::new(format!("--macros `{}`: {}", p.display(), e.message))
            })?;
        }
        for d in &cfg.lookups {
            lookups.add_dir(d)?;
        }
        let mut datamodels = crate::datamodels::DataModels::default();
        datamodels.add_shipped(&macros)?;
        for p in &cfg.datamodels {
            datamodels.add_path(p, &macros)?;
        }
        let mut knowledge = Knowledge::default();
        knowledge.add_shipped()?;
        for p in &cfg.props {
            knowledge.add_path(p)?;
        }
        knowledge.compile_with(&lookups)?;
        let tz = cfg.tz.unwrap_or(chrono_tz::UTC);
        let now = cfg.now.unwrap_or_else(now_epoch);
        knowledge.set_context(EvalContext {
            now,
            tz,
            max_text: cfg.limits.max_eval_text,
        });
        let (sources, using_samples) = if cfg.data.is_empty() {
            (input::sample_sources(), true)
        } else {
            (input::resolve(&cfg.data)?, false)
        };
        Ok(Session {
            macros,
            knowledge,
            lookups,
            datamodels,
            sources,
            tz,
            now,
            read: cfg.read.clone(),
            subsearch_maxout: cfg.limits.subsearch_maxout,
            limits: cfg.limits,
            using_samples,
            watch: plan::Watch::default(),
        })
    }

    /// Read the inputs into memory once, so that later queries skip reading and parsing (the REPL does
    /// this). Returns the number of events kept.
    pub fn cache_events(&mut self) -> u64 {
        self.sources = input::cache(&self.sources, &self.knowledge, &self.read);
        self.sources
            .iter()
            .map(|s| match &s.content {
                input::Content::Cached { events, .. } => events.len() as u64,
                _ => 0,
            })
            .sum()
    }

    /// Add inputs (the REPL's `.data`).
    pub fn add_data(&mut self, args: &[DataArg]) -> Result<usize, Diagnostic> {
        let new = input::resolve(args)?;
        let n = new.len();
        if self.using_samples {
            self.sources.clear();
            self.using_samples = false;
        }
        self.sources.extend(new);
        Ok(n)
    }

    /// Expand macros; errors point at the user's text.
    pub fn expand(&self, text: &str) -> Result<Expansion, QueryError> {
        macros::expand(text, &self.macros).map_err(|e| QueryError {
            diag: Diagnostic::at(
                e.message.clone(),
                Span::new(e.offset, e.offset + e.len.max(1)),
            ),
            text: text.to_string(),
        })
    }

    /// Expand and parse.
    pub fn parse(&self, text: &str) -> Result<(Expansion, Pipeline), QueryError> {
        let exp = self.expand(text)?;
        match parse_query(&exp.text) {
            Ok(p) => Ok((exp, p)),
            Err(d) => Err(self.map_error(d, &exp, text)),
        }
    }

    /// Move a diagnostic's span from the expanded text back to the user's text.
    fn map_error(&self, mut d: Diagnostic, exp: &Expansion, text: &str) -> QueryError {
        if let Some(span) = d.span {
            let (range, chain) = exp
                .map
                .origin_span(span.start, span.end.max(span.start + 1));
            d.span = Some(Span::new(range.start, range.end.max(range.start + 1)));
            if !chain.is_empty() {
                let near: String = exp
                    .text
                    .get(span.start..)
                    .unwrap_or("")
                    .chars()
                    .take(30)
                    .collect();
                d.notes.push(format!(
                    "in expansion of {} (near `{}`)",
                    chain
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(" → "),
                    near.trim_end()
                ));
            }
        }
        QueryError {
            diag: d,
            text: text.to_string(),
        }
    }

    fn context(&self) -> Context<'_> {
        Context {
            eval: EvalContext {
                now: self.now,
                tz: self.tz,
                max_text: self.limits.max_eval_text,
            },
            lookups: &self.lookups,
            datamodels: &self.datamodels,
            macros: Some(&self.macros),
            limits: Limits {
                subsearch_maxout: self.subsearch_maxout,
                cancel: self.watch.cancel,
                ..self.limits
            },
            warnings: Default::default(),
        }
    }

    fn env<'a>(&'a self, ctx: &'a Context<'a>) -> Env<'a> {
        Env {
            ctx,
            knowledge: &self.knowledge,
            sources: &self.sources,
            read: &self.read,
            subsearch_maxout: self.subsearch_maxout,
            sub_reports: Default::default(),
            watch: self.watch.clone(),
        }
    }

    /// Run a query to its rows.
    pub fn run(&self, text: &str) -> Result<QueryOutput, QueryError> {
        let (exp, mut pipeline) = self.parse(text)?;
        let ctx = self.context();
        let env = self.env(&ctx);
        let fixed = plan::fixed_columns(&pipeline);
        let res = plan::run(&mut pipeline, &env).map_err(|d| self.map_error(d, &exp, text))?;
        let columns = output::columns(&res.rows, fixed.as_deref());
        Ok(QueryOutput {
            rows: res.rows,
            columns,
            reports: res.reports,
            warnings: ctx.warnings.take(),
            defaulted_filters: exp.defaulted_filters,
        })
    }

    /// The query as one SQL statement of `dialect` (see [`crate::sql`]); its subsearches are run.
    /// With `lists`, multivalue columns are lists (for reading the rows back), else text.
    pub fn sql(
        &self,
        text: &str,
        dialect: crate::sql::Dialect,
        lists: bool,
    ) -> Result<String, QueryError> {
        self.sql_reading(text, dialect, lists, &[])
    }

    /// [`Session::sql`], the statement reading the events from `reads` (paths, globs or URLs) when
    /// some are given, instead of the inputs.
    pub fn sql_reading(
        &self,
        text: &str,
        dialect: crate::sql::Dialect,
        lists: bool,
        reads: &[String],
    ) -> Result<String, QueryError> {
        let (exp, mut pipeline) = self.parse(text)?;
        let ctx = self.context();
        let env = self.env(&ctx);
        crate::translate::statement_reading(&mut pipeline, &env, dialect, lists, reads)
            .map_err(|d| self.map_error(d, &exp, text))
    }

    /// The columns of a query's result when they are known before it runs: it ends (after filters and
    /// `head`) in a `table` of plain names. Such a result can be printed as it comes.
    pub fn fixed_columns(&self, text: &str) -> Option<Vec<String>> {
        let (_, pipeline) = self.parse(text).ok()?;
        plan::fixed_columns(&pipeline).filter(|c| !c.iter().any(|f| f.contains('*')))
    }

    /// Run a query, handing its rows to `sink` as they come (the output's `rows` stay empty).
    pub fn run_into(
        &self,
        text: &str,
        sink: &mut dyn plan::RowSink,
    ) -> Result<QueryOutput, QueryError> {
        let (exp, mut pipeline) = self.parse(text)?;
        let ctx = self.context();
        let env = self.env(&ctx);
        let columns = plan::fixed_columns(&pipeline).unwrap_or_default();
        let res =
            plan::run_into(&mut pipeline, &env, sink).map_err(|d| self.map_error(d, &exp, text))?;
        Ok(QueryOutput {
            rows: Vec::new(),
            columns,
            reports: res.reports,
            warnings: ctx.warnings.take(),
            defaulted_filters: exp.defaulted_filters,
        })
    }

    /// The query as it runs: macros expanded, then each subsearch of the main search replaced by the
    /// search terms its rows format to (as Splunk's implied `format` makes them). Subsearches are run to
    /// get their rows. Returns the expanded text and that text with the subsearches replaced.
    pub fn expand_subsearches(&self, text: &str) -> Result<(String, String), QueryError> {
        let (exp, pipeline) = self.parse(text)?;
        let mut subs: Vec<(Span, &Pipeline)> = Vec::new();
        for stage in &pipeline.stages {
            if let crate::commands::Command::Search(s) = &stage.command {
                if let Some(e) = &s.expr {
                    collect_subsearches(e, &mut subs);
                }
            }
        }
        let ctx = self.context();
        let env = self.env(&ctx);
        let mut replaced = exp.text.clone();
        // splice from the end so that earlier spans stay valid
        subs.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
        for (span, p) in subs {
            let mut inner = p.clone();
            let mut res = plan::run(&mut inner, &env).map_err(|d| self.map_error(d, &exp, text))?;
            res.rows.truncate(self.subsearch_maxout);
            let formatted = plan::format_rows(&res.rows);
            if replaced.is_char_boundary(span.start)
                && span.end <= replaced.len()
                && replaced.is_char_boundary(span.end)
            {
                replaced.replace_range(span.start..span.end, &formatted);
            }
        }
        Ok((exp.text, replaced))
    }
}

fn collect_subsearches<'p>(
    e: &'p crate::commands::search::SearchExpr,
    out: &mut Vec<(Span, &'p Pipeline)>,
) {
    use crate::commands::search::SearchExpr;
    match e {
        SearchExpr::And(v) | SearchExpr::Or(v) => {
            for x in v {
                collect_subsearches(x, out);
            }
        }
        SearchExpr::Not(x) => collect_subsearches(x, out),
        SearchExpr::Subsearch(p, span) => out.push((*span, p)),
        _ => {}
    }
}

/// The folders of a security_content checkout that hold searches: detections, and the baselines that
/// fill the tables some detections read (each with its `deprecated/` ones).
pub const SEARCH_FOLDERS: &[&str] = &["detections", "baselines"];

/// A search of a security_content checkout: a detection or a baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct ContentSearch {
    pub path: PathBuf,
    /// The YAML's `name`, or the file stem.
    pub name: String,
    /// `detection` or `baseline` (the folder it lies in).
    pub kind: &'static str,
    pub search: Option<String>,
    /// The `tags.analytic_story` names.
    pub stories: Vec<String>,
}

#[derive(serde::Deserialize)]
struct SearchYaml {
    name: Option<String>,
    search: Option<String>,
    tags: Option<TagsYaml>,
}

#[derive(serde::Deserialize)]
struct TagsYaml {
    analytic_story: Option<Vec<String>>,
}

/// Every detection and baseline of a checkout (files that do not read as YAML are left out), detections
/// first, each folder in path order.
pub fn content_searches(content: &Path) -> Vec<ContentSearch> {
    let mut out = Vec::new();
    for (folder, kind) in SEARCH_FOLDERS.iter().zip(["detection", "baseline"]) {
        let mut files = Vec::new();
        collect_yaml(&content.join(folder), &mut files, 0);
        files.sort();
        for f in files {
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            let Ok(y) = serde_saphyr::from_str::<SearchYaml>(&text) else {
                continue;
            };
            let stem = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push(ContentSearch {
                name: y.name.unwrap_or(stem),
                kind,
                search: y.search,
                stories: y.tags.and_then(|t| t.analytic_story).unwrap_or_default(),
                path: f,
            });
        }
    }
    out
}

/// Find a detection or baseline in a security_content checkout by its `name` (any case) or file stem;
/// returns its path and search text. A name not found gets the nearest one as a suggestion.
pub fn find_detection(content: &Path, name: &str) -> Result<(PathBuf, String), Diagnostic> {
    let all = content_searches(content);
    let wanted = name.trim().trim_end_matches(".yml");
    let stem_of = |c: &ContentSearch| {
        c.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let found = all
        .iter()
        .find(|c| c.name == wanted || stem_of(c) == wanted)
        .or_else(|| all.iter().find(|c| c.name.eq_ignore_ascii_case(wanted)));
    if let Some(c) = found {
        return match &c.search {
            Some(s) => Ok((c.path.clone(), s.clone())),
            None => Err(Diagnostic::new(format!(
                "{} `{}` has no `search`",
                c.kind,
                c.path.display()
            ))),
        };
    }
    let mut d = Diagnostic::new(format!(
        "no detection or baseline named `{wanted}` in `{}` (its {})",
        content.display(),
        SEARCH_FOLDERS
            .iter()
            .map(|f| format!("{f}/"))
            .collect::<Vec<_>>()
            .join(" and ")
    ));
    // a name with spaces is compared with the names, a file stem with the stems
    let stems: Vec<String> = all.iter().map(stem_of).collect();
    let near = if wanted.contains(' ') {
        crate::diag::suggest(wanted, all.iter().map(|c| c.name.as_str()))
    } else {
        crate::diag::suggest(wanted, stems.iter().map(String::as_str))
    };
    if let Some(s) = near {
        d.message.push_str(&format!(" (did you mean `{s}`?)"));
    }
    Err(d)
}

/// An analytic story's searches in the order they run: its baselines (which fill the tables its
/// detections read), then its detections. Members are the searches whose `tags.analytic_story` names the
/// story; the story itself must be in the checkout's `stories/`.
pub fn story_searches(
    content: &Path,
    story: &str,
) -> Result<(String, Vec<ContentSearch>), Diagnostic> {
    #[derive(serde::Deserialize)]
    struct StoryYaml {
        name: Option<String>,
    }
    let mut files = Vec::new();
    collect_yaml(&content.join("stories"), &mut files, 0);
    files.sort();
    let names: Vec<String> = files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .filter_map(|t| serde_saphyr::from_str::<StoryYaml>(&t).ok())
        .filter_map(|s| s.name)
        .collect();
    let wanted = story.trim();
    let Some(name) = names
        .iter()
        .find(|n| n.as_str() == wanted)
        .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(wanted)))
        .cloned()
    else {
        let mut d = Diagnostic::new(format!(
            "no analytic story named `{wanted}` in `{}`",
            content.join("stories").display()
        ));
        if let Some(s) = crate::diag::suggest(wanted, names.iter().map(String::as_str)) {
            d.message.push_str(&format!(" (did you mean `{s}`?)"));
        }
        return Err(d);
    };
    let mut members: Vec<ContentSearch> = content_searches(content)
        .into_iter()
        .filter(|c| c.stories.iter().any(|s| s.eq_ignore_ascii_case(&name)))
        .collect();
    // baselines first; otherwise the order of the checkout's paths
    members.sort_by_key(|c| c.kind != "baseline");
    Ok((name, members))
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    if depth > 16 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            collect_yaml(&p, out, depth + 1);
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(p);
        }
    }
}
