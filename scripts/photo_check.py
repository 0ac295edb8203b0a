#!/usr/bin/python3
"""Measures fmnist predict's photo path: does a product photo of a test image get the class
that the original 28x28 image gets?

  photo_check.py MODEL [--fmnist build/fmnist] [--data DIR] [--count 1000] [--seed 1]
                 [--keep DIR]

For test images 0..count-1 it writes the 28x28 original as a PNG and a "photo" of it: the item
(cropped to its pixels, inverted to a dark item on a light page, as a product shot) scaled
up so its longer side is 40-400 px (every 50th: 1400-1900 px in a 2000-px frame), at a random
place on a white or off-white, slightly tinted RGB background, saved as a JPEG of quality
75-95. Both sets go through `fmnist predict --format csv`; it prints how often the photo's class
equals the original's, and how often each is right.
"""
import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile

from PIL import Image, ImageChops

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench"))
import common  # noqa: E402


def photo_of(item, rng):
    """A product-photo-like RGB PIL image of a 28x28 uint8 item tensor (light on black)."""
    light = Image.fromarray(item.numpy(), mode="L")
    pixels = Image.fromarray(255 - item.numpy(), mode="L").crop(light.getbbox())  # dark on white
    big = rng.random() < 0.02
    longest = rng.randint(1400, 1900) if big else rng.randint(40, 400)
    scale = longest / max(pixels.size)
    size = (max(1, round(pixels.size[0] * scale)), max(1, round(pixels.size[1] * scale)))
    pixels = pixels.resize(size, Image.BICUBIC)
    frame = 2000 if big else max(size) + rng.randint(20, 300)
    page = rng.randint(225, 255)
    tint = [min(255, max(0, page + rng.randint(-6, 6))) for _ in range(3)]
    photo = Image.new("RGB", (frame, frame), tuple(tint))
    left = rng.randint(0, frame - size[0])
    top = rng.randint(0, frame - size[1])
    # The item darkens the page: multiply, so the page's tint shows through light parts.
    region = photo.crop((left, top, left + size[0], top + size[1]))
    photo.paste(ImageChops.multiply(region, Image.merge("RGB", [pixels] * 3)), (left, top))
    return photo


def predictions(fmnist, model, paths, workdir, name):
    listing = os.path.join(workdir, name + ".txt")
    with open(listing, "w") as f:
        f.write("\n".join(paths) + "\n")
    with open(listing) as stdin:
        out = subprocess.run([fmnist, "predict", "-", "--model", model, "--format", "csv"],
                             stdin=stdin, capture_output=True, text=True)
    rows = list(csv.DictReader(out.stdout.splitlines()))
    if len(rows) != len(paths):
        sys.exit(f"photo_check: fmnist predict gave {len(rows)} rows for {len(paths)} inputs:"
                 f"\n{out.stderr[-2000:]}")
    return [row["class_1"] for row in rows]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--fmnist", default=os.path.join(os.path.dirname(__file__), "..",
                                                         "build", "fmnist"))
    parser.add_argument("--data", default=common.DEBIAN_DATA)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", help="write the images here instead of a temporary folder")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    images = common.read_idx(common.idx_path(args.data, "t10k", "images"))[: args.count]
    labels = common.read_idx(common.idx_path(args.data, "t10k", "labels"))[: args.count].tolist()
    with tempfile.TemporaryDirectory() as scratch:
        workdir = args.keep or scratch
        os.makedirs(workdir, exist_ok=True)
        originals, photos = [], []
        for i, item in enumerate(images):
            originals.append(os.path.join(workdir, f"{i:05d}.png"))
            Image.fromarray(item.numpy(), mode="L").save(originals[-1])
            photos.append(os.path.join(workdir, f"{i:05d}.jpg"))
            photo_of(item, rng).save(photos[-1], quality=rng.randint(75, 95))
        original_classes = predictions(args.fmnist, args.model, originals, workdir, "originals")
        photo_classes = predictions(args.fmnist, args.model, photos, workdir, "photos")
    names = common.CLASS_NAMES
    same = sum(a == b for a, b in zip(original_classes, photo_classes))
    right_original = sum(names[y] == c for y, c in zip(labels, original_classes))
    right_photo = sum(names[y] == c for y, c in zip(labels, photo_classes))
    n = len(labels)
    print(f"{args.model}: {n} test images; photo class = original class for {same} "
          f"({100 * same / n:.1f}%); right: originals {100 * right_original / n:.1f}%, "
          f"photos {100 * right_photo / n:.1f}%")


if __name__ == "__main__":
    main()
