//! The pipeline parser: expanded query text → [`Pipeline`] with byte spans.
//!
//! A query is stages separated by `|`. The first stage of a query (or subsearch) is an implied `search`
//! unless the text starts with `|`, in which case it is a generating command (`| inputlookup`). After a
//! command's name the parser commits to that command (it never backtracks into `search`), and an unknown
//! command name is an error that names it. Each command parses its own arguments in its file under
//! `commands/`, using the lexemes of [`Cursor`]; tokens are recognised with nom.
//!
//! The grammar is written down in `grammar/spl.ebnf`.

use crate::commands::{self, Command};
use crate::diag::{suggest, Diagnostic, Result, Span};
use nom::bytes::complete::{take_while, take_while1};
use nom::IResult;
use nom::Parser;

/// Deepest nesting of subsearches and parentheses accepted.
pub const MAX_NESTING: usize = 100;

#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    pub stages: Vec<Stage>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    pub command: Command,
    /// The whole stage, command name and arguments.
    pub span: Span,
    /// The command name (or the start of the implied search).
    pub name_span: Span,
}

/// Parse a whole query (after macro expansion).
pub fn parse_query(text: &str) -> Result<Pipeline> {
    let mut c = Cursor::new(text);
    let p = parse_pipeline(&mut c)?;
    c.ws();
    if !c.at_end() {
        let found = c.peek_char().unwrap_or(' ');
        return Err(Diagnostic::at(
            format!("unexpected `{found}`: expected `|` and a command, or the end of the query"),
            c.span_here(),
        ));
    }
    Ok(p)
}

/// Parse stages until the end of the text or, inside a subsearch, the closing `]`.
pub fn parse_pipeline(c: &mut Cursor) -> Result<Pipeline> {
    parse_stages(c, false)
}

/// Parse a sub-pipeline that runs over rows it is given (`appendpipe [stats count]`): its first stage is
/// a command even without a leading `|`.
pub fn parse_command_pipeline(c: &mut Cursor) -> Result<Pipeline> {
    parse_stages(c, true)
}

/// Generating commands that a subsearch may start with without a `|` (`[inputlookup users.csv | fields
/// user]`, `append [tstats count ...]`): Search Manual, "About subsearches" — the first command of a
/// subsearch is a generating command; a subsearch that starts with none is an implied `search`.
const SUBSEARCH_GENERATING: &[&str] = &[
    "inputlookup",
    "inputcsv",
    "makeresults",
    "tstats",
    "mstats",
    "datamodel",
    "from",
    "rest",
    "metadata",
    "metasearch",
    "eventcount",
    "dbinspect",
    "loadjob",
    "savedsearch",
    "gentimes",
    "pivot",
];

/// Does the text at the cursor start with the name of a generating command, followed by a space, the
/// end of the stage or a `|`? Nothing is consumed.
fn at_generating_name(c: &mut Cursor) -> bool {
    let rest = c.rest();
    let end = rest
        .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
        .unwrap_or(rest.len());
    let word = rest[..end].to_ascii_lowercase();
    let next = rest[end..].chars().next();
    SUBSEARCH_GENERATING.contains(&word.as_str())
        && next.is_none_or(|ch| ch.is_whitespace() || ch == '|' || ch == ']')
}

fn parse_stages(c: &mut Cursor, command_first: bool) -> Result<Pipeline> {
    let start = c.pos;
    let mut stages = Vec::new();
    c.ws();
    let generating_first = c.depth > 0 && !c.at('|') && at_generating_name(c);
    if (command_first || generating_first) && !c.at('|') && !c.at_stage_end() {
        let s = c.pos;
        let (name, name_span) = c.command_name()?;
        let command = commands::parse_command(&name, name_span, c)?;
        stages.push(Stage {
            command,
            span: Span::new(s, c.pos),
            name_span,
        });
    } else if !c.at('|') {
        // implied search (possibly empty: a query of only whitespace matches everything); a query
        // may also name it: `search index=main ...`
        let s = c.pos;
        if c.at_keyword("search") {
            c.keyword("search");
        }
        let search = commands::search::Search::parse(c)?;
        stages.push(Stage {
            command: Command::Search(search),
            span: Span::new(s, c.pos),
            name_span: Span::new(s, s),
        });
    }
    loop {
        c.ws();
        if !c.eat('|') {
            break;
        }
        c.ws();
        let s = c.pos;
        if c.at_stage_end() {
            // an empty stage, e.g. left by a `*_filter` macro that expands to nothing
            stages.push(Stage {
                command: Command::Noop,
                span: Span::new(s, s),
                name_span: Span::new(s, s),
            });
            continue;
        }
        let (name, name_span) = c.command_name()?;
        let command = commands::parse_command(&name, name_span, c)?;
        stages.push(Stage {
            command,
            span: Span::new(s, c.pos),
            name_span,
        });
    }
    Ok(Pipeline {
        stages,
        span: Span::new(start, c.pos),
    })
}

