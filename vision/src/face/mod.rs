//! Faces as people: dlib's 5-point landmarks, the aligned 150×150 chip, and what an embedding
//! model makes of it.
//!
//! - [`dlib_format`]: reading dlib's `.dat` serialization (shared with `lookout-tools`, which
//!   converts dlib's face ResNet into an ONNX file).
//! - [`landmarks`]: dlib's regression-tree shape predictor, read from its `.dat` file.
//! - [`chip`]: the aligned chip dlib's face recognition network expects.
//! - [`embed`]: landmarks, chip and descriptor of one face.
//! - [`predictor_box`]: a cascade's face box moved to where dlib's HOG detector puts it, the
//!   box the shape predictor was trained on.

pub mod chip;
pub mod dlib_format;
pub mod embed;
pub mod landmarks;

use crate::cascade::Rect;

/// A rectangle the way dlib writes one: inclusive pixel bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DlibRect {
    pub left: i64,
    pub top: i64,
    pub right: i64,
    pub bottom: i64,
}

/// A landmark in image pixels (dlib rounds them to integers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub x: i64,
    pub y: i64,
}

/// Where dlib's HOG detector would put its box for the face an OpenCV cascade found at
/// `face`. The shape predictor was trained on HOG boxes (square, about 0.9 of a Haar box's
/// side and lower on the face), so this is the box to give [`landmarks::ShapePredictor`].
///
/// Fitted on 28 faces found by both `haarcascade_frontalface_default.xml` (scale 1.1, 3
/// neighbours) and dlib 19.24's HOG detector: the 5 HOG faces of `tests/fixtures/faces` (its
/// PNG face crops and `astronaut.png`) and 23 in the detector scenes of `tests/fixtures/detect`
/// (`predictor_box_fits_hog_boxes` in `vision/tests/face_align.rs` refits and prints this).
/// Medians: HOG side = 0.905 × Haar side (per face 0.78–1.19), HOG centre = Haar centre +
/// (0.000, +0.071) × Haar side; the horizontal offset is taken as 0.
///
/// What it changes, against the landmarks, chips and descriptors (the shipped
/// `face_embed.onnx`) the HOG box gives on the same pixels:
///
/// | box given to the predictor | IoU with HOG | landmarks moved | mean / max shift | chip mean abs diff | descriptor distance mean / max |
/// |---|---|---|---|---|---|
/// | Haar box as it is | 0.765 | 44 of 140 | 0.40 px / 4.1 px (8.5 % of the box) | 3.05 | 0.044 / 0.233 |
/// | `predictor_box` | 0.826 | 41 of 140 | 0.35 px / 3.0 px (3.8 % of the box) | 3.03 | 0.045 / 0.200 |
///
/// The 5-point cascade mostly corrects the box on its own: the mapping halves the worst
/// landmark error, while the mean effect on chips and descriptors is within the noise of 28
/// faces and far below the model's 0.6 same-person threshold.
pub fn predictor_box(face: Rect) -> DlibRect {
    let w = f64::from(face.width);
    let side = (BOX_SCALE * w).round().max(1.0);
    let cx = f64::from(face.x) + w / 2.0 + BOX_DX * w;
    let cy = f64::from(face.y) + f64::from(face.height) / 2.0 + BOX_DY * w;
    let left = (cx - side / 2.0).round() as i64;
    let top = (cy - side / 2.0).round() as i64;
    let side = side as i64;
    DlibRect { left, top, right: left + side - 1, bottom: top + side - 1 }
}

/// HOG box side over cascade box side.
const BOX_SCALE: f64 = 0.905;
/// HOG box centre minus cascade box centre, in cascade box sides.
const BOX_DX: f64 = 0.0;
const BOX_DY: f64 = 0.07;

/// `v.floor() as i64` without the libm call `floor` is on x86-64 without SSE4.1 (a third of
/// the shape predictor's feature sampling time there): truncate, then step down for negative
/// fractions.
pub(crate) fn floor(v: f64) -> i64 {
    let t = v as i64;
    t - i64::from(t as f64 > v)
}

