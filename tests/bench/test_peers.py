"""The benchmark's peers: manifest, input size choice, letterbox, tiling, runners on tiny ONNX graphs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fabric_inspect.bench.measure import BenchConfig
from fabric_inspect.bench.peers import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Peer,
    PeerModel,
    choose,
    find_peers,
    letterbox,
    tile_input,
    tile_origins,
    yolo_boxes,
    yolo_input,
)
from fabric_inspect.bench.side_by_side import add_peer_runs, format_side_by_side, ratios
from fabric_inspect.errors import InputError

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402


def _save(graph, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def tile_model(path: Path, tile: int, batch: int | str = "N") -> Path:
    """A PaDiM stand-in: anomaly map = mean over channels of the normalized tile, [N, 1, T, T]."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, tile, tile])
    y = helper.make_tensor_value_info("anomaly_map", TensorProto.FLOAT, [batch, 1, tile, tile])
    node = helper.make_node("ReduceMean", ["input"], ["anomaly_map"], axes=[1], keepdims=1)
    return _save(helper.make_graph([node], "tiles", [x], [y]), path)


def yolo_model(path: Path, size: int, boxes: np.ndarray) -> Path:
    """A YOLO stand-in: whatever the image, the head output is ``boxes`` [1, 4 + classes, anchors]."""
    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])
    y = helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(boxes.shape))
    const = helper.make_tensor("boxes", TensorProto.FLOAT, boxes.shape, boxes.flatten().tolist())
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=1),  # [1, 1, 1, 1]
        helper.make_node("Squeeze", ["mean", "axes"], ["m"]),
        helper.make_node("Mul", ["m", "zero"], ["nothing"]),
        helper.make_node("Add", ["boxes", "nothing"], ["output0"]),
    ]
    inits = [
        const,
        helper.make_tensor("axes", TensorProto.INT64, [1], [3]),
        helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
    ]
    return _save(helper.make_graph(nodes, "yolo", [x], [y], initializer=inits), path)


def write_manifest(folder: Path, entries: list[dict]) -> None:
    (folder / "peers.json").write_text(json.dumps({"peers": entries}), encoding="utf-8")


# --- manifest -------------------------------------------------------------------------------------


def test_find_peers_in_an_empty_or_missing_folder_finds_none(tmp_path: Path):
    assert find_peers(tmp_path) == []
    assert find_peers(tmp_path / "not-built") == []


def test_find_peers_reads_the_manifest(tmp_path: Path):
    (tmp_path / "a.onnx").write_bytes(b"x")
    write_manifest(
        tmp_path, [{"name": "yolov8n", "kind": "yolo", "file": "a.onnx", "width": 640, "height": 640}]
    )
    (peer,) = find_peers(tmp_path)
    assert (peer.name, peer.kind, peer.path, peer.size) == ("yolov8n", "yolo", tmp_path / "a.onnx", "640x640")


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (
            '{"peers": [{"name": "p", "kind": "yolo", "file": "gone.onnx", "width": 64, "height": 64}]}',
            "missing",
        ),
        ('{"peers": [{"name": "p", "kind": "yolo"}]}', "KeyError"),
        ("{not json", "JSONDecodeError"),
        ('{"peers": [{"name": "p", "kind": "ssd", "file": "a.onnx", "width": 64, "height": 64}]}', "kind"),
        (
            '{"peers": [{"name": "p", "kind": "tiles", "file": "a.onnx", "width": 64, "height": 32}]}',
            "square",
        ),
    ],
)
def test_a_broken_manifest_is_one_clear_input_error(tmp_path: Path, manifest: str, message: str):
    (tmp_path / "a.onnx").write_bytes(b"x")
    (tmp_path / "peers.json").write_text(manifest, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        find_peers(tmp_path)


# --- which export for which frame size --------------------------------------------------------------

YOLO_640 = Peer("yolov8n", "yolo", Path("y640.onnx"), 640, 640)
YOLO_1280 = Peer("yolov8n", "yolo", Path("y1280.onnx"), 1280, 736)
PADIM = Peer("padim-resnet18", "tiles", Path("p.onnx"), 256, 256)


@pytest.mark.parametrize(
    ("width", "height", "yolo_file"),
    [(640, 480, "y640.onnx"), (1280, 720, "y1280.onnx"), (1920, 1080, "y1280.onnx"), (320, 240, "y640.onnx")],
)
def test_each_frame_size_gets_the_export_its_user_would_pick(width: int, height: int, yolo_file: str):
    chosen = {p.name: p for p in choose([YOLO_1280, PADIM, YOLO_640], width, height)}
    assert set(chosen) == {"yolov8n", "padim-resnet18"}
    assert chosen["yolov8n"].path.name == yolo_file


# --- letterbox and tiles ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "box", "scale", "offset"),
    [((480, 640), (640, 640), 1.0, (0, 80)), ((720, 1280), (1280, 736), 1.0, (0, 8)),
     ((720, 1280), (640, 640), 0.5, (0, 140)), ((1080, 1920), (1280, 736), 2 / 3, (0, 8))],
)  # fmt: skip
def test_letterbox_keeps_the_aspect_and_centres_on_grey(frame, box, scale, offset):
    image = np.full((*frame, 3), 200, np.uint8)
    out, got_scale, got_offset = letterbox(image, *box)
    assert out.shape == (box[1], box[0], 3)
    assert got_scale == pytest.approx(scale)
    assert got_offset == offset
    dy = offset[1]
    assert (out[:dy] == 114).all() and (out[box[1] - dy :] == 114).all()
    assert (out[dy : box[1] - dy] == 200).all()


