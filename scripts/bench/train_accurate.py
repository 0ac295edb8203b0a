"""Python baseline of `fmnist train --recipe accurate`: the same residual network
(scripts/to_pytorch.py's FmnistResNet), AdamW, one-cycle schedule, label smoothing, flips and
2-pixel shifts (none in the last 3 epochs), on the same 54,000 training images (fmnist holds
10 % of each class out for validation; here a random 10 % is), written the way a PyTorch user
would.

Prints one line per epoch on stderr and key=value results on stdout: train_img_s (the best
epoch after the first), epoch_s (their mean), test_acc (the final model), seconds (the whole
run).
"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

import common

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from to_pytorch import FmnistResNet  # noqa: E402  (the network fmnist trains)

# `fmnist train --recipe accurate` (src/train/recipe.cpp)
BATCH = 128
PEAK_LR = 4e-3
WEIGHT_DECAY = 1e-2
WARMUP_EPOCHS = 8
RECIPE_EPOCHS = 30
LABEL_SMOOTHING = 0.1
CLEAN_EPOCHS = 3  # the last epochs train on the images as they are
PAD = 2
EPS = 1e-7


def augment(x):
    """Each image mirrored with probability 1/2, then shifted by up to PAD pixels."""
    n = len(x)
    mirror = torch.rand(n, 1, 1, 1) < 0.5
    x = torch.where(mirror, x.flip(3), x)
    padded = F.pad(x, (PAD, PAD, PAD, PAD))
    dy, dx = torch.randint(2 * PAD + 1, (2, n)).tolist()
    return torch.stack([padded[i, :, dy[i]:dy[i] + 28, dx[i]:dx[i] + 28] for i in range(n)])


def evaluate(model, images, labels):
    model.eval()
    with torch.inference_mode():
        logits = torch.cat([model(batch) for batch in images.split(1000)])
    return (logits.argmax(1) == labels).double().mean().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=common.DEBIAN_DATA)
    parser.add_argument("--epochs", type=int, default=RECIPE_EPOCHS)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--channels-last", action="store_true",
                        help="model and inputs in channels-last order (an expert's tweak)")
    args = parser.parse_args()

    run_start = time.perf_counter()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    images, labels = common.load_split(args.data, "train")
    keep = torch.randperm(len(labels))[: len(labels) * 9 // 10]
    images, labels = images[keep], labels[keep]
    test_x, test_y = common.load_split(args.data, "t10k")
    model = FmnistResNet()
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    optimizer = torch.optim.AdamW(model.parameters(), lr=PEAK_LR, eps=EPS,
                                  weight_decay=WEIGHT_DECAY)
    steps = (len(labels) + BATCH - 1) // BATCH
    # fmnist keeps the warm-up's share of the recipe's 30 epochs in shorter runs.
    warmup = max(1, WARMUP_EPOCHS * args.epochs // RECIPE_EPOCHS)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=PEAK_LR, total_steps=args.epochs * steps,
        pct_start=min(0.5, warmup / args.epochs), cycle_momentum=False)
    clean = CLEAN_EPOCHS * args.epochs // RECIPE_EPOCHS
    epoch_seconds = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(len(labels))
        for first in range(0, len(labels), BATCH):
            rows = order[first:first + BATCH]
            x = images[rows] if epoch > args.epochs - clean else augment(images[rows])
            x = x.contiguous(memory_format=memory_format)
            loss = F.cross_entropy(model(x), labels[rows], label_smoothing=LABEL_SMOOTHING)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        epoch_seconds.append(time.perf_counter() - start)
        print(f"python accurate epoch {epoch}/{args.epochs}: loss {loss.item():.4f}  "
              f"{epoch_seconds[-1]:.1f} s  {len(labels) / epoch_seconds[-1]:.0f} img/s",
              file=sys.stderr)
    later = epoch_seconds[1:] or epoch_seconds
    print(f"train_img_s={len(labels) / min(later):.1f}")
    print(f"epoch_s={sum(later) / len(later):.2f}")
    print(f"test_acc={100 * evaluate(model, test_x, test_y):.2f}")
    print(f"seconds={time.perf_counter() - run_start:.1f}")


if __name__ == "__main__":
    main()
