//! Integral images (summed-area tables) of an 8-bit image, in one reusable buffer.
//!
//! The buffer holds up to three planes of `(w + 1) × (h + 1)` i32 values with the same stride:
//! the sum, the sum of squares and the 45°-tilted sum. Keeping them together lets a feature be
//! described by offsets from the window's top-left corner, whichever plane it reads.
//!
//! The squared sum is kept modulo 2³² exactly like OpenCV's `CV_32S` sqsum: a full-size table
//! overflows on large images, but a window's sum of squares (at most 255² per pixel of a small
//! window) does not, and differences taken with wrapping arithmetic are exact.

/// Where each plane starts in [`Integrals::data`] and the row stride shared by all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Layout {
    pub stride: usize,
    pub sqsum: usize,
    /// Offset of the tilted plane; `None` when it was not computed.
    pub tilted: Option<usize>,
}

/// Reusable storage for the integral planes of one image.
#[derive(Debug, Default, Clone)]
pub struct Integrals {
    pub data: Vec<i32>,
    pub layout: Layout,
    /// Scratch rows for the tilted recurrence, kept to avoid allocating per image.
    tilted_rows: Vec<i32>,
}

impl Integrals {
    /// Computes the planes of `pixels` (`width × height`, packed). `squares` and `tilted` select
    /// the optional planes; the buffer is reused when large enough.
    pub fn compute(
        &mut self,
        pixels: &[u8],
        width: usize,
        height: usize,
        squares: bool,
        tilted: bool,
    ) {
        assert_eq!(pixels.len(), width * height, "pixel buffer does not match its size");
        let stride = width + 1;
        let plane = stride * (height + 1);
        let sqsum = if squares { plane } else { 0 };
        let tilted_at = tilted.then_some(plane * (1 + squares as usize));
        let total = plane * (1 + squares as usize + tilted as usize);
        self.data.clear();
        self.data.resize(total, 0);
        self.layout = Layout { stride, sqsum, tilted: tilted_at };

        let (sum_plane, rest) = self.data.split_at_mut(plane);
        let (sq_plane, tilted_plane) = rest.split_at_mut(if squares { plane } else { 0 });
        sums(pixels, width, height, sum_plane, squares.then_some(sq_plane));
        if tilted {
            tilted_sums(pixels, width, height, tilted_plane, &mut self.tilted_rows);
        }
    }
}

fn sums(pixels: &[u8], width: usize, height: usize, sum: &mut [i32], mut sq: Option<&mut [i32]>) {
    let stride = width + 1;
    for y in 0..height {
        let src = &pixels[y * width..(y + 1) * width];
        let (above, below) = sum.split_at_mut((y + 1) * stride);
        let prev = &above[y * stride..];
        let cur = &mut below[..stride];
        let mut row = 0i32;
        for x in 0..width {
            row += src[x] as i32;
            cur[x + 1] = prev[x + 1] + row;
        }
        if let Some(sq) = sq.as_deref_mut() {
            let (above, below) = sq.split_at_mut((y + 1) * stride);
            let prev = &above[y * stride..];
            let cur = &mut below[..stride];
            let mut row = 0u32;
            for x in 0..width {
                let v = src[x] as u32;
                row = row.wrapping_add(v * v);
                cur[x + 1] = (prev[x + 1] as u32).wrapping_add(row) as i32;
            }
        }
    }
}

/// Fills the tilted table: `T(X, Y)` is the sum of pixels `(x, y)` with `y < Y` and
/// `|x - X + 1| <= Y - y - 1`, a triangle with its apex at `(X - 1, Y - 1)` opening upwards.
///
/// The recurrence `T(X,Y) = T(X-1,Y-1) + T(X+1,Y-1) - T(X,Y-2) + I(X-1,Y-1) + I(X-1,Y-2)`
/// needs columns outside `0..=W` (triangles centred beside the image still cover pixels), so it
/// runs on rows widened by `H + 1` columns on each side, of which only the inner part is kept.
fn tilted_sums(pixels: &[u8], width: usize, height: usize, out: &mut [i32], rows: &mut Vec<i32>) {
    let stride = width + 1;
    let pad = height + 1;
    let wide = stride + 2 * pad;
    rows.clear();
    rows.resize(3 * wide, 0);
    let pixel = |x: isize, y: usize| -> i32 {
        if x >= 0 && (x as usize) < width {
            pixels[y * width + x as usize] as i32
        } else {
            0
        }
    };
    // Rolling rows: Y-2, Y-1 and Y. Row 0 of the table is all zero.
    for y in 1..=height {
        let (r2, rest) = rows.split_at_mut(wide);
        let (r1, r0) = rest.split_at_mut(wide);
        for c in 0..wide {
            // Column c of the widened row is table column X = c - pad.
            let x = c as isize - pad as isize;
            let left = if c > 0 { r1[c - 1] } else { 0 };
            let right = if c + 1 < wide { r1[c + 1] } else { 0 };
            let mut v = left + right - r2[c] + pixel(x - 1, y - 1);
            if y >= 2 {
                v += pixel(x - 1, y - 2);
            }
            r0[c] = v;
        }
        out[y * stride..(y + 1) * stride].copy_from_slice(&r0[pad..pad + stride]);
        rows.rotate_left(wide);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(width: usize, height: usize, seed: u32) -> Vec<u8> {
        let mut state = seed;
        (0..width * height)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 24) as u8
            })
            .collect()
    }

    fn tilted_by_definition(pixels: &[u8], width: usize, x: usize, y: usize) -> i32 {
        let mut total = 0;
        for py in 0..y {
            for px in 0..width {
                if (px as isize - x as isize + 1).abs() < (y - py) as isize {
                    total += pixels[py * width + px] as i32;
                }
            }
        }
        total
    }

    #[test]
    fn planes_match_their_definitions() {
        let (w, h) = (13, 9);
        let px = image(w, h, 7);
        let mut ii = Integrals::default();
        ii.compute(&px, w, h, true, true);
        let l = ii.layout;
        for y in 0..=h {
            for x in 0..=w {
                let mut s = 0;
                let mut sq = 0u32;
                for py in 0..y {
                    for pxx in 0..x {
                        let v = px[py * w + pxx] as i32;
                        s += v;
                        sq += (v * v) as u32;
                    }
                }
                let at = y * l.stride + x;
                assert_eq!(ii.data[at], s, "sum at {x},{y}");
                assert_eq!(ii.data[l.sqsum + at] as u32, sq, "sqsum at {x},{y}");
                let t = tilted_by_definition(&px, w, x, y);
                assert_eq!(ii.data[l.tilted.unwrap() + at], t, "tilted at {x},{y}");
            }
        }
    }

    #[test]
    fn squared_sum_wraps_like_opencv_but_window_sums_stay_exact() {
        // 300×300 of 255 overflows 2^31 in the corner of the squared table.
        let (w, h) = (300, 300);
        let px = vec![255u8; w * h];
        let mut ii = Integrals::default();
        ii.compute(&px, w, h, true, false);
        let l = ii.layout;
        let at = |x: usize, y: usize| ii.data[l.sqsum + y * l.stride + x] as u32;
        let (x0, y0, x1, y1) = (250, 260, 274, 284);
        let window =
            at(x1, y1).wrapping_sub(at(x0, y1)).wrapping_sub(at(x1, y0)).wrapping_add(at(x0, y0));
        assert_eq!(window, 24 * 24 * 255 * 255);
    }
}
