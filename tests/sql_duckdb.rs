//! The differential suite of `spelunk sql`: for each query, the rows `spelunk run` prints equal the
//! rows DuckDB gives for the SQL `spelunk sql` writes, over crafted traps (mixed case, a field missing
//! under NOT, multivalue by-fields, events lacking the by-field, numbers spelt several ways,
//! numeric-looking text in `values()`, LIKE's own wildcard characters in values) and over generated
//! CloudTrail events (../shared/tools/gen-cloudtrail). Queries with no faithful SQL form must be
//! refused with an error naming what is missing.
//!
//! DuckDB's Python module is installed by the test into a virtualenv under `target/` (from PyPI), once.
//! The suite prints `N passed, N failed`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/shared.rs"]
mod shared;

/// DuckDB's Python module, pinned: the SQL is checked against this version.
const DUCKDB: &str = "duckdb==2.0.1";

/// A virtualenv under target/ with DuckDB's Python module: its python.
fn duckdb_python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join("target/sql-venv");
    let python = venv.join("bin/python3");
    let ok = |py: &Path| {
        Command::new(py)
            .args(["-c", "import duckdb"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ok(&python) {
        return python;
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .expect("python3 runs");
    assert!(made.success(), "python3 -m venv {}", venv.display());
    let pip = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            DUCKDB,
        ])
        .status()
        .expect("pip runs");
    assert!(
        pip.success(),
        "pip install {DUCKDB} into {}",
        venv.display()
    );
    assert!(ok(&python), "duckdb imports in {}", venv.display());
    python
}

/// Crafted events, one per line: each line is a trap a naive translation falls into.
const TRAPS: &str = r#"{"eventVersion":"1.08","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/alice"},"port":"443","score":"10","resources":[{"ARN":"arn:r1"},{"ARN":"arn:r2"}]}
{"eventVersion":"1.08","eventSource":"ec2.amazonaws.com","eventName":"describeinstances","awsRegion":"US-EAST-1","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/s"},"port":"443.0","score":"9","resources":[{"ARN":"arn:r1"}]}
{"eventVersion":"1.08","eventSource":"ec2.amazonaws.com","eventName":"DESCRIBEINSTANCES","awsRegion":"us-east-1","port":443,"score":"1e3","resources":[]}
{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-west-2","userIdentity":null,"score":"abc","resources":[{"ARN":"arn:r2"},{"ARN":"arn:r2"}]}
{"eventVersion":"1.08","eventSource":"iam.amazonaws.com","eventName":"a_b","awsRegion":"us-east-1","userIdentity":{"type":"Root"},"score":"-2.5"}
{"eventVersion":"1.08","eventSource":"iam.amazonaws.com","eventName":"axb","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::2:user/bob"},"score":" 7 "}
{"eventVersion":"1.08","eventSource":"iam.amazonaws.com","eventName":"100%","awsRegion":"us-east-1","score":""}
{"eventVersion":"1.08","eventSource":"iam.amazonaws.com","eventName":"ÉVÉNEMENT","awsRegion":"eu-west-1","score":"10.0"}
{"foo":"bar","eventName":"DescribeInstances","awsRegion":"us-east-1"}
{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","resources":[{"ARN":"arn:r3","type":"x"},{"type":"y"}],"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/alice"}}
"#;

/// Queries over the traps whose rows must agree.
const TRAP_QUERIES: &[&str] = &[
    "sourcetype=aws:cloudtrail | stats count by eventName",
    "* | stats count by sourcetype",
    "eventName=describeinstances | stats count by awsRegion",
    "NOT userIdentity.type=AssumedRole | stats count by eventName",
    "userIdentity.type!=AssumedRole | stats count by eventName",
    "port=443 | stats count by eventName",
    "score>5 | stats count by score",
    "score<abc | stats count by score",
    "score>=-3 score<=9.5 | stats count by eventName",
    "* | stats values(score) as s dc(score) as d count(score) as c count",
    "* | stats count by resources{}.ARN",
    "* | stats dc(resources{}.ARN) as d values(resources{}.ARN) as v count(resources{}.ARN) as c by eventName",
    "resources{}.ARN=arn:r2 | stats count by eventName",
    "eventName=a_b | stats count by eventName",
    "eventName=100% | stats count",
    "eventName IN (describe*, get*) | stats count by eventName",
    "eventName=*INST* | rename eventName as nm | table nm awsRegion nothere",
    "* | rename awsRegion as eventName | stats count by eventName",
    "* | rename nothere as eventName | stats count by eventName",
    "* | fields - awsRegion | stats count by awsRegion",
    "* | fields eventName | stats count by eventName awsRegion",
    "* | stats count by eventName | head 3",
    "* | stats count by userIdentity.type, awsRegion",
    "eventName=événement | stats count by eventName",
    "awsRegion=* | stats count by eventSource",
    "NOT awsRegion=* | stats count by eventName",
    "userIdentity.arn=*alice | stats count",
    "score=10 OR score=9 | stats count by score",
    "(eventName=Describe* OR eventName=List*) NOT (awsRegion=us-west-2 OR userIdentity.type=root) | stats count by eventName",
    "eventName!=*instances | stats count by eventName",
    "* | stats count by nothere",
    "nothere=x | stats count",
    "NOT nothere=x | stats count",
    "* | stats values(nothere) as v dc(nothere) as d count(nothere) as c by eventSource",
    "* | where score > 5 | stats count by score",
    "* | where eventName == \"DescribeInstances\" | stats count by awsRegion",
    "* | where isnull(awsRegion) | stats count by eventName",
    "* | where NOT isnull('userIdentity.arn') AND lower(eventName) == \"describeinstances\" | stats count by eventName",
    "* | where score >= \"9\" | stats count by score",
    "* | where eventName IN (\"axb\", \"a_b\") | stats count by eventName",
    "* | where eventName NOT IN (\"axb\", \"a_b\") | stats count by eventName",
    "* | where in(awsRegion, \"us-east-1\", \"eu-west-1\") | stats count by eventName",
    "* | where coalesce(awsRegion, \"none\") == \"none\" | stats count by eventName",
    "* | where score < 10 OR eventSource == \"s3.amazonaws.com\" | stats count by eventName",
    "* | where score != 10 | stats count by score",
    "* | where score < \"abc\" | stats count by score",
    "* | stats count by eventSource | where count > 2",
    "* | where upper(awsRegion) == \"US-EAST-1\" | stats count by eventName",
    "* | eval r=if(isnull(awsRegion), \"none\", awsRegion) | stats count by r",
    "* | eval k=case(score > 5, \"big\", score < 0, \"neg\") | stats count by k",
    "* | eval a=mvindex(split('userIdentity.arn', \":\"), -1), b=mvindex(split(a, \"/\"), 0) | stats count by a b",
    "* | eval t=mvindex(split(eventName, \"e\"), 1) | stats count by t",
    "* | eval t=mvindex(split(eventName, \"e\"), -2) | stats count by t",
    "* | where match(eventName, \"^Desc|Buckets$\") | stats count by eventName",
    "* | eval n=replace(eventName, \"[aeiou]\", \"\") | stats count by n",
    "* | eval n=replace(eventName, \"(D)(e)\", \"\\\\2\\\\1\") | stats count by n",
    "* | eval l=len(eventName) | where l > 8 | stats count by eventName l",
    "* | eval x=eventName . \"-\" . awsRegion | stats count by x",
    "* | eval e=mvindex(split(score, \":\"), 0) | stats count by e",
    "* | eval u=upper(eventSource), eventName=lower(eventName) | stats count by u eventName",
    "* | eval awsRegion=null() | stats count by awsRegion",
    "* | eval x=1 | stats count by x",
    "* | stats count by eventName | head 2 | eval n = count",
    "* | where len(eventName) > 3 | stats count",
    "* | stats count by user",
    "* | stats count by user userName",
    "* | where score > 5 | stats sum(score) as s sum(nothere) as n sum(eventName) as e count by eventSource",
    "* | stats count by eventName | stats sum(count) as total",
    "* | stats count by eventName | sort - count",
    "* | stats count by eventName | sort eventName",
    "* | stats count by eventName | sort - eventName",
    "* | stats count by score | sort score",
    "* | stats count by score | sort - score",
    "* | stats count values(awsRegion) as r by eventName | sort r",
    "* | stats count values(awsRegion) as r by eventName | sort - r, str(eventName)",
    "* | stats count by score | sort num(score) d",
    "* | stats count by eventName | sort 3 - count eventName",
    "* | stats count by eventName | sort limit=2 str(eventName) | eval n=count",
    "* | eval a=mvindex('resources{}.ARN', 0), b=mvindex('resources{}.ARN', -1) | stats count by a b",
    "* | eval c=mvindex(eventName, -1), d=coalesce(mvindex(eventName, 1), \"none\") | stats count by c d",
];

/// Queries that must be refused, and what the error must name.
const REFUSED: &[(&str, &str)] = &[
    ("DescribeInstances | stats count", "free-text"),
    ("eventName=x", "whole events"),
    ("* | stats avg(score)", "avg(score)"),
    ("* | stats sum(resources{}.ARN) as s", "`s`"),
    ("* | sort eventName | stats count by eventName", "`sort`"),
    (
        "* | where 'resources{}.ARN' == \"arn:r1\" | stats count",
        "multivalue",
    ),
    ("* | where eventName | stats count", "not a condition"),
    (
        "* | where match(eventName, \"\\\\d\") | stats count",
        "regular expression",
    ),
    (
        "* | eval x = eventName == \"a\" | stats count by x",
        "condition",
    ),
    (
        "* | eval x = mvindex('resources{}.ARN', score) | stats count by x",
        "mvindex",
    ),
    (
        "* | eval x = substr(eventName, 2) | stats count by x",
        "`substr()`",
    ),
    ("earliest=-24h | stats count", "earliest"),
    ("* | head 5 | stats count", "`head`"),
    ("* | stats count by r* ", "wildcard"),
    ("* | bin _time | stats count by _time", "span"),
    ("* | stats count by eventName | sort ip(eventName)", "ip()"),
    ("* | bin _time span=1mon | stats count by _time", "months"),
    ("* | bin score span=10 | stats count by score", "ranges"),
    (
        "* | stats count by eventName awsRegion | rename eventName as awsRegion",
        "order",
    ),
];

/// The seed detections (queries/), run as published.
const SEEDS: &[&str] = &[
    "detect_api_activity_from_users_without_mfa.spl",
    "detect_aws_api_activities_from_unapproved_accounts.spl",
];

/// The shared CloudTrail folders whose events DuckDB reads as spelunk does (the others' times are not
/// UTC whole seconds, which the SQL refuses at run time, naming the field).
const SHARED_FOLDERS: &[&str] = &[
    "grycap-cloudtrail-tracker",
    "opensearch-catalog",
    "stratus-red-team",
    "trailscraper",
];

/// Queries over generated CloudTrail events.
const GENERATED_QUERIES: &[&str] = &[
    "sourcetype=aws:cloudtrail | stats count by eventName",
    "sourcetype=aws:cloudtrail eventName=Describe* NOT userIdentity.type=AssumedRole awsRegion=us-east-1 | stats count by userIdentity.arn",
    "* | stats dc(eventName) as n values(awsRegion) as regions count by userIdentity.type",
    "userIdentity.sessionContext.attributes.mfaAuthenticated=false | stats count by userIdentity.arn userIdentity.type",
    "* | stats count by resources{}.ARN | head 20",
    "* | rename userIdentity.arn as arn | stats count by arn eventSource",
    "eventSource=iam* OR eventSource=sts* | stats values(eventName) as names by awsRegion",
    "* | stats min(_time) as first max(_time) as last count by eventSource",
    "* | stats count by user | head 5",
    "* | stats count dc(eventName) as n by userIdentity.arn | sort - n, - count | head 5",
    "* | stats min(_time) as firstTime by eventName | convert ctime(firstTime) | head 5",
    "* | bin span=1h _time as hour | stats count by hour eventSource | head 10",
    "eventName=ConsoleLogin OR eventName=Describe* | bin span=5m _time | stats values(awsRegion) as r dc(sourceIPAddress) as n by _time userIdentity.arn | where n > 1 | rename _time as t",
];

fn spelunk(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_spelunk"))
        .args(args)
        .output()
        .expect("spelunk runs")
}

/// The CSV spelunk prints: header, then rows.
fn spelunk_rows(data: &Path, query: &str) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let d = data.to_string_lossy();
    let out = spelunk(&[
        "run", "--format", "csv", "--limit", "0", "--data", &d, query,
    ]);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(out.stdout.as_slice());
    let header: Vec<String> = r
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| e.to_string())?;
        rows.push(rec.iter().map(str::to_string).collect());
    }
    Ok((header, rows))
}

