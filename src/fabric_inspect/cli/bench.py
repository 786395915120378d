"""`fabric-inspect bench`: latency, fps, dropped frames, CPU and memory of the pipeline per frame size."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import typer

from fabric_inspect.cli._common import handles_errors, path_value
from fabric_inspect.errors import ConfigError

INPUT = typer.Option(
    None, "--input", "-i", parser=path_value, help="Recorded video to replay (its first --frames frames)."
)
JSON_OUT = typer.Option(None, "--json", parser=path_value, help="Write the results here as JSON.")
PLOT_OUT = typer.Option(None, "--plot", parser=path_value, help="Write a PNG chart of fps and latency here.")
SIZES = typer.Option("640x480,1280x720,1920x1080", "--sizes", help="Frame sizes WxH, comma separated.")
MODEL = typer.Option(
    None, "--model", "-m", parser=path_value, help="ONNX model (default: the shipped model)."
)
PEERS = typer.Option(
    None, "--peers", parser=path_value, help="Also run the peer models built by `make peers` in this folder "
    "(benchmarks/peers/models) on the same frames, and report our fps over theirs.",
)  # fmt: skip


def register(app: typer.Typer) -> None:
    app.command(
        help="Benchmark the real pipeline on the same frames at each size, camera-paced (live: frames "
        "arrive at --fps, a busy pipeline drops them) and as fast as possible (offline)."
    )(bench)


@handles_errors
def bench(
    input: Path | None = INPUT,
    synthetic: bool = typer.Option(False, "--synthetic", help="Render a synthetic roll instead of --input."),
    sizes: str = typer.Option(
        "640x480,1280x720,1920x1080", "--sizes", help="Frame sizes WxH, comma separated."
    ),
    frames: int = typer.Option(150, "--frames", help="Frames per run."),
    fps: float = typer.Option(30.0, "--fps", help="Camera rate of the live mode (and of a synthetic clip)."),
    modes: str = typer.Option("live,offline", "--modes", help="live, offline or both (comma separated)."),
    model: Path | None = MODEL,
    threads: int = typer.Option(0, "--threads", help="onnxruntime threads (0 = all cores)."),
    buffer: int | None = typer.Option(
        None,
        "--buffer",
        help="Live mode: frames that may wait for the pipeline, as `live --buffer` (default 2).",
    ),
    seconds: float = typer.Option(
        0.0,
        "--seconds",
        help="Live mode: camera time per run; a shorter clip is replayed again from its start "
        "(0 = the clip once). A drop every few hundred frames only shows in a run of 30 s or more.",
    ),
    camera_codec: str = typer.Option(
        "raw",
        "--camera-codec",
        help="Live mode: raw (an uncompressed camera) or mjpg (a USB camera's JPEG frames, decoded "
        "by the capture thread as `live` does; the decoding's CPU is then in the figures).",
    ),
    jpeg_quality: int = typer.Option(
        0,
        "--jpeg-quality",
        help="With --camera-codec mjpg: the JPEG quality the camera sends (1-100; 0 = the highest, up "
        "to 95, whose stream fits a USB 2.0 camera's 24.6 MB/s at --fps).",
    ),
    roi: str | None = typer.Option(
        None,
        "--roi",
        help="Fabric region x0,y0,x1,y1 in frame pixels that every run inspects, as `live --roi` "
        "(default: whole frame); it must lie inside every --sizes frame.",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the synthetic roll."),
    json_out: Path | None = JSON_OUT,
    plot_out: Path | None = PLOT_OUT,
    peers: Path | None = PEERS,
) -> None:
    from fabric_inspect.bench import side_by_side as peer_bench
    from fabric_inspect.bench.clips import make_clips, parse_sizes
    from fabric_inspect.bench.measure import BenchConfig, run_bench
    from fabric_inspect.bench.peers import require_peers
    from fabric_inspect.bench.plot import plot_results
    from fabric_inspect.cli.run import parse_roi
    from fabric_inspect.models.runtime import RuntimeConfig, load_model

    if synthetic == (input is not None):
        raise ConfigError("give exactly one of --input VIDEO or --synthetic")
    if roi is not None and peers is not None:
        raise ConfigError("--roi cannot be given with --peers: the peers inspect whole frames")
    for option, path in (("--json", json_out), ("--plot", plot_out)):
        if path is not None and path.is_dir():  # found now, not after minutes of benchmarking
            raise ConfigError(f"{option} {path} is a folder; give a file name")
    config = BenchConfig(
        sizes=parse_sizes(sizes),
        frames=frames,
        fps=fps,
        modes=tuple(m.strip() for m in modes.split(",") if m.strip()),
        threads=threads,
        seconds=seconds,
        camera_codec=camera_codec,
        jpeg_quality=jpeg_quality,
        roi=parse_roi(roi),
        **({} if buffer is None else {"buffer": buffer}),
    )
    loaded = load_model(model, RuntimeConfig(threads=threads))
    peer_models = require_peers(peers) if peers is not None else []
    with tempfile.TemporaryDirectory(prefix="fabric-inspect-bench-") as scratch:
        typer.echo(f"preparing {frames} frames at {len(config.sizes)} sizes", err=True)
        clips = make_clips(
            config.sizes,
            Path(scratch),
            frames,
            input,
            fps=fps,
            seed=seed,
            jpeg_quality=jpeg_quality if camera_codec == "mjpg" else None,
            camera_fps=fps,
        )
        result = run_bench(
            loaded, clips, config, progress=lambda what: typer.echo(f"running {what}", err=True)
        )
        peer_bench.add_peer_runs(result, peer_models, clips, config, loaded, _say)
    ours = [r for r in result["runs"] if not peer_bench.is_peer_run(r)]
    if config.roi is not None:
        typer.echo("fabric region (--roi) {},{},{},{} of each frame".format(*config.roi))
    for line in format_runs(ours) + peer_bench.format_side_by_side(result):
        typer.echo(line)
    if json_out is not None:
        _write_json(json_out, result)
        typer.echo(f"results: {json_out}")
    if plot_out is not None:
        plot_results({**result, "runs": ours}, plot_out)
        typer.echo(f"plot: {plot_out}")


def _say(what: str) -> None:
    typer.echo(f"running {what}", err=True)


def format_runs(runs: list[dict]) -> list[str]:
    """A table for the terminal: one line per size and mode."""
    lines = [f"{'size':>10} {'mode':>8} {'fps':>7} {'dropped':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
             f"{'cpu %':>6} {'rss MB':>7}"]  # fmt: skip
    for r in runs:
        lat = r["latency_ms"]
        mode = "live/mjpg" if r.get("camera_codec") == "mjpg" else r["mode"]
        lines.append(
            f"{r['size']:>10} {mode:>8} {r['fps']:>7.1f} {r['dropped_frames']:>8} {lat['p50']:>8.1f} "
            f"{lat['p95']:>8.1f} {lat['p99']:>8.1f} {r['cpu_percent']:>6.0f} {r['peak_rss_mb']:>7.0f}"
        )
    return lines


def _write_json(path: Path, result: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"--json {path} cannot be written ({err.strerror}); choose another path") from None
