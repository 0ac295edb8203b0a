#!/usr/bin/env bash
# Configures and builds fmnist (Release) and its tests into build/. Extra arguments go to cmake,
# e.g. -DCMAKE_PREFIX_PATH=/path/to/libtorch for another LibTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
[[ -f build/CMakeCache.txt ]] && generator=()  # keep the generator the build dir was made with
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build --parallel "$(nproc)"
