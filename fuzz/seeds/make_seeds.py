"""Writes the generated seeds: .gnt streams and small frame images (run with any Python that
has Pillow, from this folder). The others are copies: cascade_xml/*_tiny.xml and lbp_tiny.xml
from tests (haar_cut.xml is haar_tiny.xml cut at 500 bytes), config_toml/full.toml from
systemd/lookout.toml, onnx_model/*.onnx from tests/fixtures/model (truncated.onnx is
tiny_classify.onnx cut at 200 bytes).
"""
import io
import struct
import zlib

from PIL import Image


def gnt_sample(code, w, h, seed):
    pixels = bytes((i * seed) & 0xFF for i in range(w * h))
    return struct.pack("<I", 10 + w * h) + bytes(code) + struct.pack("<HH", w, h) + pixels


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


two = gnt_sample([0xB0, 0xA1], 4, 3, 7) + gnt_sample([0xA3, 0xB0], 2, 2, 3)
write("gnt_reader/two_samples.gnt", two)
write("gnt_reader/truncated.gnt", two[:-3])
bad = bytearray(gnt_sample([0xD7, 0xFA], 3, 3, 5))
bad[0] = 99
write("gnt_reader/bad_size.gnt", bytes(bad))
# A header claiming 65535x65535 pixels (4 GiB) in a 13-byte file: once a crash, now truncation.
huge = struct.pack("<I", 10 + 65535 * 65535) + bytes([0xB0, 0xA1]) + struct.pack("<HH", 65535, 65535)
write("gnt_reader/huge_header.gnt", huge + b"\x01\x02\x03")

rgb = Image.new("RGB", (6, 5))
for x in range(6):
    for y in range(5):
        rgb.putpixel((x, y), (x * 40, y * 50, 128))
for fmt, name in [("PNG", "rgb.png"), ("JPEG", "rgb.jpg"), ("BMP", "rgb.bmp"), ("PPM", "rgb.ppm")]:
    rgb.save("replay_image/" + name, fmt)
gray = rgb.convert("L")
gray.save("replay_image/gray.png")
gray.save("replay_image/gray.pgm")
rgb.convert("RGBA").save("replay_image/rgba.png")
png = io.BytesIO()
rgb.save(png, "PNG")
write("replay_image/cut.png", png.getvalue()[:-20])
jpeg = io.BytesIO()
rgb.save(jpeg, "JPEG", progressive=True)
write("replay_image/progressive.jpg", jpeg.getvalue())


# face_files: the first byte picks the reader (even: dlib's shape predictor, odd: a gallery).
# A tiny but complete shape predictor in dlib's format (docs/dlib-formats.md §1, §3.1): 5 parts,
# one cascade of one depth-1 tree over two feature pixels. predictor_head.bin is the first 3000
# bytes of models/shape_predictor_5_face_landmarks.dat; gallery.bin a one-person gallery.
import math


def dlib_int(v):
    mag = abs(v)
    body = bytearray()
    while True:
        body.append(mag & 0xFF)
        mag >>= 8
        if mag == 0:
            break
    return bytes([len(body) | (0x80 if v < 0 else 0)]) + bytes(body)


def dlib_float(x):
    if x == 0:
        return dlib_int(0) + dlib_int(0)
    f, e = math.frexp(x)
    mantissa, exponent = int(f * (1 << 24)), e - 24
    while mantissa & 0xFF == 0:
        mantissa >>= 8
        exponent += 8
    return dlib_int(mantissa) + dlib_int(exponent)


def dlib_vector(items):
    return dlib_int(len(items)) + b"".join(items)


def dlib_column(values):
    return dlib_int(-len(values)) + dlib_int(-1) + b"".join(dlib_float(v) for v in values)


initial = [0.75, 0.35, 0.6, 0.35, 0.25, 0.35, 0.4, 0.35, 0.5, 0.65]
split = dlib_int(0) + dlib_int(1) + dlib_float(0.5)
leaves = [dlib_column([0.01] * 10), dlib_column([-0.01] * 10)]
tree = dlib_vector([split]) + dlib_vector(leaves)
predictor = (dlib_int(1) + dlib_column(initial) + dlib_vector([dlib_vector([tree])])
             + dlib_vector([dlib_vector([dlib_int(0), dlib_int(4)])])
             + dlib_vector([dlib_vector([dlib_float(0.1) + dlib_float(-0.05), dlib_float(0) + dlib_float(0.2)])]))
write("face_files/tiny_predictor.bin", b"\x00" + predictor)


# idx_reader: the first byte is the length of the images file; the labels file follows it.
def idx(dims, data):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)


idx_images = idx([2, 3, 3], range(18))
idx_labels = idx([2], [7, 1])
write("idx_reader/pair.bin", bytes([len(idx_images)]) + idx_images + idx_labels)
write("idx_reader/truncated.bin", bytes([len(idx_images)]) + idx_images[:-4] + idx_labels)


# woff_font: a WOFF 1.0 file with one table stored as it is and one zlib-compressed.
def woff(tables):
    header_size, entry_size = 44, 20
    offset = header_size + entry_size * len(tables)
    directory, data = b"", b""
    for tag, raw, compress in tables:
        packed = zlib.compress(raw) if compress else raw
        directory += tag + struct.pack(">IIII", offset + len(data), len(packed), len(raw), 0)
        data += packed + b"\0" * (-len(packed) % 4)
    header = b"wOFF" + struct.pack(">IIHHIHHIIIII", 0x00010000, header_size + len(directory) + len(data),
                                   len(tables), 0, 0, 1, 0, 0, 0, 0, 0, 0)
    return header + directory + data


font = woff([(b"head", bytes(range(54)), False), (b"glyf", b"\x07" * 300, True)])
write("woff_font/two_tables.woff", font)
write("woff_font/truncated.woff", font[:70])
