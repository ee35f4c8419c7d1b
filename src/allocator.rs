//! glibc malloc tuning for a server that moves images of 0.1–50 MB through short-lived buffers.
//! By default glibc raises its mmap threshold each time such a buffer is freed, so later ones come
//! from the heap and the process keeps their pages long after the work ends; it also opens an arena
//! per busy thread. A fixed threshold sends large buffers back to the OS as soon as they are freed,
//! and two arenas keep the runtime's and the decoders' threads from multiplying the idle heap.
//! `MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_` or `GLIBC_TUNABLES` set in the environment win.

/// Buffers at least this large are mapped on their own and returned to the OS when freed.
const MMAP_THRESHOLD: i32 = 256 << 10;
const ARENAS: i32 = 2;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn tune() {
    let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    if set("GLIBC_TUNABLES") {
        return;
    }
    // SAFETY: mallopt only changes allocator parameters; it is called at start, before any thread.
    unsafe {
        if !set("MALLOC_MMAP_THRESHOLD_") {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        }
        if !set("MALLOC_ARENA_MAX") {
            libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() {}
