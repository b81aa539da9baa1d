//! A planned query as one SQL statement (`spelunk sql`): the driver above the commands that checks what
//! the query reads and the inputs, then has each stage write its step into a [`Query`] (see
//! [`crate::sql`] for the builder and the rules the SQL keeps).

use crate::diag::{Diagnostic, Result};
use crate::sql::{json_events, no_sql_form, Dialect};

/// Does this file hold one JSON object per line (plain or gzip), as `read_ndjson_objects` reads it?
/// The reason when it does not.
fn json_lines(path: &std::path::Path) -> std::result::Result<(), String> {
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
    }
    let t = head.trim_ascii_start();
    if !t.starts_with(b"{") {
        return Err("not JSON lines".into());
    }
    let first_line = t.split(|&b| b == b'\n').next().unwrap_or_default();
    let compact: Vec<u8> = first_line
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if compact.starts_with(b"{\"Records\"") || !first_line.trim_ascii_end().ends_with(b"}") {
        return Err(
            "one JSON document (a Records file or pretty-printed JSON), not one object per line"
                .into(),
        );
    }
    Ok(())
}

/// The default fields every event has, which the SQL (reading only the events' JSON) cannot give.
const NOT_IN_JSON: &[&str] = &[
    "_raw",
    "_time",
    "source",
    "host",
    "index",
    "linecount",
    "punct",
];

/// The statement for a parsed query, built from its plan: subsearches are run (over the inputs, by
/// spelunk) and replaced by their rows first, then each stage writes its step.
pub fn statement(
    p: &mut crate::parse::Pipeline,
    env: &crate::plan::Env,
    dialect: Dialect,
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
    let mut forced_sourcetype = false;
    for s in env.sources {
        let crate::input::Content::File(path) = &s.content else {
            return Err(no_sql_form(format!("the input `{}` (not a file)", s.name)));
        };
        json_lines(path).map_err(|why| {
            Diagnostic::new(format!("the input `{}` has no SQL form yet: {why}", s.name))
        })?;
        forced_sourcetype |= s.sourcetype.is_some();
        paths.push(path.to_string_lossy().into_owned());
    }
    if paths.is_empty() {
        return Err(Diagnostic::new("no input files: give --data"));
    }
    if env.knowledge.makes_any_field() {
        return Err(no_sql_form(
            "the loaded knowledge (an extraction that can make any field)",
        ));
    }
    let computed = env.knowledge.computed_fields();
    let mut unavailable = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut sourcetype = false;
    let mut names: Vec<&String> = needed.iter().collect();
    names.sort();
    for f in names {
        if f == "sourcetype" && !forced_sourcetype && !computed.contains(f) {
            sourcetype = true;
        } else if NOT_IN_JSON.contains(&f.as_str()) || f == "sourcetype" {
            unavailable.push((
                f.clone(),
                "a default field, not one of the events' JSON".into(),
            ));
        } else if computed.contains(f) {
            unavailable.push((
                f.clone(),
                "computed by the add-on's calculated fields or aliases".into(),
            ));
        } else if f.starts_with("date_") || f == "eventtype" || f == "tag" || f.starts_with("tag::")
        {
            unavailable.push((
                f.clone(),
                "made by Splunk's knowledge, not the events' JSON".into(),
            ));
        } else {
            fields.push(f.clone());
        }
    }
    let mut q = json_events(dialect, &paths, &fields, sourcetype)?;
    q.unavailable = unavailable;
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
    Ok(q.finish())
}
