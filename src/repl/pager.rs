//! The shell's pager: output taller than the screen (a table, `.fields`, `.sources`, `.macros`,
//! `.expand`) opens in it instead of scrolling past. It is built in — spelunk starts no program but
//! DuckDB — and reads like `less -S`: long lines are cut at the screen's edge and scroll sideways.
//!
//! Keys: `q`, Esc or Ctrl-C leave; ↓ `j` Enter one line down, ↑ `k` one up; Space `f` PageDown a
//! screen down, `b` PageUp a screen up; `d`/`u` half a screen; `g` Home the top, `G` End the bottom;
//! → `l` and ← `h` scroll sideways; `/` searches (case-insensitive) from the line after the top one,
//! `n` finds the next match and `N` the one before.
//!
//! [`View`] is the pager without a terminal (keys in, screen lines out), so that it is tested as text;
//! [`page`] runs it on the terminal's alternate screen.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use unicode_width::UnicodeWidthChar;

/// Columns a sideways scroll moves.
const SIDE_STEP: usize = 8;

/// What the pager shows and where it stands.
#[derive(Debug)]
pub struct View {
    lines: Vec<String>,
    /// First line shown.
    top: usize,
    /// First column shown.
    left: usize,
    width: usize,
    height: usize,
    /// The search being typed after `/`.
    typing: Option<String>,
    /// The last search, for `n` and `N`.
    search: Option<String>,
    /// A message for the status line, until the next key.
    message: Option<String>,
}

/// What a key did.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Stay,
    Leave,
}

impl View {
    pub fn new(text: &str, width: u16, height: u16) -> View {
        View {
            lines: text.lines().map(plain).collect(),
            top: 0,
            left: 0,
            width: usize::from(width.max(1)),
            height: usize::from(height.max(2)),
            typing: None,
            search: None,
            message: None,
        }
    }

    /// Lines of text on one screen (the last terminal line is the status line).
    fn page_rows(&self) -> usize {
        self.height - 1
    }

    fn last_top(&self) -> usize {
        self.lines.len().saturating_sub(self.page_rows())
    }

    fn widest(&self) -> usize {
        self.lines.iter().map(|l| width_of(l)).max().unwrap_or(0)
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.width = usize::from(width.max(1));
        self.height = usize::from(height.max(2));
        self.top = self.top.min(self.last_top());
    }

    fn down(&mut self, n: usize) {
        self.top = (self.top + n).min(self.last_top());
    }

    fn up(&mut self, n: usize) {
        self.top = self.top.saturating_sub(n);
    }

    /// Find `what` from the line after the top one going down (or before it going up), wrapping.
    fn find(&mut self, what: &str, forward: bool) {
        let needle = what.to_lowercase();
        let n = self.lines.len();
        if n == 0 || needle.is_empty() {
            return;
        }
        for k in 1..=n {
            let i = if forward {
                (self.top + k) % n
            } else {
                (self.top + n * 2 - k) % n
            };
            if self.lines[i].to_lowercase().contains(&needle) {
                self.top = i.min(self.last_top());
                if self.top != i {
                    // the match is on the last screen: it shows below the top line
                    self.message = Some(format!("found on line {}", i + 1));
                }
                return;
            }
        }
        self.message = Some(format!("not found: {what}"));
    }

