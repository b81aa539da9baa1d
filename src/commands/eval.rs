//! `eval` — compute fields with Splunk's expression language.
//!
//! ```text
//! eval <field>=<expression> [, <field>=<expression>]...
//! ```
//! Assignments run left to right, each seeing the fields the earlier ones set. A null result removes the
//! field. The expression language is in [`crate::eval`].
//!
//! A `[subsearch]` may stand anywhere in the text (`eval limit=[| inputlookup t | return $limit]`), in
//! `where` too: Splunk runs it first and puts its text in its place — the rows formatted as `format` makes
//! them (`( ( x="1" ) OR ( x="2" ) )`), or the `search` field that `return`/`format` make (`x="v"`) — and
//! only then reads the expression, where `x="v"` is a comparison. See [`WithSubsearches`].

use super::{Context, Operator};
use crate::diag::{Diagnostic, Result, Span};
use crate::eval::{self, EvalContext, Expr};
use crate::event::Event;
use crate::parse::{parse_pipeline, Cursor, Pipeline, MAX_NESTING};

#[derive(Clone, Debug)]
pub struct Eval {
    pub assignments: Vec<(String, Expr)>,
    pub span: Span,
    /// The text's subsearches, until the plan runs them and parses the text ([`Eval::resolve`]); the
    /// assignments are then those of the text with each subsearch read as `null()`.
    pub subsearches: Option<WithSubsearches>,
}

/// Eval-expression text with `[subsearch]`es in it, split at them.
#[derive(Clone, Debug)]
pub struct WithSubsearches {
    pub pieces: Vec<Piece>,
}

#[derive(Clone, Debug)]
pub enum Piece {
    Text(String),
    /// The subsearch and the span of its brackets.
    Subsearch(Box<Pipeline>, Span),
}

impl WithSubsearches {
    /// Split the stage text `text`, which starts at `start` in the cursor's source, at its top-level
    /// `[...]` (outside quotes); `None` when it holds none.
    pub fn split(c: &Cursor, text: &str, start: usize) -> Result<Option<WithSubsearches>> {
        let bytes = text.as_bytes();
        let mut pieces = Vec::new();
        let mut from = 0;
        let mut i = 0;
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
                    i += 1;
                }
                b'[' => {
                    if c.depth >= MAX_NESTING {
                        return Err(Diagnostic::at(
                            "subsearches nested too deeply",
                            Span::at(start + i),
                        ));
                    }
                    let mut sub = Cursor::new(c.src);
                    sub.pos = start + i + 1;
                    sub.depth = c.depth + 1;
                    let p = parse_pipeline(&mut sub)?;
                    sub.ws();
                    if !sub.eat(']') {
                        return Err(Diagnostic::at(
                            "unclosed subsearch: expected `]`",
                            Span::new(start + i, start + i + 1),
                        ));
                    }
                    pieces.push(Piece::Text(text.get(from..i).unwrap_or("").to_string()));
                    pieces.push(Piece::Subsearch(Box::new(p), Span::new(start + i, sub.pos)));
                    i = sub.pos - start;
                    from = i;
                }
                _ => i += 1,
            }
        }
        if pieces.is_empty() {
            return Ok(None);
        }
        pieces.push(Piece::Text(text.get(from..).unwrap_or("").to_string()));
        Ok(Some(WithSubsearches { pieces }))
    }

    /// The text with each subsearch replaced by what `fill` gives for it.
    pub fn text(&self, mut fill: impl FnMut(&Pipeline, Span) -> Result<String>) -> Result<String> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Subsearch(p, span) => {
                    out.push(' ');
                    out.push_str(&fill(p, *span)?);
                    out.push(' ');
                }
            }
        }
        Ok(out)
    }

    /// The text with each subsearch's rows in its place, formatted for an eval expression.
    pub fn resolved_text(&self, rows: &mut super::SubsearchRows) -> Result<String> {
        self.text(|p, span| subsearch_text(&rows(p)?, span))
    }

    /// The text with each subsearch read as `null()`: what the command holds until the plan runs them.
    pub fn placeholder(&self) -> String {
        self.text(|_, _| Ok("null()".to_string()))
            .unwrap_or_default()
    }

    /// The subsearches (for `spelunk check`, which walks sub-pipelines).
    pub fn pipelines(&self) -> impl Iterator<Item = &Pipeline> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Subsearch(p, _) => Some(&**p),
            Piece::Text(_) => None,
        })
    }
}

