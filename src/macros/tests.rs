use super::*;
use std::collections::HashMap;
use std::path::PathBuf;

fn def(name: &str, args: &[&str], definition: &str) -> MacroDef {
    MacroDef {
        name: name.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
        definition: definition.to_string(),
        iseval: false,
        origin: "test".to_string(),
    }
}

fn lib(defs: &[(&str, &[&str], &str)]) -> MacroLibrary {
    let mut lib = MacroLibrary::new();
    for (name, args, definition) in defs {
        lib.insert(def(name, args, definition));
    }
    lib
}

fn seed_lib() -> MacroLibrary {
    lib(&[
        ("cloudtrail", &[], "sourcetype=aws:cloudtrail"),
        (
            "security_content_ctime",
            &["field"],
            r#"convert timeformat="%Y-%m-%dT%H:%M:%S" ctime($field$)"#,
        ),
    ])
}

fn expand_ok(src: &str, lib: &MacroLibrary) -> Expansion {
    match expand(src, lib) {
        Ok(e) => e,
        Err(e) => panic!("expansion of {src:?} failed: {e} at {}+{}", e.offset, e.len),
    }
}

fn expand_err(src: &str, lib: &MacroLibrary) -> MacroError {
    match expand(src, lib) {
        Ok(e) => panic!("expansion of {src:?} should fail, gave {:?}", e.text),
        Err(e) => e,
    }
}

#[test]
fn simple_call() {
    let e = expand_ok("`cloudtrail` errorCode=success", &seed_lib());
    assert_eq!(e.text, "sourcetype=aws:cloudtrail errorCode=success");
    assert!(e.defaulted_filters.is_empty());
}

#[test]
fn call_with_argument() {
    let e = expand_ok("| `security_content_ctime(firstTime)` ", &seed_lib());
    assert_eq!(
        e.text,
        r#"| convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(firstTime) "#
    );
}

