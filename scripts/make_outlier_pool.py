#!/usr/bin/env python3
"""Makes the outlier-exposure training pool: printed characters that are not digits, deterministically.

    python3 scripts/make_outlier_pool.py DevSets/outliers [--seed 0] [--count 20000]

Outlier exposure trains the digit classifier to give a uniform class distribution to images that are
not digits. This pool is what it trains against. It is a TRAINING set only: never used for calibration,
for choosing settings, or for reporting. What we choose settings on and report on are the near-OOD sets
of make_near_ood_sets.py, and this pool is disjoint from both of their roles: no font file, font family
or derivative of one that either role uses (DejaVu, FreeFont, Liberation, URW base35 and what descends
from them: TeX Gyre, Croscore, Nimbus, Hack, GFS Didot's Latin), no Hershey font, and no drawn shape.

OUT_DIR receives:
  glyph-outliers-train-images-idx3-ubyte.gz   COUNT images 64×64 (IDX3, uint8): one non-digit glyph each,
                                              white ink on black, raw (not MNIST-normalised)
  glyph-outliers-train-sources.txt.gz         one line per image: index, font file, code point, group
  preview-glyph-outliers-train.png            the first 200 images, 20 to a row

Each image: a character chosen by group first (Latin 40%; Greek, Cyrillic 7.5% each; ten other scripts
2.5% each; punctuation and currency 8%, arrows 6%, mathematical operators 6%), then a font family with
equal weight among those that have the group, then one of the family's files, then a character; it is
drawn at 160 px, its strokes thickened or thinned by a max/min filter of −2…+2 px (thinning only where
that breaks no hairline and leaves strokes 5 px or more; strokes thinner than that thickened), rotated ±15°, sheared ±0.15, stretched 0.9–1.1 per axis, area-averaged so its
longer side is 20–40 px, put at a random place with a 3 px margin, white-ish ink (220–255) on black-ish
paper (0–25). The exclusions of make_near_ood_sets.py apply (its DIGIT_LIKE_CHARS, its bar-shaped-ink
rule, its .notdef detection and its italic rule, imported from it), and so do this script's own: for the
scripts and symbols the near-OOD sets do not have, a few characters they keep that are digits in the fonts
here, a few font-specific glyphs, shape-like operators, numbers of every script (Unicode category N), and
accented letters whose base letter the font lacks (OUTLIER_DIGIT_LIKE_CHARS and what follows it below).

Needs numpy, Pillow, the PyPI package Hershey-Fonts (make_near_ood_sets.py imports it) and the Debian font
packages fonts-noto-core, fonts-open-sans, fonts-lato, fonts-cantarell, fonts-sil-andika,
fonts-linuxlibertine, fonts-ebgaramond, fonts-roboto-unhinted, fonts-cabin, fonts-gfs-didot,
fonts-sil-charis, fonts-sil-gentiumplus, fonts-nanum, fonts-comic-neue, fonts-humor-sans,
fonts-ecolier-court, fonts-breip, fonts-femkeklaver, fonts-tomsontalks and fonts-isabella.
"""
import argparse, collections, gzip, math, os, sys, unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ left in scripts/ by the import below
import make_near_ood_sets as near  # noqa: E402  (exits with a message when numpy, Pillow or Hershey-Fonts is missing)
import numpy as np  # noqa: E402
from PIL import Image, ImageFilter, ImageFont  # noqa: E402

SET_NAME = "glyph-outliers-train"
FRAME = 64
RENDER_SIZE = 160  # px; drawn at this size, strokes thickened or thinned, then area-averaged down
# The glyph's longer side in the 64×64 frame. The printed-symbols sets use 24–56 px; 20–40 px keeps the
# pool's file at ~7 MB instead of ~9.5 MB (anti-aliased edges are what costs bytes), and DigitNormalizer
# scales the ink into 20×20 either way (20 px is MNIST's own size).
SIZE_RANGE = (20, 40)
MIN_STROKE = 5  # px at RENDER_SIZE (as stroke_width estimates it): ~0.7–1.3 px once scaled down

