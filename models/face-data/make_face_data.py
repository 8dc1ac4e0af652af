"""Builds the demo face dataset the shipped models/face.onnx is trained on.

me/     48 framings of the face in scikit-image's astronaut.png (Eileen Collins, NASA photo,
        public domain): the face box OpenCV's default Haar cascade finds, moved (±8%), scaled
        (0.85-1.2x) and turned (±8°), in gray; half of them shrunk to 22-32 px so that image
        sharpness does not tell "me" from the 25 px LFW faces.
other/  the 100 faces of scikit-image's lfw_subset.npy (25x25 gray crops of Labeled Faces in
        the Wild), as PNG.

Run from the repository root (regenerate.sh provides the pinned Python environment).
The output is deterministic (seeded).
"""
import os
import sys

import cv2
import numpy as np
import skimage.data

HERE = os.path.dirname(os.path.abspath(__file__))
CASCADE = os.path.join(HERE, "..", "haarcascade_frontalface_default.xml")


def main(out):
    rng = np.random.default_rng(2026)
    for sub in ("me", "other"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)

    astronaut = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2GRAY)
    faces = cv2.CascadeClassifier(CASCADE).detectMultiScale(astronaut, 1.1, 5)
    assert len(faces) == 1, faces
    x, y, w, h = (int(v) for v in faces[0])
    cx, cy = x + w / 2, y + h / 2
    for i in range(48):
        angle = rng.uniform(-8, 8)
        side = w * rng.uniform(0.85, 1.2)
        mx, my = cx + rng.uniform(-0.08, 0.08) * w, cy + rng.uniform(-0.08, 0.08) * h
        turn = cv2.getRotationMatrix2D((mx, my), angle, 1.0)
        turned = cv2.warpAffine(astronaut, turn, astronaut.shape[::-1], borderMode=cv2.BORDER_REPLICATE)
        x0, y0 = int(round(mx - side / 2)), int(round(my - side / 2))
        crop = turned[max(y0, 0):y0 + int(side), max(x0, 0):x0 + int(side)]
        target = 64 if i % 2 == 0 else int(rng.integers(22, 33))
        crop = cv2.resize(crop, (target, target), interpolation=cv2.INTER_AREA)
        cv2.imwrite(os.path.join(out, "me", f"astronaut_{i:02d}.png"), crop)

    lfw = skimage.data.lfw_subset()
    for i in range(100):
        face = np.clip(np.round(lfw[i] * 255), 0, 255).astype(np.uint8)
        cv2.imwrite(os.path.join(out, "other", f"lfw_{i:03d}.png"), face)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else HERE)
