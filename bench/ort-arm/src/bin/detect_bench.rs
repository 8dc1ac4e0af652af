//! Our side of the detector comparison in bench/arm_vs_reference.sh: the same arguments, loop and
//! output as bench/arm/opencv_detect.cpp, with lookout-vision's `Detector::detect` (what
//! `lookout detect` and the daemon call) on one thread.
//!
//!   detect_bench CASCADE SCALE_FACTOR MIN_NEIGHBORS MIN_SIZE REPEATS IMAGE.pgm...
//!
//! The images are read before the first pass, so a run of 1 pass and one of 3 differ by exactly
//! two passes of detection (warm scratch buffers, as in the daemon). MIN_SIZE 0: the cascade's
//! own window. Prints `IMAGE x,y,w,h ...` per image once, after the last pass.

use std::path::Path;

use anyhow::{bail, Context, Result};
use lookout_vision::cascade::{self, DetectParams, Detector};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 6 {
        bail!("usage: detect_bench CASCADE SCALE_FACTOR MIN_NEIGHBORS MIN_SIZE REPEATS IMAGE.pgm...");
    }
    let detector = Detector::new(cascade::load(Path::new(&args[0]))?);
    let min_size: u32 = args[3].parse().context("MIN_SIZE")?;
    let params = DetectParams {
        scale_factor: args[1].parse().context("SCALE_FACTOR")?,
        min_neighbors: args[2].parse().context("MIN_NEIGHBORS")?,
        min_size: (min_size, min_size),
        max_size: None,
    };
    let repeats: usize = args[4].parse().context("REPEATS")?;
    let paths = &args[5..];
    // A PGM decodes to the gray plane as it is (lookout_vision::image_io's Luma path).
    let grays = paths
        .iter()
        .map(|p| Ok(lookout_vision::image_io::read(Path::new(p))?.gray))
        .collect::<Result<Vec<_>>>()?;

    let mut found = vec![Vec::new(); grays.len()];
    for _ in 0..repeats {
        for (gray, out) in grays.iter().zip(&mut found) {
            *out = detector.detect(gray, &params, 1);
        }
    }
    for (path, boxes) in paths.iter().zip(&mut found) {
        boxes.sort_by_key(|r| (r.x, r.y, r.width, r.height));
        let boxes: Vec<String> =
            boxes.iter().map(|r| format!(" {},{},{},{}", r.x, r.y, r.width, r.height)).collect();
        println!("{path}{}", boxes.concat());
    }
    Ok(())
}
