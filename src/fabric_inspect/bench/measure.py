"""Run the real pipeline on each clip in each mode and measure it: latency, fps, drops, CPU, memory.

Modes, on the same frames:

- ``live``: the clip replayed as a camera (`PacedSource`): frames arrive at the camera's rate and a
  busy pipeline drops them, exactly as with `fabric-inspect live`. Latency is capture -> verdict.
- ``offline``: the clip read as `fabric-inspect run` reads a file (decoder thread, bounded queue, no
  drops), as fast as possible. Latency is decode -> verdict, so it includes the queue wait.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import platform
import resource
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fabric_inspect import __version__
from fabric_inspect.bench.clips import Clip
from fabric_inspect.errors import ConfigError
from fabric_inspect.inspect.latest import DEFAULT_DEPTH, check_depth
from fabric_inspect.inspect.preprocess import PreprocessConfig, frame_geometry

log = logging.getLogger(__name__)

MODES = ("live", "offline")
CAMERA_CODECS = ("raw", "mjpg")  # live: what the replayed camera sends (bench.paced)


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """What to run: sizes, frames per clip, camera rate, modes, onnxruntime threads, warm-up frames.

    ``seconds`` makes each live run last at least that long by replaying the clip again from its
    start (0: the clip once). Offline runs always read the clip once.
    """

    sizes: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720), (1920, 1080))
    frames: int = 150
    fps: float = 30.0
    modes: tuple[str, ...] = MODES
    threads: int = 0
    warmup: int = 3
    buffer: int = DEFAULT_DEPTH  # live: frames that may wait for the pipeline, as `live --buffer`
    seconds: float = 0.0  # live: camera time per run; the clip loops when it is shorter
    # live: "raw" frames (an uncompressed camera) or "mjpg" (a USB camera's JPEGs, decoded by the
    # capture thread at the camera's pace, taking CPU from the pipeline as on the inspection PC)
    camera_codec: str = "raw"
    # mjpg: the JPEG quality the camera sends, 1-100; 0: the highest, up to 95, that fits a USB 2.0
    # camera's bus at `fps` (`bench.paced.bus_quality`)
    jpeg_quality: int = 0
    # the fabric region every run inspects, x0,y0,x1,y1 in frame pixels, as `live --roi` (None: whole
    # frame); e.g. a band across the frame that each point of the moving fabric still passes through
    roi: tuple[int, int, int, int] | None = None

    def __post_init__(self) -> None:
        if not self.sizes:
            raise ConfigError("--sizes is empty; give at least one WxH")
        if not 2 <= self.frames <= 100_000:
            raise ConfigError(f"--frames must be 2..100000, got {self.frames}")
        if not 0 < self.fps <= 1000:
            raise ConfigError(f"--fps must be in (0, 1000], got {self.fps}")
        unknown = [m for m in self.modes if m not in MODES]
        if unknown or not self.modes:
            raise ConfigError(
                f"--modes must be a comma list of {', '.join(MODES)}; got {','.join(self.modes)!r}"
            )
        check_depth(self.buffer)
        if not 0 <= self.seconds <= 3600:
            raise ConfigError(f"--seconds must be 0..3600 (0: the clip once), got {self.seconds:g}")
        if self.camera_codec not in CAMERA_CODECS:
            raise ConfigError(
                f"--camera-codec must be one of {', '.join(CAMERA_CODECS)}, got {self.camera_codec!r}"
            )
        if not 0 <= self.jpeg_quality <= 100:
            raise ConfigError(
                "--jpeg-quality must be 1..100 (0: the highest a USB 2.0 camera can send), "
                f"got {self.jpeg_quality}"
            )
        if self.threads < 0 or self.warmup < 0:
            raise ConfigError(f"--threads and warm-up must be >= 0, got {self.threads} and {self.warmup}")
        for width, height in self.sizes:  # found now, not after the clips are rendered
            frame_geometry(PreprocessConfig(roi=self.roi), width, height)

    def live_frames(self, clip_frames: int) -> int:
        """Frames a live run replays from a clip of ``clip_frames``: the clip once, or ``seconds``' worth."""
        return max(clip_frames, math.ceil(self.seconds * self.fps))


