//! The networks lookout-tools trains, each written once as a list of [`Layer`]s.
//!
//! The same list builds the tch module used for training ([`Net`]) and the ONNX graph written
//! by [`crate::export`], so the model the Pi runs cannot drift from the one that was trained.
//! Weights live in a tch `VarStore` under the layer names (`conv1.weight`, `bn1.running_mean`),
//! which is also what checkpoints and ONNX initializers are called.

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module, ModuleT};
use tch::Tensor;

/// What a network is for; chosen with `--task`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TrainTask {
    /// "me" vs "other" (or more people) on 64×64 face crops.
    Face,
    /// Handwritten Chinese characters, 64×64 gray, up to the 3755 GB2312 level-1 classes.
    Hanzi,
    /// Any folder-per-class image set.
    Classify,
    /// Digit strings of any length, CTC-trained CRNN, 32 px high.
    Digits,
}

impl TrainTask {
    /// Sequence tasks output `[time, batch, classes]` and train with CTC.
    pub fn is_sequence(self) -> bool {
        self == TrainTask::Digits
    }
}

/// One step of a network, in the order it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    /// 2-D convolution, square kernel, "same" padding when `pad = k / 2`.
    Conv {
        name: &'static str,
        out: i64,
        k: i64,
        stride: i64,
        pad: i64,
        bias: bool,
    },
    /// Batch normalisation over channels (eps 1e-5, as torch and ONNX default to).
    BatchNorm {
        name: &'static str,
    },
    Relu,
    /// Max pooling with a `[height, width]` kernel and stride.
    MaxPool {
        k: [i64; 2],
        stride: [i64; 2],
    },
    /// `[N, C, 1, W]` → `[W, N, C]`: the columns of a one-row feature map become time steps.
    ToSequence,
    /// Bidirectional LSTM over `[T, N, C]` → `[T, N, 2·hidden]` (torch's gate order inside;
    /// the exporter reorders to ONNX's).
    BiLstm {
        name: &'static str,
        hidden: i64,
    },
    /// Mean over height and width: `[N, C, H, W]` → `[N, C]`.
    GlobalAvgPool,
    /// Active in training only; exported as nothing.
    Dropout(f64),
    /// Fully connected on the last axis (`weight` is `[out, in]` as in torch); works on
    /// `[N, C]` and on `[T, N, C]`.
    Linear {
        name: &'static str,
        out: i64,
    },
}

pub const BN_EPS: f64 = 1e-5;

/// A network: its input channels and its layers. Networks end in logits (`[N, classes]`, or
/// `[T, N, classes]` after a [`Layer::ToSequence`]); the softmax is added by the loss in
/// training and by the exporter in the ONNX file.
#[derive(Debug, Clone, PartialEq)]
pub struct Arch {
    pub in_channels: i64,
    pub layers: Vec<Layer>,
}

fn conv_bn_relu(conv: &'static str, bn: &'static str, out: i64) -> [Layer; 3] {
    [
        Layer::Conv { name: conv, out, k: 3, stride: 1, pad: 1, bias: false },
        Layer::BatchNorm { name: bn },
        Layer::Relu,
    ]
}

const POOL: Layer = Layer::MaxPool { k: [2, 2], stride: [2, 2] };
/// Halves the height only: text lines keep their horizontal resolution for the time axis.
const POOL_ROWS: Layer = Layer::MaxPool { k: [2, 1], stride: [2, 1] };

impl Arch {
    pub fn for_task(task: TrainTask, in_channels: i64, classes: i64) -> Arch {
        match task {
            TrainTask::Face | TrainTask::Classify => Arch::small_cnn(in_channels, classes),
            TrainTask::Hanzi => Arch::hanzi(in_channels, classes),
            TrainTask::Digits => Arch::crnn(in_channels, classes + 1),
        }
    }

