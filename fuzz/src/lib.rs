//! What the fuzz targets share: [`CappedAlloc`], which makes a huge allocation fail the way it
//! would on a Pi. Without a sanitizer libFuzzer cannot see single allocations (its
//! `-malloc_limit_mb` needs ASan's hooks), and an untouched `vec![0; n]` never shows up in RSS,
//! so a size field trusted from a few bytes of input would otherwise go unnoticed.

use std::alloc::{GlobalAlloc, Layout, System};

/// The `.gnt` reader of `lookout-tools`, the very file, compiled here on its own: it needs
/// nothing from the tools crate, only `thiserror` and `encoding_rs`.
#[path = "../../tools/src/dataset/gnt.rs"]
#[allow(dead_code)]
pub mod gnt;

/// MNIST's IDX reader of `lookout-tools`, the very file, likewise (it needs only `thiserror`).
#[path = "../../tools/src/dataset/idx.rs"]
#[allow(dead_code)]
pub mod idx;

/// The WOFF unpacker that lets `lookout-tools` read npm's web fonts, likewise (it needs only
/// `flate2`).
#[path = "../../tools/src/dataset/woff.rs"]
pub mod woff;

/// No single allocation may exceed this: far more than any input of a few kilobytes justifies,
/// far less than a 4 GiB size field asks for.
pub const MAX_ALLOC: usize = 256 << 20;

/// The system allocator, failing (null, so Rust aborts with "memory allocation of N bytes
/// failed", which libFuzzer reports as a crash) any request above [`MAX_ALLOC`].
pub struct CappedAlloc;

unsafe impl GlobalAlloc for CappedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOC {
            return std::ptr::null_mut();
        }
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOC {
            return std::ptr::null_mut();
        }
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > MAX_ALLOC {
            return std::ptr::null_mut();
        }
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}
