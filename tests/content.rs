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

/// Run a published detection by name from the security_content checkout over `data`; its CSV rows.
fn detection_rows(name: &str, data: &str) -> String {
    let (out, err, code) = run(&[
        "run",
        "--format",
        "csv",
        "--content",
        CONTENT,
        "--data",
        data,
        name,
    ]);
    assert_eq!(code, 0, "{name}: {err}");
    out
}

/// `eventName = StopLogging`, `errorCode = success`, `userAgent !=console.amazonaws.com`: Splunk's search
/// reads a comparison with spaces around the operator as the comparison (SPL-SEMANTICS 3). The stratus-red-team
/// sample holds one StopLogging call by the IAM user christophe; each column follows from the add-on's
/// fields (data/cloudtrail/TA_FIELDS.md): src = sourceIPAddress, region = awsRegion, user_arn =
/// userIdentity.arn, aws_account_id = userIdentity.accountId (an IAMUser), errorCode = success (no raw
/// errorCode); firstTime/lastTime = eventTime 2024-07-31T13:06:24Z through `security_content_ctime` in UTC;
/// stopped_cloudtrail_name = requestParameters.name.
#[test]
fn stop_logging_detection_reads_spaced_comparisons() {
    if !present() {
        return;
    }
    let out = detection_rows(
        "AWS Defense Evasion Stop Logging Cloudtrail",
        "../shared/data/cloudtrail/stratus-red-team/aws.defense-evasion.cloudtrail-stop.json",
    );
    assert_eq!(
        out,
        "src,region,eventName,userAgent,user_arn,aws_account_id,count,firstTime,lastTime,stopped_cloudtrail_name\n\
         86.245.153.234,apiso-centralnorth-2r,StopLogging,stratus-red-team_c97089f1-1ae3-4ecc-b006-f5e8fd0f2571,\
         arn:aws:iam::143434273843:user/christophe,143434273843,1,2024-07-31T13:06:24,2024-07-31T13:06:24,\
         stratus-red-team-ct-stop-trail-buykxbqejv\n"
    );
}

/// `eventName= ConsoleLogin errorMessage="Failed authentication" additionalEventData.MFAUsed = "Yes"`.
/// tests/fixtures/search_detections/console_login_mfa.ndjson: alice fails with MFA (the one match), bob fails
/// without MFA, carol and dave log in (no errorMessage), and a ListUsers call carries the same errorMessage and
/// MFAUsed but another eventName. errorCode is `failure` (no raw errorCode, responseElements.ConsoleLogin is
/// Failure); user_name is userIdentity.userName.
#[test]
fn console_login_failed_during_mfa_detection_reads_spaced_comparisons() {
    if !present() {
        return;
    }
    let out = detection_rows(
        "AWS Console Login Failed During MFA Challenge",
        "tests/fixtures/search_detections/console_login_mfa.ndjson",
    );
    assert_eq!(
        out,
        "src,eventName,eventSource,aws_account_id,errorCode,errorMessage,userAgent,eventID,awsRegion,user_name,userIdentity.arn,count,firstTime,lastTime\n\
         198.51.100.7,ConsoleLogin,signin.amazonaws.com,111122223333,failure,Failed authentication,Mozilla/5.0,\
         0a000000-0000-4000-8000-000000000001,us-east-1,alice,arn:aws:iam::111122223333:user/alice,1,\
         2024-03-09T10:50:00,2024-03-09T10:50:00\n"
    );
}

/// `"additionalEventData.MFAUsed"=No`: a double-quoted name before an operator is a field (SPL-SEMANTICS 3).
/// Over the same events, only carol logs in (errorCode `success`: no raw errorCode, ConsoleLogin Success)
/// without MFA; dave's login used MFA, alice's and bob's failed.
#[test]
fn single_factor_detection_reads_a_quoted_field_name() {
    if !present() {
        return;
    }
    let out = detection_rows(
        "AWS Successful Single-Factor Authentication",
        "tests/fixtures/search_detections/console_login_mfa.ndjson",
    );
    assert_eq!(
        out,
        "src,eventName,eventSource,aws_account_id,errorCode,additionalEventData.MFAUsed,userAgent,eventID,awsRegion,user_name,userIdentity.arn,count,firstTime,lastTime\n\
         203.0.113.9,ConsoleLogin,signin.amazonaws.com,111122223333,success,No,Mozilla/5.0,\
         0a000000-0000-4000-8000-000000000003,eu-west-1,carol,arn:aws:iam::111122223333:user/carol,1,\
         2024-03-09T10:30:00,2024-03-09T10:30:00\n"
    );
}

/// `eventName= PutBucketVersioning "requestParameters.VersioningConfiguration.Status"=Suspended`.
/// tests/fixtures/search_detections/bucket_versioning.ndjson: alice suspends versioning on finance-data and
/// backups and enables it on logs-archive; bob's GetBucketVersioning is another eventName. The two suspensions
/// share every by-field (src_ip, account, region, eventName, userAgent, user_arn, principalId, errorCode
/// `success`), so one row with count 2 and the sorted distinct bucket names and ARNs. The detection's
/// `security_content_ctime(firstTime)` finds no firstTime (its stats makes none): no such column.
#[test]
fn disable_bucket_versioning_detection_reads_a_quoted_field_name() {
    if !present() {
        return;
    }
    let out = detection_rows(
        "AWS Disable Bucket Versioning",
        "tests/fixtures/search_detections/bucket_versioning.ndjson",
    );
    assert_eq!(
        out,
        "src_ip,aws_account_id,awsRegion,eventName,userAgent,user_arn,userIdentity.principalId,errorCode,count,bucket_name,resource_arn\n\
         198.51.100.7,111122223333,us-east-1,PutBucketVersioning,aws-cli/2.15.0,arn:aws:iam::111122223333:user/alice,\
         AIDAEXAMPLE0000000001,success,2,\"backups\nfinance-data\",\"arn:aws:s3:::backups\narn:aws:s3:::finance-data\"\n"
    );
}