fn sql_of(data: &Path, query: &str) -> Result<String, String> {
    sql_in(Engine::DuckDb, data, query)
}

/// The SQL engines the suite checks.
#[derive(Clone, Copy, PartialEq)]
enum Engine {
    DuckDb,
    Spark,
}

impl Engine {
    fn dialect(self) -> &'static str {
        match self {
            Engine::DuckDb => "duckdb",
            Engine::Spark => "spark",
        }
    }

    fn runner(self) -> &'static str {
        match self {
            Engine::DuckDb => "tests/sql/duckdb_rows.py",
            Engine::Spark => "tests/sql/spark_rows.py",
        }
    }
}

fn sql_in(engine: Engine, data: &Path, query: &str) -> Result<String, String> {
    let d = data.to_string_lossy();
    let out = spelunk(&["sql", "--dialect", engine.dialect(), "--data", &d, query]);
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

type DuckRows = BTreeMap<String, serde_json::Value>;

fn duckdb_rows(python: &Path, statements: &BTreeMap<String, String>) -> DuckRows {
    engine_rows(Engine::DuckDb, python, statements)
}

/// The rows of each statement in the engine, through its runner script.
fn engine_rows(engine: Engine, python: &Path, statements: &BTreeMap<String, String>) -> DuckRows {
    use std::io::Write;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(engine.runner());
    let mut child = Command::new(python)
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the DuckDB runner starts");
    let input = serde_json::to_vec(statements).unwrap_or_default();
    child
        .stdin
        .take()
        .map(|mut s| s.write_all(&input))
        .transpose()
        .expect("statements written");
    let out = child.wait_with_output().expect("the runner ends");
    assert!(
        out.status.success(),
        "the {} runner failed",
        engine.dialect()
    );
    serde_json::from_slice(&out.stdout).expect("the runner's JSON")
}

/// The rows of a runner's answer (`{"columns": [...], "rows": [[...], ...]}`), as text.
fn rows_of(answer: &serde_json::Value) -> Vec<Vec<String>> {
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x.as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    answer["rows"]
        .as_array()
        .map(|a| a.iter().map(strings).collect())
        .unwrap_or_default()
}

/// Compare every query's rows over `data`; the failures, described.
fn differential(python: &Path, data: &Path, queries: &[&str]) -> (usize, Vec<String>) {
    differential_in(Engine::DuckDb, python, data, queries)
}

fn differential_in(
    engine: Engine,
    python: &Path,
    data: &Path,
    queries: &[&str],
) -> (usize, Vec<String>) {
    let mut statements = BTreeMap::new();
    let mut failures = Vec::new();
    for (i, q) in queries.iter().enumerate() {
        match sql_in(engine, data, q) {
            Ok(sql) => {
                statements.insert(format!("{i:03}"), sql);
            }
            Err(e) => failures.push(format!("{q}\n  spelunk sql refused it: {e}")),
        }
    }
    let duck = engine_rows(engine, python, &statements);
    let mut passed = 0;
    for (i, q) in queries.iter().enumerate() {
        let Some(d) = duck.get(&format!("{i:03}")) else {
            continue;
        };
        let want = match spelunk_rows(data, q) {
            Ok(w) => w,
            Err(e) => {
                failures.push(format!("{q}\n  spelunk run failed: {e}"));
                continue;
            }
        };
        if let Some(e) = d.get("error") {
            failures.push(format!(
                "{q}\n  {}: {e}\n  SQL: {}",
                engine.dialect(),
                statements[&format!("{i:03}")]
            ));
            continue;
        }
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| x.as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default()
        };
        let cols = strings(&d["columns"]);
        let rows = rows_of(d);
        // spelunk shows the fields its rows have: a column empty in every row is not one of them
        let (cols, rows) = drop_empty_columns(cols, rows, &want.0);
        // spelunk orders its columns as they first occur in its rows (a column empty in the first
        // rows comes late); the SQL keeps the stages' order: compare column by column
        let (cols, rows) = in_order_of(cols, rows, &want.0);
        // spelunk prints no header for a result without columns; compare rows only then
        let same_cols = want.0 == cols || (want.0.is_empty() && want.1.is_empty());
        if same_cols && want.1 == rows {
            passed += 1;
        } else {
            failures.push(format!(
                "{q}\n  spelunk: {:?} {:?}\n  {}:  {cols:?} {rows:?}",
                want.0,
                want.1,
                engine.dialect()
            ));
        }
    }
    (passed, failures)
}

