//! Any bytes in a replay frame file must decode to a frame (RGB copy and gray image) or an
//! error, never a panic.
//!
//! `lookout::image_io::read` only takes a path, and writing every input to a file would slow
//! the fuzzer down, so this does what it does on bytes: size check from the header, decode by
//! content (the file's extension is not known here), then the same `image_io::decoded` split.
#![no_main]

use std::io::Cursor;

use image::ImageReader;
use libfuzzer_sys::fuzz_target;
use lookout::image_io;
use lookout_fuzz::CappedAlloc;

/// Smaller than `image_io`'s limit, so that a tiny file claiming a huge picture does not spend
/// the run in one slow decode; the size check itself is what `read` does.
const MAX_PIXELS: u64 = 1 << 22;

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = ImageReader::new(Cursor::new(data)).with_guessed_format() else { return };
    let Ok((width, height)) = reader.into_dimensions() else { return };
    if width as u64 * height as u64 > MAX_PIXELS {
        return;
    }
    let Ok(reader) = ImageReader::new(Cursor::new(data)).with_guessed_format() else { return };
    let Ok(image) = reader.decode() else { return };
    let decoded = image_io::decoded(image);
    assert_eq!(decoded.gray.width, width as usize);
    assert_eq!(decoded.gray.height, height as usize);
});
