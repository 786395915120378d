"""A region of fabric with its defects: build the yarns, let the defects edit them, composite, paint."""

from __future__ import annotations

import numpy as np

from fabric_inspect.datasets.camera import to_uint8
from fabric_inspect.datasets.defects import DefectPlan, Loom
from fabric_inspect.datasets.faults import apply_cuts, apply_edits, apply_paint, footprint, paints
from fabric_inspect.datasets.render import composite, geometry
from fabric_inspect.datasets.weave import build_field


def render_region(
    loom: Loom, plans: list[DefectPlan], u0: int, height: int, as_uint8: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Rows u0..u0+height-1 of the fabric: float32 HxWx3 BGR (0..1), or with `as_uint8` that image
    through `camera.to_uint8` (made tile by tile when no defect here paints onto the surface), and
    a uint8 instance map (k = plans[k-1], 0 = no defect)."""
    f = build_field(loom.spec, loom.seed, u0, height, loom.width)
    here = [(k, p) for k, p in enumerate(plans, start=1) if p.bbox[1] < u0 + height and p.bbox[3] > u0]
    # thick places insert picks (geometry changes); do them first
    for _, p in sorted(here, key=lambda kp: kp[1].class_name != "thick_place"):
        apply_edits(f, p)
    g = geometry(f)
    for _, p in here:
        apply_cuts(f, g, p)
    inst = np.zeros((height, loom.width), np.uint8)
    if as_uint8 and not any(paints(p) for _, p in here):
        img = composite(f, g, as_uint8=True)
        for k, p in here:
            inst[footprint(f, p, None)] = k
        return img, inst
    img = composite(f, g)
    for k, p in here:
        painted = apply_paint(img, f, p)
        inst[footprint(f, p, painted)] = k
    return (to_uint8(img) if as_uint8 else img), inst
