"""The real-time loop: source -> preprocess -> model -> postprocess -> motion -> tracker -> sinks.

`run(source, model, config, sinks)` is the API the CLI and the benchmarks use. Motion is measured on
a worker thread while the model scores the same frame (it needs only the frame, and onnxruntime leaves
a core idle in its single-threaded operators); the tracker waits for both, so the order of the stages,
and every result, is the same as one after the other. Ctrl-C and SIGTERM
stop it cleanly: open tracks are reported, the video is finalized, the files are flushed and the
Summary is returned as for a normal end.
"""

from __future__ import annotations

import itertools
import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field

import numpy as np

from fabric_inspect.errors import ConfigError, FabricInspectError, ModelError
from fabric_inspect.inspect.coverage import Coverage, LooksWatch
from fabric_inspect.inspect.frames import Frame
from fabric_inspect.inspect.keepup import KeepUpConfig, KeepUpWatch
from fabric_inspect.inspect.motion import MotionConfig, MotionEstimator
from fabric_inspect.inspect.overlay import Hud, draw
from fabric_inspect.inspect.postprocess import PostprocessConfig, draft_cells, find_defects
from fabric_inspect.inspect.preprocess import Geometry, PreprocessConfig, frame_geometry, prepare, region
from fabric_inspect.inspect.sinks.bundle import SinkConfig, Sinks, open_sinks
from fabric_inspect.inspect.sinks.database import RollInfo
from fabric_inspect.inspect.sinks.labelset import LabelSetSink
from fabric_inspect.inspect.sources import Source
from fabric_inspect.inspect.summary import Stats, Summary, summarize
from fabric_inspect.inspect.tracker import DefectEvent, Tracker, TrackerConfig
from fabric_inspect.models.runtime import OnnxModel, Prediction

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Everything between the source and the sinks."""

    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    postprocess: PostprocessConfig = field(default_factory=PostprocessConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    max_frames: int = 0  # stop after this many processed frames (0 = until the source ends)
    keep_up: KeepUpConfig = field(default_factory=KeepUpConfig)  # live: warn when frames are dropped
    independent_frames: bool = False  # image folders: each frame is its own piece; close tracks per frame

    def __post_init__(self) -> None:
        if self.max_frames < 0:
            raise ConfigError(f"--max-frames must be >= 0, got {self.max_frames}")
        if self.motion.speed_m_per_min is not None and self.motion.px_per_mm != self.tracker.px_per_mm:
            raise ConfigError(
                f"--speed needs one --px-per-mm: motion has {self.motion.px_per_mm}, tracker "
                f"{self.tracker.px_per_mm}"
            )


@contextmanager
def stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGINT/SIGTERM call `stop` (a clean end) instead of killing the run; restored afterwards.

    `stop` must only set flags: a handler runs between two bytecodes of the main thread, which may hold
    a lock at that moment.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    received = []

    def handler(signum: int, _frame: object) -> None:
        received.append(signum)
        if len(received) > 1:  # a second Ctrl-C: the user does not want to wait
            raise KeyboardInterrupt
        log.warning("%s received: finishing cleanly (again to abort)", signal.Signals(signum).name)
        stop()

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class _Stages:
    """Per-run state of the stages (geometry per frame size, motion, tracker)."""

    def __init__(
        self,
        model: OnnxModel,
        config: PipelineConfig,
        fps: float,
        worker: ThreadPoolExecutor,
        rate: Callable[[], float] | None = None,
    ) -> None:
        self.model = model
        self.rate = rate  # live sources: the rate the source delivers now (motion follows a change)
        self.worker = worker  # one thread: motion.update calls run in frame order, never two at once
        self.config = config
        calibrated = model.info.operating_threshold(video=not config.independent_frames)
        self.thresholds = config.postprocess.resolved(model.info.classes, calibrated)
        self.motion = MotionEstimator(config.motion, fps)
        roi = config.preprocess.roi
        self.tracker = Tracker(config.tracker, x_origin_px=roi[0] if roi else 0.0)
        self._geometry: dict[tuple[int, int], Geometry] = {}
        self.coverage = Coverage()
        self.looks = LooksWatch(config.tracker.k)
        self.heat = None
        self.last_height = 0
        # the model's input and output for the last frame, and the stretch of roll it showed (roll px)
        self.seen: tuple[np.ndarray, Prediction, float, float] | None = None

    def geometry(self, frame: Frame) -> Geometry:
        key = (frame.width, frame.height)
        if key not in self._geometry:
            self._geometry[key] = frame_geometry(self.config.preprocess, frame.width, frame.height)
        return self._geometry[key]

    def check(self, frame: Frame) -> None:
        """Validate the ROI against the first frame and score it once (a warm-up that also proves fit)."""
        tensor = prepare(frame.image, self.geometry(frame))
        try:
            self.model.predict(tensor)
        except FabricInspectError:
            raise
        except Exception as err:  # onnxruntime raises its own untyped errors
            raise ModelError(
                f"model {self.model.path} cannot score the source's {frame.width}x{frame.height} frames "
                f"(model input {tuple(tensor.shape)}): {str(err).splitlines()[0]}; check --roi/--scale or "
                "use a model exported with dynamic height and width"
            ) from None

    def step(self, frame: Frame, times: dict[str, float]) -> tuple[list[DefectEvent], list[DefectEvent]]:
        """One frame through every stage; stage times (ms) go into `times`."""
        t = time.perf_counter()
        geometry = self.geometry(frame)
        tensor = prepare(frame.image, geometry)
        t = _lap(times, "preprocess", t)
        if self.rate is not None:
            self.motion.follow_rate(self.rate())  # before update is queued: one motion call at a time
        travel = self.worker.submit(self.motion.update, region(frame.image, geometry), frame.index)
        prediction = self.model.predict(tensor)
        t = _lap(times, "inference", t)
        info = self.model.info
        detections = find_defects(
            prediction.score,
            prediction.class_logits,
            self.thresholds,
            info.classes,
            info.stride,
            geometry,
            self.config.postprocess.min_cells,
            self.config.postprocess.max_defects,
            self.config.postprocess.join_lines,
        )
        self.heat = (prediction.score, geometry)
        t = _lap(times, "postprocess", t)
        offset = travel.result()  # raises what motion raised
        t = _lap(times, "motion", t)  # the part of motion the model's time did not hide
        confirmed, closed = self.tracker.update(detections, frame, offset)
        start, end = self._cover(frame, geometry, offset)
        self.seen = (tensor, prediction, start, end)
        if self.config.independent_frames:
            closed += self.tracker.finish()
        self.last_height = frame.height
        _lap(times, "tracker", t)
        return confirmed, closed

    def label(self, sink: LabelSetSink, index: int) -> None:
        """Hand the last frame to --label-set when it is the roll's next tile, with its draft mask."""
        assert self.seen is not None
        tensor, prediction, start, end = self.seen
        if sink.due(start):
            cells = draft_cells(
                prediction.score, prediction.class_logits, self.thresholds, self.config.postprocess.min_cells
            )
            sink.write(index, tensor, cells, end)

    def _cover(self, frame: Frame, geometry: Geometry, offset: float) -> tuple[float, float]:
        """Add the stretch of roll this frame's fabric region showed, and return it (roll px); warn
        when fabric went unseen."""
        far = offset + frame.height - geometry.y0
        gap = self.coverage.add(far - geometry.height, far)
        looks = self.looks.check(far, geometry.height)
        if looks is not None:
            k, n = self.config.tracker.k, self.config.tracker.n
            log.warning(
                "frame %d: each point of the fabric stays in the inspected region (%d rows) for %.1f "
                "inspected frames, fewer than the %d sightings --confirm %d/%d needs, so small defects "
                "go unreported: give the region more rows along the travel, a higher frame rate or a "
                'lower K (docs/pipeline.md, "Looks per point")',
                frame.index,
                geometry.height,
                looks,
                k,
                k,
                n,
            )
        if gap is not None and self.coverage.gap_count <= 10:
            ppm = self.config.tracker.px_per_mm
            log.warning(
                "frame %d: %.0f mm of fabric (%.3f-%.3f m along the roll) passed between inspected frames "
                "and was not inspected%s",
                frame.index,
                gap.length_px / ppm,
                gap.start_px / ppm / 1000.0,
                gap.end_px / ppm / 1000.0,
                "; further gaps are counted in the summary only" if self.coverage.gap_count == 10 else "",
            )
        return far - geometry.height, far

    def roll_length_m(self) -> float:
        ppm = self.config.tracker.px_per_mm
        return (self.motion.offset_px + self.last_height) / ppm / 1000.0

    def uninspected_m(self) -> float:
        """Metres of roll no inspected frame saw so far."""
        return round(self.coverage.uninspected_px / self.config.tracker.px_per_mm / 1000.0, 3)

    def uninspected(self) -> dict[str, object]:
        """The summary's coverage fields: total metres not inspected, how many stretches, and where."""
        m = 1.0 / self.config.tracker.px_per_mm / 1000.0
        return {
            "uninspected_m": self.uninspected_m(),
            "uninspected_stretches": self.coverage.gap_count,
            "looks_per_point": round(self.coverage.looks, 2),
            "uninspected_at_m": [
                [round(g.start_px * m, 3), round(g.end_px * m, 3)] for g in self.coverage.gaps
            ],
        }


