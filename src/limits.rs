//! Limits of a query, with Splunk's defaults (limits.conf) where Splunk has one, and the memory a query
//! may use.
//!
//! Memory is counted by [`CountingAlloc`], which the `spelunk` binary installs as its global allocator;
//! queries look at the count between rows and stop with an error naming `--max-memory` once it is
//! reached, so that a query over too much data ends with a message rather than being killed by the
//! system. Without the counting allocator (the library used on its own) memory is not limited.

use crate::diag::{Diagnostic, Result};
use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// What a query may use. `Copy`, so that every operator can hold its own.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Rows a subsearch gives (limits.conf `[subsearch] maxout`).
    pub subsearch_maxout: usize,
    /// Time a subsearch may run; it is then stopped and the rows it has are used (`[subsearch] maxtime`).
    pub subsearch_maxtime: Duration,
    /// Rows `join` takes from its subsearch (`[join] subsearch_maxout`).
    pub join_maxout: usize,
    /// Distinct values `values()` keeps (`[stats] maxvalues`; 0: no limit, Splunk's default).
    pub max_values: usize,
    /// Values `list()` keeps (`[stats] list_maxsize`).
    pub list_maxsize: usize,
    /// Bytes of rows `mvexpand` makes before it stops expanding (`[mvexpand] max_mem_usage_mb`).
    pub mvexpand_max_mem: u64,
    /// Bytes the whole process may hold while a query runs (0: no limit).
    pub max_memory: u64,
    /// Longest text an `eval` expression may make, in bytes.
    pub max_eval_text: usize,
    /// Stops the query when set (Ctrl-C in the shell); looked at with the memory, between rows.
    pub cancel: Cancel,
}

/// The message of the error a cancelled query ends with.
pub const CANCELLED: &str = "cancelled";

/// A flag that stops a running query: the shell sets it on Ctrl-C, and the reading, the operators (at
/// [`Limits::check_memory`]) and long sorts look at it. One flag lives as long as the program (the shell
/// makes one), so that limits stay `Copy`; the default has no flag and is never set.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cancel(Option<&'static AtomicBool>);

impl Cancel {
    /// A new flag, not set.
    pub fn new() -> Cancel {
        Cancel(Some(Box::leak(Box::new(AtomicBool::new(false)))))
    }

    pub fn set(&self, on: bool) {
        if let Some(f) = self.0 {
            f.store(on, Ordering::SeqCst);
        }
    }

    pub fn is_set(&self) -> bool {
        self.0.is_some_and(|f| f.load(Ordering::Relaxed))
    }

    /// `Err(cancelled)` once the flag is set.
    pub fn check(&self) -> Result<()> {
        if self.is_set() {
            Err(Diagnostic::new(CANCELLED))
        } else {
            Ok(())
        }
    }
}

impl PartialEq for Cancel {
    fn eq(&self, other: &Cancel) -> bool {
        match (self.0, other.0) {
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

/// Free `held` on another thread (a cancelled query's rows: freeing millions takes a second or
/// more). Should no thread start, it is freed here.
pub fn set_aside<T: Send + 'static>(held: T) {
    let _ = std::thread::Builder::new()
        .name("free".into())
        .spawn(move || drop(held));
}

/// What a cancelled query holds (rows, groups, sorted rows) is freed on another thread: freeing
/// millions of rows takes a second or more, and after Ctrl-C the shell's prompt comes back at once.
/// Not cancelled, it is freed where it is dropped, as any value.
pub struct FreedAside<T: Send + 'static> {
    held: Option<T>,
    cancel: crate::limits::Cancel,
}

impl<T: Send + 'static> FreedAside<T> {
    pub fn new(held: T, cancel: crate::limits::Cancel) -> FreedAside<T> {
        FreedAside {
            held: Some(held),
            cancel,
        }
    }
}

impl<T: Send + 'static> std::ops::Deref for FreedAside<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.held.as_ref().expect("held until dropped")
    }
}

