"""A whole evaluation process in Python: start, import torch, load the weights and the test set,
classify all of it. The Python side of the bench's whole-process `fmnist eval` row."""
import argparse

import torch

import common
import train


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("weights")
    parser.add_argument("--data", default=common.DEBIAN_DATA)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = common.make_model()
    model.load_state_dict(torch.load(args.weights))
    images, labels = common.load_split(args.data, "t10k")
    loss, accuracy = train.evaluate(model, images, labels)
    print(f"loss {loss:.4f} accuracy {100 * accuracy:.2f}%")


if __name__ == "__main__":
    main()
