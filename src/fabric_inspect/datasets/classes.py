"""The weaving-defect classes the project knows, and the visibility grades of a defect."""

from __future__ import annotations

DEFECT_CLASSES: tuple[str, ...] = (
    "broken_end",  # warp yarn missing or broken: a vertical line
    "broken_pick",  # weft yarn missing: a horizontal line
    "thick_place",  # double pick / thick bar across the width
    "slub",  # a short thick segment of one yarn
    "hole",
    "stain",  # oil or dirt: soft edges, colour
    "knot",
    "float",  # yarns not interlaced over an area
    "reed_mark",  # long faint streak along the warp
)

VISIBILITIES: tuple[str, ...] = ("low", "medium", "high")


def class_index(name: str) -> int:
    """Mask value of a class (1-based; 0 is no defect)."""
    return DEFECT_CLASSES.index(name) + 1
