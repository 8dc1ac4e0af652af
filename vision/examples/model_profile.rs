//! Where tract spends a model's time: loads it with the runtime's `Model::load` (input pinned to
//! batch 1, optimised), runs its plan on a zero input `--runs` times, timing every node, and
//! prints each node of the optimised graph with its operator and median time, heaviest first.
//!
//!   cargo run --release -p lookout-vision --example model_profile -- MODEL [--runs N]

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::plan::SimpleState;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().context("usage: model_profile MODEL [--runs N]")?;
    let runs: usize = match (args.next().as_deref(), args.next()) {
        (None, _) => 300,
        (Some("--runs"), Some(n)) => n.parse().context("--runs")?,
        _ => bail!("usage: model_profile MODEL [--runs N]"),
    };
    let model = lookout_vision::model::Model::load(std::path::Path::new(&path))?;
    let spec = &model.meta.input;
    let shape = [1, spec.channels as usize, spec.height as usize, spec.width as usize];
    let plan = model.plan();
    let input: TValue = Tensor::zero::<f32>(&shape)?.into();
    let mut times: HashMap<usize, Vec<f64>> = HashMap::new();
    for _ in 0..runs {
        let mut state = SimpleState::new(plan)?;
        state.run_plan_with_eval(tvec![input.clone()], |session, op_state, node, inputs| {
            let start = Instant::now();
            let out = tract_onnx::tract_core::plan::eval(session, op_state, node, inputs);
            times.entry(node.id).or_default().push(start.elapsed().as_secs_f64() * 1e3);
            out
        })?;
    }
    let mut rows: Vec<(f64, String)> = times
        .into_iter()
        .map(|(id, mut t)| {
            t.sort_by(f64::total_cmp);
            let node = plan.model().node(id);
            (t[t.len() / 2], format!("{:<28} {}", node.name, node.op().name()))
        })
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let total: f64 = rows.iter().map(|r| r.0).sum();
    for (ms, what) in &rows {
        println!("{ms:8.4} ms {:5.1}%  {what}", 100.0 * ms / total);
    }
    println!("{total:8.4} ms in all (sum of medians)");
    Ok(())
}
