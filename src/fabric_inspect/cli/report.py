"""`fabric-inspect report`: a roll's inspection report (4-point system) as one printable HTML file."""

from __future__ import annotations

from pathlib import Path

import typer

from fabric_inspect.cli._common import handles_errors, path_value

DB = typer.Option(
    ..., "--db", parser=path_value, help="SQLite database written by `fabric-inspect run --db`."
)
OUT = typer.Option(Path("report.html"), "--out", "-o", parser=path_value, help="HTML file to write.")


def register(app: typer.Typer) -> None:
    app.command(
        help="Grade a roll by the 4-point system (ASTM D5430) and write its inspection report: one "
        "self-contained HTML file (defect map, table with crops, points, PASS/FAIL) that prints to PDF."
    )(report)


@handles_errors
def report(
    db: Path = DB,
    roll: str | None = typer.Option(
        None, "--roll", help="Roll id to report (may be left out when the database holds one roll)."
    ),
    out: Path = OUT,
    width_mm: float | None = typer.Option(
        None, "--width-mm", help="Cuttable width in mm (default: the width recorded for the roll)."
    ),
    length_m: float | None = typer.Option(
        None, "--length-m", help="Length inspected in metres (default: the length recorded for the roll)."
    ),
    limit: float | None = typer.Option(
        None,
        "--limit",
        help="Acceptance limit in points per 100 m² (per 100 yd² with --imperial). "
        "Default: 40 per 100 yd², which is 47.8 per 100 m².",
    ),
    imperial: bool = typer.Option(
        False, "--imperial", help="Yards and inches: points per 100 yd², at most 4 points per linear yard."
    ),
    thumbnails: int = typer.Option(
        200, "--thumbnails", help="Embed the crops of at most this many defects (the rest: placeholders)."
    ),
) -> None:
    from fabric_inspect.report import PointsConfig, ReportConfig, write_report

    config = ReportConfig(
        points=PointsConfig(imperial=imperial, limit=limit, width_mm=width_mm),
        length_m=length_m,
        max_thumbnails=thumbnails,
    )
    summary = write_report(db, roll, out, config)
    typer.echo(summary.line())
    typer.echo(f"report: {summary.out_path}")
