"""Peers run on the bench's own clips, in the same modes, and the ratio of our throughput to theirs.

`add_peer_runs(document, peers, clips, config, model)` appends one run per clip, peer and mode to the
bench's ``{"machine", "runs"}`` document (same fields as ours, ``"model"`` being the peer's name) and
adds a ``"ratio"`` section per frame size: our offline fps over each peer's. The machine may be shared
and its load moves, so with ``model`` (ours) given, our offline run is repeated right before the peers
on each clip (the ratio uses it), and ours and each peer are also timed alternately frame by frame
(``"paired"``: the same load for both at each moment). Load averages are recorded. Never imports torch.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable

import numpy as np

from fabric_inspect.bench.clips import Clip
from fabric_inspect.bench.peers import Peer, PeerModel, choose

log = logging.getLogger(__name__)

PEER_STAGES = ("wait", "preprocess", "inference", "postprocess")
TARGET_OVER_YOLO = 10.0
PAIRED_FRAMES = 20  # issue #5: at least 10x YOLOv8n's throughput at the same input size


def ours_offline(model, config) -> Callable[[Clip], dict]:  # model: OnnxModel, config: BenchConfig
    """Our model offline on a clip after its warm-up, as the bench runs it: for ``add_peer_runs(ours=)``."""
    from fabric_inspect.bench.measure import run_one, warm_up

    def run(clip: Clip) -> dict:
        warm_up(model, clip, config.warmup, config.roi)
        return run_one(model, clip, "offline", config)

    return run


def run_peer(model: PeerModel, clip: Clip, mode: str, config) -> dict:  # config: BenchConfig
    """One clip through a peer in one mode, read as the bench reads it for our model; its figures."""
    from fabric_inspect.bench.measure import ResourceMonitor, live_source
    from fabric_inspect.inspect.sources import SourceConfig, open_source

    _warm_up(model, clip, config.warmup)
    if mode == "live":
        source = live_source(clip, config)
    else:
        source = open_source(SourceConfig(str(clip.path), kind="video"))
    load = os.getloadavg()
    with ResourceMonitor() as monitor:
        summary = _loop(model, source)
    return {
        "model": model.peer.name,
        "peer_input": model.peer.size,
        "size": clip.size,
        "mode": mode,
        "frames": summary.frames,
        "camera_fps": config.fps if mode == "live" else None,
        "camera_buffer": config.buffer if mode == "live" else None,
        "camera_codec": config.camera_codec if mode == "live" else None,
        "fps": summary.fps,
        "dropped_frames": summary.dropped_frames,
        "latency_ms": summary.latency_ms,
        "latency_hist_ms": summary.latency_hist_ms,
        "stages_ms": {k: v for k, v in summary.stages_ms.items() if k in PEER_STAGES},
        "cpu_percent": round(monitor.cpu_percent, 1),
        "peak_rss_mb": round(monitor.peak_rss_mb, 1),
        "seconds": summary.seconds,
        "load_avg_1m": round(load[0], 2),
    }


def _warm_up(model: PeerModel, clip: Clip, times: int) -> None:
    import cv2

    cap = cv2.VideoCapture(str(clip.path))
    ok, image = cap.read()
    cap.release()
    for _ in range(times if ok else 0):
        model.step(image, {})


def _loop(model: PeerModel, source):  # source: Source -> Summary
    from fabric_inspect.inspect.summary import Stats, summarize

    stats = Stats()
    started = time.perf_counter()
    with source:
        waited = time.perf_counter()
        for frame in source:
            times = {"wait": (time.perf_counter() - waited) * 1000.0}
            model.step(frame.image, times)
            stats.add((time.perf_counter() - frame.t_capture) * 1000.0, times)
            waited = time.perf_counter()
    return summarize(
        stats, time.perf_counter() - started, source=source.description, model=str(model.peer.path),
        dropped_frames=source.dropped, skipped_frames=source.skipped, roll_length_m=0.0,
        rejected_tracks=0, interrupted=False,
    )  # fmt: skip


def ours_step(model, clip: Clip) -> Callable[[np.ndarray], object]:  # model: OnnxModel
    """Our per-frame model work as the pipeline does it: preprocess, inference, postprocess (no tracking)."""
    from fabric_inspect.bench.measure import pipeline_config_for
    from fabric_inspect.inspect.postprocess import find_defects
    from fabric_inspect.inspect.preprocess import frame_geometry, prepare

    config = pipeline_config_for(clip)
    geometry = frame_geometry(config.preprocess, clip.width, clip.height)
    info = model.info
    thresholds = config.postprocess.resolved(info.classes, info.operating_threshold(video=True))
    post = config.postprocess

    def step(image: np.ndarray) -> object:
        p = model.predict(prepare(image, geometry))
        return find_defects(
            p.score, p.class_logits, thresholds, info.classes, info.stride, geometry, post.min_cells,
            post.max_defects,
        )  # fmt: skip

    return step


def paired(ours: Callable[[np.ndarray], object], peer: PeerModel, clip: Clip, frames: int) -> dict:
    """Ours and the peer alternately on each of the clip's first ``frames`` frames (held in memory).

    Both see the same load at the same moment, so their ratio holds on a busy machine where two runs
    minutes apart do not. Per-frame ms of each: ours = preprocess + inference + postprocess (as in the
    pipeline, without motion and tracking), the peer's = its own three stages.
    """
    images = _raw_frames(clip, frames)
    ours(images[0]), peer.step(images[0], {})  # warm-up
    mine, theirs = [], []
    load = os.getloadavg()[0]
    for image in images:
        start = time.perf_counter()
        ours(image)
        middle = time.perf_counter()
        peer.step(image, {})
        mine.append((middle - start) * 1000.0)
        theirs.append((time.perf_counter() - middle) * 1000.0)
    ours_ms, peer_ms = float(np.median(mine)), float(np.median(theirs))
    return {
        "frames": len(images),
        "peer_input": peer.peer.size,
        "ours_ms_p50": round(ours_ms, 3),  # to the microsecond: a small clip's frame takes ~0.1 ms
        "peer_ms_p50": round(peer_ms, 3),
        "ours_over_peer": round(peer_ms / ours_ms, 2) if ours_ms > 0 else None,
        "load_avg_1m": round(load, 2),
    }


def _raw_frames(clip: Clip, frames: int) -> list[np.ndarray]:
    raw = clip.raw
    count = max(1, min(frames, raw.frames))
    data = np.fromfile(raw.path, dtype=np.uint8, count=count * raw.frame_bytes)
    return list(data.reshape(count, *raw.shape))


def run_peers(
    peers: list[Peer],
    clips: list[Clip],
    config,  # BenchConfig
    model=None,  # OnnxModel: ours, for the runs next to the peers
    progress: Callable[[str], None] | None = None,
    paired_frames: int = PAIRED_FRAMES,
) -> tuple[list[dict], dict[str, dict]]:
    """Each clip through each peer (the export chosen for its size) in each of ``config.modes``.

    Returns the peer runs and, per size, what was measured of ours next to them when ``model`` is
    given: our offline run right before the peers (``"ours"``) and one paired comparison per peer.
    """
    runs, beside = [], {}
    sessions: dict[str, PeerModel] = {}
    say = progress or (lambda _: None)
    for clip in clips:
        here = beside.setdefault(clip.size, {"paired": {}})
        if model is not None:
            say(f"ours {clip.size} offline, next to the peers")
            here["ours"] = ours_offline(model, config)(clip)
        for peer in choose(peers, clip.width, clip.height):
            key = str(peer.path)
            if key not in sessions:
                sessions[key] = PeerModel(peer, config.threads)
            for mode in config.modes:
                say(f"{peer.name} ({peer.size}) {clip.size} {mode}")
                result = run_peer(sessions[key], clip, mode, config)
                log.info("%s %s %s: %.2f fps", peer.name, clip.size, mode, result["fps"])
                runs.append(result)
            if model is not None and paired_frames:
                say(f"ours and {peer.name} {clip.size} paired, frame by frame")
                here["paired"][peer.name] = paired(ours_step(model, clip), sessions[key], clip, paired_frames)
    return runs, beside


def ratios(
    runs: list[dict], peer_names: Iterable[str], mode: str = "offline", beside: dict[str, dict] | None = None
) -> dict[str, dict]:
    """Per frame size, our fps over each peer's in ``mode``, with what was measured next to the peers.

    Our fps is the run right before the peers when there is one (``beside[size]["ours"]``), else
    ours among ``runs``; ``beside[size]["paired"]`` is copied in as it is.
    """
    names = set(peer_names)
    beside = beside or {}
    ours = {r["size"]: r for r in runs if r["mode"] == mode and r["model"] not in names}
    ours.update({size: b["ours"] for size, b in beside.items() if "ours" in b})
    out: dict[str, dict] = {}
    for run in runs:
        mine = ours.get(run["size"])
        if run["mode"] != mode or run["model"] not in names or mine is None or not run["fps"]:
            continue
        entry = out.setdefault(run["size"], {"mode": mode, "ours_fps": mine["fps"]})
        name, ratio = run["model"], mine["fps"] / run["fps"]
        entry[f"{name}_input"] = run["peer_input"]
        entry[f"{name}_fps"] = run["fps"]
        entry[f"ours_over_{name}_fps"] = round(ratio, 2)
        pair = beside.get(run["size"], {}).get("paired", {})
        if pair:
            entry["paired"] = pair
        if name == "yolov8n":
            entry["target_ours_over_yolov8n"] = TARGET_OVER_YOLO
            entry["target_met_offline_fps"] = ratio >= TARGET_OVER_YOLO
            if name in pair and pair[name]["ours_over_peer"] is not None:
                entry["target_met_paired"] = pair[name]["ours_over_peer"] >= TARGET_OVER_YOLO
    return out


def add_peer_runs(
    document: dict,
    peers: list[Peer],
    clips: list[Clip],
    config,  # BenchConfig
    model=None,  # OnnxModel
    progress: Callable[[str], None] | None = None,
    paired_frames: int = PAIRED_FRAMES,
) -> dict:
    """Run the peers on the bench's clips; append their runs and the "ratio" section to ``document``."""
    if not peers:
        return document
    machine = document.setdefault("machine", {})
    machine["load_avg_before_peers"] = [round(v, 2) for v in os.getloadavg()]
    runs, beside = run_peers(peers, clips, config, model, progress, paired_frames)
    document["runs"].extend(runs)
    mode = "offline" if "offline" in config.modes else config.modes[0]
    document["ratio"] = ratios(document["runs"], {p.name for p in peers}, mode, beside)
    machine["load_avg_after_peers"] = [round(v, 2) for v in os.getloadavg()]
    return document


