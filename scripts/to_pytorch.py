#!/usr/bin/python3
"""Loads an fmnist checkpoint into an equivalent torch.nn.Module of Python PyTorch.

An fmnist checkpoint (format 2) holds tensors and plain data only, so torch.load opens it with
weights_only=True: a dict with "format", "version", "metadata" (a JSON document: "arch",
"class_names", "pixel_scale", "settings", "metrics", ...), "model" (the weights by name, as
in the state dict of make_model(arch)) and, from training, "optimizer" (Adam's moments). Checkpoints of
fmnist 0.1 (format 1, TorchScript): convert them first with `fmnist checkpoint upgrade`.

  to_pytorch.py model.pt --out model.pth       state dict + metadata for make_model (torch.save)
  to_pytorch.py model.pt --onnx model.onnx     ONNX export with torch.onnx.export
  to_pytorch.py model.pt --eval DATA_DIR       loss and accuracy on the test split
  to_pytorch.py model.pt --check IN LOGITS     exit 0 if the logits of the float32 inputs IN
                                               (N x 1 x 28 x 28, raw little-endian) match the
                                               float32 N x 10 LOGITS fmnist computed, to 1e-5

In your own code: sys.path.insert(0, "<fmnist>/scripts"); from to_pytorch import load_fmnist.
"""
import argparse
import gzip
import json
import os
import struct
import sys
import zipfile

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CHECKPOINT_FORMAT = "fmnist-checkpoint"
CHECKPOINT_VERSION = 2
ARCHS = ("cnn", "cnn-bn", "resnet")
IMAGE_SIZE = 28
NUM_CLASSES = 10
TOLERANCE = 1e-5


class FmnistCnn(nn.Module):
    """fmnist's network (src/model/model.cpp): Conv 32 3x3, MaxPool 2, ReLU, Conv 64 3x3, MaxPool 2,
    ReLU, Dense 128, ReLU, Dropout 0.2, Dense 10; "cnn-bn" adds BatchNorm after conv1, conv2
    and fc1 (before pooling and ReLU). Takes float N x 1 x 28 x 28 (pixels / 255, a light item
    on black), returns logits."""

    def __init__(self, arch="cnn"):
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"architecture {arch!r} is not one of {ARCHS}")
        batch_norm = arch == "cnn-bn"
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.bn1 = nn.BatchNorm2d(32) if batch_norm else nn.Identity()
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.bn2 = nn.BatchNorm2d(64) if batch_norm else nn.Identity()
        self.fc1 = nn.Linear(64 * 5 * 5, 128)
        self.bn3 = nn.BatchNorm1d(128) if batch_norm else nn.Identity()
        self.dropout = nn.Dropout(0.2)
        self.fc2 = nn.Linear(128, NUM_CLASSES)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.bn1(self.conv1(x)), 2))
        x = F.relu(F.max_pool2d(self.bn2(self.conv2(x)), 2))
        x = F.relu(self.bn3(self.fc1(torch.flatten(x, 1))))
        return self.fc2(self.dropout(x))


class ResidualBlock(nn.Module):
    """fmnist's residual block (src/model/residual_block.cpp): two 3x3 convolutions with batch
    norm, the first with stride 2; the shortcut a 2x2 average pool (rounding up) and a 1x1
    convolution with batch norm."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.shortcut_bn = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        main = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        shortcut = F.avg_pool2d(x, 2, ceil_mode=True)
        return F.relu(main + self.shortcut_bn(self.shortcut(shortcut)))


class FmnistResNet(nn.Module):
    """fmnist's "resnet" (src/model/model.cpp): a 5x5 stem convolution of 16 channels with batch
    norm, residual blocks of 32, 64 and 128 channels (28 -> 14 -> 7 -> 4), global average
    pooling, Dense 10. Takes and returns what FmnistCnn does."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 5, padding=2, bias=False), nn.BatchNorm2d(16))
        self.stage1 = ResidualBlock(16, 32)
        self.stage2 = ResidualBlock(32, 64)
        self.stage3 = ResidualBlock(64, 128)
        self.fc = nn.Linear(128, NUM_CLASSES)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = self.stage3(self.stage2(self.stage1(x)))
        return self.fc(x.mean((2, 3)))


