"""`fabric-inspect data label DIR`: review and correct a labeled folder's masks in a browser.

A folder written by `run --label-set` (or any folder in the project's labeled format) holds images and
the model's draft masks; a person has to look at every image before the folder is trained on. Masks
are class-index PNGs (value k = line k of classes.txt), which an ordinary image editor shows as black,
so this serves one page on 127.0.0.1 that shows each image with its mask in colour and lets a person
paint and erase it in a class, clear it (the fabric is good) or accept it as it is. Only this machine
can reach the page; nothing is sent anywhere.

What the page changes on disk, and nothing else: ``masks/<stem>.png`` (written, or deleted when the
mask is cleared: an image without a mask is defect-free) and ``reviewed.txt``, one stem per line, the
images a person has saved or accepted; `data check` counts them.

The HTTP interface (the page's only way in; stems are checked against the folder's images):
``GET /api/items`` the classes and every image's stem, size, mask and review state; ``GET
/api/image/<stem>`` the image file; ``GET /api/mask/<stem>`` the mask as raw bytes, one per pixel, row by
row (zeros when there is none); ``PUT /api/mask/<stem>`` the same bytes back (all zero deletes the mask);
``POST /api/reviewed/<stem>`` accept as it is. A bad request gets status 400 and one line saying why.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import numpy as np

from fabric_inspect.datasets.files import decode_file, image_size
from fabric_inspect.datasets.labeled import CLASSES_FILE, REVIEWED_FILE, read_reviewed, scan
from fabric_inspect.errors import InputError

log = logging.getLogger(__name__)

PAGE = Path(__file__).with_name("label_page.html")
MAX_BODY = 64 * 1024 * 1024  # one mask of a 8192x8192 line-scan strip fits
TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".bmp": "image/bmp"}


@dataclass(frozen=True, slots=True)
class LabelFolder:
    """A labeled folder (classes.txt, images/, masks/) as the page sees it."""

    root: Path
    classes: tuple[str, ...]
    images: dict[str, Path]  # stem -> image file, sorted by stem

    @classmethod
    def open(cls, root: Path) -> LabelFolder:
        if not (root / "images").is_dir():
            raise InputError(
                f"{root} has no images/ folder; give a folder in the labeled format (docs/datasets.md)"
            )
        found = scan(root)
        if not (root / CLASSES_FILE).is_file() or not found.classes:
            raise InputError(f"{root}/{CLASSES_FILE} is missing or empty; write one class name per line")
        if not found.samples:
            raise InputError(f"{root}/images holds no images")
        images = {s.stem: s.image_path for s in sorted(found.samples, key=lambda s: s.stem)}
        return cls(root, found.classes, images)

    def mask_path(self, stem: str) -> Path:
        return self.root / "masks" / f"{stem}.png"

    def reviewed(self) -> set[str]:
        return read_reviewed(self.root)

    def mark_reviewed(self, stem: str) -> None:
        if stem not in self.reviewed():
            with (self.root / REVIEWED_FILE).open("a", encoding="utf-8") as file:
                file.write(stem + "\n")

    def size(self, stem: str) -> tuple[int, int]:
        """(width, height) of an image (a PNG's from its header, without decoding it)."""
        return image_size(self.images[stem])

    def items(self) -> list[dict[str, object]]:
        reviewed = self.reviewed()
        rows = []
        for stem in self.images:
            width, height = self.size(stem)
            rows.append(
                {
                    "stem": stem,
                    "width": width,
                    "height": height,
                    "mask": self.mask_path(stem).is_file(),
                    "reviewed": stem in reviewed,
                }
            )
        return rows

    def mask(self, stem: str) -> np.ndarray:
        """The mask as uint8 [H, W] (zeros when the image has none)."""
        width, height = self.size(stem)
        path = self.mask_path(stem)
        if not path.is_file():
            return np.zeros((height, width), np.uint8)
        decoded, problem = decode_file(path)
        if decoded is None or decoded.array.ndim != 2:
            raise InputError(f"masks/{path.name}: {problem or 'is not a single-channel class-index PNG'}")
        if decoded.size != (width, height):
            raise InputError(f"masks/{path.name}: is {decoded.size}, its image {(width, height)}")
        return decoded.array

    def save_mask(self, stem: str, data: bytes) -> str:
        """Write the mask sent as raw bytes (or delete it when all zero); marks the image reviewed.
        Returns what was done ("written" / "cleared"); InputError on a malformed body."""
        import cv2

        width, height = self.size(stem)
        if len(data) != width * height:
            raise InputError(f"mask {stem}: {len(data)} bytes sent, the image has {width}x{height} pixels")
        mask = np.frombuffer(data, np.uint8).reshape(height, width)
        top = int(mask.max())
        if top > len(self.classes):
            raise InputError(
                f"mask {stem}: value {top} is no class ({CLASSES_FILE} lists {len(self.classes)})"
            )
        path = self.mask_path(stem)
        if top == 0:
            path.unlink(missing_ok=True)
            done = "cleared"
        else:
            path.parent.mkdir(exist_ok=True)
            partial = path.with_name(f".{path.stem}.partial.png")  # hidden: never read as a mask
            if not cv2.imwrite(str(partial), mask):
                partial.unlink(missing_ok=True)
                raise InputError(f"masks/{path.name}: cannot be written (disk full?)")
            os.replace(partial, path)  # a reader never sees half a mask
            done = "written"
        self.mark_reviewed(stem)
        return done


def make_handler(folder: LabelFolder) -> type[BaseHTTPRequestHandler]:
    """The request handler class serving `folder` (a closure: no global state)."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "fabric-inspect-label"

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s " + format, self.address_string(), *args)

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _fail(self, status: int, message: str) -> None:
            self._send(status, (message + "\n").encode(), "text/plain; charset=utf-8")

        def _stem(self, prefix: str) -> str | None:
            stem = unquote(self.path.split("?", 1)[0][len(prefix) :])
            if stem not in folder.images:
                self._fail(HTTPStatus.NOT_FOUND, f"no image {stem!r} in {folder.root}/images")
                return None
            return stem

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            try:
                if path in ("/", "/index.html"):
                    self._send(HTTPStatus.OK, PAGE.read_bytes(), "text/html; charset=utf-8")
                elif path == "/api/items":
                    body = {
                        "folder": str(folder.root),
                        "classes": list(folder.classes),
                        "items": folder.items(),
                    }
                    self._send(HTTPStatus.OK, json.dumps(body).encode(), "application/json")
                elif path.startswith("/api/image/"):
                    if (stem := self._stem("/api/image/")) is not None:
                        image = folder.images[stem]
                        kind = TYPES.get(image.suffix.lower(), "application/octet-stream")
                        self._send(HTTPStatus.OK, image.read_bytes(), kind)
                elif path.startswith("/api/mask/"):
                    if (stem := self._stem("/api/mask/")) is not None:
                        self._send(HTTPStatus.OK, folder.mask(stem).tobytes(), "application/octet-stream")
                else:
                    self._fail(HTTPStatus.NOT_FOUND, f"nothing at {path}")
            except InputError as err:
                self._fail(HTTPStatus.BAD_REQUEST, str(err))

        def do_PUT(self) -> None:
            if not self.path.startswith("/api/mask/"):
                self._fail(HTTPStatus.NOT_FOUND, f"nothing to PUT at {self.path}")
                return
            stem = self._stem("/api/mask/")
            if stem is None:
                return
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY:
                self._fail(HTTPStatus.BAD_REQUEST, f"mask {stem}: a body of 1 to {MAX_BODY} bytes is needed")
                return
            data = self.rfile.read(length)
            try:
                done = folder.save_mask(stem, data)
            except InputError as err:
                self._fail(HTTPStatus.BAD_REQUEST, str(err))
                return
            log.info("%s: mask %s", stem, done)
            self._send(HTTPStatus.OK, json.dumps({"stem": stem, "mask": done}).encode(), "application/json")

        def do_POST(self) -> None:
            if not self.path.startswith("/api/reviewed/"):
                self._fail(HTTPStatus.NOT_FOUND, f"nothing to POST at {self.path}")
                return
            stem = self._stem("/api/reviewed/")
            if stem is not None:
                folder.mark_reviewed(stem)
                body = json.dumps({"stem": stem, "reviewed": True}).encode()
                self._send(HTTPStatus.OK, body, "application/json")

    return Handler


def make_server(folder: LabelFolder, port: int = 8765) -> ThreadingHTTPServer:
    """The page's server on 127.0.0.1:`port` (0: any free port), not yet serving."""
    try:
        return ThreadingHTTPServer(("127.0.0.1", port), make_handler(folder))
    except OSError as err:
        raise InputError(
            f"--port {port}: cannot listen there ({err.strerror}); give another --port"
        ) from None
