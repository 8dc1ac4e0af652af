//! CASIA-HWDB `.gnt` files: handwritten character samples, one after another, no file header.
//!
//! Each sample is: `u32` LE total size (= 10 + width·height), two tag bytes holding the GB2312
//! code in natural byte order (first byte = row byte), `u16` LE width, `u16` LE height, then
//! width·height gray pixels, row-major, background 255.
//!
//! The reader streams (it never holds more than one sample), reports truncation and corrupt
//! headers with the byte offset of the sample, and can index a file (offsets and codes only)
//! so a loader can visit samples in any order without reading pixels twice.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const HEADER_LEN: u64 = 10;

/// The GB2312 level-1 set: rows 0xB0..=0xD7, 94 cells each, the last row ending at 0xD7F9.
pub const LEVEL1_CLASSES: usize = 3755;

#[derive(Debug, thiserror::Error)]
pub enum GntError {
    #[error("{path}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: truncated sample at byte {offset}: {what}")]
    Truncated { path: PathBuf, offset: u64, what: &'static str },
    #[error(
        "{path}: corrupt sample at byte {offset}: size field {size} does not match \
         {width}x{height} pixels (expected {expected})"
    )]
    SizeMismatch { path: PathBuf, offset: u64, size: u32, width: u16, height: u16, expected: u64 },
    #[error("{path}: sample at byte {offset} is empty ({width}x{height})")]
    Empty { path: PathBuf, offset: u64, width: u16, height: u16 },
}

/// One handwritten character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GntSample {
    /// GB2312 code, row byte first (e.g. `[0xB0, 0xA1]` for 啊).
    pub code: [u8; 2],
    pub width: u16,
    pub height: u16,
    /// Row-major gray pixels, 255 = paper.
    pub pixels: Vec<u8>,
}

impl GntSample {
    /// Class index in the 3755-character level-1 set, or `None` for symbols and level-2 codes.
    pub fn level1_class(&self) -> Option<usize> {
        level1_class(self.code)
    }

    /// The character as Unicode, when the code is valid GB2312.
    pub fn character(&self) -> Option<char> {
        character(self.code)
    }
}

/// Level-1 class of a GB2312 code: `(b1 - 0xB0) · 94 + (b2 - 0xA1)`.
pub fn level1_class(code: [u8; 2]) -> Option<usize> {
    let [b1, b2] = code;
    if !(0xB0..=0xD7).contains(&b1) || !(0xA1..=0xFE).contains(&b2) || (b1 == 0xD7 && b2 > 0xF9) {
        return None;
    }
    Some((b1 - 0xB0) as usize * 94 + (b2 - 0xA1) as usize)
}

/// The GB2312 code of a level-1 class index (inverse of [`level1_class`]).
pub fn level1_code(class: usize) -> Option<[u8; 2]> {
    (class < LEVEL1_CLASSES).then(|| [0xB0 + (class / 94) as u8, 0xA1 + (class % 94) as u8])
}

/// Decodes a GB2312 code to its character.
pub fn character(code: [u8; 2]) -> Option<char> {
    let (text, had_errors) = encoding_rs::GBK.decode_without_bom_handling(&code);
    let mut chars = text.chars();
    match (had_errors, chars.next(), chars.next()) {
        (false, Some(c), None) => Some(c),
        _ => None,
    }
}

/// Encodes a character as a two-byte GB2312 code.
pub fn code_of(c: char) -> Option<[u8; 2]> {
    let mut buf = [0u8; 4];
    let (bytes, _, had_errors) = encoding_rs::GBK.encode(c.encode_utf8(&mut buf));
    match (had_errors, bytes.as_ref()) {
        (false, &[b1, b2]) if b1 >= 0xA1 && b2 >= 0xA1 => Some([b1, b2]),
        _ => None,
    }
}

/// Where one sample lives in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GntEntry {
    pub offset: u64,
    pub code: [u8; 2],
    pub width: u16,
    pub height: u16,
}

