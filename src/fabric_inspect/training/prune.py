"""Make a trained DefectNet cheaper: keep fewer channels of a stream, chosen by what the map loses.

At stride 8 the network is one residual stream (`widths[2]` channels): the stride-2 block writes it,
each dilated block reads and adds to it, line pooling and the head read it. That stream holds about
two thirds of the model's arithmetic (its 1x1 convolutions cost ``widths[2] ** 2`` per cell), so
narrowing it from 64 to 48 channels makes a 1280x720 frame about a quarter faster.

`prune_stream` removes channels a few at a time: it drops each remaining channel in turn, measures
how far the defect and class logits move on a fixed batch of synthetic fabric, and removes the ones
that moved them least. What is left is then trained on (`fabric-inspect train --init pruned.pt`),
which recovers most of what the removed channels did.

The stride-4 stream (`stream="stride4"`, nets whose stride-4 block is residual: `widths[0] ==
widths[1]`) is the patch stem's output, which the stride-4 block reads and adds to and the stride-2
block reads. onnxruntime runs convolutions on blocks of 16 channels (8 on CPUs without AVX-512), so
the shipped 24 channels cost what 32 would, and 16 cost about a fifth less for the whole frame
(docs/bench.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch

from fabric_inspect.errors import ConfigError
from fabric_inspect.models.network import PATCH, DefectNet, normalize

log = logging.getLogger(__name__)

# synthetic images the removal is judged on: seeds PRUNE_SEED_BASE + i, outside the training,
# validation and calibration ranges of training/data.py and the model card's test sets (`synth --seed`
# 9999 and 777); images 21 and up are also the first images of `synth --seed 7` (7 * 1_000_003 + i)
PRUNE_SEED_BASE = 7_000_000
PRUNE_IMAGES = 48
PRUNE_SIZE = 256
CLASS_WEIGHT = 0.2  # class logits move more than the defect logit; they count less
PER_ROUND = 4  # channels removed per round before the costs are measured again


STREAMS = ("stride8", "stride4")


def stream_width(net: DefectNet, stream: str) -> int:
    """The number of channels of `stream` (one of STREAMS); ConfigError if the net has no such stream."""
    w1, w2, w3 = net.config.widths
    if stream == "stride8":
        return w3
    if stream == "stride4":
        if w1 != w2 or net.config.stem != "patch4":
            raise ConfigError(
                "the stride-4 stream can be pruned only in a patch4 net with a residual stride-4 block "
                f"(this one: stem {net.config.stem}, stride-4 widths {w1} and {w2})"
            )
        return w1
    raise ConfigError(f"stream {stream!r} is not one of {'|'.join(STREAMS)}")


def keep_channels(net: DefectNet, keep: list[int], stream: str = "stride8") -> DefectNet:
    """A copy of `net` (eval mode) whose `stream` has only the channels `keep` (in order)."""
    width = stream_width(net, stream)
    if not keep or len(set(keep)) != len(keep) or not all(0 <= k < width for k in keep):
        raise ConfigError(f"channels to keep must be distinct, in 0..{width - 1}, got {keep}")
    # the stream's tensors are found by their size: no other dimension of the net may have it
    w1, w2, w3 = net.config.widths
    heads = 1 + len(net.config.classes)
    if stream == "stride8":
        others, widths = (w1, w2, heads), (w1, w2, len(keep))
    else:  # the stride-4 tensors also hold the input's channels and the stem's and kernels' sizes
        others, widths = (w3, heads, net.config.in_channels, 1, 3, PATCH), (len(keep), len(keep), w3)
    if width in others:
        raise ConfigError(
            f"{stream} width {width} equals another layer's size; cannot tell the tensors apart"
        )
    index = torch.tensor(sorted(keep))
    state = {}
    for name, tensor in net.state_dict().items():
        if not name.endswith("num_batches_tracked"):
            for dim in range(tensor.dim()):
                if tensor.shape[dim] == width:
                    tensor = tensor.index_select(dim, index)
        state[name] = tensor
    narrow = DefectNet(replace(net.config, widths=widths))
    narrow.load_state_dict(state)
    return narrow.eval()


def pruning_batch(color: bool, count: int = PRUNE_IMAGES, size: int = PRUNE_SIZE) -> torch.Tensor:
    """The fixed synthetic images (70 % with a defect) the removal is judged on, normalized."""
    from fabric_inspect.datasets.synthetic import render_sample

    images = []
    for i in range(count):
        sample = render_sample(PRUNE_SEED_BASE + i, size=size, grey=not color, defect_rate=0.7)
        image = torch.from_numpy(np.ascontiguousarray(sample.image))
        images.append(image.permute(2, 0, 1) if color else image[None])
    return normalize(torch.stack(images))


def prune_stream(
    net: DefectNet,
    width: int,
    images: torch.Tensor,
    progress: Callable[[int, list[int]], None] | None = None,
    stream: str = "stride8",
) -> DefectNet:
    """`net` narrowed to `width` channels of `stream`, removing PER_ROUND of the least missed per round."""
    current = stream_width(net, stream)
    if not 1 <= width < current:
        raise ConfigError(f"--width must be in 1..{current - 1} (the model has {current}), got {width}")
    net = net.eval()
    with torch.no_grad():
        reference = net(images)
        keep = list(range(current))
        while len(keep) > width:
            costs = []
            for channel in keep:
                logit, classes = keep_channels(net, [k for k in keep if k != channel], stream)(images)
                moved = ((logit - reference[0]) ** 2).mean() + CLASS_WEIGHT * (
                    (classes - reference[1]) ** 2
                ).mean()
                costs.append((float(moved), channel))
            costs.sort()
            dropped = [channel for _, channel in costs[: min(PER_ROUND, len(keep) - width)]]
            keep = [k for k in keep if k not in dropped]
            log.info("pruning: %d channels left, removed %s (cost %.4g)", len(keep), dropped, costs[0][0])
            if progress is not None:
                progress(len(keep), dropped)
    return keep_channels(net, keep, stream)
