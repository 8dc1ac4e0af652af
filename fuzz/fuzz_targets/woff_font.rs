//! Any bytes read as a WOFF web font must unpack to an sfnt whose table directory matches the
//! tables behind it, or give an error: never a panic, nor an allocation the input does not
//! back (a table claiming 60 MB of inflated data from a few bytes must be refused or be real).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout_fuzz::woff::to_sfnt;
use lookout_fuzz::CappedAlloc;

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    if let Ok(sfnt) = to_sfnt(data) {
        let count = u16::from_be_bytes([sfnt[4], sfnt[5]]) as usize;
        assert!(sfnt.len() >= 12 + 16 * count);
        for k in 0..count {
            let record = &sfnt[12 + 16 * k..28 + 16 * k];
            let offset = u32::from_be_bytes(record[8..12].try_into().unwrap()) as usize;
            let length = u32::from_be_bytes(record[12..16].try_into().unwrap()) as usize;
            assert!(offset + length <= sfnt.len());
        }
    }
});
