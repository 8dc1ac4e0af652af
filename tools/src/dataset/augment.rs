//! Random distortions applied to training samples before the shared preprocessing.
//!
//! Every draw comes from [`Rng`] seeded by (run seed, epoch, sample index), so a sample is
//! distorted the same way whichever worker thread handles it, and `--resume` replays the same
//! stream. Characters are never mirrored (a mirrored 部 is not 部); faces and generic images are.

use super::Image;

/// SplitMix64: tiny, fast, and fixed forever (a crate's generator may change between
/// releases, which would silently change "deterministic" runs).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// A generator for one (seed, epoch, sample) triple.
    pub fn for_sample(seed: u64, epoch: u64, index: u64) -> Rng {
        let mut rng = Rng(seed ^ epoch.wrapping_mul(0xa076_1d64_78bd_642f));
        rng.0 ^= index.wrapping_mul(0xe703_7ed1_a0b4_28db);
        rng.next_u64();
        rng
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    pub fn range(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.unit()
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 11) as u128 * n as u128) >> 53) as usize
    }

    pub fn chance(&mut self, p: f32) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.unit().max(1e-7);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// Which distortions a task's training samples get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Augment {
    /// Validation and export: the sample as it is.
    None,
    /// Faces: pose, mirror, light, camera resolution, sensor noise.
    Face,
    /// Handwriting: rotation, shear, scale, stroke width, blur, noise; paper stays white.
    Character,
    /// Generic photos: pose, mirror, light.
    Photo,
    /// Printed or written text lines: slight slant and rotation, blur, light, noise; never
    /// mirrored, edges kept so the paper shade continues.
    TextLine,
}

impl Augment {
    pub fn apply(self, image: &Image, rng: &mut Rng) -> Image {
        match self {
            Augment::None => image.clone(),
            Augment::Face => {
                let affine = Affine::random(rng, 10.0, 0.0, (0.9, 1.1), 0.06, true);
                let mut out = warp(image, &affine, None);
                light(&mut out, rng, 30.0, (0.7, 1.3));
                if rng.chance(0.5) {
                    let side = rng.range(16.0, 48.0) as usize;
                    out = resolution_drop(&out, side);
                }
                let sigma = rng.range(0.0, 6.0);
                noise(&mut out, rng, sigma);
                out
            }
            Augment::Character => {
                let affine = Affine::random(rng, 8.0, 0.2, (0.85, 1.1), 0.05, false);
                let mut out = warp(image, &affine, Some(255));
                match rng.below(4) {
                    0 => out = min_filter(&out),
                    1 => out = max_filter(&out),
                    _ => {}
                }
                if rng.chance(0.3) {
                    out = box_blur(&out);
                }
                let sigma = rng.range(0.0, 8.0);
                noise(&mut out, rng, sigma);
                out
            }
            Augment::TextLine => {
                let affine = Affine::random(rng, 3.0, 0.25, (0.95, 1.05), 0.02, false);
                let mut out = warp(image, &affine, None);
                if rng.chance(0.3) {
                    out = box_blur(&out);
                }
                light(&mut out, rng, 20.0, (0.8, 1.2));
                let sigma = rng.range(0.0, 10.0);
                noise(&mut out, rng, sigma);
                out
            }
            Augment::Photo => {
                let affine = Affine::random(rng, 8.0, 0.0, (0.9, 1.1), 0.05, true);
                let mut out = warp(image, &affine, None);
                light(&mut out, rng, 20.0, (0.8, 1.2));
                out
            }
        }
    }
}

/// Output → input mapping around the image centre: `src = m · (dst − c) + c + shift`.
#[derive(Debug, Clone, Copy)]
struct Affine {
    m: [[f32; 2]; 2],
    shift: [f32; 2],
}

