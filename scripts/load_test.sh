#!/usr/bin/env bash
# Load test of a running `bnn serve`: POST /api/predict with a 100-sample pixels request from wrk.
#
#   scripts/load_test.sh [BASE_URL] [DURATION] [CONNECTIONS] [THREADS]
#   scripts/load_test.sh http://127.0.0.1:8080 20s 16 2
#
# The body is a real MNIST test digit fetched from the server itself (GET /api/sample?kind=mnist&index=0;
# white noise when the server has no MNIST), sent the way the page sends a drawing: 784 values and
# "samples": 100, normalised by the server. Needs wrk (apt-get install wrk), curl and python3.
# Only talks to BASE_URL; keep it on loopback.
set -euo pipefail

base="${1:-http://127.0.0.1:8080}"
duration="${2:-20s}"
connections="${3:-16}"
threads="${4:-2}"

command -v wrk >/dev/null || { echo "load_test.sh: wrk is missing (apt-get install wrk)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

curl -fsS "$base/api/health" >/dev/null || { echo "load_test.sh: no server answers at $base" >&2; exit 1; }
curl -fsS "$base/api/sample?kind=mnist&index=0" -o "$work/sample.json" 2>/dev/null \
  || curl -fsS "$base/api/sample?kind=noise&index=1" -o "$work/sample.json"

python3 - "$work/sample.json" "$work/predict.lua" <<'EOF'
import json, sys
sample = json.load(open(sys.argv[1]))
body = json.dumps({"pixels": [round(v, 3) for v in sample["pixels"]], "samples": 100}, separators=(",", ":"))
with open(sys.argv[2], "w") as lua:
    lua.write('wrk.method = "POST"\n')
    lua.write('wrk.headers["Content-Type"] = "application/json"\n')
    lua.write("wrk.body = [[" + body + "]]\n")
    # Count answers that are not 200 (wrk counts only non-2xx/3xx), and show one to say why.
    lua.write("""
local bad = 0
function response(status, headers, body)
  if status ~= 200 then
    if bad == 0 then io.stderr:write("first non-200 answer: " .. status .. " " .. body .. "\\n") end
    bad = bad + 1
  end
end
""")
print(f"body: {len(body)} bytes, {sample['kind']} #{sample['index']} (label {sample.get('label')}), 100 samples", file=sys.stderr)
EOF

echo "wrk -t$threads -c$connections -d$duration --latency -s predict.lua $base/api/predict" >&2
wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$work/predict.lua" "$base/api/predict"