impl<T: Send + 'static> std::ops::DerefMut for FreedAside<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.held.as_mut().expect("held until dropped")
    }
}

impl<T: Iterator + Send + 'static> Iterator for FreedAside<T> {
    type Item = T::Item;
    fn next(&mut self) -> Option<T::Item> {
        self.held.as_mut().and_then(Iterator::next)
    }
}

impl<T: Send + 'static> Drop for FreedAside<T> {
    fn drop(&mut self) {
        if let Some(held) = self.held.take() {
            if self.cancel.is_set() {
                set_aside(held);
            }
        }
    }
}

/// Sort `v` stably by `cmp` as `sort_by` does, stopping with `Err(cancelled)` within a few thousand
/// comparisons of `cancel` being set: runs of [`SORT_RUN`] rows are sorted, then merged pairwise.
pub fn sort_by_cancellable<T: Send + 'static>(
    v: Vec<T>,
    cancel: Cancel,
    mut cmp: impl FnMut(&T, &T) -> std::cmp::Ordering,
) -> Result<Vec<T>> {
    if v.len() <= SORT_RUN || cancel.0.is_none() {
        let mut v = v;
        v.sort_by(cmp);
        return Ok(v);
    }
    let mut runs: Vec<Vec<T>> = Vec::with_capacity(v.len().div_ceil(SORT_RUN));
    let mut it = v.into_iter();
    loop {
        if cancel.is_set() {
            set_aside((runs, it));
            return Err(Diagnostic::new(CANCELLED));
        }
        let mut run: Vec<T> = it.by_ref().take(SORT_RUN).collect();
        if run.is_empty() {
            break;
        }
        run.sort_by(&mut cmp);
        runs.push(run);
    }
    while runs.len() > 1 {
        let mut next = Vec::with_capacity(runs.len().div_ceil(2));
        let mut pairs = runs.into_iter();
        while let Some(a) = pairs.next() {
            match pairs.next() {
                Some(b) => match merge_runs(a, b, cancel, &mut cmp) {
                    Ok(m) => next.push(m),
                    Err(e) => {
                        set_aside((next, pairs));
                        return Err(e);
                    }
                },
                None => next.push(a),
            }
        }
        runs = next;
    }
    Ok(runs.pop().unwrap_or_default())
}

/// Rows sorted at a time between looks at the cancel flag.
pub const SORT_RUN: usize = 1 << 13;

/// Merge two sorted runs; on a tie the row of `a` (the earlier) comes first.
fn merge_runs<T: Send + 'static>(
    a: Vec<T>,
    b: Vec<T>,
    cancel: Cancel,
    cmp: &mut impl FnMut(&T, &T) -> std::cmp::Ordering,
) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let mut a = a.into_iter().peekable();
    let mut b = b.into_iter().peekable();
    loop {
        if out.len() % SORT_RUN == 0 && cancel.is_set() {
            set_aside((out, a, b));
            return Err(Diagnostic::new(CANCELLED));
        }
        let take_b = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => cmp(y, x) == std::cmp::Ordering::Less,
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (None, None) => break,
        };
        let next = if take_b { b.next() } else { a.next() };
        out.extend(next);
    }
    Ok(out)
}

/// 1 MiB.
pub const MB: u64 = 1 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            subsearch_maxout: 10_000,
            subsearch_maxtime: Duration::from_secs(60),
            join_maxout: 50_000,
            max_values: 0,
            list_maxsize: 100,
            mvexpand_max_mem: 500 * MB,
            max_memory: default_max_memory(),
            max_eval_text: 100 * MB as usize,
            cancel: Cancel::default(),
        }
    }
}

/// Three quarters of the machine's memory (from /proc/meminfo), else 8 GiB: a query stops with an error
/// before the system would kill it.
fn default_max_memory() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    });
    total.map_or(8 << 30, |t| t / 4 * 3)
}

