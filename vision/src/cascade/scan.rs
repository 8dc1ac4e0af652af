//! The Viola-Jones scan: slide the cascade's window over one level of the image pyramid.
//!
//! Features are turned into offsets from the window's top-left corner in the integral buffer
//! for the level's row stride ([`Compiled`]), so evaluating a feature is a handful of loads.
//! The loader guarantees every rectangle lies inside the window and the scan only places
//! windows inside the image, so all loads are in bounds; the hot loop relies on that to read
//! without bounds checks.
//!
//! Each window's loads go through one pointer to its corner and 32-bit offsets: on aarch64 a
//! load is then one instruction (`ldr w, [base, w_ofs, uxtw #2]`) where a `usize` index added to
//! the window origin took two, and the features take half the cache.

use super::model::{Cascade, Features, Tree, LBP_SUBSET_WORDS};
use crate::imgproc::Layout;

/// A Haar feature as up to three weighted box sums, each four offsets into the buffer.
#[derive(Debug, Clone, Copy)]
struct HaarOpt {
    ofs: [[u32; 4]; 3],
    weight: [f32; 3],
    three: bool,
}

/// The 4×4 grid of corners of an LBP feature's 3×3 cells.
#[derive(Debug, Clone, Copy)]
struct LbpOpt {
    ofs: [u32; 16],
}

/// A single-split weak classifier with its leaves inlined, for the common stump cascades.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stump {
    feature: u32,
    threshold: f32,
    left: f64,
    right: f64,
}

/// A single-split categorical classifier (LBP) with its subset and leaves inlined.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LbpStump {
    feature: u32,
    subset: [i32; LBP_SUBSET_WORDS],
    left: f64,
    right: f64,
}

/// Per-cascade data that does not depend on the image: stump cascades (nearly all shipped
/// ones) are flattened so a weak classifier is one contiguous record.
#[derive(Debug, Clone)]
pub(crate) enum Prepared {
    HaarStumps(Vec<Stump>),
    LbpStumps(Vec<LbpStump>),
    Trees,
}

impl Prepared {
    pub(crate) fn new(cascade: &Cascade) -> Self {
        if !cascade.is_stump_based() {
            return Prepared::Trees;
        }
        // OpenCV ignores a stump's links: its first leaf goes with `value < threshold`.
        // Stage sums are f64 there; widening once here keeps that out of the hot loop.
        let leaves = |t: &Tree| {
            let leaf = |k: usize| cascade.leaves[t.first_leaf as usize + k] as f64;
            (leaf(0), leaf(1))
        };
        let nodes = cascade.trees.iter().map(|t| (t, t.first_node as usize));
        if cascade.is_lbp() {
            Prepared::LbpStumps(
                nodes
                    .map(|(t, n)| {
                        let node = &cascade.nodes[n];
                        let (left, right) = leaves(t);
                        let mut subset = [0; LBP_SUBSET_WORDS];
                        subset.copy_from_slice(
                            &cascade.subsets[n * LBP_SUBSET_WORDS..][..LBP_SUBSET_WORDS],
                        );
                        LbpStump { feature: node.feature, subset, left, right }
                    })
                    .collect(),
            )
        } else {
            Prepared::HaarStumps(
                nodes
                    .map(|(t, n)| {
                        let node = &cascade.nodes[n];
                        let (left, right) = leaves(t);
                        Stump { feature: node.feature, threshold: node.threshold, left, right }
                    })
                    .collect(),
            )
        }
    }
}

/// Features resolved to buffer offsets for one row stride.
#[derive(Debug, Default, Clone)]
pub(crate) struct Compiled {
    layout: Option<Layout>,
    stride: usize,
    haar: Vec<HaarOpt>,
    lbp: Vec<LbpOpt>,
    /// Corners of the window shrunk by one pixel on every side, for variance normalisation.
    norm: [u32; 4],
    norm_area: f64,
    sqsum: usize,
    /// The largest offset any evaluation reads, for the one bounds check per level.
    max_ofs: usize,
}

