"""A PNG of the benchmark drawn with OpenCV (base install, no matplotlib): fps, latency, the time
per stage and the latency histogram, per size and mode."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from fabric_inspect.errors import ConfigError

COLOURS = {"live": (178, 114, 0), "offline": (0, 94, 213)}  # BGR: blue, vermillion
INK, MUTED, GRID = (40, 35, 29), (112, 102, 91), (232, 228, 224)
FONT_SCALE = 0.45
# per-stage bars (BGR), in pipeline order; "wait" (idle or queued) is left out: it is not work
STAGE_COLOURS = {
    "preprocess": (180, 180, 180),
    "inference": (115, 158, 0),
    "postprocess": (66, 228, 240),
    "motion": (167, 121, 204),
    "tracker": (233, 180, 86),
    "sinks": (0, 0, 0),
}
P50_TARGET_MS = 15.0  # issue #5's latency target; the other histogram marker is one camera frame
TARGET_COLOUR, FRAME_COLOUR = (150, 60, 150), (60, 160, 60)  # BGR: purple, green (the camera's rate)
SIZE = (1300, 1160)  # height, width of the PNG


def plot_results(result: dict, out: Path) -> None:
    """Four panels: frames per second (with the camera rate), latency p50/p95, time per stage and the
    latency histogram, per size and mode."""
    import cv2

    runs = result["runs"]
    sizes = list(dict.fromkeys(r["size"] for r in runs))
    modes = list(dict.fromkeys(r["mode"] for r in runs))
    canvas = np.full((*SIZE, 3), 255, np.uint8)
    cpu = result.get("machine", {}).get("cpu", "")
    title = f"fabric-inspect bench: {runs[0]['model'] if runs else ''} on {cpu}"
    cv2.putText(canvas, title[:110], (20, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.55, INK, 1, cv2.LINE_AA)
    fps = {(r["size"], r["mode"]): [r["fps"]] for r in runs}
    camera = next((r["camera_fps"] for r in runs if r.get("camera_fps")), None)
    fps_label = "frames per second" + (f" (dashed: the camera's {camera:g} fps)" if camera else "")
    _panel(canvas, (20, 50, 560, 450), fps_label, sizes, modes, fps, camera)
    latency = {(r["size"], r["mode"]): [r["latency_ms"]["p50"], r["latency_ms"]["p95"]] for r in runs}
    _panel(canvas, (590, 50, 1140, 450), "latency ms (bar p50, tick p95)", sizes, modes, latency, None)
    _legend(canvas, modes, (640, 28))
    _stages(canvas, (20, 490, 1140, 880), runs)
    _histograms(canvas, (20, 910, 1140, 1290), runs, 1000.0 / (camera or 30.0))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        written = cv2.imwrite(str(out), canvas)
    except (OSError, cv2.error):
        written = False
    if not written:
        raise ConfigError(f"--plot {out} cannot be written; give a .png path in a writable folder")


def _panel(canvas, box, label, sizes, modes, values, reference) -> None:
    import cv2

    x0, y0, x1, y1 = box
    left, bottom = x0 + 50, y1 - 40
    top = y0 + 30
    cv2.putText(canvas, label, (x0, y0 + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.5, INK, 1, cv2.LINE_AA)
    peak = max([v for vs in values.values() for v in vs] + [reference or 0.0, 1e-9])
    y_max, step = _axis(peak)
    scale = (bottom - top) / y_max
    for k in range(round(y_max / step) + 1):
        y = round(bottom - k * step * scale)
        cv2.line(canvas, (left, y), (x1, y), GRID, 1)
        text = f"{k * step:g}"
        cv2.putText(
            canvas, text, (x0 + 2, y + 4), cv2.FONT_HERSHEY_SIMPLEX, FONT_SCALE, MUTED, 1, cv2.LINE_AA
        )
    group = (x1 - left) / max(len(sizes), 1)
    bar = min(60.0, group * 0.8 / max(len(modes), 1))
    for i, size in enumerate(sizes):
        centre = left + group * (i + 0.5)
        for j, mode in enumerate(modes):
            found = values.get((size, mode))
            if not found:
                continue
            bx = round(centre - bar * len(modes) / 2 + j * bar)
            top_y = round(bottom - found[0] * scale)
            cv2.rectangle(
                canvas, (bx + 2, top_y), (round(bx + bar) - 2, bottom), COLOURS.get(mode, MUTED), -1
            )
            if len(found) > 1:  # p95 tick
                ty = round(bottom - found[1] * scale)
                cv2.line(canvas, (bx + 2, ty), (round(bx + bar) - 2, ty), INK, 2)
                cv2.line(canvas, (round(bx + bar / 2), top_y), (round(bx + bar / 2), ty), INK, 1)
            label_y = min([top_y] + [round(bottom - v * scale) for v in found[1:]]) - 6  # above the p95 tick
            cv2.putText(canvas, f"{found[0]:.0f}", (bx + 4, label_y), cv2.FONT_HERSHEY_SIMPLEX, 0.4, INK, 1,
                        cv2.LINE_AA)  # fmt: skip
        (tw, _), _ = cv2.getTextSize(size, cv2.FONT_HERSHEY_SIMPLEX, FONT_SCALE, 1)
        cv2.putText(canvas, size, (round(centre - tw / 2), bottom + 20), cv2.FONT_HERSHEY_SIMPLEX, FONT_SCALE,
                    INK, 1, cv2.LINE_AA)  # fmt: skip
    cv2.line(canvas, (left, bottom), (x1, bottom), MUTED, 1)
    if reference:
        y = round(bottom - reference * scale)
        for x in range(left, x1, 12):
            cv2.line(canvas, (x, y), (min(x + 6, x1), y), (60, 160, 60), 2)


def _stages(canvas, box, runs: list[dict]) -> None:
    """Stacked bars: mean ms per stage for each size and mode (where the time per frame goes)."""
    import cv2

    x0, y0, x1, y1 = box
    left, bottom, top = x0 + 50, y1 - 40, y0 + 30
    label = "time per frame by stage, ms (mean; waiting for frames left out)"
    cv2.putText(canvas, label, (x0, y0 + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.5, INK, 1, cv2.LINE_AA)
    stacks = [
        (
            f"{r['size']} {r['mode']}",
            [(k, float(r.get("stages_ms", {}).get(k, {}).get("mean", 0.0))) for k in STAGE_COLOURS],
        )
        for r in runs
    ]
    peak = max([sum(v for _, v in stack) for _, stack in stacks] + [1e-9])
    y_max, step = _axis(peak)
    scale = (bottom - top) / y_max
    for k in range(round(y_max / step) + 1):
        y = round(bottom - k * step * scale)
        cv2.line(canvas, (left, y), (x1 - 200, y), GRID, 1)
        cv2.putText(canvas, f"{k * step:g}", (x0 + 2, y + 4), cv2.FONT_HERSHEY_SIMPLEX, FONT_SCALE, MUTED, 1,
                    cv2.LINE_AA)  # fmt: skip
    group = (x1 - 200 - left) / max(len(stacks), 1)
    for i, (name, stack) in enumerate(stacks):
        bx0, bx1 = round(left + group * i + group * 0.15), round(left + group * (i + 0.85))
        y = float(bottom)
        for stage, value in stack:
            y_top = y - value * scale
            cv2.rectangle(canvas, (bx0, round(y_top)), (bx1, round(y)), STAGE_COLOURS[stage], -1)
            y = y_top
        cv2.putText(canvas, f"{sum(v for _, v in stack):.1f}", (bx0, round(y) - 6), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4, INK, 1, cv2.LINE_AA)  # fmt: skip
        for row, part in enumerate(name.split(" ")):
            cv2.putText(canvas, part, (bx0, bottom + 16 + 14 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.38, INK, 1,
                        cv2.LINE_AA)  # fmt: skip
    cv2.line(canvas, (left, bottom), (x1 - 200, bottom), MUTED, 1)
    for row, (stage, colour) in enumerate(STAGE_COLOURS.items()):
        ly = top + 10 + 20 * row
        cv2.rectangle(canvas, (x1 - 180, ly - 10), (x1 - 168, ly + 2), colour, -1)
        cv2.putText(canvas, stage, (x1 - 162, ly), cv2.FONT_HERSHEY_SIMPLEX, FONT_SCALE, INK, 1, cv2.LINE_AA)


def _histograms(canvas, box, runs: list[dict], frame_ms: float) -> None:
    """Latency histogram of each size (one small panel each, a step line per mode, log counts), with
    markers at the p50 target and one frame period. Results without histograms say so."""
    import cv2

    x0, y0, x1, y1 = box
    label = (f"latency histogram, frames per bin (log); dashed: {P50_TARGET_MS:g} ms p50 target, "
             f"{frame_ms:.0f} ms = one frame at {1000 / frame_ms:g} fps")  # fmt: skip
    cv2.putText(canvas, label, (x0, y0 + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.5, INK, 1, cv2.LINE_AA)
    model = runs[0]["model"] if runs else None
    runs = [r for r in runs if r.get("model") == model and r.get("latency_hist_ms", {}).get("bin_ms")]
    if not runs:
        text = "no histogram: these results have no latency_hist_ms (made by an older bench; rerun it)"
        cv2.putText(canvas, text, (x0 + 50, (y0 + y1) // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5, MUTED, 1,
                    cv2.LINE_AA)  # fmt: skip
        return
    sizes = list(dict.fromkeys(r["size"] for r in runs))
    width = (x1 - x0 - 50) / len(sizes)
    panels = []
    for i, size in enumerate(sizes):
        inner = (round(x0 + 50 + i * width), y0 + 74, round(x0 + 50 + (i + 1) * width) - 24, y1 - 30)
        hists = [(r["mode"], r["latency_hist_ms"]) for r in runs if r["size"] == size]
        x_max = _latency_range([h for _, h in hists], frame_ms)
        step = _display_bin(hists[0][1]["bin_ms"], x_max / (inner[2] - inner[0]))
        panels.append((size, inner, x_max, step, [(m, h, _rebin(h, step, x_max)) for m, h in hists]))
    peak = max([c for *_, series in panels for _, _, counts in series for c in counts] + [1])
    decades = max(1, math.ceil(math.log10(peak) - 1e-9))
    for count in [0] + [10**k for k in range(decades + 1)]:
        y = _log_y(count, decades, panels[0][1])
        cv2.putText(canvas, f"{count:g}", (x0 + 2, y + 4), cv2.FONT_HERSHEY_SIMPLEX, FONT_SCALE, MUTED, 1,
                    cv2.LINE_AA)  # fmt: skip
    for size, inner, x_max, step, series in panels:
        _histogram(canvas, inner, size, x_max, step, series, decades, frame_ms)


def _histogram(canvas, box, size, x_max, step, series, decades, frame_ms) -> None:
    """One size: grid, one step line per mode, the two markers, and the counts past the last bin."""
    import cv2

    left, top, right, bottom = box

    def put(text: str, xy: tuple[int, int], colour=INK, scale: float = FONT_SCALE) -> None:
        cv2.putText(canvas, text, xy, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)

    def x_of(ms: float) -> int:
        return round(left + (right - left) * min(ms, x_max) / x_max)

    put(f"{size} ({step:g} ms bins)", (left, top - 38))
    over = [f"{mode} {h['overflow']}" for mode, h, _ in series if h["overflow"]]
    if over:
        put(f"over {series[0][1]['max_ms']:g} ms: {', '.join(over)}", (left, top - 20), MUTED, 0.4)
    for k in range(decades + 1):
        y = _log_y(10**k, decades, box)
        cv2.line(canvas, (left, y), (right, y), GRID, 1)
    _, tick = _axis(x_max)
    for k in range(round(x_max / tick) + 1):
        (tw, _), _ = cv2.getTextSize(f"{k * tick:g}", cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
        put(f"{k * tick:g}", (x_of(k * tick) - tw // 2, bottom + 16), MUTED, 0.4)
    put("ms", (right - 14, bottom + 28), MUTED, 0.4)
    for ms, colour in ((P50_TARGET_MS, TARGET_COLOUR), (frame_ms, FRAME_COLOUR)):
        if ms < x_max:
            for y in range(top, bottom, 10):
                cv2.line(canvas, (x_of(ms), y), (x_of(ms), min(y + 5, bottom)), colour, 2)
            put(f"{ms:.0f}", (x_of(ms) - 7, top - 4), colour, 0.4)
    for mode, _, counts in series:
        nonzero = [j for j, c in enumerate(counts) if c]
        if not nonzero:
            continue
        points = [(x_of(nonzero[0] * step), bottom)]
        for j in range(nonzero[0], nonzero[-1] + 1):
            y = _log_y(counts[j], decades, box)
            points += [(x_of(j * step), y), (x_of((j + 1) * step), y)]
        points.append((x_of((nonzero[-1] + 1) * step), bottom))
        cv2.polylines(canvas, [np.array(points, np.int32)], False, COLOURS.get(mode, MUTED), 2, cv2.LINE_AA)
    cv2.line(canvas, (left, bottom), (right, bottom), MUTED, 1)


def _latency_range(hists: list[dict], frame_ms: float) -> float:
    """The histogram's x-axis end: past the last non-empty bin and both markers, at most max_ms."""
    last = max(len(h["counts"]) * h["bin_ms"] for h in hists)
    end, _ = _axis(max(last, frame_ms * 1.2, P50_TARGET_MS * 1.2))
    return min(end, max(h["max_ms"] for h in hists))


