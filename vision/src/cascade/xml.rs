//! Reading OpenCV cascade XML: the current `opencv-cascade-classifier` format and the legacy
//! haartraining `opencv-haar-classifier` format, which is converted in memory.
//!
//! Numbers are parsed as f64 and then narrowed to f32, the way OpenCV's FileStorage does, so
//! thresholds round exactly as they do there. Everything the scan later indexes without bounds
//! checks (feature ids, child links, leaf counts, rectangles inside the window) is validated here.

use std::path::{Path, PathBuf};

use roxmltree::{Document, Node as XmlNode};

use super::model::{
    Cascade, FeatureRect, Features, HaarFeature, LbpFeature, Node, Stage, Tree, WindowSize,
    LBP_SUBSET_WORDS,
};

/// OpenCV subtracts this from every stage threshold (in f32) to absorb rounding in training.
const STAGE_THRESHOLD_EPS: f32 = 1e-5;

#[derive(Debug, thiserror::Error)]
pub enum CascadeError {
    #[error("{path}: cannot read cascade file")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a well-formed XML document: {reason}")]
    Xml { path: PathBuf, reason: String },
    #[error("{path}: <{element}>: expected {expected}")]
    Invalid { path: PathBuf, element: String, expected: String },
}

/// Loads a cascade from an OpenCV XML file.
pub fn load(path: &Path) -> Result<Cascade, CascadeError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| CascadeError::Io { path: path.to_path_buf(), source })?;
    parse(&text, path)
}

/// Parses cascade XML; `path` is only used to name the source in errors.
pub fn parse(text: &str, path: &Path) -> Result<Cascade, CascadeError> {
    let doc = Document::parse(text)
        .map_err(|e| CascadeError::Xml { path: path.to_path_buf(), reason: e.to_string() })?;
    let reader = Reader { path };
    let root = doc.root_element();
    if root.tag_name().name() != "opencv_storage" {
        return Err(reader.invalid(root.tag_name().name(), "the root element <opencv_storage>"));
    }
    let top = root
        .children()
        .find(|n| n.is_element())
        .ok_or_else(|| reader.invalid("opencv_storage", "a cascade element inside"))?;
    let type_id = top.attribute("type_id");
    if type_id == Some("opencv-haar-classifier") {
        reader.legacy(top)
    } else if top.tag_name().name() == "cascade"
        && matches!(type_id, None | Some("opencv-cascade-classifier"))
    {
        reader.current(top)
    } else {
        let found = format!("<{}> with type_id {:?}", top.tag_name().name(), type_id);
        Err(reader.invalid(
            "opencv_storage",
            &format!(
                "<cascade type_id=\"opencv-cascade-classifier\"> or an element with \
                 type_id=\"opencv-haar-classifier\", found {found}"
            ),
        ))
    }
}

struct Reader<'p> {
    path: &'p Path,
}

/// Trees, nodes and leaves gathered while reading stages, in OpenCV's flat layout.
#[derive(Default)]
struct Boost {
    stages: Vec<Stage>,
    trees: Vec<Tree>,
    nodes: Vec<Node>,
    leaves: Vec<f32>,
    subsets: Vec<i32>,
}

