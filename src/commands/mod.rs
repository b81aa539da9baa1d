//! One file per SPL command: its AST, its parser and its operator.
//!
//! [`Command`] has one variant per supported command. Commands that Splunk has but spelunk cannot run yet
//! parse into [`Command::Unsupported`] with their argument text kept, and fail when the plan is built.

pub mod addtotals;
pub mod append;
pub mod appendpipe;
pub mod bin;
pub mod convert;
pub mod dedup;
pub mod eval;
pub mod eventstats;
pub mod fields;
pub mod fillnull;
pub mod foreach;
pub mod format;
pub mod fromjson;
pub mod head;
pub mod inputlookup;
pub mod iplocation;
pub mod join;
pub mod lookup;
pub mod makemv;
pub mod makeresults;
pub mod mvcombine;
pub mod mvexpand;
pub mod outputlookup;
pub mod regex;
pub mod rename;
pub mod r#return;
pub mod rex;
pub mod search;
pub mod sort;
pub mod spath;
pub mod stats;
pub mod streamstats;
pub mod table;
pub mod tail;
pub mod top;
pub mod transaction;
pub mod where_;
pub mod xmlkv;

use crate::diag::{Diagnostic, Result, Span};
use crate::eval::EvalContext;
use crate::event::Event;
use crate::lookups::Lookups;
use crate::parse::{unknown_command, Cursor};

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Search(search::Search),
    Fields(fields::Fields),
    Table(table::Table),
    Head(head::Head),
    Rename(rename::Rename),
    Stats(stats::Stats),
    Convert(convert::Convert),
    InputLookup(inputlookup::InputLookup),
    Eval(eval::Eval),
    Where(where_::Where),
    Spath(spath::Spath),
    EventStats(eventstats::EventStats),
    StreamStats(streamstats::StreamStats),
    Lookup(lookup::Lookup),
    OutputLookup(outputlookup::OutputLookup),
    Dedup(dedup::Dedup),
    Sort(sort::Sort),
    Tail(tail::Tail),
    FillNull(fillnull::FillNull),
    Rex(rex::Rex),
    Regex(regex::Regex),
    Bin(bin::Bin),
    MvExpand(mvexpand::MvExpand),
    MakeMv(makemv::MakeMv),
    MvCombine(mvcombine::MvCombine),
    Top(top::Top),
    Join(join::Join),
    Append(append::Append),
    AppendPipe(appendpipe::AppendPipe),
    AddTotals(addtotals::AddTotals),
    Foreach(foreach::Foreach),
    Transaction(transaction::Transaction),
    XmlKv(xmlkv::XmlKv),
    FromJson(fromjson::FromJson),
    Return(r#return::Return),
    Format(format::Format),
    MakeResults(makeresults::MakeResults),
    IpLocation(iplocation::IpLocation),
    /// An empty stage (`| |`, or a `*_filter` macro that expands to nothing).
    Noop,
    /// A command Splunk has that spelunk cannot run yet; its argument text is kept.
    Unsupported {
        name: String,
        args: String,
        span: Span,
    },
}

