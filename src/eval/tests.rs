//! Expected values are worked out from Splunk's Search Reference ("eval", "Evaluation functions").
//! The clock is 1700000000 = Tue 2023-11-14 22:13:20 UTC.

use super::*;
use crate::event::Event;
use crate::value::Value;
use std::sync::Arc;

const NOW: f64 = 1_700_000_000.0;

fn ctx() -> EvalContext {
    EvalContext {
        now: NOW,
        tz: chrono_tz::UTC,
        max_text: crate::eval::MAX_TEXT,
    }
}

fn mv(values: &[&str]) -> Value {
    Value::Multi(values.iter().map(Value::str).collect::<Vec<_>>().into())
}

fn event() -> Event {
    let mut e = Event::new();
    e.set("num", Value::str("10"));
    e.set("name", Value::str("Alice"));
    e.set("mv", mv(&["x", "y", "z"]));
    e.set("a", Value::str("A"));
    e.set("b", Value::str("B"));
    e.set("a.b", Value::str("dotted"));
    e.set("empty", Value::str(""));
    e.set("userIdentity.arn", Value::str("arn:aws:iam::1:user/bob"));
    e.set("resources{}.ARN", mv(&["arn:1", "arn:2"]));
    e.set("field with space", Value::str("spaced"));
    e.set("pattern", Value::str("("));
    e.set("json", Value::str(r#"{"a":{"b":[1,2,{"c":"d"}]},"s":"t"}"#));
    e.set("_time", Value::Num(NOW));
    e
}

fn run_in(src: &str, c: &EvalContext) -> Option<Value> {
    let e = parse_expr(src).unwrap_or_else(|err| panic!("parse {src}: {err} at {}", err.offset));
    e.eval(&event(), c)
        .unwrap_or_else(|err| panic!("eval {src}: {err}"))
}

fn run(src: &str) -> Option<Value> {
    run_in(src, &ctx())
}

/// The result as text (multivalues joined by newlines), `<null>` for null.
fn t(src: &str) -> String {
    match run(src) {
        Some(v) => v.to_string(),
        None => "<null>".into(),
    }
}

fn t_tz(src: &str, tz: chrono_tz::Tz) -> String {
    match run_in(
        src,
        &EvalContext {
            now: NOW,
            tz,
            max_text: crate::eval::MAX_TEXT,
        },
    ) {
        Some(v) => v.to_string(),
        None => "<null>".into(),
    }
}

fn perr(src: &str) -> ParseError {
    match parse_expr(src) {
        Ok(e) => panic!("{src} parsed: {e:?}"),
        Err(e) => e,
    }
}

// ---------- syntax and operators

#[test]
fn precedence_follows_splunk() {
    assert_eq!(t("1+2*3"), "7");
    assert_eq!(t("(1+2)*3"), "9");
    assert_eq!(t("-2*3"), "-6");
    assert_eq!(t("10-2-3"), "5");
    assert_eq!(t("2 - -1"), "3");
    assert_eq!(t("- num"), "-10");
    assert_eq!(t("7 % 3"), "1");
    assert_eq!(t("10/4"), "2.5");
    // `.` is at the level of `+`, left to right
    assert_eq!(t("2*3 . \"x\""), "6x");
    assert_eq!(t("1 + 2 . 3"), "33");
    // NOT > AND > XOR > OR, all looser than comparisons
    assert_eq!(t("NOT 1=2 AND 1=1"), "true");
    assert_eq!(t("1=1 OR 1=2 AND 1=2"), "true");
    assert_eq!(t("(1=1 OR 1=2) AND 1=2"), "false");
    assert_eq!(t("1=2 XOR 1=1"), "true");
    assert_eq!(t("1=1 XOR 1=1 OR 1=1"), "true");
    assert_eq!(t("NOT NOT 1=1"), "true");
    assert_eq!(t("1 + 1 = 2"), "true");
}

#[test]
fn keywords_are_case_insensitive() {
    assert_eq!(t("1=1 and 2=2"), "true");
    assert_eq!(t("not 1=2"), "true");
    assert_eq!(t("1=2 or 2=2"), "true");
    assert_eq!(t("name like \"Al%\""), "true");
    assert_eq!(t("name in (\"Bob\", \"Alice\")"), "true");
    assert_eq!(t("if(TRUE, 1, 2)"), "1");
    assert_eq!(t("if(false, 1, 2)"), "2");
    assert_eq!(t("LOWER(\"A\")"), "a");
}

#[test]
fn literals() {
    assert_eq!(t("1e3"), "1000");
    assert_eq!(t("2.5e-1"), "0.25");
    assert_eq!(t(".5 + 1"), "1.5");
    assert_eq!(t("1=1 AND .25 < 1"), "true");
    assert_eq!(t(r#""a\"b\\c\d""#), r#"a"b\c\d"#);
    assert_eq!(t("'field with space'"), "spaced");
}

#[test]
fn dots_in_names_versus_concatenation() {
    // Splunk writes a field name with a dot in single quotes; a bare `.` concatenates, spaces or not
    assert_eq!(t("a.b"), "AB");
    assert_eq!(t("'a.b'"), "dotted");
    assert_eq!(t("a . b"), "AB");
    assert_eq!(t("a.\"x\""), "Ax");
    assert_eq!(t("\"x\".a"), "xA");
    assert_eq!(t("\"x\" . a . \"y\""), "xAy");
    assert_eq!(t("'userIdentity.arn'"), "arn:aws:iam::1:user/bob");
    assert_eq!(t("'resources{}.ARN'"), "arn:1\narn:2");
    // two fields that do not exist: null joined with null is null
    assert_eq!(t("isnull(userIdentity.arn)"), "true");
    assert_eq!(t("\"%\".name.\"%\""), "%Alice%");
}

#[test]
fn plus_adds_numbers_and_joins_text() {
    assert_eq!(t("num + 1"), "11");
    assert_eq!(t("\"a\" + \"b\""), "ab");
    assert_eq!(t("name + 1"), "Alice1");
    assert_eq!(t("\"1\" + \"2\""), "3");
    assert_eq!(t("num - \"x\""), "<null>");
    assert_eq!(t("1/0"), "<null>");
    assert_eq!(t("1%0"), "<null>");
}

#[test]
fn null_rules() {
    assert_eq!(t("missing + 1"), "<null>");
    assert_eq!(t("missing . \"x\""), "<null>");
    assert_eq!(t("missing = 1"), "false");
    assert_eq!(t("missing != 1"), "false");
    assert_eq!(t("missing < 1"), "false");
    assert_eq!(t("NOT missing = 1"), "true");
    assert_eq!(t("if(missing > 1, \"y\", \"n\")"), "n");
    assert_eq!(t("if(missing, \"y\", \"n\")"), "n");
    assert_eq!(t("missing AND 1=1"), "false");
    assert_eq!(t("missing OR 1=1"), "true");
    assert_eq!(t("-missing"), "<null>");
    assert_eq!(t("missing IN (1, 2)"), "false");
    assert_eq!(t("missing NOT IN (1, 2)"), "true");
}

#[test]
fn comparisons_numeric_or_case_sensitive_text() {
    assert_eq!(t("num > 9"), "true");
    assert_eq!(t("num = 10.0"), "true");
    assert_eq!(t("num == \"10\""), "true");
    assert_eq!(t("\"10\" < \"9\""), "false");
    assert_eq!(t("\"abc\" < \"abd\""), "true");
    assert_eq!(t("name = \"alice\""), "false");
    assert_eq!(t("name = \"Alice\""), "true");
    assert_eq!(t("name != \"Bob\""), "true");
    assert_eq!(t("num >= 10 AND num <= 10"), "true");
    assert_eq!(t("name LIKE \"al%\""), "false");
    assert_eq!(t("name NOT LIKE \"B%\""), "true");
    assert_eq!(t("(1=1) = \"true\""), "true");
}

#[test]
fn multivalue_comparisons_match_any_value() {
    assert_eq!(t("mv = \"y\""), "true");
    assert_eq!(t("mv = \"q\""), "false");
    assert_eq!(t("mv != \"x\""), "true");
    assert_eq!(t("mv IN (\"z\")"), "true");
    assert_eq!(t("mv LIKE \"%y\""), "true");
}

#[test]
fn in_operator_and_function() {
    assert_eq!(t("name IN (\"Bob\",\"Alice\")"), "true");
    assert_eq!(t("name NOT IN (\"Bob\")"), "true");
    assert_eq!(t("num IN (10)"), "true");
    assert_eq!(t("in(name, \"Bob\")"), "false");
    assert_eq!(t("in(mv, \"a\", \"x\")"), "true");
}

#[test]
fn booleans_become_text_and_is_true_reads_them() {
    assert_eq!(run("1 < 2"), Some(Value::str("true")));
    assert_eq!(run("1 > 2"), Some(Value::str("false")));
    assert!(is_true(&run("1 < 2")));
    assert!(!is_true(&run("1 > 2")));
    assert!(!is_true(&None));
    assert!(is_true(&Some(Value::str("True"))));
    assert!(!is_true(&Some(Value::Num(1.0))));
    assert!(!is_true(&Some(Value::str("yes"))));
    let e = parse_expr("num > 5").unwrap();
    assert_eq!(e.test(&event(), &ctx()), Ok(true));
}

// ---------- conditions and types

#[test]
fn conditional_functions() {
    assert_eq!(t("if(num > 5, \"big\", \"small\")"), "big");
    assert_eq!(t("case(num>100,\"big\", num>5,\"mid\")"), "mid");
    assert_eq!(t("case(1=2, \"x\")"), "<null>");
    assert_eq!(t("case(1=2, \"x\", true(), \"other\")"), "other");
    assert_eq!(t("coalesce(missing, empty, \"z\")"), "");
    assert_eq!(t("coalesce(missing, name)"), "Alice");
    assert_eq!(t("coalesce(missing, null())"), "<null>");
    assert_eq!(t("nullif(1, 1)"), "<null>");
    assert_eq!(t("nullif(num, 2)"), "10");
    assert_eq!(
        t("validate(num>5, \"small\", isnull(missing), \"has missing\")"),
        "<null>"
    );
    assert_eq!(
        t("validate(num>5, \"small\", num>50, \"not big\")"),
        "not big"
    );
}

#[test]
fn null_and_type_tests() {
    assert_eq!(t("isnull(missing)"), "true");
    assert_eq!(t("isnull(empty)"), "false");
    assert_eq!(t("isnotnull(name)"), "true");
    assert_eq!(t("isnum(num)"), "true");
    assert_eq!(t("isnum(\"42\")"), "false");
    assert_eq!(t("isnum(name)"), "false");
    assert_eq!(t("isstr(name)"), "true");
    assert_eq!(t("isstr(num)"), "false");
    assert_eq!(t("isint(num)"), "true");
    assert_eq!(t("isint(1.5)"), "false");
    assert_eq!(t("isbool(1=1)"), "true");
    assert_eq!(t("isbool(1)"), "false");
    assert_eq!(t("typeof(num)"), "Number");
    assert_eq!(t("typeof(\"x\")"), "String");
    assert_eq!(t("typeof(1=1)"), "Boolean");
    assert_eq!(t("typeof(missing)"), "Invalid");
    assert_eq!(t("typeof(mv)"), "Multivalue");
    assert_eq!(t("true()"), "true");
    assert_eq!(t("false()"), "false");
    assert_eq!(t("null()"), "<null>");
}

// ---------- text

#[test]
fn pattern_functions() {
    assert_eq!(t("like(\"abc\", \"a_c\")"), "true");
    assert_eq!(t("like(\"abc\", \"a%\")"), "true");
    assert_eq!(t("like(\"abc\", \"A%\")"), "false");
    assert_eq!(t("like(\"a.c\", \"a.c\")"), "true");
    assert_eq!(t("like(\"abc\", \"a.c\")"), "false");
    assert_eq!(t("like(missing, \"%\")"), "false");
    assert_eq!(t("match(name, \"^A\")"), "true");
    assert_eq!(t("match(name, \"^a\")"), "false");
    assert_eq!(t("match(name, \"lic\")"), "true");
    assert_eq!(t(r#"match("a1", "\d")"#), "true");
    assert_eq!(t("match(mv, \"^z$\")"), "true");
    assert_eq!(t("match(missing, \".\")"), "false");
}

#[test]
fn pcre_habits_are_read() {
    assert_eq!(t(r#"match("a{b", "({|%7b)b")"#), "true");
    assert_eq!(t(r#"match("x%7bb", "({|%7b)b")"#), "true");
    assert_eq!(t(r#"match("aa", "^a{2}$")"#), "true");
    assert_eq!(t(r#"match("a-b", "^[\w-.]+$")"#), "true");
    assert_eq!(t(r#"match("a.b", "\Qa.b\E")"#), "true");
    assert_eq!(t(r#"match("axb", "\Qa.b\E")"#), "false");
    assert_eq!(t(r#"match("a b", "a\hb")"#), "true");
    assert_eq!(t(r#"match("ab", "b\Z")"#), "true");
    assert_eq!(t(r#"match("]", "[]]")"#), "true");
    assert_eq!(t(r#"match("x", "[^]]")"#), "true");
    // PCRE's `\x` takes one or two hex digits, or a braced code point
    assert_eq!(t(r#"match("AB", "^\x41\x42$")"#), "true");
    assert_eq!(t(r#"match(urldecode("%09"), "^\x9$")"#), "true");
    assert_eq!(t(r#"match("A1", "^\x{41}[\x30-\x39]$")"#), "true");
    assert_eq!(t(r#"match("x", "\x{202E}")"#), "false");
    assert_eq!(t(r#"match("Ag", "^\x41g$")"#), "true");
}

#[test]
fn case_and_length() {
    assert_eq!(t("lower(name)"), "alice");
    assert_eq!(t("upper(name)"), "ALICE");
    assert_eq!(t("upper(mv)"), "X\nY\nZ");
    assert_eq!(t("len(\"héllo\")"), "5");
    assert_eq!(t("len(empty)"), "0");
    assert_eq!(t("len(missing)"), "<null>");
}

#[test]
fn substr_counts_from_one() {
    assert_eq!(t("substr(\"string\", 1, 3)"), "str");
    assert_eq!(t("substr(\"string\", 3)"), "ring");
    assert_eq!(t("substr(\"string\", -3)"), "ing");
    assert_eq!(t("substr(\"string\", -3, 2)"), "in");
    assert_eq!(t("substr(\"string\", 10)"), "");
    assert_eq!(t("substr(missing, 1)"), "<null>");
}

#[test]
fn replace_uses_regex_and_backreferences() {
    assert_eq!(
        t(r#"replace("2023-01-05", "(\d+)-(\d+)-(\d+)", "\3/\2/\1")"#),
        "05/01/2023"
    );
    assert_eq!(t(r#"replace("a.b.c", "\.", "")"#), "abc");
    assert_eq!(t(r#"replace("cost", "cost", "$5")"#), "$5");
    assert_eq!(t(r#"replace("C:\\x\\y", "\\\\", "/")"#), "C:/x/y");
    assert_eq!(t("replace(mv, \"[xy]\", \"-\")"), "-\n-\nz");
}

#[test]
fn trims() {
    assert_eq!(t("trim(\"  a  \")"), "a");
    assert_eq!(t("ltrim(\"  a  \")"), "a  ");
    assert_eq!(t("rtrim(\"  a  \")"), "  a");
    assert_eq!(t("trim(\"zzabczz\", \"z\")"), "abc");
    assert_eq!(t("rtrim(\"xxaxx\", \"x\")"), "xxa");
    assert_eq!(t("ltrim(\"xyaxy\", \"yx\")"), "axy");
}

#[test]
fn split_and_urldecode() {
    assert_eq!(t("split(\"a,b,,c\", \",\")"), "a\nb\n\nc");
    assert_eq!(t("mvcount(split(\"a,b,,c\", \",\"))"), "4");
    assert_eq!(t("split(\"abc\", \"\")"), "a\nb\nc");
    assert_eq!(t("split(\"abc\", \",\")"), "abc");
    assert_eq!(
        t("urldecode(\"http%3A%2F%2Fexample.com%2Fa%20b+c\")"),
        "http://example.com/a b c"
    );
    assert_eq!(t("urldecode(\"100%\")"), "100%");
}

#[test]
fn tostring_formats() {
    assert_eq!(t("tostring(15, \"hex\")"), "0xF");
    assert_eq!(t("tostring(1234567.891, \"commas\")"), "1,234,567.89");
    assert_eq!(t("tostring(1234567, \"commas\")"), "1,234,567");
    assert_eq!(t("tostring(615, \"duration\")"), "00:10:15");
    assert_eq!(t("tostring(90061, \"duration\")"), "1+01:01:01");
    assert_eq!(t("tostring(1=1)"), "True");
    assert_eq!(t("tostring(3.50)"), "3.5");
    assert_eq!(t("tostring(num) . \"!\""), "10!");
    assert_eq!(t("tostring(name, \"hex\")"), "<null>");
}

#[test]
fn tonumber_with_bases() {
    assert_eq!(run("tonumber(\"0A4\", 16)"), Some(Value::Num(164.0)));
    assert_eq!(run("tonumber(\"42\")"), Some(Value::Num(42.0)));
    assert_eq!(t("tonumber(\"1010\", 2)"), "10");
    assert_eq!(t("tonumber(\"0x1F\")"), "31");
    assert_eq!(t("tonumber(\" 3.5 \")"), "3.5");
    assert_eq!(t("tonumber(\"abc\")"), "<null>");
    assert_eq!(t("tonumber(\"12\", 2)"), "<null>");
}

#[test]
fn printf_conversions() {
    assert_eq!(
        t(
            r#"printf("%d|%5.2f|%-4s|%x|%o|%e|%c|%%|%05d|%+d", 42, 3.14159, "ab", 255, 8, 1234.5, 65, 7, 3)"#
        ),
        "42| 3.14|ab  |ff|10|1.234500e+03|A|%|00007|+3"
    );
    assert_eq!(t(r#"printf("%'d", 1234567)"#), "1,234,567");
    assert_eq!(t(r#"printf("[%s]", missing)"#), "[]");
    assert_eq!(t(r#"printf("%.1f%%", 12.345)"#), "12.3%");
    assert_eq!(t(r#"printf("%i %X %#x", 3.9, 255, 255)"#), "3 FF 0xff");
    assert_eq!(
        t(r#"printf("%g %g", 0.0001, 1234567)"#),
        "0.0001 1.23457e+06"
    );
    assert_eq!(t(r#"printf("%5s|%.2s", "ab", "abcdef")"#), "   ab|ab");
}

#[test]
fn hashes() {
    assert_eq!(t("md5(\"abc\")"), "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(
        t("sha1(\"abc\")"),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(t("sha1(\"\")"), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert_eq!(
        super::digest::sha1_hex(&"a".repeat(1000)),
        "291e9a6c66994949b57ba5e650361e98fc36b1ba"
    );
    assert_eq!(
        t("sha256(\"abc\")"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(t("sha512(\"abc\")").starts_with("ddaf35a193617abacc417349ae204131"));
}

// ---------- numbers

#[test]
fn rounding_and_math() {
    assert_eq!(t("round(3.5)"), "4");
    assert_eq!(t("round(-2.5)"), "-3");
    assert_eq!(t("round(2.555, 2)"), "2.56");
    assert_eq!(t("round(2.675, 2)"), "2.68");
    assert_eq!(t("round(3.14159, 3)"), "3.142");
    assert_eq!(t("round(1234, -2)"), "1200");
    assert_eq!(t("floor(2.7)"), "2");
    assert_eq!(t("ceil(2.1)"), "3");
    assert_eq!(t("ceiling(2.1)"), "3");
    assert_eq!(t("abs(-3)"), "3");
    assert_eq!(t("pow(2, 10)"), "1024");
    assert_eq!(t("sqrt(16)"), "4");
    assert_eq!(t("sqrt(-1)"), "<null>");
    assert_eq!(t("exp(0)"), "1");
    assert_eq!(t("ln(1)"), "0");
    assert_eq!(t("ln(0)"), "<null>");
    assert_eq!(t("log(100)"), "2");
    assert_eq!(t("log(8, 2)"), "3");
    assert_eq!(t("pi()"), "3.141592653589793");
    assert_eq!(t("exact(0.1 + 0.2)"), "0.30000000000000004");
    assert_eq!(t("abs(name)"), "<null>");
}

#[test]
fn trigonometry_and_bits() {
    assert_eq!(t("cos(0)"), "1");
    assert_eq!(t("sin(0)"), "0");
    assert_eq!(t("tan(0)"), "0");
    assert_eq!(t("acos(1)"), "0");
    assert_eq!(t("asin(0)"), "0");
    assert_eq!(t("atan(0)"), "0");
    assert_eq!(t("atan2(0, 1)"), "0");
    assert_eq!(t("cosh(0)"), "1");
    assert_eq!(t("sinh(0)"), "0");
    assert_eq!(t("tanh(0)"), "0");
    assert_eq!(t("acosh(1)"), "0");
    assert_eq!(t("asinh(0)"), "0");
    assert_eq!(t("atanh(0)"), "0");
    assert_eq!(t("hypot(3, 4)"), "5");
    assert_eq!(t("bit_and(12, 10)"), "8");
    assert_eq!(t("bit_or(12, 10)"), "14");
    assert_eq!(t("bit_xor(12, 10)"), "6");
    assert_eq!(t("bit_shift_left(1, 4)"), "16");
    assert_eq!(t("bit_shift_right(16, 2)"), "4");
}

#[test]
fn min_max_avg_over_all_values() {
    assert_eq!(run("min(3, 1, \"10\")"), Some(Value::Num(1.0)));
    assert_eq!(t("max(3, \"10\", 2)"), "10");
    // strings sort after numbers
    assert_eq!(t("max(3, \"abc\", 10)"), "abc");
    assert_eq!(t("min(3, \"abc\", 10)"), "3");
    assert_eq!(t("max(num, 5)"), "10");
    assert_eq!(t("min(mv)"), "x");
    assert_eq!(t("max(missing, 2)"), "2");
    assert_eq!(t("avg(1, 2, 3)"), "2");
}

#[test]
fn random_is_in_range() {
    let e = parse_expr("random()").unwrap();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        let v = e
            .eval(&event(), &ctx())
            .unwrap()
            .and_then(|v| v.as_num())
            .unwrap();
        assert!((0.0..2147483648.0).contains(&v));
        assert_eq!(v.fract(), 0.0);
        seen.insert(v as i64);
    }
    assert!(seen.len() > 15);
}

// ---------- multivalue

#[test]
fn multivalue_functions() {
    assert_eq!(t("mvcount(mv)"), "3");
    assert_eq!(t("mvcount(name)"), "1");
    assert_eq!(t("mvcount(missing)"), "<null>");
    assert_eq!(t("mvindex(mv, 0)"), "x");
    assert_eq!(t("mvindex(mv, -1)"), "z");
    assert_eq!(t("mvindex(mv, 1, 2)"), "y\nz");
    assert_eq!(t("mvindex(mv, 0, -2)"), "x\ny");
    assert_eq!(t("mvindex(mv, 1, 9)"), "y\nz");
    assert_eq!(t("mvindex(mv, 5)"), "<null>");
    assert_eq!(t("mvindex(mv, -4)"), "<null>");
    assert_eq!(t("mvindex(split(\"a:b\", \":\"), 0)"), "a");
    assert_eq!(t("mvjoin(mv, \";\")"), "x;y;z");
    assert_eq!(t("mvappend(name, mv, missing, \"q\")"), "Alice\nx\ny\nz\nq");
    assert_eq!(t("mvappend(missing)"), "<null>");
    assert_eq!(t("mvdedup(mvappend(\"a\", \"b\", \"a\"))"), "a\nb");
    assert_eq!(t("mvfind(mv, \"z\")"), "2");
    assert_eq!(t("mvfind(mv, \"q\")"), "<null>");
    assert_eq!(t("mvzip(mv, split(\"1,2,3\", \",\"))"), "x,1\ny,2\nz,3");
    assert_eq!(t("mvzip(mv, split(\"1,2\", \",\"), \"=\")"), "x=1\ny=2");
    assert_eq!(t("mvsort(split(\"b,10,a,9\", \",\"))"), "10\n9\na\nb");
    assert_eq!(t("mvrange(1, 11, 2)"), "1\n3\n5\n7\n9");
    assert_eq!(t("mvrange(1, 4)"), "1\n2\n3");
    assert_eq!(t("mvrange(4, 1)"), "<null>");
    assert_eq!(t("mv_to_json_array(mv)"), r#"["x","y","z"]"#);
    assert_eq!(
        t("mv_to_json_array(split(\"1,true,a\", \",\"), true())"),
        r#"[1,true,"a"]"#
    );
}

#[test]
fn mvfilter_and_mvmap_bind_each_value() {
    assert_eq!(t("mvfilter(match(mv, \"[xz]\"))"), "x\nz");
    assert_eq!(t("mvfilter(mv != \"y\")"), "x\nz");
    assert_eq!(t("mvfilter(NOT match(mv, \".\"))"), "<null>");
    assert_eq!(t("mvfilter(missing = 1)"), "<null>");
    assert_eq!(t("mvcount(mvfilter(like('resources{}.ARN', \"%2\")))"), "1");
    assert_eq!(t("mvmap(mv, mv . \"!\")"), "x!\ny!\nz!");
    assert_eq!(t("mvmap(mv, upper(mv))"), "X\nY\nZ");
}

// ---------- time

#[test]
fn time_functions_use_context_clock() {
    assert_eq!(run("now()"), Some(Value::Num(NOW)));
    assert_eq!(run("time()"), Some(Value::Num(NOW)));
}

#[test]
fn strftime_codes() {
    assert_eq!(
        t("strftime(_time, \"%Y-%m-%dT%H:%M:%S\")"),
        "2023-11-14T22:13:20"
    );
    assert_eq!(
        t("strftime(1700000000, \"%a %A %b %B %d %j %p %I %Z %z %y\")"),
        "Tue Tuesday Nov November 14 318 PM 10 UTC +0000 23"
    );
    assert_eq!(
        t("strftime(1700000000.123456, \"%3N %6N %Q %N\")"),
        "123 123456 123 123456001"
    );
    assert_eq!(
        t("strftime(1700000000, \"%s %e %k %l\")"),
        "1700000000 14 22 10"
    );
    assert_eq!(t("strftime(1700000000, \"%F %T\")"), "2023-11-14 22:13:20");
    assert_eq!(
        t("strftime(1700000000, \"%+\")"),
        "Tue Nov 14 22:13:20 UTC 2023"
    );
    assert_eq!(t("strftime(1700000000, \"%H\")"), "22");
    assert_eq!(t("strftime(1700000000, \"%w %u\")"), "2 2");
    assert_eq!(t("strftime(1700000000, \"%Y %q\")"), "2023 %q");
    assert_eq!(
        t_tz(
            "strftime(1700000000, \"%H:%M %Z %z %:z\")",
            chrono_tz::America::New_York
        ),
        "17:13 EST -0500 -05:00"
    );
    assert_eq!(t("strftime(name, \"%Y\")"), "<null>");
}

#[test]
fn strptime_codes() {
    assert_eq!(
        run("strptime(\"2023-11-14T22:13:20.500Z\", \"%Y-%m-%dT%H:%M:%S.%3N%z\")"),
        Some(Value::Num(1700000000.5))
    );
    assert_eq!(
        t("strptime(\"11/14/2023 22:13:20\", \"%m/%d/%Y %H:%M:%S\")"),
        "1700000000"
    );
    assert_eq!(
        t("strptime(\"Nov 14 2023 10:13:20 PM\", \"%b %d %Y %I:%M:%S %p\")"),
        "1700000000"
    );
    assert_eq!(
        t("strptime(\"Tuesday, 14 November 2023 22:13\", \"%A, %d %B %Y %H:%M\")"),
        "1699999980"
    );
    assert_eq!(
        t("strptime(\"2023-11-14 22:13:20+01:00\", \"%F %T%z\")"),
        "1699996400"
    );
    assert_eq!(t("strptime(\"1700000000\", \"%s\")"), "1700000000");
    assert_eq!(
        t("strptime(\"2023-11-14 22:13:20 trailing\", \"%F %T\")"),
        "1700000000"
    );
    assert_eq!(t("strptime(\"garbage\", \"%Y\")"), "<null>");
    assert_eq!(t("strptime(\"2023-13-01\", \"%Y-%m-%d\")"), "<null>");
    assert_eq!(
        t_tz(
            "strptime(\"2023-11-14 17:13:20\", \"%Y-%m-%d %H:%M:%S\")",
            chrono_tz::America::New_York
        ),
        "1700000000"
    );
    assert_eq!(
        t_tz(
            "strptime(\"2023-11-14 22:13:20 UTC\", \"%Y-%m-%d %H:%M:%S %Z\")",
            chrono_tz::America::New_York
        ),
        "1700000000"
    );
}

#[test]
fn relative_time_modifiers() {
    let rt = |spec: &str| t(&format!("relative_time(1700000000, \"{spec}\")"));
    assert_eq!(rt("-1d@d"), "1699833600");
    assert_eq!(rt("@d"), "1699920000");
    assert_eq!(rt("-70m@m"), "1699995780");
    assert_eq!(rt("@w0"), "1699747200");
    assert_eq!(rt("@w"), "1699747200");
    assert_eq!(rt("@w1"), "1699833600");
    assert_eq!(rt("@w7"), "1699747200");
    assert_eq!(rt("+1h"), "1700003600");
    assert_eq!(rt("-24h@h"), "1699912800");
    assert_eq!(rt("@mon"), "1698796800");
    assert_eq!(rt("@y"), "1672531200");
    assert_eq!(rt("@q"), "1696118400");
    assert_eq!(rt("-1mon"), "1697321600");
    assert_eq!(rt("-1month"), "1697321600");
    assert_eq!(rt("-2weeks"), "1698790400");
    assert_eq!(rt("-1d@d+2h"), "1699840800");
    assert_eq!(rt("-30s"), "1699999970");
    assert_eq!(rt("+1y"), "1731622400");
    assert_eq!(rt("now"), "1700000000");
    assert_eq!(rt("bogus"), "<null>");
    assert_eq!(rt("@x"), "<null>");
    assert_eq!(t("relative_time(now(), \"-1d\")"), "1699913600");
    assert_eq!(
        t_tz(
            "relative_time(1700000000, \"@d\")",
            chrono_tz::America::New_York
        ),
        "1699938000"
    );
}

// ---------- network, JSON

#[test]
fn ip_functions() {
    assert_eq!(t("cidrmatch(\"10.0.0.0/8\", \"10.1.2.3\")"), "true");
    assert_eq!(t("cidrmatch(\"10.0.0.0/8\", \"11.0.0.1\")"), "false");
    assert_eq!(t("cidrmatch(\"192.168.1.5\", \"192.168.1.5\")"), "true");
    assert_eq!(t("cidrmatch(\"2001:db8::/32\", \"2001:db8::1\")"), "true");
    assert_eq!(t("cidrmatch(\"2001:db8::/32\", \"2001:db9::1\")"), "false");
    assert_eq!(t("cidrmatch(\"10.0.0.0/8\", \"not an ip\")"), "false");
    assert_eq!(t("cidrmatch(\"0.0.0.0/0\", \"8.8.8.8\")"), "true");
    assert_eq!(
        t("ipmask(\"255.255.255.0\", \"10.20.30.120\")"),
        "10.20.30.0"
    );
}

#[test]
fn json_functions() {
    assert_eq!(t("spath(json, \"a.b{3}.c\")"), "d");
    assert_eq!(t("spath(json, \"a.b{1}\")"), "1");
    assert_eq!(t("spath(json, \"a.b{}\")"), "1\n2\n{\"c\":\"d\"}");
    assert_eq!(t("spath(json, \"a.b{}.c\")"), "d");
    assert_eq!(t("spath(json, \"s\")"), "t");
    assert_eq!(t("spath(json, \"nope\")"), "<null>");
    assert_eq!(t("spath(name, \"a\")"), "<null>");
    assert_eq!(t("json_extract(json, \"a.b{2}.c\")"), "d");
    assert_eq!(t("json_extract(json, \"s\")"), "t");
    assert_eq!(t("json_extract(json, \"a.b{0}\", \"s\")"), r#"[1,"t"]"#);
    assert_eq!(t("json_extract(json, \"a.b{}\")"), r#"[1,2,{"c":"d"}]"#);
    assert_eq!(
        t("json_extract(json)"),
        r#"{"a":{"b":[1,2,{"c":"d"}]},"s":"t"}"#
    );
    assert_eq!(t(r#"json_extract_exact("{\"a.b\":1}", "a.b")"#), "1");
    assert_eq!(t("json_keys(json)"), r#"["a","s"]"#);
    assert_eq!(t("json_valid(json)"), "true");
    assert_eq!(t("json_valid(\"{\")"), "false");
    assert_eq!(
        t("json_object(\"a\", 1, \"b\", \"x\", \"c\", json_array(1, \"y\", 1=1, null()))"),
        r#"{"a":1,"b":"x","c":[1,"y",true,null]}"#
    );
    assert_eq!(t("json_object()"), "{}");
    assert_eq!(t(r#"json_array_to_mv("[\"a\",1]")"#), "a\n1");
    assert_eq!(t(r#"json_array_to_mv("[\"a\",1]", true())"#), "\"a\"\n1");
}

#[test]
fn searchmatch_is_refused_at_run_time() {
    let e = parse_expr("1 + searchmatch(\"x\")").unwrap();
    let err = e.eval(&event(), &ctx()).unwrap_err();
    assert_eq!(err.offset, 4);
    assert!(err.message.starts_with("searchmatch:"), "{}", err.message);
}

// ---------- parse errors, runtime errors, planner info

#[test]
fn unknown_function_names_it_and_suggests() {
    let e = perr("lenn(x)");
    assert_eq!(e.offset, 0);
    assert_eq!(
        e.to_string(),
        "unknown function `lenn` (did you mean `len`?)"
    );
    let e = perr("a + zzzzzzzz(1)");
    assert_eq!(e.offset, 4);
    assert_eq!(e.to_string(), "unknown function `zzzzzzzz`");
    let e = perr("mvfiltr(x)");
    assert_eq!(
        e.to_string(),
        "unknown function `mvfiltr` (did you mean `mvfilter`?)"
    );
}

#[test]
fn wrong_argument_counts_are_parse_errors() {
    let e = perr("x + substr(\"a\")");
    assert_eq!(e.offset, 4);
    assert_eq!(
        e.to_string(),
        "expected 2 to 3 arguments to `substr`, found 1"
    );
    let e = perr("if(a, b)");
    assert_eq!(e.to_string(), "expected 3 arguments to `if`, found 2");
    let e = perr("case(a)");
    assert_eq!(
        e.to_string(),
        "expected an even number of arguments, at least 2 to `case`, found 1"
    );
    let e = perr("now(1)");
    assert_eq!(e.to_string(), "expected 0 arguments to `now`, found 1");
    let e = perr("coalesce()");
    assert_eq!(
        e.to_string(),
        "expected at least 1 argument to `coalesce`, found 0"
    );
}

#[test]
fn syntax_errors_point_at_the_problem() {
    let e = perr("1 +");
    assert_eq!(
        (e.offset, e.to_string()),
        (3, "expected a value, found end of input".into())
    );
    let e = perr("(1 + 2");
    assert_eq!(e.offset, 6);
    assert_eq!(
        e.to_string(),
        "expected `)` or an operator, found end of input"
    );
    let e = perr("x = \"abc");
    assert_eq!(e.offset, 4);
    let e = perr("a b");
    assert_eq!(e.offset, 2);
    assert_eq!(
        e.to_string(),
        "expected an operator or end of expression, found `b`"
    );
    let e = perr("1 # 2");
    assert_eq!((e.offset, e.found.as_str()), (2, "`#`"));
    let e = perr("");
    assert_eq!(e.to_string(), "expected an expression, found end of input");
    let e = perr("a AND");
    assert_eq!(e.offset, 5);
    let e = perr("x IN 1");
    assert_eq!(e.to_string(), "expected `(` after IN, found `1`");
    let e = perr("f(1,)");
    assert_eq!(e.offset, 0);
    let e = perr("len(1,)");
    assert_eq!(
        (e.offset, e.to_string()),
        (6, "expected a value, found `)`".into())
    );
    let e = perr("match(x, \"(\")");
    assert_eq!(e.offset, 9);
    assert_eq!(e.expected, "a regular expression");
    let e = perr("mvfilter(1=1)");
    assert_eq!(e.offset, 9);
    let e = perr("'unclosed");
    assert_eq!(e.offset, 0);
}

#[test]
fn runtime_errors_carry_offsets() {
    let e = parse_expr("x . match(name, pattern)").unwrap();
    let err = e.eval(&event(), &ctx()).unwrap_err();
    assert_eq!(err.offset, 4);
    assert!(err.message.starts_with("match:"), "{}", err.message);
    let e = parse_expr("tonumber(\"1\", 99)").unwrap();
    assert_eq!(e.eval(&event(), &ctx()).unwrap_err().offset, 0);
    // a runtime error in an untaken branch does not happen
    assert_eq!(t("if(1=1, 1, match(name, pattern))"), "1");
    assert_eq!(t("1=2 AND match(name, pattern)"), "false");
}

#[test]
fn assignments() {
    let a = parse_assignments("a=1, 'b c'=a+1, \"d\"=2,e = if(x, 1, 2)").unwrap();
    let names: Vec<&str> = a.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "b c", "d", "e"]);
    assert_eq!(a[1].1.fields(), ["a"]);
    assert_eq!(a[1].1.span(), Span { start: 11, end: 14 });
    let one = parse_assignments(" x = num * 2 ").unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(
        one[0].1.eval(&event(), &ctx()).unwrap(),
        Some(Value::Num(20.0))
    );
    let e = parse_assignments("a=1 b=2").unwrap_err();
    assert_eq!(
        (e.offset, e.expected.as_str()),
        (4, "`,` or end of expression")
    );
    let e = parse_assignments("=1").unwrap_err();
    assert_eq!((e.offset, e.expected.as_str()), (0, "a field name"));
    let e = parse_assignments("a=").unwrap_err();
    assert_eq!((e.offset, e.expected.as_str()), (2, "an expression"));
    let e = parse_assignments("a==1").unwrap_err();
    assert_eq!(e.offset, 1);
    let e = parse_assignments("a=1,").unwrap_err();
    assert_eq!((e.offset, e.expected.as_str()), (4, "a field name"));
}

#[test]
fn fields_and_functions_for_the_planner() {
    let e = parse_expr("if(a > 1, 'b c', 'd.e') . a . mvfilter(mv = \"x\")").unwrap();
    assert_eq!(e.fields(), ["a", "b c", "d.e", "mv"]);
    let e = parse_expr("if(len(x)>1, lower(x), x)").unwrap();
    assert_eq!(
        e.functions(),
        [
            ("if".to_string(), 0),
            ("len".to_string(), 3),
            ("lower".to_string(), 13)
        ]
    );
    assert_eq!(parse_expr("1 + 2").unwrap().fields(), Vec::<String>::new());
}

#[test]
fn function_table_is_sorted_and_complete() {
    let mut sorted = FUNCTIONS.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, FUNCTIONS);
    for f in FUNCTIONS {
        assert!(super::functions::lookup(f).is_some(), "{f}");
    }
    assert_eq!(super::functions::levenshtein("kitten", "sitting"), 3);
}

#[test]
fn nothing_panics_on_odd_input() {
    let odd = [
        "",
        "(",
        ")",
        "'",
        "\"",
        "\\",
        "a.",
        ".a",
        "..",
        "1..2",
        "1e",
        "1e+",
        "%",
        "{}",
        "a{",
        "@",
        "NOT",
        "NOT NOT",
        "IN",
        "x IN (",
        "x IN ()",
        "case(",
        "substr(\"é\", -99, 99)",
        "printf(\"%\")",
        "printf(\"%*d\", -5, 1)",
        "printf(\"%.*f\", 99999, 1)",
        "strftime(1e300, \"%Y\")",
        "relative_time(1e300, \"-1y\")",
        "relative_time(0, \"-99999999999y\")",
        "mvrange(0, 1e300)",
        "mvindex(mv, 1e300)",
        "round(1, 1e9)",
        "tostring(1e300, \"hex\")",
        "tostring(-1e300, \"duration\")",
        "strptime(\"\", \"%Y%\")",
        "strptime(\"9\", \"%9N\")",
        "substr(\"abc\", 1e300, -1e300)",
        "bit_shift_left(1, 1e300)",
        "spath(\"[]\", \"{-9}\")",
        "urldecode(\"%é%\")",
        "split(\"é\", \"\")",
        "json_object(1, 2)",
        "mvzip(mv, missing)",
    ];
    for src in odd {
        if let Ok(e) = parse_expr(src) {
            let _ = e.eval(&event(), &ctx());
            let _ = e.fields();
        }
        let _ = parse_assignments(src);
    }
}

#[test]
fn expressions_are_shareable() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Expr>();
    let _ = Arc::new(parse_expr("random()").unwrap()).clone();
}

#[test]
fn random_token_soup_never_panics() {
    let pieces = [
        "a",
        "mv",
        "num",
        "'q r'",
        "\"s\"",
        "1",
        ".5",
        "2e3",
        ".",
        "+",
        "-",
        "*",
        "/",
        "%",
        "(",
        ")",
        ",",
        "=",
        "==",
        "!=",
        "<",
        ">=",
        "AND",
        "or",
        "NOT",
        "XOR",
        "LIKE",
        "IN",
        "TRUE",
        "if(",
        "case(",
        "mvfilter(",
        "substr(",
        "replace(",
        "printf(",
        "strftime(",
        "relative_time(",
        "spath(",
        "\"%\"",
        "\"(\"",
        "\"@d\"",
        "\"{}\"",
        "a.b",
        "{",
        "}",
        " ",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let n = (next() % 12) as usize + 1;
        let src: String = (0..n)
            .map(|_| pieces[(next() % pieces.len() as u64) as usize])
            .collect::<Vec<_>>()
            .join(" ");
        if let Ok(e) = parse_expr(&src) {
            let _ = e.eval(&event(), &ctx());
            let _ = e.functions();
        }
        let _ = parse_assignments(&src);
    }
}

#[test]
fn a_literal_like_pattern_is_compiled_when_parsed() {
    let e = parse_expr("name LIKE \"Al%\"").unwrap();
    assert!(matches!(e.kind, Kind::Like { negated: false, .. }), "{e:?}");
    let e = parse_expr("name NOT LIKE \"B_b\"").unwrap();
    assert!(matches!(e.kind, Kind::Like { negated: true, .. }), "{e:?}");
    assert_eq!(e.fields(), ["name"]);
    // same answers as the function and as a pattern computed at run time
    for (op, fun) in [
        ("name LIKE \"Al%\"", "like(name, \"Al%\")"),
        ("name LIKE \"al%\"", "like(name, \"al%\")"),
        ("mv LIKE \"%y\"", "like(mv, \"%y\")"),
        ("missing LIKE \"%\"", "like(missing, \"%\")"),
        ("name LIKE \"A_ice\"", "like(name, \"A_ice\")"),
        ("name LIKE \"A.ice\"", "like(name, \"A.ice\")"),
    ] {
        assert_eq!(t(op), t(fun), "{op}");
    }
    assert_eq!(t("name LIKE \"A\" . \"%\""), "true");
    assert_eq!(t("missing NOT LIKE \"%\""), "false");
    assert_eq!(t("name NOT LIKE \"B%\""), "true");
}

#[test]
fn a_pattern_that_does_not_compile_is_an_error_naming_it() {
    // literal: when parsed
    let e = perr("match(name, \"(a\")");
    assert!(e.to_string().contains("\"(a\""), "{e}");
    // computed: when run, also where the subject is null (never a silent no-match)
    for src in ["match(name, pattern)", "match(missing, pattern)"] {
        let err = parse_expr(src).unwrap().eval(&event(), &ctx()).unwrap_err();
        assert!(err.message.contains("\"(\""), "{src}: {}", err.message);
    }
}
