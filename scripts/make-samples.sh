#!/usr/bin/env bash
# Regenerates data/samples/ from the Fashion-MNIST test set (MIT, Zalando SE): for each class
# the first test item as the 28x28 PNG the dataset stores, and for a few classes a large
# product-style JPEG (dark item on white, off-centre) like a user's own photo.
# Needs python3 and ImageMagick (apt-get install imagemagick); the result is committed.
set -euo pipefail
data=${1:-/usr/share/datasets/fashion-mnist}
out=$(cd "$(dirname "$0")/.." && pwd)/data/samples
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

# Writes "<index> <label> <file-stem>" for the first test item of each class, and its pixels.
python3 - "$data" "$work" <<'PY'
import gzip, sys
data, work = sys.argv[1], sys.argv[2]
names = ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
         "ankle-boot"]
labels = gzip.open(f"{data}/t10k-labels-idx1-ubyte.gz").read()[8:]
images = gzip.open(f"{data}/t10k-images-idx3-ubyte.gz").read()[16:]
with open(f"{work}/items.txt", "w") as items:
    for label, name in enumerate(names):
        index = labels.index(label)
        open(f"{work}/{name}.gray", "wb").write(images[784 * index:784 * (index + 1)])
        items.write(f"{index} {label} {name}\n")
PY

while read -r index label name; do
  convert -size 28x28 -depth 8 "gray:$work/$name.gray" "$out/$name.png"
  echo "$name.png: test item $index, label $label" >&2
done <"$work/items.txt"

# Product shots: inverted, enlarged, on a white page with an uneven margin.
for name in bag sneaker trouser; do
  convert -size 28x28 -depth 8 "gray:$work/$name.gray" -negate -filter Lanczos -resize 420x420 \
    -background white -gravity northwest -splice 90x40 -gravity southeast -splice 30x110 \
    -quality 92 "$out/$name.jpg"
done
