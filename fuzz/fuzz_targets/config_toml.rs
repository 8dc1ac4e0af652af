//! Any bytes given to the config parser must produce settings or an error, never a panic; so
//! must validating them into settings, resolving their paths and printing them for `lookout
//! check`. Settings that validate must print as TOML that parses back to the same settings.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use lookout::config::Config;
use lookout::settings::Settings;
use lookout_fuzz::CappedAlloc;

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("fuzz.toml");
    let Ok(mut config) = Config::parse(text, path) else { return };
    let Ok(settings) = Settings::new(config.clone(), path) else { return };
    let printed = settings.to_toml();
    let reparsed = Config::parse(&printed, path).expect("printed settings parse back");
    assert_eq!(reparsed, config, "printed settings round-trip:\n{printed}");
    let again = Settings::new(reparsed, path).expect("printed settings validate again");
    assert_eq!(again, settings, "validated settings round-trip:\n{printed}");
    config.resolve_paths(Path::new("/etc/lookout"));
    let _ = Settings::new(config, path);
});
