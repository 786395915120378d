"""Synthetic woven-fabric images with weaving defects, pixel masks and per-defect records.

`render_sample(seed)` is deterministic: the same seed gives the same image, mask and records.
`write_dataset` writes the project's labeled format (docs/architecture.md).
"""

from __future__ import annotations

import json
import logging
import math
import numbers
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fabric_inspect.datasets.camera import expose, fuzz, sample_camera, skew
from fabric_inspect.datasets.classes import DEFECT_CLASSES, VISIBILITIES, class_index
from fabric_inspect.datasets.defects import DefectPlan, Loom, plan_defect
from fabric_inspect.datasets.scene import render_region
from fabric_inspect.datasets.weave import COLOURING_SHARES, FabricSpec, sample_fabric
from fabric_inspect.errors import ConfigError

log = logging.getLogger(__name__)

MIN_SIZE = 32
MAX_SIZE = 4096
# where a defect's centre may fall, as fractions of the view: (one defect, first of two, second of two)
# across and (all) along. "central" keeps defects in the middle half, well inside the image (every
# test set and figure uses it); "anywhere" lets them reach and cross the image's edge, so that a net
# trained on small images cannot learn that defects keep away from a black border (docs/model-experiments.md).
PLACEMENTS: dict[str, tuple[tuple[float, float], ...]] = {
    "central": ((0.25, 0.75), (0.15, 0.4), (0.6, 0.85), (0.25, 0.75)),
    "anywhere": ((0.0, 1.0), (0.0, 0.45), (0.55, 1.0), (0.0, 1.0)),
}


@dataclass(frozen=True, slots=True)
class DefectRecord:
    """One defect in an image: class, visibility and box (x0, y0, x1, y1), end exclusive."""

    class_name: str
    visibility: str
    bbox: tuple[int, int, int, int]

    def to_json(self) -> dict:
        return {"class": self.class_name, "visibility": self.visibility, "bbox": list(self.bbox)}


@dataclass(frozen=True, slots=True, eq=False)
class SynthSample:
    """image: uint8 HxWx3 BGR (HxW when grey); mask: uint8 HxW class index, 0 = no defect."""

    image: np.ndarray
    mask: np.ndarray
    defects: tuple[DefectRecord, ...]


def _size_hw(size: int | tuple[int, int]) -> tuple[int, int]:
    h, w = (int(size), int(size)) if isinstance(size, numbers.Integral) else (int(size[0]), int(size[1]))
    if not (MIN_SIZE <= h <= MAX_SIZE and MIN_SIZE <= w <= MAX_SIZE):
        raise ConfigError(
            f"--size must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {h}x{w}; pick e.g. --size 512"
        )
    return h, w


def check_options(
    defect_rate: float,
    defect_class: str | None = None,
    visibility: str | None = None,
    placement: str = "central",
) -> None:
    """Raise ConfigError naming the option when a defect option is out of range or unknown."""
    import difflib

    if placement not in PLACEMENTS:
        raise ConfigError(f"unknown --placement {placement!r}; use one of {', '.join(PLACEMENTS)}")
    if not 0.0 <= defect_rate <= 1.0:
        raise ConfigError(f"--defect-rate must be between 0 and 1, got {defect_rate}")
    if defect_class is not None and defect_class not in DEFECT_CLASSES:
        close = difflib.get_close_matches(defect_class, DEFECT_CLASSES, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(DEFECT_CLASSES)}"
        raise ConfigError(f"unknown defect class {defect_class!r}; {hint}")
    if visibility is not None and visibility not in VISIBILITIES:
        raise ConfigError(f"unknown visibility {visibility!r}; use one of {', '.join(VISIBILITIES)}")


def _plan_defects(
    rng: np.random.Generator,
    loom: Loom,
    canvas: tuple[int, int],
    view: tuple[int, int],
    defect_rate: float,
    defect_class: str | None,
    visibility: str | None,
    placement: str = "central",
    class_shares: tuple[float, ...] | None = None,
) -> list[DefectPlan]:
    forced = defect_class is not None or visibility is not None
    one, first, second, along = PLACEMENTS[placement]
    if not forced and rng.random() >= defect_rate:
        return []
    ch, cw = canvas
    h, w = view
    n = 2 if (not forced and min(h, w) >= 128 and rng.random() < 0.15) else 1
    plans: list[DefectPlan] = []
    for k in range(n):
        cls = defect_class or _draw_class(rng, class_shares)
        vis = visibility or VISIBILITIES[int(rng.integers(len(VISIBILITIES)))]
        # two defects: one in each half, and the second dropped if the boxes still touch
        lo, hi = one if n == 1 else (first if k == 0 else second)
        x = (cw - w) / 2 + w * rng.uniform(lo, hi)
        u = (ch - h) / 2 + h * rng.uniform(*along)
        plan = plan_defect(loom, rng, cls, vis, x, u, span=float(ch))
        # apart by a gap that a few degrees of skew cannot close
        if not any(_touch(plan.bbox, other.bbox, 4 + 0.05 * max(h, w)) for other in plans):
            plans.append(plan)
    return plans


def _draw_class(rng: np.random.Generator, shares: tuple[float, ...] | None) -> str:
    """A defect class: each as likely (None: every test set's draw) or by `shares` (DEFECT_CLASSES order)."""
    if shares is None:
        return DEFECT_CLASSES[int(rng.integers(len(DEFECT_CLASSES)))]
    return DEFECT_CLASSES[int(rng.choice(len(DEFECT_CLASSES), p=list(shares)))]


