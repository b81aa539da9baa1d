//! Search macros: the first stage of the data path (text → expanded text + [`SourceMap`]).
//!
//! Splunk expands macros textually before it parses a search, and expands the result again until no
//! macro call is left (SPL-SEMANTICS.md §2). What this module supports:
//!
//! - ```` ```comment``` ```` (three backticks each side, may span lines) is dropped, also inside macro
//!   definitions. A comment starts only outside double-quoted strings.
//! - `` `name` `` and `` `name(arg1, arg2)` ``: the definition is looked up by name and number of arguments.
//!   Arguments are separated by commas outside double quotes, parentheses and nested macro calls; each is
//!   trimmed and its own macro calls are expanded first. Every `$argname$` in the definition is then replaced
//!   by the argument text as written (no quoting added), and the result is scanned for more calls.
//! - A backtick inside a double-quoted string (`replace(x, "`", "")`) is not a macro call. Backslash escapes
//!   a character inside a string. Single quotes do not delimit strings here: eval uses them for field names.
//! - A `<detection>_filter` macro without a definition expands to nothing (security_content's build defines
//!   them as `search *`, which keeps every row); the names are reported in [`Expansion::defaulted_filters`].
//!
//! Refused, with an error pointing at the user's text: unknown macros (with the nearest known name), a wrong
//! number of arguments, cycles, nesting deeper than 50 macros, eval macros (`iseval = 1`), an unterminated
//! backtick or comment, and expansions larger than 1 MiB.
//!
//! Definitions come from security_content YAML files (`name`, `definition`, `arguments`) and from
//! `macros.conf` files (`[name(2)]`, `args`, `definition`, `iseval`).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

/// Deepest chain of macros expanding one another, as in Splunk.
const MAX_DEPTH: usize = 50;
/// Bound on recursion of any kind (macro bodies and macro calls nested inside arguments), so that no input
/// can exhaust the stack.
const MAX_NESTING: usize = 100;
/// Bound on the expanded text, so that macros doubling one another cannot exhaust memory. Published
/// searches expand to a few kilobytes.
const MAX_EXPANDED_LEN: usize = 1024 * 1024;

/// One macro definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroDef {
    pub name: String,
    /// Argument names, in call order; the arity is their number.
    pub args: Vec<String>,
    pub definition: String,
    /// `iseval = 1` in macros.conf: the definition is an eval expression. Calls to it are refused.
    pub iseval: bool,
    /// The file the definition was read from, or a label such as "shipped queries/macros.conf".
    pub origin: String,
}

impl MacroDef {
    /// How the macro is named in macros.conf: `name` or `name(2)`.
    pub fn stanza_name(&self) -> String {
        stanza_name(&self.name, self.args.len())
    }
}

fn stanza_name(name: &str, arity: usize) -> String {
    if arity == 0 {
        name.to_string()
    } else {
        format!("{name}({arity})")
    }
}

/// An error in macro expansion or in loading definitions.
///
/// For expansion errors, `offset`/`len` are a byte range in the user's original text (for trouble inside a
/// macro definition: the outermost macro call involved). For load errors they are a byte range in the file
/// text, or 0/0 when the whole file is concerned. `Display` shows only the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroError {
    pub offset: usize,
    pub len: usize,
    pub message: String,
}

impl MacroError {
    fn new(offset: usize, len: usize, message: impl Into<String>) -> Self {
        MacroError {
            offset,
            len,
            message: message.into(),
        }
    }
}

impl fmt::Display for MacroError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MacroError {}

/// Macro definitions keyed by name and arity. A later definition of the same key replaces the earlier one.
#[derive(Debug, Default, Clone)]
pub struct MacroLibrary {
    defs: BTreeMap<(String, usize), MacroDef>,
}

