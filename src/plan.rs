//! Running a parsed pipeline: subsearches first (their rows formatted into search terms, as Splunk's
//! implied `format` does), then events from the inputs — or the rows of a generating command — pushed
//! through one operator per stage.

use crate::commands::search::Matcher;
use crate::commands::{Command, Context, Kind, Need, Operator, SubRunner};
use crate::diag::{Diagnostic, Result};
use crate::event::Event;
use crate::input::json::Projection;
use crate::input::DEFAULT_FIELDS;
use crate::input::{
    EventBuilder, FileReport, RawLiteral, ReadOptions, ReadPlan, Source, UnitReport,
};
use crate::parse::{Pipeline, Stage};
use crate::props::Knowledge;
use std::collections::HashSet;
use std::ops::ControlFlow;

/// Splunk's default cap on subsearch rows (limits.conf `maxout`).
pub const SUBSEARCH_MAXOUT: usize = 10_000;

/// What a pipeline runs against.
pub struct Env<'a> {
    pub ctx: &'a Context<'a>,
    pub knowledge: &'a Knowledge,
    pub sources: &'a [Source],
    pub read: &'a ReadOptions,
    pub subsearch_maxout: usize,
    /// Reports of inputs read by sub-pipelines (`append [...]` ...).
    pub sub_reports: std::sync::Mutex<Vec<FileReport>>,
    /// Lets an interactive caller follow and stop the reading.
    pub watch: Watch,
}

/// Counts the events read from the inputs and stops the reading once `cancel` is set: the REPL shows a
/// progress indicator from the count and sets `cancel` on Ctrl-C. Both are optional (the CLI sets neither).
#[derive(Clone, Debug, Default)]
pub struct Watch {
    pub cancel: crate::limits::Cancel,
    pub scanned: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    /// When a subsearch's reading stops (Splunk's subsearch `maxtime`): its rows so far are used.
    pub deadline: Option<std::time::Instant>,
}

/// The message of the error a cancelled query ends with.
pub const CANCELLED: &str = crate::limits::CANCELLED;

impl Watch {
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_set()
    }

    fn expired(&self) -> bool {
        self.deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
    }

    fn count(&self) {
        if let Some(s) = &self.scanned {
            s.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

impl<'a> Env<'a> {
    /// The environment of a subsearch: reading stops at Splunk's subsearch `maxtime` from now.
    fn for_subsearch(&self) -> Env<'a> {
        Env {
            ctx: self.ctx,
            knowledge: self.knowledge,
            sources: self.sources,
            read: self.read,
            subsearch_maxout: self.subsearch_maxout,
            sub_reports: Default::default(),
            watch: Watch {
                deadline: Some(std::time::Instant::now() + self.ctx.limits.subsearch_maxtime),
                ..self.watch.clone()
            },
        }
    }
}

impl SubRunner for Env<'_> {
    fn run(&self, p: &Pipeline) -> Result<Vec<Event>> {
        let mut p = p.clone();
        let sub = self.for_subsearch();
        let mut rows = Vec::new();
        let mut res = run_with(&mut p, &sub, None, &mut rows)?;
        res.rows = rows;
        if let Ok(mut r) = sub.sub_reports.lock() {
            res.reports.append(&mut r);
        }
        if let Ok(mut r) = self.sub_reports.lock() {
            r.extend(res.reports);
        }
        Ok(res.rows)
    }

    fn run_over(&self, p: &Pipeline, rows: Vec<Event>) -> Result<Vec<Event>> {
        let mut p = p.clone();
        let mut out = Vec::new();
        run_with(&mut p, self, Some(rows), &mut out)?;
        Ok(out)
    }

    fn compile(&self, p: &Pipeline) -> Result<Box<dyn Operator>> {
        let mut p = p.clone();
        let mut reports = Vec::new();
        resolve_subsearches(&mut p, self, &mut reports)?;
        if let Ok(mut r) = self.sub_reports.lock() {
            r.extend(reports);
        }
        let ops: Vec<Box<dyn Operator>> = p
            .stages
            .iter()
            .enumerate()
            .map(|(i, s)| build(s, self, i == 0))
            .collect::<Result<_>>()?;
        let bufs = ops.iter().map(|_| Vec::new()).collect();
        Ok(Box::new(Chain {
            ops,
            bufs,
            cancel: self.watch.cancel,
        }))
    }
}