/// One `key=value` option: the key (lower case), the value, and the span of both.
pub type Opt = (String, String, Span);

/// A boolean option value as Splunk reads one: `t`, `true`, `1`, `yes`, `y` / `f`, `false`, `0`, `no`, `n`,
/// in any case.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "t" | "true" | "1" | "yes" | "y" => Some(true),
        "f" | "false" | "0" | "no" | "n" => Some(false),
        _ => None,
    }
}

/// The value of the boolean option `key`, or an error at `span` that says what it takes.
pub fn flag(key: &str, value: &str, span: Span) -> Result<bool> {
    parse_bool(value)
        .ok_or_else(|| Diagnostic::at(format!("`{key}` takes true or false, not `{value}`"), span))
}

/// The value of the numeric option `key` (`T` says which numbers: a count, a whole number, a decimal), or
/// an error at `span` that says what it takes.
pub fn number<T: std::str::FromStr>(key: &str, value: &str, span: Span) -> Result<T> {
    value
        .parse()
        .map_err(|_| Diagnostic::at(format!("`{key}` takes a number, not `{value}`"), span))
}

/// Position in the query text with the lexemes every command uses.
pub struct Cursor<'a> {
    pub src: &'a str,
    pub pos: usize,
    /// How many `[` subsearches we are inside: `]` ends a stage only there.
    pub depth: usize,
}

fn is_name_char(c: char) -> bool {
    !(c.is_whitespace()
        || matches!(
            c,
            ',' | '|' | '(' | ')' | '=' | '"' | '[' | ']' | '!' | '<' | '>' | '\''
        ))
}

