"""Tiny datasets written into tmp folders in each layout the loader reads (labeled, folders, MVTec, AITEX).

Images are small random-texture PNGs; masks are drawn rectangles and disks, so every test knows the
exact labels it wrote. Tests get these builders through the `layouts` fixture (pytest runs with
--import-mode=importlib, so test modules cannot import a helper module by name).
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

SIZE = (64, 48)  # width, height


def texture(seed: int, size: tuple[int, int] = SIZE, colour: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    width, height = size
    shape = (height, width, 3) if colour else (height, width)
    return rng.integers(60, 200, size=shape, dtype=np.uint8)


def write(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), array):
        raise OSError(f"cv2 could not write {path}")
    return path


def box_mask(value: int, box: tuple[int, int, int, int], size: tuple[int, int] = SIZE) -> np.ndarray:
    """uint8 HxW, `value` inside box (x0, y0, x1, y1), 0 elsewhere."""
    mask = np.zeros((size[1], size[0]), np.uint8)
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = value
    return mask


def write_grey_alpha_png(path: Path, grey: np.ndarray) -> Path:
    """An opaque 8-bit grey+alpha PNG (colour type 4), as some AITEX files are; cv2 cannot write one."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    height, width = grey.shape
    pixels = np.stack([grey, np.full_like(grey, 255)], axis=2).reshape(height, width * 2)
    raw = b"".join(b"\x00" + row.tobytes() for row in pixels)  # filter type 0 per row
    header = struct.pack(">IIBBBBB", width, height, 8, 4, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def labeled(root: Path, n_good: int = 3, classes: tuple[str, ...] = ("hole", "stain")) -> Path:
    """images/good_i.png without masks, plus d1 (class 1 box) and d2 (class 2 box, a little class 1)."""
    (root / "classes.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / "classes.txt").write_text("\n".join(classes) + "\n")
    for i in range(n_good):
        write(root / "images" / f"good_{i}.png", texture(i))
    write(root / "images" / "d1.png", texture(100))
    write(root / "masks" / "d1.png", box_mask(1, (10, 10, 20, 15)))
    write(root / "images" / "d2.png", texture(101, colour=True))
    mask = box_mask(2, (0, 0, 30, 20))
    mask[40:42, 0:5] = 1
    write(root / "masks" / "d2.png", mask)
    return root


def folders(root: Path, counts: dict[str, int]) -> Path:
    for name, count in counts.items():
        for i in range(count):
            write(root / name / f"{i:03d}.png", texture(hash((name, i)) % 1000))
    return root


def mvtec(root: Path, types: dict[str, int], train_good: int = 3, test_good: int = 2) -> Path:
    for i in range(train_good):
        write(root / "train" / "good" / f"{i:03d}.png", texture(i, colour=True))
    for i in range(test_good):
        write(root / "test" / "good" / f"{i:03d}.png", texture(50 + i, colour=True))
    for t, (kind, count) in enumerate(types.items()):
        for i in range(count):
            write(root / "test" / kind / f"{i:03d}.png", texture(200 + 10 * t + i, colour=True))
            write(root / "ground_truth" / kind / f"{i:03d}_mask.png", box_mask(255, (5, 5, 15 + i, 12)))
    return root


AITEX_ROLLS = {"2306881-210020u": "05", "2311694-2040n7u": "00"}


def soft_disk(centre: tuple[int, int], radius: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """An anti-aliased disk: 255 inside, a ramp through 127 at the edge, like AITEX masks."""
    yy, xx = np.mgrid[0 : size[1], 0 : size[0]]
    distance = np.hypot(xx - centre[0], yy - centre[1])
    return np.clip((radius + 1.5 - distance) / 3 * 255, 0, 255).astype(np.uint8)


def aitex(root: Path, good_per_roll: int = 3) -> Path:
    """AITEX quirks in miniature: soft masks, a grey+alpha image, two masks, one image without a mask."""
    d, m = root / "Defect_images", root / "Mask_images"
    write(d / "0001_002_00.png", texture(1))
    write(m / "0001_002_00_mask.png", soft_disk((20, 20), 5))
    write(d / "0003_002_00.png", texture(3))
    write(m / "0003_002_00_mask.png", soft_disk((40, 30), 4))
    write_grey_alpha_png(d / "0044_019_04.png", texture(44))
    write(m / "0044_019_04_mask1.png", box_mask(255, (2, 2, 6, 6)))
    write(m / "0044_019_04_mask2.png", box_mask(255, (50, 30, 54, 36)))
    write(d / "0046_019_04.png", texture(46))
    write(m / "0046_019_04_mask.png", soft_disk((10, 40), 3))
    write(d / "0100_025_08.png", texture(100))  # released without a mask
    for roll, fabric in AITEX_ROLLS.items():
        for i in range(good_per_roll):
            write(root / "NoDefect_images" / roll / f"{i + 1:04d}_000_{fabric}.png", texture(300 + i))
    return root


@pytest.fixture(scope="session")
def layouts() -> ModuleType:
    """This module: the dataset builders above."""
    return sys.modules[__name__]


LABEL_CLASSES = ("hole", "stain", "knot")


def _label_folder(root: Path) -> Path:
    """A labeled folder for `data label`: three 40x30 colour images, img_b with a draft mask of a knot
    (value 3) in its top-left 8x8 corner."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "classes.txt").write_text("".join(f"{c}\n" for c in LABEL_CLASSES))
    for stem in ("img_a", "img_b", "img_c"):
        cv2.imwrite(str(root / "images" / f"{stem}.png"), rng.integers(0, 256, (30, 40, 3), dtype=np.uint8))
    draft = np.zeros((30, 40), np.uint8)
    draft[:8, :8] = 3
    cv2.imwrite(str(root / "masks" / "img_b.png"), draft)
    return root


@pytest.fixture
def label_folder():
    """Builder: label_folder(root) writes the folder above there and returns root."""
    return _label_folder


@pytest.fixture
def label_server(tmp_path):
    """(LabelFolder, base URL): the review page's server on 127.0.0.1, a free port, serving a fresh
    copy of the folder above in a thread; shut down after the test."""
    import threading

    from fabric_inspect.datasets.labeling import LabelFolder, make_server

    folder = LabelFolder.open(_label_folder(tmp_path / "labels"))
    server = make_server(folder, port=0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield folder, f"http://{host}:{port}"
    server.shutdown()
    server.server_close()
