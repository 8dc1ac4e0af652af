//! lookout-tools: the desktop half of lookout. It builds datasets, trains with tch (libtorch,
//! CUDA when present), exports ONNX files verified against tract and ONNX Runtime, and
//! evaluates them through the same runtime code the Pi uses.
//!
//! - [`dataset`]: sources ([`dataset::folder`], [`dataset::gnt`], [`dataset::gnt_set`]),
//!   augmentation and the streaming [`dataset::loader`].
//! - [`nets`]: the networks as layer lists ([`nets::Arch`]) and their tch module ([`nets::Net`]).
//! - [`train`]: the training loop; [`checkpoint`]: run folders, AdamW, resume;
//!   [`warm_start`]: an exported model's weights as a run's starting point.
//! - [`export`]: ONNX graph building, verification, atomic write.
//! - [`eval`]: accuracy, top-3, per-class report and confusion image of an exported model.
//! - [`faces`]: face crops from photo folders with lookout's cascade.
//! - [`plot`]: PNG figures.

pub mod checkpoint;
pub mod dataset;
pub mod dlib_import;
pub mod eval;
pub mod export;
pub mod faces;
pub mod nets;
pub mod onnx_graph;
pub mod plot;
pub mod train;
pub mod warm_start;
