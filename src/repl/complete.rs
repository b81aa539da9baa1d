//! Tab completion: what fits where the cursor is.
//!
//! - after `|` (the start of a stage): the commands spelunk knows;
//! - inside backticks: macro names (a macro with arguments completes to `name(`);
//! - after `inputlookup` / `lookup`: lookup names;
//! - in `stats`-like commands: stats function names and field names; in `eval`/`where`: eval function
//!   names (completed with `(`) and field names, quoted `'a.b'` when the name is not a plain word, since
//!   eval reads `.` as concatenation;
//! - elsewhere: field names seen in the loaded events;
//! - at the start of a line beginning with `.`: meta commands and their arguments.

use super::input::scan;
use super::meta;

/// The names completion draws from, refreshed when the session's inputs change.
#[derive(Clone, Debug, Default)]
pub struct Vocabulary {
    pub commands: Vec<String>,
    pub fields: Vec<String>,
    /// Macro names as macros.conf names them: `name` or `name(2)`.
    pub macros: Vec<String>,
    pub lookups: Vec<String>,
    pub sourcetypes: Vec<String>,
    pub stats_functions: Vec<String>,
    pub eval_functions: Vec<String>,
}

/// One completion: what the list shows and what replaces the word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub display: String,
    pub replacement: String,
}

/// Where to complete: the byte offset the replaced word starts at, and the candidates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Completion {
    pub start: usize,
    pub candidates: Vec<Candidate>,
    /// Complete a file name here instead (`.data`, `.save`).
    pub filename: bool,
}

const STATS_LIKE: &[&str] = &["stats", "eventstats", "streamstats", "chart", "timechart"];
const EVAL_LIKE: &[&str] = &["eval", "where", "fieldformat"];

/// Characters that end a word being completed.
fn breaks_word(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '|' | '=' | '(' | ')' | ',' | '[' | ']' | '"' | '!' | '<' | '>' | '+' | '`'
        )
}

fn starts_with_ci(name: &str, prefix: &str) -> bool {
    name.len() >= prefix.len()
        && name
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

fn plain(names: &[String], prefix: &str) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = names
        .iter()
        .filter(|n| starts_with_ci(n, prefix))
        .map(|n| Candidate {
            display: n.clone(),
            replacement: n.clone(),
        })
        .collect();
    out.sort_by(|a, b| a.display.cmp(&b.display));
    out.dedup();
    out
}

