"""Pruning the stride-8 or stride-4 stream: narrower nets that compute what the channels left compute."""

from __future__ import annotations

import re

import pytest
import torch
from typer.testing import CliRunner

from fabric_inspect.cli import app
from fabric_inspect.errors import ConfigError
from fabric_inspect.models.checkpoint import load_checkpoint, network_from_checkpoint, save_checkpoint
from fabric_inspect.models.export import export_onnx, model_info_for
from fabric_inspect.models.network import DefectNet, NetworkConfig
from fabric_inspect.training.prune import keep_channels, prune_stream

SHAPE = {"widths": (4, 6, 8), "dilations": (1, 2), "classes": ("hole", "stain"), "line_pool": True}
DEAD = 5  # the stride-8 channel made to carry nothing


def _net(seed: int = 0) -> DefectNet:
    torch.manual_seed(seed)
    net = DefectNet(NetworkConfig(**SHAPE))
    for module in net.modules():  # trained-looking BatchNorm and line pooling
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.bias.data.uniform_(-0.2, 0.2)
    for conv in (net.lines.column, net.lines.row):
        torch.nn.init.normal_(conv.weight, std=0.2)
    return net.eval()


def _with_a_dead_channel(net: DefectNet) -> DefectNet:
    """Channel DEAD of the stride-8 stream is 0 everywhere and adds nothing where it is read."""
    with torch.no_grad():
        writers = [net.features[2][4]] + [net.features[i].body[4] for i in (3, 4)]
        for bn in writers:  # BN -> ReLU of every block that writes the stream: always 0
            bn.weight[DEAD], bn.bias[DEAD] = 0.0, -1.0
        for i in (3, 4):  # the depthwise path that reads it gives 0 on 0
            bn = net.features[i].body[1]
            bn.bias[DEAD], bn.running_mean[DEAD] = 0.0, 0.0
        for conv in (net.lines.column, net.lines.row):
            conv.weight[DEAD], conv.bias[DEAD] = 0.0, 0.0
    return net


def _images(n: int = 4) -> torch.Tensor:
    return torch.randn(n, 3, 48, 64, generator=torch.Generator().manual_seed(3))


def test_keeping_every_channel_computes_the_same_and_fewer_channels_make_a_narrower_net():
    net = _net()
    x = _images()
    with torch.no_grad():
        for a, b in zip(net(x), keep_channels(net, list(range(8)))(x), strict=True):
            torch.testing.assert_close(a, b)
    narrow = keep_channels(net, [0, 2, 3, 7])
    assert narrow.config.widths == (4, 6, 4) and narrow.head.weight.shape == (3, 4, 1, 1)
    assert narrow.lines.column.weight.shape == (4, 4, 1, 1)
    torch.testing.assert_close(narrow.head.weight, net.head.weight[:, [0, 2, 3, 7]])


