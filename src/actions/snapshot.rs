//! Annotated JPEGs of decisions in a folder kept under a byte quota: the oldest go first.
//! Files are written to a temporary name and renamed, so a crash never leaves half a JPEG.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use image::RgbImage;

pub struct SnapshotStore {
    dir: PathBuf,
    quota: u64,
    files: VecDeque<(PathBuf, u64)>,
    total: u64,
}

impl SnapshotStore {
    /// Accounts for the JPEGs already in `dir` (oldest = first by name).
    pub fn open(dir: &Path, quota: u64) -> std::io::Result<SnapshotStore> {
        std::fs::create_dir_all(dir)?;
        let mut files: Vec<(PathBuf, u64)> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "jpg"))
            .filter_map(|e| Some((e.path(), e.metadata().ok()?.len())))
            .collect();
        files.sort();
        let total = files.iter().map(|f| f.1).sum();
        let mut store = SnapshotStore { dir: dir.to_path_buf(), quota, files: files.into(), total };
        store.enforce_quota();
        Ok(store)
    }

    /// Writes `name` (a file name ending in .jpg, sortable by time) and trims to the quota.
    pub fn save(&mut self, name: &str, image: &RgbImage) -> Result<PathBuf, String> {
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
            .encode_image(image)
            .map_err(|e| format!("encoding {name}: {e}"))?;
        let path = self.dir.join(name);
        let temp = self.dir.join(format!(".{name}.partial"));
        let written = std::fs::write(&temp, &jpeg).and_then(|_| std::fs::rename(&temp, &path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(format!("{}: {e}", path.display()));
        }
        self.files.push_back((path.clone(), jpeg.len() as u64));
        self.total += jpeg.len() as u64;
        self.enforce_quota();
        Ok(path)
    }

    pub fn total_bytes(&self) -> u64 {
        self.total
    }

    fn enforce_quota(&mut self) {
        while self.total > self.quota {
            let Some((path, size)) = self.files.pop_front() else { break };
            if let Err(e) = std::fs::remove_file(&path) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    log::warn!("snapshots: cannot remove {}: {e}", path.display());
                }
            }
            self.total -= size;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_write_is_an_error_leaves_nothing_behind_and_the_next_one_works() {
        let dir = tempfile::tempdir().unwrap();
        let shots = dir.path().join("shots");
        let mut store = SnapshotStore::open(&shots, 1_000_000).unwrap();
        let image = RgbImage::from_pixel(32, 24, image::Rgb([200, 10, 10]));
        store.save("0001.jpg", &image).unwrap();
        // The folder goes away and a file takes its place (a disk remounted read-only, a
        // cleaner gone wrong): the write fails with the path in the message.
        std::fs::remove_dir_all(&shots).unwrap();
        std::fs::write(&shots, b"not a folder").unwrap();
        let err = store.save("0002.jpg", &image).unwrap_err();
        assert!(err.contains("0002.jpg"), "{err}");
        std::fs::remove_file(&shots).unwrap();
        std::fs::create_dir(&shots).unwrap();
        store.save("0003.jpg", &image).unwrap();
        let names: Vec<_> = std::fs::read_dir(&shots)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["0003.jpg"], "no partial file is left");
    }

    #[test]
    fn stays_under_the_quota_dropping_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let image =
            RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 90]));
        let mut store = SnapshotStore::open(dir.path(), 4_000).unwrap();
        for i in 0..10 {
            store.save(&format!("{i:04}.jpg"), &image).unwrap();
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into())
            .collect();
        names.sort();
        let on_disk: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert!(on_disk <= 4_000 && on_disk == store.total_bytes(), "{on_disk}");
        assert_eq!(names.last().map(String::as_str), Some("0009.jpg"));
        assert!(!names.contains(&"0000.jpg".to_string()));
        // A restart counts what is there.
        let again = SnapshotStore::open(dir.path(), 4_000).unwrap();
        assert_eq!(again.total_bytes(), on_disk);
    }
}
