//! `lookout-tools export`: the trained network as an ONNX file the Pi can run, checked before
//! it is written.
//!
//! The graph is built node by node from the same [`Layer`] list the network was trained
//! with (`tract_onnx::pb` types, prost-encoded): opset 13, batch dimension `N` dynamic,
//! softmax at the end, and lookout's metadata (`lookout.task`, `lookout.labels`,
//! `lookout.input`, `lookout.trained_on`, `lookout.metrics`, `lookout.created`).
//! Then the bytes are loaded by the runtime's own loader (tract, with all its metadata
//! checks) and by ONNX Runtime, both run the saved validation inputs, and both must match
//! tch's probabilities within [`TOLERANCE`]. Only then is the file written (temp + rename),
//! so a bad export never replaces a good model.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use lookout_vision::model::Model;
use lookout_vision::preprocess::InputSpec;
use prost::Message;
use tch::nn::ModuleT;
use tch::{Device, Kind, Tensor};
use tract_onnx::pb;

use crate::checkpoint::{self, CheckpointError, TrainState};
use crate::nets::{Arch, Layer, Net, BN_EPS};
use crate::onnx_graph::{float, int, ints, string, Dim, Graph};

/// Largest difference allowed between tch's and an engine's output probabilities.
pub const TOLERANCE: f32 = 1e-4;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("weight {0} is missing from the checkpoint")]
    MissingWeight(String),
    #[error("torch: {0}")]
    Torch(#[from] tch::TchError),
    #[error("{engine} disagrees with {reference}: largest difference {diff:e} on sample {sample} (allowed {TOLERANCE:e}); nothing was written")]
    Mismatch { engine: &'static str, reference: &'static str, diff: f32, sample: usize },
    #[error("tract cannot load the exported model: {0}; nothing was written")]
    Tract(String),
    #[error("ONNX Runtime: {0}; nothing was written")]
    Ort(String),
    #[error("{path}: no verification inputs (verify.safetensors) in the run folder")]
    NoVerifyInputs { path: PathBuf },
}

/// The metadata written into the file.
#[derive(Debug, Clone)]
pub struct ExportMeta {
    pub labels: Vec<String>,
    pub input: InputSpec,
    pub trained_on: String,
    pub metrics: serde_json::Value,
    pub created: String,
}

