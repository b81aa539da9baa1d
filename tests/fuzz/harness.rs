//! Mutation fuzzing on the stable toolchain: each target takes arbitrary bytes and must return without a
//! panic, a hang or an abort. Inputs are seeds (shipped samples, golden queries, published detections)
//! changed by a seeded pseudo-random mutator, so a run is reproducible from its seed and count.
//!
//! Used by `tests/fuzz.rs` (a short run of every target inside `cargo test`) and by `examples/fuzz.rs`
//! (long runs: `cargo run --release --example fuzz -- TARGET --seconds 600`).

#![allow(dead_code)]

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// The targets, by name.
pub const TARGETS: &[&str] = &["macros", "search", "eval", "json", "reader", "csv", "run"];

/// xorshift64*: small, fast, and the same sequence on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// Tokens that mean something to one of the parsers: spliced in whole, they reach deeper than random bytes.
const DICT: &[&str] = &[
    "|",
    "[",
    "]",
    "(",
    ")",
    "\"",
    "'",
    "`",
    "```",
    "=",
    "!=",
    "<",
    ">=",
    ",",
    ".",
    "\\",
    "$",
    "$x$",
    "*",
    " AND ",
    " OR ",
    " NOT ",
    " by ",
    " as ",
    "search ",
    "| stats count by ",
    "| eval x=",
    "| where ",
    "| table ",
    "| rename ",
    "| rex field=_raw \"(?<f>\\d+)\"",
    "| regex _raw=\"a+\"",
    "| mvexpand ",
    "| makemv delim=\",\" ",
    "| join type=left ",
    "| append [",
    "| appendpipe [",
    "| inputlookup ",
    "| lookup ",
    "| outputlookup ",
    "| makeresults count=",
    "| sort - ",
    "| dedup ",
    "| head ",
    "| tail ",
    "| spath ",
    "| fromjson ",
    "| bin span=1h _time",
    "| streamstats count",
    "| eventstats count",
    "| transaction ",
    "| foreach * [eval <<FIELD>>=1]",
    "| fillnull value=0",
    "| top limit=1 ",
    "| format",
    "| return 3 ",
    "| xmlkv",
    "| convert ctime(_time)",
    "| addtotals",
    "| mvcombine ",
    "| iplocation src",
    "| tstats ",
    "`cloudtrail`",
    "`security_content_ctime(firstTime)`",
    "values(",
    "list(",
    "count(",
    "dc(",
    "sum(",
    "avg(",
    "if(",
    "case(",
    "coalesce(",
    "mvindex(",
    "mvfilter(",
    "mvmap(",
    "mvrange(",
    "mvjoin(",
    "split(",
    "replace(",
    "substr(",
    "len(",
    "lower(",
    "upper(",
    "printf(",
    "tostring(",
    "tonumber(",
    "strftime(",
    "strptime(",
    "relative_time(",
    "now()",
    "match(",
    "like(",
    "cidrmatch(",
    "json_extract(",
    "spath(",
    "md5(",
    "sha256(",
    "round(",
    "pow(",
    "exp(",
    "ln(",
    "/0",
    "*1e308",
    "1e309",
    "-0",
    "9999999999999999999999",
    "NaN",
    "null()",
    "true()",
    "urldecode(",
    "%",
    "%%",
    "%s",
    "%999999999d",
    "{",
    "}",
    "{}",
    ":",
    "\"Records\":[",
    "\"eventName\":\"x\",",
    "\"eventVersion\":\"1.08\",",
    "\"eventSource\":\"iam.amazonaws.com\",",
    "\"eventTime\":\"2024-03-01T10:00:00Z\",",
    "\\u0000",
    "\\ud800",
    "\\\"",
    "null",
    "true",
    "1e99999",
    "[[[[",
    "]]]]",
    "\n",
    "\r\n",
    "\t",
    "\0",
    "\u{FEFF}",
    "\u{1F600}",
    "\u{00e9}",
    "\u{FFFD}",
];

