#!/usr/bin/env python3
"""Interoperability check between swift-bnn and the Python `safetensors` package.

  check_safetensors.py FILE           load FILE with safetensors and print, as one JSON object,
                                      {"metadata": {...}, "tensors": {name: {"dtype", "shape",
                                      "sum", "values"}}}; values are exact (float32 -> float64).
  check_safetensors.py --write FILE   write a fixed reference file (F32, F64 and F16 tensors)
                                      that the Swift tests read back.

Exit status 0 on success; errors go to stderr. Requires numpy and safetensors.
"""
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file


def describe(path):
    with safe_open(path, framework="np") as handle:
        metadata = handle.metadata() or {}
        tensors = {}
        for name in handle.keys():
            array = handle.get_tensor(name)
            tensors[name] = {
                "dtype": str(array.dtype),
                "shape": list(array.shape),
                "sum": float(array.astype(np.float64).sum()),
                "values": array.astype(np.float64).reshape(-1).tolist(),
            }
    return {"metadata": metadata, "tensors": tensors}


def write_reference(path):
    tensors = {
        "layers.0.weight.mu": (np.arange(6, dtype=np.float32).reshape(2, 3) * np.float32(0.5) - np.float32(1.25)),
        "layers.0.bias": np.array([1e-7, -3.0e38, 0.1], dtype=np.float32),
        "double": np.array([[0.1, 2.0]], dtype=np.float64),
        "half": np.array([1.0, -2.5, 65504.0, 6e-8], dtype=np.float16),
        "scalar": np.array(7.0, dtype=np.float32),
        "empty": np.zeros((0, 4), dtype=np.float32),
    }
    save_file(tensors, path, metadata={"format": "swift-bnn", "origin": "python"})


def main(argv):
    if len(argv) == 3 and argv[1] == "--write":
        write_reference(argv[2])
        return 0
    if len(argv) == 2:
        print(json.dumps(describe(argv[1])))
        return 0
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
