//! The published corpus: every search in `../shared/security_content/detections` must parse (after macro
//! expansion with the checkout's macros, `*_filter` macros empty). Prints the runnable count and the parse
//! time, so that a regression in either shows up in CI. The runnable count is pinned from below. Prints SKIPPED where `../shared` is absent (fails under CI).

use spelunk::check::{self, CheckArgs, ProblemKind};

#[path = "common/shared.rs"]
mod shared;

/// Detections `spelunk check` finds runnable today: a change that makes fewer runnable fails here (raise
/// the figure when more become runnable). 1,662 of the 1,711: the `tstats`, `datamodel` and `from` searches
/// run over the shipped CIM data models; a search that requires an `eventtype` (`cisco_networks`,
/// `osquery_process`) or a `tag` (`tag=alert`: the two CrowdStrike ones) that no shipped
/// eventtypes.conf/tags.conf defines is refused: no event could match.
const RUNNABLE_AT_LEAST: usize = 1662;

#[test]
fn every_published_detection_parses() {
    let Some(content) = shared::shared(
        "security_content",
        "checks every published detection of the security_content corpus",
    ) else {
        return;
    };
    let args = CheckArgs {
        paths: vec![content.join("detections")],
        content: Some(content),
        ..CheckArgs::default()
    };
    let (reports, _) = check::run(&args).expect("check the corpus");
    let s = check::summarize(&reports);
    assert_eq!(s.checked, 1711, "detections found");
    let failures: Vec<String> = reports
        .iter()
        .filter(|r| !r.parsed)
        .map(|r| {
            let errors: Vec<&str> = r
                .problems
                .iter()
                .filter(|p| {
                    matches!(
                        p.kind,
                        ProblemKind::Parse | ProblemKind::Macro | ProblemKind::File
                    )
                })
                .map(|p| p.message.as_str())
                .collect();
            format!("{}: {}", r.path, errors.join("; "))
        })
        .collect();
    println!(
        "corpus: parsed {}/{}, runnable {}/{}, parse time {:.0} ms",
        s.parsed, s.checked, s.runnable, s.checked, s.parse_ms
    );
    for (kind, name, n) in s.unsupported.iter().take(10) {
        println!("  unsupported {kind} {name}: {n}");
    }
    assert!(
        failures.is_empty(),
        "{} searches do not parse:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(s.parsed, 1711);
    assert!(
        s.runnable >= RUNNABLE_AT_LEAST,
        "runnable detections fell to {} (at least {RUNNABLE_AT_LEAST} ran before)",
        s.runnable
    );
}
