//! dlib's aligned face chip: the square crop, rotated and scaled so the 5 landmarks fall on a
//! mean face, that dlib's face recognition network reads (`get_face_chip_details` and
//! `extract_image_chips`, `docs/dlib-formats.md` §4). Computed as dlib computes it, including
//! its image pyramid for large faces, so the chip's pixels are dlib's.

use super::{floor, Point, Similarity};
use crate::preprocess::Pixels;

/// The side and padding `face_recognition` (dlib's Python `compute_face_descriptor`) uses.
pub const RECOGNITION_SIZE: usize = 150;
pub const RECOGNITION_PADDING: f64 = 0.25;

/// Where dlib's 5 landmarks sit on an average face, in [0, 1] chip coordinates before padding.
const MEAN_FACE: [[f64; 2]; 5] = [
    [0.8595674595992, 0.2134981538014],
    [0.6460604764104, 0.2289674387677],
    [0.1205750620789, 0.2137274526848],
    [0.3340850613712, 0.2290642403242],
    [0.4901123135679, 0.6277975316475],
];

/// dlib's `chip_details`: the image rectangle the chip covers (before rotation), the rotation
/// in radians, and the chip's side in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChipDetails {
    /// left, top, right, bottom in image pixels (dlib's `drectangle`: right − left + 1 wide).
    pub rect: [f64; 4],
    pub angle: f64,
    pub size: usize,
}

/// Where to cut the chip for these landmarks: the similarity taking the padded mean face onto
/// them, reduced to dlib's rectangle and angle.
pub fn chip_details(landmarks: &[Point; 5], size: usize, padding: f64) -> ChipDetails {
    let side = size as f64;
    let chip_points = MEAN_FACE.map(|p| p.map(|v| (padding + v) / (2.0 * padding + 1.0) * side));
    let image_points = landmarks.map(|p| [p.x as f64, p.y as f64]);
    let t = Similarity::fit(&chip_points, &image_points);
    // T·(1, 0) = (a, b) carries the rotation and the scale; the translation goes into the
    // rectangle, centred on T(size/2, size/2).
    let angle = t.b.atan2(t.a);
    let scale = (t.a * t.a + t.b * t.b).sqrt();
    let [cx, cy] = t.apply([side / 2.0, side / 2.0]);
    let rect = DRect::centered(cx, cy, side * scale, side * scale);
    ChipDetails { rect: [rect.l, rect.t, rect.r, rect.b], angle, size }
}

/// The `size`×`size` chip, interleaved like `image` (RGB in, RGB out; gray in, gray out), as
/// dlib's `extract_image_chip` with bilinear interpolation cuts it: sampled from a
/// `pyramid_down<2>` level when the region is over about twice the chip's size, black where
/// the sample's 2×2 neighbourhood leaves the image, truncated to `u8`. One face at a time, as
/// `face_recognition` calls dlib (a batch call shares one working region between its faces,
/// which can change a chip).
pub fn extract_chip(image: Pixels, details: &ChipDetails) -> Vec<u8> {
    let image = View::whole(&image);
    let size = details.size;
    let mut chip = vec![0u8; size * size * image.channels];
    let rect = DRect::from(details.rect);
    if details.angle == 0.0 && rect.height() == size as f64 && rect.width() == size as f64 {
        copy_chip(&image, rect, size, &mut chip);
        return chip;
    }
    let chip_area = (size * size) as f64;
    let (depth, grow) = pyramid_depth(rect, chip_area);
    let bounds = working_region(rect, details.angle, grow, &image);
    let region = image.sub(bounds);
    let levels = pyramid(&region, depth);

    // The level to sample from, found again on the rectangle moved into the region's frame.
    let mut local = rect.translate(-bounds.l as f64, -bounds.t as f64);
    let mut level = 0;
    while local.down().area() > chip_area && level < MAX_LEVELS {
        level += 1;
        local = local.down();
    }
    let source = match level {
        0 => region,
        l => levels.get(l - 1).map_or(View::EMPTY, Plane::view),
    };
    let map = chip_to_source(local, details.angle, size);
    sample(&source, &map, size, &mut chip);
    chip
}

