//! The `spelunk` command line.

use clap::{Args, Parser, Subcommand};
use spelunk::diag::Diagnostic;
use spelunk::input::DataArg;
use spelunk::output::{self, Format};
use spelunk::session::{find_detection, Config, Session};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Counts the memory held, so that a query can stop with an error at `--max-memory`.
#[global_allocator]
static ALLOC: spelunk::limits::CountingAlloc = spelunk::limits::CountingAlloc;

#[derive(Parser)]
#[command(
    name = "spelunk",
    version,
    about = "Run Splunk SPL searches — published detections as written — over local event files",
    long_about = "Run Splunk SPL searches — published detections as written — over local event files.\n\nWithout a subcommand, spelunk starts the interactive shell (the same as `spelunk repl`).",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Options of the interactive shell started when no subcommand is given.
    #[command(flatten)]
    repl: ReplArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run one search and print its rows.
    Run(RunArgs),
    /// Print one SQL statement that computes the rows `run` would print (for DuckDB).
    Sql(SqlArgs),
    /// Interactive shell: type or paste searches, explore fields, macros and lookups (the default).
    Repl(ReplArgs),
    /// Check detections statically: parse them and list what spelunk cannot run yet.
    Check(spelunk::check::CheckArgs),
    /// Run detection test cases and compare their rows with the expected ones.
    Test(spelunk::testing::TestArgs),
}

#[derive(Args)]
struct ReplArgs {
    /// Output format of results; default: table.
    #[arg(long, value_parser = ["table", "csv", "json"])]
    format: Option<String>,
    /// Print at most N rows of each result (0: all); default 100.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Clone)]
struct Common {
    /// Event file, folder (read recursively) or glob; repeatable. Without it, the shipped sample events.
    #[arg(long, value_name = "PATH")]
    data: Vec<String>,
    /// Sourcetype of the --data paths given just before it (or, given first, of those after it); otherwise sniffed per event.
    #[arg(long, value_name = "ST")]
    sourcetype: Vec<String>,
    /// `source` of the --data paths it goes with (placed as --sourcetype is); otherwise the path, or XmlWinEventLog:<Channel> for Windows events.
    #[arg(long, value_name = "SRC")]
    source: Vec<String>,
    /// Macro definitions: a macros.conf, a security_content-style .yml, or a folder of them; repeatable, later wins.
    #[arg(long, value_name = "PATH")]
    macros: Vec<PathBuf>,
    /// Lookup folder (definitions .yml / transforms.conf and CSV tables); repeatable, later wins.
    #[arg(long, value_name = "DIR")]
    lookups: Vec<PathBuf>,
    /// More search-time knowledge: an add-on folder (its default/ .conf files), a props.conf, or an
    /// eventtypes.conf / tags.conf by name; repeatable, later wins.
    #[arg(long, value_name = "FILE")]
    props: Vec<PathBuf>,
    /// Data model definitions in Splunk's JSON (an add-on's default/data/models/ folder or *.json files);
    /// a model replaces the shipped one of the same name; repeatable.
    #[arg(long, value_name = "PATH")]
    datamodels: Vec<PathBuf>,
    /// A security_content checkout: load its macros/ and lookups/; a bare NAME then runs that detection.
    #[arg(long, value_name = "DIR")]
    content: Option<PathBuf>,
    /// Time zone for showing times and for strftime/ctime (e.g. America/New_York); default UTC.
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
    /// Pin now() to this epoch time (seconds), for reproducible runs.
    #[arg(long, value_name = "EPOCH")]
    now: Option<f64>,
    /// Value of the `host` field of events.
    #[arg(long, default_value = "spelunk")]
    host: String,
    /// Value of the `index` field of events.
    #[arg(long, default_value = "main")]
    index: String,
    /// GeoIP City database (MaxMind .mmdb) for `iplocation`; else the SPELUNK_GEOIP environment variable.
    #[arg(long, value_name = "FILE")]
    geoip: Option<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Limits (Splunk's limits.conf defaults).
#[derive(Args, Clone)]
struct LimitArgs {
    /// Rows a subsearch gives at most; more are dropped with a warning.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10_000,
        help_heading = "Limits"
    )]
    subsearch_maxout: usize,
    /// Seconds a subsearch may run; it is then stopped and its rows so far are used, with a warning.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60.0,
        help_heading = "Limits"
    )]
    subsearch_maxtime: f64,
    /// Rows `join` takes from its subsearch.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 50_000,
        help_heading = "Limits"
    )]
    join_maxout: usize,
    /// Distinct values `values()` keeps (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 0, help_heading = "Limits")]
    max_values: usize,
    /// Values `list()` keeps.
    #[arg(long, value_name = "N", default_value_t = 100, help_heading = "Limits")]
    list_maxsize: usize,
    /// Megabytes of rows `mvexpand` makes before it stops expanding, with a warning.
    #[arg(
        long,
        value_name = "MB",
        default_value_t = 500,
        help_heading = "Limits"
    )]
    mvexpand_max_mem: u64,
    /// Megabytes the query may hold; it then stops with an error (default: 3/4 of the machine's memory; 0: no limit).
    #[arg(long, value_name = "MB", help_heading = "Limits")]
    max_memory: Option<u64>,
    /// Megabytes of the longest text an `eval` expression may make.
    #[arg(
        long,
        value_name = "MB",
        default_value_t = 100,
        help_heading = "Limits"
    )]
    max_eval_text: u64,
}