fn is_plain_word(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Completions for `line` with the cursor at byte `pos`.
pub fn complete(line: &str, pos: usize, v: &Vocabulary) -> Completion {
    let pos = crate::diag::floor_char_boundary(line, pos.min(line.len()));
    let before = &line[..pos];
    if before.trim_start().starts_with('.') {
        return complete_meta(before, v);
    }
    complete_query(before, 0, v)
}

fn complete_meta(before: &str, v: &Vocabulary) -> Completion {
    let lead = before.len() - before.trim_start().len();
    let text = &before[lead..];
    let Some(sp) = text.find(char::is_whitespace) else {
        let names: Vec<String> = meta::names().map(str::to_string).collect();
        return Completion {
            start: lead,
            candidates: plain(&names, text),
            filename: false,
        };
    };
    let cmd = text[..sp].to_ascii_lowercase();
    let args_at = lead + sp;
    if cmd == ".expand" {
        let rest = &before[args_at..];
        let skip = rest.len() - rest.trim_start().len();
        return complete_query(&before[args_at + skip..], args_at + skip, v);
    }
    let word_start = before
        .rfind(char::is_whitespace)
        .map(|i| i + 1)
        .unwrap_or(0)
        .max(args_at);
    let word = &before[word_start..];
    let nth_arg = before[args_at..word_start].split_whitespace().count();
    let words = |ws: &[&str]| -> Vec<String> { ws.iter().map(|s| s.to_string()).collect() };
    let candidates = match (cmd.as_str(), nth_arg) {
        (".macro" | ".macros", 0) => {
            let bare: Vec<String> = v
                .macros
                .iter()
                .map(|m| m.split('(').next().unwrap_or(m).to_string())
                .collect();
            plain(&bare, word)
        }
        (".fields", 0) | (".data", 1) => plain(&v.sourcetypes, word),
        (".format", 0) => plain(&words(&["table", "csv", "json"]), word),
        (".timing", 0) => plain(&words(&["on", "off"]), word),
        (".limit", 0) => plain(&words(&["off"]), word),
        (".data" | ".save", 0) => {
            return Completion {
                start: word_start,
                candidates: Vec::new(),
                filename: true,
            }
        }
        _ => Vec::new(),
    };
    Completion {
        start: word_start,
        candidates,
        filename: false,
    }
}

/// Complete in query text; `base` is the offset of `before` in the whole line.
fn complete_query(before: &str, base: usize, v: &Vocabulary) -> Completion {
    let s = scan(before);
    let none = |start| Completion {
        start,
        candidates: Vec::new(),
        filename: false,
    };
    if s.comment || s.quote {
        return none(base + before.len());
    }
    if let Some(m) = s.macro_call {
        let prefix = before.get(m..).unwrap_or("");
        if prefix.contains('(') {
            return none(base + before.len());
        }
        let mut out: Vec<Candidate> = v
            .macros
            .iter()
            .filter(|n| starts_with_ci(n, prefix))
            .map(|n| match n.find('(') {
                Some(i) => Candidate {
                    display: n.clone(),
                    replacement: format!("{}(", &n[..i]),
                },
                None => Candidate {
                    display: n.clone(),
                    replacement: format!("{n}`"),
                },
            })
            .collect();
        out.sort_by(|a, b| a.display.cmp(&b.display));
        return Completion {
            start: base + m,
            candidates: out,
            filename: false,
        };
    }
    let word_start = before
        .char_indices()
        .rev()
        .find(|(_, c)| breaks_word(*c))
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0);
    let word = &before[word_start..];
    let stage = before.get(s.stage_start..word_start).unwrap_or("");
    let tokens: Vec<&str> = stage.split_whitespace().collect();
    let start = base + word_start;
    let done = |candidates| Completion {
        start,
        candidates,
        filename: false,
    };
    if s.stage_after_pipe && tokens.is_empty() {
        return done(plain(&v.commands, word));
    }
    let command = if s.stage_after_pipe {
        tokens.first().map(|t| t.to_ascii_lowercase())
    } else {
        Some("search".to_string())
    };
    let command = command.unwrap_or_default();
    if command == "inputlookup" || command == "lookup" {
        // the table name is the first argument that is not an option (`append=t`)
        let args_before = tokens.iter().skip(1).filter(|t| !t.contains('=')).count();
        let in_option = before[..word_start].ends_with('=');
        if args_before == 0 && !in_option {
            return done(plain(&v.lookups, word));
        }
        return done(plain(&v.fields, word));
    }
    let after_paren = before[..word_start].trim_end().ends_with('(');
    if STATS_LIKE.contains(&command.as_str()) {
        let in_by = tokens.iter().any(|t| t.eq_ignore_ascii_case("by"));
        let mut c = plain(&v.fields, word);
        if !in_by && !after_paren {
            let fns: Vec<String> = v
                .stats_functions
                .iter()
                .filter(|f| !f.contains('<'))
                .cloned()
                .collect();
            let mut f = plain(&fns, word);
            f.append(&mut c);
            c = f;
        }
        return done(c);
    }
    if EVAL_LIKE.contains(&command.as_str()) {
        let quoted = word.starts_with('\'');
        let prefix = word.trim_start_matches('\'');
        let mut out: Vec<Candidate> = Vec::new();
        if !quoted {
            out.extend(
                v.eval_functions
                    .iter()
                    .filter(|f| starts_with_ci(f, prefix))
                    .map(|f| Candidate {
                        display: format!("{f}()"),
                        replacement: format!("{f}("),
                    }),
            );
        }
        out.extend(
            v.fields
                .iter()
                .filter(|f| starts_with_ci(f, prefix))
                .map(|f| Candidate {
                    display: f.clone(),
                    replacement: if quoted || !is_plain_word(f) {
                        format!("'{f}'")
                    } else {
                        f.clone()
                    },
                }),
        );
        return done(out);
    }
    done(plain(&v.fields, word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> Vocabulary {
        let s = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Vocabulary {
            commands: s(&["search", "stats", "streamstats", "inputlookup", "eval"]),
            fields: s(&[
                "eventName",
                "user",
                "userIdentity.arn",
                "userIdentity.type",
                "resources{}.ARN",
            ]),
            macros: s(&[
                "cloudtrail",
                "security_content_ctime(1)",
                "detect_api_activity_from_users_without_mfa_filter",
            ]),
            lookups: s(&["aws_service_accounts", "identity_lookup_expanded"]),
            sourcetypes: s(&["aws:cloudtrail", "_json"]),
            stats_functions: s(&["count", "values", "p<N>", "dc"]),
            eval_functions: s(&["lower", "len", "if"]),
        }
    }

    fn shown(line: &str) -> Vec<String> {
        complete(line, line.len(), &vocab())
            .candidates
            .into_iter()
            .map(|c| c.replacement)
            .collect()
    }

    #[test]
    fn commands_after_a_pipe() {
        assert_eq!(shown("search a | st"), vec!["stats", "streamstats"]);
        assert_eq!(shown("| inp"), vec!["inputlookup"]);
        let c = complete("search a |  st", 14, &vocab());
        assert_eq!(c.start, 12);
    }

    #[test]
    fn fields_in_a_search() {
        assert_eq!(
            shown("userid"),
            vec!["userIdentity.arn", "userIdentity.type"]
        );
        assert_eq!(shown("search x=1 resou"), vec!["resources{}.ARN"]);
        // after `NOT [`, a subsearch starts with an implied search
        assert_eq!(shown("search NOT [ even"), vec!["eventName"]);
    }

    #[test]
    fn macros_inside_backticks() {
        let c = complete("`clo", 4, &vocab());
        assert_eq!(c.start, 1);
        assert_eq!(c.candidates[0].replacement, "cloudtrail`");
        assert_eq!(
            shown("| `security_"),
            vec!["security_content_ctime("],
            "a macro with arguments completes to its open parenthesis"
        );
        assert!(shown("`security_content_ctime(fir").is_empty());
    }

    #[test]
    fn lookups_after_inputlookup_and_lookup() {
        assert_eq!(
            shown("| inputlookup "),
            vec!["aws_service_accounts", "identity_lookup_expanded"]
        );
        assert_eq!(
            shown("| inputlookup append=t aws"),
            vec!["aws_service_accounts"]
        );
        assert_eq!(
            shown("search a | lookup ide"),
            vec!["identity_lookup_expanded"]
        );
        // after the table name: fields
        assert_eq!(
            shown("| lookup identity_lookup_expanded us"),
            vec!["user", "userIdentity.arn", "userIdentity.type"]
        );
    }

    #[test]
    fn stats_functions_then_fields_after_by() {
        assert_eq!(shown("search a | stats c"), vec!["count"]);
        assert_eq!(shown("search a | stats v"), vec!["values"]);
        assert_eq!(shown("search a | stats values(even"), vec!["eventName"]);
        assert_eq!(shown("search a | stats count by u").len(), 3);
        assert!(!shown("search a | stats count by ").contains(&"count".to_string()));
        // placeholders such as p<N> are not offered
        assert!(!shown("search a | stats p").iter().any(|c| c.contains('<')));
    }

    #[test]
    fn eval_functions_and_quoted_fields() {
        assert_eq!(shown("search a | eval x=lo"), vec!["lower("]);
        assert_eq!(
            shown("search a | where userI"),
            vec!["'userIdentity.arn'", "'userIdentity.type'"]
        );
        assert_eq!(shown("search a | eval x='res"), vec!["'resources{}.ARN'"]);
        assert_eq!(shown("search a | eval x=use")[0], "user");
    }

    #[test]
    fn nothing_inside_strings_and_comments() {
        assert!(shown("search x=\"us").is_empty());
        assert!(shown("search ``` us").is_empty());
    }

    #[test]
    fn meta_commands_and_their_arguments() {
        assert_eq!(shown(".fi"), vec![".fields"]);
        assert_eq!(shown(".fields aws"), vec!["aws:cloudtrail"]);
        assert_eq!(shown(".format c"), vec!["csv"]);
        assert_eq!(shown(".timing o"), vec!["off", "on"]);
        assert_eq!(shown(".macro sec"), vec!["security_content_ctime"]);
        assert_eq!(shown(".expand search a | st"), vec!["stats", "streamstats"]);
        let c = complete(".data /tm", 9, &vocab());
        assert!(c.filename);
        assert_eq!(c.start, 6);
        assert_eq!(shown(".data /tmp/x aws"), vec!["aws:cloudtrail"]);
    }
}