    /// CRNN for text lines 32 px high and any width W (a multiple of 4): conv-BN-ReLU blocks
    /// of 32, 64, 96, 128 channels pooled to one row and W/4 columns, a bidirectional LSTM
    /// of 96 units per direction, and a linear layer to `outputs` (blank + labels) per time
    /// step. 128 px wide inputs give 32 steps, enough for 10 digits with repeats. About
    /// 0.36 M weights and 50 M multiply-adds per 128×32 line. Trained on 25 k rendered strings
    /// (models/digits.onnx) it reads 100% of 2000 strings in a font it never saw exactly.
    pub fn crnn(in_channels: i64, outputs: i64) -> Arch {
        let mut layers = Vec::new();
        layers.extend(conv_bn_relu("conv1", "bn1", 32));
        layers.push(POOL);
        layers.extend(conv_bn_relu("conv2", "bn2", 64));
        layers.push(POOL);
        layers.extend(conv_bn_relu("conv3", "bn3", 96));
        layers.push(POOL_ROWS);
        layers.extend(conv_bn_relu("conv4", "bn4", 128));
        layers.push(POOL_ROWS);
        layers.push(POOL_ROWS);
        layers.extend([
            Layer::ToSequence,
            Layer::BiLstm { name: "lstm", hidden: 96 },
            Layer::Dropout(0.2),
            Layer::Linear { name: "fc", out: outputs },
        ]);
        Arch { in_channels, layers }
    }

    /// Face and generic classifier for 64×64 crops: four conv-BN-ReLU-pool blocks
    /// (16, 32, 64, 128 channels), global average pooling, dropout, one linear layer.
    /// About 100 k weights and 15 M multiply-adds per 64×64 gray crop: a Pi 3 core runs it in
    /// milliseconds. On the demo set (astronaut vs LFW faces, models/face.onnx) it reaches
    /// 100% validation accuracy and 92% on faces cut from unseen scenes.
    pub fn small_cnn(in_channels: i64, classes: i64) -> Arch {
        let mut layers = Vec::new();
        for (conv, bn, out) in [
            ("conv1", "bn1", 16),
            ("conv2", "bn2", 32),
            ("conv3", "bn3", 64),
            ("conv4", "bn4", 128),
        ] {
            layers.extend(conv_bn_relu(conv, bn, out));
            layers.push(POOL);
        }
        layers.extend([
            Layer::GlobalAvgPool,
            Layer::Dropout(0.3),
            Layer::Linear { name: "fc", out: classes },
        ]);
        Arch { in_channels, layers }
    }

    /// Compact handwritten-character CNN for 64×64 gray. A stride-2 stem (32 channels) and a
    /// pool bring the character to 16×16 at once, where strokes are still 1-2 cells wide;
    /// then pairs of 64 and 128 channels and one of 160, all with batch-norm, global average
    /// pooling, a 128-wide bottleneck and the class layer. For 3755 classes: about 0.97 M
    /// weights (3.9 MB as f32, inside the 4 MB budget) and 32 M multiply-adds per character,
    /// a quarter of a full-resolution stem, so it trains on a CPU. Compact models of this
    /// size reach ~97% on HWDB1.1 when trained on real handwriting; trained on 68 k rendered
    /// glyphs from 5 fonts (models/hanzi.onnx) it reaches 91.5% top-1 / 98.9% top-3 on a
    /// sixth font it never saw.
    pub fn hanzi(in_channels: i64, classes: i64) -> Arch {
        let mut layers = vec![
            Layer::Conv { name: "conv1", out: 32, k: 3, stride: 2, pad: 1, bias: false },
            Layer::BatchNorm { name: "bn1" },
            Layer::Relu,
            POOL,
        ];
        layers.extend(conv_bn_relu("conv2a", "bn2a", 64));
        layers.extend(conv_bn_relu("conv2b", "bn2b", 64));
        layers.push(POOL);
        layers.extend(conv_bn_relu("conv3a", "bn3a", 128));
        layers.extend(conv_bn_relu("conv3b", "bn3b", 128));
        layers.push(POOL);
        layers.extend(conv_bn_relu("conv4", "bn4", 160));
        layers.push(POOL);
        layers.extend([
            Layer::GlobalAvgPool,
            Layer::Linear { name: "fc1", out: 128 },
            Layer::Relu,
            Layer::Dropout(0.2),
            Layer::Linear { name: "fc2", out: classes },
        ]);
        Arch { in_channels, layers }
    }

