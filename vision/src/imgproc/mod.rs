//! Image operations the detector needs, each matching OpenCV bit for bit so that our detections
//! agree with `detectMultiScale`: gray conversion, bilinear downscaling and integral images; plus
//! the block-mean shrinking the motion gate reads frames with.

mod gray;
mod integral;
mod resize;
mod shrink;

pub use gray::{gray_from_rgb, gray_pixel, GrayImage};
pub use integral::{Integrals, Layout};
pub use resize::{resize_bilinear_exact, ResizeScratch};
pub use shrink::shrink_mean;
