//! One file per SPL command: its AST, its parser and its operator.
//!
//! [`Command`] has one variant per supported command. Commands that Splunk has but spelunk cannot run yet
//! parse into [`Command::Unsupported`] with their argument text kept, and fail when the plan is built.

pub mod addtotals;
pub mod append;
pub mod appendpipe;
pub mod bin;
pub mod chart;
pub mod chart_series;
pub mod convert;
pub mod datamodel;
pub mod dedup;
pub mod eval;
pub mod eventstats;
pub mod extract;
pub mod fields;
pub mod fillnull;
pub mod foreach;
pub mod format;
pub mod from;
pub mod fromjson;
pub mod head;
pub mod inputlookup;
pub mod iplocation;
pub mod join;
pub mod lookup;
pub mod makemv;
pub mod makeresults;
pub mod map;
pub mod multikv;
pub mod mvcombine;
pub mod mvexpand;
pub mod outputlookup;
pub mod regex;
pub mod rename;
pub mod replace;
pub mod r#return;
pub mod rex;
pub mod search;
pub mod sort;
pub mod spath;
pub mod stats;
pub mod streamstats;
pub mod table;
pub mod tail;
pub mod timechart;
pub mod top;
pub mod transaction;
pub mod tstats;
pub mod unsupported;
pub mod where_;
pub mod xmlkv;

use crate::diag::{Diagnostic, Result, Span};
use crate::eval::{EvalContext, Expr};
use crate::event::Event;
use crate::lookups::Lookups;
use crate::parse::{unknown_command, Cursor, Pipeline};
use std::collections::HashSet;

/// How a command treats the rows it is given — Splunk's command types, as the planner needs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Makes its own rows and must start a pipeline (`| inputlookup`, `| makeresults`).
    Generating,
    /// Acts on each row alone and keeps nothing between rows: at the front of a pipeline it runs on every
    /// core beside the reading.
    Streaming,
    /// Keeps state across rows (`stats`, `sort`, `dedup`, `head` ...): runs on one core, in input order
    /// (an aggregation may still fork and merge, see [`Operator::fork`]).
    Stateful,
}

/// The fields a pipeline needs at some point: `None` when any field may be read (the rows are shown as
/// they are, or a stage's needs are not known).
pub type Need = Option<HashSet<String>>;

/// A lookup table a command names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupRef {
    pub name: String,
    /// `outputlookup` writes its table (it need not exist yet).
    pub writes: bool,
    pub span: Span,
}

/// Something legal but suspicious in a command as written, at its place in the query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lint {
    pub message: String,
    pub span: Span,
}

/// The lints of eval expressions: a field compared with itself.
pub fn expr_lints(exprs: &[(&Expr, usize)]) -> Vec<Lint> {
    let mut out = Vec::new();
    for (e, base) in exprs {
        for (f, at) in e.self_comparisons() {
            out.push(Lint {
                message: format!(
                    "the field `{f}` is compared with itself: the answer is the same for every row that has it"
                ),
                span: Span::new(base + at, base + at + f.len()),
            });
        }
    }
    out
}

/// Runs a subsearch to its rows (see [`SplCommand::resolve_subsearches`]).
pub type SubsearchRows<'a> = dyn FnMut(&Pipeline) -> Result<Vec<Event>> + 'a;

/// What the planner, `check` and the SQL emitter ask of a command. Each command's file implements
/// it for the command's AST; [`Command::spec`] hands it out, so nothing else matches on command names.
pub trait SplCommand {
    /// Generating, streaming or stateful (default: stateful, the safe choice).
    fn kind(&self) -> Kind {
        Kind::Stateful
    }

    /// Does the command, first in a pipeline, read the events of the inputs? Only `search` does (written or
    /// implied); a generating command makes its own rows, and any other command there has none.
    fn reads_events(&self) -> bool {
        false
    }

    /// Does spelunk run this command? (Only [`Unsupported`] says no.)
    fn runnable(&self) -> bool {
        true
    }

    /// The pieces of this parsed command that spelunk cannot run (a `stats sparkline`, a PCRE-only
    /// regex): the plan refuses to build a stage that has any, and `check` reports each.
    fn refusals(&self) -> Vec<Refusal> {
        Vec::new()
    }

    /// The fields needed before this stage, given those needed after it (default: all of them).
    fn needs(&self, _after: Need) -> Need {
        None
    }