/// Apply 1–8 random edits to `data`; `other` supplies splices.
pub fn mutate(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8]) {
    let edits = 1 + rng.below(8);
    for _ in 0..edits {
        let len = data.len();
        match rng.below(11) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(len + 1);
                data.insert(i, rng.next() as u8);
            }
            2 if len > 0 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(16)).min(len);
                data.drain(a..b);
            }
            3..=5 => {
                let tok = DICT[rng.below(DICT.len())].as_bytes();
                let i = rng.below(len + 1);
                data.splice(i..i, tok.iter().copied());
            }
            6 if len > 0 => {
                // duplicate a range (nesting and repetition)
                let a = rng.below(len);
                let b = (a + 1 + rng.below(64)).min(len);
                let piece = data[a..b].to_vec();
                let most = if rng.chance(8) { 64 } else { 3 };
                let times = 1 + rng.below(most);
                for _ in 0..times {
                    data.splice(b..b, piece.iter().copied());
                }
            }
            7 if !other.is_empty() => {
                // splice in a piece of another input
                let a = rng.below(other.len());
                let b = (a + 1 + rng.below(128)).min(other.len());
                let i = rng.below(len + 1);
                data.splice(i..i, other[a..b].iter().copied());
            }
            8 if len > 0 => {
                data.truncate(rng.below(len));
            }
            9 if len > 0 => {
                // an interesting byte
                let i = rng.below(len);
                data[i] =
                    [0u8, 0xff, 0x80, b'"', b'\\', b'\n', b'{', b'[', b'`', b'|'][rng.below(10)];
            }
            10 if len > 1 => {
                // swap two ranges' first bytes (reorders tokens cheaply)
                let a = rng.below(len);
                let b = rng.below(len);
                data.swap(a, b);
            }
            _ => {}
        }
    }
    // keep inputs small: long inputs are tested on purpose by the hostile-input suite
    data.truncate(64 * 1024);
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn push_dir(dir: &Path, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<Vec<u8>>, depth: usize) {
    if depth > 4 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            push_dir(&p, keep, out, depth + 1);
        } else if keep(&p) {
            if let Ok(b) = std::fs::read(&p) {
                if b.len() <= 256 * 1024 {
                    out.push(b);
                }
            }
        }
    }
}

fn ext_is(p: &Path, exts: &[&str]) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.contains(&e))
}

/// Published detections' searches from a security_content checkout beside the repository (long runs).
fn detections(limit: usize) -> Vec<Vec<u8>> {
    let dir = root().join("../shared/security_content/detections");
    let mut files = Vec::new();
    push_dir(&dir, &|p| ext_is(p, &["yml"]), &mut files, 0);
    let mut out = Vec::new();
    for f in files {
        let text = String::from_utf8_lossy(&f);
        // the `search:` value, as written (block scalar or one line); good enough for seeds
        if let Some(i) = text.find("\nsearch:") {
            let rest = &text[i + 8..];
            let end = rest
                .find("\nhow_to_implement")
                .unwrap_or(rest.len().min(4000));
            let s = rest[..end]
                .trim()
                .trim_start_matches(['|', '>', '-'])
                .trim();
            let s = s.trim_matches('\'').replace("\n  ", "\n");
            out.push(s.into_bytes());
        }
        if out.len() >= limit {
            break;
        }
    }
    out
}

