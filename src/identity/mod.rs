//! Who a face is: the gallery of enrolled people ([`gallery`]), the unknown visitors kept for
//! naming later ([`unknown`]), and the per-track decision the daemon makes from a few good
//! frames of each visit ([`tracks`]), with the embeddings computed on a worker thread
//! ([`worker`]).

pub mod gallery;
pub mod tracks;
pub mod unknown;
pub mod worker;