impl LimitArgs {
    fn limits(&self) -> Result<spelunk::limits::Limits, Diagnostic> {
        use spelunk::limits::{Limits, MB};
        if !(self.subsearch_maxtime.is_finite() && self.subsearch_maxtime >= 0.0) {
            return Err(Diagnostic::new(
                "--subsearch-maxtime takes a number of seconds (0 or more)",
            ));
        }
        let d = Limits::default();
        Ok(Limits {
            subsearch_maxout: self.subsearch_maxout,
            subsearch_maxtime: std::time::Duration::from_secs_f64(self.subsearch_maxtime),
            join_maxout: self.join_maxout,
            max_values: self.max_values,
            list_maxsize: self.list_maxsize,
            mvexpand_max_mem: self.mvexpand_max_mem.saturating_mul(MB),
            max_memory: self
                .max_memory
                .map_or(d.max_memory, |m| m.saturating_mul(MB)),
            max_eval_text: usize::try_from(self.max_eval_text.saturating_mul(MB))
                .unwrap_or(usize::MAX),
            cancel: d.cancel,
        })
    }
}

/// The search of `run` and `sql`: its text, or the file it is in.
#[derive(Args)]
struct QueryArgs {
    /// The search text (or, with --content, a detection's name or file stem).
    query: Option<String>,
    /// Read the search from a file (`-` for standard input).
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "query"
    )]
    file: Option<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    search: QueryArgs,
    /// Output format; default: table on a terminal, csv otherwise. `chart` draws a series (a result
    /// whose first column is `_time` or a text category and whose others are numbers); `html` is a page
    /// with that chart and the table.
    #[arg(long, value_parser = ["table", "csv", "json", "chart", "html"])]
    format: Option<String>,
    /// Print at most N rows (0: all).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Where the search runs: spelunk itself, or DuckDB (the SQL `spelunk sql` writes, run by the
    /// `duckdb` command or Python's duckdb module; CSV output).
    #[arg(long, default_value = "spelunk", value_parser = ["spelunk", "duckdb"])]
    engine: String,
    /// With --content: run an analytic story's searches in order — its baselines, then its detections —
    /// printing each one's rows under its name.
    #[arg(
        long,
        value_name = "NAME",
        requires = "content",
        conflicts_with_all = ["query", "file"]
    )]
    story: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct SqlArgs {
    #[command(flatten)]
    search: QueryArgs,
    /// The SQL dialect: duckdb or spark.
    #[arg(long, default_value = "duckdb", value_name = "NAME")]
    dialect: String,
    /// Read the events in the statement from PATH (a path, glob or URL the engine reads, such as
    /// s3://bucket/AWSLogs/*/CloudTrail/*/2024/*/*/*.json.gz) instead of the --data files, which then
    /// stand for them: a local sample of the same logs. Repeatable.
    #[arg(long = "read", value_name = "PATH")]
    read: Vec<String>,
    #[command(flatten)]
    common: Common,
}

