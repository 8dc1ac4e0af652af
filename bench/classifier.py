"""tract (examples/classify_latency.rs) against ONNX Runtime: one model run, batch 1, one thread.

Called by classifier.sh. For each model, `classify_latency` preprocesses one fixed input with the
runtime's own code, times RUNS runs after WARMUP, and dumps the tensor and its output; ONNX
Runtime is then timed here on that same tensor and its output checked against tract's. ROUNDS
rounds alternate the two so that drifting machine speed hits both alike; each side keeps its
lowest median and lowest p95 over the rounds (on a shared machine other load only ever adds
time, and p95 is what it hits first). Prints a table and, last, a JSON line with the ratios
tract/ORT: classifier_ratio over the classifiers only (`lookout.task` classify, the figure issue 6
sets a target for), and every model's ratios, the face embedding model's included.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
EXAMPLE = os.path.join(ROOT, "target", "release", "examples", "classify_latency")
RUNS = int(os.environ.get("RUNS", "500"))
WARMUP = int(os.environ.get("WARMUP", "50"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
# (model, image, region): a face the demo's cascade finds in frame 9, a held-out character, and
# an aligned 150x150 face chip for the embedding model (dlib's ResNet, ~6 ms per run here).
CASES = [
    ("models/face.onnx", "examples/demo/frames/0009.jpg", "262,110,134,134"),
    ("models/hanzi.onnx", "tests/fixtures/recognize/hanzi_zhong.png", None),
    ("models/face_embed.onnx", "tests/fixtures/faces/chips/obama_face_hog_0.png", None),
]


def tract_round(model, image, region, dump):
    cmd = [EXAMPLE, model, image, "--runs", str(RUNS), "--warmup", str(WARMUP), "--dump", dump]
    if region:
        cmd += ["--region", region]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def ort_session(model):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def ort_round(session, dump):
    """Times session.run the way classify_latency times Model::run; returns (report, output)."""
    shape = [1] + list(session.get_inputs()[0].shape[1:])
    feed = {session.get_inputs()[0].name: np.fromfile(os.path.join(dump, "input.f32"), "<f4").reshape(shape)}
    for _ in range(WARMUP):
        session.run(None, feed)
    ms = []
    for _ in range(RUNS):
        start = time.perf_counter()
        out = session.run(None, feed)[0]
        ms.append((time.perf_counter() - start) * 1e3)
    ms.sort()
    # Nearest-rank percentiles, as in classify_latency.rs.
    rank = lambda q: round(ms[min(max(int(np.ceil(q * len(ms))), 1), len(ms)) - 1], 3)
    return {"median_ms": rank(0.5), "p95_ms": rank(0.95)}, out.ravel()


def main():
    os.chdir(ROOT)
    print(f"onnxruntime {ort.__version__}, 1 thread (intra/inter-op, sequential); tract single-threaded; "
          f"{RUNS} runs after {WARMUP} warm-up, best of {ROUNDS} rounds; CPU affinity {sorted(os.sched_getaffinity(0))}")
    print(f"{'model':<16} {'tract med':>10} {'tract p95':>10} {'ort med':>9} {'ort p95':>9} "
          f"{'med ratio':>10} {'p95 ratio':>10} {'max |diff|':>11}")
    rows, classifiers = {}, []
    with tempfile.TemporaryDirectory() as dump:
        for model, image, region in CASES:
            session = ort_session(model)
            tract, onnx = [], []
            for _ in range(ROUNDS):
                tract.append(tract_round(model, image, region, dump))
                report, out = ort_round(session, dump)
                onnx.append(report)
            best = lambda rounds: {k: min(r[k] for r in rounds) for k in ("median_ms", "p95_ms")}
            t, o = best(tract), best(onnx)
            diff = float(np.abs(out - np.fromfile(os.path.join(dump, "output.f32"), "<f4")).max())
            med, p95 = t["median_ms"] / o["median_ms"], t["p95_ms"] / o["p95_ms"]
            name = os.path.basename(model)
            rows[name] = {"median_ratio": round(med, 2), "p95_ratio": round(p95, 2)}
            if session.get_modelmeta().custom_metadata_map.get("lookout.task") == "classify":
                classifiers.append(rows[name]["median_ratio"])
            print(f"{name:<16} {t['median_ms']:>8.3f}ms {t['p95_ms']:>8.3f}ms {o['median_ms']:>7.3f}ms "
                  f"{o['p95_ms']:>7.3f}ms {med:>10.2f} {p95:>10.2f} {diff:>11.1e}")
    geo = float(np.exp(np.mean(np.log(classifiers))))
    print(json.dumps({"classifier_ratio": round(geo, 2), "models": rows}))


if __name__ == "__main__":
    main()
