//! Limits (flags with Splunk's defaults), lookup confinement, and byte-identical output whatever the
//! number of reading threads.

use std::io::Write;
use std::path::Path;
use std::process::Command;

fn run_env(dir: &Path, query: &str, extra: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut args = vec!["run", "--format", "csv", "--now", "1709300000"];
    args.extend_from_slice(extra);
    args.push(query);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_spelunk"));
    cmd.current_dir(dir).args(&args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run spelunk");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn run(dir: &Path, query: &str, extra: &[&str]) -> (i32, String, String) {
    run_env(dir, query, extra, &[])
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

// ---------------------------------------------------------------- limits

#[test]
fn subsearch_maxout_flag() {
    let d = tmp();
    let q = "| makeresults count=5 | streamstats count as n | search [| makeresults count=5 | streamstats count as n | fields n] | stats count";
    let (code, out, err) = run(d.path(), q, &[]);
    assert_eq!((code, out.as_str()), (0, "count\n5\n"), "{err}");
    let (code, out, err) = run(d.path(), q, &["--subsearch-maxout", "2"]);
    assert_eq!((code, out.as_str()), (0, "count\n2\n"), "{err}");
    assert!(err.contains("only the first 2"), "{err}");
}

#[test]
fn subsearch_maxtime_stops_reading_and_uses_the_rows_so_far() {
    let d = tmp();
    // a subsearch that reads the inputs, stopped at once: it gives no rows (`NOT ()`)
    let q = "| makeresults | eval eventName=\"x\" | search [search eventName=* | head 1 | eval eventName=\"x\" | fields eventName] | stats count";
    let (code, out, err) = run(d.path(), q, &[]);
    assert_eq!((code, out.as_str()), (0, "count\n1\n"), "{err}");
    let (code, out, err) = run(d.path(), q, &["--subsearch-maxtime", "0"]);
    assert_eq!((code, out.as_str()), (0, "count\n0\n"), "{err}");
    assert!(err.contains("maxtime"), "{err}");
    let (code, _, err) = run(d.path(), q, &["--subsearch-maxtime", "-1"]);
    assert_eq!(code, 2, "{err}");
    // the subsearches of `append` and `join` too
    let q = "| makeresults | append [search eventName=* | head 1] | stats count";
    let (code, out, err) = run(d.path(), q, &[]);
    assert_eq!((code, out.as_str()), (0, "count\n2\n"), "{err}");
    let (code, out, err) = run(d.path(), q, &["--subsearch-maxtime", "0"]);
    assert_eq!((code, out.as_str()), (0, "count\n1\n"), "{err}");
    assert!(err.contains("maxtime"), "{err}");
}

#[test]
fn values_and_list_sizes() {
    let d = tmp();
    let q = "| makeresults count=150 | streamstats count as n | stats values(n) as v list(n) as l | eval v=mvcount(v), l=mvcount(l)";
    let (code, out, err) = run(d.path(), q, &[]);
    assert_eq!((code, out.as_str()), (0, "v,l\n150,100\n"), "{err}");
    let (code, out, err) = run(d.path(), q, &["--max-values", "3", "--list-maxsize", "7"]);
    assert_eq!((code, out.as_str()), (0, "v,l\n3,7\n"), "{err}");
    // the values kept are the first in order
    let (code, out, err) = run(
        d.path(),
        "| makeresults count=5 | streamstats count as n | eval n=6-n | stats values(n) as v",
        &["--max-values", "2"],
    );
    assert_eq!((code, out.as_str()), (0, "v\n\"1\n2\"\n"), "{err}");
}

#[test]
fn mvexpand_memory_truncates_with_a_warning() {
    let d = tmp();
    let q = "| makeresults | eval m=mvrange(0, 100000) | mvexpand m | stats count";
    let (code, out, err) = run(d.path(), q, &[]);
    assert_eq!((code, out.as_str()), (0, "count\n100000\n"), "{err}");
    let (code, out, err) = run(d.path(), q, &["--mvexpand-max-mem", "1"]);
    assert_eq!(code, 0, "{err}");
    let n: u64 = out.lines().nth(1).and_then(|l| l.parse().ok()).unwrap();
    assert!(n > 0 && n < 100_000, "{out}");
    assert!(err.contains("mvexpand: output truncated"), "{err}");
}

#[test]
fn join_subsearch_size() {
    let d = tmp();
    let q = "| makeresults count=10 | streamstats count as n | join type=left n [| makeresults count=10 | streamstats count as n | eval hit=1] | stats count(hit) as hits";
    let (code, out, err) = run(d.path(), q, &[]);
    assert_eq!((code, out.as_str()), (0, "hits\n10\n"), "{err}");
    let (code, out, err) = run(d.path(), q, &["--join-maxout", "4"]);
    assert_eq!((code, out.as_str()), (0, "hits\n4\n"), "{err}");
    assert!(err.contains("--join-maxout"), "{err}");
}

#[test]
fn memory_limit_stops_a_query_with_an_error_not_a_kill() {
    let d = tmp();
    let q = "| makeresults count=50000000 | stats count";
    let (code, out, err) = run(d.path(), q, &["--max-memory", "64"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.is_empty());
    assert!(
        err.contains("memory limit of 64 MB") && err.contains("--max-memory"),
        "{err}"
    );
    // also while rows flow through mvexpand
    let q = "| makeresults count=100 | eval m=mvrange(0, 1000000) | mvexpand m | sort - m | head 1";
    let (code, _, err) = run(
        d.path(),
        q,
        &["--max-memory", "128", "--mvexpand-max-mem", "100000"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("memory limit"), "{err}");
}

// ---------------------------------------------------------------- confinement

fn lookup_dir(d: &Path) -> std::path::PathBuf {
    let l = d.join("lookups");
    std::fs::create_dir_all(&l).unwrap();
    std::fs::write(l.join("ok.csv"), "a,b\n1,2\n").unwrap();
    std::fs::write(d.join("secret.csv"), "a,b\nsecret,1\n").unwrap();
    std::os::unix::fs::symlink(d.join("secret.csv"), l.join("escape.csv")).unwrap();
    std::fs::write(
        l.join("transforms.conf"),
        "[sneaky]\nfilename = ../secret.csv\n\n[abs]\nfilename = /etc/hosts\n",
    )
    .unwrap();
    l
}

#[test]
fn lookups_resolve_only_inside_their_folders() {
    let d = tmp();
    lookup_dir(d.path());
    let args = ["--lookups", "lookups"];
    let (code, out, err) = run(d.path(), "| inputlookup ok.csv", &args);
    assert_eq!((code, out.as_str()), (0, "a,b\n1,2\n"), "{err}");
    for q in [
        "| inputlookup ../secret.csv",
        "| inputlookup /etc/hosts",
        "| inputlookup \"lookups/../secret.csv\"",
        "| inputlookup escape.csv",
        "| inputlookup sneaky",
        "| inputlookup abs",
        "| makeresults | eval a=\"secret\" | lookup ../secret.csv a OUTPUT b",
        "| makeresults | eval a=\"secret\" | lookup escape.csv a OUTPUT b",
        "| makeresults | eval a=\"secret\" | lookup sneaky a OUTPUT b",
        "| makeresults | outputlookup ../written.csv",
        "| makeresults | outputlookup /tmp/spelunk-written.csv",
        "| makeresults | outputlookup escape.csv",
        "| makeresults | outputlookup sneaky",
    ] {
        let (code, out, err) = run(d.path(), q, &args);
        assert_eq!(code, 2, "{q}: {out}{err}");
        assert!(!out.contains("secret"), "{q}: {out}");
        assert!(
            err.contains("refused") || err.contains("outside"),
            "{q}: {err}"
        );
    }
    assert!(!d.path().join("written.csv").exists());
    assert_eq!(
        std::fs::read_to_string(d.path().join("secret.csv")).unwrap(),
        "a,b\nsecret,1\n",
        "the file a link points to is never written"
    );
}

#[test]
fn outputlookup_writes_whole_tables_through_a_rename() {
    let d = tmp();
    let l = lookup_dir(d.path());
    let (code, _, err) = run(
        d.path(),
        "| makeresults count=3 | streamstats count as n | table n | outputlookup out.csv",
        &["--lookups", "lookups"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(l.join("out.csv")).unwrap(),
        "n\n1\n2\n3\n"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&l)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file is left");
    // a write that fails leaves the old table whole: here the folder cannot take a new file
    let mut perms = std::fs::metadata(&l).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o500);
    std::fs::set_permissions(&l, perms.clone()).unwrap();
    let (code, _, _) = run(
        d.path(),
        "| makeresults | eval n=99 | table n | outputlookup out.csv",
        &["--lookups", "lookups"],
    );
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&l, perms).unwrap();
    // a privileged user may write anyway; then the new table is whole too
    let now = std::fs::read_to_string(l.join("out.csv")).unwrap();
    if code == 2 {
        assert_eq!(now, "n\n1\n2\n3\n");
    } else {
        assert_eq!(now, "n\n99\n");
    }
}

/// Nothing a query says can start a program or open a connection: no code opens a connection, and the
/// only program started is DuckDB for `run --engine duckdb`, from src/engine.rs, with fixed names (the
/// query's SQL goes to its standard input).
#[test]
fn the_library_neither_starts_programs_nor_opens_connections() {
    let engine = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/engine.rs"))
        .unwrap_or_default();
    let starts: Vec<&str> = engine
        .match_indices("Command::new(")
        .map(|(i, _)| engine[i..].split(';').next().unwrap_or_default())
        .collect();
    assert_eq!(
        starts,
        [
            "Command::new(\"duckdb\")",
            "Command::new(python.as_deref().unwrap_or(\"python3\"))",
        ],
        "src/engine.rs starts only DuckDB"
    );
    let mut found = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src"
    ))];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let starts_duckdb = p.ends_with("src/engine.rs");
            for needle in [
                "process::Command",
                "Command::new(",
                "TcpStream",
                "UdpSocket",
                "TcpListener",
                "UnixStream",
                "libc::exec",
                "libc::system",
            ] {
                let allowed =
                    starts_duckdb && matches!(needle, "process::Command" | "Command::new(");
                if text.contains(needle) && !allowed {
                    found.push(format!("{}: {needle}", p.display()));
                }
            }
        }
    }
    assert!(found.is_empty(), "{found:?}");
}