/// Builds the ONNX model of `arch` with `weights` (named as in the var store). Classifiers
/// map `input [N, C, H, W]` to `probs [N, classes]`; sequence models (with a
/// [`Layer::ToSequence`]) take any width W and give `probs [N, T, blank + labels]`.
pub fn model_onnx(
    arch: &Arch,
    weights: &[(String, Tensor)],
    meta: &ExportMeta,
) -> Result<pb::ModelProto, ExportError> {
    let mut g = GraphBuilder { weights, graph: Graph::default() };
    let mut x = "input".to_string();
    let mut sequence = false;
    for layer in &arch.layers {
        x = match *layer {
            Layer::Conv { name, k, stride, pad, bias, .. } => {
                let mut inputs = vec![x, g.init(&format!("{name}.weight"))?];
                if bias {
                    inputs.push(g.init(&format!("{name}.bias"))?);
                }
                let attrs = vec![
                    ints("kernel_shape", &[k, k]),
                    ints("strides", &[stride, stride]),
                    ints("pads", &[pad, pad, pad, pad]),
                    ints("dilations", &[1, 1]),
                    int("group", 1),
                ];
                g.node("Conv", inputs, attrs)
            }
            Layer::BatchNorm { name } => {
                let mut inputs = vec![x];
                for part in ["weight", "bias", "running_mean", "running_var"] {
                    inputs.push(g.init(&format!("{name}.{part}"))?);
                }
                g.node("BatchNormalization", inputs, vec![float("epsilon", BN_EPS as f32)])
            }
            Layer::Relu => g.node("Relu", vec![x], vec![]),
            Layer::MaxPool { k, stride } => {
                g.node("MaxPool", vec![x], vec![ints("kernel_shape", &k), ints("strides", &stride)])
            }
            Layer::GlobalAvgPool => {
                let pooled = g.node("GlobalAveragePool", vec![x], vec![]);
                g.node("Flatten", vec![pooled], vec![int("axis", 1)])
            }
            Layer::ToSequence => {
                sequence = true;
                let axes = g.constant_i64("axes_height", &[2]);
                let rows = g.node("Squeeze", vec![x, axes], vec![]);
                g.node("Transpose", vec![rows], vec![ints("perm", &[2, 0, 1])])
            }
            Layer::BiLstm { name, hidden } => {
                let w = g.lstm_weights(name, "weight_ih")?;
                let r = g.lstm_weights(name, "weight_hh")?;
                let b = g.lstm_biases(name)?;
                let attrs = vec![int("hidden_size", hidden), string("direction", "bidirectional")];
                // Y is [T, directions, N, hidden]; the next layers want [T, N, directions·hidden].
                let y = g.node("LSTM", vec![x, w, r, b], attrs);
                let y = g.node("Transpose", vec![y], vec![ints("perm", &[0, 2, 1, 3])]);
                let shape = g.constant_i64("shape_merge_directions", &[0, 0, -1]);
                g.node("Reshape", vec![y, shape], vec![])
            }
            Layer::Dropout(_) => x,
            Layer::Linear { name, .. } if sequence => {
                let weight = g.transposed(&format!("{name}.weight"))?;
                let product = g.node("MatMul", vec![x, weight], vec![]);
                let bias = g.init(&format!("{name}.bias"))?;
                g.node("Add", vec![product, bias], vec![])
            }
            Layer::Linear { name, .. } => {
                let inputs =
                    vec![x, g.init(&format!("{name}.weight"))?, g.init(&format!("{name}.bias"))?];
                g.node("Gemm", inputs, vec![int("transB", 1)])
            }
        };
    }
    let input = &meta.input;
    let classes = meta.labels.len() as i64 + i64::from(sequence);
    let mut graph = g.graph;
    let (task, width, output_dims) = if sequence {
        let probs = graph.node("Softmax", vec![x], vec![int("axis", 2)]);
        graph.named_node("Transpose", vec![probs], vec![ints("perm", &[1, 0, 2])], "probs");
        ("ctc", Dim::Named("W"), vec![Dim::Named("N"), Dim::Named("T"), Dim::Fixed(classes)])
    } else {
        graph.named_node("Softmax", vec![x], vec![int("axis", 1)], "probs");
        ("classify", Dim::Fixed(input.width as i64), vec![Dim::Named("N"), Dim::Fixed(classes)])
    };
    let input_dims = [
        Dim::Named("N"),
        Dim::Fixed(input.channels as i64),
        Dim::Fixed(input.height as i64),
        width,
    ];
    let props = vec![
        ("lookout.task", task.to_string()),
        ("lookout.labels", serde_json::to_string(&meta.labels).expect("labels serialise")),
        ("lookout.input", serde_json::to_string(&meta.input).expect("input spec serialises")),
        ("lookout.trained_on", meta.trained_on.clone()),
        ("lookout.metrics", meta.metrics.to_string()),
        ("lookout.created", meta.created.clone()),
    ];
    Ok(graph.into_model(("input", &input_dims), ("probs", &output_dims), props))
}

struct GraphBuilder<'a> {
    weights: &'a [(String, Tensor)],
    graph: Graph,
}

