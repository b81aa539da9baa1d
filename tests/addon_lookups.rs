//! The published detections that search the AWS add-on's lookup fields (`action=failure`,
//! `status=failure`) run by name from a security_content checkout, over the real CloudTrail samples and
//! over crafted events in `tests/fixtures/addon_lookups/`. Every expected row is worked out by hand in
//! the comments. Says SKIPPED where ../shared is absent (and fails instead when `CI=true`).

use std::process::Command;

#[path = "common/shared.rs"]
mod common;

const CONTENT: &str = "../shared/security_content";
const DATA: &str = "../shared/data/cloudtrail";

/// Both the checkout and the real samples are there (else SKIPPED, or a failure under CI).
fn present() -> bool {
    common::shared("security_content", "the published detections").is_some()
        && common::shared("data/cloudtrail", "the real CloudTrail samples").is_some()
}

fn detection(name: &str, data: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_spelunk"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "run",
            "--format",
            "csv",
            "--content",
            CONTENT,
            "--data",
            data,
            name,
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{name}: {err}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `cloudtrail` eventName=ConsoleLogin action=failure | bucket span=10m _time
/// | stats dc(user_name) AS unique_accounts values(user_name) as tried_accounts by _time, src_ip
///
/// The real samples hold nine failed console logins (responseElements.ConsoleLogin = Failure, no
/// errorCode, so the add-on's errorCode is `failure` and its action/status lookup gives action=failure):
/// - grycap 2014-09-27T04:50:01Z from 83.37.50.95 (HIDDEN_DUE_TO_SECURITY_REASONS) → bucket 04:50;
/// - grycap 2014-09-27T13:11:42Z from 213.37.139.133 (alucloud34) → bucket 13:10;
/// - panther: four at 2019-01-01T00:00:00Z from 111.111.111.111, three by IAM user tester and one by Root
///   (user_name is the arn tail, `root`) → one row, 2 accounts, values sorted: root, tester;
/// - panther 2022-11-10T16:24:34Z from 192.0.2.0 (anaya) → bucket 16:20;
/// - two panther records with no eventVersion and no eventTime are not sourcetype aws:cloudtrail
///   (spelunk sniffs `_json`), so the `cloudtrail` macro does not find them (they have no src_ip either).
#[test]
fn multiple_users_failing_to_authenticate_from_ip_over_real_events() {
    if !present() {
        return;
    }
    let rows = detection("AWS Multiple Users Failing To Authenticate From Ip", DATA);
    assert_eq!(
        rows,
        "_time,src_ip,unique_accounts,tried_accounts\n\
         2014-09-27T04:50:00.000+00:00,83.37.50.95,1,HIDDEN_DUE_TO_SECURITY_REASONS\n\
         2014-09-27T13:10:00.000+00:00,213.37.139.133,1,alucloud34\n\
         2019-01-01T00:00:00.000+00:00,111.111.111.111,2,\"root\ntester\"\n\
         2022-11-10T16:20:00.000+00:00,192.0.2.0,1,anaya\n"
    );
}

/// The crafted file has 31 failed logins in the 10-minute bucket from 10:00 (21 from 198.51.100.7 by
/// u1, u2, u3 in turn; one each from 10.0.0.1 … 10.0.0.10 by v1 … v10) and one successful login from
/// 198.51.100.7, which has action=success and is not counted. Rows sort by _time, then src_ip as text.
#[test]
fn multiple_users_failing_to_authenticate_from_ip_over_crafted_events() {
    if !present() {
        return;
    }
    let rows = detection(
        "AWS Multiple Users Failing To Authenticate From Ip",
        "tests/fixtures/addon_lookups/failed_console_logins.ndjson",
    );
    let mut want = String::from("_time,src_ip,unique_accounts,tried_accounts\n");
    for n in [1, 10, 2, 3, 4, 5, 6, 7, 8, 9] {
        want.push_str(&format!(
            "2024-05-01T10:00:00.000+00:00,10.0.0.{n},1,v{n}\n"
        ));
    }
    want.push_str("2024-05-01T10:00:00.000+00:00,198.51.100.7,3,\"u1\nu2\nu3\"\n");
    assert_eq!(rows, want);
}

/// `... | stats dc(_raw) AS distinct_attempts values(user_name) as tried_accounts by _time, src_ip
/// | eventstats avg(distinct_attempts) as avg_attempts, stdev(distinct_attempts) as ip_std by _time
/// | eval upperBound=(avg_attempts+ip_std*3)
/// | eval isOutlier=if(distinct_attempts > 10 and distinct_attempts >= upperBound, 1, 0) | where isOutlier = 1`
///
/// Over the crafted bucket: eleven rows, ten with 1 attempt and one with 21. avg = 31/11 = 2.8181…;
/// sample stdev = sqrt((10·(1−31/11)² + (21−31/11)²)/10) = 20/sqrt(11) = 6.0302…; upperBound = 20.9088….
/// Only 198.51.100.7 has more than 10 attempts and at least the bound (21 ≥ 20.909). Over the real samples
/// no address fails more than 4 times in a bucket, so no row.
#[test]
fn unusual_number_of_failed_authentications_from_ip() {
    if !present() {
        return;
    }
    let name = "AWS Unusual Number of Failed Authentications From Ip";
    let rows = detection(
        name,
        "tests/fixtures/addon_lookups/failed_console_logins.ndjson",
    );
    let mut lines = rows.lines();
    assert_eq!(
        lines.next(),
        Some("_time,src_ip,distinct_attempts,tried_accounts,avg_attempts,ip_std,upperBound,isOutlier")
    );
    let rest: Vec<&str> = lines.collect();
    let row = rest.join("\n");
    assert!(
        row.starts_with("2024-05-01T10:00:00.000+00:00,198.51.100.7,21,\"u1\nu2\nu3\","),
        "{rows}"
    );
    let tail: Vec<f64> = row
        .rsplit('"')
        .next()
        .unwrap_or("")
        .trim_start_matches(',')
        .split(',')
        .map(|x| x.parse().unwrap())
        .collect();
    let sd = 20.0 / 11f64.sqrt();
    let want = [31.0 / 11.0, sd, 31.0 / 11.0 + 3.0 * sd, 1.0];
    assert_eq!(tail.len(), 4, "{rows}");
    for (got, want) in tail.iter().zip(want) {
        assert!((got - want).abs() < 1e-9, "{got} vs {want}: {rows}");
    }
    assert_eq!(detection(name, DATA), "");
}

/// `cloudtrail` (errorCode=MalformedPolicyDocumentException) status=failure (userAgent!=*.amazonaws.com)
/// | stats count min(_time) as firstTime max(_time) as lastTime values(requestParameters.policyName) as
///   policy_name by src eventName eventSource aws_account_id errorCode requestParameters.policyDocument
///   userAgent eventID awsRegion userIdentity.principalId user_arn | where count >= 2 | ctime …
///
/// Crafted events (all from 203.0.113.9 by IAM user mallory):
/// - eventID dup-1 twice (11:03, 11:04), UpdateAssumeRolePolicy with the error: status failure (the
///   add-on's row for that name and any error is unknown/failure) → count 2, kept;
/// - single-2 once → count 1, dropped by `count >= 2`;
/// - svc-3 twice, userAgent cloudformation.amazonaws.com → dropped by `userAgent!=*.amazonaws.com`;
/// - kms-4 twice, PutKeyPolicy: a name the add-on's table lacks, so no status → dropped by status=failure;
/// - ok-5, no error → errorCode success, dropped.
#[test]
fn iam_assume_role_policy_brute_force() {
    if !present() {
        return;
    }
    let rows = detection(
        "AWS IAM Assume Role Policy Brute Force",
        "tests/fixtures/addon_lookups/assume_role_policy_attempts.ndjson",
    );
    assert_eq!(
        rows,
        "src,eventName,eventSource,aws_account_id,errorCode,requestParameters.policyDocument,userAgent,eventID,awsRegion,userIdentity.principalId,user_arn,count,firstTime,lastTime,policy_name\n\
         203.0.113.9,UpdateAssumeRolePolicy,iam.amazonaws.com,111122223333,MalformedPolicyDocumentException,{bad,aws-cli/2.15.10,dup-1,us-east-1,AIDAEXAMPLEMALLORY,arn:aws:iam::111122223333:user/mallory,2,2024-05-01T11:03:00,2024-05-01T11:04:00,trust\n"
    );
}