class ResourceMonitor:
    """CPU % (all threads of this process; 100 = one core busy) and peak resident memory of a block."""

    def __init__(self, interval_s: float = 0.01) -> None:
        self.interval_s = interval_s
        self.cpu_percent = 0.0
        self.peak_rss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="fabric-inspect-rss", daemon=True)

    def __enter__(self) -> ResourceMonitor:
        self._wall, self._cpu = time.perf_counter(), _cpu_seconds()
        self.peak_rss_mb = rss_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        wall = time.perf_counter() - self._wall
        self.cpu_percent = 100.0 * (_cpu_seconds() - self._cpu) / wall if wall > 0 else 0.0
        self.peak_rss_mb = max(self.peak_rss_mb, rss_mb())

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak_rss_mb = max(self.peak_rss_mb, rss_mb())


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def rss_mb() -> float:
    """Resident memory of this process now (Linux /proc; elsewhere the peak so far)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def machine_info(threads: int) -> dict:
    """What the figures were measured on."""
    import cv2
    import numpy
    import onnxruntime

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "opencv": cv2.__version__,
        "onnxruntime": onnxruntime.__version__,
        "onnx_threads": threads or "all cores",
        "fabric_inspect": __version__,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average_1m": _load_average(),  # other work on the machine when the bench started
    }


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def pipeline_config_for(clip: Clip, roi: tuple[int, int, int, int] | None = None):  # -> PipelineConfig
    """The pipeline as `fabric-inspect run` sets it up for this clip (default options, and --roi)."""
    from fabric_inspect.inspect.motion import MotionConfig
    from fabric_inspect.inspect.pipeline import PipelineConfig
    from fabric_inspect.inspect.tracker import TrackerConfig

    ppm = clip.px_per_mm or 1.0
    return PipelineConfig(
        preprocess=PreprocessConfig(roi=roi),
        motion=MotionConfig(mode="auto", speed_m_per_min=clip.speed_m_per_min, px_per_mm=ppm),
        tracker=TrackerConfig(px_per_mm=ppm),
    )


def warm_up(model, clip: Clip, times: int, roi: tuple[int, int, int, int] | None = None) -> None:
    """Run the model (an OnnxModel) on the clip's first frame, or its ``roi``, a few times (first runs
    allocate and are slow)."""
    import cv2

    from fabric_inspect.inspect.preprocess import prepare

    cap = cv2.VideoCapture(str(clip.path))
    ok, image = cap.read()
    cap.release()
    if not ok:
        return
    tensor = prepare(image, frame_geometry(PreprocessConfig(roi=roi), clip.width, clip.height))
    for _ in range(times):
        model.predict(tensor)


def live_source(clip: Clip, config: BenchConfig):  # -> PacedSource
    """The clip replayed as the camera of ``config`` (`--camera-codec`), for a live run."""
    from fabric_inspect.bench.paced import PacedSource

    frames = clip.raw
    if config.camera_codec == "mjpg":
        if clip.jpeg is None:
            raise ConfigError(f"clip {clip.size} has no JPEG frames for --camera-codec mjpg")
        frames = clip.jpeg
    return PacedSource(frames, config.fps, config.live_frames(clip.frames), buffer=config.buffer)


def run_one(model, clip: Clip, mode: str, config: BenchConfig) -> dict:  # model: OnnxModel
    """One clip in one mode through the real pipeline (no sinks); the run's figures."""
    from fabric_inspect.inspect.pipeline import run
    from fabric_inspect.inspect.sinks.bundle import SinkConfig
    from fabric_inspect.inspect.sources import SourceConfig, open_source

    mjpg = mode == "live" and config.camera_codec == "mjpg"
    if mode == "live":
        source = live_source(clip, config)
    else:
        source = open_source(SourceConfig(str(clip.path), kind="video"))
    with ResourceMonitor() as monitor:
        summary = run(source, model, pipeline_config_for(clip, config.roi), SinkConfig())
    return {
        "model": f"{model.info.name} {model.info.version}",
        "size": clip.size,
        "mode": mode,
        "roi": list(config.roi) if config.roi is not None else None,
        "frames": summary.frames,
        "clip_frames": clip.frames,
        "camera_fps": config.fps if mode == "live" else None,
        "camera_buffer": config.buffer if mode == "live" else None,
        "camera_codec": config.camera_codec if mode == "live" else None,
        "fps": summary.fps,
        "dropped_frames": summary.dropped_frames,
        "uninspected_m": summary.uninspected_m,  # fabric the dropped frames cost (0: frames overlapped)
        "looks_per_point": summary.looks_per_point,  # inspected frames that saw each point (--confirm K)
        "latency_ms": summary.latency_ms,
        "latency_hist_ms": summary.latency_hist_ms,
        "stages_ms": summary.stages_ms,
        "cpu_percent": round(monitor.cpu_percent, 1),
        "peak_rss_mb": round(monitor.peak_rss_mb, 1),
        "seconds": summary.seconds,
        "defects": summary.defects,
        **(
            {
                "decode_ms": _stage_figures(source.decode_ms),
                "jpeg_quality": clip.jpeg.quality,
                "camera_mb_per_s": round(clip.jpeg.bytes_per_s(config.fps) / 1e6, 2),
            }
            if mjpg and clip.jpeg is not None
            else {}
        ),
    }


def _stage_figures(ring):  # ring: inspect.summary.Ring
    """{"mean", "p50", "p95"} of a stage's times in ms, as the summary's `stages_ms` has them."""
    from fabric_inspect.inspect.summary import percentiles

    return {"mean": round(ring.mean, 3), **percentiles(ring, (50, 95))}


def run_bench(
    model,  # OnnxModel
    clips: list[Clip],
    config: BenchConfig,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Every clip in every mode; the JSON document of issue #5 (machine + runs)."""
    machine = machine_info(config.threads)
    runs = []
    for clip in clips:
        warm_up(model, clip, config.warmup, config.roi)
        for mode in config.modes:
            if progress is not None:
                progress(f"{clip.size} {mode}")
            result = run_one(model, clip, mode, config)
            log.info(
                "%s %s: %.1f fps, p95 %.1f ms", clip.size, mode, result["fps"], result["latency_ms"]["p95"]
            )
            runs.append(result)
    return {"machine": machine, "runs": runs}
