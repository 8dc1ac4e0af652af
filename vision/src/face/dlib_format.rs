//! Reading dlib's serialization format (`dlib/serialize.h`), the way its `.dat` model files are
//! written: sign-magnitude integers behind a control byte, floats as (mantissa, exponent) pairs,
//! length-prefixed strings and vectors, matrices with negated dimensions, and tensors of raw
//! little-endian `f32`. The layouts are described in `docs/dlib-formats.md` §1.
//!
//! A [`Reader`] walks a byte slice and reports errors with the byte offset and what it was
//! reading, so a truncated or foreign file says where it stopped making sense.

/// Why a dlib stream could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FormatError {
    #[error("ends at byte {offset} while reading {what}")]
    Truncated { offset: usize, what: &'static str },
    #[error("byte {offset}: {what}: {reason}")]
    Invalid { offset: usize, what: &'static str, reason: String },
}

/// A cursor over a dlib stream.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

/// A dlib tensor: dimensions (num_samples, k, nr, nc) and data in that row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub dims: [usize; 4],
    pub data: Vec<f32>,
}

/// Largest element count accepted for one matrix, vector or tensor: far above any dlib model
/// (the face ResNet's largest tensor holds 590,080 values), low enough that a corrupt length
/// cannot ask for gigabytes.
const MAX_ELEMENTS: u64 = 1 << 26;

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, offset: 0 }
    }

    /// Bytes read so far.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.offset
    }

    /// Whether the whole stream has been read.
    pub fn at_end(&self) -> bool {
        self.offset == self.bytes.len()
    }

    pub fn invalid(&self, what: &'static str, reason: impl Into<String>) -> FormatError {
        FormatError::Invalid { offset: self.offset, what, reason: reason.into() }
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FormatError> {
        let end = self.offset.checked_add(n).filter(|&end| end <= self.bytes.len());
        let end = end.ok_or(FormatError::Truncated { offset: self.bytes.len(), what })?;
        let slice = &self.bytes[self.offset..end];
        self.offset = end;
        Ok(slice)
    }

    pub fn byte(&mut self, what: &'static str) -> Result<u8, FormatError> {
        Ok(self.take(1, what)?[0])
    }

    /// A signed integer of any width (`int`, `long`, `long long` are alike on the wire).
    pub fn int(&mut self, what: &'static str) -> Result<i64, FormatError> {
        let start = self.offset;
        let control = self.byte(what)?;
        let len = (control & 0x0F) as usize;
        if len == 0 || len > 8 || control & 0x70 != 0 {
            self.offset = start;
            return Err(self.invalid(what, format!("bad integer control byte 0x{control:02x}")));
        }
        let magnitude =
            self.take(len, what)?.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let magnitude = i64::try_from(magnitude).map_err(|_| FormatError::Invalid {
            offset: start,
            what,
            reason: "integer too large".into(),
        })?;
        Ok(if control & 0x80 != 0 { -magnitude } else { magnitude })
    }

    /// An unsigned integer (a set sign bit is an error, as in dlib).
    pub fn uint(&mut self, what: &'static str) -> Result<u64, FormatError> {
        let start = self.offset;
        let value = self.int(what)?;
        u64::try_from(value).map_err(|_| FormatError::Invalid {
            offset: start,
            what,
            reason: format!("negative value {value} for an unsigned field"),
        })
    }

    /// An unsigned count or size, bounded by [`MAX_ELEMENTS`].
    pub fn len(&mut self, what: &'static str) -> Result<usize, FormatError> {
        let start = self.offset;
        let value = self.uint(what)?;
        if value > MAX_ELEMENTS {
            return Err(FormatError::Invalid {
                offset: start,
                what,
                reason: format!("length {value} is larger than any dlib model holds"),
            });
        }
        Ok(value as usize)
    }

    /// An integer that must equal `expected` (a version number, a fixed size).
    pub fn expect_int(&mut self, expected: i64, what: &'static str) -> Result<(), FormatError> {
        let start = self.offset;
        let value = self.int(what)?;
        if value != expected {
            return Err(FormatError::Invalid {
                offset: start,
                what,
                reason: format!("expected {expected}, found {value}"),
            });
        }
        Ok(())
    }

    /// dlib's bool: the ASCII byte `'1'` or `'0'`.
    pub fn boolean(&mut self, what: &'static str) -> Result<bool, FormatError> {
        match self.byte(what)? {
            b'1' => Ok(true),
            b'0' => Ok(false),
            other => {
                self.offset -= 1;
                Err(self.invalid(what, format!("a bool is '0' or '1', found byte 0x{other:02x}")))
            }
        }
    }

    /// A `float` or `double` in dlib's portable form: mantissa, then exponent.
    pub fn float(&mut self, what: &'static str) -> Result<f64, FormatError> {
        let mantissa = self.int(what)?;
        let start = self.offset;
        let exponent = self.int(what)?;
        Ok(match exponent {
            32000 => f64::INFINITY,
            32001 => f64::NEG_INFINITY,
            32002 => f64::NAN,
            e if (-1100..1100).contains(&e) => mantissa as f64 * 2f64.powi(e as i32),
            e => {
                return Err(FormatError::Invalid {
                    offset: start,
                    what,
                    reason: format!("float exponent {e} is out of range"),
                })
            }
        })
    }

    /// A float field stored from an `f32`: the mantissa has at most 24 bits, so the value is
    /// exact in `f32`.
    pub fn float32(&mut self, what: &'static str) -> Result<f32, FormatError> {
        Ok(self.float(what)? as f32)
    }

    /// A length-prefixed string.
    pub fn string(&mut self, what: &'static str) -> Result<String, FormatError> {
        let len = self.len(what)?;
        let start = self.offset;
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| FormatError::Invalid {
            offset: start,
            what,
            reason: "not UTF-8 text".into(),
        })
    }

    /// A string that must be one of `names` (a layer's or object's tag); returns which.
    pub fn tag(
        &mut self,
        names: &[&'static str],
        what: &'static str,
    ) -> Result<&'static str, FormatError> {
        let start = self.offset;
        let found = self.string(what)?;
        names.iter().copied().find(|n| *n == found).ok_or_else(|| FormatError::Invalid {
            offset: start,
            what,
            reason: format!("found {found:?}, expected {}", names.join(" or ")),
        })
    }

    /// A `matrix<float,0,1>` (or any matrix of floats): dimensions stored negated, then the
    /// elements row by row. Returns (rows, cols, values).
    pub fn matrix(&mut self, what: &'static str) -> Result<(usize, usize, Vec<f32>), FormatError> {
        let mut values = Vec::new();
        let (rows, cols) = self.matrix_into(what, &mut values)?;
        Ok((rows, cols, values))
    }

    /// Like [`Reader::matrix`], appending the elements to `out` (one allocation for thousands
    /// of small matrices, such as a shape predictor's leaves). Returns (rows, cols).
    pub fn matrix_into(
        &mut self,
        what: &'static str,
        out: &mut Vec<f32>,
    ) -> Result<(usize, usize), FormatError> {
        let start = self.offset;
        let rows = self.int(what)?.unsigned_abs();
        let cols = self.int(what)?.unsigned_abs();
        let count = rows.checked_mul(cols).filter(|&n| n <= MAX_ELEMENTS).ok_or_else(|| {
            FormatError::Invalid {
                offset: start,
                what,
                reason: format!("{rows}x{cols} matrix is too large"),
            }
        })?;
        for _ in 0..count {
            out.push(self.float32(what)?);
        }
        Ok((rows as usize, cols as usize))
    }

    /// A `resizable_tensor` (version 2: dims, then raw little-endian `f32`).
    pub fn tensor(&mut self, what: &'static str) -> Result<Tensor, FormatError> {
        self.expect_int(2, what)?;
        let dims = self.dims(what)?;
        let count = dims.iter().product::<usize>();
        let bytes = self.take(count * 4, what)?;
        let data =
            bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        Ok(Tensor { dims, data })
    }

    /// An `alias_tensor`: version 1 and a shape, no data.
    pub fn alias_tensor(&mut self, what: &'static str) -> Result<[usize; 4], FormatError> {
        self.expect_int(1, what)?;
        self.dims(what)
    }

    fn dims(&mut self, what: &'static str) -> Result<[usize; 4], FormatError> {
        let start = self.offset;
        let mut dims = [0usize; 4];
        for d in &mut dims {
            *d = self.len(what)?;
        }
        let count = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
        if count.is_none_or(|n| n > MAX_ELEMENTS) {
            return Err(FormatError::Invalid {
                offset: start,
                what,
                reason: format!("tensor of shape {dims:?} is too large"),
            });
        }
        Ok(dims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_sign_magnitude_little_endian() {
        let mut r =
            Reader::new(&[0x81, 0x0A, 0x01, 0x02, 0x01, 0x96, 0x02, 0x2C, 0x01, 0x01, 0x00]);
        assert_eq!(r.int("a").unwrap(), -10);
        assert_eq!(r.int("b").unwrap(), 2);
        assert_eq!(r.int("c").unwrap(), 150);
        assert_eq!(r.int("d").unwrap(), 300);
        assert_eq!(r.uint("e").unwrap(), 0);
        assert!(r.at_end());
    }

    #[test]
    fn floats_are_mantissa_then_exponent() {
        // 0.04 as the face ResNet's loss layer stores it.
        let mut r = Reader::new(&[0x03, 0x0A, 0xD7, 0xA3, 0x81, 0x1C]);
        assert_eq!(r.float32("margin").unwrap(), 0.04);
    }

    #[test]
    fn matrix_dims_are_negated() {
        let mut bytes = vec![0x81, 0x02, 0x81, 0x01];
        bytes.extend([0x01, 0x01, 0x01, 0x00]); // 1.0
        bytes.extend([0x01, 0x03, 0x81, 0x01]); // 1.5
        let (rows, cols, values) = Reader::new(&bytes).matrix("m").unwrap();
        assert_eq!((rows, cols, values), (2, 1, vec![1.0, 1.5]));
    }

    #[test]
    fn tensors_hold_raw_f32() {
        let mut bytes = vec![0x01, 0x02, 0x01, 0x02, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01];
        bytes.extend(1.25f32.to_le_bytes());
        bytes.extend((-2.0f32).to_le_bytes());
        let t = Reader::new(&bytes).tensor("t").unwrap();
        assert_eq!(t.dims, [2, 1, 1, 1]);
        assert_eq!(t.data, vec![1.25, -2.0]);
    }

    #[test]
    fn errors_say_where_and_what() {
        let err = Reader::new(&[0x01, 0x05, b'c', b'o']).string("layer tag").unwrap_err();
        assert_eq!(err, FormatError::Truncated { offset: 4, what: "layer tag" });
        let err = Reader::new(&[0x00]).int("version").unwrap_err();
        assert!(err.to_string().contains("byte 0: version: bad integer control byte"), "{err}");
        let err = Reader::new(b"x").boolean("flag").unwrap_err();
        assert!(err.to_string().contains("'0' or '1'"), "{err}");
        // A corrupt length cannot make the reader allocate gigabytes.
        let err = Reader::new(&[0x01, 0x02, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
            .tensor("params")
            .unwrap_err();
        assert!(matches!(err, FormatError::Invalid { .. }), "{err}");
    }
}
