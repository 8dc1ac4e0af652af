"""Helpers for bench/identity.sh (python3 standard library only).

  identity.py dlib-images GOLDEN NAME=IMAGE...  NAME=FILE per person: the image GOLDEN's "hog"
                                               descriptor is of (IMAGE itself, or its face crop
                                               <stem>_face.png beside it)
  identity.py matrix GOLDEN TMP NAME=IMAGE...   part 1: our distance matrix (TMP/photo-NAME.jsonl:
                                               `lookout identify --json` of every IMAGE against a
                                               gallery holding only NAME) beside dlib's (GOLDEN's
                                               "hog" descriptors); when dlib's images are other
                                               files, ours on those too (TMP/dlib-NAME.jsonl);
                                               prints the tables, then the part's figures as JSON
  identity.py summary LOG                      the daemon's summary line as JSON
  identity.py decisions EVENTS                 the face decisions of an events file, one a line
"""

import json
import math
import re
import sys
from pathlib import Path

THRESHOLD = 0.6  # dlib's (face_recognition's tolerance)


def person(name):
    """obama, obama2, obama3 are one person."""
    return re.sub(r"\d+$", "", name)


def largest(faces):
    return max(faces, key=lambda f: f["box"][2] * f["box"][3]) if faces else None


def ours(tmp, prefix, names, images):
    """ours[a][b]: distance of image b's largest face to the gallery of a (None: no face)."""
    table = {}
    for a in names:
        path = Path(tmp, f"{prefix}-{a}.jsonl")
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        by_image = {r["image"]: largest(r["faces"]) for r in rows}
        table[a] = {}
        for b in names:
            face = by_image.get(images[b])
            table[a][b] = None if face is None else face.get("distance")
    return table


def dlib(golden_path, names, images):
    """dlib's matrix from GOLDEN's first "hog" entry per image. An image missing from GOLDEN
    is looked for as its face crop (<stem>_face.png); `used` says which file dlib saw."""
    golden = json.loads(Path(golden_path).read_text())
    hog = {}
    for e in golden:
        if e["source"] == "hog":
            hog.setdefault(e["image"], e)  # the first: astronaut's second HOG box is the patch
    desc, used = {}, {}
    for n in names:
        file = Path(images[n]).name
        for candidate in (file, Path(file).stem + "_face.png"):
            if candidate in hog:
                desc[n], used[n] = hog[candidate]["descriptor"], candidate
                break
    table = {
        a: {b: (math.dist(desc[a], desc[b]) if a in desc and b in desc else None) for b in names}
        for a in names
    }
    return table, used


def fmt(d, width=7):
    return f"{d:{width}.4f}" if d is not None else f"{'-':>{width}}"


def verdict(d):
    return "?" if d is None else ("same" if d <= THRESHOLD else "diff")


def print_matrix(title, names, m):
    print(title)
    print(f"  {'':>10}" + "".join(f"{n:>11}" for n in names))
    for a in names:
        print(f"  {a:>10}" + "".join(f"{fmt(m[a][b], 11)}" for b in names))


def dlib_images(golden_path, specs):
    names = [s.split("=", 1)[0] for s in specs]
    images = dict(s.split("=", 1) for s in specs)
    _, used = dlib(golden_path, names, images)
    for n in names:
        print(f"{n}={Path(images[n]).parent / used.get(n, Path(images[n]).name)}")


