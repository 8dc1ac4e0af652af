//! lookout-tools: the desktop half of lookout.
//!
//! - [`dataset`]: training data sources; today the CASIA-HWDB `.gnt` format ([`dataset::gnt`]).

pub mod dataset;
