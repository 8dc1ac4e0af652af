//! What a training run leaves in its output folder, and how it is read back.
//!
//! - `state.json`: the run's settings, labels, input spec, progress and per-epoch history;
//! - `last.safetensors`: weights and optimizer moments after the last finished epoch, so
//!   `--resume` continues exactly where the run stopped;
//! - `best.safetensors`: the weights with the best validation top-1 (what `export` uses);
//! - `verify.safetensors`: a few preprocessed validation inputs, so `export` can compare tch,
//!   tract and ONNX Runtime on real samples without the dataset at hand.
//!
//! Every file is written to a temporary name and renamed, so a crash never leaves a half file
//! where a good one was.

use std::path::{Path, PathBuf};

use lookout_vision::preprocess::InputSpec;
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

use crate::nets::TrainTask;

pub const STATE: &str = "state.json";
pub const LAST: &str = "last.safetensors";
pub const BEST: &str = "best.safetensors";
pub const VERIFY: &str = "verify.safetensors";

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a training state file")]
    State { path: PathBuf, source: serde_json::Error },
    #[error("{path}")]
    Tensor { path: PathBuf, source: tch::TchError },
    #[error("{path}: tensor {name} is missing")]
    Missing { path: PathBuf, name: String },
    #[error("{path}: tensor {name} has shape {found:?}, the network needs {expected:?}")]
    Shape { path: PathBuf, name: String, found: Vec<i64>, expected: Vec<i64> },
}

/// One epoch's figures, as written to `metrics.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub lr: f64,
    pub train_loss: f64,
    pub train_top1: f64,
    #[serde(with = "non_finite_as_null")]
    pub val_loss: f64,
    pub val_top1: f64,
    #[serde(with = "non_finite_as_null")]
    pub val_top3: f64,
    /// Character error rate (sequence models).
    #[serde(with = "non_finite_as_null", default = "nan")]
    pub val_cer: f64,
    pub samples_per_s: f64,
}

/// Everything about a run but its tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    pub task: TrainTask,
    pub data: String,
    pub labels: Vec<String>,
    pub input: InputSpec,
    pub in_channels: i64,
    pub epochs: usize,
    pub batch: usize,
    pub lr: f64,
    pub seed: u64,
    pub val_split: f64,
    pub patience: usize,
    pub train_samples: usize,
    pub val_samples: usize,
    /// Epochs finished so far.
    pub epochs_done: usize,
    pub steps_done: u64,
    pub best_epoch: Option<usize>,
    pub best_val_top1: f64,
    /// Validation loss of the best epoch: breaks ties in top-1.
    #[serde(with = "non_finite_as_null")]
    pub best_val_loss: f64,
    pub history: Vec<EpochMetrics>,
    pub stopped_early: bool,
    /// The exported model whose weights the run started from (`--init-from`).
    #[serde(default)]
    pub init_from: Option<String>,
}

fn nan() -> f64 {
    f64::NAN
}

