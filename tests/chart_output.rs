//! `spelunk run --format chart` and `--format html` over the shipped samples (samples/cloudtrail): the
//! chart's axes and legend name the real series, the page is one well-formed self-contained document,
//! and a result that is not a series is refused with exit status 2.

use std::process::Command;

struct Out {
    stdout: String,
    stderr: String,
    code: i32,
}

fn run(format: &str, query: &str) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_spelunk"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "run",
            "--format",
            format,
            "--data",
            "samples/cloudtrail",
            query,
        ])
        .env("NO_COLOR", "1")
        .output()
        .expect("run spelunk");
    Out {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

const BY_SOURCE: &str = "* | timechart span=1d count by eventSource";

/// The samples' event sources: the split-by values of `BY_SOURCE`, in its column order.
const SOURCES: [&str; 6] = [
    "cloudtrail.amazonaws.com",
    "ec2.amazonaws.com",
    "iam.amazonaws.com",
    "s3.amazonaws.com",
    "signin.amazonaws.com",
    "sts.amazonaws.com",
];

#[test]
fn a_timechart_is_drawn_with_axes_and_its_series_in_the_legend() {
    let o = run("chart", BY_SOURCE);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(lines.len() <= 20, "{}", o.stdout);
    assert!(
        lines.iter().all(|l| l.chars().count() <= 80),
        "{}",
        o.stdout
    );
    assert!(!o.stdout.contains('\x1b'), "no colour when piped");
    // the value axis runs from 0 to the largest count: 6 s3 events on 2024-03-01
    assert!(lines[0].trim_start().starts_with("6 ┤"), "{}", o.stdout);
    assert!(o.stdout.contains("0 ┤"), "{}", o.stdout);
    // the time axis, labelled at its first and last day
    assert!(o.stdout.contains("└┬"), "{}", o.stdout);
    assert!(o.stdout.contains("2024-03-01 00:00:00"), "{}", o.stdout);
    assert!(o.stdout.contains("2024-03-05 00:00:00"), "{}", o.stdout);
    // each source in the legend, after its own marker
    let markers = ['*', '+', 'o', 'x', '@', '%'];
    for (m, name) in markers.iter().zip(SOURCES) {
        assert!(
            o.stdout.contains(&format!("{m} {name}")),
            "{name}:\n{}",
            o.stdout
        );
    }
}

#[test]
fn a_chart_by_category_is_drawn_as_bars() {
    let o = run("chart", "* | chart count by eventName");
    assert_eq!(o.code, 0, "{}", o.stderr);
    // ListBuckets, 6 times, is the largest
    assert!(o.stdout.trim_start().starts_with("6 ┤"), "{}", o.stdout);
    assert!(o.stdout.contains('█'), "{}", o.stdout);
    assert!(o.stdout.contains("ListBuckets"), "{}", o.stdout);
    assert!(o.stdout.contains("█ count"), "{}", o.stdout);
}

#[test]
fn a_result_that_is_no_series_has_no_chart() {
    let o = run("chart", "* | stats count by eventName, eventSource");
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert_eq!(o.stdout, "");
    assert!(o.stderr.contains("not a series"), "{}", o.stderr);
    assert!(
        o.stderr.contains("eventName, eventSource, count"),
        "{}",
        o.stderr
    );
}

#[test]
fn the_html_page_is_self_contained_with_the_chart_then_the_table() {
    let o = run("html", BY_SOURCE);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let page = &o.stdout;
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.trim_end().ends_with("</html>"), "{page}");
    assert_eq!(page.matches("<svg").count(), 1);
    assert_eq!(page.matches("</svg>").count(), 1);
    assert!(
        page.find("<svg") < page.find("<table>"),
        "the chart comes first"
    );
    assert_eq!(page.matches("<table>").count(), 1);
    // the query, escaped, as the title
    assert!(page.contains("<title>* | timechart span=1d count by eventSource</title>"));
    // the header cells are the columns
    let header: String = std::iter::once("_time")
        .chain(SOURCES)
        .map(|c| format!("<th>{c}</th>"))
        .collect();
    assert!(page.contains(&format!("<tr>{header}</tr>")), "{page}");
    // five days and the header
    assert_eq!(page.matches("<tr>").count(), 6);
    assert!(page.contains("<td class=\"time\">2024-03-01T00:00:00.000+00:00</td>"));
    // nothing fetched, nothing run (inline SVG needs no namespace)
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "{page}"
    );
    assert!(!page.contains("<script"));
    assert!(!page.contains("<link"));
    for name in SOURCES {
        assert!(
            page.contains(&format!(">{name}</text>")),
            "{name} in the legend"
        );
    }
}

#[test]
fn the_html_page_of_other_results_is_the_table_alone() {
    let o = run("html", "* | stats count by eventName, eventSource | head 3");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.starts_with("<!DOCTYPE html>"));
    assert!(!o.stdout.contains("<svg"));
    assert!(o
        .stdout
        .contains("<tr><th>eventName</th><th>eventSource</th><th>count</th></tr>"));
    assert_eq!(o.stdout.matches("<tr>").count(), 4);
    assert!(o
        .stdout
        .contains("<h1>* | stats count by eventName, eventSource | head 3</h1>"));
}
