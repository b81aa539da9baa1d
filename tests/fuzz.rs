//! A short fuzzing run of every target (the long runs: `cargo run --release --example fuzz -- TARGET`):
//! each seed, then a few thousand seeded mutants, must run without a panic.

#[path = "fuzz/harness.rs"]
mod harness;

fn short_run(target: &str, count: u64) {
    let env = harness::RunEnv::new();
    let stats = harness::fuzz(target, 7, 0, count, None, false, &env, &mut |_, _| {});
    assert!(stats.execs > 0);
    let shown: Vec<String> = stats
        .crashes
        .iter()
        .take(3)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    assert!(
        stats.crashes.is_empty(),
        "{target}: {} of {} inputs panicked, e.g. {shown:?}",
        stats.crashes.len(),
        stats.execs
    );
}

#[test]
fn fuzz_macros() {
    short_run("macros", 20_000);
}

#[test]
fn fuzz_search() {
    short_run("search", 10_000);
}

#[test]
fn fuzz_eval() {
    short_run("eval", 20_000);
}

#[test]
fn fuzz_json() {
    short_run("json", 20_000);
}

#[test]
fn fuzz_reader() {
    short_run("reader", 10_000);
}

#[test]
fn fuzz_csv() {
    short_run("csv", 10_000);
}

#[test]
fn fuzz_run() {
    short_run("run", 2_000);
}
