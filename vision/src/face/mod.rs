//! Faces as people: dlib's 5-point landmarks, the aligned 150×150 chip, and what an embedding
//! model makes of it.
//!
//! - [`dlib_format`]: reading dlib's `.dat` serialization (shared with `lookout-tools`, which
//!   converts dlib's face ResNet into an ONNX file).
//! - [`landmarks`]: dlib's regression-tree shape predictor, read from its `.dat` file.
//! - [`chip`]: the aligned chip dlib's face recognition network expects.

pub mod chip;
pub mod dlib_format;
pub mod landmarks;

/// A rectangle the way dlib writes one: inclusive pixel bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DlibRect {
    pub left: i64,
    pub top: i64,
    pub right: i64,
    pub bottom: i64,
}

/// A landmark in image pixels (dlib rounds them to integers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub x: i64,
    pub y: i64,
}
