//! Hostile and broken input: each case ends with a clear message (an error, or a warning counted per
//! file) and every other event is still read. Cases run the `spelunk` binary, as a user would.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn spelunk_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spelunk"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run spelunk")
}

fn run(dir: &Path, query: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["run", "--format", "csv", "--now", "1709300000"];
    args.extend_from_slice(extra);
    args.push(query);
    let out = spelunk_in(dir, &args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn event(i: usize) -> String {
    format!(
        "{{\"eventVersion\":\"1.08\",\"eventSource\":\"iam.amazonaws.com\",\"eventName\":\"E{i}\",\"eventTime\":\"2024-03-01T10:00:{:02}Z\",\"n\":{i}}}\n",
        i % 60
    )
}

fn count_of(stdout: &str) -> u64 {
    stdout
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in {stdout:?}"))
}

/// `N malformed line(s) skipped` from a warning about `file`.
fn bad_of(stderr: &str, file: &str) -> u64 {
    stderr
        .lines()
        .filter(|l| l.contains(file) && l.contains("malformed line"))
        .find_map(|l| {
            let after = l.split(": ").nth(2)?;
            after.split(' ').next()?.parse().ok()
        })
        .unwrap_or(0)
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn data(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

// ---------------------------------------------------------------- nothing lost

/// Every broken line is counted: events read + lines reported bad = events in the input.
#[test]
fn events_read_plus_events_reported_bad_equals_input() {
    let d = tmp();
    let mut f = Vec::new();
    let mut good = 0;
    let mut bad = 0;
    for i in 0..50 {
        f.extend_from_slice(event(i).as_bytes());
        good += 1;
        match i % 7 {
            0 => f.extend_from_slice(b"{\"eventName\":\"x\xff\xfe\"}\n"), // invalid UTF-8
            // a raw NUL inside a string is kept in the value (the event is read)
            1 => {
                f.extend_from_slice(b"{\"eventName\":\"a\0b\"}");
                good += 1;
                bad -= 1;
            }
            2 => f.extend_from_slice(b"{\"eventName\":\"trunc"), // cut short, then a line break
            3 => {
                let deep = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
                f.extend_from_slice(deep.as_bytes());
            }
            4 => f.extend_from_slice(b"not json at all"),
            5 => f.extend_from_slice(b"\0\0\0\0"),
            _ => f.extend_from_slice(b"[1,2"),
        }
        f.push(b'\n');
        bad += 1;
    }
    data(d.path(), "mixed.json", &f);
    let (code, out, err) = run(d.path(), "* | stats count", &["--data", "mixed.json"]);
    assert_eq!(code, 0, "{err}");
    let read = count_of(&out);
    let reported = bad_of(&err, "mixed.json");
    assert_eq!(read, good, "{err}");
    assert_eq!(reported, bad, "{err}");
    assert_eq!(read + reported, good + bad);
    assert!(err.contains("first at line 2"), "{err}");
}

#[test]
fn a_100_mb_line_is_read_and_the_rest_too() {
    let d = tmp();
    let p = d.path().join("big.json");
    let mut f = std::fs::File::create(&p).unwrap();
    f.write_all(event(1).as_bytes()).unwrap();
    // one valid event of 100 MB, then one broken line of 100 MB
    let big = "x".repeat(100 << 20);
    writeln!(f, "{{\"eventName\":\"Big\",\"blob\":\"{big}\"}}").unwrap();
    writeln!(f, "{{\"eventName\":\"Cut\",\"blob\":\"{big}").unwrap();
    f.write_all(event(2).as_bytes()).unwrap();
    drop(f);
    let (code, out, err) = run(
        d.path(),
        "* | eval size=len(blob) | table eventName size",
        &["--data", "big.json"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "eventName,size\nE1,\nBig,104857600\nE2,\n");
    assert_eq!(bad_of(&err, "big.json"), 1, "{err}");
}

#[test]
fn json_nested_10000_levels_is_a_counted_bad_line() {
    let d = tmp();
    let deep = format!("{}1{}\n", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let arr = format!(
        "{{\"eventName\":\"arr\",\"x\":{}1{}}}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let mut f = event(1);
    f.push_str(&deep);
    f.push_str(&arr);
    f.push_str(&event(2));
    data(d.path(), "deep.json", f.as_bytes());
    let (code, out, err) = run(d.path(), "* | stats count", &["--data", "deep.json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(count_of(&out), 2);
    assert_eq!(bad_of(&err, "deep.json"), 2, "{err}");
    assert!(err.contains("nest"), "the reason names the nesting: {err}");
    // the same document pretty-printed (read whole)
    let doc = format!(
        "{{\n\"Records\": {}1{}\n}}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    data(d.path(), "deepdoc.json", doc.as_bytes());
    let (code, _, err) = run(d.path(), "* | stats count", &["--data", "deepdoc.json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("deepdoc.json") && err.contains("malformed"),
        "{err}"
    );
}

#[test]
fn deeply_nested_json_inside_a_field_is_refused_by_spath_and_fromjson() {
    let d = tmp();
    let inner = format!("{}1{}", "{\\\"a\\\":".repeat(10_000), "}".repeat(10_000));
    let f = format!("{{\"eventName\":\"x\",\"doc\":\"{inner}\"}}\n{}", event(2));
    data(d.path(), "e.json", f.as_bytes());
    for q in [
        "* | spath input=doc | stats count",
        "* | fromjson doc | stats count",
        "* | eval v=json_extract(doc, \"a.a\") | stats count",
        "* | eval v=spath(doc, \"a.a\") | stats count",
    ] {
        let (code, out, err) = run(d.path(), q, &["--data", "e.json"]);
        assert!(code == 0 || code == 2, "{q}: {err}");
        if code == 0 {
            assert_eq!(count_of(&out), 2, "{q}");
        } else {
            assert!(err.contains("error"), "{q}: {err}");
        }
    }
}

// ---------------------------------------------------------------- deep queries

fn assert_clean_error(code: i32, err: &str, what: &str) {
    assert_eq!(code, 2, "{what}: expected an error exit, got {code}: {err}");
    assert!(err.contains("error"), "{what}: {err}");
    assert!(
        !err.contains("overflow") && !err.contains("panicked"),
        "{what}: {err}"
    );
}

#[test]
fn deeply_nested_queries_are_refused_with_a_clear_error() {
    let d = tmp();
    let n = 10_000;
    let cases = [
        (
            "parentheses",
            format!(
                "| makeresults | search {}x=1{}",
                "(".repeat(n),
                ")".repeat(n)
            ),
        ),
        (
            "NOT",
            format!("| makeresults | search {}x=1", "NOT ".repeat(n)),
        ),
        (
            "subsearches",
            format!("{}| makeresults{}", "search [".repeat(n), "]".repeat(n)),
        ),
        (
            "append",
            format!(
                "| makeresults {}| makeresults{}",
                "| append [".repeat(n),
                "]".repeat(n)
            ),
        ),
        (
            "eval parentheses",
            format!("| makeresults | eval x={}1{}", "(".repeat(n), ")".repeat(n)),
        ),
        (
            "eval unary minus",
            format!("| makeresults | eval x={}1", "-".repeat(n)),
        ),
        (
            "eval calls",
            format!(
                "| makeresults | eval x={}1{}",
                "abs(".repeat(n),
                ")".repeat(n)
            ),
        ),
        (
            "where NOT",
            format!("| makeresults | where {}true()", "NOT ".repeat(n)),
        ),
        (
            "macro arguments",
            format!(
                "| makeresults | eval x={}1{}",
                "`m(".repeat(n),
                ")`".repeat(n)
            ),
        ),
    ];
    for (what, q) in cases {
        let (code, _, err) = run(d.path(), &q, &[]);
        // a prefix operator repeated is read in a loop: it may run; anything else is an error
        if code == 0 && matches!(what, "eval unary minus" | "where NOT" | "NOT") {
            continue;
        }
        assert_clean_error(code, &err, what);
    }
    // a chain of macros deeper than Splunk's limit
    let mut conf = String::new();
    for i in 0..200 {
        conf.push_str(&format!("[m{i}]\ndefinition = `m{}`\n\n", i + 1));
    }
    conf.push_str("[m200]\ndefinition = | makeresults\n");
    data(d.path(), "macros.conf", conf.as_bytes());
    let (code, _, err) = run(d.path(), "`m0`", &["--macros", "macros.conf"]);
    assert_clean_error(code, &err, "macro chain");
    assert!(err.contains("nested deeper"), "{err}");
    // a macro that calls itself
    data(d.path(), "self.conf", b"[me]\ndefinition = `me` `me`\n");
    let (code, _, err) = run(d.path(), "`me`", &["--macros", "self.conf"]);
    assert_clean_error(code, &err, "self-calling macro");
}

#[test]
fn a_query_of_ten_thousand_stages_runs_or_is_refused_cleanly() {
    let d = tmp();
    let q = format!(
        "| makeresults {}| stats count",
        "| eval x=1 ".repeat(10_000)
    );
    let (code, out, err) = run(d.path(), &q, &[]);
    assert!(code == 0 || code == 2, "{err}");
    if code == 0 {
        assert_eq!(out, "count\n1\n");
    } else {
        assert_clean_error(code, &err, "many stages");
    }
}

// ---------------------------------------------------------------- files

#[test]
fn broken_gzip_files_are_reported_and_other_files_read() {
    let d = tmp();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for i in 0..100 {
        gz.write_all(event(i).as_bytes()).unwrap();
    }
    let full = gz.finish().unwrap();
    data(d.path(), "ok.json.gz", &full);
    data(d.path(), "truncated.json.gz", &full[..full.len() / 2]);
    data(
        d.path(),
        "garbage.json.gz",
        b"\x1f\x8bthis is not deflate data at all",
    );
    data(d.path(), "plain.json.gz", event(7).as_bytes()); // named .gz, not compressed
    let (code, out, err) = run(
        d.path(),
        "* | stats count by source | sort source",
        &["--data", "."],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("./ok.json.gz,100"), "{out}");
    assert!(out.contains("./plain.json.gz,1"), "{out}");
    assert!(
        err.contains("truncated.json.gz") && err.contains("read error"),
        "{err}"
    );
    assert!(err.contains("garbage.json.gz"), "{err}");
}

/// A gzip file of JSON lines is decompressed on one thread and read in pieces (2 MiB of text each)
/// on the others: every event is read once, and a malformed line is reported by its line number in
/// the whole file, not in its piece.
#[test]
fn a_gzip_file_read_in_pieces_loses_nothing_and_numbers_lines_in_the_whole_file() {
    let d = tmp();
    let mut text = String::new();
    let pad = "x".repeat(150);
    for i in 0..40_000 {
        if i == 30_000 {
            text.push_str("{\"eventName\": broken\n");
            continue;
        }
        let line = event(i);
        text.push_str(&line[..line.len() - 2]);
        text.push_str(&format!(",\"pad\":\"{pad}\"}}\n"));
    }
    assert!(text.len() > 3 * (2 << 20), "the text spans several pieces");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    data(d.path(), "lines.json.gz", &gz.finish().unwrap());
    data(d.path(), "lines.json", text.as_bytes());
    for file in ["lines.json.gz", "lines.json"] {
        let (code, out, err) = run(
            d.path(),
            "* | stats count dc(eventName) as names max(n) as last",
            &["--data", file],
        );
        assert_eq!(code, 0, "{err}");
        // 40,000 lines, one of them broken: 39,999 events, each with its own name; the last is 39,999
        assert!(out.contains("39999,39999,39999"), "{file}: {out}");
        assert!(
            err.contains("1 malformed line skipped (first at line 30001"),
            "{file}: {err}"
        );
    }
}

#[test]
fn a_file_that_grows_while_read_gives_whole_lines_and_no_error() {
    let d = tmp();
    let p = d.path().join("growing.json");
    let mut initial = String::new();
    for i in 0..20_000 {
        initial.push_str(&event(i));
    }
    std::fs::write(&p, &initial).unwrap();
    let writer = {
        let p = p.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
            for i in 0..20_000 {
                // each line in two writes: a reader may see half a line at the end
                let e = event(i);
                let (a, b) = e.split_at(e.len() / 2);
                let _ = f.write_all(a.as_bytes());
                let _ = f.write_all(b.as_bytes());
            }
        })
    };
    let (code, out, err) = run(d.path(), "* | stats count", &["--data", "growing.json"]);
    writer.join().unwrap();
    assert_eq!(code, 0, "{err}");
    let n = count_of(&out);
    let bad = bad_of(&err, "growing.json");
    assert!((20_000..=40_000).contains(&n), "{n}");
    assert!(bad <= 1, "at most the one line being written is cut: {err}");
}

#[test]
fn folders_with_symlink_loops_and_unreadable_files_are_read_once() {
    let d = tmp();
    let dir = d.path().join("logs");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    data(&dir, "a.json", event(1).as_bytes());
    data(&dir.join("sub"), "b.json", event(2).as_bytes());
    std::os::unix::fs::symlink(&dir, dir.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("sub/loop.json")).unwrap();
    std::os::unix::fs::symlink(dir.join("nowhere.json"), dir.join("dangling.json")).unwrap();
    let locked = data(&dir, "locked.json", event(3).as_bytes());
    let mut perms = std::fs::metadata(&locked).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o000);
    std::fs::set_permissions(&locked, perms).unwrap();
    // a privileged user reads it anyway
    let can_read_locked = std::fs::read(&locked).is_ok();
    let (code, out, err) = run(d.path(), "* | stats count", &["--data", "logs"]);
    assert_eq!(code, 0, "{err}");
    let expected = if can_read_locked { 3 } else { 2 };
    assert_eq!(count_of(&out), expected, "{err}");
    assert!(
        err.contains("dangling.json") && err.contains("cannot open"),
        "{err}"
    );
    if !can_read_locked {
        assert!(
            err.contains("locked.json") && err.contains("cannot open"),
            "{err}"
        );
    }
}

#[test]
fn nul_bytes_and_invalid_utf8_are_counted_per_file() {
    let d = tmp();
    let mut a = event(1).into_bytes();
    a.extend_from_slice(b"\0\0\0\n");
    a.extend_from_slice(b"{\"eventName\":\"\xc3\x28\"}\n");
    a.extend_from_slice(event(2).as_bytes());
    data(d.path(), "a.json", &a);
    // a whole file of NULs (a preallocated log that was never written)
    data(d.path(), "zeros.json", &[0u8; 4096]);
    let (code, out, err) = run(
        d.path(),
        "* | stats count",
        &["--data", "a.json", "--data", "zeros.json"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(count_of(&out), 2);
    assert_eq!(bad_of(&err, "a.json"), 2, "{err}");
    assert_eq!(bad_of(&err, "zeros.json"), 1, "{err}");
    // the reason of an invalid UTF-8 line
    let mut only = event(1).into_bytes();
    only.extend_from_slice(b"{\"eventName\":\"\xc3\x28\"}\n");
    data(d.path(), "u.json", &only);
    let (_, _, err2) = run(d.path(), "* | stats count", &["--data", "u.json"]);
    assert!(err2.contains("invalid UTF-8"), "{err} {err2}");
}

// ---------------------------------------------------------------- lookups

#[test]
fn csv_lookups_with_ragged_rows_bom_duplicate_headers_and_quoted_newlines() {
    let d = tmp();
    let l = d.path().join("lookups");
    std::fs::create_dir(&l).unwrap();
    data(
        &l,
        "t.csv",
        b"\xEF\xBB\xBFkey,val,val,extra\nk1,first,second,e1\nk2,short\nk3,\"multi\nline\",x,y,overflow\n",
    );
    let (code, out, err) = run(
        d.path(),
        "| inputlookup t.csv | eval n=mvcount(val) | table key val extra n",
        &["--lookups", "lookups"],
    );
    assert_eq!(code, 0, "{err}");
    // the BOM is not part of the first name; the first of two equal headers wins; a short row lacks
    // the missing cells; a quoted line break makes a multivalue; cells past the header are dropped
    assert_eq!(
        out,
        "key,val,extra,n\nk1,first,e1,1\nk2,short,,1\nk3,\"multi\nline\",y,2\n"
    );
    // a lookup table that is not UTF-8 is refused with its name and row
    data(&l, "bin.csv", b"a,b\n1,\xff\xfe\n");
    let (code, _, err) = run(d.path(), "| inputlookup bin.csv", &["--lookups", "lookups"]);
    assert_eq!(code, 2);
    assert!(err.contains("bin.csv") && err.contains("row 2"), "{err}");
}

// ---------------------------------------------------------------- regexes and eval

#[test]
fn catastrophic_regexes_run_in_linear_time_and_huge_ones_are_refused() {
    let d = tmp();
    let line = format!(
        "{{\"eventName\":\"x\",\"s\":\"{}!\"}}\n",
        "a".repeat(100_000)
    );
    data(d.path(), "a.json", line.as_bytes());
    let start = std::time::Instant::now();
    for q in [
        "* | regex s=\"^(a+)+$\" | stats count",
        "* | rex field=s \"(?<m>(a|aa)+$)\" | stats count",
        "* | where match(s, \"^(a*)*$\") | stats count",
        "* | eval r=replace(s, \"(a+)+b\", \"x\") | stats count",
    ] {
        let (code, out, err) = run(d.path(), q, &["--data", "a.json"]);
        assert_eq!(code, 0, "{q}: {err}");
        assert!(out.starts_with("count\n"), "{q}: {out}");
    }
    assert!(
        start.elapsed().as_secs() < 60,
        "regexes took {:?}",
        start.elapsed()
    );
    for q in [
        "| makeresults | regex _raw=\"a{1000}{1000}{1000}\"",
        "| makeresults | rex \"(?<x>a{1000}{1000}{1000})\"",
        "| makeresults | eval x=match(\"a\", \"a{1000}{1000}{1000}\")",
    ] {
        let (code, _, err) = run(d.path(), q, &[]);
        assert_clean_error(code, &err, q);
    }
}

#[test]
fn eval_divide_by_zero_is_null_and_a_1_gb_string_is_refused() {
    let d = tmp();
    let (code, out, err) = run(
        d.path(),
        "| makeresults | eval a=1/0, b=0/0, c=5%0, d=isnull(1/0) | table a b c d",
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "a,b,c,d\n,,,true\n");
    // 1000 bytes doubled 20 times is 1 GB: refused at the first result over the cap
    let q = format!(
        "| makeresults | eval s=printf(\"%1000s\", \"x\") {}| eval n=len(s)",
        "| eval s=s . s ".repeat(20)
    );
    let (code, _, err) = run(d.path(), &q, &[]);
    assert_clean_error(code, &err, "1 GB string");
    assert!(err.contains("--max-eval-text"), "{err}");
    let (code, out, err) = run(d.path(), &q, &["--max-eval-text", "1"]);
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("limit of 1 MB"), "{err}");
}
