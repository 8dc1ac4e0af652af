//! Lets the lookout-tools binaries find libtorch at run time without LD_LIBRARY_PATH:
//! `scripts/libtorch-env.sh` exports the library folders it set up in LOOKOUT_TORCH_RPATH,
//! and each becomes an rpath entry.

fn main() {
    println!("cargo:rerun-if-env-changed=LOOKOUT_TORCH_RPATH");
    if let Ok(paths) = std::env::var("LOOKOUT_TORCH_RPATH") {
        // DT_RPATH, not RUNPATH: RUNPATH serves only the binary's own dependencies, and
        // libtorch_cpu itself needs the CUDA runtime and CUPTI libraries from these folders.
        println!("cargo:rustc-link-arg=-Wl,--disable-new-dtags");
        for dir in paths.split(':').filter(|d| !d.is_empty()) {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        }
    }
}