impl MacroLibrary {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, def: MacroDef) {
        self.defs.insert((def.name.clone(), def.args.len()), def);
    }

    pub fn get(&self, name: &str, arity: usize) -> Option<&MacroDef> {
        self.defs.get(&(name.to_string(), arity))
    }

    /// Names for completion: `name` or `name(2)`, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.defs.values().map(MacroDef::stanza_name).collect();
        names.sort();
        names
    }

    pub fn iter(&self) -> impl Iterator<Item = &MacroDef> {
        self.defs.values()
    }

    pub fn len(&self) -> usize {
        self.defs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    /// The arities `name` is defined with, ascending.
    fn arities(&self, name: &str) -> Vec<usize> {
        let lo = (name.to_string(), 0);
        let hi = (name.to_string(), usize::MAX);
        self.defs
            .range(lo..=hi)
            .map(|((_, arity), _)| *arity)
            .collect()
    }

    /// The known macro name nearest to `name`, if it is close enough to be a likely typo.
    fn suggest(&self, name: &str) -> Option<&str> {
        let limit = (name.chars().count() / 3).max(1);
        let mut best: Option<(usize, &str)> = None;
        for (known, _) in self.defs.keys() {
            let d = strsim::damerau_levenshtein(name, known);
            if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, known.as_str()));
            }
        }
        best.map(|(_, n)| n)
    }

    /// Loads a macro file (`.yml`, `.yaml`, `.conf`) or every such file directly inside a folder, in name
    /// order. Returns how many definitions were loaded.
    pub fn load_path(&mut self, path: &Path) -> Result<usize, MacroError> {
        let io_err = |e: std::io::Error| {
            MacroError::new(0, 0, format!("cannot read {}: {e}", path.display()))
        };
        if path.is_dir() {
            let mut files = Vec::new();
            for entry in std::fs::read_dir(path).map_err(io_err)? {
                let entry = entry.map_err(io_err)?;
                let p = entry.path();
                if p.is_file() && file_kind(&p).is_some() {
                    files.push(p);
                }
            }
            files.sort();
            let mut count = 0;
            for f in files {
                count += self.load_file(&f)?;
            }
            Ok(count)
        } else {
            self.load_file(path)
        }
    }

    fn load_file(&mut self, path: &Path) -> Result<usize, MacroError> {
        let kind = file_kind(path).ok_or_else(|| {
            MacroError::new(
                0,
                0,
                format!(
                    "{}: not a macro file (expected .conf, .yml or .yaml)",
                    path.display()
                ),
            )
        })?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| MacroError::new(0, 0, format!("cannot read {}: {e}", path.display())))?;
        let origin = path.display().to_string();
        match kind {
            FileKind::Conf => self.load_conf_str(&text, &origin),
            FileKind::Yaml => self.load_yaml_str(&text, &origin),
        }
    }

    /// Loads one security_content macro document: `name`, `definition`, optional `arguments` (a list of
    /// names) and `description`; other keys are ignored.
    pub fn load_yaml_str(&mut self, text: &str, origin: &str) -> Result<usize, MacroError> {
        #[derive(serde::Deserialize)]
        struct YamlMacro {
            name: String,
            definition: String,
            #[serde(default)]
            arguments: Option<Vec<String>>,
        }
        // security_content writes multi-line quoted definitions whose continuation lines start in column 0,
        // which PyYAML accepts and a strict YAML parser refuses; retry with those lines indented.
        let m: YamlMacro = match serde_saphyr::from_str(text) {
            Ok(m) => m,
            Err(first) => {
                serde_saphyr::from_str(&indent_quoted_continuations(text)).map_err(|_| {
                    MacroError::new(0, 0, format!("{origin}: not a macro definition: {first}"))
                })?
            }
        };
        let name = m.name.trim().to_string();
        if !valid_name(&name) {
            return Err(MacroError::new(
                0,
                0,
                format!("{origin}: invalid macro name `{name}`"),
            ));
        }
        let args = m
            .arguments
            .unwrap_or_default()
            .iter()
            .map(|a| a.trim().to_string())
            .collect();
        self.insert(MacroDef {
            name,
            args,
            definition: m.definition,
            iseval: false,
            origin: origin.to_string(),
        });
        Ok(1)
    }

    /// Loads `macros.conf` text: stanzas `[name]` or `[name(2)]` with keys `args = a, b`, `definition = ...`
    /// and `iseval = 0|1`. A line ending in a backslash continues on the next line (the line break is kept).
    /// `#` starts a comment line; other keys are ignored, and so are stanzas without a `definition`
    /// (e.g. `[default]`).
    pub fn load_conf_str(&mut self, text: &str, origin: &str) -> Result<usize, MacroError> {
        let mut defs = Vec::new();
        let mut current: Option<ConfStanza> = None;
        for line in conf_lines(text) {
            let trimmed = line.text.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if let Some(inner) = trimmed.strip_prefix('[') {
                let Some(header) = inner.strip_suffix(']') else {
                    return Err(MacroError::new(
                        line.offset,
                        line.len,
                        format!(
                            "{origin}:{}: stanza header without closing `]`",
                            line.number
                        ),
                    ));
                };
                if let Some(done) = current.take() {
                    defs.push(done);
                }
                current = Some(ConfStanza::new(header.trim(), &line));
                continue;
            }
            let Some((key, value)) = line.text.split_once('=') else {
                return Err(MacroError::new(
                    line.offset,
                    line.len,
                    format!(
                        "{origin}:{}: expected `key = value` or `[stanza]`",
                        line.number
                    ),
                ));
            };
            let Some(stanza) = current.as_mut() else {
                // Keys before any stanza belong to Splunk's implicit [default]; nothing to define.
                continue;
            };
            let value = value.trim().to_string();
            match key.trim() {
                "definition" => stanza.definition = Some(value),
                "args" => stanza.args = Some(value),
                "iseval" => {
                    stanza.iseval = matches!(
                        value.to_ascii_lowercase().as_str(),
                        "1" | "true" | "t" | "yes"
                    )
                }
                _ => {}
            }
        }
        if let Some(done) = current.take() {
            defs.push(done);
        }
        let mut count = 0;
        for stanza in defs {
            if let Some(def) = stanza.into_def(origin)? {
                self.insert(def);
                count += 1;
            }
        }
        Ok(count)
    }
}