    /// Act on one key.
    pub fn key(&mut self, k: KeyEvent) -> Step {
        if k.kind == KeyEventKind::Release {
            return Step::Stay;
        }
        self.message = None;
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        if let Some(t) = &mut self.typing {
            match k.code {
                KeyCode::Enter => {
                    let what = std::mem::take(t);
                    self.typing = None;
                    if !what.is_empty() {
                        self.search = Some(what.clone());
                    }
                    if let Some(s) = self.search.clone() {
                        self.find(&s, true);
                    }
                }
                KeyCode::Esc => self.typing = None,
                KeyCode::Char('c') if ctrl => self.typing = None,
                KeyCode::Backspace if t.pop().is_none() => self.typing = None,
                KeyCode::Char(c) => t.push(c),
                _ => {}
            }
            return Step::Stay;
        }
        let page = self.page_rows();
        match k.code {
            KeyCode::Char('c') if ctrl => return Step::Leave,
            KeyCode::Char('f') if ctrl => self.down(page),
            KeyCode::Char('b') if ctrl => self.up(page),
            KeyCode::Char('q' | 'Q') | KeyCode::Esc => return Step::Leave,
            KeyCode::Down | KeyCode::Enter | KeyCode::Char('j' | 'e') => self.down(1),
            KeyCode::Up | KeyCode::Char('k' | 'y') => self.up(1),
            KeyCode::PageDown | KeyCode::Char(' ' | 'f') => self.down(page),
            KeyCode::PageUp | KeyCode::Char('b') => self.up(page),
            KeyCode::Char('d') => self.down(page.div_ceil(2)),
            KeyCode::Char('u') => self.up(page.div_ceil(2)),
            KeyCode::Home | KeyCode::Char('g' | '<') => self.top = 0,
            KeyCode::End | KeyCode::Char('G' | '>') => self.top = self.last_top(),
            KeyCode::Right | KeyCode::Char('l') => {
                let most = self.widest().saturating_sub(self.width);
                self.left = (self.left + SIDE_STEP).min(most);
            }
            KeyCode::Left | KeyCode::Char('h') => self.left = self.left.saturating_sub(SIDE_STEP),
            KeyCode::Char('/') => self.typing = Some(String::new()),
            KeyCode::Char('n') => match self.search.clone() {
                Some(s) => self.find(&s, true),
                None => self.message = Some("no search yet: / searches".into()),
            },
            KeyCode::Char('N') => match self.search.clone() {
                Some(s) => self.find(&s, false),
                None => self.message = Some("no search yet: / searches".into()),
            },
            _ => {}
        }
        Step::Stay
    }

    /// The screen: its text lines (cut to the width, from the first column shown), then the status line.
    pub fn screen(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .lines
            .iter()
            .skip(self.top)
            .take(self.page_rows())
            .map(|l| columns(l, self.left, self.width))
            .collect();
        while out.len() < self.page_rows() {
            out.push("~".into());
        }
        let status = if let Some(t) = &self.typing {
            format!("/{t}")
        } else if let Some(m) = &self.message {
            m.clone()
        } else {
            let last = (self.top + self.page_rows()).min(self.lines.len());
            let end = if last == self.lines.len() {
                " (END)"
            } else {
                ""
            };
            let side = if self.left > 0 {
                format!(", from column {}", self.left + 1)
            } else {
                String::new()
            };
            format!(
                "lines {}-{last} of {}{side}{end}   q leaves, / searches, arrows scroll",
                (self.top + 1).min(last),
                self.lines.len()
            )
        };
        out.push(columns(&status, 0, self.width));
        out
    }
}

/// A line without terminal escape sequences (colour), with tabs as spaces.
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                // CSI: ESC [ parameters final-byte
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
            }
            '\t' => out.push_str("    "),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn width_of(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// The part of `s` from display column `left`, at most `width` columns wide.
fn columns(s: &str, left: usize, width: usize) -> String {
    let mut col = 0;
    let mut out = String::new();
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if col >= left {
            if col + w - left > width {
                break;
            }
            out.push(c);
        }
        col += w;
    }
    out
}

/// Show `text` in the pager on the terminal until the user leaves it. The terminal is restored
/// whatever happens; an error means the terminal could not be driven (the caller prints instead).
pub fn page(text: &str, width: u16, height: u16) -> std::io::Result<()> {
    use crossterm::{cursor, execute, terminal};
    let mut view = View::new(text, width, height);
    let mut out = std::io::stdout();
    terminal::enable_raw_mode()?;
    let run = (|| -> std::io::Result<()> {
        execute!(out, terminal::EnterAlternateScreen, cursor::Hide)?;
        loop {
            draw(&mut out, &view)?;
            match crossterm::event::read()? {
                TermEvent::Key(k) if view.key(k) == Step::Leave => return Ok(()),
                TermEvent::Resize(w, h) => view.resize(w, h),
                _ => {}
            }
        }
    })();
    let restore = execute!(out, cursor::Show, terminal::LeaveAlternateScreen);
    let raw = terminal::disable_raw_mode();
    run.and(restore).and(raw)
}

