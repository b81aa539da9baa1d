//! `spelunk sql`: a query as one SQL statement that computes the rows spelunk prints, for engines that
//! scale out: DuckDB, and Spark SQL (Spark 4, whose `VARIANT` reads the events' JSON).
//!
//! This module is the statement builder the commands write to; [`crate::translate`] drives it from the
//! plan, not from the text: after macros are expanded and subsearches are run and replaced by their
//! rows, each stage's command writes its own step ([`SplCommand::sql`] in the command's file) as one
//! common table expression over the step before it. Rows are events,
//! columns are fields: a field with one value is `VARCHAR`, a multivalue field (`a{}.b`, `values()`)
//! is `VARCHAR[]`, a missing field is `NULL`. What has no faithful SQL form is an error naming it,
//! never an approximate query.
//!
//! The rules that make the SQL give Splunk's rows, written once here:
//! - every condition is two-valued (`coalesce(..., false)`), so `NOT f=v` keeps events that lack `f`
//!   as Splunk does, where SQL's `NOT NULL` would drop them;
//! - search values match case-insensitively, `*` is a wildcard, and a number also matches other
//!   spellings of the same number (`port=443` matches `443.0`);
//! - a multivalue field matches when any of its values does;
//! - `stats ... by` drops rows that lack a by-field and orders groups as `sort` does: numbers first,
//!   numerically, then text in byte order.
//!
//!
//! The dialects differ in spelling only — quoting, string literals, list functions, regular
//! expression matching, raising an error, reading JSON, times — and those spellings are the
//! functions below ([`ident`], [`text`], [`full_match`], [`list_any`], [`raise`], ...), which write
//! the dialect of the statement being built ([`Writing`]). Commands write their steps with them and
//! never spell a dialect's function themselves.
//!
//! [`SplCommand::sql`]: crate::commands::SplCommand::sql

use crate::diag::{Diagnostic, Result};
use std::cell::Cell;

/// The SQL dialect to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    DuckDb,
    /// Spark SQL 4 (its JSON functions over `VARIANT`; ANSI mode on or off).
    Spark,
}

impl Dialect {
    pub fn parse(name: &str) -> std::result::Result<Dialect, String> {
        match name.to_ascii_lowercase().as_str() {
            "duckdb" => Ok(Dialect::DuckDb),
            "spark" => Ok(Dialect::Spark),
            other => Err(format!(
                "unknown SQL dialect `{other}` (known: duckdb, spark)"
            )),
        }
    }
}

thread_local! {
    static DIALECT: Cell<Dialect> = const { Cell::new(Dialect::DuckDb) };
}

/// The dialect of the statement being built on this thread, while this guard lives (the one before
/// it again afterwards).
pub struct Writing(Dialect);

impl Writing {
    pub fn start(d: Dialect) -> Writing {
        Writing(DIALECT.with(|c| c.replace(d)))
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        DIALECT.with(|c| c.set(self.0));
    }
}

/// The dialect being written.
pub fn dialect() -> Dialect {
    DIALECT.with(Cell::get)
}

fn spark() -> bool {
    dialect() == Dialect::Spark
}

/// The type of a text column.
pub fn string_type() -> &'static str {
    if spark() {
        "STRING"
    } else {
        "VARCHAR"
    }
}

/// The type of a multivalue (list of text) column.
pub fn list_type() -> &'static str {
    if spark() {
        "ARRAY<STRING>"
    } else {
        "VARCHAR[]"
    }
}

/// A null text value.
pub fn null_text() -> String {
    format!("CAST(NULL AS {})", string_type())
}

/// `x` (an integer or a number) as text.
pub fn as_text(x: &str) -> String {
    format!("CAST({x} AS {})", string_type())
}

/// An expression that stops the query with `message`.
pub fn raise(message: &str) -> String {
    if spark() {
        format!("raise_error({})", text(message))
    } else {
        format!("error({})", text(message))
    }
}

/// Does the text `x` match the regular expression `re` as a whole? (null when `x` is null)
pub fn full_match(x: &str, re: &str) -> String {
    if spark() {
        // RLIKE finds; anchored at both ends (`\z`: the very end, where `$` also takes a final newline)
        format!("({x} RLIKE {})", text(&format!("^(?:{re})\\z")))
    } else {
        format!("regexp_full_match({x}, {})", text(re))
    }
}

/// Does the regular expression `re` match somewhere in the text `x`? (null when `x` is null)
pub fn find(x: &str, re: &str) -> String {
    if spark() {
        format!("({x} RLIKE {})", text(re))
    } else {
        format!("regexp_matches({x}, {})", text(re))
    }
}

/// Every match of `re` in `x` replaced by the plain text `with`.
pub fn replace_all(x: &str, re: &str, with: &str) -> Result<String> {
    if spark() {
        // Java's replacement names a group `$1` where Splunk's (and RE2's) writes `\1`
        let mut java = String::new();
        let mut chars = with.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek().is_some_and(char::is_ascii_digit) => java.push('$'),
                '\\' | '$' => {
                    return Err(no_sql_form(format!(
                        "the replacement text `{with}` in Spark SQL"
                    )))
                }
                c => java.push(c),
            }
        }
        Ok(format!(
            "regexp_replace({x}, {}, {})",
            text(re),
            text(&java)
        ))
    } else {
        Ok(format!(
            "regexp_replace({x}, {}, {}, 'g')",
            text(re),
            text(with)
        ))
    }
}

