//! Lexer and recursive-descent parser for eval expressions.
//!
//! One function per precedence level, loosest first: `or` > `xor` > `and` > `not` > comparison >
//! additive (`+ - .`) > multiplicative > unary minus > primary. Errors name what was expected at the
//! token where parsing stopped.

use super::functions::{lookup, Call};
use super::{BinOp, Expr, Kind, ParseError, Span, Unsupported};
use std::sync::Arc;

/// Every eval function Splunk's Search Reference lists. A call to one spelunk does not implement parses
/// (into [`Kind::Unsupported`], refused when run) so that a whole search can be checked; any other name
/// is an unknown function.
const SPLUNK_FUNCTIONS: &[&str] = &[
    "abs",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "avg",
    "bit_and",
    "bit_not",
    "bit_or",
    "bit_shift_left",
    "bit_shift_right",
    "bit_xor",
    "case",
    "ceil",
    "ceiling",
    "cidrmatch",
    "coalesce",
    "commands",
    "cos",
    "cosh",
    "exact",
    "exp",
    "false",
    "floor",
    "hypot",
    "if",
    "in",
    "ipmask",
    "isarray",
    "isbool",
    "isdouble",
    "isint",
    "isnotnull",
    "isnull",
    "isnum",
    "isobject",
    "isstr",
    "json_append",
    "json_array",
    "json_array_to_mv",
    "json_delete",
    "json_entries",
    "json_extend",
    "json_extract",
    "json_extract_exact",
    "json_has_key_exists",
    "json_keys",
    "json_object",
    "json_set",
    "json_set_exact",
    "json_valid",
    "len",
    "like",
    "ln",
    "log",
    "lookup",
    "lower",
    "ltrim",
    "match",
    "max",
    "md5",
    "min",
    "mv_to_json_array",
    "mvappend",
    "mvcount",
    "mvdedup",
    "mvfilter",
    "mvfind",
    "mvindex",
    "mvjoin",
    "mvmap",
    "mvrange",
    "mvsort",
    "mvzip",
    "now",
    "null",
    "nullif",
    "pi",
    "pow",
    "printf",
    "random",
    "relative_time",
    "replace",
    "round",
    "rtrim",
    "searchmatch",
    "sha1",
    "sha256",
    "sha512",
    "sigfig",
    "sin",
    "sinh",
    "spath",
    "split",
    "sqrt",
    "strftime",
    "strptime",
    "substr",
    "sum",
    "tan",
    "tanh",
    "time",
    "toarray",
    "tobool",
    "todouble",
    "toint",
    "tojson",
    "tomv",
    "tonumber",
    "toobject",
    "tostring",
    "trim",
    "true",
    "typeof",
    "upper",
    "urldecode",
    "validate",
];

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    /// `"text"`, escapes resolved
    Str(String),
    /// `'field name'`
    Quoted(String),
    /// bare name or keyword
    Ident(String),
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Dot,
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    EqEq,
    Ne,
    Eof,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    span: Span,
}

/// `{` starts a name too: `eval {key}=value` (a field named by another field's value).
fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '@' || c == '{'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '{' | '}' | ':' | '@')
}

fn err(offset: usize, expected: impl Into<String>, found: impl Into<String>) -> ParseError {
    ParseError {
        offset,
        expected: expected.into(),
        found: found.into(),
    }
}

