//! Meta commands: lines starting with `.` that ask the REPL about its session instead of running a search.

use crate::output::Format;
use std::path::PathBuf;

/// One meta command with its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Meta {
    Help,
    /// The fields of the loaded events: the arguments are field name patterns (`user*`) and
    /// sourcetypes, told apart by the events' sourcetypes (see `Repl::show_fields`).
    Fields(Vec<String>),
    /// Output taller than the screen opens in the pager, or not.
    Pager(bool),
    /// `None`: draw the last result as a chart; `Some(on)`: draw each `timechart` result under its
    /// table, or not.
    Chart(Option<bool>),
    /// Macro names, optionally matching a pattern (`*` wildcards; else a substring).
    Macros(Option<String>),
    /// One macro's definition and origin: `NAME` (every arity) or `NAME(2)`.
    Macro(String),
    Lookups,
    /// Add inputs: a file, folder or glob, and the sourcetype to give their events.
    Data {
        path: String,
        sourcetype: Option<String>,
    },
    Sources,
    Format(Format),
    Timing(bool),
    /// Rows printed at most (`None`: all).
    Limit(Option<usize>),
    /// Show a query after macro expansion and subsearch formatting (the last query when empty).
    Expand(String),
    /// Write the last results to a file: CSV, JSON or an HTML page by its extension.
    Save(PathBuf),
    Quit,
}

/// Every meta command: name, arguments, what it does (`.help` prints this).
pub const COMMANDS: &[(&str, &str, &str)] = &[
    (".help", "", "list these commands"),
    (
        ".fields",
        "[pattern] [sourcetype]",
        "fields of the loaded events (names matching a * pattern, events of a sourcetype): how many events have each, distinct values, top values",
    ),
    (
        ".macros",
        "[pattern]",
        "macro names (with * wildcards, or a part of the name)",
    ),
    (
        ".macro",
        "NAME",
        "a macro's definition and the file it came from",
    ),
    (
        ".chart",
        "[on|off]",
        "draw the last result as a chart (a series: _time or a category, then numbers); on|off: a timechart's result drawn under its table (on)",
    ),
    (".lookups", "", "lookup names, their tables and origins"),
    (
        ".data",
        "PATH [sourcetype]",
        "add an event file, folder or glob (read once, kept in memory)",
    ),
    (
        ".sources",
        "",
        "input files: sourcetypes, events, malformed lines",
    ),
    (
        ".format",
        "table|csv|json|chart",
        "how results are printed (chart: each result drawn, when it is a series)",
    ),
    (".timing", "on|off", "show the elapsed time under results"),
    (
        ".pager",
        "on|off",
        "show output taller than the screen in the pager (q leaves, / searches)",
    ),
    (
        ".limit",
        "N|off",
        "print at most N rows (the rest are counted)",
    ),
    (
        ".expand",
        "[query]",
        "the query after macro expansion and subsearch formatting (default: the last query)",
    ),
    (
        ".save",
        "FILE.csv|FILE.json|FILE.html",
        "write the last results (all rows) to a file; .html: a page with the chart and the table",
    ),
    (".quit", "", "leave (also .exit or Ctrl-D)"),
];

/// The names of the meta commands, for completion and suggestions.
pub fn names() -> impl Iterator<Item = &'static str> {
    COMMANDS
        .iter()
        .map(|(n, _, _)| *n)
        .chain(std::iter::once(".exit"))
}

/// Split arguments on blanks; `"..."` or `'...'` keep blanks inside one argument.
fn split_args(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut has = false;
    for ch in text.chars() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => cur.push(ch),
            None if ch == '"' || ch == '\'' => {
                quote = Some(ch);
                has = true;
            }
            None if ch.is_whitespace() => {
                if has {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            None => {
                cur.push(ch);
                has = true;
            }
        }
    }
    if let Some(q) = quote {
        return Err(format!("unclosed {q} in the arguments"));
    }
    if has {
        out.push(cur);
    }
    Ok(out)
}