def matrix(golden_path, tmp, specs):
    names = [s.split("=", 1)[0] for s in specs]
    images = dict(s.split("=", 1) for s in specs)
    mine = ours(tmp, "photo", names, images)
    theirs, used = dlib(golden_path, names, images)
    crops = {n: f for n, f in used.items() if f != Path(images[n]).name}
    # Ours on the very images dlib saw, when those are not the photos.
    same_input = None
    if crops:
        seen = {n: str(Path(images[n]).parent / used.get(n, Path(images[n]).name)) for n in names}
        same_input = ours(tmp, "dlib", names, seen)
    print_matrix("our pipeline (row: the gallery's one person; column: the photo identified)",
                 names, mine)
    asym = [abs(mine[a][b] - mine[b][a]) for a in names for b in names
            if mine[a][b] is not None and mine[b][a] is not None]
    print(f"  largest |ours[a][b] - ours[b][a]|: {max(asym):.2g}" if asym else "")
    print_matrix(f"dlib ({golden_path}, 'hog' descriptors, Euclidean)", names, theirs)
    if crops:
        print("  note: these dlib descriptors are of face crops, not of the photos: "
              + ", ".join(f"{n} = {f}" for n, f in crops.items()))
        print_matrix("our pipeline on the same images as dlib", names, same_input)
    missing = [n for n in names if n not in used]
    if missing:
        print(f"  note: not in {golden_path}: {', '.join(missing)}")

    print(f"pairs (threshold {THRESHOLD}: same person when distance <= {THRESHOLD}):")
    # ours-dlib compares like with like: ours on dlib's images when those are crops.
    crop_col = f" {'ours*':>7}" if crops else ""
    print(f"  {'pair':<22} {'truth':<6} {'ours':>7}{crop_col} {'dlib':>7} {'diff':>9}  ours  dlib"
          f"  ok")
    pairs, agree, right, diffs = [], 0, 0, []

    def sym(m, a, b):
        # The mean of both directions (the same two descriptors; see the asymmetry line).
        both = [d for d in (m[a][b], m[b][a]) if d is not None]
        return sum(both) / len(both) if both else None

    for i, a in enumerate(names):
        for b in names[i + 1:]:
            o = sym(mine, a, b)
            t = theirs[a][b]
            o_same = sym(same_input, a, b) if same_input else o
            truth = "same" if person(a) == person(b) else "diff"
            vo, vt = verdict(o), verdict(t)
            ok = vo == truth
            right += ok
            agree += vo == vt
            diff = o_same - t if o_same is not None and t is not None else None
            if diff is not None:
                diffs.append(abs(diff))
            extra = f" {fmt(o_same)}" if crops else ""
            print(f"  {a + ' / ' + b:<22} {truth:<6} {fmt(o)}{extra} {fmt(t)} "
                  f"{(f'{diff:+9.4f}' if diff is not None else f'{chr(45):>9}')}  "
                  f"{vo:<5} {vt:<5} {'yes' if ok else 'NO'}")
            pairs.append({"a": a, "b": b, "truth": truth, "ours": o, "dlib": t})
    if crops:
        print("  ours: on the photos (its verdict too); ours*: on dlib's images (the crops); "
              "diff: ours* - dlib")
    else:
        print("  diff: ours - dlib")
    same = [p["ours"] for p in pairs if p["truth"] == "same" and p["ours"] is not None]
    diff = [p["ours"] for p in pairs if p["truth"] == "diff" and p["ours"] is not None]
    print(f"  ours: same person {min(same):.4f}-{max(same):.4f}, different {min(diff):.4f}-"
          f"{max(diff):.4f}; {right}/{len(pairs)} pairs right, {agree}/{len(pairs)} as dlib; "
          f"largest |{'ours*' if crops else 'ours'} - dlib| {max(diffs):.4f}"
          if same and diff and diffs else "")
    print(json.dumps({
        "pairs": len(pairs), "pairs_right": right, "pairs_as_dlib": agree,
        "max_abs_diff_vs_dlib": round(max(diffs), 4) if diffs else None,
        "same_max": round(max(same), 4) if same else None,
        "diff_min": round(min(diff), 4) if diff else None,
        "dlib_images": used,
    }))


def summary(log):
    text = Path(log).read_text()
    found = re.findall(
        r"(\d+) frames in ([\d.]+) s \(([\d.]+) fps\), (\d+) decisions, (\d+) frames dropped; "
        r"[^;]*; per frame ([\d.]+) ms, per face model run ([\d.]+) ms \((\d+) runs, (\d+) faces seen\)",
        text)
    if not found:
        sys.exit(f"identity.py: no summary line in {log}:\n{text[-2000:]}")
    f = found[-1]
    print(json.dumps({"frames": int(f[0]), "seconds": float(f[1]), "fps": float(f[2]),
                      "decisions": int(f[3]), "dropped": int(f[4]), "frame_ms": float(f[5]),
                      "face_ms": float(f[6]), "runs": int(f[7]), "faces": int(f[8])}))


def decisions(events):
    for line in Path(events).read_text().splitlines():
        e = json.loads(line)
        if e.get("kind") != "face":
            continue
        how = (f"distance {e['distance']:.4f}" if e.get("distance") is not None
               else f"confidence {e['confidence']:.4f}")
        extra = f", unknown id {e['unknown_id']}" if e.get("unknown_id") else ""
        print(f"  frame {e['frame']}: {e['label']} ({how}), track {e.get('track')}, "
              f"box {e['box']}{extra}")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "dlib-images":
        dlib_images(args[0], args[1:])
    elif command == "matrix":
        matrix(args[0], args[1], args[2:])
    elif command == "summary":
        summary(args[0])
    elif command == "decisions":
        decisions(args[0])
    else:
        sys.exit(__doc__)
