//! Glyphs from TrueType/OpenType fonts (ab_glyph), drawn dark on light into gray images:
//! the raw material of the synthetic digit strings and handwriting-like characters.

use std::path::{Path, PathBuf};

use ab_glyph::{point, Font as _, FontVec, PxScale, ScaleFont};

use super::{woff, DatasetError, Image};

/// A loaded font file (the first face of a `.ttc` collection, or a WOFF 1.0 web font).
pub struct Font {
    pub path: PathBuf,
    font: FontVec,
}

impl Font {
    pub fn load(path: &Path) -> Result<Font, DatasetError> {
        let bytes = std::fs::read(path)
            .map_err(|source| DatasetError::Io { path: path.to_path_buf(), source })?;
        let bytes = if bytes.starts_with(b"wOFF") {
            woff::to_sfnt(&bytes).map_err(|reason| DatasetError::Layout {
                path: path.to_path_buf(),
                reason: format!("WOFF: {reason}"),
            })?
        } else {
            bytes
        };
        let font = FontVec::try_from_vec_and_index(bytes, 0).map_err(|e| DatasetError::Layout {
            path: path.to_path_buf(),
            reason: format!("not a usable font: {e}"),
        })?;
        Ok(Font { path: path.to_path_buf(), font })
    }

    /// The file name without extension, e.g. `Humor-Sans`.
    pub fn name(&self) -> String {
        self.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
    }

    pub fn has(&self, c: char) -> bool {
        self.font.glyph_id(c).0 != 0
    }

    pub fn advance(&self, c: char, px: f32) -> f32 {
        self.font.as_scaled(PxScale::from(px)).h_advance(self.font.glyph_id(c))
    }

    /// Draws `c` with its pen position (left end of the baseline) at `(x, baseline)`,
    /// blending each covered pixel towards `ink`.
    pub fn draw(&self, canvas: &mut Image, c: char, px: f32, x: f32, baseline: f32, ink: u8) {
        let glyph =
            self.font.glyph_id(c).with_scale_and_position(PxScale::from(px), point(x, baseline));
        let Some(outline) = self.font.outline_glyph(glyph) else { return };
        let bounds = outline.px_bounds();
        let (w, h) = (canvas.width as i64, canvas.height as i64);
        outline.draw(|gx, gy, coverage| {
            let (cx, cy) = (bounds.min.x as i64 + gx as i64, bounds.min.y as i64 + gy as i64);
            if (0..w).contains(&cx) && (0..h).contains(&cy) {
                let p = &mut canvas.data[(cy * w + cx) as usize * canvas.channels];
                let cov = coverage.clamp(0.0, 1.0);
                *p = (*p as f32 + (ink as f32 - *p as f32) * cov).round() as u8;
            }
        });
    }
}

/// Loads fonts by file name from the usual Debian font folders.
pub fn find_fonts(names: &[&str]) -> Result<Vec<Font>, DatasetError> {
    names.iter().map(|name| find_font(name)).collect()
}

const FONT_DIRS: [&str; 3] =
    ["/usr/share/fonts/truetype", "/usr/share/fonts/opentype", "/usr/local/share/fonts"];

fn find_font(name: &str) -> Result<Font, DatasetError> {
    let direct = Path::new(name);
    if direct.is_file() {
        return Font::load(direct);
    }
    for dir in FONT_DIRS {
        let Ok(families) = std::fs::read_dir(dir) else { continue };
        for family in families.flatten() {
            let candidate = family.path().join(name);
            if candidate.is_file() {
                return Font::load(&candidate);
            }
        }
    }
    Err(DatasetError::Layout {
        path: PathBuf::from(name),
        reason: format!(
            "font not found under {} (see README: the Debian fonts-* packages)",
            FONT_DIRS.join(", ")
        ),
    })
}
