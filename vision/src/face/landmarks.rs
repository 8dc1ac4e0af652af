//! dlib's shape predictor (Kazemi & Sullivan's cascade of regression trees), read from its
//! `.dat` file and run exactly as dlib runs it, so the landmarks are the integers dlib gives.
//! The file layout and the algorithm are in `docs/dlib-formats.md` §3.
//!
//! Only the 5-point model (`shape_predictor_5_face_landmarks.dat`: 15 cascades of 500 trees
//! of depth 4, 800 feature pixels per cascade) is supported: it is the one whose licence allows
//! any use, and the face chip is defined for its 5 points. Everything the file controls is
//! checked at load, so [`ShapePredictor::predict`] indexes without failing.

use std::path::{Path, PathBuf};

use super::dlib_format::{FormatError, Reader};
use super::{floor, DlibRect, Point, Similarity};
use crate::preprocess::Pixels;

/// Landmarks predicted by the supported model.
pub const PARTS: usize = 5;

/// A shape: x0, y0, x1, y1, … in the box's normalized coordinates, as dlib stores it.
type Shape = [f32; 2 * PARTS];

/// Values in one leaf: a displacement of every coordinate of the shape.
const LEAF_LEN: usize = 2 * PARTS;

/// Why a shape predictor file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LandmarkError {
    #[error("{path}: cannot read shape predictor")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a dlib shape predictor (truncated or another kind of file)")]
    Format { path: PathBuf, source: FormatError },
    #[error("{path}: shape predictor version {found}; only version 1 is known")]
    Version { path: PathBuf, found: i64 },
    #[error(
        "{path}: the model predicts {parts} landmarks; only dlib's 5-point model is supported"
    )]
    Parts { path: PathBuf, parts: usize },
    #[error(
        "{path}: {forests} cascades of trees but {anchors} anchor lists and {deltas} delta lists"
    )]
    CascadeCount { path: PathBuf, forests: usize, anchors: usize, deltas: usize },
    #[error("{path}: cascade {cascade} has {anchors} anchors but {deltas} deltas")]
    FeatureCount { path: PathBuf, cascade: usize, anchors: usize, deltas: usize },
    #[error(
        "{path}: cascade {cascade}, tree {tree} has {splits} splits and {leaves} leaves; \
         expected complete trees of one depth ({expected_splits} splits, {} leaves)",
        expected_splits + 1
    )]
    TreeShape {
        path: PathBuf,
        cascade: usize,
        tree: usize,
        splits: usize,
        leaves: usize,
        expected_splits: usize,
    },
    #[error("{path}: cascade {cascade}, tree {tree}, leaf {leaf} holds {len} values, not {}", 2 * PARTS)]
    LeafLength { path: PathBuf, cascade: usize, tree: usize, leaf: usize, len: usize },
    #[error(
        "{path}: cascade {cascade}, tree {tree}, split {split} reads feature {index} \
         of {features}"
    )]
    FeatureIndex {
        path: PathBuf,
        cascade: usize,
        tree: usize,
        split: usize,
        index: u64,
        features: usize,
    },
    #[error(
        "{path}: cascade {cascade}, feature {feature} is anchored to landmark {anchor} of {}",
        PARTS
    )]
    AnchorIndex { path: PathBuf, cascade: usize, feature: usize, anchor: u64 },
    #[error("{path}: {what} holds a value that is not finite")]
    NotFinite { path: PathBuf, what: &'static str },
    #[error("{path}: {extra} bytes follow the shape predictor")]
    TrailingBytes { path: PathBuf, extra: usize },
}

/// One split node: go left when `features[idx1] - features[idx2] > thresh`.
#[derive(Debug, Clone, Copy)]
struct Split {
    idx1: u32,
    idx2: u32,
    thresh: f32,
}

/// One level of the cascade: where its feature pixels sit, and its trees, stored flat.
#[derive(Debug, Clone)]
struct Cascade {
    /// The landmark each feature pixel is placed relative to (< `PARTS`, checked at load).
    anchors: Vec<u8>,
    /// Each feature pixel's offset from its anchor, in the initial shape's frame.
    deltas: Vec<[f32; 2]>,
    /// `splits_per_tree` splits per tree, trees one after the other; indices < `anchors.len()`.
    splits: Vec<Split>,
    /// `splits_per_tree + 1` leaves per tree, each `2 * PARTS` values.
    leaves: Vec<f32>,
}