impl Compiled {
    /// Re-resolves offsets when the buffer layout changes; cheap to call once per level.
    /// A `Compiled` belongs to one cascade.
    pub(crate) fn update(&mut self, cascade: &Cascade, layout: Layout) {
        if self.layout == Some(layout) {
            return;
        }
        self.layout = Some(layout);
        let step = layout.stride;
        // In range: `scan` refuses buffers longer than u32::MAX, and offsets lie inside.
        let at = |x: i32, y: i32| (y as usize * step + x as usize) as u32;
        self.stride = step;
        self.sqsum = layout.sqsum;
        self.haar.clear();
        self.lbp.clear();
        match &cascade.features {
            Features::Haar(features) => {
                let tilted = layout.tilted.unwrap_or(0) as u32;
                for f in features {
                    let mut opt = HaarOpt {
                        ofs: [[0; 4]; 3],
                        weight: [0.0; 3],
                        // OpenCV skips the third rectangle exactly when its weight is zero.
                        three: f.rect_count == 3 && f.rects[2].1 != 0.0,
                    };
                    for (k, (r, w)) in f.rects[..f.rect_count].iter().enumerate() {
                        opt.weight[k] = *w;
                        opt.ofs[k] = if f.tilted {
                            [
                                tilted + at(r.x, r.y),
                                tilted + at(r.x - r.height, r.y + r.height),
                                tilted + at(r.x + r.width, r.y + r.width),
                                tilted + at(r.x + r.width - r.height, r.y + r.width + r.height),
                            ]
                        } else {
                            [
                                at(r.x, r.y),
                                at(r.x + r.width, r.y),
                                at(r.x, r.y + r.height),
                                at(r.x + r.width, r.y + r.height),
                            ]
                        };
                    }
                    self.haar.push(opt);
                }
            }
            Features::Lbp(features) => {
                for f in features {
                    let c = f.cell;
                    let mut ofs = [0; 16];
                    for (k, o) in ofs.iter_mut().enumerate() {
                        let (i, j) = ((k % 4) as i32, (k / 4) as i32);
                        *o = at(c.x + i * c.width, c.y + j * c.height);
                    }
                    self.lbp.push(LbpOpt { ofs });
                }
            }
        }
        let (w, h) = (cascade.window.width as i32, cascade.window.height as i32);
        self.norm = [at(1, 1), at(w - 1, 1), at(1, h - 1), at(w - 1, h - 1)];
        self.norm_area = ((w - 2) * (h - 2)) as f64;
        let features = self.haar.iter().flat_map(|f| f.ofs.iter().flatten());
        let cells = self.lbp.iter().flat_map(|f| f.ofs.iter());
        let norm = if cascade.is_lbp() { 0 } else { self.sqsum + self.norm[3] as usize };
        self.max_ofs = features.chain(cells).map(|&o| o as usize).fold(norm, usize::max);
    }
}

/// Box sum from four corner offsets: top-left - top-right - bottom-left + bottom-right.
///
/// # Safety
/// `window.add(ofs[k])` must point into the integral buffer for every k.
#[inline(always)]
unsafe fn box_sum(window: *const i32, ofs: &[u32; 4]) -> i32 {
    let g = |o: u32| *window.add(o as usize);
    g(ofs[0]).wrapping_sub(g(ofs[1])).wrapping_sub(g(ofs[2])).wrapping_add(g(ofs[3]))
}

/// Where windows may be placed on one pyramid level and how far apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grid {
    /// Number of valid window origins along x and y.
    pub cols: usize,
    pub rows: usize,
    pub step: usize,
}

