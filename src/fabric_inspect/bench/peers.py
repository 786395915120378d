"""The benchmark's peers: other models a user could run on the same frames, timed as that user would.

Peers are ONNX files built by ``benchmarks/peers/export_peers.py`` in its own venv (ultralytics is
AGPL-3.0 and never a dependency of fabric-inspect) and listed in ``peers.json`` beside them. Here they
are run with onnxruntime alone (numpy + cv2, never torch), at the thread count of our model:

- ``yolo`` (YOLOv8n): letterbox to the export size (grey 114 borders), BGR -> RGB, float /255, NCHW;
  then confidence filter and NMS, boxes back to frame pixels.
- ``tiles`` (PaDiM-resnet18): the frame cut into export-size tiles covering it (the last row and
  column shifted back inside the frame, so tiles overlap slightly instead of padding; a frame smaller
  than a tile is padded), ImageNet normalization, one batch; per-tile maps stitched into a frame map.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fabric_inspect.errors import InputError, ModelError

log = logging.getLogger(__name__)

MANIFEST = "peers.json"
KINDS = ("yolo", "tiles")
LETTERBOX_FILL = 114
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
YOLO_CONFIDENCE = 0.25
YOLO_IOU = 0.7
YOLO_MAX_CANDIDATES = 30_000


@dataclass(frozen=True, slots=True)
class Peer:
    """One exported peer model: its name in the results, how to run it, file and input size."""

    name: str
    kind: str
    path: Path
    width: int
    height: int
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"peer {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.width < 32 or self.height < 32:
            raise InputError(f"peer {self.name!r}: input must be >= 32 px a side, got {self.size}")
        if self.kind == "tiles" and self.width != self.height:
            raise InputError(f"peer {self.name!r}: tiles must be square, got {self.size}")

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


def find_peers(models_dir: Path) -> list[Peer]:
    """The peers listed in ``models_dir/peers.json``; [] (with an info log) when none were built."""
    manifest = Path(models_dir) / MANIFEST
    if not manifest.is_file():
        log.info("no peers in %s (build them with `make peers`)", models_dir)
        return []
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))["peers"]
        peers = [_peer_from(entry, manifest.parent) for entry in entries]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(
            f"peer manifest {manifest} is not readable ({type(err).__name__}: {err}); "
            "rebuild it with `make peers`"
        ) from None
    missing = [str(p.path) for p in peers if not p.path.is_file()]
    if missing:
        raise InputError(f"peer manifest {manifest} lists missing files {missing}; rebuild with `make peers`")
    return peers


def require_peers(models_dir: Path) -> list[Peer]:
    """The peers of ``--peers DIR``: an error, not an empty list, when that folder has none."""
    peers = find_peers(models_dir)
    if not peers:
        raise InputError(f"--peers {models_dir} has no {MANIFEST}; build the peers with `make peers` first")
    return peers


def _peer_from(entry: dict, folder: Path) -> Peer:
    return Peer(
        name=str(entry["name"]),
        kind=str(entry["kind"]),
        path=folder / str(entry["file"]),
        width=int(entry["width"]),
        height=int(entry["height"]),
        note=str(entry.get("note", "")),
    )


def choose(peers: list[Peer], width: int, height: int) -> list[Peer]:
    """One export per peer name for a width x height frame, as its user would pick the input size.

    A tiled peer has one size. A detector's export is the one that keeps most of the frame's
    resolution without upscaling it (scale min(W/w, H/h) capped at 1), the smaller on ties: 640x480
    frames go to 640x640, 1280x720 to 1280x736, 1920x1080 to the largest export.
    """
    best: dict[str, Peer] = {}
    for peer in peers:
        current = best.get(peer.name)
        if current is None or _fit_key(peer, width, height) > _fit_key(current, width, height):
            best[peer.name] = peer
    return list(best.values())


def _fit_key(peer: Peer, width: int, height: int) -> tuple[float, int]:
    scale = min(peer.width / width, peer.height / height, 1.0)
    return scale, -peer.width * peer.height


def letterbox(image: np.ndarray, width: int, height: int) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Resize keeping the aspect ratio into width x height, centred on grey; (image, scale, (dx, dy))."""
    import cv2

    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    new_w, new_h = round(w * scale), round(h * scale)
    if (new_w, new_h) != (w, h):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    dx, dy = (width - new_w) // 2, (height - new_h) // 2
    out = cv2.copyMakeBorder(
        image, dy, height - new_h - dy, dx, width - new_w - dx, cv2.BORDER_CONSTANT,
        value=(LETTERBOX_FILL,) * 3,
    )  # fmt: skip
    return out, scale, (dx, dy)


