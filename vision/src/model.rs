//! ONNX models run by tract, with their metadata read from the file itself.
//!
//! One file is all a Pi needs: `metadata_props` carry `lookout.task` (`classify` | `ctc`),
//! `lookout.labels` (JSON array), `lookout.input` (JSON [`InputSpec`]) and provenance
//! (`lookout.trained_on`, `lookout.metrics`, `lookout.created`). [`Model::load`] refuses a file
//! whose metadata is missing or disagrees with its graph, and names the file and the key.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

use crate::panic_guard::catch_panic;
use crate::preprocess::InputSpec;

/// What the network's output means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// `[batch, labels]` class probabilities.
    Classify,
    /// `[batch, time, labels + 1]` per-step probabilities, the CTC blank at index 0.
    Ctc,
    /// `[batch, dims]` face descriptors, compared by Euclidean distance ([`EmbeddingSpec`]).
    Embed,
}

/// What an embedding model's descriptors mean: stored as JSON in `lookout.embedding`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingSpec {
    /// Length of one descriptor.
    pub dims: usize,
    /// Two descriptors closer than this (Euclidean) are taken for the same person.
    pub threshold: f32,
}

/// The metadata a lookout model carries.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelMeta {
    pub task: Task,
    /// Class names; empty for embedding models.
    pub labels: Vec<String>,
    /// Embedding models only.
    pub embedding: Option<EmbeddingSpec>,
    pub input: InputSpec,
    pub trained_on: Option<String>,
    pub metrics: Option<serde_json::Value>,
    pub created: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{path}: cannot read model")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a usable ONNX model: {reason}")]
    Onnx { path: PathBuf, reason: String },
    #[error("{path}: metadata {key} is missing (was the model exported by lookout-tools?)")]
    MissingMetadata { path: PathBuf, key: &'static str },
    #[error("{path}: metadata {key} is invalid: {reason}")]
    BadMetadata { path: PathBuf, key: &'static str, reason: String },
    #[error("{path}: metadata disagrees with the graph: {reason}")]
    Inconsistent { path: PathBuf, reason: String },
    #[error("model input needs {expected} values, got {got}")]
    InputLength { expected: usize, got: usize },
    #[error("inference failed: {0}")]
    Run(String),
}

type Plan = std::sync::Arc<TypedSimplePlan>;

/// A loaded, optimised model ready to run one sample at a time.
pub struct Model {
    pub meta: ModelMeta,
    /// Hex SHA-256 of the file, to say which model made a decision.
    pub sha256: String,
    plan: Plan,
    output_shape: Vec<usize>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("meta", &self.meta).field("sha256", &self.sha256).finish()
    }
}

