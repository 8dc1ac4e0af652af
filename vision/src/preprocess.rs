//! The one preprocessing path shared by training (lookout-tools) and inference (the runtime):
//! region → fitted crop → resize → channels → normalised `f32` tensor in NCHW order.
//!
//! A model's [`InputSpec`] travels inside its ONNX file (`lookout.input`), so whatever trained
//! it and whatever runs it build identical tensors from the same pixels.

use serde::{Deserialize, Serialize};

use crate::cascade::Rect;
use crate::imgproc::{gray_pixel, resize_bilinear_exact, ResizeScratch};

/// How a region of the frame becomes the model's square or rectangular input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fit {
    /// Grow the region to a square around its centre (edge pixels repeated past the frame),
    /// then resize: faces keep their aspect ratio.
    PadSquare,
    /// Resize the region as it is.
    Stretch,
    /// Tighten the region to its ink (pixels darker than [`INK_THRESHOLD`]), pad that to a
    /// square of paper with a margin, then resize: handwritten characters of any size and
    /// position come out centred and scaled alike.
    InkBox,
}

/// Tensor memory layout. Only NCHW is produced today; the field exists so files say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TensorLayout {
    Nchw,
}

/// What a model expects as input: stored as JSON in `lookout.input`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub width: u32,
    pub height: u32,
    /// 1 (gray, OpenCV's weights) or 3 (RGB).
    pub channels: u32,
    pub layout: TensorLayout,
    /// Multiplies each 0..255 pixel before `mean` and `std` apply (e.g. 1/255).
    pub scale: f32,
    /// Per channel: `value = (pixel · scale − mean) / std`.
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    pub fit: Fit,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SpecError {
    #[error("input size must be 1..=4096 on each side, got {0}x{1}")]
    Size(u32, u32),
    #[error("channels must be 1 or 3, got {0}")]
    Channels(u32),
    #[error("mean and std need one value per channel ({channels}), got {mean} and {std}")]
    PerChannel { channels: u32, mean: usize, std: usize },
    #[error("scale and mean must be finite and std finite and non-zero")]
    Values,
}

/// Pixels darker than this count as ink for [`Fit::InkBox`].
pub const INK_THRESHOLD: u8 = 200;

/// Margin around the ink, as a fraction of the ink box's longer side.
const INK_MARGIN: f32 = 0.08;

impl InputSpec {
    pub fn validate(&self) -> Result<(), SpecError> {
        if !(1..=4096).contains(&self.width) || !(1..=4096).contains(&self.height) {
            return Err(SpecError::Size(self.width, self.height));
        }
        if self.channels != 1 && self.channels != 3 {
            return Err(SpecError::Channels(self.channels));
        }
        if self.mean.len() != self.channels as usize || self.std.len() != self.channels as usize {
            return Err(SpecError::PerChannel {
                channels: self.channels,
                mean: self.mean.len(),
                std: self.std.len(),
            });
        }
        let finite = self.scale.is_finite() && self.mean.iter().all(|v| v.is_finite());
        if !finite || self.std.iter().any(|v| !v.is_finite() || *v == 0.0) {
            return Err(SpecError::Values);
        }
        Ok(())
    }