/// Every command name Splunk's Search Reference lists (used to tell "not supported yet" from "unknown",
/// and for suggestions).
pub const ALL_COMMANDS: &[&str] = &[
    "abstract",
    "accum",
    "addcoltotals",
    "addinfo",
    "addtotals",
    "analyzefields",
    "anomalies",
    "anomalousvalue",
    "anomalydetection",
    "append",
    "appendcols",
    "appendpipe",
    "arules",
    "associate",
    "audit",
    "autoregress",
    "bin",
    "bucket",
    "bucketdir",
    "chart",
    "cluster",
    "cofilter",
    "collect",
    "concurrency",
    "contingency",
    "convert",
    "correlate",
    "datamodel",
    "dbinspect",
    "dedup",
    "delete",
    "delta",
    "diff",
    "erex",
    "eval",
    "eventcount",
    "eventstats",
    "extract",
    "kv",
    "fieldformat",
    "fields",
    "fieldsummary",
    "filldown",
    "fillnull",
    "findtypes",
    "folderize",
    "foreach",
    "format",
    "from",
    "fromjson",
    "gauge",
    "gentimes",
    "geom",
    "geomfilter",
    "geostats",
    "head",
    "highlight",
    "history",
    "iconify",
    "inputcsv",
    "inputlookup",
    "iplocation",
    "join",
    "kmeans",
    "kvform",
    "loadjob",
    "localize",
    "localop",
    "lookup",
    "makecontinuous",
    "makemv",
    "makeresults",
    "map",
    "mcollect",
    "metadata",
    "metasearch",
    "meventcollect",
    "mpreview",
    "msearch",
    "mstats",
    "multikv",
    "multisearch",
    "mvcombine",
    "mvexpand",
    "nomv",
    "outlier",
    "outputcsv",
    "outputlookup",
    "outputtext",
    "overlap",
    "pivot",
    "predict",
    "rangemap",
    "rare",
    "redistribute",
    "regex",
    "reltime",
    "rename",
    "replace",
    "require",
    "rest",
    "return",
    "reverse",
    "rex",
    "rtorder",
    "savedsearch",
    "script",
    "run",
    "scrub",
    "search",
    "searchtxn",
    "selfjoin",
    "sendalert",
    "sendemail",
    "set",
    "setfields",
    "sichart",
    "sirare",
    "sistats",
    "sitimechart",
    "sitop",
    "sort",
    "spath",
    "stats",
    "strcat",
    "streamstats",
    "table",
    "tags",
    "tail",
    "timechart",
    "timewrap",
    "tojson",
    "top",
    "transaction",
    "transpose",
    "trendline",
    "tscollect",
    "tstats",
    "typeahead",
    "typelearner",
    "typer",
    "union",
    "uniq",
    "untable",
    "walklex",
    "where",
    "x11",
    "xmlkv",
    "xmlunescape",
    "xpath",
    "xyseries",
    "fit",
    "apply",
    "summary",
    "score",
    "sample",
    "anomalydetection",
    "ctable",
    "crawl",
    "dump",
    "geomfilter",
    // commands of Splunk apps that published detections use
    "cyberchef",
];

/// Every command name spelunk runs, aliases included, sorted (README's list is generated from this; a
/// test checks it against [`Command::is_runnable`]).
pub const RUNNABLE_COMMANDS: &[&str] = &[
    "addtotals",
    "append",
    "appendpipe",
    "bin",
    "bucket",
    "convert",
    "dedup",
    "eval",
    "eventstats",
    "fields",
    "fillnull",
    "foreach",
    "format",
    "fromjson",
    "head",
    "inputlookup",
    "iplocation",
    "join",
    "lookup",
    "makemv",
    "makeresults",
    "mvcombine",
    "mvexpand",
    "outputlookup",
    "rare",
    "regex",
    "rename",
    "return",
    "rex",
    "search",
    "sort",
    "spath",
    "stats",
    "streamstats",
    "table",
    "tail",
    "top",
    "transaction",
    "where",
    "xmlkv",
];

/// A piece of a parsed command that spelunk cannot run, although it runs the command otherwise: the
/// search parses, `check` reports the piece, and running it fails with `reason` at `span`.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub kind: RefusalKind,
    /// The function or feature (`sparkline`, `PCRE look-around`).
    pub name: String,
    pub reason: String,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalKind {
    /// A function of the command (`stats sparkline`).
    Function,
    /// A feature of an argument (a PCRE construct the regex engine here lacks).
    Feature,
}

/// Why a command in [`Command::Unsupported`] does not run: commands that write into a Splunk deployment
/// (an index, an alert action, mail, its dispatch folder) have nothing to write to here.
pub fn unsupported_message(name: &str) -> String {
    match name {
        "collect" | "mcollect" | "meventcollect" | "tscollect" => format!(
            "command `{name}` writes results into a Splunk index: not supported here (spelunk has no index); use `outputlookup <name>.csv` to keep rows"
        ),
        "sendalert" => format!(
            "command `{name}` runs a Splunk alert action: not supported here"
        ),
        "sendemail" => format!(
            "command `{name}` sends mail from a Splunk server: not supported here"
        ),
        "outputcsv" => format!(
            "command `{name}` writes into Splunk's dispatch folder: not supported here; use `outputlookup <name>.csv`, or `--format csv` for the output"
        ),
        _ => format!("command `{name}` is not supported yet"),
    }
}

