//! Training data sources.

pub mod gnt;
