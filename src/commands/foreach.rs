//! `foreach` — run a templated `eval` once for each field whose name matches.
//!
//! ```text
//! foreach [mode=multifield] <wc-field> [<wc-field>]... [fieldstr=<string>] [matchstr=<string>]
//!         [matchseg1=<string>] [matchseg2=<string>] [matchseg3=<string>] [ <subpipeline> ]
//! ```
//! For each row and each field of the row whose name matches one of the patterns (`*` is a wildcard;
//! internal `_` fields only when the pattern starts with `_`), in the row's field order, the text of the
//! subpipeline has `<<FIELD>>` replaced by the field's name, `<<MATCHSTR>>` by the text the wildcards
//! matched and `<<MATCHSEG1>>`..`<<MATCHSEG3>>` by each wildcard's part, then runs on the row. The
//! placeholder names can be changed with `fieldstr`, `matchstr` and `matchseg1..3`. The fields are those
//! the row had before the first iteration. The subpipeline is one or more `eval` commands (`eval a=1 |
//! eval b=2`); it is checked when the query is parsed, with the placeholders standing for field names.
//! Refused: `mode=multivalue` and `mode=json_array` (`<<ITEM>>`), other commands in the subpipeline.

use super::eval::Eval;
use super::{wildcard_captures, Command, Context, Operator, SubRunner};
use crate::diag::{Diagnostic, Result, Span};
use crate::eval::{EvalContext, Expr};
use crate::event::Event;
use crate::parse::Cursor;
use std::collections::HashMap;

const OPTIONS: &[&str] = &[
    "mode",
    "fieldstr",
    "matchstr",
    "matchseg1",
    "matchseg2",
    "matchseg3",
];

#[derive(Clone, Debug, PartialEq)]
pub struct Foreach {
    pub patterns: Vec<String>,
    /// The subpipeline's text, placeholders included.
    pub template: String,
    /// Where the template starts in the query (for errors).
    pub template_at: usize,
    /// Placeholders: FIELD, MATCHSTR, MATCHSEG1..3 (each with its `<<`/`>>`).
    pub fieldstr: String,
    pub matchstr: String,
    pub matchseg: [String; 3],
    pub span: Span,
}