/// Parse the arguments of the command `name` (the cursor is just after the name).
pub fn parse_command(name: &str, name_span: Span, c: &mut Cursor, first: bool) -> Result<Command> {
    let lower = name.to_ascii_lowercase();
    let cmd = match lower.as_str() {
        "search" => Command::Search(search::Search::parse(c)?),
        "fields" => Command::Fields(fields::Fields::parse(c)?),
        "table" => Command::Table(table::Table::parse(c)?),
        "head" => Command::Head(head::Head::parse(c)?),
        "rename" => Command::Rename(rename::Rename::parse(c)?),
        "stats" => Command::Stats(stats::Stats::parse(c)?),
        "convert" => Command::Convert(convert::Convert::parse(c)?),
        "inputlookup" => Command::InputLookup(inputlookup::InputLookup::parse(c, name_span)?),
        "eval" => Command::Eval(eval::Eval::parse(c)?),
        "where" => Command::Where(where_::Where::parse(c)?),
        "spath" => Command::Spath(spath::Spath::parse(c, name_span)?),
        "eventstats" => Command::EventStats(eventstats::EventStats::parse(c, name_span)?),
        "streamstats" => Command::StreamStats(streamstats::StreamStats::parse(c, name_span)?),
        "lookup" => Command::Lookup(lookup::Lookup::parse(c, name_span)?),
        "outputlookup" => Command::OutputLookup(outputlookup::OutputLookup::parse(c, name_span)?),
        "dedup" => Command::Dedup(dedup::Dedup::parse(c, name_span)?),
        "sort" => Command::Sort(sort::Sort::parse(c, name_span)?),
        "tail" => Command::Tail(tail::Tail::parse(c, name_span)?),
        "fillnull" => Command::FillNull(fillnull::FillNull::parse(c, name_span)?),
        "rex" => Command::Rex(rex::Rex::parse(c, name_span)?),
        "regex" => Command::Regex(regex::Regex::parse(c, name_span)?),
        "bin" | "bucket" => Command::Bin(bin::Bin::parse(c, name_span)?),
        "mvexpand" => Command::MvExpand(mvexpand::MvExpand::parse(c, name_span)?),
        "makemv" => Command::MakeMv(makemv::MakeMv::parse(c, name_span)?),
        "mvcombine" => Command::MvCombine(mvcombine::MvCombine::parse(c, name_span)?),
        "top" | "rare" => Command::Top(top::Top::parse(c, name_span)?),
        "join" => Command::Join(join::Join::parse(c, name_span)?),
        "append" => Command::Append(append::Append::parse(c, name_span)?),
        "appendpipe" => Command::AppendPipe(appendpipe::AppendPipe::parse(c, name_span)?),
        "addtotals" => Command::AddTotals(addtotals::AddTotals::parse(c, name_span)?),
        "foreach" => Command::Foreach(foreach::Foreach::parse(c, name_span)?),
        "transaction" => Command::Transaction(transaction::Transaction::parse(c, name_span)?),
        "xmlkv" => Command::XmlKv(xmlkv::XmlKv::parse(c, name_span)?),
        "fromjson" => Command::FromJson(fromjson::FromJson::parse(c, name_span)?),
        "return" => Command::Return(r#return::Return::parse(c, name_span)?),
        "format" => Command::Format(format::Format::parse(c, name_span)?),
        "makeresults" => Command::MakeResults(makeresults::MakeResults::parse(c, name_span)?),
        "iplocation" => Command::IpLocation(iplocation::IpLocation::parse(c, name_span)?),
        other if ALL_COMMANDS.contains(&other) => {
            let (args, _) = c.stage_text()?;
            Command::Unsupported {
                name: other.to_string(),
                args: args.trim().to_string(),
                span: name_span,
            }
        }
        _ => return Err(unknown_command(name, name_span)),
    };
    let _ = first;
    Ok(cmd)
}

impl Command {
    pub fn name(&self) -> &str {
        match self {
            Command::Search(_) => "search",
            Command::Fields(_) => "fields",
            Command::Table(_) => "table",
            Command::Head(_) => "head",
            Command::Rename(_) => "rename",
            Command::Stats(_) => "stats",
            Command::Convert(_) => "convert",
            Command::InputLookup(_) => "inputlookup",
            Command::Eval(_) => "eval",
            Command::Where(_) => "where",
            Command::Spath(_) => "spath",
            Command::EventStats(_) => "eventstats",
            Command::StreamStats(_) => "streamstats",
            Command::Lookup(_) => "lookup",
            Command::OutputLookup(_) => "outputlookup",
            Command::Dedup(_) => "dedup",
            Command::Sort(_) => "sort",
            Command::Tail(_) => "tail",
            Command::FillNull(_) => "fillnull",
            Command::Rex(_) => "rex",
            Command::Regex(_) => "regex",
            Command::Bin(_) => "bin",
            Command::MvExpand(_) => "mvexpand",
            Command::MakeMv(_) => "makemv",
            Command::MvCombine(_) => "mvcombine",
            Command::Top(_) => "top",
            Command::Join(_) => "join",
            Command::Append(_) => "append",
            Command::AppendPipe(_) => "appendpipe",
            Command::AddTotals(_) => "addtotals",
            Command::Foreach(_) => "foreach",
            Command::Transaction(_) => "transaction",
            Command::XmlKv(_) => "xmlkv",
            Command::FromJson(_) => "fromjson",
            Command::Return(_) => "return",
            Command::Format(_) => "format",
            Command::MakeResults(_) => "makeresults",
            Command::IpLocation(_) => "iplocation",
            Command::Noop => "noop",
            Command::Unsupported { name, .. } => name,
        }
    }

    /// What in this parsed command spelunk cannot run (empty for most); the plan refuses to build a
    /// stage that has any, and `check` reports each.
    pub fn refusals(&self) -> Vec<Refusal> {
        match self {
            Command::Stats(s) => s.refusals(),
            Command::EventStats(s) => s.stats.refusals(),
            Command::StreamStats(s) => s.stats.refusals(),
            Command::Rex(r) => r.refusals(),
            Command::Regex(r) => r.pattern.refusals("regex"),
            _ => Vec::new(),
        }
    }

    /// Can spelunk run this command? (`check` reports the others.) A command whose parse holds a piece
    /// it cannot run ([`Command::refusals`]) is not.
    pub fn is_runnable(&self) -> bool {
        self.command_is_runnable() && self.refusals().is_empty()
    }

    /// Does spelunk run this kind of command at all?
    fn command_is_runnable(&self) -> bool {
        match self {
            Command::Spath(_) => spath::RUNNABLE,
            Command::EventStats(_) => eventstats::RUNNABLE,
            Command::StreamStats(_) => streamstats::RUNNABLE,
            Command::Lookup(_) => lookup::RUNNABLE,
            Command::OutputLookup(_) => outputlookup::RUNNABLE,
            Command::Dedup(_) => dedup::RUNNABLE,
            Command::Sort(_) => sort::RUNNABLE,
            Command::Tail(_) => tail::RUNNABLE,
            Command::FillNull(_) => fillnull::RUNNABLE,
            Command::Rex(_) => rex::RUNNABLE,
            Command::Regex(_) => regex::RUNNABLE,
            Command::Bin(_) => bin::RUNNABLE,
            Command::MvExpand(_) => mvexpand::RUNNABLE,
            Command::MakeMv(_) => makemv::RUNNABLE,
            Command::MvCombine(_) => mvcombine::RUNNABLE,
            Command::Top(_) => top::RUNNABLE,
            Command::Join(_) => join::RUNNABLE,
            Command::Append(_) => append::RUNNABLE,
            Command::AppendPipe(_) => appendpipe::RUNNABLE,
            Command::AddTotals(_) => addtotals::RUNNABLE,
            Command::Foreach(_) => foreach::RUNNABLE,
            Command::Transaction(_) => transaction::RUNNABLE,
            Command::XmlKv(_) => xmlkv::RUNNABLE,
            Command::FromJson(_) => fromjson::RUNNABLE,
            Command::Return(_) => r#return::RUNNABLE,
            Command::Format(_) => format::RUNNABLE,
            Command::MakeResults(_) => makeresults::RUNNABLE,
            Command::IpLocation(_) => iplocation::RUNNABLE,
            Command::Unsupported { .. } => false,
            _ => true,
        }
    }

    /// Does the command act on each row alone, keeping no state between rows? Such stages at the front
    /// of a pipeline run on every core, beside the reading.
    pub fn is_stateless(&self) -> bool {
        matches!(
            self,
            Command::Search(_)
                | Command::Where(_)
                | Command::Eval(_)
                | Command::Rename(_)
                | Command::Fields(_)
                | Command::Table(_)
                | Command::Convert(_)
                | Command::Rex(_)
                | Command::Regex(_)
                | Command::Spath(_)
                | Command::MakeMv(_)
                | Command::FromJson(_)
                | Command::Noop
        )
    }

    /// Does the command make its own rows (it must start a pipeline, after `|`)?
    pub fn is_generating(&self) -> bool {
        matches!(self, Command::InputLookup(_) | Command::MakeResults(_))
    }
}

/// What operators may consult while they are built and run.
pub struct Context<'a> {
    pub eval: EvalContext,
    pub lookups: &'a Lookups,
    /// Row, value and memory limits of the query.
    pub limits: crate::limits::Limits,
    /// Messages for stderr (e.g. a limit that cut results).
    pub warnings: Warnings,
}