FOLDERS = {  # Debian package → folder of its font files
    "fonts-noto-core": "/usr/share/fonts/truetype/noto",
    "fonts-open-sans": "/usr/share/fonts/truetype/open-sans",
    "fonts-lato": "/usr/share/fonts/truetype/lato",
    "fonts-cantarell": "/usr/share/fonts/opentype/cantarell",
    "fonts-sil-andika": "/usr/share/fonts/truetype/andika",
    "fonts-linuxlibertine": "/usr/share/fonts/opentype/linux-libertine",
    "fonts-ebgaramond": "/usr/share/fonts/opentype/ebgaramond",
    "fonts-roboto-unhinted": "/usr/share/fonts/truetype/roboto/unhinted",
    "fonts-cabin": "/usr/share/fonts/opentype/cabin",
    "fonts-gfs-didot": "/usr/share/fonts/opentype/didot",
    "fonts-sil-charis": "/usr/share/fonts/truetype/charis",
    "fonts-sil-gentiumplus": "/usr/share/fonts/truetype/gentiumplus",
    "fonts-nanum": "/usr/share/fonts/truetype/nanum",
    "fonts-comic-neue": "/usr/share/fonts/opentype/comic-neue",
    "fonts-humor-sans": "/usr/share/fonts/truetype/humor-sans",
    "fonts-ecolier-court": "/usr/share/fonts/truetype/ecolier-court",
    "fonts-breip": "/usr/share/fonts/truetype/breip",
    "fonts-femkeklaver": "/usr/share/fonts/truetype/femkeklaver",
    "fonts-tomsontalks": "/usr/share/fonts/truetype/tomsontalks",
    "fonts-isabella": "/usr/share/fonts/truetype/isabella",
}

# ---------------------------------------------------------------------------------------------------------
# Character groups. A character is drawn by group first, with these weights, so that the Latin alphabet
# (which every font has) does not swamp the rest, and the symbols do not depend on how many arrows and
# operators a font happens to have.

SYMBOL_GROUPS = ["punctuation", "arrows", "math"]
OTHER_SCRIPTS = ["armenian", "georgian", "hebrew", "arabic", "devanagari", "bengali", "tamil", "thai",
                 "ethiopic", "hangul"]
GROUP_WEIGHTS = {"latin": 0.40, "greek": 0.075, "cyrillic": 0.075,
                 **{s: 0.025 for s in OTHER_SCRIPTS},
                 "punctuation": 0.08, "arrows": 0.06, "math": 0.06}


def code_points(*ranges, step=1):
    return [chr(c) for lo, hi in ranges for c in range(lo, hi + 1, step)]


CANDIDATES = {
    "latin": code_points((0x41, 0x5A), (0x61, 0x7A)) + list(
        "ÀÁÂÄÅÆÇÈÉÊËÑÙÚÛÜÝßàáâäåæçèéêëñùúûüýÿŒœŠšŽžĆćĘęŃńŚśŹźŻżĞğŞşÞþ"),
    "greek": code_points((0x391, 0x3A9), (0x3B1, 0x3C9)),
    "cyrillic": code_points((0x410, 0x44F)) + list("ЁёЂђЃѓЉљЊњЋћЌќЎўЏџҐґ"),
    "armenian": code_points((0x531, 0x556), (0x561, 0x586)),
    "georgian": code_points((0x10D0, 0x10FA)),
    "hebrew": code_points((0x5D0, 0x5EA)),
    "arabic": code_points((0x621, 0x64A)) + list("\u067e\u0686\u0698\u06a9\u06af\u06cc"),  # + پ چ ژ ک گ ی
    "devanagari": code_points((0x904, 0x939)),  # independent vowels and consonants
    "bengali": code_points((0x985, 0x9B9)),
    "tamil": code_points((0xB85, 0xBB9)),
    "thai": code_points((0xE01, 0xE2E)),        # consonants
    "ethiopic": code_points((0x1200, 0x135A)),  # syllables
    "hangul": code_points((0xAC00, 0xD7A3), step=13),  # every 13th syllable: with and without a final
    "punctuation": list("?#@&%$+=*<>{}[]^§¶†‡«»¿£€¥©®µ÷×±¢¤₩₹₽₺₴₦₱₿₫₪‰‽№™℮ℵ℘"),
    "arrows": code_points((0x2190, 0x21FF)),
    "math": code_points((0x2200, 0x22FF)),
}