/// Streams the samples of one `.gnt` file.
pub struct GntReader<R> {
    inner: R,
    path: PathBuf,
    offset: u64,
    failed: bool,
}

impl GntReader<BufReader<File>> {
    pub fn open(path: &Path) -> Result<Self, GntError> {
        let file =
            File::open(path).map_err(|source| GntError::Io { path: path.to_path_buf(), source })?;
        Ok(GntReader::new(BufReader::with_capacity(1 << 16, file), path))
    }
}

impl<R: Read> GntReader<R> {
    /// Wraps a byte stream; `path` names it in errors.
    pub fn new(inner: R, path: &Path) -> Self {
        GntReader { inner, path: path.to_path_buf(), offset: 0, failed: false }
    }

    /// Reads the next header; `Ok(None)` at a clean end of file.
    fn header(&mut self) -> Result<Option<GntEntry>, GntError> {
        let mut header = [0u8; HEADER_LEN as usize];
        let got = read_full(&mut self.inner, &mut header).map_err(|e| self.io(e))?;
        if got == 0 {
            return Ok(None);
        }
        if got < header.len() {
            return Err(self.truncated("header shorter than 10 bytes"));
        }
        let size = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let code = [header[4], header[5]];
        let width = u16::from_le_bytes([header[6], header[7]]);
        let height = u16::from_le_bytes([header[8], header[9]]);
        let expected = HEADER_LEN + width as u64 * height as u64;
        if size as u64 != expected {
            return Err(GntError::SizeMismatch {
                path: self.path.clone(),
                offset: self.offset,
                size,
                width,
                height,
                expected,
            });
        }
        if width == 0 || height == 0 {
            return Err(GntError::Empty {
                path: self.path.clone(),
                offset: self.offset,
                width,
                height,
            });
        }
        Ok(Some(GntEntry { offset: self.offset, code, width, height }))
    }

    fn io(&self, source: io::Error) -> GntError {
        GntError::Io { path: self.path.clone(), source }
    }

    fn truncated(&self, what: &'static str) -> GntError {
        GntError::Truncated { path: self.path.clone(), offset: self.offset, what }
    }

    fn next_sample(&mut self) -> Result<Option<GntSample>, GntError> {
        let Some(entry) = self.header()? else { return Ok(None) };
        let len = entry.width as usize * entry.height as usize;
        // Grown as bytes arrive, not sized from the header alone: a corrupt 10-byte header can
        // claim 65535x65535 pixels (4 GiB). 1 MiB holds any real sample in one allocation.
        let mut pixels = Vec::with_capacity(len.min(1 << 20));
        (&mut self.inner).take(len as u64).read_to_end(&mut pixels).map_err(|e| self.io(e))?;
        if pixels.len() < len {
            return Err(self.truncated("bitmap cut short"));
        }
        self.offset += HEADER_LEN + pixels.len() as u64;
        Ok(Some(GntSample { code: entry.code, width: entry.width, height: entry.height, pixels }))
    }
}

impl<R: Read> Iterator for GntReader<R> {
    type Item = Result<GntSample, GntError>;

    /// Yields samples until the end of the file; after an error it yields nothing more, since
    /// the position of the next sample is unknown.
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = self.next_sample().transpose();
        self.failed = matches!(item, Some(Err(_)));
        item
    }
}

/// Lists every sample of a file without reading its pixels.
pub fn index(path: &Path) -> Result<Vec<GntEntry>, GntError> {
    let file =
        File::open(path).map_err(|source| GntError::Io { path: path.to_path_buf(), source })?;
    let len =
        file.metadata().map_err(|source| GntError::Io { path: path.to_path_buf(), source })?.len();
    let mut reader = GntReader::new(BufReader::with_capacity(1 << 12, file), path);
    let mut entries = Vec::new();
    while let Some(entry) = reader.header()? {
        let end = entry.offset + HEADER_LEN + entry.width as u64 * entry.height as u64;
        if end > len {
            return Err(reader.truncated("bitmap cut short"));
        }
        reader.inner.seek(SeekFrom::Start(end)).map_err(|e| reader.io(e))?;
        reader.offset = end;
        entries.push(entry);
    }
    Ok(entries)
}

