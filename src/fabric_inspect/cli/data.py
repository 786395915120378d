"""`fabric-inspect data ...`: look at labeled datasets (check: summary and every problem found), split
them into folds for cross-validation (split: train/ and val/ folders of links), and review and correct
a labeled folder's masks in a browser (label)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fabric_inspect.cli._common import handles_errors, path_value, stderr_bar
from fabric_inspect.errors import InputError

FORMAT_HELP = "Dataset layout: auto|labeled|folders|mvtec|aitex (auto tells them apart by folder names)."


def register(app: typer.Typer) -> None:
    data_app = typer.Typer(
        help="Check labeled datasets (own format, image folders, MVTec AD, AITEX); split them into folds."
    )
    data_app.command(
        "check",
        help="Decode every image and mask of a dataset; print a summary and every problem found. "
        "Exit code 2 if there is any problem.",
    )(check)
    data_app.command(
        "split",
        help="Write fold F of a K-fold split: OUT/train (the other folds) and OUT/val (fold F), in the "
        "dataset's own layout, every file a link to the original. Run it for F = 0..K-1, train on each "
        "train/ and evaluate on its val/: K held-out scores that together cover every image once.",
    )(split)
    data_app.command(
        "label",
        help="Review and correct a labeled folder's masks, such as run --label-set's drafts, in a browser "
        "page served on 127.0.0.1 until Ctrl-C.",
    )(label)
    app.add_typer(data_app, name="data")


@handles_errors
def check(
    path: Annotated[Path, typer.Argument(parser=path_value, help="Dataset folder.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)] = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print problems only.")] = False,
) -> None:
    from fabric_inspect.datasets.check import check_dataset, summary_lines

    with stderr_bar("checking", disable=quiet) as update:
        report = check_dataset(path, fmt, progress=update)
    if not quiet:
        for line in summary_lines(report):
            typer.echo(line)
        if report.notes:
            typer.echo(f"notes ({len(report.notes)}, handled):")
            for note in report.notes:
                typer.echo(f"  {note}")
    if report.ok:
        typer.echo("problems  none")
        return
    typer.echo(f"problems ({len(report.problems)}):")
    for problem in report.problems:
        typer.echo(f"  {problem}")
    count = len(report.problems)
    what = "1 problem" if count == 1 else f"{count} problems"
    raise InputError(f"dataset {path} has {what} (listed above); fix them and re-run")


@handles_errors
def split(
    path: Annotated[Path, typer.Argument(parser=path_value, help="Dataset folder.")],
    out: Annotated[
        Path, typer.Option("--out", parser=path_value, help="New folder for train/, val/ and split.json.")
    ],
    folds: Annotated[int, typer.Option("--folds", help="Parts the images are dealt into (K).")] = 3,
    fold: Annotated[int, typer.Option("--fold", help="The part held out as val/ (0..K-1).")] = 0,
    by: Annotated[
        str,
        typer.Option(
            "--by",
            help="auto|image|image_within_fabric|group: images stratified by class (within each fabric "
            "for AITEX), or whole rolls; auto picks as `train --split auto` does.",
        ),
    ] = "auto",
    seed: Annotated[int, typer.Option("--seed", help="Shuffles the deal; keep it for all K folds.")] = 0,
    fmt: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)] = "auto",
) -> None:
    from fabric_inspect.datasets.folds import write_fold
    from fabric_inspect.datasets.loader import load_dataset

    if not path.is_dir():
        raise InputError(f"dataset {path} is not a folder; give a dataset folder")
    dataset = load_dataset(path, fmt)
    record = write_fold(dataset, out, folds, fold, seed, by)
    labels = {s.stem: s.is_defective for s in dataset.samples}
    for part in ("train", "val"):
        stems = record[part]
        defective = sum(labels[stem] for stem in stems)
        typer.echo(f"{part:5s} {len(stems):5d} images ({defective} defective)  {out / part}")
    typer.echo(f"fold {fold} of {folds}, by {record['by']}, seed {seed}: {out / 'split.json'}")


@handles_errors
def label(
    path: Annotated[
        Path, typer.Argument(parser=path_value, help="Labeled folder: classes.txt, images/, masks/.")
    ],
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0: any free one).")] = 8765,
) -> None:
    from fabric_inspect.datasets.labeling import LabelFolder, make_server

    if not path.is_dir():
        raise InputError(f"{path} is not a folder; give a labeled folder (e.g. one run --label-set wrote)")
    folder = LabelFolder.open(path)
    server = make_server(folder, port)
    host, bound = server.server_address[:2]
    done = len(folder.reviewed() & set(folder.images))
    typer.echo(f"{len(folder.images)} images in {path} ({done} checked), classes {', '.join(folder.classes)}")
    typer.echo(f"open http://{host}:{bound}/ in a browser on this PC; Ctrl-C stops")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        server.server_close()
