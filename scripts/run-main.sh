#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install the dependencies, build, install fmnist
# (on PATH, in /usr/local), then, as a user types it, in run/: train 20 epochs on the real
# Fashion-MNIST, evaluate the checkpoint and classify a sample image.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
scripts/install.sh
mkdir -p run
cd run
rm -f model.pt model.*.pt model.history.* model.confusion.png model.errors.png  # a rerun's
cp "$(dirname "$(command -v fmnist)")/../share/doc/fmnist/samples/bag.jpg" .
set -x
fmnist train --epochs 20
fmnist eval model.pt
fmnist predict bag.jpg
