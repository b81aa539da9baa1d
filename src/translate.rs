//! A planned query as one SQL statement (`spelunk sql`): the driver above the commands that checks what
//! the query reads and the inputs, then has each stage write its step into a [`Query`] (see
//! [`crate::sql`] for the builder and the rules the SQL keeps).

use crate::diag::{Diagnostic, Result};
use crate::sql::{json_events, no_sql_form, Dialect};

/// A reader that ends at the first newline of what it reads.
struct FirstLine<R> {
    inner: R,
    done: bool,
}

impl<R: std::io::Read> std::io::Read for FirstLine<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        // a byte at a time, so that nothing past the newline is read
        let n = self.inner.read(&mut buf[..1])?;
        if n == 1 && buf[0] == b'\n' {
            self.done = true;
            return Ok(0);
        }
        Ok(n)
    }
}

/// Is the file's first JSON value on one line (so that a reader of lines reads it whole)? Reads no
/// further than the end of that line.
fn first_value_on_one_line(path: &std::path::Path) -> bool {
    use std::io::{BufRead, BufReader, Read};
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let raw: Box<dyn Read> = if path.extension().is_some_and(|x| x == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut r = BufReader::with_capacity(1 << 16, raw);
    // blank lines and a byte-order mark before it
    loop {
        let Ok(buf) = r.fill_buf() else { return false };
        let skip = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let done = skip < buf.len() || buf.is_empty();
        r.consume(skip);
        if done {
            break;
        }
    }
    if r.fill_buf().is_ok_and(|b| b.starts_with(b"\xef\xbb\xbf")) {
        r.consume(3);
    }
    let line = FirstLine {
        inner: r,
        done: false,
    };
    // the value ends before the line does (else the parser meets the line's end inside it)
    let mut values =
        serde_json::Deserializer::from_reader(line).into_iter::<serde::de::IgnoredAny>();
    matches!(values.next(), Some(Ok(_)))
}

/// [`json_input`], and whether its first JSON value is on one line.
fn json_head(path: &std::path::Path) -> std::result::Result<bool, String> {
    json_input(path)?;
    Ok(first_value_on_one_line(path))
}

/// Is this file JSON (plain or gzip), as the SQL reads it? The reason when it is not.
fn json_input(path: &std::path::Path) -> std::result::Result<(), String> {
    use std::io::Read;
    let mut head = Vec::new();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
    let mut file = file.take(1 << 16);
    file.read_to_end(&mut head)
        .map_err(|e| format!("cannot read it: {e}"))?;
    let gz_name = path.extension().is_some_and(|x| x == "gz");
    if head.starts_with(&[0x1f, 0x8b]) {
        if !gz_name {
            return Err("gzip data without a .gz name".into());
        }
        let mut text = Vec::new();
        let _ = flate2::read::MultiGzDecoder::new(head.as_slice())
            .take(1 << 16)
            .read_to_end(&mut text);
        head = text;
    } else if gz_name {
        return Err("a .gz name on data that is not gzip".into());
    }
    let t = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&head);
    if !t.trim_ascii_start().starts_with(b"{") && !t.trim_ascii_start().starts_with(b"[") {
        return Err("not JSON".into());
    }
    Ok(())
}

/// The knowledge's aliases and calculated fields for each sourcetype (`steps`), as steps: one per
/// alias, then one for every calculated field (each reads the event as the aliases left it, as
/// Splunk computes them independently of one another). A field is set only for events of the
/// sourcetype whose setting makes it.
fn knowledge_steps(
    q: &mut crate::sql::Query,
    steps: &[(String, crate::props::SqlSteps)],
    one_sourcetype: bool,
) -> Result<()> {
    use crate::sql::{ident, text, Col};
    let when = |st: &str| {
        if one_sourcetype {
            "true".to_string()
        } else {
            format!("{} = {}", ident("sourcetype"), text(st))
        }
    };
    for (st, s) in steps {
        for (from, to) in &s.aliases {
            let src = q.field(from)?.cloned();
            let dst = q.field(to)?.cloned();
            let multi = src.as_ref().is_some_and(|c| c.multi);
            if dst.as_ref().is_some_and(|c| c.multi != multi) {
                return Err(no_sql_form(format!(
                    "the alias `{from} AS {to}` (one of them multivalue)"
                )));
            }
            let value = match &src {
                Some(c) => ident(&c.name),
                None => "NULL".to_string(),
            };
            let keep = match &dst {
                Some(c) => ident(&c.name),
                None => "NULL".to_string(),
            };
            let alias = format!(
                "CASE WHEN {} THEN {value} ELSE {keep} END AS {}",
                when(st),
                ident(to)
            );
            let mut list = Vec::new();
            let mut cols = Vec::new();
            for c in &q.cols {
                if c.name != *to {
                    list.push(ident(&c.name));
                    cols.push(c.clone());
                }
            }
            list.push(alias);
            cols.push(Col {
                multi,
                ..Col::text(to)
            });
            q.reshape(&list, cols);
        }
    }
    // every calculated field: the CASE over the sourcetypes that compute it
    let mut made: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for (st, s) in steps {
        for (f, e) in &s.evals {
            let sql = e.sql_value(q).map_err(|err| {
                Diagnostic::new(format!(
                    "the calculated field `{f}` of sourcetype {st}: {}",
                    err.message
                ))
            })?;
            match made.iter_mut().find(|(g, _)| g == f) {
                Some((_, by)) => by.push((st.clone(), sql)),
                None => made.push((f.clone(), vec![(st.clone(), sql)])),
            }
        }
    }
    if made.is_empty() {
        return Ok(());
    }
    let mut list = Vec::new();
    let mut cols = Vec::new();
    for c in &q.cols {
        if !made.iter().any(|(f, _)| *f == c.name) {
            list.push(ident(&c.name));
            cols.push(c.clone());
        }
    }
    for (f, by) in &made {
        let keep = match q.field(f)? {
            Some(c) if c.multi => {
                return Err(no_sql_form(format!(
                    "the calculated field `{f}` over a multivalue field of the same name"
                )))
            }
            Some(c) => ident(&c.name),
            None => crate::sql::null_text(),
        };
        let mut case = String::from("CASE");
        for (st, sql) in by {
            case.push_str(&format!(" WHEN {} THEN {sql}", when(st)));
        }
        case.push_str(&format!(" ELSE {keep} END AS {}", ident(f)));
        list.push(case);
        cols.push(Col::text(f));
    }
    q.reshape(&list, cols);
    Ok(())
}