    /// Number of trainable weights.
    pub fn parameter_count(&self) -> i64 {
        let mut channels = self.in_channels;
        let mut count = 0;
        for layer in &self.layers {
            match layer {
                Layer::Conv { out, k, bias, .. } => {
                    count += out * channels * k * k + if *bias { *out } else { 0 };
                    channels = *out;
                }
                Layer::BatchNorm { .. } => count += 2 * channels,
                Layer::Linear { out, .. } => {
                    count += out * channels + out;
                    channels = *out;
                }
                Layer::BiLstm { hidden, .. } => {
                    // Per direction: input and recurrent weights for 4 gates, two biases.
                    count += 2 * (4 * hidden * channels + 4 * hidden * hidden + 8 * hidden);
                    channels = 2 * hidden;
                }
                _ => {}
            }
        }
        count
    }
}

enum Built {
    Conv(nn::Conv2D),
    BatchNorm(nn::BatchNorm),
    Relu,
    MaxPool { k: [i64; 2], stride: [i64; 2] },
    ToSequence,
    BiLstm(BiLstm),
    GlobalAvgPool,
    Dropout(f64),
    Linear(nn::Linear),
}

/// A one-layer bidirectional LSTM written out step by step. libtorch's own CPU LSTM goes
/// through oneDNN, which crashes (SIGSEGV in `dnnl_primitive_desc_destroy`, libtorch 2.13)
/// for batches of 64; the explicit form is also exactly the ONNX LSTM the exporter writes.
/// Variables are named as torch names them (`weight_ih_l0`, `bias_hh_l0_reverse`, ...), gates
/// stacked in torch's order (input, forget, cell, output).
struct BiLstm {
    directions: [LstmWeights; 2],
}

struct LstmWeights {
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
}

impl BiLstm {
    fn new(path: &nn::Path, inputs: i64, hidden: i64) -> BiLstm {
        let bound = 1.0 / (hidden as f64).sqrt();
        let init = nn::Init::Uniform { lo: -bound, up: bound };
        let direction = |suffix: &str| LstmWeights {
            w_ih: path.var(&format!("weight_ih_l0{suffix}"), &[4 * hidden, inputs], init),
            w_hh: path.var(&format!("weight_hh_l0{suffix}"), &[4 * hidden, hidden], init),
            b_ih: path.var(&format!("bias_ih_l0{suffix}"), &[4 * hidden], init),
            b_hh: path.var(&format!("bias_hh_l0{suffix}"), &[4 * hidden], init),
        };
        BiLstm { directions: [direction(""), direction("_reverse")] }
    }

    /// `[T, N, C]` → `[T, N, 2·hidden]`, forward direction first. Both directions step
    /// together (the backward one over the time-reversed input) as one batched product.
    fn forward(&self, xs: &Tensor) -> Tensor {
        let [fw, bw] = &self.directions;
        let (steps, batch, hidden) = (xs.size()[0], xs.size()[1], fw.w_hh.size()[1]);
        // Input contributions for all steps at once; only the recurrence is sequential.
        let from_input = Tensor::stack(
            &[
                xs.matmul(&fw.w_ih.tr()) + &fw.b_ih + &fw.b_hh,
                (xs.matmul(&bw.w_ih.tr()) + &bw.b_ih + &bw.b_hh).flip([0]),
            ],
            1,
        );
        let w_hh = Tensor::stack(&[fw.w_hh.tr(), bw.w_hh.tr()], 0);
        let mut h = Tensor::zeros([2, batch, hidden], (xs.kind(), xs.device()));
        let mut c = h.zeros_like();
        let mut hs = Vec::with_capacity(steps as usize);
        for t in 0..steps {
            let gates = from_input.get(t) + h.bmm(&w_hh);
            let parts = gates.chunk(4, -1);
            let (i, f) = (parts[0].sigmoid(), parts[1].sigmoid());
            let (g, o) = (parts[2].tanh(), parts[3].sigmoid());
            c = f * &c + i * g;
            h = o * c.tanh();
            hs.push(h.shallow_clone());
        }
        let hs = Tensor::stack(&hs, 0);
        Tensor::cat(&[hs.select(1, 0), hs.select(1, 1).flip([0])], 2)
    }
}

