//! Limits of a query, with Splunk's defaults (limits.conf) where Splunk has one, and the memory a query
//! may use.
//!
//! Memory is counted by [`CountingAlloc`], which the `spelunk` binary installs as its global allocator;
//! queries look at the count between rows and stop with an error naming `--max-memory` once it is
//! reached, so that a query over too much data ends with a message rather than being killed by the
//! system. Without the counting allocator (the library used on its own) memory is not limited.

use crate::diag::{Diagnostic, Result};
use std::alloc::{GlobalAlloc, Layout, System};
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
    /// An error once the process holds more than `max_memory` bytes.
    pub fn check_memory(&self) -> Result<()> {
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

/// Bytes held through [`CountingAlloc`] (0 when it is not the global allocator).
pub fn in_use() -> usize {
    IN_USE.load(Ordering::Relaxed)
}

/// Whether [`CountingAlloc`] is the global allocator.
pub fn counting() -> bool {
    COUNTING.load(Ordering::Relaxed)
}

/// The system allocator, counting the bytes held.
pub struct CountingAlloc;

// SAFETY: every call is passed to the system allocator unchanged; only a counter is kept beside it.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
            if !COUNTING.load(Ordering::Relaxed) {
                COUNTING.store(true, Ordering::Relaxed);
            }
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size > layout.size() {
                IN_USE.fetch_add(new_size - layout.size(), Ordering::Relaxed);
            } else {
                IN_USE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}