/// The text between `[` (at the cursor) and its matching `]`, skipping quoted strings.
fn bracket_body<'a>(c: &mut Cursor<'a>) -> Result<(&'a str, usize)> {
    let open = c.pos;
    if !c.eat('[') {
        return Err(c.expected("`[` and the subpipeline to run for each field"));
    }
    let bytes = c.src.as_bytes();
    let mut i = c.pos;
    let mut depth = 1usize;
    while let Some(&b) = bytes.get(i) {
        match b {
            q @ (b'"' | b'\'') => {
                i += 1;
                while let Some(&x) = bytes.get(i) {
                    if x == b'\\' {
                        i += 1;
                    } else if x == q {
                        break;
                    }
                    i += 1;
                }
            }
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    let body = &c.src[c.pos..i];
                    let start = c.pos;
                    c.pos = i + 1;
                    return Ok((body, start));
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(Diagnostic::at(
        "unclosed bracket: expected `]` after the subpipeline",
        Span::at(open),
    ))
}

/// Parse a substituted template into its eval assignments, in order.
fn compile(text: &str, at: usize) -> Result<Vec<(String, Expr)>> {
    // The template is a pipeline that begins with its command name, so it is parsed after a `|`.
    let src = format!("| {text}");
    let shift = |d: Diagnostic| match d.span {
        Some(s) if s.start >= 2 => {
            let mut d = d;
            d.span = Some(Span::new(s.start - 2 + at, s.end - 2 + at));
            d
        }
        _ => d,
    };
    let p = crate::parse::parse_query(&src).map_err(shift)?;
    let mut out = Vec::new();
    for st in p.stages {
        match st.command {
            Command::Eval(Eval {
                subsearches: Some(_),
                span,
                ..
            }) => {
                return Err(Diagnostic::at(
                    "`foreach` does not run a subsearch inside its `eval` yet",
                    Span::new(
                        span.start.saturating_sub(2) + at,
                        span.end.saturating_sub(2) + at,
                    ),
                ))
            }
            Command::Eval(Eval { assignments, .. }) => out.extend(assignments),
            Command::Noop => {}
            other => {
                return Err(Diagnostic::at(
                    format!(
                        "`foreach` runs `eval` commands; `{}` is not supported inside it yet",
                        other.name()
                    ),
                    Span::new(
                        st.name_span.start.saturating_sub(2) + at,
                        st.name_span.end.saturating_sub(2) + at,
                    ),
                ))
            }
        }
    }
    if out.is_empty() {
        return Err(Diagnostic::at(
            "expected an `eval` command inside the brackets",
            Span::at(at),
        ));
    }
    Ok(out)
}

impl Foreach {
    pub fn parse(c: &mut Cursor, name_span: Span) -> Result<Foreach> {
        let mut f = Foreach {
            patterns: Vec::new(),
            template: String::new(),
            template_at: 0,
            fieldstr: "<<FIELD>>".into(),
            matchstr: "<<MATCHSTR>>".into(),
            matchseg: [
                "<<MATCHSEG1>>".into(),
                "<<MATCHSEG2>>".into(),
                "<<MATCHSEG3>>".into(),
            ],
            span: name_span,
        };
        loop {
            for (k, v, at) in c.options(OPTIONS)? {
                match k.as_str() {
                    "mode" => {
                        if !v.eq_ignore_ascii_case("multifield") {
                            return Err(Diagnostic::at(
                                format!(
                                    "`foreach mode={v}` is not supported yet (only `multifield`)"
                                ),
                                at,
                            ));
                        }
                    }
                    "fieldstr" => f.fieldstr = v,
                    "matchstr" => f.matchstr = v,
                    "matchseg1" => f.matchseg[0] = v,
                    "matchseg2" => f.matchseg[1] = v,
                    _ => f.matchseg[2] = v,
                }
            }
            c.ws();
            if c.at('[') || c.at_stage_end() {
                break;
            }
            if c.at_option() {
                break;
            }
            match c.try_field()? {
                Some((p, _)) => f.patterns.push(p),
                None => break,
            }
        }
        if f.patterns.is_empty() {
            return Err(c.expected("a field name or wildcard pattern such as `count_*`"));
        }
        c.ws();
        if !c.at('[') {
            return super::end_of_args(c, "foreach", "`[`", OPTIONS)
                .and_then(|_| Err(c.expected("`[` and the subpipeline to run for each field")));
        }
        let (body, at) = bracket_body(c)?;
        f.template = body.to_string();
        f.template_at = at;
        c.end_of_stage("foreach")?;
        // check the template now, with each placeholder standing for a field name of the same length
        let mut probe = f.template.clone();
        for p in f.placeholders() {
            let stand_in: String = p
                .chars()
                .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' })
                .collect();
            probe = probe.replace(p, &stand_in);
        }
        compile(&probe, at)?;
        Ok(f)
    }

    fn placeholders(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.fieldstr.as_str())
            .chain(std::iter::once(self.matchstr.as_str()))
            .chain(self.matchseg.iter().map(|s| s.as_str()))
            .filter(|p| !p.is_empty())
    }
}

impl super::SplCommand for Foreach {
    fn operator(&self, ctx: &Context, _sub: &dyn SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(ForeachOp {
            f: self.clone(),
            ctx: ctx.eval,
            cache: HashMap::new(),
        }))
    }
}

struct ForeachOp {
    f: Foreach,
    ctx: EvalContext,
    /// Compiled template per (field, pattern) text.
    cache: HashMap<String, Vec<(String, Expr)>>,
}

impl ForeachOp {
    fn instantiate(&self, field: &str, caps: &[&str]) -> String {
        let mut text = self.f.template.replace(&self.f.fieldstr, field);
        text = text.replace(&self.f.matchstr, &caps.concat());
        for (i, seg) in self.f.matchseg.iter().enumerate() {
            text = text.replace(seg, caps.get(i).copied().unwrap_or(""));
        }
        text
    }
}

impl Operator for ForeachOp {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        let names: Vec<String> = ev.names().map(|n| n.to_string()).collect();
        for name in names {
            let caps = self.f.patterns.iter().find_map(|p| {
                if name.starts_with('_') && !p.starts_with('_') {
                    return None;
                }
                wildcard_captures(p, &name)
            });
            let Some(caps) = caps else { continue };
            let text = self.instantiate(&name, &caps);
            if !self.cache.contains_key(&text) {
                let compiled = compile(&text, self.f.template_at).map_err(|mut d| {
                    d.message = format!("in `foreach` for field `{name}`: {}", d.message);
                    d
                })?;
                self.cache.insert(text.clone(), compiled);
            }
            let Some(assignments) = self.cache.get(&text) else {
                continue;
            };
            for (field, expr) in assignments {
                let v = expr.eval(&ev, &self.ctx).map_err(|e| {
                    Diagnostic::at(
                        format!("in `foreach` for field `{name}`: {}", e.message),
                        self.f.span,
                    )
                })?;
                ev.set_opt(field.as_str(), v);
            }
        }
        out.push(ev);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_query;
    use crate::value::Value;