/// The `k`th piece of `x` split at the plain text `sep` (from 1; negative: from the end), null past
/// the ends.
pub fn split_piece(x: &str, sep: &str, k: i64) -> String {
    if spark() {
        let quoted: String = sep
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_string()
                } else {
                    format!("\\x{{{:x}}}", c as u32)
                }
            })
            .collect();
        format!("try_element_at(split({x}, {}), {k})", text(&quoted))
    } else {
        format!("string_split({x}, {})[{k}]", text(sep))
    }
}

/// The `k`th value of the list `l` (from 1; negative: from the end), null past the ends.
pub fn list_item(l: &str, k: i64) -> String {
    if spark() {
        format!("try_element_at({l}, {k})")
    } else {
        format!("({l})[{k}]")
    }
}

/// The number of values in the list `l`.
pub fn list_len(l: &str) -> String {
    if spark() {
        format!("size({l})")
    } else {
        format!("len({l})")
    }
}

/// The values of the list `l` for which `pred` (written for the value `v`) holds.
pub fn list_filter(l: &str, pred: &dyn Fn(&str) -> String) -> String {
    if spark() {
        format!("filter({l}, v -> {})", pred("v"))
    } else {
        format!("list_filter({l}, lambda v: {})", pred("v"))
    }
}

/// `f` (written for the value `x`) of each value of the list `l`.
pub fn list_map(l: &str, f: &dyn Fn(&str) -> String) -> String {
    if spark() {
        format!("transform({l}, x -> {})", f("x"))
    } else {
        format!("list_transform({l}, lambda x: {})", f("x"))
    }
}

/// The list `l` with each value once.
pub fn list_distinct(l: &str) -> String {
    if spark() {
        format!("array_distinct({l})")
    } else {
        format!("list_distinct({l})")
    }
}

/// The list `l` sorted as text, byte by byte.
pub fn list_sort(l: &str) -> String {
    if spark() {
        format!("array_sort({l})")
    } else {
        format!("list_sort({l})")
    }
}

/// The aggregate list of the non-null values of `x` in a group.
pub fn collect(x: &str) -> String {
    if spark() {
        format!("collect_list({x})")
    } else {
        format!("list({x}) FILTER (WHERE {x} IS NOT NULL)")
    }
}

/// One row per value of the list `l` (in a select list).
pub fn unnest(l: &str) -> String {
    if spark() {
        format!("explode({l})")
    } else {
        format!("unnest({l})")
    }
}

/// The values of the list `l` joined by newlines, as spelunk's CSV writes a multivalue field.
pub fn join_lines(l: &str) -> String {
    if spark() {
        format!("array_join({l}, chr(10))")
    } else {
        format!("array_to_string({l}, chr(10))")
    }
}

/// The text `x` compared byte by byte (Spark compares text so already).
pub fn binary(x: &str) -> String {
    if spark() {
        x.to_string()
    } else {
        format!("{x} COLLATE \"binary\"")
    }
}

/// One column of a step: a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Col {
    pub name: String,
    /// `VARCHAR[]` (a multivalue field) rather than `VARCHAR`.
    pub multi: bool,
    /// An integer (`count`), printed as it is.
    pub int: bool,
}

impl Col {
    pub fn text(name: &str) -> Col {
        Col {
            name: name.to_string(),
            multi: false,
            int: false,
        }
    }
}

/// The statement being built: the steps so far and the columns of the last.
pub struct Query {
    pub dialect: Dialect,
    steps: Vec<String>,
    /// The columns of the last step, in the order spelunk shows them.
    pub cols: Vec<Col>,
    /// The order the last step's rows come in (`ORDER BY` terms), when a stage fixes it.
    order: Option<Vec<String>>,
    /// Fields the rows have but the SQL cannot give (`_time`, `_raw`, a calculated field), with why:
    /// a stage that reads one is refused.
    pub unavailable: Vec<(String, String)>,
    /// Times are shown in UTC (`--tz`): the SQL writes times in UTC only.
    pub utc: bool,
}

impl Query {
    /// A query whose first step is `select` (a whole `SELECT`), with these columns.
    pub fn new(dialect: Dialect, select: String, cols: Vec<Col>) -> Query {
        Query {
            dialect,
            steps: vec![select],
            cols,
            order: None,
            unavailable: Vec::new(),
            utc: true,
        }
    }

    /// The name of the last step, to select from.
    pub fn from(&self) -> String {
        format!("s{}", self.steps.len() - 1)
    }

    /// Add a step: `select` reads [`Query::from`]; its rows come in no defined order unless `order`.
    pub fn step(&mut self, select: String, cols: Vec<Col>, order: Option<Vec<String>>) {
        self.steps.push(select);
        self.cols = cols;
        self.order = order;
    }

