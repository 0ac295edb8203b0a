"""Python training baseline: trains the same CNN for some epochs and times the last one.

--loader preloaded: the whole training set is one float tensor, each epoch is a randperm sliced
by index (the fastest honest way in Python). --loader dataloader: the usual Dataset + DataLoader.
Prints key=value results on stdout.
"""
import argparse
import sys
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

import common

BATCH = 128
EVAL_BATCH = 1000  # fmnist eval's batch


class TensorPairs(Dataset):
    """Per-sample __getitem__ over the preloaded tensors, as in most tutorials."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]


def preloaded_batches(images, labels):
    order = torch.randperm(len(labels))
    for start in range(0, len(labels), BATCH):
        rows = order[start:start + BATCH]
        yield images[rows], labels[rows]


def train_epoch(model, optimizer, batches):
    """One epoch; keeps loss and accuracy sums on tensors, like fmnist, to avoid a sync per step."""
    model.train()
    loss_sum, correct, seen = torch.zeros((), dtype=torch.float64), torch.zeros((), dtype=torch.int64), 0
    for x, y in batches:
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach() * len(y)
        correct += (logits.argmax(1) == y).sum()
        seen += len(y)
    return loss_sum.item() / seen, correct.item() / seen


def evaluate(model, images, labels):
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(labels), EVAL_BATCH):
            x, y = images[start:start + EVAL_BATCH], labels[start:start + EVAL_BATCH]
            logits = model(x)
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
    return loss_sum / len(labels), correct / len(labels)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=common.DEBIAN_DATA)
    parser.add_argument("--loader", choices=["preloaded", "dataloader"], default="preloaded")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--eval", action="store_true", help="also time a test-set pass")
    parser.add_argument("--save", help="write the state_dict here")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    train_x, train_y = common.load_split(args.data, "train")
    test_x, test_y = common.load_split(args.data, "t10k")
    model = common.make_model()
    # eps 1e-7 is Keras' default, which fmnist uses too.
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loader = DataLoader(TensorPairs(train_x, train_y), batch_size=BATCH, shuffle=True, num_workers=0)

    for epoch in range(1, args.epochs + 1):
        batches = loader if args.loader == "dataloader" else preloaded_batches(train_x, train_y)
        start = time.perf_counter()
        loss, acc = train_epoch(model, optimizer, batches)
        seconds = time.perf_counter() - start
        test_loss, test_acc = evaluate(model, test_x, test_y)
        print(f"python {args.loader} epoch {epoch}/{args.epochs}: train loss {loss:.4f} acc {100 * acc:.2f}%"
              f"  test acc {100 * test_acc:.2f}%  {seconds:.1f} s  {len(train_y) / seconds:.0f} img/s",
              file=sys.stderr)
    print(f"train_img_s={len(train_y) / seconds:.1f}")
    print(f"test_acc={100 * test_acc:.2f}")

    if args.eval:
        evaluate(model, test_x, test_y)  # warm-up pass
        start = time.perf_counter()
        evaluate(model, test_x, test_y)
        print(f"eval_img_s={len(test_y) / (time.perf_counter() - start):.1f}")
    if args.save:
        torch.save(model.state_dict(), args.save)


if __name__ == "__main__":
    main()
