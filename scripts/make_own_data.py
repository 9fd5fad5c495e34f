#!/usr/bin/env python3
"""Makes the development data sets for "your own data" (issue 12), deterministically from a seed.

    python3 scripts/make_own_data.py OUT_DIR [--seed 0] [--count 600]

OUT_DIR receives:
  shapes-grey/{train,test}/<circle|square|triangle|cross>/*.png   grey images of varying sizes (20–40 px)
  shapes-colour/{train,test}/<class>/*.png                        RGB shapes of varying sizes, bright ink on dark grounds
  blobs-label-last.csv, blobs-label-first.csv (+ -test.csv)        tables: 5 features, text labels
  shapes-idx/{train,test}-{images-idx3,labels-idx1}-ubyte.gz       28×28 shapes in MNIST's IDX format
None of these is MNIST or notMNIST: they exist to exercise the three source forms end to end, and a model
trained on the IDX shapes must refuse MNIST digits. Only numpy is needed.
"""
import argparse, gzip, os, struct, zlib
import numpy as np

CLASSES = ["circle", "cross", "square", "triangle"]


def png_bytes(pixels):
    """A PNG of a (h, w) grey or (h, w, 3) RGB uint8 array."""
    h, w = pixels.shape[:2]
    colour = 2 if pixels.ndim == 3 else 0
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def shape_mask(kind, size, rng):
    """A (size, size) float mask in [0, 1] of one outlined or filled shape at a random place and scale."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    cx, cy = rng.uniform(0.35, 0.65, 2) * size
    r = rng.uniform(0.22, 0.38) * size
    thickness = rng.uniform(0.06, 0.14) * size
    filled = rng.random() < 0.3
    if kind == "circle":
        d = np.hypot(x - cx, y - cy)
        inside = d <= r if filled else np.abs(d - r) <= thickness / 2
    elif kind == "square":
        d = np.maximum(np.abs(x - cx), np.abs(y - cy))
        inside = d <= r if filled else np.abs(d - r) <= thickness / 2
    elif kind == "cross":
        inside = ((np.abs(x - cx) <= thickness / 2) & (np.abs(y - cy) <= r)) | ((np.abs(y - cy) <= thickness / 2) & (np.abs(x - cx) <= r))
    else:  # triangle: distance to the three half-planes of an upward triangle
        a = np.array([cx, cy - r]); b = np.array([cx - r * 0.87, cy + r * 0.5]); c = np.array([cx + r * 0.87, cy + r * 0.5])
        def side(p, q):
            n = np.array([q[1] - p[1], p[0] - q[0]]); n /= np.linalg.norm(n)
            return (x - p[0]) * n[0] + (y - p[1]) * n[1]
        s = np.stack([side(a, b), side(b, c), side(c, a)])
        s = -s if s.mean() > 0 and np.all(s[:, int(cy), int(cx)] > 0) else s
        m = s.max(axis=0)
        inside = m <= 0 if filled else np.abs(m) <= thickness / 2
    return inside.astype(np.float32)


def grey_image(kind, size, rng):
    ink = shape_mask(kind, size, rng)
    image = ink * rng.uniform(0.7, 1.0) + rng.normal(0, 0.04, ink.shape)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def colour_image(kind, size, rng):
    ink = shape_mask(kind, size, rng)[..., None]
    # A dark ground and bright ink, each of a random hue: the shape, not the colour, names the class.
    ground, colour = rng.uniform(0, 0.3, 3), rng.uniform(0.3, 1, 3)
    colour[rng.integers(0, 3)] = 1.0
    image = ground * (1 - ink) + colour * ink + rng.normal(0, 0.03, (size, size, 3))
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def write_folder(root, count, make, sizes, rng):
    for kind in CLASSES:
        os.makedirs(os.path.join(root, kind), exist_ok=True)
        for i in range(count // len(CLASSES)):
            size = int(rng.choice(sizes))
            with open(os.path.join(root, kind, f"{i:04d}.png"), "wb") as f:
                f.write(png_bytes(make(kind, size, rng)))


def write_idx(path, array):
    with gzip.open(path, "wb") as f:
        if array.ndim == 3:
            f.write(struct.pack(">IIII", 0x803, *array.shape) + array.astype(np.uint8).tobytes())
        else:
            f.write(struct.pack(">II", 0x801, len(array)) + array.astype(np.uint8).tobytes())


def blobs(count, centres, rng):
    """Five features, three classes with text labels: Gaussian blobs around `centres` in three features,
    two features of noise, each feature on its own scale."""
    names = ["amber", "basalt", "cobalt"]
    labels = rng.integers(0, 3, count)
    informative = centres[labels] + rng.normal(0, 1.0, (count, 3))
    noise = rng.normal(5, 3, (count, 2))
    return np.concatenate([informative, noise], axis=1) * np.array([1, 10, 0.1, 1, 100]), [names[l] for l in labels]


def write_csv(path, features, labels, label_first):
    columns = ["length", "weight", "ratio", "depth", "price"]
    with open(path, "w") as f:
        header = (["kind"] + columns) if label_first else (columns + ["kind"])
        f.write(",".join(header) + "\n")
        for row, label in zip(features, labels):
            values = [f"{v:.5g}" for v in row]
            f.write(",".join(([label] + values) if label_first else (values + [label])) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=600, help="training images per folder set (test: a third)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    for split, count in [("train", args.count), ("test", args.count // 3)]:
        write_folder(os.path.join(args.out, "shapes-grey", split), count, grey_image, [20, 24, 28, 32, 40], rng)
        write_folder(os.path.join(args.out, "shapes-colour", split), count, colour_image, [24, 32, 32, 48], rng)
    for split, count in [("train", 6000), ("test", 2000)]:
        labels = rng.integers(0, len(CLASSES), count)
        images = np.stack([grey_image(CLASSES[l], 28, rng) for l in labels])
        os.makedirs(os.path.join(args.out, "shapes-idx"), exist_ok=True)
        write_idx(os.path.join(args.out, "shapes-idx", f"{split}-images-idx3-ubyte.gz"), images)
        write_idx(os.path.join(args.out, "shapes-idx", f"{split}-labels-idx1-ubyte.gz"), labels)
    centres = rng.normal(0, 2.5, (3, 3))
    features, labels = blobs(900, centres, rng)
    write_csv(os.path.join(args.out, "blobs-label-last.csv"), features, labels, label_first=False)
    write_csv(os.path.join(args.out, "blobs-label-first.csv"), features, labels, label_first=True)
    features, labels = blobs(300, centres, rng)
    write_csv(os.path.join(args.out, "blobs-test.csv"), features, labels, label_first=False)


if __name__ == "__main__":
    main()
