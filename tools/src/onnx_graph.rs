//! Building ONNX files by hand: nodes, initializers, attributes and the model envelope with
//! lookout's metadata, as `tract_onnx::pb` (prost) values. Used by `export` (trained tch
//! networks) and `dlib_import` (dlib's face ResNet), so both write files the same way.

use tract_onnx::pb;

pub const OPSET: i64 = 13;
pub const IR_VERSION: i64 = 8;

/// A graph under construction: nodes in execution order and their constant inputs.
#[derive(Debug, Default)]
pub struct Graph {
    pub nodes: Vec<pb::NodeProto>,
    pub initializers: Vec<pb::TensorProto>,
    next: usize,
}

impl Graph {
    /// Appends a node with a generated output name, which it returns.
    pub fn node(
        &mut self,
        op: &str,
        input: Vec<String>,
        attribute: Vec<pb::AttributeProto>,
    ) -> String {
        let output = format!("{}_{}", op.to_ascii_lowercase(), self.next);
        self.next += 1;
        self.named_node(op, input, attribute, &output);
        output
    }

    /// Appends a node whose output has a fixed name (a graph output).
    pub fn named_node(
        &mut self,
        op: &str,
        input: Vec<String>,
        attribute: Vec<pb::AttributeProto>,
        output: &str,
    ) {
        self.nodes.push(pb::NodeProto {
            input,
            output: vec![output.to_string()],
            name: output.to_string(),
            op_type: op.into(),
            attribute,
            ..Default::default()
        });
    }

    pub fn has_initializer(&self, name: &str) -> bool {
        self.initializers.iter().any(|t| t.name == name)
    }

    /// Adds a float initializer of shape `dims` and returns its name.
    pub fn float_initializer(&mut self, name: &str, dims: &[i64], data: &[f32]) -> String {
        debug_assert_eq!(dims.iter().product::<i64>() as usize, data.len(), "{name}");
        self.initializers.push(pb::TensorProto {
            name: name.to_string(),
            dims: dims.to_vec(),
            data_type: pb::tensor_proto::DataType::Float as i32,
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
        name.to_string()
    }

    /// A 1-D int64 constant (shapes, axes, pads), added once per name.
    pub fn constant_i64(&mut self, name: &str, values: &[i64]) -> String {
        if !self.has_initializer(name) {
            self.initializers.push(pb::TensorProto {
                name: name.to_string(),
                dims: vec![values.len() as i64],
                data_type: pb::tensor_proto::DataType::Int64 as i32,
                raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
                ..Default::default()
            });
        }
        name.to_string()
    }

    /// The finished model: one float input and one float output, opset [`OPSET`], and the
    /// `metadata` key/value pairs.
    pub fn into_model(
        self,
        input: (&str, &[Dim]),
        output: (&str, &[Dim]),
        metadata: Vec<(&str, String)>,
    ) -> pb::ModelProto {
        let graph = pb::GraphProto {
            name: "lookout".into(),
            node: self.nodes,
            initializer: self.initializers,
            input: vec![value_info(input.0, input.1)],
            output: vec![value_info(output.0, output.1)],
            ..Default::default()
        };
        pb::ModelProto {
            ir_version: IR_VERSION,
            opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: OPSET }],
            producer_name: "lookout-tools".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            graph: Some(graph),
            metadata_props: metadata
                .into_iter()
                .map(|(key, value)| pb::StringStringEntryProto { key: key.into(), value })
                .collect(),
            ..Default::default()
        }
    }
}

pub fn ints(name: &str, values: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Ints as i32,
        ints: values.to_vec(),
        ..Default::default()
    }
}

pub fn int(name: &str, value: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        i: value,
        ..Default::default()
    }
}

pub fn string(name: &str, value: &str) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::String as i32,
        s: value.as_bytes().to_vec(),
        ..Default::default()
    }
}

pub fn float(name: &str, value: f32) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Float as i32,
        f: value,
        ..Default::default()
    }
}

/// One dimension of a graph input or output.
pub enum Dim {
    /// A dimension left open in the file (batch, width, time).
    Named(&'static str),
    Fixed(i64),
}

fn value_info(name: &str, dims: &[Dim]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value, Dimension};
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Dim::Named(name) => Value::DimParam((*name).into()),
                Dim::Fixed(v) => Value::DimValue(*v),
            }),
            ..Default::default()
        })
        .collect();
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}
