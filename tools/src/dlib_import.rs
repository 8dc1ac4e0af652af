//! `lookout-tools import-dlib-face`: dlib's face recognition ResNet
//! (`dlib_face_recognition_resnet_model_v1.dat`) as a lookout embedding model (ONNX).
//!
//! dlib stores the network as nested C++ templates; tags, skips and residual adds carry no IDs
//! in the file, so the reader knows the architecture ([`architecture`], the one of dlib's
//! `dnn_face_recognition_ex.cpp`) and checks every record against it. The file's layout is in
//! `docs/dlib-formats.md` §2. Each conv is followed by an affine layer (batch norm folded at
//! training time); here the affine is folded into the conv's weights and bias. A residual add
//! of two tensors of different shapes zero-pads the smaller (dlib's `add_prev` semantics),
//! which becomes an ONNX `Pad` before the `Add`.

use std::path::{Path, PathBuf};

use lookout_vision::face::dlib_format::{FormatError, Reader, Tensor};
use lookout_vision::model::EmbeddingSpec;
use lookout_vision::preprocess::{Fit, InputSpec, TensorLayout};
use lookout_vision::preprocess::{Pixels, Preprocessor};
use prost::Message;
use sha2::Digest;
use tract_onnx::pb;

use crate::checkpoint::write_atomic;
use crate::export::{verify_outputs, ExportError, OrtCheck, Verification};
use crate::onnx_graph::{int, ints, string, Dim, Graph};

/// The chip side the network takes.
pub const CHIP_SIZE: usize = 150;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: cannot read")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not dlib's face recognition ResNet: {source}")]
    Format { path: PathBuf, source: FormatError },
    #[error("{path}: {layer} (layer {index}) does not fit the face ResNet: {reason}")]
    Layer { path: PathBuf, layer: &'static str, index: usize, reason: String },
    #[error("{path}: {bytes} bytes follow the network; not the file this reader knows")]
    TrailingBytes { path: PathBuf, bytes: usize },
    #[error("{path}: reference descriptors unusable: {reason}")]
    Reference { path: PathBuf, reason: String },
    #[error(transparent)]
    Export(#[from] ExportError),
}

/// One step of the network, input side first, as the file's records follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Conv {
        filters: usize,
        size: usize,
        stride: usize,
    },
    Affine,
    Relu,
    MaxPool {
        size: usize,
        stride: usize,
    },
    AvgPool {
        size: usize,
        stride: usize,
    },
    GlobalAvgPool,
    Fc {
        outputs: usize,
    },
    /// Remembers the current output under a tag (1 or 2).
    Tag(u8),
    /// Makes the output remembered under a tag the current one again.
    Skip(u8),
    /// Adds the output remembered under a tag to the current one.
    AddPrev(u8),
}

impl Step {
    /// Tags and skips are bare wrappers in the file: no record of their own.
    fn has_record(self) -> bool {
        !matches!(self, Step::Tag(_) | Step::Skip(_))
    }
}

/// dlib's face recognition ResNet, input side first.
pub fn architecture() -> Vec<Step> {
    use Step::*;
    let block = |n, stride| {
        [
            Conv { filters: n, size: 3, stride },
            Affine,
            Relu,
            Conv { filters: n, size: 3, stride: 1 },
            Affine,
        ]
    };
    let ares = |n| {
        let mut s = vec![Tag(1)];
        s.extend(block(n, 1));
        s.extend([AddPrev(1), Relu]);
        s
    };
    let ares_down = |n| {
        let mut s = vec![Tag(1)];
        s.extend(block(n, 2));
        s.extend([Tag(2), Skip(1), AvgPool { size: 2, stride: 2 }, AddPrev(2), Relu]);
        s
    };
    let mut steps = vec![
        Conv { filters: 32, size: 7, stride: 2 },
        Affine,
        Relu,
        MaxPool { size: 3, stride: 2 },
    ];
    for (n, down, plain) in
        [(32, false, 3), (64, true, 3), (128, true, 2), (256, true, 2), (256, true, 0)]
    {
        if down {
            steps.extend(ares_down(n));
        }
        for _ in 0..plain {
            steps.extend(ares(n));
        }
    }
    steps.extend([GlobalAvgPool, Fc { outputs: 128 }]);
    steps
}