/// Indents the continuation lines of multi-line quoted scalars that start at or left of their key's column.
/// Leading blanks of such lines are not part of the value (YAML folds them away), so the value is unchanged.
pub(crate) fn indent_quoted_continuations(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    // While inside a quoted scalar: its quote character and the column continuation lines must exceed.
    let mut open: Option<(char, usize)> = None;
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = line.get(indent..).unwrap_or("");
        match open {
            Some((quote, min)) => {
                // Two columns past the key: the parser in use counts one more than the YAML spec asks.
                if !rest.trim().is_empty() && indent <= min + 1 {
                    out.push_str(&" ".repeat(min + 2 - indent));
                }
                out.push_str(line);
                if closing_quote(rest, quote).is_some() {
                    open = None;
                }
            }
            None => {
                out.push_str(line);
                if let Some((col, quote)) = quoted_value_start(rest) {
                    let after = rest.get(col + 1..).unwrap_or("");
                    if closing_quote(after, quote).is_none() {
                        open = Some((quote, indent + key_column(rest)));
                    }
                }
            }
        }
    }
    out
}

/// Column (within the unindented line) of the key or list item that owns the line's value.
fn key_column(rest: &str) -> usize {
    let mut col = 0;
    let mut r = rest;
    while let Some(next) = r.strip_prefix("- ") {
        let trimmed = next.trim_start_matches(' ');
        col += r.len() - trimmed.len();
        r = trimmed;
    }
    col
}

/// Where a quoted value starts on an unindented line: `'...`, `- "...`, `key: '...`.
fn quoted_value_start(rest: &str) -> Option<(usize, char)> {
    let mut pos = key_column(rest);
    let r = rest.get(pos..)?;
    let value_at = match r.chars().next() {
        Some(q @ ('\'' | '"')) => return Some((pos, q)),
        _ => {
            let colon = r.find(": ")?;
            let key = r.get(..colon)?;
            if key.contains(['\'', '"', '#']) {
                return None;
            }
            let value = r.get(colon + 1..)?;
            colon + 1 + (value.len() - value.trim_start().len())
        }
    };
    pos += value_at;
    match rest.get(pos..)?.chars().next() {
        Some(q @ ('\'' | '"')) => Some((pos, q)),
        _ => None,
    }
}

/// Byte offset of the quote closing a scalar that continues in `s` (`''` escapes in single quotes, backslash
/// in double quotes).
fn closing_quote(s: &str, quote: char) -> Option<usize> {
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if quote == '"' && c == '\\' {
            chars.next();
        } else if c == quote {
            if quote == '\'' && chars.peek().is_some_and(|(_, n)| *n == '\'') {
                chars.next();
            } else {
                return Some(i);
            }
        }
    }
    None
}

enum FileKind {
    Conf,
    Yaml,
}

fn file_kind(path: &Path) -> Option<FileKind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "conf" => Some(FileKind::Conf),
        "yml" | "yaml" => Some(FileKind::Yaml),
        _ => None,
    }
}

/// A macro name: no whitespace and none of the characters that delimit calls, strings or arguments.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || "`\"$(),[]|".contains(c))
}

/// A logical line of a .conf file (continuations joined) and where it starts.
struct ConfLine {
    text: String,
    offset: usize,
    len: usize,
    number: usize,
}

fn conf_lines(text: &str) -> Vec<ConfLine> {
    let mut out: Vec<ConfLine> = Vec::new();
    let mut pending: Option<ConfLine> = None;
    let mut offset = 0;
    for (i, raw) in text.split('\n').enumerate() {
        let line_len = raw.len();
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (content, continues) = match raw.strip_suffix('\\') {
            Some(head) => (head, true),
            None => (raw, false),
        };
        match pending.as_mut() {
            Some(p) => {
                p.text.push('\n');
                p.text.push_str(content);
                p.len = offset + raw.len() - p.offset;
            }
            None => {
                pending = Some(ConfLine {
                    text: content.to_string(),
                    offset,
                    len: raw.len(),
                    number: i + 1,
                });
            }
        }
        if !continues {
            if let Some(p) = pending.take() {
                out.push(p);
            }
        }
        offset += line_len + 1;
    }
    if let Some(p) = pending.take() {
        out.push(p);
    }
    out
}

struct ConfStanza {
    header: String,
    offset: usize,
    len: usize,
    number: usize,
    definition: Option<String>,
    args: Option<String>,
    iseval: bool,
}

