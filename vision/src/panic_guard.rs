//! Third-party parsers and decoders (tract's ONNX loader, the JPEG decoder, symphonia's audio
//! decoders) have panicked on malformed input; the fuzz targets found such inputs. A bad file or
//! a glitched camera frame must stay a bad input with an error, never take the daemon down, so
//! that code runs through [`catch_panic`]. Both shipped profiles unwind (`panic = "unwind"`).

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    /// Set while this thread runs code under [`catch_panic`].
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`; a panic inside it comes back as `Err` with the panic's message.
///
/// Only for code that leaves nothing of ours half-updated when it panics (decoders building a
/// fresh value from bytes), which is why unwind safety is asserted rather than proved.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let outer = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(outer));
    result.map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into())
    })
}

/// Makes the process's panic hook silent for panics that [`catch_panic`] catches: their message
/// comes back in the error, which the caller logs with its own rate limit, so the hook's line on
/// stderr (the journal, under systemd) would only repeat it, once per glitched camera frame.
/// Every other panic still goes to the hook that was installed before. For binaries to call
/// once at start-up; a library never replaces the hook by itself.
pub fn quiet_caught_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !GUARDED.with(Cell::get) {
            previous(info);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_passes_through() {
        assert_eq!(catch_panic(|| 41 + 1), Ok(42));
    }

    #[test]
    fn the_guard_is_lifted_after_the_call_even_when_nested_or_panicking() {
        let _ = catch_panic(|| catch_panic(|| -> u8 { panic!("inner") }));
        assert!(!GUARDED.with(Cell::get));
        let _ = catch_panic(|| -> u8 { panic!("outer") });
        assert!(!GUARDED.with(Cell::get));
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
