"""Times OpenCV's detectMultiScale and `lookout detect` on the same images and parameters.

Called by detect_vs_opencv.sh. For each (cascade, parameters) row it runs every image REPEAT
times in each detector, takes each image's median detection time (decoding excluded on both
sides) and sums the medians. Prints a table and the ratio ours/OpenCV, single-threaded, plus
our figure with all cores and OpenCV's with its default threading.
"""
import json
import os
import statistics
import subprocess
import sys
import time

import cv2

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
LOOKOUT = os.environ.get("LOOKOUT_BIN", os.path.join(ROOT, "target", "release", "lookout"))
REPEAT = int(os.environ.get("REPEAT", "5"))
CASCADES = ["models/haarcascade_frontalface_default.xml", "models/lbpcascade_frontalface_improved.xml"]
PARAMS = [(1.1, 3, 30), (1.3, 5, 0)]


def opencv_ms(cascade, images, params, threads):
    cv2.setNumThreads(threads)
    classifier = cv2.CascadeClassifier(os.path.join(ROOT, cascade))
    total, boxes = 0.0, {}
    for path in images:
        gray = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2GRAY)
        times = []
        for _ in range(REPEAT):
            start = time.perf_counter()
            found = classifier.detectMultiScale(gray, params[0], params[1], minSize=(params[2], params[2]))
            times.append((time.perf_counter() - start) * 1e3)
        total += statistics.median(times)
        boxes[path] = sorted(map(tuple, found.tolist())) if len(found) else []
    return total, boxes


def lookout_ms(cascade, images, params, threads):
    cmd = [LOOKOUT, "detect", "--json", "--threads", str(threads), "--cascade", os.path.join(ROOT, cascade),
           "--scale-factor", str(params[0]), "--min-neighbors", str(params[1])]
    if params[2]:
        cmd += ["--min-size", str(params[2])]
    out = subprocess.run(cmd + [p for p in images for _ in range(REPEAT)], check=True,
                         capture_output=True, text=True).stdout
    times, boxes = {}, {}
    for line in out.splitlines():
        record = json.loads(line)
        times.setdefault(record["image"], []).append(record["ms"])
        boxes[record["image"]] = sorted(map(tuple, record["faces"]))
    return sum(statistics.median(t) for t in times.values()), boxes


def main():
    images = sys.argv[1:]
    cores = os.cpu_count() or 1
    print(f"OpenCV {cv2.__version__}, {len(images)} images, median of {REPEAT} runs each, {cores} cores")
    print(f"{'cascade':<40} {'params':<14} {'opencv 1t':>10} {'ours 1t':>9} {'ratio':>6} "
          f"{'opencv Nt':>10} {'ours Nt':>9} {'same boxes':>10}")
    ratios = []
    for cascade in CASCADES:
        for params in PARAMS:
            cv1, cv_boxes = opencv_ms(cascade, images, params, 1)
            us1, our_boxes = lookout_ms(cascade, images, params, 1)
            cvn, _ = opencv_ms(cascade, images, params, cores)
            usn, _ = lookout_ms(cascade, images, params, cores)
            same = sum(cv_boxes[p] == our_boxes[p] for p in images)
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