fn draw(out: &mut impl std::io::Write, view: &View) -> std::io::Result<()> {
    use crossterm::style::{Attribute, Print, SetAttribute};
    use crossterm::{cursor, queue, terminal};
    let screen = view.screen();
    let last = screen.len() - 1;
    for (i, line) in screen.iter().enumerate() {
        queue!(
            out,
            cursor::MoveTo(0, i as u16),
            terminal::Clear(terminal::ClearType::CurrentLine)
        )?;
        if i == last {
            queue!(
                out,
                SetAttribute(Attribute::Reverse),
                Print(line),
                SetAttribute(Attribute::Reset)
            )?;
        } else {
            queue!(out, Print(line))?;
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(v: &mut View, code: KeyCode) -> Step {
        v.key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn numbered(n: usize) -> String {
        (1..=n).map(|i| format!("row {i}\n")).collect()
    }

    #[test]
    fn a_screen_is_the_lines_then_the_status() {
        let v = View::new(&numbered(100), 40, 10);
        let s = v.screen();
        assert_eq!(s.len(), 10);
        assert_eq!(s[0], "row 1");
        assert_eq!(s[8], "row 9");
        assert_eq!(s[9], "lines 1-9 of 100   q leaves, / searches,");
    }

    #[test]
    fn keys_move_within_the_text() {
        let mut v = View::new(&numbered(100), 80, 10);
        press(&mut v, KeyCode::Char(' '));
        assert_eq!(v.screen()[0], "row 10");
        press(&mut v, KeyCode::Down);
        assert_eq!(v.screen()[0], "row 11");
        press(&mut v, KeyCode::Char('b'));
        assert_eq!(v.screen()[0], "row 2");
        press(&mut v, KeyCode::Char('G'));
        // the last screen ends at the last line, marked (END)
        let s = v.screen();
        assert_eq!(s[0], "row 92");
        assert_eq!(s[8], "row 100");
        assert!(s[9].starts_with("lines 92-100 of 100 (END)"), "{}", s[9]);
        press(&mut v, KeyCode::Down);
        assert_eq!(v.screen()[0], "row 92");
        press(&mut v, KeyCode::Char('g'));
        assert_eq!(v.screen()[0], "row 1");
        press(&mut v, KeyCode::Up);
        assert_eq!(v.screen()[0], "row 1");
        assert_eq!(press(&mut v, KeyCode::Char('q')), Step::Leave);
        let mut v = View::new("a\n", 80, 10);
        assert_eq!(
            v.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Step::Leave
        );
    }

    #[test]
    fn slash_searches_case_insensitively_and_n_goes_on() {
        let text = "alpha\nBeta one\ngamma\nbeta two\ndelta\n".repeat(10);
        let mut v = View::new(&text, 80, 4);
        press(&mut v, KeyCode::Char('/'));
        for c in "BETA".chars() {
            press(&mut v, KeyCode::Char(c));
        }
        assert_eq!(v.screen()[3], "/BETA");
        press(&mut v, KeyCode::Enter);
        assert_eq!(v.screen()[0], "Beta one");
        press(&mut v, KeyCode::Char('n'));
        assert_eq!(v.screen()[0], "beta two");
        press(&mut v, KeyCode::Char('N'));
        assert_eq!(v.screen()[0], "Beta one");
        press(&mut v, KeyCode::Char('/'));
        for c in "zzz".chars() {
            press(&mut v, KeyCode::Char(c));
        }
        press(&mut v, KeyCode::Enter);
        assert_eq!(v.screen()[3], "not found: zzz");
        assert_eq!(v.screen()[0], "Beta one");
    }

    #[test]
    fn long_lines_are_cut_and_scroll_sideways() {
        let mut v = View::new("0123456789abcdefghij\nshort\n", 10, 5);
        assert_eq!(v.screen()[0], "0123456789");
        press(&mut v, KeyCode::Right);
        assert_eq!(v.screen()[0], "89abcdefgh");
        assert_eq!(v.screen()[1], "");
        press(&mut v, KeyCode::Right);
        // no further than the widest line's end
        assert_eq!(v.screen()[0], "abcdefghij");
        press(&mut v, KeyCode::Left);
        press(&mut v, KeyCode::Left);
        assert_eq!(v.screen()[0], "0123456789");
        // wide characters take two columns and are never cut in half
        let v = View::new("ééé表表表\n", 6, 3);
        assert_eq!(v.screen()[0], "ééé表");
    }

    #[test]
    fn colour_and_tabs_do_not_reach_the_screen() {
        let v = View::new("\x1b[2m5 rows\x1b[0m\ta\n", 80, 3);
        assert_eq!(v.screen()[0], "5 rows    a");
        // short text: the screen is filled with ~ and the status says END
        let v = View::new("", 80, 3);
        assert_eq!(v.screen()[0], "~");
        assert!(v.screen()[2].contains("(END)"), "{:?}", v.screen());
    }
}
