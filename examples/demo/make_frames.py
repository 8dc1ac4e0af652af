"""Renders the replay frames of the lookout daemon demo from scikit-image's public-domain images.

Usage:  $LOOKOUT_PY examples/demo/make_frames.py OUT_DIR [--visits N] [--manifest FILE]

Writes OUT_DIR/NNNN.jpg (640x480 RGB JPEG, quality 85, numbered from 0001 in time order). The
camera looks at a doorway in a plastered wall (built from skimage's gravel, brick and rocket
images; no faces). The story:

    empty room (6)
    N times:  "me" (12) . empty (6) . stranger (12) . empty (6)
    house number plate "41726" on the wall, nobody there (8)

"me" is the astronaut of skimage's astronaut.png (Eileen Collins, NASA photo, public domain):
her head and upper body, cut out with a soft mask, scaled so that her face is ~120-140 px
wide, drifting a few px per frame and slowly coming closer. A stranger is one of the first 100
entries of skimage's lfw_subset.npy (25x25 gray faces from Labeled Faces in the Wild; entries
100-199 are non-faces), upscaled about 5x with cubic interpolation, tinted, with hair, neck and
shoulders drawn around it. Each visit uses the next face of STRANGERS and a new position.
The plate is tests/fixtures/recognize/digits_41726.png pasted unscaled at PLATE_ROI.

Everything is seeded (numpy's default_rng) and JPEG encoding is OpenCV's, so the same pinned
environment (scripts/py-env.sh) gives byte-identical files. --manifest writes the segment list
(frame numbers, kinds, LFW index, plate ROI) as JSON.
"""
import argparse
import json
import os
import sys

import cv2
import numpy as np
import skimage
from skimage import data

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
PLATE = os.path.join(ROOT, "tests", "fixtures", "recognize", "digits_41726.png")

W, H = 640, 480
JPEG_QUALITY = 85
PLATE_ROI = (16, 16, 128, 32)  # x, y, width, height: the plate image, unscaled
LEAD_EMPTY, ME, GAP, STRANGER, TAIL_EMPTY, PLATE_FRAMES = 6, 12, 6, 12, 6, 8
# The lfw_subset faces (indices 0-99) that passed a vetting run (--visits 100 --strangers
# 0,...,99 through check_frames.py): one face found by `lookout detect` in all 12 frames and
# "other" from models/face.onnx in all 12 with p(me) < 0.3. Left out: 4, 17, 30, 46, 52, 62, 65,
# 96 (face missed in some frames), 2, 18, 37, 38, 41, 44, 47, 50, 53, 56, 63, 66, 69, 73, 77,
# 95 (taken for "me", or p(me) >= 0.3, once upscaled and tinted), and 1 (passed, but found twice
# in 2 frames of a later run). 75 faces; five clear ones first, then a seeded shuffle; cycled.
STRANGERS = [6, 74, 3, 0, 31, 28, 33, 97, 64, 14, 90, 20, 57, 12, 8, 75, 27, 76, 93, 39, 89, 54,
             34, 83, 24, 85, 45, 60, 51, 81, 23, 59, 16, 68, 26, 70, 94, 99, 87, 32, 48, 71, 11, 98,
             5, 61, 78, 43, 84, 92, 86, 15, 79, 35, 21, 22, 36, 67, 42, 7, 80, 10, 9, 40, 19, 49,
             72, 29, 91, 58, 88, 82, 25, 55, 13]

DOOR = (180, 60, 460, 440)  # x0, y0, x1, y1 of the door opening
FLOOR_Y = 440


def smooth_texture(img, size, sigma, rng_shift):
    """A gray texture in [-1, 1], cut from `img` at a seeded offset and blurred."""
    img = img.astype(np.float32)
    tile = np.tile(img, (2, 2))
    dy, dx = rng_shift
    tile = tile[dy:dy + size[1], dx:dx + size[0]]
    if tile.shape[0] < size[1] or tile.shape[1] < size[0]:
        tile = cv2.resize(tile, size, interpolation=cv2.INTER_LINEAR)
    tile = cv2.GaussianBlur(tile, (0, 0), sigma)
    tile -= tile.mean()
    return tile / (np.abs(tile).max() + 1e-6)