/// Runs the cascade at every grid position and pushes the origins of accepted windows.
///
/// `data` must be the integral buffer the offsets were compiled for, covering an image on
/// which a window at any grid position fits (checked below).
pub(crate) fn scan(
    cascade: &Cascade,
    prepared: &Prepared,
    compiled: &Compiled,
    data: &[i32],
    grid: Grid,
    hits: &mut Vec<(usize, usize)>,
) {
    if grid.cols == 0 || grid.rows == 0 {
        return;
    }
    // This single check is what makes the unchecked loads in the evaluators sound.
    let last_window = (grid.rows - 1) * compiled.stride + (grid.cols - 1);
    assert!(last_window + compiled.max_ofs < data.len(), "grid does not fit the integral buffer");
    // Offsets are 32-bit: a buffer this long (16 GiB of sums) cannot be allocated on the
    // machines this runs on, but the offsets' soundness must not depend on that.
    assert!(data.len() <= u32::MAX as usize, "integral buffer too large for 32-bit offsets");
    let c = compiled;
    let base = data.as_ptr();
    // One monomorphised loop per kind of cascade, so the window loop has no dispatch in it.
    // SAFETY (all four closures): `slide` only passes origins p <= last_window, and
    // last_window + max_ofs is in bounds (asserted above), so `base + p + offset` is too.
    match prepared {
        Prepared::HaarStumps(stumps) => slide(grid, c.stride, hits, |p| unsafe {
            let w = base.add(p);
            let Some(norm) = variance_norm(c, w) else { return -1 };
            ordered_stumps(cascade, stumps, |f| haar_value(c, w, f) * norm)
        }),
        Prepared::LbpStumps(stumps) => slide(grid, c.stride, hits, |p| unsafe {
            let w = base.add(p);
            categorical_stumps(cascade, stumps, |f| lbp_code(c, w, f))
        }),
        Prepared::Trees if cascade.is_lbp() => slide(grid, c.stride, hits, |p| unsafe {
            let w = base.add(p);
            categorical_trees(cascade, |f| lbp_code(c, w, f))
        }),
        Prepared::Trees => slide(grid, c.stride, hits, |p| unsafe {
            let w = base.add(p);
            let Some(norm) = variance_norm(c, w) else { return -1 };
            ordered_trees(cascade, |f| haar_value(c, w, f) * norm)
        }),
    }
}

/// Visits the grid's window origins; `run_at` answers 1 for an accepted window, `-stage` for a
/// rejection by that stage and -1 for a window too flat to judge.
#[inline(always)]
fn slide(grid: Grid, stride: usize, hits: &mut Vec<(usize, usize)>, run_at: impl Fn(usize) -> i32) {
    for y in (0..grid.rows).step_by(grid.step) {
        let mut x = 0;
        while x < grid.cols {
            let result = run_at(y * stride + x);
            if result > 0 {
                hits.push((x, y));
            }
            // A window rejected by the very first stage is a poor place to look next door too.
            x += if result == 0 { 2 * grid.step } else { grid.step };
        }
    }
}

/// 1/(area·σ) of the window's inner part, or `None` when the window is too flat to judge
/// (σ ≤ 10 grey levels), which OpenCV rejects before any stage.
#[inline(always)]
unsafe fn variance_norm(c: &Compiled, window: *const i32) -> Option<f32> {
    let sum = box_sum(window, &c.norm);
    let sqsum = box_sum(window.add(c.sqsum), &c.norm) as u32;
    let nf = c.norm_area * sqsum as f64 - sum as f64 * sum as f64;
    if nf <= 0.0 {
        return None;
    }
    let factor = (1.0 / nf.sqrt()) as f32;
    (c.norm_area * (factor as f64) < 0.1).then_some(factor)
}

#[inline(always)]
unsafe fn haar_value(c: &Compiled, window: *const i32, feature: u32) -> f32 {
    let f = c.haar.get_unchecked(feature as usize);
    let mut v = f.weight[0] * box_sum(window, &f.ofs[0]) as f32
        + f.weight[1] * box_sum(window, &f.ofs[1]) as f32;
    if f.three {
        v += f.weight[2] * box_sum(window, &f.ofs[2]) as f32;
    }
    v
}

