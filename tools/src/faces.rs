//! `lookout-tools extract-faces`: face crops for training, found in photos by lookout's own
//! cascade detector, grown to a square around the face (edges repeated past the photo, as the
//! runtime's pad-square fit does) and resized to a fixed side (64 px by default).

use std::path::{Path, PathBuf};

use lookout_vision::cascade::{DetectParams, Detector};

use crate::dataset::folder::collect_images;
use crate::dataset::DatasetError;
use lookout_vision::image_io;
use lookout_vision::preprocess::{face_crop, Preprocessor};

#[derive(Debug, Clone)]
pub struct ExtractOptions {
    pub side: u32,
    pub params: DetectParams,
    /// Smallest face worth keeping, in photo pixels.
    pub min_face: u32,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExtractReport {
    pub photos: usize,
    pub faces: usize,
    /// Photos that could not be decoded, with the reason (they are skipped, not fatal).
    pub unreadable: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("{path}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: cannot write crop")]
    Write { path: PathBuf, source: image::ImageError },
    #[error(transparent)]
    Photos(#[from] DatasetError),
}

/// Detects faces in every image under `input` (recursively) and writes
/// `out/<photo stem>_<n>.png` crops.
pub fn extract_faces(
    detector: &Detector,
    input: &Path,
    out: &Path,
    options: &ExtractOptions,
) -> Result<ExtractReport, ExtractError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExtractError::Io { path, source }
    };
    std::fs::create_dir_all(out).map_err(io(out))?;
    let mut photos = Vec::new();
    if input.is_file() {
        photos.push(input.to_path_buf());
    } else {
        collect_images(input, &mut photos)?;
    }
    photos.sort();
    let mut pre = Preprocessor::default();
    let mut report = ExtractReport::default();
    for photo in photos {
        let decoded = match image_io::read(&photo) {
            Ok(d) => d,
            Err(e) => {
                report.unreadable.push(lookout_vision::errors::chain(&e));
                continue;
            }
        };
        report.photos += 1;
        let faces = detector.detect(&decoded.gray, &options.params, 1);
        let stem = photo.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let kept = faces.iter().filter(|f| f.width.min(f.height) as u32 >= options.min_face);
        for (n, face) in kept.enumerate() {
            let crop = face_crop(&mut pre, &decoded.rgb, *face, options.side);
            let path = out.join(format!("{stem}_{n}.png"));
            crop.save(&path)
                .map_err(|source| ExtractError::Write { path: path.clone(), source })?;
            report.faces += 1;
        }
    }
    Ok(report)
}
