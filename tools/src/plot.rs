//! PNG figures: training curves and confusion matrices (plotters, bitmap backend).
//!
//! Text needs a TrueType font; the first of a few common Debian fonts that exists is used
//! (`fonts-dejavu-core` provides the first one).

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;

use crate::checkpoint::EpochMetrics;

const FONT_CANDIDATES: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
];

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("no TrueType font found (looked for {0}); install fonts-dejavu-core")]
    NoFont(String),
    #[error("{0}")]
    Draw(String),
}

fn draw_err<E: std::fmt::Display>(e: E) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// Registers the font once per process under the family name "sans-serif".
fn ensure_font() -> Result<(), PlotError> {
    static FONT: OnceLock<Result<(), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        for path in FONT_CANDIDATES {
            if let Ok(bytes) = std::fs::read(path) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return Ok(());
                }
            }
        }
        Err(FONT_CANDIDATES.join(", "))
    })
    .clone()
    .map_err(PlotError::NoFont)
}

/// Loss (left) and accuracy (right) per epoch.
pub fn training_curves(path: &Path, history: &[EpochMetrics]) -> Result<(), PlotError> {
    ensure_font()?;
    let root = BitMapBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let (left, right) = root.split_horizontally(500);
    let epochs = history.len().max(2) as f64;
    let finite = |v: f64| v.is_finite().then_some(v);
    let max_loss = history
        .iter()
        .flat_map(|m| [finite(m.train_loss), finite(m.val_loss)])
        .flatten()
        .fold(0.1f64, f64::max);

    let mut chart = ChartBuilder::on(&left)
        .caption("loss", ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(1f64..epochs, 0f64..max_loss * 1.05)
        .map_err(draw_err)?;
    chart.configure_mesh().x_desc("epoch").draw().map_err(draw_err)?;
    series(&mut chart, history, |m| m.train_loss, BLUE, "train")?;
    series(&mut chart, history, |m| m.val_loss, RED, "validation")?;
    legend(&mut chart)?;

    let mut chart = ChartBuilder::on(&right)
        .caption("accuracy", ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(1f64..epochs, 0f64..1.0f64)
        .map_err(draw_err)?;
    chart.configure_mesh().x_desc("epoch").draw().map_err(draw_err)?;
    series(&mut chart, history, |m| m.train_top1, BLUE, "train top-1")?;
    series(&mut chart, history, |m| m.val_top1, RED, "validation top-1")?;
    series(&mut chart, history, |m| m.val_top3, GREEN, "validation top-3")?;
    legend(&mut chart)?;
    root.present().map_err(draw_err)
}

type Chart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn series<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    history: &[EpochMetrics],
    value: impl Fn(&EpochMetrics) -> f64,
    colour: RGBColor,
    name: &str,
) -> Result<(), PlotError> {
    let points: Vec<(f64, f64)> =
        history.iter().map(|m| (m.epoch as f64, value(m))).filter(|(_, v)| v.is_finite()).collect();
    if points.is_empty() {
        return Ok(());
    }
    chart
        .draw_series(LineSeries::new(points, colour.stroke_width(2)))
        .map_err(draw_err)?
        .label(name)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
    Ok(())
}

fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>) -> Result<(), PlotError> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(draw_err)
}