/// Seeds of a target. `long` adds the published detections (when the reference checkout is there).
pub fn corpus(target: &str, long: bool) -> Vec<Vec<u8>> {
    let r = root();
    let mut out: Vec<Vec<u8>> = Vec::new();
    match target {
        "macros" | "search" | "run" => {
            push_dir(
                &r.join("tests/golden"),
                &|p| p.ends_with("query.spl"),
                &mut out,
                0,
            );
            push_dir(&r.join("samples"), &|p| ext_is(p, &["spl"]), &mut out, 0);
            if target == "macros" {
                push_dir(&r.join("queries"), &|p| ext_is(p, &["conf"]), &mut out, 0);
            }
            if long {
                out.extend(detections(3000));
            }
        }
        "eval" => {
            // the expressions of `eval` and `where` stages of the golden queries
            let mut q = Vec::new();
            push_dir(
                &r.join("tests/golden"),
                &|p| p.ends_with("query.spl"),
                &mut q,
                0,
            );
            if long {
                q.extend(detections(3000));
            }
            for text in q {
                let text = String::from_utf8_lossy(&text).into_owned();
                for stage in text.split('|') {
                    let s = stage.trim();
                    for kw in ["eval ", "where "] {
                        if let Some(rest) = s.strip_prefix(kw) {
                            out.push(rest.as_bytes().to_vec());
                        }
                    }
                }
            }
            for e in [
                "if(a>1, \"x\", null())",
                "mvindex(split(\"a,b,c\", \",\"), -1)",
                "strftime(now(), \"%Y-%m-%d\") . \" \" . tostring(1/3)",
                "case(x==1,\"one\",true(),\"other\")",
                "replace(s, \"(a+)+$\", \"\\1\")",
                "printf(\"%5.2f|%s\", 3.14159, \"x\")",
                "json_extract(j, \"a{}.b\")",
            ] {
                out.push(e.as_bytes().to_vec());
            }
        }
        "json" | "reader" => {
            push_dir(
                &r.join("samples"),
                &|p| ext_is(p, &["json", "ndjson"]),
                &mut out,
                0,
            );
            push_dir(
                &r.join("tests/golden"),
                &|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("events"))
                },
                &mut out,
                0,
            );
            // small pieces: one line each, so that mutations land inside events
            let mut lines = Vec::new();
            for f in &out {
                for l in f.split(|&b| b == b'\n').take(3) {
                    if l.len() > 2 {
                        lines.push(l.to_vec());
                    }
                }
            }
            out.extend(lines);
            if target == "reader" {
                // a gzip seed, so that the decoder is reached
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                let _ = std::io::Write::write_all(
                    &mut gz,
                    b"{\"eventName\":\"a\"}\n{\"eventName\":\"b\"}\n",
                );
                if let Ok(b) = gz.finish() {
                    out.push(b);
                }
            }
        }
        "csv" => {
            push_dir(&r.join("lookups"), &|p| ext_is(p, &["csv"]), &mut out, 0);
            push_dir(
                &r.join("tests/golden"),
                &|p| ext_is(p, &["csv"]),
                &mut out,
                0,
            );
            out.push(b"\xEF\xBB\xBFa,a,b\n1,\"x\ny\",3,4\n5\n".to_vec());
        }
        _ => {}
    }
    // big seeds make slow mutants: the mutator grows what it needs
    out.retain(|s| s.len() <= 32 * 1024);
    if out.is_empty() {
        out.push(b"x".to_vec());
    }
    out
}

/// What the `run` target runs against: the shipped samples and shipped lookups, no writable folder.
pub struct RunEnv {
    pub session: spelunk::session::Session,
}

