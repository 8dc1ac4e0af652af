//! Any bytes read as an MNIST IDX file must give an array whose data fills its dimensions, or an
//! error, never a panic nor an allocation the file's size does not back. The first byte splits
//! the rest into an images file and a labels file, which must then pair up or be refused.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use lookout_fuzz::idx::{parse, Digits};
use lookout_fuzz::CappedAlloc;

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let split = (split as usize).min(rest.len());
    let (first, second) = rest.split_at(split);
    let (images, labels) = (parse(first, Path::new("images")), parse(second, Path::new("labels")));
    for array in [&images, &labels].into_iter().flatten() {
        assert_eq!(array.dims.iter().product::<usize>(), array.data.len());
    }
    if let (Ok(images), Ok(labels)) = (images, labels) {
        if let Ok(digits) =
            Digits::from_arrays(images, Path::new("images"), labels, Path::new("labels"))
        {
            for i in 0..digits.len() {
                assert_eq!(digits.image(i).len(), digits.side * digits.side);
                assert!(digits.labels[i] <= 9);
            }
        }
    }
});