    /// Add a step that keeps the rows' order (it drops or reshapes rows one by one).
    pub fn step_in_order(&mut self, select: String, cols: Vec<Col>) {
        let order = self.order.take();
        self.step(select, cols, order);
    }

    /// Add a step that keeps the rows and their order and gives each the columns `cols`, computed by
    /// the select-list items `list` (none: a placeholder column, as SQL needs one).
    pub fn reshape(&mut self, list: &[String], cols: Vec<Col>) {
        let items = if list.is_empty() {
            format!("NULL AS {}", ident("_none"))
        } else {
            list.join(", ")
        };
        let select = format!("SELECT {items} FROM {}", self.from());
        self.step_in_order(select, cols);
    }

    /// The column of the field `name` (`None`: no row has it), or why the SQL cannot give it.
    pub fn field(&self, name: &str) -> Result<Option<&Col>> {
        if let Some((_, why)) = self.unavailable.iter().find(|(n, _)| n == name) {
            return Err(no_sql_form(format!("the field `{name}` ({why})")));
        }
        Ok(self.cols.iter().find(|c| c.name == name))
    }

    /// Is the field `name` one the SQL cannot give?
    pub fn is_unavailable(&self, name: &str) -> bool {
        self.unavailable.iter().any(|(n, _)| n == name)
    }

    /// Does the rows' order so far read the field `name`?
    pub fn ordered_by(&self, name: &str) -> bool {
        let id = ident(name);
        self.order
            .as_ref()
            .is_some_and(|o| o.iter().any(|t| t.contains(&id)))
    }

    /// The field `from` is called `to` from the next step on: the rows' order reads it by that name.
    pub fn rename_in_order(&mut self, from: &str, to: &str) {
        let (a, b) = (ident(from), ident(to));
        if let Some(o) = &mut self.order {
            for t in o.iter_mut() {
                *t = t.replace(&a, &b);
            }
        }
    }

    /// The rows' order so far, to keep in a step that reorders nothing.
    pub fn order(&self) -> Option<&[String]> {
        self.order.as_deref()
    }

    /// The SQL form of the column `name` of the last step.
    pub fn ident(&self, name: &str) -> String {
        ident(name)
    }

    /// The whole statement: the steps as common table expressions, then the last step's columns as
    /// spelunk prints them in CSV (a multivalue field's values on lines of their own) or, with
    /// `lists`, a multivalue field as a list.
    pub fn finish(self, lists: bool) -> String {
        let mut out = String::from("WITH ");
        for (i, s) in self.steps.iter().enumerate() {
            if i > 0 {
                out.push_str(",\n");
            }
            out.push_str(&format!("s{i} AS (\n{s}\n)"));
        }
        let cols: Vec<String> = self
            .cols
            .iter()
            .map(|c| {
                let id = ident(&c.name);
                // the field's own name (Spark's columns are named apart from their case)
                let name = if spark() {
                    format!("`{}`", c.name.replace('`', "``"))
                } else {
                    id.clone()
                };
                if c.multi && !lists {
                    format!("{} AS {name}", join_lines(&id))
                } else if name != id {
                    format!("{id} AS {name}")
                } else {
                    id
                }
            })
            .collect();
        let list = if cols.is_empty() {
            format!("NULL AS {}", ident(if spark() { "_none" } else { "" }))
        } else {
            cols.join(", ")
        };
        let last = self.steps.len() - 1;
        out.push_str(&format!("\nSELECT {list} FROM s{last}"));
        if let Some(order) = self.order.filter(|o| !o.is_empty()) {
            // the order reads the step's own columns, named with the step: the result's names may
            // shadow them (Spark resolves ORDER BY against the select list first: `values(x) as r`
            // joined to text, or a name differing only in case)
            let qualified: Vec<String> = order
                .iter()
                .map(|t| {
                    let mut t = t.clone();
                    for c in &self.cols {
                        let id = ident(&c.name);
                        t = t.replace(&id, &format!("s{last}.{id}"));
                    }
                    t
                })
                .collect();
            out.push_str(&format!("\nORDER BY {}", qualified.join(", ")));
        }
        out
    }
}

/// The select list and columns of a step that keeps every column of `cols` as it is except `name`,
/// which `item` gives (in its place, or last when it is new).
pub fn replacing(cols: &[Col], name: &str, item: String, col: Col) -> (Vec<String>, Vec<Col>) {
    let mut list: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut item = Some(item);
    let mut col = Some(col);
    for c in cols {
        if c.name == name {
            list.extend(item.take());
            out.extend(col.take());
        } else {
            list.push(ident(&c.name));
            out.push(c.clone());
        }
    }
    list.extend(item);
    out.extend(col);
    (list, out)
}

