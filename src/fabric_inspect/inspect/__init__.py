"""The real-time inspection path: source -> preprocess -> model -> postprocess -> tracker -> sinks.

Never imports torch. `fabric_inspect.inspect.pipeline.run` is the entry point; each stage is a small
module that can be used and tested alone.
"""

from __future__ import annotations
