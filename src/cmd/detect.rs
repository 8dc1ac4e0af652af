//! `lookout detect`: run the cascade detector over image files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use lookout_vision::cascade::{self, DetectParams, Detector};
use lookout_vision::image_io;

use super::ImageFiles;

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// OpenCV cascade XML (Haar or LBP, current or legacy format) [default: the built-in
    /// haarcascade_frontalface_default.xml]
    #[arg(long, value_name = "FILE")]
    cascade: Option<PathBuf>,
    /// Window growth between scales (> 1).
    #[arg(long, default_value_t = 1.1, value_name = "F")]
    scale_factor: f64,
    /// Raw hits a detection needs beyond the first; 0 reports raw hits ungrouped.
    #[arg(long, default_value_t = 3, value_name = "N")]
    min_neighbors: u32,
    /// Smallest face size in pixels (square).
    #[arg(long, value_name = "PX")]
    min_size: Option<u32>,
    /// Largest face size in pixels (square).
    #[arg(long, value_name = "PX")]
    max_size: Option<u32>,
    /// Worker threads [default: number of cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: Option<u32>,
    /// Print one JSON object per image: {"image", "faces": [[x, y, w, h], ...], "ms"}.
    #[arg(long)]
    json: bool,
    /// Write each image with its boxes drawn into this folder (as <name>.png).
    #[arg(long, value_name = "DIR")]
    draw: Option<PathBuf>,
    /// Image files (PNG, JPEG, BMP, PNM).
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<PathBuf>,
}

/// One `--json` line; fields serialize in this order.
#[derive(serde::Serialize)]
struct JsonLine<'a> {
    image: &'a str,
    faces: Vec<[i32; 4]>,
    ms: f64,
}

pub fn run(args: DetectArgs) -> anyhow::Result<ExitCode> {
    let params = DetectParams {
        scale_factor: args.scale_factor,
        min_neighbors: args.min_neighbors,
        min_size: args.min_size.map_or((0, 0), |s| (s, s)),
        max_size: args.max_size.map(|s| (s, s)),
    };
    params.validate().context("--scale-factor")?;
    let detector = Detector::new(cascade::load_or_default(args.cascade.as_deref())?);
    let threads = match args.threads {
        Some(n) => n as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    if let Some(dir) = &args.draw {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create folder", dir.display()))?;
    }

    let mut files = ImageFiles::default();
    let stdout = std::io::stdout();
    for path in &args.images {
        let Some(decoded) = files.read(path) else { continue };
        let start = Instant::now();
        let faces = detector.detect(&decoded.gray, &params, threads);
        let ms = start.elapsed().as_secs_f64() * 1e3;
        let mut out = stdout.lock();
        if args.json {
            let line = JsonLine {
                image: &path.to_string_lossy(),
                faces: faces.iter().map(|r| [r.x, r.y, r.width, r.height]).collect(),
                ms,
            };
            writeln!(out, "{}", serde_json::to_string(&line)?)?;
        } else {
            let boxes: Vec<String> = faces
                .iter()
                .map(|r| format!("[{} {} {} {}]", r.x, r.y, r.width, r.height))
                .collect();
            writeln!(
                out,
                "{}: {} found {} ({ms:.1} ms)",
                path.display(),
                faces.len(),
                boxes.join(" ")
            )?;
        }
        if let Some(dir) = &args.draw {
            let mut rgb = decoded.rgb;
            image_io::draw_boxes(&mut rgb, &faces, [0, 255, 0]);
            let target = dir.join(drawn_name(path));
            if let Err(err) = image_io::write_png(&rgb, &target) {
                files.fail(&err);
            }
        }
    }
    Ok(files.exit_code())
}

fn drawn_name(image: &Path) -> PathBuf {
    match image.file_stem().map(|s| s.to_string_lossy()) {
        Some(stem) if !stem.is_empty() => PathBuf::from(format!("{stem}.png")),
        _ => PathBuf::from("image.png"),
    }
}
