"""Export a DefectNet to one self-contained ONNX file, check it, and prove it computes what torch does.

`export_onnx` = sum training-time branches into one convolution each (`network.fuse_branches`), fold
BatchNorm into the convolutions, and the input normalization into the stem
(`network.fold_input`); a colour stem reads the frame's HWC memory as one H x 3W plane
(`network.interleave_stem`: no transpose in the graph) -> torch.onnx.export (dynamic height and
width, uint8 frame in, `score` and `class_logits` out) -> the stem's padding moved into the stem
convolution's own `pads` (onnxruntime would otherwise copy the whole frame once more for it: 2.6 ms
at 1280x720) -> ModelInfo metadata -> onnx.checker -> parity with torch on random and real frames,
including a size that is not a multiple of the stride. Any failure raises ModelError and leaves an
existing file at the destination untouched.
"""

from __future__ import annotations

import copy
import io
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fabric_inspect.errors import ModelError
from fabric_inspect.models.metadata import CLASS_OUTPUT, INPUT_NAME, SCORE_OUTPUT, ModelInfo, set_props
from fabric_inspect.models.network import (
    PATCH_PAD,
    STRIDE,
    DefectNet,
    FrameModel,
    fold_input,
    fuse_branches,
    interleave_stem,
)

log = logging.getLogger(__name__)

PARITY_TOLERANCE = 1e-4
PARITY_SIZES = ((64, 64), (93, 141))  # the second is not a multiple of the stride
OPSET = 17


def fold_batchnorm(net: DefectNet) -> DefectNet:
    """A copy of `net` (eval mode) with every Conv2d -> BatchNorm2d pair fused into one Conv2d."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    folded = copy.deepcopy(net).eval()
    for module in folded.modules():
        if not isinstance(module, nn.Sequential):
            continue
        children = list(module)
        for i in range(len(children) - 1):
            conv, bn = children[i], children[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                module[i] = fuse_conv_bn_eval(conv, bn)
                module[i + 1] = nn.Identity()
    return folded


def model_info_for(net: DefectNet, threshold: float, **fields: object) -> ModelInfo:
    """The metadata of `net`'s export: layout and classes from its config, the rest from `fields`."""
    color = net.config.color
    return ModelInfo(
        name=str(fields.get("name", "fabric-fcn")),
        version=str(fields.get("version", "1")),
        classes=tuple(net.config.classes),
        input_layout="HWC" if color else "HW",
        color_order="BGR" if color else "GRAY",
        stride=STRIDE,
        threshold=float(threshold),
        training=dict(fields.get("training") or {}),  # type: ignore[call-overload]
        metrics=dict(fields.get("metrics") or {}),  # type: ignore[call-overload]
    )


def _example_frame(color: bool, height: int, width: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    shape = (height, width, 3) if color else (height, width)
    return torch.from_numpy(rng.integers(0, 256, shape, dtype=np.uint8))


def _to_proto(frame_model: FrameModel) -> object:
    """The ONNX proto of `frame_model`, built in memory (its weights inside: no .onnx.data sidecar).

    The TorchScript exporter is used: for this plain convolutional graph it gives the same ops as the
    dynamo exporter in 0.3 s instead of 10 s (torch is pinned, so its deprecation does not bite).
    """
    import onnx

    example = _example_frame(frame_model.color, 96, 128)
    spatial = {0: "height", 1: "width"}
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                frame_model,
                (example,),
                buffer,
                input_names=[INPUT_NAME],
                output_names=[SCORE_OUTPUT, CLASS_OUTPUT],
                dynamic_axes={
                    INPUT_NAME: spatial,
                    SCORE_OUTPUT: {0: "out_height", 1: "out_width"},
                    CLASS_OUTPUT: {1: "out_height", 2: "out_width"},
                },
                opset_version=OPSET,
                dynamo=False,
            )
    except Exception as err:  # the exporter raises many unrelated types
        raise ModelError(f"torch.onnx.export failed: {str(err).strip().splitlines()[0]}") from None
    return onnx.load_model_from_string(buffer.getvalue())


