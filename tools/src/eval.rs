//! `lookout-tools eval`: an exported classifier or CTC model measured through the runtime's own code
//! (`lookout_vision::model::Model` on tract, `lookout_vision::preprocess`), exactly as the Pi would run it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use lookout_vision::model::{Model, ModelError, Task};
use lookout_vision::preprocess::Preprocessor;

use crate::dataset::{DatasetError, Source};
use crate::plot;

/// Confusion images are drawn up to this many classes (beyond, they are unreadable).
pub const CONFUSION_MAX_CLASSES: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error("{model}: is a {task:?} model; this evaluation needs a classifier")]
    NotClassifier { model: PathBuf, task: Task },
    #[error("{model}: is a {task:?} model; reading text lines needs a CTC model")]
    NotSequence { model: PathBuf, task: Task },
    #[error("{model}: the dataset has class {class:?}, which the model does not know (its labels: {known})")]
    UnknownClass { model: PathBuf, class: String, known: String },
    #[error("the dataset is empty")]
    Empty,
}

/// How one class fared.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassReport {
    pub label: String,
    pub samples: usize,
    pub top1: f64,
    /// The label most often predicted instead, with its count.
    pub confused_with: Option<(String, u64)>,
}

#[derive(Debug, Clone)]
pub struct EvalReport {
    pub n: usize,
    pub top1: f64,
    pub top3: f64,
    /// Classes of the dataset, worst first.
    pub classes: Vec<ClassReport>,
    /// `counts[true][predicted]` over the model's labels.
    pub confusion: Vec<Vec<u64>>,
    pub labels: Vec<String>,
}

/// Runs `model` over every sample of `source`.
pub fn evaluate(
    model_path: &Path,
    source: Arc<dyn Source>,
    quiet: bool,
) -> Result<EvalReport, EvalError> {
    let model = Model::load(model_path)?;
    if model.meta.task != Task::Classify {
        return Err(EvalError::NotClassifier {
            model: model_path.to_path_buf(),
            task: model.meta.task,
        });
    }
    let labels = model.meta.labels.clone();
    // Dataset label index → model label index, by name.
    let mapping = source
        .labels()
        .iter()
        .map(|class| {
            labels.iter().position(|l| l == class).ok_or_else(|| EvalError::UnknownClass {
                model: model_path.to_path_buf(),
                class: class.clone(),
                known: if labels.len() > 20 {
                    format!("{} labels", labels.len())
                } else {
                    labels.join(", ")
                },
            })
        })
        .collect::<Result<Vec<usize>, _>>()?;
    if source.is_empty() {
        return Err(EvalError::Empty);
    }

    let mut confusion = vec![vec![0u64; labels.len()]; labels.len()];
    let (mut top1, mut top3) = (0usize, 0usize);
    for_each_output(&model, source.as_ref(), 0..source.len(), quiet, |sample, probs| {
        let truth = mapping[sample.label];
        let rank = probs.iter().filter(|&&p| p > probs[truth]).count();
        top1 += usize::from(rank == 0);
        top3 += usize::from(rank < 3);
        confusion[truth][lookout_vision::scores::argmax(probs)] += 1;
    })?;

    let mut classes: Vec<ClassReport> = mapping
        .iter()
        .map(|&t| {
            let row = &confusion[t];
            let samples = row.iter().sum::<u64>() as usize;
            let confused_with = row
                .iter()
                .enumerate()
                .filter(|&(p, &c)| p != t && c > 0)
                .max_by_key(|&(p, &c)| (c, std::cmp::Reverse(p)))
                .map(|(p, &c)| (labels[p].clone(), c));
            ClassReport {
                label: labels[t].clone(),
                samples,
                top1: row[t] as f64 / samples.max(1) as f64,
                confused_with,
            }
        })
        .collect();
    classes.sort_by(|a, b| a.top1.total_cmp(&b.top1).then_with(|| a.label.cmp(&b.label)));
    let n = source.len();
    Ok(EvalReport {
        n,
        top1: top1 as f64 / n as f64,
        top3: top3 as f64 / n as f64,
        classes,
        confusion,
        labels,
    })
}

/// Runs `model` on the samples `indices` of `source` (whole image as the region, the
/// runtime's preprocessing), with a progress bar unless `quiet`, handing each output to `visit`.
fn for_each_output(
    model: &Model,
    source: &dyn Source,
    indices: impl ExactSizeIterator<Item = usize>,
    quiet: bool,
    mut visit: impl FnMut(crate::dataset::Sample, &[f32]),
) -> Result<(), EvalError> {
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(indices.len() as u64) };
    bar.set_style(
        ProgressStyle::with_template("eval [{bar:30}] {pos}/{len} ({per_sec}, {eta})")
            .expect("valid template"),
    );
    let mut pre = Preprocessor::default();
    let mut tensor = Vec::new();
    for i in indices {
        let sample = source.load(i)?;
        let pixels = sample.image.pixels();
        pre.prepare(&model.meta.input, pixels, pixels.whole(), &mut tensor);
        let probs = model.run(&tensor)?;
        visit(sample, &probs);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}

