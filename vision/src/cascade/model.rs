//! The in-memory form of a boosted cascade, independent of the XML dialect it came from.
//!
//! The layout mirrors how OpenCV evaluates a cascade (flat arrays of stages, trees, nodes and
//! leaves) so that the scan in `scan.rs` can walk it without pointer chasing. Every index in
//! here has been checked by the loader, which is what lets the scan skip bounds checks.

/// Width and height of the detection window the cascade was trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSize {
    pub width: u32,
    pub height: u32,
}

/// An axis-aligned rectangle in window coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureRect {
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
}

/// A Haar-like feature: up to three weighted rectangles, upright or rotated by 45°.
#[derive(Debug, Clone, PartialEq)]
pub struct HaarFeature {
    pub rects: [(FeatureRect, f32); 3],
    /// Number of rectangles actually given (2 or 3).
    pub rect_count: usize,
    /// Rotated by 45°: the rectangles are measured on the tilted integral image.
    pub tilted: bool,
}

/// A multi-block LBP feature: a 3×3 grid of cells of `rect`'s size starting at `rect`'s corner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbpFeature {
    pub cell: FeatureRect,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Features {
    Haar(Vec<HaarFeature>),
    Lbp(Vec<LbpFeature>),
}

impl Features {
    pub fn len(&self) -> usize {
        match self {
            Features::Haar(f) => f.len(),
            Features::Lbp(f) => f.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn has_tilted(&self) -> bool {
        matches!(self, Features::Haar(f) if f.iter().any(|f| f.tilted))
    }
}

/// One split of a weak classifier. `left`/`right` > 0 name another node of the same tree
/// (relative to the tree's first node); values ≤ 0 name the leaf `-value` of that tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Node {
    pub feature: u32,
    /// Ordered features (Haar): go left when `value < threshold`.
    pub threshold: f32,
    pub left: i32,
    pub right: i32,
}

/// A weak classifier: `node_count` nodes starting at `first_node`, `node_count + 1` leaves
/// starting at `first_leaf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tree {
    pub first_node: u32,
    pub node_count: u32,
    pub first_leaf: u32,
}

/// A boosted stage: the window passes when the sum of its trees' leaves reaches `threshold`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    /// The file's threshold minus OpenCV's 1e-5 tolerance, computed in f32 as OpenCV does.
    pub threshold: f32,
    pub first_tree: u32,
    pub tree_count: u32,
}

/// Categorical splits (LBP) test a 256-bit subset: 8 words per node.
pub const LBP_SUBSET_WORDS: usize = 8;

/// A validated boosted cascade of Haar or LBP features.
#[derive(Debug, Clone, PartialEq)]
pub struct Cascade {
    pub window: WindowSize,
    pub features: Features,
    pub stages: Vec<Stage>,
    pub trees: Vec<Tree>,
    pub nodes: Vec<Node>,
    pub leaves: Vec<f32>,
    /// `LBP_SUBSET_WORDS` words per node for LBP cascades, empty for Haar.
    pub subsets: Vec<i32>,
}

impl Cascade {
    /// True when every weak classifier is a single split, which allows the faster stump scan.
    pub fn is_stump_based(&self) -> bool {
        self.trees.iter().all(|t| t.node_count == 1)
    }

    pub fn is_lbp(&self) -> bool {
        matches!(self.features, Features::Lbp(_))
    }
}