# Digit-shaped characters beyond make_near_ood_sets.DIGIT_LIKE_CHARS (which applies too, as do its bar
# rule and its italic rule). Found by rendering every candidate in every family here and looking, helped by
# a nearest-neighbour check against MNIST's training digits (done once, offline; not part of this script):
# the characters as close to MNIST digits as a font's own digits typically are (mean cosine similarity to
# the 10 nearest, after MNIST's normalisation, 0.78 or more) were looked at, and those a person would read
# as a digit are listed. First, characters the near-OOD sets do not draw from:
NEW_DIGIT_LIKE_CHARS = set(
    "ØøÐðŁł"                                  # a slashed 0, ∂-like 6s, a barred l (a 1)
    "\u0627\u0623\u0625\u0622"                # Arabic ا أ إ آ (alif: 1s)
    "\u0631\u0632\u0698"                      # Arabic ر ز ژ (hooked bars: 1s)
    "\u0647\u0629\u0648\u0624"                # Arabic ه ة (rings: 0s), و ؤ (9s)
    "\u0920"                                  # Devanagari ठ (a 0 under a bar, like Armenian Ծ)
    "\u098c\u099a\u09a3"                      # Bengali ঌ (the shape of the Bengali digit ৯), চ, ণ (5-, 9-like)
    "\u0e23\u0e18\u0e2d\u0e2e"                # Thai ร ธ (5s), อ ฮ (0s) in the loopless style
    "\u12d0\u12d1\u12d5\u12d6\u1340\u1345"    # Ethiopic ዐ ዑ ዕ ዖ ፀ ፅ (0s)
    "\u1203\u12db"                            # Ethiopic ሃ ዛ (4s)
    "\u122a\u122b\u122c"                      # Ethiopic ሪ ራ ሬ (6s)
    "\u1263\u12e8\u12eb\u12d3\u1343\u1346"    # Ethiopic ባ የ ያ ዓ ፃ ፆ (9s, 8s)
    "\u1308\u1309\u1280\u1285\u1295"          # Ethiopic ገ ጉ ኀ ኅ ን (7s)
    "\u1290"                                  # Ethiopic ነ (a 1)
    "\u00a4\u203d\u20b4"                      # ¤ (a ring), ‽ (a !), ₴ (an 8 or a 2 with bars)
)
# Second, characters the near-OOD sets do draw (and keep) that are a digit's shape in the fonts here: left
# out of training, so that the pool is stricter than the sets, never looser. The fair near-OOD cases the
# sets name (S, Z, B, g, q, δ, σ, Θ, Ч, ∞) stay, as do brackets, i, j and t.
STRICTER_DIGIT_LIKE_CHARS = set(
    "\u057b"                                  # Armenian ջ (a 2)
    "\u0411"                                  # Cyrillic Б (a 6, as б is)
    "\u05d3\u05da\u05e8\u05d9\u05e3"          # Hebrew ד ך ר (7s), י (an apostrophe), ף (a 9)
    "\u10d9\u10de\u10f0\u10f1\u10f4\u10dc\u10d1"  # Georgian კ პ ჰ ჱ ჴ (3s), ნ ბ (6s)
    "\u00b6"                                  # ¶ (a filled 9 in sans fonts)
    "\u21ba\u21bb"                            # ↺ ↻ (open rings: 0s)
    "\u221b\u221c"                            # ∛ ∜ (they hold a 3 and a 4)
    + "".join(chr(c) for c in range(0x222B, 0x2234))  # ∫ ∬ ∭ ∮ ∯ ∰ ∱ ∲ ∳ (slanted bars: 1s, 11s)
    + "\u2236\u2237\u2240\u22ee\u22f0\u22f1"  # ∶ ∷ (dots), ≀ (an S-bar), ⋮ ⋰ ⋱ (dot lines: 1s)
    + "\u2212"                                # − (a flat bar; bold fonts make it short enough to pass the bar rule)
)
OUTLIER_DIGIT_LIKE_CHARS = NEW_DIGIT_LIKE_CHARS | STRICTER_DIGIT_LIKE_CHARS
# The fair cases above, with brackets, bars, i, j, J, t and vertical arrows: letters and signs a digit can look
# like (S a 5, Z a 2, B an 8, g and q 9s, the rest 0s and 1s). --without-fair-cases leaves them out of
# the pool, for a network that should keep reading such digits rather than refuse the letters.
FAIR_CASES = set("SsZzBgqδσΘθЧч∞[](){}ijJtı↑↓|")
# And by font file (name prefix), where one font's design of a character is a digit, a shape or broken:
# the school cursive's t and r are 1s, its z a 3 and its * a blob; the blackletter's z are 3s (as
# make_near_ood_sets.py rules for the Hershey blackletters) and its L a 1; femkeklaver's * is an outlined
# star; the comic fonts' i become a bar once thickened and Humor Sans's $ a filled 8; Lato's ≠ draws only
# its slash. Humor Sans puts pictures (a smiley, a heart, a note) at some Latin-1 code points, so only its
# ASCII characters are used.
FONT_EXCLUDED_CHARS = {
    "Ecolier-court.ttf": set("trzžźż*"),
    "Isabella.ttf": set("ZzŽžŹźŻżL"),
    "femkeklaver.ttf": set("*"),
    "Humor-Sans.ttf": set("i$"),
    "TomsonTalks.ttf": set("i"),
    "Lato-": set("\u2260"),
}
FONT_ASCII_ONLY = {"Humor-Sans.ttf"}
# Simple shapes: the printed-symbols near-OOD sets draw rectangles, triangles, stars, crosses, diamonds
# with a generator that is reported on, so font characters that are such shapes stay out of training.
SHAPE_CHARS = set(
    "\u2206\u2207\u220e\u22bf"                 # ∆ ∇ (triangles), ∎ (a filled square), ⊿
    "\u229e\u229f\u22a0\u22a1"                 # ⊞ ⊟ ⊠ ⊡ (squares)
    "\u22b2\u22b3\u22b4\u22b5"                 # ⊲ ⊳ ⊴ ⊵ (triangles)
    "\u22c4\u22c6\u22c8\u22c9\u22ca"           # ⋄ (a diamond), ⋆ (a star), ⋈ ⋉ ⋊ (bowties)
)


