//! Chinese characters *written*, stroke by stroke, by synthetic writers.
//!
//! The stroke data is the npm package `hanzi-writer-data` (2.0.1, from Make Me a Hanzi; Arphic
//! Public License): one `<char>.json` per character with its strokes in writing order, each
//! with a median polyline in a 1024-unit box (y up, the top at 900). A [`Writer`] is a set of
//! habits drawn once from its number: pen width, how much the width follows the pen's speed,
//! slant, proportions, how carelessly strokes are placed and sized, how often a stroke ends in
//! a flick, how often the pen is not lifted between strokes (the connected strokes of a fast
//! hand), and tremor. Each character is then written with per-stroke variation on top of the
//! writer's habits, and bent by the same elastic distortion as the font glyphs.
//!
//! Training and held-out writers are disjoint sets of writer numbers ([`TRAIN_WRITERS`],
//! [`HELD_OUT_WRITERS`]), so the held-out figure is for habits no training sample had.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::augment::Rng;
use super::glyphs::{elastic, write_classes, GlyphReport};
use super::gnt::LEVEL1_CLASSES;
use super::{DatasetError, Image};

/// Writer numbers used for training.
pub const TRAIN_WRITERS: Range<u64> = 0..400;
/// Writer numbers kept for evaluation: never drawn in training.
pub const HELD_OUT_WRITERS: Range<u64> = 1_000_000..1_000_100;
const _: () = assert!(HELD_OUT_WRITERS.start >= TRAIN_WRITERS.end, "writer sets overlap");

/// The stroke data's coordinate box: x in 0..1024, y in -124..900 (y up).
const UNITS: f32 = 1024.0;
const TOP: f32 = 900.0;
/// Rendering canvas side (as the font glyphs); the character spans about 80% of it.
const CANVAS: usize = 80;
/// Most strokes of any GB2312 character is 30; more means a broken file.
const MAX_STROKES: usize = 64;
const MAX_POINTS: usize = 256;
/// The thinnest line a pen leaves on the canvas, in pixels: thinner would fade to gray.
const MIN_WIDTH: f32 = 1.3;

/// A character's strokes in writing order, each a median polyline in screen units (y down).
#[derive(Debug, Clone, PartialEq)]
pub struct StrokeChar {
    pub strokes: Vec<Vec<[f32; 2]>>,
}

#[derive(serde::Deserialize)]
struct CharFile {
    medians: Vec<Vec<[f64; 2]>>,
}

impl StrokeChar {
    /// Parses one `hanzi-writer-data` file; `path` names it in errors.
    pub fn parse(json: &[u8], path: &Path) -> Result<StrokeChar, DatasetError> {
        let bad = |reason: String| DatasetError::Layout { path: path.to_path_buf(), reason };
        let file: CharFile =
            serde_json::from_slice(json).map_err(|e| bad(format!("not stroke data: {e}")))?;
        if file.medians.is_empty() || file.medians.len() > MAX_STROKES {
            return Err(bad(format!("medians: {} strokes", file.medians.len())));
        }
        let mut strokes = Vec::with_capacity(file.medians.len());
        for (k, median) in file.medians.iter().enumerate() {
            if median.is_empty() || median.len() > MAX_POINTS {
                return Err(bad(format!("medians[{k}]: {} points", median.len())));
            }
            let mut points = Vec::with_capacity(median.len());
            for &[x, y] in median {
                if !(x.is_finite() && y.is_finite() && x.abs() < 4096.0 && y.abs() < 4096.0) {
                    return Err(bad(format!("medians[{k}]: point ({x}, {y}) is out of range")));
                }
                points.push([x as f32, TOP - y as f32]);
            }
            strokes.push(points);
        }
        Ok(StrokeChar { strokes })
    }

    /// Reads `dir/<c>.json`.
    pub fn load(dir: &Path, c: char) -> Result<StrokeChar, DatasetError> {
        let path = dir.join(format!("{c}.json"));
        let json = std::fs::read(&path)
            .map_err(|source| DatasetError::Io { path: path.clone(), source })?;
        StrokeChar::parse(&json, &path)
    }
}

