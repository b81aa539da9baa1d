//! `grammar/spl.ebnf` stays true: every example in it is run through spelunk's parsers.
//!
//! - `(* example: ... *)` must parse with `spelunk::parse::parse_query`, `(* bad-example: ... *)` must not;
//! - `(* eval-example: ... *)` must parse with `spelunk::eval::parse_expr`, `(* eval-bad-example: ... *)`
//!   must not;
//! - `(* macro-example: ... *)` must expand with the shipped macros, and the expansion must parse.
//!
//! Every rule (`name = ... ;`) must be followed by at least one example before the next rule.

use spelunk::macros::{expand, MacroLibrary};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Query,
    BadQuery,
    Eval,
    BadEval,
    Macro,
}

const MARKERS: &[(&str, Kind)] = &[
    ("(* example: ", Kind::Query),
    ("(* bad-example: ", Kind::BadQuery),
    ("(* eval-example: ", Kind::Eval),
    ("(* eval-bad-example: ", Kind::BadEval),
    ("(* macro-example: ", Kind::Macro),
];

struct Example {
    kind: Kind,
    text: String,
    line: usize,
}

fn grammar() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("grammar/spl.ebnf");
    std::fs::read_to_string(&path).expect("read grammar/spl.ebnf")
}

/// Examples, each with the line it starts on. An example runs from its marker to the next ` *)`.
fn examples(text: &str) -> Vec<Example> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for (marker, kind) in MARKERS {
            if let Some(rest) = line.trim_start().strip_prefix(marker) {
                let body = rest
                    .strip_suffix(" *)")
                    .unwrap_or_else(|| panic!("line {}: an example must end with ` *)`", n + 1));
                out.push(Example {
                    kind: *kind,
                    text: body.to_string(),
                    line: n + 1,
                });
            }
        }
    }
    out
}

/// Names of rules (a line `name = ...` outside comments) that no example follows before the next rule.
fn rules_without_examples(text: &str) -> Vec<String> {
    let mut missing = Vec::new();
    let mut current: Option<String> = None;
    let mut has_example = false;
    let mut in_comment = false;
    for line in text.lines() {
        let t = line.trim_start();
        if in_comment {
            if t.contains("*)") {
                in_comment = false;
            }
            continue;
        }
        if t.starts_with("(*") {
            if MARKERS.iter().any(|(m, _)| t.starts_with(m)) {
                has_example = true;
            } else if !t.contains("*)") {
                in_comment = true;
            }
            continue;
        }
        let is_rule = t.split_once(" = ").is_some_and(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        if is_rule {
            if let (Some(r), false) = (current.take(), has_example) {
                missing.push(r);
            }
            current = t.split_once(" = ").map(|(n, _)| n.to_string());
            has_example = false;
        }
    }
    if let (Some(r), false) = (current, has_example) {
        missing.push(r);
    }
    missing
}

fn shipped_macros() -> MacroLibrary {
    let mut lib = MacroLibrary::new();
    lib.load_conf_str(spelunk::session::SHIPPED_MACROS, "queries/macros.conf")
        .expect("load the shipped macros");
    lib
}

#[test]
fn every_example_in_the_grammar_parses_as_marked() {
    let text = grammar();
    let all = examples(&text);
    assert!(all.len() >= 150, "only {} examples found", all.len());
    let macros = shipped_macros();
    let mut failures = Vec::new();
    for ex in &all {
        let outcome: Result<(), String> = match ex.kind {
            Kind::Query | Kind::BadQuery => spelunk::parse::parse_query(&ex.text)
                .map(|_| ())
                .map_err(|e| e.message),
            Kind::Eval | Kind::BadEval => spelunk::eval::parse_expr(&ex.text)
                .map(|_| ())
                .map_err(|e| format!("{e:?}")),
            Kind::Macro => match expand(&ex.text, &macros) {
                Ok(exp) => spelunk::parse::parse_query(&exp.text)
                    .map(|_| ())
                    .map_err(|e| format!("`{}`: {}", exp.text, e.message)),
                Err(e) => Err(e.message),
            },
        };
        let should_parse = matches!(ex.kind, Kind::Query | Kind::Eval | Kind::Macro);
        match (should_parse, outcome) {
            (true, Err(e)) => failures.push(format!(
                "line {}: `{}` does not parse: {e}",
                ex.line, ex.text
            )),
            (false, Ok(())) => failures.push(format!(
                "line {}: `{}` parses but is marked as an error",
                ex.line, ex.text
            )),
            _ => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} grammar examples are wrong:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn every_rule_has_an_example() {
    let missing = rules_without_examples(&grammar());
    assert!(missing.is_empty(), "rules without an example: {missing:?}");
}

#[test]
fn every_runnable_command_has_a_rule() {
    let text = grammar();
    for name in spelunk::commands::runnable_commands() {
        assert!(
            text.contains(&format!("\"{name}\"")),
            "grammar/spl.ebnf has no rule naming the command `{name}`"
        );
    }
}
