//! Synthetic digit strings for CTC training: 1 to 10 digits drawn from several fonts
//! (printed and handwriting-like) on a 128×32 line with random size, spacing, baseline
//! wobble, paper and ink shades. Sample `i` is a pure function of `(seed, i)`, so the set is
//! as large as asked for and costs no disk or memory.
//!
//! The held-out evaluation uses a font the model never trained on ([`HELD_OUT_FONT`]).

use super::augment::Rng;
use super::render::{find_fonts, Font};
use super::{DatasetError, Image, Sample, Source};

pub const LINE_WIDTH: usize = 128;
pub const LINE_HEIGHT: usize = 32;
pub const MAX_DIGITS: usize = 10;

/// Training fonts (Debian packages fonts-dejavu-core, fonts-liberation, fonts-freefont-ttf,
/// fonts-humor-sans, fonts-comic-neue, fonts-dancingscript).
pub const TRAIN_FONTS: [&str; 11] = [
    "DejaVuSans.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSansMono.ttf",
    "LiberationSans-Regular.ttf",
    "LiberationSerif-Regular.ttf",
    "LiberationMono-Regular.ttf",
    "FreeSans.ttf",
    "FreeSerif.ttf",
    "Humor-Sans.ttf",
    "ComicNeue-Regular.otf",
    "DancingScript-Regular.otf",
];

/// The handwriting-like font kept out of training (fonts-lxgw-wenkai).
pub const HELD_OUT_FONT: &str = "LXGWWenKai-Regular.ttf";

pub struct DigitStrings {
    fonts: Vec<Font>,
    count: usize,
    seed: u64,
    labels: Vec<String>,
}

impl DigitStrings {
    pub fn new(fonts: Vec<Font>, count: usize, seed: u64) -> Result<DigitStrings, DatasetError> {
        for font in &fonts {
            if let Some(c) = ('0'..='9').find(|&c| !font.has(c)) {
                return Err(DatasetError::Layout {
                    path: font.path.clone(),
                    reason: format!("font has no glyph for {c:?}"),
                });
            }
        }
        if fonts.is_empty() {
            return Err(DatasetError::Layout {
                path: "<fonts>".into(),
                reason: "no fonts given".into(),
            });
        }
        Ok(DigitStrings { fonts, count, seed, labels: (0..10).map(|d| d.to_string()).collect() })
    }

    /// The training set: `count` strings from [`TRAIN_FONTS`].
    pub fn training(count: usize, seed: u64) -> Result<DigitStrings, DatasetError> {
        DigitStrings::new(find_fonts(&TRAIN_FONTS)?, count, seed)
    }

    /// The evaluation set: `count` strings from [`HELD_OUT_FONT`], drawn with another seed.
    pub fn held_out(count: usize) -> Result<DigitStrings, DatasetError> {
        DigitStrings::new(find_fonts(&[HELD_OUT_FONT])?, count, 0x005e_ed0f_e7a1)
    }

    /// Draws sample `i`: the line image and its digits.
    pub fn render(&self, i: usize) -> (Image, Vec<u32>) {
        let mut rng = Rng::for_sample(self.seed, 0, i as u64);
        let len = 1 + rng.below(MAX_DIGITS);
        let digits: Vec<u32> = (0..len).map(|_| rng.below(10) as u32).collect();
        let font = &self.fonts[rng.below(self.fonts.len())];
        let chars: Vec<char> = digits.iter().map(|&d| char::from(b'0' + d as u8)).collect();
        let spacing = rng.range(-1.0, 3.0);
        let mut px = rng.range(20.0, 30.0);
        let width = |px: f32| {
            chars.iter().map(|&c| font.advance(c, px)).sum::<f32>() + spacing * (len - 1) as f32
        };
        let room = LINE_WIDTH as f32 - 4.0;
        if width(px) > room {
            px *= room / width(px);
        }
        let text_width = width(px).min(room);
        let mut x = 2.0 + rng.range(0.0, (room - text_width).max(0.0));
        let baseline = LINE_HEIGHT as f32 / 2.0 + 0.36 * px + rng.range(-2.0, 2.0);
        let paper = rng.range(170.0, 255.0) as u8;
        let ink = rng.range(0.0, paper as f32 - 100.0) as u8;
        let mut image = Image {
            width: LINE_WIDTH,
            height: LINE_HEIGHT,
            channels: 1,
            data: vec![paper; LINE_WIDTH * LINE_HEIGHT],
        };
        for &c in &chars {
            let wobble = rng.range(-1.5, 1.5);
            font.draw(&mut image, c, px, x, baseline + wobble, ink);
            x += font.advance(c, px) + spacing;
        }
        (image, digits)
    }
}

impl Source for DigitStrings {
    fn len(&self) -> usize {
        self.count
    }

    fn labels(&self) -> &[String] {
        &self.labels
    }

    fn key(&self, i: usize) -> String {
        format!("digits-{}-{i}", self.seed)
    }

    fn load(&self, i: usize) -> Result<Sample, DatasetError> {
        let (image, text) = self.render(i);
        Ok(Sample { image, label: 0, text })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_deterministic_and_fit_the_line() {
        let set = DigitStrings::training(100, 3).unwrap();
        let (a, digits_a) = set.render(17);
        let (b, digits_b) = set.render(17);
        assert_eq!((a.clone(), digits_a.clone()), (b, digits_b));
        assert_ne!(set.render(18).1, digits_a);
        for i in 0..100 {
            let (image, digits) = set.render(i);
            assert!((1..=MAX_DIGITS).contains(&digits.len()));
            assert!(digits.iter().all(|&d| d < 10));
            // Some ink, and the paper shows at the left and right ends.
            let darkest = *image.data.iter().min().unwrap();
            let paper = image.data[0];
            assert!(paper as i32 - darkest as i32 > 60, "sample {i}: too faint");
        }
    }

    #[test]
    fn the_held_out_font_is_not_a_training_font() {
        assert!(!TRAIN_FONTS.contains(&HELD_OUT_FONT));
        let held_out = DigitStrings::held_out(5).unwrap();
        assert_eq!(held_out.len(), 5);
    }
}
