//! What the vision tests share: where the workspace's models and fixtures are.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The workspace root: `models/` and `tests/fixtures/` are shared by every crate's tests and by
/// the scripts that regenerate the fixtures, which name them from there.
pub fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// A file of the workspace, by its path from the root.
pub fn file(relative: &str) -> PathBuf {
    workspace().join(relative)
}
