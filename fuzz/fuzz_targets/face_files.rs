//! The face files a user hands lookout: any bytes read as dlib's 5-point landmark model or as a
//! gallery must give a model or an error, never a panic or a huge allocation. The first byte
//! picks which reader gets the rest. A landmark model that loads must predict on a small image
//! (landmarks anywhere, no panic).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use lookout::identity::gallery::Gallery;
use lookout_fuzz::CappedAlloc;
use lookout_vision::face::landmarks::ShapePredictor;
use lookout_vision::face::DlibRect;
use lookout_vision::preprocess::Pixels;

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    if which % 2 == 0 {
        let Ok(predictor) = ShapePredictor::from_bytes(rest, Path::new("fuzz.dat")) else { return };
        let pixels = [128u8; 32 * 24 * 3];
        let image = Pixels { width: 32, height: 24, channels: 3, data: &pixels };
        let rect = DlibRect { left: -5, top: 2, right: 40, bottom: 20 };
        let _ = predictor.predict(image, rect);
    } else {
        let _ = Gallery::from_bytes(rest, Path::new("fuzz.json"), "abc", 2);
    }
});