impl Reader<'_> {
    fn invalid(&self, element: &str, expected: &str) -> CascadeError {
        CascadeError::Invalid {
            path: self.path.to_path_buf(),
            element: element.to_string(),
            expected: expected.to_string(),
        }
    }

    fn child<'a, 'i>(
        &self,
        node: XmlNode<'a, 'i>,
        name: &str,
        at: &str,
    ) -> Result<XmlNode<'a, 'i>, CascadeError> {
        node.children()
            .find(|n| n.has_tag_name(name))
            .ok_or_else(|| self.invalid(at, &format!("a child element <{name}>")))
    }

    fn numbers(&self, node: XmlNode, at: &str) -> Result<Vec<f64>, CascadeError> {
        let text: String =
            node.descendants().filter(|n| n.is_text()).filter_map(|n| n.text()).collect();
        text.split_ascii_whitespace()
            .map(|tok| {
                tok.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| self.invalid(at, &format!("finite numbers, found {tok:?}")))
            })
            .collect()
    }

    fn number(&self, node: XmlNode, name: &str, at: &str) -> Result<f64, CascadeError> {
        let at = format!("{at}/{name}");
        let values = self.numbers(self.child(node, name, &at)?, &at)?;
        match values.as_slice() {
            [v] => Ok(*v),
            _ => Err(self.invalid(&at, &format!("one number, found {}", values.len()))),
        }
    }

    fn integer(&self, value: f64, at: &str, what: &str) -> Result<i32, CascadeError> {
        if value.fract() == 0.0 && value >= i32::MIN as f64 && value <= i32::MAX as f64 {
            Ok(value as i32)
        } else {
            Err(self.invalid(at, &format!("an integer {what}, found {value}")))
        }
    }

    fn window(&self, width: f64, height: f64, at: &str) -> Result<WindowSize, CascadeError> {
        let width = self.integer(width, at, "window width")?;
        let height = self.integer(height, at, "window height")?;
        if !(1..=4096).contains(&width) || !(1..=4096).contains(&height) {
            return Err(
                self.invalid(at, &format!("a window of 1..4096 px, found {width}x{height}"))
            );
        }
        Ok(WindowSize { width: width as u32, height: height as u32 })
    }

    fn current(&self, top: XmlNode) -> Result<Cascade, CascadeError> {
        let stage_type = self.text(self.child(top, "stageType", "cascade")?);
        if stage_type != "BOOST" {
            return Err(self.invalid("cascade/stageType", &format!("BOOST, found {stage_type:?}")));
        }
        let feature_type = self.text(self.child(top, "featureType", "cascade")?);
        let window = self.window(
            self.number(top, "width", "cascade")?,
            self.number(top, "height", "cascade")?,
            "cascade/width",
        )?;
        let params = self.child(top, "featureParams", "cascade")?;
        let max_cat = self.number(params, "maxCatCount", "cascade/featureParams")?;
        let categories = self.integer(max_cat, "cascade/featureParams/maxCatCount", "count")?;
        let lbp = match (feature_type.as_str(), categories) {
            ("HAAR", 0) => false,
            ("LBP", 256) => true,
            ("HAAR" | "LBP", n) => {
                return Err(self.invalid(
                    "cascade/featureParams/maxCatCount",
                    &format!("0 for HAAR and 256 for LBP cascades, found {n}"),
                ))
            }
            (other, _) => {
                return Err(self.invalid(
                    "cascade/featureType",
                    &format!("HAAR or LBP, found {other:?} (HOG cascades are not supported)"),
                ))
            }
        };
        let boost = self.current_stages(self.child(top, "stages", "cascade")?, lbp)?;
        let features_node = self.child(top, "features", "cascade")?;
        let features = if lbp {
            Features::Lbp(self.lbp_features(features_node)?)
        } else {
            Features::Haar(self.haar_features(features_node, "cascade/features")?)
        };
        self.finish(window, features, boost)
    }

    fn text(&self, node: XmlNode) -> String {
        node.text().unwrap_or("").trim().to_string()
    }

    fn current_stages(&self, stages: XmlNode, lbp: bool) -> Result<Boost, CascadeError> {
        // Per node: left, right, feature, then a threshold or the categorical subset words.
        let node_step = 3 + if lbp { LBP_SUBSET_WORDS } else { 1 };
        let mut boost = Boost::default();
        for (si, stage) in elements(stages).enumerate() {
            let at = format!("cascade/stages/_[{si}]");
            let threshold = self.number(stage, "stageThreshold", &at)?;
            let weak = self.child(stage, "weakClassifiers", &at)?;
            let first_tree = boost.trees.len() as u32;
            for (ti, tree) in elements(weak).enumerate() {
                let at = format!("{at}/weakClassifiers/_[{ti}]");
                let inodes_at = format!("{at}/internalNodes");
                let inodes = self.numbers(self.child(tree, "internalNodes", &at)?, &inodes_at)?;
                if inodes.is_empty() || inodes.len() % node_step != 0 {
                    let layout = if lbp {
                        "left right feature and 8 subset words"
                    } else {
                        "left right feature threshold"
                    };
                    return Err(self.invalid(
                        &inodes_at,
                        &format!(
                            "a multiple of {node_step} numbers ({layout}) per node, found {}",
                            inodes.len()
                        ),
                    ));
                }
                let leaves_at = format!("{at}/leafValues");
                let leaves = self.numbers(self.child(tree, "leafValues", &at)?, &leaves_at)?;
                let mut tree_nodes = Vec::with_capacity(inodes.len() / node_step);
                for raw in inodes.chunks_exact(node_step) {
                    let left = self.integer(raw[0], &inodes_at, "left link")?;
                    let right = self.integer(raw[1], &inodes_at, "right link")?;
                    let feature = self.integer(raw[2], &inodes_at, "feature index")?;
                    if feature < 0 {
                        return Err(self.invalid(
                            &inodes_at,
                            &format!("a feature index ≥ 0, found {feature}"),
                        ));
                    }
                    let threshold = if lbp {
                        for word in &raw[3..] {
                            boost.subsets.push(self.integer(*word, &inodes_at, "subset word")?);
                        }
                        0.0
                    } else {
                        raw[3] as f32
                    };
                    tree_nodes.push(Node { feature: feature as u32, threshold, left, right });
                }
                let leaves = leaves.into_iter().map(|v| v as f32).collect();
                self.push_tree(&mut boost, tree_nodes, leaves, &at)?;
            }
            self.close_stage(&mut boost, threshold, first_tree, &format!("{at}/weakClassifiers"))?;
        }
        Ok(boost)
    }

    /// Ends a stage whose trees start at `first_tree`; `at` names the element holding them.
    fn close_stage(
        &self,
        boost: &mut Boost,
        threshold: f64,
        first_tree: u32,
        at: &str,
    ) -> Result<(), CascadeError> {
        let tree_count = boost.trees.len() as u32 - first_tree;
        if tree_count == 0 {
            return Err(self.invalid(at, "at least one tree"));
        }
        boost.stages.push(Stage {
            threshold: threshold as f32 - STAGE_THRESHOLD_EPS,
            first_tree,
            tree_count,
        });
        Ok(())
    }

    /// Checks a tree's links (children after parents, so evaluation always ends) and appends it.
    fn push_tree(
        &self,
        boost: &mut Boost,
        nodes: Vec<Node>,
        leaves: Vec<f32>,
        at: &str,
    ) -> Result<(), CascadeError> {
        let count = nodes.len() as i32;
        if leaves.len() != nodes.len() + 1 {
            return Err(self.invalid(
                &format!("{at}/leafValues"),
                &format!("{} leaf values for {count} nodes, found {}", count + 1, leaves.len()),
            ));
        }
        for (i, node) in nodes.iter().enumerate() {
            for link in [node.left, node.right] {
                if link > 0 && (link <= i as i32 || link >= count) || link <= -(count + 1) {
                    return Err(self.invalid(
                        at,
                        &format!(
                            "node {i}: links to a later node (1..{count}) or a leaf (0..=-{count}), \
                             found {link}"
                        ),
                    ));
                }
            }
        }
        boost.trees.push(Tree {
            first_node: boost.nodes.len() as u32,
            node_count: nodes.len() as u32,
            first_leaf: boost.leaves.len() as u32,
        });
        boost.nodes.extend(nodes);
        boost.leaves.extend(leaves);
        Ok(())
    }

    fn haar_features(&self, features: XmlNode, at: &str) -> Result<Vec<HaarFeature>, CascadeError> {
        elements(features)
            .enumerate()
            .map(|(i, f)| self.haar_feature(f, &format!("{at}/_[{i}]")))
            .collect()
    }

    fn haar_feature(&self, feature: XmlNode, at: &str) -> Result<HaarFeature, CascadeError> {
        let rects_at = format!("{at}/rects");
        let rects = self.child(feature, "rects", at)?;
        let zero = FeatureRect { x: 0, y: 0, width: 0, height: 0 };
        let mut out = [(zero, 0.0f32); 3];
        let mut rect_count = 0;
        for (ri, rect) in elements(rects).enumerate() {
            let rect_at = format!("{rects_at}/_[{ri}]");
            if ri >= 3 {
                return Err(self.invalid(&rects_at, "at most 3 rectangles"));
            }
            let v = self.numbers(rect, &rect_at)?;
            if v.len() != 5 {
                return Err(self.invalid(
                    &rect_at,
                    &format!("5 numbers (x y width height weight), found {}", v.len()),
                ));
            }
            let r = FeatureRect {
                x: self.integer(v[0], &rect_at, "x")?,
                y: self.integer(v[1], &rect_at, "y")?,
                width: self.integer(v[2], &rect_at, "width")?,
                height: self.integer(v[3], &rect_at, "height")?,
            };
            out[ri] = (r, v[4] as f32);
            rect_count += 1;
        }
        if rect_count < 2 {
            return Err(self.invalid(&rects_at, &format!("2 or 3 rectangles, found {rect_count}")));
        }
        let tilted = match feature.children().find(|n| n.has_tag_name("tilted")) {
            Some(_) => self.number(feature, "tilted", at)? != 0.0,
            None => false,
        };
        Ok(HaarFeature { rects: out, rect_count, tilted })
    }

    fn lbp_features(&self, features: XmlNode) -> Result<Vec<LbpFeature>, CascadeError> {
        elements(features)
            .enumerate()
            .map(|(i, f)| {
                let at = format!("cascade/features/_[{i}]/rect");
                let v =
                    self.numbers(self.child(f, "rect", &format!("cascade/features/_[{i}]"))?, &at)?;
                if v.len() != 4 {
                    return Err(self.invalid(
                        &at,
                        &format!("4 numbers (x y width height), found {}", v.len()),
                    ));
                }
                Ok(LbpFeature {
                    cell: FeatureRect {
                        x: self.integer(v[0], &at, "x")?,
                        y: self.integer(v[1], &at, "y")?,
                        width: self.integer(v[2], &at, "width")?,
                        height: self.integer(v[3], &at, "height")?,
                    },
                })
            })
            .collect()
    }

    /// The haartraining format: features inline in each tree node, leaves as `left_val` /
    /// `right_val` and child nodes as `left_node` / `right_node` indices within the tree.
    fn legacy(&self, top: XmlNode) -> Result<Cascade, CascadeError> {
        let name = top.tag_name().name().to_string();
        let size_at = format!("{name}/size");
        let size = self.numbers(self.child(top, "size", &name)?, &size_at)?;
        let window = match size.as_slice() {
            [w, h] => self.window(*w, *h, &size_at)?,
            _ => return Err(self.invalid(&size_at, "two numbers (width height)")),
        };
        let mut features = Vec::new();
        let mut boost = Boost::default();
        for (si, stage) in elements(self.child(top, "stages", &name)?).enumerate() {
            let at = format!("{name}/stages/_[{si}]");
            let threshold = self.number(stage, "stage_threshold", &at)?;
            let first_tree = boost.trees.len() as u32;
            for (ti, tree) in elements(self.child(stage, "trees", &at)?).enumerate() {
                let at = format!("{at}/trees/_[{ti}]");
                let (nodes, leaves) = self.legacy_tree(tree, &at, &mut features)?;
                self.push_tree(&mut boost, nodes, leaves, &at)?;
            }
            self.close_stage(&mut boost, threshold, first_tree, &format!("{at}/trees"))?;
        }
        self.finish(window, Features::Haar(features), boost)
    }

    fn legacy_tree(
        &self,
        tree: XmlNode,
        at: &str,
        features: &mut Vec<HaarFeature>,
    ) -> Result<(Vec<Node>, Vec<f32>), CascadeError> {
        let mut nodes = Vec::new();
        let mut leaves = Vec::new();
        for (ni, node) in elements(tree).enumerate() {
            let at = format!("{at}/_[{ni}]");
            let mut feature =
                self.haar_feature(self.child(node, "feature", &at)?, &format!("{at}/feature"))?;
            // OpenCV's converter drops a third rectangle whose weight is below f32 epsilon.
            if feature.rect_count == 3 && feature.rects[2].1.abs() < f32::EPSILON {
                feature.rect_count = 2;
            }
            features.push(feature);
            let threshold = self.number(node, "threshold", &at)? as f32;
            let mut link = |val: &str, child: &str| -> Result<i32, CascadeError> {
                if node.children().any(|n| n.has_tag_name(val)) {
                    leaves.push(self.number(node, val, &at)? as f32);
                    Ok(-(leaves.len() as i32 - 1))
                } else if node.children().any(|n| n.has_tag_name(child)) {
                    let idx = self.number(node, child, &at)?;
                    self.integer(idx, &format!("{at}/{child}"), "node index")
                } else {
                    Err(self.invalid(&at, &format!("<{val}> or <{child}>")))
                }
            };
            let left = link("left_val", "left_node")?;
            let right = link("right_val", "right_node")?;
            nodes.push(Node { feature: features.len() as u32 - 1, threshold, left, right });
        }
        if nodes.is_empty() {
            return Err(self.invalid(at, "at least one node"));
        }
        Ok((nodes, leaves))
    }

    /// Cross-checks what the scan relies on: feature ids exist and rectangles lie in the window.
    fn finish(
        &self,
        window: WindowSize,
        features: Features,
        boost: Boost,
    ) -> Result<Cascade, CascadeError> {
        if boost.stages.is_empty() {
            return Err(self.invalid("stages", "at least one stage"));
        }
        if let Some(node) = boost.nodes.iter().find(|n| n.feature as usize >= features.len()) {
            return Err(self.invalid(
                "internalNodes",
                &format!("feature indices below {}, found {}", features.len(), node.feature),
            ));
        }
        let (w, h) = (window.width as i32, window.height as i32);
        match &features {
            Features::Haar(list) => {
                for (i, f) in list.iter().enumerate() {
                    for (r, _) in &f.rects[..f.rect_count] {
                        if !haar_rect_fits(r, f.tilted, w, h) {
                            return Err(self.invalid(
                                &format!("features/_[{i}]/rects"),
                                &format!(
                                    "{} rectangles inside the {w}x{h} window, found {} {} {} {}",
                                    if f.tilted { "tilted" } else { "upright" },
                                    r.x,
                                    r.y,
                                    r.width,
                                    r.height
                                ),
                            ));
                        }
                    }
                }
            }
            Features::Lbp(list) => {
                for (i, f) in list.iter().enumerate() {
                    let c = f.cell;
                    let fits = c.x >= 0
                        && c.y >= 0
                        && c.width > 0
                        && c.height > 0
                        && c.x as i64 + 3 * c.width as i64 <= w as i64
                        && c.y as i64 + 3 * c.height as i64 <= h as i64;
                    if !fits {
                        return Err(self.invalid(
                            &format!("features/_[{i}]/rect"),
                            &format!(
                                "a 3x3 block of cells inside the {w}x{h} window, found {} {} {} {}",
                                c.x, c.y, c.width, c.height
                            ),
                        ));
                    }
                }
            }
        }
        Ok(Cascade {
            window,
            features,
            stages: boost.stages,
            trees: boost.trees,
            nodes: boost.nodes,
            leaves: boost.leaves,
            subsets: boost.subsets,
        })
    }
}

/// Upright rectangles span x..x+w, y..y+h. Tilted ones have corners (x,y), (x-h,y+h),
/// (x+w,y+w) and (x+w-h,y+w+h) on the tilted integral image.
fn haar_rect_fits(r: &FeatureRect, tilted: bool, w: i32, h: i32) -> bool {
    let (x, y, rw, rh) = (r.x as i64, r.y as i64, r.width as i64, r.height as i64);
    let (w, h) = (w as i64, h as i64);
    if rw < 0 || rh < 0 {
        return false;
    }
    if tilted {
        x - rh >= 0 && y >= 0 && x + rw <= w && y + rw + rh <= h
    } else {
        x >= 0 && y >= 0 && x + rw <= w && y + rh <= h
    }
}

/// OpenCV writes sequences as `<_>` children.
fn elements<'a, 'i>(node: XmlNode<'a, 'i>) -> impl Iterator<Item = XmlNode<'a, 'i>> {
    node.children().filter(|n| n.has_tag_name("_"))
}