/// JSON has no NaN or infinity: they are written as null and read back as NaN.
mod non_finite_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            s.serialize_f64(*value)
        } else {
            s.serialize_none()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

impl TrainState {
    pub fn load(dir: &Path) -> Result<TrainState, CheckpointError> {
        let path = dir.join(STATE);
        let text = std::fs::read_to_string(&path)
            .map_err(|source| CheckpointError::Io { path: path.clone(), source })?;
        serde_json::from_str(&text).map_err(|source| CheckpointError::State { path, source })
    }

    pub fn save(&self, dir: &Path) -> Result<(), CheckpointError> {
        let text = serde_json::to_string_pretty(self).expect("state serialises");
        write_atomic(&dir.join(STATE), text.as_bytes())
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let tmp = temp_name(path);
    let io = |source| CheckpointError::Io { path: path.to_path_buf(), source };
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

fn temp_name(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Saves named tensors as safetensors, atomically.
pub fn save_tensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<(), CheckpointError> {
    let tmp = temp_name(path);
    Tensor::write_safetensors(tensors, &tmp)
        .map_err(|source| CheckpointError::Tensor { path: path.to_path_buf(), source })?;
    std::fs::rename(&tmp, path)
        .map_err(|source| CheckpointError::Io { path: path.to_path_buf(), source })
}

pub fn load_tensors(path: &Path) -> Result<Vec<(String, Tensor)>, CheckpointError> {
    Tensor::read_safetensors(path)
        .map_err(|source| CheckpointError::Tensor { path: path.to_path_buf(), source })
}

/// The var store's variables, sorted by name (safetensors files list them that way too).
pub fn named_variables(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

/// Copies tensors named like the var store's variables into it. Every variable must be
/// present with its shape; extra tensors (optimizer moments) are left to the caller.
pub fn restore(
    vs: &nn::VarStore,
    tensors: &[(String, Tensor)],
    path: &Path,
) -> Result<(), CheckpointError> {
    let _guard = tch::no_grad_guard();
    for (name, mut var) in named_variables(vs) {
        let Some((_, value)) = tensors.iter().find(|(n, _)| *n == name) else {
            return Err(CheckpointError::Missing { path: path.to_path_buf(), name });
        };
        if value.size() != var.size() {
            return Err(CheckpointError::Shape {
                path: path.to_path_buf(),
                name,
                found: value.size(),
                expected: var.size(),
            });
        }
        var.copy_(value);
    }
    Ok(())
}

/// Adam with decoupled weight decay (AdamW). Written out here, rather than tch's optimizer,
/// because its moments must be saved in checkpoints for `--resume` to continue exactly.
pub struct AdamW {
    params: Vec<(String, Tensor)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    step: u64,
    pub weight_decay: f64,
}

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPS: f64 = 1e-8;

impl AdamW {
    pub fn new(vs: &nn::VarStore, weight_decay: f64) -> AdamW {
        let params: Vec<(String, Tensor)> =
            named_variables(vs).into_iter().filter(|(_, t)| t.requires_grad()).collect();
        let m = params.iter().map(|(_, t)| t.zeros_like()).collect();
        let v = params.iter().map(|(_, t)| t.zeros_like()).collect();
        AdamW { params, m, v, step: 0, weight_decay }
    }

    pub fn zero_grad(&mut self) {
        for (_, p) in &mut self.params {
            p.zero_grad();
        }
    }

    pub fn step(&mut self, lr: f64) {
        let _guard = tch::no_grad_guard();
        self.step += 1;
        let bc1 = 1.0 - BETA1.powi(self.step as i32);
        let bc2 = 1.0 - BETA2.powi(self.step as i32);
        for (((name, p), m), v) in self.params.iter_mut().zip(&mut self.m).zip(&mut self.v) {
            let g = p.grad();
            if !g.defined() {
                continue;
            }
            m.copy_(&(&*m * BETA1 + &g * (1.0 - BETA1)));
            v.copy_(&(&*v * BETA2 + &g * &g * (1.0 - BETA2)));
            let update = (&*m / bc1) / ((&*v / bc2).sqrt() + EPS);
            // Batch-norm scales and all biases are not decayed.
            let decay =
                if name.ends_with(".weight") && p.dim() > 1 { self.weight_decay } else { 0.0 };
            p.copy_(&(&*p * (1.0 - lr * decay) - update * lr));
        }
    }

    /// The moments and step count, as tensors for a checkpoint.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(2 * self.params.len() + 1);
        for ((name, _), (m, v)) in self.params.iter().zip(self.m.iter().zip(&self.v)) {
            out.push((format!("adam.m.{name}"), m.shallow_clone()));
            out.push((format!("adam.v.{name}"), v.shallow_clone()));
        }
        out.push(("adam.step".into(), Tensor::from_slice(&[self.step as i64])));
        out
    }

    pub fn restore(
        &mut self,
        tensors: &[(String, Tensor)],
        path: &Path,
    ) -> Result<(), CheckpointError> {
        let _guard = tch::no_grad_guard();
        let find = |name: String| {
            tensors
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| t.shallow_clone())
                .ok_or(CheckpointError::Missing { path: path.to_path_buf(), name })
        };
        for ((name, _), (m, v)) in self.params.iter().zip(self.m.iter_mut().zip(&mut self.v)) {
            m.copy_(&find(format!("adam.m.{name}"))?);
            v.copy_(&find(format!("adam.v.{name}"))?);
        }
        self.step = find("adam.step".into())?.int64_value(&[0]) as u64;
        Ok(())
    }
}
