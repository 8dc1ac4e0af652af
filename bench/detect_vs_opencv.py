"""Times OpenCV's detectMultiScale and `lookout detect` on the same images and parameters.

Called by detect_vs_opencv.sh. For each (cascade, parameters) row it runs every image
PASSES x ROUNDS times in each detector, takes each image's fastest detection time (decoding
excluded on both sides) and sums them. Prints a table and the ratio ours/OpenCV, single-threaded, plus
our figure with all cores and OpenCV's with its default threading.
"""
import json
import os
import subprocess
import sys
import time

import cv2

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
LOOKOUT = os.environ.get("LOOKOUT_BIN", os.path.join(ROOT, "target", "release", "lookout"))
# Each round runs every image PASSES times in one process (warm buffers, as in the daemon);
# ROUNDS rounds alternate OpenCV and lookout so that drifting machine speed hits both alike.
# Per image we keep the fastest time: on a shared machine other load only ever adds time.
PASSES = int(os.environ.get("PASSES", "2"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
CASCADES = ["models/haarcascade_frontalface_default.xml", "models/lbpcascade_frontalface_improved.xml"]
PARAMS = [(1.1, 3, 30), (1.3, 5, 0)]


def opencv_round(classifier, grays, params, times, boxes):
    for path, gray in list(grays.items()) * PASSES:
        start = time.perf_counter()
        found = classifier.detectMultiScale(gray, params[0], params[1], minSize=(params[2], params[2]))
        times.setdefault(path, []).append((time.perf_counter() - start) * 1e3)
        boxes[path] = sorted(map(tuple, found.tolist())) if len(found) else []


def lookout_round(cascade, images, params, threads, times, boxes):
    cmd = [LOOKOUT, "detect", "--json", "--threads", str(threads), "--cascade", os.path.join(ROOT, cascade),
           "--scale-factor", str(params[0]), "--min-neighbors", str(params[1])]
    if params[2]:
        cmd += ["--min-size", str(params[2])]
    out = subprocess.run(cmd + images * PASSES, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        record = json.loads(line)
        times.setdefault(record["image"], []).append(record["ms"])
        boxes[record["image"]] = sorted(map(tuple, record["faces"]))


def measure(cascade, images, grays, params, threads):
    """Returns (OpenCV ms, lookout ms, images with identical boxes): sums of per-image medians."""
    cv2.setNumThreads(threads)
    classifier = cv2.CascadeClassifier(os.path.join(ROOT, cascade))
    cv_times, cv_boxes, our_times, our_boxes = {}, {}, {}, {}
    for _ in range(ROUNDS):
        opencv_round(classifier, grays, params, cv_times, cv_boxes)
        lookout_round(cascade, images, params, threads, our_times, our_boxes)
    total = lambda times: sum(min(t) for t in times.values())
    same = sum(cv_boxes[p] == our_boxes[p] for p in images)
    return total(cv_times), total(our_times), same


def main():
    images = sys.argv[1:]
    cores = os.cpu_count() or 1
    print(f"OpenCV {cv2.__version__}, {len(images)} images, best of {PASSES * ROUNDS} runs each, {cores} cores")
    print(f"{'cascade':<40} {'params':<14} {'opencv 1t':>10} {'ours 1t':>9} {'ratio':>6} "
          f"{'opencv Nt':>10} {'ours Nt':>9} {'same boxes':>10}")
    grays = {p: cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2GRAY) for p in images}
    ratios = []
    for cascade in CASCADES:
        for params in PARAMS:
            cv1, us1, same = measure(cascade, images, grays, params, 1)
            cvn, usn, _ = measure(cascade, images, grays, params, cores)
            ratios.append(us1 / cv1)
            label = f"{params[0]}/{params[1]}/{params[2] or '-'}"
            print(f"{os.path.basename(cascade):<40} {label:<14} {cv1:>8.1f}ms {us1:>7.1f}ms {us1 / cv1:>6.2f} "
                  f"{cvn:>8.1f}ms {usn:>7.1f}ms {same:>5}/{len(images)}")
    geo = 1.0
    for r in ratios:
        geo *= r
    geo **= 1 / len(ratios)
    print(json.dumps({"detector_ratio": round(geo, 3), "rows": len(ratios)}))


if __name__ == "__main__":
    main()
