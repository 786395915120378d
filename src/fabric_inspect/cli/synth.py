"""`fabric-inspect synth`: synthetic woven fabric images, roll videos with ground truth, contact sheet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fabric_inspect.cli._common import handles_errors, path_value


def register(app: typer.Typer) -> None:
    """Add the `synth` command group (images, video, sheet) to the app."""
    synth_app = typer.Typer(
        help="Make synthetic woven fabric: labeled images, roll videos with ground truth, a contact sheet.",
        no_args_is_help=True,
    )
    synth_app.command(
        "images", help="Write a labeled dataset (classes.txt, images/, masks/, annotations.json)."
    )(images)
    synth_app.command(
        "video", help="Render a fabric roll moving past the camera, with roll.json ground truth beside it."
    )(video)
    synth_app.command(
        "sheet", help="Write a contact sheet PNG: every defect class at every visibility (or --roll frames)."
    )(sheet)
    app.add_typer(synth_app, name="synth")


Seed = Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same output.")]
Grey = Annotated[bool, typer.Option("--grey", help="Single-channel greyscale output.")]


@handles_errors
def images(
    out: Annotated[Path, typer.Option("--out", parser=path_value, help="Folder to write the dataset into.")],
    count: Annotated[int, typer.Option("--count", help="Number of images.")] = 100,
    size: Annotated[int, typer.Option("--size", help="Image side in pixels (32..8192).")] = 512,
    seed: Seed = 0,
    defect_rate: Annotated[
        float, typer.Option("--defect-rate", help="Share of images with a defect (0..1).")
    ] = 0.5,
    grey: Grey = False,
    defect_class: Annotated[
        str | None, typer.Option("--class", help="Put one defect of this class in every image.")
    ] = None,
    visibility: Annotated[
        str | None, typer.Option("--visibility", help="low|medium|high: every image gets such a defect.")
    ] = None,
    placement: Annotated[
        str,
        typer.Option(
            "--placement",
            help="central: defects in the middle half (every test set); anywhere: up to the image's edge.",
        ),
    ] = "central",
) -> None:
    from fabric_inspect.datasets.synthetic import write_dataset

    write_dataset(
        out,
        count,
        size,
        seed,
        defect_rate=defect_rate,
        grey=grey,
        progress=True,
        defect_class=defect_class,
        visibility=visibility,
        placement=placement,
    )
    typer.echo(f"wrote {count} images to {out}")


@handles_errors
def video(
    out: Annotated[
        Path, typer.Option("--out", parser=path_value, help="Video to write: .mp4 (mp4v) or .avi (MJPG).")
    ],
    seconds: Annotated[float, typer.Option("--seconds", help="Length of the video.")] = 60.0,
    fps: Annotated[float, typer.Option("--fps", help="Frames per second.")] = 30.0,
    width: Annotated[int, typer.Option("--width", help="Frame width in pixels.")] = 1280,
    height: Annotated[int, typer.Option("--height", help="Frame height in pixels.")] = 720,
    speed: Annotated[float, typer.Option("--speed", help="Fabric speed in metres per minute.")] = 20.0,
    px_per_mm: Annotated[float, typer.Option("--px-per-mm", help="Pixels per mm on the fabric.")] = 4.0,
    seed: Seed = 0,
    defects_per_m: Annotated[
        float, typer.Option("--defects-per-m", help="Defects per metre of fabric; 0 = defect-free roll.")
    ] = 1.5,
    grey: Grey = False,
    motion_blur: Annotated[
        bool, typer.Option("--motion-blur", help="Blur along the motion (exposure 1/10 of a frame).")
    ] = False,
    flicker: Annotated[bool, typer.Option("--flicker", help="Light flicker from frame to frame.")] = False,
) -> None:
    from fabric_inspect.datasets.roll import RollConfig, write_roll_video

    config = RollConfig(
        seconds=seconds,
        fps=fps,
        width=width,
        height=height,
        speed_m_per_min=speed,
        px_per_mm=px_per_mm,
        seed=seed,
        defects_per_m=defects_per_m,
        grey=grey,
        motion_blur=motion_blur,
        flicker=flicker,
    )
    truth = write_roll_video(config, out, progress=True)
    typer.echo(
        f"wrote {out} ({truth['frames']} frames, {len(truth['defects'])} defects) "
        f"and {out.with_suffix('.json')}"
    )


@handles_errors
def sheet(
    out: Annotated[Path, typer.Option("--out", parser=path_value, help="PNG file to write.")],
    seed: Seed = 0,
    tile: Annotated[int, typer.Option("--tile", help="Tile side in pixels (64..1024).")] = 192,
    roll: Annotated[
        bool, typer.Option("--roll", help="Instead: frames of a short roll video with truth boxes.")
    ] = False,
) -> None:
    from fabric_inspect.datasets.sheet import contact_sheet, roll_sheet

    if roll:
        roll_sheet(out, seed)
    else:
        contact_sheet(out, seed, tile=tile)
    typer.echo(f"wrote {out}")
