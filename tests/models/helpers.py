"""Small nets and frames for model tests (no training needed)."""

from __future__ import annotations

import torch

from fabric_inspect.models.network import DefectNet, NetworkConfig

TINY = {"widths": (4, 8, 8), "dilations": (2,), "classes": ("hole", "stain")}


def tiny_net(color: bool = True, seed: int = 0) -> DefectNet:
    """A tiny DefectNet in eval mode with random, non-trivial BatchNorm statistics (so folding matters)."""
    torch.manual_seed(seed)
    return randomize_batchnorm(DefectNet(NetworkConfig(color=color, **TINY))).eval()


def randomize_batchnorm(net: DefectNet) -> DefectNet:
    """`net` with every BatchNorm's statistics, scale and shift drawn away from 0 and 1, as after
    training (so that folding or fusing them into convolutions is tested)."""
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return net
