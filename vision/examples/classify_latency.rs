//! Latency of one classifier run in tract, batch 1, on one fixed preprocessed input.
//!
//!   cargo run --release -p lookout-vision --example classify_latency -- MODEL IMAGE [--region X,Y,W,H]
//!       [--runs N] [--warmup N] [--dump DIR]
//!
//! The image region (default: the whole image) goes through the runtime's own preprocessing
//! (`lookout.input` of the model), so the tensor is the one the daemon would build. After
//! `--warmup` untimed runs (default 20), `--runs` runs (default 500) are timed one by one; prints
//! one JSON line `{"model","runs","median_ms","p95_ms"}`. tract runs on the calling thread only
//! (the crate is built without tract's multithreaded kernels), so this is single-threaded.
//! `--dump DIR` writes `input.f32` and `output.f32` (little-endian) so that another runtime
//! (bench/classifier.sh: ONNX Runtime) can be timed on the same tensor and checked against ours.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use lookout_vision::cascade::Rect;
use lookout_vision::model::Model;
use lookout_vision::preprocess::{Pixels, Preprocessor};

/// The printed line; fields in this order.
#[derive(serde::Serialize)]
struct Report {
    model: String,
    runs: usize,
    median_ms: f64,
    p95_ms: f64,
}

struct Args {
    model: PathBuf,
    image: PathBuf,
    region: Option<Rect>,
    runs: usize,
    warmup: usize,
    dump: Option<PathBuf>,
}

fn parse_args() -> Result<Args> {
    let mut positional = Vec::new();
    let (mut region, mut runs, mut warmup, mut dump) = (None, 500, 20, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--region" => {
                let v: Vec<i32> = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()
                    .context("--region takes X,Y,W,H")?;
                let [x, y, width, height] = v[..] else { bail!("--region takes X,Y,W,H") };
                region = Some(Rect { x, y, width, height });
            }
            "--runs" => runs = value()?.parse().context("--runs")?,
            "--warmup" => warmup = value()?.parse().context("--warmup")?,
            "--dump" => dump = Some(PathBuf::from(value()?)),
            _ if arg.starts_with("--") => bail!("unknown option {arg}"),
            _ => positional.push(PathBuf::from(arg)),
        }
    }
    let [model, image] = <[PathBuf; 2]>::try_from(positional)
        .map_err(|_| anyhow::anyhow!("usage: classify_latency MODEL IMAGE [options]"))?;
    if runs == 0 {
        bail!("--runs must be at least 1");
    }
    Ok(Args { model, image, region, runs, warmup, dump })
}

fn write_f32(path: &Path, values: &[f32]) -> Result<()> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let model = Model::load(&args.model)?;
    let decoded = lookout_vision::image_io::read(&args.image)?;
    let (w, h) = (decoded.gray.width, decoded.gray.height);
    let region = args.region.unwrap_or(Rect { x: 0, y: 0, width: w as i32, height: h as i32 });
    // The same choice as the daemon: gray models read the gray plane, colour models RGB.
    let pixels = if model.meta.input.channels == 1 {
        Pixels { width: w, height: h, channels: 1, data: &decoded.gray.pixels }
    } else {
        Pixels { width: w, height: h, channels: 3, data: decoded.rgb.as_raw() }
    };
    let mut input = Vec::new();
    Preprocessor::default().prepare(&model.meta.input, pixels, region, &mut input);

    let mut output = Vec::new();
    for _ in 0..args.warmup {
        output = model.run(&input)?;
    }
    let mut ms = Vec::with_capacity(args.runs);
    for _ in 0..args.runs {
        let started = Instant::now();
        output = model.run(&input)?;
        ms.push(started.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    // Nearest-rank percentiles, the same definition bench/classifier.py uses for ONNX Runtime.
    let rank = |q: f64| ms[((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];

    if let Some(dir) = &args.dump {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        write_f32(&dir.join("input.f32"), &input)?;
        write_f32(&dir.join("output.f32"), &output)?;
    }
    let model = args.model.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let us = |v: f64| (v * 1e3).round() / 1e3;
    let report =
        Report { model, runs: args.runs, median_ms: us(rank(0.5)), p95_ms: us(rank(0.95)) };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