def tile_origins(width: int, height: int, tile: int) -> list[tuple[int, int]]:
    """Top-left corners of tile x tile squares covering a width x height frame, row by row.

    ceil(W/tile) x ceil(H/tile) tiles (1280x720 at 256: 5 x 3); the last column and row start at
    W - tile and H - tile, so they overlap their neighbours instead of reaching past the frame. A side
    shorter than a tile gets one tile at 0 (the frame is padded to it).
    """
    if tile <= 0 or width <= 0 or height <= 0:
        raise InputError(f"tiling needs positive sizes, got frame {width}x{height} and tile {tile}")
    return [(x, y) for y in _starts(height, tile) for x in _starts(width, tile)]


def _starts(length: int, tile: int) -> list[int]:
    count = -(-length // tile)
    return [min(i * tile, max(length - tile, 0)) for i in range(count)]


class PeerModel:
    """An onnxruntime session for one peer, with the pre- and postprocessing its users would run."""

    def __init__(self, peer: Peer, threads: int = 0) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # the same thread settings as our model (models.runtime.RuntimeConfig): no busy-waiting
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(
                str(peer.path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime raises its own untyped errors
            raise ModelError(f"peer model {peer.path} could not be loaded by onnxruntime: {err}") from None
        self.peer = peer
        spec = self.session.get_inputs()[0]
        self.input_name = spec.name
        if len(spec.shape) != 4 or spec.type != "tensor(float)":
            raise ModelError(f"peer model {peer.path} takes {spec.type} {spec.shape}; expected float NCHW")
        want = (peer.height, peer.width)
        if all(isinstance(d, int) for d in spec.shape[2:]) and tuple(spec.shape[2:]) != want:
            raise ModelError(
                f"peer model {peer.path} takes {spec.shape[2]}x{spec.shape[3]} (HxW) but its manifest "
                f"says {peer.size} (WxH); rebuild the peers with `make peers`"
            )
        self.batch = spec.shape[0] if isinstance(spec.shape[0], int) else 0  # 0 = any batch size

    def step(self, image: np.ndarray, times: dict[str, float]) -> object:
        """Run one BGR (or grey) uint8 frame; stage times in ms go into ``times``; returns the output."""
        if image.ndim == 2:
            import cv2

            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if self.peer.kind == "yolo":
            return self._yolo(image, times)
        return self._tiles(image, times)

    def _yolo(self, image: np.ndarray, times: dict[str, float]) -> np.ndarray:
        start = time.perf_counter()
        blob, scale, offset = yolo_input(image, self.peer.width, self.peer.height)
        start = _lap(times, "preprocess", start)
        (output,) = self.session.run(None, {self.input_name: blob})[:1]
        start = _lap(times, "inference", start)
        boxes = yolo_boxes(output[0], scale, offset)
        _lap(times, "postprocess", start)
        return boxes

    def _tiles(self, image: np.ndarray, times: dict[str, float]) -> np.ndarray:
        start = time.perf_counter()
        tile = self.peer.width
        blob, origins, (ph, pw) = tile_input(image, tile)
        start = _lap(times, "preprocess", start)
        if self.batch == 0:
            maps = self.session.run(None, {self.input_name: blob})[-1]
        else:
            maps = np.concatenate([self.session.run(None, {self.input_name: t[None]})[-1] for t in blob])
        start = _lap(times, "inference", start)
        frame_map = np.full((ph, pw), -np.inf, dtype=np.float32)  # max over overlapping tiles
        for (x, y), tile_map in zip(origins, maps.reshape(len(origins), -1, tile, tile), strict=True):
            view = frame_map[y : y + tile, x : x + tile]
            np.maximum(view, tile_map[0], out=view)
        _lap(times, "postprocess", start)
        return frame_map[: image.shape[0], : image.shape[1]]


def yolo_input(image: np.ndarray, width: int, height: int) -> tuple[np.ndarray, float, tuple[int, int]]:
    """A BGR frame as ultralytics feeds an exported model: letterboxed, RGB, float 0..1, 1x3xHxW."""
    boxed, scale, offset = letterbox(image, width, height)
    blob = np.ascontiguousarray(boxed[:, :, ::-1].transpose(2, 0, 1))[None].astype(np.float32) / 255.0
    return blob, scale, offset


def tile_input(image: np.ndarray, tile: int) -> tuple[np.ndarray, list[tuple[int, int]], tuple[int, int]]:
    """A BGR frame as PaDiM tiles: Nx3xTxT RGB ImageNet-normalized, their origins, the padded size."""
    padded = _pad_to(image, tile, tile)
    origins = tile_origins(padded.shape[1], padded.shape[0], tile)
    batch = np.stack([padded[y : y + tile, x : x + tile] for x, y in origins])
    blob = (batch[..., ::-1].astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(blob.transpose(0, 3, 1, 2)), origins, padded.shape[:2]


def _lap(times: dict[str, float], name: str, start: float) -> float:
    now = time.perf_counter()
    times[name] = times.get(name, 0.0) + (now - start) * 1000.0
    return now


def _pad_to(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pad (reflecting) a frame smaller than one tile up to it; larger frames unchanged."""
    import cv2

    h, w = image.shape[:2]
    if w >= width and h >= height:
        return image
    return cv2.copyMakeBorder(image, 0, max(height - h, 0), 0, max(width - w, 0), cv2.BORDER_REFLECT_101)


def yolo_boxes(output: np.ndarray, scale: float, offset: tuple[int, int]) -> np.ndarray:
    """YOLOv8 head output [4 + classes, anchors] -> [n, 6] (x0, y0, x1, y1, score, class) in frame px."""
    import cv2

    scores = output[4:].max(axis=0)
    keep = np.flatnonzero(scores > YOLO_CONFIDENCE)
    if keep.size > YOLO_MAX_CANDIDATES:
        keep = keep[np.argsort(scores[keep])[::-1][:YOLO_MAX_CANDIDATES]]
    if keep.size == 0:
        return np.zeros((0, 6), dtype=np.float32)
    cx, cy, bw, bh = output[:4, keep]
    classes = output[4:, keep].argmax(axis=0)
    xywh = np.stack([cx - bw / 2, cy - bh / 2, bw, bh], axis=1)
    # class-aware NMS as ultralytics does it: offset each class's boxes apart
    shifted = xywh.copy()
    shifted[:, :2] += classes[:, None] * 4096.0
    chosen = np.asarray(
        cv2.dnn.NMSBoxes(shifted.tolist(), scores[keep].tolist(), YOLO_CONFIDENCE, YOLO_IOU), dtype=np.int64
    ).reshape(-1)
    boxes = xywh[chosen]
    dx, dy = offset
    x0 = (boxes[:, 0] - dx) / scale
    y0 = (boxes[:, 1] - dy) / scale
    x1 = x0 + boxes[:, 2] / scale
    y1 = y0 + boxes[:, 3] / scale
    return np.stack([x0, y0, x1, y1, scores[keep][chosen], classes[chosen]], axis=1).astype(np.float32)
