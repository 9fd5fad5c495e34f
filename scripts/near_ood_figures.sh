#!/usr/bin/env bash
# Prints a digit model's figures on the near-out-of-distribution development sets (DevSets/near-ood):
# MNIST test, white noise and notMNIST as `bnn evaluate` gives them, then the handwritten and printed
# symbols (share refused, AUROC against MNIST test digits), then the font and mouse digits (share refused,
# accuracy on the accepted ones, forced accuracy).
#
#   scripts/near_ood_figures.sh MODEL [dev|report] [BNN]
#
# ROLE is `dev` (the sets settings are chosen on; default) or `report` (final figures only; see
# DevSets/near-ood/README.md). BNN is the bnn binary (default: .build/release/bnn). Data as for `bnn
# evaluate` (--data-dir via $BNN_DATA_DIR). Needs python3 (standard library only).
set -euo pipefail
model=${1:?usage: near_ood_figures.sh MODEL [dev|report] [BNN]}
role=${2:-dev}
bnn=${3:-.build/release/bnn}
case "$role" in dev|report) ;; *) echo "near_ood_figures.sh: ROLE must be dev or report, not '$role'" >&2; exit 64 ;; esac
sets="$(cd "$(dirname "$0")/.." && pwd)/DevSets/near-ood"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bnn" evaluate --model "$model" --json \
    --ood "handwritten=$sets/handwritten-symbols-$role-images-idx3-ubyte.gz" \
    --ood "printed=$sets/printed-symbols-$role-images-idx3-ubyte.gz" > "$out/main.json"
for digits in font-digits mouse-digits; do
    "$bnn" evaluate --model "$model" --json \
        --test "$sets/$digits-$role-images-idx3-ubyte.gz,$sets/$digits-$role-labels-idx1-ubyte.gz" > "$out/$digits.json"
done
python3 - "$out" "$role" <<'PY'
import json, sys
folder, role = sys.argv[1], sys.argv[2]
main = json.load(open(f"{folder}/main.json"))
sets = main["datasets"]
pct = lambda x: f"{100 * x:.1f}%"
print(f"MNIST test: forced accuracy {100 * main['forced_accuracy']:.2f}%, refused {100 * sets['mnist']['refused']:.2f}%, "
      f"accepted accuracy {100 * sets['mnist']['accepted_accuracy']:.2f}%")
for name in ["noise", "notmnist", "handwritten", "printed"]:
    if name in sets:
        print(f"{name} ({role if name in ('handwritten', 'printed') else 'test'}): refused {pct(sets[name]['refused'])}, AUROC {sets[name]['auroc']:.3f}")
for digits in ["font-digits", "mouse-digits"]:
    result = json.load(open(f"{folder}/{digits}.json"))
    test = result["datasets"]["test"]
    print(f"{digits} ({role}): refused {pct(test['refused'])}, accepted accuracy {pct(test['accepted_accuracy'])}, "
          f"forced accuracy {pct(result['forced_accuracy'])}")
PY
