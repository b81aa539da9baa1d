//! The published corpus: every search in `../shared/security_content/detections` must parse (after macro
//! expansion with the checkout's macros, `*_filter` macros empty). Prints the runnable count and the parse
//! time, so that a regression in either shows up in CI. Skips with a message where `../shared` is absent.

use spelunk::check::{self, CheckArgs, ProblemKind};
use std::path::Path;

#[test]
fn every_published_detection_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let detections = root.join("../shared/security_content/detections");
    if !detections.is_dir() {
        eprintln!(
            "skipped: `{}` is absent (the security_content corpus)",
            detections.display()
        );
        return;
    }
    let args = CheckArgs {
        paths: vec![detections],
        content: Some(root.join("../shared/security_content")),
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
}
