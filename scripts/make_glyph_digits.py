#!/usr/bin/env python3
"""Makes labelled printed digits 0–9 in the outlier pool's fonts, for training, deterministically.

    python3 scripts/make_glyph_digits.py DevSets/outliers [--seed 0] [--count 10000]

A classifier trained on MNIST's handwriting plus the outlier pool (make_outlier_pool.py) learns to refuse
printed letters, and with them printed digits. These images are the counterweight: digits printed in the
SAME fonts as the pool, labelled, to be trained on beside MNIST. It is a TRAINING set only: never used for
calibration, for choosing settings, or for reporting. Its fonts are the pool's, so it is disjoint from
the near-OOD dev and report roles (make_near_ood_sets.py) as the pool is: no DejaVu, FreeFont, Liberation,
URW base35 or derivative of them, no Hershey font.

OUT_DIR receives:
  glyph-digits-train-images-idx3-ubyte.gz   COUNT images 64×64 (IDX3, uint8): one digit each, white ink on
                                            black, raw (not MNIST-normalised)
  glyph-digits-train-labels-idx1-ubyte.gz   COUNT labels 0–9 (IDX1)
  glyph-digits-train-sources.txt.gz         one line per image: index, font file, digit, family
  preview-glyph-digits-train.png            the first 200 images, 20 to a row, labelled

Fonts: the pool's families that have their own digits: those it draws Latin letters from (handwriting-like
ones included) and the Nanum families (Hangul fonts with their own Latin). Left out: the Noto script
families and Noto Sans Math and Symbols, whose ASCII digits are Noto Sans's or Noto Serif's (they would
only weigh Noto more), and GFS Didot, whose Latin is URW Palladio's design (P052 of the report role), as
the pool uses it for Greek only. A file whose digit is missing (nothing drawn, or .notdef) is skipped for
that digit. Every digit occurs COUNT/10 times; every family equally often (±10 images), with each of the
ten digits equally often within it; a file is chosen uniformly within its family.

Each image is drawn as make_near_ood_sets.py draws its font-digits sets (its functions, imported): at
160 px, strokes thickened or thinned by a max/min filter of −2…+4 px, rotated uniformly ±12°, width
stretched 0.85–1.15, longer side 24–56 px at a random place with a 3 px margin; with the pool's guards on
the strokes (make_outlier_pool.change_strokes: no thinning that breaks a hairline, and strokes thinner
than 5 px thickened, so light, outline and school-cursive fonts do not end grey or broken); and in the
pool's ink, white-ish (220–255) on black-ish paper (0–25), as the web page's canvas is.

Needs what make_outlier_pool.py needs (numpy, Pillow, Hershey-Fonts and its Debian font packages).
"""
import argparse, collections, math, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ left in scripts/ by the imports below
import make_outlier_pool as pool  # noqa: E402
import make_near_ood_sets as near  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageFont  # noqa: E402

SET_NAME = "glyph-digits-train"
FRAME = 64
RENDER_SIZE = 160  # px, as make_near_ood_sets.font_digit draws
ROTATION = 12      # degrees either way, as make_near_ood_sets.font_digit
STROKE_CHANGE = (-2, 4)  # px per side at RENDER_SIZE, as make_near_ood_sets.font_digit
ASPECT = (0.85, 1.15)    # width stretch, as make_near_ood_sets.font_digit
SIZE_RANGE = (24, 56)    # longer side in the frame, as make_near_ood_sets.font_digit
DIGITS = "0123456789"
# The pool's families whose digits are their own design. The Noto script families, Noto Sans Math and
# Noto Sans Symbols draw Noto Sans's or Noto Serif's digits; GFS Didot's Latin is URW Palladio's.
DIGIT_FAMILIES = [entry for entry in pool.FAMILIES if "latin" in entry[3] or "hangul" in entry[3]]


def draws(font, notdef, ch):
    """True when `font` draws `ch`: some ink, and not its .notdef box (make_near_ood_sets' test)."""
    ink = near.render_text(font, ch)
    return ink is not None and not (notdef is not None and ink.shape == notdef.shape and np.array_equal(ink, notdef))


