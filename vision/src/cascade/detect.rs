//! `detectMultiScale`: build the scale list, scan every pyramid level (in parallel), group.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::group::group_rectangles;
use super::model::Cascade;
use super::scan::{scan, Compiled, Grid, Prepared};
use super::Rect;
use crate::imgproc::{resize_bilinear_exact, GrayImage, Integrals};

/// The `detectMultiScale` parameters, with OpenCV's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectParams {
    /// How much the window grows from one scale to the next; must be > 1.
    pub scale_factor: f64,
    /// A cluster needs more than this many raw hits to count; 0 returns raw hits ungrouped.
    pub min_neighbors: u32,
    /// Smallest window (width, height) to look for; (0, 0) means the cascade's own size.
    pub min_size: (u32, u32),
    /// Largest window; `None` means as large as the image.
    pub max_size: Option<(u32, u32)>,
}

impl Default for DetectParams {
    fn default() -> Self {
        DetectParams { scale_factor: 1.1, min_neighbors: 3, min_size: (0, 0), max_size: None }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParamsError {
    #[error("scale factor must be a number greater than 1, got {0}")]
    ScaleFactor(f64),
}

impl DetectParams {
    pub fn validate(&self) -> Result<(), ParamsError> {
        if self.scale_factor.is_finite() && self.scale_factor > 1.0 {
            Ok(())
        } else {
            Err(ParamsError::ScaleFactor(self.scale_factor))
        }
    }
}

/// One pyramid level: the image is shrunk by `scale` and scanned with the fixed-size window.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Level {
    scale: f32,
    width: usize,
    height: usize,
    grid: Grid,
}

/// The scales OpenCV 4.x scans, with its exact arithmetic: factors 1, f, f², … grow in f64
/// while the rounded window fits the image; each is stored as f32 and its window recomputed in
/// f32 to apply `max_size` (stop) and `min_size` (skip). When that leaves nothing, OpenCV falls
/// back to the one scale whose window is closest to `min_size`.
fn scales(cascade: &Cascade, image: (usize, usize), params: &DetectParams) -> Vec<f32> {
    let (iw, ih) = (image.0 as f64, image.1 as f64);
    let (ww, wh) = (cascade.window.width, cascade.window.height);
    let mut all = Vec::new();
    let mut factor = 1.0f64;
    while (ww as f64 * factor).round_ties_even() <= iw
        && (wh as f64 * factor).round_ties_even() <= ih
    {
        all.push(factor as f32);
        factor *= params.scale_factor;
    }
    let window = |s: f32| {
        let w = (ww as f32 * s).round_ties_even() as i64;
        let h = (wh as f32 * s).round_ties_even() as i64;
        (w, h)
    };
    let (max_w, max_h) = match params.max_size {
        Some((w, h)) if w > 0 && h > 0 => (w as i64, h as i64),
        _ => (image.0 as i64, image.1 as i64),
    };
    let (min_w, min_h) = (params.min_size.0 as i64, params.min_size.1 as i64);
    let mut kept = Vec::new();
    for &s in &all {
        let (w, h) = window(s);
        if w > max_w || h > max_h {
            break;
        }
        if w >= min_w && h >= min_h {
            kept.push(s);
        }
    }
    if kept.is_empty() {
        let distance = |&s: &f32| {
            let (w, h) = window(s);
            (min_w - w).pow(2) + (min_h - h).pow(2)
        };
        // min_by_key keeps the first of equals, as OpenCV's strict comparison does.
        kept.extend(all.iter().copied().min_by_key(distance));
    }
    kept
}

/// Each scale's pyramid size and scan grid. OpenCV splits rows into stripes for its thread pool,
/// sized from the first level's width; the last stripe ends at `stripes · stripe_height`, which
/// can fall one row short of the image. We reproduce the rows it scans, not its threading.
fn levels(cascade: &Cascade, image: (usize, usize), params: &DetectParams) -> Vec<Level> {
    let (ww, wh) = (cascade.window.width as usize, cascade.window.height as usize);
    let mut stripes = 0;
    scales(cascade, image, params)
        .into_iter()
        .map(|scale| {
            let width = (image.0 as f32 / scale).round_ties_even() as usize;
            let height = (image.1 as f32 / scale).round_ties_even() as usize;
            // Window origins satisfy x + window < width + 1; 2-px steps below scale 2.
            let cols = (width + 1).saturating_sub(ww);
            let rows = (height + 1).saturating_sub(wh);
            let step = if scale >= 2.0 { 1 } else { 2 };
            if stripes == 0 {
                stripes = cols.div_ceil(32).max(1);
            }
            let stripe = ((rows / step).div_ceil(stripes)).max(1) * step;
            let grid = Grid { cols, rows: rows.min(stripes * stripe), step };
            Level { scale, width, height, grid }
        })
        .collect()
}

/// Buffers one worker reuses from level to level and call to call.
#[derive(Default)]
struct Scratch {
    resized: Vec<u8>,
    resize: crate::imgproc::ResizeScratch,
    integrals: Integrals,
    compiled: Compiled,
    hits: Vec<(usize, usize)>,
}

/// A loaded cascade ready to scan images; cheap to share between threads.
pub struct Detector {
    cascade: Cascade,
    prepared: Prepared,
    pool: Mutex<Vec<Scratch>>,
}

impl Detector {
    pub fn new(cascade: Cascade) -> Self {
        let prepared = Prepared::new(&cascade);
        Detector { cascade, prepared, pool: Mutex::new(Vec::new()) }
    }

    pub fn cascade(&self) -> &Cascade {
        &self.cascade
    }