/// A layer's weights as read from the file.
#[derive(Debug, Clone)]
enum Weights {
    /// `filters` `[F, K, R, C]` row-major and `F` biases.
    Conv {
        shape: [usize; 4],
        filters: Vec<f32>,
        biases: Vec<f32>,
    },
    Affine {
        gamma: Vec<f32>,
        beta: Vec<f32>,
    },
    /// `[inputs, outputs]` row-major (dlib's orientation, MatMul's right operand).
    Fc {
        inputs: usize,
        outputs: usize,
        weights: Vec<f32>,
    },
    None,
}

/// The network read from a `.dat` file.
#[derive(Debug, Clone)]
pub struct DlibResnet {
    /// Per-channel means (R, G, B) subtracted before dividing by 256.
    pub mean: [f32; 3],
    /// The metric loss's training threshold (0.6): the distance that separates people.
    pub threshold: f32,
    steps: Vec<(Step, Weights)>,
}

impl DlibResnet {
    pub fn load(path: &Path) -> Result<DlibResnet, ImportError> {
        let bytes = std::fs::read(path)
            .map_err(|source| ImportError::Io { path: path.to_path_buf(), source })?;
        parse(&bytes, path)
    }

    /// The input spec lookout's preprocessing needs to feed this network an aligned chip:
    /// `(pixel − mean) / 256` per RGB channel, the chip as it is.
    pub fn input_spec(&self) -> InputSpec {
        InputSpec {
            width: CHIP_SIZE as u32,
            height: CHIP_SIZE as u32,
            channels: 3,
            layout: TensorLayout::Nchw,
            scale: 1.0,
            mean: self.mean.to_vec(),
            std: vec![256.0; 3],
            fit: Fit::Stretch,
        }
    }

    pub fn descriptor_len(&self) -> usize {
        self.steps
            .iter()
            .rev()
            .find_map(|(s, _)| match s {
                Step::Fc { outputs } => Some(*outputs),
                _ => None,
            })
            .unwrap_or(0)
    }
}