/// A bound on pyramid levels, far past any image (each level halves it), so that a
/// nonsensical rectangle cannot loop forever.
const MAX_LEVELS: usize = 64;

/// How many `pyramid_down<2>` levels the chip needs, and how far the working region must
/// reach past the rotated rectangle (2 pixels, doubled plus 2 per level, against the
/// filter's border effects).
fn pyramid_depth(rect: DRect, chip_area: f64) -> (usize, f64) {
    let (mut depth, mut grow) = (0, 2.0);
    let mut r = rect.down();
    while r.area() > chip_area && depth < MAX_LEVELS {
        r = r.down();
        depth += 1;
        grow = grow * 2.0 + 2.0;
    }
    (depth, grow)
}

/// The integer region of the image the chip can read: the rotated rectangle's bounding box,
/// grown by `grow`, clipped to the image, each side rounded half away from zero.
fn working_region(rect: DRect, angle: f64, grow: f64, image: &View) -> IRect {
    let centre = rect.center();
    let corners = [rect.tl(), rect.tr(), rect.bl(), rect.br()].map(|p| rotate(centre, p, angle));
    let xs = corners.map(|p| p[0]);
    let ys = corners.map(|p| p[1]);
    let fold = |v: [f64; 4], f: fn(f64, f64) -> f64| v.into_iter().reduce(f).unwrap_or(0.0);
    let rotated = DRect {
        l: fold(xs, f64::min),
        t: fold(ys, f64::min),
        r: fold(xs, f64::max),
        b: fold(ys, f64::max),
    };
    let frame = DRect { l: 0.0, t: 0.0, r: image.width as f64 - 1.0, b: image.height as f64 - 1.0 };
    let clipped = rotated.grow(grow).intersect(frame);
    let rounded = IRect {
        l: clipped.l.round() as i64,
        t: clipped.t.round() as i64,
        r: clipped.r.round() as i64,
        b: clipped.b.round() as i64,
    };
    // dlib adds the box to an empty rectangle, which keeps an empty one as (0, 0, −1, −1).
    if rounded.is_empty() {
        IRect { l: 0, t: 0, r: -1, b: -1 }
    } else {
        rounded
    }
}

/// `p` rotated by `angle` about `centre`, as dlib's `rotate_point`.
fn rotate(centre: [f64; 2], p: [f64; 2], angle: f64) -> [f64; 2] {
    let (sin, cos) = (angle.sin(), angle.cos());
    let (x, y) = (p[0] - centre[0], p[1] - centre[1]);
    [(cos * x - sin * y) + centre[0], (sin * x + cos * y) + centre[1]]
}

/// The affine taking chip pixel (col, row) to the source: chip corners (0,0), (size−1, 0),
/// (0, size−1) land on the rectangle's rotated top-left, top-right and bottom-left corners.
/// As [m00, m01, m10, m11, bx, by].
fn chip_to_source(rect: DRect, angle: f64, size: usize) -> [f64; 6] {
    let centre = rect.center();
    let [tl, tr, bl] = [rect.tl(), rect.tr(), rect.bl()].map(|p| rotate(centre, p, angle));
    if size < 2 {
        // One chip pixel: dlib's least-squares fit has no direction to fit and lands on the
        // corners' mean.
        let mean = |i: usize| (tl[i] + tr[i] + bl[i]) / 3.0;
        return [0.0, 0.0, 0.0, 0.0, mean(0), mean(1)];
    }
    let last = (size - 1) as f64;
    [
        (tr[0] - tl[0]) / last,
        (bl[0] - tl[0]) / last,
        (tr[1] - tl[1]) / last,
        (bl[1] - tl[1]) / last,
        tl[0],
        tl[1],
    ]
}

/// Every chip pixel by bilinear interpolation in `source`; black where it needs a pixel
/// outside.
fn sample(source: &View, map: &[f64; 6], size: usize, chip: &mut [u8]) {
    let channels = source.channels;
    if channels == 0 {
        return;
    }
    for (row, out_row) in chip.chunks_exact_mut(size * channels).enumerate() {
        for (col, out) in out_row.chunks_exact_mut(channels).enumerate() {
            let (c, r) = (col as f64, row as f64);
            let x = (map[0] * c + map[1] * r) + map[4];
            let y = (map[2] * c + map[3] * r) + map[5];
            bilinear(source, x, y, out);
        }
    }
}