fn lex(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut out: Vec<Token> = Vec::new();
    let mut it = src.char_indices().peekable();
    while let Some(&(start, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
            continue;
        }
        // whether the previous token ends an operand: then `.5` is concatenation, not a number
        let after_operand = match out.last().map(|t| &t.tok) {
            Some(Tok::Ident(w)) => !["AND", "OR", "XOR", "NOT", "LIKE", "IN"]
                .iter()
                .any(|k| w.eq_ignore_ascii_case(k)),
            Some(Tok::Num(_) | Tok::Str(_) | Tok::Quoted(_) | Tok::RParen) => true,
            _ => false,
        };
        let rest = &src[start..];
        let next_c = rest.chars().nth(1);
        let tok = if c.is_ascii_digit()
            || (c == '.' && !after_operand && next_c.is_some_and(|d| d.is_ascii_digit()))
        {
            let len = number_len(rest);
            let text = &rest[..len];
            let n: f64 = text
                .parse()
                .map_err(|_| err(start, "a number", format!("`{text}`")))?;
            for _ in text.chars() {
                it.next();
            }
            Token {
                tok: Tok::Num(n),
                span: Span {
                    start,
                    end: start + len,
                },
            }
        } else if c == '"' || c == '\'' {
            it.next();
            let mut s = String::new();
            let mut end = None;
            while let Some((i, ch)) = it.next() {
                if ch == c {
                    end = Some(i + 1);
                    break;
                }
                if ch == '\\' {
                    match it.peek() {
                        Some(&(_, n)) if n == c || n == '\\' => {
                            s.push(n);
                            it.next();
                        }
                        // other backslashes stay, so regexes such as "\d+" keep theirs
                        _ => s.push('\\'),
                    }
                } else {
                    s.push(ch);
                }
            }
            let Some(end) = end else {
                let what = if c == '"' { "string" } else { "field name" };
                return Err(err(
                    start,
                    format!("closing `{c}`"),
                    format!("end of input in the {what} that starts here"),
                ));
            };
            Token {
                tok: if c == '"' {
                    Tok::Str(s)
                } else {
                    Tok::Quoted(s)
                },
                span: Span { start, end },
            }
        } else if is_name_start(c) {
            let mut end = start;
            let mut name = String::new();
            while let Some(&(i, ch)) = it.peek() {
                if is_name_char(ch) {
                    name.push(ch);
                    end = i + ch.len_utf8();
                    it.next();
                } else {
                    break;
                }
            }
            Token {
                tok: Tok::Ident(name),
                span: Span { start, end },
            }
        } else {
            let two = |a: char, b: char| c == a && next_c == Some(b);
            let (tok, len) = if two('<', '=') {
                (Tok::Le, 2)
            } else if two('>', '=') {
                (Tok::Ge, 2)
            } else if two('=', '=') {
                (Tok::EqEq, 2)
            } else if two('!', '=') {
                (Tok::Ne, 2)
            } else {
                let t = match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    ',' => Tok::Comma,
                    '+' => Tok::Plus,
                    '-' => Tok::Minus,
                    '*' => Tok::Star,
                    '/' => Tok::Slash,
                    '%' => Tok::Percent,
                    '.' => Tok::Dot,
                    '<' => Tok::Lt,
                    '>' => Tok::Gt,
                    '=' => Tok::Eq,
                    _ => {
                        return Err(err(start, "an expression", format!("`{c}`")));
                    }
                };
                (t, 1)
            };
            for _ in 0..len {
                it.next();
            }
            Token {
                tok,
                span: Span {
                    start,
                    end: start + len,
                },
            }
        };
        out.push(tok);
    }
    out.push(Token {
        tok: Tok::Eof,
        span: Span {
            start: src.len(),
            end: src.len(),
        },
    });
    Ok(out)
}

/// Length in bytes of the number at the start of `s` (digits, fraction, exponent).
fn number_len(s: &str) -> usize {
    let b = s.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let digits_from = |mut i: usize| {
        while at(i).is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = digits_from(0);
    if at(i) == b'.' && at(i + 1).is_ascii_digit() {
        i = digits_from(i + 1);
    } else if at(i) == b'.' && i > 0 && !is_name_char(at(i + 1) as char) {
        // `3.` is 3
        i += 1;
    }
    if matches!(at(i), b'e' | b'E') {
        let mut j = i + 1;
        if matches!(at(j), b'+' | b'-') {
            j += 1;
        }
        let end = digits_from(j);
        if end > j {
            i = end;
        }
    }
    i
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Num(n) => format!("`{}`", crate::value::format_num(*n)),
        Tok::Str(s) => format!("\"{s}\""),
        Tok::Quoted(s) => format!("'{s}'"),
        Tok::Ident(s) => format!("`{s}`"),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::Comma => "`,`".into(),
        Tok::Plus => "`+`".into(),
        Tok::Minus => "`-`".into(),
        Tok::Star => "`*`".into(),
        Tok::Slash => "`/`".into(),
        Tok::Percent => "`%`".into(),
        Tok::Dot => "`.`".into(),
        Tok::Lt => "`<`".into(),
        Tok::Gt => "`>`".into(),
        Tok::Le => "`<=`".into(),
        Tok::Ge => "`>=`".into(),
        Tok::Eq => "`=`".into(),
        Tok::EqEq => "`==`".into(),
        Tok::Ne => "`!=`".into(),
        Tok::Eof => "end of input".into(),
    }
}