fn parse(bytes: &[u8], path: &Path) -> Result<DlibResnet, ImportError> {
    let format = |source| ImportError::Format { path: path.to_path_buf(), source };
    let mut r = Reader::new(bytes);
    let arch = architecture();

    // The loss layer, then every wrapper's version from the outside in: 2 for a layer, 1 for
    // a tag or skip, 3 for the layer sitting on the input.
    r.expect_int(1, "loss layer version").map_err(format)?;
    let threshold = match r.tag(&["loss_metric_2", "loss_metric_"], "loss layer").map_err(format)? {
        "loss_metric_2" => {
            r.float32("loss margin").map_err(format)?;
            r.float32("loss distance threshold").map_err(format)?
        }
        _ => 0.75,
    };
    for (i, step) in arch.iter().enumerate().rev() {
        match (step.has_record(), i) {
            (true, 0) => r.expect_int(3, "input layer version").map_err(format)?,
            (true, _) => {
                let start = r.offset();
                let v = r.int("layer version").map_err(format)?;
                if !(1..=2).contains(&v) {
                    return Err(format(FormatError::Invalid {
                        offset: start,
                        what: "layer version",
                        reason: format!("expected 1 or 2, found {v}"),
                    }));
                }
            }
            (false, _) => r.expect_int(1, "tag or skip layer version").map_err(format)?,
        }
    }

    r.tag(&["input_rgb_image_sized"], "input layer").map_err(format)?;
    let mut mean = [0f32; 3];
    for m in &mut mean {
        *m = r.float32("input channel mean").map_err(format)?;
    }
    for what in ["input rows", "input columns"] {
        let start = r.offset();
        let side = r.uint(what).map_err(format)?;
        if side != CHIP_SIZE as u64 {
            return Err(format(FormatError::Invalid {
                offset: start,
                what,
                reason: format!("the network takes {CHIP_SIZE}, the file says {side}"),
            }));
        }
    }

    let mut steps = Vec::with_capacity(arch.len());
    for (index, &step) in arch.iter().enumerate() {
        let layer_err = |layer, reason: String| ImportError::Layer {
            path: path.to_path_buf(),
            layer,
            index,
            reason,
        };
        let weights = match step {
            Step::Tag(_) | Step::Skip(_) => Weights::None,
            Step::Conv { filters, size, stride } => read_conv(&mut r, filters, size, stride)
                .map_err(format)?
                .map_err(|e| layer_err("con", e))?,
            Step::Affine => {
                read_affine(&mut r).map_err(format)?.map_err(|e| layer_err("affine", e))?
            }
            Step::Relu => {
                if r.tag(&["relu_", "relu_2"], "relu layer").map_err(format)? == "relu_2" {
                    r.boolean("relu disabled flag").map_err(format)?;
                }
                Weights::None
            }
            Step::MaxPool { size, stride } => {
                r.tag(&["max_pool_2"], "max pool layer").map_err(format)?;
                read_pool(&mut r, [size, size, stride, stride])
                    .map_err(format)?
                    .map_err(|e| layer_err("max_pool", e))?
            }
            Step::AvgPool { size, stride } => {
                r.tag(&["avg_pool_2"], "avg pool layer").map_err(format)?;
                read_pool(&mut r, [size, size, stride, stride])
                    .map_err(format)?
                    .map_err(|e| layer_err("avg_pool", e))?
            }
            Step::GlobalAvgPool => {
                r.tag(&["avg_pool_2"], "global avg pool layer").map_err(format)?;
                read_pool(&mut r, [0, 0, 1, 1])
                    .map_err(format)?
                    .map_err(|e| layer_err("avg_pool_everything", e))?
            }
            Step::AddPrev(_) => {
                r.tag(&["add_prev_"], "add_prev layer").map_err(format)?;
                Weights::None
            }
            Step::Fc { outputs } => {
                read_fc(&mut r, outputs).map_err(format)?.map_err(|e| layer_err("fc", e))?
            }
        };
        if step.has_record() {
            // The layer's state for training: three flags and gradient buffers (empty here,
            // skipped whatever they hold); the input layer adds its sample expansion factor.
            for what in ["setup flag", "gradient flag", "output flag"] {
                r.boolean(what).map_err(format)?;
            }
            for what in ["x_grad", "cached_output", "params_grad"] {
                r.tensor(what).map_err(format)?;
            }
            if index == 0 {
                r.uint("sample expansion factor").map_err(format)?;
            }
        }
        steps.push((step, weights));
    }
    if !r.at_end() {
        return Err(ImportError::TrailingBytes {
            path: path.to_path_buf(),
            bytes: bytes.len() - r.offset(),
        });
    }
    Ok(DlibResnet { mean, threshold, steps })
}

type LayerResult = Result<Result<Weights, String>, FormatError>;