impl Model {
    /// Reads, validates and optimises the model at `path` for batch size 1.
    ///
    /// The file is decoded as it is read, never whole in memory, and the memory the loading
    /// used is handed back to the system afterwards: a 22 MB embedding model otherwise held
    /// three copies of its weights at once while loading, and the allocator kept the peak.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let io = |source| ModelError::Io { path: path.to_path_buf(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        let (proto, sha256) = crate::onnx_stream::decode(file).map_err(|e| match e {
            crate::onnx_stream::StreamError::Io(source) => io(source),
            crate::onnx_stream::StreamError::Decode(reason) => {
                ModelError::Onnx { path: path.to_path_buf(), reason }
            }
        })?;
        let model = Model::from_proto(proto, sha256, path);
        crate::memory::release_free_memory();
        model
    }

    /// Like [`Model::load`] for bytes already in memory; `path` names them in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Model, ModelError> {
        Model::from_proto(decode(bytes, path)?, hex_sha256(bytes), path)
    }

    fn from_proto(
        proto: tract_onnx::pb::ModelProto,
        sha256: String,
        path: &Path,
    ) -> Result<Model, ModelError> {
        let onnx_err =
            |e: TractError| ModelError::Onnx { path: path.to_path_buf(), reason: format!("{e:#}") };
        let onnx = tract_onnx::onnx();
        let props: Vec<(&str, &str)> =
            proto.metadata_props.iter().map(|p| (p.key.as_str(), p.value.as_str())).collect();
        let meta = read_meta(&props, path)?;

        let input = &meta.input;
        let shape = [1, input.channels as usize, input.height as usize, input.width as usize];
        let build = || {
            let mut proto = proto;
            let weights = take_weights(&mut proto).map_err(onnx_err)?;
            let mut inference = onnx.model_for_proto_model(&proto).map_err(onnx_err)?;
            drop(proto);
            put_weights(&mut inference, weights).map_err(onnx_err)?;
            let typed = inference
                .with_input_fact(0, f32::fact(shape).into())
                .and_then(|m| m.into_optimized())
                .map_err(|e| ModelError::Inconsistent {
                    path: path.to_path_buf(),
                    reason: format!(
                        "input {shape:?} from lookout.input does not fit the graph: {e:#}"
                    ),
                })?;
            let output_shape =
                concrete_output_shape(&typed).ok_or_else(|| ModelError::Inconsistent {
                    path: path.to_path_buf(),
                    reason: "the output shape is not fixed for a 1-sample input".into(),
                })?;
            check_output(&meta, &output_shape, path)?;
            let plan = typed.into_runnable().map_err(onnx_err)?;
            Ok((plan, output_shape))
        };
        // tract panics on some malformed graphs (found by fuzz/fuzz_targets/onnx_model.rs, e.g. a
        // graph output no node produces); a bad file must stay a bad file.
        let (plan, output_shape) = catch_panic(build).map_err(|message| ModelError::Onnx {
            path: path.to_path_buf(),
            reason: format!("the ONNX loader crashed: {message}"),
        })??;
        Ok(Model { meta, sha256, plan, output_shape })
    }

    /// The optimised tract plan [`Model::run`] executes, for tools that time or inspect it node
    /// by node (vision/examples/model_profile.rs).
    pub fn plan(&self) -> &std::sync::Arc<TypedSimplePlan> {
        &self.plan
    }

    /// Runs one preprocessed sample (`meta.input.len()` values, NCHW) and returns the output.
    pub fn run(&self, input: &[f32]) -> Result<Vec<f32>, ModelError> {
        let spec = &self.meta.input;
        if input.len() != spec.len() {
            return Err(ModelError::InputLength { expected: spec.len(), got: input.len() });
        }
        let shape = [1, spec.channels as usize, spec.height as usize, spec.width as usize];
        let tensor =
            Tensor::from_shape(&shape, input).map_err(|e| ModelError::Run(format!("{e:#}")))?;
        let outputs =
            self.plan.run(tvec!(tensor.into())).map_err(|e| ModelError::Run(format!("{e:#}")))?;
        let view = outputs[0]
            .to_plain_array_view::<f32>()
            .map_err(|e| ModelError::Run(format!("{e:#}")))?;
        Ok(view.iter().copied().collect())
    }

    /// The output shape for one sample, e.g. `[1, labels]` for classifiers.
    pub fn output_shape(&self) -> &[usize] {
        &self.output_shape
    }

    /// Runs a classifier and returns the `k` most probable labels, best first.
    pub fn top_k(&self, input: &[f32], k: usize) -> Result<Vec<(String, f32)>, ModelError> {
        Ok(self.top_labels(&self.run(input)?, k))
    }

    /// The `k` most probable labels of a classifier output, best first (ties: lower index).
    pub fn top_labels(&self, probs: &[f32], k: usize) -> Vec<(String, f32)> {
        crate::scores::top_k(probs, k)
            .into_iter()
            .map(|(i, p)| (self.meta.labels[i].clone(), p))
            .collect()
    }
}

/// What a text model read in a region.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// A CTC model's string, or a character classifier's best label.
    pub text: String,
    /// CTC: the path probability (greedy: product of the per-step maxima; beam: the beam's
    /// total); classifier: the top-1 probability.
    pub confidence: f64,
    /// Classifiers: the `top_k` best labels; empty for CTC models.
    pub alternatives: Vec<(String, f32)>,
}

