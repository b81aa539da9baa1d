//! Splunk's regular expressions, compiled in one place for every command and function that runs them
//! (`regex`, `rex` and its sed mode, `makemv tokenizer`, eval's `match`/`replace`/`mvfind`, props
//! `EXTRACT-`/`REPORT-`).
//!
//! Splunk's regexes are PCRE. spelunk first rewrites the PCRE habits that the Rust engines read
//! differently ([`pcre_to_rust`]). A pattern without PCRE-only constructs is compiled with the `regex`
//! crate, which matches in linear time. A pattern that needs look-around, backreferences, atomic groups,
//! possessive quantifiers, `\K`, `\G` or conditionals (found by reading it, [`pcre_only`]) is compiled
//! with `fancy-regex`, a backtracking engine that hands the parts without those constructs to the
//! `regex` crate. Backtracking is bounded: past [`BACKTRACK_LIMIT`] steps on one text the match stops
//! with a [`LimitError`] naming the pattern, never a silent non-match (PCRE's own `match_limit` bounds
//! Splunk the same way). What neither engine has (recursion, branch reset groups, backtracking verbs,
//! callouts, look-behind of varying length) is [`CompileError::Unsupported`]: the pattern is valid
//! PCRE, so the search that holds it parses and is refused when run.

use std::borrow::Cow;
use std::fmt;

/// Cap on a compiled regex (bytes of program): patterns beyond it are refused, not run.
pub const SIZE_LIMIT: usize = 1 << 22;

/// Backtracking steps a PCRE-only pattern may take on one text before the match is given up with an error.
pub const BACKTRACK_LIMIT: usize = 1_000_000;

/// A compiled Splunk regex.
#[derive(Clone, Debug)]
pub struct Pcre {
    text: String,
    engine: Engine,
}

#[derive(Clone, Debug)]
enum Engine {
    /// Linear time.
    Linear(regex::Regex),
    /// Backtracking, bounded by [`BACKTRACK_LIMIT`].
    Backtracking(Box<fancy_regex::Regex>),
}

/// Why a pattern does not compile.
#[derive(Clone, Debug, PartialEq)]
pub enum CompileError {
    /// Not a regex (what is wrong, without the pattern).
    Invalid(String),
    /// Valid PCRE using a construct that no engine here has.
    Unsupported {
        /// The construct, e.g. `recursion`.
        feature: &'static str,
        /// The engine's message.
        detail: String,
    },
}

/// A match given up at [`BACKTRACK_LIMIT`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitError {
    pub pattern: String,
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the regular expression \"{}\" gave up: matching it took more than {BACKTRACK_LIMIT} backtracking steps on one value (Splunk's PCRE stops at its match_limit too)",
            self.pattern
        )
    }
}

impl std::error::Error for LimitError {}

/// One match of a pattern's groups.
pub enum Captures<'t> {
    Linear(regex::Captures<'t>),
    Backtracking(fancy_regex::Captures<'t>),
}

/// Where a group matched: byte offsets into the text, and the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match<'t> {
    pub start: usize,
    pub end: usize,
    text: &'t str,
}

impl<'t> Match<'t> {
    pub fn as_str(&self) -> &'t str {
        self.text
    }
}

impl<'t> Captures<'t> {
    /// Group `i` (0: the whole match), when it took part.
    pub fn get(&self, i: usize) -> Option<Match<'t>> {
        match self {
            Captures::Linear(c) => c.get(i).map(|m| Match {
                start: m.start(),
                end: m.end(),
                text: m.as_str(),
            }),
            Captures::Backtracking(c) => c.get(i).map(|m| Match {
                start: m.start(),
                end: m.end(),
                text: m.as_str(),
            }),
        }
    }

    /// The named group `name`, when it took part.
    pub fn name(&self, name: &str) -> Option<Match<'t>> {
        match self {
            Captures::Linear(c) => c.name(name).map(|m| Match {
                start: m.start(),
                end: m.end(),
                text: m.as_str(),
            }),
            Captures::Backtracking(c) => c.name(name).map(|m| Match {
                start: m.start(),
                end: m.end(),
                text: m.as_str(),
            }),
        }
    }

    /// Append `replacement` (the `regex` crate's syntax: `${1}`, `$$`) with its groups filled in.
    pub fn expand(&self, replacement: &str, dst: &mut String) {
        match self {
            Captures::Linear(c) => c.expand(replacement, dst),
            Captures::Backtracking(c) => c.expand(replacement, dst),
        }
    }
}