fn read_conv(r: &mut Reader, filters: usize, size: usize, stride: usize) -> LayerResult {
    let tag = r.tag(&["con_4", "con_5", "con_6"], "conv layer")?;
    let params = r.tensor("conv params")?;
    let mut fields = [0i64; 7];
    for f in &mut fields {
        *f = r.int("conv geometry")?;
    }
    let shape = r.alias_tensor("conv filters")?;
    let biases_shape = r.alias_tensor("conv biases")?;
    for what in ["lr multiplier", "decay multiplier", "bias lr multiplier", "bias decay multiplier"]
    {
        r.float(what)?;
    }
    let mut use_bias = true;
    if tag != "con_4" {
        use_bias = r.boolean("conv use_bias")?;
    }
    if tag == "con_6" && r.boolean("conv fused relu")? {
        return Ok(Err("a fused relu is not part of this network".into()));
    }
    let pad = if stride == 1 { size / 2 } else { 0 } as i64;
    let (f, s, st) = (filters as i64, size as i64, stride as i64);
    if fields != [f, s, s, st, st, pad, pad] {
        return Ok(Err(format!(
            "expected {filters} filters of {size}x{size}, stride {stride}, padding {pad}; the file has (filters, rows, cols, stride y, stride x, pad y, pad x) = {fields:?}"
        )));
    }
    let n_weights = shape.iter().product::<usize>();
    let expected_params = n_weights + if use_bias { filters } else { 0 };
    if shape[0] != filters
        || shape[2] != size
        || shape[3] != size
        || params.data.len() != expected_params
    {
        return Ok(Err(format!(
            "filter shape {shape:?} and {} parameters do not fit",
            params.data.len()
        )));
    }
    if use_bias && biases_shape != [1, filters, 1, 1] {
        return Ok(Err(format!("bias shape {biases_shape:?}")));
    }
    let Tensor { mut data, .. } = params;
    let biases = if use_bias { data.split_off(n_weights) } else { vec![0.0; filters] };
    Ok(Ok(Weights::Conv { shape, filters: data, biases }))
}

fn read_affine(r: &mut Reader) -> LayerResult {
    let tag = r.tag(&["affine_", "affine_2", "bn_con2"], "affine layer")?;
    if tag == "bn_con2" {
        return Ok(Err(
            "a batch-norm layer (a training snapshot); dlib's released model has affine layers"
                .into(),
        ));
    }
    let params = r.tensor("affine params")?;
    let gamma_shape = r.alias_tensor("affine gamma")?;
    r.alias_tensor("affine beta")?;
    let mode = r.int("affine mode")?;
    if tag == "affine_2" && r.boolean("affine disabled flag")? {
        return Ok(Err("a disabled affine layer".into()));
    }
    let k = gamma_shape[1];
    if mode != 0 || gamma_shape != [1, k, 1, 1] || params.data.len() != 2 * k {
        return Ok(Err(format!(
            "mode {mode}, gamma {gamma_shape:?}, {} parameters",
            params.data.len()
        )));
    }
    let mut gamma = params.data;
    let beta = gamma.split_off(k);
    Ok(Ok(Weights::Affine { gamma, beta }))
}

fn read_pool(r: &mut Reader, expected: [usize; 4]) -> LayerResult {
    let mut fields = [0i64; 6];
    for f in &mut fields {
        *f = r.int("pool geometry")?;
    }
    let want =
        [expected[0] as i64, expected[1] as i64, expected[2] as i64, expected[3] as i64, 0, 0];
    if fields != want {
        return Ok(Err(format!(
            "expected (rows, cols, stride y, stride x, pad y, pad x) = {want:?}, found {fields:?}"
        )));
    }
    Ok(Ok(Weights::None))
}

fn read_fc(r: &mut Reader, outputs: usize) -> LayerResult {
    let tag = r.tag(&["fc_2", "fc_3"], "fc layer")?;
    let num_outputs = r.len("fc outputs")?;
    let num_inputs = r.len("fc inputs")?;
    let params = r.tensor("fc params")?;
    r.alias_tensor("fc weights")?;
    r.alias_tensor("fc biases")?;
    let bias_mode = r.int("fc bias mode")?;
    for what in ["lr multiplier", "decay multiplier", "bias lr multiplier", "bias decay multiplier"]
    {
        r.float(what)?;
    }
    if tag == "fc_3" {
        r.boolean("fc use_bias")?;
    }
    // bias_mode 1 is FC_NO_BIAS, the only mode of this network.
    if num_outputs != outputs || bias_mode != 1 || params.data.len() != num_inputs * num_outputs {
        return Ok(Err(format!(
            "expected {outputs} outputs without bias; found {num_outputs} outputs, {num_inputs} inputs, bias mode {bias_mode}, {} parameters",
            params.data.len()
        )));
    }
    Ok(Ok(Weights::Fc { inputs: num_inputs, outputs: num_outputs, weights: params.data }))
}

