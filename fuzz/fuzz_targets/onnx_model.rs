//! Any bytes given to the model loader (ONNX protobuf, then the `lookout.*` metadata checked
//! against the graph) must produce a model or an error, never a panic; a model that loads must
//! also run once on a zero input and decode its output without panicking.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use lookout_vision::model::Model;
use lookout_fuzz::CappedAlloc;

/// Inputs above this many values are not run: the point is the loader, not big convolutions.
const MAX_RUN_VALUES: usize = 1 << 16;

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

// `Model::from_bytes` turns tract's panics into errors, but libfuzzer-sys's panic hook aborts
// before they are caught; the binary's own hook set-up keeps the hook silent inside
// `catch_panic` and hands every other panic on to libfuzzer-sys's, which aborts: a crash.
fuzz_target!(init: lookout_vision::panic_guard::quiet_caught_panics(), |data: &[u8]| load_and_run(data));

fn load_and_run(data: &[u8]) {
    let Ok(model) = Model::from_bytes(data, Path::new("fuzz.onnx")) else { return };
    let len = model.meta.input.len();
    if len > MAX_RUN_VALUES {
        return;
    }
    if let Ok(output) = model.run(&vec![0.0; len]) {
        let _ = model.read_text(&output, 1, 3);
        let _ = model.read_text(&output, 4, 3);
    }
}
