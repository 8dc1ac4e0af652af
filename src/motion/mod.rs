//! The motion gate: decides, from a small gray picture of each frame, whether (and where) the
//! cascade runs. A running-average background, a per-pixel threshold, despeckling, blobs with
//! a minimum area and masks find what moved; most of the frame changing at once (lights, IR
//! mode) re-learns the background instead. The cascade then runs on the moving regions, for a
//! while after motion stops, on whole frames while a face is tracked (a track must see its
//! face to go on or end), and on a whole frame every few seconds anyway (someone sitting still
//! is part of the background by then). Frames with none of these cost only the gate.

mod background;
mod mask;
mod regions;

use std::time::Duration;

use crate::config::ScanArea;
use crate::settings::MotionSettings;
use crate::source::Captured;
use background::Background;
use lookout_vision::cascade::Rect;
use lookout_vision::imgproc::GrayImage;

/// After a light switch the camera's exposure settles over several frames: the background
/// follows the picture for this long and nothing counts as motion.
const SETTLE: Duration = Duration::from_secs(1);

/// Regions covering more than this share of the frame are scanned as one whole frame: the
/// cascade's pyramid over the whole frame costs less than several large crops.
const WHOLE_FRAME_SHARE: f64 = 0.5;

/// What the cascade does with a frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Scan {
    /// Nothing moved and nothing is due: the frame stops at the gate.
    Skip,
    /// Only these parts of the frame (frame pixels, not overlapping).
    Regions(Vec<Rect>),
    Whole(Why),
}

impl std::fmt::Display for Scan {
    /// `skip`, `regions 2`, `whole linger`: for log lines.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scan::Skip => f.write_str("skip"),
            Scan::Regions(r) => write!(f, "regions {}", r.len()),
            Scan::Whole(why) => write!(f, "whole {}", format!("{why:?}").to_lowercase()),
        }
    }
}

/// Why a whole frame is scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    Motion,
    /// Motion stopped less than `linger` ago.
    Linger,
    /// A face is being tracked.
    Tracking,
    /// Nothing moved for `full_scan`.
    Periodic,
}

/// The gate's view of one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    pub scan: Scan,
    /// What moved, in frame pixels (before growing; for drawing).
    pub moving: Vec<Rect>,
    /// Share of the watched picture that differs from the background, 0-1.
    pub fraction: f32,
    /// This frame changed too much at once: the background was learnt again.
    pub light_switch: bool,
}

pub struct Gate {
    settings: MotionSettings,
    /// The smallest face in frame pixels: regions grow by at least this much.
    min_face: i32,
    background: Option<Background>,
    last_at: Option<Duration>,
    last_motion: Option<Duration>,
    last_full: Option<Duration>,
    settle_until: Option<Duration>,
}

impl Gate {
    pub fn new(settings: MotionSettings, min_face: u32) -> Gate {
        Gate {
            settings,
            min_face: min_face.max(1) as i32,
            background: None,
            last_at: None,
            last_motion: None,
            last_full: None,
            settle_until: None,
        }
    }

    /// Looks at a captured frame; `tracking`: the pipeline follows a face (or waits for one's
    /// result) and needs whole frames.
    pub fn look(&mut self, frame: &Captured, tracking: bool) -> Look {
        self.look_at(&frame.preview, (frame.width, frame.height), frame.at, tracking)
    }

    /// [`Gate::look`] on a gate picture of a `frame_size` frame taken at `at`.
    pub fn look_at(
        &mut self,
        picture: &GrayImage,
        frame_size: (u32, u32),
        at: Duration,
        tracking: bool,
    ) -> Look {
        let (moving, fraction, light_switch) = self.find_motion(picture, frame_size, at);
        if !moving.is_empty() {
            self.last_motion = Some(at);
        }
        let since = |t: Option<Duration>| t.map(|t| at.saturating_sub(t));
        let scan = if tracking {
            Scan::Whole(Why::Tracking)
        } else if !moving.is_empty() {
            self.regions(&moving, frame_size)
        } else if since(self.last_motion).is_some_and(|d| d <= self.settings.linger) {
            Scan::Whole(Why::Linger)
        } else if since(self.last_full).is_none_or(|d| d >= self.settings.full_scan) {
            Scan::Whole(Why::Periodic)
        } else {
            Scan::Skip
        };
        if matches!(scan, Scan::Whole(_)) {
            self.last_full = Some(at);
        }
        Look { scan, moving, fraction, light_switch }
    }