/// A compiled pipeline as one operator.
struct Chain {
    ops: Vec<Box<dyn Operator>>,
    bufs: Vec<Vec<Event>>,
    cancel: crate::limits::Cancel,
}

impl Operator for Chain {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        feed(&mut self.ops, &mut self.bufs, ev, out)
    }
    fn finish(&mut self, out: &mut Vec<Event>) -> Result<()> {
        finish(&mut self.ops, &mut self.bufs, out, self.cancel, None)
    }
    fn finish_with(&mut self, out: &mut Vec<Event>, sub: &dyn SubRunner) -> Result<()> {
        finish(&mut self.ops, &mut self.bufs, out, self.cancel, Some(sub))
    }
}

/// Rows and what reading produced.
#[derive(Default)]
pub struct RunResult {
    pub rows: Vec<Event>,
    pub reports: Vec<FileReport>,
}

/// Format subsearch rows as search terms: `( ( f1="v1" AND f2="v2" ) OR ( ... ) )`; `NOT ()` for none.
/// Internal fields (`_` prefix) are left out; a field named `search` or `query` is inserted as it is.
pub fn format_rows(rows: &[Event]) -> String {
    crate::commands::format::Format::default().text(rows)
}

/// Run every subsearch in the pipeline and replace it by its formatted rows: in a search expression, and
/// in the text of `where` and `eval`, which is then parsed (Splunk substitutes the subsearch's text before
/// it reads the expression).
pub fn resolve_subsearches(
    p: &mut Pipeline,
    env: &Env,
    reports: &mut Vec<FileReport>,
) -> Result<()> {
    for stage in &mut p.stages {
        if let Some(spec) = stage.command.spec_mut() {
            spec.resolve_subsearches(&mut |p| subsearch_rows(p, env, reports))?;
        }
    }
    Ok(())
}

/// A subsearch's rows, run with the subsearch limits: reading stops at `maxtime`, rows past `maxout`
/// are dropped with a warning.
fn subsearch_rows(p: &Pipeline, env: &Env, reports: &mut Vec<FileReport>) -> Result<Vec<Event>> {
    let mut inner = p.clone();
    let mut res = run(&mut inner, &env.for_subsearch())?;
    reports.append(&mut res.reports);
    if res.rows.len() > env.subsearch_maxout {
        env.ctx.warn(format!(
            "subsearch produced {} rows; only the first {} are used (Splunk's subsearch limit)",
            res.rows.len(),
            env.subsearch_maxout
        ));
        res.rows.truncate(env.subsearch_maxout);
    }
    Ok(res.rows)
}

fn build(stage: &Stage, env: &Env, first: bool) -> Result<Box<dyn Operator>> {
    let spec = stage.command.spec();
    // a piece the command parsed but cannot run (`sparkline`, a PCRE-only regex)
    // `eventtype=`/`tag=` conditions are refused by what the loaded knowledge defines
    let refusals = spec.refusals_in(&crate::commands::Known {
        names: env.knowledge,
        datamodels: env.ctx.datamodels,
    });
    if let Some(r) = refusals.into_iter().next() {
        return Err(Diagnostic::at(r.reason, r.span));
    }
    if spec.kind() == Kind::Generating && !first {
        let name = stage.command.name();
        return Err(Diagnostic::at(
            format!("`{name}` makes its own rows: it must be the first command (`| {name} ...`)"),
            stage.name_span,
        ));
    }
    spec.operator(env.ctx, env)
}

/// Where the rows that come out of a pipeline go: kept (a `Vec`), or handed on as they come (the CLI
/// prints a `table` of known columns while the search runs, so memory does not grow with the rows).
pub trait RowSink {
    fn put(&mut self, ev: Event) -> Result<()>;
}

