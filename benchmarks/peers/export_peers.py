"""Build the latency benchmark's peers as ONNX files, in the peer venv (`make peers`), never the product's.

    .venv-bench/bin/python benchmarks/peers/export_peers.py --out benchmarks/peers/models

- YOLOv8n: built from ultralytics' ``yolov8n.yaml`` (random weights: nothing is downloaded, only speed
  is compared) and exported by ultralytics itself (``model.export(format="onnx")``), one file per input
  size (default 640x640 and 1280x736, what ``imgsz=640`` and ``imgsz=1280`` give for 4:3 and 16:9).
- PaDiM-resnet18: anomalib's ``PadimModel`` (resnet18 layer1-3, 100 random channels, Mahalanobis
  distance per patch, upsampled and blurred map) with a randomly initialized backbone; its Gaussian per
  patch is fitted on a few random tiles (same shapes and cost as a trained one). Exported with a
  dynamic batch so the runner can send all the tiles of a frame at once; ImageNet normalization stays
  outside the graph (the runner does it, as anomalib's pre-processor would).

Each export is checked with ``onnx.checker`` and against torch on one input (onnxruntime, CPU), then
listed in ``peers.json`` (read by ``fabric_inspect.bench.peers.find_peers``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path

# Before ultralytics / timm are imported: no network, no auto-install, settings in a scratch folder.
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")
os.environ.setdefault("YOLO_VERBOSE", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="yolo-config-"))

log = logging.getLogger("export_peers")

MANIFEST = "peers.json"
PARITY_ATOL = 1e-3  # relative to the output's scale (see _check_parity)


def parse_size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit()) or int(width) % 32 or int(height) % 32:
        raise SystemExit(f"--yolo-sizes: {text!r} is not WxH with both sides multiples of 32 (e.g. 640x640)")
    return int(width), int(height)


def export_yolo(out: Path, width: int, height: int) -> dict:
    """YOLOv8n from its yaml (random weights), exported by ultralytics at width x height."""
    from ultralytics import YOLO

    with tempfile.TemporaryDirectory(prefix="yolo-export-") as scratch:
        cwd = Path.cwd()
        os.chdir(scratch)  # ultralytics writes beside the model "file", here the yaml name in the cwd
        try:
            model = YOLO("yolov8n.yaml")
            exported = Path(model.export(format="onnx", imgsz=(height, width), device="cpu", simplify=True))
        finally:
            os.chdir(cwd)
        target = out / f"yolov8n_{width}x{height}.onnx"
        shutil.move(str(Path(scratch) / exported), target)
    torch_model = model.model.eval()
    _check_parity(torch_model, target, (1, 3, height, width), first_output_only=True)
    return {
        "name": "yolov8n",
        "kind": "yolo",
        "file": target.name,
        "width": width,
        "height": height,
        "note": f"ultralytics {metadata.version('ultralytics')} yolov8n.yaml, random weights (AGPL-3.0)",
    }


def export_padim(out: Path, tile: int, seed: int) -> dict:
    """anomalib PaDiM-resnet18 with random backbone weights and a Gaussian fitted on random tiles."""
    import torch
    from anomalib.models.image.padim.torch_model import PadimModel

    class PadimOutputs(torch.nn.Module):
        """anomalib's InferenceBatch as two plain outputs (score, map) for the ONNX graph."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            batch = self.model(x)
            return batch.pred_score, batch.anomaly_map

    torch.manual_seed(seed)
    model = PadimModel(backbone="resnet18", layers=["layer1", "layer2", "layer3"], pre_trained=False)
    model.train()
    for _ in range(4):  # the memory bank: 4 batches of 4 random tiles
        model(torch.randn(4, 3, tile, tile))
    model.fit()
    model.eval()
    wrapper = PadimOutputs(model).eval()
    target = out / f"padim-resnet18_{tile}.onnx"
    example = torch.randn(2, 3, tile, tile)
    torch.onnx.export(
        wrapper,
        (example,),
        str(target),
        input_names=["input"],
        output_names=["pred_score", "anomaly_map"],
        dynamic_axes={"input": {0: "batch"}, "pred_score": {0: "batch"}, "anomaly_map": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    _check_parity(wrapper, target, (3, 3, tile, tile), first_output_only=False)
    return {
        "name": "padim-resnet18",
        "kind": "tiles",
        "file": target.name,
        "width": tile,
        "height": tile,
        "note": f"anomalib {metadata.version('anomalib')} PadimModel resnet18 layer1-3, 100 features, "
        "random weights, Gaussian fitted on random tiles (Apache-2.0)",
    }


def _check_parity(torch_model, path: Path, shape: tuple[int, ...], first_output_only: bool) -> None:
    """onnx.checker, then torch and onnxruntime on the same random input agree."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch

    onnx.checker.check_model(str(path))
    x = torch.rand(*shape)
    with torch.no_grad():
        expected = torch_model(x)
    expected = expected if isinstance(expected, tuple | list) else (expected,)
    expected = [t.numpy() for t in expected[: 1 if first_output_only else None]]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    for want, have in zip(expected, got, strict=False):
        scale = max(float(np.abs(want).max()), 1.0)
        error = float(np.abs(want - have).max()) / scale
        if want.shape != have.shape or error > PARITY_ATOL:
            raise SystemExit(
                f"{path}: onnxruntime differs from torch ({want.shape} vs {have.shape}, {error:.2e})"
            )
    log.info("%s: parity ok on %s", path.name, shape)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/peers/models"))
    parser.add_argument("--yolo-sizes", default="640x640,1280x736", help="YOLO export sizes WxH, comma list")
    parser.add_argument("--tile", type=int, default=256, help="PaDiM tile side in pixels")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    entries = [export_yolo(args.out, *parse_size(s)) for s in args.yolo_sizes.split(",") if s.strip()]
    entries.append(export_padim(args.out, args.tile, args.seed))
    versions = {p: metadata.version(p) for p in ("torch", "ultralytics", "anomalib", "onnx", "onnxruntime")}
    manifest = {"peers": entries, "built_with": versions}
    (args.out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for entry in entries:
        log.info("%s %dx%d -> %s", entry["name"], entry["width"], entry["height"], args.out / entry["file"])


if __name__ == "__main__":
    main()