/// One writer's habits, all in stroke-data units (the character box is 1024 wide).
#[derive(Debug, Clone, PartialEq)]
pub struct Writer {
    /// Pen width.
    pub pen: f32,
    /// How much thinner the pen writes when it moves fast (0: a ballpoint, 0.45: a brush).
    pub pressure: f32,
    /// Horizontal shift per unit of height (italic hands lean right: negative).
    pub slant: f32,
    /// Width over height of the writer's characters.
    pub aspect: f32,
    /// How far strokes land from where they belong (standard deviation).
    pub placement: f32,
    /// How much strokes come out longer or shorter (relative standard deviation).
    pub sizing: f32,
    /// Chance that a stroke ends in a flick.
    pub flick: f32,
    /// Chance that the pen stays down from one stroke to the next.
    pub cursive: f32,
    /// Amplitude of the hand's tremor.
    pub tremor: f32,
    /// How strongly the finished character is bent (elastic distortion, in canvas pixels).
    pub bend: f32,
}

impl Writer {
    /// Writer number `n`: the same habits every time.
    pub fn new(n: u64) -> Writer {
        let mut rng = Rng::for_sample(0x5752_4954_4552, n, 0);
        let fast = rng.unit();
        Writer {
            pen: rng.range(22.0, 70.0),
            pressure: rng.range(0.0, 0.45),
            slant: rng.range(-0.25, 0.15),
            aspect: rng.range(0.8, 1.15),
            placement: rng.range(0.0, 28.0),
            sizing: rng.range(0.0, 0.15),
            flick: rng.range(0.0, 0.5),
            cursive: fast * 0.7,
            tremor: rng.range(0.0, 8.0),
            bend: rng.range(0.5, 3.0),
        }
    }

    /// Writes `c` once; `rng` draws this sample's own variation.
    pub fn write(&self, c: &StrokeChar, rng: &mut Rng) -> Image {
        let mut canvas = Coverage::new(CANVAS);
        let px = CANVAS as f32 * rng.range(0.72, 0.85);
        let scale = px / UNITS;
        let (ox, oy) = ((CANVAS as f32 - px) / 2.0, (CANVAS as f32 - px) / 2.0);
        let slant = self.slant + rng.range(-0.05, 0.05);
        let aspect = self.aspect * rng.range(0.95, 1.05);
        let to_canvas = |[x, y]: [f32; 2]| {
            let (cx, cy) = (x - UNITS / 2.0, y - UNITS / 2.0);
            let x = cx * aspect + slant * cy + UNITS / 2.0;
            [ox + x * scale, oy + (cy + UNITS / 2.0) * scale]
        };
        let mut previous_end: Option<[f32; 2]> = None;
        for stroke in &c.strokes {
            let path = self.place(stroke, rng);
            let path: Vec<[f32; 2]> = path.into_iter().map(to_canvas).collect();
            let widths = self.widths(&path, scale, rng);
            if let (Some(end), Some(&start)) = (previous_end, path.first()) {
                // A fast hand drags a line to the next stroke instead of lifting the pen: the
                // faster, the fuller.
                if rng.chance(self.cursive) && distance(end, start) < 0.45 * px {
                    let w = (0.25 + self.cursive * rng.unit()) * self.pen * scale;
                    canvas.segment(end, start, w.max(MIN_WIDTH), w.max(MIN_WIDTH));
                }
            }
            for k in 1..path.len() {
                canvas.segment(path[k - 1], path[k], widths[k - 1], widths[k]);
            }
            if path.len() == 1 {
                canvas.segment(path[0], path[0], widths[0], widths[0]);
            }
            previous_end = path.last().copied();
        }
        let ink = rng.range(0.0, 60.0);
        let image = canvas.to_image(ink);
        let bend = self.bend * rng.range(0.7, 1.3);
        elastic(&image, rng, bend, 6.0)
    }

