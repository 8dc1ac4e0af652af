//! Integer-factor downscaling by block means: the motion gate's small picture. Each output
//! pixel is the rounded mean of a `factor`×`factor` block, which also averages out sensor noise
//! (a gate reading single pixels would see noise as motion).

use super::GrayImage;

/// Shrinks an 8-bit plane by `factor` in both directions; a partial block at the right or
/// bottom edge is left out. `step` is the distance between neighbouring pixels in bytes (1 for
/// a gray plane, 2 for the luma of packed YUYV), so the plane is read where it lies.
/// Returns `None` when `src` is shorter than `width * height * step` or `factor` is 0.
pub fn shrink_mean(
    src: &[u8],
    width: usize,
    height: usize,
    step: usize,
    factor: usize,
) -> Option<GrayImage> {
    if factor == 0 || step == 0 || src.len() < width.checked_mul(height)?.checked_mul(step)? {
        return None;
    }
    let (w, h) = (width / factor, height / factor);
    let area = (factor * factor) as u32;
    let mut sums = vec![0u32; w];
    let mut pixels = Vec::with_capacity(w * h);
    for by in 0..h {
        sums.fill(0);
        for y in by * factor..(by + 1) * factor {
            let row = &src[y * width * step..(y * width + w * factor) * step];
            for (sum, block) in sums.iter_mut().zip(row.chunks_exact(factor * step)) {
                *sum += block.iter().step_by(step).map(|&v| v as u32).sum::<u32>();
            }
        }
        pixels.extend(sums.iter().map(|&s| ((s + area / 2) / area) as u8));
    }
    GrayImage::new(w, h, pixels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_of_blocks_with_rounding() {
        // 4x2 plane shrunk by 2: blocks [0,1,4,5] and [2,3,6,7] (+1 rounding on .5).
        let src = [0u8, 1, 2, 3, 4, 5, 6, 7];
        let small = shrink_mean(&src, 4, 2, 1, 2).unwrap();
        assert_eq!((small.width, small.height, small.pixels), (2, 1, vec![3, 5]));
    }

    #[test]
    fn reads_the_luma_of_yuyv_in_place_and_drops_partial_blocks() {
        // Y U Y V ...: luma 10, 20, 30, 40, 50 on one row of 5 pixels (odd width).
        let src = [10u8, 128, 20, 128, 30, 128, 40, 128, 50, 128];
        let small = shrink_mean(&src, 5, 1, 2, 1).unwrap();
        assert_eq!(small.pixels, vec![10, 20, 30, 40, 50]);
        let small = shrink_mean(&src, 5, 1, 2, 2).unwrap();
        assert_eq!((small.width, small.height), (2, 0));
    }

    #[test]
    fn short_buffers_and_zero_factors_are_refused() {
        assert!(shrink_mean(&[0; 7], 4, 2, 1, 2).is_none());
        assert!(shrink_mean(&[0; 8], 4, 2, 1, 0).is_none());
        assert!(shrink_mean(&[0; 8], 4, 2, 2, 1).is_none());
    }
}
