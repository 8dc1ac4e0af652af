"""Draws what the motion gate did over a replay, from `lookout run` with LOOKOUT_LOG=debug.

    python bench/motion_timeline.py RUN.log EVENTS.jsonl OUT.png

One column per frame: what the cascade did (stopped at the gate, moving regions only, or a whole
frame and why), the share of the frame that moved, light switches, and the decisions.
"""
import json
import re
import sys

import cv2
import numpy as np

LINE = re.compile(r"motion: frame (\S+) at ([\d.]+) s: (\w+)(?: (\w+))? \(([\d.]+)% changed(, light switch)?\)")
# BGR colours of each kind of scan.
KINDS = {
    "skip": ((225, 225, 225), "stopped at the gate"),
    "regions": ((0, 140, 255), "moving regions only"),
    "motion": ((40, 40, 220), "whole frame: motion"),
    "linger": ((180, 120, 240), "whole frame: linger"),
    "tracking": ((200, 120, 30), "whole frame: face tracked"),
    "periodic": ((60, 170, 60), "whole frame: periodic"),
}


def main():
    log, events, out = sys.argv[1:4]
    frames = []
    for line in open(log, encoding="utf-8"):
        m = LINE.search(line)
        if m:
            name, at, scan, why, changed, light = m.groups()
            kind = "skip" if scan == "skip" else "regions" if scan == "regions" else why
            frames.append((name, float(at), kind, float(changed), bool(light)))
    if not frames:
        sys.exit(f"motion_timeline: no 'motion:' debug lines in {log} (run with LOOKOUT_LOG=debug)")
    decided = [json.loads(l) for l in open(events, encoding="utf-8") if l.strip()]
    at_of = {name: at for name, at, *_ in frames}

    end = frames[-1][1]
    width, left, right = 1500, 60, 20
    plot_w = width - left - right
    height = 330
    img = np.full((height, width, 3), 255, np.uint8)
    x_of = lambda t: int(left + plot_w * t / max(end, 1e-9))
    font = cv2.FONT_HERSHEY_SIMPLEX

    # Scans: a strip, one column per frame.
    strip_top, strip_h = 40, 60
    for _, at, kind, _, _ in frames:
        x = x_of(at)
        cv2.line(img, (x, strip_top), (x, strip_top + strip_h), KINDS[kind][0], 1)
    cv2.putText(img, "cascade", (4, strip_top + 35), font, 0.4, (0, 0, 0), 1)

    # Share of the frame that moved, 0-100%.
    top, h = 130, 120
    cv2.rectangle(img, (left, top), (left + plot_w, top + h), (200, 200, 200), 1)
    points = np.array([[x_of(at), int(top + h - h * min(c, 100) / 100)] for _, at, _, c, _ in frames])
    cv2.polylines(img, [points.reshape(-1, 1, 2)], False, (90, 90, 90), 1)
    cv2.putText(img, "moved", (4, top + 65), font, 0.4, (0, 0, 0), 1)
    cv2.putText(img, "100%", (left - 40, top + 10), font, 0.35, (0, 0, 0), 1)
    cv2.putText(img, "0", (left - 15, top + h), font, 0.35, (0, 0, 0), 1)
    for _, at, _, _, light in frames:
        if light:
            x = x_of(at)
            cv2.line(img, (x, top), (x, top + h), (0, 200, 230), 2)
            cv2.putText(img, "light switch", (x + 3, top + h - 5), font, 0.38, (0, 150, 180), 1)

    # Decisions.
    for e in decided:
        if e.get("frame") in at_of:
            x = x_of(at_of[e["frame"]])
            cv2.line(img, (x, strip_top - 5), (x, top + h), (0, 0, 0), 1)
            cv2.putText(img, f'{e["label"]}', (x + 3, strip_top - 8), font, 0.45, (0, 0, 0), 1)

    # Time axis, every 30 s.
    axis = top + h + 18
    for t in range(0, int(end) + 1, 30):
        x = x_of(t)
        cv2.line(img, (x, top + h), (x, top + h + 4), (0, 0, 0), 1)
        cv2.putText(img, f"{t // 60}:{t % 60:02d}", (x - 12, axis), font, 0.38, (0, 0, 0), 1)

    # Legend with counts.
    counts = {k: sum(1 for f in frames if f[2] == k) for k in KINDS}
    x = left
    for kind, (colour, text) in KINDS.items():
        cv2.rectangle(img, (x, height - 28), (x + 12, height - 16), colour, -1)
        label = f"{text} ({counts[kind]})"
        cv2.putText(img, label, (x + 16, height - 17), font, 0.4, (0, 0, 0), 1)
        x += 24 + cv2.getTextSize(label, font, 0.4, 1)[0][0]
    cv2.imwrite(out, img)
    print(f"motion_timeline: {len(frames)} frames, {out}")


if __name__ == "__main__":
    main()