def _lap(times: dict[str, float], name: str, start: float) -> float:
    now = time.perf_counter()
    times[name] = (now - start) * 1000.0
    return now


def roll_info(
    sinks: SinkConfig, source: Source, model: OnnxModel, config: PipelineConfig, width_px: int | None
) -> RollInfo | None:
    """The rolls row; the inspected width is the fabric region's width (ROI, or the whole frame)."""
    if sinks.db is None or not sinks.roll:
        return None
    settings = {"pipeline": asdict(config), "model_path": str(model.path)}
    return RollInfo(
        roll_id=sinks.roll,
        source=source.description,
        article=sinks.article,
        width_mm=None if width_px is None else round(width_px / config.tracker.px_per_mm, 1),
        px_per_mm=config.tracker.px_per_mm,
        speed_m_per_min=config.motion.speed_m_per_min,
        model_name=model.info.name,
        model_version=model.info.version,
        settings=json.dumps(settings, default=str),
    )


def run(
    source: Source,
    model: OnnxModel,
    config: PipelineConfig,
    sink_config: SinkConfig,
    stop: threading.Event | None = None,
    progress: Callable[[Frame, int], None] | None = None,
) -> Summary:
    """Inspect every frame `source` gives until it ends, `stop` is set, or a signal arrives."""
    stop = stop or threading.Event()
    stats = Stats()

    def halt() -> None:
        stop.set()
        source.stop()

    started = time.perf_counter()
    with ExitStack() as stack:
        worker = stack.enter_context(ThreadPoolExecutor(max_workers=1, thread_name_prefix="motion"))
        rate = (lambda: source.fps) if source.live else None
        stages = _Stages(model, config, source.fps, worker, rate)
        stack.enter_context(source)
        stack.enter_context(stop_on_signals(halt))
        frames = iter(source)
        first = next(frames, None)
        if first is not None:
            stages.check(first)  # bad --roi or a model that cannot take these frames: before any output
        width_px = None if first is None else stages.geometry(first).width
        roll = roll_info(sink_config, source, model, config, width_px)
        sinks = open_sinks(sink_config, stack, source.fps, roll, model.info.classes, model.info.stride)
        watch = KeepUpWatch(config.keep_up, lambda: source.dropped, source.fps) if source.live else None
        if first is not None:
            _loop(
                itertools.chain([first], frames),
                stages,
                sinks,
                sink_config,
                stats,
                stop,
                config.max_frames,
                progress,
                watch,
            )
        for event in stages.tracker.finish():
            _report(sinks, stats, event, stages)
        covered = stages.uninspected()
        if sinks.db is not None:
            sinks.db.progress(
                stats.frames, stages.roll_length_m(), covered["uninspected_m"], covered["uninspected_at_m"]
            )
    interrupted = stop.is_set() and not (config.max_frames and stats.frames >= config.max_frames)
    return summarize(
        stats,
        time.perf_counter() - started,
        source=source.description,
        model=str(model.path),
        dropped_frames=source.dropped,
        skipped_frames=source.skipped,
        roll_length_m=round(stages.roll_length_m(), 3),
        rejected_tracks=stages.tracker.rejected,
        interrupted=interrupted,
        output_errors=sinks.errors(),  # after the sinks closed: errors on closing count too
        label_set=sinks.label_set.report() if sinks.label_set is not None else {},
        **covered,
    )