impl ConfStanza {
    fn new(header: &str, line: &ConfLine) -> Self {
        ConfStanza {
            header: header.to_string(),
            offset: line.offset,
            len: line.len,
            number: line.number,
            definition: None,
            args: None,
            iseval: false,
        }
    }

    fn into_def(self, origin: &str) -> Result<Option<MacroDef>, MacroError> {
        let Some(definition) = self.definition else {
            return Ok(None);
        };
        let err = |msg: String| {
            MacroError::new(
                self.offset,
                self.len,
                format!("{origin}:{}: {msg}", self.number),
            )
        };
        let args: Vec<String> = match &self.args {
            Some(a) if !a.trim().is_empty() => a.split(',').map(|s| s.trim().to_string()).collect(),
            _ => Vec::new(),
        };
        let (name, arity) = match self
            .header
            .strip_suffix(')')
            .and_then(|h| h.split_once('('))
        {
            Some((name, n)) => {
                let n: usize = n.trim().parse().map_err(|_| {
                    err(format!(
                        "stanza `[{}]`: expected a number of arguments",
                        self.header
                    ))
                })?;
                (name.trim().to_string(), n)
            }
            None => (self.header.clone(), args.len()),
        };
        if !valid_name(&name) {
            return Err(err(format!("invalid macro name `{name}`")));
        }
        if args.len() != arity {
            return Err(err(format!(
                "stanza `[{}]` takes {arity} argument(s) but `args` names {}",
                self.header,
                args.len()
            )));
        }
        if let Some(bad) = args.iter().find(|a| !valid_name(a)) {
            return Err(err(format!(
                "stanza `[{}]`: invalid argument name `{bad}`",
                self.header
            )));
        }
        Ok(Some(MacroDef {
            name,
            args,
            definition,
            iseval: self.iseval,
            origin: origin.to_string(),
        }))
    }
}

// ---------------------------------------------------------------------------------------------------------
// Expansion
// ---------------------------------------------------------------------------------------------------------

/// The expanded search text and where each part of it came from.
#[derive(Debug, Clone)]
pub struct Expansion {
    pub text: String,
    pub map: SourceMap,
    /// `*_filter` macros that had no definition and were expanded to nothing, in order of first use.
    pub defaulted_filters: Vec<String>,
    /// Macros expanded, as `name` or `name(N)`, in order of first use.
    pub used: Vec<String>,
    /// With [`expand_lenient`]: each call of an unknown macro (expanded to nothing), as the error
    /// [`expand`] would have given.
    pub unknown: Vec<MacroError>,
}

/// Where a byte of text came from: a byte of the original text (`chain == 0`: `orig` is its offset) or a
/// macro definition (`orig` is the offset of the outermost call's opening backtick; `chain` indexes the
/// chain of macros that produced it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Prov {
    orig: usize,
    chain: u32,
}

#[derive(Debug, Clone, Default)]
struct ChainInfo {
    /// Macro names, outermost first.
    names: Vec<String>,
    /// Length in the original text of the outermost call.
    call_len: usize,
}

/// Text with one provenance per byte.
#[derive(Default)]
struct Marked {
    text: String,
    prov: Vec<Prov>,
}

impl Marked {
    fn push_str(&mut self, s: &str, prov: Prov) {
        self.text.push_str(s);
        self.prov.extend(std::iter::repeat_n(prov, s.len()));
    }

    fn push_marked(&mut self, other: &Marked) {
        self.text.push_str(&other.text);
        self.prov.extend_from_slice(&other.prov);
    }

    /// Appends `src[range]`; the range must lie on character boundaries (ASCII delimiters guarantee it).
    fn push_range(&mut self, src: &Marked, range: Range<usize>) -> Result<(), MacroError> {
        match (src.text.get(range.clone()), src.prov.get(range)) {
            (Some(t), Some(p)) => {
                self.text.push_str(t);
                self.prov.extend_from_slice(p);
                Ok(())
            }
            _ => Err(MacroError::new(
                0,
                0,
                "internal error: macro scanner lost a character boundary",
            )),
        }
    }

    fn sub(&self, range: Range<usize>) -> Result<Marked, MacroError> {
        let mut m = Marked::default();
        m.push_range(self, range)?;
        Ok(m)
    }
}

/// A macro call found by [`parse_call`], in byte offsets of the scanned text.
struct Call {
    start: usize,
    end: usize,
    name: Range<usize>,
    /// `None` for `` `name` ``; the raw argument ranges for `` `name(...)` ``.
    args: Option<Vec<Range<usize>>>,
}

/// A scanning error in offsets of the scanned text.
struct LocalError {
    start: usize,
    end: usize,
    message: String,
}

fn starts_with_at(bytes: &[u8], at: usize, pat: &[u8]) -> bool {
    bytes.get(at..).is_some_and(|rest| rest.starts_with(pat))
}

