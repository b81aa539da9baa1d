//! The interactive shell driven as a person would: through a pseudo-terminal (typing, bracketed paste,
//! Ctrl-C, Ctrl-D) and through standard input. Each test points the history file at a temporary folder.

use rexpect::session::{spawn_with_options, Options, PtySession};
use std::path::{Path, PathBuf};
use std::process::Command;

const SEED_000: &str = include_str!("../queries/detect_api_activity_from_users_without_mfa.spl");
const SEED_001: &str =
    include_str!("../queries/detect_aws_api_activities_from_unapproved_accounts.spl");
/// Seed 000 over the shipped samples; each row is justified in that golden case's notes.md.
const SEED_000_CSV: &str = include_str!("golden/seed_mfa_empty_lookups/expected.csv");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// rexpect hands over each byte as a char: text to look for must be spelled the same way.
fn bytes(s: &str) -> String {
    s.bytes().map(char::from).collect()
}

/// And what it read back as text.
fn text(s: &str) -> String {
    String::from_utf8_lossy(&s.chars().map(|c| c as u8).collect::<Vec<u8>>()).into_owned()
}

fn spawn(history: &Path, args: &[&str]) -> PtySession {
    // a pseudo-terminal starts with no size: give it one, as a terminal window has
    spawn_sized(history, args, "stty cols 200 rows 50 && ", &[])
}

/// The shell in a pseudo-terminal after `stty` (empty: the size stays 0×0), with more environment.
fn spawn_sized(history: &Path, args: &[&str], stty: &str, env: &[(&str, &str)]) -> PtySession {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("{stty}exec \"$0\" \"$@\""))
        .envs(env.iter().copied())
        .arg(env!("CARGO_BIN_EXE_spelunk"))
        .args(args)
        .current_dir(root())
        .env("SPELUNK_HISTORY", history)
        .env("TERM", "xterm")
        .env("NO_COLOR", "1");
    let mut p = spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(60_000))
            .strip_ansi_escape_codes(true),
    )
    .expect("spawn spelunk in a pseudo-terminal");
    p.exp_string("spelunk> ").expect("first prompt");
    p
}

/// Type keys (the session buffers what it sends until flushed).
fn keys(p: &mut PtySession, s: &str) {
    p.send(s).unwrap();
    p.flush().unwrap();
}

/// Paste text as a terminal does with bracketed paste on, then press Enter.
fn paste_and_enter(p: &mut PtySession, text: &str) {
    p.send(&format!("\x1b[200~{text}\x1b[201~")).unwrap();
    keys(p, "\r");
}

/// The cells of the CSV rows, for looking them up in a table.
fn csv_cells(csv: &str) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn pasting_the_seed_prints_its_table() {
    let dir = tempfile::tempdir().unwrap();
    let hist = dir.path().join("history");
    let mut p = spawn(&hist, &[]);
    paste_and_enter(&mut p, SEED_000);
    let shown = text(
        &p.exp_string("6 rows in")
            .expect("the row count under the table"),
    );
    // every cell of every expected row is in the table, on the row's first line (multivalues continue
    // on the next lines, one value per line)
    let lines: Vec<&str> = shown.lines().collect();
    for row in csv_cells(SEED_000_CSV) {
        let first_line = lines
            .iter()
            .find(|l| {
                l.starts_with('│')
                    && row
                        .iter()
                        .all(|cell| l.contains(cell.lines().next().unwrap_or("")))
            })
            .unwrap_or_else(|| panic!("no table line has {row:?}:\n{shown}"));
        assert!(first_line.contains('┆'), "{first_line}");
    }
    assert!(shown.contains("userIdentity.arn"), "{shown}");
    p.exp_string("spelunk> ").unwrap();

    // the second seed, pasted the same way, runs as well
    paste_and_enter(&mut p, SEED_001);
    let shown = text(&p.exp_regex(r"\d+ rows in").expect("rows of seed 001").0);
    assert!(shown.contains("firstTime"), "{shown}");
    p.exp_string("spelunk> ").unwrap();

    // Ctrl-D leaves; the pasted searches are two entries of the history, newlines kept inside each
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
    let h = std::fs::read_to_string(&hist).unwrap();
    let entries: Vec<&str> = h.lines().filter(|l| *l != "#V2").collect();
    assert_eq!(entries.len(), 2, "{h}");
    assert!(
        entries[0].starts_with("`cloudtrail` userIdentity.sessionContext.attributes.mfaAuthenticated=false \\n| search NOT [\\n"),
        "{h}"
    );
}

