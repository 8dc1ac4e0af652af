//! Third-party parsers and decoders (tract's ONNX loader, the JPEG decoder, symphonia's audio
//! decoders) have panicked on malformed input; the fuzz targets found such inputs. A bad file or
//! a glitched camera frame must stay a bad input with an error, never take the daemon down, so
//! that code runs through [`catch_panic`]. Both shipped profiles unwind (`panic = "unwind"`).

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`; a panic inside it comes back as `Err` with the panic's message.
///
/// Only for code that leaves nothing of ours half-updated when it panics (decoders building a
/// fresh value from bytes), which is why unwind safety is asserted rather than proved.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_passes_through() {
        assert_eq!(catch_panic(|| 41 + 1), Ok(42));
    }

    #[test]
    fn a_panic_becomes_its_message() {
        assert_eq!(catch_panic(|| -> u8 { panic!("static text") }), Err("static text".into()));
        let n = 7;
        assert_eq!(catch_panic(|| -> u8 { panic!("formatted {n}") }), Err("formatted 7".into()));
        let slice: &[u8] = &[];
        let err = catch_panic(|| slice[3]).unwrap_err();
        assert!(err.contains("index out of bounds"), "{err}");
    }
}
