"""Where `train` runs: the torch device, and how many processes render synthetic batches.

Neither changes what is learned, only how fast: a synthetic batch is a pure function of the training
config and the step (`training.data.SyntheticSource.train_arrays`), so it is the same whichever process
renders it, and `--resume` accepts a run moved from one device to another. That is why these settings
live here and not in `TrainConfig` (which `--resume` requires to match).

On the 2-core development machine the network's own work is the limit (5.1 steps/s of the small
preset with 0, 1 or 2 workers, `benchmarks/results/train_throughput_cpu.json`), and `--workers` gains
nothing; on a GPU machine the network is fast and one rendering thread is the limit (14 batches of
sixteen 224 px images per second per core, the same file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fabric_inspect.errors import ConfigError

DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")
MAX_WORKERS = 64


@dataclass(frozen=True, slots=True)
class ComputeConfig:
    """`device`: auto (a CUDA GPU when torch sees one, else the CPU), cpu, cuda or cuda:N.
    `workers`: processes rendering synthetic training batches (0: one background thread)."""

    device: str = "auto"
    workers: int = 0

    def __post_init__(self) -> None:
        if not DEVICE_PATTERN.fullmatch(self.device):
            raise ConfigError(f"--device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        if not 0 <= self.workers <= MAX_WORKERS:
            raise ConfigError(f"--workers must be in 0..{MAX_WORKERS}, got {self.workers}")


def resolve_device(name: str) -> Any:
    """The torch.device for `name` (see ComputeConfig); ConfigError when CUDA is asked for and absent."""
    import torch

    ComputeConfig(device=name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
            raise ConfigError(
                f"--device {name}: torch {torch.__version__} ({build}) sees no CUDA GPU on this machine; "
                "train with --device cpu"
            )
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ConfigError(
                f"--device {name}: this machine has {torch.cuda.device_count()} CUDA GPU(s), "
                f"numbered from 0; use --device cuda:0"
            )
    return torch.device(name)


def describe_device(device: Any) -> str:
    """'cpu' or 'cuda:0 (NVIDIA H200)': what a run says it trained on."""
    import torch

    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return str(device)