    fn parse(q: &str) -> Result<Foreach> {
        match parse_query(q)?.stages.pop().map(|s| s.command) {
            Some(Command::Foreach(f)) => Ok(f),
            other => panic!("not foreach: {other:?}"),
        }
    }

    fn run(q: &str, ev: Event) -> Event {
        let f = parse(q).unwrap();
        let mut op = ForeachOp {
            f,
            ctx: EvalContext {
                now: 0.0,
                tz: chrono_tz::UTC,
                max_text: crate::eval::MAX_TEXT,
            },
            cache: HashMap::new(),
        };
        let mut out = Vec::new();
        op.push(ev, &mut out).unwrap();
        out.pop().unwrap()
    }

    #[test]
    fn parses() {
        let p = parse_query(
            r#"x | foreach * [ eval <<FIELD>> = if(<<FIELD>>="null",null(),<<FIELD>>)] | table a"#,
        )
        .unwrap();
        assert_eq!(p.stages.len(), 3);
        let f =
            parse("x | foreach count_* total [eval <<FIELD>>=<<FIELD>>*2 | eval s_<<MATCHSTR>>=1]")
                .unwrap();
        assert_eq!(f.patterns, ["count_*", "total"]);
        let f = parse("x | foreach a* fieldstr=#f# [eval #f#=1]").unwrap();
        assert_eq!(f.fieldstr, "#f#");
    }

    #[test]
    fn refuses_bad_syntax() {
        let e = parse("x | foreach [eval a=1]").unwrap_err();
        assert!(e.message.contains("wildcard pattern"), "{}", e.message);
        let e = parse("x | foreach a*").unwrap_err();
        assert!(e.message.contains("`[`"), "{}", e.message);
        let e = parse("x | foreach a* [eval a=1").unwrap_err();
        assert_eq!(e.span, Some(Span::at(15)));
        let e = parse("x | foreach a* [stats count]").unwrap_err();
        assert!(
            e.message.contains("`stats` is not supported"),
            "{}",
            e.message
        );
        assert_eq!(e.span, Some(Span::new(16, 21)));
        // the unclosed parenthesis is reported from the start of the eval's text
        let e = parse("x | foreach a* [eval <<FIELD>>=(1]").unwrap_err();
        assert!(e.message.contains("unclosed"), "{}", e.message);
        assert_eq!(e.span.map(|s| s.start), Some(21));
        let e = parse("x | foreach a* [eval <<FIELD>>=1 +]").unwrap_err();
        assert_eq!(e.span.map(|s| s.start), Some(34));
        let e = parse("x | foreach mode=multivalue a [eval x=<<ITEM>>]").unwrap_err();
        assert!(e.message.contains("not supported"), "{}", e.message);
    }

    #[test]
    fn runs_per_matching_field() {
        let mut ev = Event::new();
        ev.set("count_a", Value::str("2"));
        ev.set("count_b", Value::str("3"));
        ev.set("other", Value::str("9"));
        let ev = run(
            "x | foreach count_* [eval <<FIELD>>=<<FIELD>>*10 | eval seen_<<MATCHSTR>>=\"<<FIELD>>\"]",
            ev,
        );
        assert_eq!(ev.get("count_a"), Some(&Value::Num(20.0)));
        assert_eq!(ev.get("count_b"), Some(&Value::Num(30.0)));
        assert_eq!(ev.get("other"), Some(&Value::str("9")));
        assert_eq!(ev.get("seen_b"), Some(&Value::str("count_b")));
        let mut ev = Event::new();
        ev.set("a", Value::str("null"));
        ev.set("b", Value::str("x"));
        ev.set("_time", Value::Num(1.0));
        let ev = run(
            r#"x | foreach * [ eval <<FIELD>> = if(<<FIELD>>="null",null(),<<FIELD>>)]"#,
            ev,
        );
        assert_eq!(ev.get("a"), None);
        assert_eq!(ev.get("b"), Some(&Value::str("x")));
        assert_eq!(ev.get("_time"), Some(&Value::Num(1.0)));
    }
}
