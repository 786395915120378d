"""Training-time branches (`RepConvBN`): summed back into the plain network, exactly, at export."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from fabric_inspect.errors import ConfigError
from fabric_inspect.models.export import export_onnx, model_info_for
from fabric_inspect.models.network import DefectNet, NetworkConfig, RepConvBN, fuse_branches, normalize
from fabric_inspect.models.runtime import load_model, pad_to_stride

from .helpers import randomize_batchnorm

SHAPE = {"widths": (4, 8, 8), "dilations": (1, 2), "classes": ("hole", "stain"), "line_pool": True}


def _branched(seed: int = 0, **kw) -> DefectNet:
    """A branched net whose BatchNorms hold distinct, non-trivial statistics (so fusing must use them)."""
    torch.manual_seed(seed)
    net = randomize_batchnorm(DefectNet(NetworkConfig(**{**SHAPE, **kw})))
    for conv in (net.lines.column, net.lines.row):
        torch.nn.init.normal_(conv.weight, std=0.5)
    return net.eval()


@pytest.mark.parametrize("stem", ["patch4", "conv3"])
@pytest.mark.parametrize("color", [True, False])
def test_fusing_gives_the_plain_network_computing_the_same_maps(stem, color):
    net = _branched(stem=stem, color=color, branches=3)
    plain = fuse_branches(net)
    assert plain.config.branches == 1 and not any(isinstance(m, RepConvBN) for m in plain.modules())
    reference = DefectNet(NetworkConfig(**SHAPE, stem=stem, color=color))
    assert plain.state_dict().keys() == reference.state_dict().keys()
    x = torch.randn(2, 3 if color else 1, 45, 77)  # not a multiple of the stride
    with torch.no_grad():
        for want, got in zip(net(x), plain(x), strict=True):
            torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_every_branch_counts_in_the_sum():
    """Zeroing any one branch of one convolution changes the map: none is left out of `fused`."""
    net = _branched(branches=2)
    x = torch.randn(1, 3, 40, 40)
    with torch.no_grad():
        want = fuse_branches(net)(x)[0]
        rep = next(m for m in net.modules() if isinstance(m, RepConvBN) and m.scale is not None)
        assert rep.skip is not None  # the stride-4 depthwise conv has all three kinds
        for part in (rep.convs[1].weight, rep.scale[0].weight):
            saved = part.clone()
            part.zero_()
            assert not torch.allclose(fuse_branches(net)(x)[0], want)
            part.copy_(saved)
        rep.skip.weight.zero_()
        rep.skip.bias.zero_()
        assert not torch.allclose(fuse_branches(net)(x)[0], want)


def test_a_branched_net_exports_the_plain_graph_and_keeps_parity(tmp_path):
    net = _branched(branches=2)
    plain = _branched(seed=1, branches=1)  # random statistics: no two initializers alike
    frames = [np.random.default_rng(1).integers(0, 256, (45, 77, 3), dtype=np.uint8)]
    path = export_onnx(net, tmp_path / "rep.onnx", model_info_for(net, 0.5), parity_frames=frames)
    reference = export_onnx(plain, tmp_path / "plain.onnx", model_info_for(plain, 0.5))
    ops = [[n.op_type for n in onnx.load(str(p)).graph.node] for p in (path, reference)]
    assert ops[0] == ops[1]
    with torch.no_grad():
        padded = pad_to_stride(frames[0], 8)  # as predict feeds a frame of any size
        want = torch.sigmoid(net(normalize(torch.from_numpy(padded).permute(2, 0, 1)[None]))[0])
    np.testing.assert_allclose(load_model(path).predict(frames[0]).score, want[0, 0].numpy(), atol=1e-4)


def test_branches_are_validated_and_old_configs_load_plain():
    with pytest.raises(ConfigError, match="branches"):
        NetworkConfig(branches=0)
    old = {"widths": [4, 8, 8], "dilations": [1], "stem": "patch4", "line_pool": True}
    assert NetworkConfig.from_dict(old).branches == 1
    config = NetworkConfig(branches=2)
    assert NetworkConfig.from_dict(config.to_dict()) == config


def test_a_plain_network_is_its_own_fusion():
    net = DefectNet(NetworkConfig(**SHAPE))
    assert fuse_branches(net) is net


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_branches_added_to_trained_weights_change_nothing_until_trained(mode):
    from fabric_inspect.models.network import add_branches

    plain = _branched(seed=4, branches=1)
    branched = add_branches(plain, 3)
    assert branched.config.branches == 3
    plain.train(mode == "train")
    branched.train(mode == "train")
    x = torch.randn(2, 3, 45, 77)
    with torch.no_grad():
        for want, got in zip(plain(x), branched(x), strict=True):
            torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
    branched.eval()
    plain.eval()
    with torch.no_grad():
        torch.testing.assert_close(fuse_branches(branched)(x)[0], plain(x)[0], atol=1e-5, rtol=1e-4)
