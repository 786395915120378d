"""The network's shape contract: any input size, stride-8 maps, colour and grey, config validation."""

from __future__ import annotations

import math

import pytest
import torch

from fabric_inspect.errors import ConfigError
from fabric_inspect.models.network import DefectNet, FrameModel, NetworkConfig, output_size


@pytest.mark.parametrize(("height", "width"), [(64, 64), (93, 141), (8, 200), (257, 31)])
@pytest.mark.parametrize("color", [True, False])
def test_frame_model_gives_maps_at_stride_8_for_any_size(height, width, color):
    config = NetworkConfig(color=color, classes=("hole", "stain", "knot"))
    model = FrameModel(DefectNet(config).eval()).eval()
    shape = (height, width, 3) if color else (height, width)
    frame = torch.randint(0, 256, shape, dtype=torch.uint8)
    with torch.no_grad():
        score, logits = model(frame)
    h, w = math.ceil(height / 8), math.ceil(width / 8)
    assert tuple(score.shape) == (h, w) == output_size(height, width)
    assert tuple(logits.shape) == (3, h, w)
    assert score.dtype == torch.float32
    assert float(score.min()) >= 0.0 and float(score.max()) <= 1.0


def test_untrained_network_starts_with_low_defect_probability():
    model = FrameModel(DefectNet(NetworkConfig()).eval()).eval()
    with torch.no_grad():
        score, _ = model(torch.full((64, 64, 3), 128, dtype=torch.uint8))
    assert float(score.mean()) < 0.1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"widths": (16, 32)}, "widths"),
        ({"widths": (16, 0, 64)}, "widths"),
        ({"dilations": (1, 0)}, "dilations"),
        ({"classes": ()}, "classes"),
        ({"classes": ("hole", "hole")}, "classes"),
    ],
)
def test_bad_network_config_is_rejected_naming_the_field(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        NetworkConfig(**kwargs)


def test_network_config_round_trips_through_a_plain_dict():
    config = NetworkConfig(color=False, widths=(8, 16, 24), dilations=(2,), classes=("a", "b"))
    assert NetworkConfig.from_dict(config.to_dict()) == config


def test_unknown_network_config_key_is_named():
    with pytest.raises(ConfigError, match="depth"):
        NetworkConfig.from_dict({"depth": 5}, source="x.pt")
