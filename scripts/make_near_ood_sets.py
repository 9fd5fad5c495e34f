#!/usr/bin/env python3
"""Makes the near-out-of-distribution development sets (issue 13), deterministically from a seed.

    python3 scripts/make_near_ood_sets.py OUT_DIR [--seed 0] [--count 2000]

The digit classifier must refuse letters and symbols that are not digits in shape, and accept digits in
fonts and hands it never saw. MNIST's test set and notMNIST cannot tell us that without being tuned on, so
this script draws our own sets. Each set comes in two roles made by disjoint generators (different fonts,
different Hershey glyphs, different random streams): `-dev` chooses settings, `-report` only reports.
None of them is ever trained on.

OUT_DIR receives, for ROLE in dev and report (N = --count images per file):
  handwritten-symbols-ROLE-images-idx3-ubyte.gz          64×64, unlabelled: Hershey stroke glyphs that are
                                                         not digits, drawn as by a pen (affine, wobble, overshoot)
  printed-symbols-ROLE-images-idx3-ubyte.gz              64×64, unlabelled: ~75% font characters that are not
                                                         digits, ~25% simple drawn shapes (no plain rings)
  font-digits-ROLE-{images-idx3,labels-idx1}-ubyte.gz    64×64, labelled 0–9: digits printed in many fonts
  mouse-digits-ROLE-{images-idx3,labels-idx1}-ubyte.gz   56×56, labelled 0–9: digits drawn with a mouse on the
                                                         web page's 280×280 canvas, area-averaged by 5×5 blocks
  SET-ROLE-sources.txt.gz                                where each image came from (font, glyph or shape)
  preview-SET-ROLE.png                                   the first 100 images of each file, for a person to look at

The images are raw renderings, not MNIST-normalised: the Swift side's DigitNormalizer (polarity from the
border, crop the ink, scale into 20×20, centre by mass in 28×28) is applied when they are read, as
`bnn predict` does. So each glyph is drawn at a varied size and place in its frame, with a margin.
Needs numpy, Pillow, the PyPI package Hershey-Fonts, and the Debian font packages fonts-dejavu-core,
fonts-liberation, fonts-freefont-ttf and fonts-urw-base35.
"""
import argparse, gzip, math, os, struct, sys
try:
    import numpy as np
except ImportError:
    sys.exit("make_near_ood_sets.py needs numpy: pip install numpy")
try:
    from PIL import Image, ImageDraw, ImageFilter, ImageFont
except ImportError:
    sys.exit("make_near_ood_sets.py needs Pillow: pip install pillow")
try:
    from HersheyFonts import HersheyFonts
except ImportError:
    sys.exit("make_near_ood_sets.py needs the Hershey stroke fonts: pip install Hershey-Fonts")

SETS = ["handwritten-symbols", "printed-symbols", "font-digits", "mouse-digits"]
ROLES = ["dev", "report"]
SUPERSAMPLE = 4  # strokes and shapes are drawn at 4× and area-averaged down, for anti-aliasing

# ---------------------------------------------------------------------------------------------------------
# Generators of each role. Hershey fonts share many glyphs (rowmans and futural are the same simplex
# alphabet, for instance), so besides splitting the font names, the report role drops every glyph whose
# strokes also occur in the dev role (see hershey_pools).

# By family. dev: simplex, complex, one script, German and Italian blackletter, symbols. report: duplex,
# triplex, italics, the other script, English blackletter, Japanese, markers, music.
HERSHEY_SYMBOL_FONTS = {
    "dev": ["futural", "rowmans", "greek", "greeks", "timesr", "cyrillic", "scriptc",
            "gothicger", "gothgrt", "gothicita", "gothitt", "mathlow", "meteorology", "symbolic"],
    "report": ["futuram", "rowmand", "rowmant", "timesrb", "timesi", "timesib", "astrology", "scripts",
               "cursive", "timesg", "greekc", "cyrilc_1", "gothiceng", "gothgbt", "japanese", "markers",
               "mathupp", "music"],
}
# The digit skeletons of the 32 Hershey fonts come in a few families (simplex, duplex, triplex, complex,
# script, italic triplex, gothic): rowmans, cursive and greek have futural's digits, scripts has scriptc's,
# and so on. Each role gets whole families; the gothic ones (outlined) are no mouse path.
HERSHEY_DIGIT_FONTS = {
    "dev": ["futural", "scriptc", "timesr"],        # simplex, script, complex
    "report": ["rowmand", "rowmant", "timesib"],     # duplex, triplex, italic triplex
}