impl EvalReport {
    /// Writes the confusion image when the model has few enough classes; returns whether it did.
    pub fn draw_confusion(&self, path: &Path) -> Result<bool, plot::PlotError> {
        if self.labels.len() > CONFUSION_MAX_CLASSES {
            return Ok(false);
        }
        plot::confusion(path, &self.labels, &self.confusion)?;
        Ok(true)
    }

    /// The `--json` line.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({"n": self.n, "top1": self.top1, "top3": self.top3})
    }

    /// The `n` most frequent confusions: (true label, predicted label, count), most first.
    pub fn confused_pairs(&self, n: usize) -> Vec<(String, String, u64)> {
        let mut pairs: Vec<(u64, usize, usize)> = Vec::new();
        for (t, row) in self.confusion.iter().enumerate() {
            for (p, &count) in row.iter().enumerate() {
                if p != t && count > 0 {
                    pairs.push((count, t, p));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        pairs
            .into_iter()
            .take(n)
            .map(|(count, t, p)| (self.labels[t].clone(), self.labels[p].clone(), count))
            .collect()
    }
}

/// `count` samples spread evenly over `source`, each with what `model` read (a CTC model's
/// text, greedy; a classifier's top label), for a [`plot::reading_sheet`].
pub fn readings(
    model_path: &Path,
    source: &dyn Source,
    count: usize,
) -> Result<Vec<plot::Reading>, EvalError> {
    let model = Model::load(model_path)?;
    let labels = &model.meta.labels;
    let step = (source.len() / count.max(1)).max(1);
    let text = |s: &[usize]| s.iter().map(|&i| labels[i].as_str()).collect::<String>();
    let mut out = Vec::new();
    let indices = (0..source.len()).step_by(step).take(count);
    for_each_output(&model, source, indices, true, |sample, probs| {
        let (truth, read) = if model.meta.task == Task::Ctc {
            let read = lookout_vision::ctc::greedy(probs, labels.len() + 1);
            let truth: Vec<usize> = sample.text.iter().map(|&t| t as usize).collect();
            (text(&truth), text(&read))
        } else {
            let truth = source.labels()[sample.label].clone();
            (truth, labels[lookout_vision::scores::argmax(probs)].clone())
        };
        out.push(plot::Reading { image: sample.image, truth, read });
    })?;
    Ok(out)
}

/// How a CTC model reads held-out text lines.
#[derive(Debug, Clone)]
pub struct SequenceReport {
    pub n: usize,
    /// Characters in all the lines' true texts.
    pub characters: usize,
    /// Share of lines read exactly.
    pub exact: f64,
    /// Character error rate: edit distance over true length, averaged over lines.
    pub cer: f64,
    /// Up to ten misread lines: (truth, read).
    pub errors: Vec<(String, String)>,
}

impl SequenceReport {
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({"n": self.n, "exact": self.exact, "cer": self.cer})
    }
}

/// Runs a CTC `model` over every line of `source`, decoding with prefix beam search of
/// `beam_width` (1 = greedy), as the runtime does.
pub fn evaluate_sequences(
    model_path: &Path,
    source: Arc<dyn Source>,
    beam_width: usize,
    quiet: bool,
) -> Result<SequenceReport, EvalError> {
    let model = Model::load(model_path)?;
    if model.meta.task != Task::Ctc {
        return Err(EvalError::NotSequence {
            model: model_path.to_path_buf(),
            task: model.meta.task,
        });
    }
    if source.is_empty() {
        return Err(EvalError::Empty);
    }
    let labels = model.meta.labels.clone();
    let classes = labels.len() + 1;
    let (mut exact, mut cer_sum, mut characters) = (0usize, 0.0f64, 0usize);
    let mut errors = Vec::new();
    for_each_output(&model, source.as_ref(), 0..source.len(), quiet, |sample, probs| {
        let read = if beam_width <= 1 {
            lookout_vision::ctc::greedy(probs, classes)
        } else {
            lookout_vision::ctc::beam(probs, classes, beam_width).0
        };
        let truth: Vec<usize> = sample.text.iter().map(|&t| t as usize).collect();
        characters += truth.len();
        exact += usize::from(read == truth);
        cer_sum +=
            lookout_vision::ctc::edit_distance(&read, &truth) as f64 / truth.len().max(1) as f64;
        if read != truth && errors.len() < 10 {
            let text = |s: &[usize]| s.iter().map(|&i| labels[i].as_str()).collect::<String>();
            errors.push((text(&truth), text(&read)));
        }
    })?;
    let n = source.len();
    Ok(SequenceReport {
        n,
        characters,
        exact: exact as f64 / n as f64,
        cer: cer_sum / n as f64,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confused_pairs_are_the_largest_off_diagonal_counts() {
        let labels: Vec<String> = ["入", "人", "八"].iter().map(|s| s.to_string()).collect();
        let report = EvalReport {
            n: 20,
            top1: 0.5,
            top3: 1.0,
            classes: Vec::new(),
            confusion: vec![vec![5, 4, 1], vec![2, 3, 0], vec![0, 4, 1]],
            labels,
        };
        let pairs = report.confused_pairs(3);
        assert_eq!(
            pairs,
            [
                ("入".to_string(), "人".to_string(), 4),
                ("八".to_string(), "人".to_string(), 4),
                ("人".to_string(), "入".to_string(), 2),
            ]
        );
    }
}