/// Reads the sample an [`index`] entry points at.
pub fn read_at(file: &mut File, path: &Path, entry: &GntEntry) -> Result<GntSample, GntError> {
    file.seek(SeekFrom::Start(entry.offset))
        .map_err(|source| GntError::Io { path: path.to_path_buf(), source })?;
    let mut reader = GntReader::new(&mut *file, path);
    reader.offset = entry.offset;
    match reader.next_sample()? {
        Some(sample) if sample.code == entry.code => Ok(sample),
        _ => Err(reader.truncated("file changed since it was indexed")),
    }
}

/// Writes samples in the `.gnt` layout.
pub struct GntWriter<W: Write> {
    inner: W,
}

impl GntWriter<BufWriter<File>> {
    pub fn create(path: &Path) -> io::Result<Self> {
        Ok(GntWriter { inner: BufWriter::new(File::create(path)?) })
    }
}

impl<W: Write> GntWriter<W> {
    pub fn new(inner: W) -> Self {
        GntWriter { inner }
    }

    /// Appends one sample. Fails if the pixel count does not match the size or is empty.
    pub fn write(
        &mut self,
        code: [u8; 2],
        width: u16,
        height: u16,
        pixels: &[u8],
    ) -> io::Result<()> {
        let area = width as usize * height as usize;
        if area == 0 || pixels.len() != area {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{width}x{height} sample with {} pixels", pixels.len()),
            ));
        }
        let size = u32::try_from(HEADER_LEN as usize + area)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "sample too large"))?;
        self.inner.write_all(&size.to_le_bytes())?;
        self.inner.write_all(&code)?;
        self.inner.write_all(&width.to_le_bytes())?;
        self.inner.write_all(&height.to_le_bytes())?;
        self.inner.write_all(pixels)
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.inner.flush()?;
        Ok(self.inner)
    }
}

