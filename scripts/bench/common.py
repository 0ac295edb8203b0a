"""Shared pieces of the Python baselines: the IDX reader, the model and the class names."""
import os
import sys

from torch import nn

# One IDX reader for the baselines and to_pytorch.py, which must also work standing alone.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from to_pytorch import idx_path, read_idx  # noqa: E402,F401

DEBIAN_DATA = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


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
