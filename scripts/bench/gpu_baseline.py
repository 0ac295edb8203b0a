"""PyTorch-Python baseline for the GPU check: fmnist's CNN trained the way a PyTorch user would,
with the whole data set preloaded on the GPU.

Conv2d(1,32,3)+ReLU, MaxPool2d(2), Conv2d(32,64,3)+ReLU, MaxPool2d(2), Flatten,
Linear(1600,128)+ReLU, Dropout(0.2), Linear(128,10); Adam (lr 1e-3, eps 1e-7), batch 128.
An epoch's time covers its training steps up to a device sync, as fmnist's does (the test
evaluation after it is timed apart). Prints key=value lines on stdout:
  py_epoch<N>_s, py_epoch<N>_img_s, py_epoch<N>_test_acc, py_best_epoch_s, py_test_acc, ...
Needs only torch, the standard library and common.py beside it, since it runs on a bare machine.

usage: gpu_baseline.py [--data DIR] [--epochs 3] [--device cuda] [--seed 42] [--cudnn-benchmark]
"""
import argparse
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

import common  # beside this file; only torch and the standard library

BATCH = 128
EVAL_BATCH = 1000


def load_split(data_dir, prefix, device):
    images, labels = common.load_split(data_dir, prefix)
    return images.to(device), labels.to(device)


def make_model():
    model = common.make_model()
    # Keras' initialisation (Glorot-uniform kernels, zero biases), as fmnist uses.
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
    return model


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_epoch(model, optimizer, images, labels):
    """One epoch; loss and hits stay on the device (no host sync per step), like fmnist."""
    model.train()
    n = labels.numel()
    order = torch.randperm(n, device=labels.device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=labels.device)
    correct = torch.zeros((), dtype=torch.int64, device=labels.device)
    for start in range(0, n, BATCH):
        rows = order[start:start + BATCH]
        x, y = images[rows], labels[rows]
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach() * rows.numel()
        correct += (logits.argmax(1) == y).sum()
    return loss_sum.item() / n, correct.item() / n


@torch.inference_mode()
def evaluate(model, images, labels):
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=labels.device)
    correct = torch.zeros((), dtype=torch.int64, device=labels.device)
    for start in range(0, labels.numel(), EVAL_BATCH):
        x, y = images[start:start + EVAL_BATCH], labels[start:start + EVAL_BATCH]
        logits = model(x)
        loss_sum += F.cross_entropy(logits, y, reduction="sum")
        correct += (logits.argmax(1) == y).sum()
    n = labels.numel()
    return loss_sum.item() / n, correct.item() / n


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=".carry/data")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cudnn-benchmark", action="store_true")
    args = parser.parse_args()

    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    print(f"py_torch={torch.__version__}")
    if device.type == "cuda":
        print(f"py_gpu={torch.cuda.get_device_name(device)}")
        print(f"py_cudnn={torch.backends.cudnn.version()}")
    print(f"py_cudnn_benchmark={int(args.cudnn_benchmark)}")

    start = time.perf_counter()
    train_x, train_y = load_split(args.data, "train", device)
    test_x, test_y = load_split(args.data, "t10k", device)
    sync(device)
    print(f"py_load_s={time.perf_counter() - start:.3f}")

    model = make_model().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    n = train_y.numel()
    best = float("inf")
    for epoch in range(1, args.epochs + 1):
        sync(device)
        start = time.perf_counter()
        train_loss, train_acc = train_epoch(model, optimizer, train_x, train_y)  # ends in a sync
        seconds = time.perf_counter() - start
        best = min(best, seconds)
        start = time.perf_counter()
        test_loss, test_acc = evaluate(model, test_x, test_y)
        eval_seconds = time.perf_counter() - start
        print(f"py_epoch{epoch}_s={seconds:.3f}")
        print(f"py_epoch{epoch}_img_s={n / seconds:.0f}")
        print(f"py_epoch{epoch}_train_loss={train_loss:.4f}")
        print(f"py_epoch{epoch}_train_acc={100 * train_acc:.2f}")
        print(f"py_epoch{epoch}_test_acc={100 * test_acc:.2f}")
        print(f"py_epoch{epoch}_eval_s={eval_seconds:.3f}")
        print(f"epoch {epoch}/{args.epochs}: train loss {train_loss:.4f} acc {100 * train_acc:.2f}%  "
              f"test loss {test_loss:.4f} acc {100 * test_acc:.2f}%  {seconds:.3f} s  "
              f"{n / seconds:.0f} img/s", file=sys.stderr)
    print(f"py_best_epoch_s={best:.3f}")
    print(f"py_best_img_s={n / best:.0f}")
    print(f"py_test_acc={100 * test_acc:.2f}")


if __name__ == "__main__":
    main()
