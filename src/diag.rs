//! One error type for everything a user can get wrong: a query that does not parse, an unknown command,
//! macro, lookup or function, an unreadable file. A diagnostic may carry a byte span into the text the
//! user wrote; [`Diagnostic::render`] draws the line with a caret under it.

use std::fmt;

/// A byte range in the text the user wrote (after mapping back through macro expansion).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start,
            end: end.max(start),
        }
    }
    pub fn at(pos: usize) -> Span {
        Span::new(pos, pos + 1)
    }
    pub fn shift(self, by: usize) -> Span {
        Span::new(self.start + by, self.end + by)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub message: String,
    /// Where in the query text (expanded text until [`Diagnostic::map_span`] maps it back).
    pub span: Option<Span>,
    /// Extra context lines, e.g. "in expansion of `cloudtrail`".
    pub notes: Vec<String>,
    pub help: Option<String>,
}

pub type Result<T, E = Diagnostic> = std::result::Result<T, E>;

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            span: None,
            notes: Vec::new(),
            help: None,
        }
    }
    pub fn at(message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            span: Some(span),
            ..Diagnostic::new(message)
        }
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }
    pub fn shifted(mut self, by: usize) -> Diagnostic {
        self.span = self.span.map(|s| s.shift(by));
        self
    }

    /// Draw the message with the line of `text` it points at and a caret, e.g.
    ///
    /// ```text
    /// error: unknown command `statz` (did you mean `stats`?)
    ///  --> 2:3
    ///   |
    /// 2 | | statz count
    ///   |   ^^^^^
    /// ```
    pub fn render(&self, text: &str) -> String {
        let mut out = format!("error: {}\n", self.message);
        if let Some(span) = self.span {
            let start = floor_char_boundary(text, span.start.min(text.len()));
            let (line, col) = line_col(text, start);
            let line_start = text[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
            let line_end = text[start..]
                .find('\n')
                .map(|i| start + i)
                .unwrap_or(text.len());
            let line_text = text[line_start..line_end].trim_end_matches('\r');
            let end = floor_char_boundary(text, span.end.min(line_end).max(start));
            let width = text[start..end].chars().count().max(1);
            let gutter = line.to_string().len();
            let pad = " ".repeat(gutter);
            out.push_str(&format!("{pad}--> {line}:{col}\n{pad} |\n"));
            out.push_str(&format!("{line} | {line_text}\n"));
            let lead: String = text[line_start..start]
                .chars()
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out.push_str(&format!("{pad} | {lead}{}\n", "^".repeat(width)));
        }
        for n in &self.notes {
            out.push_str(&format!("  = note: {n}\n"));
        }
        if let Some(h) = &self.help {
            out.push_str(&format!("  = help: {h}\n"));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl From<std::io::Error> for Diagnostic {
    fn from(e: std::io::Error) -> Diagnostic {
        Diagnostic::new(e.to_string())
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

pub fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    if i >= text.len() {
        return text.len();
    }
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The known name closest to `name`, if it is close enough to be a likely typo.
pub fn suggest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    known
        .into_iter()
        .map(|k| {
            (
                strsim::damerau_levenshtein(&lower, &k.to_ascii_lowercase()),
                k,
            )
        })
        .filter(|(d, k)| *d <= 2.max(k.len() / 4) && *d < k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_points_at_the_span() {
        let text = "search a\n| statz count";
        let d = Diagnostic::at("unknown command `statz`", Span::new(11, 16));
        let r = d.render(text);
        assert!(r.contains("--> 2:3"), "{r}");
        assert!(r.contains("2 | | statz count\n  |   ^^^^^\n"), "{r}");
    }

    #[test]
    fn suggestions_are_close_names_only() {
        assert_eq!(suggest("statz", ["stats", "search"]), Some("stats"));
        assert_eq!(suggest("xyzzy", ["stats", "search"]), None);
    }
}