DEBIAN_FONTS = {  # Debian package → folder of its font files
    "fonts-dejavu-core": "/usr/share/fonts/truetype/dejavu",
    "fonts-freefont-ttf": "/usr/share/fonts/truetype/freefont",
    "fonts-liberation": "/usr/share/fonts/truetype/liberation",
    "fonts-urw-base35": "/usr/share/fonts/opentype/urw-base35",
}
# FreeFont's Latin glyphs descend from URW's Nimbus Roman, Sans and Mono, so those three (and Nimbus Sans
# Narrow) stay out of the report role; D050000L (Zapf Dingbats) has none of our characters, and
# StandardSymbolsPS puts Greek letters at Latin code points, which would defeat the exclusions below.
FONT_FILES = {
    "dev": [("fonts-dejavu-core", f"DejaVu{s}.ttf") for s in
            ["Sans", "Sans-Bold", "SansMono", "SansMono-Bold", "Serif", "Serif-Bold"]]
         + [("fonts-freefont-ttf", f"Free{s}.ttf") for s in
            ["Sans", "SansBold", "SansOblique", "SansBoldOblique", "Serif", "SerifBold", "SerifItalic",
             "SerifBoldItalic", "Mono", "MonoBold", "MonoOblique", "MonoBoldOblique"]],
    "report": [("fonts-liberation", f"Liberation{f}-{s}.ttf") for f in ["Sans", "SansNarrow", "Serif", "Mono"]
               for s in ["Regular", "Bold", "Italic", "BoldItalic"]]
            + [("fonts-urw-base35", f"{s}.otf") for s in
               ["C059-Roman", "C059-Bold", "C059-Italic", "C059-BdIta", "P052-Roman", "P052-Bold",
                "P052-Italic", "P052-BoldItalic", "URWBookman-Light", "URWBookman-Demi",
                "URWBookman-LightItalic", "URWBookman-DemiItalic", "URWGothic-Book", "URWGothic-Demi",
                "URWGothic-BookOblique", "URWGothic-DemiOblique", "Z003-MediumItalic"]],
}

# ---------------------------------------------------------------------------------------------------------
# What is "digit-shaped after normalisation" and so left out of the symbol sets. Beyond these lists, a
# glyph whose ink is a bar is left out (a 1 when upright; see is_digit_shaped for Hershey glyphs and
# available_characters for fonts), and so is a Hershey glyph that is a bare ellipse (a 0).

# Hershey glyphs are looked up by ASCII key. Most fonts hold Latin letters at their own keys; the dots
# and ticks (. : ; , ' ` ") become a blob, a 9-like comma or "11" once scaled up to a digit's size.
LATIN_DIGIT_LIKE_KEYS = "0123456789OoIl|.:;,'`\""
GOTHIC_3_KEYS = "Zz"  # blackletter z is a 3
DIGIT_LIKE_KEYS = {  # by font, where they differ from LATIN_DIGIT_LIKE_KEYS
    "greek": "i", "greeks": "i", "greekc": "i", "timesg": "i",   # ι
    "cyrillic": "Zzb", "cyrilc_1": "Hhb",                        # З з (3s), б (a 6)
    "gothicger": GOTHIC_3_KEYS, "gothgrt": GOTHIC_3_KEYS, "gothicita": GOTHIC_3_KEYS,
    "gothitt": GOTHIC_3_KEYS, "gothiceng": GOTHIC_3_KEYS, "gothgbt": GOTHIC_3_KEYS,
    "astrology": "#*",       # ☉ (a 0 with a dot), ♃ (a 4)
    "meteorology": "!\"~",   # 9-like hooks, an octagon within an octagon
    "symbolic": "A}",        # an octagon within an octagon, an S-shaped bar
    "music": "$>?^",         # a whole note (a slanted 0), double bars (11), a thin wedge (a 1)
    "mathlow": "mpy", "mathupp": "mpy",  # ∂ (a 6), ∫ (a bar), ‖ (11)
}
# The Japanese font holds kana and kanji at every key: only these are left out (and its ◇ placeholders,
# which stand for glyphs it lacks): a hook and ノ (1s), ち (a 5), り リ (11), る ろ (3s), フ ラ ヲ (7s).
JAPANESE_DIGIT_LIKE_KEYS = "\x21\x51\x6a\x6b\x6d\xa9\xac\xb9\xba\xc2"


def excluded_keys(font):
    if font == "japanese":
        return set(JAPANESE_DIGIT_LIKE_KEYS)
    return set(LATIN_DIGIT_LIKE_KEYS) | set(DIGIT_LIKE_KEYS.get(font, ""))


