//! Any bytes in a replay frame file or an MJPEG camera buffer must decode to a frame (RGB copy
//! and gray image) or an error, never a panic: this calls `lookout_vision::image_io::decode`,
//! what the replay source and `lookout detect` run on every file they read, and
//! `image_io::jpeg_preview`, the reduced-size decode the motion gate looks at every camera frame
//! with (a second JPEG decoder, jpeg-decoder).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use lookout_vision::image_io;
use lookout_fuzz::CappedAlloc;

/// Smaller than the runtime's `image_io::MAX_PIXELS`, so that a tiny file claiming a huge
/// picture does not spend the run in one slow decode (the check itself is the runtime's).
const MAX_PIXELS: u64 = 1 << 22;

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

// `image_io::decode` turns the JPEG decoder's panics into errors, but libfuzzer-sys's panic hook
// aborts before they are caught; the binary's own hook set-up keeps the hook silent inside
// `catch_panic` and hands every other panic on to libfuzzer-sys's, which aborts: a crash.
fuzz_target!(init: lookout_vision::panic_guard::quiet_caught_panics(), |data: &[u8]| {
    if let Ok(decoded) = image_io::decode(data, Path::new("fuzz.img"), MAX_PIXELS) {
        assert_eq!(decoded.rgb.width() as usize, decoded.gray.width);
        assert_eq!(decoded.rgb.height() as usize, decoded.gray.height);
        assert!(decoded.gray.width as u64 * decoded.gray.height as u64 <= MAX_PIXELS);
    }
    if let Ok(preview) = image_io::jpeg_preview(data, Path::new("fuzz.jpg"), 80, MAX_PIXELS) {
        assert!(preview.full_width as u64 * preview.full_height as u64 <= MAX_PIXELS);
        assert!(preview.gray.width <= preview.full_width as usize);
        assert_eq!(preview.gray.pixels.len(), preview.gray.width * preview.gray.height);
    }
});
