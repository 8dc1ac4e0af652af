//! Where frames come from: a camera (V4L2 through nokhwa) or a replay of an image folder, both
//! behind [`FrameSource`], and the capture thread that keeps one open ([`capture`]) and hands
//! frames to the pipeline through a [`FrameSlot`] where the newest frame wins.
//!
//! A source delivers a [`Captured`] frame: the bytes as they came plus a small gray preview made
//! the cheapest way the format allows (a reduced-size JPEG decode, the luma of YUYV read in
//! place). The motion gate reads only the preview; a frame is decoded in full ([`Frame`]) only
//! when the gate lets it through, so a frame of an empty room never costs a full decode.

pub mod camera;
pub mod capture;
pub mod replay;
pub mod scripted;
pub mod slot;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use image::RgbImage;

use crate::config::SourceSpec;
use crate::settings::SourceSettings;
use lookout_vision::image_io::{self, Decoded};
use lookout_vision::imgproc::{shrink_mean, GrayImage};

pub use capture::{spawn_capture, CaptureOptions};
pub use slot::{FrameSlot, Taken};

/// The motion gate reads frames at least this wide: 80x60 for a 640x480 camera, where a JPEG
/// decoder runs its IDCT on the DC coefficient alone (1/8 scale; 1/4 costs 2.2 times as much
/// on x86-64) and a smallest face (40 px) is still 5x5 pixels. 1280x720 gives 160x90.
pub const PREVIEW_WIDTH: u16 = 80;

/// A frame as its source delivered it, with the gate's preview; [`Captured::decode`] makes the
/// full [`Frame`].
#[derive(Debug)]
pub struct Captured {
    /// 1-based count of frames this source delivered since the daemon started.
    pub seq: u64,
    /// Replay: the file name.
    pub name: Option<String>,
    pub captured: Instant,
    /// When the frame was taken on the source's own clock: a camera's time since it opened, a
    /// replay's frame number over its frame rate. Replays keep the same times however fast they
    /// are read, so the gate's timings (linger, periodic scans) and its decisions repeat.
    pub at: Duration,
    /// The full frame's size.
    pub width: u32,
    pub height: u32,
    /// About [`PREVIEW_WIDTH`] wide, gray.
    pub preview: GrayImage,
    picture: Picture,
}

#[derive(Debug)]
enum Picture {
    Decoded(Decoded),
    Jpeg(Vec<u8>),
    /// Packed YUYV 4:2:2 of the frame's size.
    Yuyv(Vec<u8>),
}

impl Captured {
    /// A frame already decoded (PNG files, gray cameras, tests): the preview is its gray image
    /// shrunk by block means.
    pub fn decoded(decoded: Decoded, seq: u64, name: Option<String>, at: Duration) -> Captured {
        let gray = &decoded.gray;
        let preview =
            shrink_mean(&gray.pixels, gray.width, gray.height, 1, shrink_factor(gray.width))
                .unwrap_or_else(empty_gray);
        let (width, height) = (gray.width as u32, gray.height as u32);
        let picture = Picture::Decoded(decoded);
        Captured { seq, name, captured: Instant::now(), at, width, height, preview, picture }
    }

    /// A JPEG (an MJPEG camera frame or a replayed file); `what` names it in errors. The
    /// preview is decoded at reduced size; a JPEG the reduced decoder refuses is a bad frame.
    pub fn jpeg(
        bytes: Vec<u8>,
        what: &Path,
        seq: u64,
        name: Option<String>,
        at: Duration,
    ) -> Result<Captured, SourceError> {
        let preview = image_io::jpeg_preview(&bytes, what, PREVIEW_WIDTH, image_io::MAX_PIXELS)
            .map_err(|e| SourceError::BadFrame(crate::logging::chain(&e)))?;
        Ok(Captured {
            seq,
            name,
            captured: Instant::now(),
            at,
            width: preview.full_width,
            height: preview.full_height,
            preview: preview.gray,
            picture: Picture::Jpeg(bytes),
        })
    }

    /// A packed YUYV frame (`data` holds at least `width * height * 2` bytes, `width` even):
    /// the preview is the luma plane shrunk where it lies.
    pub fn yuyv(
        mut data: Vec<u8>,
        width: u32,
        height: u32,
        seq: u64,
        at: Duration,
    ) -> Result<Captured, SourceError> {
        let (w, h) = (width as usize, height as usize);
        if data.len() < w * h * 2 || w % 2 != 0 {
            return Err(SourceError::BadFrame(format!(
                "YUYV frame {width}x{height}: {} bytes, expected {}",
                data.len(),
                w * h * 2
            )));
        }
        data.truncate(w * h * 2);
        let preview = shrink_mean(&data, w, h, 2, shrink_factor(w)).unwrap_or_else(empty_gray);
        let picture = Picture::Yuyv(data);
        Ok(Captured {
            seq,
            name: None,
            captured: Instant::now(),
            at,
            width,
            height,
            preview,
            picture,
        })
    }

    /// The whole frame, with its colour image only when `keep_color` (gray-only pipelines then
    /// hold a third of the memory per frame).
    pub fn decode(self, keep_color: bool) -> Result<Frame, SourceError> {
        let decoded = match self.picture {
            Picture::Decoded(decoded) => decoded,
            Picture::Jpeg(bytes) => {
                let what = self.name.clone().unwrap_or_else(|| format!("frame {}", self.seq));
                image_io::decode(&bytes, Path::new(&what), image_io::MAX_PIXELS)
                    .map_err(|e| SourceError::BadFrame(crate::logging::chain(&e)))?
            }
            Picture::Yuyv(data) => {
                camera::yuyv_to_decoded(&data, self.width as usize, self.height as usize)
            }
        };
        let frame = Frame { captured: self.captured, ..Frame::new(decoded, self.seq, self.name) };
        Ok(if keep_color { frame } else { frame.without_color() })
    }

    /// What events call the frame: the replay file name or the camera sequence number.
    pub fn id(&self) -> String {
        frame_id(&self.name, self.seq)
    }
}

/// Frames skipped because they could not be decoded, said in the log: the first few tell the
/// story, after that one line per hundred.
#[derive(Debug, Default)]
pub struct BadFrames(u64);

impl BadFrames {
    /// Counts one skipped frame of `source` and logs it if it is one of those to tell.
    pub fn skipped(&mut self, source: &str, msg: &str) {
        self.0 += 1;
        if self.0 <= 5 || self.0.is_multiple_of(100) {
            log::warn!("{source}: skipping a frame ({} so far): {msg}", self.0);
        }
    }
}

/// The block size that shrinks a frame `width` pixels wide to about [`PREVIEW_WIDTH`].
fn shrink_factor(width: usize) -> usize {
    (width / PREVIEW_WIDTH as usize).max(1)
}

fn empty_gray() -> GrayImage {
    GrayImage { width: 0, height: 0, pixels: Vec::new() }
}

fn frame_id(name: &Option<String>, seq: u64) -> String {
    match name {
        Some(name) => name.clone(),
        None => seq.to_string(),
    }
}

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
    pub fn new(decoded: Decoded, seq: u64, name: Option<String>) -> Frame {
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
        frame_id(&self.name, self.seq)
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
    fn next_frame(&mut self, seq: u64) -> Result<Captured, SourceError>;
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
            settings.fps.get() as f64,
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