/// The default fields every event has, which the SQL (reading only the events' JSON) cannot give.
const NOT_IN_JSON: &[&str] = &["_raw", "source", "host", "index", "linecount", "punct"];

/// The statement for a parsed query, built from its plan: subsearches are run (over the inputs, by
/// spelunk) and replaced by their rows first, then each stage writes its step. With `lists`, a
/// multivalue column is a list (else its values joined by newlines, as spelunk's CSV shows them).
pub fn statement(
    p: &mut crate::parse::Pipeline,
    env: &crate::plan::Env,
    dialect: Dialect,
    lists: bool,
) -> Result<String> {
    statement_reading(p, env, dialect, lists, &[])
}

/// A subsearch of the pipeline that reads events (not a generating command such as `inputlookup`).
fn event_subsearch(p: &crate::parse::Pipeline) -> Option<crate::diag::Span> {
    for st in &p.stages {
        let spec = st.command.spec();
        for sub in spec.sub_pipelines() {
            match sub.stages.first() {
                Some(first) if first.command.spec().reads_events() => return Some(first.span),
                _ => {}
            }
            if let Some(s) = event_subsearch(sub) {
                return Some(s);
            }
        }
    }
    None
}

/// [`statement`], reading the events from `reads` (paths, globs or URLs the engine reads) when some
/// are given: the inputs then stand for those events (their sourcetype and kind are checked), and a
/// subsearch over events is refused, since spelunk would run it over the inputs, not over what the
/// statement reads.
pub fn statement_reading(
    p: &mut crate::parse::Pipeline,
    env: &crate::plan::Env,
    dialect: Dialect,
    lists: bool,
    reads: &[String],
) -> Result<String> {
    use crate::commands::Command;
    let _writing = crate::sql::Writing::start(dialect);
    if !reads.is_empty() {
        if let Some(span) = event_subsearch(p) {
            return Err(Diagnostic::at(
                "a subsearch over events, with --read: spelunk would run it over the --data files, not over what the statement reads; it has no SQL form",
                span,
            ));
        }
    }
    let mut reports = Vec::new();
    crate::plan::resolve_subsearches(p, env, &mut reports)?;
    let Some(first) = p.stages.first() else {
        return Err(Diagnostic::new("an empty query has no SQL form"));
    };
    if !first.command.spec().reads_events() {
        return Err(Diagnostic::at(
            format!(
                "`{}` first: only a search over the events has an SQL form yet",
                first.command.name()
            ),
            first.name_span,
        ));
    }
    let known = crate::commands::Known {
        names: env.knowledge,
        datamodels: env.ctx.datamodels,
    };
    for st in &p.stages {
        if let Some(r) = st.command.spec().refusals_in(&known).into_iter().next() {
            return Err(Diagnostic::at(r.reason, r.span));
        }
    }
    // the fields read, worked back from the end; a stage whose own reads are not known stops it
    let mut need: crate::commands::Need = None;
    for st in p.stages.iter().rev() {
        let spec = st.command.spec();
        let before = spec.needs(need.clone());
        let own_unknown = spec.needs(Some(Default::default())).is_none();
        // (a stage that passes every field on, last, shows whole events: refused below)
        if before.is_none() && (own_unknown || need.is_some()) {
            return Err(Diagnostic::at(
                format!(
                    "`{}` reads fields that are not known before it runs (a wildcard, or every field): it has no SQL form yet",
                    st.command.name()
                ),
                st.name_span,
            ));
        }
        need = before;
    }
    let Some(needed) = need else {
        return Err(Diagnostic::new(
            "the result is whole events (no `table`, `fields` or `stats` names its columns): it has no SQL form",
        ));
    };
    let mut paths = Vec::new();
    let mut one_per_line = Vec::new();
    let mut forced: Vec<Option<&str>> = Vec::new();
    for s in env.sources {
        let crate::input::Content::File(path) = &s.content else {
            if !reads.is_empty() {
                // events in memory (the shipped samples) standing for what the statement reads
                forced.push(s.sourcetype.as_deref());
                continue;
            }
            return Err(no_sql_form(format!("the input `{}` (not a file)", s.name)));
        };
        let lines = if dialect == Dialect::Spark {
            json_head(path)
        } else {
            json_input(path).map(|_| true)
        }
        .map_err(|why| {
            Diagnostic::new(format!("the input `{}` has no SQL form yet: {why}", s.name))
        })?;
        one_per_line.push(lines);
        forced.push(s.sourcetype.as_deref());
        paths.push(path.to_string_lossy().into_owned());
    }
    if paths.is_empty() && reads.is_empty() {
        return Err(Diagnostic::new("no input files: give --data"));
    }
    forced.dedup();
    let forced = match forced.as_slice() {
        [one] => *one,
        _ => {
            return Err(no_sql_form(
                "inputs of different sourcetypes (some given by --sourcetype)",
            ))
        }
    };
    if forced.is_some_and(|st| st.eq_ignore_ascii_case("XmlWinEventLog")) {
        return Err(no_sql_form("XmlWinEventLog events"));
    }
    if env.knowledge.makes_any_field() {
        return Err(no_sql_form(
            "the loaded knowledge (an extraction that can make any field)",
        ));
    }
    for s in env.sources {
        let source = s.source.as_deref().unwrap_or(&s.name);
        if env.knowledge.keys_on(source, &env.read.host) {
            return Err(no_sql_form(format!(
                "the knowledge's source:: or host:: settings for the input `{source}`"
            )));
        }
    }
    // the sourcetypes the events can have, and what their knowledge does to give the fields read
    let sourcetypes: Vec<&str> = match forced {
        Some(st) => vec![st],
        None => vec!["aws:cloudtrail", "aws:cloudtrail:lake", "_json"],
    };
    let mut wanted = needed.clone();
    let mut steps = Vec::new();
    let mut unavailable: Vec<(String, String)> = Vec::new();
    for st in &sourcetypes {
        let s = env.knowledge.sql_steps(st, &needed);
        if let Some(r) = &s.renamed {
            return Err(no_sql_form(format!(
                "the knowledge's `rename = {r}` of sourcetype {st}"
            )));
        }
        wanted.extend(s.needs.iter().cloned());
        for (f, why) in &s.other {
            if !unavailable.iter().any(|(g, _)| g == f) {
                unavailable.push((f.clone(), format!("made by {why} for sourcetype {st}")));
            }
        }
        steps.push((st.to_string(), s));
    }
    let reads_time = wanted.contains("_time");
    let times = sourcetypes
        .iter()
        .map(|st| {
            (
                st.to_string(),
                env.knowledge.time_field(st).map(str::to_string),
            )
        })
        .collect::<Vec<_>>();
    if reads_time {
        wanted.extend(times.iter().filter_map(|(_, f)| f.clone()));
    }
    let mut fields: Vec<String> = Vec::new();
    let mut names: Vec<&String> = wanted.iter().collect();
    names.sort();
    for f in names {
        if f == "sourcetype" || f == "_time" {
            // worked out by the SQL
        } else if NOT_IN_JSON.contains(&f.as_str()) {
            unavailable.push((
                f.clone(),
                "a default field, not one of the events' JSON".into(),
            ));
        } else if f.starts_with("date_") || f == "eventtype" || f == "tag" || f.starts_with("tag::")
        {
            unavailable.push((
                f.clone(),
                "made by Splunk's knowledge, not the events' JSON".into(),
            ));
        } else if !unavailable.iter().any(|(g, _)| g == f) {
            fields.push(f.clone());
        }
    }
    if !reads.is_empty() {
        paths = reads.to_vec();
        one_per_line = vec![true; reads.len()];
    }
    let events = crate::sql::Events {
        paths: &paths,
        one_per_line: &one_per_line,
        as_written: !reads.is_empty(),
        fields: &fields,
        sourcetype: forced,
        refuse_windows_exports: forced.is_none(),
        time: reads_time.then_some(times),
    };
    let mut q = json_events(dialect, &events)?;
    q.utc = env.ctx.eval.tz == chrono_tz::UTC;
    q.unavailable = unavailable;
    knowledge_steps(&mut q, &steps, forced.is_some())?;
    for st in &p.stages {
        if matches!(st.command, Command::Noop) {
            continue;
        }
        match st.command.spec().sql(&mut q) {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                return Err(if e.span.is_some() {
                    e
                } else {
                    Diagnostic::at(
                        format!("`{}`: {}", st.command.name(), e.message),
                        st.name_span,
                    )
                })
            }
            None => {
                return Err(Diagnostic::at(
                    format!("`{}` has no SQL form yet", st.command.name()),
                    st.name_span,
                ))
            }
        }
    }
    Ok(q.finish(lists))
}