/// A confusion matrix: rows are true classes, columns predictions, each row normalised.
/// Labels are written when they are ASCII (the font has no CJK glyphs), indices otherwise.
pub fn confusion(path: &Path, labels: &[String], counts: &[Vec<u64>]) -> Result<(), PlotError> {
    ensure_font()?;
    let n = labels.len();
    let cell = (640 / n.max(1)).clamp(12, 80) as u32;
    let margin = 120u32;
    let side = cell * n as u32 + margin + 20;
    let root = BitMapBackend::new(path, (side, side)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let ascii = labels.iter().all(|l| l.is_ascii());
    let name = |i: usize| if ascii { labels[i].clone() } else { i.to_string() };
    let font = ("sans-serif", (cell as i32 / 2).clamp(9, 16)).into_font();
    root.draw(&Text::new("true \u{2193}  predicted \u{2192}", (6, 6), font.clone()))
        .map_err(draw_err)?;
    for (r, row) in counts.iter().enumerate() {
        let total = row.iter().sum::<u64>().max(1) as f64;
        let y = (margin + r as u32 * cell) as i32;
        root.draw(&Text::new(name(r), (6, y + cell as i32 / 3), font.clone())).map_err(draw_err)?;
        for (c, &count) in row.iter().enumerate() {
            let x = (margin + c as u32 * cell) as i32;
            let share = count as f64 / total;
            let shade = (255.0 * (1.0 - share)) as u8;
            let colour =
                if r == c { RGBColor(shade, 255, shade) } else { RGBColor(255, shade, shade) };
            root.draw(&Rectangle::new(
                [(x, y), (x + cell as i32, y + cell as i32)],
                colour.filled(),
            ))
            .map_err(draw_err)?;
            if cell >= 28 && count > 0 {
                root.draw(&Text::new(
                    count.to_string(),
                    (x + 3, y + cell as i32 / 3),
                    font.clone(),
                ))
                .map_err(draw_err)?;
            }
        }
    }
    for c in 0..n {
        let x = (margin + c as u32 * cell) as i32;
        root.draw(&Text::new(name(c), (x + 2, margin as i32 - 20), font.clone()))
            .map_err(draw_err)?;
    }
    root.present().map_err(draw_err)
}

/// One sample as the model read it, for [`reading_sheet`].
#[derive(Debug, Clone)]
pub struct Reading {
    pub image: crate::dataset::Image,
    pub truth: String,
    pub read: String,
}

/// A sheet of samples in a grid of `columns`, each scaled into a `cell` box (width, height)
/// with a green frame when it was read right and a red one otherwise; captions (the truth, and
/// what was read when it differs) are written under each sample when they are plain text.
pub fn reading_sheet(
    path: &Path,
    readings: &[Reading],
    columns: usize,
    cell: (u32, u32),
) -> Result<(), PlotError> {
    ensure_font()?;
    let columns = columns.max(1);
    let captions = readings.iter().all(|r| r.truth.is_ascii() && r.read.is_ascii());
    let caption_height = if captions { 18 } else { 0 };
    let (cw, ch) = (cell.0 + 8, cell.1 + 8 + caption_height);
    let rows = readings.len().div_ceil(columns) as u32;
    let root =
        BitMapBackend::new(path, (cw * columns as u32, (ch * rows).max(1))).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let font = ("sans-serif", 14).into_font();
    for (k, reading) in readings.iter().enumerate() {
        let (x0, y0) = ((k % columns) as u32 * cw, (k / columns) as u32 * ch);
        let right = reading.truth == reading.read;
        let frame = if right { RGBColor(40, 160, 60) } else { RGBColor(210, 40, 40) };
        root.draw(&Rectangle::new(
            [(x0 as i32 + 1, y0 as i32 + 1), ((x0 + cell.0 + 6) as i32, (y0 + cell.1 + 6) as i32)],
            frame.stroke_width(3),
        ))
        .map_err(draw_err)?;
        let image = &reading.image;
        let scale = (cell.0 as f32 / image.width as f32).min(cell.1 as f32 / image.height as f32);
        let (w, h) = ((image.width as f32 * scale) as u32, (image.height as f32 * scale) as u32);
        for y in 0..h {
            for x in 0..w {
                let (sx, sy) = ((x as f32 / scale) as usize, (y as f32 / scale) as usize);
                let at = (sy.min(image.height - 1) * image.width + sx.min(image.width - 1))
                    * image.channels;
                let v = image.data[at];
                root.draw_pixel(((x0 + 4 + x) as i32, (y0 + 4 + y) as i32), &RGBColor(v, v, v))
                    .map_err(draw_err)?;
            }
        }
        if captions {
            let text = if right {
                reading.truth.clone()
            } else {
                format!("{} read {}", reading.truth, reading.read)
            };
            root.draw(&Text::new(text, (x0 as i32 + 4, (y0 + cell.1 + 9) as i32), font.clone()))
                .map_err(draw_err)?;
        }
    }
    root.present().map_err(draw_err)
}
