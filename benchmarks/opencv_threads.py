"""Run the fabric-inspect CLI with OpenCV's own thread pool set to N threads (0: OpenCV's default).

    .venv/bin/python benchmarks/opencv_threads.py N bench --synthetic --sizes 1920x1080 --modes live ...

For A/B runs of `cv2.setNumThreads` (docs/bench.md, "OpenCV's thread pool"): the pipeline has its own
threads (capture, motion, onnxruntime's), and OpenCV's pool adds more for cvtColor and resize.
"""

from __future__ import annotations

import sys

import cv2

from fabric_inspect.cli import main

if __name__ == "__main__":
    threads = int(sys.argv.pop(1))
    if threads:
        cv2.setNumThreads(threads)
    sys.exit(main())
