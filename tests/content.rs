//! Both seed detections run from a security_content checkout (`--content`, macros and lookups from there)
//! over the real CloudTrail samples, by name and by file stem, and the shipped `.spl` files give the same
//! rows as the YAML's search text. Prints SKIPPED where ../shared is absent (fails under CI).

use std::process::Command;

#[path = "common/shared.rs"]
mod shared;

const CONTENT: &str = "../shared/security_content";
const DATA: &str = "../shared/data/cloudtrail";

fn present() -> bool {
    let why =
        "runs published searches from a security_content checkout over the real CloudTrail samples";
    shared::shared("security_content", why).is_some()
        && shared::shared("data/cloudtrail", why).is_some()
}

fn run(args: &[&str]) -> (String, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_spelunk"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn seeds_run_from_security_content_over_real_events() {
    if !present() {
        return;
    }
    for (name, stem, file, header) in [
        (
            "Detect API activity from users without MFA",
            "detect_api_activity_from_users_without_mfa",
            "queries/detect_api_activity_from_users_without_mfa.spl",
            "userIdentity.arn,userIdentity.type,user,count,firstTime,lastTime,eventName",
        ),
        (
            "Detect AWS API Activities From Unapproved Accounts",
            "detect_aws_api_activities_from_unapproved_accounts",
            "queries/detect_aws_api_activities_from_unapproved_accounts.spl",
            "user,count,firstTime,lastTime,eventName",
        ),
    ] {
        let common = [
            "run",
            "--format",
            "csv",
            "--content",
            CONTENT,
            "--data",
            DATA,
        ];
        let (by_name, err, code) = run(&[&common[..], &[name]].concat());
        assert_eq!(code, 0, "{name}: {err}");
        assert!(err.contains("running `"), "{err}");
        assert!(!err.contains("malformed"), "{err}");
        let (by_stem, _, _) = run(&[&common[..], &[stem]].concat());
        let (from_file, _, _) = run(&[&common[..], &["-f", file]].concat());
        assert_eq!(
            by_name, by_stem,
            "{name}: name and file stem give the same rows"
        );
        assert_eq!(
            by_name, from_file,
            "{name}: the YAML text and the shipped .spl give the same rows"
        );
        let mut lines = by_name.lines();
        assert_eq!(lines.next(), Some(header));
        // the real samples hold IAM users of account 974349055189 calling without MFA (SOURCES.md)
        assert!(
            by_name.lines().count() > 10,
            "{name}: expected many rows, got\n{by_name}"
        );
        assert!(by_name.contains("alucloud"), "{name}");
    }
}