def make_model(arch):
    """The nn.Module of an fmnist architecture, with PyTorch's initialisation."""
    return FmnistResNet() if arch == "resnet" else FmnistCnn(arch)


def error(message):
    """What main raises for anything it cannot do: one line on stderr, exit status 1."""
    return SystemExit(f"to_pytorch.py: error: {message}")


def checkpoint_error(path, problem):
    return error(f"{path}: {problem}")


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


def read_metadata(document, path):
    """The checkpoint's metadata as a dict, after checking it is an fmnist checkpoint."""
    if not isinstance(document, dict) or document.get("format") != CHECKPOINT_FORMAT:
        raise checkpoint_error(path, "not an fmnist checkpoint (no fmnist format tag)")
    if document.get("version") != CHECKPOINT_VERSION:
        raise checkpoint_error(path, f"checkpoint format {document.get('version')} is not "
                               f"{CHECKPOINT_VERSION}")
    metadata = json.loads(document["metadata"])
    if metadata.get("arch") not in ARCHS or metadata.get("image_size") != IMAGE_SIZE:
        raise checkpoint_error(path, f"architecture {metadata.get('arch')!r} is not one of {ARCHS}")
    return {key: metadata[key] for key in ("arch", "class_names", "pixel_scale", "epoch")}


def load_fmnist(path):
    """(the model in eval mode on the CPU, metadata dict) of an fmnist checkpoint."""
    # torch.load hands a TorchScript archive to torch.jit.load, which runs the archive's code
    # (PyTorch 1.13 does so even with weights_only=True): refuse those before it sees them.
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as e:
        raise checkpoint_error(path, f"not a readable checkpoint ({e})")
    if any("/code/" in name or name.endswith("/constants.pkl") for name in names):
        raise checkpoint_error(path, "a TorchScript archive (fmnist 0.1 wrote those): convert it "
                               "with 'fmnist checkpoint upgrade OLD NEW' first")
    try:
        document = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # the weights-only unpickler refuses anything but tensors and data
        message = str(e).splitlines()[-1] if str(e) else type(e).__name__
        raise checkpoint_error(path, f"not a readable checkpoint ({message})")
    metadata = read_metadata(document, path)
    model = make_model(metadata["arch"])
    model.load_state_dict(document["model"], strict=True)  # every weight present, none left over
    return model.eval(), metadata


def read_floats(path, shape):
    values = np.fromfile(path, dtype="<f4")
    return torch.from_numpy(values.copy()).reshape(shape)


def check_logits(model, inputs_path, logits_path):
    """True if the model's logits for the inputs file match the logits file to TOLERANCE."""
    inputs = read_floats(inputs_path, (-1, 1, IMAGE_SIZE, IMAGE_SIZE))
    expected = read_floats(logits_path, (-1, NUM_CLASSES))
    with torch.no_grad():
        logits = model(inputs)
    difference = (logits - expected).abs().max().item()
    print(f"{len(inputs)} inputs: largest logit difference {difference:.3g} "
          f"(tolerance {TOLERANCE:g})")
    return logits.shape == expected.shape and difference <= TOLERANCE


