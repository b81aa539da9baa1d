//! When an entry is complete: the REPL runs an entry when Enter is pressed on text whose brackets, quotes,
//! macro backticks and comments are closed and which does not end with `|`; otherwise Enter starts a
//! continuation line. A pasted search (bracketed paste) lands in the buffer whole, so one Enter runs it.
//!
//! Without a terminal (input from a pipe or file), [`Splitter`] cuts the lines into entries: a search goes
//! on while something is open, and also while the next line starts with `|` (the way published searches
//! are laid out); a blank line or the end of input ends it. Lines starting with `.` are meta commands.
//!
//! Single quotes are not tracked: in a search they are ordinary characters (`user=O'Brien`), so an odd
//! number of them must not hold the entry open.

/// What is still open at a position of the text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Unclosed `[` and `(`, innermost last, with their byte offsets.
    pub brackets: Vec<(char, usize)>,
    /// Inside a double-quoted string.
    pub quote: bool,
    /// Inside a macro call: the byte offset just after its opening backtick.
    pub macro_call: Option<usize>,
    /// Inside a ```` ``` ```` comment.
    pub comment: bool,
    /// The last non-blank character outside strings, macros and comments is `|`.
    pub trailing_pipe: bool,
    /// Byte offset just after the last `|` or `[` outside strings, macros and comments: where the
    /// current pipeline stage starts, and whether it began with `|`.
    pub stage_start: usize,
    pub stage_after_pipe: bool,
}

impl Scan {
    pub fn is_open(&self) -> bool {
        !self.brackets.is_empty()
            || self.quote
            || self.macro_call.is_some()
            || self.comment
            || self.trailing_pipe
    }
}

/// Scan SPL text for what is open at its end.
pub fn scan(text: &str) -> Scan {
    let mut s = Scan::default();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if s.comment {
            if bytes[i..].starts_with(b"```") {
                s.comment = false;
                i += 3;
            } else {
                i += 1;
            }
            continue;
        }
        if s.quote {
            match b {
                b'\\' => i += 2,
                b'"' => {
                    s.quote = false;
                    i += 1;
                }
                _ => i += 1,
            }
            continue;
        }
        if s.macro_call.is_some() {
            if b == b'`' {
                s.macro_call = None;
            }
            i += 1;
            continue;
        }
        if !b.is_ascii_whitespace() {
            s.trailing_pipe = b == b'|';
        }
        match b {
            b'`' if bytes[i..].starts_with(b"```") => {
                s.comment = true;
                i += 3;
                continue;
            }
            b'`' => s.macro_call = Some(i + 1),
            b'"' => s.quote = true,
            b'\\' => {
                // an escaped character outside quotes (`\|`, `\"`) opens nothing
                i += 2;
                continue;
            }
            b'[' | b'(' => {
                s.brackets.push((b as char, i));
                if b == b'[' {
                    s.stage_start = i + 1;
                    s.stage_after_pipe = false;
                }
            }
            b']' | b')' => {
                let opener = if b == b']' { '[' } else { '(' };
                // a stray closer is left for the parser to report: typing more would not fix it
                if s.brackets.last().is_some_and(|(c, _)| *c == opener) {
                    s.brackets.pop();
                }
            }
            b'|' => {
                s.stage_start = i + 1;
                s.stage_after_pipe = true;
            }
            _ => {}
        }
        i += 1;
    }
    s
}

/// Is this a meta command (`.help`, `.fields` ...)? Meta commands are always one line.
pub fn is_meta(text: &str) -> bool {
    text.trim_start().starts_with('.')
}

/// Does Enter run this text (rather than start a continuation line)?
pub fn is_complete(text: &str) -> bool {
    is_meta(text) || !scan(text).is_open()
}

/// Cuts lines read without a terminal into entries (see the module doc).
#[derive(Debug, Default)]
pub struct Splitter {
    buf: String,
}

impl Splitter {
    pub fn new() -> Splitter {
        Splitter::default()
    }

