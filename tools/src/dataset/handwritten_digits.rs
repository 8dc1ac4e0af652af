//! Digit strings written by hand: real MNIST digits composed into a line the way a phone or a
//! Pi camera sees a line of writing. Each digit keeps its writer's shape; the composer adds what
//! a line has and a single digit has not: uneven spacing (touching and overlapping digits),
//! size changes and a wandering baseline, slant, ink and paper shades with uneven light, focus
//! blur and sensor noise. Sample `i` is a pure function of `(seed, i)`.
//!
//! MNIST's test set never enters training: [`HandwrittenDigits::training`] opens only the
//! `train-*` files by name, and the `t10k-*` files are opened only by the evaluation
//! constructors ([`HandwrittenDigits::test_strings`], [`HandwrittenDigits::test_digits`]).

use std::path::Path;

use super::augment::{box_blur, sample_bilinear, Rng};
use super::digits::MAX_DIGITS;
use super::idx::Digits;
use super::{DatasetError, Image, Sample, Source};

pub const TRAIN_IMAGES: &str = "train-images.idx3-ubyte";
pub const TRAIN_LABELS: &str = "train-labels.idx1-ubyte";
pub const TEST_IMAGES: &str = "t10k-images.idx3-ubyte";
pub const TEST_LABELS: &str = "t10k-labels.idx1-ubyte";

/// The seed of the evaluation strings: fixed, so every model is measured on the same lines.
const TEST_SEED: u64 = 0x0007_e57d_1617;

/// Pixels of an MNIST digit that count as ink when cropping (0-255, ink is bright there).
const INK: u8 = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Composed lines of 1 to [`MAX_DIGITS`] random digits.
    Strings,
    /// Digit `i` alone, dark on white, centred on a 4:1 line: MNIST's own test, one at a time.
    Singles,
}

pub struct HandwrittenDigits {
    digits: Digits,
    count: usize,
    seed: u64,
    mode: Mode,
    labels: Vec<String>,
}

fn read(dir: &Path, images: &str, labels: &str) -> Result<Digits, DatasetError> {
    Ok(Digits::read(&dir.join(images), &dir.join(labels))?)
}

impl HandwrittenDigits {
    fn new(digits: Digits, count: usize, seed: u64, mode: Mode) -> HandwrittenDigits {
        let labels = (0..10).map(|d| d.to_string()).collect();
        HandwrittenDigits { digits, count, seed, mode, labels }
    }

    /// `count` strings composed from MNIST's 60,000 training digits in `dir`.
    pub fn training(
        dir: &Path,
        count: usize,
        seed: u64,
    ) -> Result<HandwrittenDigits, DatasetError> {
        Ok(HandwrittenDigits::new(
            read(dir, TRAIN_IMAGES, TRAIN_LABELS)?,
            count,
            seed,
            Mode::Strings,
        ))
    }

    /// `count` strings composed from MNIST's 10,000 test digits (evaluation only).
    pub fn test_strings(dir: &Path, count: usize) -> Result<HandwrittenDigits, DatasetError> {
        Ok(HandwrittenDigits::new(
            read(dir, TEST_IMAGES, TEST_LABELS)?,
            count,
            TEST_SEED,
            Mode::Strings,
        ))
    }

    /// The 10,000 test digits one at a time (evaluation only).
    pub fn test_digits(dir: &Path) -> Result<HandwrittenDigits, DatasetError> {
        let digits = read(dir, TEST_IMAGES, TEST_LABELS)?;
        let count = digits.len();
        Ok(HandwrittenDigits::new(digits, count, TEST_SEED, Mode::Singles))
    }

    /// Sample `i`: the line image and its digits.
    pub fn render(&self, i: usize) -> (Image, Vec<u32>) {
        match self.mode {
            Mode::Strings => self.compose(i),
            Mode::Singles => self.single(i % self.digits.len().max(1)),
        }
    }

    fn single(&self, index: usize) -> (Image, Vec<u32>) {
        let glyph = self.glyph(index, 1.0);
        let height = self.digits.side + 8;
        let width = 4 * height;
        let mut coverage = Image { width, height, channels: 1, data: vec![0; width * height] };
        let x = (width - glyph.width) / 2;
        stamp(&mut coverage, &glyph, x as i64, 4);
        let image = shade(&coverage, 255.0, 0.0, 0.0);
        (image, vec![u32::from(self.digits.labels[index])])
    }