impl Model {
    /// Decodes a text model's output: CTC greedy (`beam` ≤ 1) or prefix beam search, or a
    /// character classifier's ranking.
    pub fn read_text(&self, probs: &[f32], beam: usize, top_k: usize) -> Reading {
        let labels = &self.meta.labels;
        match self.meta.task {
            Task::Ctc => {
                let classes = labels.len() + 1;
                let (decoded, confidence) = if beam <= 1 {
                    let confidence = probs
                        .chunks_exact(classes)
                        .map(|row| row.iter().copied().fold(0.0f32, f32::max) as f64)
                        .product();
                    (crate::ctc::greedy(probs, classes), confidence)
                } else {
                    crate::ctc::beam(probs, classes, beam)
                };
                let text =
                    decoded.iter().filter_map(|&i| labels.get(i)).map(String::as_str).collect();
                Reading { text, confidence, alternatives: Vec::new() }
            }
            // Not a text model: nothing to read (the runtime refuses one as a text model).
            Task::Embed => {
                Reading { text: String::new(), confidence: 0.0, alternatives: Vec::new() }
            }
            Task::Classify => {
                let alternatives = self.top_labels(probs, top_k.max(1));
                let (text, p) = alternatives.first().cloned().unwrap_or_default();
                Reading { text, confidence: p as f64, alternatives }
            }
        }
    }
}

/// Initializers at least this large are moved out of the protobuf one by one (below).
const LARGE_WEIGHT_BYTES: usize = 16 * 1024;

/// Takes the large float weights out of the protobuf, each turned into a tensor as its bytes are
/// let go, and leaves a one-value placeholder of its own in their place (distinct values, since
/// tract merges equal constants). tract would otherwise copy every weight while the protobuf
/// still holds them all (44 MB at once for the 22 MB embedding model). The peak is now the
/// optimiser's (weights and their packed copy); measured on `lookout identify`, this step still
/// takes about 1 MB off it (69.3 against 70.5 MB, median of three).
fn take_weights(proto: &mut tract_onnx::pb::ModelProto) -> TractResult<Vec<(String, Tensor)>> {
    use tract_onnx::pb::tensor_proto::DataType;
    let Some(graph) = proto.graph.as_mut() else { return Ok(Vec::new()) };
    let mut taken = Vec::new();
    for init in &mut graph.initializer {
        let float = init.data_type == DataType::Float as i32;
        if !float || init.raw_data.len() < LARGE_WEIGHT_BYTES || !init.external_data.is_empty() {
            continue;
        }
        let dims: Vec<usize> =
            init.dims.iter().map(|&d| usize::try_from(d)).collect::<Result<_, _>>()?;
        let raw = std::mem::take(&mut init.raw_data);
        let values: Vec<f32> =
            raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        drop(raw);
        let tensor = tract_ndarray::ArrayD::from_shape_vec(dims, values)?.into_tensor();
        init.dims = vec![1];
        init.raw_data = (taken.len() as f32).to_le_bytes().to_vec();
        taken.push((init.name.clone(), tensor));
    }
    Ok(taken)
}

