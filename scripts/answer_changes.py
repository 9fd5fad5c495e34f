#!/usr/bin/env python3
"""How often an input's answer changes between evaluation seeds.

Usage: scripts/answer_changes.py RUN1.jsonl RUN2.jsonl [RUN3.jsonl ...]

Each file is written by `bnn evaluate --decisions FILE` (same model and sample count, different --seed).
For every data set present in all files (white noise is redrawn from --seed, so it is skipped when its
images differ), prints the share of inputs whose answer (the set of classes, or "I don't know") is not the
same in every run, the share whose refusal changes, and the mean number of samples per input.
"""
import json
import sys
from collections import defaultdict


def load(path):
    answers = defaultdict(dict)
    with open(path) as handle:
        for line in handle:
            entry = json.loads(line)
            answers[entry["set"]][entry["index"]] = entry
    return answers


def main(paths):
    if len(paths) < 2:
        sys.exit(__doc__)
    runs = [load(path) for path in paths]
    print(f"{'set':<12} {'inputs':>7} {'answer changes':>15} {'refusal changes':>16} {'mean samples':>13}")
    for name in sorted(set.intersection(*(set(run) for run in runs))):
        if name == "noise":
            continue  # redrawn from each run's seed: not the same images
        indices = sorted(set.intersection(*(set(run[name]) for run in runs)))
        changed = sum(1 for i in indices if len({tuple(run[name][i]["classes"]) for run in runs}) > 1)
        refusal = sum(1 for i in indices if len({run[name][i]["refused"] for run in runs}) > 1)
        samples = sum(run[name][i]["samples"] for run in runs for i in indices) / (len(runs) * len(indices))
        print(f"{name:<12} {len(indices):>7} {100 * changed / len(indices):>14.2f}% {100 * refusal / len(indices):>15.2f}% {samples:>13.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
