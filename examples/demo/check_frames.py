"""Checks demo frames against their story with the lookout binary.

Usage:  $LOOKOUT_PY examples/demo/check_frames.py FRAMES_DIR MANIFEST [--lookout BIN] [--keep DIR]

MANIFEST is the JSON that make_frames.py --manifest wrote. With default parameters of
`lookout detect`, every "me" and "stranger" frame must hold exactly one face and every other
frame none. Each detected box (square; grown to a square around its centre otherwise, edge
pixels repeated, like the daemon's pad-square crop) is cut out as a PNG and classified with
models/face.onnx; at least half the frames of each visit must get the right label ("me" with
p > 0.5 for the astronaut, "other" for a stranger). The plate ROI of every plate frame, cut out
exactly, must read as the plate's text with models/digits.onnx. Prints a summary; exit status 1
on any failure.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def square_crop(img, box):
    x, y, w, h = box
    side = max(w, h)
    x0, y0 = x + (w - side) // 2, y + (h - side) // 2
    pad = side
    padded = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    return padded[y0 + pad:y0 + pad + side, x0 + pad:x0 + pad + side]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("frames")
    ap.add_argument("manifest")
    ap.add_argument("--lookout", default=os.path.join(ROOT, "target", "release", "lookout"))
    ap.add_argument("--keep", help="write the crops here instead of a temporary folder")
    args = ap.parse_args()
    with open(args.manifest) as f:
        story = json.load(f)
    kind = {}
    for seg in story["segments"]:
        for i in range(seg["first"], seg["last"] + 1):
            kind[i] = seg
    paths = [os.path.join(args.frames, f"{i:04d}.jpg") for i in range(1, story["frames"] + 1)]
    found = {int(os.path.basename(r["image"])[:4]): r["faces"]
             for r in run_json([args.lookout, "detect", "--json", *paths])}

    failures = []
    crops, plates = [], []
    tmp = args.keep or tempfile.mkdtemp(prefix="lookout-demo-check-")
    os.makedirs(tmp, exist_ok=True)
    widths = {"me": [], "stranger": []}
    for i, path in enumerate(paths, start=1):
        seg = kind[i]
        faces = found[i]
        want = 1 if seg["kind"] in ("me", "stranger") else 0
        if len(faces) != want:
            failures.append(f"{i:04d} ({seg['kind']}): {len(faces)} faces {faces}")
        if seg["kind"] in ("me", "stranger") and len(faces) == 1:
            img = cv2.imread(path)
            crop = os.path.join(tmp, f"face_{i:04d}.png")
            cv2.imwrite(crop, square_crop(img, faces[0]))
            crops.append((i, crop))
            widths[seg["kind"]].append(faces[0][2])
        if seg["kind"] == "plate":
            x, y, w, h = story["plate_roi"]
            crop = os.path.join(tmp, f"plate_{i:04d}.png")
            cv2.imwrite(crop, cv2.imread(path)[y:y + h, x:x + w])
            plates.append((i, crop))

    labels = {}
    if crops:
        for (i, _), r in zip(crops, run_json([args.lookout, "classify", "--json", "--model",
                                              os.path.join(ROOT, "models", "face.onnx"),
                                              *[c for _, c in crops]])):
            top = dict(r["top"])
            labels[i] = top.get("me", 0.0)
    reads = {}
    if plates:
        for (i, _), r in zip(plates, run_json([args.lookout, "recognize", "--json", "--model",
                                               os.path.join(ROOT, "models", "digits.onnx"),
                                               *[c for _, c in plates]])):
            reads[i] = (r["text"], r["confidence"])

    print(f"{len(paths)} frames, {sum(len(v) for v in found.values())} faces detected")
    for seg in story["segments"]:
        frames = range(seg["first"], seg["last"] + 1)
        line = f"{seg['first']:04d}-{seg['last']:04d} {seg['kind']:8s}"
        if seg["kind"] in ("me", "stranger"):
            probs = [labels[i] for i in frames if i in labels]
            right = sum((p > 0.5) == (seg["kind"] == "me") for p in probs)
            line += (f" lfw {seg['lfw_index']:3d}" if "lfw_index" in seg else "        ")
            line += f"  detected {sum(len(found[i]) == 1 for i in frames)}/{len(frames)}"
            line += f"  classified {'me' if seg['kind'] == 'me' else 'other'} {right}/{len(frames)}"
            line += f"  p(me) {min(probs, default=0):.3f}..{max(probs, default=0):.3f}"
            if 2 * right < len(frames):
                failures.append(f"{line.strip()}: fewer than half classified right")
        elif seg["kind"] == "plate":
            texts = [reads[i] for i in frames]
            good = sum(t == seg["text"] for t, _ in texts)
            line += f"  read {seg['text']!r} {good}/{len(frames)}  confidence {min(c for _, c in texts):.3f}.."
            line += f"{max(c for _, c in texts):.3f}"
            failures += [f"{i:04d}: plate read {t!r}" for i, (t, _) in zip(frames, texts) if t != seg["text"]]
        else:
            line += f"  faces {sum(len(found[i]) for i in frames)}"
        print(line)
    for k, v in widths.items():
        if v:
            print(f"{k} face boxes {min(v)}..{max(v)} px")
    for f in failures:
        print("FAIL", f)
    if failures:
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