fn find_from(bytes: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    let rest = bytes.get(from..)?;
    rest.windows(pat.len())
        .position(|w| w == pat)
        .map(|p| p + from)
}

/// Parses the macro call whose opening backtick is at `start`. `depth` counts calls nested in arguments.
fn parse_call(bytes: &[u8], start: usize, depth: usize) -> Result<Call, LocalError> {
    let unterminated = || LocalError {
        start,
        end: start + 1,
        message: "unterminated macro call: no closing backtick".to_string(),
    };
    if depth > MAX_NESTING {
        return Err(LocalError {
            start,
            end: start + 1,
            message: "macro calls nested too deeply in arguments".to_string(),
        });
    }
    let mut j = start + 1;
    loop {
        match bytes.get(j) {
            None => return Err(unterminated()),
            Some(b'`') => {
                return Ok(Call {
                    start,
                    end: j + 1,
                    name: start + 1..j,
                    args: None,
                })
            }
            Some(b'(') => break,
            Some(_) => j += 1,
        }
    }
    let name = start + 1..j;
    j += 1;
    let mut depth_parens = 1usize;
    let mut in_quote = false;
    let mut args = Vec::new();
    let mut arg_start = j;
    loop {
        let Some(&b) = bytes.get(j) else {
            return Err(unterminated());
        };
        if in_quote {
            match b {
                b'\\' => j += 2,
                b'"' => {
                    in_quote = false;
                    j += 1;
                }
                _ => j += 1,
            }
            continue;
        }
        match b {
            b'"' => {
                in_quote = true;
                j += 1;
            }
            b'(' => {
                depth_parens += 1;
                j += 1;
            }
            b')' => {
                depth_parens -= 1;
                if depth_parens == 0 {
                    args.push(arg_start..j);
                    j += 1;
                    break;
                }
                j += 1;
            }
            b',' if depth_parens == 1 => {
                args.push(arg_start..j);
                j += 1;
                arg_start = j;
            }
            b'`' if starts_with_at(bytes, j, b"```") => match find_from(bytes, j + 3, b"```") {
                Some(k) => j = k + 3,
                None => {
                    return Err(LocalError {
                        start: j,
                        end: j + 3,
                        message: "unterminated comment".to_string(),
                    })
                }
            },
            // A nested call that never closes usually means this call lacks its `)`: report this one.
            b'`' => match parse_call(bytes, j, depth + 1) {
                Ok(inner) => j = inner.end,
                Err(e)
                    if e.start == j && e.end == j + 1 && e.message.starts_with("unterminated") =>
                {
                    return Err(unterminated())
                }
                Err(e) => return Err(e),
            },
            _ => j += 1,
        }
    }
    while bytes.get(j).is_some_and(|b| b.is_ascii_whitespace()) {
        j += 1;
    }
    if bytes.get(j) == Some(&b'`') {
        Ok(Call {
            start,
            end: j + 1,
            name,
            args: Some(args),
        })
    } else {
        Err(LocalError {
            start,
            end: j.min(bytes.len()),
            message: "expected a closing backtick after the macro arguments".to_string(),
        })
    }
}

fn trim_range(text: &str, range: Range<usize>) -> Range<usize> {
    let Some(s) = text.get(range.clone()) else {
        return range;
    };
    let lead = s.len() - s.trim_start().len();
    let trail = s.len() - s.trim_end().len();
    let start = range.start + lead;
    start..(range.end - trail).max(start)
}

struct Expander<'a> {
    lib: &'a MacroLibrary,
    /// Index 0 is the original text (no macro).
    chains: Vec<ChainInfo>,
    /// Macros being expanded, outermost first, with their arity.
    stack: Vec<(String, usize)>,
    nesting: usize,
    defaulted: Vec<String>,
    used: Vec<String>,
    /// Expand unknown macros to nothing and record them in `unknown` instead of failing.
    lenient: bool,
    unknown: Vec<MacroError>,
}