def test_yolo_input_is_rgb_float_in_0_1_nchw():
    image = np.zeros((48, 64, 3), np.uint8)
    image[..., 0] = 255  # blue in BGR
    blob, _, (_, dy) = yolo_input(image, 64, 64)
    assert blob.shape == (1, 3, 64, 64) and blob.dtype == np.float32
    inside = blob[0, :, dy + 1 : 64 - dy - 1, 1:-1]
    assert np.allclose(inside[2], 1.0) and np.allclose(inside[:2], 0.0)  # blue is now the last channel


@pytest.mark.parametrize(
    ("width", "height", "columns", "rows"),
    [(1280, 720, 5, 3), (640, 480, 3, 2), (256, 256, 1, 1), (257, 100, 2, 1), (1920, 1080, 8, 5)],
)
def test_tiles_cover_the_frame_exactly_and_stay_inside_it(width: int, height: int, columns: int, rows: int):
    origins = tile_origins(width, height, 256)
    assert len(origins) == columns * rows
    covered = np.zeros((max(height, 256), max(width, 256)), np.int32)
    for x, y in origins:
        assert x >= 0 and y >= 0 and x + 256 <= max(width, 256) and y + 256 <= max(height, 256)
        covered[y : y + 256, x : x + 256] += 1
    assert (covered[:height, :width] >= 1).all()


def test_tile_input_is_imagenet_normalized_rgb():
    image = np.zeros((40, 70, 3), np.uint8)
    image[..., 2] = 255  # red in BGR
    blob, origins, padded = tile_input(image, 32)
    assert blob.shape == (len(origins), 3, 32, 32) == (6, 3, 32, 32)
    assert padded == (40, 70)
    expected = (np.array([1.0, 0.0, 0.0], np.float32) - IMAGENET_MEAN) / IMAGENET_STD
    assert np.allclose(blob[:, :, 5, 5], expected)


# --- the runners on tiny ONNX graphs ----------------------------------------------------------------