    /// Compares the picture with the background and learns from it: the moving areas in frame
    /// pixels, the changed share and whether this was a light switch.
    fn find_motion(
        &mut self,
        picture: &GrayImage,
        (fw, fh): (u32, u32),
        at: Duration,
    ) -> (Vec<Rect>, f32, bool) {
        let dt = self.last_at.map_or(Duration::ZERO, |t| at.saturating_sub(t));
        self.last_at = Some(at);
        let background = match &mut self.background {
            Some(b) if b.fits(picture) => b,
            // The first frame, or the camera came back at another size: start over from it.
            _ => {
                let watched =
                    mask::watched(&self.settings.masks, fw, fh, picture.width, picture.height);
                self.background = Some(Background::new(picture, watched));
                return (Vec::new(), 0.0, false);
            }
        };
        let fraction = background.compare(picture, self.settings.threshold);
        // Before despeckling: a pixel's streak is about the picture, not about the blobs kept.
        background.absorb_stationary(
            picture,
            dt.as_secs_f32(),
            self.settings.stationary.as_secs_f32(),
        );
        if fraction >= self.settings.lightswitch {
            log::info!(
                "motion: {:.0}% of the frame changed at once (lights?); learning the background again",
                fraction * 100.0
            );
            background.learn(picture, 1.0);
            self.settle_until = Some(at + SETTLE);
            return (Vec::new(), fraction, true);
        }
        if self.settle_until.is_some_and(|until| at < until) {
            background.learn(picture, 1.0);
            return (Vec::new(), fraction, false);
        }
        if self.settings.despeckle {
            background.despeckle();
        }
        let (w, h) = background.size();
        let (sx, sy) = (fw as f64 / w.max(1) as f64, fh as f64 / h.max(1) as f64);
        let min_area = (self.settings.min_area as f64 / (sx * sy)).ceil().max(1.0) as usize;
        let moving = background
            .blobs(min_area)
            .into_iter()
            .map(|b| Rect {
                x: (b.x as f64 * sx).floor() as i32,
                y: (b.y as f64 * sy).floor() as i32,
                width: (b.width as f64 * sx).ceil() as i32,
                height: (b.height as f64 * sy).ceil() as i32,
            })
            .collect();
        // Time constant `background`: after that long a lasting change is 63% learnt,
        // whatever the frame rate.
        let alpha = 1.0 - (-dt.as_secs_f64() / self.settings.background.as_secs_f64()).exp();
        background.learn(picture, alpha as f32);
        (moving, fraction, false)
    }

    /// The scan for a frame where `moving` moved.
    fn regions(&self, moving: &[Rect], (fw, fh): (u32, u32)) -> Scan {
        if self.settings.scan == ScanArea::Frame {
            return Scan::Whole(Why::Motion);
        }
        // A moving body's blob may hold its face at an edge, and a moving head alone may be
        // smaller than the face: grow by a smallest face and an eighth of the blob's size.
        let min_face = self.min_face;
        let regions =
            regions::grow_and_merge(moving, fw, fh, |r| min_face + r.width.max(r.height) / 8);
        if regions::area(&regions) as f64 > WHOLE_FRAME_SHARE * fw as f64 * fh as f64 {
            Scan::Whole(Why::Motion)
        } else {
            Scan::Regions(regions)
        }
    }
}

#[cfg(test)]
mod tests;
