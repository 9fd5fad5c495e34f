#!/usr/bin/env python3
"""Makes labelled digits written as by a pen from the outlier pool's fonts, for training, deterministically.

    python3 scripts/make_stroke_digits.py DevSets/outliers [--seed 0] [--count 10000]

MNIST's digits come from a few hundred writers of one school; a digit drawn in another hand (a 6 whose
top curls back, a 1 with a foot, a 4 closed at the top) is read less well. These images give the
classifier more hands to learn from: each is a digit of one of the pool's fonts (make_glyph_digits.py's
families) thinned to its centre line and written again with a round pen, as a hand would trace the
design: a random affine, a slow wobble along the strokes, and a pen of random width. It is a TRAINING set
only: never used for calibration, for choosing settings, or for reporting. Its designs are the pool's
fonts, so it is disjoint from the near-OOD dev and report roles (make_near_ood_sets.py): no DejaVu,
FreeFont, Liberation, URW base35 or derivative of them, and no Hershey font (whose skeletons the
mouse-digits sets draw).

OUT_DIR receives:
  stroke-digits-train-images-idx3-ubyte.gz   COUNT images 64×64 (IDX3, uint8): one digit each, white ink
                                             on black, raw (not MNIST-normalised)
  stroke-digits-train-labels-idx1-ubyte.gz   COUNT labels 0–9 (IDX1)
  stroke-digits-train-sources.txt.gz         one line per image: index, font file, digit, family
  preview-stroke-digits-train.png            the first 200 images, 20 to a row, labelled

How an image is drawn (the settings are a pen's, not chosen on any evaluation set):
  - the digit at 96 px, its ink (coverage > 0.5) thinned to a one-pixel centre line (Zhang & Suen 1984);
  - the centre line's points scaled to a longer side of 1, then a rotation of ±12°, a shear of ±0.2 and a
    scale of 0.85–1.15 per axis; then a wobble: per axis, two sinusoids of the position with 0.5–2 cycles
    per digit and amplitudes up to 0.025 of its size (a hand's slow drift, not a tremor);
  - written with a round pen whose width is 6–20% of the digit's longer side (thin ballpoint to thick
    marker), that side 24–56 px with the ink, at a random place of a 64×64 frame (3 px margin, the pen's
    edge included), drawn at 4× and area-averaged; white-ish ink (220–255) on black-ish paper (0–25), as
    the web page's canvas is.
Every digit occurs COUNT/10 times; every family equally often (±10 images), each digit equally often
within it; a file is chosen uniformly within its family (make_glyph_digits.make_digits' plan).

Needs what make_glyph_digits.py needs, and scipy (the pen's distance transform).
"""
import math, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ left in scripts/ by the imports below
import make_glyph_digits as glyphs  # noqa: E402
import make_near_ood_sets as near  # noqa: E402
import numpy as np  # noqa: E402
from PIL import ImageFont  # noqa: E402
from scipy import ndimage  # noqa: E402

SET_NAME = "stroke-digits-train"
FRAME = 64
RENDER_SIZE = 96          # px: the font size the digit is thinned at
SUPERSAMPLE = 4
ROTATION = 12             # degrees either way
SHEAR = 0.2
SCALE = (0.85, 1.15)      # per axis
WOBBLE_CYCLES = (0.5, 2.0)  # per digit size
WOBBLE_AMPLITUDE = 0.025  # of the digit's size, per sinusoid
SIZE_RANGE = (24, 56)     # longer side in the frame
MARGIN = 3
PEN = (0.06, 0.20)        # pen width as a share of the longer side
MAX_PIECES = 2            # connected parts of a digit's centre line (an i-dot-like gap at most)