/// Like `read_exact`, but reports how much was read instead of failing at end of file.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(code: [u8; 2], width: u16, height: u16, seed: u8) -> GntSample {
        let pixels =
            (0..width as usize * height as usize).map(|i| (i as u8).wrapping_mul(seed)).collect();
        GntSample { code, width, height, pixels }
    }

    fn encode(samples: &[GntSample]) -> Vec<u8> {
        let mut w = GntWriter::new(Vec::new());
        for s in samples {
            w.write(s.code, s.width, s.height, &s.pixels).unwrap();
        }
        w.finish().unwrap()
    }

    fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("lookout-gnt-{name}-{}.gnt", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn layout_matches_the_casia_format_byte_for_byte() {
        let bytes =
            encode(&[GntSample { code: [0xB0, 0xA1], width: 2, height: 1, pixels: vec![0, 255] }]);
        assert_eq!(bytes, [12, 0, 0, 0, 0xB0, 0xA1, 2, 0, 1, 0, 0, 255]);
    }

    #[test]
    fn samples_round_trip() {
        let samples = vec![
            sample([0xB0, 0xA1], 3, 2, 7),
            sample([0xD7, 0xF9], 64, 80, 3),
            sample([0xA3, 0xB0], 1, 1, 1),
        ];
        let bytes = encode(&samples);
        let read: Vec<GntSample> = GntReader::new(bytes.as_slice(), Path::new("mem.gnt"))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(read, samples);
    }

    #[test]
    fn truncation_reports_the_sample_offset() {
        let bytes = encode(&[sample([0xB0, 0xA1], 4, 4, 1), sample([0xB0, 0xA2], 4, 4, 2)]);
        let cut = &bytes[..bytes.len() - 3];
        let mut reader = GntReader::new(cut, Path::new("cut.gnt"));
        assert!(reader.next().unwrap().is_ok());
        let err = reader.next().unwrap().unwrap_err();
        assert_eq!(err.to_string(), "cut.gnt: truncated sample at byte 26: bitmap cut short");
        assert!(reader.next().is_none(), "nothing after an error");

        let header_cut = &bytes[..26 + 5];
        let err = GntReader::new(header_cut, Path::new("h.gnt")).nth(1).unwrap().unwrap_err();
        assert_eq!(
            err.to_string(),
            "h.gnt: truncated sample at byte 26: header shorter than 10 bytes"
        );
    }

    #[test]
    fn huge_header_on_a_short_file_is_truncation_not_a_4_gib_buffer() {
        // Found with fuzz/fuzz_targets/gnt_reader.rs, whose allocator fails requests that large.
        struct Probe<'a> {
            bytes: &'a [u8],
            largest_buffer: usize,
        }
        impl Read for Probe<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.largest_buffer = self.largest_buffer.max(buf.len());
                self.bytes.read(buf)
            }
        }
        let mut bytes = (10 + 65535u32 * 65535).to_le_bytes().to_vec();
        bytes.extend([0xB0, 0xA1, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3]);
        let mut probe = Probe { bytes: &bytes, largest_buffer: 0 };
        let err = GntReader::new(&mut probe, Path::new("huge.gnt")).next().unwrap().unwrap_err();
        assert_eq!(err.to_string(), "huge.gnt: truncated sample at byte 0: bitmap cut short");
        assert!(probe.largest_buffer <= 1 << 20, "{} bytes asked for", probe.largest_buffer);
    }

    #[test]
    fn corrupt_size_field_is_reported_not_trusted() {
        let mut bytes = encode(&[sample([0xB0, 0xA1], 4, 4, 1)]);
        bytes[0] = 99;
        let err =
            GntReader::new(bytes.as_slice(), Path::new("bad.gnt")).next().unwrap().unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad.gnt: corrupt sample at byte 0: size field 99 does not match 4x4 pixels (expected 26)"
        );
    }

    #[test]
    fn empty_file_has_no_samples() {
        assert!(GntReader::new(&[][..], Path::new("e.gnt")).next().is_none());
    }

    #[test]
    fn index_and_random_access_agree_with_streaming() {
        let samples: Vec<GntSample> = (0..20u8)
            .map(|i| sample(level1_code(i as usize * 150).unwrap(), 5 + i as u16, 7, i))
            .collect();
        let path = temp_file("index", &encode(&samples));
        let entries = index(&path).unwrap();
        assert_eq!(entries.len(), 20);
        let mut file = File::open(&path).unwrap();
        for (entry, want) in entries.iter().zip(&samples).rev() {
            assert_eq!(&read_at(&mut file, &path, entry).unwrap(), want);
        }
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() - 1);
        std::fs::write(&path, &bytes).unwrap();
        let err = index(&path).unwrap_err().to_string();
        assert!(err.ends_with("bitmap cut short"), "{err}");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn level1_classes_cover_exactly_3755_codes() {
        let mut seen = vec![false; LEVEL1_CLASSES];
        for b1 in 0xA1..=0xFEu8 {
            for b2 in 0xA1..=0xFEu8 {
                if let Some(class) = level1_class([b1, b2]) {
                    assert!(!seen[class]);
                    seen[class] = true;
                    assert_eq!(level1_code(class), Some([b1, b2]));
                }
            }
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(level1_class([0xD7, 0xFA]), None, "row 0xD7 ends at 0xF9");
        assert_eq!(level1_class([0xA3, 0xB0]), None, "full-width digits are symbols");
        assert_eq!(level1_code(LEVEL1_CLASSES), None);
    }

    #[test]
    fn codes_map_to_characters_and_back() {
        assert_eq!(character([0xB0, 0xA1]), Some('啊'));
        assert_eq!(character([0xD7, 0xF9]), Some('座'));
        assert_eq!(code_of('啊'), Some([0xB0, 0xA1]));
        assert_eq!(code_of('A'), None, "ASCII is one byte, not a GB2312 code");
        for class in [0, 1000, 3754] {
            let code = level1_code(class).unwrap();
            assert_eq!(code_of(character(code).unwrap()), Some(code));
        }
    }
}