impl GraphBuilder<'_> {
    fn weight(&self, name: &str) -> Result<Tensor, ExportError> {
        let (_, tensor) = self
            .weights
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| ExportError::MissingWeight(name.to_string()))?;
        Ok(tensor.to_device(Device::Cpu).to_kind(Kind::Float).contiguous())
    }

    /// Adds the named weight as an initializer (once) and returns its name.
    fn init(&mut self, name: &str) -> Result<String, ExportError> {
        if !self.graph.has_initializer(name) {
            let tensor = self.weight(name)?;
            self.add_float(name, &tensor)?;
        }
        Ok(name.to_string())
    }

    /// A `[out, in]` linear weight as the `[in, out]` right operand of MatMul.
    fn transposed(&mut self, name: &str) -> Result<String, ExportError> {
        let t = self.weight(name)?.tr().contiguous();
        let new_name = format!("{name}_t");
        self.add_float(&new_name, &t)?;
        Ok(new_name)
    }

    /// torch stacks LSTM gates as (input, forget, cell, output); ONNX as (input, output,
    /// forget, cell).
    fn onnx_gate_order(t: &Tensor) -> Tensor {
        let gates = t.chunk(4, 0);
        Tensor::cat(&[&gates[0], &gates[3], &gates[1], &gates[2]], 0)
    }

    /// `W` or `R` of an ONNX LSTM: `[directions, 4·hidden, inputs]`.
    fn lstm_weights(&mut self, name: &str, kind: &str) -> Result<String, ExportError> {
        let forward = Self::onnx_gate_order(&self.weight(&format!("{name}.{kind}_l0"))?);
        let backward = Self::onnx_gate_order(&self.weight(&format!("{name}.{kind}_l0_reverse"))?);
        let new_name = format!("{name}.{kind}_onnx");
        self.add_float(&new_name, &Tensor::stack(&[forward, backward], 0))?;
        Ok(new_name)
    }

    /// `B` of an ONNX LSTM: `[directions, 8·hidden]`, input biases then recurrent ones.
    fn lstm_biases(&mut self, name: &str) -> Result<String, ExportError> {
        let mut directions = Vec::new();
        for suffix in ["", "_reverse"] {
            let ih = Self::onnx_gate_order(&self.weight(&format!("{name}.bias_ih_l0{suffix}"))?);
            let hh = Self::onnx_gate_order(&self.weight(&format!("{name}.bias_hh_l0{suffix}"))?);
            directions.push(Tensor::cat(&[ih, hh], 0));
        }
        let new_name = format!("{name}.bias_onnx");
        self.add_float(&new_name, &Tensor::stack(&directions, 0))?;
        Ok(new_name)
    }

    fn add_float(&mut self, name: &str, tensor: &Tensor) -> Result<(), ExportError> {
        let data = Vec::<f32>::try_from(tensor.flatten(0, -1))?;
        self.graph.float_initializer(name, &tensor.size(), &data);
        Ok(())
    }

    fn constant_i64(&mut self, name: &str, values: &[i64]) -> String {
        self.graph.constant_i64(name, values)
    }

    fn node(&mut self, op: &str, input: Vec<String>, attribute: Vec<pb::AttributeProto>) -> String {
        self.graph.node(op, input, attribute)
    }
}

/// How the exported file compared with tch.
#[derive(Debug, Clone)]
pub struct Verification {
    pub samples: usize,
    pub tract_max_diff: f32,
    /// `Ok(largest difference)`, or why ONNX Runtime was not run.
    pub ort: Result<f32, String>,
}

/// Which engines must agree with tch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrtCheck {
    /// Run ONNX Runtime when `ORT_DYLIB_PATH` is set; a library that fails to load is an error.
    WhenConfigured,
    /// Leave ONNX Runtime out.
    Skip,
}

/// Runs `bytes` with tract (through the runtime's loader) and ONNX Runtime on `inputs`
/// (`[n, C, H, W]`) and compares with `expected` (`[n, classes]`).
pub fn verify(
    bytes: &[u8],
    name: &Path,
    inputs: &Tensor,
    expected: &Tensor,
    ort_check: OrtCheck,
) -> Result<Verification, ExportError> {
    let flat_inputs = Vec::<f32>::try_from(inputs.to_kind(Kind::Float).flatten(0, -1))?;
    let flat_expected = Vec::<f32>::try_from(expected.to_kind(Kind::Float).flatten(0, -1))?;
    verify_outputs(bytes, name, &inputs.size(), &flat_inputs, &flat_expected, "tch", ort_check)
}