/// The 8-bit local binary pattern of a feature's 3×3 cells: each outer cell sets its bit
/// when its sum is at least the centre cell's, clockwise from the top-left (bit 7).
#[inline(always)]
unsafe fn lbp_code(c: &Compiled, window: *const i32, feature: u32) -> u8 {
    let o = &c.lbp.get_unchecked(feature as usize).ofs;
    // The 16 grid corners are shared by neighbouring cells: load each once.
    let v: [i32; 16] = std::array::from_fn(|k| *window.add(o[k] as usize));
    // Row differences first: cell k (top-left at grid point k) is h[k] - h[k + 4].
    let h: [i32; 12] = std::array::from_fn(|k| {
        let k = k / 3 * 4 + k % 3;
        v[k].wrapping_sub(v[k + 1])
    });
    let cell = |k: usize| {
        let k = k / 4 * 3 + k % 4;
        h[k].wrapping_sub(h[k + 3])
    };
    let centre = cell(5);
    let bit = |k: usize, b: u8| if cell(k) >= centre { b } else { 0 };
    bit(0, 128)
        | bit(1, 64)
        | bit(2, 32)
        | bit(6, 16)
        | bit(10, 8)
        | bit(9, 4)
        | bit(8, 2)
        | bit(4, 1)
}

/// Runs the stages in order: each sums its weak classifiers' leaves (in f64, as OpenCV does)
/// and rejects below its threshold. `weak` holds one entry per tree of the cascade (stumps or
/// the trees themselves); slicing it once per stage keeps bounds checks out of the inner loop.
#[inline(always)]
fn boosted<W>(cascade: &Cascade, weak: &[W], leaf: impl Fn(&W) -> f64) -> i32 {
    for (si, stage) in cascade.stages.iter().enumerate() {
        let first = stage.first_tree as usize;
        let sum: f64 = weak[first..first + stage.tree_count as usize].iter().map(&leaf).sum();
        if sum < stage.threshold as f64 {
            return -(si as i32);
        }
    }
    1
}

#[inline(always)]
fn ordered_stumps(cascade: &Cascade, stumps: &[Stump], value: impl Fn(u32) -> f32) -> i32 {
    boosted(cascade, stumps, |s| if value(s.feature) < s.threshold { s.left } else { s.right })
}

#[inline(always)]
fn categorical_stumps(cascade: &Cascade, stumps: &[LbpStump], code: impl Fn(u32) -> u8) -> i32 {
    boosted(cascade, stumps, |s| {
        let c = code(s.feature) as usize;
        if s.subset[c >> 5] & (1 << (c & 31)) != 0 {
            s.left
        } else {
            s.right
        }
    })
}

/// Walks a tree from its root: `go_left(node index)` decides each split.
#[inline(always)]
fn tree_leaf(cascade: &Cascade, tree: &Tree, go_left: impl Fn(usize) -> bool) -> f64 {
    let mut idx = 0i32;
    loop {
        let n = tree.first_node as usize + idx as usize;
        let node = &cascade.nodes[n];
        idx = if go_left(n) { node.left } else { node.right };
        if idx <= 0 {
            return cascade.leaves[tree.first_leaf as usize + (-idx) as usize] as f64;
        }
    }
}

#[inline(always)]
fn ordered_trees(cascade: &Cascade, value: impl Fn(u32) -> f32) -> i32 {
    boosted(cascade, &cascade.trees, |tree| {
        tree_leaf(cascade, tree, |n| {
            let node = &cascade.nodes[n];
            value(node.feature) < node.threshold
        })
    })
}

#[inline(always)]
fn categorical_trees(cascade: &Cascade, code: impl Fn(u32) -> u8) -> i32 {
    boosted(cascade, &cascade.trees, |tree| {
        tree_leaf(cascade, tree, |n| {
            let c = code(cascade.nodes[n].feature) as usize;
            cascade.subsets[n * LBP_SUBSET_WORDS + (c >> 5)] & (1 << (c & 31)) != 0
        })
    })
}