/// Warnings of a query; operators keep a handle to add theirs while rows flow.
#[derive(Clone, Debug, Default)]
pub struct Warnings(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Warnings {
    /// Add a warning once.
    pub fn warn(&self, msg: impl Into<String>) {
        if let Ok(mut w) = self.0.lock() {
            let m = msg.into();
            if !w.contains(&m) {
                w.push(m);
            }
        }
    }

    pub fn take(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }
}

impl Context<'_> {
    pub fn warn(&self, msg: impl Into<String>) {
        if let Ok(mut w) = self.warnings.0.lock() {
            let m = msg.into();
            if !w.contains(&m) {
                w.push(m);
            }
        }
    }
}

/// Runs sub-pipelines for commands that hold one (`append [...]`, `join [...]`, `appendpipe [...]`).
pub trait SubRunner {
    /// Run a complete search (a subsearch) to its rows.
    fn run(&self, p: &crate::parse::Pipeline) -> Result<Vec<Event>>;
    /// Run a pipeline over the given rows instead of the inputs.
    fn run_over(&self, p: &crate::parse::Pipeline, rows: Vec<Event>) -> Result<Vec<Event>>;
    /// Build a pipeline's operators now (its subsearches run now) as one operator, to push rows through
    /// later: an operator's rows exist only once it has seen its input (`appendpipe [...]`), when the
    /// runner is no longer at hand.
    fn compile(&self, p: &crate::parse::Pipeline) -> Result<Box<dyn Operator>> {
        Err(Diagnostic::at(
            "this runner cannot build sub-pipelines",
            p.span,
        ))
    }
}