    /// [`SplCommand::needs`] with the loaded knowledge at hand (a `tstats` reads what its data model's
    /// constraints and calculations read).
    fn needs_in(&self, after: Need, _known: &Known) -> Need {
        self.needs(after)
    }

    /// Complete searches the command holds (`append [...]`, `join [...]`, the subsearches of a search
    /// expression) and pipelines it runs over its rows (`appendpipe [...]`).
    fn sub_pipelines(&self) -> Vec<&Pipeline> {
        Vec::new()
    }

    /// Eval expressions of the command, with the offset in the query text their offsets count from.
    fn eval_exprs(&self) -> Vec<(&Expr, usize)> {
        Vec::new()
    }

    /// Lookup tables the command reads or writes.
    fn lookups(&self) -> Vec<LookupRef> {
        Vec::new()
    }

    /// The pieces that cannot run with the loaded knowledge `known` (an event type no eventtypes.conf
    /// defines, a data model field the loaded model lacks); default: [`SplCommand::refusals`]. The plan
    /// and `check` ask this.
    fn refusals_in(&self, _known: &Known) -> Vec<Refusal> {
        self.refusals()
    }

    /// Data models the command reads (`tstats ... from datamodel=X`).
    fn datamodels(&self) -> Vec<String> {
        Vec::new()
    }

    /// The data model fields the command reads, as written (`Processes.process_name`).
    fn datamodel_fields(&self) -> Vec<String> {
        Vec::new()
    }

    /// What is legal but suspicious in the command as written (`check` shows these as warnings; they do
    /// not stop it from running).
    fn lints(&self) -> Vec<Lint> {
        Vec::new()
    }

    /// The columns of the result when this is the last command that shapes it: `Some` for a command that
    /// fixes them (`table`), `None` when unknown. Commands that pass rows through unchanged in shape
    /// (`head`, `search`, `where`) say so with [`SplCommand::keeps_columns`].
    fn columns(&self) -> Option<Vec<String>> {
        None
    }

    /// Does the command leave the columns of its rows as they are (it only drops or keeps rows)?
    fn keeps_columns(&self) -> bool {
        false
    }

    /// Run the subsearches written inside the command's own arguments (`[ ... ]` in a search expression,
    /// or in a `where`/`eval` expression) and put their results in their place, before the operator is
    /// built. `rows` runs one subsearch, with Splunk's subsearch limits, and gives its rows.
    fn resolve_subsearches(&mut self, _rows: &mut SubsearchRows) -> Result<()> {
        Ok(())
    }

    /// Write this stage as the next step of an SQL statement (see [`crate::sql`]): `None` when the
    /// command has no SQL form (the default), else the step written or why it cannot be.
    fn sql(&self, _q: &mut crate::sql::Query) -> Option<Result<()>> {
        None
    }

    /// Build the command's operator. `sub` runs the sub-pipelines it holds.
    fn operator(&self, cx: &Context, sub: &dyn SubRunner) -> Result<Box<dyn Operator>>;
}

/// The knowledge a query runs with, as commands check themselves against it.
pub struct Known<'a> {
    /// Event types and tags.
    pub names: &'a dyn search::Defines,
    pub datamodels: &'a crate::datamodels::DataModels,
}

