//! Decoding an ONNX file's protobuf as it is read, in 64 KB pieces, with its sha256 computed on
//! the way: the protobuf holds a copy of every weight, so reading the whole file first would
//! hold two (44 MB for the face embedding model, the daemon's peak memory on a Pi).

use std::io::Read;

use prost::bytes::Buf;
use prost::Message;
use sha2::{Digest, Sha256};
use tract_onnx::pb::ModelProto;

const PIECE: usize = 64 * 1024;

#[derive(Debug)]
pub enum StreamError {
    Io(std::io::Error),
    Decode(String),
}

/// The model in `file` and the hex sha256 of its bytes.
pub fn decode(file: std::fs::File) -> Result<(ModelProto, String), StreamError> {
    let len = file.metadata().map_err(StreamError::Io)?.len();
    let len = usize::try_from(len)
        .map_err(|_| StreamError::Decode(format!("{len} bytes is too large")))?;
    let mut buf = StreamBuf::new(file, len);
    let decoded = ModelProto::decode(&mut buf);
    if let Some(e) = buf.failed.take() {
        return Err(StreamError::Io(e));
    }
    let proto = decoded.map_err(|e| StreamError::Decode(e.to_string()))?;
    let sha256 = buf.hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((proto, sha256))
}

/// A `Buf` over a reader: one piece in memory at a time. A read error (or a file shorter than
/// it said) ends the data early, so the decoder fails, and is kept in `failed`.
struct StreamBuf<R> {
    reader: R,
    piece: Vec<u8>,
    pos: usize,
    /// Bytes not consumed yet, in the piece and after it.
    left: usize,
    hasher: Sha256,
    failed: Option<std::io::Error>,
}

impl<R: Read> StreamBuf<R> {
    fn new(reader: R, len: usize) -> StreamBuf<R> {
        let mut buf = StreamBuf {
            reader,
            piece: Vec::with_capacity(PIECE),
            pos: 0,
            left: len,
            hasher: Sha256::new(),
            failed: None,
        };
        buf.refill();
        buf
    }

    fn refill(&mut self) {
        self.piece.clear();
        self.pos = 0;
        if self.left == 0 {
            return;
        }
        self.piece.resize(PIECE.min(self.left), 0);
        let mut filled = 0;
        while filled < self.piece.len() {
            match self.reader.read(&mut self.piece[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.failed = Some(e);
                    break;
                }
            }
        }
        self.piece.truncate(filled);
        self.hasher.update(&self.piece);
        if filled == 0 {
            if self.failed.is_none() {
                self.failed = Some(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.left = 0;
        }
    }
}

impl<R: Read> Buf for StreamBuf<R> {
    fn remaining(&self) -> usize {
        self.left
    }

    fn chunk(&self) -> &[u8] {
        &self.piece[self.pos..]
    }

    fn advance(&mut self, cnt: usize) {
        let cnt = cnt.min(self.piece.len() - self.pos);
        self.pos += cnt;
        self.left -= cnt;
        if self.pos == self.piece.len() {
            self.refill();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_a_whole_read_decodes_with_the_same_sha256() {
        let path = std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/model/tiny_classify.onnx"
        ));
        let bytes = std::fs::read(path).unwrap();
        let (proto, sha) = decode(std::fs::File::open(path).unwrap()).unwrap();
        assert_eq!(proto, ModelProto::decode(&bytes[..]).unwrap());
        let expected: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(sha, expected);
    }

    #[test]
    fn a_short_read_is_an_error_not_a_model() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/model/tiny_classify.onnx"
        ))
        .unwrap();
        // The reader ends before the length it announced.
        let mut buf = StreamBuf::new(&bytes[..100], bytes.len());
        assert!(ModelProto::decode(&mut buf).is_err());
        assert!(buf.failed.is_some());
    }
}