def background(rng):
    """The empty scene: wall, door frame, dark corridor, floor, a framed picture."""
    y = np.linspace(0.0, 1.0, H, dtype=np.float32)[:, None, None]
    x = np.linspace(0.0, 1.0, W, dtype=np.float32)[None, :, None]
    wall = np.array([214, 204, 184], np.float32) * (1.04 - 0.10 * y) * (1.0 - 0.05 * np.abs(x - 0.4))
    plaster = smooth_texture(data.gravel(), (W, H), 2.0, tuple(int(v) for v in rng.integers(0, 400, 2)))
    img = wall + 5.0 * plaster[..., None]

    x0, y0, x1, y1 = DOOR
    # corridor behind the door: dark, lit from the far end
    cy = np.linspace(0.0, 1.0, y1 - y0, dtype=np.float32)[:, None, None]
    cx = np.linspace(-1.0, 1.0, x1 - x0, dtype=np.float32)[None, :, None]
    corridor = np.array([92, 86, 80], np.float32) * (0.75 + 0.35 * np.exp(-(cx * 1.6) ** 2)) * (0.9 + 0.1 * cy)
    bricks = smooth_texture(data.brick(), (x1 - x0, y1 - y0), 1.5, (40, 60))
    img[y0:y1, x0:x1] = corridor + 6.0 * bricks[..., None]
    # wooden frame around the opening
    wood = np.array([150, 108, 66], np.float32)
    grain = smooth_texture(data.gravel(), (W, H), 1.0, (100, 7))[..., None]
    t = 14
    for (a, b, c, d) in [(x0 - t, y0 - t, x1 + t, y0), (x0 - t, y0, x0, y1), (x1, y0, x1 + t, y1)]:
        img[b:d, a:c] = wood * (1.0 + 0.06 * grain[b:d, a:c])
    # floor
    fl = np.array([122, 104, 86], np.float32)
    floor_tex = smooth_texture(data.gravel(), (W, H - FLOOR_Y), 1.2, (200, 300))
    img[FLOOR_Y:, :] = fl * (0.95 + 0.05 * np.linspace(0, 1, H - FLOOR_Y, dtype=np.float32)[:, None, None])
    img[FLOOR_Y:, :] += 8.0 * floor_tex[..., None]
    img[FLOOR_Y:FLOOR_Y + 3, :] *= 0.7  # skirting shadow
    # framed picture (skimage's rocket) on the right-hand wall
    pic = cv2.resize(data.rocket(), (96, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
    px, py = 510, 150
    img[py - 6:py + 70, px - 6:px + 102] = (58, 44, 34)
    img[py:py + 64, px:px + 96] = pic
    return np.clip(img, 0, 255)


def soft_mask(shape, draw, blur):
    m = np.zeros(shape, np.uint8)
    draw(m)
    return cv2.GaussianBlur(m.astype(np.float32) / 255.0, (0, 0), blur)


def astronaut_sprite():
    """RGB + alpha of the astronaut's head and upper body; the face centre, face width."""
    img = data.astronaut().astype(np.float32)
    # Outline of hair, face, helmet ring and suit, traced by hand on the 512x512 photo.
    outline = np.array([
        (230, 17), (262, 21), (284, 34), (296, 52), (299, 76), (297, 97), (290, 110), (279, 118),
        (266, 130), (258, 150), (258, 163), (280, 173), (298, 192), (308, 215), (330, 250), (362, 300),
        (372, 512), (12, 512), (12, 380), (25, 320), (42, 280), (57, 260), (77, 240), (102, 220),
        (117, 188), (135, 165), (170, 150), (186, 140), (182, 120), (170, 108), (160, 100),
        (155, 85), (154, 62), (162, 44), (177, 29), (200, 20)], np.int32)
    alpha = soft_mask(img.shape[:2], lambda m: cv2.fillPoly(m, [outline], 255), 1.5)
    # A fold of the suit below the left of the helmet ring looks like a 20 px face to the cascade
    # at these scales: smooth it out.
    fold = soft_mask(img.shape[:2], lambda m: cv2.ellipse(m, (132, 272), (30, 28), 0, 0, 360, 255, -1), 6.0)
    img = img * (1 - fold[..., None]) + cv2.GaussianBlur(img, (0, 0), 4.0) * fold[..., None]
    # Face box that OpenCV's default cascade finds: (177, 66, 95, 95).
    return img, alpha, (224.5, 113.5), 95.0


def stranger_sprite(face25, rng):
    """A person built around a 25x25 LFW face: the face upscaled 4x (cubic), skin-tinted, blended
    into a head with hair, on a neck and shoulders. Returns RGB, alpha, face centre, face width."""
    S = 4  # sprite pixels per LFW pixel
    face = cv2.resize(face25.astype(np.float32), (25 * S, 25 * S), interpolation=cv2.INTER_CUBIC)
    face = np.clip(face, 0.0, 1.0) * 255.0
    tint = np.array([1.08, 0.96, 0.84], np.float32) * rng.uniform(0.95, 1.05)
    face = face[..., None] * tint
    sw, sh = 300, 480
    ox, oy = 100, 70  # face position in the sprite
    fcx, fcy = ox + 50, oy + 50
    img = np.zeros((sh, sw, 3), np.float32)
    alpha = np.zeros((sh, sw), np.float32)
    hair = np.array(rng.choice([[40, 32, 26], [70, 50, 34], [28, 26, 26], [96, 78, 60]]), np.float32)
    jacket = np.array(rng.choice([[40, 58, 92], [70, 70, 74], [104, 40, 36], [46, 80, 56]]), np.float32)
    shirt = np.array(rng.choice([[225, 225, 220], [170, 190, 215], [200, 200, 190]]), np.float32)
    skin = face[60:90, 30:70].reshape(-1, 3).mean(axis=0)

    def layer(colour, draw, blur=1.2):
        nonlocal img, alpha
        m = soft_mask((sh, sw), draw, blur)[..., None]
        img = img * (1 - m) + colour * m
        alpha = np.maximum(alpha, m[..., 0])

    def shoulders(m):
        cv2.ellipse(m, (fcx, fcy + 210), (135, 110), 0, 180, 360, 255, -1)
        cv2.rectangle(m, (fcx - 135, fcy + 210), (fcx + 135, sh), 255, -1)

    def collar(m):
        cv2.fillPoly(m, [np.array([(fcx - 36, fcy + 98), (fcx + 36, fcy + 98), (fcx, fcy + 175)], np.int32)], 255)

    def throat(m):
        cv2.rectangle(m, (fcx - 22, fcy + 30), (fcx + 22, fcy + 104), 255, -1)
        cv2.fillPoly(m, [np.array([(fcx - 22, fcy + 104), (fcx + 22, fcy + 104), (fcx, fcy + 140)], np.int32)], 255)

    layer(jacket, shoulders)
    layer(shirt, collar)
    layer(skin * 0.85, throat)
    layer(hair, lambda m: cv2.ellipse(m, (fcx, fcy - 14), (58, 70), 0, 0, 360, 255, -1))
    layer(skin, lambda m: cv2.ellipse(m, (fcx, fcy + 4), (50, 58), 0, 0, 360, 255, -1), 3.0)
    # the face itself: the whole 100x100 upscaled crop, its edges faded into the head
    m = np.zeros((sh, sw), np.uint8)
    cv2.ellipse(m, (fcx, fcy), (54, 60), 0, 0, 360, 255, -1)
    m = cv2.GaussianBlur(m.astype(np.float32) / 255.0, (0, 0), 4.0)[oy:oy + 100, ox:ox + 100, None]
    ramp = np.minimum(np.arange(100, dtype=np.float32), np.arange(99, -1, -1, dtype=np.float32))
    ramp = np.clip((ramp + 1) / 8.0, 0.0, 1.0)
    m = m * np.minimum(ramp[:, None], ramp[None, :])[..., None]
    img[oy:oy + 100, ox:ox + 100] = img[oy:oy + 100, ox:ox + 100] * (1 - m) + face * m
    alpha[oy:oy + 100, ox:ox + 100] = np.maximum(alpha[oy:oy + 100, ox:ox + 100], m[..., 0])
    return img, alpha, (float(fcx), float(fcy)), 100.0


def place(canvas, sprite, alpha, centre, face_px, target_face, at, angle, interp):
    """Draws the sprite so that its face is `target_face` px wide, centred at `at`."""
    s = target_face / face_px
    m = cv2.getRotationMatrix2D(centre, angle, s)
    m[0, 2] += at[0] - centre[0]
    m[1, 2] += at[1] - centre[1]
    rgb = cv2.warpAffine(sprite, m, (W, H), flags=interp, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    a = cv2.warpAffine(alpha, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    a = np.clip(a, 0.0, 1.0)[..., None]
    px, py, pw, ph = PLATE_ROI
    assert a[max(py - 4, 0):py + ph + 4, max(px - 4, 0):px + pw + 4].max() < 1e-3, "person over the plate"
    return canvas * (1.0 - a) + np.clip(rgb, 0, 255) * a


def visit_path(rng, n, face0, face1, x_range, y_range):
    """Per-frame (centre, face width, angle): a slow drift with a little sway, coming closer."""
    x = rng.uniform(*x_range)
    y = rng.uniform(*y_range)
    vx = rng.choice([-1, 1]) * rng.uniform(1.5, 3.5)
    vy = rng.uniform(-0.8, 0.8)
    phase = rng.uniform(0, 2 * np.pi)
    out = []
    for t in range(n):
        f = face0 + (face1 - face0) * t / max(n - 1, 1)
        cx = x + vx * t + 1.5 * np.sin(0.9 * t + phase)
        cy = y + vy * t + 1.2 * np.sin(0.7 * t + 2 * phase)
        ang = 1.5 * np.sin(0.5 * t + phase)
        out.append(((cx, cy), f, ang))
    return out


def finish(img, rng):
    """Camera: a little exposure flicker and sensor noise, 8-bit RGB."""
    gain = 1.0 + rng.normal(0.0, 0.006)
    noise = rng.normal(0.0, 1.6, img.shape).astype(np.float32)
    return np.clip(np.round(img * gain + noise), 0, 255).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--visits", type=int, default=1, help="me/empty/stranger/empty cycles (default 1)")
    ap.add_argument("--manifest", help="also write the segment list to this JSON file")
    ap.add_argument("--strangers", metavar="I,J,...", help="lfw_subset indices (0-99) to cycle through "
                    "instead of the vetted STRANGERS list")
    args = ap.parse_args()
    if args.visits < 1:
        ap.error("--visits must be at least 1")
    total = LEAD_EMPTY + args.visits * (ME + GAP + STRANGER + TAIL_EMPTY) + PLATE_FRAMES
    if total > 9999:
        ap.error(f"{total} frames do not fit 4-digit names")
    strangers = [int(v) for v in args.strangers.split(",")] if args.strangers else STRANGERS
    if not all(0 <= v < 100 for v in strangers):
        ap.error("--strangers: lfw_subset faces are indices 0-99")
    os.makedirs(args.out_dir, exist_ok=True)

    rng = np.random.default_rng(20261122)  # the scene: room, people, paths
    camera = np.random.default_rng(20261123)  # per-frame flicker and noise
    room = background(rng)
    astro, astro_a, astro_c, astro_f = astronaut_sprite()
    lfw = data.lfw_subset()
    plate = cv2.imread(PLATE, cv2.IMREAD_GRAYSCALE)
    assert plate is not None and plate.shape == (PLATE_ROI[3], PLATE_ROI[2]), PLATE

    segments = []
    count = 0

    def segment(kind, images, **extra):
        """Writes the frames of one segment as they are rendered (a long replay does not fit in memory)."""
        nonlocal count
        first = count + 1
        for img in images:
            count += 1
            rgb = finish(img, camera)
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            assert ok
            with open(os.path.join(args.out_dir, f"{count:04d}.jpg"), "wb") as f:
                f.write(buf.tobytes())
        segments.append({"kind": kind, "first": first, "last": count, **extra})

    segment("empty", [room] * LEAD_EMPTY)
    for v in range(args.visits):
        path = visit_path(rng, ME, rng.uniform(118, 126), rng.uniform(132, 142), (280, 360), (175, 205))
        segment("me", (place(room, astro, astro_a, astro_c, astro_f, f, c, a, cv2.INTER_CUBIC) for c, f, a in path))
        segment("empty", [room] * GAP)
        idx = strangers[v % len(strangers)]
        person = stranger_sprite(lfw[idx], rng)
        path = visit_path(rng, STRANGER, rng.uniform(108, 116), rng.uniform(120, 130), (270, 370), (170, 200))
        segment("stranger", (place(room, *person, f, c, a, cv2.INTER_CUBIC) for c, f, a in path), lfw_index=int(idx))
        segment("empty", [room] * TAIL_EMPTY)
    with_plate = room.copy()
    px, py, pw, ph = PLATE_ROI
    with_plate[py - 3:py + ph + 3, px - 3:px + pw + 3] = (70, 64, 58)  # mounting edge, outside the ROI
    with_plate[py:py + ph, px:px + pw] = plate[..., None].astype(np.float32)
    segment("plate", [with_plate] * PLATE_FRAMES, text="41726")

    if args.manifest:
        with open(args.manifest, "w") as f:
            f.write(f'{{"frames": {count}, "size": [{W}, {H}], "plate_roi": {json.dumps(list(PLATE_ROI))},\n')
            f.write(' "segments": [\n  ' + ",\n  ".join(json.dumps(seg) for seg in segments) + "\n ]}\n")
    print(f"{count} frames in {args.out_dir} (scikit-image {skimage.__version__}, "
          f"opencv {cv2.__version__}, numpy {np.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