/// DuckDB's columns in the order of `shown`, when they are the same columns.
fn in_order_of(
    cols: Vec<String>,
    rows: Vec<Vec<String>>,
    shown: &[String],
) -> (Vec<String>, Vec<Vec<String>>) {
    let mut a = cols.clone();
    let mut b = shown.to_vec();
    a.sort();
    b.sort();
    if a != b {
        return (cols, rows);
    }
    let at: Vec<usize> = shown
        .iter()
        .filter_map(|s| cols.iter().position(|c| c == s))
        .collect();
    let rows = rows
        .into_iter()
        .map(|r| at.iter().map(|&k| r[k].clone()).collect())
        .collect();
    (shown.to_vec(), rows)
}

/// DuckDB's columns without those that are empty in every row and that spelunk does not show.
fn drop_empty_columns(
    cols: Vec<String>,
    rows: Vec<Vec<String>>,
    shown: &[String],
) -> (Vec<String>, Vec<Vec<String>>) {
    let keep: Vec<bool> = cols
        .iter()
        .enumerate()
        .map(|(k, c)| shown.contains(c) || rows.iter().any(|r| !r[k].is_empty()))
        .collect();
    let pick = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(x, _)| x)
            .collect()
    };
    (pick(cols), rows.into_iter().map(pick).collect())
}

