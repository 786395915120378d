"""The network's shape contract: any input size, stride-8 maps, colour and grey, config validation."""

from __future__ import annotations

import math

import pytest
import torch

from fabric_inspect.errors import ConfigError
from fabric_inspect.models.network import DefectNet, FrameModel, NetworkConfig, output_size


@pytest.mark.parametrize(("height", "width"), [(64, 64), (93, 141), (8, 200), (257, 31), (5, 3)])
@pytest.mark.parametrize("color", [True, False])
@pytest.mark.parametrize("stem", ["patch4", "conv3"])
def test_frame_model_gives_maps_at_stride_8_for_any_size(height, width, color, stem):
    config = NetworkConfig(color=color, classes=("hole", "stain", "knot"), stem=stem)
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
        ({"stem": "conv7"}, "stem"),
        ({"image_norm": True}, "image_norm"),
        ({"residual": "gated"}, "residual"),
        ({"kernel": 4}, "kernel"),
    ],
)
def test_bad_network_config_is_rejected_naming_the_field(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        NetworkConfig(**kwargs)


def test_network_config_round_trips_through_a_plain_dict():
    config = NetworkConfig(color=False, widths=(8, 16, 24), dilations=(2,), classes=("a", "b"))
    assert NetworkConfig.from_dict(config.to_dict()) == config


def test_a_network_config_without_a_shape_takes_the_default_shape():
    config = NetworkConfig.from_dict({"classes": ["hole"]})
    assert (config.widths, config.dilations) == (NetworkConfig().widths, NetworkConfig().dilations)


def test_unknown_network_config_key_is_named():
    with pytest.raises(ConfigError, match="depth"):
        NetworkConfig.from_dict({"depth": 5}, source="x.pt")


def test_checkpoints_from_before_the_residual_and_kernel_options_sum_after_the_relu_with_3x3():
    old = {"color": True, "widths": [16, 32, 64], "dilations": [1], "classes": ["hole"], "stem": "patch4"}
    assert (NetworkConfig.from_dict(old).residual, NetworkConfig.from_dict(old).kernel) == ("relu", 3)
    linear = NetworkConfig(residual="linear")
    assert NetworkConfig.from_dict(linear.to_dict()) == linear


def test_a_linear_residual_block_adds_its_body_before_the_last_relu_and_keeps_negative_sums():
    torch.manual_seed(3)
    shape = {"widths": (4, 4, 8), "dilations": (1, 2), "classes": ("hole",)}
    relu_net = DefectNet(NetworkConfig(**shape)).eval()
    linear_net = DefectNet(NetworkConfig(**shape, residual="linear")).eval()
    linear_net.load_state_dict(relu_net.state_dict())  # the same weights: only the sum differs
    x = torch.randn(1, 3, 48, 64)
    with torch.no_grad():
        for block in (relu_net.features[1], *relu_net.features[3:]):
            torch.nn.init.normal_(block.body[4].bias, std=2.0)  # pointwise BN shift: some sums < x
        linear_net.load_state_dict(relu_net.state_dict())
        stem = relu_net.features[0](x)
        body = relu_net.features[1].body
        before_relu = body[:-1](stem)
        assert torch.equal(linear_net.features[1](stem), stem + before_relu)
        assert torch.equal(relu_net.features[1](stem), stem + torch.relu(before_relu))
        assert bool((linear_net.features[1](stem) < stem).any())  # a ReLU would have kept these at x
        assert not torch.equal(linear_net(x)[0], relu_net(x)[0])


def test_checkpoints_from_before_the_patch_stem_load_as_conv3():
    old = {"color": True, "widths": [16, 32, 64], "dilations": [1, 2, 4], "classes": ["hole"]}
    assert NetworkConfig.from_dict(old).stem == "conv3"


def test_folding_the_input_normalization_into_the_stem_changes_nothing_the_net_computes():
    from fabric_inspect.models.export import fold_batchnorm
    from fabric_inspect.models.network import fold_input

    torch.manual_seed(0)
    net = DefectNet(NetworkConfig(widths=(8, 8, 16), dilations=(1,), classes=("hole",)))
    for module in net.modules():  # non-trivial BatchNorm statistics, as after training
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2.0)
    net.eval()
    frame = torch.randint(0, 256, (37, 45, 3), dtype=torch.uint8)  # not a multiple of 4: padding is read
    with torch.no_grad():
        want = FrameModel(net)(frame)
        folded = fold_input(fold_batchnorm(net))
        got = FrameModel(folded)(frame)
    assert folded.raw_input and folded.pad_value == 0.0
    for a, b in zip(want, got, strict=True):
        assert torch.allclose(a, b, atol=1e-4)
    # and it really folded something: the stem now expects raw pixels
    with torch.no_grad():
        assert not torch.allclose(folded(frame.permute(2, 0, 1)[None].float() / 64)[0], want[0][None, None])


