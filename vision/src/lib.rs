//! lookout-vision: the vision code that training (`lookout-tools`) and inference (the `lookout`
//! daemon) share, so that a model sees the same tensors on the desktop and on the Pi. No audio,
//! camera, network or daemon code lives here.
//!
//! - [`cascade`]: OpenCV-compatible Haar/LBP cascade detection ([`cascade::Detector`]), reading
//!   OpenCV's cascade XML ([`cascade::load`]).
//! - [`imgproc`]: the image operations it rests on, bit-exact with OpenCV
//!   ([`imgproc::GrayImage`], bilinear resize, integral images).
//! - [`image_io`]: decoding image files into colour and gray frames ([`image_io::decode`]),
//!   drawing boxes, writing PNGs.
//! - [`preprocess`]: the region → tensor path shared by training and inference
//!   ([`preprocess::InputSpec`], [`preprocess::Preprocessor`]).
//! - [`model`]: ONNX models run by tract, with their metadata (task, labels, input) read from the
//!   file ([`model::Model`]).
//! - [`face`]: dlib's 5-point landmarks, aligned face chips and the dlib format reader.
//! - [`ctc`]: decoding sequence models' output (greedy and prefix beam search).
//! - [`scores`]: reading probability vectors (argmax, top-k).
//! - [`errors`]: an error and its causes on one line, each once ([`errors::chain`]).
//! - [`memory`]: giving the memory a model load used back to the system.
//! - [`panic_guard`]: third-party decoders' panics turned into errors ([`panic_guard::catch_panic`]).
//!
//! Dependencies point one way: `cascade` and `preprocess` rest on `imgproc`; `model` on
//! `preprocess`, `ctc` and `scores`; `ctc` on `scores`.

pub mod cascade;
pub mod ctc;
pub mod errors;
pub mod face;
pub mod image_io;
pub mod imgproc;
pub mod memory;
pub mod model;
mod onnx_stream;
pub mod panic_guard;
pub mod preprocess;
pub mod scores;