def is_peer_run(run: dict) -> bool:
    return "peer_input" in run


def format_side_by_side(document: dict) -> list[str]:
    """Terminal lines: each peer run, then per size our fps, each peer's and the ratio."""
    lines = []
    for r in filter(is_peer_run, document.get("runs", [])):
        lat = r["latency_ms"]
        lines.append(
            f"{r['size']:>10} {r['mode']:>8} {r['model']} ({r['peer_input']}): {r['fps']:.2f} fps, "
            f"{r['dropped_frames']} dropped, p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms"
        )
    for size, entry in document.get("ratio", {}).items():
        parts = [f"ours {entry['ours_fps']:.1f} fps"]
        for key, value in entry.items():
            if key.startswith("ours_over_") and key.endswith("_fps"):
                name = key[len("ours_over_") : -len("_fps")]
                parts.append(f"{name} {entry[name + '_fps']:.2f} fps ({value:g}x)")
        lines.append(f"{size:>10} {entry['mode']:>8} " + ", ".join(parts))
        for name, pair in entry.get("paired", {}).items():
            lines.append(
                f"{size:>10} {'paired':>8} ours {pair['ours_ms_p50']:.1f} ms, "
                f"{name} {pair['peer_ms_p50']:.1f} ms per frame ({pair['ours_over_peer']:g}x)"
            )
    return lines