/// dlib's `interpolate_bilinear`: the four neighbours weighted in `f64`, truncated; leaves
/// `out` black when a neighbour is outside `source`.
fn bilinear(source: &View, x: f64, y: f64, out: &mut [u8]) {
    let (left, top) = (floor(x), floor(y));
    let inside = |at: i64, len: usize| at >= 0 && at < len as i64 - 1;
    if !(inside(left, source.width) && inside(top, source.height)) {
        return;
    }
    let (tx, ty) = (x - left as f64, y - top as f64);
    let (upper, lower) = source.pixel_pairs(left as usize, top as usize);
    let c = out.len();
    for (i, o) in out.iter_mut().enumerate() {
        let [tl, tr, bl, br] = [upper[i], upper[c + i], lower[i], lower[c + i]].map(f64::from);
        let v = (1.0 - ty) * ((1.0 - tx) * tl + tx * tr) + ty * ((1.0 - tx) * bl + tx * br);
        *o = v as u8;
    }
}

/// dlib's fast path for a chip that is the rectangle itself (no rotation, scale 1): a plain
/// copy of the rounded rectangle, black outside the image.
fn copy_chip(image: &View, rect: DRect, size: usize, chip: &mut [u8]) {
    let (left, top) = (rect.l.round() as i64, rect.t.round() as i64);
    let channels = image.channels;
    for row in 0..size {
        for col in 0..size {
            let (x, y) = (left + col as i64, top + row as i64);
            let inside =
                (0..image.width as i64).contains(&x) && (0..image.height as i64).contains(&y);
            if inside {
                let out = (row * size + col) * channels;
                chip[out..out + channels].copy_from_slice(image.pixel(x as usize, y as usize));
            }
        }
    }
}

/// `depth` successive `pyramid_down<2>` levels of `region` (empty ones once it is too small).
fn pyramid(region: &View, depth: usize) -> Vec<Plane> {
    let mut levels: Vec<Plane> = Vec::with_capacity(depth.min(MAX_LEVELS));
    for _ in 0..depth {
        let next = match levels.last() {
            Some(prev) => pyramid_down(&prev.view()),
            None => pyramid_down(region),
        };
        levels.push(next);
    }
    levels
}

/// dlib's `pyramid_down<2>`: a 5-tap [1 4 6 4 1] filter across, then down, keeping every other
/// column and row, in integers, divided by 256 with truncation. The output is
/// ((h − 3)/2)×((w − 3)/2); an input of 8 rows or columns or fewer gives an empty image.
fn pyramid_down(src: &View) -> Plane {
    let channels = src.channels;
    if src.width <= 8 || src.height <= 8 || channels == 0 {
        return Plane { width: 0, height: 0, channels, data: Vec::new() };
    }
    let (out_w, out_h) = ((src.width - 3) / 2, (src.height - 3) / 2);
    let row_len = out_w * channels;
    // Horizontal pass on every input row: at most 16·255, so u16 as in dlib.
    let mut across = vec![0u16; src.height * row_len];
    for (y, acc_row) in across.chunks_exact_mut(row_len).enumerate() {
        let row = src.row(y);
        for (c, acc) in acc_row.chunks_exact_mut(channels).enumerate() {
            let taps = &row[2 * c * channels..(2 * c + 5) * channels];
            let (p0, rest) = taps.split_at(channels);
            let (p1, rest) = rest.split_at(channels);
            let (p2, rest) = rest.split_at(channels);
            let (p3, p4) = rest.split_at(channels);
            for (ch, a) in acc.iter_mut().enumerate() {
                let [v0, v1, v2, v3, v4] = [p0[ch], p1[ch], p2[ch], p3[ch], p4[ch]].map(u16::from);
                *a = v0 + 4 * v1 + 6 * v2 + 4 * v3 + v4;
            }
        }
    }
    // Vertical pass centred on rows 2, 4, …: at most 256·255, still u16.
    let mut data = vec![0u8; out_h * row_len];
    for (r, out_row) in data.chunks_exact_mut(row_len).enumerate() {
        let y = 2 * r + 2;
        let [r0, r1, r2, r3, r4] =
            [y - 2, y - 1, y, y + 1, y + 2].map(|i| &across[i * row_len..(i + 1) * row_len]);
        let columns = r0.iter().zip(r1).zip(r2).zip(r3).zip(r4);
        for (o, ((((v0, v1), v2), v3), v4)) in out_row.iter_mut().zip(columns) {
            *o = ((v0 + 4 * v1 + 6 * v2 + 4 * v3 + v4) / 256) as u8;
        }
    }
    Plane { width: out_w, height: out_h, channels, data }
}