/// The matches of a pattern over one text, in order; a match given up at the limit ends it with an error.
pub enum CapturesIter<'r, 't> {
    Linear(regex::CaptureMatches<'r, 't>),
    Backtracking {
        inner: fancy_regex::CaptureMatches<'r, 't>,
        pattern: &'r str,
        failed: bool,
    },
}

impl<'t> Iterator for CapturesIter<'_, 't> {
    type Item = Result<Captures<'t>, LimitError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            CapturesIter::Linear(it) => it.next().map(|c| Ok(Captures::Linear(c))),
            CapturesIter::Backtracking {
                inner,
                pattern,
                failed,
            } => {
                if *failed {
                    return None;
                }
                match inner.next()? {
                    Ok(c) => Some(Ok(Captures::Backtracking(c))),
                    Err(_) => {
                        *failed = true;
                        Some(Err(LimitError {
                            pattern: pattern.to_string(),
                        }))
                    }
                }
            }
        }
    }
}

impl Pcre {
    /// Compile a Splunk (PCRE) regex.
    pub fn new(pattern: &str) -> Result<Pcre, CompileError> {
        let rewritten = pcre_to_rust(pattern);
        let Some(found) = pcre_only(pattern) else {
            let regex = regex::RegexBuilder::new(&rewritten)
                .size_limit(SIZE_LIMIT)
                .dfa_size_limit(SIZE_LIMIT)
                .build()
                .map_err(|e| CompileError::Invalid(regex_error_detail(&e)))?;
            return Ok(Pcre {
                text: pattern.to_string(),
                engine: Engine::Linear(regex),
            });
        };
        // the rest of the pattern must be a regex: checked with each PCRE-only construct replaced by
        // a plain one of the same shape, so that a mistake elsewhere is reported as the mistake it is
        if let Some(plain) = &found.plain {
            regex::RegexBuilder::new(&pcre_to_rust(plain))
                .size_limit(SIZE_LIMIT)
                .build()
                .map_err(|e| CompileError::Invalid(regex_error_detail(&e)))?;
        }
        match fancy_regex::RegexBuilder::new(&rewritten)
            .backtrack_limit(BACKTRACK_LIMIT)
            .delegate_size_limit(SIZE_LIMIT)
            .delegate_dfa_size_limit(SIZE_LIMIT)
            .build()
        {
            Ok(regex) => Ok(Pcre {
                text: pattern.to_string(),
                engine: Engine::Backtracking(Box::new(regex)),
            }),
            Err(e) => {
                let detail = e.to_string();
                let feature = if detail.contains("constant size") {
                    "look-behind of varying length"
                } else {
                    found.feature
                };
                Err(CompileError::Unsupported { feature, detail })
            }
        }
    }

    /// The pattern as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Does the pattern need the backtracking engine?
    pub fn backtracks(&self) -> bool {
        matches!(self.engine, Engine::Backtracking(_))
    }

    fn limit(&self) -> LimitError {
        LimitError {
            pattern: self.text.clone(),
        }
    }

    /// Does the pattern match somewhere in `text`?
    pub fn is_match(&self, text: &str) -> Result<bool, LimitError> {
        match &self.engine {
            Engine::Linear(r) => Ok(r.is_match(text)),
            Engine::Backtracking(r) => r.is_match(text).map_err(|_| self.limit()),
        }
    }