#[test]
fn arguments_are_trimmed_and_split_outside_quotes_and_parens() {
    let l = lib(&[("pair", &["a", "b"], "A=$a$ B=$b$")]);
    let e = expand_ok(r#"`pair(  "x, y" ,  f(1, g(2,3)) )`"#, &l);
    assert_eq!(e.text, r#"A="x, y" B=f(1, g(2,3))"#);
    // An escaped quote does not end the string.
    let e = expand_ok(r#"`pair("a\", b", c)`"#, &l);
    assert_eq!(e.text, r#"A="a\", b" B=c"#);
}

#[test]
fn unknown_dollar_names_are_kept() {
    let l = lib(&[("m", &["x"], "$a$ $x$ $ $$x$")]);
    assert_eq!(expand_ok("`m(1)`", &l).text, "$a$ 1 $ $1");
    // Without arguments nothing is substituted.
    let l = lib(&[("n", &[], "$x$")]);
    assert_eq!(expand_ok("`n`", &l).text, "$x$");
}

#[test]
fn zero_argument_call_with_parentheses() {
    let l = lib(&[("z", &[], "zero")]);
    assert_eq!(expand_ok("`z()` `z( )`", &l).text, "zero zero");
}

#[test]
fn nested_macro_in_definition() {
    let l = lib(&[
        ("outer", &["f"], "`inner` | stats count by $f$"),
        ("inner", &[], "`cloudtrail` eventName=*"),
        ("cloudtrail", &[], "sourcetype=aws:cloudtrail"),
    ]);
    let e = expand_ok("`outer(user)`", &l);
    assert_eq!(
        e.text,
        "sourcetype=aws:cloudtrail eventName=* | stats count by user"
    );
    assert_eq!(
        e.map.origin(0),
        (
            0,
            vec![
                "outer".to_string(),
                "inner".to_string(),
                "cloudtrail".to_string()
            ]
        )
    );
}

#[test]
fn macro_call_inside_argument() {
    let l = lib(&[
        ("quoted", &["v"], r#"x="$v$""#),
        ("name", &[], "bob"),
        ("pair", &["a", "b"], "$a$+$b$"),
        ("two", &["p", "q"], "$p$/$q$"),
    ]);
    // The inner call is expanded before substitution, so it works even inside quotes in the definition.
    assert_eq!(expand_ok("`quoted(`name`)`", &l).text, r#"x="bob""#);
    // Commas inside a nested call do not split the outer arguments.
    assert_eq!(expand_ok("`pair(`two(1, 2)`, 3)`", &l).text, "1/2+3");
}

#[test]
fn cycle_is_reported_with_its_chain() {
    let l = lib(&[("a", &[], "x `b`"), ("b", &[], "`a` y")]);
    let src = "search `a` | stats count";
    let err = expand_err(src, &l);
    assert!(
        err.message.contains("macro cycle: `a` -> `b` -> `a`"),
        "{}",
        err.message
    );
    assert_eq!((err.offset, err.len), (7, 3));
    // Direct self-reference.
    let l = lib(&[("me", &[], "`me`")]);
    let err = expand_err("`me`", &l);
    assert!(err.message.contains("`me` -> `me`"), "{}", err.message);
}

#[test]
fn depth_is_bounded() {
    let mut l = MacroLibrary::new();
    for i in 0..60 {
        l.insert(def(&format!("m{i}"), &[], &format!("`m{}`", i + 1)));
    }
    l.insert(def("m60", &[], "end"));
    let err = expand_err("`m0`", &l);
    assert!(err.message.contains("deeper than 50"), "{}", err.message);
    assert_eq!((err.offset, err.len), (0, 4));
    let mut l = MacroLibrary::new();
    for i in 0..49 {
        l.insert(def(&format!("m{i}"), &[], &format!("`m{}`", i + 1)));
    }
    l.insert(def("m49", &[], "end"));
    assert_eq!(expand_ok("`m0`", &l).text, "end");
}

#[test]
fn doubling_macros_are_bounded() {
    let mut l = MacroLibrary::new();
    for i in 0..40 {
        l.insert(def(&format!("d{i}"), &[], &format!("`d{0}` `d{0}`", i + 1)));
    }
    l.insert(def("d40", &[], "0123456789abcdef"));
    let err = expand_err("x `d0`", &l);
    assert!(err.message.contains("exceeds"), "{}", err.message);
    assert_eq!(err.offset, 2);
}

#[test]
fn unknown_macro_names_it_and_suggests() {
    let src = "foo | `cloudtrial` | bar";
    let err = expand_err(src, &seed_lib());
    assert_eq!((err.offset, err.len), (6, 12));
    assert_eq!(
        err.message,
        "unknown macro `cloudtrial` (did you mean `cloudtrail`?)"
    );
    let err = expand_err("`zzz(1)`", &seed_lib());
    assert_eq!(err.message, "unknown macro `zzz` (called with 1 argument)");
}

#[test]
fn unknown_macro_inside_a_definition_points_at_the_outer_call() {
    let l = lib(&[("outer", &[], "a `missing` b")]);
    let err = expand_err("x | `outer`", &l);
    assert_eq!((err.offset, err.len), (4, 7));
    assert_eq!(
        err.message,
        "unknown macro `missing` (in the expansion of `outer`)"
    );
}

#[test]
fn unknown_macro_inside_an_argument_points_at_it() {
    let err = expand_err("| `security_content_ctime(`nope`)`", &seed_lib());
    assert_eq!((err.offset, err.len), (26, 6));
}

#[test]
fn wrong_arity_lists_the_defined_ones() {
    let mut l = seed_lib();
    l.insert(def("security_content_ctime", &["a", "b", "c"], "x"));
    let err = expand_err("| `security_content_ctime(a, b)`", &l);
    assert_eq!(
        err.message,
        "macro `security_content_ctime` called with 2 arguments, but it is defined with 1 or 3"
    );
    assert_eq!((err.offset, err.len), (2, 30));
    let err = expand_err("`cloudtrail(x)`", &l);
    assert_eq!(
        err.message,
        "macro `cloudtrail` called with 1 argument, but it is defined with 0"
    );
}

#[test]
fn missing_filter_macro_defaults_to_empty() {
    let src = "`cloudtrail` | stats count by user | `my_detection_filter`";
    let e = expand_ok(src, &seed_lib());
    assert_eq!(e.text, "sourcetype=aws:cloudtrail | stats count by user | ");
    assert_eq!(e.defaulted_filters, vec!["my_detection_filter".to_string()]);
    // Reported once however often used; a defined filter is used as defined.
    let mut l = seed_lib();
    l.insert(def("kept_filter", &[], "search *"));
    let e = expand_ok("a | `x_filter` | `x_filter` | `kept_filter`", &l);
    assert_eq!(e.text, "a |  |  | search *");
    assert_eq!(e.defaulted_filters, vec!["x_filter".to_string()]);
}

#[test]
fn macro_expanding_to_an_empty_stage() {
    let l = lib(&[("nothing", &[], "")]);
    let e = expand_ok("a | `nothing` | b", &l);
    assert_eq!(e.text, "a |  | b");
    assert_eq!(e.map.origin(3), (3, vec![]));
    assert_eq!(e.map.origin(4), (13, vec![]));
}

#[test]
fn triple_backtick_comments_are_removed() {
    let src = "`cloudtrail` ```first\nline `not_a_macro`\n\"unbalanced``` | stats count ```x```";
    let e = expand_ok(src, &seed_lib());
    assert_eq!(e.text, "sourcetype=aws:cloudtrail  | stats count ");
    assert_eq!(strip_comments(src), "`cloudtrail`  | stats count ");
    // After a comment, offsets map back past it.
    let pipe = e.text.find('|').unwrap_or_default();
    assert_eq!(
        e.map.origin(pipe),
        (src.find(" | ").unwrap_or_default() + 1, vec![])
    );
    // Comments inside definitions go too; inside strings they are text.
    let l = lib(&[("c", &[], "a ```note``` b")]);
    assert_eq!(
        expand_ok(r#"`c` x="```y```""#, &l).text,
        r#"a  b x="```y```""#
    );
    let err = expand_err("a ``` open", &l);
    assert_eq!((err.offset, err.len), (2, 3));
    assert!(err.message.contains("unterminated comment"));
}

#[test]
fn backtick_inside_double_quotes_is_not_a_call() {
    let src = r#"| eval n=len(process)-len(replace(process, "`", "")) | where 'a`b'="x\"`" "#;
    // The single-quoted backtick is a call attempt (single quotes are not strings); keep it out here.
    let src = src.replace("'a`b'", "'ab'");
    let e = expand_ok(&src, &seed_lib());
    assert_eq!(e.text, src);
    assert_eq!(strip_comments(&src), src);
}

#[test]
fn security_content_tokenize_macro_keeps_its_quoted_backtick() {
    let l = lib(&[(
        "tok",
        &[],
        r#"eval p=replace(lower(process), "`", "") | makemv tokenizer="([\w\d\-]+)" p"#,
    )]);
    let e = expand_ok("x | `tok`", &l);
    assert!(e.text.contains(r#""`""#));
}

#[test]
fn unterminated_backtick() {
    let err = expand_err("a | `cloudtrail | b", &seed_lib());
    assert_eq!((err.offset, err.len), (4, 1));
    assert!(err.message.contains("unterminated"), "{}", err.message);
    let err = expand_err("`m(a, b` x", &seed_lib());
    assert_eq!(err.offset, 0);
    let err = expand_err("`m(a) x`", &seed_lib());
    assert!(err.message.contains("closing backtick"), "{}", err.message);
    let err = expand_err("a `` b", &seed_lib());
    assert_eq!((err.offset, err.message.as_str()), (2, "empty macro name"));
    let err = expand_err("a `two words` b", &seed_lib());
    assert!(
        err.message.contains("invalid macro name"),
        "{}",
        err.message
    );
}

#[test]
fn eval_macros_are_refused() {
    let mut l = MacroLibrary::new();
    let n = l.load_conf_str(
        "[ev(1)]\nargs = x\ndefinition = \"a\" . $x$\niseval = 1\n",
        "test",
    );
    assert_eq!(n, Ok(1));
    let err = expand_err("| eval y=`ev(1)`", &l);
    assert_eq!(err.message, "eval macros are not supported: `ev`");
    assert_eq!(err.offset, 9);
}

#[test]
fn source_map_before_inside_and_after() {
    let src = "pre `cloudtrail` post | `security_content_ctime(firstTime)`";
    let e = expand_ok(src, &seed_lib());
    let text = &e.text;
    assert!(text.starts_with("pre sourcetype=aws:cloudtrail post | convert"));
    // Before.
    assert_eq!(e.map.origin(0), (0, vec![]));
    assert_eq!(e.map.origin(3), (3, vec![]));
    // Inside: the call's backtick and the chain.
    assert_eq!(e.map.origin(4), (4, vec!["cloudtrail".to_string()]));
    assert_eq!(e.map.origin(20), (4, vec!["cloudtrail".to_string()]));
    // After.
    let post = text.find("post").unwrap_or_default();
    assert_eq!(
        e.map.origin(post),
        (src.find("post").unwrap_or_default(), vec![])
    );
    // Argument text maps to where the user wrote it.
    let arg = text.find("firstTime").unwrap_or_default();
    assert_eq!(
        e.map.origin(arg),
        (src.find("firstTime").unwrap_or_default(), vec![])
    );
    let conv = text.find("convert").unwrap_or_default();
    let call = src.find("`security").unwrap_or_default();
    assert_eq!(
        e.map.origin(conv),
        (call, vec!["security_content_ctime".to_string()])
    );
    // End of text and beyond map to the end of the original.
    assert_eq!(e.map.origin(text.len()), (src.len(), vec![]));
    assert_eq!(e.map.origin(text.len() + 10), (src.len(), vec![]));
    // Spans: macro text widens to the whole call.
    assert_eq!(
        e.map.origin_span(4, 10),
        (4..16, vec!["cloudtrail".to_string()])
    );
    assert_eq!(e.map.origin_span(0, 3), (0..3, vec![]));
    assert_eq!(e.map.origin_span(0, 10).0, 0..16);
}

#[test]
fn line_and_column() {
    let text = "ab\ncdé\nf";
    assert_eq!(line_col(text, 0), (1, 1));
    assert_eq!(line_col(text, 2), (1, 3));
    assert_eq!(line_col(text, 3), (2, 1));
    assert_eq!(line_col(text, 5), (2, 3));
    assert_eq!(line_col(text, 6), (2, 3)); // inside the two-byte é
    assert_eq!(line_col(text, 7), (2, 4));
    assert_eq!(line_col(text, 8), (3, 1));
    assert_eq!(line_col(text, 100), (3, 2));
}

#[test]
fn non_ascii_text_survives() {
    let l = lib(&[("m", &["x"], "é=$x$ ü")]);
    let e = expand_ok("ä `m(ö)` ß", &l);
    assert_eq!(e.text, "ä é=ö ü ß");
    let ss = e.text.find('ß').unwrap_or_default();
    assert_eq!(
        e.map.origin(ss),
        ("ä `m(ö)` ß".find('ß').unwrap_or_default(), vec![])
    );
}

#[test]
fn arbitrary_input_never_panics() {
    let l = lib(&[
        ("a", &["x"], "`b($x$)`"),
        ("b", &["y"], "\"$y$"),
        ("c", &[], "`"),
    ]);
    let pieces = [
        "`", "a", "(", ")", ",", "\"", "\\", "```", "$", "b", "c", " ", "é", "_filter", "$x$",
    ];
    // A deterministic walk over short combinations.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        let mut s = String::new();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut x = seed;
        for _ in 0..(x % 12) {
            x /= 3;
            s.push_str(pieces[(x as usize) % pieces.len()]);
            x = x.rotate_left(7);
        }
        let _ = strip_comments(&s);
        if let Ok(e) = expand(&s, &l) {
            for i in 0..=e.text.len() + 1 {
                let (o, _) = e.map.origin(i);
                assert!(o <= s.len());
                let _ = e.map.origin_span(i, i + 3);
            }
        } else if let Err(err) = expand(&s, &l) {
            assert!(err.offset + err.len <= s.len().max(1), "{s:?}: {err:?}");
        }
        let _ = line_col(&s, (x as usize) % (s.len() + 2));
    }
}

#[test]
fn names_and_lookup_by_arity() {
    let mut l = seed_lib();
    l.insert(def("security_content_ctime", &[], "zero"));
    assert_eq!(
        l.names(),
        vec![
            "cloudtrail",
            "security_content_ctime",
            "security_content_ctime(1)"
        ]
    );
    assert_eq!(
        l.get("security_content_ctime", 0)
            .map(|d| d.definition.as_str()),
        Some("zero")
    );
    assert!(l.get("security_content_ctime", 2).is_none());
    assert_eq!(l.iter().count(), 3);
}

#[test]
fn load_conf_with_continuations() {
    let conf = concat!(
        "# shipped macros\n",
        "[default]\n",
        "\n",
        "[cloudtrail]\n",
        "definition = sourcetype=aws:cloudtrail\n",
        "description = CloudTrail events\n",
        "\n",
        "[ctime(1)]\n",
        "args = field\n",
        "definition = convert \\\n",
        "  timeformat=\"%Y\" \\\n",
        "# not a comment here\n",
        "iseval = 0\n",
        "\n",
        "[two(2)]\r\n",
        "args = a , b\r\n",
        "definition = $a$ + $b$\r\n",
        "[nodef]\n",
        "description = only a description\n",
    );
    let mut l = MacroLibrary::new();
    assert_eq!(l.load_conf_str(conf, "shipped queries/macros.conf"), Ok(3));
    let c = l
        .get("ctime", 1)
        .map(|d| (d.definition.clone(), d.args.clone(), d.origin.clone()));
    assert_eq!(
        c,
        Some((
            "convert \n  timeformat=\"%Y\" \n# not a comment here".to_string(),
            vec!["field".to_string()],
            "shipped queries/macros.conf".to_string()
        ))
    );
    assert_eq!(
        l.get("two", 2).map(|d| d.args.clone()),
        Some(vec!["a".to_string(), "b".to_string()])
    );
    assert_eq!(expand_ok("`two(1, 2)`", &l).text, "1 + 2");
    // Later loads win.
    assert_eq!(
        l.load_conf_str("[cloudtrail]\ndefinition = index=aws\n", "local"),
        Ok(1)
    );
    assert_eq!(expand_ok("`cloudtrail`", &l).text, "index=aws");
    assert_eq!(
        l.get("cloudtrail", 0).map(|d| d.origin.as_str()),
        Some("local")
    );
}

#[test]
fn conf_errors_point_at_the_line() {
    let mut l = MacroLibrary::new();
    let err = l
        .load_conf_str("[a]\ndefinition = x\nbogus line\n", "m.conf")
        .err();
    assert_eq!(err.as_ref().map(|e| (e.offset, e.len)), Some((19, 10)));
    assert!(err
        .map(|e| e.message)
        .unwrap_or_default()
        .starts_with("m.conf:3:"));
    let err = l
        .load_conf_str("[a(2)]\nargs = x\ndefinition = $x$\n", "m.conf")
        .err();
    assert!(err
        .map(|e| e.message)
        .unwrap_or_default()
        .contains("takes 2 argument(s)"));
    let err = l.load_conf_str("[a(z)]\ndefinition = x\n", "m.conf").err();
    assert!(err.is_some());
    let err = l.load_conf_str("[a\ndefinition = x\n", "m.conf").err();
    assert!(err.is_some());
}

#[test]
fn load_yaml_text() {
    let mut l = MacroLibrary::new();
    let yaml = "arguments:\n  - field\ndefinition: 'convert ctime($field$)'\ndescription: x\nname: ct\nextra: [1, 2]\n";
    assert_eq!(l.load_yaml_str(yaml, "ct.yml"), Ok(1));
    assert_eq!(expand_ok("`ct(t)`", &l).text, "convert ctime(t)");
    assert!(l.load_yaml_str("name: x\n", "bad.yml").is_err());
    assert!(l.load_yaml_str(": : :\n", "bad.yml").is_err());
}

// ------------------------------------------------------------------------------------------------------
// security_content corpus
// ------------------------------------------------------------------------------------------------------

// the tests' one helper for `../shared`: SKIPPED where it is absent, a failure under CI
#[path = "../../tests/common/shared.rs"]
mod shared_material;

/// `../shared/<rel>`, or `None` (printing SKIPPED) where it is absent.
fn shared(rel: &str) -> Option<PathBuf> {
    shared_material::shared(rel, "reads the published macros and detections")
}

fn security_content_lib() -> Option<MacroLibrary> {
    let dir = shared("security_content/macros")?;
    let mut l = MacroLibrary::new();
    match l.load_path(&dir) {
        Ok(n) => assert_eq!(n, 189),
        Err(e) => panic!("loading {}: {e}", dir.display()),
    }
    Some(l)
}

#[test]
fn security_content_macros_all_load() {
    let Some(l) = security_content_lib() else {
        return;
    };
    assert_eq!(l.len(), 189);
    assert!(l.get("security_content_ctime", 1).is_some());
    assert_eq!(
        l.get("cloudtrail", 0).map(|d| d.definition.as_str()),
        Some("sourcetype=aws:cloudtrail")
    );
}

#[test]
fn seeds_expand() {
    let Some(l) = security_content_lib() else {
        return;
    };
    let Some(seeds) = shared("seeds") else {
        return;
    };
    for name in [
        "detect_api_activity_from_users_without_mfa",
        "detect_aws_api_activities_from_unapproved_accounts",
    ] {
        let path = seeds.join(format!("{name}.spl"));
        let src =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let e = expand_ok(&src, &l);
        assert!(
            e.text.starts_with("sourcetype=aws:cloudtrail "),
            "{}",
            e.text
        );
        assert!(
            e.text
                .contains(r#"| convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(firstTime)"#),
            "{}",
            e.text
        );
        assert!(
            e.text
                .contains(r#"convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(lastTime)"#),
            "{}",
            e.text
        );
        assert!(!e.text.contains('`'), "{}", e.text);
        assert_eq!(e.defaulted_filters, vec![format!("{name}_filter")]);
        // The text after the last macro maps back exactly.
        let stats = e.text.find("| stats").unwrap_or_default();
        assert_eq!(
            e.map.origin(stats),
            (src.find("| stats").unwrap_or_default(), vec![])
        );
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(p);
        }
    }
}

/// Expands every detection's `search`: all expand but the two that call macros the checkout does not
/// define (each missing macro is stubbed and the search retried, so that every one is named).
#[test]
fn security_content_detections_expand() {
    let Some(mut l) = security_content_lib() else {
        return;
    };
    let Some(dir) = shared("security_content/detections") else {
        return;
    };
    l.insert(def(
        "drop_dm_object_name",
        &["object"],
        "rename $object$.* AS *",
    ));
    let mut files = Vec::new();
    yaml_files(&dir, &mut files);
    files.sort();

    #[derive(serde::Deserialize)]
    struct Detection {
        search: Option<String>,
    }
    let (mut ok, mut failed, mut no_search, mut unreadable) = (0, 0, 0, 0);
    let mut unknown: HashMap<String, usize> = HashMap::new();
    let mut other_errors: HashMap<String, usize> = HashMap::new();
    let mut filters = 0;
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            unreadable += 1;
            continue;
        };
        let parsed = serde_saphyr::from_str::<Detection>(&text)
            .or_else(|_| serde_saphyr::from_str::<Detection>(&indent_quoted_continuations(&text)));
        let search = match parsed {
            Ok(Detection { search: Some(s) }) => s,
            Ok(_) => {
                no_search += 1;
                continue;
            }
            Err(_) => {
                unreadable += 1;
                continue;
            }
        };
        // On an unknown macro, stub it and retry, so every missing macro of the search is counted.
        let mut local = l.clone();
        let mut first = true;
        for _ in 0..30 {
            match expand(&search, &local) {
                Ok(e) => {
                    if first {
                        ok += 1;
                        filters += e.defaulted_filters.len();
                    }
                    break;
                }
                Err(err) => {
                    if first {
                        failed += 1;
                        first = false;
                    }
                    let Some(rest) = err.message.strip_prefix("unknown macro `") else {
                        *other_errors.entry(err.message.clone()).or_default() += 1;
                        break;
                    };
                    let name = rest.split('`').next().unwrap_or_default().to_string();
                    let arity = rest
                        .split("(called with ")
                        .nth(1)
                        .and_then(|r| r.split(' ').next())
                        .and_then(|n| n.parse::<usize>().ok())
                        .unwrap_or(0);
                    let args: Vec<String> = (0..arity).map(|i| format!("a{i}")).collect();
                    *unknown.entry(stanza_name(&name, arity)).or_default() += 1;
                    local.insert(MacroDef {
                        name,
                        args,
                        definition: String::new(),
                        iseval: false,
                        origin: "stub".to_string(),
                    });
                }
            }
        }
    }
    // the corpus as checked in: every detection has a search that expands, but for two that call macros
    // security_content does not define
    assert_eq!((files.len(), no_search, unreadable), (1711, 0, 0));
    assert_eq!((ok, failed), (1709, 2), "unknown macros: {unknown:?}");
    assert_eq!(filters, 1709, "each expanded search has its *_filter macro");
    let mut names: Vec<String> = unknown.into_keys().collect();
    names.sort();
    assert_eq!(
        names,
        ["cim_corporate_web_domain_search(1)", "get_asset(1)"]
    );
    assert!(other_errors.is_empty(), "{other_errors:?}");
}

#[test]
fn yaml_quoted_definition_continuing_in_column_zero() {
    let yaml = "arguments:\n  - x\ndefinition: 'eval a=split($x$,\"\") \n| eval b=''it''s'' \n\n| fields - c'\nname: multi\n";
    let mut l = MacroLibrary::new();
    assert_eq!(l.load_yaml_str(yaml, "multi.yml"), Ok(1));
    assert_eq!(
        l.get("multi", 1).map(|d| d.definition.as_str()),
        Some("eval a=split($x$,\"\") | eval b='it's'\n| fields - c")
    );
    let nested = "- k: \"a\n  b\\\"\nc\"\n- 'x'\n";
    assert_eq!(
        indent_quoted_continuations(nested),
        "- k: \"a\n    b\\\"\n    c\"\n- 'x'\n"
    );
}

#[test]
fn deeply_nested_arguments_are_refused_without_overflow() {
    let l = lib(&[("m", &["x"], "($x$)")]);
    let ok = format!("{}x{}", "`m(".repeat(95), ")`".repeat(95));
    assert_eq!(
        expand_ok(&ok, &l).text,
        format!("{}x{}", "(".repeat(95), ")".repeat(95))
    );
    let deep = format!("{}x{}", "`m(".repeat(500), ")`".repeat(500));
    let err = expand_err(&deep, &l);
    assert!(err.message.contains("nested too deeply"), "{}", err.message);
    let open = "`m(".repeat(5000);
    assert!(expand(&open, &l).is_err());
}