#[test]
fn a_bad_query_gets_a_caret_and_the_shell_stays() {
    let dir = tempfile::tempdir().unwrap();
    let hist = dir.path().join("history");
    let mut p = spawn(&hist, &[]);
    // pasted over two lines: the caret points into the second
    paste_and_enter(&mut p, "`cloudtrail`\n| statz count by user");
    p.exp_string("error: unknown command `statz` (did you mean `stats`?)")
        .unwrap();
    p.exp_string("--> 2:3").unwrap();
    p.exp_string("2 | | statz count by user").unwrap();
    p.exp_regex(r"\|   \^\^\^\^\^").unwrap();
    p.exp_string("spelunk> ").unwrap();

    // still alive: typed input, with a continuation line after a final `|`
    keys(&mut p, "`cloudtrail` |\r");
    keys(&mut p, "stats count\r");
    p.exp_string(&bytes("│ 33 ")).unwrap();
    p.exp_string("1 row in").unwrap();
    p.exp_string("spelunk> ").unwrap();

    // Ctrl-C drops the line being typed, and the shell goes on
    keys(&mut p, "search never run");
    p.send_control('c').unwrap();
    p.exp_string("spelunk> ").unwrap();
    keys(&mut p, ".sources\r");
    p.exp_string("cloudtrail_2024-03-02_to_05.ndjson").unwrap();
    p.exp_string("spelunk> ").unwrap();
    keys(&mut p, ".quit\r");
    p.exp_eof().unwrap();
    let h = std::fs::read_to_string(&hist).unwrap();
    assert!(
        !h.contains("never run"),
        "a cancelled line is not history: {h}"
    );
}

#[test]
fn entries_read_from_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{SEED_000}\nsearch a | statz\n.format csv\n{SEED_000}\n.expand `cloudtrail` | head 1\n.quit\nsearch never reached\n"
    );
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_spelunk"))
        .current_dir(root())
        .env("SPELUNK_HISTORY", dir.path().join("history"))
        .env_remove("NO_COLOR")
        .write_stdin(script)
        .output()
        .unwrap();
    // an entry failed (`statz`): the entries after it ran, and the status says so, as `run`'s does
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    // the table, then the same rows as CSV after .format csv
    assert!(stdout.contains("6 rows in"), "{stdout}");
    assert!(stdout.contains(SEED_000_CSV), "{stdout}");
    assert!(
        stdout.ends_with("sourcetype=aws:cloudtrail | head 1\n"),
        "{stdout}"
    );
    // the error, with its caret, and no colour on a pipe
    assert!(
        stderr.contains("error: unknown command `statz` (did you mean `stats`?)\n --> 1:12\n  |\n1 | search a | statz\n  |            ^^^^^\n"),
        "{stderr}"
    );
    assert!(!stderr.contains('\x1b'), "{stderr}");
    assert!(
        !dir.path().join("history").exists(),
        "no history without a terminal"
    );
}