    /// Every match, in order.
    pub fn captures_iter<'r, 't>(&'r self, text: &'t str) -> CapturesIter<'r, 't> {
        match &self.engine {
            Engine::Linear(r) => CapturesIter::Linear(r.captures_iter(text)),
            Engine::Backtracking(r) => CapturesIter::Backtracking {
                inner: r.captures_iter(text),
                pattern: &self.text,
                failed: false,
            },
        }
    }

    /// Group names in group order (`None` for group 0 and unnamed groups).
    pub fn capture_names(&self) -> Vec<Option<&str>> {
        match &self.engine {
            Engine::Linear(r) => r.capture_names().collect(),
            Engine::Backtracking(r) => r.capture_names().collect(),
        }
    }

    /// Number of groups, group 0 included.
    pub fn captures_len(&self) -> usize {
        match &self.engine {
            Engine::Linear(r) => r.captures_len(),
            Engine::Backtracking(r) => r.captures_len(),
        }
    }

    /// Replace every match (`nth: None`) or only the n-th (1-based) with `replacement` (the `regex`
    /// crate's syntax: `${1}`, `$$`).
    pub fn replace<'t>(
        &self,
        text: &'t str,
        replacement: &str,
        nth: Option<usize>,
    ) -> Result<Cow<'t, str>, LimitError> {
        match (&self.engine, nth) {
            (Engine::Linear(r), None) => Ok(r.replace_all(text, replacement)),
            (Engine::Backtracking(r), None) => r
                .try_replacen(text, 0, replacement)
                .map_err(|_| self.limit()),
            (_, Some(n)) => {
                let Some(caps) = self.captures_iter(text).nth(n.saturating_sub(1)) else {
                    return Ok(Cow::Borrowed(text));
                };
                let caps = caps?;
                let Some(m) = caps.get(0) else {
                    return Ok(Cow::Borrowed(text));
                };
                let mut out = String::with_capacity(text.len());
                out.push_str(text.get(..m.start).unwrap_or(""));
                caps.expand(replacement, &mut out);
                out.push_str(text.get(m.end..).unwrap_or(""));
                Ok(Cow::Owned(out))
            }
        }
    }
}