impl Affine {
    fn random(
        rng: &mut Rng,
        degrees: f32,
        shear: f32,
        scale: (f32, f32),
        shift: f32,
        mirror: bool,
    ) -> Affine {
        let angle = rng.range(-degrees, degrees).to_radians();
        let shear = rng.range(-shear, shear);
        // Sampling with 1/scale enlarges the content by `scale`.
        let s = 1.0 / rng.range(scale.0, scale.1);
        let flip = if mirror && rng.chance(0.5) { -1.0 } else { 1.0 };
        let (sin, cos) = angle.sin_cos();
        let m =
            [[s * cos * flip, s * (-sin + shear * cos)], [s * sin * flip, s * (cos + shear * sin)]];
        Affine { m, shift: [rng.range(-shift, shift), rng.range(-shift, shift)] }
    }
}

/// Bilinear resampling through `affine`; outside the image either `fill` or the nearest edge.
fn warp(image: &Image, affine: &Affine, fill: Option<u8>) -> Image {
    let (w, h, ch) = (image.width, image.height, image.channels);
    let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
    let (sx, sy) = (affine.shift[0] * w as f32, affine.shift[1] * h as f32);
    let mut data = Vec::with_capacity(image.data.len());
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            let u = affine.m[0][0] * dx + affine.m[0][1] * dy + cx + sx;
            let v = affine.m[1][0] * dx + affine.m[1][1] * dy + cy + sy;
            for c in 0..ch {
                data.push(sample_bilinear(image, u, v, c, fill));
            }
        }
    }
    Image { width: w, height: h, channels: ch, data }
}