    /// The ink of digit `index` cropped to its columns, scaled by `scale` (coverage, 255 = ink).
    fn glyph(&self, index: usize, scale: f32) -> Image {
        let side = self.digits.side;
        let pixels = self.digits.image(index);
        let inked = |x: usize| (0..side).any(|y| pixels[y * side + x] > INK);
        let left = (0..side).find(|&x| inked(x)).unwrap_or(0);
        let right = (0..side).rev().find(|&x| inked(x)).unwrap_or(side - 1).max(left);
        let source = Image { width: side, height: side, channels: 1, data: pixels.to_vec() };
        let width = (((right - left + 1) as f32 * scale).round() as usize).max(1);
        let height = ((side as f32 * scale).round() as usize).max(1);
        let mut data = Vec::with_capacity(width * height);
        for y in 0..height {
            for x in 0..width {
                let u = left as f32 + (x as f32 + 0.5) / scale - 0.5;
                let v = (y as f32 + 0.5) / scale - 0.5;
                data.push(sample_bilinear(&source, u, v, 0, Some(0)));
            }
        }
        Image { width, height, channels: 1, data }
    }

    fn compose(&self, i: usize) -> (Image, Vec<u32>) {
        let mut rng = Rng::for_sample(self.seed, 0, i as u64);
        let len = 1 + rng.below(MAX_DIGITS);
        // One writer per line: a size, a habit of spacing, a slant.
        let scale = rng.range(0.8, 1.6);
        let habit = rng.range(-2.0, 6.0);
        let slant = rng.range(-0.3, 0.3);
        let mut labels = Vec::with_capacity(len);
        let mut glyphs = Vec::with_capacity(len);
        let mut drift = 0.0f32;
        for _ in 0..len {
            let index = rng.below(self.digits.len());
            labels.push(u32::from(self.digits.labels[index]));
            glyphs.push((self.glyph(index, scale * rng.range(0.88, 1.12)), drift));
            drift = (drift + rng.range(-1.5, 1.5) * scale).clamp(-4.0 * scale, 4.0 * scale);
        }
        // Gaps between ink boxes: mostly the writer's habit, sometimes touching or overlapping.
        let gaps: Vec<f32> = (1..len)
            .map(|_| {
                let gap = if rng.chance(0.2) {
                    rng.range(-4.0, 0.0)
                } else {
                    habit + rng.range(-2.0, 3.0)
                };
                gap * scale
            })
            .collect();
        let text_width: f32 =
            glyphs.iter().map(|(g, _)| g.width as f32).sum::<f32>() + gaps.iter().sum::<f32>();
        let tallest = glyphs.iter().map(|(g, _)| g.height).max().unwrap_or(28) as f32;
        let (top, bottom) = (rng.range(1.0, 8.0) * scale, rng.range(1.0, 8.0) * scale);
        let height = (tallest + 8.0 * scale + top + bottom).ceil() as usize;
        let slant_room = slant.abs() * height as f32;
        let margins = rng.range(2.0, 12.0) * scale + rng.range(2.0, 12.0) * scale + slant_room;
        // Half the lines sit in a fixed 4:1 window (a configured region), the others in
        // whatever crop a user drew around them.
        let aspect = if rng.chance(0.5) { 4.0 } else { rng.range(1.5, 6.0) };
        let natural = (text_width + margins).ceil().max(1.0);
        let width = natural.max(aspect * height as f32) as usize;
        let mut coverage = Image { width, height, channels: 1, data: vec![0; width * height] };
        let mut x = rng.range(0.0, (width as f32 - natural).max(0.0)) + margins / 2.0;
        for (k, (glyph, drift)) in glyphs.iter().enumerate() {
            let y = top + 4.0 * scale + drift + (tallest - glyph.height as f32) / 2.0;
            stamp(&mut coverage, glyph, x.round() as i64, y.round() as i64);
            x += glyph.width as f32 + gaps.get(k).copied().unwrap_or(0.0);
        }
        let coverage = shear(&coverage, slant);
        let paper = rng.range(140.0, 255.0);
        let ink = rng.range(0.0, (paper - 80.0).max(0.0));
        let light = rng.range(-25.0, 25.0);
        let mut image = shade(&coverage, paper, ink, light);
        for _ in 0..rng.below(3) {
            image = box_blur(&image);
        }
        let sigma = rng.range(0.0, 8.0);
        for p in &mut image.data {
            *p = (*p as f32 + sigma * rng.normal()).round().clamp(0.0, 255.0) as u8;
        }
        (image, labels)
    }
}

