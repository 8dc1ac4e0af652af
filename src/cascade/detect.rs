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
}

/// The scales OpenCV would scan: factors 1, f, f², … (in f64), kept while the rounded window
/// fits the image and `max_size`, skipped while it is below `min_size`; stored as f32.
fn levels(cascade: &Cascade, image: (usize, usize), params: &DetectParams) -> Vec<Level> {
    let (iw, ih) = (image.0 as f64, image.1 as f64);
    let (mw, mh) = params.max_size.map_or((iw, ih), |(w, h)| {
        if w == 0 || h == 0 {
            (iw, ih)
        } else {
            (w as f64, h as f64)
        }
    });
    let (ow, oh) = (cascade.window.width as f64, cascade.window.height as f64);
    let mut out = Vec::new();
    let mut factor = 1.0f64;
    loop {
        let (ww, wh) = ((ow * factor).round_ties_even(), (oh * factor).round_ties_even());
        if ww > mw || wh > mh || ww > iw || wh > ih {
            break;
        }
        if ww >= params.min_size.0 as f64 && wh >= params.min_size.1 as f64 {
            let scale = factor as f32;
            out.push(Level {
                scale,
                width: (image.0 as f32 / scale).round_ties_even() as usize,
                height: (image.1 as f32 / scale).round_ties_even() as usize,
            });
        }
        factor *= params.scale_factor;
    }
    out
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
        // OpenCV places windows where x + win < w + 1, and steps 2 px below scale 2.
        let grid = Grid {
            cols: (w + 1).saturating_sub(ww),
            rows: (h + 1).saturating_sub(wh),
            step: if level.scale >= 2.0 { 1 } else { 2 },
        };
        s.hits.clear();
        scan(cascade, &self.prepared, &s.compiled, &s.integrals.data, grid, &mut s.hits);
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