/// A conv waiting for the affine that follows it: stride, filter shape, filters, biases.
type PendingConv<'a> = (usize, [usize; 4], &'a [f32], &'a [f32]);

/// Shape of one sample as it flows through the graph: (channels, rows, cols).
type Shape = (usize, usize, usize);

/// The network as an ONNX graph `input [N, 3, 150, 150]` (already normalised by the
/// input spec) → `embedding [N, 128]`, with lookout's metadata.
pub fn to_onnx(net: &DlibResnet, trained_on: &str, created: &str) -> pb::ModelProto {
    let mut g = Graph::default();
    let mut x = "input".to_string();
    let mut shape: Shape = (3, CHIP_SIZE, CHIP_SIZE);
    let mut tags: [Option<(String, Shape)>; 3] = Default::default();
    let mut pending_conv: Option<PendingConv> = None;
    let mut conv_index = 0;
    for (step, weights) in &net.steps {
        match (*step, weights) {
            (Step::Conv { stride, size, .. }, Weights::Conv { shape: fshape, filters, biases }) => {
                pending_conv = Some((stride, *fshape, filters, biases));
                let pad = if stride == 1 { size / 2 } else { 0 };
                shape = (
                    fshape[0],
                    conv_out(shape.1, size, stride, pad),
                    conv_out(shape.2, size, stride, pad),
                );
            }
            (Step::Affine, Weights::Affine { gamma, beta }) => {
                // conv then affine = one conv with each filter scaled by gamma and its bias
                // mapped through the affine.
                let Some((stride, fshape, filters, biases)) = pending_conv.take() else {
                    unreachable!("the architecture puts an affine after every conv");
                };
                let per_filter = fshape[1] * fshape[2] * fshape[3];
                let folded: Vec<f32> = filters
                    .chunks_exact(per_filter)
                    .zip(gamma)
                    .flat_map(|(w, &g)| w.iter().map(move |v| v * g))
                    .collect();
                let bias: Vec<f32> =
                    biases.iter().zip(gamma).zip(beta).map(|((b, g), be)| b * g + be).collect();
                let dims = fshape.map(|d| d as i64);
                let w = g.float_initializer(&format!("conv{conv_index}.weight"), &dims, &folded);
                let b = g.float_initializer(&format!("conv{conv_index}.bias"), &[dims[0]], &bias);
                conv_index += 1;
                let k = fshape[2] as i64;
                let pad = if stride == 1 { k / 2 } else { 0 };
                let s = stride as i64;
                x = g.node(
                    "Conv",
                    vec![x, w, b],
                    vec![
                        ints("kernel_shape", &[k, k]),
                        ints("strides", &[s, s]),
                        ints("pads", &[pad, pad, pad, pad]),
                        ints("dilations", &[1, 1]),
                        int("group", 1),
                    ],
                );
            }
            (Step::Relu, _) => x = g.node("Relu", vec![x], vec![]),
            (Step::MaxPool { size, stride }, _) | (Step::AvgPool { size, stride }, _) => {
                let op =
                    if matches!(step, Step::MaxPool { .. }) { "MaxPool" } else { "AveragePool" };
                let (k, s) = (size as i64, stride as i64);
                x = g.node(
                    op,
                    vec![x],
                    vec![ints("kernel_shape", &[k, k]), ints("strides", &[s, s])],
                );
                shape = (
                    shape.0,
                    conv_out(shape.1, size, stride, 0),
                    conv_out(shape.2, size, stride, 0),
                );
            }
            (Step::GlobalAvgPool, _) => {
                let pooled = g.node("GlobalAveragePool", vec![x], vec![]);
                x = g.node("Flatten", vec![pooled], vec![int("axis", 1)]);
                shape = (shape.0, 1, 1);
            }
            (Step::Fc { .. }, Weights::Fc { inputs, outputs, weights }) => {
                let w =
                    g.float_initializer("fc.weight", &[*inputs as i64, *outputs as i64], weights);
                g.named_node("MatMul", vec![x.clone(), w], vec![], "embedding");
                x = "embedding".into();
            }
            (Step::Tag(t), _) => tags[t as usize] = Some((x.clone(), shape)),
            (Step::Skip(t), _) => {
                let (name, s) =
                    tags[t as usize].clone().expect("the architecture tags before it skips");
                (x, shape) = (name, s);
            }
            (Step::AddPrev(t), _) => {
                let (other, other_shape) =
                    tags[t as usize].clone().expect("the architecture tags before it adds");
                let sum = (
                    shape.0.max(other_shape.0),
                    shape.1.max(other_shape.1),
                    shape.2.max(other_shape.2),
                );
                let a = zero_pad(&mut g, x, shape, sum);
                let b = zero_pad(&mut g, other, other_shape, sum);
                x = g.node("Add", vec![a, b], vec![]);
                shape = sum;
            }
            (step, _) => unreachable!("the parser pairs {step:?} with its weights"),
        }
    }
    let dims = net.descriptor_len() as i64;
    let spec = EmbeddingSpec { dims: dims as usize, threshold: net.threshold };
    let props = vec![
        ("lookout.task", "embed".to_string()),
        ("lookout.embedding", serde_json::to_string(&spec).expect("embedding spec serialises")),
        ("lookout.input", serde_json::to_string(&net.input_spec()).expect("input spec serialises")),
        ("lookout.trained_on", trained_on.to_string()),
        ("lookout.created", created.to_string()),
    ];
    let input = [
        Dim::Named("N"),
        Dim::Fixed(3),
        Dim::Fixed(CHIP_SIZE as i64),
        Dim::Fixed(CHIP_SIZE as i64),
    ];
    g.into_model(("input", &input), ("embedding", &[Dim::Named("N"), Dim::Fixed(dims)]), props)
}