#[test]
fn ctrl_c_stops_a_generated_search_and_the_shell_stays() {
    let dir = tempfile::tempdir().unwrap();
    let hist = dir.path().join("history");
    // the memory limit only guards the machine should the search not stop
    let mut p = spawn(&hist, &["--max-memory", "3000"]);
    keys(
        &mut p,
        "| makeresults count=100000000 | eval x=sha256(tostring(random())) | stats dc(x)\r",
    );
    // let it run (no input is read: its rows come from makeresults), then cancel
    std::thread::sleep(std::time::Duration::from_millis(800));
    let t0 = std::time::Instant::now();
    p.send_control('c').unwrap();
    let said = text(&p.exp_string("spelunk> ").expect("the prompt again"));
    assert!(
        said.contains("cancelled after") && said.contains("| makeresults count=100000000"),
        "{said}"
    );
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(2),
        "cancelling took {:?}",
        t0.elapsed()
    );
    // still alive
    keys(&mut p, "| makeresults count=2 | stats count\r");
    p.exp_string(&bytes("│ 2 ")).unwrap();
    p.exp_string("spelunk> ").unwrap();
    keys(&mut p, ".quit\r");
    p.exp_eof().unwrap();
}

/// `.fields` over Windows events lists their System and EventData fields and the add-ons' fields, event
/// types and tags (the same names complete in a search).
#[test]
fn fields_of_windows_events() {
    let dir = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_spelunk"))
        .current_dir(root())
        .env("SPELUNK_HISTORY", dir.path().join("history"))
        .args([
            "repl",
            "--data",
            "tests/golden/evtx_security_records/events.evtx",
        ])
        .write_stdin(".fields\n.quit\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    for name in [
        "EventCode",
        "NewProcessName",
        "CommandLine",
        "SubjectUserName",
        "process_name",
        "signature_id",
        "eventtype",
        "tag",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.split_whitespace().nth(1) == Some(name)),
            "`{name}` missing from .fields:\n{stdout}"
        );
    }
}

/// A result taller than the screen opens in the pager: it searches with `/`, `q` leaves it and the row
/// count stays under the prompt; with `.pager off` the rows are printed.
#[test]
fn a_tall_result_opens_the_pager_and_q_returns_to_the_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = spawn(&dir.path().join("history"), &[]);
    keys(&mut p, ".limit off\r");
    p.exp_string("spelunk> ").unwrap();
    keys(
        &mut p,
        "| makeresults count=500 | streamstats count as n | table n\r",
    );
    // 50 lines: 49 of text and the status; the table is 3 header lines, 500 rows, its bottom line
    // and the row count
    p.exp_string("lines 1-49 of 505")
        .expect("the pager's status line");
    // row 250 is line 253: a search puts it at the top
    keys(&mut p, "/250\r");
    p.exp_string("lines 253-301 of 505")
        .expect("the search moved");
    keys(&mut p, "G");
    p.exp_string("lines 457-505 of 505 (END)").unwrap();
    keys(&mut p, "q");
    p.exp_string("500 rows in")
        .expect("the row count after the pager");
    p.exp_string("spelunk> ").unwrap();
    keys(&mut p, ".pager off\r");
    p.exp_string("spelunk> ").unwrap();
    keys(
        &mut p,
        "| makeresults count=500 | streamstats count as n | table n\r",
    );
    let printed = text(&p.exp_string("500 rows in").unwrap());
    assert!(printed.contains("│ 499 "), "{printed}");
    assert!(!printed.contains("q leaves"), "{printed}");
    p.exp_string("spelunk> ").unwrap();
    keys(&mut p, ".quit\r");
    p.exp_eof().unwrap();
}

/// `.fields user*`: the fields whose names match, with their event counts, distinct and top values.
#[test]
fn fields_with_a_pattern() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = spawn(&dir.path().join("history"), &[]);
    keys(&mut p, ".fields user*\r");
    let shown = text(
        &p.exp_string("fields matching `user*` in 33 events")
            .unwrap(),
    );
    // the samples' 33 events: `user` (the add-on's calculated field) in 23 of them, 13 values
    let row = shown
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("user"))
        .unwrap_or_else(|| panic!("no row for `user`:\n{shown}"));
    assert!(row.contains("23 (70%)") && row.contains(" 13 "), "{row}");
    assert!(shown.contains("userIdentity.type"), "{shown}");
    assert!(!shown.contains("eventName"), "{shown}");
    p.exp_string("spelunk> ").unwrap();
    keys(&mut p, ".fields nosuchfield*\r");
    p.exp_string("no field matches `nosuchfield*`").unwrap();
    p.exp_string("spelunk> ").unwrap();
    keys(&mut p, ".quit\r");
    p.exp_eof().unwrap();
}

