//! A V4L2 camera through nokhwa. Frames arrive as MJPEG or YUYV and are handed on as they came,
//! with the motion gate's preview (see [`super::Captured`]); decoding is pure Rust, so the Pi
//! build needs no C JPEG library. Device paths such as
//! `/dev/v4l/by-id/usb-...-video-index0` are resolved to their `/dev/videoN` at every open, so
//! a camera that comes back under a new number after re-plugging is found again.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nokhwa::utils::{
    CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution,
};

use super::{Captured, FrameSource, SourceError};
use crate::config::{CameraId, PixelFormat};
use crate::settings::SourceSettings;
use lookout_vision::image_io::{decoded, Decoded};
use lookout_vision::imgproc::GrayImage;

pub struct Camera {
    id: CameraId,
    width: u32,
    height: u32,
    fps: u32,
    format: PixelFormat,
    device: Option<Device>,
    /// The camera's clock starts when it is first opened and runs on through reconnections.
    started: Option<Instant>,
}

/// nokhwa's camera is not `Send` (its backend is a plain trait object), but the daemon builds
/// `Camera` on the main thread and moves it to the capture thread before opening it.
struct Device(nokhwa::Camera);

// SAFETY: a `Device` is created in `open` and used and dropped only by the thread that owns
// the `Camera`; it is never shared. The V4L2 backend holds a file descriptor and mmap'ed
// buffers, which may be used from any thread as long as one thread at a time does.
unsafe impl Send for Device {}

impl Camera {
    pub fn new(id: CameraId, settings: &SourceSettings) -> Camera {
        Camera {
            id,
            width: settings.width.get(),
            height: settings.height.get(),
            fps: settings.fps.get(),
            format: settings.format,
            device: None,
            started: None,
        }
    }
}

/// `/dev/video3` or a symlink to it → 3.
pub fn device_index(path: &Path) -> Result<u32, SourceError> {
    let real = std::fs::canonicalize(path)
        .map_err(|e| SourceError::Unavailable(format!("camera {}: {e}", path.display())))?;
    real.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("video"))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            SourceError::Fatal(format!(
                "camera {}: resolves to {}, which is not a /dev/videoN device",
                path.display(),
                real.display()
            ))
        })
}

impl FrameSource for Camera {
    fn describe(&self) -> String {
        match &self.id {
            CameraId::Index(i) => format!("camera:{i}"),
            CameraId::Path(p) => format!("camera:{}", p.display()),
        }
    }

    fn open(&mut self) -> Result<(), SourceError> {
        let index = match &self.id {
            CameraId::Index(i) => *i,
            CameraId::Path(p) => device_index(p)?,
        };
        let node = PathBuf::from(format!("/dev/video{index}"));
        // nokhwa panics in some drivers' paths when the node is absent; check first.
        if !node.exists() {
            return Err(SourceError::Unavailable(format!("{}: no such device", node.display())));
        }
        let wanted = match self.format {
            PixelFormat::Mjpeg => FrameFormat::MJPEG,
            PixelFormat::Yuyv => FrameFormat::YUYV,
        };
        let format = CameraFormat::new(Resolution::new(self.width, self.height), wanted, self.fps);
        let request = RequestedFormat::with_formats(
            RequestedFormatType::Closest(format),
            &[FrameFormat::MJPEG, FrameFormat::YUYV, FrameFormat::GRAY],
        );
        let mut camera = nokhwa::Camera::new(CameraIndex::Index(index), request)
            .map_err(|e| SourceError::Unavailable(format!("{}: {e}", node.display())))?;
        camera.open_stream().map_err(|e| {
            SourceError::Unavailable(format!("{}: cannot start streaming: {e}", node.display()))
        })?;
        let got = camera.camera_format();
        log::info!(
            "{}: {}x{} {} at {} fps",
            node.display(),
            got.width(),
            got.height(),
            got.format(),
            got.frame_rate()
        );
        self.device = Some(Device(camera));
        self.started.get_or_insert_with(Instant::now);
        Ok(())
    }

    fn next_frame(&mut self, seq: u64) -> Result<Captured, SourceError> {
        let camera = self
            .device
            .as_mut()
            .ok_or_else(|| SourceError::Unavailable("camera is not open".into()))?;
        let buffer = camera
            .0
            .frame()
            .map_err(|e| SourceError::Unavailable(format!("{}: {e}", self.id_text())))?;
        let res = buffer.resolution();
        let at = self.started.map_or(Duration::ZERO, |s| s.elapsed());
        let format = buffer.source_frame_format();
        capture(buffer.buffer(), format, res.width_x, res.height_y, seq, at)
    }

    fn close(&mut self) {
        if let Some(mut camera) = self.device.take() {
            let _ = camera.0.stop_stream();
        }
    }

    fn is_live(&self) -> bool {
        true
    }
}

impl Camera {
    fn id_text(&self) -> String {
        self.describe()
    }
}