/// An owned interleaved image (a pyramid level).
#[derive(Debug, Clone)]
struct Plane {
    width: usize,
    height: usize,
    channels: usize,
    data: Vec<u8>,
}

impl Plane {
    fn view(&self) -> View<'_> {
        View {
            data: &self.data,
            stride: self.width * self.channels,
            x0: 0,
            y0: 0,
            width: self.width,
            height: self.height,
            channels: self.channels,
        }
    }
}

/// A window onto interleaved pixels (dlib's `sub_image`), always inside its buffer.
#[derive(Debug, Clone, Copy)]
struct View<'a> {
    data: &'a [u8],
    /// Values per row of the buffer.
    stride: usize,
    x0: usize,
    y0: usize,
    width: usize,
    height: usize,
    channels: usize,
}

impl<'a> View<'a> {
    const EMPTY: View<'static> =
        View { data: &[], stride: 0, x0: 0, y0: 0, width: 0, height: 0, channels: 0 };

    /// The whole image, cut to the rows its buffer really holds.
    fn whole(p: &Pixels<'a>) -> View<'a> {
        let stride = p.width * p.channels;
        let height = p.data.len().checked_div(stride).map_or(0, |rows| rows.min(p.height));
        View { data: p.data, stride, x0: 0, y0: 0, width: p.width, height, channels: p.channels }
    }

    /// The part inside `r` (clipped to this view).
    fn sub(&self, r: IRect) -> View<'a> {
        let clip = |lo: i64, hi: i64, len: usize| {
            let lo = lo.clamp(0, len as i64) as usize;
            let hi = hi.saturating_add(1).clamp(lo as i64, len as i64) as usize;
            (lo, hi - lo)
        };
        let (x, width) = clip(r.l, r.r, self.width);
        let (y, height) = clip(r.t, r.b, self.height);
        View { x0: self.x0 + x, y0: self.y0 + y, width, height, ..*self }
    }

    /// Row `y` of the window, `width × channels` values.
    fn row(&self, y: usize) -> &'a [u8] {
        let start = (self.y0 + y) * self.stride + self.x0 * self.channels;
        &self.data[start..start + self.width * self.channels]
    }

    /// Pixels (x, y), (x+1, y) and (x, y+1), (x+1, y+1): two slices of two pixels each.
    fn pixel_pairs(&self, x: usize, y: usize) -> (&'a [u8], &'a [u8]) {
        let len = 2 * self.channels;
        let upper = (self.y0 + y) * self.stride + (self.x0 + x) * self.channels;
        let lower = upper + self.stride;
        (&self.data[upper..upper + len], &self.data[lower..lower + len])
    }

    fn pixel(&self, x: usize, y: usize) -> &'a [u8] {
        let start = (self.y0 + y) * self.stride + (self.x0 + x) * self.channels;
        &self.data[start..start + self.channels]
    }
}

/// dlib's `rectangle`: inclusive integer bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IRect {
    l: i64,
    t: i64,
    r: i64,
    b: i64,
}

impl IRect {
    fn is_empty(&self) -> bool {
        self.l > self.r || self.t > self.b
    }
}