/// A pipeline stage at run time: receives rows one by one, emits rows into `out`.
pub trait Operator: Send {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()>;
    /// End of input: emit whatever was held back (stats groups, sorted rows ...).
    fn finish(&mut self, _out: &mut Vec<Event>) -> Result<()> {
        Ok(())
    }
    /// An aggregation that can run over parts of the input at once gives a fresh, empty copy of itself
    /// for one part; [`Operator::merge`] folds the parts back in input order.
    fn fork(&self) -> Option<Box<dyn Operator>> {
        None
    }

    /// Fold in a fork that ran over the next part of the input.
    fn merge(&mut self, _part: Box<dyn Operator>) -> Result<()> {
        Ok(())
    }

    /// For [`Operator::merge`]: the operator as `Any`, to recover its own type.
    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        None
    }

    /// True once the operator will not emit anything more (lets `head` stop the reading).
    fn is_done(&self) -> bool {
        false
    }
}

/// Match a field name against a pattern with `*` wildcards (case-sensitive, as field names are).
/// Returns the texts the `*`s matched.
pub fn wildcard_captures<'n>(pattern: &str, name: &'n str) -> Option<Vec<&'n str>> {
    if !pattern.contains('*') {
        return (pattern == name).then(Vec::new);
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let first = parts[0];
    let last = parts[parts.len() - 1];
    if name.len() < first.len() + last.len() || !name.starts_with(first) || !name.ends_with(last) {
        return None;
    }
    // greedy-from-left matching of the middle parts
    let mut caps = Vec::new();
    let mut pos = first.len();
    let end = name.len() - last.len();
    for mid in &parts[1..parts.len() - 1] {
        let hay = name.get(pos..end)?;
        let k = hay.find(mid)?;
        caps.push(&name[pos..pos + k]);
        pos += k + mid.len();
    }
    caps.push(name.get(pos..end)?);
    Some(caps)
}

pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    wildcard_captures(pattern, name).is_some()
}

