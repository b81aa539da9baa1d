//! The interactive shell: `spelunk` with no subcommand (or `spelunk repl`).
//!
//! The inputs are read and parsed once, when the shell starts (and when `.data` adds some), and kept in
//! memory: each query then replays the parsed events instead of reading the files again. That costs
//! memory — about four to five times the size of the JSON text (418 MB of generated CloudTrail NDJSON,
//! 300,000 events, took 1.9 GB) — and makes repeated queries fast (a search over those events: 0.8 s from
//! memory, 21 s when `spelunk run` reads the file).
//!
//! A search runs when Enter is pressed on complete text (see [`input`]); a pasted multi-line search runs
//! whole. Lines starting with `.` are meta commands (see [`meta`]). Without a terminal the shell reads
//! entries from standard input (see [`input::Splitter`]), which is how scripts and tests drive it.

pub mod complete;
pub mod fields;
pub mod input;
pub mod meta;
pub mod pager;
mod progress;

use crate::event::Event;
use crate::input::{Content, DataArg, EventBuilder, Source};
use crate::output::{self, Format};
use crate::session::{Config, Session};
use complete::Vocabulary;
use meta::Meta;
use progress::Progress;
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter, MatchingBracketHighlighter};
use rustyline::hint::Hinter;
use rustyline::history::{FileHistory, History};
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Cmd, CompletionType, Editor, EventHandler, KeyCode, KeyEvent, Modifiers};
use std::borrow::Cow;
use std::collections::HashSet;
use std::io::{BufRead, IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Rows printed at most unless `--limit` or `.limit` says otherwise; the rest are counted.
pub const DEFAULT_LIMIT: usize = 100;

/// Options of the shell beyond the session's.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub format: Option<Format>,
    pub limit: Option<usize>,
}

/// Whether to go on reading entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

/// Where history is kept: `$SPELUNK_HISTORY` if set (empty: no history file), else
/// `<data dir>/spelunk/history` (`$XDG_DATA_HOME/spelunk/history`, by default
/// `~/.local/share/spelunk/history`).
pub fn history_path() -> Option<PathBuf> {
    match std::env::var_os("SPELUNK_HISTORY") {
        Some(p) if p.is_empty() => None,
        Some(p) => Some(PathBuf::from(p)),
        None => dirs::data_dir().map(|d| d.join("spelunk").join("history")),
    }
}

