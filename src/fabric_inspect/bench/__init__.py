"""Benchmark of the real-time pipeline (issue #5): camera-paced and as-fast-as-possible, per frame size.

`make_clips` writes the same frames at each size, `run_bench` runs the real pipeline on them in both
modes and returns ``{"machine": {...}, "runs": [...]}``; `plot_results` draws it as a PNG.
Never imports torch.
"""

from __future__ import annotations