def is_candidate(ch):
    """A letter, symbol or punctuation mark that is no number of any kind and not digit- or shape-like."""
    category = unicodedata.category(ch)
    return (category[0] in "LSP" and category != "Lm"
            and ch not in near.DIGIT_LIKE_CHARS and ch not in OUTLIER_DIGIT_LIKE_CHARS and ch not in SHAPE_CHARS)


# ---------------------------------------------------------------------------------------------------------
# Fonts: (family, Debian package, files, groups it is drawn for). Nothing here is DejaVu, FreeFont,
# Liberation, URW base35 or derived from them (the near-OOD dev and report roles use those), nor a Hershey
# font. Left out on purpose: fonts-hack (Hack descends from DejaVu Sans Mono), fonts-texgyre, Croscore
# (Arimo, Tinos, Cousine) and Nimbus (URW); GFS Didot's Latin is URW Palladio's design (P052 of the report
# role renders the same), so GFS Didot is used for Greek only; Lato, Roboto and Cantarell's thin and hairline
# weights, Linux Libertine Initials and Linux Biolinum Keyboard (decorated capitals, key caps);
# breipfont.ttf (the same font as Breip.ttf).
ALPHABETS = ["latin", "greek", "cyrillic", "armenian", "georgian", "hebrew"] + SYMBOL_GROUPS


def styles(prefix, names, ext="ttf"):
    return [f"{prefix}{n}.{ext}" for n in names]


NOTO_SCRIPT_FAMILIES = [  # (family, file prefix, weights, group)
    (f"Noto {kind} {script}", f"Noto{kind}{script}-", ["Regular", "Bold"], script.lower())
    for script in ["Armenian", "Georgian", "Hebrew", "Devanagari", "Bengali", "Tamil", "Thai", "Ethiopic"]
    for kind in ["Sans", "Serif"]
] + [
    ("Noto Rashi Hebrew", "NotoRashiHebrew-", ["Regular", "Bold"], "hebrew"),
    ("Noto Sans Arabic", "NotoSansArabic-", ["Regular", "Bold"], "arabic"),
    ("Noto Naskh Arabic", "NotoNaskhArabic-", ["Regular", "Bold"], "arabic"),
    ("Noto Kufi Arabic", "NotoKufiArabic-", ["Regular", "Bold"], "arabic"),
    ("Noto Looped Thai", "NotoLoopedThai-", ["Regular", "Bold"], "thai"),
]

