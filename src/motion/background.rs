//! The gate's picture of the empty scene: a running average per pixel, the pixels that differ
//! from it now, and the blobs they make.

use lookout_vision::imgproc::GrayImage;

/// A moving area in gate-picture pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blob {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
    /// Changed pixels in it.
    pub area: usize,
}

pub struct Background {
    width: usize,
    height: usize,
    mean: Vec<f32>,
    watched: Vec<bool>,
    watched_count: usize,
    /// 1 where the current picture differs from the background, per pixel.
    changed: Vec<u8>,
    /// Seconds each pixel has differed without a break.
    changed_for: Vec<f32>,
    scratch: Vec<u8>,
}

impl Background {
    /// Starts from `first` as the empty scene; `watched` marks the pixels outside the masks.
    pub fn new(first: &GrayImage, watched: Vec<bool>) -> Background {
        let n = first.width * first.height;
        Background {
            width: first.width,
            height: first.height,
            mean: first.pixels.iter().map(|&v| v as f32).collect(),
            watched_count: watched.iter().filter(|&&w| w).count(),
            watched,
            changed: vec![0; n],
            changed_for: vec![0.0; n],
            scratch: vec![0; n],
        }
    }

    /// Whether `picture` has the size this background was made for.
    pub fn fits(&self, picture: &GrayImage) -> bool {
        (picture.width, picture.height) == (self.width, self.height)
    }

    /// Marks the watched pixels that differ from the background by more than `threshold`
    /// and returns their share of the watched pixels.
    pub fn compare(&mut self, picture: &GrayImage, threshold: u8) -> f32 {
        let mut count = 0;
        for (i, (&v, &m)) in picture.pixels.iter().zip(&self.mean).enumerate() {
            let moved = self.watched[i] && (v as f32 - m).abs() > threshold as f32;
            self.changed[i] = moved as u8;
            count += moved as usize;
        }
        count as f32 / self.watched_count.max(1) as f32
    }

    /// Removes changed areas thinner than 3 pixels (noise) and keeps the shape of the rest:
    /// a 3×3 erosion followed by a 3×3 dilation.
    pub fn despeckle(&mut self) {
        let (w, h) = (self.width, self.height);
        // Erode: a pixel stays when its whole 3×3 neighbourhood changed (edges count as not).
        for y in 0..h {
            for x in 0..w {
                let all = y > 0
                    && y + 1 < h
                    && x > 0
                    && x + 1 < w
                    && (y - 1..=y + 1).all(|yy| {
                        self.changed[yy * w + x - 1..=yy * w + x + 1].iter().all(|&c| c == 1)
                    });
                self.scratch[y * w + x] = all as u8;
            }
        }
        // Dilate the eroded picture back.
        for y in 0..h {
            for x in 0..w {
                let (y0, y1, x0, x1) = (
                    y.saturating_sub(1),
                    (y + 1).min(h - 1),
                    x.saturating_sub(1),
                    (x + 1).min(w - 1),
                );
                let any = (y0..=y1).any(|yy| self.scratch[yy * w + x0..=yy * w + x1].contains(&1));
                self.changed[y * w + x] = (any && self.watched[y * w + x]) as u8;
            }
        }
    }

    /// The 8-connected areas of changed pixels with at least `min_area` pixels.
    pub fn blobs(&mut self, min_area: usize) -> Vec<Blob> {
        let (w, h) = (self.width, self.height);
        let mut blobs = Vec::new();
        let mut stack = Vec::new();
        for start in 0..w * h {
            if self.changed[start] != 1 {
                continue;
            }
            // 2 = taken into a blob.
            self.changed[start] = 2;
            stack.push(start);
            let (mut x0, mut y0, mut x1, mut y1, mut area) = (w, h, 0, 0, 0);
            while let Some(i) = stack.pop() {
                let (x, y) = (i % w, i / w);
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
                area += 1;
                for yy in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                    for xx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                        let j = yy * w + xx;
                        if self.changed[j] == 1 {
                            self.changed[j] = 2;
                            stack.push(j);
                        }
                    }
                }
            }
            if area >= min_area {
                blobs.push(Blob { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1, area });
            }
        }
        blobs
    }

    /// Moves the background towards `picture` by `alpha` (0: keep, 1: replace).
    pub fn learn(&mut self, picture: &GrayImage, alpha: f32) {
        for (m, &v) in self.mean.iter_mut().zip(&picture.pixels) {
            *m += alpha * (v as f32 - *m);
        }
    }

    /// Adds `dt` seconds to the pixels that differ now (as marked by [`Background::compare`])
    /// and takes those that have differed for `stationary` seconds straight into the
    /// background: what stays put is scene, not motion. Without it a running average needs
    /// several time constants, and the wall someone sat in front of is "motion" after they left.
    pub fn absorb_stationary(&mut self, picture: &GrayImage, dt: f32, stationary: f32) {
        let pixels = picture.pixels.iter();
        for (((m, &v), t), &c) in
            self.mean.iter_mut().zip(pixels).zip(&mut self.changed_for).zip(&self.changed)
        {
            *t = if c == 0 { 0.0 } else { *t + dt };
            if *t >= stationary {
                *m = v as f32;
                *t = 0.0;
            }
        }
    }

    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(w: usize, h: usize, f: impl Fn(usize, usize) -> u8) -> GrayImage {
        let pixels = (0..w * h).map(|i| f(i % w, i / w)).collect();
        GrayImage::new(w, h, pixels).unwrap()
    }

    #[test]
    fn a_square_that_moved_is_one_blob_and_a_stray_pixel_is_noise() {
        let empty = picture(20, 10, |_, _| 50);
        let mut bg = Background::new(&empty, vec![true; 200]);
        let now = picture(20, 10, |x, y| {
            if (5..10).contains(&x) && (2..7).contains(&y) || (x, y) == (15, 8) {
                200
            } else {
                52
            }
        });
        let share = bg.compare(&now, 25);
        assert!((share - 26.0 / 200.0).abs() < 1e-6, "{share}");
        bg.despeckle();
        assert_eq!(
            bg.blobs(4),
            [Blob { x: 5, y: 2, width: 5, height: 5, area: 25 }],
            "the 5x5 square survives the opening whole, the stray pixel does not"
        );
    }

    #[test]
    fn blobs_below_the_minimum_area_are_dropped_and_learning_absorbs_a_change() {
        let empty = picture(10, 10, |_, _| 0);
        let mut bg = Background::new(&empty, vec![true; 100]);
        let now = picture(10, 10, |x, y| if x < 2 && y < 2 || x > 6 && y > 6 { 255 } else { 0 });
        bg.compare(&now, 10);
        let blobs = bg.blobs(5);
        assert_eq!(blobs.len(), 1, "{blobs:?}");
        assert_eq!((blobs[0].x, blobs[0].area), (7, 9));
        for _ in 0..60 {
            bg.learn(&now, 0.1);
        }
        assert_eq!(bg.compare(&now, 10), 0.0);
    }

    #[test]
    fn masked_pixels_never_count() {
        let empty = picture(4, 1, |_, _| 0);
        let mut bg = Background::new(&empty, vec![true, true, false, false]);
        let now = picture(4, 1, |_, _| 255);
        assert_eq!(bg.compare(&now, 10), 1.0);
        assert_eq!(bg.blobs(1)[0].width, 2);
    }
}
