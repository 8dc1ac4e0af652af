//! Training data sources and the streaming loader that feeds them to training.
//!
//! A [`Source`] knows how many samples it has and loads any one of them on demand, so nothing
//! is held in memory but the samples in flight ([`loader`]).
//!
//! - [`folder`]: folder-per-class images (the `make_image_classifier` layout).
//! - [`gnt`]: CASIA-HWDB `.gnt` files; [`gnt_set`]: many of them as one source.
//! - [`idx`]: MNIST's IDX files (real handwritten digits).
//! - [`glyphs`]: synthetic handwriting-like Chinese characters, written as `.gnt`.
//! - [`digits`]: synthetic digit strings rendered from fonts, for CTC models.
//! - [`handwritten_digits`]: digit strings composed from real MNIST digits.
//! - [`Mixed`]: several sources with the same labels as one.
//! - [`render`]: drawing glyphs from TrueType/OpenType fonts; [`woff`]: web fonts unpacked.
//! - [`strokes`]: Chinese characters written stroke by stroke by synthetic writers, as `.gnt`.
//! - [`augment`]: per-task random distortions, deterministic for a given seed.
//! - [`loader`]: worker threads, bounded queues, shuffle buffer, batches of tensors.

pub mod augment;
pub mod digits;
pub mod folder;
pub mod glyphs;
pub mod gnt;
pub mod gnt_set;
pub mod handwritten_digits;
pub mod idx;
pub mod loader;
pub mod render;
pub mod strokes;
pub mod woff;

use std::path::PathBuf;
use std::sync::Arc;

/// An 8-bit image, 1 (gray) or 3 (RGB) interleaved channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub data: Vec<u8>,
}

impl Image {
    pub fn pixels(&self) -> lookout_vision::preprocess::Pixels<'_> {
        lookout_vision::preprocess::Pixels {
            width: self.width,
            height: self.height,
            channels: self.channels,
            data: &self.data,
        }
    }

    /// From a decoded file: gray files stay gray, everything else becomes RGB.
    pub fn from_dynamic(image: image::DynamicImage) -> Image {
        let (width, height) = (image.width() as usize, image.height() as usize);
        match image {
            image::DynamicImage::ImageLuma8(luma) => {
                Image { width, height, channels: 1, data: luma.into_raw() }
            }
            other => Image { width, height, channels: 3, data: other.to_rgb8().into_raw() },
        }
    }
}

/// One labelled training sample.
#[derive(Debug, Clone)]
pub struct Sample {
    pub image: Image,
    /// Class index (classifiers; 0 for sequence samples).
    pub label: usize,
    /// Label indices of the text in the image (sequence models; empty for classifiers).
    pub text: Vec<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{path}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: cannot decode image")]
    Decode { path: PathBuf, source: image::ImageError },
    #[error("{path}: {reason}")]
    Layout { path: PathBuf, reason: String },
    #[error(transparent)]
    Gnt(#[from] gnt::GntError),
    #[error(transparent)]
    Idx(#[from] idx::IdxError),
    #[error("{first} and {other} have different labels: they cannot be mixed")]
    LabelMismatch { first: String, other: String },
}

/// A labelled set of samples that loads any one of them on demand.
pub trait Source: Send + Sync {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Class names; sample labels index into this.
    fn labels(&self) -> &[String];
    /// A stable name for sample `i` (its file, or file and offset): decides the validation split.
    fn key(&self, i: usize) -> String;
    fn load(&self, i: usize) -> Result<Sample, DatasetError>;
}

/// Several sources with the same labels, one after the other (fonts and handwriting, say).
pub struct Mixed {
    parts: Vec<Arc<dyn Source>>,
}

impl Mixed {
    /// Each part comes with the name its errors call it by.
    pub fn new(parts: Vec<(String, Arc<dyn Source>)>) -> Result<Mixed, DatasetError> {
        if let Some((first, head)) = parts.first() {
            if let Some((other, _)) = parts.iter().find(|(_, p)| p.labels() != head.labels()) {
                return Err(DatasetError::LabelMismatch {
                    first: first.clone(),
                    other: other.clone(),
                });
            }
        }
        Ok(Mixed { parts: parts.into_iter().map(|(_, p)| p).collect() })
    }

    fn locate(&self, mut i: usize) -> (&dyn Source, usize) {
        for part in &self.parts {
            if i < part.len() {
                return (part.as_ref(), i);
            }
            i -= part.len();
        }
        unreachable!("index beyond the mixed sources' total length")
    }
}

impl Source for Mixed {
    fn len(&self) -> usize {
        self.parts.iter().map(|p| p.len()).sum()
    }

    fn labels(&self) -> &[String] {
        self.parts.first().map_or(&[], |p| p.labels())
    }

    fn key(&self, i: usize) -> String {
        let (part, i) = self.locate(i);
        part.key(i)
    }

    fn load(&self, i: usize) -> Result<Sample, DatasetError> {
        let (part, i) = self.locate(i);
        part.load(i)
    }
}

/// Every `step`-th sample of a source: a quick evaluation spread over all its classes.
pub struct EveryNth<S> {
    pub inner: S,
    pub step: usize,
}

impl<S: Source> Source for EveryNth<S> {
    fn len(&self) -> usize {
        self.inner.len() / self.step.max(1)
    }

    fn labels(&self) -> &[String] {
        self.inner.labels()
    }

    fn key(&self, i: usize) -> String {
        self.inner.key(i * self.step.max(1))
    }

    fn load(&self, i: usize) -> Result<Sample, DatasetError> {
        self.inner.load(i * self.step.max(1))
    }
}

/// Splits `0..source.len()` into training and validation indices. Membership depends only on
/// the sample's key and the seed, so adding files never moves old ones across the split.
pub fn split(source: &dyn Source, val_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for i in 0..source.len() {
        let h = fnv1a(seed, source.key(i).as_bytes());
        let unit = (h >> 11) as f64 / (1u64 << 53) as f64;
        if unit < val_fraction {
            val.push(i);
        } else {
            train.push(i);
        }
    }
    (train, val)
}

/// FNV-1a, seeded: a stable hash (std's hasher may change between Rust releases).
pub fn fnv1a(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // A final mix: FNV's low bits are weak for short keys.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}