DIGIT_LIKE_CHARS = set(
    "0123456789OoIl|!¡'`,/\\.:;\""
    "ΟοΙι" "ОоЗзІіӀб"                                   # Greek omicron, iota; Cyrillic O, Ze (a 3), I, be (a 6)
    "\u05d5\u05df\u05e1"                               # Hebrew vav, final nun (bars), samekh (a ring)
    "\u0545\u0551\u0555\u0585\u0577\u0541\u0582\u056c\u0575"  # Armenian Յ Ց (3s), Օ օ, շ Ձ (2s), bars,
    "\u053e\u056e\u056a"                                      # Ծ ծ (0s with a hook), ժ (a 6)
    "\u10d2\u10d5\u10d6\u10d4\u10d8\u10f3\u10f5\u10f7"         # Georgian 8-, 3-, 9- and 0-like letters
    "\u2205\u2218\u2219\u2223\u2224\u2225\u2226\u22c5\u2216\u2215\u2202"  # ∅ ∘ ∙ bars ⋅ ∖ ∕ ∂ (a 6)
    "\u21be\u21bf\u21c2\u21c3\u21a5\u21a7"                       # ↾ ↿ ⇂ ⇃ ↥ ↧: bars with one flag, 1s
    + "".join(chr(c) for c in range(0x2295, 0x229e))           # circled operators ⊕…⊝
)

# Characters tried in each font; those a font lacks (empty or .notdef) are skipped per font.
def candidate_characters():
    ranges = [(0x41, 0x5A), (0x61, 0x7A),                   # Latin
              (0x391, 0x3A9), (0x3B1, 0x3C9),               # Greek
              (0x410, 0x44F),                               # Cyrillic
              (0x5D0, 0x5EA), (0x531, 0x556), (0x561, 0x586), (0x10D0, 0x10FA),  # Hebrew, Armenian, Georgian
              (0x2190, 0x21FF), (0x2200, 0x22FF)]           # arrows, mathematical operators
    chars = [chr(c) for lo, hi in ranges for c in range(lo, hi + 1)]
    chars += list("?#@&%$+=*<>{}[]~^§¶†‡«»¿¡£€¥©®µ÷×±¬")
    return [c for c in chars if c not in DIGIT_LIKE_CHARS]


# Fonts differ widely in how many arrows and operators they have (DejaVu Sans about 350, Liberation 21), so a
# printed character is drawn by group first, with these weights among the groups its font has, so that
# the two roles hold letters and symbols in like proportions.
CHARACTER_GROUPS = {"latin": 0.35, "greek": 0.15, "cyrillic": 0.15, "hebrew-armenian-georgian": 0.1, "symbols": 0.25}


def character_group(ch):
    o = ord(ch)
    if ch.isascii() and ch.isalpha():
        return "latin"
    if 0x370 <= o < 0x400:
        return "greek"
    if 0x400 <= o < 0x500:
        return "cyrillic"
    if 0x530 <= o < 0x600 or 0x10A0 <= o < 0x1100:
        return "hebrew-armenian-georgian"
    return "symbols"  # punctuation, currency, arrows, operators


# ---------------------------------------------------------------------------------------------------------
# Output.

def rng_for(seed, set_name, role):
    """The random stream of one file pair: seeded by (seed, set, role), no Python hash()."""
    return np.random.default_rng([seed, SETS.index(set_name), ROLES.index(role)])


def write_idx(path, array):
    """An MNIST-format gzip IDX file (images 0x803, labels 0x801). mtime=0 and no stored file name, so
    the bytes depend on the content only."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">IIII", 0x803, *array.shape) if array.ndim == 3 else struct.pack(">II", 0x801, len(array))
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
        f.write(header + array.tobytes())


def write_preview(path, images, labels=None, count=100, columns=10):
    """A contact sheet of the first `count` images on grey, `columns` to a row (10×10 by default), with
    the label under each labelled one."""
    images = images[:count]
    side = images.shape[1]
    rows = -(-len(images) // columns)
    cell_h = side + (11 if labels is not None else 0)
    sheet = Image.new("L", (columns * (side + 2) + 2, rows * (cell_h + 2) + 2), 128)
    draw = ImageDraw.Draw(sheet)
    for i, image in enumerate(images):
        x, y = 2 + (i % columns) * (side + 2), 2 + (i // columns) * (cell_h + 2)
        sheet.paste(Image.fromarray(image), (x, y))
        if labels is not None:
            draw.text((x + side // 2 - 3, y + side), str(int(labels[i])), fill=255)
    sheet.save(path, optimize=True)


def compose(ink, rng, dark_on_light):
    """Grey uint8 image from ink coverage in [0, 1]: dark ink on light paper, or light on dark."""
    if dark_on_light:
        paper, pen = rng.uniform(215, 255), rng.uniform(0, 60)
    else:
        paper, pen = rng.uniform(0, 25), rng.uniform(220, 255)
    return np.clip(np.rint(paper + (pen - paper) * ink), 0, 255).astype(np.uint8)


def area_average(array, factor):
    """Mean of each factor×factor block (exact box filter)."""
    h, w = array.shape
    return array.reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


# ---------------------------------------------------------------------------------------------------------
# Geometry of strokes: polylines as (n, 2) float arrays, x right, y down.

def densify(stroke, step):
    """The polyline resampled so consecutive points are at most `step` apart (corners kept)."""
    out = [stroke[0]]
    for a, b in zip(stroke[:-1], stroke[1:]):
        n = max(1, int(math.ceil(np.hypot(*(b - a)) / step)))
        out.extend(a + (b - a) * (k / n) for k in range(1, n + 1))
    return np.array(out)


def arc_length(stroke):
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(stroke, axis=0).T))])


def bounds(strokes):
    points = np.concatenate(strokes)
    return points.min(axis=0), points.max(axis=0)


def normalise_strokes(strokes):
    """Centred on the bounding box's middle, longer side 1."""
    lo, hi = bounds(strokes)
    extent = max(hi - lo) or 1.0
    return [(s - (lo + hi) / 2) / extent for s in strokes]