    /// The stroke as this writer puts it down: moved, resized and turned a little, smoothed,
    /// with tremor, and maybe a flick at its end.
    fn place(&self, stroke: &[[f32; 2]], rng: &mut Rng) -> Vec<[f32; 2]> {
        let n = stroke.len() as f32;
        let centre = stroke.iter().fold([0.0, 0.0], |a, p| [a[0] + p[0] / n, a[1] + p[1] / n]);
        let shift = [self.placement * rng.normal(), self.placement * rng.normal()];
        let size = (1.0 + self.sizing * rng.normal()).clamp(0.6, 1.5);
        let (sin, cos) = rng.range(-0.06, 0.06).sin_cos();
        let moved: Vec<[f32; 2]> = stroke
            .iter()
            .map(|p| {
                let (dx, dy) = ((p[0] - centre[0]) * size, (p[1] - centre[1]) * size);
                [
                    centre[0] + dx * cos - dy * sin + shift[0],
                    centre[1] + dx * sin + dy * cos + shift[1],
                ]
            })
            .collect();
        // A fast hand cuts corners: the pen skips some of the median's turning points.
        let moved = if moved.len() > 3 && rng.chance(self.cursive) {
            let last = moved.len() - 1;
            moved
                .iter()
                .enumerate()
                .filter(|&(k, _)| k == 0 || k == last || k % 2 == 0)
                .map(|(_, p)| *p)
                .collect()
        } else {
            moved
        };
        let mut path = smooth(&moved, 12.0);
        if self.tremor > 0.0 && path.len() > 2 {
            let (phase, frequency) = (rng.range(0.0, std::f32::consts::TAU), rng.range(0.01, 0.03));
            let mut travelled = 0.0;
            for k in 1..path.len() {
                travelled += distance(path[k - 1], path[k]);
                let [dx, dy] = direction(path[k - 1], path[k]);
                let offset = self.tremor * (phase + travelled * frequency).sin();
                path[k] = [path[k][0] - dy * offset, path[k][1] + dx * offset];
            }
        }
        if path.len() >= 2 && rng.chance(self.flick) {
            let end = path[path.len() - 1];
            let [dx, dy] = direction(path[path.len() - 2], end);
            let turn = rng.range(2.0, 2.6) * if rng.chance(0.5) { 1.0 } else { -1.0 };
            let (sin, cos) = turn.sin_cos();
            let length = rng.range(30.0, 90.0);
            let flick = [dx * cos - dy * sin, dx * sin + dy * cos];
            path.push([end[0] + flick[0] * length, end[1] + flick[1] * length]);
        }
        path
    }

