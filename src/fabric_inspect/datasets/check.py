"""Validate a dataset folder: list it, decode every image and mask, and report what is wrong.

`check_dataset` is what `fabric-inspect data check` prints and what `load_dataset` runs before it
returns a dataset. Problems (unusable data) and notes (quirks the reader handled) are one line each,
starting with the file's path relative to the dataset folder.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fabric_inspect.datasets import aitex, formats
from fabric_inspect.datasets.files import Decoded, decode_file
from fabric_inspect.datasets.labeled import REVIEWED_FILE, read_reviewed
from fabric_inspect.datasets.masks import BINARY_FORMATS, SOFT_MASK_THRESHOLD, binary_union
from fabric_inspect.datasets.samples import Dataset, Sample

Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True, slots=True)
class SampleCheck:
    """What decoding one sample's files found."""

    size: tuple[int, int] | None = None  # (width, height); None when the image is unreadable
    kind: str = ""
    defect_pixels: int | None = None  # None: no pixel labels (image-level only)
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckReport:
    """A dataset's summary, the quirks handled (notes) and everything wrong with it (problems)."""

    dataset: Dataset
    label_counts: dict[str, int]
    sizes: dict[tuple[int, int], int]
    kinds: dict[str, int]
    pixel_labeled: int  # images with a pixel mask (an all-zero one for defect-free images)
    defect_pixels: int  # defect pixels over all pixel-labeled defective images
    defective_pixels_total: int  # all pixels of those images
    defect_pixels_range: tuple[int, int] | None  # smallest and largest defect area of one image
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def defect_fraction(self) -> float:
        """Fraction of pixels marked defective in the pixel-labeled defective images."""
        return self.defect_pixels / self.defective_pixels_total if self.defective_pixels_total else 0.0

    def class_label(self, name: str) -> str:
        """How `data check` shows a class: AITEX classes with their code ("019 fuzzyball")."""
        return aitex.display_name(name) if self.dataset.format == "aitex" else name


def _rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _mask_check(root: Path, dataset: Dataset, sample: Sample, image: Decoded) -> SampleCheck:
    decoded: list[Decoded] = []
    problems: list[str] = []
    for path in sample.mask_paths:
        mask, problem = decode_file(path)
        if mask is None:
            problems.append(f"{_rel(root, path)}: {problem}")
        elif mask.size != image.size:
            (mw, mh), (iw, ih) = mask.size, image.size
            problems.append(f"{_rel(root, path)}: size mismatch, mask is {mw}x{mh} but image is {iw}x{ih}")
        else:
            decoded.append(mask)
    if problems:
        return SampleCheck(image.size, image.kind, None, tuple(problems))
    if dataset.format in BINARY_FORMATS:
        pixels = int(np.count_nonzero(binary_union([d.array for d in decoded])))
    else:
        pixels = int(np.count_nonzero(decoded[0].array))  # labeled: values were checked when listed
    if pixels == 0 and sample.is_defective:
        note = f"{_rel(root, sample.image_path)}: mask marks no pixel > 127; kept as an image-level defect"
        return SampleCheck(image.size, image.kind, None, (), (note,))
    return SampleCheck(image.size, image.kind, pixels)


def check_sample(dataset: Dataset, sample: Sample) -> SampleCheck:
    """Decode one sample's image and masks; sizes, defect area and problems."""
    root = dataset.root
    image, problem = decode_file(sample.image_path)
    if image is None:
        return SampleCheck(problems=(f"{_rel(root, sample.image_path)}: {problem}",))
    if sample.mask_paths:
        return _mask_check(root, dataset, sample, image)
    pixel_labeled = dataset.pixel_level and not sample.is_defective
    return SampleCheck(image.size, image.kind, 0 if pixel_labeled else None)


def _duplicate_stems(dataset: Dataset) -> list[str]:
    counts = Counter(s.stem for s in dataset.samples)
    return [
        f"stem {stem!r} is used by {n} images; stems must be unique" for stem, n in counts.items() if n > 1
    ]


