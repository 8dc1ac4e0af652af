//! Any bytes read as a CASIA `.gnt` stream must yield samples and at most one error, never a
//! panic (nor an allocation the file's size does not back); each sample's pixels must match
//! its size, and its GB2312 code must map to a class and a character or to `None`.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use lookout_fuzz::gnt::{level1_code, GntReader};
use lookout_fuzz::CappedAlloc;

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let mut errors = 0;
    for item in GntReader::new(data, Path::new("fuzz.gnt")) {
        match item {
            Ok(sample) => {
                assert_eq!(sample.pixels.len(), sample.width as usize * sample.height as usize);
                if let Some(class) = sample.level1_class() {
                    assert_eq!(level1_code(class), Some(sample.code));
                }
                let _ = sample.character();
            }
            Err(e) => {
                errors += 1;
                let _ = e.to_string();
            }
        }
    }
    assert!(errors <= 1, "the reader stops after an error");
});
