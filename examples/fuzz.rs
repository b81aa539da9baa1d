//! Long fuzzing runs on the stable toolchain (see `tests/fuzz/harness.rs` for the targets and mutator).
//!
//! ```text
//! cargo run --release --example fuzz -- TARGET [--seconds N] [--count N] [--seed S] [--long]
//! cargo run --release --example fuzz -- TARGET --input FILE      # run one saved input
//! ```
//!
//! The fuzzing runs in a child process, so that an abort (a stack overflow cannot be caught) or a hang
//! (an input running for more than 20 s) is survived: the parent replays the same seed up to the input
//! that ended the child, saves that input under `target/fuzz/`, and goes on with the next seed.
//! Panics are caught in the child and saved the same way. The last line printed gives the count.

#[path = "../tests/fuzz/harness.rs"]
mod harness;

use std::io::Write;

/// Counts memory, so that the `run` target's memory limit applies as in the `spelunk` binary.
#[global_allocator]
static ALLOC: spelunk::limits::CountingAlloc = spelunk::limits::CountingAlloc;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    target: String,
    seconds: u64,
    count: u64,
    seed: u64,
    long: bool,
    input: Option<PathBuf>,
    /// Child mode: skip the inputs before this number; record each input from it on (replay).
    child: bool,
    skip: u64,
    record: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        target: String::new(),
        seconds: 60,
        count: u64::MAX,
        seed: 1,
        long: false,
        input: None,
        child: false,
        skip: 0,
        record: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        let mut num = |what: &str| -> Result<u64, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or(format!("{what} needs a number"))
        };
        match x.as_str() {
            "--seconds" => a.seconds = num("--seconds")?,
            "--count" => a.count = num("--count")?,
            "--seed" => a.seed = num("--seed")?,
            "--skip" => a.skip = num("--skip")?,
            "--long" => a.long = true,
            "--child" => a.child = true,
            "--record" => a.record = true,
            "--input" => a.input = it.next().map(PathBuf::from),
            t if !t.starts_with('-') && a.target.is_empty() => a.target = t.to_string(),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if !harness::TARGETS.contains(&a.target.as_str()) {
        return Err(format!(
            "give a target: {} (got `{}`)",
            harness::TARGETS.join(", "),
            a.target
        ));
    }
    Ok(a)
}

fn out_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fuzz");
    let _ = std::fs::create_dir_all(&d);
    d
}

fn save(target: &str, kind: &str, data: &[u8]) -> PathBuf {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h = (h ^ *b as u64).wrapping_mul(0x100_0000_01b3);
    }
    let p = out_dir().join(format!("{target}-{kind}-{h:016x}"));
    let _ = std::fs::write(&p, data);
    p
}

