//! A counting global allocator, so `frame_decode` can assert how much memory decoding takes
//! (an oversize frame must cost nothing; an accepted one a bounded multiple of its size).
//!
//! Counting is per thread (the replay test runs tests on several threads). A binary opts in
//! with `#[global_allocator] static ALLOC: CountingAlloc = CountingAlloc;` — the fuzz targets
//! and `tests/fuzz_replay.rs` both do; [`measure`] panics if it was forgotten, so a check that
//! relies on it cannot pass vacuously.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting the bytes each thread holds.
#[derive(Clone, Copy, Debug, Default)]
pub struct CountingAlloc;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn grew(size: usize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add(size);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
    let _ = COUNT.try_with(|count| count.set(count.get().saturating_add(1)));
}

fn shrank(size: usize) {
    // Memory allocated on another thread and freed here can take this thread below zero.
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(size)));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees carry over; the bookkeeping touches only const-initialised
// thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl).
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl).
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrank(layout.size());
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl).
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        p
    }
}

/// What a closure allocated on the current thread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Most bytes held at once above what was held before the call.
    pub peak_bytes: usize,
    /// Number of allocations (and reallocations) made.
    pub allocations: usize,
}

/// Run `f` and report what it allocated on this thread.
///
/// # Panics
/// If the binary did not install [`CountingAlloc`] as its global allocator.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Usage) {
    assert!(
        installed(),
        "install phantom_fsm::fuzzing::alloc::CountingAlloc as the #[global_allocator]"
    );
    let (base, count) = (LIVE.with(Cell::get), COUNT.with(Cell::get));
    PEAK.with(|peak| peak.set(base));
    let out = f();
    let usage = Usage {
        peak_bytes: PEAK.with(Cell::get).saturating_sub(base),
        allocations: COUNT.with(Cell::get).saturating_sub(count),
    };
    (out, usage)
}

/// Whether [`CountingAlloc`] is this binary's global allocator.
fn installed() -> bool {
    let before = COUNT.with(Cell::get);
    drop(std::hint::black_box(vec![0u8; 64]));
    COUNT.with(Cell::get) != before
}