/// The search text of `run` and `sql`: the query, a file's text, standard input, or (with --content)
/// the search of the detection the query names.
fn query_text(search: &QueryArgs, cfg: &Config) -> Result<String, String> {
    Ok(match (&search.file, &search.query) {
        (Some(f), _) if f.as_os_str() == "-" => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .map_err(|e| format!("error: cannot read standard input: {e}"))?;
            s
        }
        (Some(f), _) => std::fs::read_to_string(f)
            .map_err(|e| format!("error: cannot read `{}`: {e}", f.display()))?,
        (None, Some(q)) => match &cfg.content {
            Some(content) if looks_like_a_name(q) => {
                let (path, search) = find_detection(content, q).map_err(|d| d.render(""))?;
                eprintln!("running `{}`", path.display());
                search
            }
            _ => q.clone(),
        },
        (None, None) => {
            return Err(
                "error: give a search (`spelunk run '<search>'`), a file (`-f FILE.spl`), or with --content a detection's name or --story NAME".into(),
            )
        }
    })
}

fn sql(args: SqlArgs, m: &clap::ArgMatches) -> Result<ExitCode, String> {
    let dialect = spelunk::sql::Dialect::parse(&args.dialect).map_err(|e| format!("error: {e}"))?;
    let cfg = config(m, &args.common).map_err(|d| d.render(""))?;
    let text = query_text(&args.search, &cfg)?;
    let session = Session::new(&cfg).map_err(|d| d.render(""))?;
    if session.using_samples && args.read.is_empty() {
        eprintln!(
            "note: no --data given: the SQL reads the shipped sample events (samples/cloudtrail)"
        );
    }
    let statement = session
        .sql_reading(&text, dialect, false, &args.read)
        .map_err(|e| e.render())?;
    println!("{statement};");
    Ok(ExitCode::SUCCESS)
}

/// Pair each --data with the --sourcetype and the --source given with it (see the options' help).
fn data_args(m: &clap::ArgMatches, c: &Common) -> Vec<DataArg> {
    let paths: Vec<String> = c.data.clone();
    let mut out: Vec<DataArg> = paths
        .iter()
        .map(|p| DataArg {
            path: p.clone(),
            ..DataArg::default()
        })
        .collect();
    for (k, st) in attach(m, "sourcetype", &c.sourcetype) {
        if let Some(a) = out.get_mut(k) {
            a.sourcetype = Some(st);
        }
    }
    for (k, src) in attach(m, "source", &c.source) {
        if let Some(a) = out.get_mut(k) {
            a.source = Some(src);
        }
    }
    out
}