    /// Number of `f32` values one sample occupies.
    pub fn len(&self) -> usize {
        (self.channels * self.width * self.height) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An 8-bit image with 1 (gray) or 3 (RGB) interleaved channels.
#[derive(Debug, Clone, Copy)]
pub struct Pixels<'a> {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub data: &'a [u8],
}

impl<'a> Pixels<'a> {
    /// An RGB image's pixels.
    pub fn rgb(image: &'a image::RgbImage) -> Pixels<'a> {
        Pixels {
            width: image.width() as usize,
            height: image.height() as usize,
            channels: 3,
            data: image.as_raw(),
        }
    }

    /// The whole image as a region.
    pub fn whole(&self) -> Rect {
        Rect { x: 0, y: 0, width: self.width as i32, height: self.height as i32 }
    }

    fn at(&self, x: usize, y: usize, c: usize) -> u8 {
        self.data[(y * self.width + x) * self.channels + c]
    }
}

/// A face as training data: the region grown to a square (edges repeated past the frame, as
/// the pad-square fit does for the classifier) and resized to `side`×`side` RGB. Used by
/// `lookout capture` and `lookout-tools extract-faces`, so enrolment crops and training crops
/// are the same pixels the daemon will classify.
pub fn face_crop(
    pre: &mut Preprocessor,
    rgb: &image::RgbImage,
    face: Rect,
    side: u32,
) -> image::RgbImage {
    let spec = InputSpec {
        width: side,
        height: side,
        channels: 3,
        layout: TensorLayout::Nchw,
        scale: 1.0,
        mean: vec![0.0; 3],
        std: vec![1.0; 3],
        fit: Fit::PadSquare,
    };
    let pixels = Pixels::rgb(rgb);
    let mut planes = Vec::new();
    pre.prepare(&spec, pixels, face, &mut planes);
    let area = (side * side) as usize;
    let mut crop = image::RgbImage::new(side, side);
    for (i, pixel) in crop.pixels_mut().enumerate() {
        for c in 0..3 {
            pixel.0[c] = planes[c * area + i].round().clamp(0.0, 255.0) as u8;
        }
    }
    crop
}

/// Reusable buffers, so the daemon's per-face work allocates nothing once warm.
#[derive(Debug, Default)]
pub struct Preprocessor {
    planes: Vec<Vec<u8>>,
    resized: Vec<u8>,
    scratch: ResizeScratch,
}

impl Preprocessor {
    /// Writes the model input for `region` of `image` into `out` (cleared first), NCHW.
    ///
    /// `spec` must be valid ([`InputSpec::validate`]); `image` must hold `width · height ·
    /// channels` bytes with 1 or 3 channels. The region is clipped to the frame; an empty
    /// region yields a tensor of the spec's paper/edge colour rather than an error.
    pub fn prepare(&mut self, spec: &InputSpec, image: Pixels, region: Rect, out: &mut Vec<f32>) {
        assert!(image.channels == 1 || image.channels == 3, "1 or 3 channels");
        assert_eq!(
            image.data.len(),
            image.width * image.height * image.channels,
            "image buffer size"
        );
        let window = match spec.fit {
            Fit::Stretch => clip(region, image.width, image.height),
            Fit::PadSquare => square_around(region),
            Fit::InkBox => ink_square(image, clip(region, image.width, image.height)),
        };
        // Paper colour past the frame for characters, repeated edges for photographs.
        let fill = (spec.fit == Fit::InkBox).then_some(255u8);
        let channels = spec.channels as usize;
        let (w, h) = (spec.width as usize, spec.height as usize);
        self.planes.resize_with(channels, Vec::new);
        for c in 0..channels {
            let plane = &mut self.planes[c];
            extract(image, window, c, channels, fill, plane);
        }
        out.clear();
        out.reserve(spec.len());
        let (ww, wh) = (window.width.max(1) as usize, window.height.max(1) as usize);
        for c in 0..channels {
            self.resized.resize(w * h, 0);
            resize_bilinear_exact(
                &self.planes[c],
                ww,
                wh,
                &mut self.resized,
                w,
                h,
                &mut self.scratch,
            );
            let (mean, std) = (spec.mean[c], spec.std[c]);
            out.extend(self.resized.iter().map(|&p| (p as f32 * spec.scale - mean) / std));
        }
    }
}

fn clip(r: Rect, width: usize, height: usize) -> Rect {
    let x0 = r.x.clamp(0, width as i32);
    let y0 = r.y.clamp(0, height as i32);
    let x1 = (r.x.saturating_add(r.width)).clamp(x0, width as i32);
    let y1 = (r.y.saturating_add(r.height)).clamp(y0, height as i32);
    Rect { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }
}

fn square_around(r: Rect) -> Rect {
    let side = r.width.max(r.height).max(1);
    Rect {
        x: r.x - (side - r.width) / 2,
        y: r.y - (side - r.height) / 2,
        width: side,
        height: side,
    }
}

/// The square, with margin, around the ink inside `region`; the region itself when blank.
fn ink_square(image: Pixels, region: Rect) -> Rect {
    let (mut x0, mut y0, mut x1, mut y1) = (i32::MAX, i32::MAX, i32::MIN, i32::MIN);
    for y in region.y..region.y + region.height {
        for x in region.x..region.x + region.width {
            let ink =
                (0..image.channels).any(|c| image.at(x as usize, y as usize, c) < INK_THRESHOLD);
            if ink {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
            }
        }
    }
    if x0 > x1 {
        return square_around(region);
    }
    let ink = Rect { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
    let margin = (ink.width.max(ink.height) as f32 * INK_MARGIN).ceil() as i32;
    square_around(Rect {
        x: ink.x - margin,
        y: ink.y - margin,
        width: ink.width + 2 * margin,
        height: ink.height + 2 * margin,
    })
}

/// Copies channel `c` (or gray) of `window` into `plane`; pixels outside the frame take `fill`,
/// or the nearest edge pixel when `fill` is `None`.
fn extract(
    image: Pixels,
    window: Rect,
    c: usize,
    channels: usize,
    fill: Option<u8>,
    plane: &mut Vec<u8>,
) {
    let (w, h) = (window.width.max(1), window.height.max(1));
    plane.clear();
    plane.reserve((w * h) as usize);
    if image.width == 0 || image.height == 0 {
        plane.resize((w * h) as usize, fill.unwrap_or(0));
        return;
    }
    let (iw, ih) = (image.width as i32, image.height as i32);
    for y in window.y..window.y + h {
        for x in window.x..window.x + w {
            let inside = (0..iw).contains(&x) && (0..ih).contains(&y);
            let value = match (inside, fill) {
                (false, Some(paper)) => paper,
                _ => {
                    let (px, py) = (x.clamp(0, iw - 1) as usize, y.clamp(0, ih - 1) as usize);
                    pixel(image, px, py, c, channels)
                }
            };
            plane.push(value);
        }
    }
}

/// Channel `c` of the model's `channels`: gray models read OpenCV's gray of a colour frame.
fn pixel(image: Pixels, x: usize, y: usize, c: usize, channels: usize) -> u8 {
    match (image.channels, channels) {
        (3, 1) => gray_pixel(image.at(x, y, 0), image.at(x, y, 1), image.at(x, y, 2)),
        (1, _) => image.at(x, y, 0),
        _ => image.at(x, y, c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(width: u32, height: u32, channels: u32, fit: Fit) -> InputSpec {
        InputSpec {
            width,
            height,
            channels,
            layout: TensorLayout::Nchw,
            scale: 1.0,
            mean: vec![0.0; channels as usize],
            std: vec![1.0; channels as usize],
            fit,
        }
    }

    fn prepare(spec: &InputSpec, image: Pixels, region: Rect) -> Vec<f32> {
        let mut out = Vec::new();
        Preprocessor::default().prepare(spec, image, region, &mut out);
        out
    }

    #[test]
    fn spec_json_round_trips_and_rejects_unknown_fields() {
        let s = InputSpec {
            mean: vec![0.5],
            std: vec![0.25],
            scale: 1.0 / 255.0,
            ..spec(64, 64, 1, Fit::InkBox)
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"width":64,"height":64,"channels":1,"layout":"NCHW","scale":0.003921569,"mean":[0.5],"std":[0.25],"fit":"ink-box"}"#
        );
        assert_eq!(serde_json::from_str::<InputSpec>(&json).unwrap(), s);
        let extra = json.replace("\"fit\"", "\"colour\":1,\"fit\"");
        assert!(serde_json::from_str::<InputSpec>(&extra)
            .unwrap_err()
            .to_string()
            .contains("unknown field `colour`"));
    }

    #[test]
    fn invalid_specs_say_why() {
        assert_eq!(spec(0, 64, 1, Fit::Stretch).validate(), Err(SpecError::Size(0, 64)));
        assert_eq!(spec(8, 8, 2, Fit::Stretch).validate(), Err(SpecError::Channels(2)));
        let s = InputSpec { mean: vec![0.0; 3], ..spec(8, 8, 1, Fit::Stretch) };
        assert_eq!(s.validate(), Err(SpecError::PerChannel { channels: 1, mean: 3, std: 1 }));
        let s = InputSpec { std: vec![0.0], ..spec(8, 8, 1, Fit::Stretch) };
        assert_eq!(s.validate(), Err(SpecError::Values));
    }

    #[test]
    fn stretch_normalises_per_channel_in_nchw_order() {
        // 2×1 RGB image, identity resize: channel planes come out one after another.
        let data = [10u8, 20, 30, 40, 50, 60];
        let image = Pixels { width: 2, height: 1, channels: 3, data: &data };
        let s = InputSpec {
            mean: vec![10.0, 20.0, 30.0],
            std: vec![1.0, 2.0, 10.0],
            ..spec(2, 1, 3, Fit::Stretch)
        };
        let out = prepare(&s, image, Rect { x: 0, y: 0, width: 2, height: 1 });
        assert_eq!(out, vec![0.0, 30.0, 0.0, 15.0, 0.0, 3.0]);
    }

    #[test]
    fn gray_models_read_opencv_gray_of_colour_frames() {
        let data = [96u8, 64, 2];
        let image = Pixels { width: 1, height: 1, channels: 3, data: &data };
        let out =
            prepare(&spec(1, 1, 1, Fit::Stretch), image, Rect { x: 0, y: 0, width: 1, height: 1 });
        assert_eq!(out, vec![67.0]);
    }

    #[test]
    fn pad_square_keeps_aspect_and_repeats_edges() {
        // A 4×2 region becomes a 4×4 square reaching one row above and below the 4×2 frame.
        let data = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let image = Pixels { width: 4, height: 2, channels: 1, data: &data };
        let out = prepare(
            &spec(4, 4, 1, Fit::PadSquare),
            image,
            Rect { x: 0, y: 0, width: 4, height: 2 },
        );
        let rows: Vec<Vec<f32>> = out.chunks(4).map(|r| r.to_vec()).collect();
        assert_eq!(
            rows,
            vec![
                vec![1., 2., 3., 4.],
                vec![1., 2., 3., 4.],
                vec![5., 6., 7., 8.],
                vec![5., 6., 7., 8.]
            ]
        );
    }

    #[test]
    fn ink_box_centres_characters_wherever_they_are_drawn() {
        // The same 3×3 stroke drawn at two places of a 40×40 page gives the same tensor.
        let page = |ox: usize, oy: usize| {
            let mut p = vec![255u8; 40 * 40];
            for (dx, dy) in [(0, 0), (1, 1), (2, 2), (0, 2), (2, 0)] {
                p[(oy + dy) * 40 + ox + dx] = 0;
            }
            p
        };
        let s = spec(16, 16, 1, Fit::InkBox);
        let whole = Rect { x: 0, y: 0, width: 40, height: 40 };
        let (a, b) = (page(3, 5), page(30, 20));
        let ta = prepare(&s, Pixels { width: 40, height: 40, channels: 1, data: &a }, whole);
        let tb = prepare(&s, Pixels { width: 40, height: 40, channels: 1, data: &b }, whole);
        assert_eq!(ta, tb);
        assert_eq!(ta.len(), 256);
        assert!(ta.iter().any(|&v| v < 128.0), "the stroke survives");
        assert_eq!(ta[0], 255.0, "the margin is paper");
    }

    #[test]
    fn blank_and_out_of_frame_regions_do_not_panic() {
        let data = [255u8; 16];
        let image = Pixels { width: 4, height: 4, channels: 1, data: &data };
        for fit in [Fit::InkBox, Fit::PadSquare, Fit::Stretch] {
            for region in [
                Rect { x: 0, y: 0, width: 4, height: 4 },
                Rect { x: 10, y: -5, width: 3, height: 0 },
            ] {
                assert_eq!(prepare(&spec(8, 8, 1, fit), image, region).len(), 64);
            }
        }
    }
}