/// dlib's 5-point shape predictor. Loading takes about 9 MB of file into ~6 MB of flat arrays.
#[derive(Debug, Clone)]
pub struct ShapePredictor {
    initial_shape: Shape,
    cascades: Vec<Cascade>,
    /// Every tree of the file has this many splits (2^depth − 1).
    splits_per_tree: usize,
}

impl ShapePredictor {
    /// Reads and checks the model at `path`.
    pub fn load(path: &Path) -> Result<ShapePredictor, LandmarkError> {
        let bytes = std::fs::read(path)
            .map_err(|source| LandmarkError::Io { path: path.to_path_buf(), source })?;
        ShapePredictor::from_bytes(&bytes, path)
    }

    /// Reads and checks a model from its bytes; `path` names it in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<ShapePredictor, LandmarkError> {
        let raw = RawModel::read(&mut Reader::new(bytes), path)?;
        raw.validate(path)
    }

    /// Number of cascade levels (15 in dlib's model).
    pub fn cascades(&self) -> usize {
        self.cascades.len()
    }

    /// The 5 landmarks of the face in `rect`, as dlib's `shape_predictor` gives them for the
    /// same pixels and box. `image` is gray or RGB (RGB is reduced to (R+G+B)/3, as dlib
    /// does); rows that `image.data` is too short to hold count as outside the image.
    pub fn predict(&self, image: Pixels, rect: DlibRect) -> [Point; PARTS] {
        let image = Intensity::new(image);
        let frame = BoxFrame::new(rect);
        let mut shape = self.initial_shape;
        let mut features = Vec::new();
        for cascade in &self.cascades {
            let m = similarity_matrix(&self.initial_shape, &shape);
            cascade.sample(&image, &frame, &m, &shape, &mut features);
            cascade.add_trees(&features, self.splits_per_tree, &mut shape);
        }
        std::array::from_fn(|k| frame.pixel(shape[2 * k], shape[2 * k + 1]))
    }
}

impl Cascade {
    /// The intensity under each feature pixel once the shape is `shape`: dlib moves the
    /// offsets with the rotation and scale (no translation) from the initial to the current
    /// shape, in `f32`, and reads 0 outside the image.
    fn sample(
        &self,
        image: &Intensity,
        frame: &BoxFrame,
        m: &[f32; 4],
        shape: &Shape,
        out: &mut Vec<f32>,
    ) {
        out.clear();
        out.extend(self.anchors.iter().zip(&self.deltas).map(|(&anchor, &[dx, dy])| {
            let a = 2 * anchor as usize;
            let x = (m[0] * dx + m[1] * dy) + shape[a];
            let y = (m[2] * dx + m[3] * dy) + shape[a + 1];
            let p = frame.pixel(x, y);
            image.at(p.x, p.y).map_or(0.0, f32::from)
        }));
    }

    /// Walks every tree with the same features, adding each leaf to the shape in turn.
    fn add_trees(&self, features: &[f32], splits_per_tree: usize, shape: &mut Shape) {
        let tree_leaves = self.leaves.chunks_exact((splits_per_tree + 1) * LEAF_LEN);
        let mut add = |leaf: &[f32]| shape.iter_mut().zip(leaf).for_each(|(s, v)| *s += v);
        if splits_per_tree == 0 {
            tree_leaves.for_each(|leaves| add(&leaves[..LEAF_LEN]));
            return;
        }
        for (splits, leaves) in self.splits.chunks_exact(splits_per_tree).zip(tree_leaves) {
            let leaf = walk(splits, features);
            add(&leaves[leaf * LEAF_LEN..(leaf + 1) * LEAF_LEN]);
        }
    }
}

/// The leaf a tree sends `features` to; children of node i are 2i+1 (left, taken when
/// f[idx1] − f[idx2] > thresh) and 2i+2. (A branch-free step measured 35% slower: it chains
/// every load on the comparison before it.)
fn walk(splits: &[Split], features: &[f32]) -> usize {
    let mut i = 0;
    while let Some(s) = splits.get(i) {
        let diff = features[s.idx1 as usize] - features[s.idx2 as usize];
        i = if diff > s.thresh { 2 * i + 1 } else { 2 * i + 2 };
    }
    i - splits.len()
}