    /// Add one line (without its newline); returns the entries it completes, in order.
    pub fn push_line(&mut self, line: &str) -> Vec<String> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut out = Vec::new();
        let blank = line.trim().is_empty();
        if self.buf.is_empty() {
            if blank {
                return out;
            }
            if is_meta(line) {
                out.push(line.trim().to_string());
                return out;
            }
            self.buf.push_str(line);
            return out;
        }
        let open = scan(&self.buf).is_open();
        if open {
            self.buf.push('\n');
            self.buf.push_str(line);
            return out;
        }
        if blank {
            out.push(std::mem::take(&mut self.buf));
            return out;
        }
        if line.trim_start().starts_with('|') {
            self.buf.push('\n');
            self.buf.push_str(line);
            return out;
        }
        out.push(std::mem::take(&mut self.buf));
        if is_meta(line) {
            out.push(line.trim().to_string());
        } else {
            self.buf.push_str(line);
        }
        out
    }

    /// End of input: the entry still being read, if any.
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.buf);
        (!rest.trim().is_empty()).then_some(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_000: &str =
        include_str!("../../queries/detect_api_activity_from_users_without_mfa.spl");
    const SEED_001: &str =
        include_str!("../../queries/detect_aws_api_activities_from_unapproved_accounts.spl");

    #[test]
    fn seeds_are_complete_as_pasted() {
        assert!(is_complete(SEED_000));
        assert!(is_complete(SEED_001));
    }

    #[test]
    fn every_seed_prefix_ending_inside_the_subsearch_is_open() {
        // the pasted text cut after `| search NOT [` must ask for more
        let cut = SEED_000.find("NOT [").unwrap() + "NOT [".len();
        assert!(!is_complete(&SEED_000[..cut]));
        let s = scan(&SEED_000[..cut]);
        assert_eq!(s.brackets.len(), 1);
    }

    #[test]
    fn open_things_continue() {
        assert!(!is_complete("search a |"));
        assert!(!is_complete("search a |   \n"));
        assert!(!is_complete("search [ | inputlookup x"));
        assert!(!is_complete("eval x=(1+2"));
        assert!(!is_complete("search \"abc"));
        assert!(!is_complete("`cloudtrail"));
        assert!(!is_complete("search a ``` a comment"));
        assert!(is_complete("search a ``` a comment ``` b"));
        assert!(is_complete("search a"));
        assert!(is_complete(""));
        assert!(is_complete("   "));
    }

    #[test]
    fn closers_inside_strings_and_macros_do_not_count() {
        assert!(is_complete("search x=\"[\""));
        assert!(is_complete("search x=\"a\\\"b\""));
        assert!(!is_complete("search x=\"a\\\""));
        assert!(is_complete("`m(\"[\")`"));
        assert!(is_complete("search x=\"a|\""));
        assert!(is_complete("rex \"(?<a>\\d+)\\]\""));
        // single quotes are ordinary characters in a search
        assert!(is_complete("search user=O'Brien"));
    }

    #[test]
    fn a_stray_closer_is_complete_so_the_parser_can_report_it() {
        assert!(is_complete("search a ]"));
        assert!(is_complete("search a )"));
    }

    #[test]
    fn meta_commands_are_complete() {
        assert!(is_complete(".fields"));
        assert!(is_complete("  .expand search [ "));
    }

    #[test]
    fn stage_start_follows_pipes_and_brackets() {
        let s = scan("search a | sta");
        assert_eq!(s.stage_start, 10);
        assert!(s.stage_after_pipe);
        let s = scan("search NOT [ inp");
        assert_eq!(s.stage_start, 12);
        assert!(!s.stage_after_pipe);
        let s = scan("search x=\"|\" y");
        assert_eq!(s.stage_start, 0);
    }

    fn split(text: &str) -> Vec<String> {
        let mut sp = Splitter::new();
        let mut out = Vec::new();
        for l in text.split('\n') {
            out.extend(sp.push_line(l));
        }
        out.extend(sp.finish());
        out
    }

    #[test]
    fn splitter_keeps_a_pasted_seed_whole() {
        let got = split(SEED_000);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].trim_end(), SEED_000.trim_end());
        let both = format!("{SEED_000}\n{SEED_001}");
        let got = split(&both);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1].trim_end(), SEED_001.trim_end());
    }

    #[test]
    fn splitter_ends_entries_at_blank_lines_and_meta_commands() {
        let got = split("search a\n\nsearch b\n.fields\n| makeresults\n.quit");
        assert_eq!(
            got,
            vec!["search a", "search b", ".fields", "| makeresults", ".quit"]
        );
        // a blank line inside an open bracket does not end the entry
        let got = split("search [\n\n| makeresults ]\n");
        assert_eq!(got, vec!["search [\n\n| makeresults ]"]);
        // CRLF input
        let got = split("search a\r\n| head 1\r\n");
        assert_eq!(got, vec!["search a\n| head 1"]);
    }
}