def digit_catalogue():
    """[(family, {digit: [font paths that draw it]})] of the families that draw all ten digits, in order."""
    out = []
    for family, package, files, _ in DIGIT_FAMILIES:
        by_digit = {d: [] for d in range(10)}
        for path in (pool.font_file(package, f) for f in files):
            font = ImageFont.truetype(path, 48)
            notdef = near.render_text(font, "\U000F0000")
            for d in range(10):
                if draws(font, notdef, DIGITS[d]):
                    by_digit[d].append(path)
        if all(by_digit.values()):
            out.append((family, by_digit))
        else:
            print(f"{family}: lacks digits {[d for d, p in by_digit.items() if not p]}, left out", file=sys.stderr)
    if not out:
        sys.exit("no font draws the digits: are the font packages installed?")
    return out


def digit_image(font, digit, rng):
    ink = near.render_text(font, DIGITS[digit])
    image = Image.fromarray(np.clip(ink * 255, 0, 255).astype(np.uint8))
    change = int(rng.integers(STROKE_CHANGE[0], STROKE_CHANGE[1] + 1))
    change = min(STROKE_CHANGE[1], max(change, math.ceil((pool.MIN_STROKE - pool.stroke_width(image)) / 2)))
    image = pool.change_strokes(image, change)
    ink = near.transform_glyph(np.asarray(image, dtype=np.float64) / 255, rng, ROTATION, aspect=ASPECT)
    ink = near.paste_scaled(ink, rng, FRAME, SIZE_RANGE, margin=3)
    return near.compose(ink, rng, dark_on_light=False)


def make_set(catalogue, rng, count, draw):
    """COUNT labelled images, every digit COUNT/10 times: blocks of the ten digits dealt to the families in
    turn (in a random order), then shuffled; each image's file chosen uniformly within its family and drawn
    by `draw(path, digit)`. Returns (images, labels, sources) with sources (file name, digit, family)."""
    index = np.arange(count)
    family_order = rng.permutation(len(catalogue))
    plan = list(zip(index % 10, family_order[(index // 10) % len(catalogue)]))
    plan = [plan[i] for i in rng.permutation(count)]
    images, labels, sources = [], [], []
    for digit, f in plan:
        family, by_digit = catalogue[f]
        paths = by_digit[digit]
        path = paths[rng.integers(len(paths))]
        images.append(draw(path, int(digit)))
        labels.append(digit)
        sources.append((os.path.basename(path), int(digit), family))
    return np.stack(images), np.array(labels, dtype=np.uint8), sources


def write_set(out, set_name, images, labels, sources, families):
    """Writes OUT/SET_NAME-{images-idx3,labels-idx1}-ubyte.gz, -sources.txt.gz and preview-SET_NAME.png, and
    prints what the set holds."""
    stem = os.path.join(out, set_name)
    near.write_idx(f"{stem}-images-idx3-ubyte.gz", images)
    near.write_idx(f"{stem}-labels-idx1-ubyte.gz", labels)
    pool.write_text_gz(f"{stem}-sources.txt.gz", (f"{i}\t{file}\t{digit}\t{family}\n"
                                                  for i, (file, digit, family) in enumerate(sources)))
    near.write_preview(os.path.join(out, f"preview-{set_name}.png"), images, labels, count=200, columns=20)
    print(f"{stem}: {len(images)} images {images.shape[1]}×{images.shape[2]}, "
          f"{families} families, {len({s[0] for s in sources})} font files", file=sys.stderr)
    for label, key in (("digit", 1), ("family", 2)):
        counts = collections.Counter(s[key] for s in sources)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        print(f"by {label}: " + ", ".join(f"{k} {n}" for k, n in ranked), file=sys.stderr)


def make_digits(catalogue, seed, count):
    rng = np.random.default_rng([seed, 0x646967])  # its own stream: not the pool's, not the near-OOD sets'
    fonts = {}

    def draw(path, digit):
        if path not in fonts:
            fonts[path] = ImageFont.truetype(path, RENDER_SIZE)
        return digit_image(fonts[path], digit, rng)

    return make_set(catalogue, rng, count, draw)


def arguments(doc):
    """The command line of a digit-set script whose docstring is `doc`: OUT_DIR (made), --seed, --count."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("out", help="folder for the IDX files, the sources list and the preview")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=10000)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    return args


def main():
    args = arguments(__doc__)
    catalogue = digit_catalogue()
    images, labels, sources = make_digits(catalogue, args.seed, args.count)
    write_set(args.out, SET_NAME, images, labels, sources, len(catalogue))


if __name__ == "__main__":
    main()