/// An [`Arch`] instantiated in a `VarStore`.
pub struct Net {
    pub arch: Arch,
    built: Vec<Built>,
}

impl Net {
    pub fn new(root: &nn::Path, arch: &Arch) -> Net {
        let mut channels = arch.in_channels;
        let mut built = Vec::with_capacity(arch.layers.len());
        for layer in &arch.layers {
            built.push(match *layer {
                Layer::Conv { name, out, k, stride, pad, bias } => {
                    let config =
                        nn::ConvConfig { stride, padding: pad, bias, ..Default::default() };
                    let conv = nn::conv2d(root / name, channels, out, k, config);
                    channels = out;
                    Built::Conv(conv)
                }
                Layer::BatchNorm { name } => {
                    let config = nn::BatchNormConfig { eps: BN_EPS, ..Default::default() };
                    Built::BatchNorm(nn::batch_norm2d(root / name, channels, config))
                }
                Layer::Relu => Built::Relu,
                Layer::MaxPool { k, stride } => Built::MaxPool { k, stride },
                Layer::ToSequence => Built::ToSequence,
                Layer::BiLstm { name, hidden } => {
                    let lstm = BiLstm::new(&(root / name), channels, hidden);
                    channels = 2 * hidden;
                    Built::BiLstm(lstm)
                }
                Layer::GlobalAvgPool => Built::GlobalAvgPool,
                Layer::Dropout(p) => Built::Dropout(p),
                Layer::Linear { name, out } => {
                    let linear = nn::linear(root / name, channels, out, Default::default());
                    channels = out;
                    Built::Linear(linear)
                }
            });
        }
        Net { arch: arch.clone(), built }
    }
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Net").field("arch", &self.arch).finish()
    }
}

impl ModuleT for Net {
    /// `xs` is `[N, C, H, W]`; returns logits `[N, classes]` (classifiers) or
    /// `[T, N, classes]` (sequence models).
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut xs = xs.shallow_clone();
        for layer in &self.built {
            xs = match layer {
                Built::Conv(conv) => conv.forward(&xs),
                Built::BatchNorm(bn) => bn.forward_t(&xs, train),
                Built::Relu => xs.relu(),
                Built::MaxPool { k, stride } => xs.max_pool2d(k, stride, [0, 0], [1, 1], false),
                Built::ToSequence => xs.squeeze_dim(2).permute([2, 0, 1]),
                Built::BiLstm(lstm) => lstm.forward(&xs),
                Built::GlobalAvgPool => xs.mean_dim([2i64, 3].as_slice(), false, xs.kind()),
                Built::Dropout(p) => xs.dropout(*p, train),
                Built::Linear(linear) => linear.forward(&xs),
            };
        }
        xs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_count_matches_the_var_store() {
        for arch in [Arch::small_cnn(3, 2), Arch::hanzi(1, 3755), Arch::crnn(1, 11)] {
            let vs = nn::VarStore::new(tch::Device::Cpu);
            let _net = Net::new(&vs.root(), &arch);
            let trainable: i64 = vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
            assert_eq!(trainable, arch.parameter_count());
        }
    }

    #[test]
    fn hanzi_net_fits_the_four_megabyte_budget() {
        let bytes = Arch::hanzi(1, 3755).parameter_count() * 4;
        assert!(bytes <= 4_000_000, "{bytes} bytes");
    }

    #[test]
    fn small_cnn_maps_a_64px_batch_to_logits() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let net = Net::new(&vs.root(), &Arch::small_cnn(1, 5));
        let out = net.forward_t(&Tensor::zeros([2, 1, 64, 64], tch::kind::FLOAT_CPU), false);
        assert_eq!(out.size(), [2, 5]);
    }

    #[test]
    fn crnn_gives_a_quarter_of_the_width_as_time_steps() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let net = Net::new(&vs.root(), &Arch::crnn(1, 11));
        let out = net.forward_t(&Tensor::zeros([3, 1, 32, 128], tch::kind::FLOAT_CPU), false);
        assert_eq!(out.size(), [32, 3, 11]);
        let out = net.forward_t(&Tensor::zeros([1, 1, 32, 200], tch::kind::FLOAT_CPU), false);
        assert_eq!(out.size(), [50, 1, 11]);
    }
}
