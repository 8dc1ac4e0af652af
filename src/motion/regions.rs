//! Where the cascade should look on a frame with motion: each moving blob grown so a face at
//! its edge is whole inside, then overlapping ones merged, so no window is scanned twice.

use lookout_vision::cascade::Rect;

/// Grows each rectangle by `margin(rect)` on every side, clips it to the frame and merges
/// rectangles that overlap until none do.
pub fn grow_and_merge(
    moving: &[Rect],
    frame_width: u32,
    frame_height: u32,
    margin: impl Fn(&Rect) -> i32,
) -> Vec<Rect> {
    let (fw, fh) = (frame_width as i32, frame_height as i32);
    let mut out: Vec<Rect> = moving
        .iter()
        .map(|r| {
            let m = margin(r);
            let (x0, y0) = ((r.x - m).max(0), (r.y - m).max(0));
            let (x1, y1) = ((r.x + r.width + m).min(fw), (r.y + r.height + m).min(fh));
            Rect { x: x0, y: y0, width: (x1 - x0).max(0), height: (y1 - y0).max(0) }
        })
        .filter(|r| r.width > 0 && r.height > 0)
        .collect();
    // Few regions per frame: the quadratic merge is cheaper than anything cleverer.
    let mut merged = true;
    while merged {
        merged = false;
        'outer: for i in 0..out.len() {
            for j in i + 1..out.len() {
                if overlap(&out[i], &out[j]) {
                    let b = out.swap_remove(j);
                    out[i] = union(&out[i], &b);
                    merged = true;
                    break 'outer;
                }
            }
        }
    }
    out
}

fn overlap(a: &Rect, b: &Rect) -> bool {
    a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
}

fn union(a: &Rect, b: &Rect) -> Rect {
    let (x0, y0) = (a.x.min(b.x), a.y.min(b.y));
    let (x1, y1) = ((a.x + a.width).max(b.x + b.width), (a.y + a.height).max(b.y + b.height));
    Rect { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }
}

/// The area of `rects`, which do not overlap.
pub fn area(rects: &[Rect]) -> i64 {
    rects.iter().map(|r| r.width as i64 * r.height as i64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(x: i32, y: i32, width: i32, height: i32) -> Rect {
        Rect { x, y, width, height }
    }

    #[test]
    fn grown_regions_are_clipped_and_overlapping_ones_merged() {
        let moving = [rect(0, 0, 10, 10), rect(25, 0, 10, 10), rect(100, 100, 5, 5)];
        let out = grow_and_merge(&moving, 120, 110, |_| 8);
        // The first two touch after growing (0..18 and 17..43); the third is clipped.
        assert_eq!(out, [rect(0, 0, 43, 18), rect(92, 92, 21, 18)]);
        assert_eq!(area(&out), 43 * 18 + 21 * 18);
    }

    #[test]
    fn a_merge_that_reaches_a_third_region_merges_it_too() {
        let moving = [rect(0, 0, 10, 10), rect(30, 0, 10, 10), rect(15, 30, 10, 10)];
        let out = grow_and_merge(&moving, 100, 100, |_| 12);
        assert_eq!(out.len(), 1, "{out:?}");
    }
}