def random_linear(rng, rotation_deg, shear, scale_range):
    """Rotation · shear · anisotropic scale."""
    t = math.radians(rng.uniform(-rotation_deg, rotation_deg))
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    sh = np.array([[1.0, rng.uniform(-shear, shear)], [0.0, 1.0]])
    sc = np.diag(rng.uniform(*scale_range, size=2))
    return rot @ sh @ sc


def place(strokes, rng, frame, size_range, margin):
    """Scales the strokes so their longer side is uniform in size_range and puts them at a random place
    in a frame×frame picture, at least `margin` from each edge."""
    lo, hi = bounds(strokes)
    extent = hi - lo
    size = min(rng.uniform(*size_range), frame - 2 * margin)
    scale = size / max(extent.max(), 1e-6)
    extent = extent * scale
    offset = np.array([rng.uniform(margin, max(margin, frame - margin - e)) for e in extent])
    return [(s - lo) * scale + offset for s in strokes]


def draw_strokes(strokes, width, canvas, supersample=1):
    """Ink coverage of round-pen strokes on a canvas×canvas picture: lines with round joins and caps,
    drawn at `supersample`× and area-averaged back."""
    big = canvas * supersample
    image = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(image)
    w = width * supersample
    for stroke in strokes:
        points = [tuple(p) for p in (stroke * supersample).tolist()]
        if len(points) > 1:
            draw.line(points, fill=255, width=max(1, int(round(w))), joint="curve")
        for x, y in (points[0], points[-1]):  # round caps
            draw.ellipse([x - w / 2, y - w / 2, x + w / 2, y + w / 2], fill=255)
    ink = np.asarray(image, dtype=np.float64) / 255
    return area_average(ink, supersample) if supersample > 1 else ink


# ---------------------------------------------------------------------------------------------------------
# Hershey stroke glyphs.

def load_hershey(name):
    """{key: [strokes]} of one built-in Hershey font, empty glyphs dropped."""
    font = HersheyFonts()
    font.load_default_font(name)
    glyphs = {}
    for key, glyph in sorted(font.all_glyphs.items()):
        strokes = [np.array(s, dtype=np.float64) for s in glyph.strokes if len(s) > 0]
        if strokes:
            glyphs[key] = strokes
    return glyphs


def signature(strokes):
    """The glyph's stroke data as a hashable value, to find the same glyph in two fonts."""
    return tuple(tuple(map(tuple, s.astype(int).tolist())) for s in strokes)


def is_digit_shaped(strokes):
    """True for a Hershey glyph that normalises into a 1 (a bar) or a 0 (a bare ellipse)."""
    points = np.concatenate([densify(s, 0.5) if len(s) > 1 else s for s in strokes])
    lo, hi = points.min(axis=0), points.max(axis=0)
    w, h = hi - lo
    if w < 0.18 * h:
        return True
    # A straight bar in any direction (also a thin wedge): upright or slanted it is a 1; flat ('-', '_',
    # 一, ー) it is one line that every font has its own copy of, and says little once stretched to 20 px.
    singular = np.linalg.svd(points - points.mean(axis=0), compute_uv=False)
    if singular[1] < 0.15 * singular[0]:
        return True
    # A bare ellipse, upright or slanted (also what a small dot becomes when scaled up): in the frame of
    # its principal axes, every point at the same normalised radius from the box's centre. Squares and
    # diamonds vary by ~10% and stay.
    _, _, axes = np.linalg.svd(points - points.mean(axis=0))
    aligned = points @ axes.T
    lo, hi = aligned.min(axis=0), aligned.max(axis=0)
    radius = np.hypot(*((aligned - (lo + hi) / 2) / np.maximum((hi - lo) / 2, 1e-6)).T)
    return radius.min() > 0.6 and radius.std() < 0.06 * radius.mean()