def test_pruning_removes_the_channel_that_carries_nothing_first_and_the_map_does_not_move():
    net = _with_a_dead_channel(_net())
    x = _images()
    narrow = prune_stream(net, 7, x)
    assert narrow.config.widths[2] == 7
    with torch.no_grad():
        want, got = net(x), narrow(x)
    for a, b in zip(want, got, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    # a live channel is missed: taking one away does move the map
    with torch.no_grad():
        moved = keep_channels(net, [c for c in range(8) if c != 0])(x)[0]
    assert float((moved - want[0]).abs().max()) > 1e-3


@pytest.mark.parametrize(("width", "message"), [(8, "1..7"), (0, "1..7")])
def test_a_width_that_does_not_narrow_is_refused(width, message):
    with pytest.raises(ConfigError, match=message):
        prune_stream(_net(), width, _images())


def test_prune_command_writes_a_narrower_checkpoint_that_exports(tmp_path):
    net = _net()
    state = {"model": net.state_dict(), "config": net.config.to_dict(), "classes": list(SHAPE["classes"])}
    source = save_checkpoint(tmp_path / "w.pt", state)
    result = CliRunner().invoke(app, ["prune", str(source), "--width", "6", "--out", str(tmp_path / "p.pt")])
    assert result.exit_code == 0, result.output
    pruned = load_checkpoint(tmp_path / "p.pt")
    narrow = network_from_checkpoint(pruned).eval()
    assert narrow.config.widths == (4, 6, 6) and "8 -> 6" in pruned["training"]["pruned"]
    export_onnx(narrow, tmp_path / "p.onnx", model_info_for(narrow, 0.5))  # parity-checked
    bad = CliRunner().invoke(app, ["prune", str(source), "--width", "6", "--out", str(tmp_path / "p.onnx")])
    assert bad.exit_code != 0 and "must end in .pt" in bad.output


SHAPE4 = {**SHAPE, "widths": (6, 6, 8)}  # a residual stride-4 block: its stream can be narrowed
DEAD4 = 2  # the stride-4 channel made to carry nothing


def _net4(seed: int = 0) -> DefectNet:
    torch.manual_seed(seed)
    net = DefectNet(NetworkConfig(**SHAPE4))
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.bias.data.uniform_(-0.2, 0.2)
    return net.eval()


def _with_a_dead_stride4_channel(net: DefectNet) -> DefectNet:
    """Channel DEAD4 of the stride-4 stream is 0 everywhere and adds nothing where it is read."""
    with torch.no_grad():
        for bn in (net.features[0][1], net.features[1].body[4]):  # the stem and the block that write it
            bn.weight[DEAD4], bn.bias[DEAD4] = 0.0, -1.0
        for bn in (net.features[1].body[1], net.features[2][1]):  # the depthwise convolutions that read it
            bn.bias[DEAD4], bn.running_mean[DEAD4] = 0.0, 0.0
    return net


def test_the_stride4_stream_narrows_every_layer_that_writes_or_reads_it():
    net = _net4()
    x = _images()
    with torch.no_grad():
        for a, b in zip(net(x), keep_channels(net, list(range(6)), "stride4")(x), strict=True):
            torch.testing.assert_close(a, b)
    narrow = keep_channels(net, [0, 1, 4, 5], "stride4")
    assert narrow.config.widths == (4, 4, 8)
    assert narrow.features[0][0].weight.shape[0] == 4 and narrow.features[2][3].weight.shape == (8, 4, 1, 1)
    torch.testing.assert_close(narrow.features[2][3].weight, net.features[2][3].weight[:, [0, 1, 4, 5]])


def test_pruning_the_stride4_stream_removes_the_channel_that_carries_nothing_first():
    net = _with_a_dead_stride4_channel(_net4())
    x = _images()
    narrow = prune_stream(net, 5, x, stream="stride4")
    assert narrow.config.widths == (5, 5, 8)
    with torch.no_grad():
        want = net(x)
        for a, b in zip(want, narrow(x), strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
        moved = keep_channels(net, [c for c in range(6) if c != 0], "stride4")(x)[0]
    assert float((moved - want[0]).abs().max()) > 1e-3  # a live channel is missed


def test_a_stride4_stream_that_is_not_one_stream_or_an_unknown_stream_is_refused():
    with pytest.raises(ConfigError, match="residual stride-4 block"):
        prune_stream(_net(), 3, _images(), stream="stride4")  # widths 4, 6: the block changes width
    with pytest.raises(ConfigError, match=re.escape("is not one of stride8|stride4")):
        prune_stream(_net4(), 3, _images(), stream="stride2")


def test_prune_command_narrows_the_stride4_stream(tmp_path):
    net = _net4()
    state = {"model": net.state_dict(), "config": net.config.to_dict(), "classes": list(SHAPE["classes"])}
    source = save_checkpoint(tmp_path / "w.pt", state)
    args = ["prune", str(source), "--stream", "stride4", "--width", "4", "--out", str(tmp_path / "p.pt")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    pruned = load_checkpoint(tmp_path / "p.pt")
    narrow = network_from_checkpoint(pruned).eval()
    assert narrow.config.widths == (4, 4, 8) and pruned["training"]["pruned"] == "6 -> 4 stride-4 channels"
    export_onnx(narrow, tmp_path / "p.onnx", model_info_for(narrow, 0.5))  # parity-checked
    again = CliRunner().invoke(
        app, ["prune", str(tmp_path / "p.pt"), "--width", "6", "--out", str(tmp_path / "q.pt")]
    )
    assert again.exit_code == 0, again.output
    assert load_checkpoint(tmp_path / "q.pt")["training"]["pruned"] == (
        "6 -> 4 stride-4 channels, then 8 -> 6 stride-8 channels"
    )
