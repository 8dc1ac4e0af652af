//! Viola-Jones object detection with OpenCV's cascade files and `detectMultiScale` semantics.
//!
//! - [`xml`] reads the cascade XML (current and legacy formats) into a validated [`Cascade`].
//! - [`Detector`] runs it over an image pyramid; the Haar/LBP scan itself is in `scan.rs`.
//! - `group.rs` merges raw hits the way `groupRectangles` does.
//!
//! ```no_run
//! use lookout_vision::cascade::{self, DetectParams, Detector};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let detector = Detector::new(cascade::load("models/haarcascade_frontalface_default.xml".as_ref())?);
//! let gray = lookout_vision::imgproc::GrayImage::new(640, 480, vec![0; 640 * 480]).unwrap();
//! let faces = detector.detect(&gray, &DetectParams::default(), 4);
//! # Ok(()) }
//! ```

mod detect;
mod group;
pub mod model;
mod scan;
pub mod xml;

pub use detect::{DetectParams, Detector, ParamsError};
pub use group::group_rectangles;
pub use model::Cascade;
pub use xml::{load, parse, CascadeError};

/// OpenCV's default frontal face cascade, built in so binaries work on their own.
const DEFAULT_FACE_XML: &str = include_str!("../../../models/haarcascade_frontalface_default.xml");

/// Loads the cascade at `path`, or the built-in `haarcascade_frontalface_default.xml` when
/// `path` is `None`.
pub fn load_or_default(path: Option<&std::path::Path>) -> Result<Cascade, CascadeError> {
    match path {
        Some(p) => load(p),
        None => parse(
            DEFAULT_FACE_XML,
            std::path::Path::new("models/haarcascade_frontalface_default.xml (built in)"),
        ),
    }
}

/// A detection in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
}

impl Rect {
    /// Intersection over union, 0 for disjoint or empty rectangles.
    pub fn iou(&self, other: &Rect) -> f64 {
        let ix = (self.x + self.width).min(other.x + other.width) - self.x.max(other.x);
        let iy = (self.y + self.height).min(other.y + other.height) - self.y.max(other.y);
        if ix <= 0 || iy <= 0 {
            return 0.0;
        }
        let inter = ix as f64 * iy as f64;
        let union = self.width as f64 * self.height as f64
            + other.width as f64 * other.height as f64
            - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }
}