impl Expander<'_> {
    /// A byte range of `input` as a range of the original text.
    fn span(&self, input: &Marked, range: Range<usize>) -> (usize, usize) {
        let Some(first) = input.prov.get(range.start) else {
            return match input.prov.last() {
                Some(p) => (p.orig, 0),
                None => (0, 0),
            };
        };
        if first.chain != 0 {
            let len = self
                .chains
                .get(first.chain as usize)
                .map_or(1, |c| c.call_len);
            return (first.orig, len);
        }
        match input.prov.get(range.end.saturating_sub(1)) {
            Some(last) if last.chain == 0 && last.orig >= first.orig && range.end > range.start => {
                (first.orig, last.orig + 1 - first.orig)
            }
            _ => (first.orig, 1),
        }
    }

    /// " (in the expansion of `a` -> `b`)" for text that came from macro definitions.
    fn context(&self, input: &Marked, at: usize) -> String {
        let chain = input
            .prov
            .get(at)
            .and_then(|p| self.chains.get(p.chain as usize));
        match chain {
            Some(c) if !c.names.is_empty() => {
                format!(" (in the expansion of {})", quote_chain(&c.names))
            }
            _ => String::new(),
        }
    }

    fn error(&self, input: &Marked, range: Range<usize>, message: String) -> MacroError {
        let (offset, len) = self.span(input, range.clone());
        MacroError::new(
            offset,
            len,
            format!("{message}{}", self.context(input, range.start)),
        )
    }

    fn expand_text(&mut self, input: &Marked, out: &mut Marked) -> Result<(), MacroError> {
        self.nesting += 1;
        let result = if self.nesting > MAX_NESTING {
            Err(self.error(input, 0..1, "macro calls nested too deeply".to_string()))
        } else {
            self.scan(input, out)
        };
        self.nesting -= 1;
        result
    }

    fn scan(&mut self, input: &Marked, out: &mut Marked) -> Result<(), MacroError> {
        let bytes = input.text.as_bytes();
        let mut i = 0;
        let mut flushed = 0;
        let mut in_quote = false;
        while let Some(&b) = bytes.get(i) {
            if in_quote {
                match b {
                    b'\\' => i += 2,
                    b'"' => {
                        in_quote = false;
                        i += 1;
                    }
                    _ => i += 1,
                }
                continue;
            }
            match b {
                b'"' => {
                    in_quote = true;
                    i += 1;
                }
                // `\"` outside a string is a literal quote (`field=*\"privileged\":true*`), not the
                // start of one
                b'\\' if bytes.get(i + 1) == Some(&b'"') => i += 2,
                b'`' if starts_with_at(bytes, i, b"```") => {
                    out.push_range(input, flushed..i)?;
                    let Some(close) = find_from(bytes, i + 3, b"```") else {
                        return Err(self.error(
                            input,
                            i..i + 3,
                            "unterminated comment: no closing ```".to_string(),
                        ));
                    };
                    i = close + 3;
                    flushed = i;
                }
                b'`' => {
                    out.push_range(input, flushed..i)?;
                    let call = parse_call(bytes, i, 0)
                        .map_err(|e| self.error(input, e.start..e.end, e.message))?;
                    self.expand_call(input, &call, out)?;
                    if out.text.len() > MAX_EXPANDED_LEN {
                        return Err(self.error(input, call.start..call.end, too_large()));
                    }
                    i = call.end;
                    flushed = i;
                }
                _ => i += 1,
            }
        }
        out.push_range(input, flushed..bytes.len())
    }

    fn expand_call(
        &mut self,
        input: &Marked,
        call: &Call,
        out: &mut Marked,
    ) -> Result<(), MacroError> {
        let whole = call.start..call.end;
        let name = input
            .text
            .get(call.name.clone())
            .unwrap_or("")
            .trim()
            .to_string();
        if !valid_name(&name) {
            let shown = if name.is_empty() {
                "empty macro name".to_string()
            } else {
                format!("invalid macro name `{name}`")
            };
            return Err(self.error(input, whole, shown));
        }

        // Arguments: trimmed, and their own macro calls expanded first.
        let mut args: Vec<Marked> = Vec::new();
        if let Some(ranges) = &call.args {
            let only_blank = match ranges.as_slice() {
                [one] => input
                    .text
                    .get(one.clone())
                    .is_none_or(|s| s.trim().is_empty()),
                _ => false,
            };
            if !only_blank {
                for r in ranges {
                    let raw = input.sub(trim_range(&input.text, r.clone()))?;
                    let mut expanded = Marked::default();
                    self.expand_text(&raw, &mut expanded)?;
                    args.push(expanded);
                }
            }
        }
        let arity = args.len();

        let Some(def) = self.lib.get(&name, arity) else {
            let arities = self.lib.arities(&name);
            if !arities.is_empty() {
                let defined: Vec<String> = arities.iter().map(|a| a.to_string()).collect();
                return Err(self.error(
                    input,
                    whole,
                    format!(
                        "macro `{name}` called with {arity} argument{}, but it is defined with {}",
                        plural(arity),
                        join_or(&defined)
                    ),
                ));
            }
            if name.ends_with("_filter") {
                if !self.defaulted.contains(&name) {
                    self.defaulted.push(name);
                }
                return Ok(());
            }
            let mut message = format!("unknown macro `{name}`");
            if arity > 0 {
                message.push_str(&format!(" (called with {arity} argument{})", plural(arity)));
            }
            if let Some(s) = self.lib.suggest(&name) {
                message.push_str(&format!(" (did you mean `{s}`?)"));
            }
            let e = self.error(input, whole, message);
            if self.lenient {
                if !self.unknown.contains(&e) {
                    self.unknown.push(e);
                }
                return Ok(());
            }
            return Err(e);
        };
        if def.iseval {
            return Err(self.error(
                input,
                whole,
                format!("eval macros are not supported: `{name}`"),
            ));
        }
        let key = (name.clone(), arity);
        if let Some(pos) = self.stack.iter().position(|k| *k == key) {
            let mut names: Vec<String> = self
                .stack
                .iter()
                .skip(pos)
                .map(|(n, _)| n.clone())
                .collect();
            names.push(name);
            return Err(self.error(
                input,
                whole,
                format!("macro cycle: {}", quote_chain(&names)),
            ));
        }
        if self.stack.len() >= MAX_DEPTH {
            let mut names: Vec<String> = self.stack.iter().map(|(n, _)| n.clone()).collect();
            names.push(name);
            return Err(self.error(
                input,
                whole,
                format!(
                    "macros nested deeper than {MAX_DEPTH}: {}",
                    quote_chain(&names)
                ),
            ));
        }

        // Text of the definition is attributed to the outermost call.
        let call_prov = input
            .prov
            .get(call.start)
            .copied()
            .unwrap_or(Prov { orig: 0, chain: 0 });
        let parent = self
            .chains
            .get(call_prov.chain as usize)
            .cloned()
            .unwrap_or_default();
        let call_len = if call_prov.chain == 0 {
            self.span(input, whole).1
        } else {
            parent.call_len
        };
        let mut names = parent.names;
        names.push(name.clone());
        let chain = u32::try_from(self.chains.len()).map_err(|_| {
            self.error(
                input,
                call.start..call.end,
                "too many macro expansions".to_string(),
            )
        })?;
        self.chains.push(ChainInfo { names, call_len });
        let body = substitute(
            def,
            &args,
            Prov {
                orig: call_prov.orig,
                chain,
            },
        )
        .ok_or_else(|| self.error(input, call.start..call.end, too_large()))?;

        let stanza = def.stanza_name();
        if !self.used.contains(&stanza) {
            self.used.push(stanza);
        }
        self.stack.push(key);
        let result = self.expand_text(&body, out);
        self.stack.pop();
        result
    }
}