impl RowSink for Vec<Event> {
    fn put(&mut self, ev: Event) -> Result<()> {
        self.push(ev);
        Ok(())
    }
}

/// Push one row through `ops`; what comes out of the last lands in `sink`.
fn feed(
    ops: &mut [Box<dyn Operator>],
    bufs: &mut [Vec<Event>],
    ev: Event,
    sink: &mut dyn RowSink,
) -> Result<()> {
    let (Some((op, rest_ops)), Some((buf, rest_bufs))) =
        (ops.split_first_mut(), bufs.split_first_mut())
    else {
        return sink.put(ev);
    };
    op.push(ev, buf)?;
    if buf.is_empty() {
        return Ok(());
    }
    let mut tmp = std::mem::take(buf);
    for e in tmp.drain(..) {
        feed(rest_ops, rest_bufs, e, sink)?;
    }
    *buf = tmp;
    Ok(())
}

/// Rows handed on between looks at the cancel flag.
const CANCEL_EVERY: usize = 4096;

/// Push rows through `ops`, looking at the cancel flag every [`CANCEL_EVERY`] rows.
fn feed_all(
    ops: &mut [Box<dyn Operator>],
    bufs: &mut [Vec<Event>],
    rows: Vec<Event>,
    sink: &mut dyn RowSink,
    cancel: crate::limits::Cancel,
) -> Result<()> {
    let mut rows = crate::limits::FreedAside::new(rows.into_iter(), cancel);
    for (n, e) in rows.by_ref().enumerate() {
        if n % CANCEL_EVERY == 0 {
            cancel.check()?;
        }
        feed(ops, bufs, e, sink)?;
    }
    Ok(())
}

fn finish(
    ops: &mut [Box<dyn Operator>],
    bufs: &mut [Vec<Event>],
    sink: &mut dyn RowSink,
    cancel: crate::limits::Cancel,
    sub: Option<&dyn SubRunner>,
) -> Result<()> {
    for i in 0..ops.len() {
        cancel.check()?;
        let mut held = Vec::new();
        match sub {
            Some(sub) => ops[i].finish_with(&mut held, sub)?,
            None => ops[i].finish(&mut held)?,
        }
        feed_all(&mut ops[i + 1..], &mut bufs[i + 1..], held, sink, cancel)?;
    }
    cancel.check()
}

/// Run a pipeline to its rows.
pub fn run(p: &mut Pipeline, env: &Env) -> Result<RunResult> {
    let mut rows = crate::limits::FreedAside::new(Vec::new(), env.watch.cancel);
    let mut res = run_into(p, env, &mut *rows)?;
    res.rows = std::mem::take(&mut *rows);
    Ok(res)
}

/// Run a pipeline, handing its rows to `sink` as they come (the result's `rows` stay empty).
pub fn run_into(p: &mut Pipeline, env: &Env, sink: &mut dyn RowSink) -> Result<RunResult> {
    let mut res = run_with(p, env, None, sink)?;
    if let Ok(mut r) = env.sub_reports.lock() {
        res.reports.append(&mut r);
    }
    Ok(res)
}