/// The commands spelunk parses: one line each — the variant, its AST type, the names Splunk knows it by,
/// and its parser (`fn(&mut Cursor, name_span) -> Result<T>`). This is the only list of commands; the
/// enum, [`parse_command`], [`Command::name`], [`Command::spec`] and [`runnable_commands`] come from it.
macro_rules! registry {
    ($($variant:ident($ty:ty) = $name:literal $(| $alias:literal)* => $parse:expr;)*) => {
        #[derive(Clone, Debug, PartialEq)]
        pub enum Command {
            $($variant($ty),)*
            /// An empty stage (`| |`, or a `*_filter` macro that expands to nothing).
            Noop,
            /// A command Splunk has that spelunk cannot run yet; its argument text is kept.
            Unsupported(unsupported::Unsupported),
        }

        /// Every command name spelunk runs, aliases included, sorted (README's list is generated from
        /// this; a test checks it against [`Command::is_runnable`]).
        pub fn runnable_commands() -> Vec<&'static str> {
            let mut v = vec![$($name, $($alias,)*)*];
            v.sort_unstable();
            v
        }

        fn parse_registered(
            lower: &str,
            name_span: Span,
            c: &mut Cursor,
        ) -> Option<Result<Command>> {
            let parse: fn(&mut Cursor, Span) -> Result<Command> = match lower {
                $($name $(| $alias)* => |c, s| ($parse)(c, s).map(Command::$variant),)*
                _ => return None,
            };
            Some(parse(c, name_span))
        }

        impl Command {
            /// The command's name (its first name, for commands with aliases: `bin` for `bucket`).
            pub fn name(&self) -> &str {
                match self {
                    $(Command::$variant(_) => $name,)*
                    Command::Noop => "noop",
                    Command::Unsupported(u) => &u.name,
                }
            }

            /// The command, to resolve its subsearches (`None` for the empty stage).
            pub fn spec_mut(&mut self) -> Option<&mut dyn SplCommand> {
                match self {
                    $(Command::$variant(x) => Some(x),)*
                    Command::Noop => None,
                    Command::Unsupported(u) => Some(u),
                }
            }

            /// What the rest of the program asks of the command.
            pub fn spec(&self) -> &dyn SplCommand {
                match self {
                    $(Command::$variant(x) => x,)*
                    Command::Noop => &NOOP,
                    Command::Unsupported(u) => u,
                }
            }
        }
    };
}

registry! {
    Search(search::Search) = "search" => |c: &mut Cursor, _| search::Search::parse(c);
    Fields(fields::Fields) = "fields" => |c: &mut Cursor, _| fields::Fields::parse(c);
    Table(table::Table) = "table" => |c: &mut Cursor, _| table::Table::parse(c);
    Head(head::Head) = "head" => |c: &mut Cursor, _| head::Head::parse(c);
    Rename(rename::Rename) = "rename" => |c: &mut Cursor, _| rename::Rename::parse(c);
    Replace(replace::Replace) = "replace" => replace::Replace::parse;
    Stats(stats::Stats) = "stats" => |c: &mut Cursor, _| stats::Stats::parse(c);
    Convert(convert::Convert) = "convert" => |c: &mut Cursor, _| convert::Convert::parse(c);
    InputLookup(inputlookup::InputLookup) = "inputlookup" => inputlookup::InputLookup::parse;
    Eval(eval::Eval) = "eval" => |c: &mut Cursor, _| eval::Eval::parse(c);
    Where(where_::Where) = "where" => |c: &mut Cursor, _| where_::Where::parse(c);
    Spath(spath::Spath) = "spath" => spath::Spath::parse;
    EventStats(eventstats::EventStats) = "eventstats" => eventstats::EventStats::parse;
    StreamStats(streamstats::StreamStats) = "streamstats" => streamstats::StreamStats::parse;
    Lookup(lookup::Lookup) = "lookup" => lookup::Lookup::parse;
    OutputLookup(outputlookup::OutputLookup) = "outputlookup" => outputlookup::OutputLookup::parse;
    Dedup(dedup::Dedup) = "dedup" => dedup::Dedup::parse;
    Sort(sort::Sort) = "sort" => sort::Sort::parse;
    Tail(tail::Tail) = "tail" => tail::Tail::parse;
    FillNull(fillnull::FillNull) = "fillnull" => fillnull::FillNull::parse;
    Rex(rex::Rex) = "rex" => rex::Rex::parse;
    Regex(regex::Regex) = "regex" => regex::Regex::parse;
    Bin(bin::Bin) = "bin" | "bucket" => bin::Bin::parse;
    MvExpand(mvexpand::MvExpand) = "mvexpand" => mvexpand::MvExpand::parse;
    MakeMv(makemv::MakeMv) = "makemv" => makemv::MakeMv::parse;
    MvCombine(mvcombine::MvCombine) = "mvcombine" => mvcombine::MvCombine::parse;
    Top(top::Top) = "top" | "rare" => top::Top::parse;
    Join(join::Join) = "join" => join::Join::parse;
    Append(append::Append) = "append" => append::Append::parse;
    AppendPipe(appendpipe::AppendPipe) = "appendpipe" => appendpipe::AppendPipe::parse;
    Map(map::Map) = "map" => map::Map::parse;
    AddTotals(addtotals::AddTotals) = "addtotals" => addtotals::AddTotals::parse;
    Foreach(foreach::Foreach) = "foreach" => foreach::Foreach::parse;
    Transaction(transaction::Transaction) = "transaction" => transaction::Transaction::parse;
    XmlKv(xmlkv::XmlKv) = "xmlkv" => xmlkv::XmlKv::parse;
    Extract(extract::Extract) = "extract" | "kv" => extract::Extract::parse;
    MultiKv(multikv::MultiKv) = "multikv" => multikv::MultiKv::parse;
    FromJson(fromjson::FromJson) = "fromjson" => fromjson::FromJson::parse;
    Return(r#return::Return) = "return" => r#return::Return::parse;
    Format(format::Format) = "format" => format::Format::parse;
    MakeResults(makeresults::MakeResults) = "makeresults" => makeresults::MakeResults::parse;
    IpLocation(iplocation::IpLocation) = "iplocation" => iplocation::IpLocation::parse;
    Tstats(tstats::Tstats) = "tstats" => tstats::Tstats::parse;
    Datamodel(datamodel::Datamodel) = "datamodel" => datamodel::Datamodel::parse;
    From(from::FromDataset) = "from" => from::FromDataset::parse;
    Timechart(timechart::Timechart) = "timechart" => timechart::Timechart::parse;
    Chart(chart::Chart) = "chart" => chart::Chart::parse;
}

/// The empty stage passes rows through.
struct NoopStage;
const NOOP: NoopStage = NoopStage;

impl SplCommand for NoopStage {
    fn kind(&self) -> Kind {
        Kind::Streaming
    }
    fn needs(&self, after: Need) -> Need {
        after
    }
    fn keeps_columns(&self) -> bool {
        true
    }
    fn operator(&self, _cx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(PassThrough))
    }
}

