#!/usr/bin/python3
"""Writes the seed corpus of checkpoint_fuzz into corpus/checkpoint/: small archives that reach
each stage of the checkpoint reader (a real checkpoint is 900 KB and more, slow to mutate), next
to the crafted TorchScript archive and fmnist 0.1's format-1 checkpoint code files. Run with
Debian's python3-torch from this folder."""
import json
import os

import torch

out = "corpus/checkpoint"
os.makedirs(out, exist_ok=True)
metadata = {
    "arch": "cnn", "image_size": 28, "dropout": 0.2,
    "class_names": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                    "Sneaker", "Bag", "Ankle boot"],
    "pixel_scale": 1 / 255, "epoch": 1,
    "settings": {"epochs": 1, "batch_size": 128, "learning_rate": 0.001, "seed": 42,
                 "data_dir": "d", "validation": "test", "val_split": 0.0, "lr_schedule": "none",
                 "warmup_epochs": 0, "step_size": 10, "step_gamma": 0.1, "weight_decay": 0.0,
                 "patience": 0, "augment": False, "device": "cpu"},
    "metrics": {"train": {"loss": 1.0, "accuracy": 0.5}, "val": {"loss": None, "accuracy": None},
                "test": {"loss": 1.0, "accuracy": 0.5}, "best_accuracy": 0.5, "best_epoch": 1},
    "fmnist_version": "0.2.0", "torch_version": "1.13.1",
}
document = {"format": "fmnist-checkpoint", "version": 2, "metadata": json.dumps(metadata),
            "model": {"conv1.weight": torch.zeros(32, 1, 3, 3), "fc2.bias": torch.zeros(10)}}
torch.save(document, f"{out}/small-document.pt")
torch.save({"format": "fmnist-checkpoint", "version": 2}, f"{out}/no-metadata.pt")
torch.save({"arch": "cnn", "state_dict": {"fc2.bias": torch.zeros(10)}}, f"{out}/state-dict.pt")