def fold_stem_pad(proto: object, bottom: int = PATCH_PAD, right: int = PATCH_PAD) -> None:
    """Move the patch4 stem's zero padding (`bottom` rows, `right` columns: `DefectNet.stem_pad`) from
    its Pad node into the stem Conv's `pads`, in place, and drop the nodes that only computed the pad
    amounts. A graph without that Pad -> Conv pair is left as it is; the parity check proves the result
    either way."""
    import onnx

    graph = proto.graph  # type: ignore[attr-defined]
    nodes = list(graph.node)
    pads = [n for n in nodes if n.op_type == "Pad"]
    if len(pads) != 1:
        return
    pad = pads[0]
    consumers = [n for n in nodes if pad.output[0] in n.input]
    if len(consumers) != 1 or consumers[0].op_type != "Conv":
        return
    conv = consumers[0]
    if any(a.name == "pads" and any(a.ints) for a in conv.attribute):
        return
    conv.input[0] = pad.input[0]
    kept = [a for a in conv.attribute if a.name not in ("pads", "auto_pad")]
    del conv.attribute[:]
    conv.attribute.extend(kept)
    conv.attribute.append(onnx.helper.make_attribute("pads", [0, 0, bottom, right]))
    graph.node.remove(pad)
    _drop_dead_nodes(graph)


def _drop_dead_nodes(graph: object) -> None:
    """Remove nodes none of whose outputs reach a graph output."""
    needed = {o.name for o in graph.output}  # type: ignore[attr-defined]
    alive = []
    for node in reversed(list(graph.node)):  # type: ignore[attr-defined]
        if any(o in needed for o in node.output):
            alive.append(node)
            needed.update(i for i in node.input if i)
    if len(alive) == len(graph.node):  # type: ignore[attr-defined]
        return
    del graph.node[:]  # type: ignore[attr-defined]
    graph.node.extend(reversed(alive))  # type: ignore[attr-defined]


def check_parity(
    net: DefectNet,
    onnx_path: str | os.PathLike[str],
    frames: Sequence[np.ndarray] = (),
    tolerance: float = PARITY_TOLERANCE,
) -> float:
    """Max |torch - onnxruntime| over score and logits on random frames and `frames`; ModelError if over."""
    import onnxruntime as ort

    reference = FrameModel(copy.deepcopy(net).eval()).eval()
    tests = [_example_frame(net.config.color, h, w, seed=h).numpy() for h, w in PARITY_SIZES]
    tests += [np.ascontiguousarray(f) for f in frames]
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"])
    worst = 0.0
    for frame in tests:
        with torch.no_grad():
            want = [t.numpy() for t in reference(torch.from_numpy(frame))]
        got = session.run([SCORE_OUTPUT, CLASS_OUTPUT], {INPUT_NAME: frame})
        for name, a, b in zip((SCORE_OUTPUT, CLASS_OUTPUT), want, got, strict=True):
            if a.shape != b.shape:
                raise ModelError(
                    f"parity: {name} for a {frame.shape} frame is {b.shape} in ONNX, {a.shape} in torch"
                )
            diff = float(np.max(np.abs(a - b)))
            worst = max(worst, diff)
            if not diff < tolerance:
                raise ModelError(
                    f"parity: ONNX {name} differs from torch by {diff:.3g} on a {frame.shape} frame "
                    f"(tolerance {tolerance:g}); the export is wrong, so no model was written"
                )
    return worst


def export_onnx(
    net: DefectNet,
    out: str | os.PathLike[str],
    info: ModelInfo,
    parity_frames: Sequence[np.ndarray] = (),
    tolerance: float = PARITY_TOLERANCE,
) -> Path:
    """Export `net` to `out` with `info` as metadata, checked and parity-tested; returns `out`."""
    import onnx

    out = Path(out)
    if out.suffix != ".onnx":
        raise ModelError(f"export destination {out} must end in .onnx")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".partial.onnx")
    folded = interleave_stem(fold_input(fold_batchnorm(fuse_branches(net))))
    proto = _to_proto(FrameModel(folded).eval())
    fold_stem_pad(proto, *folded.stem_pad)
    set_props(proto, info)
    try:
        onnx.checker.check_model(proto, full_check=True)
        onnx.save_model(proto, str(tmp), save_as_external_data=False)
        worst = check_parity(net, tmp, parity_frames, tolerance)
    except onnx.checker.ValidationError as err:
        tmp.unlink(missing_ok=True)
        raise ModelError(f"exported graph failed onnx.checker: {str(err).splitlines()[0]}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)
    sidecar = out.with_name(out.name + ".data")
    if sidecar.exists():
        raise ModelError(
            f"export left a weights sidecar {sidecar}; the model must be one self-contained file"
        )
    log.info("exported %s (%.1f kB, parity max diff %.2g)", out, out.stat().st_size / 1024, worst)
    return out
