"""The Python pipeline of seed 003 (the Raspberry Pi "prank"), made to decide like `lookout run`.

    seed003_reference.py REPLAY_DIR [--model models/face.onnx] [--config systemd/lookout.toml]

For each image of REPLAY_DIR in name order: OpenCV gray, the seed's
`detectMultiScale(gray, 1.3, 5)` with the Haar cascade lookout has built in, each face cropped and
preprocessed as src/preprocess.rs does, classified by ONNX Runtime, then tracked and voted on as
src/pipeline/tracker.rs does with the [face] settings of the config. Prints one JSON line per
decision, {"frame", "label", "track", "confidence"} (as the daemon's events), and a summary on
stderr. OpenCV and ONNX Runtime are held to one thread, as the daemon's pipeline is.

Where this departs from the seed, it is to make decisions comparable with the daemon's:
- the seed classifies a colour crop stretched to 64x64 with INTER_LINEAR; here the crop is what
  the model's `lookout.input` asks for (face.onnx: gray, grown to a square with edge pixels
  repeated, INTER_LINEAR_EXACT, (p/255 - 0.5)/0.5);
- the seed prints a verdict per face per frame; here the daemon's vote turns them into decisions.
"""
import argparse
import collections
import json
import os
import sys
import time
import tomllib

import cv2
import numpy as np
import onnxruntime as ort

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
CASCADE = os.path.join(ROOT, "models", "haarcascade_frontalface_default.xml")
SCALE_FACTOR, MIN_NEIGHBORS = 1.3, 5  # the seed's detectMultiScale(gray_image, 1.3, 5)
EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".pnm")


class Classifier:
    """A lookout classifier in ONNX Runtime, its input built from the model's own metadata."""

    def __init__(self, path):
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        self.labels = json.loads(meta["lookout.labels"])
        spec = json.loads(meta["lookout.input"])
        if spec["fit"] != "pad-square" or spec["layout"] != "NCHW":
            sys.exit(f"{path}: only pad-square NCHW face models are supported here, not {spec}")
        self.spec = spec
        # The runtime computes (p · scale − mean) / std in f32; so do we.
        self.scale = np.float32(spec["scale"])
        self.mean = np.array(spec["mean"], np.float32).reshape(-1, 1, 1)
        self.std = np.array(spec["std"], np.float32).reshape(-1, 1, 1)
        self.input = self.session.get_inputs()[0].name

    def tensor(self, bgr, gray, box):
        """preprocess.rs, Fit::PadSquare: the box grown to a centred square, pixels past the
        frame taken from the nearest edge, bilinear-exact resize, then normalised."""
        x, y, w, h = (int(v) for v in box)
        side = max(w, h, 1)
        x0, y0 = x - (side - w) // 2, y - (side - h) // 2
        rows = np.clip(np.arange(y0, y0 + side), 0, gray.shape[0] - 1)
        cols = np.clip(np.arange(x0, x0 + side), 0, gray.shape[1] - 1)
        size = (self.spec["width"], self.spec["height"])
        if self.spec["channels"] == 1:
            planes = [gray[np.ix_(rows, cols)]]
        else:
            rgb = bgr[np.ix_(rows, cols)][:, :, ::-1]
            planes = [np.ascontiguousarray(rgb[:, :, c]) for c in range(3)]
        resized = np.stack([cv2.resize(p, size, interpolation=cv2.INTER_LINEAR_EXACT) for p in planes])
        return ((resized.astype(np.float32) * self.scale - self.mean) / self.std)[np.newaxis]

    def classify(self, tensor):
        probs = self.session.run(None, {self.input: tensor})[0][0]
        label = int(np.argmax(probs))  # the first of equal maxima, as model::argmax
        return label, probs[label]


def iou(a, b):
    ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


