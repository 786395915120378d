"""`fabric-inspect run` (video files, image folders) and `fabric-inspect live` (cameras, streams).

Both parse options into the inspection configs and call `fabric_inspect.inspect.pipeline.run`.
Heavy libraries are imported inside the commands.
"""

from __future__ import annotations

import contextlib
import difflib
import sys
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from fabric_inspect.cli._common import fail, handles_errors, path_value
from fabric_inspect.errors import ConfigError

if TYPE_CHECKING:
    from fabric_inspect.inspect.frames import Frame
    from fabric_inspect.inspect.pipeline import PipelineConfig
    from fabric_inspect.inspect.sinks.bundle import SinkConfig
    from fabric_inspect.inspect.sources import SourceConfig


# Options shared by `run` and `live` (one OptionInfo may be the default of both commands).
MODEL = typer.Option(
    None, "--model", "-m", parser=path_value, help="ONNX model (default: the shipped model)."
)
THREADS = typer.Option(0, "--threads", help="onnxruntime threads (0 = all cores).")
ROI = typer.Option(None, "--roi", help="Fabric region x0,y0,x1,y1 in frame pixels (default: whole frame).")
SCALE = typer.Option(1.0, "--scale", help="Resize the region by this factor before the model.")
THRESHOLD = typer.Option(
    None, "--threshold", help="Defect threshold 0..1 (default: the model's calibrated one)."
)
CLASS_THRESHOLD = typer.Option(
    [], "--class-threshold", help="Per-class threshold NAME=VALUE (repeatable), e.g. stain=0.4."
)
MIN_CELLS = typer.Option(1, "--min-cells", help="Smallest defect, in model-map cells (stride x stride px).")
PX_PER_MM = typer.Option(None, "--px-per-mm", help="Image pixels per mm of fabric (default 1: sizes in px).")
SPEED = typer.Option(None, "--speed", help="Fabric speed in m/min: a check on motion, or the motion itself.")
MOTION = typer.Option("auto", "--motion", help="auto | phase | speed | tile | none.")
CONFIRM = typer.Option("3/5", "--confirm", help="Report a defect seen in K of N frames (K/N).")
MAX_MISSED = typer.Option(5, "--max-missed", help="Close a defect unseen for this many frames.")
LINE_GAP = typer.Option(
    500.0,
    "--line-gap",
    help="A reported line along the roll seen again within this many mm continues (0 = off).",
)
SAVE_VIDEO = typer.Option(
    None, "--save-video", parser=path_value, help="Annotated video (.mp4: mp4v, .avi: MJPG)."
)
HEATMAP = typer.Option(False, "--heatmap", help="Blend the score map into the video/window.")
VIDEO_MINUTES = typer.Option(
    0.0,
    "--video-minutes",
    help="Start a new --save-video file every this many minutes of video (NAME_0001.mp4, ...); 0 = one file.",
)
EVENTS = typer.Option(None, "--events", parser=path_value, help="JSON line per defect, flushed as written.")
DB = typer.Option(None, "--db", parser=path_value, help="SQLite database (WAL) for the roll report.")
ROLL = typer.Option(None, "--roll", help="Roll id for --db (e.g. R1).")
ARTICLE = typer.Option(None, "--article", help="Article (fabric) name stored with the roll.")
CROPS = typer.Option(None, "--crops", parser=path_value, help="Folder for a PNG crop per defect.")
LABEL_SET = typer.Option(
    None,
    "--label-set",
    parser=path_value,
    help="Folder to write the roll into as images to label (train --data's format): each stretch of "
    "fabric once, with the model's draft mask where it found a defect. Check every one before training.",
)
SHOW = typer.Option(False, "--show", help="Live window (needs a display); keys q quit, p pause, s snapshot.")
ON_DEFECT = typer.Option(None, "--on-defect", help="Command run per defect, event JSON on stdin (no shell).")
WEBHOOK = typer.Option(None, "--webhook", help="URL that gets a JSON POST per defect.")
ALARM_TIMEOUT = typer.Option(5.0, "--alarm-timeout", help="Seconds before a hung alarm is given up.")
SUMMARY = typer.Option(
    None, "--summary", parser=path_value, help="Write the end-of-run summary as JSON here."
)
MAX_FRAMES = typer.Option(0, "--max-frames", help="Stop after this many frames (0 = no limit).")
CONFIG = typer.Option(
    None,
    "--config",
    parser=path_value,
    help="TOML file of option values (e.g. one per article); typed options win.",
)


