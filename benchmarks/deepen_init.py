"""Experiment (run by hand): a trained net made deeper, as a starting point for `train --init`.

    .venv/bin/python benchmarks/deepen_init.py [--weights src/fabric_inspect/models/default.pt] \
        [--insert 1,2] --out runs/deep6-init.pt
    fabric-inspect train --synthetic --preset anywhere --init runs/deep6-init.pt --epochs 40 ...

Inserts residual separable blocks at stride 8, with the dilations `--insert`, just before the net's
last block (line pooling sits before that block, so the inserted ones see the features it sees
now): the shipped dilations 1,2,4,8 become 1,2,4,1,2,8. Every other weight is copied. An inserted
block's last BatchNorm starts with a weight of GAMMA and no bias, so the block adds almost nothing
(the net's logits move by a few hundredths) while its gradients still flow: with a weight of exactly
zero the ReLU after it would pass no gradient and the block would never learn. The checkpoint is the
plain dict `train --init` reads (models.checkpoint).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import torch

from fabric_inspect.models.checkpoint import (
    default_weights_path,
    load_checkpoint,
    network_from_checkpoint,
    save_checkpoint,
)
from fabric_inspect.models.network import DefectNet

GAMMA = 1e-2
SEED = 0  # the inserted blocks' convolutions start from torch's default initialisation, seeded
FIRST_BLOCK = 3  # features: 0 stem, 1 stride-4 block, 2 to stride 8, then one block per dilation


def deepen(net: DefectNet, insert: tuple[int, ...]) -> DefectNet:
    """A copy of `net` with residual blocks of dilations `insert` before its last block."""
    old = net.config.dilations
    config = replace(net.config, dilations=(*old[:-1], *insert, old[-1]))
    torch.manual_seed(SEED)
    deeper = DefectNet(config)
    last_old = FIRST_BLOCK + len(old) - 1
    moved = {last_old: FIRST_BLOCK + len(config.dilations) - 1}  # the last block moves to the end
    state = deeper.state_dict()
    for key, value in net.state_dict().items():
        if key.startswith("features."):
            index, rest = key.split(".", 2)[1:]
            key = f"features.{moved.get(int(index), int(index))}.{rest}"
        state[key] = value
    deeper.load_state_dict(state)
    with torch.no_grad():
        for index in range(last_old, last_old + len(insert)):
            norm = deeper.features[index].body[-2]  # the pointwise convolution's BatchNorm
            norm.weight.fill_(GAMMA)
            norm.bias.zero_()
    return deeper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=None, help="checkpoint (default: the shipped one)")
    parser.add_argument("--insert", default="1,2", help="dilations of the inserted blocks")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    state = load_checkpoint(args.weights or default_weights_path())
    deeper = deepen(network_from_checkpoint(state), tuple(int(d) for d in args.insert.split(",")))
    kept = {k: state[k] for k in ("format", "classes", "threshold") if k in state}
    save_checkpoint(args.out, {**kept, "model": deeper.state_dict(), "config": deeper.config.to_dict()})
    print(f"{args.out}: dilations {list(deeper.config.dilations)}")


if __name__ == "__main__":
    main()