/// Which --data (by position) each value of `option` applies to: the --data paths given just before
/// it that no earlier value took, or, when none is waiting, the paths after it up to its next value.
fn attach(m: &clap::ArgMatches, option: &str, values: &[String]) -> Vec<(usize, String)> {
    let di: Vec<usize> = m
        .indices_of("data")
        .map(|i| i.collect())
        .unwrap_or_default();
    let si: Vec<usize> = m
        .indices_of(option)
        .map(|i| i.collect())
        .unwrap_or_default();
    let mut events: Vec<(usize, bool, usize)> =
        di.iter().enumerate().map(|(k, &i)| (i, true, k)).collect();
    events.extend(si.iter().enumerate().map(|(k, &i)| (i, false, k)));
    events.sort();
    let mut out = Vec::new();
    let mut pending: Vec<usize> = Vec::new();
    let mut forward: Option<String> = None;
    for (_, is_data, k) in events {
        if is_data {
            match &forward {
                Some(v) => out.push((k, v.clone())),
                None => pending.push(k),
            }
        } else if let Some(v) = values.get(k) {
            if pending.is_empty() {
                forward = Some(v.clone());
            } else {
                for p in pending.drain(..) {
                    out.push((p, v.clone()));
                }
            }
        }
    }
    out
}

fn config(m: &clap::ArgMatches, c: &Common) -> Result<Config, Diagnostic> {
    let tz = match &c.tz {
        Some(z) => Some(z.parse::<chrono_tz::Tz>().map_err(|_| {
            Diagnostic::new(format!(
                "unknown time zone `{z}` (use a name such as UTC or Europe/Paris)"
            ))
        })?),
        None => None,
    };
    Ok(Config {
        data: data_args(m, c),
        macros: c.macros.clone(),
        lookups: c.lookups.clone(),
        props: c.props.clone(),
        datamodels: c.datamodels.clone(),
        content: c.content.clone(),
        tz,
        now: c.now,
        read: spelunk::input::ReadOptions {
            host: c.host.clone(),
            index: c.index.clone(),
        },
        limits: c.limits.limits()?,
    })
}

/// With `--content`, a detection's name ("Detect API activity from users without MFA") or file stem rather
/// than search text: one line, no pipe, no `field=value`, no macro, subsearch or quotes.
fn looks_like_a_name(q: &str) -> bool {
    !q.trim().is_empty() && !q.contains(['|', '=', '`', '[', '"', '\n'])
}