/// The text a subsearch puts into an eval expression (`where`, `eval`): its rows formatted as for a
/// search. Refused where the text would not mean what it does in a search: no rows (`NOT ()` is not an
/// expression), and a field name that `format` must quote (`"user name"="bob"`), which eval reads as a
/// string, not a field.
pub fn subsearch_text(rows: &[Event], span: Span) -> Result<String> {
    let text = super::format::Format::default().text(rows);
    let has_terms = text != super::format::Format::default().emptystr;
    if !has_terms {
        return Err(Diagnostic::at(
            "the subsearch gave no rows: its text `NOT ()` is not an eval expression",
            span,
        )
        .with_help("Splunk puts the subsearch's text in its place before it reads the expression; with no rows that text is `NOT ()`"));
    }
    let quoted = rows.iter().flat_map(|r| r.iter()).find(|(k, _)| {
        !k.starts_with('_')
            && k.as_ref() != "search"
            && k.as_ref() != "query"
            && super::format::quotes_name(k)
    });
    if let Some((k, _)) = quoted {
        return Err(Diagnostic::at(
            format!(
                "the subsearch's rows have the field `{k}`, which its text names in double quotes; in an eval expression that is a string, not the field"
            ),
            span,
        )
        .with_help("rename the field in the subsearch to a name without spaces or brackets"));
    }
    Ok(text)
}

/// The error for text made by substituting subsearches that does not read as an eval expression.
pub fn substituted_error(command: &str, text: &str, e: eval::ParseError, span: Span) -> Diagnostic {
    let shown: String = text.trim().chars().take(200).collect();
    Diagnostic::at(
        format!(
            "`{command}` with its subsearches' text in place, `{shown}`, is not an eval expression: {e}"
        ),
        span,
    )
}

impl PartialEq for Eval {
    fn eq(&self, other: &Self) -> bool {
        self.span == other.span
    }
}

/// Map an eval-engine parse error into a diagnostic at its place in the query.
pub fn parse_error(e: eval::ParseError, base: usize) -> Diagnostic {
    let msg = if e.found.is_empty() {
        format!("expected {}", e.expected)
    } else {
        format!("expected {}, found {}", e.expected, e.found)
    };
    Diagnostic::at(msg, Span::at(base + e.offset))
}

impl Eval {
    pub fn parse(c: &mut Cursor) -> Result<Eval> {
        c.ws();
        let (text, span) = c.stage_text()?;
        if text.trim().is_empty() {
            return Err(Diagnostic::at(
                "expected `<field>=<expression>` after `eval`",
                span,
            ));
        }
        if let Some(subs) = WithSubsearches::split(c, text, span.start)? {
            let assignments = eval::parse_assignments(&subs.placeholder()).unwrap_or_default();
            return Ok(Eval {
                assignments,
                span,
                subsearches: Some(subs),
            });
        }
        let assignments = eval::parse_assignments(text).map_err(|e| parse_error(e, span.start))?;
        Ok(Eval {
            assignments,
            span,
            subsearches: None,
        })
    }

    /// Read the assignments from `text`, the stage text with its subsearches' text in place.
    pub fn resolve(&mut self, text: &str) -> Result<()> {
        self.assignments = eval::parse_assignments(text)
            .map_err(|e| substituted_error("eval", text, e, self.span))?;
        self.subsearches = None;
        Ok(())
    }
}

impl super::SplCommand for Eval {
    fn kind(&self) -> super::Kind {
        super::Kind::Streaming
    }

    fn needs(&self, after: super::Need) -> super::Need {
        let mut n = after?;
        for (f, _) in &self.assignments {
            n.remove(f);
        }
        for (_, x) in &self.assignments {
            n.extend(x.fields());
        }
        Some(n)
    }

    fn eval_exprs(&self) -> Vec<(&Expr, usize)> {
        self.assignments
            .iter()
            .map(|(_, x)| (x, self.span.start))
            .collect()
    }

    fn lints(&self) -> Vec<super::Lint> {
        super::expr_lints(&self.eval_exprs())
    }

    fn resolve_subsearches(&mut self, rows: &mut super::SubsearchRows) -> Result<()> {
        if let Some(subs) = &self.subsearches {
            let text = subs.resolved_text(rows)?;
            self.resolve(&text)?;
        }
        Ok(())
    }

    fn sub_pipelines(&self) -> Vec<&crate::parse::Pipeline> {
        self.subsearches
            .as_ref()
            .map(|s| s.pipelines().collect())
            .unwrap_or_default()
    }

