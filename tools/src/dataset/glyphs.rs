//! Synthetic handwriting-like Chinese characters: each GB2312 level-1 character rendered
//! from installed CJK fonts, then bent the way a hand bends strokes: a random affine pose,
//! an elastic distortion (a smooth random displacement field), and a stroke-width change.
//! The result is written as CASIA-HWDB `.gnt` files (tight ink crops on white, like the real
//! data), so training reads synthetic and real data through the same reader.
//!
//! Variant `v` of character `c` in font `f` is a pure function of `(seed, f, c, v)`.

use std::path::{Path, PathBuf};

use super::augment::{min_filter, sample_bilinear, Rng};
use super::gnt::{self, GntWriter, LEVEL1_CLASSES};
use super::render::{find_fonts, Font};
use super::{DatasetError, Image};

/// Training fonts (Debian fonts-lxgw-wenkai, fonts-arphic-ukai, fonts-arphic-uming,
/// fonts-wqy-microhei, fonts-wqy-zenhei): handwriting-like kai, Ming and sans styles.
pub const TRAIN_FONTS: [&str; 5] =
    ["LXGWWenKai-Regular.ttf", "ukai.ttc", "uming.ttc", "wqy-microhei.ttc", "wqy-zenhei.ttc"];

/// The font the models never train on (fonts-arphic-gkai00mp): the leave-one-font-out test.
pub const HELD_OUT_FONT: &str = "gkai00mp.ttf";

/// Rendering canvas side; glyphs are drawn at 70-85% of it.
const CANVAS: usize = 80;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GlyphReport {
    pub samples: usize,
    /// (font, characters it lacks): those combinations are skipped.
    pub missing: Vec<(String, usize)>,
    pub files: Vec<PathBuf>,
}

/// Writes `out/<font>.gnt` for each font (one thread per font): `per_char` variants of each
/// of the first `chars` level-1 characters (all 3755 by default). Files are written under a
/// temporary name and renamed when complete. `progress` is called once per character per font.
pub fn write_gnt_set(
    fonts: &[Font],
    out: &Path,
    chars: usize,
    per_char: usize,
    seed: u64,
    progress: impl Fn() + Sync,
) -> Result<GlyphReport, DatasetError> {
    std::fs::create_dir_all(out)
        .map_err(|source| DatasetError::Io { path: out.to_path_buf(), source })?;
    let results: Vec<Result<(PathBuf, usize, usize), DatasetError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = fonts
            .iter()
            .enumerate()
            .map(|(f, font)| {
                let progress = &progress;
                scope
                    .spawn(move || write_font(font, f as u64, out, chars, per_char, seed, progress))
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("glyph writer panicked")).collect()
    });
    let mut report = GlyphReport::default();
    for (font, result) in fonts.iter().zip(results) {
        let (path, samples, missing) = result?;
        report.samples += samples;
        if missing > 0 {
            report.missing.push((font.name(), missing));
        }
        report.files.push(path);
    }
    Ok(report)
}

/// One font's file; returns its path, sample count and characters the font lacks.
fn write_font(
    font: &Font,
    font_number: u64,
    out: &Path,
    chars: usize,
    per_char: usize,
    seed: u64,
    progress: &(impl Fn() + Sync),
) -> Result<(PathBuf, usize, usize), DatasetError> {
    let path = out.join(format!("{}.gnt", font.name()));
    write_classes(&path, 0..chars.min(LEVEL1_CLASSES), per_char, progress, |class, c, v| {
        Ok(font.has(c).then(|| {
            let mut rng = Rng::for_sample(seed ^ (font_number << 48), class as u64, v as u64);
            handwritten(font, c, &mut rng)
        }))
    })
}

/// Writes `path` (under a temporary name, renamed when complete) with `per_char` samples of
/// each level-1 character of `classes` (all below 3755) drawn by `draw(class, character, variant)`,
/// which gives `None` for a character it cannot draw. Returns the path, the sample count and
/// how many characters could not be drawn. `progress` is called once per character. An error
/// from `draw` ends the file: nothing is left behind.
pub(crate) fn write_classes(
    path: &Path,
    classes: impl Iterator<Item = usize>,
    per_char: usize,
    progress: &(impl Fn() + Sync),
    mut draw: impl FnMut(usize, char, usize) -> Result<Option<Image>, DatasetError>,
) -> Result<(PathBuf, usize, usize), DatasetError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.partial"));
    let io = |source| DatasetError::Io { path: tmp.clone(), source };
    let mut writer = GntWriter::create(&tmp).map_err(io)?;
    let (mut samples, mut missing) = (0, 0);
    for class in classes {
        progress();
        let code = gnt::level1_code(class).expect("class below 3755");
        let Some(c) = gnt::character(code) else { continue };
        for v in 0..per_char {
            let image = match draw(class, c, v) {
                Ok(Some(image)) => image,
                Ok(None) => {
                    missing += 1;
                    break;
                }
                Err(e) => {
                    drop(writer);
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
            };
            let (w, h, pixels) = ink_crop(&image);
            writer.write(code, w as u16, h as u16, &pixels).map_err(io)?;
            samples += 1;
        }
    }
    writer.finish().map_err(io)?;
    std::fs::rename(&tmp, path)
        .map_err(|source| DatasetError::Io { path: path.to_path_buf(), source })?;
    Ok((path.to_path_buf(), samples, missing))
}

