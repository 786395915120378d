"""`fabric-inspect calibrate`: re-set a model's threshold on defect-free fabric at the camera's size."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fabric_inspect.cli._common import handles_errors, path_value
from fabric_inspect.errors import ConfigError, InputError

if TYPE_CHECKING:
    from fabric_inspect.training.roll_calibrate import RollTrial


def register(app: typer.Typer) -> None:
    app.command(
        help=(
            "Re-set a model's threshold to a target false-alarm rate on defect-free images (a folder of "
            "good fabric, or synthetic frames at the camera's size) and write the recalibrated model. "
            "With --roll, set its video threshold instead: the lowest at which the whole pipeline "
            "reports at most --target-per-10m defects per 10 m of defect-free fabric (--video "
            "recordings of good fabric, or a --synthetic roll)."
        )
    )(calibrate)


def parse_size(text: str) -> tuple[int, int]:
    """'1280x720' -> (height, width)."""
    width, sep, height = text.lower().partition("x")
    if not sep or not width.strip().isdigit() or not height.strip().isdigit():
        raise ConfigError(f"--size must be WIDTHxHEIGHT (e.g. 1280x720), got {text!r}")
    if min(int(width), int(height)) < 32:
        raise ConfigError(f"--size must be at least 32x32, got {text!r}")
    return int(height), int(width)


@handles_errors
def calibrate(
    out: Annotated[
        Path, typer.Option("--out", "-o", parser=path_value, help="Recalibrated model to write (.onnx).")
    ],
    model: Annotated[
        Path | None,
        typer.Option("--model", "-m", parser=path_value, help="Model (default: the shipped one)."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", parser=path_value, help="Dataset whose defect-free images are used."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="Dataset layout (auto detects it).")] = "auto",
    synthetic: Annotated[bool, typer.Option("--synthetic", help="Use synthetic defect-free frames.")] = False,
    size: Annotated[str, typer.Option("--size", help="Synthetic frame size WIDTHxHEIGHT.")] = "1280x720",
    count: Annotated[int, typer.Option("--count", help="Synthetic frames to render.")] = 300,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic frames.")] = 5_000_000,
    target_far: Annotated[
        float, typer.Option("--target-far", help="False-alarm rate on defect-free images.")
    ] = 0.01,
    roll: Annotated[
        bool, typer.Option("--roll", help="Set the video threshold on a defect-free roll (see above).")
    ] = False,
    video: Annotated[
        list[Path],
        typer.Option(
            "--video", parser=path_value, help="--roll: recording of defect-free fabric (repeatable)."
        ),
    ] = [],  # noqa: B006 (typer needs a list default)
    metres: Annotated[
        float, typer.Option("--metres", help="--roll --synthetic: metres of fabric in all.")
    ] = 20.0,
    rolls: Annotated[
        int, typer.Option("--rolls", help="--roll --synthetic: rolls (fabrics) the metres are spread over.")
    ] = 1,
    fps: Annotated[float, typer.Option("--fps", help="--roll --synthetic: frames per second.")] = 30.0,
    speed: Annotated[
        float | None, typer.Option("--speed", help="--roll: fabric speed in m/min (synthetic: 20).")
    ] = None,
    px_per_mm: Annotated[
        float | None,
        typer.Option("--px-per-mm", help="--roll: image pixels per mm of fabric (synthetic: 4)."),
    ] = None,
    confirm: Annotated[str, typer.Option("--confirm", help="--roll: K/N, as `run` is given it.")] = "3/5",
    roi: Annotated[
        str | None,
        typer.Option("--roi", help="--roll: fabric region x0,y0,x1,y1, as `run` or `live` is given it."),
    ] = None,
    target_per_10m: Annotated[
        float, typer.Option("--target-per-10m", help="--roll: false reports allowed per 10 m.")
    ] = 0.5,
) -> None:
    from fabric_inspect.models.runtime import load_model
    from fabric_inspect.training.recalibrate import recalibrate

    if out.suffix != ".onnx":
        raise ConfigError(f"--out {out} must end in .onnx")
    if roll:
        rolls_wanted = (
            SyntheticRolls.from_options(parse_size(size), metres, rolls, fps, speed, px_per_mm, seed)
            if synthetic
            else None
        )
        _calibrate_roll(out, model, video, rolls_wanted, speed, px_per_mm, confirm, target_per_10m, roi)
        return
    if video:
        raise ConfigError("--video is for --roll (the video threshold); give --roll too")
    if roi is not None:
        raise ConfigError("--roi is for --roll (the video threshold); the image threshold takes whole images")
    if (data is None) == (not synthetic):
        raise ConfigError("give exactly one of --data DIR or --synthetic")
    if not 0.0 < target_far < 1.0:
        raise ConfigError(f"--target-far must be in (0, 1), got {target_far}")
    onnx_model = load_model(model)
    if synthetic:
        images, described = _synthetic(parse_size(size), count, seed, onnx_model.info.channels == 1)
    else:
        images, described = _defect_free(data, fmt)
    result = recalibrate(onnx_model, images, out, target_far, described)
    typer.echo(
        f"{out}: threshold {result.previous:.4f} -> {result.threshold:.4f} on {result.images} defect-free "
        f"images ({described}); false alarms there {result.false_alarm_rate:.1%} (target {target_far:.1%})"
    )


def _synthetic(size: tuple[int, int], count: int, seed: int, grey: bool) -> tuple[list, str]:
    from fabric_inspect.datasets.synthetic import render_sample

    if not 1 <= count <= 100_000:
        raise ConfigError(f"--count must be in 1..100000, got {count}")
    images = [render_sample(seed + i, size=size, grey=grey, defect_rate=0.0).image for i in range(count)]
    return images, f"synthetic {size[1]}x{size[0]} frames, seeds {seed}..{seed + count - 1}"


def _defect_free(data: Path, fmt: str) -> tuple[list, str]:
    from fabric_inspect.datasets.loader import load_dataset, read_image

    dataset = load_dataset(data, fmt)
    free = [s for s in dataset.samples if s.label == "good"]
    if not free:
        raise InputError(f"{data} has no defect-free images to calibrate on")
    return [read_image(s) for s in free], f"{len(free)} defect-free images of {data}"


def _calibrate_roll(
    out: Path,
    model: Path | None,
    videos: list[Path],
    synthetic: SyntheticRolls | None,
    speed: float | None,
    px_per_mm: float | None,
    confirm: str,
    target_per_10m: float,
    roi: str | None = None,
) -> None:
    import tempfile

    from fabric_inspect.cli.run import parse_confirm, parse_roi
    from fabric_inspect.inspect.motion import MotionConfig
    from fabric_inspect.inspect.pipeline import PipelineConfig
    from fabric_inspect.inspect.preprocess import PreprocessConfig, frame_geometry
    from fabric_inspect.inspect.tracker import TrackerConfig
    from fabric_inspect.models.runtime import load_model
    from fabric_inspect.training.roll_calibrate import calibrate_roll

    if bool(videos) == (synthetic is not None):
        raise ConfigError("--roll needs exactly one of --video FILE (repeatable) or --synthetic")
    for path in videos:
        if not path.is_file():
            raise InputError(f"--video {path}: no such file")
    if synthetic is None and px_per_mm is None:
        raise ConfigError("--roll --video needs --px-per-mm: false reports are counted per metre of fabric")
    if target_per_10m < 0:
        raise ConfigError(f"--target-per-10m must be >= 0, got {target_per_10m}")
    k, n = parse_confirm(confirm)
    region = parse_roi(roi)  # a malformed --roi is refused before any roll is rendered
    if synthetic is not None:
        frame_geometry(PreprocessConfig(roi=region), synthetic.width, synthetic.height)
    onnx_model = load_model(model)
    with tempfile.TemporaryDirectory(prefix="fabric-roll-") as tmp:
        if synthetic is not None:
            # the motion is measured, as from a camera: the rolls' speed is not given as a hint
            videos = synthetic.write(Path(tmp), grey=onnx_model.info.channels == 1)
            described, ppm, speed_hint = synthetic.describe(), synthetic.px_per_mm, None
        else:
            described, speed_hint = ", ".join(str(v) for v in videos), speed
            ppm = float(px_per_mm)  # type: ignore[arg-type]  (checked above: given with --video)
        config = PipelineConfig(
            preprocess=PreprocessConfig(roi=region),  # as it will run: the looks per point decide the reports
            motion=MotionConfig(speed_m_per_min=speed_hint, px_per_mm=ppm),
            tracker=TrackerConfig(k=k, n=n, px_per_mm=ppm),
        )
        typer.echo(f"searching the video threshold on {described} (one pipeline run per trial):")
        result = calibrate_roll(onnx_model, videos, config, out, target_per_10m, described, _echo_trial)
    chosen = result.chosen
    verdict = "" if result.reached else f"; the target of {target_per_10m} per 10 m was NOT reached"
    typer.echo(
        f"{out}: video threshold {result.threshold:.4f} (image threshold {result.image_threshold:.4f}) on "
        f"{chosen.metres:.1f} m of defect-free fabric ({described}), confirm {k}/{n}"
        f"{'' if roi is None else ', --roi ' + roi}: "
        f"{chosen.per_10m:.2f} false reports per 10 m{verdict}"
    )


def _echo_trial(trial: RollTrial) -> None:
    typer.echo(
        f"  threshold {trial.threshold:.4f}: {trial.reports} reports on {trial.metres:.1f} m "
        f"({trial.per_10m:.2f} per 10 m)"
    )


@dataclass(frozen=True, slots=True)
class SyntheticRolls:
    """`calibrate --roll --synthetic`: defect-free synthetic rolls, the metres spread over `rolls`
    fabrics (seeds `seed`, `seed + 1`, ...), filmed as the camera would."""

    height: int
    width: int
    metres: float
    rolls: int
    fps: float
    speed_m_per_min: float
    px_per_mm: float
    seed: int

    def __post_init__(self) -> None:
        if not 1.0 <= self.metres <= 1000.0:
            raise ConfigError(f"--metres must be in 1..1000, got {self.metres}")
        if self.speed_m_per_min <= 0:
            raise ConfigError(f"--speed must be > 0 m/min for a synthetic roll, got {self.speed_m_per_min}")
        if not 1 <= self.rolls <= 100:
            raise ConfigError(f"--rolls must be in 1..100, got {self.rolls}")

    @classmethod
    def from_options(
        cls,
        size: tuple[int, int],
        metres: float,
        rolls: int,
        fps: float,
        speed: float | None,
        px_per_mm: float | None,
        seed: int,
    ) -> SyntheticRolls:
        """From the command line's values; speed 20 m/min and 4 px/mm unless given."""
        speed = 20.0 if speed is None else speed
        ppm = 4.0 if px_per_mm is None else px_per_mm
        return cls(size[0], size[1], metres, rolls, fps, speed, ppm, seed)

    def write(self, folder: Path, grey: bool) -> list[Path]:
        """Render every roll into `folder`; the video paths."""
        from fabric_inspect.datasets.roll import RollConfig, write_roll_video

        videos = []
        for i in range(self.rolls):
            config = RollConfig(
                seconds=self.metres / self.rolls / self.speed_m_per_min * 60.0,
                fps=self.fps,
                width=self.width,
                height=self.height,
                speed_m_per_min=self.speed_m_per_min,
                px_per_mm=self.px_per_mm,
                seed=self.seed + i,
                defects_per_m=0.0,
                grey=grey,
            )
            videos.append(folder / f"defect-free-{i}.mp4")
            write_roll_video(config, videos[-1])
        return videos

    def describe(self) -> str:
        last = self.seed + self.rolls - 1
        seeds = f"seed {self.seed}" if self.rolls == 1 else f"seeds {self.seed}..{last}"
        return (
            f"{self.rolls} synthetic defect-free roll(s), {self.width}x{self.height} at {self.fps:g} fps, "
            f"{self.speed_m_per_min:g} m/min, {self.px_per_mm:g} px/mm, {seeds}"
        )
