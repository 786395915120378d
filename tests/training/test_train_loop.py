"""The training loop: it learns, writes its run folder, and resumes from last.pt after an interrupt."""

from __future__ import annotations

import json

import pytest
import torch

from fabric_inspect.errors import ConfigError
from fabric_inspect.models.checkpoint import load_checkpoint
from fabric_inspect.models.network import DefectNet, NetworkConfig, normalize
from fabric_inspect.training.config import TrainConfig
from fabric_inspect.training.data import ValImage
from fabric_inspect.training.loop import _same_size_runs, is_better, train, validate

from .tiny_source import CLASSES, TinySource, tiny_image

TINY_NET = {"widths": (4, 8, 8), "dilations": (1,), "classes": CLASSES}


def _config(**kw) -> TrainConfig:
    fields = dict(epochs=2, steps_per_epoch=6, batch_size=4, crop=32, lr=1e-2, threads=1, widths=(4, 8, 8))
    fields.update(kw)
    return TrainConfig(**fields, dilations=(1,))


def _net() -> DefectNet:
    torch.manual_seed(0)
    return DefectNet(NetworkConfig(**TINY_NET))


def test_a_few_steps_lower_the_loss_and_write_the_run_folder(tmp_path):
    config = _config(epochs=3, steps_per_epoch=10)
    result = train(_net(), TinySource(), config, tmp_path, progress=False)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"config.json", "metrics.json", "curve.png", "last.pt", "best.pt"} <= names
    epochs = json.loads((tmp_path / "metrics.json").read_text())["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]
    assert result.history == epochs
    assert json.loads((tmp_path / "config.json").read_text())["train"]["epochs"] == 3
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_trained_network_comes_back_in_the_default_memory_layout(tmp_path):
    """`train` runs channels-last for speed; what it hands to the export and the checkpoints is not."""
    net = _net()
    train(net, TinySource(), _config(epochs=1, steps_per_epoch=2), tmp_path, progress=False)
    four_d = [p for p in net.parameters() if p.dim() == 4 and p.shape[1] > 1 and p.shape[2] > 1]
    assert four_d and all(p.is_contiguous() for p in four_d)


def test_interrupted_run_resumes_from_last_checkpoint(tmp_path):
    config = _config()
    with pytest.raises(KeyboardInterrupt):
        train(_net(), TinySource(fail_at_step=8), config, tmp_path, progress=False)  # dies in epoch 2
    first = load_checkpoint(tmp_path / "last.pt")
    assert first["epoch"] == 0 and len(first["history"]) == 1
    result = train(_net(), TinySource(), config, tmp_path, resume=True, progress=False)
    assert [r["epoch"] for r in result.history] == [1, 2]
    assert result.history[0] == first["history"][0]
    last = load_checkpoint(tmp_path / "last.pt")
    assert last["epoch"] == 1
    assert last["scheduler"]["_step_count"] == first["scheduler"]["_step_count"] + config.steps_per_epoch


def test_resume_with_other_settings_is_refused(tmp_path):
    train(_net(), TinySource(), _config(epochs=1), tmp_path, progress=False)
    with pytest.raises(ConfigError, match="other settings"):
        train(_net(), TinySource(), _config(epochs=1, lr=5e-3), tmp_path, resume=True, progress=False)


def test_resume_may_use_another_thread_count(tmp_path):
    """Threads change the speed, not what is trained: a run stopped on one core goes on with two."""
    with pytest.raises(KeyboardInterrupt):
        train(_net(), TinySource(fail_at_step=8), _config(threads=1), tmp_path, progress=False)
    result = train(_net(), TinySource(), _config(threads=2), tmp_path, resume=True, progress=False)
    assert [r["epoch"] for r in result.history] == [1, 2]


def test_early_stopping_ends_a_run_that_stopped_improving(tmp_path):
    net = _net()
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = 0.0  # running statistics frozen ...
    config = _config(epochs=6, steps_per_epoch=2, lr=1e-12, patience=1)  # ... and weights too
    result = train(net, TinySource(), config, tmp_path, progress=False)
    assert result.stopped_early
    assert [r["epoch"] for r in result.history] == [1, 2]  # epoch 1 is best; 1 more without progress


@pytest.mark.parametrize(
    ("row", "best", "better"),
    [
        (
            {"val_image_auroc": 0.9, "val_loss": 2.0},
            {"val_image_auroc": 0.8, "val_loss": 1.0, "epoch": 0},
            True,
        ),
        (
            {"val_image_auroc": 0.7, "val_loss": 0.5},
            {"val_image_auroc": 0.8, "val_loss": 1.0, "epoch": 0},
            False,
        ),
        (
            {"val_image_auroc": 0.8, "val_loss": 0.5},
            {"val_image_auroc": 0.8, "val_loss": 1.0, "epoch": 0},
            True,
        ),
        (
            {"val_image_auroc": None, "val_loss": 0.5},
            {"val_image_auroc": None, "val_loss": 1.0, "epoch": 0},
            True,
        ),
        (
            {"val_image_auroc": None, "val_loss": 1.5},
            {"val_image_auroc": None, "val_loss": 1.0, "epoch": 0},
            False,
        ),
        (
            {"val_image_auroc": 0.6, "val_loss": 9.0},
            {"val_image_auroc": None, "val_loss": 1e9, "epoch": -1},
            True,
        ),
    ],
)
def test_model_selection_prefers_image_auroc_then_loss(row, best, better):
    assert is_better(row, best) is better


def _val_set() -> list[ValImage]:
    """Two sizes, with and without masks, defective and defect-free, in an order that splits runs."""
    items = []
    for i in range(7):
        image, mask = tiny_image(500 + i, 40)
        items.append(ValImage(image, mask, int(mask.max())))
    for i in range(3):
        image, mask = tiny_image(600 + i, 48)
        items.append(ValImage(image, None if i == 1 else mask, int(mask.max())))
    items.append(ValImage(*tiny_image(700, 40)[:1], None, 0))
    return items


def test_validation_in_batches_gives_what_image_by_image_gives():
    net = _net()
    for module in net.modules():  # BatchNorm statistics other than 0 and 1, as after training
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    images = _val_set()
    together = validate(net, images)
    alone = validate(net, images, batch_pixels=1)
    assert together["val_loss"] == pytest.approx(alone["val_loss"], rel=1e-5)
    assert together["val_image_auroc"] == alone["val_image_auroc"]
    assert 0.0 < together["val_image_auroc"] < 1.0  # both classes present, not a degenerate figure


def test_validation_runs_hold_one_size_and_kind_up_to_the_pixel_budget():
    runs = _same_size_runs(_val_set(), max_pixels=3 * 40 * 40)
    assert [len(run) for run in runs] == [3, 3, 1, 1, 1, 1, 1]
    assert all(len({(it.image.shape, it.mask is None) for it in run}) == 1 for run in runs)


def _teacher(tmp_path, color: bool = True, bias: float = 2.0):
    """A checkpoint of a net of another shape that calls every cell a defect (p = 0.88)."""
    from fabric_inspect.models.checkpoint import save_checkpoint

    torch.manual_seed(5)
    net = DefectNet(NetworkConfig(color=color, widths=(4, 4, 12), dilations=(1, 2), classes=CLASSES))
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias[0] = bias
    state = {"model": net.state_dict(), "config": net.config.to_dict(), "classes": list(CLASSES)}
    return save_checkpoint(tmp_path / "teacher.pt", state)


def _mean_score(net) -> float:
    net.eval()
    images = [item.image for item in TinySource().val_images()]
    x = torch.stack([torch.from_numpy(i).permute(2, 0, 1) for i in images])
    with torch.no_grad():
        return float(torch.sigmoid(net(normalize(x))[0]).mean())


def test_a_teacher_pulls_the_student_toward_its_map(tmp_path):
    """The same run with and without a teacher that calls every cell a defect: with it, the student's
    map rises toward the teacher's; without it, it stays low (the labels say fabric). The learning
    rate is high so that 16 steps can move the map that far."""
    teacher = _teacher(tmp_path)
    settings = {"epochs": 2, "steps_per_epoch": 8, "lr": 0.2}
    config = _config(**settings, teacher=str(teacher), distill_weight=20.0)
    taught = _net()
    result = train(taught, TinySource(), config, tmp_path / "taught", progress=False)
    assert all(row["train_distill"] > 0 for row in result.history)
    plain = _net()
    train(plain, TinySource(), _config(**settings), tmp_path / "plain", progress=False)
    assert _mean_score(plain) < 0.5 < _mean_score(taught)  # measured: 0.16 and 0.86


def test_a_teacher_that_reads_other_frames_is_refused(tmp_path):
    teacher = _teacher(tmp_path, color=False)
    with pytest.raises(ConfigError, match="greyscale model"):
        train(_net(), TinySource(), _config(teacher=str(teacher)), tmp_path / "run", progress=False)


def test_the_same_command_from_scratch_trains_the_same_weights(tmp_path):
    """`make model` is a recorded command: the fresh network is drawn from the run's seed, so two runs
    of it in different processes (different earlier draws) give the same weights."""
    from fabric_inspect.training.pipeline import init_network

    config = _config(epochs=1, steps_per_epoch=4, seed=5)
    weights = []
    for run, drawn_before in enumerate((11, 12)):
        torch.manual_seed(drawn_before)
        net = init_network(None, config, CLASSES)
        train(net, TinySource(), config, tmp_path / str(run), progress=False)
        weights.append(net.state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