def _summarize(
    dataset: Dataset, results: list[SampleCheck], problems: list[str], notes: list[str]
) -> CheckReport:
    defective = [(s, r) for s, r in zip(dataset.samples, results, strict=True) if s.is_defective]
    areas = [r.defect_pixels for _, r in defective if r.defect_pixels is not None]
    total = sum(r.size[0] * r.size[1] for _, r in defective if r.defect_pixels is not None and r.size)
    for result in results:
        problems.extend(result.problems)
        notes.extend(result.notes)
    if not dataset.samples:
        problems.append(f"no images found: a {dataset.format} dataset has {formats.LAYOUTS[dataset.format]}")
    return CheckReport(
        dataset=dataset,
        label_counts=dict(sorted(dataset.label_counts().items())),
        sizes=dict(Counter(r.size for r in results if r.size).most_common()),
        kinds=dict(Counter(r.kind for r in results if r.kind).most_common()),
        pixel_labeled=sum(r.defect_pixels is not None for r in results),
        defect_pixels=sum(areas),
        defective_pixels_total=total,
        defect_pixels_range=(min(areas), max(areas)) if areas else None,
        problems=tuple(dict.fromkeys(problems)),
        notes=tuple(dict.fromkeys(notes)),
    )


def check_dataset(
    path: str | os.PathLike[str], fmt: str = "auto", progress: Progress | None = None
) -> CheckReport:
    """List and decode a whole dataset. Raises InputError only when the folder cannot be read at all
    (missing, or no known layout); everything else is a problem line in the report."""
    root = Path(path)
    fmt, scan = formats.scan(root, fmt)
    dataset = Dataset(root, fmt, scan.classes, scan.samples)
    results: list[SampleCheck] = []
    workers = max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(lambda s: check_sample(dataset, s), dataset.samples):
            results.append(result)
            if progress:
                progress(len(results), len(dataset.samples))
    problems = [*scan.problems, *_duplicate_stems(dataset)]
    return _summarize(dataset, results, problems, list(scan.notes))


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.3g} %" if whole else "n/a"


def summary_lines(report: CheckReport) -> list[str]:
    """The human summary `data check` prints (problems and notes are listed by the caller)."""
    ds = report.dataset
    n = len(ds.samples)
    lines = [f"dataset  {ds.root}  (format {ds.format})", f"images   {n}"]
    lines.append(f"defect-free  {report.label_counts.get('good', 0)}")
    lines.append(f"defective    {n - report.label_counts.get('good', 0)}")
    for name in ds.classes:
        lines.append(f"  {report.class_label(name):<24} {report.label_counts.get(name, 0)}")
    if ds.pixel_level:
        lines.append(
            f"pixel masks  {report.pixel_labeled} of {n} images (defect-free ones count as all-zero)"
        )
        lines.append(
            f"defect pixels  {report.defect_pixels} = "
            f"{_percent(report.defect_pixels, report.defective_pixels_total)}"
            " of the pixel-labeled defective images"
        )
        if report.defect_pixels_range:
            low, high = report.defect_pixels_range
            lines.append(f"defect area per image  {low} .. {high} px")
    sizes = ", ".join(f"{w}x{h} ({c})" for (w, h), c in report.sizes.items())
    lines.append(f"sizes    {sizes or 'none readable'}")
    if report.kinds:
        lines.append("stored   " + ", ".join(f"{k} ({c})" for k, c in report.kinds.items()))
    if ds.format in BINARY_FORMATS:
        lines.append(f"mask rule  defect = value > {SOFT_MASK_THRESHOLD}; several masks of one image united")
    splits = Counter(s.split for s in ds.samples if s.split)
    if splits:
        lines.append("splits   " + ", ".join(f"{k} ({c})" for k, c in sorted(splits.items())))
    fabrics = Counter(s.fabric for s in ds.samples if s.fabric)
    if fabrics:
        lines.append("fabrics  " + ", ".join(f"{f} ({c})" for f, c in sorted(fabrics.items())))
    groups = ds.groups
    if groups and groups != ("",):
        lines.append(f"groups   {len(groups)} ({', '.join(groups)})")
    if ds.format == "labeled" and (ds.root / REVIEWED_FILE).is_file():
        checked = len(read_reviewed(ds.root) & {s.stem for s in ds.samples})
        lines.append(f"checked  {checked} of {n} images by a person ({REVIEWED_FILE}, `data label`)")
    return lines