/// One cascade's trees as read: splits and leaves, each flat.
type Forest = (Vec<Split>, Vec<f32>);

/// The model as the file lays it out, each part checked on its own; [`RawModel::validate`]
/// checks the parts against each other.
struct RawModel {
    initial_shape: Shape,
    forests: Vec<Forest>,
    splits_per_tree: usize,
    anchors: Vec<Vec<u64>>,
    deltas: Vec<Vec<[f32; 2]>>,
}

impl RawModel {
    fn read(r: &mut Reader, path: &Path) -> Result<RawModel, LandmarkError> {
        let format = |source| LandmarkError::Format { path: path.to_path_buf(), source };
        let version = r.int("shape predictor version").map_err(format)?;
        if version != 1 {
            return Err(LandmarkError::Version { path: path.to_path_buf(), found: version });
        }
        let initial_shape = read_initial_shape(r, path)?;
        let (forests, splits_per_tree) = read_forests(r, path)?;
        let anchors =
            read_lists(r, "anchor indices", |r| r.uint("anchor index")).map_err(format)?;
        let deltas = read_lists(r, "feature offsets", |r| {
            Ok([r.float32("feature offset")?, r.float32("feature offset")?])
        })
        .map_err(format)?;
        if deltas.iter().flatten().flatten().any(|v| !v.is_finite()) {
            return Err(LandmarkError::NotFinite {
                path: path.to_path_buf(),
                what: "a feature offset",
            });
        }
        if !r.at_end() {
            let extra = r.remaining();
            return Err(LandmarkError::TrailingBytes { path: path.to_path_buf(), extra });
        }
        Ok(RawModel { initial_shape, forests, splits_per_tree, anchors, deltas })
    }

    /// Checks that every index the trees and features hold points inside what exists.
    fn validate(self, path: &Path) -> Result<ShapePredictor, LandmarkError> {
        let path = || path.to_path_buf();
        let (forests, anchors, deltas) =
            (self.forests.len(), self.anchors.len(), self.deltas.len());
        if anchors != forests || deltas != forests {
            return Err(LandmarkError::CascadeCount { path: path(), forests, anchors, deltas });
        }
        let mut cascades = Vec::with_capacity(forests);
        let parts = self.forests.into_iter().zip(self.anchors).zip(self.deltas);
        for (cascade, (((splits, leaves), anchors), deltas)) in parts.enumerate() {
            if anchors.len() != deltas.len() {
                let (anchors, deltas) = (anchors.len(), deltas.len());
                return Err(LandmarkError::FeatureCount { path: path(), cascade, anchors, deltas });
            }
            let features = anchors.len();
            let spt = self.splits_per_tree.max(1);
            for (i, s) in splits.iter().enumerate() {
                if let Some(&index) = [s.idx1, s.idx2].iter().find(|&&x| x as usize >= features) {
                    let (tree, split, index) = (i / spt, i % spt, u64::from(index));
                    return Err(LandmarkError::FeatureIndex {
                        path: path(),
                        cascade,
                        tree,
                        split,
                        index,
                        features,
                    });
                }
            }
            let anchors = anchors
                .iter()
                .enumerate()
                .map(|(feature, &anchor)| match u8::try_from(anchor) {
                    Ok(a) if (a as usize) < PARTS => Ok(a),
                    _ => Err(LandmarkError::AnchorIndex { path: path(), cascade, feature, anchor }),
                })
                .collect::<Result<Vec<u8>, _>>()?;
            cascades.push(Cascade { anchors, deltas, splits, leaves });
        }
        Ok(ShapePredictor {
            initial_shape: self.initial_shape,
            cascades,
            splits_per_tree: self.splits_per_tree,
        })
    }
}

