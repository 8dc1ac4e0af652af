//! Fine-tuning: the weights of an exported lookout model read back into a network of the same
//! architecture, so a model that knows fonts can go on to learn handwriting without starting
//! over. The inverse of `export`'s renaming: ONNX LSTM weights (both directions stacked, gates
//! in ONNX's order) are split back into torch's per-direction tensors, and the transposed
//! sequence-head weight is transposed back. The file must carry the same labels.

use std::path::{Path, PathBuf};

use prost::Message;
use tch::{Kind, Tensor};
use tract_onnx::pb;

#[derive(Debug, thiserror::Error)]
pub enum WarmStartError {
    #[error("{path}: cannot read")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not an ONNX model")]
    Decode { path: PathBuf, source: prost::DecodeError },
    #[error("{path}: {reason}")]
    Mismatch { path: PathBuf, reason: String },
    #[error("torch: {0}")]
    Torch(#[from] tch::TchError),
}

/// The weights of the lookout model at `path`, named as the training network names them.
/// `labels` are the classes being trained: the model must have exactly these.
pub fn weights_from_onnx(
    path: &Path,
    labels: &[String],
) -> Result<Vec<(String, Tensor)>, WarmStartError> {
    let bytes = std::fs::read(path)
        .map_err(|source| WarmStartError::Io { path: path.to_path_buf(), source })?;
    let model = pb::ModelProto::decode(bytes.as_slice())
        .map_err(|source| WarmStartError::Decode { path: path.to_path_buf(), source })?;
    let mismatch = |reason: String| WarmStartError::Mismatch { path: path.to_path_buf(), reason };
    let theirs = model
        .metadata_props
        .iter()
        .find(|p| p.key == "lookout.labels")
        .and_then(|p| serde_json::from_str::<Vec<String>>(&p.value).ok())
        .ok_or_else(|| mismatch("no lookout.labels: not a model made by lookout-tools".into()))?;
    if theirs != labels {
        return Err(mismatch(format!(
            "its {} labels are not the {} being trained (first: {:?} vs {:?})",
            theirs.len(),
            labels.len(),
            theirs.first(),
            labels.first()
        )));
    }
    let graph = model.graph.unwrap_or_default();
    let mut weights = Vec::new();
    for init in &graph.initializer {
        if init.data_type != pb::tensor_proto::DataType::Float as i32 {
            continue;
        }
        let tensor = float_tensor(init).ok_or_else(|| {
            mismatch(format!("initializer {}: data does not fill {:?}", init.name, init.dims))
        })?;
        rename(&init.name, tensor, &mut weights);
    }
    Ok(weights)
}

fn float_tensor(init: &pb::TensorProto) -> Option<Tensor> {
    let values: Vec<f32> = if !init.raw_data.is_empty() {
        let chunks = init.raw_data.chunks_exact(4);
        if !chunks.remainder().is_empty() {
            return None;
        }
        chunks.map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    } else {
        init.float_data.clone()
    };
    let count: i64 = init.dims.iter().product();
    (count >= 0 && count as usize == values.len())
        .then(|| Tensor::from_slice(&values).reshape(init.dims.as_slice()))
}

/// ONNX stacks gates as (input, output, forget, cell); torch as (input, forget, cell, output).
fn torch_gate_order(t: &Tensor) -> Tensor {
    let gates = t.chunk(4, 0);
    Tensor::cat(&[&gates[0], &gates[2], &gates[3], &gates[1]], 0)
}

/// Adds the training network's tensor(s) held by the ONNX initializer `name`.
fn rename(name: &str, tensor: Tensor, out: &mut Vec<(String, Tensor)>) {
    let directions = [(0, "l0"), (1, "l0_reverse")];
    if let Some(base) = name.strip_suffix(".bias_onnx") {
        // [directions, 8·hidden]: input biases, then recurrent ones.
        for (d, suffix) in directions {
            let both = tensor.get(d).chunk(2, 0);
            out.push((format!("{base}.bias_ih_{suffix}"), torch_gate_order(&both[0])));
            out.push((format!("{base}.bias_hh_{suffix}"), torch_gate_order(&both[1])));
        }
    } else if let Some(base) = name.strip_suffix("_onnx") {
        // `lstm.weight_ih_onnx`: [directions, 4·hidden, inputs].
        for (d, suffix) in directions {
            out.push((format!("{base}_{suffix}"), torch_gate_order(&tensor.get(d))));
        }
    } else if let Some(base) = name.strip_suffix("_t") {
        out.push((base.to_string(), tensor.tr().contiguous().to_kind(Kind::Float)));
    } else {
        out.push((name.to_string(), tensor));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_order_round_trips_with_exports() {
        let torch = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0]);
        // export: (i, f, c, o) → (i, o, f, c)
        let gates = torch.chunk(4, 0);
        let onnx = Tensor::cat(&[&gates[0], &gates[3], &gates[1], &gates[2]], 0);
        assert_eq!(Vec::<f32>::try_from(&onnx).unwrap(), [1.0, 4.0, 2.0, 3.0]);
        let back = torch_gate_order(&onnx);
        assert_eq!(Vec::<f32>::try_from(&back).unwrap(), [1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn stacked_lstm_tensors_are_split_per_direction() {
        let mut out = Vec::new();
        rename("lstm.weight_hh_onnx", Tensor::zeros([2, 8, 3], tch::kind::FLOAT_CPU), &mut out);
        rename("lstm.bias_onnx", Tensor::zeros([2, 16], tch::kind::FLOAT_CPU), &mut out);
        rename("fc.weight_t", Tensor::zeros([5, 11], tch::kind::FLOAT_CPU), &mut out);
        rename("conv1.weight", Tensor::zeros([4, 1, 3, 3], tch::kind::FLOAT_CPU), &mut out);
        let names: Vec<(&str, Vec<i64>)> =
            out.iter().map(|(n, t)| (n.as_str(), t.size())).collect();
        assert_eq!(
            names,
            [
                ("lstm.weight_hh_l0", vec![8, 3]),
                ("lstm.weight_hh_l0_reverse", vec![8, 3]),
                ("lstm.bias_ih_l0", vec![8]),
                ("lstm.bias_hh_l0", vec![8]),
                ("lstm.bias_ih_l0_reverse", vec![8]),
                ("lstm.bias_hh_l0_reverse", vec![8]),
                ("fc.weight", vec![11, 5]),
                ("conv1.weight", vec![4, 1, 3, 3]),
            ]
        );
    }
}
