//! Any bytes given to the cascade loader must produce a cascade or an error, never a panic;
//! a cascade that loads must also scan a small image without panicking.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use lookout_vision::cascade::{self, DetectParams, Detector};
use lookout_vision::imgproc::GrayImage;
use lookout_fuzz::CappedAlloc;

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(cascade) = cascade::parse(text, Path::new("fuzz.xml")) {
        let pixels = (0..48 * 40).map(|i| (i * 37 % 251) as u8).collect();
        let image = GrayImage::new(48, 40, pixels).expect("size matches");
        let params = DetectParams { min_neighbors: 0, ..DetectParams::default() };
        let _ = Detector::new(cascade).detect(&image, &params, 1);
    }
});