/// A terminal that reports size 0×0: tables take `$COLUMNS`.
#[test]
fn a_terminal_without_a_size_uses_columns() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = spawn_sized(
        &dir.path().join("history"),
        &[],
        "stty cols 0 rows 0 && ",
        &[("COLUMNS", "60"), ("LINES", "40")],
    );
    keys(
        &mut p,
        "`cloudtrail` | head 3 | table eventName userAgent sourceIPAddress\r",
    );
    let shown = text(&p.exp_string("3 rows in").unwrap());
    let table: Vec<&str> = shown
        .lines()
        .map(str::trim_end)
        .filter(|l| l.starts_with(['┌', '│', '└']))
        .collect();
    assert!(table.len() > 5, "{shown}");
    // wrapped to 60 columns, not one character per column
    assert!(
        table.iter().all(|l| l.chars().count() <= 60),
        "{}",
        table.join("\n")
    );
    assert!(table[0].chars().count() >= 50, "{}", table.join("\n"));
    p.exp_string("spelunk> ").unwrap();
    keys(&mut p, ".quit\r");
    p.exp_eof().unwrap();
}

/// A `timechart` result is drawn as a chart under its table, as Splunk shows a timechart; `.chart`
/// draws the last result again, `.chart off` stops the drawing, and a result that is not a series
/// has no chart.
#[test]
fn a_timechart_draws_a_chart() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = spawn(&dir.path().join("history"), &[]);
    keys(&mut p, "* | timechart span=1d count by eventSource\r");
    let shown = text(&p.exp_string("5 rows in").unwrap());
    // the table comes first, then the chart: its value axis up to the 6 s3 events of 2024-03-01,
    // its time axis from the first day to the last, and a legend naming each source
    let table_end = shown.find('└').expect("a table");
    let axis = shown.find("└┬").expect("a time axis");
    assert!(table_end < axis, "{shown}");
    assert!(shown.contains("6 ┤"), "{shown}");
    assert!(shown[axis..].contains("2024-03-01 00:00:00"), "{shown}");
    assert!(shown[axis..].contains("2024-03-05 00:00:00"), "{shown}");
    for (marker, source) in [
        ('*', "cloudtrail.amazonaws.com"),
        ('+', "ec2.amazonaws.com"),
        ('o', "iam.amazonaws.com"),
        ('x', "s3.amazonaws.com"),
        ('@', "signin.amazonaws.com"),
        ('%', "sts.amazonaws.com"),
    ] {
        assert!(
            shown[axis..].contains(&format!("{marker} {source}")),
            "{source}:\n{shown}"
        );
    }
    p.exp_string("spelunk> ").unwrap();
    // stats by a field then a number: a series, drawn as bars on request
    keys(&mut p, "* | stats count by eventName\r");
    p.exp_string("10 rows in").unwrap();
    p.exp_string("spelunk> ").unwrap();
    keys(&mut p, ".chart\r");
    let bars = text(&p.exp_string(&bytes("█ count")).unwrap());
    assert!(bars.contains("8 ListBuckets"), "{bars}");
    p.exp_string("spelunk> ").unwrap();
    keys(&mut p, "* | stats count by eventName, eventSource\r");
    p.exp_string("10 rows in").unwrap();
    p.exp_string("spelunk> ").unwrap();
    keys(&mut p, ".chart\r");
    p.exp_string("not a series").unwrap();
    p.exp_string("spelunk> ").unwrap();
    keys(&mut p, ".chart off\r");
    p.exp_string("spelunk> ").unwrap();
    keys(&mut p, "* | timechart span=1d count\r");
    let plain = text(&p.exp_string("5 rows in").unwrap());
    assert!(!plain.contains("└┬"), "no chart after .chart off:\n{plain}");
    p.exp_string("spelunk> ").unwrap();
    keys(&mut p, ".quit\r");
    p.exp_eof().unwrap();
}