FAMILIES = [
    ("Noto Sans", "fonts-noto-core", styles("NotoSans-", ["Regular", "Bold", "Italic", "BoldItalic"]), ALPHABETS),
    ("Noto Serif", "fonts-noto-core", styles("NotoSerif-", ["Regular", "Bold", "Italic", "BoldItalic"]), ALPHABETS),
    ("Noto Sans Math", "fonts-noto-core", ["NotoSansMath-Regular.ttf"], SYMBOL_GROUPS),
    ("Noto Sans Symbols", "fonts-noto-core", styles("NotoSansSymbols-", ["Regular", "Bold"]), SYMBOL_GROUPS),
] + [
    (family, "fonts-noto-core", styles(prefix, weights), [group])
    for family, prefix, weights, group in NOTO_SCRIPT_FAMILIES
] + [
    ("Open Sans", "fonts-open-sans", styles("OpenSans-", [
        "Regular", "Bold", "Italic", "BoldItalic", "Light", "LightItalic", "Semibold", "SemiboldItalic",
        "ExtraBold", "ExtraBoldItalic", "CondBold", "CondLight", "CondLightItalic"]), ALPHABETS),
    ("Lato", "fonts-lato", styles("Lato-", [
        "Regular", "Italic", "Light", "LightItalic", "Medium", "MediumItalic", "Semibold", "SemiboldItalic",
        "Bold", "BoldItalic", "Heavy", "HeavyItalic", "Black", "BlackItalic"]), ALPHABETS),
    ("Cantarell", "fonts-cantarell", styles("Cantarell-", ["Regular", "Bold", "ExtraBold", "Light"], "otf"), ALPHABETS),
    ("Andika", "fonts-sil-andika", styles("Andika-", ["Regular", "Bold", "Italic", "BoldItalic"]), ALPHABETS),
    ("Linux Libertine", "fonts-linuxlibertine", styles("LinLibertine_", [
        "R", "RB", "RI", "RBI", "RZ", "RZI", "DR", "M"], "otf"), ALPHABETS),
    ("Linux Biolinum", "fonts-linuxlibertine", styles("LinBiolinum_", ["R", "RB", "RI"], "otf"), ALPHABETS),
    ("EB Garamond", "fonts-ebgaramond", styles("EBGaramond", [
        "12-Regular", "12-Bold", "12-Italic", "08-Regular", "08-Italic"], "otf"), ALPHABETS),
    ("Roboto", "fonts-roboto-unhinted", styles("RobotoTTF/Roboto-", [
        "Regular", "Italic", "Light", "LightItalic", "Medium", "MediumItalic", "Bold", "BoldItalic",
        "Black", "BlackItalic"]), ALPHABETS),
    ("Roboto Condensed", "fonts-roboto-unhinted", styles("RobotoCondensed-", [
        "Regular", "Italic", "Light", "LightItalic", "Medium", "MediumItalic", "Bold", "BoldItalic"]), ALPHABETS),
    ("Cabin", "fonts-cabin", styles("Cabin-", [
        "Regular", "Italic", "Medium", "MediumItalic", "SemiBold", "SemiBoldItalic", "Bold", "BoldItalic"],
        "otf"), ALPHABETS),
    ("GFS Didot", "fonts-gfs-didot", styles("GFSDidot", ["", "Bold", "Italic", "BoldItalic"], "otf"), ["greek"]),
    ("Charis SIL", "fonts-sil-charis", styles("CharisSIL-", ["Regular", "Bold", "Italic", "BoldItalic"]), ALPHABETS),
    ("Gentium Plus", "fonts-sil-gentiumplus", styles("GentiumPlus-", ["Regular", "Bold", "Italic", "BoldItalic"]), ALPHABETS),
    ("Gentium Book Plus", "fonts-sil-gentiumplus", styles("GentiumBookPlus-", [
        "Regular", "Bold", "Italic", "BoldItalic"]), ALPHABETS),
    ("Nanum Gothic", "fonts-nanum", styles("NanumGothic", ["", "Bold"]), ["hangul"]),
    ("Nanum Gothic Coding", "fonts-nanum", styles("NanumGothicCoding", ["", "Bold"]), ["hangul"]),
    ("Nanum Barun Gothic", "fonts-nanum", styles("NanumBarunGothic", ["", "Bold"]), ["hangul"]),
    ("Nanum Myeongjo", "fonts-nanum", styles("NanumMyeongjo", ["", "Bold"]), ["hangul"]),
    ("Nanum Square", "fonts-nanum", styles("NanumSquare", ["R", "B"]), ["hangul"]),
    ("Nanum Square Round", "fonts-nanum", styles("NanumSquareRound", ["R", "B"]), ["hangul"]),
    # Handwriting-like.
    ("Comic Neue", "fonts-comic-neue", styles("ComicNeue-", [
        "Regular", "Bold", "Italic", "BoldItalic", "Light", "LightItalic"], "otf"), ALPHABETS),
    ("Humor Sans", "fonts-humor-sans", ["Humor-Sans.ttf"], ALPHABETS),
    ("Ecolier court", "fonts-ecolier-court", ["Ecolier-court.ttf"], ALPHABETS),
    ("Breip", "fonts-breip", ["Breip.ttf"], ALPHABETS),
    ("femkeklaver", "fonts-femkeklaver", ["femkeklaver.ttf"], ALPHABETS),
    ("Tomson Talks", "fonts-tomsontalks", ["TomsonTalks.ttf"], ALPHABETS),
    ("Isabella", "fonts-isabella", ["Isabella.ttf"], ALPHABETS),
]

