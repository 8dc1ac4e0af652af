//! Unknown visitors kept for naming later: each one's best aligned chip (PNG) and descriptors
//! (JSON) in a folder beside the gallery, bounded in count and bytes with the oldest dropped.
//! `lookout enroll --from-unknown ID` turns one into an enrolled person.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::gallery::write_atomic;

#[derive(Debug, thiserror::Error)]
pub enum UnknownError {
    #[error("{path}: cannot keep the unknown visitor")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{dir}: no unknown visitor {id:?} (ids are listed by `lookout enroll --gallery FILE --list-unknown`; old ones are dropped when the folder is full)")]
    NotFound { dir: PathBuf, id: String },
    #[error("{path}: unreadable record: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("{0:?} is not an unknown visitor's id")]
    BadId(String),
}

/// What is kept of one unknown visitor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnknownVisitor {
    pub id: String,
    /// RFC 3339 time of the decision.
    pub seen: String,
    pub track: u64,
    /// The embedding model that made the descriptors.
    pub model_sha256: String,
    /// The descriptors of the track's sampled frames.
    pub descriptors: Vec<Vec<f32>>,
    /// The closest enrolled person and the distance, if anyone is enrolled.
    pub nearest: Option<(String, f32)>,
}

/// Where unknown visitors are kept and how many.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownStore {
    pub dir: PathBuf,
    pub max_count: usize,
    pub max_bytes: u64,
}

impl UnknownStore {
    /// The folder beside a gallery file: `gallery.json` → `gallery.unknown/`.
    pub fn beside(gallery: &Path) -> PathBuf {
        gallery.with_extension("unknown")
    }

    /// Writes the chip and the record, then drops the oldest visitors beyond the bounds.
    /// Returns the ids dropped.
    pub fn keep(
        &self,
        visitor: &UnknownVisitor,
        chip_png: &[u8],
    ) -> Result<Vec<String>, UnknownError> {
        check_id(&visitor.id)?;
        let write = |path: PathBuf, bytes: &[u8]| {
            write_atomic(&path, bytes).map_err(|source| UnknownError::Write { path, source })
        };
        std::fs::create_dir_all(&self.dir)
            .map_err(|source| UnknownError::Write { path: self.dir.clone(), source })?;
        write(self.dir.join(format!("{}.png", visitor.id)), chip_png)?;
        let json = serde_json::to_vec(visitor).expect("a visitor serialises");
        write(self.dir.join(format!("{}.json", visitor.id)), &json)?;
        Ok(self.prune())
    }

    /// Ids of the visitors kept, oldest first (ids start with their time).
    pub fn ids(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json").map(String::from))
            .filter(|id| check_id(id).is_ok())
            .collect();
        ids.sort();
        ids
    }

    pub fn load(&self, id: &str) -> Result<UnknownVisitor, UnknownError> {
        check_id(id)?;
        let path = self.dir.join(format!("{id}.json"));
        let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                UnknownError::NotFound { dir: self.dir.clone(), id: id.into() }
            }
            _ => UnknownError::Invalid { path: path.clone(), reason: e.to_string() },
        })?;
        let visitor: UnknownVisitor = serde_json::from_slice(&bytes)
            .map_err(|e| UnknownError::Invalid { path: path.clone(), reason: e.to_string() })?;
        if visitor.id != id {
            return Err(UnknownError::Invalid {
                path,
                reason: format!("holds id {:?}", visitor.id),
            });
        }
        Ok(visitor)
    }

    /// The chip's path, for pages that show it.
    pub fn chip_path(&self, id: &str) -> Result<PathBuf, UnknownError> {
        check_id(id)?;
        Ok(self.dir.join(format!("{id}.png")))
    }

    /// Removes a visitor (named now, or not wanted).
    pub fn remove(&self, id: &str) -> Result<(), UnknownError> {
        check_id(id)?;
        for ext in ["json", "png"] {
            let _ = std::fs::remove_file(self.dir.join(format!("{id}.{ext}")));
        }
        Ok(())
    }

    fn prune(&self) -> Vec<String> {
        let ids = self.ids();
        let size = |id: &str| {
            ["json", "png"]
                .iter()
                .filter_map(|ext| std::fs::metadata(self.dir.join(format!("{id}.{ext}"))).ok())
                .map(|m| m.len())
                .sum::<u64>()
        };
        let sizes: Vec<u64> = ids.iter().map(|id| size(id)).collect();
        let mut total: u64 = sizes.iter().sum();
        let mut count = ids.len();
        let mut dropped = Vec::new();
        for (id, bytes) in ids.iter().zip(sizes) {
            if count <= self.max_count && total <= self.max_bytes {
                break;
            }
            let _ = self.remove(id);
            dropped.push(id.clone());
            count -= 1;
            total -= bytes;
        }
        dropped
    }
}

/// Ids are made here (`20261130T071502Z-17`): letters, digits and `-`, nothing that leaves the
/// folder.
fn check_id(id: &str) -> Result<(), UnknownError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(UnknownError::BadId(id.into()))
    }
}

/// A new id for a visitor decided now on `track`.
pub fn new_id(now: std::time::SystemTime, track: u64) -> String {
    let stamp = humantime::format_rfc3339_seconds(now).to_string();
    let compact: String = stamp.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("{compact}-{track}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visitor(id: &str) -> UnknownVisitor {
        UnknownVisitor {
            id: id.into(),
            seen: "2026-11-30T00:00:00Z".into(),
            track: 1,
            model_sha256: "abc".into(),
            descriptors: vec![vec![0.5; 4]],
            nearest: None,
        }
    }

    #[test]
    fn keeps_the_newest_within_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let store = UnknownStore { dir: dir.path().join("u"), max_count: 2, max_bytes: 1 << 20 };
        for id in ["20261130T000001Z-1", "20261130T000002Z-2", "20261130T000003Z-3"] {
            store.keep(&visitor(id), b"png").unwrap();
        }
        assert_eq!(store.ids(), vec!["20261130T000002Z-2", "20261130T000003Z-3"]);
        assert_eq!(store.load("20261130T000003Z-3").unwrap(), visitor("20261130T000003Z-3"));
        let tight = UnknownStore { max_bytes: 10, ..store.clone() };
        tight.keep(&visitor("20261130T000004Z-4"), b"png").unwrap();
        assert!(tight.ids().is_empty(), "one record is over 10 bytes: all go");
    }

    #[test]
    fn ids_cannot_leave_the_folder() {
        let store = UnknownStore { dir: "/tmp/x".into(), max_count: 1, max_bytes: 1 };
        assert!(matches!(store.load("../gallery"), Err(UnknownError::BadId(_))));
        assert!(matches!(store.load("nope-1"), Err(UnknownError::NotFound { .. })));
        let id = new_id(std::time::UNIX_EPOCH, 7);
        assert_eq!(id, "19700101T000000Z-7");
    }
}