/// dlib's `drectangle`: real bounds, `r − l + 1` wide.
#[derive(Debug, Clone, Copy, PartialEq)]
struct DRect {
    l: f64,
    t: f64,
    r: f64,
    b: f64,
}

impl From<[f64; 4]> for DRect {
    fn from([l, t, r, b]: [f64; 4]) -> DRect {
        DRect { l, t, r, b }
    }
}

impl DRect {
    /// dlib's `centered_drect`: `width` and `height` count pixels, so the bounds are
    /// (width − 1)/2 from the centre.
    fn centered(cx: f64, cy: f64, width: f64, height: f64) -> DRect {
        let (w, h) = (width - 1.0, height - 1.0);
        DRect { l: cx - w / 2.0, t: cy - h / 2.0, r: cx + w / 2.0, b: cy + h / 2.0 }
    }

    fn is_empty(&self) -> bool {
        self.t > self.b || self.l > self.r
    }

    fn width(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.r - self.l + 1.0
        }
    }

    fn height(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.b - self.t + 1.0
        }
    }

    fn area(&self) -> f64 {
        self.width() * self.height()
    }

    fn center(&self) -> [f64; 2] {
        [(self.l + self.r) / 2.0, (self.t + self.b) / 2.0]
    }

    fn tl(&self) -> [f64; 2] {
        [self.l, self.t]
    }

    fn tr(&self) -> [f64; 2] {
        [self.r, self.t]
    }

    fn bl(&self) -> [f64; 2] {
        [self.l, self.b]
    }

    fn br(&self) -> [f64; 2] {
        [self.r, self.b]
    }

    /// `pyramid_down<2>::rect_down`: both corners through p/2 − (1.25, 0.75), dlib's own
    /// (not quite centred) map of the filter's output grid.
    fn down(&self) -> DRect {
        DRect {
            l: self.l / 2.0 - 1.25,
            t: self.t / 2.0 - 0.75,
            r: self.r / 2.0 - 1.25,
            b: self.b / 2.0 - 0.75,
        }
    }

    fn translate(&self, dx: f64, dy: f64) -> DRect {
        DRect { l: self.l + dx, t: self.t + dy, r: self.r + dx, b: self.b + dy }
    }

    fn grow(&self, g: f64) -> DRect {
        DRect { l: self.l - g, t: self.t - g, r: self.r + g, b: self.b + g }
    }

    fn intersect(&self, o: DRect) -> DRect {
        DRect { l: self.l.max(o.l), t: self.t.max(o.t), r: self.r.min(o.r), b: self.b.min(o.b) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray(width: usize, height: usize, data: &[u8]) -> Pixels<'_> {
        Pixels { width, height, channels: 1, data }
    }

    #[test]
    fn pyramid_down_is_a_truncated_1_4_6_4_1_filter_on_every_other_pixel() {
        let mut data = vec![0u8; 9 * 10];
        data[4 * 10 + 4] = 255;
        let down = pyramid_down(&View::whole(&gray(10, 9, &data)));
        assert_eq!((down.width, down.height), (3, 3));
        // Output (c, r) is centred on input (2c + 2, 2r + 2): the centre weighs 6·6/256 of the
        // impulse (35.9), its neighbours 6/256 (5.98), the corners 1/256, all truncated.
        assert_eq!(down.data, [0, 5, 0, 5, 35, 5, 0, 5, 0]);
        let flat = vec![77u8; 20 * 20 * 3];
        let rgb = Pixels { width: 20, height: 20, channels: 3, data: &flat };
        let down = pyramid_down(&View::whole(&rgb));
        assert_eq!((down.width, down.height, down.channels), (8, 8, 3));
        assert!(down.data.iter().all(|&v| v == 77));
        assert_eq!(pyramid_down(&View::whole(&gray(8, 20, &[0; 160]))).data.len(), 0);
    }

    #[test]
    fn bilinear_needs_all_four_neighbours() {
        let data = [0u8, 100, 200, 50];
        let image = gray(2, 2, &data);
        let view = View::whole(&image);
        let mut out = [9u8];
        bilinear(&view, 0.0, 0.0, &mut out);
        assert_eq!(out, [0]);
        bilinear(&view, 0.5, 0.5, &mut out);
        assert_eq!(out, [87]); // 87.5, truncated
        let mut out = [9u8];
        bilinear(&view, 1.0, 0.0, &mut out);
        assert_eq!(out, [9], "x + 1 is outside: left untouched (black in a fresh chip)");
        bilinear(&view, -0.1, 0.0, &mut out);
        assert_eq!(out, [9]);
    }

    #[test]
    fn rect_down_uses_dlibs_offsets() {
        let r = DRect { l: 10.0, t: 10.0, r: 109.0, b: 109.0 }.down();
        assert_eq!(r, DRect { l: 3.75, t: 4.25, r: 53.25, b: 53.75 });
        assert_eq!(DRect { l: 0.0, t: 0.0, r: 99.0, b: 49.0 }.area(), 5000.0);
        assert_eq!(DRect { l: 1.0, t: 0.0, r: 0.0, b: 49.0 }.area(), 0.0);
    }

    #[test]
    fn details_follow_a_turned_and_scaled_face() {
        // The padded mean face, doubled, turned by 0.3 rad and moved: the fit recovers it up
        // to the rounding of the landmarks to pixels.
        let (scale, angle) = (2.0f64, 0.3f64);
        let landmarks = MEAN_FACE.map(|[x, y]| {
            let (x, y) = ((0.25 + x) / 1.5 * 150.0, (0.25 + y) / 1.5 * 150.0);
            let (x, y) = (scale * x, scale * y);
            let (u, v) = (angle.cos() * x - angle.sin() * y, angle.sin() * x + angle.cos() * y);
            Point { x: (u + 400.0).round() as i64, y: (v + 100.0).round() as i64 }
        });
        let d = chip_details(&landmarks, 150, 0.25);
        assert!((d.angle - angle).abs() < 0.01, "{d:?}");
        let width = d.rect[2] - d.rect[0] + 1.0;
        assert!((width - 300.0).abs() < 2.0, "{d:?}");
        assert!((d.rect[3] - d.rect[1] - (d.rect[2] - d.rect[0])).abs() < 1e-9, "square: {d:?}");
    }

    #[test]
    fn an_unrotated_unscaled_chip_is_a_plain_copy() {
        let data: Vec<u8> = (0..=255).collect();
        let image = gray(16, 16, &data);
        let details = ChipDetails { rect: [-1.0, 2.0, 2.0, 5.0], angle: 0.0, size: 4 };
        let chip = extract_chip(image, &details);
        assert_eq!(chip, [0, 32, 33, 34, 0, 48, 49, 50, 0, 64, 65, 66, 0, 80, 81, 82]);
    }

    #[test]
    fn chips_keep_the_channels_and_go_black_off_the_image() {
        let data: Vec<u8> = (0..40 * 40).flat_map(|i| [(i % 251) as u8, 7, 200]).collect();
        let image = Pixels { width: 40, height: 40, channels: 3, data: &data };
        // Half a pixel off the fast path, hanging over the left edge.
        let details = ChipDetails { rect: [-10.5, 10.0, 9.0, 29.5], angle: 0.0, size: 20 };
        let chip = extract_chip(image, &details);
        assert_eq!(chip.len(), 20 * 20 * 3);
        assert_eq!(&chip[..3], [0, 0, 0]);
        let last = &chip[chip.len() - 3..];
        assert_eq!(&last[1..], [7, 200]);
        // A box entirely off the image, or a degenerate one, gives a black chip, no panic.
        let away = ChipDetails { rect: [500.0, 500.0, 600.0, 600.0], angle: 0.5, size: 20 };
        assert!(extract_chip(image, &away).iter().all(|&v| v == 0));
        let nan = ChipDetails { rect: [f64::NAN; 4], angle: f64::NAN, size: 8 };
        assert_eq!(extract_chip(image, &nan).len(), 8 * 8 * 3);
        let huge = ChipDetails { rect: [-1e300, -1e300, 1e300, 1e300], angle: 1.0, size: 8 };
        assert_eq!(extract_chip(image, &huge).len(), 8 * 8 * 3);
    }
}
