"""Experiment (run by hand): the shipped weights with line pooling over a fixed window of cells.

    .venv/bin/python benchmarks/window_lines.py 31 runs/wl31.onnx
    .venv/bin/fabric-inspect calibrate --synthetic --size 1280x720 --model runs/wl31.onnx \
        --out runs/wl31c.onnx
    .venv/bin/fabric-inspect eval --model runs/wl31c.onnx --data runs/syn-val-777 --json runs/eval_wl31.json

`LinePool` adds each cell's column and row means minus the map's mean, so a small defect moves them
less in a large frame than in a training crop. This exports the shipped weights with those means taken
over WINDOW cells around each cell instead (an odd number; `AvgPool`, borders not counted), to see
whether the scores then stop depending on the frame's size. Result (docs/model-experiments.md, "training
on camera-sized crops as well"): they do not.
"""

from __future__ import annotations

import argparse
import types

import torch
import torch.nn.functional as F

from fabric_inspect.models.checkpoint import default_weights_path, load_checkpoint, network_from_checkpoint
from fabric_inspect.models.export import export_onnx, model_info_for


def windowed_lines(window: int):
    """A LinePool.forward with column, row and map means over `window` cells around each cell."""
    pad = window // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        column = F.avg_pool2d(x, (window, 1), 1, (pad, 0), count_include_pad=False)
        row = F.avg_pool2d(x, (1, window), 1, (0, pad), count_include_pad=False)
        whole = F.avg_pool2d(column, (1, window), 1, (0, pad), count_include_pad=False)
        return torch.relu(x + self.column(column - whole) + self.row(row - whole))

    return forward


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("window", type=int, help="cells in each window (odd)")
    parser.add_argument("out", help="the .onnx to write")
    args = parser.parse_args()
    if args.window < 1 or args.window % 2 == 0:
        parser.error(f"window must be an odd number of cells, got {args.window}")
    state = load_checkpoint(default_weights_path())
    net = network_from_checkpoint(state).eval()
    net.lines.forward = types.MethodType(windowed_lines(args.window), net.lines)
    info = model_info_for(net, float(state["threshold"]), version=f"window{args.window}")
    print("wrote", export_onnx(net, args.out, info))


if __name__ == "__main__":
    main()