# A family takes part in a group only with at least this many characters of it (a Latin font with three
# Greek letters would otherwise weigh as much as a Greek one).
MIN_CHARACTERS = {"punctuation": 8, "arrows": 8, "math": 8}
MIN_LETTERS = 15


def font_file(package, name):
    path = os.path.join(FOLDERS[package], name)
    if not os.path.exists(path):
        sys.exit(f"missing font file {path}: install the Debian package {package} (apt-get install {package})")
    return path


def has_base(font, notdef, ch):
    """False for an accented letter whose base letter the font lacks: such a font may draw the accent
    alone (EB Garamond 8 Italic has no Cyrillic, yet draws Ѓ and Ё as their accents)."""
    decomposition = unicodedata.decomposition(ch)
    if not decomposition or decomposition.startswith("<"):
        return True
    base = chr(int(decomposition.split()[0], 16))
    ink = near.render_text(font, base)
    return ink is not None and not (notdef is not None and ink.shape == notdef.shape and np.array_equal(ink, notdef))


def characters_of(path, groups):
    """{group: [characters path really draws]}: the near-OOD script's test (not empty, not .notdef, not a
    bar, its italic rule) on the candidates of each group."""
    _, style = ImageFont.truetype(path, 12).getname()
    italic = any(word in style for word in ("Italic", "Oblique"))
    file = os.path.basename(path)
    excluded = set().union(*(chars for prefix, chars in FONT_EXCLUDED_CHARS.items() if file.startswith(prefix)))
    ascii_only = file in FONT_ASCII_ONLY
    font = ImageFont.truetype(path, 48)
    notdef = near.render_text(font, "\U000F0000")
    out = {}
    for group in groups:
        chars = [c for c in CANDIDATES[group] if is_candidate(c) and c not in excluded
                 and not (ascii_only and not c.isascii())
                 and not (italic and c in near.ITALIC_DIGIT_LIKE_CHARS)
                 and has_base(font, notdef, c)]
        kept = near.available_characters(path, chars)
        if kept:
            out[group] = kept
    return out


def catalogue():
    """{group: [(family, [(path, [characters])])]}, in a fixed order."""
    by_group = collections.OrderedDict((g, []) for g in GROUP_WEIGHTS)
    for family, package, files, groups in FAMILIES:
        per_file = [(path, characters_of(path, groups)) for path in (font_file(package, f) for f in files)]
        for group in groups:
            entries = [(path, chars[group]) for path, chars in per_file if group in chars]
            most = max((len(c) for _, c in entries), default=0)
            if entries and most >= MIN_CHARACTERS.get(group, MIN_LETTERS):
                by_group[group].append((family, entries))
    missing = [g for g, families in by_group.items() if not families]
    if missing:
        sys.exit(f"no font draws the groups {missing}: are the font packages installed?")
    return by_group


# ---------------------------------------------------------------------------------------------------------
# Drawing.

def stroke_width(image):
    """Rough stroke width of a 0–255 ink picture, in px: twice the ink's area over its outline's length."""
    ink = np.asarray(image) > 127
    inner = np.asarray(image.point(lambda v: 255 if v > 127 else 0).filter(ImageFilter.MinFilter(3))) > 0
    return 2 * ink.sum() / max(1, (ink & ~inner).sum())


def change_strokes(image, change):
    """Thickens (change > 0) or thins (change < 0) the strokes of a 0–255 ink picture by |change| px on
    each side. Thinning is skipped where it would break a hairline: when an opening of the same size
    (thin, then thicken back) loses more than 2% of the ink."""
    if change == 0:
        return image
    size = 2 * abs(change) + 1
    if change > 0:
        return image.filter(ImageFilter.MaxFilter(size))
    thinned = image.filter(ImageFilter.MinFilter(size))
    reopened = np.asarray(thinned.filter(ImageFilter.MaxFilter(size)), dtype=np.float64)
    return thinned if reopened.sum() >= 0.98 * np.asarray(image, dtype=np.float64).sum() else image


