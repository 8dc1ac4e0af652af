"""A day in front of the camera, compressed: five minutes at 15 fps (4500 frames, 640x480 JPEG)
made from the demo's frames (examples/demo/frames), mostly the empty doorway with sensor noise.

    python bench/motion_day.py OUT_DIR

What happens when (seconds):
    0-30     empty
    30       "me" walks in (demo frames 7-18, each shown 4 frames), leaves
    90-120   lights brighter (x1.3 and +12: a lamp switched on, then off)
    150      a stranger walks in (demo frames 25-36, each 4 frames), leaves
    200      "me" walks in and stays still for a minute (frame 18 held 60 s)
    270      the house-number plate is put up (frames 43-50, then 50 held to the end)
Writes OUT_DIR/NNNNN.jpg and OUT_DIR/story.txt (the segments). Deterministic (seeded noise).
"""
import sys
from pathlib import Path

import cv2
import numpy as np

FPS = 15
SECONDS = 300
ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo" / "frames"


def demo(n):
    image = cv2.imread(str(DEMO / f"{n:04d}.jpg"), cv2.IMREAD_COLOR)
    if image is None:
        sys.exit(f"motion_day: cannot read demo frame {n}")
    return image.astype(np.float32)


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    empty = demo(1)
    timeline = [empty] * (SECONDS * FPS)
    story = []

    def put(start_s, frames, each, what):
        i = int(start_s * FPS)
        story.append(f"{start_s:6.1f} s  frame {i + 1:5d}  {what}")
        for f in frames:
            for _ in range(each):
                if i < len(timeline):
                    timeline[i] = f
                i += 1
        return i

    put(30, [demo(n) for n in range(7, 19)], 4, "me walks in and out")
    put(150, [demo(n) for n in range(25, 37)], 4, "a stranger walks in and out")
    end = put(200, [demo(n) for n in range(7, 19)], 1, "me walks in")
    put(end / FPS, [demo(18)], 60 * FPS, "me sits still for 60 s")
    end = put(270, [demo(n) for n in range(43, 51)], 1, "the plate is put up")
    put(end / FPS, [demo(50)], len(timeline) - end, "the plate stays")
    story.append(f"{90:6.1f} s  frame {90 * FPS + 1:5d}  lights on")
    story.append(f"{120:6.1f} s  frame {120 * FPS + 1:5d}  lights off")

    rng = np.random.default_rng(17)
    for i, frame in enumerate(timeline):
        if 90 * FPS <= i < 120 * FPS:
            frame = frame * 1.3 + 12
        noisy = frame + rng.normal(0.0, 2.0, frame.shape)
        pixels = np.clip(noisy + 0.5, 0, 255).astype(np.uint8)
        cv2.imwrite(str(out / f"{i + 1:05d}.jpg"), pixels, [cv2.IMWRITE_JPEG_QUALITY, 85])
    (out / "story.txt").write_text("\n".join(sorted(story)) + "\n")


if __name__ == "__main__":
    main()
