"""Training checkpoints: one plain dict saved with torch.save, loaded with ``weights_only=True``.

Keys: ``format`` (`CHECKPOINT_FORMAT`), ``model`` (state_dict), ``config`` (`NetworkConfig.to_dict`),
``classes``, ``threshold``, ``epoch``, and for resuming ``optimizer``, ``scheduler``, ``train_config``,
``history``, ``best`` (plain values only). ``training`` and ``metrics`` summaries go into the ONNX
metadata at export.
"""

from __future__ import annotations

import logging
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from fabric_inspect.errors import ModelError
from fabric_inspect.models.network import DefectNet, NetworkConfig

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "fabric-inspect-checkpoint-1"
DEFAULT_WEIGHTS_NAME = "default.pt"
REQUIRED_KEYS = ("model", "config", "classes")


def default_weights_path() -> Path:
    """The torch weights the shipped default.onnx was exported from (for `--init default`)."""
    from importlib import resources

    return Path(str(resources.files("fabric_inspect.models").joinpath(DEFAULT_WEIGHTS_NAME)))


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write `state` (plain values and tensors) atomically: a crash never leaves half a file."""
    path = Path(path)
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise ModelError(f"checkpoint for {path} lacks keys {missing}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, **state}, tmp)
    os.replace(tmp, path)
    return path


def _load_failure(path: Path, err: Exception) -> str:
    """Why torch.load refused the file, in a few words. torch's own weights-only message is paragraphs
    long, coloured, and advises loading with ``weights_only=False``: never right for a file that is not
    ours, which can run code when unpickled."""
    if not zipfile.is_zipfile(path):
        return "not the zip archive that torch.save writes"
    if isinstance(err, pickle.UnpicklingError) and "weights only" in str(err).lower():
        return "it holds Python objects besides tensors and plain values, which are never loaded"
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``; ModelError names the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(
            f"checkpoint {path} does not exist; give a weights.pt or last.pt from a training run"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises pickle, zip and runtime errors alike
        raise ModelError(
            f"checkpoint {path} could not be read as a torch checkpoint ({_load_failure(path, err)}); "
            "give a .pt file written by `fabric-inspect train`"
        ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        got = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ModelError(
            f"checkpoint {path} is not a fabric-inspect checkpoint (format {got!r}, expected "
            f"{CHECKPOINT_FORMAT!r}); give a .pt file written by `fabric-inspect train`"
        )
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise ModelError(
            f"checkpoint {path} lacks keys {missing}; it was not written by `fabric-inspect train`"
        )
    return state


def network_from_checkpoint(state: dict[str, Any], source: str = "checkpoint") -> DefectNet:
    """Build the network a checkpoint describes and load its weights."""
    config = NetworkConfig.from_dict(state["config"], source=source)
    net = DefectNet(config)
    try:
        net.load_state_dict(state["model"])
    except (RuntimeError, KeyError, TypeError) as err:
        first = str(err).strip().splitlines()[0]
        raise ModelError(f"{source}: weights do not fit its network config ({first})") from None
    return net
