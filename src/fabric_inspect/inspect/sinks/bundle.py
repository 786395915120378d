"""Open the sinks a SinkConfig asks for, and hand each event and frame to them."""

from __future__ import annotations

import dataclasses
import logging
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fabric_inspect.errors import ConfigError
from fabric_inspect.inspect.sinks.alarms import AlarmWorker, command_sender, webhook_sender
from fabric_inspect.inspect.sinks.crops import prepare_dir, save_crop
from fabric_inspect.inspect.sinks.database import DatabaseSink, RollInfo
from fabric_inspect.inspect.sinks.events import EventsSink
from fabric_inspect.inspect.sinks.labelset import LabelSetSink
from fabric_inspect.inspect.sinks.video import VideoSink
from fabric_inspect.inspect.sinks.window import WindowSink
from fabric_inspect.inspect.tracker import DefectEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SinkConfig:
    """Which outputs a run writes (all optional)."""

    video: Path | None = None
    heatmap: bool = False
    video_minutes: float = 0.0  # a new video file every this many minutes of video (0 = one file)
    events: Path | None = None
    db: Path | None = None
    roll: str | None = None
    article: str | None = None
    crops: Path | None = None
    show: bool = False
    on_defect: str | None = None
    webhook: str | None = None
    alarm_timeout_s: float = 5.0
    summary: Path | None = None
    label_set: Path | None = None  # the roll's frames, tiled, with draft masks, to label (labelset.py)

    def __post_init__(self) -> None:
        if self.db is not None and not self.roll:
            raise ConfigError(f"--db {self.db} needs --roll to name the roll (e.g. --roll R1)")
        if not 0.0 <= self.video_minutes <= 24 * 60:
            raise ConfigError(f"--video-minutes must be 0 (one file) to 1440, got {self.video_minutes}")
        if self.video_minutes and self.video is None:
            raise ConfigError("--video-minutes cuts the --save-video file; give --save-video too")
        if self.heatmap and self.video is None and not self.show:
            raise ConfigError("--heatmap draws on --save-video or --show; give one of them")
        if not 0.1 <= self.alarm_timeout_s <= 300:
            raise ConfigError(f"--alarm-timeout must be in 0.1..300 s, got {self.alarm_timeout_s}")
        if self.summary is not None and self.summary.is_dir():  # found now, not after the whole roll
            raise ConfigError(f"--summary {self.summary} is a folder; give a file (e.g. summary.json)")

    @property
    def draws(self) -> bool:
        return self.video is not None or self.show


@dataclass(slots=True)
class Sinks:
    """The opened sinks of one run."""

    events: EventsSink | None = None
    db: DatabaseSink | None = None
    video: VideoSink | None = None
    window: WindowSink | None = None
    crops: Path | None = None
    crop_prefix: str = "defect"
    alarms: tuple[AlarmWorker, ...] = ()
    crops_error: str | None = None  # why crops stopped being written, as one line
    label_set: LabelSetSink | None = None

    def errors(self) -> list[str]:
        """One line per output that could not be written (a full disk), for the summary and exit code."""
        written = (self.events, self.db, self.video, self.label_set)
        found = [sink.error for sink in written if sink is not None and sink.error]
        return found + ([self.crops_error] if self.crops_error else [])

    def alarm(self, event: DefectEvent) -> None:
        """A defect was just confirmed: fire the alarms (never blocks)."""
        for worker in self.alarms:
            worker.notify(event)

    def report(self, event: DefectEvent) -> DefectEvent:
        """A defect is finished: crop, events line, database row. Returns the event with its crop path."""
        log.info(
            "defect %d: %s, score %.2f, at %.0f mm along the roll, %.0f mm across, %.0f x %.0f mm",
            event.id,
            event.class_name,
            event.score,
            event.roll_y_mm,
            event.roll_x_mm,
            event.length_mm,
            event.width_mm,
        )
        if self.crops is not None:
            path = save_crop(self.crops, event, self.crop_prefix)
            if path is None and event.crop is not None and event.crop.size:
                self.crops_error = f"--crops {self.crops}: cannot write a PNG there (disk full?)"
                log.error("%s; the run goes on without it", self.crops_error)
                self.crops = None
            event = dataclasses.replace(event, crop_path=path)
        if self.events is not None:
            self.events.write(event)
        if self.db is not None:
            self.db.write(event)
        return event

    def frame(self, canvas: np.ndarray) -> None:
        if self.video is not None:
            self.video.write(canvas)
        if self.window is not None:
            self.window.show(canvas)


def open_sinks(
    config: SinkConfig,
    stack: ExitStack,
    fps: float,
    roll: RollInfo | None,
    classes: tuple[str, ...] = (),
    stride: int = 8,
) -> Sinks:
    """Open every sink `config` names inside `stack` (closed in reverse order, also on errors);
    `classes` and `stride` are the model's, for --label-set."""
    sinks = Sinks()
    if config.label_set is not None:  # first: a folder that holds this roll already is refused at once
        sink = LabelSetSink(config.label_set, classes, config.roll or "roll", stride)
        sinks.label_set = stack.enter_context(sink)
    if config.show:
        snapshots = config.video.parent if config.video else Path.cwd()
        sinks.window = stack.enter_context(WindowSink(snapshots))
    if config.crops is not None:
        sinks.crops = prepare_dir(config.crops)
        sinks.crop_prefix = config.roll or "defect"
    if config.db is not None and roll is not None:
        sinks.db = stack.enter_context(DatabaseSink(config.db, roll))
    if config.events is not None:
        sinks.events = stack.enter_context(EventsSink(config.events))
    if config.video is not None:
        segment = round(config.video_minutes * 60 * fps) if config.video_minutes else 0
        sinks.video = stack.enter_context(VideoSink(config.video, fps, segment_frames=segment))
    workers = []
    # `is not None`: an empty --on-defect "$RELAY" (a variable not set) is refused, never silently off
    if config.on_defect is not None:
        workers.append(AlarmWorker("on-defect", command_sender(config.on_defect, config.alarm_timeout_s)))
    if config.webhook is not None:
        workers.append(AlarmWorker("webhook", webhook_sender(config.webhook, config.alarm_timeout_s)))
    sinks.alarms = tuple(stack.enter_context(worker) for worker in workers)
    return sinks