/// Puts the weights [`take_weights`] took into the constants tract made of their placeholders.
fn put_weights(model: &mut InferenceModel, weights: Vec<(String, Tensor)>) -> TractResult<()> {
    for (name, tensor) in weights {
        let id = model.node_by_name(&name)?.id;
        let tensor = tensor.into_arc_tensor();
        let fact = TypedFact::try_from(tensor.clone())?;
        let node = model.node_mut(id);
        node.op = tract_onnx::tract_hir::ops::konst::Const::new(tensor)?.into();
        node.outputs[0].fact = fact.into();
    }
    Ok(())
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The protobuf of an ONNX file (a copy of every weight).
fn decode(bytes: &[u8], path: &Path) -> Result<tract_onnx::pb::ModelProto, ModelError> {
    let onnx = tract_onnx::onnx();
    // tract panics on some malformed files; a bad file must stay a bad file.
    catch_panic(|| onnx.proto_model_for_read(&mut &bytes[..]))
        .map_err(|message| ModelError::Onnx {
            path: path.to_path_buf(),
            reason: format!("the ONNX loader crashed: {message}"),
        })?
        .map_err(|e| ModelError::Onnx { path: path.to_path_buf(), reason: format!("{e:#}") })
}

fn concrete_output_shape(model: &TypedModel) -> Option<Vec<usize>> {
    let outlet = *model.output_outlets().ok()?.first()?;
    let fact = model.outlet_fact(outlet).ok()?;
    fact.shape.as_concrete().map(|s| s.to_vec())
}

fn check_output(meta: &ModelMeta, shape: &[usize], path: &Path) -> Result<(), ModelError> {
    let n = meta.labels.len();
    let dims = meta.embedding.as_ref().map_or(0, |e| e.dims);
    let fits = match meta.task {
        Task::Classify => shape == [1, n],
        Task::Ctc => shape.len() == 3 && shape[0] == 1 && shape[2] == n + 1,
        Task::Embed => shape == [1, dims],
    };
    if fits {
        return Ok(());
    }
    let reason = match meta.task {
        Task::Classify => format!("{n} labels call for an output of [1, {n}]"),
        Task::Ctc => format!("{n} labels call for an output of [1, time, {}]", n + 1),
        Task::Embed => format!("descriptors of {dims} values call for an output of [1, {dims}]"),
    };
    Err(ModelError::Inconsistent {
        path: path.to_path_buf(),
        reason: format!("{reason}, the graph gives {shape:?}"),
    })
}

fn read_meta(props: &[(&str, &str)], path: &Path) -> Result<ModelMeta, ModelError> {
    let get = |key| props.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let need = |key: &'static str| {
        get(key).ok_or(ModelError::MissingMetadata { path: path.to_path_buf(), key })
    };
    let bad = |key: &'static str, reason: String| ModelError::BadMetadata {
        path: path.to_path_buf(),
        key,
        reason,
    };

    let task = match need("lookout.task")? {
        "classify" => Task::Classify,
        "ctc" => Task::Ctc,
        "embed" => Task::Embed,
        other => {
            return Err(bad(
                "lookout.task",
                format!("expected \"classify\", \"ctc\" or \"embed\", found {other:?}"),
            ))
        }
    };
    let (labels, embedding) = if task == Task::Embed {
        let spec: EmbeddingSpec =
            serde_json::from_str(need("lookout.embedding")?).map_err(|e| {
                bad("lookout.embedding", format!("expected {{\"dims\": N, \"threshold\": T}}: {e}"))
            })?;
        if spec.dims == 0 || !(spec.threshold.is_finite() && spec.threshold > 0.0) {
            return Err(bad("lookout.embedding", "dims and threshold must be positive".into()));
        }
        (Vec::new(), Some(spec))
    } else {
        let labels: Vec<String> = serde_json::from_str(need("lookout.labels")?)
            .map_err(|e| bad("lookout.labels", format!("expected a JSON array of strings: {e}")))?;
        if labels.is_empty() {
            return Err(bad("lookout.labels", "expected at least one label".into()));
        }
        (labels, None)
    };
    let input: InputSpec = serde_json::from_str(need("lookout.input")?)
        .map_err(|e| bad("lookout.input", format!("expected the input JSON object: {e}")))?;
    input.validate().map_err(|e| bad("lookout.input", e.to_string()))?;
    let metrics = match get("lookout.metrics") {
        Some(text) => Some(
            serde_json::from_str(text)
                .map_err(|e| bad("lookout.metrics", format!("not JSON: {e}")))?,
        ),
        None => None,
    };
    Ok(ModelMeta {
        task,
        labels,
        embedding,
        input,
        trained_on: get("lookout.trained_on").map(str::to_string),
        metrics,
        created: get("lookout.created").map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_output_no_node_produces_is_an_error_not_a_panic() {
        // The fuzzer's crash input: tiny_classify.onnx with its graph output renamed, which
        // tract-onnx 0.23.9 looks up in its name table with `[]`.
        let mut bytes = include_bytes!("../../tests/fixtures/model/tiny_classify.onnx").to_vec();
        let at = bytes.windows(5).rposition(|w| w == b"probs").unwrap();
        bytes[at + 4] = b'u';
        match Model::from_bytes(&bytes, Path::new("renamed.onnx")) {
            Err(ModelError::Onnx { reason, .. }) => assert!(reason.contains("crashed"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