const EOF_TOKEN: Token = Token {
    tok: Tok::Eof,
    span: Span { start: 0, end: 0 },
};

impl Parser {
    fn new(src: &str) -> Result<Parser, ParseError> {
        Ok(Parser {
            toks: lex(src)?,
            pos: 0,
        })
    }

    fn peek(&self) -> &Token {
        self.toks
            .get(self.pos)
            .or(self.toks.last())
            .unwrap_or(&EOF_TOKEN)
    }

    fn peek_at(&self, n: usize) -> &Tok {
        self.toks
            .get(self.pos + n)
            .map(|t| &t.tok)
            .unwrap_or(&Tok::Eof)
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn unexpected(&self, expected: &str) -> ParseError {
        let t = self.peek();
        err(t.span.start, expected, describe(&t.tok))
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s.eq_ignore_ascii_case(word))
    }

    fn keyword_at(&self, n: usize, word: &str) -> bool {
        matches!(self.peek_at(n), Tok::Ident(s) if s.eq_ignore_ascii_case(word))
    }

    fn expect(&mut self, tok: Tok, expected: &str) -> Result<Token, ParseError> {
        if self.peek().tok == tok {
            Ok(self.bump())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn binary(op: BinOp, a: Expr, b: Expr) -> Expr {
        let span = Span {
            start: a.span.start,
            end: b.span.end,
        };
        Expr {
            kind: Kind::Binary(op, Box::new(a), Box::new(b)),
            span,
        }
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.or()
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.xor()?;
        while self.keyword("OR") {
            self.bump();
            let right = self.xor()?;
            left = Self::binary(BinOp::Or, left, right);
        }
        Ok(left)
    }

    fn xor(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        while self.keyword("XOR") {
            self.bump();
            let right = self.and()?;
            left = Self::binary(BinOp::Xor, left, right);
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.not()?;
        while self.keyword("AND") {
            self.bump();
            let right = self.not()?;
            left = Self::binary(BinOp::And, left, right);
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.keyword("NOT") {
            let start = self.bump().span.start;
            let inner = self.not()?;
            let span = Span {
                start,
                end: inner.span.end,
            };
            return Ok(Expr {
                kind: Kind::Not(Box::new(inner)),
                span,
            });
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.additive()?;
        loop {
            let op = match &self.peek().tok {
                Tok::Eq | Tok::EqEq => BinOp::Eq,
                Tok::Ne => BinOp::Ne,
                Tok::Lt => BinOp::Lt,
                Tok::Gt => BinOp::Gt,
                Tok::Le => BinOp::Le,
                Tok::Ge => BinOp::Ge,
                Tok::Ident(w) if w.eq_ignore_ascii_case("LIKE") => BinOp::Like,
                Tok::Ident(w) if w.eq_ignore_ascii_case("IN") => {
                    self.bump();
                    left = self.in_list(left, false)?;
                    continue;
                }
                Tok::Ident(w)
                    if w.eq_ignore_ascii_case("NOT")
                        && (self.keyword_at(1, "IN") || self.keyword_at(1, "LIKE")) =>
                {
                    self.bump();
                    if self.keyword("IN") {
                        self.bump();
                        left = self.in_list(left, true)?;
                        continue;
                    }
                    BinOp::NotLike
                }
                _ => break,
            };
            self.bump();
            let right = self.additive()?;
            left = match (op, &right.kind) {
                // a literal pattern is compiled here, once, not for every event
                (BinOp::Like | BinOp::NotLike, Kind::Str(p)) => {
                    let pattern = super::strings::like_regex(p).map_err(|found| ParseError {
                        offset: right.span.start,
                        expected: "a LIKE pattern".into(),
                        found,
                    })?;
                    let span = Span {
                        start: left.span.start,
                        end: right.span.end,
                    };
                    Expr {
                        kind: Kind::Like {
                            subject: Box::new(left),
                            pattern,
                            negated: op == BinOp::NotLike,
                        },
                        span,
                    }
                }
                _ => Self::binary(op, left, right),
            };
        }
        Ok(left)
    }

    fn in_list(&mut self, subject: Expr, negated: bool) -> Result<Expr, ParseError> {
        self.expect(Tok::LParen, "`(` after IN")?;
        let mut list = Vec::new();
        if self.peek().tok != Tok::RParen {
            loop {
                list.push(self.expr()?);
                if self.peek().tok == Tok::Comma {
                    self.bump();
                } else {
                    break;
                }
            }
        }
        let close = self.expect(Tok::RParen, "`,` or `)`")?;
        let span = Span {
            start: subject.span.start,
            end: close.span.end,
        };
        Ok(Expr {
            kind: Kind::In {
                subject: Box::new(subject),
                list,
                negated,
            },
            span,
        })
    }

    fn additive(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek().tok {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                Tok::Dot => BinOp::Concat,
                _ => break,
            };
            self.bump();
            let right = self.multiplicative()?;
            left = Self::binary(op, left, right);
        }
        Ok(left)
    }

    fn multiplicative(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek().tok {
                Tok::Star => BinOp::Mul,
                Tok::Slash => BinOp::Div,
                Tok::Percent => BinOp::Mod,
                _ => break,
            };
            self.bump();
            let right = self.unary()?;
            left = Self::binary(op, left, right);
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        match self.peek().tok {
            Tok::Minus => {
                let start = self.bump().span.start;
                let inner = self.unary()?;
                let span = Span {
                    start,
                    end: inner.span.end,
                };
                let kind = match inner.kind {
                    Kind::Num(n) => Kind::Num(-n),
                    other => Kind::Neg(Box::new(Expr {
                        kind: other,
                        span: inner.span,
                    })),
                };
                Ok(Expr { kind, span })
            }
            Tok::Plus => {
                self.bump();
                self.unary()
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let t = self.peek().clone();
        let kind = match t.tok {
            Tok::Num(n) => Kind::Num(n),
            Tok::Str(s) => Kind::Str(Arc::from(s)),
            Tok::Quoted(s) => Kind::Field(Arc::from(s)),
            Tok::LParen => {
                self.bump();
                let inner = self.expr()?;
                let close = self.expect(Tok::RParen, "`)` or an operator")?;
                return Ok(Expr {
                    kind: inner.kind,
                    span: Span {
                        start: t.span.start,
                        end: close.span.end,
                    },
                });
            }
            Tok::Ident(name) => {
                if *self.peek_at(1) == Tok::LParen {
                    return self.call(name, t.span);
                }
                if name.eq_ignore_ascii_case("NOT") {
                    return self.not();
                }
                if name.eq_ignore_ascii_case("TRUE") {
                    Kind::Bool(true)
                } else if name.eq_ignore_ascii_case("FALSE") {
                    Kind::Bool(false)
                } else if ["AND", "OR", "XOR", "LIKE", "IN"]
                    .iter()
                    .any(|k| name.eq_ignore_ascii_case(k))
                {
                    return Err(self.unexpected("a value"));
                } else {
                    Kind::Field(Arc::from(name))
                }
            }
            _ => return Err(self.unexpected("a value")),
        };
        self.bump();
        Ok(Expr { kind, span: t.span })
    }

    fn call(&mut self, name: String, name_span: Span) -> Result<Expr, ParseError> {
        let lower = name.to_ascii_lowercase();
        let def = lookup(&lower);
        if def.is_none() && !SPLUNK_FUNCTIONS.contains(&lower.as_str()) {
            let hint = super::functions::suggest(&lower)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(err(
                name_span.start,
                "",
                format!("unknown function `{name}`{hint}"),
            ));
        }
        self.bump(); // name
        self.bump(); // (
        let mut args = Vec::new();
        if self.peek().tok != Tok::RParen {
            loop {
                args.push(self.expr()?);
                if self.peek().tok == Tok::Comma {
                    self.bump();
                } else {
                    break;
                }
            }
        }
        let close = self.expect(Tok::RParen, "`,` or `)`")?;
        let span = Span {
            start: name_span.start,
            end: close.span.end,
        };
        let unsupported = |reason: String, args: Vec<Expr>| Expr {
            kind: Kind::Unsupported(Box::new(Unsupported {
                name: lower.clone(),
                reason,
                args,
            })),
            span,
        };
        let Some(def) = def else {
            return Ok(unsupported(
                format!("eval function `{lower}` is not supported yet"),
                args,
            ));
        };
        if let Some(expected) = def.arity_error(args.len()) {
            return Err(err(
                name_span.start,
                format!("{expected} to `{}`", def.name),
                args.len().to_string(),
            ));
        }
        match Call::new(def, args.clone()) {
            Ok(call) => Ok(Expr {
                kind: Kind::Call(Box::new(call)),
                span,
            }),
            // Splunk's regexes are PCRE: a pattern that is valid there but uses what the regex engine
            // here lacks (look-around, backreferences) is not the user's mistake.
            Err(e) if e.expected == "a regular expression" && e.found.contains("not supported") => {
                let detail = e
                    .found
                    .rsplit_once(" (")
                    .map(|(_, d)| d.trim_end_matches(')'))
                    .unwrap_or("a PCRE feature");
                Ok(unsupported(
                    format!("unsupported regular expression in '{lower}': {detail}"),
                    args,
                ))
            }
            Err(e) => Err(e),
        }
    }

    fn end(&self) -> Result<(), ParseError> {
        if self.peek().tok == Tok::Eof {
            Ok(())
        } else {
            Err(self.unexpected("an operator or end of expression"))
        }
    }
}

/// Parse one expression; the whole text must be that expression (spaces around it are fine).
pub fn parse_expr(src: &str) -> Result<Expr, ParseError> {
    let mut p = Parser::new(src)?;
    if p.peek().tok == Tok::Eof {
        return Err(p.unexpected("an expression"));
    }
    let e = p.expr()?;
    p.end()?;
    Ok(e)
}

/// Parse the eval command's argument: `name=expr` pairs separated by commas. A name is bare,
/// `'single-quoted'` or `"double-quoted"`.
pub fn parse_assignments(src: &str) -> Result<Vec<(String, Expr)>, ParseError> {
    let mut p = Parser::new(src)?;
    let mut out = Vec::new();
    loop {
        let name = match &p.peek().tok {
            Tok::Ident(s) | Tok::Quoted(s) | Tok::Str(s) => s.clone(),
            _ => return Err(p.unexpected("a field name")),
        };
        let mut end = p.bump().span.end;
        // Splunk reads the name up to `=`: a bare name may hold `-` (`feature_-value=...`), so the
        // tokens written without space between them up to `=` are one name.
        let mut name = name;
        while matches!(
            p.peek().tok,
            Tok::Minus | Tok::Ident(_) | Tok::Num(_) | Tok::Dot
        ) && p.peek().span.start == end
        {
            let t = p.bump();
            name.push_str(src.get(t.span.start..t.span.end).unwrap_or(""));
            end = t.span.end;
        }
        p.expect(Tok::Eq, "`=`")?;
        if matches!(p.peek().tok, Tok::Eof | Tok::Comma) {
            return Err(p.unexpected("an expression"));
        }
        let e = p.expr()?;
        out.push((name, e));
        match p.peek().tok {
            Tok::Comma => {
                p.bump();
            }
            Tok::Eof => return Ok(out),
            _ => return Err(p.unexpected("`,` or end of expression")),
        }
    }
}
