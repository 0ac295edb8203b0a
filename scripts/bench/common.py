"""Shared pieces of the Python baselines: the IDX reader, the model and the class names."""
import gzip
import os
import struct

import torch
from torch import nn

DEBIAN_DATA = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def idx_path(data_dir, split, kind):
    """The raw or gzip IDX file of split ("train"/"t10k") and kind ("images"/"labels")."""
    stem = os.path.join(data_dir, f"{split}-{kind}-idx{3 if kind == 'images' else 1}-ubyte")
    return stem if os.path.exists(stem) else stem + ".gz"


def read_idx(path):
    """An IDX file of unsigned bytes as a uint8 tensor of its declared shape."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = struct.unpack(f">{dims}I", raw[4:4 + 4 * dims])
    # bytearray: frombuffer warns on (and must not write to) immutable bytes.
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8, offset=4 + 4 * dims).view(shape)


def load_split(data_dir, split):
    """(images as float32 N×1×28×28 in [0, 1], labels as int64) of one split."""
    images = read_idx(idx_path(data_dir, split, "images")).unsqueeze(1).float().div_(255)
    labels = read_idx(idx_path(data_dir, split, "labels")).long()
    return images, labels


def make_model():
    """The Keras tutorial's CNN, written the way a PyTorch user would."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(1600, 128), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(128, 10),
    )
