#!/usr/bin/env bash
# Installs every Debian package fmnist needs to build, test and run on the real data.
# Idempotent; run as root (or with sudo available) on Debian 12.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev libcli11-dev libspdlog-dev libstb-dev zlib1g-dev
  libcairo2-dev nettle-dev nlohmann-json3-dev fonts-dejavu-core
  libopenblas0-pthread libgtest-dev
  dataset-fashion-mnist
)

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
