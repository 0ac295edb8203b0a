#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install, build, train 20 epochs on the real
# Fashion-MNIST, evaluate the checkpoint and classify the sample images.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
# --force: a second run of this script replaces the first run's model.pt.
build/fmnist train --epochs 20 --out model.pt --force
build/fmnist eval model.pt
build/fmnist predict --model model.pt --top-k 2 data/samples/bag.jpg data/samples/*.png