/// A similarity transform p ↦ [[a, −b], [b, a]]·p + t: rotation and scale, no reflection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Similarity {
    pub a: f64,
    pub b: f64,
    pub t: [f64; 2],
}

impl Similarity {
    /// The least-squares fit taking `from` onto `to`, as dlib's `find_similarity_transform`.
    ///
    /// dlib follows Umeyama (an SVD of the cross-covariance, with a sign fix against
    /// reflections); in 2-D that optimum has the closed form a = Σ f·t / Σ|f|²,
    /// b = Σ f×t / Σ|f|² on centred points. The two differ by a few units in the last place
    /// of an `f64`. When `from` is one point repeated, dlib keeps scale 1 and the rotation its
    /// SVD of a zero matrix gives (the identity); so do we.
    pub fn fit(from: &[[f64; 2]], to: &[[f64; 2]]) -> Similarity {
        let n = from.len().min(to.len()).max(1) as f64;
        let mean = |ps: &[[f64; 2]]| {
            let s = ps.iter().fold([0.0, 0.0], |acc, p| [acc[0] + p[0], acc[1] + p[1]]);
            [s[0] / n, s[1] / n]
        };
        let (mf, mt) = (mean(from), mean(to));
        let (mut dot, mut cross, mut norm) = (0.0, 0.0, 0.0);
        for (f, t) in from.iter().zip(to) {
            let (fx, fy, tx, ty) = (f[0] - mf[0], f[1] - mf[1], t[0] - mt[0], t[1] - mt[1]);
            dot += fx * tx + fy * ty;
            cross += fx * ty - fy * tx;
            norm += fx * fx + fy * fy;
        }
        let (a, b) = if norm == 0.0 { (1.0, 0.0) } else { (dot / norm, cross / norm) };
        // t = mean_to − M·mean_from, in the order dlib evaluates it.
        let t = [mt[0] - (a * mf[0] + (-b) * mf[1]), mt[1] - (b * mf[0] + a * mf[1])];
        Similarity { a, b, t }
    }

    /// M·p + t, evaluated as dlib's `point_transform_affine`.
    pub fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        let [x, y] = p;
        [(self.a * x + (-self.b) * y) + self.t[0], (self.b * x + self.a * y) + self.t[1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_recovers_rotation_scale_and_translation() {
        let from = [[0.0, 0.0], [4.0, 0.0], [0.0, 2.0], [3.0, 5.0]];
        let (a, b, t) = (1.5 * 0.6, 1.5 * 0.8, [10.0, -3.0]);
        let truth = Similarity { a, b, t };
        let to = from.map(|p| truth.apply(p));
        let fit = Similarity::fit(&from, &to);
        assert!((fit.a - a).abs() < 1e-12 && (fit.b - b).abs() < 1e-12, "{fit:?}");
        assert!((fit.t[0] - t[0]).abs() < 1e-12 && (fit.t[1] - t[1]).abs() < 1e-12, "{fit:?}");
        // A mirror image is fitted by a rotation (never a reflection), as in dlib.
        let mirrored = from.map(|[x, y]| [-x, y]);
        let fit = Similarity::fit(&from, &mirrored);
        assert!(fit.a.is_finite() && fit.b.is_finite());
        // One point repeated: the identity scale and rotation.
        let fit = Similarity::fit(&[[1.0, 1.0]; 3], &to[..3]);
        assert_eq!((fit.a, fit.b), (1.0, 0.0));
    }

    #[test]
    fn floor_matches_f64_floor() {
        for v in [0.0, 0.5, 0.999, 1.0, -0.0, -0.5, -1.0, -1.5, 2.5, -2.5, 1e15 + 0.5, -7.25] {
            assert_eq!(floor(v), v.floor() as i64, "{v}");
        }
        assert_eq!(floor(f64::NAN), 0);
    }

    #[test]
    fn predictor_box_is_square_smaller_and_lower() {
        let b = predictor_box(Rect { x: 100, y: 100, width: 200, height: 200 });
        // Side 181, centre (200, 214).
        assert_eq!(b, DlibRect { left: 110, top: 124, right: 290, bottom: 304 });
    }
}