/// Colour is used on a terminal unless `NO_COLOR` is set to something.
pub fn colour_for(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[33m";
const BLUE: &str = "\x1b[34m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// Colour a rendered diagnostic: the `error` word and the carets red, the gutter blue, notes cyan.
pub fn paint_diagnostic(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("error:") {
            out.push_str(&format!("{RED}error{RESET}{BOLD}:{rest}{RESET}\n"));
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with("-->") {
            out.push_str(&format!("{BLUE}{line}{RESET}\n"));
            continue;
        }
        if trimmed.starts_with("= ") {
            out.push_str(&format!("{CYAN}{line}{RESET}\n"));
            continue;
        }
        if let Some(bar) = line.find('|') {
            let (gutter, rest) = line.split_at(bar);
            if gutter.trim().chars().all(|c| c.is_ascii_digit()) {
                let body = &rest[1..];
                let is_caret =
                    body.contains('^') && body.chars().all(|c| c == '^' || c.is_whitespace());
                if is_caret {
                    let lead = body.len() - body.trim_start().len();
                    out.push_str(&format!(
                        "{BLUE}{gutter}|{RESET}{}{RED}{}{RESET}\n",
                        &body[..lead],
                        &body[lead..]
                    ));
                } else {
                    out.push_str(&format!("{BLUE}{gutter}|{RESET}{body}\n"));
                }
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The shell's state: the session and how results are shown.
pub struct Repl {
    pub session: Session,
    pub format: Format,
    pub limit: Option<usize>,
    pub timing: bool,
    /// Colour in what goes to the output and to the error stream.
    pub colour_out: bool,
    pub colour_err: bool,
    /// Terminal width for tables (`None`: no wrapping).
    pub width: Option<u16>,
    /// Output taller than the screen opens in the pager (`.pager on|off`; on a terminal only).
    pub pager: bool,
    /// An entry failed (a query error, a refused meta command): reading from standard input, the
    /// shell then exits with status 2, as `spelunk run` does.
    pub failed: std::cell::Cell<bool>,
    pub vocab: Vocabulary,
    /// Set on Ctrl-C while an entry runs.
    pub cancel: crate::limits::Cancel,
    scanned: Arc<AtomicU64>,
    loaded_events: u64,
    last_query: Option<String>,
    /// The last result: rows, columns and the query that gave them.
    last: Option<(Vec<Event>, Vec<String>, String)>,
    noted_filters: HashSet<String>,
    /// A `timechart` result is drawn as a chart under its table (`.chart on|off`).
    pub auto_chart: bool,
}

impl Repl {
    pub fn new(mut session: Session, opts: &Options) -> Repl {
        let cancel = crate::limits::Cancel::new();
        let scanned = Arc::new(AtomicU64::new(0));
        session.watch = crate::plan::Watch {
            cancel,
            scanned: Some(scanned.clone()),
            deadline: None,
        };
        let mut repl = Repl {
            session,
            format: opts.format.unwrap_or(Format::Table),
            limit: match opts.limit {
                Some(0) => None,
                Some(n) => Some(n),
                None => Some(DEFAULT_LIMIT),
            },
            timing: true,
            colour_out: false,
            colour_err: false,
            width: None,
            pager: true,
            failed: std::cell::Cell::new(false),
            vocab: Vocabulary::default(),
            cancel,
            scanned,
            loaded_events: 0,
            last_query: None,
            last: None,
            noted_filters: HashSet::new(),
            auto_chart: true,
        };
        repl.refresh_vocabulary();
        repl
    }

    /// Recompute the names completion offers.
    pub fn refresh_vocabulary(&mut self) {
        let (fields, sourcetypes) =
            fields::names_and_sourcetypes(fields::cached_events(&self.session.sources));
        self.vocab = Vocabulary {
            commands: known_commands(),
            fields,
            macros: self.session.macros.names(),
            lookups: self.session.lookups.names(),
            sourcetypes,
            stats_functions: crate::commands::stats::FUNCTIONS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            eval_functions: crate::eval::FUNCTIONS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
    }

    /// Read every input not yet in memory, once (a progress indicator shows after a second; Ctrl-C stops
    /// and leaves the rest to be read from disk by each query). Problems with the files are reported.
    pub fn load(&mut self, err: &mut dyn Write) {
        let pending: Vec<usize> = (0..self.session.sources.len())
            .filter(|&i| {
                !matches!(
                    self.session.sources.get(i).map(|s| &s.content),
                    Some(Content::Cached { .. })
                )
            })
            .collect();
        if pending.is_empty() {
            return;
        }
        self.cancel.set(false);
        self.scanned.store(0, Ordering::Relaxed);
        let t0 = Instant::now();
        let mut cached: Vec<(usize, Source)> = Vec::new();
        let mut stopped = false;
        {
            let progress = Progress::start(self.scanned.clone(), None, "reading");
            let mut builder = EventBuilder::new(&self.session.knowledge, &self.session.read);
            for (k, &i) in pending.iter().enumerate() {
                let Some(src) = self.session.sources.get(i) else {
                    continue;
                };
                progress.set_label(&format!(
                    "reading file {}/{} {}",
                    k + 1,
                    pending.len(),
                    src.name
                ));
                let mut events = Vec::new();
                let cancel = &self.cancel;
                let scanned = &self.scanned;
                let report = crate::input::read_source(src, &mut builder, &mut |ev| {
                    events.push(ev);
                    scanned.fetch_add(1, Ordering::Relaxed);
                    if cancel.is_set() {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                });
                if self.cancel.is_set() {
                    stopped = true;
                    break;
                }
                if let Some(p) = report.problem() {
                    self.warn(err, &p);
                }
                cached.push((
                    i,
                    Source {
                        name: src.name.clone(),
                        content: Content::Cached {
                            events: events.into(),
                            report,
                        },
                        sourcetype: src.sourcetype.clone(),
                        source: src.source.clone(),
                    },
                ));
            }
        }
        let files = cached.len();
        for (i, s) in cached {
            if let Some(slot) = self.session.sources.get_mut(i) {
                *slot = s;
            }
        }
        self.loaded_events = fields::cached_events(&self.session.sources).count() as u64;
        self.refresh_vocabulary();
        let _ = writeln!(
            err,
            "read {} event{} from {} file{} in {}{}",
            self.loaded_events,
            plural(self.loaded_events as usize),
            files,
            plural(files),
            elapsed(t0.elapsed()),
            if stopped {
                " (stopped by Ctrl-C: the remaining files are read from disk by each query)"
            } else {
                ""
            }
        );
    }

    fn warn(&self, err: &mut dyn Write, msg: &str) {
        if self.colour_err {
            let _ = writeln!(err, "{YELLOW}warning{RESET}: {msg}");
        } else {
            let _ = writeln!(err, "warning: {msg}");
        }
    }

    fn error(&self, err: &mut dyn Write, msg: &str) {
        self.failed.set(true);
        if self.colour_err {
            let _ = writeln!(err, "{RED}error{RESET}: {msg}");
        } else {
            let _ = writeln!(err, "error: {msg}");
        }
    }

    fn diagnostic(&self, err: &mut dyn Write, rendered: &str) {
        self.failed.set(true);
        let text = if self.colour_err {
            paint_diagnostic(rendered)
        } else {
            rendered.to_string()
        };
        let _ = err.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = writeln!(err);
        }
    }

    /// Run one entry: a meta command or a search.
    pub fn eval(&mut self, entry: &str, out: &mut dyn Write, err: &mut dyn Write) -> Flow {
        let text = entry.trim_end();
        if text.trim().is_empty() {
            return Flow::Continue;
        }
        self.cancel.set(false);
        if input::is_meta(text) {
            return match meta::parse(text) {
                Ok(m) => self.meta(m, out, err),
                Err(e) => {
                    self.error(err, &e);
                    Flow::Continue
                }
            };
        }
        self.query(text, out, err);
        Flow::Continue
    }

    fn query(&mut self, text: &str, out: &mut dyn Write, err: &mut dyn Write) {
        self.last_query = Some(text.to_string());
        self.scanned.store(0, Ordering::Relaxed);
        let t0 = Instant::now();
        let res = {
            let _p = Progress::start(self.scanned.clone(), Some(self.loaded_events), "scanning");
            self.session.run(text)
        };
        let took = t0.elapsed();
        let res = match res {
            Ok(r) => r,
            Err(e) => {
                if self.cancel.is_set() {
                    let _ = writeln!(err, "cancelled after {}: {}", elapsed(took), summary(text));
                } else {
                    self.diagnostic(err, &e.render());
                }
                return;
            }
        };
        for f in &res.defaulted_filters {
            if self.noted_filters.insert(f.clone()) {
                let _ = writeln!(
                    err,
                    "note: macro `{f}` has no definition: treated as an empty filter"
                );
            }
        }
        for r in &res.reports {
            // problems of files in memory were reported when they were read
            if let Some(e) = &r.error {
                self.warn(err, &format!("{}: {e}", r.source));
            }
        }
        for w in &res.warnings {
            self.warn(err, w);
        }
        let chart = if self.auto_chart && self.format == Format::Table && self.is_timechart(text) {
            self.chart_text(&res.rows, &res.columns)
        } else {
            None
        };
        self.print_rows(
            &res.rows,
            &res.columns,
            chart.as_deref(),
            Some(took),
            out,
            err,
        );
        self.last = Some((res.rows, res.columns, text.to_string()));
    }

    /// Whether a query's last command is `timechart` (whose result Splunk shows as a chart).
    fn is_timechart(&self, text: &str) -> bool {
        self.session.parse(text).is_ok_and(|(_, p)| {
            p.stages
                .last()
                .is_some_and(|s| s.command.name() == "timechart")
        })
    }

    /// The chart of rows that are a series, as wide as the shell's tables.
    fn chart_text(&self, rows: &[Event], cols: &[String]) -> Option<String> {
        let s = crate::chart::series(rows, cols)?;
        let width = self.width.map_or(80, usize::from);
        let draw = if self.colour_out {
            crate::chart::terminal_colored
        } else {
            crate::chart::terminal
        };
        Some(draw(&s, width, output::CHART_HEIGHT, self.session.tz))
    }

    /// Print rows in the shell's format, then `chart` (if any), then the row count.
    fn print_rows(
        &self,
        rows: &[Event],
        cols: &[String],
        chart: Option<&str>,
        took: Option<Duration>,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) {
        let mut buf = Vec::new();
        let mut format = self.format;
        // `.format chart` and a result that is not a series: its table, and why
        if format == Format::Chart && crate::chart::series(rows, cols).is_none() {
            self.warn(err, &output::not_a_series(cols).to_string());
            format = Format::Table;
        }
        let (width, chart) = match (format, chart) {
            (Format::Chart, _) => (self.width.or(Some(80)), None),
            (_, c) => (self.width, c),
        };
        let r = match output::render(
            &mut buf,
            rows,
            cols,
            format,
            self.session.tz,
            self.limit,
            width,
        ) {
            Ok(r) => r,
            Err(e) => {
                self.error(err, &format!("cannot show the results: {e}"));
                return;
            }
        };
        let _ = out.write_all(&buf);
        if let Some(c) = chart {
            let _ = out.write_all(c.as_bytes());
        }
        let mut line = format!("{} row{}", r.total, plural(r.total));
        if r.shown < r.total {
            line.push_str(&format!(
                ", {} not shown (.limit off shows all, .save FILE writes all)",
                r.total - r.shown
            ));
        }
        if let (true, Some(t)) = (self.timing, took) {
            line.push_str(&format!(" in {}", elapsed(t)));
        }
        // under a table or chart on the output; with CSV or JSON on the error stream, so that output
        // stays data
        if matches!(format, Format::Table | Format::Chart) {
            if self.colour_out {
                line = format!("{DIM}{line}{RESET}");
            }
            let _ = writeln!(out, "{line}");
        } else {
            let _ = out.flush();
            let _ = writeln!(err, "{line}");
        }
        let _ = out.flush();
    }

    fn meta(&mut self, m: Meta, out: &mut dyn Write, err: &mut dyn Write) -> Flow {
        match m {
            Meta::Quit => return Flow::Quit,
            Meta::Help => {
                let _ = writeln!(out, "Type a search and press Enter; Enter inside an open bracket, quote or macro, or after a final `|`, goes on to the next line.\nA pasted multi-line search runs whole. Tab completes; Ctrl-R searches history; Alt-Enter starts a new line;\nCtrl-C cancels the line or a running search; Ctrl-D quits.\n");
                let w = meta::COMMANDS
                    .iter()
                    .map(|(n, a, _)| n.len() + a.len() + 1)
                    .max()
                    .unwrap_or(0);
                for (n, a, h) in meta::COMMANDS {
                    let usage = if a.is_empty() {
                        n.to_string()
                    } else {
                        format!("{n} {a}")
                    };
                    let _ = writeln!(out, "  {usage:<w$}  {h}");
                }
            }
            Meta::Fields(args) => self.show_fields(&args, out, err),
            Meta::Chart(None) => match &self.last {
                None => self.error(err, "no results yet: run a search first"),
                Some((rows, cols, _)) => match self.chart_text(rows, cols) {
                    Some(c) => {
                        let _ = out.write_all(c.as_bytes());
                    }
                    None => self.error(err, &output::not_a_series(cols).to_string()),
                },
            },
            Meta::Chart(Some(on)) => {
                self.auto_chart = on;
                let _ = writeln!(
                    err,
                    "timechart results drawn as charts: {}",
                    if on { "on" } else { "off" }
                );
            }
            Meta::Pager(on) => {
                self.pager = on;
                let _ = writeln!(err, "pager: {}", if on { "on" } else { "off" });
            }
            Meta::Macros(p) => self.show_macros(p.as_deref(), out, err),
            Meta::Macro(name) => self.show_macro(&name, out, err),
            Meta::Lookups => self.show_lookups(out, err),
            Meta::Data { path, sourcetype } => {
                let was_samples = self.session.using_samples;
                match self.session.add_data(&[DataArg {
                    path,
                    sourcetype,
                    source: None,
                }]) {
                    Ok(n) => {
                        if was_samples {
                            let _ = writeln!(
                                err,
                                "note: the shipped sample events are left out now that data is given"
                            );
                            self.loaded_events = 0;
                        }
                        let _ = writeln!(err, "added {n} file{}", plural(n));
                        self.load(err);
                    }
                    Err(d) => self.error(err, &d.message),
                }
            }
            Meta::Sources => self.show_sources(out, err),
            Meta::Format(f) => {
                self.format = f;
                let _ = writeln!(err, "format: {}", format_name(f));
            }
            Meta::Timing(on) => {
                self.timing = on;
                let _ = writeln!(err, "timing: {}", if on { "on" } else { "off" });
            }
            Meta::Limit(n) => {
                self.limit = n;
                match n {
                    Some(n) => {
                        let _ = writeln!(err, "printing at most {n} row{}", plural(n));
                    }
                    None => {
                        let _ = writeln!(err, "printing all rows");
                    }
                }
            }
            Meta::Expand(q) => {
                let q = if q.trim().is_empty() {
                    match &self.last_query {
                        Some(l) => l.clone(),
                        None => {
                            self.error(err, "no query yet: give one (.expand <query>)");
                            return Flow::Continue;
                        }
                    }
                } else {
                    q
                };
                self.scanned.store(0, Ordering::Relaxed);
                match self.session.expand_subsearches(&q) {
                    Ok((expanded, replaced)) => {
                        let _ = writeln!(out, "{}", expanded.trim_end());
                        if replaced != expanded {
                            let _ = writeln!(out, "\nwith subsearch results formatted:");
                            let _ = writeln!(out, "{}", replaced.trim_end());
                        }
                    }
                    Err(e) => self.diagnostic(err, &e.render()),
                }
            }
            Meta::Save(path) => self.save(&path, err),
        }
        let _ = out.flush();
        Flow::Continue
    }

    /// `.fields [pattern] [sourcetype]`: an argument naming a sourcetype of the events (or written
    /// `sourcetype=X`) picks the events; any other is a field name pattern (`*` wildcards, without case).
    fn show_fields(&mut self, args: &[String], out: &mut dyn Write, err: &mut dyn Write) {
        if self.loaded_events == 0 {
            self.error(err, "no events in memory (.data PATH adds some)");
            return;
        }
        let mut st: Option<String> = None;
        let mut pattern: Option<String> = None;
        for a in args {
            let named = a
                .strip_prefix("sourcetype=")
                .map(str::to_string)
                .or_else(|| {
                    self.vocab
                        .sourcetypes
                        .iter()
                        .find(|x| !a.contains('*') && x.eq_ignore_ascii_case(a))
                        .cloned()
                });
            let slot = if named.is_some() {
                &mut st
            } else {
                &mut pattern
            };
            if slot.is_some() {
                self.error(err, "usage: .fields [pattern] [sourcetype]");
                return;
            }
            *slot = Some(named.unwrap_or_else(|| a.clone()));
        }
        let st = st.as_deref();
        if let Some(s) = st {
            if !self
                .vocab
                .sourcetypes
                .iter()
                .any(|x| x.eq_ignore_ascii_case(s))
            {
                let mut msg = format!("no events of sourcetype `{s}`");
                if let Some(g) =
                    crate::diag::suggest(s, self.vocab.sourcetypes.iter().map(String::as_str))
                {
                    msg.push_str(&format!(" (did you mean `{g}`?)"));
                } else if !self.vocab.sourcetypes.is_empty() {
                    msg.push_str(&format!(
                        " (the events have: {})",
                        self.vocab.sourcetypes.join(", ")
                    ));
                }
                self.error(err, &msg);
                return;
            }
        }
        self.scanned.store(0, Ordering::Relaxed);
        let (total, fs) = {
            let _p = Progress::start(
                self.scanned.clone(),
                Some(self.loaded_events),
                "summarising",
            );
            let scanned = &self.scanned;
            fields::summarize(
                fields::cached_events(&self.session.sources),
                st,
                pattern.as_deref(),
                self.session.tz,
                || {
                    scanned.fetch_add(1, Ordering::Relaxed);
                },
            )
        };
        if let (true, Some(p)) = (fs.is_empty(), &pattern) {
            let mut msg = format!("no field matches `{p}`");
            if let Some(g) = crate::diag::suggest(p, self.vocab.fields.iter().map(String::as_str)) {
                msg.push_str(&format!(" (did you mean `{g}`?)"));
            } else if let Some(g) =
                crate::diag::suggest(p, self.vocab.sourcetypes.iter().map(String::as_str))
            {
                msg.push_str(&format!(
                    ", and no events have that sourcetype (did you mean `{g}`?)"
                ));
            }
            self.error(err, &msg);
            return;
        }
        let (rows, cols) = fields::summary_rows(total, &fs);
        let limit = self.limit;
        self.limit = None;
        self.print_rows(&rows, &cols, None, None, out, err);
        self.limit = limit;
        // under the table on the output (so that it pages with it), on the error stream otherwise
        let to: &mut dyn Write = if self.format == Format::Table {
            out
        } else {
            err
        };
        let _ = writeln!(
            to,
            "{} field{}{} in {} event{}{}",
            fs.len(),
            plural(fs.len()),
            pattern
                .as_deref()
                .map(|p| format!(" matching `{p}`"))
                .unwrap_or_default(),
            total,
            plural(total as usize),
            st.map(|s| format!(" of sourcetype {s}"))
                .unwrap_or_default()
        );
    }

    fn show_macros(&self, pattern: Option<&str>, out: &mut dyn Write, err: &mut dyn Write) {
        let matches = |name: &str| match pattern {
            None => true,
            Some(p) if p.contains('*') => {
                crate::commands::wildcard_match(&p.to_ascii_lowercase(), &name.to_ascii_lowercase())
            }
            Some(p) => name.to_ascii_lowercase().contains(&p.to_ascii_lowercase()),
        };
        let mut rows = Vec::new();
        for d in self.session.macros.iter() {
            if !matches(&d.name) {
                continue;
            }
            let mut e = Event::new();
            e.set("macro", crate::value::Value::str(d.stanza_name()));
            if !d.args.is_empty() {
                e.set("args", crate::value::Value::str(d.args.join(", ")));
            }
            let def = d
                .definition
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let short: String = if def.chars().count() > 70 {
                def.chars().take(69).chain(std::iter::once('…')).collect()
            } else {
                def
            };
            e.set("definition", crate::value::Value::str(short));
            e.set("from", crate::value::Value::str(&d.origin));
            rows.push(e);
        }
        let cols: Vec<String> = ["macro", "args", "definition", "from"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if rows.is_empty() {
            self.error(
                err,
                &format!(
                    "no macro matches `{}` ({} macros are loaded)",
                    pattern.unwrap_or(""),
                    self.session.macros.len()
                ),
            );
            return;
        }
        ReplView::from(self).print(&rows, &cols, out, err);
    }

    fn show_macro(&self, name: &str, out: &mut dyn Write, err: &mut dyn Write) {
        let (base, arity) = match name.split_once('(') {
            Some((b, rest)) => (
                b.trim(),
                rest.trim_end_matches(')').trim().parse::<usize>().ok(),
            ),
            None => (name.trim(), None),
        };
        let found: Vec<_> = self
            .session
            .macros
            .iter()
            .filter(|d| d.name == base && arity.is_none_or(|a| a == d.args.len()))
            .collect();
        if found.is_empty() {
            let names: Vec<String> = self.session.macros.iter().map(|d| d.name.clone()).collect();
            let mut msg = format!("no macro `{name}`");
            if let Some(s) = crate::diag::suggest(base, names.iter().map(String::as_str)) {
                msg.push_str(&format!(" (did you mean `{s}`?)"));
            }
            self.error(err, &msg);
            return;
        }
        for d in found {
            let _ = writeln!(out, "[{}]", d.stanza_name());
            if !d.args.is_empty() {
                let _ = writeln!(out, "args = {}", d.args.join(", "));
            }
            let _ = writeln!(out, "definition = {}", d.definition.trim_end());
            if d.iseval {
                let _ = writeln!(out, "iseval = 1");
            }
            let _ = writeln!(out, "# from {}\n", d.origin);
        }
    }

    fn show_lookups(&self, out: &mut dyn Write, err: &mut dyn Write) {
        let defs: Vec<_> = self.session.lookups.definitions().cloned().collect();
        let mut rows = Vec::new();
        for name in self.session.lookups.names() {
            let def = defs.iter().find(|d| d.name == name);
            // a CSV file that a definition names is listed under the definition
            if def.is_none() && defs.iter().any(|d| d.filename == name) {
                continue;
            }
            let mut e = Event::new();
            e.set("lookup", crate::value::Value::str(&name));
            if let Some(d) = def {
                e.set("table", crate::value::Value::str(&d.filename));
                e.set("from", crate::value::Value::str(&d.origin));
            }
            match self.session.lookups.read(&name) {
                Ok(r) => {
                    e.set("rows", crate::value::Value::Num(r.len() as f64));
                    let cols = output::columns(&r, None);
                    if let Some(c) = crate::value::Value::multi(
                        cols.iter().map(crate::value::Value::str).collect(),
                    ) {
                        e.set("columns", c);
                    }
                }
                Err(d) => e.set("rows", crate::value::Value::str(d.message)),
            }
            rows.push(e);
        }
        let cols: Vec<String> = ["lookup", "table", "rows", "columns", "from"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        ReplView::from(self).print(&rows, &cols, out, err);
    }

    fn show_sources(&self, out: &mut dyn Write, err: &mut dyn Write) {
        let mut rows = Vec::new();
        for s in &self.session.sources {
            let mut e = Event::new();
            e.set("source", crate::value::Value::str(&s.name));
            match &s.content {
                Content::Cached { events, report } => {
                    let mut sts: Vec<(String, u64)> = Vec::new();
                    let mut bytes = 0usize;
                    for ev in events.iter() {
                        let st = ev.get("sourcetype").map(|v| v.text().into_owned());
                        let st = st.unwrap_or_default();
                        match sts.iter_mut().find(|(n, _)| *n == st) {
                            Some((_, c)) => *c += 1,
                            None => sts.push((st, 1)),
                        }
                        bytes += ev.get("_raw").map(|v| v.text().len()).unwrap_or(0);
                    }
                    let sts: Vec<crate::value::Value> = sts
                        .iter()
                        .map(|(n, c)| crate::value::Value::str(format!("{n} ({c})")))
                        .collect();
                    if let Some(v) = crate::value::Value::multi(sts) {
                        e.set("sourcetypes", v);
                    }
                    e.set("events", crate::value::Value::Num(events.len() as f64));
                    e.set("raw bytes", crate::value::Value::Num(bytes as f64));
                    e.set(
                        "malformed lines",
                        crate::value::Value::Num(report.bad_lines as f64),
                    );
                    let mut problems = Vec::new();
                    if let Some((line, why)) = &report.first_bad {
                        problems.push(format!("first at line {line}: {why}"));
                    }
                    if let Some(x) = &report.error {
                        problems.push(x.clone());
                    }
                    if !problems.is_empty() {
                        e.set("problem", crate::value::Value::str(problems.join("; ")));
                    }
                }
                _ => {
                    e.set(
                        "problem",
                        crate::value::Value::str("not in memory: read from disk by each query"),
                    );
                }
            }
            rows.push(e);
        }
        let cols: Vec<String> = [
            "source",
            "sourcetypes",
            "events",
            "raw bytes",
            "malformed lines",
            "problem",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        ReplView::from(self).print(&rows, &cols, out, err);
        if self.session.using_samples {
            let _ = writeln!(
                err,
                "(the shipped sample events: .data PATH or --data PATH searches your own)"
            );
        }
    }

    fn save(&self, path: &std::path::Path, err: &mut dyn Write) {
        let Some((rows, cols, title)) = &self.last else {
            self.error(err, "no results yet: run a search first");
            return;
        };
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
            Some(e) if e.eq_ignore_ascii_case("html") => Format::Html,
            _ => Format::Csv,
        };
        let res = std::fs::File::create(path).and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            output::render_titled(
                &mut w,
                rows,
                cols,
                format,
                self.session.tz,
                None,
                None,
                title,
            )?;
            w.flush()
        });
        match res {
            Ok(()) => {
                let _ = writeln!(
                    err,
                    "wrote {} row{} to {} ({})",
                    rows.len(),
                    plural(rows.len()),
                    path.display(),
                    format_name(format)
                );
            }
            Err(e) => self.error(err, &format!("cannot write `{}`: {e}", path.display())),
        }
    }
}

/// How a listing is printed (the shell's format and width, no row limit).
struct ReplView {
    format: Format,
    limit: Option<usize>,
    width: Option<u16>,
    tz: chrono_tz::Tz,
}

impl From<&Repl> for ReplView {
    fn from(r: &Repl) -> ReplView {
        ReplView {
            format: r.format,
            limit: None,
            width: r.width,
            tz: r.session.tz,
        }
    }
}

impl ReplView {
    fn print(&self, rows: &[Event], cols: &[String], out: &mut dyn Write, err: &mut dyn Write) {
        // columns no row has are left out of listings
        let cols: Vec<String> = cols
            .iter()
            .filter(|c| rows.iter().any(|r| r.contains(c)))
            .cloned()
            .collect();
        if let Err(e) = output::render(
            out,
            rows,
            &cols,
            self.format,
            self.tz,
            self.limit,
            self.width,
        ) {
            let _ = writeln!(err, "error: cannot show the results: {e}");
        }
        let _ = out.flush();
    }
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Table => "table",
        Format::Csv => "csv",
        Format::Json => "json",
        Format::Chart => "chart",
        Format::Html => "html",
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn elapsed(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

/// The commands spelunk parses (others are Splunk's but not supported): a name whose parser is reached
/// is known, whatever its arguments.
pub fn known_commands() -> Vec<String> {
    let mut out: Vec<String> = crate::commands::ALL_COMMANDS
        .iter()
        .filter(|name| {
            let mut c = crate::parse::Cursor::new("");
            !matches!(
                crate::commands::parse_command(name, crate::diag::Span::default(), &mut c),
                Ok(crate::commands::Command::Unsupported(_))
            )
        })
        .map(|s| s.to_string())
        .collect();
    out.sort();
    out
}

/// rustyline's view of the shell: completion, the completeness check, bracket highlighting.
pub struct ReplHelper {
    pub vocab: Vocabulary,
    pub colour: bool,
    files: FilenameCompleter,
    brackets: MatchingBracketHighlighter,
}

impl ReplHelper {
    pub fn new(vocab: Vocabulary, colour: bool) -> ReplHelper {
        ReplHelper {
            vocab,
            colour,
            files: FilenameCompleter::new(),
            brackets: MatchingBracketHighlighter::new(),
        }
    }
}

impl Completer for ReplHelper {
    type Candidate = Pair;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let c = complete::complete(line, pos, &self.vocab);
        if c.filename {
            return self.files.complete(line, pos, ctx);
        }
        Ok((
            c.start,
            c.candidates
                .into_iter()
                .map(|x| Pair {
                    display: x.display,
                    replacement: x.replacement,
                })
                .collect(),
        ))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, pos: usize) -> Cow<'l, str> {
        if self.colour {
            self.brackets.highlight(line, pos)
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_char(&self, line: &str, pos: usize, kind: CmdKind) -> bool {
        self.colour && self.brackets.highlight_char(line, pos, kind)
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if input::is_complete(ctx.input()) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

impl rustyline::Helper for ReplHelper {}

/// The terminal's size, columns and lines. A terminal that reports no size (some pseudo-terminals
/// report 0×0) gets `$COLUMNS` and `$LINES` when they are set, else 80×24.
pub fn terminal_size() -> (u16, u16) {
    let (h, w) = console::Term::stdout().size_checked().unwrap_or((0, 0));
    let from_env = |name: &str, default: u16| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<u16>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(default)
    };
    let w = if w > 0 { w } else { from_env("COLUMNS", 80) };
    let h = if h > 0 { h } else { from_env("LINES", 24) };
    (w, h)
}

/// The width tables may take on the terminal (at least 20 columns, so that a cell keeps a few
/// characters on a very narrow one).
fn terminal_width() -> Option<u16> {
    Some(terminal_size().0.max(20))
}

/// A query's first line, shortened to about 60 characters, to name it in a message.
fn summary(text: &str) -> String {
    let first = text.trim().lines().next().unwrap_or("");
    let mut out: String = first.chars().take(60).collect();
    if out.len() < text.trim().len() {
        out.push_str(" …");
    }
    out
}

/// Start the shell over a session made from `cfg`. `Ok(false)`: entries were read from standard
/// input and one of them failed (the caller exits with status 2; the entries after it still ran).
pub fn start(cfg: &Config, opts: &Options) -> Result<bool, String> {
    let session = Session::new(cfg).map_err(|d| d.render(""))?;
    let stdin_tty = std::io::stdin().is_terminal();
    let stdout_tty = std::io::stdout().is_terminal();
    let mut repl = Repl::new(session, opts);
    repl.colour_out = colour_for(stdout_tty);
    repl.colour_err = colour_for(std::io::stderr().is_terminal());
    repl.width = if stdout_tty { terminal_width() } else { None };
    repl.pager = stdout_tty;

    // Ctrl-C: while an entry runs it cancels it. While rustyline reads, the terminal is in raw mode and
    // Ctrl-C arrives as a key (it clears the line); read from a pipe, it ends the program as usual.
    let busy = Arc::new(AtomicBool::new(true));
    {
        let busy = busy.clone();
        let cancel = repl.cancel;
        let _ = ctrlc::set_handler(move || {
            if busy.load(Ordering::SeqCst) {
                cancel.set(true);
            } else if !stdin_tty {
                std::process::exit(130);
            }
        });
    }

    {
        // not locked: the progress indicator writes to stderr from its own thread meanwhile
        let mut err = std::io::stderr();
        if stdin_tty {
            let _ = writeln!(
                err,
                "spelunk {} — type a search, .help for commands, Ctrl-D to quit",
                env!("CARGO_PKG_VERSION")
            );
        }
        if repl.session.using_samples {
            let _ = writeln!(
                err,
                "no --data given: searching the shipped sample events (try `cloudtrail` | stats count by eventName)"
            );
        }
        repl.load(&mut err);
    }
    busy.store(false, Ordering::SeqCst);
    if stdin_tty {
        interactive(&mut repl, &busy).map(|()| true)
    } else {
        // a problem while loading the inputs was reported and is not an entry's failure
        repl.failed.set(false);
        piped(&mut repl, &busy).map(|()| !repl.failed.get())
    }
}

fn run_entry(repl: &mut Repl, busy: &AtomicBool, entry: &str) -> Flow {
    busy.store(true, Ordering::SeqCst);
    // not locked: the progress indicator writes to stderr from its own thread meanwhile
    let flow = repl.eval(entry, &mut std::io::stdout(), &mut std::io::stderr());
    busy.store(false, Ordering::SeqCst);
    flow
}

/// An entry typed at the terminal: its output is kept until it ends, then shown in the pager when it
/// is taller than the screen (with `.pager on`), else printed.
fn run_paged(repl: &mut Repl, busy: &AtomicBool, entry: &str) -> Flow {
    if !repl.pager {
        return run_entry(repl, busy, entry);
    }
    busy.store(true, Ordering::SeqCst);
    let mut buf = Vec::new();
    let flow = repl.eval(entry, &mut buf, &mut std::io::stderr());
    busy.store(false, Ordering::SeqCst);
    let (w, h) = terminal_size();
    let text = String::from_utf8_lossy(&buf);
    let tall = text.lines().count() >= usize::from(h.saturating_sub(1));
    let mut out = std::io::stdout();
    if tall && pager::page(&text, w, h).is_ok() {
        // the pager's screen is gone: the line under the result (its row count) stays in view
        if let Some(last) = text.lines().rev().find(|l| !l.trim().is_empty()) {
            if !last.starts_with(['└', '╰', '+', '─']) {
                let _ = writeln!(out, "{last}");
            }
        }
    } else {
        let _ = out.write_all(&buf);
    }
    let _ = out.flush();
    flow
}

/// Entries from a pipe or file: no editing, no history.
fn piped(repl: &mut Repl, busy: &AtomicBool) -> Result<(), String> {
    let mut splitter = input::Splitter::new();
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| format!("error: cannot read standard input: {e}"))?;
        for entry in splitter.push_line(&line) {
            if run_entry(repl, busy, &entry) == Flow::Quit {
                return Ok(());
            }
        }
    }
    if let Some(entry) = splitter.finish() {
        run_entry(repl, busy, &entry);
    }
    Ok(())
}

fn interactive(repl: &mut Repl, busy: &AtomicBool) -> Result<(), String> {
    let config = rustyline::Config::builder()
        .max_history_size(5000)
        .and_then(|b| b.history_ignore_dups(true))
        .map_err(|e| format!("error: {e}"))?
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .bracketed_paste(true)
        .build();
    let mut rl: Editor<ReplHelper, FileHistory> =
        Editor::with_config(config).map_err(|e| format!("error: cannot start the editor: {e}"))?;
    rl.set_helper(Some(ReplHelper::new(repl.vocab.clone(), repl.colour_out)));
    rl.bind_sequence(
        KeyEvent(KeyCode::Enter, Modifiers::ALT),
        EventHandler::Simple(Cmd::Newline),
    );
    let history = history_path();
    if let Some(p) = &history {
        if let Some(dir) = p.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if p.exists() {
            if let Err(e) = rl.load_history(p) {
                repl.warn(
                    &mut std::io::stderr(),
                    &format!("cannot read history `{}`: {e}", p.display()),
                );
            }
        }
    }
    let prompt = if repl.colour_out {
        (
            "spelunk> ".to_string(),
            format!("{BOLD}\x1b[32mspelunk>{RESET} "),
        )
    } else {
        ("spelunk> ".to_string(), "spelunk> ".to_string())
    };
    loop {
        match rl.readline(&prompt) {
            Ok(line) => {
                let entry = line.trim_end();
                if entry.trim().is_empty() {
                    continue;
                }
                let _ = rl.add_history_entry(entry);
                if let Some(p) = &history {
                    // written after each entry, so that nothing is lost if the terminal goes away
                    if let Err(e) = rl.history_mut().append(p) {
                        repl.warn(
                            &mut std::io::stderr(),
                            &format!("cannot write history `{}`: {e}", p.display()),
                        );
                    }
                }
                if std::io::stdout().is_terminal() {
                    repl.width = terminal_width();
                }
                let flow = run_paged(repl, busy, entry);
                if let Some(h) = rl.helper_mut() {
                    h.vocab = repl.vocab.clone();
                }
                if flow == Flow::Quit {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(format!("error: cannot read input: {e}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