def hershey_pools(fonts_by_role):
    """{role: [(font, [(key, strokes)])]} of non-digit glyphs. Within a role each glyph shape is kept
    once (in the first font that has it); the report role also drops every shape the dev role has."""
    pools, seen = {}, set()
    for role in ROLES:
        pool = []
        for name in fonts_by_role[role]:
            excluded = excluded_keys(name)
            glyphs = load_hershey(name)
            placeholder = signature(glyphs[" "]) if name == "japanese" else None
            kept = []
            for key, strokes in glyphs.items():
                sig = signature(strokes)
                if key in excluded or sig in seen or sig == placeholder or is_digit_shaped(strokes):
                    continue
                seen.add(sig)
                kept.append((key, strokes))
            if kept:
                pool.append((name, kept))
        pools[role] = pool
    return pools


def pen_glyph(strokes, rng):
    """A glyph as a hand would write it, in unit size: random affine, a slow wobble along each stroke and
    a little overshoot at stroke ends."""
    matrix = random_linear(rng, 15, 0.2, (0.8, 1.2))
    out = []
    for stroke in normalise_strokes(strokes):
        stroke = densify(stroke, 0.01) @ matrix.T
        if len(stroke) > 1:
            # Overshoot: each end carried on along its last direction by up to 4% of the glyph size.
            for end, before in ((-1, -2), (0, 1)):
                d = stroke[end] - stroke[before]
                if np.hypot(*d) > 0 and rng.random() < 0.5:
                    tip = stroke[end] + d / np.hypot(*d) * rng.uniform(0.005, 0.04)
                    stroke = np.vstack([stroke, tip]) if end == -1 else np.vstack([tip, stroke])
            # Wobble: two low-frequency sinusoids of arc length per axis (1–3 cycles per glyph size).
            t = arc_length(stroke)
            for axis in range(2):
                for _ in range(2):
                    stroke[:, axis] += rng.uniform(0.004, 0.012) * np.sin(
                        2 * math.pi * rng.uniform(1, 3) * t + rng.uniform(0, 2 * math.pi))
        out.append(stroke)
    return out


def handwritten_symbol(pool, rng):
    # A font with weight min(its glyph count, 60), then one of its glyphs: every glyph is equally likely,
    # except that Japanese's 160 count as 60 so that they do not swamp the Latin, Greek and Cyrillic.
    weights = np.minimum([len(glyphs) for _, glyphs in pool], 60).astype(float)
    font, glyphs = pool[rng.choice(len(pool), p=weights / weights.sum())]
    key, strokes = glyphs[rng.integers(len(glyphs))]
    width = rng.uniform(2, 5)
    strokes = place(pen_glyph(strokes, rng), rng, 64, (26, 52), margin=width / 2 + 3)
    ink = draw_strokes(strokes, width, 64, SUPERSAMPLE)
    image = compose(ink, rng, dark_on_light=rng.random() < 0.7)  # paper and pen, or the page's canvas
    return image, f"hershey {font} key 0x{ord(key):02x}"


# ---------------------------------------------------------------------------------------------------------
# Mouse digits: Hershey digit skeletons traced as a mouse on the 280×280 canvas would.

def skeleton(strokes):
    """Drops strokes that run alongside one already kept (duplex and triplex fonts draw thick parts as
    2–3 parallel lines; a hand traces them once)."""
    kept = []
    for stroke in strokes:
        dense = densify(stroke, 0.5)
        if kept:
            others = np.concatenate(kept)
            near = np.min(np.hypot(*(dense[:, None, :] - others[None, :, :]).transpose(2, 0, 1)), axis=1) < 2.6
            if near.mean() > 0.7:
                continue
        kept.append(dense)
    return kept


def mouse_path(stroke, rng):
    """The points a canvas receives while a mouse follows `stroke`: sampled at uneven spacing (the hand
    speeds up mid-stroke and varies), with a slow tremor of a few px and a slight overshoot at the end."""
    t = arc_length(stroke)
    total = t[-1]
    if total < 1:
        return stroke[:1] + rng.normal(0, 1, (1, 2))
    positions, s = [0.0], 0.0
    base = rng.uniform(4, 14)  # px between mouse events at full speed
    while s < total:
        ramp = min(1.0, 0.3 + min(s, total - s) / 30)  # slower near the stroke's ends
        s += base * ramp * rng.uniform(0.4, 1.6)
        positions.append(min(s, total))
    positions = np.array(positions)
    path = np.column_stack([np.interp(positions, t, stroke[:, k]) for k in range(2)])
    # Tremor: a random walk, smoothed, a couple of px in size.
    tremor = np.cumsum(rng.normal(0, 0.8, path.shape), axis=0)
    tremor -= np.linspace(0, 1, len(path))[:, None] * tremor[-1]  # pinned back by the end
    path += tremor * rng.uniform(0.3, 1.0) + rng.normal(0, 0.5, path.shape)
    if len(path) > 1 and rng.random() < 0.6:
        d = path[-1] - path[-2]
        if np.hypot(*d) > 0:
            path = np.vstack([path, path[-1] + d / np.hypot(*d) * rng.uniform(2, 10)])
    return path