fn too_large() -> String {
    format!("macro expansion exceeds {} MiB", MAX_EXPANDED_LEN >> 20)
}

/// The definition with each `$argname$` replaced by the (expanded) argument; `None` when the result would
/// exceed [`MAX_EXPANDED_LEN`].
fn substitute(def: &MacroDef, args: &[Marked], prov: Prov) -> Option<Marked> {
    let mut out = Marked::default();
    let text = def.definition.as_str();
    if args.is_empty() {
        out.push_str(text, prov);
        return Some(out);
    }
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        let (before, from_dollar) = rest.split_at(dollar);
        out.push_str(before, prov);
        let after = from_dollar.get(1..).unwrap_or("");
        let arg = after.find('$').and_then(|close| {
            let candidate = after.get(..close)?;
            let idx = def.args.iter().position(|a| a == candidate)?;
            Some((idx, close))
        });
        match arg.and_then(|(idx, close)| Some((args.get(idx)?, close))) {
            Some((value, close)) => {
                if out.text.len() + value.text.len() > MAX_EXPANDED_LEN {
                    return None;
                }
                out.push_marked(value);
                rest = after.get(close + 1..).unwrap_or("");
            }
            None => {
                out.push_str("$", prov);
                rest = after;
            }
        }
    }
    out.push_str(rest, prov);
    Some(out)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn quote_chain(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// Expands every macro call in `src` (and drops ```` ``` ```` comments).
pub fn expand(src: &str, lib: &MacroLibrary) -> Result<Expansion, MacroError> {
    expand_with(src, lib, false)
}

/// Like [`expand`], but a macro without a definition expands to nothing and is listed in
/// [`Expansion::unknown`], so that the rest of a search can still be parsed and checked.
pub fn expand_lenient(src: &str, lib: &MacroLibrary) -> Result<Expansion, MacroError> {
    expand_with(src, lib, true)
}

fn expand_with(src: &str, lib: &MacroLibrary, lenient: bool) -> Result<Expansion, MacroError> {
    let mut input = Marked::default();
    input.text.push_str(src);
    input.prov = (0..src.len()).map(|orig| Prov { orig, chain: 0 }).collect();
    let mut ex = Expander {
        lib,
        chains: vec![ChainInfo::default()],
        stack: Vec::new(),
        nesting: 0,
        defaulted: Vec::new(),
        used: Vec::new(),
        lenient,
        unknown: Vec::new(),
    };
    let mut out = Marked::default();
    ex.expand_text(&input, &mut out)?;
    let map = SourceMap::build(&out.prov, ex.chains, src.len(), out.text.len());
    Ok(Expansion {
        text: out.text,
        map,
        defaulted_filters: ex.defaulted,
        used: ex.used,
        unknown: ex.unknown,
    })
}

/// Removes ```` ```comments``` ```` outside double-quoted strings. An unterminated comment is left as is
/// ([`expand`] reports it). Offsets change; use [`expand`] when they must be mapped back.
pub fn strip_comments(src: &str) -> String {
    let bytes = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let mut flushed = 0;
    let mut in_quote = false;
    while let Some(&b) = bytes.get(i) {
        if in_quote {
            match b {
                b'\\' => i += 2,
                b'"' => {
                    in_quote = false;
                    i += 1;
                }
                _ => i += 1,
            }
            continue;
        }
        match b {
            b'"' => {
                in_quote = true;
                i += 1;
            }
            b'`' if starts_with_at(bytes, i, b"```") => match find_from(bytes, i + 3, b"```") {
                Some(close) => {
                    out.push_str(src.get(flushed..i).unwrap_or(""));
                    i = close + 3;
                    flushed = i;
                }
                None => break,
            },
            _ => i += 1,
        }
    }
    out.push_str(src.get(flushed..).unwrap_or(""));
    out
}

// ---------------------------------------------------------------------------------------------------------
// Source map
// ---------------------------------------------------------------------------------------------------------

/// Maps byte offsets in the expanded text back to the user's text.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    runs: Vec<Run>,
    chains: Vec<ChainInfo>,
    original_len: usize,
    expanded_len: usize,
}