    fn sql(&self, q: &mut crate::sql::Query) -> Option<Result<()>> {
        Some(self.write_sql(q))
    }

    fn operator(&self, ctx: &Context, _sub: &dyn super::SubRunner) -> Result<Box<dyn Operator>> {
        Ok(Box::new(EvalOp {
            assignments: self.assignments.clone(),
            ctx: ctx.eval,
            span: self.span,
            unresolved: self.subsearches.is_some(),
        }))
    }
}

struct EvalOp {
    assignments: Vec<(String, Expr)>,
    ctx: EvalContext,
    span: Span,
    unresolved: bool,
}

impl Operator for EvalOp {
    fn push(&mut self, mut ev: Event, out: &mut Vec<Event>) -> Result<()> {
        if self.unresolved {
            return Err(Diagnostic::at("internal: subsearch was not run", self.span));
        }
        for (field, expr) in &self.assignments {
            let v = expr.eval(&ev, &self.ctx).map_err(|e| {
                Diagnostic::at(
                    format!("eval: {}", e.message),
                    Span::at(self.span.start + e.offset),
                )
            })?;
            ev.set_opt(field.as_str(), v);
        }
        out.push(ev);
        Ok(())
    }
}

impl Eval {
    /// Each assignment as a step: the field gets the value (a null removes it), later assignments
    /// see earlier ones.
    fn write_sql(&self, q: &mut crate::sql::Query) -> Result<()> {
        use crate::sql::{ident, Col};
        for (name, expr) in &self.assignments {
            let value = expr.sql_value(q)?;
            let mut list: Vec<String> = q
                .cols
                .iter()
                .filter(|c| &c.name != name)
                .map(|c| ident(&c.name))
                .collect();
            let mut cols: Vec<Col> = q.cols.iter().filter(|c| &c.name != name).cloned().collect();
            list.push(format!("{value} AS {}", ident(name)));
            cols.push(Col::text(name));
            q.unavailable.retain(|(n, _)| n != name);
            q.reshape(&list, cols);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;

    fn stage(q: &str, i: usize) -> Command {
        crate::parse::parse_query(q).unwrap().stages[i]
            .command
            .clone()
    }

    #[test]
    fn subsearches_are_split_out_of_the_text_outside_quotes() {
        let Command::Where(w) = stage(
            r#"a | where match(x, "[a-z]") AND 'f[1]'=2 AND [ search b | where [ search c ] | return y ] | head 1"#,
            1,
        ) else {
            panic!()
        };
        let subs = w.subsearches.expect("one subsearch");
        let texts: Vec<String> = subs
            .pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Subsearch(p, _) => format!("<{} stages>", p.stages.len()),
            })
            .collect();
        assert_eq!(
            texts,
            [r#"match(x, "[a-z]") AND 'f[1]'=2 AND "#, "<3 stages>", " "]
        );
        assert_eq!(
            subs.placeholder().trim(),
            r#"match(x, "[a-z]") AND 'f[1]'=2 AND  null()"#
        );
        // the nested subsearch belongs to the inner where
        let Some(Piece::Subsearch(inner, _)) = subs.pieces.get(1) else {
            panic!()
        };
        let Command::Where(w2) = &inner.stages[1].command else {
            panic!()
        };
        assert!(w2.subsearches.is_some());
        // no subsearch: parsed at once
        let Command::Where(w) = stage(r#"a | where match(x, "[a-z]")"#, 1) else {
            panic!()
        };
        assert!(w.subsearches.is_none());
    }

    #[test]
    fn eval_text_with_a_subsearch_is_read_after_substitution() {
        let Command::Eval(mut e) = stage("a | eval limit=[ | makeresults | return $n ], b=1", 1)
        else {
            panic!()
        };
        let names: Vec<&str> = e.assignments.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["limit", "b"], "the placeholder's assignments");
        let subs = e.subsearches.clone().unwrap();
        let text = subs.text(|_, _| Ok("7".into())).unwrap();
        e.resolve(&text).unwrap();
        assert!(e.subsearches.is_none());
        let err = subs
            .text(|_, _| Ok("NOT ()".into()))
            .map(|t| e.resolve(&t))
            .unwrap()
            .unwrap_err();
        assert!(
            err.message.contains("is not an eval expression"),
            "{}",
            err.message
        );
        assert!(parse("a | where [ search b").is_err());
    }

    fn parse(q: &str) -> Result<crate::parse::Pipeline> {
        crate::parse::parse_query(q)
    }
}
