"""The one-command demo: a synthetic roll, inspected by the shipped model, graded in a roll report.

Every step is the product's own code path (the same as `synth video`, `run` and `report`), so what a
newcomer sees is what a mill gets. Base install only: no torch.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from fabric_inspect.datasets.roll import RollConfig
from fabric_inspect.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DemoConfig:
    """The demo roll (1280x720 at 30 fps, 20 m/min, 4 px/mm unless told) and where its outputs go."""

    out: Path
    roll: RollConfig = field(default_factory=lambda: RollConfig(seconds=20.0, seed=7))
    roll_id: str = "DEMO-001"
    article: str = "synthetic woven fabric (fabric-inspect demo)"

    def __post_init__(self) -> None:
        if not 1.0 <= self.roll.seconds <= 600.0:
            raise ConfigError(f"--seconds must be in 1..600, got {self.roll.seconds}")


@dataclass(frozen=True, slots=True)
class DemoResult:
    """Where everything went, and how the roll did."""

    roll_video: Path
    truth: Path
    annotated_video: Path
    events: Path
    database: Path
    crops: Path
    summary: Path
    report: Path
    report_line: str
    grade: str
    defects_reported: int
    frames: int
    fps: float
    roll_length_m: float
    uninspected_m: float  # fabric no inspected frame saw (0 on the demo's roll: frames overlap)
    defects_found: int  # defects of the roll that passed the camera and were reported (roll_score)
    defects_in_view: int
    duplicates: int  # extra reports of a defect already reported
    false_reports: int  # reports that match no defect of the roll


def run_demo(config: DemoConfig, progress: bool = True) -> DemoResult:
    """Render the roll, inspect it into all the sinks, and write the report."""
    from fabric_inspect.datasets.roll import write_roll_video
    from fabric_inspect.inspect.motion import MotionConfig
    from fabric_inspect.inspect.pipeline import PipelineConfig
    from fabric_inspect.inspect.pipeline import run as run_pipeline
    from fabric_inspect.inspect.roll_score import score_roll
    from fabric_inspect.inspect.sinks.bundle import SinkConfig
    from fabric_inspect.inspect.sources import SourceConfig, open_source
    from fabric_inspect.inspect.tracker import TrackerConfig
    from fabric_inspect.models.runtime import load_model
    from fabric_inspect.report.writer import ReportConfig, write_report

    out = config.out
    out.mkdir(parents=True, exist_ok=True)
    roll = config.roll
    roll_video = out / "roll.mp4"
    truth = write_roll_video(roll, roll_video, progress=progress)

    database = out / "inspect.db"
    database.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    sinks = SinkConfig(
        video=out / "annotated.mp4",
        events=out / "events.jsonl",
        db=database,
        roll=config.roll_id,
        article=config.article,
        crops=out / "crops",
        summary=out / "summary.json",
    )
    pipeline = PipelineConfig(
        motion=MotionConfig(speed_m_per_min=roll.speed_m_per_min, px_per_mm=roll.px_per_mm),
        tracker=TrackerConfig(px_per_mm=roll.px_per_mm),
    )
    model = load_model(None)
    source = open_source(SourceConfig(str(roll_video)))
    summary = run_pipeline(source, model, pipeline, sinks)
    summary.write(sinks.summary)
    events = [json.loads(line) for line in sinks.events.read_text().splitlines() if line.strip()]
    score = score_roll(events, truth)

    # The camera sees the whole cuttable width, which the run recorded with the roll.
    report = write_report(database, config.roll_id, out / "report.html", ReportConfig())
    return DemoResult(
        roll_video=roll_video,
        truth=roll_video.with_suffix(".json"),
        annotated_video=sinks.video,
        events=sinks.events,
        database=database,
        crops=sinks.crops,
        summary=sinks.summary,
        report=out / "report.html",
        report_line=report.line(),
        grade=report.grade,
        defects_reported=summary.defects,
        frames=summary.frames,
        fps=summary.fps,
        roll_length_m=summary.roll_length_m,
        uninspected_m=summary.uninspected_m,
        defects_found=score.found,
        defects_in_view=score.truths,
        duplicates=score.duplicates,
        false_reports=score.false_reports,
    )


def describe(result: DemoResult) -> list[str]:
    """What the demo prints: where each output is, and the roll's grade."""
    lines = [
        f"roll video      {result.roll_video}  (ground truth: {result.truth})",
        f"annotated video {result.annotated_video}  (mp4v; play with VLC or ffplay)",
        f"events          {result.events}  (one JSON line per defect)",
        f"database        {result.database}  (SQLite, tables rolls, defects and uninspected)",
        f"crops           {result.crops}/",
        f"summary         {result.summary}",
        f"report          {result.report}  (open in a browser; print to PDF)",
        "",
        f"inspected {result.frames} frames ({result.roll_length_m:.2f} m of roll, "
        f"{result.uninspected_m:.2f} m of it unseen) at {result.fps:.0f} fps; "
        f"reported {result.defects_reported} defects: {result.defects_found} of the "
        f"{result.defects_in_view} on the synthetic roll found, "
        f"{result.duplicates} reported twice, {result.false_reports} false",
        result.report_line,
        f"grade: {result.grade}",
    ]
    return lines