def fit_inside(strokes, frame, margin):
    """Shifts (and if need be shrinks) strokes that tremor or overshoot carried past the margin back
    inside, as a person keeps the digit on the canvas."""
    lo, hi = bounds(strokes)
    room = frame - 2 * margin
    scale = min(1.0, room / max((hi - lo).max(), 1e-6))
    centre = (lo + hi) / 2
    half = (hi - lo) * scale / 2
    target = np.clip(centre, margin + half, frame - margin - half)
    return [(s - centre) * scale + target for s in strokes]


def mouse_digit(skeletons, label, rng):
    font, glyph = skeletons[label][rng.integers(len(skeletons[label]))]
    strokes = normalise_strokes(glyph)
    matrix = random_linear(rng, 8, 0.15, (0.85, 1.15))
    strokes = [s @ matrix.T for s in strokes]
    width = rng.uniform(16, 28)
    lo, hi = bounds(strokes)
    # Height 120–250 px: the longer side is scaled to the height times the glyph's own aspect.
    height = rng.uniform(120, 250)
    longer = height * max(1.0, (hi - lo)[0] / max((hi - lo)[1], 1e-6))
    strokes = place(strokes, rng, 280, (longer, longer), margin=width / 2 + 14)  # room for tremor, overshoot
    paths = fit_inside([mouse_path(s, rng) for s in strokes], 280, width / 2 + 6)  # a clear 56×56 border
    ink = area_average(draw_strokes(paths, width, 280), 5)  # 280×280 canvas → 56×56
    image = np.clip(np.rint(ink * 255), 0, 255).astype(np.uint8)  # white on black, as the page draws
    return image, f"hershey {font}"


def digit_skeletons(fonts):
    """{digit: [(font, skeleton strokes)]} from the given Hershey fonts."""
    out = {d: [] for d in range(10)}
    for name in fonts:
        glyphs = load_hershey(name)
        for d in range(10):
            if str(d) in glyphs:
                out[d].append((name, skeleton(glyphs[str(d)])))
    return out


# ---------------------------------------------------------------------------------------------------------
# Font rendering.

def font_path(package, file_name):
    path = os.path.join(DEBIAN_FONTS[package], file_name)
    if not os.path.exists(path):
        sys.exit(f"missing font file {path}: install the Debian package {package} (apt-get install {package})")
    return path


def render_text(font, text):
    """Ink coverage of `text` in `font` on a padded canvas, or None when it draws nothing."""
    left, top, right, bottom = font.getbbox(text)
    if right <= left or bottom <= top:
        return None
    pad = 8
    image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(image).text((pad - left, pad - top), text, font=font, fill=255)
    ink = np.asarray(image, dtype=np.float64) / 255
    return ink if ink.max() > 0.5 else None


def crop(ink, threshold=0.05):
    ys, xs = np.nonzero(ink > threshold)
    return ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


# Italic Cyrillic takes cursive forms: б, в and д look like 6s (б, ϐ, ∂).
ITALIC_DIGIT_LIKE_CHARS = set("бвд")


def available_characters(path, chars):
    """The characters `path` really draws: not empty, not its .notdef box, not a bar (upright or flat)."""
    if "Ital" in path or "BdIta" in path:
        chars = [c for c in chars if c not in ITALIC_DIGIT_LIKE_CHARS]
    font = ImageFont.truetype(path, 48)
    notdef = render_text(font, "\U000F0000")  # a private-use code point no font here maps
    kept = []
    for ch in chars:
        ink = render_text(font, ch)
        if ink is None or (notdef is not None and ink.shape == notdef.shape and np.array_equal(ink, notdef)):
            continue
        h, w = crop(ink).shape
        if w < 0.18 * h or h < 0.25 * w:  # a bar: upright a 1, flat a line that says little (as for Hershey)
            continue
        kept.append(ch)
    return kept


def transform_glyph(ink, rng, rotation_deg, stroke_change=0, aspect=(1.0, 1.0)):
    """Rotates a high-resolution ink picture, optionally thickens or thins its strokes (max/min filter)
    and stretches it; returns it cropped to its ink."""
    image = Image.fromarray(np.clip(ink * 255, 0, 255).astype(np.uint8))
    if stroke_change:
        size = 2 * abs(stroke_change) + 1
        image = image.filter(ImageFilter.MaxFilter(size) if stroke_change > 0 else ImageFilter.MinFilter(size))
    image = image.rotate(rng.uniform(-rotation_deg, rotation_deg), resample=Image.BICUBIC, expand=True)
    sx = rng.uniform(*aspect)
    if sx != 1.0:
        image = image.resize((max(1, int(image.width * sx)), image.height), Image.BICUBIC)
    out = np.asarray(image, dtype=np.float64) / 255
    return crop(out) if out.max() > 0.05 else None


