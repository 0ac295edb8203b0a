#!/usr/bin/env bash
# Usage: scripts/fuzz.sh [SECONDS [TARGET...]]   (default 60 s; targets idx, image, checkpoint, serve)
#
# Builds the libFuzzer targets of tests/fuzz with clang in build-asan/ (scripts/build-asan.sh: our code
# and stb_image instrumented with coverage, ASan and UBSan; LibTorch and zlib are Debian's
# uninstrumented libraries) and runs each target for SECONDS on a copy of its seed corpus in a
# temporary directory, so tests/fuzz/corpus/ does not grow. Prints the executions per target and
# exits non-zero on any finding: a crash, a sanitizer report, an exception other than
# fmnist::Error, a broken result contract, a hang (-timeout), or memory use past the limits.
# Reproducers land in build-asan/fuzz-artifacts/<date-time>/; rerun one with
#   build-asan/tests/fuzz/image_fuzz build-asan/fuzz-artifacts/<date-time>/image-crash-...
# (with the ASAN_OPTIONS below).
set -euo pipefail

seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS [TARGET...]]" >&2; exit 2; }
shift $(($# > 0 ? 1 : 0))
targets=("$@")
((${#targets[@]} > 0)) || targets=(idx image checkpoint serve)
for name in "${targets[@]}"; do
  [[ $name =~ ^(idx|image|checkpoint|serve)$ ]] || { echo "fuzz.sh: no target '$name'" >&2; exit 2; }
done
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build-asan
artifacts=$build/fuzz-artifacts/$(date +%Y%m%d-%H%M%S)  # this run's findings only

"$root/scripts/build-asan.sh" idx_fuzz image_fuzz checkpoint_fuzz serve_fuzz

# Runtime settings. LibTorch, zlib and OpenBLAS are Debian's uninstrumented libraries; clang
# links the static ASan runtime into the executable, so their malloc/free go through ASan's
# allocator too, and they need no suppression here: no ODR-violation or new/delete-mismatch
# report comes from them in these targets (nor in the test suite, scripts/sanitize.sh). Leak
# detection stays on: libFuzzer checks every input for leaks (a missing stbi_image_free or
# inflateEnd would show); LibTorch's lifetime caches stay reachable from globals, so LSan does
# not count them. UBSan prints the stack and stops at the first report (the build also has
# -fno-sanitize-recover=undefined). New heap blocks are filled with 0xff (their first 64 KiB), so
# that a read of uninitialised memory (as stb_image 2.27's of undefined Huffman tables was)
# reproduces; with ASan's default (the first 4 KiB, with 0xbe) it depends on the heap's past.
asan_defaults=detect_leaks=1:symbolize=1:max_malloc_fill_size=65536:malloc_fill_byte=255
export ASAN_OPTIONS=${ASAN_OPTIONS:-$asan_defaults}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

work=$(mktemp -d -t fmnist-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"

# -max_len: an IDX header with a few KB of payload, or a small image, exercises every path;
#   longer inputs only slow each execution down (a 64 KiB gzip can inflate to 64 MiB). A
#   checkpoint's weights alone take 900 KB: that target reads up to 4 MiB.
# -rss_limit_mb / -malloc_limit_mb: LibTorch plus ASan needs a few hundred MB to start; a single
#   allocation over 1 GiB, or a process over 2 GiB, is a memory bomb reported as a finding.
# -timeout: one input taking longer than 60 s is a hang. The largest image accepted
#   (kMaxImagePixels) takes about 4 s to decode natively but up to 40 s under ASan+UBSan.
status=0
summary=()
for name in "${targets[@]}"; do
  max_len=65536
  [[ $name == checkpoint ]] && max_len=4194304
  corpus=$work/corpus-$name
  cp -r "$root/tests/fuzz/corpus/$name" "$corpus"
  log=$work/$name.log
  echo "== ${name}_fuzz: ${seconds}s, seed corpus $(ls "$corpus" | wc -l) files"
  set +e
  "$build/tests/fuzz/${name}_fuzz" "$corpus" \
    -max_total_time="$seconds" -max_len="$max_len" -timeout=60 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -artifact_prefix="$artifacts/$name-" -print_final_stats=1 2>&1 | tee "$log" |
    grep -v -E '^#[0-9]+\s+(NEW|REDUCE|pulse)' # keep the output readable
  rc=${PIPESTATUS[0]}
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [[ -z $runs ]]; then  # a crash prints no final stats: take the last progress line
    runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  fi
  summary+=("${name}_fuzz: ${runs:-0} executions, corpus $(ls "$corpus" | wc -l) files, exit $rc")
  if ((rc != 0)); then
    status=1
    echo "!! ${name}_fuzz found a problem (exit $rc); reproducer(s):"
    ls -1 "$artifacts/$name-"* 2>/dev/null | sed 's/^/   /' || true
  fi
done

echo "== fuzz summary (${seconds}s per target)"
printf '   %s\n' "${summary[@]}"
exit $status