/// A field name as an SQL identifier. Spark folds the case of names (`userName` and `username` would
/// be one column), so there each capital is written `^` and its small letter (`user^name`), and `^`
/// as `^^`; [`Query::finish`] names the result's columns as the fields are named.
pub fn ident(name: &str) -> String {
    if spark() {
        let mut folded = String::with_capacity(name.len() + 4);
        for ch in name.chars() {
            match ch {
                '^' => folded.push_str("^^"),
                '`' => folded.push_str("``"),
                c if c.is_uppercase() => {
                    folded.push('^');
                    folded.extend(c.to_lowercase());
                }
                c => folded.push(c),
            }
        }
        format!("`{folded}`")
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// Text as an SQL string. For Spark, whose reading of a backslash or a quote in a literal depends
/// on a setting (`spark.sql.parser.escapedStringLiterals`), those two are `chr(92)` and `chr(39)`
/// joined to the literal pieces, so that the text is the same under either setting.
pub fn text(s: &str) -> String {
    if spark() {
        let mut parts: Vec<String> = Vec::new();
        let mut run = String::new();
        for c in s.chars() {
            let code = match c {
                '\\' => 92,
                '\'' => 39,
                _ => {
                    run.push(c);
                    continue;
                }
            };
            if !run.is_empty() {
                parts.push(format!("'{}'", std::mem::take(&mut run)));
            }
            parts.push(format!("chr({code})"));
        }
        if !run.is_empty() || parts.is_empty() {
            parts.push(format!("'{run}'"));
        }
        match parts.as_slice() {
            [one] => one.clone(),
            _ => format!("concat({})", parts.join(", ")),
        }
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// A number as an SQL literal that reads back as the same `DOUBLE`.
pub fn number(n: f64) -> String {
    format!("CAST({} AS DOUBLE)", text(&format!("{n:?}")))
}

/// The number a text reads as, as spelunk reads it ([`crate::value::parse_num`]: optional sign,
/// digits with an optional fraction, optional exponent, spaces around), else `NULL`.
pub fn as_number(x: &str) -> String {
    format!(
        "CASE WHEN {} THEN TRY_CAST(trim({x}) AS DOUBLE) END",
        full_match(
            x,
            "[ \\t\\n\\f\\r]*[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?[ \\t\\n\\f\\r]*"
        )
    )
}

/// A condition on each value of the field `col`: true when any value meets it. `test` writes the
/// condition for one value (an SQL expression) and must be two-valued for non-null values.
pub fn any_value(col: &Col, test: &dyn Fn(&str) -> String) -> String {
    let id = ident(&col.name);
    if col.multi {
        format!("coalesce({} > 0, false)", list_len(&list_filter(&id, test)))
    } else {
        format!("coalesce({}, false)", test(&id))
    }
}

/// The error for a stage or piece that has no SQL form.
pub fn no_sql_form(what: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::new(format!("{what} has no SQL form yet"))
}

/// The ORDER BY terms that put values of `id` in the order of `sort` and of `stats` groups: numbers
/// first, numerically, then text in byte order.
pub fn sort_terms(id: &str) -> Vec<String> {
    let n = as_number(id);
    vec![format!("({n}) IS NULL"), n, binary(id)]
}

/// How the events are read: which files, which of their JSON fields, and which default fields the
/// SQL works out itself.
pub struct Events<'a> {
    pub paths: &'a [String],
    /// For each path: its first JSON value is on one line (a reader of lines can read it), else the
    /// file is read whole (Spark).
    pub one_per_line: &'a [bool],
    /// The paths are the engine's own (globs, URLs: `--read`), used as written; else they are files.
    pub as_written: bool,
    /// The JSON fields the query (and the knowledge it uses) reads.
    pub fields: &'a [String],
    /// The sourcetype every event has (`--sourcetype`), else sniffed per event.
    pub sourcetype: Option<&'a str>,
    /// A JSON object that is a Windows event export (which spelunk reads as the forwarder's XML)
    /// stops the query: its fields are not its JSON's.
    pub refuse_windows_exports: bool,
    /// `_time`: for each sourcetype the events can have, the field its stanza's `TIME_FIELD` names
    /// (`None`: no `TIME_FIELD`); `None` when the query does not read `_time`.
    pub time: Option<Vec<(String, Option<String>)>>,
}

/// The first steps for events read from JSON files as spelunk reads them: every JSON value in a file
/// (one per line or pretty-printed), a `{"Records":[...]}` object standing for its records and an
/// array for its members; each event object a row with the `fields` the query reads (JSON paths:
/// `a.b` is key `b` of object `a`, `a{}.b` key `b` of every member of array `a`), its `sourcetype`
/// and, when read, its `_time`.
pub fn json_events(dialect: Dialect, ev: &Events) -> Result<Query> {
    if dialect == Dialect::Spark {
        return spark_json_events(ev);
    }
    let files: Vec<String> = ev.paths.iter().map(|p| text(p)).collect();
    let mut exprs = Vec::new();
    let mut cols = Vec::new();
    for f in ev.fields {
        let (expr, multi) = json_field(f)?;
        exprs.push(format!("{expr} AS {}", ident(f)));
        cols.push(Col {
            name: f.clone(),
            multi,
            int: false,
        });
    }
    // a key holding a value (not an object, an array or null), as the sniffing reads fields
    let has = |k: &str| {
        let mut path = String::from("$");
        for seg in k.split('.') {
            path.push_str(&format!(".\"{seg}\""));
        }
        format!(
            "coalesce(json_type(json, {}) NOT IN ('OBJECT', 'ARRAY', 'NULL'), false)",
            text(&path)
        )
    };
    let sourcetype = match ev.sourcetype {
        Some(st) => text(st),
        None => sniffed_sourcetype(&has),
    };
    exprs.push(format!("{sourcetype} AS \"sourcetype\""));
    cols.push(Col::text("sourcetype"));
    let mut filter = String::from("json_type(json) = 'OBJECT'");
    if ev.refuse_windows_exports {
        filter.push_str(&format!(" AND {}", not_windows_export(&has)));
    }
    let select = format!(
        "SELECT {}\nFROM (SELECT unnest(CASE WHEN json_type(json) = 'ARRAY' THEN json_extract(json, '$[*]') WHEN json_type(json, '$.\"Records\"') = 'ARRAY' THEN json_extract(json, '$.\"Records\"[*]') ELSE [json] END) AS json\n      FROM read_json_objects([{}], format = 'unstructured', maximum_object_size = 268435456))\nWHERE {filter}",
        exprs.join(",\n       "),
        files.join(", ")
    );
    let mut q = Query::new(dialect, select, cols);
    if let Some(times) = &ev.time {
        time_step(&mut q, times)?;
    }
    Ok(q)
}

/// The sourcetype spelunk gives a JSON object (see `input::sniff_sourcetype`), given `has(key)`: the
/// condition that the event's key holds a value.
fn sniffed_sourcetype(has: &dyn Fn(&str) -> String) -> String {
    format!(
        "CASE WHEN {} AND {} AND {} THEN 'aws:cloudtrail' WHEN {} AND ({} OR {}) THEN 'aws:cloudtrail:lake' ELSE '_json' END",
        has("eventVersion"),
        has("eventSource"),
        has("eventName"),
        has("api.operation"),
        has("class_uid"),
        has("metadata.product.name"),
    )
}

/// True for an event that is not a Windows event export (`input::winjson::kind`); such an event stops
/// the query.
fn not_windows_export(has: &dyn Fn(&str) -> String) -> String {
    format!(
        "CASE WHEN ({} AND {}) OR ({} AND {} AND ({} OR {})) THEN {} ELSE true END",
        has("winlog.event_id"),
        has("winlog.channel"),
        has("EventID"),
        has("Channel"),
        has("Hostname"),
        has("Computer"),
        raise("a Windows event export (spelunk reads it as the forwarder's XML event) has no SQL form yet")
    )
}

/// The error text for a JSON number whose spelling the engine does not keep.
fn unkept_number(name: &str) -> String {
    let engine = if spark() { "Spark" } else { "DuckDB" };
    format!(
        "the field `{name}` holds a JSON number with a fraction or an exponent, whose spelling {engine} does not keep: spelunk sql cannot give its text"
    )
}

/// [`json_events`] in Spark SQL: each file read as lines of text (`text.`path``, gzip by its `.gz`
/// name), each non-blank line parsed as one JSON value (`parse_json`: a line that is not a whole JSON
/// value — a pretty-printed file — stops the query), and the events and fields as for DuckDB, read
/// from the `VARIANT`.
fn spark_json_events(ev: &Events) -> Result<Query> {
    // the files of each reader as one path: a folder and a glob of their names (Hadoop's `{a,b}`)
    let mut lines = Vec::new();
    let mut whole = Vec::new();
    if ev.as_written {
        let mut reads = Vec::new();
        for p in ev.paths {
            if p.contains('`') {
                return Err(no_sql_form(format!(
                    "the path `{p}` (a backtick) in Spark SQL"
                )));
            }
            reads.push(format!("SELECT value FROM text.`{p}`"));
        }
        return spark_events_from(ev, &reads);
    }
    for (i, p) in ev.paths.iter().enumerate() {
        if p.contains(['`', '*', '?', '[', ']', '{', '}', ',', '\\']) {
            return Err(no_sql_form(format!(
                "the path `{p}` (a character Spark reads as a glob or a quote) in Spark SQL"
            )));
        }
        if ev.one_per_line.get(i).copied().unwrap_or(true) {
            lines.push(p.as_str());
        } else if p.ends_with(".gz") {
            return Err(no_sql_form(format!(
                "the gzip file `{p}` of JSON over several lines, in Spark SQL (which reads such a file whole only uncompressed)"
            )));
        } else {
            whole.push(p.as_str());
        }
    }
    let mut reads = Vec::new();
    for (paths, read) in [
        (&lines, "SELECT value FROM text"),
        // a JSON value over several lines: each file read whole
        (
            &whole,
            "SELECT decode(content, 'UTF-8') AS value FROM binaryFile",
        ),
    ] {
        let mut by_folder: Vec<(&str, Vec<&str>)> = Vec::new();
        for p in paths.iter() {
            let (dir, name) = match p.rfind('/') {
                Some(i) => (&p[..i + 1], &p[i + 1..]),
                None => ("", *p),
            };
            match by_folder.iter_mut().find(|(d, _)| *d == dir) {
                Some((_, names)) => names.push(name),
                None => by_folder.push((dir, vec![name])),
            }
        }
        for (dir, names) in by_folder {
            let glob = match names.as_slice() {
                [one] => format!("{dir}{one}"),
                _ => format!("{dir}{{{}}}", names.join(",")),
            };
            reads.push(format!("{read}.`{glob}`"));
        }
    }
    spark_events_from(ev, &reads)
}

/// The first steps of [`spark_json_events`] over the text lines (or whole files) that `reads` select
/// as `value`.
fn spark_events_from(ev: &Events, reads: &[String]) -> Result<Query> {
    // a field with one value is read in three levels, so that each piece is written once: its
    // `VARIANT` (`x1`), then its type (`t1`), then its text
    let mut exprs = Vec::new();
    let mut variants = vec!["json".to_string()];
    let mut types = vec!["json".to_string()];
    let mut cols = Vec::new();
    for (i, f) in ev.fields.iter().enumerate() {
        let (expr, multi) = spark_json_field(f)?;
        if multi {
            exprs.push(format!("{expr} AS {}", ident(f)));
        } else {
            let (x, t) = (format!("x{i}"), format!("t{i}"));
            variants.push(format!("{expr} AS {x}"));
            types.push(format!("{x}, schema_of_variant({x}) AS {t}"));
            exprs.push(format!("{} AS {}", spark_field_text(&x, &t, f), ident(f)));
        }
        cols.push(Col {
            name: f.clone(),
            multi,
            int: false,
        });
    }
    let has = |k: &str| -> String {
        let keys: Vec<&str> = k.split('.').collect();
        match spark_path(&keys) {
            Ok(p) => format!("coalesce(NOT ({}), false)", {
                let x = format!("variant_get(json, {}, 'variant')", text(&p));
                spark_not_leaf(&x, &format!("schema_of_variant({x})"))
            }),
            Err(_) => "false".into(),
        }
    };
    let sourcetype = match ev.sourcetype {
        Some(st) => text(st),
        None => sniffed_sourcetype(&has),
    };
    exprs.push(format!("{sourcetype} AS {}", ident("sourcetype")));
    cols.push(Col::text("sourcetype"));
    let mut filter = String::from("schema_of_variant(json) LIKE 'OBJECT%'");
    if ev.refuse_windows_exports {
        filter.push_str(&format!(" AND {}", not_windows_export(&has)));
    }
    let select = format!(
        "SELECT {}\nFROM (SELECT {}\nFROM (SELECT {}\nFROM (SELECT explode(CASE WHEN schema_of_variant(v) LIKE 'ARRAY%' THEN variant_get(v, '$', 'array<variant>') WHEN try_variant_get(v, '$.Records', 'array<variant>') IS NOT NULL THEN variant_get(v, '$.Records', 'array<variant>') ELSE array(v) END) AS json\n      FROM (SELECT parse_json(regexp_replace(value, {}, '')) AS v FROM ({}) WHERE trim(value) <> ''))\nWHERE {filter}))",
        exprs.join(",\n       "),
        types.join(", "),
        variants.join(",\n       "),
        text("^\\uFEFF"),
        reads.join(" UNION ALL "),
    );
    let mut q = Query::new(Dialect::Spark, select, cols);
    if let Some(times) = &ev.time {
        time_step(&mut q, times)?;
    }
    Ok(q)
}

/// A Spark `VARIANT` path of object keys.
fn spark_path(keys: &[&str]) -> Result<String> {
    let mut p = String::from("$");
    for k in keys {
        if k.contains('\'') || k.contains(']') || k.contains('\\') {
            return Err(no_sql_form(format!("the key `{k}` in a Spark path")));
        }
        if k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            p.push_str(&format!(".{k}"));
        } else {
            p.push_str(&format!("['{k}']"));
        }
    }
    Ok(p)
}

/// True when the `VARIANT` `x`, of type `t` (its `schema_of_variant`), is not a field's value:
/// missing, null, an object or an array.
fn spark_not_leaf(x: &str, t: &str) -> String {
    format!("({x} IS NULL OR {t} = 'VOID' OR {t} LIKE 'OBJECT%' OR {t} LIKE 'ARRAY%')")
}

/// The text of the leaf `VARIANT` `x` of type `t`; a number with a fraction or an exponent stops the
/// query (Spark's `parse_json` keeps such a number as a decimal or a double, without its spelling:
/// `2.0` becomes `DECIMAL(1,0)` 2, `1.50` 1.5).
fn spark_leaf_text(x: &str, t: &str, name: &str) -> String {
    format!(
        "CASE WHEN {t} IN ('DOUBLE', 'FLOAT') OR {t} LIKE 'DECIMAL%' THEN {} ELSE variant_get({x}, '$', 'string') END",
        raise(&unkept_number(name))
    )
}

/// A field's text from the `VARIANT` `x` of type `t`: null when it is no field's value.
fn spark_field_text(x: &str, t: &str, name: &str) -> String {
    format!(
        "CASE WHEN {} THEN NULL ELSE {} END",
        spark_not_leaf(x, t),
        spark_leaf_text(x, t, name)
    )
}

/// [`json_field`] over a Spark `VARIANT` (`json`): for a multivalue field, its list of texts; for
/// any other, the `VARIANT` at its path.
fn spark_json_field(name: &str) -> Result<(String, bool)> {
    // the path as key runs and member steps
    let mut list: Option<String> = None;
    let mut keys: Vec<String> = Vec::new();
    let step = |list: &Option<String>, keys: &[String]| -> Result<String> {
        let ks: Vec<&str> = keys.iter().map(String::as_str).collect();
        let p = text(&spark_path(&ks)?);
        Ok(match list {
            None => format!("variant_get(json, {p}, 'variant')"),
            Some(l) => list_map(l, &|x| format!("variant_get({x}, {p}, 'variant')")),
        })
    };
    for seg in name.split('.') {
        let mut s = seg;
        let mut members = 0;
        while let Some(base) = s.strip_suffix("{}") {
            s = base;
            members += 1;
        }
        if s.contains('{') || s.contains('}') || (s.is_empty() && members == 0) {
            return Err(no_sql_form(format!("the field name `{name}`")));
        }
        if !s.is_empty() {
            keys.push(s.to_string());
        }
        for _ in 0..members {
            // the members of each array reached (a value that is not an array has none)
            let here = step(&list, &keys)?;
            keys.clear();
            let arrays = match &list {
                None => format!("array({here})"),
                Some(_) => here,
            };
            let members = list_map(&arrays, &|x| {
                format!("try_variant_get({x}, '$', 'array<variant>')")
            });
            list = Some(format!(
                "flatten({})",
                list_filter(&members, &|v| format!("{v} IS NOT NULL"))
            ));
        }
    }
    match list {
        // the `VARIANT` at the path; its text is written over it and its type (see
        // `spark_json_events`)
        None => Ok((step(&None, &keys)?, false)),
        Some(_) => {
            let reached = if keys.is_empty() {
                list.unwrap_or_default()
            } else {
                step(&list, &keys)?
            };
            let leaves = list_map(
                &list_filter(&reached, &|v| {
                    format!(
                        "NOT {}",
                        spark_not_leaf(v, &format!("schema_of_variant({v})"))
                    )
                }),
                &|x| spark_leaf_text(x, &format!("schema_of_variant({x})"), name),
            );
            Ok((
                format!("CASE WHEN {} > 0 THEN {leaves} END", list_len(&leaves)),
                true,
            ))
        }
    }
}

/// `_time` from each sourcetype's `TIME_FIELD` holding CloudTrail's `YYYY-MM-DDTHH:MM:SSZ` (whole
/// seconds; a space for `T`, no `Z` and a fraction of zeros read the same, as UTC), as the epoch
/// seconds' text. Any other time (another spelling, a fraction, no
/// `TIME_FIELD`, a missing field, for which spelunk falls back to the event's text or the file's
/// time) stops the query with an error naming it.
fn time_step(q: &mut Query, times: &[(String, Option<String>)]) -> Result<()> {
    let mut case = String::from("CASE");
    for (st, field) in times {
        let expr = match field {
            Some(f) => match q.field(f)? {
                Some(c) if !c.multi => {
                    let x = ident(&c.name);
                    let (valid, epoch) = utc_seconds(&x);
                    format!(
                        "CASE WHEN {} AND {valid} THEN {epoch} ELSE {} END",
                        full_match(&x, "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.0{1,9})?Z?"),
                        raise(&format!("the time of an event of sourcetype {st} whose {f} is not UTC whole seconds (YYYY-MM-DDTHH:MM:SS, optionally Z) has no SQL form yet"))
                    )
                }
                _ => raise(&format!(
                    "the time of an event of sourcetype {st} without a single {f} has no SQL form yet"
                )),
            },
            None => raise(&format!(
                "the time of an event of sourcetype {st} (no TIME_FIELD) has no SQL form yet"
            )),
        };
        case.push_str(&format!(
            " WHEN {} = {} THEN {expr}",
            ident("sourcetype"),
            text(st)
        ));
    }
    case.push_str(&format!(
        " ELSE {} END",
        raise("the time of an event of another sourcetype has no SQL form yet")
    ));
    let mut list: Vec<String> = q.cols.iter().map(|c| ident(&c.name)).collect();
    list.push(format!("{case} AS {}", ident("_time")));
    let mut cols = q.cols.clone();
    cols.push(Col::text("_time"));
    q.reshape(&list, cols);
    Ok(())
}

/// For a text `x` starting `YYYY-MM-DD?HH:MM:SS` (a UTC time): the condition that it is a real date
/// and time, and its epoch seconds as text.
fn utc_seconds(x: &str) -> (String, String) {
    let iso = format!("replace(left({x}, 19), ' ', 'T')");
    if spark() {
        let ts = format!("concat({iso}, 'Z')");
        (
            format!("try_cast({ts} AS TIMESTAMP) IS NOT NULL"),
            as_text(&format!("unix_seconds(CAST({ts} AS TIMESTAMP))")),
        )
    } else {
        (
            format!("try_strptime({iso}, '%Y-%m-%dT%H:%M:%S') IS NOT NULL"),
            as_text(&format!(
                "CAST(epoch(strptime({iso}, '%Y-%m-%dT%H:%M:%S')) AS BIGINT)"
            )),
        )
    }
}

/// The epoch seconds `n` (a `DOUBLE`) as UTC text in the `strftime` format `fmt`, whose pieces are
/// only `%Y %m %d %H %M %S %y %j %%` and plain text.
pub fn utc_strftime(n: &str, fmt: &str) -> String {
    if !spark() {
        return format!("strftime(to_timestamp({n}), {})", text(fmt));
    }
    // a Java pattern with the plain text quoted; over a time without a zone, so that Spark's session
    // time zone plays no part
    let mut pattern = String::new();
    let mut plain = String::new();
    let flush = |plain: &mut String, pattern: &mut String| {
        if !plain.is_empty() {
            pattern.push_str(&format!("'{}'", plain.replace('\'', "''")));
            plain.clear();
        }
    };
    let mut chars = fmt.chars();
    while let Some(ch) = chars.next() {
        if ch != '%' {
            plain.push(ch);
            continue;
        }
        let piece = match chars.next() {
            Some('Y') => "yyyy",
            Some('m') => "MM",
            Some('d') => "dd",
            Some('H') => "HH",
            Some('M') => "mm",
            Some('S') => "ss",
            Some('y') => "yy",
            Some('j') => "DDD",
            _ => {
                plain.push('%');
                continue;
            }
        };
        flush(&mut plain, &mut pattern);
        pattern.push_str(piece);
    }
    flush(&mut plain, &mut pattern);
    format!(
        "date_format(TIMESTAMP_NTZ'1970-01-01 00:00:00' + make_dt_interval(0, 0, 0, CAST({n} AS DECIMAL(18, 6))), {})",
        text(&pattern)
    )
}

/// The text spelunk shows for the number `x` (an SQL `DOUBLE`, possibly null): a whole number as its
/// digits; any other number stops the query (spelunk writes it as Rust's shortest form, which SQL
/// engines do not).
pub fn number_text(x: &str) -> String {
    format!(
        "CASE WHEN ({x}) IS NULL THEN NULL WHEN ({x}) = floor({x}) AND abs({x}) < 1e17 THEN {} ELSE {} END",
        as_text(&format!("CAST({x} AS BIGINT)")),
        raise("a result that is not a whole number has no SQL form yet")
    )
}

/// The text a column holds (an integer column's digits).
pub fn text_of(c: &Col) -> String {
    if c.int {
        as_text(&ident(&c.name))
    } else {
        ident(&c.name)
    }
}

/// The number a column holds, as an SQL `DOUBLE` (null when its text is not a number).
pub fn number_of(c: &Col) -> String {
    if c.int {
        format!("CAST({} AS DOUBLE)", ident(&c.name))
    } else {
        as_number(&ident(&c.name))
    }
}

/// The SQL that reads one field from a line's JSON (`json`), and whether it is a multivalue field.
fn json_field(name: &str) -> Result<(String, bool)> {
    let mut path = String::from("$");
    let mut arrays = 0;
    for seg in name.split('.') {
        let mut s = seg;
        let mut members = 0;
        while let Some(base) = s.strip_suffix("{}") {
            s = base;
            members += 1;
        }
        if s.contains('{') || s.contains('}') || (s.is_empty() && members == 0) {
            return Err(no_sql_form(format!("the field name `{name}`")));
        }
        if !s.is_empty() {
            path.push_str(&format!(".\"{}\"", s.replace('"', "\\\"")));
        }
        for _ in 0..members {
            path.push_str("[*]");
        }
        arrays += members;
    }
    let p = text(&path);
    // DuckDB reads a JSON number with a fraction or an exponent as a double and writes it back its own
    // way (`1.50` as `1.5`), where spelunk keeps the text as written: such a value stops the query
    let double = text(&unkept_number(name));
    if arrays == 0 {
        // a leaf only: an object or an array at this path is not a field's value
        Ok((
            format!(
                "CASE WHEN json_type(json, {p}) IN ('OBJECT', 'ARRAY') THEN NULL WHEN json_type(json, {p}) = 'DOUBLE' THEN error({double}) ELSE json_extract_string(json, {p}) END"
            ),
            false,
        ))
    } else {
        // every leaf the path reaches; none: no field
        let leaves = format!(
            "list_transform(list_filter(json_extract(json, {p}), lambda x: json_type(x) NOT IN ('OBJECT', 'ARRAY', 'NULL')), lambda x: CASE WHEN json_type(x) = 'DOUBLE' THEN error({double}) ELSE json_extract_string(x, '$') END)"
        );
        Ok((
            format!("CASE WHEN len({leaves}) > 0 THEN {leaves} END"),
            true,
        ))
    }
}