def _loop(
    frames: Iterator[Frame],
    stages: _Stages,
    sinks: Sinks,
    sink_config: SinkConfig,
    stats: Stats,
    stop: threading.Event,
    max_frames: int,
    progress: Callable[[Frame, int], None] | None,
    watch: KeepUpWatch | None = None,
) -> None:
    fps_ema = 0.0
    previous_verdict = 0.0
    waited = time.perf_counter()
    for frame in frames:
        times = {"wait": (time.perf_counter() - waited) * 1000.0}
        confirmed, closed = stages.step(frame, times)
        if len(stages.tracker.current) >= stages.config.postprocess.max_defects:
            if not stats.saturated:
                log.warning(
                    "frame %d has %d or more defects; only the strongest are kept (raise --threshold?)",
                    frame.index,
                    stages.config.postprocess.max_defects,
                )
            stats.saturated += 1
        verdict = time.perf_counter()
        latency_ms = (verdict - frame.t_capture) * 1000.0
        for event in confirmed:
            sinks.alarm(event)
        for event in closed:
            _report(sinks, stats, event, stages)
        if previous_verdict:
            rate = 1.0 / max(verdict - previous_verdict, 1e-6)
            fps_ema = rate if fps_ema == 0 else 0.9 * fps_ema + 0.1 * rate
        previous_verdict = verdict
        if sinks.label_set is not None:
            stages.label(sinks.label_set, frame.index)
        if sink_config.draws:
            roll_m, found = stages.roll_length_m(), stages.tracker.confirmed_count
            dropped = watch.dropped() if watch is not None else None
            hud = Hud(frame.index, fps_ema, latency_ms, roll_m, found, dropped)
            heat, geometry = stages.heat if sink_config.heatmap and stages.heat else (None, None)
            sinks.frame(draw(frame.image, stages.tracker.current, hud, heat, geometry))
        times["sinks"] = (time.perf_counter() - verdict) * 1000.0
        stats.add(latency_ms, times)
        note = watch.check(verdict, stats.frames) if watch is not None else None
        if note:
            log.warning(
                "%s; fabric not inspected so far: %.2f m. For fewer drops: a lower camera resolution, "
                "--scale, --roi, or fewer programs beside this one (docs/bench.md)",
                note,
                stages.uninspected_m(),
            )
        if progress is not None:
            progress(frame, stats.frames)
        if sinks.window is not None and sinks.window.quit:
            stop.set()
        if stop.is_set() or (max_frames and stats.frames >= max_frames):
            stop.set()
            break
        waited = time.perf_counter()


def _report(sinks: Sinks, stats: Stats, event: DefectEvent, stages: _Stages) -> None:
    if sinks.db is not None:
        sinks.db.progress(stats.frames, stages.roll_length_m(), stages.uninspected_m())
    sinks.report(event)
    stats.by_class[event.class_name] += 1
