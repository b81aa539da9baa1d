//! `spelunk sql`: a query as one SQL statement that computes the rows spelunk prints, for engines that
//! scale out (DuckDB today).
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
//! [`SplCommand::sql`]: crate::commands::SplCommand::sql

use crate::diag::{Diagnostic, Result};

/// The SQL dialect to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    DuckDb,
}

impl Dialect {
    pub fn parse(name: &str) -> std::result::Result<Dialect, String> {
        match name.to_ascii_lowercase().as_str() {
            "duckdb" => Ok(Dialect::DuckDb),
            "spark" => Err("the Spark dialect is not written yet: use --dialect duckdb".into()),
            other => Err(format!("unknown SQL dialect `{other}` (known: duckdb)")),
        }
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
            "NULL AS \"_none\"".to_string()
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
                if c.multi && !lists {
                    format!("array_to_string({id}, chr(10)) AS {id}")
                } else {
                    id
                }
            })
            .collect();
        out.push_str(&format!(
            "\nSELECT {} FROM s{}",
            if cols.is_empty() {
                "NULL AS \"\"".to_string()
            } else {
                cols.join(", ")
            },
            self.steps.len() - 1
        ));
        if let Some(order) = &self.order {
            if !order.is_empty() {
                out.push_str(&format!("\nORDER BY {}", order.join(", ")));
            }
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

/// A field name as an SQL identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Text as an SQL string literal.
pub fn text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A number as an SQL literal that reads back as the same `DOUBLE`.
pub fn number(n: f64) -> String {
    format!("CAST({} AS DOUBLE)", text(&format!("{n:?}")))
}

/// The number a text reads as, as spelunk reads it ([`crate::value::parse_num`]: optional sign,
/// digits with an optional fraction, optional exponent, spaces around), else `NULL`.
pub fn as_number(x: &str) -> String {
    format!(
        "CASE WHEN regexp_full_match({x}, '\\s*[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?\\s*') THEN TRY_CAST(trim({x}) AS DOUBLE) END"
    )
}

/// A condition on each value of the field `col`: true when any value meets it. `test` writes the
/// condition for one value (an SQL expression) and must be two-valued for non-null values.
pub fn any_value(col: &Col, test: &dyn Fn(&str) -> String) -> String {
    let id = ident(&col.name);
    if col.multi {
        format!(
            "coalesce(len(list_filter({id}, lambda v: {})) > 0, false)",
            test("v")
        )
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
    vec![
        format!("({n}) IS NULL"),
        n,
        format!("{id} COLLATE \"binary\""),
    ]
}

/// How the events are read: which files, which of their JSON fields, and which default fields the
/// SQL works out itself.
pub struct Events<'a> {
    pub paths: &'a [String],
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
    let Dialect::DuckDb = dialect;
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
        // the sourcetype spelunk gives a JSON object (see `input::sniff_sourcetype`)
        None => format!(
            "CASE WHEN {} AND {} AND {} THEN 'aws:cloudtrail' WHEN {} AND ({} OR {}) THEN 'aws:cloudtrail:lake' ELSE '_json' END",
            has("eventVersion"),
            has("eventSource"),
            has("eventName"),
            has("api.operation"),
            has("class_uid"),
            has("metadata.product.name"),
        ),
    };
    exprs.push(format!("{sourcetype} AS \"sourcetype\""));
    cols.push(Col::text("sourcetype"));
    let mut filter = String::from("json_type(json) = 'OBJECT'");
    if ev.refuse_windows_exports {
        // `input::winjson::kind`
        filter.push_str(&format!(
            " AND CASE WHEN ({} AND {}) OR ({} AND {} AND ({} OR {})) THEN error({}) ELSE true END",
            has("winlog.event_id"),
            has("winlog.channel"),
            has("EventID"),
            has("Channel"),
            has("Hostname"),
            has("Computer"),
            text("a Windows event export (spelunk reads it as the forwarder's XML event) has no SQL form yet")
        ));
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
                    format!(
                        "CASE WHEN regexp_full_match({x}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[T ][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(\\.0{{1,9}})?Z?') AND try_strptime(replace(left({x}, 19), ' ', 'T'), '%Y-%m-%dT%H:%M:%S') IS NOT NULL THEN CAST(CAST(epoch(strptime(replace(left({x}, 19), ' ', 'T'), '%Y-%m-%dT%H:%M:%S')) AS BIGINT) AS VARCHAR) ELSE error({}) END",
                        text(&format!("the time of an event of sourcetype {st} whose {f} is not UTC whole seconds (YYYY-MM-DDTHH:MM:SS, optionally Z) has no SQL form yet"))
                    )
                }
                _ => format!(
                    "error({})",
                    text(&format!("the time of an event of sourcetype {st} without a single {f} has no SQL form yet"))
                ),
            },
            None => format!(
                "error({})",
                text(&format!("the time of an event of sourcetype {st} (no TIME_FIELD) has no SQL form yet"))
            ),
        };
        case.push_str(&format!(" WHEN \"sourcetype\" = {} THEN {expr}", text(st)));
    }
    case.push_str(&format!(
        " ELSE error({}) END",
        text("the time of an event of another sourcetype has no SQL form yet")
    ));
    let mut list: Vec<String> = q.cols.iter().map(|c| ident(&c.name)).collect();
    list.push(format!("{case} AS \"_time\""));
    let mut cols = q.cols.clone();
    cols.push(Col::text("_time"));
    q.reshape(&list, cols);
    Ok(())
}

/// The text spelunk shows for the number `x` (an SQL `DOUBLE`, possibly null): a whole number as its
/// digits; any other number stops the query (spelunk writes it as Rust's shortest form, which SQL
/// engines do not).
pub fn number_text(x: &str) -> String {
    format!(
        "CASE WHEN ({x}) IS NULL THEN NULL WHEN ({x}) = floor({x}) AND abs({x}) < 1e17 THEN CAST(CAST({x} AS BIGINT) AS VARCHAR) ELSE error({}) END",
        text("a result that is not a whole number has no SQL form yet")
    )
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
    let double = text(&format!(
        "the field `{name}` holds a JSON number with a fraction or an exponent, whose spelling DuckDB does not keep: spelunk sql cannot give its text"
    ));
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
