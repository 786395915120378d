"""Render docs/report.png: a sample roll report, made from a generated database, shot in headless Chromium.

Run from the repository root (needs the dev extras and the Debian packages chromium, chromium-driver):

    .venv/bin/python scripts/report_screenshot.py [--out docs/report.png] [--html report-sample.html]

The sample roll is synthetic: defect positions, sizes and crops are drawn from a fixed seed, so the
picture only changes when the report's look changes.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
from pathlib import Path

import cv2
import numpy as np

from fabric_inspect.report import ReportConfig, write_report

SCHEMA = """
CREATE TABLE rolls (roll_id TEXT PRIMARY KEY, article TEXT, started TEXT, finished TEXT, source TEXT,
  length_m REAL, width_mm REAL, px_per_mm REAL, speed_m_per_min REAL, model_name TEXT, model_version TEXT,
  settings TEXT, frames INTEGER);
CREATE TABLE defects (roll_id TEXT REFERENCES rolls(roll_id), id INTEGER, class TEXT, score REAL,
  first_frame INTEGER, last_frame INTEGER, best_frame INTEGER, roll_y_mm REAL, roll_x_mm REAL,
  length_mm REAL, width_mm REAL, bbox TEXT, time TEXT, crop_path TEXT, PRIMARY KEY (roll_id, id));
"""
# class, (length, width) range in mm, share of defects
KINDS = (
    ("broken_pick", (20, 60), (600, 1600)),
    ("broken_end", (80, 400), (1, 3)),
    ("thick_place", (8, 20), (300, 1600)),
    ("slub", (10, 60), (3, 8)),
    ("hole", (4, 40), (4, 40)),
    ("stain", (15, 120), (15, 90)),
    ("knot", (3, 10), (3, 10)),
    ("float", (20, 90), (10, 50)),
)
ROLL = {
    "roll_id": "R-2211-07",
    "article": "TW-2210 cotton twill 2/1, 240 g/m², greige",
    "started": "2026-11-28T06:02:11+00:00",
    "finished": "2026-11-28T06:08:41+00:00",
    "source": "rtsp://line3-cam1/stream",
    "length_m": 130.0,
    "width_mm": 1600.0,
    "px_per_mm": 0.8,
    "speed_m_per_min": 20.0,
    "model_name": "fabric-inspect-default",
    "model_version": "0.1.0",
    "settings": json.dumps(
        {"threshold": 0.5, "min_area_px": 24, "confirm_frames": 3, "camera": "line3-cam1"}
    ),
    "frames": 11700,
}


def fabric_crop(rng: np.random.Generator, cls: str, px: int = 96) -> np.ndarray:
    """A grey twill patch with the defect drawn in, to stand in for a real crop."""
    y, x = np.mgrid[0:px, 0:px]
    weave = 150 + 25 * np.sin((x + y) * 0.9) + rng.normal(0, 6, (px, px))
    img = np.clip(weave, 0, 255).astype(np.uint8)
    img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    c = px // 2
    if cls in ("broken_end", "reed_mark"):
        cv2.line(img, (c, 0), (c, px), (95, 95, 95), 2)
    elif cls in ("broken_pick", "thick_place"):
        cv2.line(img, (0, c), (px, c), (90, 90, 90) if cls == "broken_pick" else (60, 60, 60), 3)
    elif cls == "hole":
        cv2.circle(img, (c, c), px // 7, (25, 25, 25), -1)
    elif cls == "stain":
        cv2.ellipse(img, (c, c), (px // 4, px // 6), 20, 0, 360, (70, 110, 140), -1)
        img = cv2.GaussianBlur(img, (9, 9), 0)
    else:
        cv2.ellipse(img, (c, c), (px // 5, px // 10), 0, 0, 360, (85, 85, 85), -1)
    return img


def sample_db(folder: Path, seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    db = folder / "inspect.db"
    con = sqlite3.connect(db)
    con.executescript(SCHEMA)
    con.execute(
        f"INSERT INTO rolls ({', '.join(ROLL)}) VALUES ({', '.join('?' * len(ROLL))})", tuple(ROLL.values())
    )
    positions = np.sort(rng.uniform(0.5, ROLL["length_m"] - 0.5, 24)) * 1000
    for i, y in enumerate(positions, start=1):
        cls, (l0, l1), (w0, w1) = KINDS[rng.integers(len(KINDS))]
        length, width = float(rng.uniform(l0, l1)), float(rng.uniform(w0, w1))
        if i == 9:  # one running broken end, 1.8 m long
            cls, length, width = "broken_end", 1800.0, 2.0
        crop = folder / "crops" / f"{ROLL['roll_id']}_{i:04d}.png"
        crop.parent.mkdir(exist_ok=True)
        cv2.imwrite(str(crop), fabric_crop(rng, cls))
        across = float(rng.uniform(width / 2, ROLL["width_mm"] - width / 2))
        row = (
            ROLL["roll_id"], i, cls, float(rng.uniform(0.55, 0.99)), i * 400, i * 400 + 12, i * 400 + 6,
            float(y), across, length, width, "[0, 0, 96, 96]",
            "2026-11-28T06:05:00+00:00", f"crops/{crop.name}" if i != 17 else None,
        )  # fmt: skip
        con.execute(f"INSERT INTO defects VALUES ({', '.join('?' * len(row))})", row)
    con.commit()
    con.close()
    return db


def screenshot(html: Path, png: Path, width: int = 1000) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as profile:
        for arg in (
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
            f"--user-data-dir={profile}", f"--window-size={width},1200",
        ):  # fmt: skip
            options.add_argument(arg)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            driver.get(html.resolve().as_uri())
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(width, height + 140)
            png.parent.mkdir(parents=True, exist_ok=True)
            driver.find_element("tag name", "main").screenshot(str(png))
        finally:
            driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/report.png"))
    parser.add_argument("--html", type=Path, default=None, help="also keep the sample report here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        html = args.html or folder / "report.html"
        summary = write_report(sample_db(folder), ROLL["roll_id"], html, ReportConfig())
        screenshot(html, args.out)
    print(summary.line())
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