/// End of a command's arguments: fine at the stage end; otherwise an error naming what `command` accepts
/// here, with a suggestion when the word found looks like one of its `options` misspelt (`cont=3`).
pub fn end_of_args(c: &mut Cursor, command: &str, expected: &str, options: &[&str]) -> Result<()> {
    if c.at_stage_end() {
        return Ok(());
    }
    let mut d = c.expected(&format!("{expected}, `|` or the end of `{command}`"));
    let save = c.pos;
    let word = c.bare().map(|(w, _)| w.to_ascii_lowercase());
    let is_option = c.at('=');
    c.pos = save;
    if let (Some(w), true) = (word, is_option) {
        if let Some(s) = crate::diag::suggest(&w, options.iter().copied()) {
            d.message = format!("unknown option `{w}` of `{command}` (did you mean `{s}`?)");
        } else {
            d.message = format!("unknown option `{w}` of `{command}`");
        }
    }
    Err(d)
}

/// A parse error for a stage that expected something else.
pub fn expected_at(what: &str, span: Span) -> Diagnostic {
    Diagnostic::at(format!("expected {what}"), span)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Arguments that each runnable command parses with.
    const SAMPLE_ARGS: &[(&str, &str)] = &[
        ("addtotals", ""),
        ("append", "[search b]"),
        ("appendpipe", "[stats count]"),
        ("bin", "span=1h _time"),
        ("bucket", "span=1h _time"),
        ("convert", "ctime(_time)"),
        ("dedup", "user"),
        ("eval", "a=1"),
        ("eventstats", "count by user"),
        ("fields", "user"),
        ("fillnull", ""),
        ("foreach", "a* [eval <<FIELD>>=1]"),
        ("format", ""),
        ("fromjson", "body"),
        ("head", "5"),
        ("inputlookup", "users.csv"),
        ("iplocation", "src"),
        ("join", "user [search b]"),
        ("lookup", "users user OUTPUT name"),
        ("makemv", "delim=\",\" user"),
        ("makeresults", ""),
        ("mvcombine", "user"),
        ("mvexpand", "user"),
        ("outputlookup", "users.csv"),
        ("rare", "user"),
        ("regex", "user=\"^a\""),
        ("rename", "a AS b"),
        ("return", "user"),
        ("rex", "\"(?<user>\\w+)\""),
        ("search", "user=a"),
        ("sort", "- count"),
        ("spath", ""),
        ("stats", "count by user"),
        ("streamstats", "count"),
        ("table", "user"),
        ("tail", "5"),
        ("top", "user"),
        ("transaction", "user"),
        ("where", "a > 1"),
        ("xmlkv", ""),
    ];

    #[test]
    fn runnable_commands_are_those_that_run() {
        let mut sorted = RUNNABLE_COMMANDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, RUNNABLE_COMMANDS, "keep RUNNABLE_COMMANDS sorted");
        for name in ALL_COMMANDS {
            let args = SAMPLE_ARGS
                .iter()
                .find(|(n, _)| n == name)
                .map_or("x", |(_, a)| *a);
            let q = if matches!(*name, "inputlookup" | "makeresults") {
                format!("| {name} {args}")
            } else {
                format!("search a | {name} {args}")
            };
            let p = crate::parse::parse_query(&q)
                .unwrap_or_else(|e| panic!("`{q}` does not parse: {}", e.message));
            let Some(cmd) = p.stages.last().map(|s| &s.command) else {
                panic!("`{q}` has no stage")
            };
            if RUNNABLE_COMMANDS.contains(name) {
                assert!(cmd.is_runnable(), "`{q}` should run: {cmd:?}");
            } else {
                assert!(
                    matches!(cmd, Command::Unsupported { .. }) && !cmd.is_runnable(),
                    "`{name}` has a parser: list it in RUNNABLE_COMMANDS ({cmd:?})"
                );
            }
        }
        for name in RUNNABLE_COMMANDS {
            assert!(
                ALL_COMMANDS.contains(name),
                "{name} is not a Splunk command"
            );
        }
    }

    #[test]
    fn wildcards_capture_their_parts() {
        assert_eq!(wildcard_captures("a.*", "a.b.c"), Some(vec!["b.c"]));
        assert_eq!(wildcard_captures("*.arn", "x.arn"), Some(vec!["x"]));
        assert_eq!(wildcard_captures("a*b*c", "aXbYc"), Some(vec!["X", "Y"]));
        assert_eq!(wildcard_captures("user", "User"), None);
        assert_eq!(wildcard_captures("*", "any"), Some(vec!["any"]));
    }
}
