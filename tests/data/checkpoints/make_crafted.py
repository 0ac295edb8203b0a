#!/usr/bin/python3
"""Writes crafted-setstate.pt: a TorchScript archive whose module's __setstate__ overwrites the
first 7 bytes of ./victim.txt with '!' when the archive is loaded (torch.jit.load, or the
torch::load that fmnist 0.1 used for its checkpoints). The tests check that no fmnist command
lets it run. Run with Debian's python3-torch; the file in the repository was written by 1.13.1.
"""
from typing import Tuple

import torch


class Crafted(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.format = "fmnist-checkpoint"

    @torch.jit.export
    def __getstate__(self) -> Tuple[str, bool]:
        return (self.format, self.training)

    @torch.jit.export
    def __setstate__(self, state: Tuple[str, bool]) -> None:
        victim = torch.from_file("victim.txt", True, 7, dtype=torch.uint8)
        victim.fill_(33)
        # Using the result keeps TorchScript from dropping the write as dead code.
        self.format = state[0] + str(int(victim.sum()))
        self.training = state[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


torch.jit.save(torch.jit.script(Crafted()), "crafted-setstate.pt")
