"""fabric-inspect: real-time detection of weaving defects in woven fabric."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
