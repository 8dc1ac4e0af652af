//! lookout: an edge-vision runtime for the Raspberry Pi.
//!
//! - [`cascade`]: OpenCV-compatible Haar/LBP cascade detection ([`cascade::Detector`]).
//! - [`ctc`]: decoding sequence models' output (greedy and prefix beam search).
//! - [`imgproc`]: the image operations it rests on, bit-exact with OpenCV
//!   ([`imgproc::GrayImage`], bilinear resize, integral images).
//! - [`image_io`]: decoding image files into gray frames and drawing boxes on them.
//! - [`model`]: ONNX models run by tract, with their metadata (task, labels, input) read
//!   from the file ([`model::Model`]).
//! - [`preprocess`]: the region → tensor path shared by training and inference
//!   ([`preprocess::InputSpec`], [`preprocess::Preprocessor`]).

pub mod actions;
pub mod cascade;
pub mod config;
pub mod ctc;
pub mod daemon;
pub mod image_io;
pub mod imgproc;
pub mod logging;
pub mod model;
pub mod panic_guard;
pub mod pipeline;
pub mod preprocess;
pub mod service;
pub mod source;