/// Adds `glyph`'s coverage at `(x, y)`: overlapping ink stays ink (the maximum).
fn stamp(canvas: &mut Image, glyph: &Image, x: i64, y: i64) {
    for gy in 0..glyph.height {
        let cy = y + gy as i64;
        if !(0..canvas.height as i64).contains(&cy) {
            continue;
        }
        for gx in 0..glyph.width {
            let cx = x + gx as i64;
            if (0..canvas.width as i64).contains(&cx) {
                let p = &mut canvas.data[cy as usize * canvas.width + cx as usize];
                *p = (*p).max(glyph.data[gy * glyph.width + gx]);
            }
        }
    }
}

/// Slants the line: rows above the middle move right by `slant` pixels per row.
fn shear(image: &Image, slant: f32) -> Image {
    let middle = image.height as f32 / 2.0;
    let mut data = Vec::with_capacity(image.data.len());
    for y in 0..image.height {
        let shift = slant * (middle - y as f32);
        for x in 0..image.width {
            data.push(sample_bilinear(image, x as f32 - shift, y as f32, 0, Some(0)));
        }
    }
    Image { data, ..image.clone() }
}

/// Coverage to a photo of paper: `paper` where there is no ink, `ink` where there is, light
/// falling off by `light` from the left end to the right.
fn shade(coverage: &Image, paper: f32, ink: f32, light: f32) -> Image {
    let width = coverage.width.max(1) as f32;
    let data = coverage
        .data
        .iter()
        .enumerate()
        .map(|(k, &c)| {
            let x = (k % coverage.width) as f32 / width - 0.5;
            let page = (paper + light * x).clamp(0.0, 255.0);
            let a = c as f32 / 255.0;
            (page + (ink - page) * a).round().clamp(0.0, 255.0) as u8
        })
        .collect();
    Image { data, ..coverage.clone() }
}

impl Source for HandwrittenDigits {
    fn len(&self) -> usize {
        self.count
    }

    fn labels(&self) -> &[String] {
        &self.labels
    }

    fn key(&self, i: usize) -> String {
        format!("mnist-{}-{i}", self.seed)
    }

    fn load(&self, i: usize) -> Result<Sample, DatasetError> {
        let (image, text) = self.render(i);
        Ok(Sample { image, label: 0, text })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten 28×28 "digits": digit d is a bar d+1 pixels wide, so crops can be told apart.
    fn fake_digits() -> Digits {
        let side = 28;
        let mut images = vec![0u8; 10 * side * side];
        for d in 0..10 {
            for y in 4..24 {
                for x in 10..11 + d {
                    images[d * side * side + y * side + x] = 255;
                }
            }
        }
        Digits { side, images, labels: (0..10).collect() }
    }

    #[test]
    fn strings_are_deterministic_with_ink_on_lighter_paper() {
        let set = HandwrittenDigits::new(fake_digits(), 200, 3, Mode::Strings);
        assert_eq!(set.render(17), set.render(17));
        assert_ne!(set.render(18).1, set.render(17).1);
        for i in 0..200 {
            let (image, digits) = set.render(i);
            assert!((1..=MAX_DIGITS).contains(&digits.len()));
            assert_eq!(image.data.len(), image.width * image.height);
            assert!(image.width as f32 >= 1.5 * image.height as f32 - 1.0, "sample {i}");
            let darkest = *image.data.iter().min().unwrap() as i32;
            let corner = image.data[0] as i32;
            assert!(corner - darkest > 25, "sample {i}: ink {darkest} paper {corner}");
        }
    }

    #[test]
    fn a_single_digit_is_its_own_label_centred_on_white() {
        let set = HandwrittenDigits::new(fake_digits(), 10, 1, Mode::Singles);
        for d in 0..10 {
            let (image, text) = set.render(d);
            assert_eq!(text, vec![d as u32]);
            assert_eq!((image.width, image.height), (144, 36));
            let dark = image.data.iter().filter(|&&p| p < 128).count();
            assert_eq!(dark, 20 * (d + 1), "digit {d}");
            assert_eq!(image.data[0], 255);
        }
    }

    #[test]
    fn glyphs_are_cropped_to_their_ink_columns() {
        let set = HandwrittenDigits::new(fake_digits(), 1, 1, Mode::Strings);
        assert_eq!(set.glyph(0, 1.0).width, 1);
        assert_eq!(set.glyph(9, 1.0).width, 10);
        assert_eq!(set.glyph(9, 2.0).height, 56);
    }

    #[test]
    fn training_never_needs_the_test_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = HandwrittenDigits::training(dir.path(), 5, 1).err().unwrap().to_string();
        assert!(missing.contains(TRAIN_IMAGES), "{missing}");
        let missing = HandwrittenDigits::test_strings(dir.path(), 5).err().unwrap().to_string();
        assert!(missing.contains(TEST_IMAGES), "{missing}");
    }
}