// ---------------------------------------------------------------- determinism

#[test]
fn output_is_byte_identical_with_one_or_two_threads() {
    let d = tmp();
    // large enough to be read in several parts (8 MiB each)
    let p = d.path().join("big.json");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    for i in 0..120_000u64 {
        writeln!(
            f,
            "{{\"eventVersion\":\"1.08\",\"eventSource\":\"s{}.amazonaws.com\",\"eventName\":\"E{}\",\"eventTime\":\"2024-03-{:02}T{:02}:{:02}:{:02}Z\",\"userIdentity\":{{\"arn\":\"arn:aws:iam::1:user/u{}\"}},\"sourceIPAddress\":\"10.0.{}.{}\",\"pad\":\"{}\"}}",
            i % 7,
            i % 13,
            1 + i % 28,
            i % 24,
            i % 60,
            (i * 7) % 60,
            i % 101,
            i % 250,
            i % 199,
            "p".repeat((i % 40) as usize)
        )
        .unwrap();
    }
    drop(f);
    // the same lines gzipped: read in pieces on the other cores while one thread decompresses
    let text = std::fs::read(&p).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&text).unwrap();
    std::fs::write(d.path().join("big.json.gz"), gz.finish().unwrap()).unwrap();
    let queries = [
        "* | stats count values(eventName) as names dc(sourceIPAddress) as ips earliest(_time) as first latest(eventName) as last by eventSource",
        "eventName=E3 | table _time eventName sourceIPAddress | head 2000",
        "* | dedup userIdentity.arn | table userIdentity.arn eventName",
        "* | eventstats count as all by eventSource | streamstats count as n | where n % 997 = 0 | table n all eventSource",
        "* | stats list(eventName) as l first(sourceIPAddress) as f last(sourceIPAddress) as la by eventName",
    ];
    for q in queries {
        let mut outs = Vec::new();
        for threads in ["1", "2", "1", "2"] {
            let (code, out, err) = run_env(
                d.path(),
                q,
                &["--data", "big.json"],
                &[("RAYON_NUM_THREADS", threads)],
            );
            assert_eq!(code, 0, "{q}: {err}");
            outs.push(out);
        }
        for threads in ["1", "2"] {
            let (code, out, err) = run_env(
                d.path(),
                q,
                &["--data", "big.json.gz"],
                &[("RAYON_NUM_THREADS", threads)],
            );
            assert_eq!(code, 0, "{q}: {err}");
            outs.push(out);
        }
        assert!(!outs[0].is_empty());
        for o in &outs[1..] {
            assert!(o == &outs[0], "{q}: output differs between runs");
        }
    }
}