@pytest.mark.parametrize("batch", ["N", 1])
def test_tiled_peer_stitches_tile_maps_into_the_frame_map(tmp_path: Path, batch: int | str):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (72, 100, 3), dtype=np.uint8)  # 4 x 3 tiles of 32, the last ones overlapping
    peer = Peer("padim-resnet18", "tiles", tile_model(tmp_path / "t.onnx", 32, batch), 32, 32)
    times: dict[str, float] = {}
    frame_map = PeerModel(peer, threads=1).step(image, times)
    normalized = (image[..., ::-1].astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    assert frame_map.shape == (72, 100)
    assert np.allclose(frame_map, normalized.mean(axis=2), atol=1e-5)
    assert set(times) == {"preprocess", "inference", "postprocess"}


def test_tiled_peer_pads_a_frame_smaller_than_a_tile(tmp_path: Path):
    peer = Peer("padim-resnet18", "tiles", tile_model(tmp_path / "t.onnx", 64), 64, 64)
    assert PeerModel(peer, threads=1).step(np.zeros((40, 50), np.uint8), {}).shape == (40, 50)


def test_yolo_peer_maps_boxes_back_to_frame_pixels(tmp_path: Path):
    # anchors: a confident box of class 1 centred at (32, 32) 16 px wide, a near copy, one below threshold
    head = np.array(
        [[32, 33, 10], [32, 32, 10], [16, 16, 4], [16, 16, 4], [0.1, 0.1, 0.1], [0.9, 0.8, 0.2]], np.float32
    )[None]
    peer = Peer("yolov8n", "yolo", yolo_model(tmp_path / "y.onnx", 64, head), 64, 64)
    boxes = PeerModel(peer, threads=1).step(np.zeros((64, 128, 3), np.uint8), {})
    # 128x64 into 64x64: scale 0.5, 16 px of grey above and below
    assert boxes.shape == (1, 6)
    assert np.allclose(boxes[0], [48, 16, 80, 48, 0.9, 1])


def test_a_peer_whose_file_does_not_match_its_manifest_size_is_a_model_error(tmp_path: Path):
    from fabric_inspect.errors import ModelError

    path = yolo_model(tmp_path / "y.onnx", 64, np.zeros((1, 6, 2), np.float32))
    with pytest.raises(ModelError, match="manifest"):
        PeerModel(Peer("yolov8n", "yolo", path, 640, 640), threads=1)


def test_yolo_nms_keeps_boxes_of_different_classes():
    head = np.array([[10, 10], [10, 10], [8, 8], [8, 8], [0.9, 0.0], [0.0, 0.8]], np.float32)
    assert len(yolo_boxes(head, 1.0, (0, 0))) == 2


def test_peer_runs_on_a_real_clip_give_the_bench_fields_and_ratio(tmp_path: Path, clip_writer):
    from fabric_inspect.bench.clips import make_clips

    source = clip_writer(tmp_path / "source.avi", frames=8, size=(96, 64))
    (clip,) = make_clips(((96, 64),), tmp_path, 8, input_path=source)
    peer = Peer("padim-resnet18", "tiles", tile_model(tmp_path / "t.onnx", 32), 32, 32)
    ours = {"model": "fabric-inspect 1", "size": "96x64", "mode": "offline", "fps": 500.0}
    doc = {"machine": {}, "runs": [ours]}
    config = BenchConfig(
        sizes=((96, 64),), frames=8, fps=60.0, modes=("offline", "live"), threads=1, warmup=1
    )
    add_peer_runs(doc, [peer], [clip], config)
    offline, live = doc["runs"][1:]
    assert (offline["model"], offline["mode"], offline["frames"], offline["dropped_frames"]) == (
        "padim-resnet18", "offline", 8, 0,
    )  # fmt: skip
    assert live["mode"] == "live" and live["frames"] + live["dropped_frames"] == 8
    assert offline["latency_ms"]["p50"] > 0 and offline["stages_ms"]["inference"]["mean"] > 0
    ratio = doc["ratio"]["96x64"]
    expected = 500.0 / offline["fps"]
    assert ratio["ours_over_padim-resnet18_fps"] == pytest.approx(expected, abs=0.005)  # rounded to 0.01
    assert len(doc["machine"]["load_avg_before_peers"]) == 3
    peer_offline, peer_live, ratio_line = format_side_by_side(doc)
    assert "96x64" in peer_offline and "offline padim-resnet18 (32x32)" in peer_offline
    assert "live padim-resnet18" in peer_live
    assert ratio_line.split()[:4] == ["96x64", "offline", "ours", "500.0"] and "x)" in ratio_line


def test_ours_is_measured_again_beside_the_peers_and_paired_frame_by_frame(
    tmp_path: Path, clip_writer, tiny_model
):
    from fabric_inspect.bench.clips import make_clips

    source = clip_writer(tmp_path / "source.avi", frames=5, size=(96, 64))
    (clip,) = make_clips(((96, 64),), tmp_path, 5, input_path=source)
    peer = Peer("padim-resnet18", "tiles", tile_model(tmp_path / "t.onnx", 32), 32, 32)
    stale = {"model": "ours", "size": "96x64", "mode": "offline", "fps": 0.001}  # long before the peers
    config = BenchConfig(sizes=((96, 64),), frames=5, modes=("offline",), threads=1, warmup=0)
    doc = add_peer_runs({"runs": [stale]}, [peer], [clip], config, tiny_model, paired_frames=3)
    ratio = doc["ratio"]["96x64"]
    assert ratio["ours_fps"] > 1.0  # the run beside the peers, not the stale one
    pair = ratio["paired"]["padim-resnet18"]
    assert pair["frames"] == 3 and pair["ours_ms_p50"] > 0 and pair["peer_ms_p50"] > 0
    # the ratio is of the same two medians, before their rounding to 0.001 ms (and its own to 0.01)
    ours_ms, peer_ms, half = pair["ours_ms_p50"], pair["peer_ms_p50"], 0.0005
    low, high = (peer_ms - half) / (ours_ms + half), (peer_ms + half) / (ours_ms - half)
    assert low - 0.005 <= pair["ours_over_peer"] <= high + 0.005
    assert any(line.split()[1] == "paired" for line in format_side_by_side(doc))


def test_ratios_skip_sizes_where_ours_did_not_run():
    runs = [
        {"model": "ours", "size": "640x480", "mode": "offline", "fps": 100.0},
        {"model": "yolov8n", "peer_input": "640x640", "size": "640x480", "mode": "offline", "fps": 10.0},
        {"model": "yolov8n", "peer_input": "1280x736", "size": "1280x720", "mode": "offline", "fps": 4.0},
        {"model": "yolov8n", "peer_input": "640x640", "size": "640x480", "mode": "live", "fps": 8.0},
    ]
    (size, entry), *others = ratios(runs, {"yolov8n"}).items()
    assert others == [] and size == "640x480"
    assert entry["ours_over_yolov8n_fps"] == 10.0 and entry["yolov8n_input"] == "640x640"
    assert entry["target_met_offline_fps"] is True and "paired" not in entry


def test_the_peer_runner_imports_no_torch_or_ultralytics(tmp_path: Path):
    model = tile_model(tmp_path / "t.onnx", 32)
    code = (
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from fabric_inspect.bench.peers import Peer, PeerModel, find_peers\n"
        "import fabric_inspect.bench.side_by_side\n"
        f"find_peers(Path({str(tmp_path)!r}))\n"
        f"peer = Peer('p', 'tiles', Path({str(model)!r}), 32, 32)\n"
        "PeerModel(peer, 1).step(np.zeros((40, 40, 3), np.uint8), {})\n"
        "heavy = ('torch', 'ultralytics', 'anomalib', 'albumentations')\n"
        "print('LOADED', sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "LOADED []" in out.stdout


# --- the bench command with --peers -----------------------------------------------------------------


def test_bench_peers_option_without_built_peers_is_one_line_and_exit_2(tmp_path: Path, tiny_model_file):
    from typer.testing import CliRunner

    from fabric_inspect.cli import app

    args = ["bench", "--synthetic", "--model", str(tiny_model_file), "--peers", str(tmp_path / "none")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert "--peers" in line and "make peers" in line


def test_bench_with_peers_writes_their_runs_and_the_ratio(tmp_path: Path, tiny_model_file, clip_writer):
    from typer.testing import CliRunner

    from fabric_inspect.cli import app

    peers = tmp_path / "peers"
    peers.mkdir()
    tile_model(peers / "tiles.onnx", 32)
    head = np.zeros((1, 6, 4), np.float32)
    yolo_model(peers / "yolo.onnx", 64, head)
    write_manifest(peers, [
        {"name": "padim-resnet18", "kind": "tiles", "file": "tiles.onnx", "width": 32, "height": 32},
        {"name": "yolov8n", "kind": "yolo", "file": "yolo.onnx", "width": 64, "height": 64},
    ])  # fmt: skip
    video = clip_writer(tmp_path / "line.avi", 6, size=(96, 64))
    out = tmp_path / "bench.json"
    args = ["bench", "--input", str(video), "--model", str(tiny_model_file), "--sizes", "96x64"]
    args += ["--frames", "6", "--modes", "offline", "--threads", "1", "--peers", str(peers)]
    args += ["--json", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert [(r["model"], r["mode"]) for r in data["runs"][1:]] == [
        ("padim-resnet18", "offline"),
        ("yolov8n", "offline"),
    ]
    ratio = data["ratio"]["96x64"]
    assert ratio["ours_over_yolov8n_fps"] > 0 and ratio["ours_over_padim-resnet18_fps"] > 0
    assert "yolov8n (64x64)" in result.output
