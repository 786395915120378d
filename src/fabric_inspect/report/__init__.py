"""Roll inspection report: the 4-point system and a self-contained HTML document.

``write_report(db_path, roll_id, out_path, config)`` reads a roll from the SQLite database the
pipeline writes, grades it (``fabric_inspect.report.points``) and writes one HTML file.
"""

from __future__ import annotations

from fabric_inspect.report.points import PointsConfig
from fabric_inspect.report.writer import ReportConfig, ReportSummary, write_report

__all__ = ["PointsConfig", "ReportConfig", "ReportSummary", "write_report"]