fn run(args: RunArgs, m: &clap::ArgMatches) -> Result<ExitCode, String> {
    let cfg = config(m, &args.common).map_err(|d| d.render(""))?;
    // 0 means all rows
    let limit = args.limit.filter(|&n| n > 0);
    if let (Some(story), Some(content)) = (&args.story, &cfg.content) {
        return run_story(&cfg, content, story, args.format.as_deref(), limit);
    }
    let text = query_text(&args.search, &cfg)?;
    let session = Session::new(&cfg).map_err(|d| d.render(""))?;
    if session.using_samples {
        eprintln!(
            "note: no --data given: searching the shipped sample events (samples/cloudtrail)"
        );
    }
    let stdout = std::io::stdout();
    let is_tty = stdout.is_terminal();
    let format: Format = match &args.format {
        Some(f) => f.parse().map_err(|e: String| format!("error: {e}"))?,
        None if is_tty => Format::Table,
        None => Format::Csv,
    };
    if args.engine == "duckdb" {
        let statement = session
            .sql(&text, spelunk::sql::Dialect::DuckDb, true)
            .map_err(|e| e.render())?;
        let rows = spelunk::engine::run_in_duckdb(&statement).map_err(|e| format!("error: {e}"))?;
        let columns = output::columns(&rows, session.fixed_columns(&text).as_deref());
        let mut lock = stdout.lock();
        let res = output::render_titled(
            &mut lock,
            &rows,
            &columns,
            format,
            session.tz,
            limit,
            chart_width(format, is_tty),
            &text,
        );
        return match res.and_then(|_| lock.flush()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(output_error(e)),
            _ => Ok(ExitCode::SUCCESS),
        };
    }
    // CSV and JSON of a search whose columns are known up front are printed while it runs
    if matches!(format, Format::Csv | Format::Json) {
        if let Some(cols) = session.fixed_columns(&text) {
            let mut lock = stdout.lock();
            let mut streamer =
                match output::Streamer::new(&mut lock, cols, format, session.tz, limit) {
                    Ok(s) => s,
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                        return Ok(ExitCode::SUCCESS)
                    }
                    Err(e) => return Err(format!("error: cannot write output: {e}")),
                };
            let result = session.run_into(&text, &mut streamer);
            let closed = streamer.closed;
            let written = match &result {
                Ok(_) => streamer.finish(),
                Err(_) => streamer.flush(),
            };
            let (shown, total) = (streamer.shown, streamer.total);
            drop(streamer);
            let out = match result {
                Ok(out) => out,
                Err(_) if closed => return Ok(ExitCode::SUCCESS),
                Err(e) => return Err(e.render()),
            };
            match written {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    return Ok(ExitCode::SUCCESS)
                }
                Err(e) => return Err(format!("error: cannot write output: {e}")),
                Ok(()) => {}
            }
            report(&out);
            if shown < total {
                eprintln!("note: {shown} of {total} rows printed (--limit)");
            }
            return Ok(ExitCode::SUCCESS);
        }
    }
    let out = session.run(&text).map_err(|e| e.render())?;
    report(&out);
    let mut lock = stdout.lock();
    let res = output::render_titled(
        &mut lock,
        &out.rows,
        &out.columns,
        format,
        session.tz,
        limit,
        chart_width(format, is_tty),
        &text,
    );
    match res {
        Ok(r) => {
            let _ = lock.flush();
            if format == Format::Table && is_tty {
                let more = if r.shown < r.total {
                    format!(" ({} not shown)", r.total - r.shown)
                } else {
                    String::new()
                };
                eprintln!(
                    "{} row{}{more}",
                    r.total,
                    if r.total == 1 { "" } else { "s" }
                );
            } else if r.shown < r.total {
                eprintln!("note: {} of {} rows printed (--limit)", r.shown, r.total);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(output_error(e)),
    }
}

/// A `--format chart` on a terminal is as wide as the terminal; else `render`'s 80 columns.
fn chart_width(format: Format, is_tty: bool) -> Option<u16> {
    if format == Format::Chart && is_tty {
        console::Term::stdout().size_checked().map(|(_, w)| w)
    } else {
        None
    }
}

/// The message of an output error: a result the format cannot show (a chart of rows that are not a
/// series) says so; anything else could not be written.
fn output_error(e: std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::InvalidInput {
        format!("error: {e}")
    } else {
        format!("error: cannot write output: {e}")
    }
}

/// `run --story`: each search of the story, in order, under a line naming it; a search that fails is
/// reported on stderr and the others still run (the exit code is then 2).
fn run_story(
    cfg: &Config,
    content: &std::path::Path,
    story: &str,
    format: Option<&str>,
    limit: Option<usize>,
) -> Result<ExitCode, String> {
    let (name, searches) =
        spelunk::session::story_searches(content, story).map_err(|d| d.render(""))?;
    if searches.is_empty() {
        return Err(format!(
            "error: no detection or baseline names the analytic story `{name}` in its tags"
        ));
    }
    let session = Session::new(cfg).map_err(|d| d.render(""))?;
    if session.using_samples {
        eprintln!(
            "note: no --data given: searching the shipped sample events (samples/cloudtrail)"
        );
    }
    let stdout = std::io::stdout();
    let format: Format = match format {
        Some(f) => f.parse().map_err(|e: String| format!("error: {e}"))?,
        None if stdout.is_terminal() => Format::Table,
        None => Format::Csv,
    };
    if format == Format::Html {
        return Err(
            "error: --format html writes one page for one search: run the story's searches one by one"
                .to_string(),
        );
    }
    eprintln!(
        "story `{name}`: {} search{}",
        searches.len(),
        if searches.len() == 1 { "" } else { "es" }
    );
    let mut failed = 0;
    for (i, c) in searches.iter().enumerate() {
        let title = format!("== {} {}: {}", c.kind, i + 1, c.name);
        let result = match &c.search {
            Some(text) => session.run(text).map_err(|e| e.render()),
            None => Err(format!("error: `{}` has no `search`", c.path.display())),
        };
        match result {
            Ok(out) => {
                let mut lock = stdout.lock();
                let written = writeln!(lock, "{}{title}", if i > 0 { "\n" } else { "" })
                    .and_then(|_| {
                        output::render(
                            &mut lock,
                            &out.rows,
                            &out.columns,
                            format,
                            session.tz,
                            limit,
                            chart_width(format, stdout.is_terminal()),
                        )
                    })
                    .and_then(|r| {
                        lock.flush()?;
                        Ok(r)
                    });
                drop(lock);
                match written {
                    Ok(r) => {
                        report(&out);
                        eprintln!(
                            "{title}: {} row{}{}",
                            r.total,
                            if r.total == 1 { "" } else { "s" },
                            if r.shown < r.total {
                                format!(" ({} printed, --limit)", r.shown)
                            } else {
                                String::new()
                            }
                        );
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                        return Ok(ExitCode::SUCCESS)
                    }
                    // a search whose result has no chart: reported, and the others still run
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                        failed += 1;
                        eprintln!("{title} ({})", c.path.display());
                        eprintln!("{}", output_error(e));
                    }
                    Err(e) => return Err(format!("error: cannot write output: {e}")),
                }
            }
            Err(msg) => {
                failed += 1;
                eprintln!("{title} ({})", c.path.display());
                eprint!("{msg}");
                if !msg.ends_with('\n') {
                    eprintln!();
                }
            }
        }
    }
    if failed > 0 {
        eprintln!(
            "{failed} of {} searches of `{name}` could not run",
            searches.len()
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// Notes and warnings of a finished search, on stderr.
fn report(out: &spelunk::session::QueryOutput) {
    for f in &out.defaulted_filters {
        eprintln!("note: macro `{f}` has no definition: treated as an empty filter (security_content defines each *_filter macro as `search *`)");
    }
    for r in &out.reports {
        if let Some(p) = r.problem() {
            eprintln!("warning: {p}");
        }
    }
    for w in &out.warnings {
        eprintln!("warning: {w}");
    }
}

fn repl(args: ReplArgs, m: &clap::ArgMatches) -> Result<ExitCode, String> {
    let cfg = config(m, &args.common).map_err(|d| d.render(""))?;
    let format = match &args.format {
        Some(f) => Some(f.parse().map_err(|e: String| format!("error: {e}"))?),
        None => None,
    };
    let opts = spelunk::repl::Options {
        format,
        limit: args.limit,
    };
    if spelunk::repl::start(&cfg, &opts)? {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(2))
    }
}

fn main() -> ExitCode {
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Some(Cmd::Run(args)) => {
            if let Some(g) = &args.common.geoip {
                // `iplocation` reads its database path from the environment; set here, before
                // anything else runs, the option wins over an inherited variable
                std::env::set_var(spelunk::commands::iplocation::GEOIP_ENV, g);
            }
            let sub = matches
                .subcommand_matches("run")
                .cloned()
                .unwrap_or_default();
            run(args, &sub)
        }
        Some(Cmd::Sql(args)) => {
            let sub = matches
                .subcommand_matches("sql")
                .cloned()
                .unwrap_or_default();
            sql(args, &sub)
        }
        Some(Cmd::Repl(args)) => {
            let sub = matches
                .subcommand_matches("repl")
                .cloned()
                .unwrap_or_default();
            repl(args, &sub)
        }
        Some(Cmd::Check(args)) => spelunk::check::main(args),
        Some(Cmd::Test(args)) => spelunk::testing::main(args),
        None => repl(cli.repl, &matches),
    };
    match result {
        Ok(code) => code,
        Err(msg) => {
            eprint!("{msg}");
            if !msg.ends_with('\n') {
                eprintln!();
            }
            ExitCode::from(2)
        }
    }
}
