//! The shell's entries end to end, without a terminal: a [`Repl`] over the shipped samples, its output and
//! error streams captured.

use super::*;

const SEED_000: &str = include_str!("../../queries/detect_api_activity_from_users_without_mfa.spl");
/// The rows of seed 000 over the shipped samples, justified row by row in the golden case's notes.md.
const SEED_000_CSV: &str = include_str!("../../tests/golden/seed_mfa_empty_lookups/expected.csv");

fn repl() -> Repl {
    let session = Session::new(&Config::default()).unwrap();
    let mut r = Repl::new(session, &Options::default());
    let mut err = Vec::new();
    r.load(&mut err);
    r
}

fn eval(r: &mut Repl, entry: &str) -> (Flow, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let flow = r.eval(entry, &mut out, &mut err);
    (
        flow,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn loading_keeps_every_sample_event_in_memory() {
    let r = repl();
    assert_eq!(r.loaded_events, 33);
    assert!(r
        .session
        .sources
        .iter()
        .all(|s| matches!(s.content, Content::Cached { .. })));
    assert!(r.vocab.fields.iter().any(|f| f == "userIdentity.arn"));
    assert_eq!(r.vocab.sourcetypes, vec!["aws:cloudtrail"]);
    assert!(r.vocab.commands.iter().any(|c| c == "stats"));
    assert!(!r.vocab.commands.iter().any(|c| c == "mstats"));
    assert!(r.vocab.macros.iter().any(|m| m == "cloudtrail"));
}

#[test]
fn the_pasted_seed_prints_its_rows() {
    let mut r = repl();
    r.format = Format::Csv;
    let (flow, out, err) = eval(&mut r, SEED_000);
    assert_eq!(flow, Flow::Continue);
    assert_eq!(out, SEED_000_CSV);
    assert!(err.contains("6 rows in"), "{err}");
    assert!(err.contains("treated as an empty filter"), "{err}");
    // the note about the undefined filter macro is given once per session
    let (_, _, err) = eval(&mut r, SEED_000);
    assert!(!err.contains("treated as an empty filter"), "{err}");
}

#[test]
fn tables_count_the_rows_and_cut_at_the_limit() {
    let mut r = repl();
    r.timing = false;
    r.limit = Some(2);
    let (_, out, _) = eval(&mut r, SEED_000);
    assert!(out.contains("arn:aws:iam::111122223333:user/bob"), "{out}");
    assert!(!out.contains("LambdaDeployer"), "{out}");
    assert!(
        out.ends_with("6 rows, 4 not shown (.limit off shows all, .save FILE writes all)\n"),
        "{out}"
    );
    // multivalue cells are one value per line
    assert!(out.contains("DescribeInstances"), "{out}");
    let bob = out.lines().position(|l| l.contains("user/bob")).unwrap();
    assert!(
        out.lines().nth(bob + 1).unwrap().contains("GetObject"),
        "{out}"
    );
}

#[test]
fn a_bad_query_gets_a_caret_and_the_shell_goes_on() {
    let mut r = repl();
    let (flow, out, err) = eval(&mut r, "`cloudtrail`\n| statz count by user");
    assert_eq!(flow, Flow::Continue);
    assert!(out.is_empty());
    assert!(
        err.contains("error: unknown command `statz` (did you mean `stats`?)"),
        "{err}"
    );
    assert!(err.contains(" --> 2:3\n"), "{err}");
    assert!(
        err.contains("2 | | statz count by user\n  |   ^^^^^\n"),
        "{err}"
    );
    assert!(
        !err.contains("\x1b["),
        "no colour when not asked for: {err}"
    );
    let (_, out, _) = eval(&mut r, "`cloudtrail` | stats count");
    assert!(out.contains("│ 33 "), "{out}");
}

#[test]
fn errors_are_coloured_when_asked() {
    let mut r = repl();
    r.colour_err = true;
    let (_, _, err) = eval(&mut r, "search a | statz");
    assert!(err.starts_with("\x1b[1;31merror\x1b[0m"), "{err:?}");
    assert!(err.contains("\x1b[1;31m^^^^^\x1b[0m"), "{err:?}");
}

#[test]
fn meta_commands() {
    let mut r = repl();
    let (_, out, _) = eval(&mut r, ".help");
    for (name, _, _) in meta::COMMANDS {
        assert!(out.contains(name), "{name} missing from .help");
    }
    let (_, out, _) = eval(&mut r, ".fields aws:cloudtrail");
    assert!(out.contains("eventName"), "{out}");
    assert!(out.contains("33 (100%)"), "{out}");
    assert!(
        out.contains("in 33 events of sourcetype aws:cloudtrail"),
        "{out}"
    );
    let (_, out, _) = eval(&mut r, ".fields *region aws:cloudtrail");
    assert!(
        out.contains("3 fields matching `*region` in 33 events of sourcetype aws:cloudtrail"),
        "{out}"
    );
    let (_, _, err) = eval(&mut r, ".fields aws:cloudtrial");
    assert!(err.contains("did you mean `aws:cloudtrail`?"), "{err}");
    let (_, out, _) = eval(&mut r, ".macro cloudtrail");
    assert!(out.contains("[cloudtrail]\ndefinition = sourcetype=aws:cloudtrail\n# from shipped queries/macros.conf"), "{out}");
    let (_, out, _) = eval(&mut r, ".macros ctime");
    assert!(out.contains("security_content_ctime(1)"), "{out}");
    assert!(!out.contains("cloudtrail "), "{out}");
    let (_, out, _) = eval(&mut r, ".lookups");
    assert!(out.contains("aws_service_accounts.csv"), "{out}");
    let (_, out, _) = eval(&mut r, ".sources");
    assert!(out.contains("cloudtrail_2024-03-02_to_05.ndjson"), "{out}");
    assert!(out.contains("aws:cloudtrail (13)"), "{out}");
    let (_, _, err) = eval(&mut r, ".format json");
    assert!(err.contains("format: json"));
    let (_, out, _) = eval(
        &mut r,
        "`cloudtrail` eventName=StopLogging | table user eventName",
    );
    // samples/cloudtrail/README.md: carol's denied StopLogging (delivery #10, user carol) and AdminRole's
    // (NDJSON #5: an assumed role on an API without a `user` rule, so no user)
    assert_eq!(
        out,
        "{\"user\":\"carol\",\"eventName\":\"StopLogging\"}\n{\"eventName\":\"StopLogging\"}\n"
    );
    let (flow, _, _) = eval(&mut r, ".quit");
    assert_eq!(flow, Flow::Quit);
}

#[test]
fn expand_shows_macros_and_subsearch_results() {
    let mut r = repl();
    let (_, out, err) = eval(
        &mut r,
        ".expand `cloudtrail` NOT [| inputlookup aws_service_accounts | fields identity]",
    );
    assert!(err.is_empty(), "{err}");
    assert!(out.starts_with("sourcetype=aws:cloudtrail NOT [| inputlookup aws_service_accounts | fields identity]\n"), "{out}");
    // the shipped table has no rows: the subsearch formats to `NOT ()`
    assert!(
        out.contains("with subsearch results formatted:\nsourcetype=aws:cloudtrail NOT NOT ()\n"),
        "{out}"
    );
    // without a query: the last one
    let (_, _, _) = eval(&mut r, "`cloudtrail` | head 1");
    let (_, out, _) = eval(&mut r, ".expand");
    assert_eq!(out, "sourcetype=aws:cloudtrail | head 1\n");
}

#[test]
fn save_writes_every_row() {
    let mut r = repl();
    r.limit = Some(1);
    let dir = tempfile::tempdir().unwrap();
    let (_, _, err) = eval(
        &mut r,
        &format!(".save {}", dir.path().join("x.csv").display()),
    );
    assert!(err.contains("no results yet"), "{err}");
    eval(&mut r, SEED_000);
    let csv = dir.path().join("out.csv");
    let (_, _, err) = eval(&mut r, &format!(".save {}", csv.display()));
    assert!(err.contains("wrote 6 rows"), "{err}");
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), SEED_000_CSV);
    let json = dir.path().join("out.json");
    eval(&mut r, &format!(".save {}", json.display()));
    let text = std::fs::read_to_string(&json).unwrap();
    assert_eq!(text.lines().count(), 6);
    assert!(
        text.contains("\"eventName\":[\"DescribeInstances\",\"GetObject\",\"ListBuckets\"]"),
        "{text}"
    );
}