impl PartialEq for Pcre {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// The last line of a regex compiler's message, which says what is wrong (the others repeat the pattern).
pub fn regex_error_detail(e: &regex::Error) -> String {
    e.to_string()
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid")
        .trim()
        .trim_start_matches("error: ")
        .to_string()
}

/// Rewrite the PCRE habits that the `regex` crate reads differently: a `{` that does not start a counted
/// repetition is a literal (`({|%7b)`), `-` after `\w`-style classes inside `[...]` is a literal, and
/// `\Q..\E`, `\h`, `\H`, `\e`, `\Z` have equivalents; PCRE's `\x` takes up to two hex digits (`\x9`, `\x41`, a
/// bare `\x` is NUL) where the `regex` crate wants exactly two, so each becomes `\x{..}`, and `\x{202E}` is
/// kept whole (its brace is not a repetition).
pub fn pcre_to_rust(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut out = String::with_capacity(p.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    while let Some(c) = at(i) {
        match c {
            '\\' => {
                let Some(n) = at(i + 1) else {
                    out.push('\\');
                    break;
                };
                i += 2;
                match n {
                    'Q' => {
                        let mut lit = String::new();
                        while let Some(q) = at(i) {
                            if q == '\\' && at(i + 1) == Some('E') {
                                i += 2;
                                break;
                            }
                            lit.push(q);
                            i += 1;
                        }
                        out.push_str(&regex::escape(&lit));
                    }
                    'h' if in_class => out.push_str(" \\t"),
                    'h' => out.push_str("[ \\t]"),
                    'H' if !in_class => out.push_str("[^ \\t]"),
                    'e' => out.push_str("\\x1B"),
                    'x' if at(i) == Some('{') => {
                        let digits = chars.get(i + 1..).map_or(0, |r| {
                            r.iter().take_while(|d| d.is_ascii_hexdigit()).count()
                        });
                        out.push_str("\\x");
                        if digits > 0 && at(i + 1 + digits) == Some('}') {
                            // `\x{HHHH}` reads the same in both: copy it through its brace
                            out.extend(chars.get(i..i + digits + 2).unwrap_or(&[]));
                            i += digits + 2;
                        }
                    }
                    'x' => {
                        let mut hex = String::new();
                        while hex.len() < 2 {
                            match at(i) {
                                Some(d) if d.is_ascii_hexdigit() => {
                                    hex.push(d);
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        if hex.is_empty() {
                            hex.push('0');
                        }
                        out.push_str(&format!("\\x{{{hex}}}"));
                    }
                    'Z' => out.push_str("(?:\\n?\\z)"),
                    'w' | 'W' | 'd' | 'D' | 's' | 'S'
                        if in_class && at(i) == Some('-') && at(i + 1) != Some(']') =>
                    {
                        out.push('\\');
                        out.push(n);
                        out.push_str("\\-");
                        i += 1;
                    }
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                i += 1;
                // a `]` or `^]` right at the start is a literal
                if at(i) == Some('^') {
                    out.push('^');
                    i += 1;
                }
                if at(i) == Some(']') {
                    out.push_str("\\]");
                    i += 1;
                }
                continue;
            }
            ']' if in_class => in_class = false,
            '{' if !in_class => {
                let mut j = i + 1;
                let mut digits = 0;
                while at(j).is_some_and(|d| d.is_ascii_digit()) {
                    j += 1;
                    digits += 1;
                }
                if digits > 0 && at(j) == Some(',') {
                    j += 1;
                    while at(j).is_some_and(|d| d.is_ascii_digit()) {
                        j += 1;
                    }
                }
                if digits == 0 || at(j) != Some('}') {
                    out.push_str("\\{");
                    i += 1;
                    continue;
                }
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    out
}

/// A PCRE construct that the `regex` crate does not have, found in a pattern.
pub struct PcreOnly {
    /// The first such construct.
    pub feature: &'static str,
    /// The pattern with each such construct replaced by a plain one of the same shape (look-around and
    /// atomic groups become `(?:`, a possessive quantifier greedy, a backreference a character, `\K`
    /// nothing), to check the rest; `None` when one cannot be replaced (recursion, conditionals).
    pub plain: Option<String>,
}

/// The PCRE-only constructs of `p`, read outside character classes and `\Q...\E`.
pub fn pcre_only(p: &str) -> Option<PcreOnly> {
    let chars: Vec<char> = p.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let starts = |i: usize, s: &str| s.chars().enumerate().all(|(k, c)| at(i + k) == Some(c));
    let mut feature: Option<&'static str> = None;
    let mut plain = Some(String::with_capacity(p.len()));
    let mut found = |f: &'static str| {
        if feature.is_none() {
            feature = Some(f);
        }
    };
    let push = |plain: &mut Option<String>, s: &str| {
        if let Some(out) = plain {
            out.push_str(s);
        }
    };
    let mut i = 0;
    let mut in_class = false;
    while let Some(c) = at(i) {
        if c == '\\' {
            let n = at(i + 1);
            match n {
                Some('Q') => {
                    // quoted text: copied as is up to `\E`
                    let mut j = i + 2;
                    while at(j).is_some() && !starts(j, "\\E") {
                        j += 1;
                    }
                    let end = (j + 2).min(chars.len());
                    let text: String = chars.get(i..end).unwrap_or(&[]).iter().collect();
                    push(&mut plain, &text);
                    i = end;
                    continue;
                }
                Some('K') if !in_class => found("`\\K`"),
                Some('G') if !in_class => found("`\\G`"),
                Some('g' | 'k') if !in_class => {
                    found("backreferences");
                    // `\g{1}`, `\g1`, `\k<name>`, `\k{name}`, `\k'name'`: one character in the check
                    let mut j = i + 2;
                    match at(j) {
                        Some(open @ ('{' | '<' | '\'')) => {
                            let close = match open {
                                '{' => '}',
                                '<' => '>',
                                _ => '\'',
                            };
                            j += 1;
                            while at(j).is_some_and(|x| x != close) {
                                j += 1;
                            }
                            j += 1;
                        }
                        _ => {
                            while at(j).is_some_and(|x| x.is_ascii_digit() || x == '-') {
                                j += 1;
                            }
                        }
                    }
                    push(&mut plain, "x");
                    i = j;
                    continue;
                }
                Some(d) if !in_class && d.is_ascii_digit() && d != '0' => {
                    found("backreferences");
                    push(&mut plain, "x");
                    i += 2;
                    continue;
                }
                _ => {}
            }
            if matches!(n, Some('K' | 'G')) && !in_class {
                i += 2;
                continue;
            }
            let text: String = chars
                .get(i..(i + 2).min(chars.len()))
                .unwrap_or(&[])
                .iter()
                .collect();
            push(&mut plain, &text);
            i += 2;
            continue;
        }
        if in_class {
            if c == ']' {
                in_class = false;
            }
            push(&mut plain, c.encode_utf8(&mut [0; 4]));
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                // a `]` right at the start (or after `^`) is a literal
                let mut j = i + 1;
                if at(j) == Some('^') {
                    j += 1;
                }
                if at(j) == Some(']') {
                    j += 1;
                }
                let text: String = chars.get(i..j).unwrap_or(&[]).iter().collect();
                push(&mut plain, &text);
                i = j;
                continue;
            }
            '(' => {
                let plain_group = ["?=", "?!", "?<=", "?<!"]
                    .iter()
                    .find(|s| starts(i + 1, s))
                    .map(|s| (*s, "look-around"))
                    .or_else(|| starts(i + 1, "?>").then_some(("?>", "atomic groups")));
                if let Some((opener, f)) = plain_group {
                    found(f);
                    push(&mut plain, "(?:");
                    i += 1 + opener.chars().count();
                    continue;
                }
                let unplain = if starts(i + 1, "?R")
                    || starts(i + 1, "?&")
                    || starts(i + 1, "?P>")
                    || (starts(i + 1, "?")
                        && at(i + 2).is_some_and(|d| d.is_ascii_digit() || d == '-' || d == '+'))
                {
                    Some("recursion")
                } else if starts(i + 1, "?(") {
                    Some("conditionals")
                } else if starts(i + 1, "?|") {
                    Some("branch reset groups")
                } else if starts(i + 1, "*") {
                    Some("backtracking verbs")
                } else if starts(i + 1, "?C") {
                    Some("callouts")
                } else {
                    None
                };
                if let Some(f) = unplain {
                    found(f);
                    plain = None;
                }
            }
            '*' | '+' | '?' | '}' if at(i + 1) == Some('+') && i > 0 => {
                // `}` only where it closes a counted repetition
                let counted = c != '}' || {
                    let before: String = chars.get(..i).unwrap_or(&[]).iter().collect();
                    before.rfind('{').is_some_and(|o| {
                        let inner = before.get(o + 1..).unwrap_or("");
                        !inner.is_empty() && inner.chars().all(|d| d.is_ascii_digit() || d == ',')
                    })
                };
                // `(?+1)` was read at its `(`; `??+` is not possessive of a lazy one in PCRE either
                if counted && at(i.wrapping_sub(1)) != Some('(') {
                    found("possessive quantifiers");
                    push(&mut plain, c.encode_utf8(&mut [0; 4]));
                    i += 2;
                    continue;
                }
            }
            _ => {}
        }
        push(&mut plain, c.encode_utf8(&mut [0; 4]));
        i += 1;
    }
    feature.map(|feature| PcreOnly { feature, plain })
}
