//! Where frames come from: a camera (V4L2 through nokhwa) or a replay of an image folder, both
//! behind [`FrameSource`], and the capture thread that keeps one open ([`capture`]) and hands
//! frames to the pipeline through a [`FrameSlot`] where the newest frame wins.

pub mod camera;
pub mod capture;
pub mod replay;
pub mod scripted;
pub mod slot;

use std::sync::Arc;
use std::time::Instant;

use image::RgbImage;

use crate::config::SourceSpec;
use crate::settings::SourceSettings;
use lookout_vision::imgproc::GrayImage;

pub use capture::{spawn_capture, CaptureOptions};
pub use slot::{FrameSlot, Taken};

/// One frame, decoded once into the two forms the pipeline needs.
#[derive(Debug, Clone)]
pub struct Frame {
    pub rgb: Arc<RgbImage>,
    pub gray: Arc<GrayImage>,
    /// 1-based count of frames this source delivered since the daemon started.
    pub seq: u64,
    /// Replay: the file name, which events carry so a decision can be traced to its frame.
    pub name: Option<String>,
    pub captured: Instant,
}

impl Frame {
    pub fn new(
        decoded: lookout_vision::image_io::Decoded,
        seq: u64,
        name: Option<String>,
    ) -> Frame {
        Frame {
            rgb: Arc::new(decoded.rgb),
            gray: Arc::new(decoded.gray),
            seq,
            name,
            captured: Instant::now(),
        }
    }

    /// Drops the colour image: a gray-only pipeline then holds a third of the memory per frame
    /// in flight. `rgb` becomes 0×0; [`Frame::color`] rebuilds colour from gray if it is asked
    /// for after all.
    pub fn without_color(mut self) -> Frame {
        self.rgb = Arc::new(RgbImage::new(0, 0));
        self
    }

    /// The colour image, or the gray one as RGB when colour was dropped.
    pub fn color(&self) -> Arc<RgbImage> {
        if self.rgb.width() > 0 || self.gray.width == 0 {
            return self.rgb.clone();
        }
        let g = &self.gray;
        let data = g.pixels.iter().flat_map(|&v| [v, v, v]).collect();
        Arc::new(RgbImage::from_raw(g.width as u32, g.height as u32, data).unwrap_or_default())
    }

    /// What events call the frame: the replay file name or the camera sequence number.
    pub fn id(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => self.seq.to_string(),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    /// The device is missing, busy or failed: close, back off, reopen.
    #[error("{0}")]
    Unavailable(String),
    /// One frame could not be decoded; the next may be fine.
    #[error("{0}")]
    BadFrame(String),
    /// A replay ran out of frames.
    #[error("end of frames")]
    Ended,
    /// Retrying cannot help (a replay folder that does not exist).
    #[error("{0}")]
    Fatal(String),
}

/// A camera or anything that behaves like one.
pub trait FrameSource: Send {
    /// For log lines: `camera:0`, `replay:frames/`.
    fn describe(&self) -> String;
    fn open(&mut self) -> Result<(), SourceError>;
    /// Blocks until the next frame; `seq` is the number to give it.
    fn next_frame(&mut self, seq: u64) -> Result<Frame, SourceError>;
    fn close(&mut self);
    /// Live sources run at their own pace, so a slow pipeline drops their stale frames; a
    /// non-live replay waits for the pipeline instead, so every frame is seen.
    fn is_live(&self) -> bool;
}

/// The source the settings name.
pub fn from_settings(settings: &SourceSettings) -> Box<dyn FrameSource> {
    match &settings.input {
        SourceSpec::Camera(id) => Box::new(camera::Camera::new(id.clone(), settings)),
        SourceSpec::Replay(dir) => Box::new(replay::Replay::new(
            dir.clone(),
            settings.replay_fps.unwrap_or(0.0),
            settings.replay_loops.map_or(0, |n| n.get()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_colour_comes_back_as_gray_when_asked_for() {
        let rgb = RgbImage::from_pixel(4, 2, image::Rgb([200, 100, 50]));
        let frame = Frame::new(
            lookout_vision::image_io::decoded(image::DynamicImage::ImageRgb8(rgb)),
            1,
            None,
        );
        let gray = frame.gray.pixels[0];
        assert_eq!(frame.color().get_pixel(0, 0).0, [200, 100, 50]);
        let frame = frame.without_color();
        assert_eq!(frame.rgb.dimensions(), (0, 0));
        assert_eq!(frame.color().dimensions(), (4, 2));
        assert_eq!(frame.color().get_pixel(3, 1).0, [gray; 3]);
    }
}
