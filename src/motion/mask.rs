//! Masks: polygons in frame pixels where motion does not count, turned into the set of the
//! gate picture's pixels that are watched.

/// For a `width`×`height` gate picture of a `frame_width`×`frame_height` frame: whether each
/// pixel is watched, i.e. its centre lies outside every polygon (even-odd rule, so a polygon
/// may be concave). Row-major.
pub fn watched(
    polygons: &[Vec<[i32; 2]>],
    frame_width: u32,
    frame_height: u32,
    width: usize,
    height: usize,
) -> Vec<bool> {
    let sx = frame_width as f64 / width.max(1) as f64;
    let sy = frame_height as f64 / height.max(1) as f64;
    let mut out = Vec::with_capacity(width * height);
    for y in 0..height {
        let fy = (y as f64 + 0.5) * sy;
        for x in 0..width {
            let fx = (x as f64 + 0.5) * sx;
            out.push(!polygons.iter().any(|p| inside(p, fx, fy)));
        }
    }
    out
}

/// Even-odd point-in-polygon test: a ray to the right crosses the edges an odd number of times.
fn inside(polygon: &[[i32; 2]], x: f64, y: f64) -> bool {
    let mut result = false;
    let mut j = polygon.len().wrapping_sub(1);
    for (i, a) in polygon.iter().enumerate() {
        let b = polygon[j];
        let (ax, ay, bx, by) = (a[0] as f64, a[1] as f64, b[0] as f64, b[1] as f64);
        if (ay > y) != (by > y) && x < ax + (y - ay) * (bx - ax) / (by - ay) {
            result = !result;
        }
        j = i;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rectangle_and_a_triangle_mask_the_pixels_under_them() {
        // A 40x20 frame seen as 4x2: each gate pixel covers 10x10 frame pixels.
        let rect = vec![[0, 0], [20, 0], [20, 10], [0, 10]];
        let w = watched(&[rect], 40, 20, 4, 2);
        assert_eq!(w, [false, false, true, true, true, true, true, true]);
        // A triangle covering the right column's centres only (35, 5) and (35, 15).
        let triangle = vec![[30, 0], [40, 0], [40, 20]];
        let w = watched(&[triangle], 40, 20, 4, 2);
        assert_eq!(w.iter().filter(|&&v| !v).count(), 1);
        assert!(!w[3]);
    }

    #[test]
    fn no_polygons_watch_everything() {
        assert!(watched(&[], 640, 480, 160, 120).iter().all(|&v| v));
    }
}
