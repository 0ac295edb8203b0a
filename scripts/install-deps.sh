#!/usr/bin/env bash
# Usage: scripts/install-deps.sh [fuzz]
# Installs every Debian package fmnist needs to build, test and run on the real data; with
# `fuzz`, also clang and its libFuzzer/sanitizer runtimes for scripts/fuzz.sh. (stb_image is
# vendored in third_party/stb.) Idempotent; run as root (or with sudo available) on Debian 12.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev libcli11-dev libspdlog-dev zlib1g-dev libexif-dev nlohmann-json3-dev
  libcairo2-dev nettle-dev libcpp-httplib-dev fonts-dejavu-core
  libopenblas0-pthread libgtest-dev libgloo-dev python3-torch
  bash-completion zsh groff-base
  dataset-fashion-mnist
)
case ${1:-} in
  "") ;;
  fuzz) packages+=(clang libclang-rt-14-dev) ;;
  *) echo "usage: $0 [fuzz]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all packages present"
  exit 0
fi

sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