def read_test_split(data_dir):
    """(uint8 images N x 1 x 28 x 28, int64 labels) of DATA_DIR's test split."""
    if not os.path.isdir(data_dir):
        raise error(f"--eval {data_dir}: not a directory")
    paths = [idx_path(data_dir, "t10k", kind) for kind in ("images", "labels")]
    for path in paths:
        if not os.path.exists(path):
            raise error(f"--eval {data_dir}: no {os.path.basename(path)[:-3]}[.gz] there "
                        "(the test split of Fashion-MNIST's IDX files)")
    try:
        images, labels = (read_idx(path) for path in paths)
    except (OSError, EOFError, IndexError, RuntimeError, struct.error) as e:
        raise error(f"--eval {data_dir}: cannot read its IDX files ({e})")
    if images.dim() != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE) or \
            labels.dim() != 1 or len(labels) != len(images):
        raise error(f"--eval {data_dir}: the IDX files are not {IMAGE_SIZE}x{IMAGE_SIZE} images "
                    "with one label each")
    return images.unsqueeze(1), labels.long()


def evaluate(model, metadata, data_dir):
    """Prints loss and accuracy on the test split, as `fmnist eval` does."""
    images, labels = read_test_split(data_dir)
    images = images.float()
    with torch.no_grad():
        logits = torch.cat([model(batch * metadata["pixel_scale"])
                            for batch in images.split(256)])
    loss = F.cross_entropy(logits, labels).item()
    accuracy = (logits.argmax(1) == labels).double().mean().item()
    print(f"test split ({len(labels)} images): loss {loss:.4f}, accuracy {100 * accuracy:.2f}%")


def prepare_output(flag, path):
    """Makes PATH's missing directories, as fmnist does for its output flags, and fails with the
    flag's name before any work when PATH cannot be written."""
    if os.path.isdir(path):
        raise error(f"{flag} {path}: is a directory; give a file name")
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as e:
        raise error(f"{flag} {path}: cannot make the directory {directory} ({e.strerror})")
    if not os.access(directory, os.W_OK):
        raise error(f"{flag} {path}: the directory {directory} is not writable")


def write_output(flag, path, write):
    """Runs write(path); a failure (torch.save and torch.onnx raise RuntimeError) is one line."""
    try:
        write(path)
    except (OSError, RuntimeError) as e:
        raise error(f"{flag} {path}: cannot write it ({str(e).splitlines()[0] if str(e) else e})")


def export_onnx(model, path):
    dummy = torch.zeros(1, 1, IMAGE_SIZE, IMAGE_SIZE)
    torch.onnx.export(model, dummy, path, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
                      opset_version=13)
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="an fmnist checkpoint (model.pt)")
    parser.add_argument("--out", help="write a torch.save file: arch, class_names, "
                                      "pixel_scale and the state_dict for make_model(arch)")
    parser.add_argument("--onnx", help="export the model to this ONNX file")
    parser.add_argument("--eval", metavar="DATA_DIR", help="evaluate on DATA_DIR's test split")
    parser.add_argument("--check", nargs=2, metavar=("INPUTS", "LOGITS"),
                        help="compare with logits fmnist computed (raw float32 files)")
    args = parser.parse_args()
    for flag, path in (("--out", args.out), ("--onnx", args.onnx)):
        if path:
            prepare_output(flag, path)
    for path in args.check or ():
        if not os.path.isfile(path):
            raise error(f"--check {path}: no such file")
    model, metadata = load_fmnist(args.checkpoint)
    print(f"{args.checkpoint}: arch {metadata['arch']}, epoch {metadata['epoch']}, "
          f"{sum(p.numel() for p in model.parameters())} parameters")
    if args.out:
        # pixel_scale as a tensor: PyTorch 1.13's weights_only loader refuses pickled floats.
        scale = torch.tensor(metadata["pixel_scale"], dtype=torch.float32)
        document = dict(metadata, pixel_scale=scale, state_dict=model.state_dict())
        write_output("--out", args.out, lambda path: torch.save(document, path))
        print(f"wrote {args.out}")
    if args.onnx:
        write_output("--onnx", args.onnx, lambda path: export_onnx(model, path))
    if args.eval:
        evaluate(model, metadata, args.eval)
    if args.check and not check_logits(model, *args.check):
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as e:  # a write that failed after the checks (disk full, a race)
        sys.exit(f"to_pytorch.py: error: {e.filename or ''}: {e.strerror or e}")