def thin(ink):
    """Zhang & Suen's (1984) thinning of a boolean picture to one-pixel-wide centre lines."""
    image = np.pad(ink.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = np.pad(image, 1)
            # The 8 neighbours clockwise from north: P2 … P9 in the paper's numbering.
            n = [p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:], p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2]]
            count = sum(x.astype(np.int32) for x in n)
            transitions = sum(((n[i] == 0) & (n[(i + 1) % 8] == 1)).astype(np.int32) for i in range(8))
            p2, p4, p6, p8 = n[0], n[2], n[4], n[6]
            if step == 0:
                side = ((p2 & p4 & p6) == 0) & ((p4 & p6 & p8) == 0)
            else:
                side = ((p2 & p4 & p8) == 0) & ((p2 & p6 & p8) == 0)
            remove = (image == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & side
            if remove.any():
                image[remove] = 0
                changed = True
        if not changed:
            return image[1:-1, 1:-1].astype(bool)


def centre_line(font, digit):
    """The digit's centre-line points (x, y), scaled to a longer side of 1 and centred, or None."""
    ink = near.render_text(font, glyphs.DIGITS[digit])
    if ink is None:
        return None
    line = thin(ink > 0.5)
    _, pieces = ndimage.label(line, structure=np.ones((3, 3)))
    if pieces > MAX_PIECES:  # dotted or outlined school fonts: not a line a pen would trace
        return None
    ys, xs = np.nonzero(line)
    return near.normalise_strokes([np.column_stack([xs, ys]).astype(np.float64)])[0]


def written(points, rng):
    """Ink coverage (FRAME × FRAME) of the centre line written with a round pen after a hand's changes."""
    points = points @ near.random_linear(rng, ROTATION, SHEAR, SCALE).T
    for axis in (0, 1):
        for _ in range(2):
            direction = rng.normal(size=2)
            direction /= np.linalg.norm(direction)
            cycles = rng.uniform(*WOBBLE_CYCLES)
            amplitude = rng.uniform(0, WOBBLE_AMPLITUDE)
            points[:, axis] += amplitude * np.sin(2 * math.pi * cycles * (points @ direction) + rng.uniform(0, 2 * math.pi))
    # The written digit's longer side, ink included, is `size`; its centre line is shorter by the pen's
    # width, and stays half a pen width inside the margin, so no stroke is cut by the frame.
    size = rng.uniform(*SIZE_RANGE)
    pen = rng.uniform(*PEN) * size
    lo, hi = points.min(axis=0), points.max(axis=0)
    scale = (size - pen) / max(max(hi - lo), 1e-6)
    margin = MARGIN + pen / 2
    offset = np.array([rng.uniform(margin, max(margin, FRAME - margin - e)) for e in (hi - lo) * scale])
    placed = (points - lo) * scale + offset
    pen *= SUPERSAMPLE
    big = FRAME * SUPERSAMPLE
    marks = np.ones((big, big), dtype=bool)
    cells = np.clip(np.rint(placed * SUPERSAMPLE).astype(int), 0, big - 1)
    marks[cells[:, 1], cells[:, 0]] = False
    distance = ndimage.distance_transform_edt(marks)
    ink = np.clip(pen / 2 + 0.5 - distance, 0, 1)  # a round pen, its edge one sample soft
    return near.area_average(ink, SUPERSAMPLE)


def traceable(catalogue):
    """The catalogue with, per family and digit, only the files whose centre line a pen can trace
    (`centre_line` is not None); a family left without a file for some digit is dropped."""
    out, lines = [], {}
    for family, by_digit in catalogue:
        kept = {}
        for digit, paths in by_digit.items():
            for path in paths:
                lines[(path, digit)] = centre_line(ImageFont.truetype(path, RENDER_SIZE), digit)
            kept[digit] = [p for p in paths if lines[(p, digit)] is not None]
        if all(kept.values()):
            out.append((family, kept))
        else:
            print(f"{family}: no traceable {[d for d, p in kept.items() if not p]}, left out", file=sys.stderr)
    return out, lines


def make_digits(catalogue, lines, seed, count):
    rng = np.random.default_rng([seed, 0x73746B])  # its own stream: not the pool's, the glyph digits' or the near-OOD sets'
    draw = lambda path, digit: near.compose(written(lines[(path, digit)].copy(), rng), rng, dark_on_light=False)
    return glyphs.make_set(catalogue, rng, count, draw)


def main():
    args = glyphs.arguments(__doc__)
    catalogue, lines = traceable(glyphs.digit_catalogue())
    images, labels, sources = make_digits(catalogue, lines, args.seed, args.count)
    glyphs.write_set(args.out, SET_NAME, images, labels, sources, len(catalogue))


if __name__ == "__main__":
    main()
