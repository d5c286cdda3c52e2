//! Allocator settings for a long-running exporter (glibc on Linux; nothing
//! elsewhere). Called once by the binary at start, before threads allocate.
//!
//! Why: glibc raises its mmap threshold (up to 32 MiB) each time a large
//! block is freed, after which large buffers (reply buffers, exposition
//! chunks, snapshot vectors) come from the arenas and stay cached there
//! when freed; and each thread that allocates may get an arena of its own.
//! Measured in the soak (200 miners): a live heap of about 6 MiB held by an
//! RSS of 44 to 64 MiB that swung from scrape to scrape. With the mmap and
//! trim thresholds fixed, large blocks are mapped and unmapped (returned to
//! the system on free) and the top of each arena is trimmed past 1 MiB; a
//! cap on arenas bounds the per-thread caches. See docs/reliability.md
//! (Soak) for the figures.
//!
//! After each large `/metrics` answer, [`release_free_memory`] hands the
//! free pages inside the arenas back too: a scrape of thousands of miners
//! frees tens of MiB in small blocks spread over the heap, which the trim
//! threshold (top of the arena only) cannot return.
//!
//! An operator's own `MALLOC_*` tunables win: if any of the variables below
//! is set, nothing is changed.

use std::sync::atomic::{AtomicBool, Ordering};

/// Blocks from this size on are mapped on their own (and unmapped on free).
pub const MMAP_THRESHOLD_BYTES: i32 = 256 * 1024;
/// Free memory above this at an arena's top is returned to the system.
pub const TRIM_THRESHOLD_BYTES: i32 = 1024 * 1024;

const OPERATOR_TUNABLES: &[&str] = &[
    "MALLOC_ARENA_MAX",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "GLIBC_TUNABLES",
];

/// Whether [`tune_allocator`] applied the settings (so the allocator is
/// ours to manage).
static TUNED: AtomicBool = AtomicBool::new(false);

/// Applies the settings above; returns whether they were applied.
pub fn tune_allocator() -> bool {
    if OPERATOR_TUNABLES
        .iter()
        .any(|name| std::env::var_os(name).is_some())
    {
        return false;
    }
    let applied = apply();
    TUNED.store(applied, Ordering::Relaxed);
    applied
}

/// Returns free memory inside the arenas to the system, when the settings
/// above are in force (else the operator manages the allocator), and says
/// whether any was returned. Takes a few milliseconds for a heap of tens
/// of MiB: call it after large, infrequent work, not per request.
pub fn release_free_memory() -> bool {
    TUNED.load(Ordering::Relaxed) && trim()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() -> bool {
    // SAFETY: malloc_trim takes each arena's lock; it only releases pages
    // that hold no allocation.
    unsafe { libc::malloc_trim(0) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() -> bool {
    false
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply() -> bool {
    // One arena per core (at least two): enough to keep allocation from
    // contending, far below glibc's default of eight per core. On 2 cores,
    // 2 arenas held the soak at 32 MiB flat, 4 arenas at 35 to 37 MiB.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let arenas = i32::try_from(cores.max(2)).unwrap_or(i32::MAX);
    // SAFETY: mallopt only changes allocator parameters; it is called
    // before the runtime's threads start allocating.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1
            && libc::mallopt(libc::M_ARENA_MAX, arenas) == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply() -> bool {
    false
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_accepts_every_setting() {
        assert!(super::apply());
    }

    /// Small blocks freed all over the heap (as after a fleet scrape) leave
    /// whole free pages that only a trim returns.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn freed_pages_inside_the_heap_go_back() {
        if !super::tune_allocator() {
            return; // The operator's (here: the environment's) allocator.
        }
        let mut blocks: Vec<Vec<u8>> = (0..32_768).map(|i| vec![i as u8; 1000]).collect();
        let mut i = 0;
        blocks.retain(|_| {
            i += 1;
            i % 64 == 0
        });
        assert!(super::release_free_memory(), "nothing was released");
        assert_eq!(blocks.len(), 512);
    }
}