def _touch(a: tuple[float, ...], b: tuple[float, ...], gap: float) -> bool:
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap


def image_seed(seed: int, index: int) -> int:
    """The `render_sample` seed of image `index` of `synth images --seed seed` (`write_dataset`)."""
    return seed * 1_000_003 + index


def _fabric_stream(seed: int) -> np.random.Generator:
    """The random numbers a sample's fabric and then its camera are drawn from."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x5EED])


def fabric_of(seed: int, colouring_shares: tuple[float, ...] = COLOURING_SHARES) -> FabricSpec:
    """The fabric `render_sample(seed, colouring_shares=...)` weaves, without rendering anything."""
    return sample_fabric(_fabric_stream(seed), colouring_shares=colouring_shares)


def render_sample(
    seed: int,
    size: int | tuple[int, int] = 512,
    grey: bool = False,
    defect_rate: float = 0.5,
    defect_class: str | None = None,
    visibility: str | None = None,
    placement: str = "central",
    colouring_shares: tuple[float, ...] = COLOURING_SHARES,
    class_shares: tuple[float, ...] | None = None,
) -> SynthSample:
    """One synthetic fabric image. size is N or (height, width). defect_class / visibility force one
    defect of that kind; otherwise an image has a defect with probability defect_rate. placement is a
    key of PLACEMENTS; colouring_shares the chances of greige, dyed and yarn-dyed fabric
    (`weave.sample_fabric`); class_shares the chances of each defect class in DEFECT_CLASSES order
    (None: each as likely; shares change which class a seed draws, not its fabric). The same seed
    with defect_rate=0 gives the same fabric, camera and noise without the defect."""
    h, w = _size_hw(size)
    check_options(defect_rate, defect_class, visibility, placement)
    key = int(seed) & 0xFFFFFFFF
    # separate streams: the same seed gives the same fabric, camera and noise with or without a
    # defect, so a defect-free twin of any sample is render_sample(seed, defect_rate=0)
    rng = _fabric_stream(seed)
    spec = sample_fabric(rng, colouring_shares=colouring_shares)
    cam = sample_camera(rng)
    # render a margin that the skew rotates into view (none without skew)
    margin = math.ceil(0.5 * max(h, w) * abs(math.sin(math.radians(cam.skew_deg)))) + 2 if cam.skew_deg else 0
    ch, cw = h + 2 * margin, w + 2 * margin
    loom = Loom(spec=spec, seed=int(rng.integers(2**31)), width=cw)
    defect_rng = np.random.default_rng([key, 0xDEF])
    plans = _plan_defects(
        defect_rng, loom, (ch, cw), (h, w), defect_rate, defect_class, visibility, placement, class_shares
    )
    canvas, inst = render_region(loom, plans, 0, ch, as_uint8=True)
    image, inst = skew(canvas, inst, cam.skew_deg, (h, w))
    image = expose(fuzz(image, spec.hairiness), cam, np.random.default_rng([key, 0x4015E]), grey)
    return _finish(image, inst, plans)


def _finish(image: np.ndarray, inst: np.ndarray, plans: list[DefectPlan]) -> SynthSample:
    if not plans:
        return SynthSample(image=image, mask=np.zeros(inst.shape, np.uint8), defects=())
    lut = np.zeros(256, np.uint8)
    records = []
    for k, p in enumerate(plans, start=1):
        # the box of the instance's pixels (boundingRect of a uint8 image: of its non-zero pixels)
        x, y, w, h = cv2.boundingRect((inst == k).view(np.uint8))
        if w == 0:
            continue
        lut[k] = class_index(p.class_name)
        records.append(DefectRecord(p.class_name, p.visibility, (x, y, x + w, y + h)))
    return SynthSample(image=image, mask=cv2.LUT(inst, lut), defects=tuple(records))


def write_dataset(
    out: Path,
    count: int,
    size: int,
    seed: int,
    defect_rate: float = 0.5,
    grey: bool = False,
    progress: bool = False,
    defect_class: str | None = None,
    visibility: str | None = None,
    placement: str = "central",
) -> Path:
    """Write `count` images in the labeled format under `out` (classes.txt, images/, masks/,
    annotations.json). Image i is `render_sample(seed * 1_000_003 + i, ...)`; defect_class or
    visibility put one defect of that kind in every image (per-class test sets); placement is where
    defects may lie (PLACEMENTS). Returns `out`."""
    from fabric_inspect.datasets.progress import steps

    if count < 1:
        raise ConfigError(f"--count must be at least 1, got {count}")
    _size_hw(size)
    check_options(defect_rate, defect_class, visibility, placement)
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(exist_ok=True)
    (out / "classes.txt").write_text("\n".join(DEFECT_CLASSES) + "\n")
    annotations: dict[str, list[dict]] = {}
    digits = max(5, len(str(count - 1)))
    for i in steps(range(count), "synth images", progress):
        sample = render_sample(
            image_seed(seed, i), size, grey, defect_rate, defect_class, visibility, placement
        )
        stem = f"synth_{i:0{digits}d}"
        cv2.imwrite(str(out / "images" / f"{stem}.png"), sample.image)
        if sample.defects:
            cv2.imwrite(str(out / "masks" / f"{stem}.png"), sample.mask)
        annotations[stem] = [d.to_json() for d in sample.defects]
    (out / "annotations.json").write_text(json.dumps(annotations, indent=1) + "\n")
    log.info("wrote %d images to %s", count, out)
    return out