def test_the_interleaved_stem_reads_the_hwc_frame_as_a_plane_and_computes_the_same():
    from fabric_inspect.models.export import fold_batchnorm
    from fabric_inspect.models.network import fold_input, interleave_stem

    torch.manual_seed(1)
    net = DefectNet(NetworkConfig(widths=(8, 8, 16), dilations=(1,), classes=("hole",))).eval()
    frame = torch.randint(0, 256, (37, 45, 3), dtype=torch.uint8)  # padding at the bottom and right
    with torch.no_grad():
        want = FrameModel(net)(frame)
        plane = interleave_stem(fold_input(fold_batchnorm(net)))
        got = FrameModel(plane)(frame)
    assert plane.interleaved and plane.features[0][0].weight.shape == (8, 1, 4, 12)
    for a, b in zip(want, got, strict=True):
        assert a.shape == b.shape and torch.allclose(a, b, atol=1e-4)
    with pytest.raises(ValueError, match="fold_input"):  # it needs raw pixel weights
        interleave_stem(fold_batchnorm(net))
    grey_net = DefectNet(NetworkConfig(color=False, widths=(8, 8, 16), dilations=(1,)))
    grey = fold_input(fold_batchnorm(grey_net))
    assert not interleave_stem(grey).interleaved  # one channel: already a plane


def test_line_pooling_starts_as_the_identity_and_then_sees_a_faint_line_down_a_column():
    from fabric_inspect.models.network import LinePool

    torch.manual_seed(0)
    pool = LinePool(4).eval()
    x = torch.rand(1, 4, 12, 10)
    with torch.no_grad():
        assert torch.equal(pool(x), x)  # zero-initialised: adding it to a trained net changes nothing
        torch.nn.init.eye_(pool.column.weight[:, :, 0, 0])
        flat = torch.ones(1, 4, 12, 10)
        line = flat.clone()
        line[0, :, 3:9, 6] += 0.3  # a faint vertical line, half the map high
        out = pool(line) - line
    # every cell of column 6 gets the column's excess, also where the line itself is not
    assert torch.allclose(out[0, :, 0, 6], out[0, :, 11, 6]) and float(out[0, 0, 0, 6]) > 0.1
    assert float(out[0, 0, 0, 2]) <= 0.0  # other columns do not


def test_a_5x5_kernel_at_stride_8_keeps_the_map_size_and_reaches_further():
    torch.manual_seed(0)
    shape = {"widths": (4, 4, 8), "dilations": (1,), "classes": ("hole",)}
    nets = {k: DefectNet(NetworkConfig(**shape, kernel=k)).eval() for k in (3, 5)}
    assert nets[5].features[3].body[0].kernel_size == (5, 5)
    x = torch.randn(1, 3, 96, 96, requires_grad=True)
    reach = {}
    for k, net in nets.items():
        logit, _ = net(x)
        assert logit.shape[-2:] == (12, 12)
        (grad,) = torch.autograd.grad(logit[0, 0, 6, 6], x)
        rows = torch.nonzero(grad.abs().sum(dim=(0, 1, 3)))
        reach[k] = int(rows.max() - rows.min())
    assert reach[5] > reach[3]  # one more cell each side at stride 8: 16 px more of the frame