fn conv_out(input: usize, size: usize, stride: usize, pad: usize) -> usize {
    (input + 2 * pad).saturating_sub(size) / stride + 1
}

/// `x` grown to `to` with zeros after its channels, rows and columns (dlib's add of
/// mismatched shapes); `x` itself when it already has that shape.
fn zero_pad(g: &mut Graph, x: String, from: Shape, to: Shape) -> String {
    if from == to {
        return x;
    }
    let pads =
        [0, 0, 0, 0, 0, (to.0 - from.0) as i64, (to.1 - from.1) as i64, (to.2 - from.2) as i64];
    let name = format!("pads_{}_{}_{}", pads[5], pads[6], pads[7]);
    let pads = g.constant_i64(&name, &pads);
    g.node("Pad", vec![x, pads], vec![string("mode", "constant")])
}

/// Aligned chips and the descriptors dlib computed for them: the golden file written by
/// `tests/fixtures/faces/regenerate.sh` (a list of objects with `chip`, a PNG path relative to
/// the file, and `descriptor`).
#[derive(Debug, Clone)]
pub struct Reference {
    /// The chips preprocessed for the network, one after the other.
    pub inputs: Vec<f32>,
    /// dlib's descriptors, one after the other.
    pub descriptors: Vec<f32>,
    pub samples: usize,
}

#[derive(serde::Deserialize)]
struct ReferenceEntry {
    chip: PathBuf,
    descriptor: Vec<f32>,
}