/// Run a pipeline over `rows`, or over the inputs when `rows` is `None` and the pipeline starts with a
/// search (written or implied); otherwise its first command makes the rows.
fn run_with(
    p: &mut Pipeline,
    env: &Env,
    rows: Option<Vec<Event>>,
    sink: &mut dyn RowSink,
) -> Result<RunResult> {
    let mut result = RunResult::default();
    resolve_subsearches(p, env, &mut result.reports)?;
    // Only a search reads the inputs. A query (or subsearch) that starts with `|` starts with a generating
    // command (`| makeresults`, `| inputlookup`); any other command there has no events to work on, so
    // `| stats count` gives one row, count=0 (Search Manual, "Types of commands": generating commands are
    // invoked at the beginning of the search, with a leading pipe).
    let reading = rows.is_none()
        && p.stages
            .first()
            .is_none_or(|s| s.command.spec().reads_events());
    // the stateless streaming stages at the front run on every core, next to the reading
    let split = if reading {
        p.stages
            .iter()
            .take_while(|s| s.command.is_stateless())
            .count()
    } else {
        0
    };
    let (prefix, tail) = p.stages.split_at(split);
    // every stage is built before the first row moves, so that a refused command or a bad option stops
    // the query before anything is printed (the front stages are built again on each reading thread)
    for (i, s) in prefix.iter().enumerate() {
        build(s, env, i == 0)?;
    }
    let cancel = env.watch.cancel;
    let mut ops: crate::limits::FreedAside<Vec<Box<dyn Operator>>> = crate::limits::FreedAside::new(
        tail.iter()
            .enumerate()
            .map(|(i, s)| build(s, env, split + i == 0))
            .collect::<Result<_>>()?,
        cancel,
    );
    let mut bufs: Vec<Vec<Event>> = ops.iter().map(|_| Vec::new()).collect();
    if let Some(rows) = rows {
        feed_all(&mut ops, &mut bufs, rows, sink, cancel)?;
    } else if reading {
        let read_plan = read_plan(&p.stages, env)?;
        let units = crate::input::units(env.sources, UNIT_BYTES);
        // a file may be called empty only when all of it was read: `head` stops the reading early
        let mut parts_left: Vec<usize> = vec![0; env.sources.len()];
        for u in &units {
            if let Some(n) = parts_left.get_mut(u.source) {
                *n += 1;
            }
        }
        let mut reports: Vec<FileReport> = env
            .sources
            .iter()
            .map(|s| FileReport {
                source: s.name.clone(),
                ..FileReport::default()
            })
            .collect();
        // an aggregation right after the stateless stages runs on every core too, in parts that are
        // merged in input order
        let forkable = ops.first().is_some_and(|o| o.fork().is_some());
        let threads = rayon::current_num_threads().max(1);
        // parts read at once: the cores keep busy while the rows of earlier parts go through the
        // rest of the pipeline, in input order, and memory stays bounded by this many parts
        let window = threads * 2 + 1;
        let stop = std::sync::atomic::AtomicBool::new(false);
        let stop = &stop;
        let read_plan = &read_plan;
        // one part of the input: read (on any core) through the front stages
        let read_part = |what: Work<'_>, fork: Option<Box<dyn Operator>>| -> Result<Part> {
            let mut pre: Vec<Box<dyn Operator>> = prefix
                .iter()
                .enumerate()
                .map(|(i, s)| build(s, env, i == 0))
                .collect::<Result<_>>()?;
            let forked = fork.is_some();
            pre.extend(fork);
            let mut pbufs: Vec<Vec<Event>> = pre.iter().map(|_| Vec::new()).collect();
            let mut out = Vec::new();
            let mut builder = EventBuilder::with_plan(env.knowledge, env.read, read_plan);
            let mut error = None;
            let mut stopped = false;
            let mut on_event = |ev| {
                env.watch.count();
                if env.watch.is_cancelled() {
                    error = Some(Diagnostic::new(CANCELLED));
                    return ControlFlow::Break(());
                }
                if let Err(e) = env.ctx.limits.check_memory() {
                    error = Some(e);
                    return ControlFlow::Break(());
                }
                if env.watch.expired() || stop.load(std::sync::atomic::Ordering::Relaxed) {
                    stopped = true;
                    return ControlFlow::Break(());
                }
                if let Err(e) = feed(&mut pre, &mut pbufs, ev, &mut out) {
                    error = Some(e);
                    return ControlFlow::Break(());
                }
                if read_plan.unknown.get().is_some() {
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            };
            let report = match what {
                Work::Unit(unit) => crate::input::read_unit(
                    &env.sources[unit.source],
                    unit,
                    &mut builder,
                    &mut on_event,
                ),
                Work::Lines(source, lines, mtime) => crate::input::read_piece(
                    &env.sources[source],
                    &lines,
                    mtime,
                    &mut builder,
                    &mut on_event,
                ),
            };
            if let Some(e) = error {
                return Err(e);
            }
            // an event whose add-on gives a needed field that the knowledge cannot compute
            if let Some(why) = read_plan.unknown.get() {
                return Err(Diagnostic::new(why.clone()));
            }
            let part = if forked { pre.pop() } else { None };
            Ok(Part {
                events: out,
                report,
                fork: part,
                whole: !stopped,
            })
        };
        let read_part = &read_part;
        let outcome: Result<()> = std::thread::scope(|threads_scope| {
            rayon::in_place_scope(|tasks| {
                let (tx, rx) = std::sync::mpsc::channel::<(usize, Done)>();
                let mut pending: std::collections::BTreeMap<usize, Done> = Default::default();
                let (mut next_unit, mut sent, mut next_done, mut in_flight) =
                    (0usize, 0usize, 0usize, 0usize);
                // the pieces of the gzip file being decompressed: its source, mtime and channel
                let mut gzip: Option<(usize, f64, std::sync::mpsc::Receiver<crate::input::Piece>)> =
                    None;
                let result = 'run: loop {
                    // hand out parts until the window is full or the input ends
                    while in_flight < window {
                        let work = if let Some((source, mtime, pieces)) = &gzip {
                            let (source, mtime) = (*source, *mtime);
                            match pieces.recv() {
                                Ok(crate::input::Piece::Lines(lines)) => {
                                    Work::Lines(source, lines, mtime)
                                }
                                Ok(crate::input::Piece::End(error)) => {
                                    gzip = None;
                                    pending.insert(sent, Done::End(source, error));
                                    sent += 1;
                                    continue;
                                }
                                Err(_) => {
                                    gzip = None;
                                    pending.insert(
                                        sent,
                                        Done::End(source, Some("decompression stopped".into())),
                                    );
                                    sent += 1;
                                    continue;
                                }
                            }
                        } else if let Some(unit) = units.get(next_unit) {
                            next_unit += 1;
                            if unit.gzip_lines {
                                let crate::input::Content::File(path) =
                                    &env.sources[unit.source].content
                                else {
                                    continue;
                                };
                                let (ptx, prx) = std::sync::mpsc::sync_channel(threads);
                                let mtime = crate::input::file_mtime(path);
                                let path = path.clone();
                                threads_scope.spawn(move || {
                                    crate::input::gzip_pieces(&path, GZIP_PIECE, &mut |p| {
                                        if ptx.send(p).is_err() {
                                            ControlFlow::Break(())
                                        } else {
                                            ControlFlow::Continue(())
                                        }
                                    })
                                });
                                gzip = Some((unit.source, mtime, prx));
                                continue;
                            }
                            Work::Unit(unit)
                        } else {
                            break;
                        };
                        let fork = if forkable {
                            ops.first().and_then(|o| o.fork())
                        } else {
                            None
                        };
                        let tx = tx.clone();
                        let seq = sent;
                        let source = work.source();
                        let counts_as_part = matches!(work, Work::Unit(_));
                        tasks.spawn(move |_| {
                            let r = read_part(work, fork);
                            let _ = tx.send((seq, Done::Part(source, counts_as_part, r)));
                        });
                        sent += 1;
                        in_flight += 1;
                    }
                    // take the parts that are done, in input order
                    loop {
                        let Some(done) = pending.remove(&next_done) else {
                            break;
                        };
                        next_done += 1;
                        match done {
                            Done::End(source, error) => {
                                if let Some(e) = error {
                                    if reports[source].error.is_none() {
                                        reports[source].error = Some(e);
                                    }
                                }
                                if let Some(n) = parts_left.get_mut(source) {
                                    *n = n.saturating_sub(1);
                                }
                            }
                            Done::Part(source, counts_as_part, part) => {
                                let part = match part {
                                    Ok(p) => p,
                                    Err(e) => break 'run Err(e),
                                };
                                reports[source].merge(&part.report);
                                if let (true, true, Some(n)) =
                                    (counts_as_part, part.whole, parts_left.get_mut(source))
                                {
                                    *n = n.saturating_sub(1);
                                }
                                if !part.whole {
                                    // a piece of a gzip file stopped early: the file was not read to its end
                                    if let (false, Some(n)) =
                                        (counts_as_part, parts_left.get_mut(source))
                                    {
                                        *n = n.saturating_add(1);
                                    }
                                }
                                if let (Some(f), Some(first)) = (part.fork, ops.first_mut()) {
                                    if let Err(e) = first.merge(f) {
                                        break 'run Err(e);
                                    }
                                }
                                for ev in part.events {
                                    if let Err(e) = feed(&mut ops, &mut bufs, ev, sink) {
                                        break 'run Err(e);
                                    }
                                    if ops.iter().any(|o| o.is_done()) {
                                        break 'run Ok(());
                                    }
                                }
                            }
                        }
                        if env.watch.expired() {
                            env.ctx.warn(format!(
                                "a subsearch was stopped after {} s (Splunk's subsearch maxtime, --subsearch-maxtime): its rows so far are used",
                                env.ctx.limits.subsearch_maxtime.as_secs_f64()
                            ));
                            break 'run Ok(());
                        }
                    }
                    if in_flight == 0 {
                        if gzip.is_none() && next_unit >= units.len() && pending.is_empty() {
                            break 'run Ok(());
                        }
                        continue;
                    }
                    match rx.recv() {
                        Ok((seq, done)) => {
                            in_flight -= 1;
                            pending.insert(seq, done);
                        }
                        Err(_) => break 'run Ok(()),
                    }
                };
                // the parts still being read stop at their next event; a decompressing thread stops
                // when its channel is dropped
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                drop(gzip);
                result
            })
        });
        outcome?;
        // a file not read to its end keeps only the problems seen in what was read
        result
            .reports
            .extend(reports.into_iter().zip(parts_left).filter_map(|(r, left)| {
                (left == 0 || r.bad_lines > 0 || r.error.is_some() || !r.bad_chunks.is_empty())
                    .then_some(r)
            }));
    }
    finish(&mut ops, &mut bufs, sink, cancel, Some(env))?;
    Ok(result)
}