def _display_bin(bin_ms: float, ms_per_px: float) -> float:
    """The stored bin widened (x1, 2, 5, 10 ...) until a bin is at least 5 px wide."""
    for mult in (1, 2, 5, 10, 20, 50, 100):
        if bin_ms * mult >= 5 * ms_per_px:
            return bin_ms * mult
    return bin_ms * 100


def _rebin(hist: dict, step: float, x_max: float) -> list[int]:
    """The stored counts summed into bins of `step` ms (a multiple of the stored bin) up to x_max."""
    k = max(1, round(step / hist["bin_ms"]))
    counts = hist["counts"][: round(x_max / hist["bin_ms"])]
    return [sum(counts[j : j + k]) for j in range(0, len(counts), k)]


def _log_y(count: float, decades: int, box) -> int:
    """Pixel row of a count on a log axis from 0.5 (the bottom, where 0 lies too) to 10**decades."""
    _, top, _, bottom = box
    if count <= 0:
        return bottom
    low = math.log10(0.5)
    return round(bottom - (math.log10(count) - low) / (decades - low) * (bottom - top))


def _legend(canvas, modes, origin) -> None:
    import cv2

    x, y = origin
    names = {"live": "live (camera-paced)", "offline": "offline (as fast as possible)"}
    for mode in modes:
        cv2.rectangle(canvas, (x, y - 10), (x + 12, y + 2), COLOURS.get(mode, MUTED), -1)
        cv2.putText(canvas, names.get(mode, mode), (x + 18, y), cv2.FONT_HERSHEY_SIMPLEX, FONT_SCALE, INK, 1,
                    cv2.LINE_AA)  # fmt: skip
        (width, _), _ = cv2.getTextSize(names.get(mode, mode), cv2.FONT_HERSHEY_SIMPLEX, FONT_SCALE, 1)
        x += 36 + width


def _axis(peak: float) -> tuple[float, float]:
    """A round axis maximum >= peak and its step (1, 2, 2.5 or 5 x 10^k, at most 6 steps)."""
    magnitude = 10 ** math.floor(math.log10(peak)) / 10
    for mult in (1, 2, 2.5, 5, 10, 20, 25, 50):
        step = mult * magnitude
        parts = math.ceil(peak / step - 1e-9)
        if parts <= 6:
            return parts * step, step
    return peak, peak