/// One camera buffer as a captured frame: MJPEG and YUYV are copied as they are (decoded only
/// if the gate lets them through), gray frames are taken as decoded.
pub fn capture(
    data: &[u8],
    format: FrameFormat,
    width: u32,
    height: u32,
    seq: u64,
    at: Duration,
) -> Result<Captured, SourceError> {
    let (w, h) = (width as usize, height as usize);
    let bad =
        |what: &str| SourceError::BadFrame(format!("{format} frame {width}x{height}: {what}"));
    match format {
        // A glitched USB frame must not take the capture thread down with a JPEG decoder:
        // both the preview's and the full decode catch a decoder's panic.
        FrameFormat::MJPEG => {
            let what = format!("MJPEG frame {seq}");
            Captured::jpeg(data.to_vec(), Path::new(&what), seq, None, at)
        }
        FrameFormat::YUYV => Captured::yuyv(data.to_vec(), width, height, seq, at),
        FrameFormat::GRAY => {
            if data.len() < w * h {
                return Err(bad(&format!("{} bytes, expected {}", data.len(), w * h)));
            }
            let luma = image::GrayImage::from_raw(width, height, data[..w * h].to_vec())
                .ok_or_else(|| bad("size"))?;
            let gray = decoded(image::DynamicImage::ImageLuma8(luma));
            Ok(Captured::decoded(gray, seq, None, at))
        }
        other => Err(bad(&format!("{other} is not supported; ask for mjpeg or yuyv"))),
    }
}

/// YUYV 4:2:2 (BT.601, limited range) to RGB; the gray image is the luma plane itself, as a
/// gray camera would give it.
pub(super) fn yuyv_to_decoded(data: &[u8], w: usize, h: usize) -> Decoded {
    let mut rgb = Vec::with_capacity(w * h * 3);
    let mut gray = Vec::with_capacity(w * h);
    for quad in data.chunks_exact(4) {
        let (u, v) = (quad[1] as f32 - 128.0, quad[3] as f32 - 128.0);
        for &y in &[quad[0], quad[2]] {
            let c = 1.164 * (y as f32 - 16.0);
            let px = [c + 1.596 * v, c - 0.392 * u - 0.813 * v, c + 2.017 * u];
            rgb.extend(px.iter().map(|x| x.round().clamp(0.0, 255.0) as u8));
            gray.push(y);
        }
    }
    let rgb = image::RgbImage::from_raw(w as u32, h as u32, rgb).unwrap_or_default();
    let gray = GrayImage::new(w, h, gray).unwrap_or_else(|| GrayImage {
        width: 0,
        height: 0,
        pixels: Vec::new(),
    });
    Decoded { rgb, gray }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_device_is_unavailable_not_a_crash() {
        let config = crate::settings::Settings::defaults().source;
        let mut camera = Camera::new(CameraId::Index(97), &config);
        assert!(
            matches!(camera.open(), Err(SourceError::Unavailable(m)) if m.contains("/dev/video97"))
        );
        let mut camera = Camera::new(CameraId::Path("/dev/v4l/by-id/usb-missing".into()), &config);
        assert!(
            matches!(camera.open(), Err(SourceError::Unavailable(m)) if m.contains("usb-missing"))
        );
        assert!(matches!(camera.next_frame(1), Err(SourceError::Unavailable(_))));
    }

    #[test]
    fn by_id_symlinks_resolve_to_their_video_node() {
        let dir = tempfile::tempdir().unwrap();
        let node = dir.path().join("video7");
        std::fs::write(&node, b"").unwrap();
        let link = dir.path().join("usb-cam-video-index0");
        std::os::unix::fs::symlink(&node, &link).unwrap();
        assert_eq!(device_index(&link).unwrap(), 7);
        let other = dir.path().join("not-a-camera");
        std::fs::write(&other, b"").unwrap();
        assert!(matches!(device_index(&other), Err(SourceError::Fatal(_))));
    }

    fn first(data: &[u8], format: FrameFormat, w: u32, h: u32) -> Result<Captured, SourceError> {
        capture(data, format, w, h, 1, Duration::ZERO)
    }

    #[test]
    fn yuyv_and_mjpeg_frames_decode() {
        // Two pixels of mid gray (Y=126, U=V=128) → RGB ≈ 128.
        let frame = [126u8, 128, 126, 128].repeat(2);
        let captured = first(&frame, FrameFormat::YUYV, 2, 2).unwrap();
        assert_eq!(captured.preview.pixels, vec![126; 4]);
        let d = captured.decode(true).unwrap();
        assert_eq!(d.gray.pixels, vec![126; 4]);
        assert!(d.rgb.pixels().all(|p| p.0.iter().all(|&c| (127..=129).contains(&c))));
        assert!(matches!(
            first(&frame[..4], FrameFormat::YUYV, 2, 2),
            Err(SourceError::BadFrame(_))
        ));
        let mut jpeg = Vec::new();
        image::RgbImage::from_pixel(16, 8, image::Rgb([200, 10, 10]))
            .write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
            .unwrap();
        let captured = first(&jpeg, FrameFormat::MJPEG, 16, 8).unwrap();
        assert_eq!((captured.width, captured.height), (16, 8));
        let d = captured.decode(false).unwrap();
        assert_eq!((d.gray.width, d.gray.height, d.rgb.width()), (16, 8, 0));
        let err = first(b"garbage", FrameFormat::MJPEG, 16, 8).unwrap_err();
        assert!(err.to_string().contains("MJPEG"), "{err}");
    }

    #[test]
    fn a_frame_that_crashes_the_jpeg_decoder_is_a_bad_frame() {
        // Made by the fuzzer: zune-jpeg's AVX2 upsampler panics on it. The preview's decoder
        // may refuse it first; if not, the full decode does.
        let frame = include_bytes!("../../tests/fixtures/images/jpeg_upsampler_panic.jpg");
        let err = first(frame, FrameFormat::MJPEG, 6, 5).and_then(|c| c.decode(true)).unwrap_err();
        assert!(matches!(err, SourceError::BadFrame(_)), "{err}");
    }
}