/// Bytes of a large file that one core reads at a time.
pub const UNIT_BYTES: u64 = 8 << 20;

/// Decompressed bytes of a gzip file that one core reads at a time.
const GZIP_PIECE: usize = 2 << 20;

/// A part of the input for one core: a unit of a file, or a piece of a gzip file's lines (its source,
/// text and mtime).
enum Work<'u> {
    Unit(&'u crate::input::Unit),
    Lines(usize, Vec<u8>, f64),
}

impl Work<'_> {
    fn source(&self) -> usize {
        match self {
            Work::Unit(u) => u.source,
            Work::Lines(s, _, _) => *s,
        }
    }
}

/// A part read through the front stages: its rows, its report, its share of a forked aggregation,
/// and whether it was read to its end.
struct Part {
    events: Vec<Event>,
    report: UnitReport,
    fork: Option<Box<dyn Operator>>,
    whole: bool,
}

/// What the reading loop takes in input order: a part (its source, whether it is a unit of
/// `parts_left`, and what reading it gave), or the end of a gzip file (its source, and why it could not
/// be read to its end).
enum Done {
    Part(usize, bool, Result<Part>),
    End(usize, Option<String>),
}

/// The fields the stages read, worked back from the end: `None` when everything may be needed (the rows
/// are shown as they are, or a stage's needs are not known).
pub fn needed_fields(stages: &[Stage]) -> Need {
    stages
        .iter()
        .rev()
        .fold(None, |after, st| st.command.spec().needs(after))
}