def paste_scaled(ink, rng, frame, size_range, margin):
    """Area-averages a cropped high-resolution ink picture so its longer side is uniform in size_range,
    and puts it at a random place in a frame×frame picture with the given margin."""
    h, w = ink.shape
    size = min(rng.uniform(*size_range), frame - 2 * margin)
    scale = size / max(h, w)
    tw, th = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    small = np.asarray(Image.fromarray(ink.astype(np.float32), mode="F").resize((tw, th), Image.BOX))
    out = np.zeros((frame, frame))
    x = int(rng.integers(int(margin), max(int(margin), frame - int(margin) - tw) + 1))
    y = int(rng.integers(int(margin), max(int(margin), frame - int(margin) - th) + 1))
    out[y:y + th, x:x + tw] = np.clip(small, 0, 1)
    return out


def printed_character(fonts, rng):
    path, groups = fonts[rng.integers(len(fonts))]
    names = sorted(groups)
    weights = np.array([CHARACTER_GROUPS[n] for n in names])
    chars = groups[names[rng.choice(len(names), p=weights / weights.sum())]]
    ch = chars[rng.integers(len(chars))]
    ink = transform_glyph(render_text(ImageFont.truetype(path, 160), ch), rng, 10)
    image = compose(paste_scaled(ink, rng, 64, (24, 56), margin=3), rng, dark_on_light=True)
    return image, f"{os.path.basename(path)} U+{ord(ch):04X} {ch}"


def font_digit(fonts, label, rng):
    path = fonts[rng.integers(len(fonts))]
    font = ImageFont.truetype(path, 160)
    ink = None
    while ink is None:  # a strong thinning can erase a light font's digit: draw again
        ink = transform_glyph(render_text(font, str(label)), rng, 12,
                              stroke_change=int(rng.integers(-2, 5)), aspect=(0.85, 1.15))
    return compose(paste_scaled(ink, rng, 64, (24, 56), margin=3), rng, dark_on_light=True), os.path.basename(path)


# ---------------------------------------------------------------------------------------------------------
# Simple shapes drawn with PIL (a quarter of the printed set). Each is a list of polygons/polylines in
# unit size, then rotated, placed and drawn filled or outlined. Rings are left out: a ring is a 0.

def regular_star(rng, points=5):
    inner = rng.uniform(0.38, 0.5)
    angles = np.arange(2 * points) * math.pi / points - math.pi / 2
    radii = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return np.column_stack([radii * np.cos(angles), radii * np.sin(angles)])


def heart():
    t = np.linspace(0, 2 * math.pi, 80, endpoint=False)
    return np.column_stack([16 * np.sin(t) ** 3, -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))])


def ellipse(rx, ry, cx=0.0, cy=0.0, start=0.0, end=2 * math.pi, n=64):
    t = np.linspace(start, end, n, endpoint=end - start < 2 * math.pi - 1e-9)
    return np.column_stack([cx + rx * np.cos(t), cy + ry * np.sin(t)])


def shape_parts(kind, rng):
    """[(points, closed, filled)] of one shape in unit size."""
    filled = rng.random() < 0.5
    if kind == "rectangle":
        w, h = 1.0, rng.uniform(0.35, 1.0)
        return [(np.array([[0, 0], [w, 0], [w, h], [0, h]]), True, filled)]
    if kind == "ellipse":  # always filled: an outlined ellipse is a 0
        return [(ellipse(1.0, rng.uniform(0.45, 1.0)), True, True)]
    if kind == "triangle":
        return [(np.array([[0, 1], [rng.uniform(0.2, 0.8), 0], [1, 1]]) * [1, rng.uniform(0.7, 1.1)], True, filled)]
    if kind == "star":
        return [(regular_star(rng, int(rng.choice([5, 5, 6]))), True, filled)]
    if kind == "cross":
        a, b = 1.0, rng.uniform(0.12, 0.3)
        plus = np.array([[-b, -a], [b, -a], [b, -b], [a, -b], [a, b], [b, b], [b, a], [-b, a], [-b, b],
                         [-a, b], [-a, -b], [-b, -b]])
        if rng.random() < 0.5:  # an ×
            c = math.sqrt(0.5)
            plus = plus @ np.array([[c, -c], [c, c]])
        return [(plus, True, filled)]
    if kind == "smiley":  # face outline with eyes and a smile: not a bare ring
        return [(ellipse(1, 1), True, False), (ellipse(0.12, 0.16, -0.35, -0.3), True, True),
                (ellipse(0.12, 0.16, 0.35, -0.3), True, True),
                (ellipse(0.55, 0.45, 0, 0.05, 0.15 * math.pi, 0.85 * math.pi, 24), False, False)]
    if kind == "arrow":
        s, hw, hl = rng.uniform(0.08, 0.18), rng.uniform(0.3, 0.45), rng.uniform(0.3, 0.5)
        return [(np.array([[0, -s], [1 - hl, -s], [1 - hl, -hw], [1, 0], [1 - hl, hw], [1 - hl, s], [0, s]]), True, filled)]
    if kind == "heart":
        return [(heart(), True, filled)]
    # scribble: a random walk with momentum, smoothed
    steps = int(rng.integers(15, 50))
    heading = np.cumsum(rng.normal(0, 0.7, steps))
    walk = np.cumsum(np.column_stack([np.cos(heading), np.sin(heading)]), axis=0)
    return [(walk, False, False)]