    /// Finds objects in `image` with OpenCV's `detectMultiScale` semantics, scanning pyramid
    /// levels on up to `threads` threads. Results do not depend on the thread count.
    pub fn detect(&self, image: &GrayImage, params: &DetectParams, threads: usize) -> Vec<Rect> {
        let raw = self.detect_raw(image, params, threads);
        let mut found = group_rectangles(&raw, params.min_neighbors, 0.2);
        // Rounding can push a window a pixel past the border; OpenCV clips to the image.
        let (w, h) = (image.width as i32, image.height as i32);
        found.retain_mut(|r| {
            let (x1, y1) = ((r.x + r.width).min(w), (r.y + r.height).min(h));
            (r.x, r.y) = (r.x.max(0), r.y.max(0));
            (r.width, r.height) = (x1 - r.x, y1 - r.y);
            r.width > 0 && r.height > 0
        });
        found
    }

    /// Every accepted window, in level order then row-major, before grouping.
    pub fn detect_raw(
        &self,
        image: &GrayImage,
        params: &DetectParams,
        threads: usize,
    ) -> Vec<Rect> {
        let levels = levels(&self.cascade, (image.width, image.height), params);
        let threads = threads.clamp(1, levels.len().max(1));
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Vec<Rect>>> = Mutex::new(vec![Vec::new(); levels.len()]);
        let work = || {
            let mut scratch = self.take_scratch();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(level) = levels.get(i) else { break };
                let rects = self.scan_level(image, *level, &mut scratch);
                lock(&results)[i] = rects;
            }
            lock(&self.pool).push(scratch);
        };
        if threads == 1 {
            work();
        } else {
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(work);
                }
            });
        }
        let per_level = std::mem::take(&mut *lock(&results));
        per_level.into_iter().flatten().collect()
    }

    fn take_scratch(&self) -> Scratch {
        lock(&self.pool).pop().unwrap_or_default()
    }

    fn scan_level(&self, image: &GrayImage, level: Level, s: &mut Scratch) -> Vec<Rect> {
        let cascade = &self.cascade;
        let (w, h) = (level.width, level.height);
        s.resized.resize(w * h, 0);
        resize_bilinear_exact(
            &image.pixels,
            image.width,
            image.height,
            &mut s.resized,
            w,
            h,
            &mut s.resize,
        );
        let haar = !cascade.is_lbp();
        s.integrals.compute(&s.resized, w, h, haar, cascade.features.has_tilted());
        s.compiled.update(cascade, s.integrals.layout);
        let (ww, wh) = (cascade.window.width as usize, cascade.window.height as usize);
        s.hits.clear();
        scan(cascade, &self.prepared, &s.compiled, &s.integrals.data, level.grid, &mut s.hits);
        let win_w = (ww as f32 * level.scale).round_ties_even() as i32;
        let win_h = (wh as f32 * level.scale).round_ties_even() as i32;
        s.hits
            .iter()
            .map(|&(x, y)| Rect {
                x: (x as f32 * level.scale).round_ties_even() as i32,
                y: (y as f32 * level.scale).round_ties_even() as i32,
                width: win_w,
                height: win_h,
            })
            .collect()
    }
}

/// A poisoned lock only means another scan thread panicked; its data is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cascade::model::{Features, WindowSize};

    fn cascade(width: u32, height: u32) -> Cascade {
        Cascade {
            window: WindowSize { width, height },
            features: Features::Haar(Vec::new()),
            stages: Vec::new(),
            trees: Vec::new(),
            nodes: Vec::new(),
            leaves: Vec::new(),
            subsets: Vec::new(),
        }
    }

    fn params(min: u32, max: Option<u32>) -> DetectParams {
        DetectParams {
            scale_factor: 1.1,
            min_neighbors: 3,
            min_size: (min, min),
            max_size: max.map(|m| (m, m)),
        }
    }

    #[test]
    fn scales_grow_until_the_window_leaves_the_image() {
        let s = scales(&cascade(24, 24), (100, 60), &params(0, None));
        // 24·1.1^9 = 56.6 -> 57 fits 60 rows; 1.1^10 gives 62, which does not.
        assert_eq!(s.len(), 10);
        assert_eq!(s[0], 1.0);
        assert_eq!(s[1], 1.1f64 as f32);
    }

    #[test]
    fn min_and_max_size_select_scales() {
        let s = scales(&cascade(24, 24), (400, 300), &params(30, Some(50)));
        let windows: Vec<i64> = s.iter().map(|&s| (24.0 * s).round_ties_even() as i64).collect();
        assert_eq!(windows, vec![32, 35, 39, 43, 47]);
    }

    #[test]
    fn empty_selection_falls_back_to_the_scale_nearest_min_size() {
        // A max size below the window leaves nothing; OpenCV then scans scale 1 (min size 0).
        assert_eq!(scales(&cascade(24, 24), (100, 100), &params(0, Some(10))), vec![1.0]);
        // A min size beyond the image: the largest scale that fits.
        let all = scales(&cascade(24, 24), (100, 100), &params(0, None));
        let big = scales(&cascade(24, 24), (100, 100), &params(500, None));
        assert_eq!(big, vec![*all.last().unwrap()]);
    }

    #[test]
    fn regression_last_row_skipped_like_opencv_stripes() {
        // 30×28 image, 24×24 window: 5 row origins, step 2, one stripe of 4 rows, so OpenCV
        // scans rows 0 and 2 but not 4.
        let p = DetectParams { scale_factor: 1.5, ..params(0, None) };
        let levels = levels(&cascade(24, 24), (30, 28), &p);
        assert_eq!(levels.len(), 1);
        assert_eq!(levels[0].grid, Grid { cols: 7, rows: 4, step: 2 });
    }

    #[test]
    fn images_smaller_than_the_window_have_no_levels() {
        assert!(levels(&cascade(24, 24), (23, 100), &params(0, None)).is_empty());
    }
}