/// The mean shape the cascade starts from: a column of 2·P floats.
fn read_initial_shape(r: &mut Reader, path: &Path) -> Result<Shape, LandmarkError> {
    let format = |source| LandmarkError::Format { path: path.to_path_buf(), source };
    let (_, cols, values) = r.matrix("initial shape").map_err(format)?;
    let shape = Shape::try_from(values.as_slice())
        .ok()
        .filter(|_| cols == 1)
        .ok_or(LandmarkError::Parts { path: path.to_path_buf(), parts: values.len() / 2 })?;
    if shape.iter().any(|v| !v.is_finite()) {
        return Err(LandmarkError::NotFinite {
            path: path.to_path_buf(),
            what: "the initial shape",
        });
    }
    Ok(shape)
}

/// Every cascade's trees, flattened; returns them and the one number of splits all trees have.
fn read_forests(r: &mut Reader, path: &Path) -> Result<(Vec<Forest>, usize), LandmarkError> {
    let format = |source| LandmarkError::Format { path: path.to_path_buf(), source };
    let cascades = r.len("number of cascades").map_err(format)?;
    let mut forests = Vec::new();
    let mut splits_per_tree = None;
    for cascade in 0..cascades {
        let trees = r.len("number of trees").map_err(format)?;
        let (mut splits, mut leaves) = (Vec::new(), Vec::new());
        for tree in 0..trees {
            let n = read_splits(r, path, &mut splits)?;
            let expected_splits = *splits_per_tree.get_or_insert(n);
            let leaf_count = read_leaves(r, path, cascade, tree, &mut leaves)?;
            let complete = (n + 1).is_power_of_two() && leaf_count == n + 1;
            if !complete || n != expected_splits {
                return Err(LandmarkError::TreeShape {
                    path: path.to_path_buf(),
                    cascade,
                    tree,
                    splits: n,
                    leaves: leaf_count,
                    expected_splits,
                });
            }
        }
        forests.push((splits, leaves));
    }
    Ok((forests, splits_per_tree.unwrap_or(0)))
}

/// One tree's split nodes, appended to `out`; returns how many.
fn read_splits(r: &mut Reader, path: &Path, out: &mut Vec<Split>) -> Result<usize, LandmarkError> {
    let format = |source| LandmarkError::Format { path: path.to_path_buf(), source };
    let n = r.len("number of splits").map_err(format)?;
    for _ in 0..n {
        let idx1 = feature_index(r).map_err(format)?;
        let idx2 = feature_index(r).map_err(format)?;
        let thresh = r.float32("split threshold").map_err(format)?;
        if !thresh.is_finite() {
            return Err(LandmarkError::NotFinite {
                path: path.to_path_buf(),
                what: "a split threshold",
            });
        }
        out.push(Split { idx1, idx2, thresh });
    }
    Ok(n)
}

/// A split's feature index; whether it is below the cascade's feature count is checked once
/// the features are read (they follow the trees in the file).
fn feature_index(r: &mut Reader) -> Result<u32, FormatError> {
    let start = r.clone();
    let index = r.uint("split feature index")?;
    u32::try_from(index)
        .map_err(|_| start.invalid("split feature index", format!("{index} is out of range")))
}

/// One tree's leaves, appended to `out` (each must hold 2·P values); returns how many.
fn read_leaves(
    r: &mut Reader,
    path: &Path,
    cascade: usize,
    tree: usize,
    out: &mut Vec<f32>,
) -> Result<usize, LandmarkError> {
    let format = |source| LandmarkError::Format { path: path.to_path_buf(), source };
    let n = r.len("number of leaves").map_err(format)?;
    for leaf in 0..n {
        let before = out.len();
        r.matrix_into("leaf values", out).map_err(format)?;
        let len = out.len() - before;
        if len != LEAF_LEN {
            return Err(LandmarkError::LeafLength {
                path: path.to_path_buf(),
                cascade,
                tree,
                leaf,
                len,
            });
        }
        if out[before..].iter().any(|v| !v.is_finite()) {
            return Err(LandmarkError::NotFinite { path: path.to_path_buf(), what: "a leaf" });
        }
    }
    Ok(n)
}

/// A `vector<vector<T>>`: a count of lists, each a count and its items.
fn read_lists<T>(
    r: &mut Reader,
    what: &'static str,
    mut item: impl FnMut(&mut Reader) -> Result<T, FormatError>,
) -> Result<Vec<Vec<T>>, FormatError> {
    let lists = r.len(what)?;
    (0..lists)
        .map(|_| {
            let n = r.len(what)?;
            (0..n).map(|_| item(r)).collect()
        })
        .collect()
}