SHAPES = ["rectangle", "ellipse", "triangle", "star", "cross", "smiley", "arrow", "heart", "scribble"]


def simple_shape(rng):
    kind = SHAPES[rng.integers(len(SHAPES))]
    parts = shape_parts(kind, rng)
    matrix = random_linear(rng, 10, 0.0, (1.0, 1.0))
    polys = normalise_strokes([p for p, _, _ in parts])
    polys = [p @ matrix.T for p in polys]
    width = rng.uniform(2, 5)
    polys = place(polys, rng, 64, (30, 60), margin=width / 2 + 2)
    big = 64 * SUPERSAMPLE
    image = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(image)
    for points, (_, closed, filled) in zip(polys, parts):
        xy = [tuple(p) for p in (points * SUPERSAMPLE).tolist()]
        if filled:
            draw.polygon(xy, fill=255)
        else:
            draw.line(xy + ([xy[0], xy[1]] if closed else []), fill=255, width=int(round(width * SUPERSAMPLE)), joint="curve")
    ink = area_average(np.asarray(image, dtype=np.float64) / 255, SUPERSAMPLE)
    return compose(ink, rng, dark_on_light=True), f"shape {kind}"


# ---------------------------------------------------------------------------------------------------------

def make_role(out, role, seed, count, hershey, fonts, symbol_fonts, digits):
    def balanced_labels(rng):
        return rng.permutation(np.arange(count) % 10)

    def save(set_name, made, labels=None):
        """Writes the images (and labels), the preview, and a list of where each image came from."""
        images = np.stack([image for image, _ in made])
        stem = os.path.join(out, f"{set_name}-{role}")
        write_idx(f"{stem}-images-idx3-ubyte.gz", images)
        if labels is not None:
            write_idx(f"{stem}-labels-idx1-ubyte.gz", labels)
        with open(f"{stem}-sources.txt.gz", "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
            f.write("".join(f"{i}\t{source}\n" for i, (_, source) in enumerate(made)).encode())
        write_preview(os.path.join(out, f"preview-{set_name}-{role}.png"), images, labels)
        print(f"{stem}: {len(images)} images {images.shape[1]}×{images.shape[2]}", file=sys.stderr)

    rng = rng_for(seed, "handwritten-symbols", role)
    save("handwritten-symbols", [handwritten_symbol(hershey[role], rng) for _ in range(count)])

    rng = rng_for(seed, "printed-symbols", role)
    save("printed-symbols", [simple_shape(rng) if rng.random() < 0.25 else printed_character(symbol_fonts, rng)
                             for _ in range(count)])

    rng = rng_for(seed, "font-digits", role)
    labels = balanced_labels(rng)
    save("font-digits", [font_digit(fonts, int(l), rng) for l in labels], labels)

    rng = rng_for(seed, "mouse-digits", role)
    labels = balanced_labels(rng)
    save("mouse-digits", [mouse_digit(digits, int(l), rng) for l in labels], labels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="folder for the IDX files and previews")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=2000, help="images per file")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    hershey = hershey_pools(HERSHEY_SYMBOL_FONTS)
    candidates = candidate_characters()
    for role in ROLES:
        paths = [font_path(p, f) for p, f in FONT_FILES[role]]
        symbol_fonts = []  # [(font path, {group: [characters]})]
        for path in paths:
            groups = {}
            for ch in available_characters(path, candidates):
                groups.setdefault(character_group(ch), []).append(ch)
            symbol_fonts.append((path, groups))
        digits = digit_skeletons(HERSHEY_DIGIT_FONTS[role])
        make_role(args.out, role, args.seed, args.count, hershey, paths, symbol_fonts, digits)


if __name__ == "__main__":
    main()