impl Limits {
    /// Between rows: an error once the query was cancelled, or once the process holds more than
    /// `max_memory` bytes.
    pub fn check_memory(&self) -> Result<()> {
        self.cancel.check()?;
        if self.max_memory == 0 {
            return Ok(());
        }
        let used = in_use() as u64;
        if used > self.max_memory {
            return Err(Diagnostic::new(format!(
                "query stopped: it holds {} MB, more than the memory limit of {} MB",
                used / MB,
                self.max_memory / MB
            ))
            .with_help(
                "narrow the search (a more selective first search, `fields`, fewer rows kept), or raise the limit with --max-memory MB",
            ));
        }
        Ok(())
    }
}

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

/// Bytes a thread may allocate or free before it adds its count to [`IN_USE`]: one shared counter
/// touched on every allocation makes the cores wait on each other, so each thread keeps its own and
/// settles it in steps of this size (the total is off by at most this much per thread).
const SETTLE: isize = 256 << 10;

thread_local! {
    static PENDING: std::cell::Cell<isize> = const { std::cell::Cell::new(0) };
}

fn count(delta: isize) {
    let settled = PENDING
        .try_with(|p| {
            let d = p.get() + delta;
            if d.abs() >= SETTLE {
                p.set(0);
                Some(d)
            } else {
                p.set(d);
                None
            }
        })
        // a thread being torn down counts directly
        .unwrap_or(Some(delta));
    if let Some(d) = settled {
        if d >= 0 {
            IN_USE.fetch_add(d as usize, Ordering::Relaxed);
        } else {
            // frees counted on another thread than their allocations may run ahead for a moment
            let _ = IN_USE.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(d.unsigned_abs()))
            });
        }
    }
}

/// Bytes held through [`CountingAlloc`] (0 when it is not the global allocator), to within
/// [`SETTLE`] bytes per thread.
pub fn in_use() -> usize {
    IN_USE.load(Ordering::Relaxed)
}

/// Whether [`CountingAlloc`] is the global allocator.
pub fn counting() -> bool {
    COUNTING.load(Ordering::Relaxed)
}

/// The allocator under the count. (mimalloc read seed 001 17% faster here, but held twice the
/// memory: 65 MB against 32 MB on `stats count by eventName`.)
static INNER: std::alloc::System = std::alloc::System;

/// The process's allocator, counting the bytes held.
pub struct CountingAlloc;

// SAFETY: every call is passed to the inner allocator unchanged; only a counter is kept beside it.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = INNER.alloc(layout);
        if !p.is_null() {
            count(layout.size() as isize);
            if !COUNTING.load(Ordering::Relaxed) {
                COUNTING.store(true, Ordering::Relaxed);
            }
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = INNER.alloc_zeroed(layout);
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        INNER.dealloc(ptr, layout);
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = INNER.realloc(ptr, layout, new_size);
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancellable_sort_sorts_stably_as_sort_by_does() {
        // many ties, several runs and an odd run count
        let v: Vec<(u32, usize)> = (0..SORT_RUN * 5 + 17)
            .map(|i| (((i * 7919) % 97) as u32, i))
            .collect();
        let mut want = v.clone();
        want.sort_by_key(|a| a.0);
        let got = sort_by_cancellable(v, Cancel::new(), |a, b| a.0.cmp(&b.0)).unwrap();
        assert_eq!(got, want);
    }

    #[test]
    fn a_set_flag_stops_a_sort() {
        let c = Cancel::new();
        c.set(true);
        let v: Vec<u32> = (0..SORT_RUN as u32 * 3).rev().collect();
        let e = sort_by_cancellable(v, c, |a, b| a.cmp(b)).unwrap_err();
        assert_eq!(e.message, CANCELLED);
        let limits = Limits {
            cancel: c,
            ..Limits::default()
        };
        assert_eq!(limits.check_memory().unwrap_err().message, CANCELLED);
        c.set(false);
        assert!(limits.check_memory().is_ok());
        assert!(Limits::default().cancel.check().is_ok());
    }
}