/// The training and held-out font sets.
pub fn training_fonts() -> Result<Vec<Font>, DatasetError> {
    find_fonts(&TRAIN_FONTS)
}

pub fn held_out_fonts() -> Result<Vec<Font>, DatasetError> {
    find_fonts(&[HELD_OUT_FONT])
}

/// One character as a hand might write it: posed, elastically bent, stroke width changed.
pub fn handwritten(font: &Font, c: char, rng: &mut Rng) -> Image {
    let px = CANVAS as f32 * rng.range(0.7, 0.85);
    let mut canvas =
        Image { width: CANVAS, height: CANVAS, channels: 1, data: vec![255; CANVAS * CANVAS] };
    // Centre the em box; the ink crop later removes the margins anyway.
    let x = (CANVAS as f32 - font.advance(c, px)) / 2.0;
    let baseline = CANVAS as f32 / 2.0 + 0.35 * px;
    font.draw(&mut canvas, c, px, x, baseline, 0);
    let alpha = rng.range(1.5, 3.5);
    let bent = elastic(&canvas, rng, alpha, 6.0);
    // A heavier pen one time in three: each pixel takes the darkest of its neighbourhood.
    match rng.below(3) {
        0 => min_filter(&bent),
        _ => bent,
    }
}

/// Elastic distortion (Simard et al. 2003): a random displacement per pixel, smoothed by a
/// box filter of radius `smooth` (three passes ≈ a Gaussian), scaled to `alpha` pixels.
pub(crate) fn elastic(image: &Image, rng: &mut Rng, alpha: f32, smooth: f32) -> Image {
    let (w, h) = (image.width, image.height);
    let radius = smooth as usize;
    let field = |rng: &mut Rng| {
        let mut f: Vec<f32> = (0..w * h).map(|_| rng.range(-1.0, 1.0)).collect();
        for _ in 0..3 {
            f = box_smooth(&f, w, h, radius);
        }
        let peak = f.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
        f.iter_mut().for_each(|v| *v *= alpha / peak);
        f
    };
    let (dx, dy) = (field(rng), field(rng));
    let mut data = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            data.push(sample_bilinear(image, x as f32 + dx[i], y as f32 + dy[i], 0, Some(255)));
        }
    }
    Image { width: w, height: h, channels: 1, data }
}

fn box_smooth(f: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
    let blur = |get: &dyn Fn(usize) -> f32, n: usize| -> Vec<f32> {
        (0..n)
            .map(|i| {
                let (lo, hi) = (i.saturating_sub(r), (i + r).min(n - 1));
                (lo..=hi).map(get).sum::<f32>() / (hi - lo + 1) as f32
            })
            .collect()
    };
    let mut rows = vec![0.0; w * h];
    for y in 0..h {
        let line = blur(&|x| f[y * w + x], w);
        rows[y * w..(y + 1) * w].copy_from_slice(&line);
    }
    let mut out = vec![0.0; w * h];
    for x in 0..w {
        let column = blur(&|y| rows[y * w + x], h);
        for (y, v) in column.into_iter().enumerate() {
            out[y * w + x] = v;
        }
    }
    out
}

/// The tight box around the ink (pixels below 250), as CASIA samples are stored; the whole
/// image when there is no ink.
fn ink_crop(image: &Image) -> (usize, usize, Vec<u8>) {
    let (w, h) = (image.width, image.height);
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if image.data[y * w + x] < 250 {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
            }
        }
    }
    if x0 >= x1 {
        return (w, h, image.data.clone());
    }
    let mut pixels = Vec::with_capacity((x1 - x0) * (y1 - y0));
    for y in y0..y1 {
        pixels.extend_from_slice(&image.data[y * w + x0..y * w + x1]);
    }
    (x1 - x0, y1 - y0, pixels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::gnt_set::GntSource;
    use crate::dataset::Source;

    #[test]
    fn glyph_sets_are_written_as_gnt_and_read_back() {
        let dir = std::env::temp_dir().join(format!("lookout-glyphs-{}", std::process::id()));
        let fonts = find_fonts(&["wqy-microhei.ttc"]).unwrap();
        let ticks = std::sync::atomic::AtomicUsize::new(0);
        let report = write_gnt_set(&fonts, &dir, 5, 2, 7, || {
            ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!((report.samples, ticks.into_inner()), (10, 5));
        let source = GntSource::open(&dir).unwrap();
        assert_eq!(source.labels(), ["啊", "阿", "埃", "挨", "哎"]);
        let sample = source.load(3).unwrap();
        assert_eq!(sample.label, 1);
        let ink = sample.image.data.iter().filter(|&&p| p < 128).count();
        assert!(ink > 20, "{ink} ink pixels");
        assert!(std::fs::read_dir(&dir).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("partial")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn variants_are_deterministic_and_differ() {
        let fonts = find_fonts(&["ukai.ttc"]).unwrap();
        let a = handwritten(&fonts[0], '永', &mut Rng::for_sample(1, 2, 3));
        let b = handwritten(&fonts[0], '永', &mut Rng::for_sample(1, 2, 3));
        let c = handwritten(&fonts[0], '永', &mut Rng::for_sample(1, 2, 4));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn the_held_out_font_is_not_a_training_font() {
        assert!(!TRAIN_FONTS.contains(&HELD_OUT_FONT));
    }
}