/// An operator that hands every row on.
pub struct PassThrough;
impl Operator for PassThrough {
    fn push(&mut self, ev: Event, out: &mut Vec<Event>) -> Result<()> {
        out.push(ev);
        Ok(())
    }
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
    // commands of Splunk apps that published detections and baselines use
    "cyberchef",
    "dnstwist",
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
        "mstats" | "mcatalog" | "mpreview" | "msearch" => format!(
            "command `{name}` reads Splunk metrics indexes: not supported here (spelunk reads event files, which hold no metrics store)"
        ),
        "apply" | "fit" | "summary" | "score" => format!(
            "command `{name}` runs a model of Splunk's Machine Learning Toolkit app (trained with `fit` and stored on a Splunk server): not supported"
        ),
        "cyberchef" => format!(
            "command `{name}` comes from the CyberChef for Splunk app: not supported"
        ),
        _ => format!("command `{name}` is not supported yet"),
    }
}

/// Parse the arguments of the command `name` (the cursor is just after the name).
pub fn parse_command(name: &str, name_span: Span, c: &mut Cursor) -> Result<Command> {
    let lower = name.to_ascii_lowercase();
    if let Some(cmd) = parse_registered(&lower, name_span, c) {
        return cmd;
    }
    if ALL_COMMANDS.contains(&lower.as_str()) {
        return Ok(Command::Unsupported(unsupported::Unsupported::parse(
            &lower, name_span, c,
        )?));
    }
    Err(unknown_command(name, name_span))
}

impl Command {
    /// What in this parsed command spelunk cannot run (see [`SplCommand::refusals`]).
    pub fn refusals(&self) -> Vec<Refusal> {
        self.spec().refusals()
    }

    /// Can spelunk run this command? (`check` reports the others.) A command whose parse holds a piece
    /// it cannot run ([`Command::refusals`]) is not.
    pub fn is_runnable(&self) -> bool {
        let spec = self.spec();
        spec.runnable() && spec.refusals().is_empty()
    }

    /// Does the command act on each row alone, keeping no state between rows? Such stages at the front
    /// of a pipeline run on every core, beside the reading.
    pub fn is_stateless(&self) -> bool {
        self.spec().kind() == Kind::Streaming
    }

    /// Does the command make its own rows (it must start a pipeline, after `|`)?
    pub fn is_generating(&self) -> bool {
        self.spec().kind() == Kind::Generating
    }
}

