//! MNIST's IDX files: a 4-byte magic (two zero bytes, the element type, the number of
//! dimensions), each dimension as a big-endian `u32`, then the elements row-major. MNIST uses
//! unsigned bytes: images `[n, 28, 28]` (`*-images.idx3-ubyte`) and labels `[n]`
//! (`*-labels.idx1-ubyte`).
//!
//! Needs only `thiserror`: the fuzz crate compiles this file on its own (`fuzz/src/lib.rs`).

use std::path::{Path, PathBuf};

/// The element type code of unsigned bytes, the only one MNIST uses.
const UBYTE: u8 = 0x08;

#[derive(Debug, thiserror::Error)]
pub enum IdxError {
    #[error("{path}: cannot read")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not an IDX file: {reason}")]
    Header { path: PathBuf, reason: String },
    #[error(
        "{path}: element type 0x{code:02x} is not unsigned bytes (0x08), which is all MNIST uses"
    )]
    ElementType { path: PathBuf, code: u8 },
    #[error("{path}: {dims:?} needs {expected} bytes of data, the file has {found}")]
    Size { path: PathBuf, dims: Vec<usize>, expected: u64, found: u64 },
    #[error("{path}: expected {expected}, found dimensions {dims:?}")]
    Shape { path: PathBuf, expected: &'static str, dims: Vec<usize> },
    #[error("{images} holds {n_images} images but {labels} holds {n_labels} labels")]
    Count { images: PathBuf, n_images: usize, labels: PathBuf, n_labels: usize },
    #[error("{path}: label {label} of sample {index} is not a digit")]
    Label { path: PathBuf, index: usize, label: u8 },
}

/// An IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Parses IDX bytes; `path` names them in errors. The data must fill the file exactly.
pub fn parse(bytes: &[u8], path: &Path) -> Result<IdxArray, IdxError> {
    let header = |reason: String| IdxError::Header { path: path.to_path_buf(), reason };
    let magic = bytes
        .get(..4)
        .ok_or_else(|| header(format!("{} bytes, shorter than the magic", bytes.len())))?;
    if magic[0] != 0 || magic[1] != 0 {
        return Err(header(format!("magic starts {:02x} {:02x}, not 00 00", magic[0], magic[1])));
    }
    if magic[2] != UBYTE {
        return Err(IdxError::ElementType { path: path.to_path_buf(), code: magic[2] });
    }
    let ndims = magic[3] as usize;
    if ndims == 0 {
        return Err(header("no dimensions".into()));
    }
    let dims_end = 4 + 4 * ndims;
    let dim_bytes = bytes.get(4..dims_end).ok_or_else(|| {
        header(format!("{ndims} dimensions announced, the file ends before them"))
    })?;
    let dims: Vec<usize> = dim_bytes
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let expected = dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d as u64)).unwrap_or(u64::MAX);
    let found = (bytes.len() - dims_end) as u64;
    if expected != found {
        return Err(IdxError::Size { path: path.to_path_buf(), dims, expected, found });
    }
    Ok(IdxArray { dims, data: bytes[dims_end..].to_vec() })
}

pub fn read(path: &Path) -> Result<IdxArray, IdxError> {
    let bytes =
        std::fs::read(path).map_err(|source| IdxError::Io { path: path.to_path_buf(), source })?;
    parse(&bytes, path)
}

/// MNIST digits: 28×28 gray images (white ink on black, as MNIST stores them) and their labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digits {
    pub side: usize,
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Digits {
    /// Reads an images file and its labels file, checking that they belong together.
    pub fn read(images: &Path, labels: &Path) -> Result<Digits, IdxError> {
        Digits::from_arrays(read(images)?, images, read(labels)?, labels)
    }

    pub fn from_arrays(
        images: IdxArray,
        images_path: &Path,
        labels: IdxArray,
        labels_path: &Path,
    ) -> Result<Digits, IdxError> {
        let shape = |path: &Path, expected, dims: &[usize]| IdxError::Shape {
            path: path.to_path_buf(),
            expected,
            dims: dims.to_vec(),
        };
        let [n_images, rows, cols] = images.dims[..] else {
            return Err(shape(images_path, "[n, rows, cols] images", &images.dims));
        };
        if rows != cols || rows == 0 {
            return Err(shape(images_path, "square images", &images.dims));
        }
        let [n_labels] = labels.dims[..] else {
            return Err(shape(labels_path, "[n] labels", &labels.dims));
        };
        if n_images != n_labels {
            return Err(IdxError::Count {
                images: images_path.to_path_buf(),
                n_images,
                labels: labels_path.to_path_buf(),
                n_labels,
            });
        }
        if let Some((index, &label)) = labels.data.iter().enumerate().find(|(_, &l)| l > 9) {
            return Err(IdxError::Label { path: labels_path.to_path_buf(), index, label });
        }
        Ok(Digits { side: rows, images: images.data, labels: labels.data })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Digit `i`'s pixels, row-major, 0 = background.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.side * self.side;
        &self.images[i * n..(i + 1) * n]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0, 0, UBYTE, dims.len() as u8];
        for d in dims {
            bytes.extend(d.to_be_bytes());
        }
        bytes.extend(data);
        bytes
    }

    #[test]
    fn reads_images_and_labels_that_belong_together() {
        let p = Path::new("x");
        let images = parse(&idx(&[2, 2, 2], &[0, 1, 2, 3, 4, 5, 6, 7]), p).unwrap();
        let labels = parse(&idx(&[2], &[3, 9]), p).unwrap();
        let digits = Digits::from_arrays(images, p, labels, p).unwrap();
        assert_eq!((digits.len(), digits.side), (2, 2));
        assert_eq!(digits.image(1), [4, 5, 6, 7]);
        assert_eq!(digits.labels, [3, 9]);
    }

    #[test]
    fn bad_files_are_named_errors() {
        let p = Path::new("t10k-images.idx3-ubyte");
        let err = |bytes: &[u8]| parse(bytes, p).unwrap_err().to_string();
        assert!(err(&[0, 0]).contains("shorter than the magic"));
        assert!(err(&[1, 0, 8, 1]).contains("not 00 00"));
        assert!(err(&[0, 0, 0x0d, 1]).contains("0x0d is not unsigned bytes"));
        assert!(err(&[0, 0, 8, 3, 0, 0]).contains("3 dimensions announced"));
        let short = err(&idx(&[10, 28, 28], &[0; 100]));
        assert!(
            short.starts_with("t10k-images.idx3-ubyte: [10, 28, 28] needs 7840 bytes"),
            "{short}"
        );
        // A size field of 4 G elements in a 16-byte file: an error, no allocation.
        assert!(err(&idx(&[u32::MAX, u32::MAX, u32::MAX], &[])).contains("needs"));
        let images = parse(&idx(&[2, 1, 1], &[0, 0]), p).unwrap();
        let labels = parse(&idx(&[3], &[0, 0, 0]), p).unwrap();
        let count = Digits::from_arrays(images.clone(), p, labels, p).unwrap_err().to_string();
        assert!(count.contains("holds 2 images but") && count.contains("3 labels"), "{count}");
        let labels = parse(&idx(&[2], &[0, 10]), p).unwrap();
        let label = Digits::from_arrays(images, p, labels, p).unwrap_err().to_string();
        assert!(label.contains("label 10 of sample 1 is not a digit"), "{label}");
    }
}