def register(app: typer.Typer) -> None:
    """Add `run` and `live` to the app."""
    app.command(help="Inspect a video file, image folder or glob; report each defect once.")(run)
    app.command(help="Inspect a camera or stream live; report each defect once, as it passes.")(live)


@dataclass(frozen=True, slots=True)
class Options:
    """The values of the shared options, as typed on the command line."""

    model: Path | None
    threads: int
    roi: str | None
    scale: float
    threshold: float | None
    class_threshold: list[str]
    min_cells: int
    px_per_mm: float | None
    speed: float | None
    motion: str
    confirm: str
    max_missed: int
    line_gap: float
    max_frames: int


SINK_OPTIONS = {
    "save_video": "video", "heatmap": "heatmap", "video_minutes": "video_minutes", "events": "events",
    "db": "db", "roll": "roll", "article": "article", "crops": "crops", "show": "show",
    "on_defect": "on_defect", "webhook": "webhook", "alarm_timeout": "alarm_timeout_s", "summary": "summary",
    "label_set": "label_set",
}  # fmt: skip


def read_toml(path: Path) -> dict:
    import tomllib

    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as err:
        raise ConfigError(f"--config {path}: cannot read ({err.strerror})") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"--config {path}: not valid TOML ({err})") from None


def merged_params(ctx: typer.Context, config: Path | None) -> dict[str, object]:
    """The command's option values, with those of the --config TOML file where none was typed."""
    params = dict(ctx.params)
    if config is None:
        return params
    for key, value in read_toml(config).items():
        name = key.replace("-", "_")
        if name not in params or name in ("config", "input"):
            close = difflib.get_close_matches(name, [p for p in params if p not in ("config", "input")], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"--config {config}: unknown key {key!r}{hint}")
        source = ctx.get_parameter_source(name)
        if source is not None and source.name != "DEFAULT":
            continue  # the command line wins
        params[name] = _config_value(config, name, value)
    return params


