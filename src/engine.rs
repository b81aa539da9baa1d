//! `spelunk run --engine duckdb`: the one place spelunk starts a program. The program is fixed — the
//! `duckdb` command, or Python (`$SPELUNK_PYTHON`, else `python3`) running DuckDB's module with the
//! constant script below — and chosen by the command line, never by a query: the query's SQL
//! ([`crate::translate`]) only goes to the program's standard input. No shell is involved.

/// The program `run --engine duckdb` hands the statement to: the `duckdb` command when it is on the
/// PATH, else Python (`$SPELUNK_PYTHON`, else `python3`) with DuckDB's module.
const PY_RUNNER: &str = "import sys, duckdb\nsql = sys.stdin.read().rstrip().rstrip(';')\ncon = duckdb.connect()\ncon.execute('COPY (' + sql + ') TO \\'/dev/stdout\\' (FORMAT csv, HEADER)')\n";

/// Run `statement` in DuckDB and give its rows as CSV (a header, then the rows). No shell is involved:
/// the program is started directly and reads the statement on its standard input.
pub fn run_in_duckdb(statement: &str) -> std::result::Result<Vec<u8>, String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
    };
    let python = std::env::var("SPELUNK_PYTHON").ok();
    let mut cmd = if python.is_none() && on_path("duckdb") {
        let mut c = Command::new("duckdb");
        c.args(["-csv", "-batch"]);
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
    Ok(out.stdout)
}
