"""Checkpoints: plain dicts that load with weights_only=True, and clear errors for anything else."""

from __future__ import annotations

import pytest
import torch

from fabric_inspect.errors import ModelError
from fabric_inspect.models.checkpoint import (
    CHECKPOINT_FORMAT,
    load_checkpoint,
    network_from_checkpoint,
    save_checkpoint,
)

from .helpers import tiny_net


def _state(net):
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
    net(torch.randn(1, 3, 16, 16))[0].sum().backward()
    optimizer.step()
    return {
        "model": net.state_dict(),
        "config": net.config.to_dict(),
        "classes": list(net.config.classes),
        "threshold": 0.3,
        "epoch": 4,
        "optimizer": optimizer.state_dict(),
        "history": [{"epoch": 1, "val_loss": 0.5, "val_image_auroc": None}],
    }


def test_checkpoint_round_trip_loads_with_weights_only(tmp_path):
    net = tiny_net().train()
    path = save_checkpoint(tmp_path / "ck.pt", _state(net))
    raw = torch.load(path, weights_only=True)  # plain dict: no pickled classes
    assert raw["format"] == CHECKPOINT_FORMAT
    state = load_checkpoint(path)
    assert state["epoch"] == 4 and state["history"][0]["val_image_auroc"] is None
    restored = network_from_checkpoint(state).eval()
    x = torch.randn(1, 3, 24, 24)
    with torch.no_grad():
        torch.testing.assert_close(restored(x)[0], net.eval()(x)[0])
    assert not list(tmp_path.glob("*.tmp"))


def _foreign_dict(path):
    torch.save({"state_dict": {}}, path)


def _text(path):
    path.write_text("not a checkpoint")


class _Pickled:
    pass


def _pickled_object(path):
    torch.save(_Pickled(), path)


def _ours_without_config(path):
    torch.save({"format": CHECKPOINT_FORMAT, "model": {}}, path)


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (None, "does not exist"),
        (_text, "could not be read as a torch checkpoint .not the zip archive"),
        (_foreign_dict, "is not a fabric-inspect checkpoint"),
        (_pickled_object, "could not be read as a torch checkpoint .it holds Python objects"),
        (_ours_without_config, "lacks keys"),
    ],
)
def test_bad_checkpoints_are_rejected_naming_the_file(tmp_path, write, message):
    path = tmp_path / "weights.pt"
    if write is not None:
        write(path)
    with pytest.raises(ModelError, match=message) as err:
        load_checkpoint(path)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value) and "\x1b" not in str(err.value)
    assert "weights_only` set to `False" not in str(err.value)  # torch's advice, wrong for a foreign file


def test_weights_that_do_not_fit_the_config_are_rejected(tmp_path):
    state = _state(tiny_net())
    state["config"] = {**state["config"], "widths": [8, 8, 8]}
    with pytest.raises(ModelError, match="weights do not fit"):
        network_from_checkpoint(state, source="w.pt")
