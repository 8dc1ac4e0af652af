//! Handing memory back to the system after a burst of allocation (loading a model).
//!
//! glibc's allocator keeps freed heap for reuse; after a model load, which holds several
//! transient copies of the weights, that is tens of megabytes of resident memory a Pi never
//! uses again. `malloc_trim` returns the free pages.

/// Returns the allocator's free memory to the system (glibc); nothing elsewhere.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}