impl<'a> Cursor<'a> {
    pub fn new(src: &'a str) -> Cursor<'a> {
        Cursor {
            src,
            pos: 0,
            depth: 0,
        }
    }

    pub fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    pub fn peek_char(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub fn at(&self, ch: char) -> bool {
        self.peek_char() == Some(ch)
    }

    pub fn eat(&mut self, ch: char) -> bool {
        if self.at(ch) {
            self.pos += ch.len_utf8();
            true
        } else {
            false
        }
    }

    pub fn span_here(&self) -> Span {
        let len = self.peek_char().map(|c| c.len_utf8()).unwrap_or(1);
        Span::new(self.pos, self.pos + len)
    }

    /// Skip whitespace (line breaks included).
    pub fn ws(&mut self) {
        let r: IResult<&str, &str> = take_while(|c: char| c.is_whitespace()).parse(self.rest());
        if let Ok((rest, _)) = r {
            self.pos = self.src.len() - rest.len();
        }
    }

    /// At `|`, at the end, or (inside a subsearch) at `]`, after whitespace.
    pub fn at_stage_end(&mut self) -> bool {
        self.ws();
        self.at_end() || self.at('|') || (self.depth > 0 && self.at(']'))
    }

    pub fn expect(&mut self, ch: char, what: &str) -> Result<()> {
        self.ws();
        if self.eat(ch) {
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    /// An error at the current position: "expected X, found Y".
    pub fn expected(&self, what: &str) -> Diagnostic {
        let found = match self.peek_char() {
            None => "the end of the query".to_string(),
            Some('|') => "`|`".to_string(),
            Some(_) => {
                let w: String = self
                    .rest()
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .take(20)
                    .collect();
                format!("`{w}`")
            }
        };
        Diagnostic::at(format!("expected {what}, found {found}"), self.span_here())
    }

    /// A command name: letters, digits, `_` and `-`.
    pub fn command_name(&mut self) -> Result<(String, Span)> {
        self.ws();
        let start = self.pos;
        let r: IResult<&str, &str> =
            take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                .parse(self.rest());
        match r {
            Ok((rest, name)) => {
                self.pos = self.src.len() - rest.len();
                Ok((name.to_string(), Span::new(start, self.pos)))
            }
            Err(_) => Err(self.expected("a command name")),
        }
    }

    /// A bare word made of name characters (no quotes, operators or brackets).
    pub fn bare(&mut self) -> Option<(&'a str, Span)> {
        let start = self.pos;
        let r: IResult<&str, &str> = take_while1(is_name_char).parse(self.rest());
        match r {
            Ok((rest, w)) => {
                self.pos = self.src.len() - rest.len();
                Some((w, Span::new(start, self.pos)))
            }
            Err(_) => None,
        }
    }

    /// The case-insensitive keyword `kw` as a whole word, consumed if present.
    pub fn keyword(&mut self, kw: &str) -> bool {
        self.ws();
        let r = self.rest();
        if r.len() >= kw.len()
            && r.is_char_boundary(kw.len())
            && r[..kw.len()].eq_ignore_ascii_case(kw)
            && r[kw.len()..]
                .chars()
                .next()
                .is_none_or(|c| !is_name_char(c))
        {
            self.pos += kw.len();
            true
        } else {
            false
        }
    }

    /// Peek for a keyword without consuming it.
    pub fn at_keyword(&mut self, kw: &str) -> bool {
        let save = self.pos;
        let r = self.keyword(kw);
        self.pos = save;
        r
    }

    /// A double-quoted string with `\"` and `\\` escapes, unescaped.
    pub fn quoted(&mut self) -> Result<(String, Span)> {
        let start = self.pos;
        if !self.eat('"') {
            return Err(self.expected("`\"`"));
        }
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, ch)) = chars.next() {
            match ch {
                '"' => {
                    self.pos += i + 1;
                    return Ok((out, Span::new(start, self.pos)));
                }
                '\\' => match chars.next() {
                    Some((_, n @ ('"' | '\\'))) => out.push(n),
                    Some((_, n)) => {
                        out.push('\\');
                        out.push(n);
                    }
                    None => break,
                },
                _ => out.push(ch),
            }
        }
        Err(Diagnostic::at(
            "unclosed quote: expected a closing `\"`",
            Span::new(start, start + 1),
        ))
    }

    /// A field name: bare (`userIdentity.arn`, `resources{}.ARN`, `count(x)`-free) or double-quoted.
    /// Quoted and bare pieces written without space between them make one name, as in Splunk's lexer:
    /// `"Web".*` (what `drop_dm_object_name("Web")` expands to) is `Web.*`.
    pub fn field(&mut self, what: &str) -> Result<(String, Span)> {
        self.ws();
        let start = self.pos;
        let mut out = String::new();
        loop {
            if self.at('"') {
                out.push_str(&self.quoted()?.0);
            } else if let Some((w, _)) = self.bare() {
                out.push_str(w);
            } else {
                break;
            }
        }
        if self.pos == start {
            return Err(self.expected(what));
        }
        Ok((out, Span::new(start, self.pos)))
    }

    /// A field name that may carry parenthesised parts written without a space, as the names that
    /// `stats` and `predict` give their results do (`count(x)`, `predicted(unusual_cmdline_logits)`,
    /// `aceFlags(inheritance)`). Used where a name cannot be followed by `(` for another reason: lists of
    /// fields and the names after `AS`.
    pub fn field_name(&mut self, what: &str) -> Result<(String, Span)> {
        let (mut name, span) = self.field(what)?;
        while self.at('(') {
            let Some(len) = glued_parens(self.rest()) else {
                break;
            };
            name.push_str(&self.rest()[..len]);
            self.pos += len;
            if self.at('"') || self.peek_char().is_some_and(is_name_char) {
                name.push_str(&self.field(what)?.0);
            }
        }
        Ok((name, Span::new(span.start, self.pos)))
    }

    /// [`Cursor::field_name`] if a name is here.
    pub fn try_field_name(&mut self) -> Result<Option<(String, Span)>> {
        self.ws();
        if self.at_stage_end() || !(self.at('"') || self.peek_char().is_some_and(is_name_char)) {
            return Ok(None);
        }
        self.field_name("a field name").map(Some)
    }

    /// A field name if one is here (used by lists that end at a keyword or the stage end).
    pub fn try_field(&mut self) -> Result<Option<(String, Span)>> {
        self.ws();
        if self.at_stage_end() || !(self.at('"') || self.peek_char().is_some_and(is_name_char)) {
            return Ok(None);
        }
        self.field("a field name").map(Some)
    }

    /// A value: quoted string or bare word (which may contain `=`, `(` and `)` when balanced; it ends
    /// at `[` or `]`).
    pub fn value(&mut self, what: &str) -> Result<(String, Span)> {
        self.ws();
        if self.at('"') {
            return self.quoted();
        }
        let start = self.pos;
        let mut depth = 0usize;
        for (i, ch) in self.rest().char_indices() {
            let stop = match ch {
                c if c.is_whitespace() => true,
                '|' | ',' => depth == 0,
                // `[` opens a subsearch even right after a value: `join type=inner[search ...]`
                ']' | '[' => true,
                '(' => {
                    depth += 1;
                    false
                }
                ')' => {
                    if depth == 0 {
                        true
                    } else {
                        depth -= 1;
                        false
                    }
                }
                _ => false,
            };
            if stop {
                if i == 0 {
                    return Err(self.expected(what));
                }
                self.pos += i;
                return Ok((
                    self.src[start..self.pos].to_string(),
                    Span::new(start, self.pos),
                ));
            }
        }
        if self.at_end() {
            return Err(self.expected(what));
        }
        self.pos = self.src.len();
        Ok((self.src[start..].to_string(), Span::new(start, self.pos)))
    }

    /// `key=value` options at the current position (e.g. `append=t`), in any order; stops at the first
    /// word that is not followed by `=`.
    pub fn options(&mut self, known: &[&str]) -> Result<Vec<Opt>> {
        let mut out = Vec::new();
        loop {
            self.ws();
            let save = self.pos;
            let Some((k, ks)) = self.bare() else { break };
            if !self.eat('=') || self.at('=') {
                self.pos = save;
                break;
            }
            let key = k.to_ascii_lowercase();
            if !known.contains(&key.as_str()) {
                self.pos = save;
                break;
            }
            let (v, vs) = self.value("an option value")?;
            out.push((key, v, Span::new(ks.start, vs.end)));
        }
        Ok(out)
    }

    /// Is a `key=` option next (a bare word followed by `=`)? Nothing is consumed.
    pub fn at_option(&mut self) -> bool {
        let save = self.pos;
        let yes = self.bare().is_some() && self.at('=');
        self.pos = save;
        yes
    }

    /// `key=value` options (any of `known`) around at most one field name, in any order, as commands such
    /// as `mvexpand f limit=5` or `xmlkv maxinputs=10 f` take them. `what` names the field in errors.
    pub fn options_and_field(
        &mut self,
        known: &[&str],
        what: &str,
    ) -> Result<(Option<String>, Vec<Opt>)> {
        let mut field = None;
        let mut opts = Vec::new();
        loop {
            opts.extend(self.options(known)?);
            self.ws();
            if field.is_none() && !self.at_stage_end() && !self.at_option() {
                field = Some(self.field(what)?.0);
                continue;
            }
            return Ok((field, opts));
        }
    }

    /// The raw text up to the end of this stage (top-level `|`, or `]` closing the subsearch), skipping
    /// over quoted strings (`"..."` and `'...'`), parentheses and brackets. Used by commands whose
    /// arguments are an expression (eval, where) or that spelunk keeps unparsed.
    pub fn stage_text(&mut self) -> Result<(&'a str, Span)> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut i = self.pos;
        let mut stack: Vec<u8> = Vec::new();
        while i < bytes.len() {
            match bytes[i] {
                q @ (b'"' | b'\'') => {
                    let open = i;
                    i += 1;
                    while i < bytes.len() && bytes[i] != q {
                        if bytes[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    if i >= bytes.len() {
                        return Err(Diagnostic::at(
                            format!("unclosed quote: expected a closing `{}`", q as char),
                            Span::new(open, open + 1),
                        ));
                    }
                }
                b'(' => stack.push(b')'),
                b'[' => stack.push(b']'),
                c @ (b')' | b']') => {
                    if stack.last() == Some(&c) {
                        stack.pop();
                    } else if c == b']' && stack.is_empty() && self.depth > 0 {
                        break;
                    } else {
                        return Err(Diagnostic::at(
                            format!("unbalanced `{}`", c as char),
                            Span::at(i),
                        ));
                    }
                }
                b'|' if stack.is_empty() => break,
                _ => {}
            }
            if stack.len() > MAX_NESTING {
                return Err(Diagnostic::at("nested too deeply", Span::at(i)));
            }
            i += 1;
        }
        if let Some(&close) = stack.last() {
            return Err(Diagnostic::at(
                format!("unclosed bracket: expected `{}`", close as char),
                Span::new(start, i),
            ));
        }
        self.pos = i;
        Ok((&self.src[start..i], Span::new(start, i)))
    }

    /// Error unless the stage ends here.
    pub fn end_of_stage(&mut self, command: &str) -> Result<()> {
        if self.at_stage_end() {
            Ok(())
        } else {
            Err(self.expected(&format!("`|` or the end of `{command}`")))
        }
    }
}

/// Length of the balanced `(...)` that `text` starts with, when it holds no space, quote, bracket or
/// `|` (the parenthesised part of a field name such as `count(x)`).
fn glued_parens(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, ch) in text.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            c if c.is_whitespace() || matches!(c, '|' | '"' | '\'' | '[' | ']') => return None,
            _ => {}
        }
    }
    None
}

/// The error for a command name that Splunk does not have.
pub fn unknown_command(name: &str, span: Span) -> Diagnostic {
    let mut d = Diagnostic::at(format!("unknown command `{name}`"), span);
    if let Some(s) = suggest(name, commands::ALL_COMMANDS.iter().copied()) {
        d.message = format!("unknown command `{name}` (did you mean `{s}`?)");
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::search::SearchExpr;

    fn stage(q: &str, i: usize) -> Command {
        parse_query(q).unwrap().stages[i].command.clone()
    }

    #[test]
    fn quoted_and_bare_pieces_make_one_field_name() {
        // what `drop_dm_object_name("Web")` expands to
        match stage("search a | rename \"Web\".* AS *", 1) {
            Command::Rename(r) => assert_eq!(r.pairs, [("Web.*".to_string(), "*".to_string())]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn field_names_may_end_in_glued_parentheses() {
        let mut c = Cursor::new("count(x) predicted(a(b)).c f (g) h(i j) k(");
        assert_eq!(c.field_name("f").unwrap().0, "count(x)");
        assert_eq!(c.field_name("f").unwrap().0, "predicted(a(b)).c");
        // a space ends the name
        assert_eq!(c.field_name("f").unwrap().0, "f");
        c.ws();
        assert!(c.at('('));
        c.pos += 4;
        // spaces inside, or no closing parenthesis: the name stops before `(`
        assert_eq!(c.field_name("f").unwrap().0, "h");
        assert!(c.at('('));
        c.pos += 5;
        assert_eq!(c.field_name("f").unwrap().0, "k");
        assert!(c.at('('));
        match stage("search a | rename count(x) AS n, \"a b\" AS p(q)", 1) {
            Command::Rename(r) => assert_eq!(
                r.pairs,
                [
                    ("count(x)".to_string(), "n".to_string()),
                    ("a b".to_string(), "p(q)".to_string())
                ]
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn in_lists_take_spaces_trailing_commas_and_glued_quotes() {
        let Command::Search(s) = stage(r#"x IN ("a" "b", ""*c*"", "d",)"#, 0) else {
            panic!()
        };
        match s.expr {
            Some(SearchExpr::In { values, .. }) => assert_eq!(values, ["a", "b", "*c*", "d"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_backslash_quote_in_an_unquoted_value_is_a_quote() {
        let Command::Search(s) = stage(r#"f=*\"privileged\":true* | head 1"#, 0) else {
            panic!()
        };
        match s.expr {
            Some(SearchExpr::Compare { value, .. }) => assert_eq!(value, r#"*"privileged":true*"#),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn eval_names_may_hold_dashes_and_braces() {
        match stage("search a | eval feature_-value=1, {key}=2", 1) {
            Command::Eval(e) => {
                let names: Vec<&str> = e.assignments.iter().map(|(n, _)| n.as_str()).collect();
                assert_eq!(names, ["feature_-value", "{key}"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn commands_spelunk_cannot_run_keep_their_arguments() {
        match stage("| mstats count where index=m by host", 0) {
            Command::Unsupported(u) => {
                assert_eq!(u.name, "mstats");
                assert_eq!(u.args, "count where index=m by host");
            }
            other => panic!("{other:?}"),
        }
        let e = parse_query("search a | frobnicate x").unwrap_err();
        assert_eq!(e.message, "unknown command `frobnicate`");
    }

    #[test]
    fn a_command_pipeline_starts_with_a_command() {
        let mut c = Cursor::new("stats count | eval a=1");
        let p = parse_command_pipeline(&mut c).unwrap();
        assert_eq!(p.stages.len(), 2);
        assert_eq!(p.stages[0].command.name(), "stats");
    }
}