impl RunEnv {
    pub fn new() -> RunEnv {
        let cfg = spelunk::session::Config {
            now: Some(1_709_300_000.0),
            // a mutant may ask for a billion rows: the memory limit ends it (with the counting
            // allocator of the long runner) rather than the machine
            limits: spelunk::limits::Limits {
                max_memory: 2 << 30,
                subsearch_maxtime: std::time::Duration::from_secs(5),
                ..Default::default()
            },
            ..Default::default()
        };
        let session = spelunk::session::Session::new(&cfg).expect("the default session builds");
        RunEnv { session }
    }
}

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Run one input through one target. Errors are fine; only a panic (or a hang, or an abort) is a failure.
pub fn run_one(target: &str, data: &[u8], env: &RunEnv) {
    match target {
        "macros" => {
            let t = text(data);
            let _ = spelunk::macros::expand(&t, &env.session.macros);
            let _ = spelunk::macros::expand_lenient(&t, &env.session.macros);
            // the same bytes as a macros.conf: definitions are user files too
            let mut lib = spelunk::macros::MacroLibrary::new();
            if lib.load_conf_str(&t, "fuzz").is_ok() {
                for m in lib.iter().take(4) {
                    let call = if m.args.is_empty() {
                        format!("`{}`", m.name)
                    } else {
                        format!("`{}({})`", m.name, vec!["a"; m.args.len()].join(","))
                    };
                    let _ = spelunk::macros::expand(&call, &lib);
                }
            }
            let _ = spelunk::macros::strip_comments(&t);
        }
        "search" => {
            let t = text(data);
            if let Ok(exp) = spelunk::macros::expand_lenient(&t, &env.session.macros) {
                let _ = spelunk::parse::parse_query(&exp.text);
            }
            let _ = spelunk::parse::parse_query(&t);
        }
        "eval" => {
            let t = text(data);
            let ctx = spelunk::eval::EvalContext {
                now: 1_709_300_000.0,
                tz: chrono_tz::UTC,
                max_text: spelunk::eval::MAX_TEXT,
            };
            let mut ev = spelunk::event::Event::new();
            ev.set("a", spelunk::value::Value::Num(2.0));
            ev.set("s", spelunk::value::Value::str("aaaaaaaaaaaaaaaaaaaaaaaa!"));
            ev.set(
                "j",
                spelunk::value::Value::str("{\"a\":[{\"b\":1},{\"b\":2}]}"),
            );
            if let Some(mv) = spelunk::value::Value::multi(vec![
                spelunk::value::Value::str("x"),
                spelunk::value::Value::str("10.0.0.1"),
            ]) {
                ev.set("m", mv);
            }
            if let Ok(e) = spelunk::eval::parse_expr(&t) {
                let _ = e.eval(&ev, &ctx);
                let _ = e.fields();
            }
            if let Ok(v) = spelunk::eval::parse_assignments(&t) {
                for (_, e) in v.iter().take(8) {
                    let _ = e.eval(&ev, &ctx);
                }
            }
        }
        "json" => {
            let t = text(data);
            let mut flat = spelunk::input::json::Flat::default();
            let _ = spelunk::input::json::flatten(&t, &mut flat);
            let _ = spelunk::input::json::validate(&t);
            let _ = spelunk::input::json::array_members(&t);
            let _ = spelunk::input::json::records_members(&t);
        }
        "reader" => {
            let source = spelunk::input::Source {
                name: "fuzz".into(),
                content: spelunk::input::Content::Embedded(""),
                sourcetype: None,
                source: None,
            };
            let opts = spelunk::input::ReadOptions::default();
            let mut b = spelunk::input::EventBuilder::new(&env.session.knowledge, &opts);
            let mut n = 0u64;
            let report = spelunk::input::read_bytes(data, &source, &mut b, &mut |_| {
                n += 1;
                ControlFlow::Continue(())
            });
            assert_eq!(report.events, n, "every event read reaches the sink");
            let _ = report.problem();
            // nothing lost: in a file of one JSON object per line, each line is an event or is
            // reported (a Records or array line, or a pretty-printed document, may hold more or fewer)
            let lines: Vec<&[u8]> = data
                .split(|&b| b == b'\n')
                .filter(|l| !l.iter().all(|c| c.is_ascii_whitespace()))
                .collect();
            let plain = !data.starts_with(&[0x1f, 0x8b])
                && lines.iter().all(|l| {
                    let t = l.trim_ascii();
                    t.starts_with(b"{")
                        && t.ends_with(b"}")
                        && !t.windows(9).any(|w| w == b"\"Records\"")
                });
            if plain && report.error.is_none() {
                assert_eq!(
                    report.events + report.bad_lines,
                    lines.len() as u64,
                    "events read + lines reported = lines"
                );
            }
        }
        "csv" => {
            let _ = spelunk::lookups::read_csv_with_header(data, "fuzz");
        }
        "run" => {
            let t = text(data);
            let _ = env.session.run(&t);
        }
        other => panic!(
            "unknown fuzz target `{other}` (targets: {})",
            TARGETS.join(", ")
        ),
    }
}

/// Statistics of a run.
#[derive(Default, Debug)]
pub struct Stats {
    pub execs: u64,
    pub crashes: Vec<Vec<u8>>,
    pub slowest: (std::time::Duration, Vec<u8>),
}

/// Run `target` over its seeds, then over mutants until `count` inputs or `deadline`. The inputs before
/// number `skip` are made but not run (to replay a run up to the input that ended it).
/// `on_exec(i, input)` is called before each input (the long runner records it for crash replay).
#[allow(clippy::too_many_arguments)]
pub fn fuzz(
    target: &str,
    seed: u64,
    skip: u64,
    count: u64,
    deadline: Option<std::time::Instant>,
    long: bool,
    env: &RunEnv,
    on_exec: &mut dyn FnMut(u64, &[u8]),
) -> Stats {
    let seeds = corpus(target, long);
    let mut rng = Rng::new(seed);
    let mut stats = Stats::default();
    let mut input = Vec::new();
    let mut i = 0u64;
    while i < count {
        if i.is_multiple_of(256) && deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            break;
        }
        input.clear();
        if (i as usize) < seeds.len() {
            input.extend_from_slice(&seeds[i as usize]);
        } else {
            input.extend_from_slice(&seeds[rng.below(seeds.len())]);
            let other = &seeds[rng.below(seeds.len())];
            mutate(&mut rng, &mut input, other);
        }
        if i < skip {
            i += 1;
            continue;
        }
        on_exec(i, &input);
        let started = std::time::Instant::now();
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_one(target, &input, env)
        }));
        let took = started.elapsed();
        if took > stats.slowest.0 {
            stats.slowest = (took, input.clone());
        }
        if ok.is_err() {
            stats.crashes.push(input.clone());
        }
        stats.execs += 1;
        i += 1;
    }
    stats
}