/// A stretch of expanded text from one source: original text byte for byte (`chain == 0`) or one macro
/// chain.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: usize,
    orig: usize,
    chain: u32,
}

impl SourceMap {
    fn build(
        prov: &[Prov],
        chains: Vec<ChainInfo>,
        original_len: usize,
        expanded_len: usize,
    ) -> Self {
        let mut runs: Vec<Run> = Vec::new();
        let mut prev: Option<Prov> = None;
        for (i, p) in prov.iter().enumerate() {
            let continues = prev.is_some_and(|q| {
                q.chain == p.chain
                    && if p.chain == 0 {
                        p.orig == q.orig + 1
                    } else {
                        p.orig == q.orig
                    }
            });
            if !continues {
                runs.push(Run {
                    start: i,
                    orig: p.orig,
                    chain: p.chain,
                });
            }
            prev = Some(*p);
        }
        SourceMap {
            runs,
            chains,
            original_len,
            expanded_len,
        }
    }

    fn run_at(&self, expanded_offset: usize) -> Option<&Run> {
        if expanded_offset >= self.expanded_len {
            return None;
        }
        let idx = self.runs.partition_point(|r| r.start <= expanded_offset);
        self.runs.get(idx.checked_sub(1)?)
    }

    /// For an offset in the expanded text: the offset in the original text (for text that came from a macro
    /// definition: the offset of the outermost macro call's opening backtick) and the chain of macro names
    /// whose expansion produced it (outermost first; empty for original text). The end of the expanded text
    /// (and beyond) maps to the end of the original text.
    pub fn origin(&self, expanded_offset: usize) -> (usize, Vec<String>) {
        match self.run_at(expanded_offset) {
            None => (self.original_len, Vec::new()),
            Some(run) if run.chain == 0 => (run.orig + (expanded_offset - run.start), Vec::new()),
            Some(run) => {
                let names = self
                    .chains
                    .get(run.chain as usize)
                    .map(|c| c.names.clone())
                    .unwrap_or_default();
                (run.orig, names)
            }
        }
    }

    /// The original-text range to underline for an expanded range `start..end`: original text maps byte for
    /// byte; an end inside a macro expansion widens to cover the whole outermost call. Also returns the macro
    /// chain at `start`.
    pub fn origin_span(&self, start: usize, end: usize) -> (Range<usize>, Vec<String>) {
        let (first, names) = self.origin(start);
        let first_len = self.call_len_at(start);
        let last = end.max(start + 1) - 1;
        let (last_orig, _) = self.origin(last);
        let last_end = match self.run_at(last) {
            Some(_) => last_orig + self.call_len_at(last).max(1),
            None => self.original_len,
        };
        let stop = last_end.max(first + first_len);
        (first..stop.max(first), names)
    }

    /// 1 for a byte of the original text, the outermost call's length for macro text, 0 past the end.
    fn call_len_at(&self, expanded_offset: usize) -> usize {
        match self.run_at(expanded_offset) {
            None => 0,
            Some(run) if run.chain == 0 => 1,
            Some(run) => self
                .chains
                .get(run.chain as usize)
                .map_or(1, |c| c.call_len),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset. An offset past the end gives the position
/// just after the last character; one inside a character counts as that character.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut col = 1;
    for (i, c) in text.char_indices() {
        if i >= offset {
            break;
        }
        if i + c.len_utf8() > offset {
            break;
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

#[cfg(test)]
mod tests;
