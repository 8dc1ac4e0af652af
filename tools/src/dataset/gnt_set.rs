//! A set of CASIA-HWDB `.gnt` files (one file, or every `.gnt` under a folder) as a
//! [`Source`]: indexed once (offsets only), samples read on demand.
//!
//! Labels are the distinct characters found, in GB2312 order; with the whole level-1 set
//! present that is the standard 3755-class order. Codes outside level 1 (punctuation, level-2
//! characters) are skipped unless `keep_other_codes` is set.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::gnt::{self, GntEntry};
use super::{DatasetError, Image, Sample, Source};

pub struct GntSource {
    files: Vec<PathBuf>,
    /// (file number, entry, label)
    entries: Vec<(u32, GntEntry, u32)>,
    labels: Vec<String>,
    /// Samples left out because their code is not level 1.
    pub skipped: usize,
}

/// Whether `dir` holds any `.gnt` file (at any depth).
pub fn contains_gnt(dir: &Path) -> bool {
    let mut files = Vec::new();
    collect(dir, &mut files).is_ok() && !files.is_empty()
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), DatasetError> {
    if !path.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let io = |source| DatasetError::Io { path: path.to_path_buf(), source };
    let mut children: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    children.sort();
    for child in children {
        if child.is_dir() {
            collect(&child, out)?;
        } else if child.extension().is_some_and(|e| e.eq_ignore_ascii_case("gnt")) {
            out.push(child);
        }
    }
    Ok(())
}

impl GntSource {
    pub fn open(path: &Path) -> Result<GntSource, DatasetError> {
        GntSource::open_with(path, false)
    }

    pub fn open_with(path: &Path, keep_other_codes: bool) -> Result<GntSource, DatasetError> {
        let mut files = Vec::new();
        collect(path, &mut files)?;
        if files.is_empty() {
            return Err(DatasetError::Layout {
                path: path.to_path_buf(),
                reason: "no .gnt files found".into(),
            });
        }
        let mut raw = Vec::new();
        let mut skipped = 0;
        for (number, file) in files.iter().enumerate() {
            for entry in gnt::index(file)? {
                if keep_other_codes || gnt::level1_class(entry.code).is_some() {
                    raw.push((number as u32, entry));
                } else {
                    skipped += 1;
                }
            }
        }
        let mut codes: Vec<[u8; 2]> = raw.iter().map(|(_, e)| e.code).collect();
        codes.sort();
        codes.dedup();
        let labels = codes
            .iter()
            .map(|&c| {
                gnt::character(c)
                    .map(String::from)
                    .unwrap_or_else(|| format!("0x{:02X}{:02X}", c[0], c[1]))
            })
            .collect();
        let entries = raw
            .into_iter()
            .map(|(f, e)| {
                let label = codes.binary_search(&e.code).expect("code collected above") as u32;
                (f, e, label)
            })
            .collect();
        Ok(GntSource { files, entries, labels, skipped })
    }
}

impl Source for GntSource {
    fn len(&self) -> usize {
        self.entries.len()
    }

    fn labels(&self) -> &[String] {
        &self.labels
    }

    fn key(&self, i: usize) -> String {
        let (file, entry, _) = &self.entries[i];
        format!("{}@{}", self.files[*file as usize].display(), entry.offset)
    }

    fn load(&self, i: usize) -> Result<Sample, DatasetError> {
        let (file, entry, label) = &self.entries[i];
        let path = &self.files[*file as usize];
        let mut handle =
            File::open(path).map_err(|source| DatasetError::Io { path: path.clone(), source })?;
        let sample = gnt::read_at(&mut handle, path, entry)?;
        let image = Image {
            width: sample.width as usize,
            height: sample.height as usize,
            channels: 1,
            data: sample.pixels,
        };
        Ok(Sample { image, label: *label as usize, text: Vec::new() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::gnt::GntWriter;

    #[test]
    fn labels_follow_gb2312_order_and_symbols_are_optional() {
        let dir = std::env::temp_dir().join(format!("lookout-gnt-set-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let mut w = GntWriter::create(&dir.join("sub/a.gnt")).unwrap();
        w.write(gnt::code_of('的').unwrap(), 2, 2, &[0, 255, 255, 0]).unwrap();
        w.write(gnt::code_of('啊').unwrap(), 3, 1, &[1, 2, 3]).unwrap();
        w.write(gnt::code_of('，').unwrap(), 1, 1, &[9]).unwrap();
        w.finish().unwrap();
        let source = GntSource::open(&dir).unwrap();
        assert_eq!(source.labels(), ["啊", "的"]);
        assert_eq!((source.len(), source.skipped), (2, 1));
        let sample = source.load(1).unwrap();
        assert_eq!(
            (sample.label, sample.image.width, sample.image.data.clone()),
            (0, 3, vec![1, 2, 3])
        );
        assert!(contains_gnt(&dir));
        let all = GntSource::open_with(&dir, true).unwrap();
        assert_eq!(all.labels(), ["，", "啊", "的"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