/// Like [`verify`] for plain arrays: `inputs` holds `shape[0]` samples, `expected` the
/// reference implementation's (named `reference` in errors) outputs for them, one after the
/// other.
pub fn verify_outputs(
    bytes: &[u8],
    name: &Path,
    shape: &[i64],
    inputs: &[f32],
    expected: &[f32],
    reference: &'static str,
    ort_check: OrtCheck,
) -> Result<Verification, ExportError> {
    let n = shape.first().copied().unwrap_or(0).max(0) as usize;
    let per_sample = inputs.len() / n.max(1);
    let outputs = expected.len() / n.max(1);
    let compare = |engine: &'static str, got: &[f32], i: usize| {
        let diff = max_diff(got, &expected[i * outputs..(i + 1) * outputs]);
        if diff > TOLERANCE || diff.is_nan() {
            return Err(ExportError::Mismatch { engine, reference, diff, sample: i });
        }
        Ok(diff)
    };

    let model = Model::from_bytes(bytes, name).map_err(|e| ExportError::Tract(e.to_string()))?;
    let mut tract_max_diff = 0f32;
    for i in 0..n {
        let got = model
            .run(&inputs[i * per_sample..(i + 1) * per_sample])
            .map_err(|e| ExportError::Tract(e.to_string()))?;
        tract_max_diff = tract_max_diff.max(compare("tract", &got, i)?);
    }

    let ort =
        match ort_check {
            OrtCheck::Skip => Err("skipped (--no-ort)".to_string()),
            OrtCheck::WhenConfigured => match std::env::var_os("ORT_DYLIB_PATH") {
                None => Err("skipped: ORT_DYLIB_PATH is not set (source scripts/libtorch-env.sh)"
                    .to_string()),
                Some(lib) => {
                    let got = run_ort(Path::new(&lib), bytes, shape.to_vec(), inputs.to_vec())?;
                    let mut worst = 0f32;
                    for i in 0..n {
                        let sample = got.get(i * outputs..(i + 1) * outputs).unwrap_or_default();
                        worst = worst.max(compare("ONNX Runtime", sample, i)?);
                    }
                    Ok(worst)
                }
            },
        };
    Ok(Verification { samples: n, tract_max_diff, ort })
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return f32::NAN;
    }
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// ONNX Runtime's environment: one per process, loaded from `lib` the first time.
fn ort_environment(lib: &Path) -> Result<&'static ort::environment::Environment, ExportError> {
    static ENV: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let builder =
            ort::init_from(lib).map_err(|e| format!("cannot load {}: {e}", lib.display()))?;
        builder.with_name("lookout-tools").build().map_err(|e| format!("cannot start: {e}"))
    })
    .as_ref()
    .map_err(|e| ExportError::Ort(e.clone()))
}

fn run_ort(
    lib: &Path,
    bytes: &[u8],
    shape: Vec<i64>,
    data: Vec<f32>,
) -> Result<Vec<f32>, ExportError> {
    let ort_err = |e: ort::Error| ExportError::Ort(e.to_string());
    let env = ort_environment(lib)?;
    let mut session = ort::session::Session::builder(env)
        .map_err(ort_err)?
        .commit_from_memory(bytes)
        .map_err(ort_err)?;
    let input = ort::value::Tensor::from_array((shape, data)).map_err(ort_err)?;
    let outputs = session.run(ort::inputs![input]).map_err(ort_err)?;
    let (_, values) = outputs[0].try_extract_tensor::<f32>().map_err(ort_err)?;
    Ok(values.to_vec())
}

