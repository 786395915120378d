"""Export: one self-contained ONNX file, readable metadata, and a parity check that can fail."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from fabric_inspect.errors import ModelError
from fabric_inspect.models.export import check_parity, export_onnx, fold_batchnorm, model_info_for
from fabric_inspect.models.runtime import load_model, pad_to_stride

from .helpers import tiny_net


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    net = tiny_net()
    info = model_info_for(net, 0.37, name="tiny", version="9", training={"images": 3}, metrics={"auroc": 0.5})
    out = tmp_path_factory.mktemp("export") / "model.onnx"
    return net, export_onnx(net, out, info)


def test_export_writes_one_self_contained_file(exported):
    _, path = exported
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.onnx"]  # no .onnx.data, no partial
    model = onnx.load(str(path), load_external_data=False)
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    assert not any(n.op_type == "BatchNormalization" for n in model.graph.node)  # folded


def test_exported_metadata_reads_back_through_the_runtime(exported):
    _, path = exported
    model = load_model(path)
    assert model.info.name == "tiny" and model.info.version == "9"
    assert model.info.classes == ("hole", "stain")
    assert (model.info.input_layout, model.info.color_order, model.info.stride) == ("HWC", "BGR", 8)
    assert model.info.threshold == pytest.approx(0.37)
    assert model.info.training == {"images": 3} and model.info.metrics == {"auroc": 0.5}


@pytest.mark.parametrize(("height", "width"), [(720, 1280), (101, 77), (256, 4096)])
def test_exported_model_takes_raw_frames_of_any_size(exported, height, width):
    net, path = exported
    frame = np.random.default_rng(1).integers(0, 256, (height, width, 3), dtype=np.uint8)
    pred = load_model(path).predict(frame)
    h, w = -(-height // 8), -(-width // 8)
    assert pred.score.shape == (h, w) and pred.score.dtype == np.float32
    assert pred.class_logits.shape == (2, h, w)
    with torch.no_grad():
        padded = pad_to_stride(frame, 8)  # mirrored out to a multiple of the stride, as predict does
        score, _ = net((torch.from_numpy(padded).permute(2, 0, 1)[None].float() - 128) / 64)
    np.testing.assert_allclose(pred.score, torch.sigmoid(score)[0, 0].numpy(), atol=1e-4)


def test_patch_stem_export_has_no_per_pixel_work_before_the_first_convolution(exported):
    _, path = exported
    graph = onnx.load(str(path)).graph
    ops = [n.op_type for n in graph.node]
    first_conv = ops.index("Conv")
    # views and a cast only: the padding is in the Conv's pads, the normalization in its weights, and
    # the stem reads the HWC frame as one H x 3W plane (no transpose)
    assert not {"Pad", "Sub", "Mul", "Div", "Transpose"} & set(ops[:first_conv]), ops[: first_conv + 1]
    stem = graph.node[first_conv]
    attributes = {a.name: list(a.ints) for a in stem.attribute}
    assert attributes["pads"] == [0, 0, 3, 9]  # 3 pixels of 3 channels at the right
    assert attributes["kernel_shape"] == [4, 12] and attributes["strides"] == [4, 12]


def test_grey_model_exports_hw_input(tmp_path):
    net = tiny_net(color=False)
    path = export_onnx(net, tmp_path / "grey.onnx", model_info_for(net, 0.5))
    model = load_model(path)
    assert (model.info.input_layout, model.info.color_order) == ("HW", "GRAY")
    assert model.session.get_inputs()[0].shape[-1] != 3
    assert model.predict(np.zeros((40, 24), np.uint8)).score.shape == (5, 3)


def test_parity_passes_on_a_real_fabric_frame(exported):
    from fabric_inspect.datasets.synthetic import render_sample

    net, path = exported
    frame = render_sample(5, size=(75, 133), defect_rate=1.0).image
    assert check_parity(net, path, [frame]) < 1e-4


def test_parity_check_fails_when_torch_and_onnx_disagree(exported):
    _, path = exported
    tampered = tiny_net()
    with torch.no_grad():
        tampered.head.bias[0] += 0.5  # the ONNX file still has the old bias
    with pytest.raises(ModelError, match="parity: ONNX score differs from torch"):
        check_parity(tampered, path)


def test_failed_export_leaves_the_existing_file_and_no_partial(tmp_path):
    net = tiny_net()
    out = tmp_path / "model.onnx"
    out.write_bytes(b"previous model")
    with pytest.raises(ModelError, match="parity"):
        export_onnx(net, out, model_info_for(net, 0.5), tolerance=0.0)  # nothing can be closer than 0
    assert out.read_bytes() == b"previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_batchnorm_folding_keeps_the_output():
    net = tiny_net()
    x = torch.randn(1, 3, 40, 56)
    with torch.no_grad():
        want = net(x)
        got = fold_batchnorm(net)(x)
    for a, b in zip(want, got, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_export_destination_must_be_onnx(tmp_path):
    net = tiny_net()
    with pytest.raises(ModelError, match=r"must end in \.onnx"):
        export_onnx(net, tmp_path / "model.pt", model_info_for(net, 0.5))


def test_image_normalized_model_keeps_parity_and_ignores_the_fabric_colour(tmp_path):
    from fabric_inspect.models.network import DefectNet, NetworkConfig

    torch.manual_seed(1)
    shape = {"widths": (4, 8, 8), "dilations": (2,), "classes": ("hole",), "stem": "conv3"}
    net = DefectNet(NetworkConfig(**shape, image_norm=True)).eval()
    rng = np.random.default_rng(0)
    frame = rng.integers(60, 120, (48, 56, 3), dtype=np.uint8)
    path = export_onnx(net, tmp_path / "norm.onnx", model_info_for(net, 0.5), parity_frames=[frame])
    model = load_model(path)
    # the same texture under brighter light: per-image normalization gives the same map
    brighter = frame + np.uint8(40)
    # (class logits: an untrained net's score sits near its sigmoid(-4) start whatever the input)
    a, b = model.predict(frame).class_logits, model.predict(brighter).class_logits
    assert np.abs(a - b).max() < 1e-4
    plain = DefectNet(NetworkConfig(**shape)).eval()
    p_path = export_onnx(plain, tmp_path / "plain.onnx", model_info_for(plain, 0.5))
    p_model = load_model(p_path)
    assert np.abs(p_model.predict(frame).class_logits - p_model.predict(brighter).class_logits).max() > 1e-3


def test_line_pooled_model_keeps_parity_on_wide_and_odd_frames(tmp_path):
    from fabric_inspect.models.network import DefectNet, NetworkConfig

    torch.manual_seed(2)
    net = DefectNet(NetworkConfig(widths=(4, 4, 8), dilations=(1, 2), classes=("hole",), line_pool=True))
    for conv in (net.lines.column, net.lines.row):
        torch.nn.init.normal_(conv.weight, std=0.5)
    net.eval()
    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 256, shape, dtype=np.uint8) for shape in ((256, 1024, 3), (45, 77, 3))]
    path = export_onnx(net, tmp_path / "lines.onnx", model_info_for(net, 0.5), parity_frames=frames)
    assert load_model(path).predict(frames[1]).score.shape == (6, 10)


def test_linear_residual_5x5_model_keeps_parity_and_its_sums_go_negative(tmp_path):
    from fabric_inspect.models.network import DefectNet, NetworkConfig

    torch.manual_seed(5)
    shape = {"widths": (4, 4, 8), "dilations": (1, 2), "classes": ("hole",), "line_pool": True}
    net = DefectNet(NetworkConfig(**shape, residual="linear", kernel=5)).eval()
    rng = np.random.default_rng(6)
    frames = [rng.integers(0, 256, shape, dtype=np.uint8) for shape in ((120, 200, 3), (45, 77, 3))]
    path = export_onnx(net, tmp_path / "linear.onnx", model_info_for(net, 0.5), parity_frames=frames)
    relu_net = DefectNet(NetworkConfig(**shape, kernel=5)).eval()
    relu_net.load_state_dict(net.state_dict())
    relu_path = export_onnx(relu_net, tmp_path / "relu.onnx", model_info_for(relu_net, 0.5))
    linear_out, relu_out = (load_model(p).predict(frames[0]) for p in (path, relu_path))
    assert linear_out.score.shape == (15, 25)
    assert np.abs(linear_out.class_logits - relu_out.class_logits).max() > 1e-2


def test_the_shipped_model_is_the_export_of_the_shipped_weights():
    """`--init default` fine-tunes default.pt: the ONNX file the pipeline runs must compute what those
    weights compute, on random frames of several sizes and on a synthetic fabric image."""
    from fabric_inspect.datasets.synthetic import render_sample
    from fabric_inspect.models.checkpoint import (
        default_weights_path,
        load_checkpoint,
        network_from_checkpoint,
    )
    from fabric_inspect.models.runtime import default_model_path

    state = load_checkpoint(default_weights_path())
    net = network_from_checkpoint(state, source="default.pt").eval()
    fabric = render_sample(5, (200, 328), defect_class="knot").image
    assert check_parity(net, default_model_path(), [fabric]) < 1e-4
    assert load_model(default_model_path()).info.version == str(state["version"])
