"""Where training runs: the device and the rendering workers change how fast, never what is learned.
Synthetic batches are a function of (config, step) alone, so processes rendering them give the batches
one thread would; a run on worker processes trains and exports a model like any other."""

from __future__ import annotations

import json
import operator
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import albumentations as A
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from fabric_inspect.cli import app
from fabric_inspect.errors import ConfigError
from fabric_inspect.training.augment import seed_augment
from fabric_inspect.training.compute import ComputeConfig, describe_device, resolve_device
from fabric_inspect.training.config import preset
from fabric_inspect.training.data import SyntheticSource
from fabric_inspect.training.render_pool import RenderPool, prefetched

QUICK = preset("quick").with_overrides(batch_size=3, crop=64)


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1"])
def test_device_names_that_are_accepted(device):
    assert ComputeConfig(device=device).device == device


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"device": "gpu"}, "--device must be auto, cpu, cuda or cuda:N, got 'gpu'"),
        ({"device": "cuda:"}, "--device must be"),
        ({"device": "CPU"}, "--device must be"),
        ({"workers": -1}, "--workers must be in 0..64, got -1"),
        ({"workers": 65}, "--workers must be in 0..64, got 65"),
    ],
)
def test_bad_compute_settings_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ComputeConfig(**kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_without_a_gpu_auto_is_the_cpu_and_cuda_is_refused_by_name():
    assert resolve_device("auto") == torch.device("cpu")
    assert describe_device(resolve_device("cpu")) == "cpu"
    with pytest.raises(ConfigError, match=r"--device cuda:0: torch .* sees no CUDA GPU.*--device cpu"):
        resolve_device("cuda:0")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_with_a_gpu_auto_is_cuda_and_a_missing_index_is_refused():
    assert resolve_device("auto").type == "cuda"
    assert describe_device(resolve_device("cuda:0")).startswith("cuda:0 (")
    with pytest.raises(ConfigError, match="numbered from 0"):
        resolve_device(f"cuda:{torch.cuda.device_count()}")


def _same(a, b) -> bool:
    pairs = zip((a.images, a.masks, a.labels), (b.images, b.masks, b.labels), strict=True)
    return all(torch.equal(x, y) for x, y in pairs)


def test_a_synthetic_step_is_the_same_batch_every_time_and_steps_differ():
    one, two = SyntheticSource(QUICK), SyntheticSource(QUICK)
    first = one.train_batch(7)
    assert _same(first, two.train_batch(7))
    one.train_batch(8)  # what came before does not change a step's batch
    assert _same(first, one.train_batch(7))
    assert not torch.equal(first.images, one.train_batch(8).images)


def test_each_transform_draws_on_its_own_seed():
    pipeline = A.Compose([A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5)], save_applied_params=True)
    image = np.arange(16, dtype=np.uint8).reshape(4, 4)
    seen = set()
    for seed in range(3_000_000_000, 3_000_000_060):
        seed_augment(pipeline, seed)
        seen.add(tuple(name for name, _ in pipeline(image=image)["applied_transforms"]))
    assert {("HorizontalFlip",), ("VerticalFlip",)} <= seen  # one flip without the other


def test_prefetched_gives_every_step_in_order():
    assert list(prefetched(lambda step: step * step, range(3, 7))) == [9, 16, 25, 36]
    assert list(prefetched(lambda step: step, range(0))) == []


def test_a_render_pool_gives_results_in_step_order_and_restarts_after_close():
    pool = RenderPool(partial(operator.mul, 3), workers=2)
    try:
        assert list(pool.map(range(10))) == [3 * i for i in range(10)]
        pool.close()
        assert list(pool.map(range(10, 13))) == [30, 33, 36]
    finally:
        pool.close()


@pytest.mark.slow
def test_worker_processes_render_the_batches_one_thread_would():
    steps = range(4, 10)
    alone = list(SyntheticSource(QUICK).batches(steps))
    pooled_source = SyntheticSource(QUICK, workers=2)
    try:
        pooled = list(pooled_source.batches(steps))
    finally:
        pooled_source.close()
    assert len(pooled) == len(alone) == 6
    assert all(_same(a, b) for a, b in zip(alone, pooled, strict=True))


@pytest.mark.slow
def test_train_with_workers_on_the_cpu_exports_a_model_and_records_where_it_ran(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--synthetic", "--preset", "quick", "--epochs", "1", "--steps", "4", "--no-progress"]
    result = CliRunner().invoke(app, [*args, "--device", "cpu", "--workers", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "training on cpu" in result.output
    assert json.loads((out / "config.json").read_text())["compute"] == {"device": "cpu", "workers": 2}
    assert (out / "model.onnx").stat().st_size > 10_000


def _running_in_group(group: int) -> list[int]:
    """Processes of process group `group` that have not exited (zombies, exited but not yet reaped by
    the container's init, do not count), from /proc."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads processes from /proc")
def test_ctrl_c_stops_the_rendering_workers_without_a_traceback(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "fabric_inspect", "train", "--synthetic", "--preset", "quick"]
    command += ["--steps", "500", "--workers", "2", "--device", "cpu", "--no-progress", "--out", str(out)]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not (out / "config.json").is_file() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
    time.sleep(6.0)  # the workers are started and rendering
    assert proc.poll() is None, proc.stderr.read()
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "Traceback" not in stderr, stderr
    time.sleep(1.0)
    assert _running_in_group(proc.pid) == []  # no worker is left behind
