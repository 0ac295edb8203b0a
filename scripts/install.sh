#!/usr/bin/env bash
# Usage: scripts/install.sh [PREFIX]
# Installs the build in build/ (scripts/build.sh) into PREFIX (default /usr/local): bin/fmnist,
# its man page, bash and zsh completion, the C++ library, headers and CMake package, and
# share/doc/fmnist with the sample images. Uses sudo when not root and PREFIX is not writable.
# Uninstall: xargs rm -v < build/install_manifest.txt (with sudo likewise).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
sudo=""
if [[ $(id -u) -ne 0 ]] && ! { mkdir -p "$prefix" && [[ -w $prefix ]]; } 2>/dev/null; then
  sudo="sudo"
fi
$sudo cmake --install build --prefix "$prefix"
[[ $(id -u) -eq 0 || -n $sudo ]] && $sudo ldconfig  # libfmnist.so for programs that link it
echo "installed: $prefix/bin/fmnist ($("$prefix/bin/fmnist" --version | head -1))"