fn child(a: &Args) -> ExitCode {
    // one reading thread: the fuzzer shares the machine
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global();
    std::panic::set_hook(Box::new(|_| {}));
    let env = harness::RunEnv::new();
    let current = Arc::new(AtomicU64::new(u64::MAX));
    let started_ms = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    {
        let (current, started_ms) = (current.clone(), started_ms.clone());
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(500));
            let s = started_ms.load(Ordering::Relaxed);
            let now = t0.elapsed().as_millis() as u64;
            if s > 0 && now.saturating_sub(s) > 20_000 {
                println!("HANG {}", current.load(Ordering::Relaxed));
                let _ = std::io::stdout().flush();
                std::process::exit(3);
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(a.seconds);
    let record = out_dir().join(format!("{}-current", a.target));
    let mut on_exec = |i: u64, input: &[u8]| {
        if a.record {
            let _ = std::fs::write(&record, input);
        }
        if i.is_multiple_of(10_000) {
            println!("AT {i}");
            let _ = std::io::stdout().flush();
        }
        current.store(i, Ordering::Relaxed);
        started_ms.store(t0.elapsed().as_millis() as u64 + 1, Ordering::Relaxed);
    };
    let stats = harness::fuzz(
        &a.target,
        a.seed,
        a.skip,
        a.count,
        Some(deadline),
        a.long,
        &env,
        &mut on_exec,
    );
    for c in &stats.crashes {
        println!("PANIC {}", save(&a.target, "panic", c).display());
    }
    println!(
        "DONE {} {} {}",
        stats.execs,
        stats.slowest.0.as_millis(),
        save(&a.target, "slowest", &stats.slowest.1).display()
    );
    ExitCode::SUCCESS
}

/// Run a child; returns its exit success, the last `AT`, and its `DONE`/`PANIC`/`HANG` lines.
fn spawn(a: &Args, seed: u64, seconds: u64, skip: u64, record: bool) -> (bool, u64, Vec<String>) {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("fuzz"));
    let mut cmd = Command::new(exe);
    cmd.arg(&a.target)
        .args(["--child", "--seed", &seed.to_string()])
        .args(["--seconds", &seconds.to_string()])
        .args(["--skip", &skip.to_string()]);
    if a.count != u64::MAX {
        cmd.args(["--count", &a.count.to_string()]);
    }
    if a.long {
        cmd.arg("--long");
    }
    if record {
        cmd.arg("--record");
    }
    let out = match cmd.stderr(std::process::Stdio::null()).output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("cannot start the fuzzing process: {e}");
            return (false, 0, Vec::new());
        }
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut at = 0;
    let mut lines = Vec::new();
    for l in text.lines() {
        if let Some(n) = l.strip_prefix("AT ").and_then(|n| n.parse().ok()) {
            at = n;
        } else {
            lines.push(l.to_string());
        }
    }
    (out.status.success(), at, lines)
}

fn parent(a: &Args) -> ExitCode {
    let start = Instant::now();
    let total = Duration::from_secs(a.seconds);
    let mut seed = a.seed;
    let mut execs: u64 = 0;
    let mut failures = 0;
    while start.elapsed() < total {
        let left = (total - start.elapsed()).as_secs().max(1);
        let (ok, at, lines) = spawn(a, seed, left, 0, false);
        let mut done = false;
        for l in &lines {
            if let Some(rest) = l.strip_prefix("DONE ") {
                let mut p = rest.split(' ');
                let n: u64 = p.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                execs += n;
                done = true;
                println!(
                    "seed {seed}: {n} inputs, slowest {} ms ({})",
                    p.next().unwrap_or("?"),
                    p.next().unwrap_or("?")
                );
            } else if let Some(f) = l.strip_prefix("PANIC ") {
                failures += 1;
                println!("seed {seed}: panic, input saved in {f}");
            }
        }
        if !done || !ok {
            // an abort or a hang: replay from the last checkpoint, recording each input
            let hang = lines.iter().find_map(|l| l.strip_prefix("HANG "));
            let what = if hang.is_some() { "hang" } else { "abort" };
            execs += at;
            let _ = spawn(a, seed, 600, at, true);
            let cur = out_dir().join(format!("{}-current", a.target));
            let data = std::fs::read(&cur).unwrap_or_default();
            let p = save(&a.target, what, &data);
            failures += 1;
            println!(
                "seed {seed}: {what} after about {at} inputs, input saved in {}",
                p.display()
            );
        }
        seed += 1;
        if a.count != u64::MAX {
            break;
        }
    }
    println!(
        "{}: {execs} inputs in {:.0} s, {failures} failures",
        a.target,
        start.elapsed().as_secs_f64()
    );
    if failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn main() -> ExitCode {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(f) = &a.input {
        let data = std::fs::read(f).unwrap_or_default();
        let env = harness::RunEnv::new();
        let t = Instant::now();
        harness::run_one(&a.target, &data, &env);
        println!("ok in {} ms", t.elapsed().as_millis());
        return ExitCode::SUCCESS;
    }
    if a.child {
        child(&a)
    } else {
        parent(&a)
    }
}
