//! Subsearch edge cases (Splunk's implied `format`, SPL-SEMANTICS 4): zero rows, one row with two fields,
//! a row with an empty value, and the row limit. Expected texts are written from the rule: each row
//! becomes `( f1="v1" AND f2="v2" )`, rows are joined by OR inside parentheses, no rows give `NOT ()`.

use spelunk::session::{Config, Session};
use std::path::PathBuf;

fn session() -> Session {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/subsearch");
    Session::new(&Config {
        lookups: vec![dir],
        ..Config::default()
    })
    .unwrap()
}

fn formatted(s: &Session, q: &str) -> String {
    s.expand_subsearches(q)
        .unwrap_or_else(|e| panic!("{}", e.render()))
        .1
}

fn count(s: &Session, q: &str) -> f64 {
    let out = s.run(q).unwrap_or_else(|e| panic!("{}", e.render()));
    out.rows[0].get("count").and_then(|v| v.as_num()).unwrap()
}

#[test]
fn zero_rows_format_as_not_empty_group() {
    let s = session();
    assert_eq!(
        formatted(
            &s,
            "`cloudtrail` NOT [| inputlookup aws_service_accounts | fields identity]"
        ),
        "sourcetype=aws:cloudtrail NOT NOT ()"
    );
    // `NOT ()` is false, so `search [no rows]` keeps nothing and `search NOT [no rows]` keeps everything
    let all = count(&s, "`cloudtrail` | stats count");
    assert_eq!(all, 33.0);
    assert_eq!(
        count(
            &s,
            "`cloudtrail` [| inputlookup aws_service_accounts] | stats count"
        ),
        0.0
    );
    assert_eq!(
        count(
            &s,
            "`cloudtrail` NOT [| inputlookup aws_service_accounts] | stats count"
        ),
        all
    );
}

#[test]
fn one_row_with_two_fields_is_an_and_group() {
    let s = session();
    assert_eq!(
        formatted(&s, "search [| inputlookup one_row_two_fields.csv]"),
        r#"search ( ( user="bob" AND eventName="GetObject" ) )"#
    );
    // bob made one GetObject call in the samples (samples/cloudtrail/README.md)
    assert_eq!(
        count(
            &s,
            "`cloudtrail` [| inputlookup one_row_two_fields.csv] | stats count"
        ),
        1.0
    );
}

#[test]
fn empty_cells_are_left_out_of_the_terms() {
    let s = session();
    // an empty CSV cell is an absent field: the first row gives only user, the second only note
    assert_eq!(
        formatted(&s, "search [| inputlookup empty_values.csv]"),
        r#"search ( ( user="alice" ) OR ( note="only-note" ) )"#
    );
    // a field with an empty text value (not absent) is kept as `f=""`
    assert_eq!(
        formatted(&s, r#"search [| makeresults | eval user=""]"#),
        r#"search ( ( user="" ) )"#
    );
}

#[test]
fn rows_past_the_limit_are_dropped_with_a_warning() {
    let mut s = session();
    s.subsearch_maxout = 10;
    let out = s
        .run("| inputlookup many.csv | search [| inputlookup many.csv | fields user] | stats count")
        .unwrap();
    assert_eq!(
        out.rows[0].get("count").and_then(|v| v.as_num()),
        Some(10.0)
    );
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("25 rows") && w.contains("first 10")),
        "{:?}",
        out.warnings
    );
}
