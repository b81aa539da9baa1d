//! A progress indicator for long scans: nothing for the first second (most queries answer sooner), then a
//! bar (or a spinner when the total is unknown) on stderr, fed from a counter the scan increments.
//! Nothing is drawn when stderr is not a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a scan runs before the indicator appears.
pub const DELAY: Duration = Duration::from_millis(1000);
const TICK: Duration = Duration::from_millis(100);

/// stderr as a terminal a few columns narrower than it is. indicatif pads its line to the terminal's
/// width; the `^C` the terminal echoes on Ctrl-C would then wrap to a new line, and clearing the bar would
/// leave its last state on screen.
#[derive(Debug)]
struct Narrower(console::Term);

const SPARE_COLUMNS: u16 = 4;

impl TermLike for Narrower {
    fn width(&self) -> u16 {
        self.0.size().1.saturating_sub(SPARE_COLUMNS).max(20)
    }
    fn height(&self) -> u16 {
        self.0.size().0
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_up(n)
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_down(n)
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_right(n)
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_left(n)
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.0.write_line(s)
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.0.write_str(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.0.clear_line()
    }
    fn flush(&self) -> std::io::Result<()> {
        self.0.flush()
    }
}

fn target() -> ProgressDrawTarget {
    let term = console::Term::stderr();
    if term.is_term() {
        ProgressDrawTarget::term_like_with_hz(Box::new(Narrower(term)), 10)
    } else {
        ProgressDrawTarget::hidden()
    }
}

pub struct Progress {
    label: Arc<Mutex<String>>,
    stop: Option<mpsc::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Progress {
    /// Start watching `counter` (events); `total` gives a bar, `None` a spinner.
    pub fn start(counter: Arc<AtomicU64>, total: Option<u64>, label: &str) -> Progress {
        let label = Arc::new(Mutex::new(label.to_string()));
        let (tx, rx) = mpsc::channel::<()>();
        let shown = label.clone();
        let handle = std::thread::spawn(move || {
            if !matches!(rx.recv_timeout(DELAY), Err(RecvTimeoutError::Timeout)) {
                return;
            }
            let pb = match total {
                Some(t) if t > 0 => {
                    let pb = ProgressBar::with_draw_target(Some(t), target());
                    if let Ok(st) = ProgressStyle::with_template(
                        "{spinner} {msg} [{bar:30}] {human_pos}/{human_len} events, {elapsed} (Ctrl-C cancels)",
                    ) {
                        pb.set_style(st.progress_chars("=> "));
                    }
                    pb
                }
                _ => {
                    let pb = ProgressBar::with_draw_target(None, target());
                    if let Ok(st) = ProgressStyle::with_template(
                        "{spinner} {msg}: {human_pos} events, {elapsed} (Ctrl-C stops)",
                    ) {
                        pb.set_style(st);
                    }
                    pb
                }
            };
            loop {
                let n = counter.load(Ordering::Relaxed);
                // a query whose subsearches read the inputs too scans more than the total
                if pb.length().is_some_and(|l| n > l) {
                    pb.set_length(n);
                }
                pb.set_position(n);
                if let Ok(l) = shown.lock() {
                    pb.set_message(l.clone());
                }
                pb.tick();
                match rx.recv_timeout(TICK) {
                    Err(RecvTimeoutError::Timeout) => continue,
                    _ => break,
                }
            }
            pb.finish_and_clear();
        });
        Progress {
            label,
            stop: Some(tx),
            handle: Some(handle),
        }
    }

    pub fn set_label(&self, text: &str) {
        if let Ok(mut l) = self.label.lock() {
            *l = text.to_string();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
