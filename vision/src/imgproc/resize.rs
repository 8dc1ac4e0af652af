//! Bilinear resizing of 8-bit gray images, bit-exact with OpenCV's `INTER_LINEAR_EXACT`,
//! which is what `CascadeClassifier` uses to build its image pyramid.
//!
//! OpenCV computes the source coordinate of every destination pixel in IEEE double
//! (`softdouble`), turns the fractional part into an 8-bit fixed-point weight, blends rows
//! horizontally into 16-bit fixed point (8 fractional bits), then vertically into 32-bit fixed
//! point (16 fractional bits) and rounds half up. Reproducing those steps gives identical pixels,
//! and identical pixels are what make our cascade decisions identical.

/// One destination coordinate: the first source index and the weight of the second one
/// (the first weighs `256 - weight`), in 1/256 units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tap {
    index: usize,
    weight: u16,
}

/// Source taps for every destination index along one axis of `src` → `dst` samples.
fn taps(src: usize, dst: usize, taps: &mut Vec<Tap>) {
    taps.clear();
    // OpenCV derives the step from the size ratio it was handed (dst/src), then inverts it.
    let inv_scale = dst as f64 / src as f64;
    let scale = 1.0 / inv_scale;
    for d in 0..dst {
        let f = scale * (d as f64 + 0.5) - 0.5;
        let i = f.floor();
        let tap = if i < 0.0 || src == 1 {
            Tap { index: 0, weight: 0 }
        } else if (i as usize) < src - 1 {
            let frac = f - i;
            Tap { index: i as usize, weight: (frac * 256.0).round_ties_even() as u16 }
        } else {
            Tap { index: src - 1, weight: 0 }
        };
        taps.push(tap);
    }
}

/// Reusable buffers for [`resize_bilinear_exact`].
#[derive(Debug, Default, Clone)]
pub struct ResizeScratch {
    x_taps: Vec<Tap>,
    y_taps: Vec<Tap>,
    rows: [Vec<u16>; 2],
    row_index: [usize; 2],
}

/// Resizes `src` (`sw × sh`, packed) into `dst` (`dw × dh`, packed).
///
/// Panics if a buffer does not match its size or a size is zero: callers derive sizes from
/// the image they own.
pub fn resize_bilinear_exact(
    src: &[u8],
    sw: usize,
    sh: usize,
    dst: &mut [u8],
    dw: usize,
    dh: usize,
    scratch: &mut ResizeScratch,
) {
    assert!(sw > 0 && sh > 0 && dw > 0 && dh > 0, "empty image in resize");
    assert_eq!(src.len(), sw * sh, "source buffer does not match its size");
    assert_eq!(dst.len(), dw * dh, "destination buffer does not match its size");
    if sw == dw && sh == dh {
        dst.copy_from_slice(src);
        return;
    }
    taps(sw, dw, &mut scratch.x_taps);
    taps(sh, dh, &mut scratch.y_taps);
    for row in &mut scratch.rows {
        row.clear();
        row.resize(dw, 0);
    }
    scratch.row_index = [usize::MAX; 2];

    for (dy, ytap) in scratch.y_taps.iter().enumerate() {
        let want = [ytap.index, (ytap.index + 1).min(sh - 1)];
        // Consecutive destination rows mostly share source rows: reuse what is cached.
        for k in 0..2 {
            if scratch.row_index[k] == want[k] {
                continue;
            }
            if k == 0 && scratch.row_index[1] == want[0] {
                scratch.rows.swap(0, 1);
                scratch.row_index.swap(0, 1);
                continue;
            }
            horizontal(
                &src[want[k] * sw..(want[k] + 1) * sw],
                &scratch.x_taps,
                &mut scratch.rows[k],
            );
            scratch.row_index[k] = want[k];
        }
        let (w1, w0) = (ytap.weight as u32, 256 - ytap.weight as u32);
        let out = &mut dst[dy * dw..(dy + 1) * dw];
        for ((o, &a), &b) in out.iter_mut().zip(&scratch.rows[0]).zip(&scratch.rows[1]) {
            let v = a as u32 * w0 + b as u32 * w1;
            *o = ((v + (1 << 15)) >> 16).min(255) as u8;
        }
    }
}

fn horizontal(src: &[u8], taps: &[Tap], out: &mut [u16]) {
    let last = src.len() - 1;
    for (o, tap) in out.iter_mut().zip(taps) {
        let a = src[tap.index] as u16;
        let b = src[(tap.index + 1).min(last)] as u16;
        *o = a * (256 - tap.weight) + b * tap.weight;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_averages_two_by_two_blocks_with_rounding() {
        let src = [10u8, 20, 30, 41, 50, 60, 70, 80];
        let mut dst = [0u8; 2];
        resize_bilinear_exact(&src, 4, 2, &mut dst, 2, 1, &mut ResizeScratch::default());
        // (10+20+50+60+2)/4 = 35, (30+41+70+80+2)/4 = 55
        assert_eq!(dst, [35, 55]);
    }

    #[test]
    fn same_size_is_a_copy() {
        let src: Vec<u8> = (0..12).collect();
        let mut dst = vec![0u8; 12];
        resize_bilinear_exact(&src, 4, 3, &mut dst, 4, 3, &mut ResizeScratch::default());
        assert_eq!(dst, src);
    }
}