fn on_off(cmd: &str, args: &[String]) -> Result<bool, String> {
    match args {
        [a] if a.eq_ignore_ascii_case("on") => Ok(true),
        [a] if a.eq_ignore_ascii_case("off") => Ok(false),
        _ => Err(format!("usage: {cmd} on|off")),
    }
}

/// Parse a meta command line (it starts with `.`).
pub fn parse(line: &str) -> Result<Meta, String> {
    let line = line.trim();
    let (name, rest) = match line.find(char::is_whitespace) {
        Some(i) => (&line[..i], line[i..].trim_start()),
        None => (line, ""),
    };
    let lname = name.to_ascii_lowercase();
    // `.expand` takes the rest of the text as it is (a query, possibly over several lines)
    if lname == ".expand" {
        return Ok(Meta::Expand(rest.to_string()));
    }
    let args = split_args(rest)?;
    let usage = |u: &str| Err(format!("usage: {name} {u}"));
    match (lname.as_str(), args.as_slice()) {
        (".help" | ".h" | ".?", []) => Ok(Meta::Help),
        (".fields", a) if a.len() <= 2 => Ok(Meta::Fields(a.to_vec())),
        (".fields", _) => usage("[pattern] [sourcetype]"),
        (".macros", []) => Ok(Meta::Macros(None)),
        (".macros", [p]) => Ok(Meta::Macros(Some(p.clone()))),
        (".macros", _) => usage("[pattern]"),
        (".macro", [n]) => Ok(Meta::Macro(n.trim_matches('`').to_string())),
        (".macro", _) => usage("NAME"),
        (".lookups", []) => Ok(Meta::Lookups),
        (".data", [p]) => Ok(Meta::Data {
            path: p.clone(),
            sourcetype: None,
        }),
        (".data", [p, st]) => Ok(Meta::Data {
            path: p.clone(),
            sourcetype: Some(st.clone()),
        }),
        (".data", _) => usage("PATH [sourcetype]"),
        (".sources", []) => Ok(Meta::Sources),
        (".format", [f]) if f.eq_ignore_ascii_case("html") => Err(format!(
            "{name}: html is a page for a file: .save FILE.html writes the last result as one"
        )),
        (".format", [f]) => f.parse().map(Meta::Format),
        (".format", _) => usage("table|csv|json|chart"),
        (".timing", a) => on_off(name, a).map(Meta::Timing),
        (".pager", a) => on_off(name, a).map(Meta::Pager),
        (".chart", []) => Ok(Meta::Chart(None)),
        (".chart", a) => on_off(name, a).map(|on| Meta::Chart(Some(on))),
        (".limit", [n]) if n.eq_ignore_ascii_case("off") => Ok(Meta::Limit(None)),
        (".limit", [n]) => match n.parse::<usize>() {
            Ok(0) => Ok(Meta::Limit(None)),
            Ok(k) => Ok(Meta::Limit(Some(k))),
            Err(_) => usage("N|off"),
        },
        (".limit", _) => usage("N|off"),
        (".save", [f]) => {
            let p = PathBuf::from(f);
            match p.extension().and_then(|e| e.to_str()) {
                Some(e)
                    if ["csv", "json", "html"]
                        .iter()
                        .any(|x| e.eq_ignore_ascii_case(x)) =>
                {
                    Ok(Meta::Save(p))
                }
                _ => Err(format!(
                    "{name}: `{f}` must end in .csv, .json or .html (the extension picks the format)"
                )),
            }
        }
        (".save", _) => usage("FILE.csv|FILE.json|FILE.html"),
        (".quit" | ".exit" | ".q", []) => Ok(Meta::Quit),
        (known, _) if names().any(|n| n == known) => {
            let args = COMMANDS
                .iter()
                .find(|(n, _, _)| *n == known)
                .map(|(_, a, _)| *a)
                .unwrap_or("");
            if args.is_empty() {
                Err(format!("{name} takes no arguments"))
            } else {
                usage(args)
            }
        }
        _ => {
            let mut msg = format!("unknown command `{name}`");
            if let Some(s) = crate::diag::suggest(&lname, names()) {
                msg.push_str(&format!(" (did you mean `{s}`?)"));
            }
            msg.push_str("; .help lists the commands");
            Err(msg)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_arguments() {
        assert_eq!(parse(".help"), Ok(Meta::Help));
        assert_eq!(parse("  .fields  "), Ok(Meta::Fields(vec![])));
        assert_eq!(
            parse(".fields user* aws:cloudtrail"),
            Ok(Meta::Fields(vec!["user*".into(), "aws:cloudtrail".into()]))
        );
        assert_eq!(parse(".pager off"), Ok(Meta::Pager(false)));
        assert_eq!(parse(".chart"), Ok(Meta::Chart(None)));
        assert_eq!(parse(".chart OFF"), Ok(Meta::Chart(Some(false))));
        assert!(parse(".chart sideways").is_err());
        assert_eq!(parse(".format chart"), Ok(Meta::Format(Format::Chart)));
        assert!(parse(".format html")
            .unwrap_err()
            .contains(".save FILE.html"));
        assert_eq!(parse(".save r.HTML"), Ok(Meta::Save("r.HTML".into())));
        assert_eq!(
            parse(".fields aws:cloudtrail"),
            Ok(Meta::Fields(vec!["aws:cloudtrail".into()]))
        );
        assert_eq!(
            parse(".macros cloud*"),
            Ok(Meta::Macros(Some("cloud*".into())))
        );
        assert_eq!(
            parse(".macro `cloudtrail`"),
            Ok(Meta::Macro("cloudtrail".into()))
        );
        assert_eq!(
            parse(".macro security_content_ctime(1)"),
            Ok(Meta::Macro("security_content_ctime(1)".into()))
        );
        assert_eq!(
            parse(".data \"/tmp/my logs\" aws:cloudtrail"),
            Ok(Meta::Data {
                path: "/tmp/my logs".into(),
                sourcetype: Some("aws:cloudtrail".into())
            })
        );
        assert_eq!(parse(".FORMAT CSV"), Ok(Meta::Format(Format::Csv)));
        assert_eq!(parse(".timing off"), Ok(Meta::Timing(false)));
        assert_eq!(parse(".limit 20"), Ok(Meta::Limit(Some(20))));
        assert_eq!(parse(".limit off"), Ok(Meta::Limit(None)));
        assert_eq!(parse(".save out.json"), Ok(Meta::Save("out.json".into())));
        assert_eq!(parse(".exit"), Ok(Meta::Quit));
    }

    #[test]
    fn expand_keeps_the_query_text() {
        assert_eq!(
            parse(".expand `cloudtrail`\n| stats count by \"a b\""),
            Ok(Meta::Expand(
                "`cloudtrail`\n| stats count by \"a b\"".into()
            ))
        );
        assert_eq!(parse(".expand"), Ok(Meta::Expand(String::new())));
    }

    #[test]
    fn mistakes_say_what_is_expected() {
        assert_eq!(parse(".timing maybe"), Err("usage: .timing on|off".into()));
        assert!(parse(".format xml").unwrap_err().contains("unknown format"));
        assert!(parse(".save out.txt")
            .unwrap_err()
            .contains(".csv, .json or .html"));
        assert_eq!(parse(".macro"), Err("usage: .macro NAME".into()));
        assert_eq!(
            parse(".sources x"),
            Err(".sources takes no arguments".into())
        );
        let e = parse(".feilds").unwrap_err();
        assert!(e.contains("did you mean `.fields`?"), "{e}");
        assert!(parse(".data \"unclosed").unwrap_err().contains("unclosed"));
    }
}