    /// Pen width (canvas pixels) at each point: thinner where the pen moves fast (long straight
    /// runs), full at the start and at corners where it slows, tapering off at the end.
    fn widths(&self, path: &[[f32; 2]], scale: f32, rng: &mut Rng) -> Vec<f32> {
        let pen = self.pen * scale * rng.range(0.85, 1.15);
        let total: f32 = path.windows(2).map(|w| distance(w[0], w[1])).sum();
        let ramp = (0.25 * total).max(1e-3);
        let mut travelled = 0.0;
        let taper = rng.range(0.35, 1.0);
        (0..path.len())
            .map(|k| {
                if k > 0 {
                    travelled += distance(path[k - 1], path[k]);
                }
                let from_start = (travelled / ramp).min(1.0);
                let to_end = ((total - travelled) / ramp).min(1.0);
                let turning = if k > 0 && k + 1 < path.len() {
                    let (a, b) = (direction(path[k - 1], path[k]), direction(path[k], path[k + 1]));
                    (1.0 - (a[0] * b[0] + a[1] * b[1])).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let speed = (from_start * to_end.max(0.3) * (1.0 - turning)).clamp(0.0, 1.0);
                let end_taper = 1.0 - (1.0 - taper) * (1.0 - to_end);
                (pen * (1.0 - self.pressure * speed) * end_taper).max(MIN_WIDTH)
            })
            .collect()
    }
}

fn distance(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// The unit vector from `a` to `b` (x if they coincide).
fn direction(a: [f32; 2], b: [f32; 2]) -> [f32; 2] {
    let d = distance(a, b);
    if d < 1e-6 {
        [1.0, 0.0]
    } else {
        [(b[0] - a[0]) / d, (b[1] - a[1]) / d]
    }
}

/// A Catmull-Rom curve through `points`, sampled about every `step` units: the pen moves in
/// curves, not along the median's straight pieces.
fn smooth(points: &[[f32; 2]], step: f32) -> Vec<[f32; 2]> {
    if points.len() < 3 {
        return points.to_vec();
    }
    let at = |i: isize| points[i.clamp(0, points.len() as isize - 1) as usize];
    let mut out = vec![points[0]];
    for i in 0..points.len() as isize - 1 {
        let (p0, p1, p2, p3) = (at(i - 1), at(i), at(i + 1), at(i + 2));
        let pieces = ((distance(p1, p2) / step).ceil() as usize).clamp(1, 64);
        for s in 1..=pieces {
            let t = s as f32 / pieces as f32;
            let (t2, t3) = (t * t, t * t * t);
            let point = |c: usize| {
                0.5 * (2.0 * p1[c]
                    + (p2[c] - p0[c]) * t
                    + (2.0 * p0[c] - 5.0 * p1[c] + 4.0 * p2[c] - p3[c]) * t2
                    + (3.0 * p1[c] - p0[c] - 3.0 * p2[c] + p3[c]) * t3)
            };
            out.push([point(0), point(1)]);
        }
    }
    out
}

/// Ink coverage 0-1 on a square canvas.
struct Coverage {
    side: usize,
    data: Vec<f32>,
}

impl Coverage {
    fn new(side: usize) -> Coverage {
        Coverage { side, data: vec![0.0; side * side] }
    }

    /// A pen moving from `a` (width `wa`) to `b` (width `wb`): the capsule between two discs,
    /// antialiased over one pixel.
    fn segment(&mut self, a: [f32; 2], b: [f32; 2], wa: f32, wb: f32) {
        let (ra, rb) = (wa / 2.0, wb / 2.0);
        let reach = ra.max(rb) + 1.0;
        let x0 = (a[0].min(b[0]) - reach).floor().max(0.0) as usize;
        let y0 = (a[1].min(b[1]) - reach).floor().max(0.0) as usize;
        let x1 = ((a[0].max(b[0]) + reach).ceil().max(0.0) as usize).min(self.side);
        let y1 = ((a[1].max(b[1]) + reach).ceil().max(0.0) as usize).min(self.side);
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let length2 = (dx * dx + dy * dy).max(1e-9);
        for y in y0..y1 {
            for x in x0..x1 {
                let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                let t = (((px - a[0]) * dx + (py - a[1]) * dy) / length2).clamp(0.0, 1.0);
                let d = distance([px, py], [a[0] + t * dx, a[1] + t * dy]);
                let r = ra + (rb - ra) * t;
                let c = (r - d + 0.5).clamp(0.0, 1.0);
                let cell = &mut self.data[y * self.side + x];
                *cell = cell.max(c);
            }
        }
    }

    /// Dark `ink` on white paper.
    fn to_image(&self, ink: f32) -> Image {
        let data =
            self.data.iter().map(|&c| (255.0 + (ink - 255.0) * c).round().clamp(0.0, 255.0) as u8);
        Image { width: self.side, height: self.side, channels: 1, data: data.collect() }
    }
}

/// What [`write_gnt_set`] writes.
#[derive(Debug, Clone)]
pub struct StrokeSet<'a> {
    /// The folder of `<char>.json` stroke files.
    pub strokes: &'a Path,
    pub out: &'a Path,
    /// Files are named `<name>-<part>.gnt`.
    pub name: &'a str,
    /// Each sample's writer is drawn from these writer numbers.
    pub writers: Range<u64>,
    /// The first `chars` level-1 characters, in GB2312 order.
    pub chars: usize,
    pub per_char: usize,
    pub seed: u64,
    /// Files, written by one thread each.
    pub parts: usize,
}

/// Writes the `.gnt` files of `set`. `progress` is called once per character.
pub fn write_gnt_set(
    set: &StrokeSet,
    progress: impl Fn() + Sync,
) -> Result<GlyphReport, DatasetError> {
    let StrokeSet { strokes: strokes_dir, out, name, chars, per_char, seed, .. } = *set;
    let writers = set.writers.clone();
    std::fs::create_dir_all(out)
        .map_err(|source| DatasetError::Io { path: out.to_path_buf(), source })?;
    let parts = set.parts.max(1);
    let chosen = |class: usize, v: usize| {
        let mut rng = Rng::for_sample(seed, class as u64, v as u64);
        let writer = writers.start + rng.next_u64() % (writers.end - writers.start).max(1);
        (Writer::new(writer), rng)
    };
    let results: Vec<Result<(PathBuf, usize, usize), DatasetError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..parts)
            .map(|part| {
                let (progress, chosen) = (&progress, &chosen);
                let path = out.join(format!("{name}-{part}.gnt"));
                scope.spawn(move || {
                    // Part k writes every `parts`-th character, starting with the k-th.
                    let classes = (part..chars.min(LEVEL1_CLASSES)).step_by(parts);
                    write_classes(&path, classes, per_char, progress, |class, c, v| {
                        let strokes = StrokeChar::load(strokes_dir, c)?;
                        let (writer, mut rng) = chosen(class, v);
                        Ok(Some(writer.write(&strokes, &mut rng)))
                    })
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("stroke writer panicked")).collect()
    });
    let mut report = GlyphReport::default();
    for result in results {
        let (path, samples, _) = result?;
        report.samples += samples;
        report.files.push(path);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN: &[u8] = br#"{"strokes": ["M 0 0 Z", "M 0 0 Z"],
        "medians": [[[100, 400], [500, 420], [900, 410]], [[500, 800], [510, 400], [500, -50]]]}"#;

    #[test]
    fn stroke_files_are_read_with_y_down_and_checked() {
        let c = StrokeChar::parse(TEN, Path::new("十.json")).unwrap();
        assert_eq!(c.strokes.len(), 2);
        assert_eq!(c.strokes[0][0], [100.0, 500.0]);
        assert_eq!(c.strokes[1][2], [500.0, 950.0]);
        for (bad, why) in [
            (&b"{}"[..], "not stroke data"),
            (br#"{"medians": []}"#, "0 strokes"),
            (br#"{"medians": [[]]}"#, "medians[0]: 0 points"),
            (br#"{"medians": [[[1e9, 3]]]}"#, "out of range"),
        ] {
            let err = StrokeChar::parse(bad, Path::new("x.json")).unwrap_err().to_string();
            assert!(err.contains("x.json") && err.contains(why), "{err}");
        }
    }

    #[test]
    fn writers_keep_their_habits_and_differ_from_each_other() {
        assert_eq!(Writer::new(7), Writer::new(7));
        assert_ne!(Writer::new(7), Writer::new(8));
    }

    #[test]
    fn a_written_character_has_its_strokes_in_ink() {
        let c = StrokeChar::parse(TEN, Path::new("十.json")).unwrap();
        for n in 0..20 {
            let image = Writer::new(n).write(&c, &mut Rng::for_sample(1, n, 0));
            assert_eq!((image.width, image.height), (CANVAS, CANVAS));
            let at = |x: usize, y: usize| image.data[y * CANVAS + x];
            let third = CANVAS / 3;
            let inked = |xs: std::ops::Range<usize>, ys: std::ops::Range<usize>| {
                ys.flat_map(|y| xs.clone().map(move |x| (x, y))).any(|(x, y)| at(x, y) < 128)
            };
            // The horizontal stroke reaches the left and right thirds, the vertical one the
            // top and bottom thirds; the corners stay paper.
            assert!(inked(0..third, third..2 * third), "writer {n}: left");
            assert!(inked(2 * third..CANVAS, third..2 * third), "writer {n}: right");
            assert!(inked(third..2 * third, 0..third), "writer {n}: top");
            assert!(inked(third..2 * third, 2 * third..CANVAS), "writer {n}: bottom");
            assert!(at(0, 0) > 240 && at(CANVAS - 1, CANVAS - 1) > 240, "writer {n}");
        }
    }

    #[test]
    fn smoothing_keeps_the_ends_and_fills_in_between() {
        let points = [[0.0, 0.0], [100.0, 0.0], [100.0, 100.0]];
        let curve = smooth(&points, 10.0);
        assert_eq!(curve[0], [0.0, 0.0]);
        assert_eq!(*curve.last().unwrap(), [100.0, 100.0]);
        assert!(curve.len() >= 20);
    }
}
