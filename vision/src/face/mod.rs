//! Faces as people: dlib's 5-point landmarks, the aligned 150×150 chip, and what an embedding
//! model makes of it.
//!
//! - [`dlib_format`]: reading dlib's `.dat` serialization (shared with `lookout-tools`, which
//!   converts dlib's face ResNet into an ONNX file).
//! - [`landmarks`]: dlib's regression-tree shape predictor, read from its `.dat` file.
//! - [`chip`]: the aligned chip dlib's face recognition network expects.

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
/// `face`: the shape predictor was trained on HOG boxes, and a box of another size or place
/// moves its landmarks. Scale and offsets fitted on the face fixtures (see
/// `vision/tests/face_align.rs`, `predictor_box_fits_hog_boxes`).
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

/// HOG box side over cascade box width.
const BOX_SCALE: f64 = 0.905;
/// HOG box centre minus cascade box centre, in cascade box widths.
const BOX_DX: f64 = 0.0;
const BOX_DY: f64 = 0.07;

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