impl Reference {
    pub fn load(path: &Path, net: &DlibResnet) -> Result<Reference, ImportError> {
        let bad = |reason: String| ImportError::Reference { path: path.to_path_buf(), reason };
        let text = std::fs::read_to_string(path)
            .map_err(|source| ImportError::Io { path: path.to_path_buf(), source })?;
        let entries: Vec<ReferenceEntry> = serde_json::from_str(&text)
            .map_err(|e| bad(format!("not the golden JSON list: {e}")))?;
        if entries.is_empty() {
            return Err(bad("no chips".into()));
        }
        let spec = net.input_spec();
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut pre = Preprocessor::default();
        let (mut inputs, mut descriptors, mut sample) = (Vec::new(), Vec::new(), Vec::new());
        for entry in &entries {
            let chip_path = dir.join(&entry.chip);
            let chip = image::open(&chip_path)
                .map_err(|e| bad(format!("{}: {e}", chip_path.display())))?
                .to_rgb8();
            if chip.dimensions() != (CHIP_SIZE as u32, CHIP_SIZE as u32) {
                return Err(bad(format!(
                    "{}: not a {CHIP_SIZE}x{CHIP_SIZE} chip",
                    chip_path.display()
                )));
            }
            if entry.descriptor.len() != net.descriptor_len() {
                return Err(bad(format!(
                    "{}: descriptor of {} values, the network gives {}",
                    entry.chip.display(),
                    entry.descriptor.len(),
                    net.descriptor_len()
                )));
            }
            let pixels =
                Pixels { width: CHIP_SIZE, height: CHIP_SIZE, channels: 3, data: chip.as_raw() };
            pre.prepare(&spec, pixels, pixels.whole(), &mut sample);
            inputs.extend_from_slice(&sample);
            descriptors.extend_from_slice(&entry.descriptor);
        }
        Ok(Reference { inputs, descriptors, samples: entries.len() })
    }
}

/// What [`import`] wrote.
#[derive(Debug)]
pub struct ImportReport {
    pub bytes: usize,
    pub verification: Verification,
    pub threshold: f32,
}

/// Converts dlib's face ResNet at `dat` to `out`, after tract (and ONNX Runtime when
/// configured) reproduced the `reference` descriptors within the export tolerance; on any
/// failure nothing is written.
pub fn import(
    dat: &Path,
    reference: &Path,
    out: &Path,
    ort: OrtCheck,
) -> Result<ImportReport, ImportError> {
    let bytes =
        std::fs::read(dat).map_err(|source| ImportError::Io { path: dat.to_path_buf(), source })?;
    let net = parse(&bytes, dat)?;
    let golden = Reference::load(reference, &net)?;
    let sha256: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let name = dat
        .file_name()
        .map_or_else(|| dat.display().to_string(), |n| n.to_string_lossy().into_owned());
    let trained_on = format!(
        "dlib's face recognition ResNet ({name}, sha256 {sha256}), converted by lookout-tools {} import-dlib-face",
        env!("CARGO_PKG_VERSION")
    );
    let model = to_onnx(&net, &trained_on, &crate::export::utc_now()).encode_to_vec();
    let shape = [golden.samples as i64, 3, CHIP_SIZE as i64, CHIP_SIZE as i64];
    let verification =
        verify_outputs(&model, out, &shape, &golden.inputs, &golden.descriptors, "dlib", ort)?;
    write_atomic(out, &model).map_err(ExportError::from)?;
    Ok(ImportReport { bytes: model.len(), verification, threshold: net.threshold })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architecture_has_dlibs_29_convs_and_one_record_per_layer() {
        let arch = architecture();
        assert_eq!(arch.iter().filter(|s| matches!(s, Step::Conv { .. })).count(), 29);
        assert_eq!(arch.iter().filter(|s| matches!(s, Step::Affine)).count(), 29);
        assert_eq!(arch.iter().filter(|s| matches!(s, Step::AddPrev(_))).count(), 14);
        assert_eq!(arch.last(), Some(&Step::Fc { outputs: 128 }));
    }

    #[test]
    fn truncated_and_foreign_files_are_named_errors() {
        let err = parse(&[0x01, 0x01], Path::new("net.dat")).unwrap_err().to_string();
        assert!(
            err.starts_with("net.dat: not dlib's face recognition ResNet: ends at byte 2"),
            "{err}"
        );
        let mut other = vec![0x01, 0x01, 0x01, 0x04];
        other.extend(b"mmod");
        let err = parse(&other, Path::new("mmod.dat")).unwrap_err().to_string();
        assert!(err.contains("found \"mmod\", expected loss_metric_2 or loss_metric_"), "{err}");
    }
}
