"""`--label-set DIR`: the roll written out as images to label, in the project's labeled format.

A mill retrains the model on its own fabric (`fabric-inspect train --data DIR`), and this is where its
images come from: while `run` or `live` inspects a roll, every stretch of fabric the model saw is
written once, as the model saw it (the ROI, scaled as `--scale` says), into ``DIR/images``. A frame is
written when the fabric it shows starts where the last one written ended, so the images tile the roll
without overlapping: two nearly identical frames would teach nothing twice, and would put the same
fabric on both sides of `train`'s validation split. Where the model found defects, the frame's mask
goes into ``DIR/masks`` as a draft: the cells of each defect the pipeline would report, in its class
(`postprocess.draft_cells`), 8 x 8 pixel blocks. ``DIR/classes.txt`` holds the model's classes.

A person must look at every image before training: correct or delete each draft (a false alarm), and
paint what the model missed (an image without a mask is defect-free). docs/datasets.md says how.

Writing a PNG of a 1280x720 frame takes about 50 ms, longer than a frame period, so the files are
written by a thread of their own; a frame that comes due while four are still waiting is left out and
counted (`skipped`), never queued without bound. A file that cannot be written (a full disk) stops the
sink and becomes its `error`, as for every output. Nothing already in DIR is ever overwritten: a roll
whose images are there already is refused before the run starts.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from fabric_inspect.datasets.labeled import CLASSES_FILE, read_classes
from fabric_inspect.errors import ConfigError, InputError

log = logging.getLogger(__name__)

MAX_PENDING = 4  # frames waiting to be written; one more due is skipped
PNG_FAST = 1  # zlib level: a third faster than the default, files 10-20 % larger


class LabelSetSink:
    """Writes the roll's frames, tiled, with the model's draft masks (see the module doc)."""

    def __init__(self, root: Path, classes: tuple[str, ...], prefix: str, stride: int) -> None:
        self.root = root
        self.prefix = prefix
        self.stride = stride
        self.images = 0  # images written
        self.drafts = 0  # ... of which with a draft mask
        self.skipped = 0  # frames due while the writer was MAX_PENDING behind
        self.error: str | None = None
        self._next_px = -np.inf
        self._pending: list[Future[bool]] = []
        self._prepare(classes)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="label-set")

    def _prepare(self, classes: tuple[str, ...]) -> None:
        try:
            (self.root / "images").mkdir(parents=True, exist_ok=True)
            (self.root / "masks").mkdir(exist_ok=True)
        except OSError as err:
            raise InputError(f"--label-set {self.root}: cannot create the folder ({err.strerror})") from None
        taken = sorted(p for p in (self.root / "images").iterdir() if p.name.startswith(f"{self.prefix}_"))
        if taken:
            raise ConfigError(
                f"--label-set {self.root} already holds frames of roll {self.prefix!r} "
                f"({taken[0].name}, ...); give another --roll or another folder (nothing is overwritten)"
            )
        listed = self.root / CLASSES_FILE
        if listed.is_file():
            names = read_classes(listed, [])  # as train --data will read it
            if names != classes:
                raise ConfigError(
                    f"--label-set {self.root}: its classes.txt lists {', '.join(names) or 'nothing'}, the "
                    f"model {', '.join(classes)}; use a folder made with this model's classes"
                )
        else:
            listed.write_text("".join(f"{name}\n" for name in classes), encoding="utf-8")

    def due(self, start_px: float) -> bool:
        """Whether a frame showing the roll from `start_px` (roll pixels) on is the next tile."""
        return self.error is None and start_px >= self._next_px - 0.5

    def write(self, index: int, image: np.ndarray, cells: np.ndarray, end_px: float) -> None:
        """Hand frame `index` (the model's input) and its draft cells to the writer; the next tile
        starts at `end_px`."""
        self._next_px = end_px
        self._collect()
        if self.error is not None:
            return
        if len(self._pending) >= MAX_PENDING:
            self.skipped += 1
            return
        mask = None
        if cells.any():
            mask = np.repeat(np.repeat(cells, self.stride, axis=0), self.stride, axis=1)
            mask = np.ascontiguousarray(mask[: image.shape[0], : image.shape[1]])
        stem = f"{self.prefix}_{index:06d}"
        self._pending.append(self._writer.submit(self._save, stem, image.copy(), mask))

    def _save(self, stem: str, image: np.ndarray, mask: np.ndarray | None) -> bool:
        """Write the image (and its draft mask); True when there was a mask."""
        import cv2

        written = []
        for folder, array in (("images", image), ("masks", mask)):
            if array is None:
                continue
            path = self.root / folder / f"{stem}.png"
            if not cv2.imwrite(str(path), array, [cv2.IMWRITE_PNG_COMPRESSION, PNG_FAST]):
                for done in (*written, path):  # no image without its mask, and no half a PNG
                    done.unlink(missing_ok=True)
                raise OSError(f"cannot write {path}")
            written.append(path)
        return mask is not None

    def _collect(self, wait: bool = False) -> None:
        """Drop finished writes; the first that failed stops the sink."""
        pending = []
        for future in self._pending:
            if not (wait or future.done()):
                pending.append(future)
                continue
            err = future.exception()
            if err is None:
                self.images += 1
                self.drafts += int(future.result())
            elif self.error is None:
                self.error = f"--label-set {self.root}: cannot write a PNG there (disk full?)"
                log.error("%s; the run goes on without it", self.error)
        self._pending = pending

    def close(self) -> None:
        self._collect(wait=True)
        self._writer.shutdown(wait=True)

    def report(self) -> dict[str, object]:
        """The summary's `label_set`: where, how many images, drafts and frames skipped."""
        return {
            "folder": str(self.root),
            "images": self.images,
            "drafts": self.drafts,
            "skipped": self.skipped,
        }

    def __enter__(self) -> LabelSetSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