def affine(image, matrix):
    """The picture mapped by a 2×2 matrix about its centre, on a canvas holding all of it."""
    w, h = image.size
    corners = (np.array([[0, 0], [w, 0], [0, h], [w, h]]) - [w / 2, h / 2]) @ matrix.T
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    size = tuple(int(math.ceil(v)) + 2 for v in hi - lo)
    inv = np.linalg.inv(matrix)
    origin = lo - 1  # output pixel (X, Y) sits at (X, Y) + origin around the centre
    a, b, d, e = inv[0, 0], inv[0, 1], inv[1, 0], inv[1, 1]
    c = a * origin[0] + b * origin[1] + w / 2
    f = d * origin[0] + e * origin[1] + h / 2
    return image.transform(size, Image.AFFINE, (a, b, c, d, e, f), resample=Image.BICUBIC)


def glyph_image(font, ch, rng):
    ink = near.render_text(font, ch)
    image = Image.fromarray(np.clip(ink * 255, 0, 255).astype(np.uint8))
    # A change of −2…+2 px, but strokes end no thinner than MIN_STROKE: hairline and light fonts are not
    # thinned, and the thinnest (outline and school-cursive fonts) are thickened, or they would end grey.
    change = int(rng.integers(-2, 3))
    change = min(2, max(change, math.ceil((MIN_STROKE - stroke_width(image)) / 2)))
    image = change_strokes(image, change)
    image = affine(image, near.random_linear(rng, 15, 0.15, (0.9, 1.1)))  # rotation · shear · stretch
    ink = near.crop(np.asarray(image, dtype=np.float64) / 255)
    ink = near.paste_scaled(ink, rng, FRAME, SIZE_RANGE, margin=3)
    return near.compose(ink, rng, dark_on_light=False)


def make_pool(by_group, seed, count):
    rng = np.random.default_rng([seed, 0x6F7574])  # its own stream, unrelated to the near-OOD sets' streams
    groups = list(by_group)
    weights = np.array([GROUP_WEIGHTS[g] for g in groups])
    fonts = {}
    images, sources = [], []
    for _ in range(count):
        group = groups[rng.choice(len(groups), p=weights / weights.sum())]
        family, entries = by_group[group][rng.integers(len(by_group[group]))]
        path, chars = entries[rng.integers(len(entries))]
        ch = chars[rng.integers(len(chars))]
        if path not in fonts:
            fonts[path] = ImageFont.truetype(path, RENDER_SIZE)
        images.append(glyph_image(fonts[path], ch, rng))
        sources.append((os.path.basename(path), ord(ch), group, family))
    return np.stack(images), sources


def write_text_gz(path, lines):
    """Text lines, gzip-compressed with no time stamp or file name, so the bytes depend on the text only."""
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
        f.write("".join(lines).encode())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="folder for the IDX file, the sources list and the preview")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--without-fair-cases", action="store_true",
                        help="drop the images of FAIR_CASES after drawing the pool (same draws, fewer images), "
                             f"written as {SET_NAME}-strict-*")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    by_group = catalogue()
    images, sources = make_pool(by_group, args.seed, args.count)
    name = SET_NAME
    if args.without_fair_cases:
        keep = [i for i, (_, cp, _, _) in enumerate(sources) if chr(cp) not in FAIR_CASES]
        images, sources, name = images[keep], [sources[i] for i in keep], f"{SET_NAME}-strict"
    stem = os.path.join(args.out, name)
    near.write_idx(f"{stem}-images-idx3-ubyte.gz", images)
    write_text_gz(f"{stem}-sources.txt.gz", (f"{i}\t{file}\tU+{cp:04X}\t{group}\n"
                                            for i, (file, cp, group, _) in enumerate(sources)))
    near.write_preview(os.path.join(args.out, f"preview-{name}.png"), images, count=200, columns=20)
    print(f"{stem}: {len(images)} images {images.shape[1]}×{images.shape[2]}", file=sys.stderr)
    for label, key in (("group", 2), ("family", 3)):
        counts = collections.Counter(s[key] for s in sources)
        print(f"by {label}: " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1])),
              file=sys.stderr)


if __name__ == "__main__":
    main()