def _config_value(config: Path, name: str, value: object) -> object:
    """A TOML value checked against the option's type (as the command declares it)."""
    if name == "class_threshold":
        if not isinstance(value, dict):
            raise ConfigError(
                f"--config {config}: class_threshold must be a table ([class_threshold] stain = 0.4)"
            )
        return [f"{k}={v}" for k, v in value.items()]
    expected = _option_type(name)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is Path and isinstance(value, str):
        if not value.strip():
            raise ConfigError(f"--config {config}: {name} is empty; give a path")
        return Path(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(
            f"--config {config}: {name} must be {expected.__name__}, got {type(value).__name__} {value!r}"
        )
    return value


def _option_type(name: str) -> type:
    """The type `live` declares for an option (`X | None` gives X); `live` has every shared option."""
    hint = typing.get_type_hints(live)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


def options_from(params: dict[str, object]) -> Options:
    return Options(**{name: params[name] for name in Options.__dataclass_fields__})  # type: ignore[arg-type]


def sinks_from(params: dict[str, object]) -> SinkConfig:
    from fabric_inspect.inspect.sinks.bundle import SinkConfig

    return SinkConfig(**{field: params[option] for option, field in SINK_OPTIONS.items()})  # type: ignore[arg-type]


def parse_roi(text: str | None) -> tuple[int, int, int, int] | None:
    if text is None:
        return None
    parts = text.replace(" ", "").split(",")
    try:
        x0, y0, x1, y1 = (int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"--roi must be four integers x0,y0,x1,y1, got {text!r}") from None
    return x0, y0, x1, y1


def parse_class_thresholds(items: list[str]) -> dict[str, float]:
    found = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            found[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise ConfigError(f"--class-threshold must be NAME=VALUE (e.g. stain=0.4), got {item!r}")
    return found


def parse_confirm(text: str) -> tuple[int, int]:
    k, sep, n = text.partition("/")
    if not sep or not k.strip().isdigit() or not n.strip().isdigit():
        raise ConfigError(f"--confirm must be K/N (e.g. 3/5: seen in 3 of 5 frames), got {text!r}")
    return int(k), int(n)


def check_motion_name(name: str) -> None:
    from fabric_inspect.inspect.motion import MODES

    if name not in MODES:
        close = difflib.get_close_matches(name, MODES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"--motion must be one of {', '.join(MODES)}, got {name!r}{hint}")


def pipeline_config(options: Options, stills: bool) -> PipelineConfig:
    """The pipeline configuration; image folders (`stills`) are tiled pieces, each closed at once."""
    from fabric_inspect.inspect.motion import MotionConfig
    from fabric_inspect.inspect.pipeline import PipelineConfig
    from fabric_inspect.inspect.postprocess import PostprocessConfig
    from fabric_inspect.inspect.preprocess import PreprocessConfig
    from fabric_inspect.inspect.tracker import TrackerConfig

    check_motion_name(options.motion)
    ppm = options.px_per_mm if options.px_per_mm is not None else 1.0
    k, n = (1, 1) if stills else parse_confirm(options.confirm)
    motion = "tile" if stills else options.motion
    return PipelineConfig(
        preprocess=PreprocessConfig(roi=parse_roi(options.roi), scale=options.scale),
        postprocess=PostprocessConfig(
            options.threshold, parse_class_thresholds(options.class_threshold), options.min_cells
        ),
        motion=MotionConfig(mode=motion, speed_m_per_min=options.speed, px_per_mm=ppm),
        tracker=TrackerConfig(
            k=k, n=n, max_missed=options.max_missed, px_per_mm=ppm, line_gap_mm=options.line_gap
        ),
        max_frames=options.max_frames,
        independent_frames=stills,
    )


def inspect(source_config: SourceConfig, options: Options, sinks: SinkConfig, live_source: bool) -> None:
    """Open model and source, run the pipeline, print (and write) the summary."""
    import logging

    from fabric_inspect.inspect.pipeline import run as run_pipeline
    from fabric_inspect.inspect.sources import open_source, source_kind
    from fabric_inspect.inspect.summary import format_summary
    from fabric_inspect.models.runtime import RuntimeConfig, load_model

    stills = source_kind(source_config) == "images"
    config = pipeline_config(options, stills)
    model = load_model(options.model, RuntimeConfig(threads=options.threads))
    source = open_source(source_config)
    if options.px_per_mm is None:  # after the model and the source: an error there comes alone
        logging.getLogger("fabric_inspect").warning("no --px-per-mm: positions and sizes are in pixels")
    typer.echo(f"inspecting {source.description} with {model.info.name} {model.info.version}", err=True)
    total = getattr(source, "frame_count", 0) if not live_source else 0
    with _progress(total) as progress:
        summary = run_pipeline(source, model, config, sinks, progress=progress)
    for line in format_summary(summary):
        typer.echo(line)
    if sinks.summary is not None:
        summary.write(sinks.summary)
    if summary.output_errors:
        count = len(summary.output_errors)
        raise fail(
            f"{count} output{'s' * (count > 1)} not written in full: " + "; ".join(summary.output_errors), 1
        )


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[Frame, int], None] | None]:
    """A rich progress bar on an interactive terminal (frames of `total`, or a count); else nothing."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = [TextColumn("inspecting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("frames", total=total or None)

        def advance(frame: Frame, count: int) -> None:
            if count % 10 == 0:
                bar.update(task, completed=frame.index + 1 if total else count)

        yield advance


@handles_errors
def run(
    ctx: typer.Context,
    input: str = typer.Argument(..., help="Video file, image folder or glob (also a camera or URL)."),
    config: Path | None = CONFIG,
    model: Path | None = MODEL,
    threads: int = THREADS,
    roi: str | None = ROI,
    scale: float = SCALE,
    threshold: float | None = THRESHOLD,
    class_threshold: list[str] = CLASS_THRESHOLD,
    min_cells: int = MIN_CELLS,
    px_per_mm: float | None = PX_PER_MM,
    speed: float | None = SPEED,
    motion: str = MOTION,
    confirm: str = CONFIRM,
    max_missed: int = MAX_MISSED,
    line_gap: float = LINE_GAP,
    save_video: Path | None = SAVE_VIDEO,
    heatmap: bool = HEATMAP,
    video_minutes: float = VIDEO_MINUTES,
    events: Path | None = EVENTS,
    db: Path | None = DB,
    roll: str | None = ROLL,
    article: str | None = ARTICLE,
    crops: Path | None = CROPS,
    label_set: Path | None = LABEL_SET,
    show: bool = SHOW,
    on_defect: str | None = ON_DEFECT,
    webhook: str | None = WEBHOOK,
    alarm_timeout: float = ALARM_TIMEOUT,
    summary: Path | None = SUMMARY,
    max_frames: int = MAX_FRAMES,
) -> None:
    from fabric_inspect.inspect.sources import SourceConfig

    params = merged_params(ctx, config)
    inspect(SourceConfig(input), options_from(params), sinks_from(params), live_source=False)


@handles_errors
def live(
    ctx: typer.Context,
    camera: str = typer.Option("0", "--camera", "-c", help="Camera index, /dev/videoN, or rtsp/http URL."),
    width: int = typer.Option(1280, "--width", help="Requested frame width (0 = camera default)."),
    height: int = typer.Option(720, "--height", help="Requested frame height (0 = camera default)."),
    fps: float = typer.Option(30.0, "--fps", help="Requested frame rate (0 = camera default)."),
    fourcc: str = typer.Option(
        "MJPG", "--fourcc", help="Requested pixel format (USB 2.0: MJPG for 720p30+)."
    ),
    give_up_after: float = typer.Option(0.0, "--give-up-after", help="End after this many s without frames."),
    buffer: int | None = typer.Option(
        None,
        "--buffer",
        help="Frames that may wait for the model (default 2); one more drops the oldest. "
        "1 keeps only the newest (lowest latency, but a single slow frame drops one).",
    ),
    config: Path | None = CONFIG,
    model: Path | None = MODEL,
    threads: int = THREADS,
    roi: str | None = ROI,
    scale: float = SCALE,
    threshold: float | None = THRESHOLD,
    class_threshold: list[str] = CLASS_THRESHOLD,
    min_cells: int = MIN_CELLS,
    px_per_mm: float | None = PX_PER_MM,
    speed: float | None = SPEED,
    motion: str = MOTION,
    confirm: str = CONFIRM,
    max_missed: int = MAX_MISSED,
    line_gap: float = LINE_GAP,
    save_video: Path | None = SAVE_VIDEO,
    heatmap: bool = HEATMAP,
    video_minutes: float = VIDEO_MINUTES,
    events: Path | None = EVENTS,
    db: Path | None = DB,
    roll: str | None = ROLL,
    article: str | None = ARTICLE,
    crops: Path | None = CROPS,
    label_set: Path | None = LABEL_SET,
    show: bool = SHOW,
    on_defect: str | None = ON_DEFECT,
    webhook: str | None = WEBHOOK,
    alarm_timeout: float = ALARM_TIMEOUT,
    summary: Path | None = SUMMARY,
    max_frames: int = MAX_FRAMES,
) -> None:
    from fabric_inspect.inspect.sources import SourceConfig, source_kind

    params = merged_params(ctx, config)
    source = SourceConfig(
        str(params["camera"]),
        width=int(params["width"]),
        height=int(params["height"]),
        fps=float(params["fps"]),
        fourcc=str(params["fourcc"]),
        give_up_after_s=float(params["give_up_after"]),
        **({} if params["buffer"] is None else {"live_buffer": int(params["buffer"])}),  # type: ignore[arg-type]
    )
    if source_kind(source) not in ("camera", "stream"):
        raise ConfigError(
            f"--camera {source.input!r} is not a camera index, /dev/videoN or URL; use `run` for files"
        )
    inspect(source, options_from(params), sinks_from(params), live_source=True)
