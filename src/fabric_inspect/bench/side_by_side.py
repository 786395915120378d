"""Peers run on the bench's own clips, in the same modes, and the ratio of our throughput to theirs.

`add_peer_runs(document, peers, clips, ...)` appends one run per clip, peer and mode to the bench's
``{"machine", "runs"}`` document (same fields as ours, ``"model"`` being the peer's name) and adds a
``"ratio"`` section per frame size: our offline fps over each peer's. The machine is shared and its
load moves, so when ``ours`` is given (a function that runs our model offline on a clip) our figure
in the ratio is measured again right before the peers on that clip, and the load average is recorded.
Never imports torch.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable

from fabric_inspect.bench.clips import Clip
from fabric_inspect.bench.peers import Peer, PeerModel, choose

log = logging.getLogger(__name__)

PEER_STAGES = ("wait", "preprocess", "inference", "postprocess")
TARGET_OVER_YOLO = 10.0  # issue #5: at least 10x YOLOv8n's throughput at the same input size


def ours_offline(model, config) -> Callable[[Clip], dict]:  # model: OnnxModel, config: BenchConfig
    """Our model offline on a clip after its warm-up, as the bench runs it: for ``add_peer_runs(ours=)``."""
    from fabric_inspect.bench.measure import run_one, warm_up

    def run(clip: Clip) -> dict:
        warm_up(model, clip, config.warmup)
        return run_one(model, clip, "offline", config)

    return run


def run_peer(model: PeerModel, clip: Clip, mode: str, camera_fps: float, warmup: int = 3) -> dict:
    """One clip through a peer in one mode, read as the bench reads it for our model; its figures."""
    from fabric_inspect.bench.measure import ResourceMonitor
    from fabric_inspect.bench.paced import PacedSource
    from fabric_inspect.inspect.sources import SourceConfig, open_source

    _warm_up(model, clip, warmup)
    if mode == "live":
        source = PacedSource(clip.raw, camera_fps)
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
        "camera_fps": camera_fps if mode == "live" else None,
        "fps": summary.fps,
        "dropped_frames": summary.dropped_frames,
        "latency_ms": summary.latency_ms,
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


def run_peers(
    peers: list[Peer],
    clips: list[Clip],
    modes: Iterable[str],
    camera_fps: float,
    threads: int = 0,
    warmup: int = 3,
    progress: Callable[[str], None] | None = None,
    ours: Callable[[Clip], dict] | None = None,
) -> tuple[list[dict], dict[str, dict]]:
    """Each clip through each peer (the export chosen for its size) in each mode.

    Returns the peer runs and, when ``ours`` is given, our offline run on each clip measured right
    before its peers (by size).
    """
    runs, ours_next_to_peers = [], {}
    sessions: dict[str, PeerModel] = {}
    for clip in clips:
        if ours is not None:
            if progress is not None:
                progress(f"ours {clip.size} offline, next to the peers")
            ours_next_to_peers[clip.size] = ours(clip)
        for peer in choose(peers, clip.width, clip.height):
            key = str(peer.path)
            model = sessions[key] if key in sessions else sessions.setdefault(key, PeerModel(peer, threads))
            for mode in modes:
                if progress is not None:
                    progress(f"{peer.name} ({peer.size}) {clip.size} {mode}")
                result = run_peer(model, clip, mode, camera_fps, warmup)
                log.info("%s %s %s: %.2f fps", peer.name, clip.size, mode, result["fps"])
                runs.append(result)
    return runs, ours_next_to_peers


def ratios(
    runs: list[dict],
    peer_names: Iterable[str],
    mode: str = "offline",
    ours_next_to_peers: dict[str, dict] | None = None,
) -> dict[str, dict]:
    """Per frame size, our fps over each peer's in ``mode`` (ours measured next to the peers if given)."""
    names = set(peer_names)
    ours = {r["size"]: r for r in runs if r["mode"] == mode and r["model"] not in names}
    ours.update(ours_next_to_peers or {})
    out: dict[str, dict] = {}
    for run in runs:
        mine = ours.get(run["size"])
        if run["mode"] != mode or run["model"] not in names or mine is None or not run["fps"]:
            continue
        entry = out.setdefault(run["size"], {"mode": mode, "ours_fps": mine["fps"]})
        entry[f"{run['model']}_input"] = run["peer_input"]
        entry[f"{run['model']}_fps"] = run["fps"]
        entry[f"ours_over_{run['model']}_fps"] = round(mine["fps"] / run["fps"], 2)
        if run["model"] == "yolov8n":
            entry["target_ours_over_yolov8n"] = TARGET_OVER_YOLO
            entry["target_met"] = mine["fps"] / run["fps"] >= TARGET_OVER_YOLO
    return out


def add_peer_runs(
    document: dict,
    peers: list[Peer],
    clips: list[Clip],
    modes: Iterable[str],
    camera_fps: float,
    threads: int = 0,
    warmup: int = 3,
    progress: Callable[[str], None] | None = None,
    ours: Callable[[Clip], dict] | None = None,
) -> dict:
    """Run the peers on the bench's clips; append their runs and the "ratio" section to ``document``."""
    if not peers:
        return document
    modes = tuple(modes)
    machine = document.setdefault("machine", {})
    machine["load_avg_before_peers"] = [round(v, 2) for v in os.getloadavg()]
    runs, ours_next = run_peers(peers, clips, modes, camera_fps, threads, warmup, progress, ours)
    document["runs"].extend(runs)
    mode = "offline" if "offline" in modes else modes[0]
    document["ratio"] = ratios(document["runs"], {p.name for p in peers}, mode, ours_next)
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
    return lines