#[test]
fn sql_rows_equal_spelunks_rows() {
    let python = duckdb_python();
    let dir = std::env::temp_dir().join(format!("spelunk-sql-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let traps = dir.join("traps.ndjson");
    std::fs::write(&traps, TRAPS).expect("traps written");
    let (mut passed, mut failures) = differential(&python, &traps, TRAP_QUERIES);
    if let Some(gen) = shared::shared("tools/gen-cloudtrail", "generates CloudTrail events") {
        let events = dir.join("generated.ndjson");
        let made = Command::new("python3")
            .arg(&gen)
            .args(["--events", "3000", "--seed", "7", "-o"])
            .arg(&events)
            .status()
            .expect("gen-cloudtrail runs");
        assert!(made.success());
        let (p, f) = differential(&python, &events, GENERATED_QUERIES);
        passed += p;
        failures.extend(f);
    }
    for (q, names) in REFUSED {
        match sql_of(&traps, q) {
            Ok(sql) => failures.push(format!("{q}\n  should be refused, gave: {sql}")),
            Err(e) if e.contains(names) => passed += 1,
            Err(e) => failures.push(format!("{q}\n  refused without naming {names}: {e}")),
        }
    }
    // a JSON number whose spelling DuckDB does not keep stops the SQL, naming the field
    let numbers = dir.join("numbers.ndjson");
    std::fs::write(
        &numbers,
        "{\"eventName\":\"A\",\"f\":1.50,\"n\":[2.0]}\n{\"eventName\":\"B\",\"f\":3}\n",
    )
    .expect("numbers written");
    for (q, field) in [
        ("* | stats count by f", "`f`"),
        ("* | stats count by n{}", "`n{}`"),
    ] {
        let mut statements = BTreeMap::new();
        match sql_of(&numbers, q) {
            Ok(sql) => {
                statements.insert("n".to_string(), sql);
            }
            Err(e) => {
                failures.push(format!("{q}\n  spelunk sql refused it: {e}"));
                continue;
            }
        }
        let out = duckdb_rows(&python, &statements);
        match out["n"].get("error").and_then(|e| e.as_str()) {
            Some(e) if e.contains(field) && e.contains("JSON number") => passed += 1,
            other => failures.push(format!(
                "{q}\n  DuckDB should stop naming {field}: {other:?}"
            )),
        }
    }
    // an event without the time field its sourcetype reads: the SQL stops naming the field
    // (spelunk would give it the file's time, which no SQL engine reading the files can know)
    let timeless = dir.join("timeless.ndjson");
    std::fs::write(
        &timeless,
        "{\"eventVersion\":\"1.08\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"A\",\"awsRegion\":\"x\"}\n",
    )
    .expect("timeless written");
    let mut statements = BTreeMap::new();
    match sql_of(&timeless, "* | stats count by _time") {
        Ok(sql) => {
            statements.insert("t".to_string(), sql);
            let out = duckdb_rows(&python, &statements);
            match out["t"].get("error").and_then(|e| e.as_str()) {
                Some(e) if e.contains("eventTime") => passed += 1,
                other => failures.push(format!(
                    "stats count by _time without eventTime\n  DuckDB should stop naming eventTime: {other:?}"
                )),
            }
        }
        Err(e) => failures.push(format!(
            "stats count by _time\n  spelunk sql refused it: {e}"
        )),
    }
    // `run --engine duckdb` prints the same rows as `run`
    for q in [
        "sourcetype=aws:cloudtrail NOT userIdentity.type=AssumedRole | stats count dc(eventSource) as d by eventName",
        "* | where score > 5 | rename score as s | table s eventName",
    ] {
        let d = traps.to_string_lossy();
        let out = Command::new(env!("CARGO_BIN_EXE_spelunk"))
            .args(["run", "--engine", "duckdb", "--data", &d, q])
            .env("SPELUNK_PYTHON", &python)
            .output()
            .expect("spelunk runs");
        let parse = |bytes: &[u8]| -> Vec<Vec<String>> {
            csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(bytes)
                .records()
                .flatten()
                .map(|r| r.iter().map(str::to_string).collect())
                .collect()
        };
        let got = parse(&out.stdout);
        let want = spelunk_rows(&traps, q).map(|(h, mut rows)| {
            rows.insert(0, h);
            rows
        });
        if out.status.success() && Ok(&got) == want.as_ref() {
            passed += 1;
        } else {
            failures.push(format!(
                "run --engine duckdb {q}\n  got {got:?} ({})\n  want {want:?}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    // --read: the statement reads the glob given, the --data file standing for the events it selects
    {
        let q =
            "NOT userIdentity.type=AssumedRole | stats count values(awsRegion) as r by eventName";
        let glob = dir.join("trap?.ndjson");
        let (d, g) = (traps.to_string_lossy(), glob.to_string_lossy());
        let out = spelunk(&["sql", "--data", &d, "--read", &g, q]);
        let sql = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut statements = BTreeMap::new();
        statements.insert("r".to_string(), sql.clone());
        let rows = duckdb_rows(&python, &statements);
        let want = spelunk_rows(&traps, q).expect("spelunk runs");
        let got = rows_of(&rows["r"]);
        if out.status.success() && sql.contains("trap?.ndjson") && got == want.1 {
            passed += 1;
        } else {
            failures.push(format!(
                "--read {g}\n  got {got:?}\n  want {:?}\n  {sql}",
                want.1
            ));
        }
        // a subsearch over events would run over the --data files: refused with --read
        let sub = "eventName=A NOT [search eventName=B | fields awsRegion] | stats count";
        let out = spelunk(&["sql", "--data", &d, "--read", &g, sub]);
        let err = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() && err.contains("subsearch over events") {
            passed += 1;
        } else {
            failures.push(format!("--read with {sub}\n  should be refused: {err}"));
        }
    }
    // the seed detections, as published (with their macros), over the shipped samples, the generated
    // events and the shared CloudTrail folders: `run --engine duckdb` prints `run`'s bytes
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut inputs = vec![
        root.join("samples/cloudtrail"),
        dir.join("generated.ndjson"),
    ];
    if let Some(ct) = shared::shared("data/cloudtrail", "real CloudTrail events") {
        for folder in SHARED_FOLDERS {
            inputs.push(ct.join(folder));
        }
    }
    for seed in SEEDS {
        let file = root.join("queries").join(seed);
        for data in inputs.iter().filter(|d| d.exists()) {
            let run = |engine: &str| {
                Command::new(env!("CARGO_BIN_EXE_spelunk"))
                    .args(["run", "--engine", engine, "--format", "csv", "--limit", "0"])
                    .arg("-f")
                    .arg(&file)
                    .arg("--data")
                    .arg(data)
                    .env("SPELUNK_PYTHON", &python)
                    .output()
                    .expect("spelunk runs")
            };
            let (ours, duck) = (run("spelunk"), run("duckdb"));
            if ours.status.success() && duck.status.success() && ours.stdout == duck.stdout {
                passed += 1;
            } else {
                failures.push(format!(
                    "{seed} over {}\n  run: {}\n  run --engine duckdb: {}{}",
                    data.display(),
                    String::from_utf8_lossy(&ours.stdout),
                    String::from_utf8_lossy(&duck.stdout),
                    String::from_utf8_lossy(&duck.stderr)
                ));
            }
        }
    }
    // the published CloudTrail detections that translate: `run --engine duckdb` prints `run`'s bytes
    // over the samples and the generated events
    if let Some(content) = shared::shared("security_content", "the published detections") {
        let mut files = Vec::new();
        let mut todo = vec![content.join("detections")];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() && p.file_name().is_some_and(|n| n != "deprecated") {
                    todo.push(p);
                } else if p.extension().is_some_and(|x| x == "yml")
                    && std::fs::read_to_string(&p).is_ok_and(|t| t.contains("`cloudtrail`"))
                {
                    files.push(p);
                }
            }
        }
        files.sort();
        let c = content.to_string_lossy();
        let mut translated = 0;
        for f in &files {
            let stem = f.file_stem().unwrap_or_default().to_string_lossy();
            let samples = root.join("samples/cloudtrail");
            let s = samples.to_string_lossy();
            if !spelunk(&["sql", "--content", &c, &stem, "--data", &s])
                .status
                .success()
            {
                continue;
            }
            translated += 1;
            for data in [samples.clone(), dir.join("generated.ndjson")] {
                if !data.exists() {
                    continue;
                }
                let run = |engine: &str| {
                    Command::new(env!("CARGO_BIN_EXE_spelunk"))
                        .args(["run", "--engine", engine, "--format", "csv", "--limit", "0"])
                        .args(["--content", &c, &stem, "--data"])
                        .arg(&data)
                        .env("SPELUNK_PYTHON", &python)
                        .output()
                        .expect("spelunk runs")
                };
                let (ours, duck) = (run("spelunk"), run("duckdb"));
                if ours.status.success() && duck.status.success() && ours.stdout == duck.stdout {
                    passed += 1;
                } else {
                    failures.push(format!(
                        "detection {stem} over {}\n  run: {}\n  run --engine duckdb: {}{}",
                        data.display(),
                        String::from_utf8_lossy(&ours.stdout),
                        String::from_utf8_lossy(&duck.stdout),
                        String::from_utf8_lossy(&duck.stderr)
                    ));
                }
            }
        }
        println!(
            "{translated} of {} CloudTrail detections translate",
            files.len()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("{passed} passed, {} failed", failures.len());
    for f in &failures {
        println!("FAILED {f}");
    }
    assert!(
        failures.is_empty(),
        "{} of the SQL cases failed (see above)",
        failures.len()
    );
}

/// PySpark, pinned: the Spark SQL is checked against this version.
const PYSPARK: &str = "pyspark==4.0.1";

/// A virtualenv under target/ with PySpark (Spark in local mode needs Java 17 or later): its python,
/// or why there is none.
fn spark_python() -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join("target/spark-venv");
    let python = venv.join("bin/python3");
    let ok = |py: &Path| {
        Command::new(py)
            .args(["-c", "import pyspark"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !Command::new("java")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Err("no java on the PATH".into());
    }
    if ok(&python) {
        return Ok(python);
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|e| format!("python3: {e}"))?;
    if !made.success() {
        return Err(format!("python3 -m venv {} failed", venv.display()));
    }
    let pip = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            PYSPARK,
        ])
        .status()
        .map_err(|e| format!("pip: {e}"))?;
    if !pip.success() || !ok(&python) {
        return Err(format!(
            "pip install {PYSPARK} into {} failed",
            venv.display()
        ));
    }
    Ok(python)
}

/// The same differential suite through Spark SQL in local mode: the traps, the generated events and
/// both seed detections over the samples, the generated events and the shared CloudTrail folders.
/// Spark takes minutes to compile this many statements, so the suite runs on request:
/// `scripts/spark-suite.sh` (`cargo test --release --test sql_duckdb -- --ignored`).
#[test]
#[ignore]
fn spark_rows_equal_spelunks_rows() {
    let python = match spark_python() {
        Ok(p) => p,
        Err(why) => {
            println!("SKIPPED: Spark SQL suite ({why})");
            return;
        }
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("spelunk-spark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let traps = dir.join("traps.ndjson");
    std::fs::write(&traps, TRAPS).expect("traps written");
    let (mut passed, mut failures) = differential_in(Engine::Spark, &python, &traps, TRAP_QUERIES);
    let seeds: Vec<String> = SEEDS
        .iter()
        .map(|s| std::fs::read_to_string(root.join("queries").join(s)).expect("seed read"))
        .collect();
    let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
    let mut inputs = vec![root.join("samples/cloudtrail")];
    if let Some(gen) = shared::shared("tools/gen-cloudtrail", "generates CloudTrail events") {
        let events = dir.join("generated.ndjson");
        let made = Command::new("python3")
            .arg(&gen)
            .args(["--events", "3000", "--seed", "7", "-o"])
            .arg(&events)
            .status()
            .expect("gen-cloudtrail runs");
        assert!(made.success());
        let (p, f) = differential_in(Engine::Spark, &python, &events, GENERATED_QUERIES);
        passed += p;
        failures.extend(f);
        inputs.push(events);
    }
    if let Some(ct) = shared::shared("data/cloudtrail", "real CloudTrail events") {
        for folder in SHARED_FOLDERS {
            inputs.push(ct.join(folder));
        }
    }
    for data in inputs.iter().filter(|d| d.exists()) {
        let (p, f) = differential_in(Engine::Spark, &python, data, &seeds);
        passed += p;
        failures.extend(
            f.into_iter()
                .map(|f| format!("over {}: {f}", data.display())),
        );
    }
    // --read: the statement reads the glob given
    {
        let q =
            "NOT userIdentity.type=AssumedRole | stats count values(awsRegion) as r by eventName";
        let glob = dir.join("trap?.ndjson");
        let (d, g) = (traps.to_string_lossy(), glob.to_string_lossy());
        let out = spelunk(&["sql", "--dialect", "spark", "--data", &d, "--read", &g, q]);
        let mut statements = BTreeMap::new();
        statements.insert(
            "r".to_string(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        );
        let rows = engine_rows(Engine::Spark, &python, &statements);
        let want = spelunk_rows(&traps, q).expect("spelunk runs");
        let got = rows_of(&rows["r"]);
        if out.status.success() && got == want.1 {
            passed += 1;
        } else {
            failures.push(format!(
                "--read {g}\n  got {got:?} {:?}\n  want {:?}",
                rows["r"].get("error"),
                want.1
            ));
        }
    }
    // a JSON number whose spelling Spark does not keep stops the SQL, naming the field
    let numbers = dir.join("numbers.ndjson");
    std::fs::write(
        &numbers,
        "{\"eventName\":\"A\",\"f\":1.50,\"n\":[2.0]}\n{\"eventName\":\"B\",\"f\":3}\n",
    )
    .expect("numbers written");
    let mut statements = BTreeMap::new();
    for (i, q) in ["* | stats count by f", "* | stats count by n{}"]
        .iter()
        .enumerate()
    {
        match sql_in(Engine::Spark, &numbers, q) {
            Ok(sql) => {
                statements.insert(format!("{i}"), sql);
            }
            Err(e) => failures.push(format!("{q}\n  spelunk sql refused it: {e}")),
        }
    }
    let out = engine_rows(Engine::Spark, &python, &statements);
    for (i, field) in ["`f`", "`n{}`"].iter().enumerate() {
        match out
            .get(&format!("{i}"))
            .and_then(|o| o.get("error"))
            .and_then(|e| e.as_str())
        {
            Some(e) if e.contains(field) && e.contains("JSON number") => passed += 1,
            other => failures.push(format!("Spark should stop naming {field}: {other:?}")),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("{passed} passed, {} failed", failures.len());
    for f in &failures {
        println!("FAILED {f}");
    }
    assert!(
        failures.is_empty(),
        "{} of the Spark SQL cases failed (see above)",
        failures.len()
    );
}