class Tracker:
    """src/pipeline/tracker.rs, step for step: greedy IoU matching best overlap first, a vote of
    `needed` sure frames out of the last `window`, one decision per label change of a track."""

    def __init__(self, face):
        self.iou = face["track_iou"]
        # The daemon holds min_confidence as f32: compare in f32 so that 0.7 means the same.
        self.min_confidence = np.float32(face["min_confidence"])
        self.window, self.needed = face["vote_window"], face["vote_needed"]
        self.timeout = face["track_timeout_frames"]
        self.tracks, self.next_id, self.frame = [], 1, 0

    def update(self, observations):
        """observations: [(box, label, confidence)]. Returns [(track, label, mean confidence)]."""
        self.frame += 1
        self.tracks = [t for t in self.tracks if self.frame - t["last_seen"] <= self.timeout]
        pairs = [(iou(box, t["box"]), o, i) for o, (box, _, _) in enumerate(observations)
                 for i, t in enumerate(self.tracks)]
        pairs = sorted((p for p in pairs if p[0] >= self.iou), key=lambda p: (-p[0], p[1], p[2]))
        track_of, taken = [None] * len(observations), set()
        for _, o, i in pairs:
            if track_of[o] is None and i not in taken:
                track_of[o] = i
                taken.add(i)
        decided = []
        for o, (box, label, confidence) in enumerate(observations):
            if track_of[o] is None:
                self.tracks.append({"id": self.next_id, "votes": collections.deque(), "decided": None})
                self.next_id += 1
                track_of[o] = len(self.tracks) - 1
            track = self.tracks[track_of[o]]
            track["box"], track["last_seen"] = box, self.frame
            sure = confidence >= self.min_confidence
            track["votes"].append((label, confidence) if sure else None)
            if len(track["votes"]) > self.window:
                track["votes"].popleft()
            won = self.winner(track["votes"])
            if won is not None and track["decided"] != won[0]:
                track["decided"] = won[0]
                decided.append((track["id"], won[0], won[1]))
        return decided

    def winner(self, votes):
        counts = {}  # label -> [votes, confidence sum], in first-vote order as the Rust Vec
        for vote in votes:
            if vote is not None:
                c = counts.setdefault(vote[0], [0, 0.0])
                c[0] += 1
                c[1] += float(vote[1])
        best = None
        for label, (n, total) in counts.items():
            # `>=`: Rust's max_by_key keeps the last of equal maxima.
            if n >= self.needed and (best is None or n >= best[1]):
                best = (label, n, total)
        return None if best is None else (best[0], best[2] / best[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("replay_dir")
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "face.onnx"))
    ap.add_argument("--config", default=os.path.join(ROOT, "systemd", "lookout.toml"),
                    help="its [face] section gives the tracking and vote settings")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    with open(args.config, "rb") as f:
        tracker = Tracker(tomllib.load(f)["face"])
    classifier = Classifier(args.model)
    cascade = cv2.CascadeClassifier(CASCADE)
    names = sorted(n for n in os.listdir(args.replay_dir) if n.lower().endswith(EXTENSIONS))

    start, faces, decisions = time.perf_counter(), 0, 0
    for name in names:
        bgr = cv2.imread(os.path.join(args.replay_dir, name), cv2.IMREAD_COLOR)
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        boxes = cascade.detectMultiScale(gray, SCALE_FACTOR, MIN_NEIGHBORS)
        observations = []
        for box in boxes:
            label, confidence = classifier.classify(classifier.tensor(bgr, gray, box))
            observations.append((tuple(int(v) for v in box), label, confidence))
        faces += len(observations)
        for track, label, confidence in tracker.update(observations):
            decisions += 1
            print(json.dumps({"frame": name, "label": classifier.labels[label], "track": track,
                              "confidence": round(confidence, 6)}), flush=True)
    seconds = time.perf_counter() - start
    print(f"seed003 reference: {len(names)} frames in {seconds:.1f} s ({len(names) / seconds:.1f} fps), "
          f"{faces} faces, {decisions} decisions", file=sys.stderr)


if __name__ == "__main__":
    main()