/// What operators may consult while they are built and run.
pub struct Context<'a> {
    pub eval: EvalContext,
    pub lookups: &'a Lookups,
    /// The data models `tstats`, `datamodel` and `from` read.
    pub datamodels: &'a crate::datamodels::DataModels,
    /// The macros of the session, for searches built while the query runs (`map search="..."`).
    pub macros: Option<&'a crate::macros::MacroLibrary>,
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

    /// End of input, with the runner of the pipeline at hand: an operator that runs searches over the
    /// rows it was given (`map`), or holds operators that may (`appendpipe`), does its work here. The
    /// planner always ends operators through this; the default is [`Operator::finish`].
    fn finish_with(&mut self, out: &mut Vec<Event>, _sub: &dyn SubRunner) -> Result<()> {
        self.finish(out)
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

/// Put the parts [`wildcard_captures`] found into the `*`s of `to`, in order.
pub fn wildcard_fill(to: &str, caps: &[&str]) -> String {
    let mut out = String::new();
    let mut caps = caps.iter();
    for (i, part) in to.split('*').enumerate() {
        if i > 0 {
            out.push_str(caps.next().copied().unwrap_or(""));
        }
        out.push_str(part);
    }
    out
}

pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == name;
    }
    // what `wildcard_captures` matches, without keeping the parts
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let last = pattern.rsplit('*').next().unwrap_or("");
    if name.len() < first.len() + last.len() || !name.starts_with(first) || !name.ends_with(last) {
        return false;
    }
    let end = name.len() - last.len();
    let mut pos = first.len();
    let middle = pattern.matches('*').count() - 1;
    for mid in parts.take(middle) {
        let Some(hay) = name.get(pos..end) else {
            return false;
        };
        let Some(k) = hay.find(mid) else {
            return false;
        };
        pos += k + mid.len();
    }
    pos <= end
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

    #[test]
    fn wildcard_match_agrees_with_wildcard_captures() {
        let patterns = [
            "*", "a*", "*a", "a*b", "a*b*c", "*b*", "**", "a**c", "ab", "", "a*a*a",
        ];
        let names = [
            "", "a", "ab", "abc", "aXbYc", "ba", "aaa", "aa", "abcabc", "cab", "a*b",
        ];
        for p in patterns {
            for n in names {
                assert_eq!(
                    wildcard_match(p, n),
                    wildcard_captures(p, n).is_some(),
                    "{p:?} against {n:?}"
                );
            }
        }
    }

    /// Arguments that each runnable command parses with.
    const SAMPLE_ARGS: &[(&str, &str)] = &[
        ("addtotals", ""),
        ("append", "[search b]"),
        ("appendpipe", "[stats count]"),
        ("bin", "span=1h _time"),
        ("bucket", "span=1h _time"),
        ("chart", "count over user by action"),
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
        ("map", "search=\"search b=$a$\""),
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
        ("timechart", "span=1h count by user"),
        ("replace", "a WITH b IN f"),
        (
            "tstats",
            "count from datamodel=Endpoint.Processes by Processes.dest",
        ),
        ("datamodel", "Endpoint Processes search"),
        ("from", "datamodel:Web.Web"),
        ("top", "user"),
        ("transaction", "user"),
        ("where", "a > 1"),
        ("xmlkv", ""),
        ("extract", r#"pairdelim=";" kvdelim=":""#),
        ("kv", r#"pairdelim="," kvdelim="=""#),
        ("multikv", "forceheader=1 fields a b"),
    ];

    #[test]
    fn runnable_commands_are_those_that_run() {
        let runnable = runnable_commands();
        for name in ALL_COMMANDS {
            let args = SAMPLE_ARGS
                .iter()
                .find(|(n, _)| n == name)
                .map_or("x", |(_, a)| *a);
            let q = if matches!(
                *name,
                "inputlookup" | "makeresults" | "tstats" | "datamodel" | "from"
            ) {
                format!("| {name} {args}")
            } else {
                format!("search a | {name} {args}")
            };
            let p = crate::parse::parse_query(&q)
                .unwrap_or_else(|e| panic!("`{q}` does not parse: {}", e.message));
            let Some(cmd) = p.stages.last().map(|s| &s.command) else {
                panic!("`{q}` has no stage")
            };
            if runnable.contains(name) {
                assert!(cmd.is_runnable(), "`{q}` should run: {cmd:?}");
            } else {
                assert!(
                    matches!(cmd, Command::Unsupported(_)) && !cmd.is_runnable(),
                    "`{name}` has a parser but is not in the registry ({cmd:?})"
                );
            }
        }
        for name in &runnable {
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