/// What the reader should extract and which events it may drop early.
fn read_plan(stages: &[Stage], env: &Env) -> Result<ReadPlan> {
    let mut plan = ReadPlan::default();
    let computed = env.knowledge.computed_fields();
    let known = crate::commands::Known {
        names: env.knowledge,
        datamodels: env.ctx.datamodels,
    };
    let need = stages
        .iter()
        .rev()
        .fold(None, |after, st| st.command.spec().needs_in(after, &known));
    if let Some(need) = need {
        let deps = env.knowledge.dependencies(&need);
        let mut proj = Projection::new(deps.iter().map(String::as_str));
        for f in crate::input::SNIFF_FIELDS
            .iter()
            .chain(crate::input::winjson::SNIFF_KEYS)
            .chain(crate::props::DEFAULT_TIME_FIELDS)
        {
            proj.add(f);
        }
        for tf in env.knowledge.time_fields() {
            proj.add(tf);
        }
        plan.projection = Some(proj);
        plan.computed = Some(if env.knowledge.makes_any_field() {
            // an extraction may make any field: every needed one may be computed
            deps.clone()
        } else {
            deps.intersection(&computed).cloned().collect()
        });
        plan.drop_raw = !deps.contains("_raw");
        plan.wanted = Some(need.clone());
    }
    // the first search's conditions on extracted fields filter before anything is computed
    if let Some(Command::Search(s)) = stages.first().map(|s| &s.command) {
        if let Some(e) = &s.expr {
            let now = env.ctx.eval.now;
            let tz = env.ctx.eval.tz;
            let resolver = move |t: &str| crate::eval::time::parse_time_modifier(t, now, tz);
            let m = Matcher::compile(e, &resolver)?;
            let conjuncts: Vec<Matcher> = match m {
                Matcher::And(v) => v,
                other => vec![other],
            };
            let early: Vec<Matcher> = conjuncts
                .into_iter()
                .filter(|c| {
                    let mut fs = Vec::new();
                    c.fields(&mut fs);
                    fs.iter().all(|f| !computed.contains(f))
                })
                .collect();
            // (a field an extraction names from the event's text need not be a key of the JSON text)
            for c in early.iter().filter(|_| !env.knowledge.makes_any_field()) {
                if let Some(l) = raw_literal(c, &computed) {
                    plan.raw_required.push(l);
                }
            }
            if !early.is_empty() {
                let m = Matcher::And(early);
                plan.prefilter = Some(Box::new(move |ev: &Event| m.matches(ev)));
            }
        }
    }
    Ok(plan)
}

