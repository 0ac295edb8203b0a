"""Prepares the bench inputs: one test image as PNG and, for --quick, a small IDX data set.

usage: prep.py SOURCE_DIR OUT_DIR [--subset TRAIN TEST]
Writes OUT_DIR/one.png (test image 0) and, with --subset, raw IDX files holding the first
TRAIN training and TEST test images in OUT_DIR/data. Works on the bytes, so no torch import.
"""
import argparse
import gzip
import os
import struct

from PIL import Image

STEMS = {"train": ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"],
         "t10k": ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]}


def read_bytes(source, stem):
    path = os.path.join(source, stem)
    if os.path.exists(path):
        with open(path, "rb") as f:
            return f.read()
    with gzip.open(path + ".gz", "rb") as f:
        return f.read()


def first_items(raw, count):
    """The IDX file `raw` cut to its first `count` items, header count rewritten."""
    dims = raw[3]
    shape = list(struct.unpack(f">{dims}I", raw[4:4 + 4 * dims]))
    item_bytes = 1
    for n in shape[1:]:
        item_bytes *= n
    shape[0] = min(count, shape[0])
    header = raw[:4] + struct.pack(f">{dims}I", *shape)
    return header + raw[4 + 4 * dims:4 + 4 * dims + shape[0] * item_bytes]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source")
    parser.add_argument("out")
    parser.add_argument("--subset", nargs=2, type=int, metavar=("TRAIN", "TEST"))
    args = parser.parse_args()

    test_images = read_bytes(args.source, STEMS["t10k"][0])
    Image.frombytes("L", (28, 28), test_images[16:16 + 784]).save(os.path.join(args.out, "one.png"))
    if args.subset:
        data = os.path.join(args.out, "data")
        os.makedirs(data, exist_ok=True)
        for split, count in zip(STEMS, args.subset):
            for stem in STEMS[split]:
                with open(os.path.join(data, stem), "wb") as f:
                    f.write(first_items(read_bytes(args.source, stem), count))


if __name__ == "__main__":
    main()