pub(crate) fn sample_bilinear(image: &Image, u: f32, v: f32, c: usize, fill: Option<u8>) -> u8 {
    let (w, h) = (image.width as i64, image.height as i64);
    let at = |x: i64, y: i64| -> f32 {
        if let (Some(paper), false) = (fill, (0..w).contains(&x) && (0..h).contains(&y)) {
            return paper as f32;
        }
        let (x, y) = (x.clamp(0, w - 1) as usize, y.clamp(0, h - 1) as usize);
        image.data[(y * image.width + x) * image.channels + c] as f32
    };
    let (x0, y0) = (u.floor(), v.floor());
    let (fx, fy) = (u - x0, v - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
    let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
    (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8
}

fn light(image: &mut Image, rng: &mut Rng, brightness: f32, contrast: (f32, f32)) {
    let b = rng.range(-brightness, brightness);
    let k = rng.range(contrast.0, contrast.1);
    for p in &mut image.data {
        *p = ((*p as f32 - 128.0) * k + 128.0 + b).round().clamp(0.0, 255.0) as u8;
    }
}

fn noise(image: &mut Image, rng: &mut Rng, sigma: f32) {
    if sigma < 0.5 {
        return;
    }
    for p in &mut image.data {
        *p = (*p as f32 + sigma * rng.normal()).round().clamp(0.0, 255.0) as u8;
    }
}

/// Down to `side` pixels on the longer edge and back: a far-away or low-resolution camera.
fn resolution_drop(image: &Image, side: usize) -> Image {
    let longer = image.width.max(image.height);
    if side >= longer {
        return image.clone();
    }
    let (sw, sh) = ((image.width * side / longer).max(1), (image.height * side / longer).max(1));
    let small = resize_area(image, sw, sh);
    // Bilinear upsampling of the small image back to the original size.
    let sx = sw as f32 / image.width as f32;
    let sy = sh as f32 / image.height as f32;
    let mut data = Vec::with_capacity(image.data.len());
    for y in 0..image.height {
        for x in 0..image.width {
            let u = (x as f32 + 0.5) * sx - 0.5;
            let v = (y as f32 + 0.5) * sy - 0.5;
            for c in 0..image.channels {
                data.push(sample_bilinear(&small, u, v, c, None));
            }
        }
    }
    Image { width: image.width, height: image.height, channels: image.channels, data }
}

/// Box-average downscale (each output pixel = mean of the input pixels it covers).
fn resize_area(image: &Image, w: usize, h: usize) -> Image {
    let ch = image.channels;
    let mut data = Vec::with_capacity(w * h * ch);
    for y in 0..h {
        let (y0, y1) =
            (y * image.height / h, ((y + 1) * image.height / h).max(y * image.height / h + 1));
        for x in 0..w {
            let (x0, x1) =
                (x * image.width / w, ((x + 1) * image.width / w).max(x * image.width / w + 1));
            for c in 0..ch {
                let mut sum = 0u32;
                for yy in y0..y1 {
                    for xx in x0..x1 {
                        sum += image.data[(yy * image.width + xx) * ch + c] as u32;
                    }
                }
                data.push((sum / ((y1 - y0) * (x1 - x0)) as u32) as u8);
            }
        }
    }
    Image { width: w, height: h, channels: ch, data }
}

/// 3×3 neighbourhood filter: `pick` chooses among the nine values (edges replicated).
fn filter3(image: &Image, pick: impl Fn(&[u8; 9]) -> u8) -> Image {
    let (w, h, ch) = (image.width as i64, image.height as i64, image.channels);
    let mut data = Vec::with_capacity(image.data.len());
    let mut window = [0u8; 9];
    for y in 0..h {
        for x in 0..w {
            for c in 0..ch {
                let mut k = 0;
                for dy in -1..=1 {
                    for dx in -1..=1 {
                        let (xx, yy) = ((x + dx).clamp(0, w - 1), (y + dy).clamp(0, h - 1));
                        window[k] = image.data[(yy as usize * image.width + xx as usize) * ch + c];
                        k += 1;
                    }
                }
                data.push(pick(&window));
            }
        }
    }
    Image { width: image.width, height: image.height, channels: ch, data }
}

/// Dark ink on white: the minimum thickens strokes.
pub(crate) fn min_filter(image: &Image) -> Image {
    filter3(image, |w| *w.iter().min().unwrap_or(&255))
}

/// The maximum thins strokes.
fn max_filter(image: &Image) -> Image {
    filter3(image, |w| *w.iter().max().unwrap_or(&0))
}

pub(crate) fn box_blur(image: &Image) -> Image {
    filter3(image, |w| (w.iter().map(|&v| v as u32).sum::<u32>() / 9) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(channels: usize) -> Image {
        let (width, height) = (20, 16);
        let data = (0..width * height * channels).map(|i| (i * 7 % 251) as u8).collect();
        Image { width, height, channels, data }
    }

    #[test]
    fn same_seed_same_distortion_whatever_the_order() {
        let image = gradient(3);
        for kind in [Augment::Face, Augment::Character, Augment::Photo, Augment::TextLine] {
            let a = kind.apply(&image, &mut Rng::for_sample(7, 2, 11));
            let _other = kind.apply(&image, &mut Rng::for_sample(7, 2, 12));
            let b = kind.apply(&image, &mut Rng::for_sample(7, 2, 11));
            assert_eq!(a, b, "{kind:?}");
            let c = kind.apply(&image, &mut Rng::for_sample(7, 3, 11));
            assert_ne!(a, c, "{kind:?}: another epoch must draw another distortion");
        }
    }

    #[test]
    fn none_is_the_identity_and_shapes_are_kept() {
        let image = gradient(1);
        assert_eq!(Augment::None.apply(&image, &mut Rng::new(1)), image);
        let out = Augment::Character.apply(&image, &mut Rng::new(1));
        assert_eq!((out.width, out.height, out.channels, out.data.len()), (20, 16, 1, 320));
    }

    #[test]
    fn characters_keep_white_paper_at_the_border() {
        // A blank page with one ink dot in the middle stays white at the corners.
        let mut data = vec![255u8; 32 * 32];
        data[16 * 32 + 16] = 0;
        let image = Image { width: 32, height: 32, channels: 1, data };
        for i in 0..20 {
            let out = Augment::Character.apply(&image, &mut Rng::for_sample(1, 0, i));
            assert!(out.data[0] > 200 && out.data[32 * 32 - 1] > 200, "sample {i}");
        }
    }

    #[test]
    fn rng_is_uniform_enough_and_shuffle_is_a_permutation() {
        let mut rng = Rng::new(3);
        let mean: f32 = (0..10_000).map(|_| rng.unit()).sum::<f32>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
        let mut items: Vec<usize> = (0..100).collect();
        rng.shuffle(&mut items);
        assert_ne!(items, (0..100).collect::<Vec<_>>());
        items.sort();
        assert_eq!(items, (0..100).collect::<Vec<_>>());
    }
}