/// dlib's `unnormalizing_tform(rect)`: (0,0) → top-left, (1,1) → bottom-right, scaled by
/// `right − left` (one less than the width), in `f64`.
struct BoxFrame {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
}

impl BoxFrame {
    fn new(rect: DlibRect) -> BoxFrame {
        BoxFrame {
            left: rect.left as f64,
            top: rect.top as f64,
            width: (rect.right - rect.left) as f64,
            height: (rect.bottom - rect.top) as f64,
        }
    }

    /// The pixel of a normalized point, rounded as dlib turns a `dpoint` into a `point`:
    /// floor(v + 0.5).
    fn pixel(&self, x: f32, y: f32) -> Point {
        let x = self.width * f64::from(x) + self.left;
        let y = self.height * f64::from(y) + self.top;
        Point { x: floor(x + 0.5), y: floor(y + 0.5) }
    }
}

/// dlib's `get_pixel_intensity` over an image: the gray value, or (R+G+B)/3 truncated.
struct Intensity<'a> {
    pixels: Pixels<'a>,
    /// Rows `pixels.data` really holds (fewer than `height` only for a short buffer).
    rows: usize,
}

impl<'a> Intensity<'a> {
    fn new(pixels: Pixels<'a>) -> Intensity<'a> {
        let row_len = pixels.width * pixels.channels;
        let rows = pixels.data.len().checked_div(row_len).map_or(0, |rows| rows.min(pixels.height));
        Intensity { pixels, rows }
    }

    fn at(&self, x: i64, y: i64) -> Option<u8> {
        let (x, y) = (usize::try_from(x).ok()?, usize::try_from(y).ok()?);
        if x >= self.pixels.width || y >= self.rows {
            return None;
        }
        let c = self.pixels.channels;
        let i = (y * self.pixels.width + x) * c;
        let p = &self.pixels.data[i..i + c];
        Some(match p {
            [r, g, b, ..] => ((u32::from(*r) + u32::from(*g) + u32::from(*b)) / 3) as u8,
            [v, ..] => *v,
            [] => 0,
        })
    }
}

/// The 2×2 part of the similarity transform taking `from` onto `to`, cast to `f32` as dlib
/// does (dlib drops the translation here): [m00, m01, m10, m11].
fn similarity_matrix(from: &Shape, to: &Shape) -> [f32; 4] {
    let points = |s: &Shape| -> [[f64; 2]; PARTS] {
        std::array::from_fn(|k| [f64::from(s[2 * k]), f64::from(s[2 * k + 1])])
    };
    let t = Similarity::fit(&points(from), &points(to));
    [t.a as f32, (-t.b) as f32, t.b as f32, t.a as f32]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// dlib's stream format, to build small models by hand.
    #[derive(Default)]
    struct Writer(Vec<u8>);

    impl Writer {
        fn int(&mut self, v: i64) -> &mut Writer {
            let magnitude = v.unsigned_abs();
            let n = (8 - magnitude.leading_zeros() as usize / 8).max(1);
            self.0.push(n as u8 | if v < 0 { 0x80 } else { 0 });
            self.0.extend(&magnitude.to_le_bytes()[..n]);
            self
        }

        /// Exact for multiples of 2^-16, all this module's tests use.
        fn float(&mut self, v: f32) -> &mut Writer {
            self.int((v * 65536.0) as i64).int(-16)
        }

        fn column(&mut self, values: &[f32]) -> &mut Writer {
            self.int(-(values.len() as i64)).int(-1);
            values.iter().for_each(|&v| {
                self.float(v);
            });
            self
        }
    }

    /// A tree by parts: splits (idx1, idx2, thresh) and leaves.
    type Tree = (Vec<(u64, u64, f32)>, Vec<Vec<f32>>);

    /// A model by parts: one cascade of one tree unless a test changes it.
    struct Spec {
        version: i64,
        initial: Vec<f32>,
        /// Per cascade, per tree: splits (idx1, idx2, thresh) and leaves.
        forests: Vec<Vec<Tree>>,
        anchors: Vec<Vec<u64>>,
        deltas: Vec<Vec<[f32; 2]>>,
    }

    /// Landmark 0 moves a quarter box right when the pixel under it is brighter than the one
    /// half a box to its right, a quarter box left otherwise.
    fn spec() -> Spec {
        let shift = |dx: f32| {
            let mut leaf = vec![0.0; LEAF_LEN];
            leaf[0] = dx;
            leaf
        };
        Spec {
            version: 1,
            initial: vec![0.25, 0.25, 0.75, 0.25, 0.5, 0.5, 0.25, 0.75, 0.75, 0.75],
            forests: vec![vec![(vec![(0, 1, 0.0)], vec![shift(0.25), shift(-0.25)])]],
            anchors: vec![vec![0, 0]],
            deltas: vec![vec![[0.0, 0.0], [0.5, 0.0]]],
        }
    }

    fn bytes(s: &Spec) -> Vec<u8> {
        let mut w = Writer::default();
        w.int(s.version).column(&s.initial).int(s.forests.len() as i64);
        for forest in &s.forests {
            w.int(forest.len() as i64);
            for (splits, leaves) in forest {
                w.int(splits.len() as i64);
                for &(a, b, t) in splits {
                    w.int(a as i64).int(b as i64).float(t);
                }
                w.int(leaves.len() as i64);
                leaves.iter().for_each(|l| {
                    w.column(l);
                });
            }
        }
        w.int(s.anchors.len() as i64);
        for list in &s.anchors {
            w.int(list.len() as i64);
            list.iter().for_each(|&a| {
                w.int(a as i64);
            });
        }
        w.int(s.deltas.len() as i64);
        for list in &s.deltas {
            w.int(list.len() as i64);
            list.iter().for_each(|&[x, y]| {
                w.float(x).float(y);
            });
        }
        w.0
    }

    fn load(s: &Spec) -> Result<ShapePredictor, LandmarkError> {
        ShapePredictor::from_bytes(&bytes(s), Path::new("sp.dat"))
    }

    fn load_err(change: impl FnOnce(&mut Spec)) -> LandmarkError {
        let mut s = spec();
        change(&mut s);
        load(&s).unwrap_err()
    }

    const BOX: DlibRect = DlibRect { left: 0, top: 0, right: 10, bottom: 10 };

    #[test]
    fn splits_go_left_when_the_difference_exceeds_the_threshold() {
        let sp = load(&spec()).unwrap();
        // Landmark 0 sits at (2.5, 2.5) → pixel (3, 3); the other feature at (8, 3).
        let mut gray = vec![0u8; 11 * 11];
        gray[3 * 11 + 3] = 200;
        let image = Pixels { width: 11, height: 11, channels: 1, data: &gray };
        assert_eq!(sp.predict(image, BOX)[0], Point { x: 5, y: 3 });
        // Equal pixels: 0 > 0 is false, so right.
        let dark = vec![0u8; 11 * 11];
        let image = Pixels { width: 11, height: 11, channels: 1, data: &dark };
        assert_eq!(sp.predict(image, BOX)[0], Point { x: 0, y: 3 });
        // The untouched landmarks come out of the initial shape, scaled by right − left = 10.
        let points = sp.predict(image, BOX);
        assert_eq!(points[2], Point { x: 5, y: 5 });
        assert_eq!(points[4], Point { x: 8, y: 8 });
    }

    #[test]
    fn rgb_is_reduced_to_the_truncated_mean_and_outside_reads_zero() {
        let rgb = [1u8, 2, 2, 200, 100, 0];
        let image = Intensity::new(Pixels { width: 2, height: 1, channels: 3, data: &rgb });
        assert_eq!(image.at(0, 0), Some(1));
        assert_eq!(image.at(1, 0), Some(100));
        assert_eq!(image.at(2, 0), None);
        assert_eq!(image.at(-1, 0), None);
        // A buffer shorter than width × height × channels: the missing rows are outside.
        let short = Intensity::new(Pixels { width: 2, height: 5, channels: 3, data: &rgb });
        assert_eq!(short.at(0, 1), None);
    }

    #[test]
    fn box_frame_spans_right_minus_left_and_rounds_half_up() {
        let frame = BoxFrame::new(DlibRect { left: 10, top: 20, right: 20, bottom: 40 });
        assert_eq!(frame.pixel(1.0, 1.0), Point { x: 20, y: 40 });
        assert_eq!(frame.pixel(0.05, 0.025), Point { x: 11, y: 21 });
        assert_eq!(frame.pixel(-0.25, 0.0), Point { x: 8, y: 20 });
    }

    #[test]
    fn the_similarity_matrix_follows_the_shape() {
        let initial = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.5, 0.5];
        // The same shape turned a quarter turn and doubled: [[0, −2], [2, 0]].
        let mut turned: Shape = [0.0; 2 * PARTS];
        for k in 0..PARTS {
            let (x, y) = (initial[2 * k], initial[2 * k + 1]);
            turned[2 * k] = 3.0 - 2.0 * y;
            turned[2 * k + 1] = 1.0 + 2.0 * x;
        }
        let m = similarity_matrix(&initial, &turned);
        let want = [0.0, -2.0, 2.0, 0.0];
        assert!(m.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{m:?}");
    }

    #[test]
    fn bad_files_say_why() {
        let err = load_err(|s| s.version = 2);
        assert!(matches!(err, LandmarkError::Version { found: 2, .. }), "{err}");
        let err = load_err(|s| s.initial = vec![0.5; 136]);
        assert!(matches!(err, LandmarkError::Parts { parts: 68, .. }), "{err}");
        assert!(err.to_string().contains("only dlib's 5-point model"), "{err}");
        let err = load_err(|s| {
            s.forests[0][0].1[1].pop();
        });
        assert!(matches!(err, LandmarkError::LeafLength { leaf: 1, len: 9, .. }), "{err}");
        let err = load_err(|s| s.forests[0][0].0.push((0, 1, 0.0)));
        assert!(matches!(err, LandmarkError::TreeShape { splits: 2, leaves: 2, .. }), "{err}");
        let err = load_err(|s| {
            let tree = s.forests[0][0].clone();
            let deeper = (vec![(0, 1, 0.0); 3], vec![tree.1[0].clone(); 4]);
            s.forests[0].push(deeper);
        });
        assert!(
            matches!(err, LandmarkError::TreeShape { tree: 1, expected_splits: 1, .. }),
            "{err}"
        );
        let err = load_err(|s| s.forests[0][0].0[0].1 = 2);
        assert!(matches!(err, LandmarkError::FeatureIndex { index: 2, features: 2, .. }), "{err}");
        let err = load_err(|s| s.anchors[0][1] = 5);
        assert!(matches!(err, LandmarkError::AnchorIndex { feature: 1, anchor: 5, .. }), "{err}");
        let err = load_err(|s| {
            s.deltas[0].pop();
        });
        assert!(matches!(err, LandmarkError::FeatureCount { anchors: 2, deltas: 1, .. }), "{err}");
        let err = load_err(|s| s.anchors.push(vec![]));
        assert!(matches!(err, LandmarkError::CascadeCount { forests: 1, anchors: 2, .. }), "{err}");
        assert!(err.to_string().starts_with("sp.dat: "), "{err}");
    }

    #[test]
    fn every_truncation_is_an_error() {
        let full = bytes(&spec());
        assert!(ShapePredictor::from_bytes(&full, Path::new("sp.dat")).is_ok());
        for len in 0..full.len() {
            let err = ShapePredictor::from_bytes(&full[..len], Path::new("sp.dat")).unwrap_err();
            assert!(matches!(err, LandmarkError::Format { .. }), "cut at {len}: {err}");
        }
    }

    #[test]
    fn trees_without_splits_add_their_only_leaf() {
        let mut s = spec();
        let leaf = vec![0.125; LEAF_LEN];
        s.forests[0] = vec![(vec![], vec![leaf.clone()]), (vec![], vec![leaf])];
        let sp = load(&s).unwrap();
        let gray = vec![0u8; 11 * 11];
        let image = Pixels { width: 11, height: 11, channels: 1, data: &gray };
        // x0 = 0.25 + 2·0.125 = 0.5 → 5.
        assert_eq!(sp.predict(image, BOX)[0], Point { x: 5, y: 5 });
    }
}