/// What `export_run` did.
#[derive(Debug)]
pub struct ExportReport {
    pub out: PathBuf,
    pub bytes: usize,
    pub verification: Verification,
    pub meta: ExportMeta,
}

/// Exports the best weights of the training run in `run_dir` to `out`.
pub fn export_run(
    run_dir: &Path,
    out: &Path,
    ort_check: OrtCheck,
) -> Result<ExportReport, ExportError> {
    let state = TrainState::load(run_dir)?;
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let arch = Arch::for_task(state.task, state.in_channels, state.labels.len() as i64);
    let net = Net::new(&vs.root(), &arch);
    let best = run_dir.join(checkpoint::BEST);
    let weights_path = if best.exists() { best } else { run_dir.join(checkpoint::LAST) };
    checkpoint::restore(&vs, &checkpoint::load_tensors(&weights_path)?, &weights_path)?;

    let verify_path = run_dir.join(checkpoint::VERIFY);
    if !verify_path.exists() {
        return Err(ExportError::NoVerifyInputs { path: run_dir.to_path_buf() });
    }
    let inputs = checkpoint::load_tensors(&verify_path)?
        .into_iter()
        .find(|(n, _)| n == "inputs")
        .map(|(_, t)| t)
        .ok_or_else(|| ExportError::NoVerifyInputs { path: run_dir.to_path_buf() })?;
    let sequence = state.task.is_sequence();
    let expected = tch::no_grad(|| {
        let probs = net.forward_t(&inputs, false).softmax(-1, Kind::Float);
        // Sequence models run time-major inside; the file's output is batch-major.
        if sequence {
            probs.permute([1, 0, 2]).contiguous()
        } else {
            probs
        }
    });

    let best_epoch = state.best_epoch.and_then(|e| state.history.get(e - 1));
    let metrics = if sequence {
        serde_json::json!({
            "epoch": state.best_epoch,
            "val_samples": state.val_samples,
            "val_exact": best_epoch.map(|m| m.val_top1),
            "val_cer": best_epoch.map(|m| m.val_cer),
            "val_loss": best_epoch.map(|m| m.val_loss),
        })
    } else {
        serde_json::json!({
            "epoch": state.best_epoch,
            "val_samples": state.val_samples,
            "val_top1": best_epoch.map(|m| m.val_top1),
            "val_top3": best_epoch.map(|m| m.val_top3),
            "val_loss": best_epoch.map(|m| m.val_loss),
        })
    };
    let meta = ExportMeta {
        labels: state.labels.clone(),
        input: state.input.clone(),
        trained_on: format!(
            "lookout-tools {} train --task {} --data {} --seed {}{} ({} training samples, {} epochs)",
            env!("CARGO_PKG_VERSION"),
            serde_json::to_value(state.task)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            state.data,
            state.seed,
            state.init_from.as_ref().map(|m| format!(" --init-from {m}")).unwrap_or_default(),
            state.train_samples,
            state.epochs_done
        ),
        metrics: strip_nan(metrics),
        created: utc_now(),
    };
    let weights = checkpoint::named_variables(&vs);
    let bytes = model_onnx(&arch, &weights, &meta)?.encode_to_vec();
    let verification = verify(&bytes, out, &inputs, &expected, ort_check)?;
    checkpoint::write_atomic(out, &bytes)?;
    Ok(ExportReport { out: out.to_path_buf(), bytes: bytes.len(), verification, meta })
}

/// JSON has no NaN (a run without validation data has none): those become null.
fn strip_nan(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            serde_json::Value::Object(map.into_iter().map(|(k, v)| (k, strip_nan(v))).collect())
        }
        serde_json::Value::Number(n) if n.as_f64().is_some_and(|f| !f.is_finite()) => {
            serde_json::Value::Null
        }
        other => other,
    }
}

/// The current time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn utc_now() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}
