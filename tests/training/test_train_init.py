"""`--init`: fine-tuning starts from a checkpoint's trunk, even when the dataset's classes differ."""

from __future__ import annotations

import pytest
import torch

from fabric_inspect.errors import ModelError
from fabric_inspect.models.checkpoint import save_checkpoint
from fabric_inspect.models.network import DefectNet, NetworkConfig
from fabric_inspect.training.config import TrainConfig
from fabric_inspect.training.pipeline import init_network

SHAPE = {"widths": (4, 8, 8), "dilations": (1,)}


def _checkpoint(tmp_path, classes=("a", "b"), color=True):
    torch.manual_seed(1)
    net = DefectNet(NetworkConfig(color=color, classes=classes, **SHAPE))
    state = {"model": net.state_dict(), "config": net.config.to_dict(), "classes": list(classes)}
    return net, save_checkpoint(tmp_path / "w.pt", state)


def test_init_from_checkpoint_with_the_same_classes_keeps_every_weight(tmp_path):
    net, path = _checkpoint(tmp_path)
    got = init_network(str(path), TrainConfig(**SHAPE), ("a", "b"))
    for key, value in net.state_dict().items():
        torch.testing.assert_close(got.state_dict()[key], value)


def test_init_with_other_classes_keeps_the_trunk_and_defect_logit(tmp_path):
    net, path = _checkpoint(tmp_path)
    got = init_network(str(path), TrainConfig(**SHAPE), ("x", "y", "z"))
    assert got.config.classes == ("x", "y", "z") and got.head.weight.shape[0] == 4
    torch.testing.assert_close(got.features[0][0].weight, net.features[0][0].weight)
    torch.testing.assert_close(got.head.weight[:1], net.head.weight[:1])


def test_init_from_a_grey_model_into_a_colour_run_is_refused(tmp_path):
    _, path = _checkpoint(tmp_path, color=False)
    with pytest.raises(ModelError, match="greyscale model"):
        init_network(str(path), TrainConfig(**SHAPE), ("a", "b"))


def test_init_from_a_checkpoint_without_line_pooling_adds_it_and_computes_the_same_map(tmp_path):
    import torch

    from fabric_inspect.models.checkpoint import save_checkpoint
    from fabric_inspect.models.network import DefectNet, NetworkConfig
    from fabric_inspect.training.config import TrainConfig
    from fabric_inspect.training.pipeline import init_network

    classes = ("hole", "stain")
    torch.manual_seed(4)
    old = DefectNet(NetworkConfig(widths=(4, 4, 8), dilations=(1,), classes=classes)).eval()
    path = save_checkpoint(
        tmp_path / "old.pt",
        {"model": old.state_dict(), "config": old.config.to_dict(), "classes": list(classes)},
    )
    net = init_network(str(path), TrainConfig(line_pool=True), classes).eval()
    assert net.config.line_pool and net.lines is not None
    x = torch.randn(1, 3, 40, 48)
    with torch.no_grad():
        for a, b in zip(old(x), net(x), strict=True):
            assert torch.equal(a, b)


def test_init_with_another_residual_sum_keeps_every_weight_and_without_one_keeps_the_checkpoints(tmp_path):
    net, path = _checkpoint(tmp_path)
    linear = init_network(str(path), TrainConfig(**SHAPE, residual="linear"), ("a", "b"))
    assert (net.config.residual, linear.config.residual) == ("relu", "linear")
    for key, value in net.state_dict().items():
        torch.testing.assert_close(linear.state_dict()[key], value)
    again = save_checkpoint(
        tmp_path / "linear.pt",
        {"model": linear.state_dict(), "config": linear.config.to_dict(), "classes": ["a", "b"]},
    )
    assert init_network(str(again), TrainConfig(**SHAPE), ("a", "b")).config.residual == "linear"
    assert init_network(None, TrainConfig(**SHAPE), ("a", "b")).config.residual == "relu"


def test_a_residual_sum_that_does_not_exist_is_refused_naming_the_option():
    from fabric_inspect.errors import ConfigError

    with pytest.raises(ConfigError, match="--residual"):
        TrainConfig(residual="sigmoid")


def test_init_with_branches_trains_on_with_them_and_computes_the_same_map_at_the_start(tmp_path):
    net, path = _checkpoint(tmp_path)
    got = init_network(str(path), TrainConfig(**SHAPE, branches=2), ("a", "b"))
    assert got.config.branches == 2 and net.config.branches == 1
    x = torch.randn(1, 3, 40, 48)
    with torch.no_grad():
        torch.testing.assert_close(got.eval()(x)[0], net.eval()(x)[0], atol=1e-5, rtol=1e-4)


def test_a_fresh_network_and_new_class_logits_start_from_the_runs_seed(tmp_path):
    def weights(init, seed, drawn_before, classes=("a", "b")):
        torch.manual_seed(drawn_before)  # whatever the process drew before must not matter
        net = init_network(init, TrainConfig(**SHAPE, seed=seed), classes)
        return torch.cat([p.detach().flatten() for p in net.state_dict().values() if p.is_floating_point()])

    assert torch.equal(weights(None, 3, drawn_before=1), weights(None, 3, drawn_before=2))
    assert not torch.equal(weights(None, 3, drawn_before=1), weights(None, 4, drawn_before=1))
    _, path = _checkpoint(tmp_path)
    new = ("x", "y", "z")
    assert torch.equal(weights(str(path), 3, 1, new), weights(str(path), 3, 2, new))
    assert not torch.equal(weights(str(path), 3, 1, new), weights(str(path), 4, 1, new))
