#!/usr/bin/env bash
# Usage: scripts/build-asan.sh [TARGET...]   (default: everything)
#
# The instrumented build that scripts/sanitize.sh and scripts/fuzz.sh share, in build-asan/:
# clang with FMNIST_FUZZ=ON (cmake/Sanitizers.cmake), so the library, the CLI, the tests and the
# libFuzzer targets all carry AddressSanitizer + UndefinedBehaviorSanitizer (any undefined
# behaviour aborts) and coverage instrumentation. One build serves both: compiling LibTorch code
# is most of CI's time. Installs what it needs first (scripts/install-deps.sh fuzz).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/install-deps.sh" fuzz
cmake -S "$root" -B "$root/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER=clang++ -DFMNIST_FUZZ=ON -DFMNIST_BUILD_TESTS=ON >/dev/null
ninja -C "$root/build-asan" "$@"
