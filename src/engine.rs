//! `spelunk run --engine duckdb`: the one place spelunk starts a program. The program is fixed — the
//! `duckdb` command, or Python (`$SPELUNK_PYTHON`, else `python3`) running DuckDB's module with the
//! constant script below — and chosen by the command line, never by a query: the query's SQL
//! ([`crate::translate`]) only goes to the program's standard input. No shell is involved.

/// The program `run --engine duckdb` hands the statement to: the `duckdb` command when it is on the
/// PATH, else Python (`$SPELUNK_PYTHON`, else `python3`) with DuckDB's module.
const PY_RUNNER: &str =
    "import sys, duckdb\nduckdb.connect().execute(sys.stdin.read().rstrip().rstrip(';'))\n";

/// Run `statement` in DuckDB and give its rows, each a JSON object (one per line, null columns
/// left out). No shell is involved: the program is started directly and reads the statement on its
/// standard input.
pub fn run_in_duckdb(statement: &str) -> std::result::Result<Vec<crate::event::Event>, String> {
    // DuckDB draws a progress bar on standard output when a query runs over two seconds: off, so that
    // standard output holds the rows only
    let statement = format!(
        "SET enable_progress_bar = false;\nCOPY ({}) TO '/dev/stdout' (FORMAT json);\n",
        statement.trim_end().trim_end_matches(';')
    );
    use std::io::Write;
    use std::process::{Command, Stdio};
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
    };
    let python = std::env::var("SPELUNK_PYTHON").ok();
    let mut cmd = if python.is_none() && on_path("duckdb") {
        let mut c = Command::new("duckdb");
        c.arg("-batch");
        c
    } else {
        let mut c = Command::new(python.as_deref().unwrap_or("python3"));
        c.args(["-c", PY_RUNNER]);
        c
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start DuckDB (the `duckdb` command, or python3 with the duckdb module): {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(statement.as_bytes())
            .map_err(|e| format!("cannot hand the statement to DuckDB: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("DuckDB did not finish: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!("DuckDB failed: {last}"));
    }
    rows_of(&out.stdout)
}

/// The rows DuckDB wrote: a text or number is a field's value, a list a multivalue field's values,
/// null no field.
fn rows_of(out: &[u8]) -> std::result::Result<Vec<crate::event::Event>, String> {
    use crate::value::Value;
    use serde_json::Value as J;
    let one = |j: &J| match j {
        J::String(s) => Some(Value::str(s)),
        J::Number(n) => Some(Value::str(n.to_string())),
        J::Bool(b) => Some(Value::str(if *b { "true" } else { "false" })),
        _ => None,
    };
    let mut rows = Vec::new();
    for (i, line) in out.split(|&b| b == b'\n').enumerate() {
        if line.trim_ascii().is_empty() {
            continue;
        }
        let obj: serde_json::Map<String, J> = serde_json::from_slice(line)
            .map_err(|e| format!("DuckDB's row {} is not a JSON object: {e}", i + 1))?;
        let mut ev = crate::event::Event::new();
        for (k, v) in &obj {
            let value = match v {
                J::Array(items) => Value::multi(items.iter().filter_map(one).collect()),
                J::Null => None,
                J::Object(_) => return Err(format!("DuckDB gave an object for `{k}`")),
                other => one(other),
            };
            if let Some(v) = value {
                ev.set(k.as_str(), v);
            }
        }
        rows.push(ev);
    }
    Ok(rows)
}
