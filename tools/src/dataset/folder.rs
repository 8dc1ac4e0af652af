//! Folder-per-class images: `DIR/<class>/**/<image>`, the layout of TensorFlow Hub's
//! `make_image_classifier`. The class is the top folder's name; nested folders inside a class
//! are fine. Files that are not images (by extension) are ignored; classes are sorted by name.

use std::path::{Path, PathBuf};

use super::{DatasetError, Image, Sample, Source};

const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "bmp", "pgm", "ppm", "pnm"];

pub struct FolderSource {
    root: PathBuf,
    labels: Vec<String>,
    files: Vec<(PathBuf, usize)>,
}

impl FolderSource {
    pub fn open(root: &Path) -> Result<FolderSource, DatasetError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| DatasetError::Io { path, source }
        };
        let mut classes = Vec::new();
        for entry in std::fs::read_dir(root).map_err(io(root))? {
            let entry = entry.map_err(io(root))?;
            if entry.file_type().map_err(io(&entry.path()))?.is_dir() {
                classes.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        classes.sort();
        let mut files = Vec::new();
        let mut labels = Vec::new();
        for class in classes {
            let mut found = Vec::new();
            collect_images(&root.join(&class), &mut found)?;
            if found.is_empty() {
                continue;
            }
            found.sort();
            let label = labels.len();
            labels.push(class);
            files.extend(found.into_iter().map(|f| (f, label)));
        }
        if labels.len() < 2 {
            return Err(DatasetError::Layout {
                path: root.to_path_buf(),
                reason: format!(
                    "expected at least two class folders with images (DIR/<class>/<image>), found {}",
                    labels.len()
                ),
            });
        }
        Ok(FolderSource { root: root.to_path_buf(), labels, files })
    }

    /// Number of samples per class, in label order.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.labels.len()];
        for (_, label) in &self.files {
            counts[*label] += 1;
        }
        counts
    }
}

/// Every image file (by extension) under `dir`, recursively, appended to `out`.
pub fn collect_images(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DatasetError> {
    let entries =
        std::fs::read_dir(dir).map_err(|source| DatasetError::Io { path: dir.into(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| DatasetError::Io { path: dir.into(), source })?;
        let path = entry.path();
        if path.is_dir() {
            collect_images(&path, out)?;
        } else if has_image_extension(&path) {
            out.push(path);
        }
    }
    Ok(())
}

fn has_image_extension(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    ext.is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.as_str()))
}

impl Source for FolderSource {
    fn len(&self) -> usize {
        self.files.len()
    }

    fn labels(&self) -> &[String] {
        &self.labels
    }

    fn key(&self, i: usize) -> String {
        let path = &self.files[i].0;
        path.strip_prefix(&self.root).unwrap_or(path).to_string_lossy().into_owned()
    }

    fn load(&self, i: usize) -> Result<Sample, DatasetError> {
        let (path, label) = &self.files[i];
        let decoded = image::open(path)
            .map_err(|source| DatasetError::Decode { path: path.clone(), source })?;
        Ok(Sample { image: Image::from_dynamic(decoded), label: *label, text: Vec::new() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_png(path: &Path, value: u8) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        image::GrayImage::from_pixel(4, 4, image::Luma([value])).save(path).unwrap();
    }

    #[test]
    fn classes_are_top_folders_and_nested_images_count() {
        let dir = tempdir("folder-classes");
        write_png(&dir.join("me/a.png"), 10);
        write_png(&dir.join("me/session2/b.png"), 20);
        write_png(&dir.join("other/c.png"), 30);
        std::fs::write(dir.join("other/notes.txt"), "not an image").unwrap();
        std::fs::create_dir_all(dir.join("empty")).unwrap();
        let source = FolderSource::open(&dir).unwrap();
        assert_eq!(source.labels(), ["me", "other"]);
        assert_eq!(source.class_counts(), [2, 1]);
        let sample = source.load(1).unwrap();
        assert_eq!((sample.label, sample.image.data[0]), (0, 20));
        assert_eq!(source.key(1), "me/session2/b.png");
    }

    #[test]
    fn one_class_is_refused_with_the_layout_expected() {
        let dir = tempdir("folder-one-class");
        write_png(&dir.join("me/a.png"), 10);
        let err = FolderSource::open(&dir).err().unwrap().to_string();
        assert!(err.contains("expected at least two class folders"), "{err}");
    }

    #[test]
    fn an_undecodable_file_names_itself() {
        let dir = tempdir("folder-bad-file");
        write_png(&dir.join("a/ok.png"), 1);
        std::fs::write(dir.join("b/bad.png"), b"not png").unwrap_or_else(|_| {
            std::fs::create_dir_all(dir.join("b")).unwrap();
            std::fs::write(dir.join("b/bad.png"), b"not png").unwrap();
        });
        let source = FolderSource::open(&dir).unwrap();
        let err = source.load(1).unwrap_err().to_string();
        assert!(err.contains("bad.png: cannot decode image"), "{err}");
    }

    pub(crate) fn tempdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lookout-tools-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
