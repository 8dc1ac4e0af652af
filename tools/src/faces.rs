//! `lookout-tools extract-faces`: face crops for training, found in photos by lookout's own
//! cascade detector, grown to a square around the face (edges repeated past the photo, as the
//! runtime's pad-square fit does) and resized to a fixed side (64 px by default).

use std::path::{Path, PathBuf};

use lookout::cascade::{DetectParams, Detector};

use crate::dataset::folder::collect_images;
use crate::dataset::DatasetError;
use lookout::image_io;
use lookout::preprocess::{Fit, InputSpec, Pixels, Preprocessor, TensorLayout};

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
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: cannot write crop: {source}")]
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
    // The crop is the preprocessing of a 3-channel, unnormalised model input: the same
    // pad-square fit and resize the runtime applies to faces.
    let spec = InputSpec {
        width: options.side,
        height: options.side,
        channels: 3,
        layout: TensorLayout::Nchw,
        scale: 1.0,
        mean: vec![0.0; 3],
        std: vec![1.0; 3],
        fit: Fit::PadSquare,
    };
    let mut pre = Preprocessor::default();
    let mut planes = Vec::new();
    let mut report = ExtractReport::default();
    for photo in photos {
        let decoded = match image_io::read(&photo) {
            Ok(d) => d,
            Err(e) => {
                report.unreadable.push(e.to_string());
                continue;
            }
        };
        report.photos += 1;
        let faces = detector.detect(&decoded.gray, &options.params, 1);
        let stem = photo.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let rgb = Pixels {
            width: decoded.rgb.width() as usize,
            height: decoded.rgb.height() as usize,
            channels: 3,
            data: decoded.rgb.as_raw(),
        };
        let kept = faces.iter().filter(|f| f.width.min(f.height) as u32 >= options.min_face);
        for (n, face) in kept.enumerate() {
            pre.prepare(&spec, rgb, *face, &mut planes);
            let path = out.join(format!("{stem}_{n}.png"));
            write_crop(&planes, options.side, &path)?;
            report.faces += 1;
        }
    }
    Ok(report)
}

fn write_crop(planes: &[f32], side: u32, path: &Path) -> Result<(), ExtractError> {
    let area = (side * side) as usize;
    let mut rgb = image::RgbImage::new(side, side);
    for (i, pixel) in rgb.pixels_mut().enumerate() {
        for c in 0..3 {
            pixel.0[c] = planes[c * area + i].round().clamp(0.0, 255.0) as u8;
        }
    }
    rgb.save(path).map_err(|source| ExtractError::Write { path: path.to_path_buf(), source })
}
