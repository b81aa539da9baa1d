//! A planned query as one SQL statement (`spelunk sql`): the driver above the commands that checks what
//! the query reads and the inputs, then has each stage write its step into a [`Query`] (see
//! [`crate::sql`] for the builder and the rules the SQL keeps).

use crate::diag::{Diagnostic, Result};
use crate::sql::{json_events, no_sql_form, Dialect};

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
            format!("\"sourcetype\" = {}", text(st))
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
            None => "CAST(NULL AS VARCHAR)".to_string(),
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
    use crate::commands::Command;
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
    let mut forced: Vec<Option<&str>> = Vec::new();
    for s in env.sources {
        let crate::input::Content::File(path) = &s.content else {
            return Err(no_sql_form(format!("the input `{}` (not a file)", s.name)));
        };
        json_input(path).map_err(|why| {
            Diagnostic::new(format!("the input `{}` has no SQL form yet: {why}", s.name))
        })?;
        forced.push(s.sourcetype.as_deref());
        paths.push(path.to_string_lossy().into_owned());
    }
    if paths.is_empty() {
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
    let events = crate::sql::Events {
        paths: &paths,
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