#[test]
fn data_adds_inputs_and_replaces_the_samples() {
    let mut r = repl();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("app.ndjson");
    std::fs::write(
        &f,
        "{\"time\":\"2024-01-01T00:00:00Z\",\"level\":\"warn\"}\nnot json\n",
    )
    .unwrap();
    let (_, _, err) = eval(&mut r, &format!(".data {} app:log", f.display()));
    assert!(err.contains("added 1 file"), "{err}");
    assert!(
        err.contains("1 malformed line skipped (first at line 2"),
        "{err}"
    );
    assert!(err.contains("read 1 event from 1 file"), "{err}");
    assert_eq!(r.vocab.sourcetypes, vec!["app:log"]);
    assert!(r.vocab.fields.iter().any(|x| x == "level"));
    let (_, out, _) = eval(&mut r, "level=warn | stats count by sourcetype");
    assert!(out.contains("app:log"), "{out}");
    let (_, _, err) = eval(&mut r, ".data /no/such/place");
    assert!(err.contains("no such file or folder"), "{err}");
}

#[test]
fn a_cancelled_scan_says_so() {
    let mut r = repl();
    r.cancel.set(true);
    // eval clears the flag before it runs: set it from "another thread" by running the query directly
    r.scanned.store(0, Ordering::Relaxed);
    let mut out = Vec::new();
    let mut err = Vec::new();
    r.query("`cloudtrail` | stats count", &mut out, &mut err);
    let err = String::from_utf8(err).unwrap();
    assert!(err.starts_with("cancelled after"), "{err}");
    assert!(err.contains("`cloudtrail` | stats count"), "{err}");
    assert!(out.is_empty());
}

#[test]
fn a_cancelled_generated_search_stops_too() {
    // no input is read: the rows come from makeresults, then eval, stats and sort
    for q in [
        "| makeresults count=2000000 | eval x=random() | stats dc(x)",
        "| makeresults count=50000 | eval x=random() | sort 0 x | stats count",
    ] {
        let mut r = repl();
        r.cancel.set(true);
        let mut out = Vec::new();
        let mut err = Vec::new();
        r.query(q, &mut out, &mut err);
        let err = String::from_utf8(err).unwrap();
        assert!(err.starts_with("cancelled after"), "{q}: {err}");
        assert!(out.is_empty(), "{q}");
    }
}

#[test]
fn diagnostics_paint_only_their_parts() {
    let plain = "error: unknown command `statz`\n --> 1:12\n  |\n1 | search a | statz\n  |            ^^^^^\n  = help: x\n";
    let painted = paint_diagnostic(plain);
    let stripped: String = {
        let mut s = String::new();
        let mut in_esc = false;
        for c in painted.chars() {
            match (in_esc, c) {
                (false, '\x1b') => in_esc = true,
                (true, 'm') => in_esc = false,
                (true, _) => {}
                (false, c) => s.push(c),
            }
        }
        s
    };
    assert_eq!(stripped, plain);
}