/// The text a condition on an extracted field needs in the raw JSON (see [`RawLiteral`]).
fn raw_literal(m: &Matcher, computed: &HashSet<String>) -> Option<RawLiteral> {
    let (field, glob) = match m {
        Matcher::Eq(f, g) => (f, Some(g)),
        Matcher::Exists(f) => (f, None),
        _ => return None,
    };
    if DEFAULT_FIELDS.contains(&field.as_str()) || computed.contains(field) {
        return None;
    }
    let plain = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii() && b >= 0x20 && !matches!(b, b'"' | b'\\' | b'/'))
    };
    let last = field.trim_end_matches("{}");
    let last = last.rsplit(['.', '}']).next().unwrap_or(last);
    let key = plain(last).then(|| format!("{last}\"").into_bytes());
    let value = glob.and_then(|g| g.required_literal()).filter(|v| plain(v));
    (key.is_some() || value.is_some())
        .then(|| RawLiteral::new(key.as_deref(), value.map(str::as_bytes)))
}

/// Columns a final `table` fixes (shown even when no row has them).
pub fn fixed_columns(p: &Pipeline) -> Option<Vec<String>> {
    for st in p.stages.iter().rev() {
        let spec = st.command.spec();
        if spec.keeps_columns() {
            continue;
        }
        return spec.columns();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn rows_format_as_splunk_does() {
        assert_eq!(format_rows(&[]), "NOT ()");
        let mut a = Event::new();
        a.set("user", Value::str("bob"));
        a.set("_time", Value::Num(1.0));
        let mut b = Event::new();
        b.set("user", Value::str("a\"b"));
        b.set("x", Value::multi(vec!["1".into(), "2".into()]).unwrap());
        assert_eq!(
            format_rows(&[a, b]),
            r#"( ( user="bob" ) OR ( user="a\"b" AND ( x="1" OR x="2" ) ) )"#
        );
    }
}
