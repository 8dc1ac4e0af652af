//! One ONNX model, RUNS times on a fixed input, in tract or in ONNX Runtime, on one thread: the
//! model side of bench/arm_vs_reference.sh, counted under qemu-aarch64 (the difference between
//! RUNS 1 and 3, halved, is one inference; loading and optimising cancel out).
//!
//!   model_bench tract MODEL RUNS        lookout_vision::model::Model::load + Model::run: the
//!                                       runtime's own loading (into_optimized, batch 1) and run
//!   model_bench ort MODEL RUNS          ONNX Runtime from $ORT_DYLIB_PATH, 1 intra-op and 1
//!                                       inter-op thread, sequential, all graph optimisations
//!   model_bench tract-nodes MODEL       one warm-up run, then one run with a marker system call
//!                                       around every node of the optimised plan (see below)
//!
//! The input is the same pseudo-random tensor in [0, 1) for both engines (a fixed LCG), shaped as
//! the model's `lookout.input` says ([1, C, H, W], read from the file's metadata by each side); a conv net's instruction count does not
//! depend on the values. After the last run it prints `output V...` so the script can check the
//! two engines computed the same thing.
//!
//! tract-nodes: before and after each node it makes the system call MARK_SYSCALL(node id, 0|1),
//! a number Linux does not have (ENOSYS, nothing happens); bench/arm/insn_count.c's `marks=FILE`
//! records the instruction total at each, which gives instructions per node on aarch64.
//! Prints `node ID NAME OP OUTPUT_FACT` for each node.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::plan::SimpleState;

/// Shared with bench/arm/insn_count.c.
const MARK_SYSCALL: libc::c_long = 0x4c4b;

fn input(len: usize) -> Vec<f32> {
    let mut state: u32 = 0x2545_f491;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 24) as f32
        })
        .collect()
}

fn print_output(values: &[f32]) {
    let text: Vec<String> = values.iter().map(|v| format!("{v:.6e}")).collect();
    println!("output {}", text.join(" "));
}

fn run_tract(model: &Path, runs: usize) -> Result<()> {
    let model = lookout_vision::model::Model::load(model)?;
    let data = input(model.meta.input.len());
    let mut output = Vec::new();
    for _ in 0..runs {
        output = model.run(&data)?;
    }
    print_output(&output);
    Ok(())
}

fn mark(node: usize, end: bool) {
    // SAFETY: an unknown system call number only returns ENOSYS.
    unsafe { libc::syscall(MARK_SYSCALL, node as libc::c_long, end as libc::c_long) };
}

fn tract_nodes(model: &Path) -> Result<()> {
    let model = lookout_vision::model::Model::load(model)?;
    let data = input(model.meta.input.len());
    model.run(&data)?;
    let spec = &model.meta.input;
    let shape = [1, spec.channels as usize, spec.height as usize, spec.width as usize];
    let tensor: TValue = Tensor::from_shape(&shape, &data)?.into();
    let plan = model.plan();
    let mut state = SimpleState::new(plan)?;
    state.run_plan_with_eval(tvec![tensor], |session, op_state, node, inputs| {
        mark(node.id, false);
        let out = tract_onnx::tract_core::plan::eval(session, op_state, node, inputs);
        mark(node.id, true);
        out
    })?;
    for &id in plan.order_without_consts() {
        let node = plan.model().node(id);
        let fact = node.outputs.first().map(|o| format!("{:?}", o.fact)).unwrap_or_default();
        println!("node {id} {} {} {}", node.name.replace(' ', "_"), node.op().name(), fact.replace(' ', ""));
    }
    Ok(())
}

fn run_ort(model: &Path, runs: usize) -> Result<()> {
    let lib = std::env::var_os("ORT_DYLIB_PATH").context("ORT_DYLIB_PATH names libonnxruntime.so")?;
    let err = |e: ort::Error| anyhow!("{e}");
    let env = ort::init_from(&lib)
        .map_err(|e| anyhow!("cannot load {}: {e}", Path::new(&lib).display()))?
        .with_name("model_bench")
        .build()
        .map_err(err)?;
    let mut session = ort::session::Session::builder(&env)
        .map_err(err)?
        .with_optimization_level(ort::session::builder::GraphOptimizationLevel::All)
        .map_err(|e| anyhow!("{e}"))?
        .with_intra_threads(1)
        .map_err(|e| anyhow!("{e}"))?
        .with_inter_threads(1)
        .map_err(|e| anyhow!("{e}"))?
        .with_parallel_execution(false)
        .map_err(|e| anyhow!("{e}"))?
        .commit_from_file(model)
        .map_err(err)?;
    // The shape Model::load pins for tract: [1, C, H, W] from `lookout.input` (the graph leaves
    // batch and, for the CTC model, width free).
    let spec = session.metadata().map_err(err)?.custom("lookout.input").context("no lookout.input")?;
    let spec: lookout_vision::preprocess::InputSpec = serde_json::from_str(&spec)?;
    let shape = vec![1, spec.channels as i64, spec.height as i64, spec.width as i64];
    let data = input(spec.len());
    let mut output = Vec::new();
    for _ in 0..runs {
        // A fresh input tensor per run, as Model::run builds one from the sample each time.
        let tensor = ort::value::Tensor::from_array((shape.clone(), data.clone())).map_err(err)?;
        let outputs = session.run(ort::inputs![tensor]).map_err(err)?;
        output = outputs[0].try_extract_tensor::<f32>().map_err(err)?.1.to_vec();
    }
    print_output(&output);
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: model_bench tract|ort MODEL RUNS | model_bench tract-nodes MODEL";
    let runs = || -> Result<usize> { args.get(2).context(usage)?.parse().context("RUNS") };
    match (args.first().map(String::as_str), args.get(1)) {
        (Some("tract"), Some(model)) => run_tract(Path::new(model), runs()?),
        (Some("ort"), Some(model)) => run_ort(Path::new(model), runs()?),
        (Some("tract-nodes"), Some(model)) => tract_nodes(Path::new(model)),
        _ => bail!(usage),
    }
}
