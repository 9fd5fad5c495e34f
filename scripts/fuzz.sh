#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ (AddressSanitizer on) and runs each for SECONDS (default 30).
#
#   scripts/fuzz.sh [SECONDS] [TARGET…]      e.g. scripts/fuzz.sh 600 FuzzGzip
#
# Targets: FuzzIDX FuzzGzip FuzzPNG FuzzPGM FuzzModel FuzzRequest (default: all, one after another).
# Each starts from the seed corpus in Fuzz/Corpus/<name>/ plus what earlier runs found, kept in
# $BNN_FUZZ_WORK (default Fuzz/.work/): corpus/<name>/, logs/<name>.log, and crash-*/timeout-*/oom-*
# inputs in artifacts/. Prints executions per target; exits non-zero if the build fails or any target
# finds a crash, a timeout or an out-of-memory input. See docs/fuzzing.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzIDX FuzzGzip FuzzPNG FuzzPGM FuzzModel FuzzRequest)
work="${BNN_FUZZ_WORK:-$root/Fuzz/.work}"

# One -sanitize flag: two separate ones (fuzzer, then address) silently drop the coverage instrumentation.
# A toolchain that cannot build them (no libFuzzer) fails here, loudly: the fuzzers are never skipped.
# Without --disable-build-manifest-caching, source files added to the main package since the last build
# are not seen (it is a path dependency of Fuzz/, whose own manifest did not change).
build=(swift build --package-path "$root/Fuzz" -c release --disable-build-manifest-caching -Xswiftc -sanitize=fuzzer,address)
mkdir -p "$work/artifacts" "$work/logs"
echo "fuzz: building ${targets[*]} with $(swift --version 2>&1 | head -1) (log: $work/logs/build.log)"
for target in "${targets[@]}"; do
    if ! "${build[@]}" --product "$target" >>"$work/logs/build.log" 2>&1; then
        grep -E 'error|undefined' "$work/logs/build.log" | tail -20 >&2
        echo "fuzz: FAILED to build $target (see $work/logs/build.log)" >&2
        exit 1
    fi
done
bin="$("${build[@]}" --show-bin-path)"

failed=()
for target in "${targets[@]}"; do
    name="$(echo "${target#Fuzz}" | tr '[:upper:]' '[:lower:]')"
    corpus="$work/corpus/$name"
    mkdir -p "$corpus"
    log="$work/logs/$name.log"
    # Leak checking is off: the Swift runtime's caches read as leaks; crashes, overflows and
    # use-after-free are what these targets look for. Inputs are at most 64 KB; each must finish in 10 s
    # and 2 GB. -print_funcs=0: symbolising every newly covered function slowed some targets to a few
    # executions a second.
    set +e
    "$bin/$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 \
        -print_funcs=0 -print_final_stats=1 -artifact_prefix="$work/artifacts/$name-" "$corpus" "$root/Fuzz/Corpus/$name" >"$log" 2>&1
    status=$?
    set -e
    executions="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    if [ "$status" -eq 0 ]; then
        echo "fuzz: $target: ${executions:-?} executions in ${seconds}s, no crash"
    else
        echo "fuzz: $target: FAILED (exit $status) after ${executions:-?} executions; log $log" >&2
        grep -E 'ERROR|SUMMARY|Fatal error|Test unit written' "$log" | head -20 >&2 || true
        failed+=("$target")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: failing targets: ${failed[*]}" >&2
    exit 1
fi
