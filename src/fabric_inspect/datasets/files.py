"""Listing image folders and decoding image and mask files, with truncation checks.

Every decode goes through `decode_file`, which checks the container before handing the bytes to
OpenCV: a PNG must start with its signature and end with the IEND chunk, a JPEG with SOI and EOI, so
a file cut short by an interrupted copy is reported as truncated instead of half-read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fabric_inspect.errors import InputError

IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
# Files that operating systems drop into folders; never reported as stray.
IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini"})

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_GREY_ALPHA = 4  # IHDR colour type of an 8-bit grey+alpha PNG
JPEG_SOI = b"\xff\xd8"
JPEG_EOI = b"\xff\xd9"
TRAILER_SLACK = 64  # bytes after the end marker tolerated (padding some writers add)


@dataclass(frozen=True, slots=True)
class Decoded:
    """A decoded file: `array` is uint8 grey HxW or BGR HxWx3; `kind` says how it was stored."""

    array: np.ndarray
    kind: str  # "grey", "grey+alpha", "BGR", "BGRA"

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return int(self.array.shape[1]), int(self.array.shape[0])


def is_ignored(path: Path) -> bool:
    return path.name.startswith(".") or path.name.lower() in IGNORED_NAMES


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def list_files(folder: Path) -> list[Path]:
    """The plain files of `folder` (not recursive), sorted, without hidden or OS files."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not is_ignored(p))


def list_dirs(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and not is_ignored(p))


def container_problem(data: bytes, suffix: str) -> str | None:
    """Why the bytes cannot be a complete file of this type, or None if they look complete."""
    if not data:
        return "is empty (0 bytes)"
    suffix = suffix.lower()
    if suffix == ".png":
        if not data.startswith(PNG_SIGNATURE):
            return "is not a PNG file (no PNG signature)"
        if b"IEND" not in data[-(12 + TRAILER_SLACK) :]:
            return f"is truncated: PNG ends without its IEND chunk ({len(data)} bytes)"
    elif suffix in (".jpg", ".jpeg"):
        if not data.startswith(JPEG_SOI):
            return "is not a JPEG file (no SOI marker)"
        if JPEG_EOI not in data[-(2 + TRAILER_SLACK) :]:
            return f"is truncated: JPEG ends without its EOI marker ({len(data)} bytes)"
    return None


def _normalize(array: np.ndarray, data: bytes) -> Decoded:
    if array.ndim == 2:
        return Decoded(array, "grey")
    if array.shape[2] == 4:
        grey_alpha = data.startswith(PNG_SIGNATURE) and len(data) > 25 and data[25] == PNG_GREY_ALPHA
        if grey_alpha:
            return Decoded(np.ascontiguousarray(array[..., 0]), "grey+alpha")
        return Decoded(np.ascontiguousarray(array[..., :3]), "BGRA")
    if array.shape[2] == 1:
        return Decoded(np.ascontiguousarray(array[..., 0]), "grey")
    return Decoded(array, "BGR")


def decode_file(path: Path) -> tuple[Decoded | None, str | None]:
    """Read and decode one image or mask file: (decoded, None) or (None, what is wrong with it)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        return None, f"cannot be read ({err.strerror or err})"
    problem = container_problem(data, path.suffix)
    if problem:
        return None, problem
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None:
        return None, f"cannot be decoded as {path.suffix.lstrip('.').upper() or 'an image'} (corrupt file)"
    if array.dtype != np.uint8:
        return None, f"is {array.dtype} ({array.dtype.itemsize * 8}-bit); expected an 8-bit image"
    return _normalize(array, data), None


def read_image_file(path: Path) -> np.ndarray:
    """uint8 grey HxW or BGR HxWx3 as stored (grey+alpha -> grey, BGRA -> BGR); InputError if unusable."""
    decoded, problem = decode_file(path)
    if decoded is None:
        raise InputError(f"image {path} {problem}; replace or remove it (see `fabric-inspect data check`)")
    return decoded.array


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image, from the PNG header when possible, else by decoding."""
    try:
        with path.open("rb") as f:
            head = f.read(24)
    except OSError as err:
        raise InputError(f"image {path} cannot be read ({err.strerror or err})") from None
    if head.startswith(PNG_SIGNATURE) and head[12:16] == b"IHDR":
        width, height = struct.unpack(">II", head[16:24])
        return int(width), int(height)
    array = read_image_file(path)
    return int(array.shape[1]), int(array.shape[0])
