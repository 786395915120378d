"""Session fixtures shared by every test folder: tiny synthetic fabric, generated once per run, and a
headless Chromium for the pages people look at."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A labeled dataset folder (classes.txt, images/, masks/, annotations.json): 24 colour images of
    128 px, about half with a defect. Read-only: copy it before changing anything."""
    from fabric_inspect.datasets.synthetic import write_dataset

    return write_dataset(tmp_path_factory.mktemp("synth") / "data", count=24, size=128, seed=7)


@pytest.fixture(scope="session")
def roll_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A short roll video (4 s, 10 fps, 320x240, 6 m/min at 4 px/mm so 40 px per frame, a defect
    every ~0.17 m: 2 defects, each in view for ~7 frames) and its ground truth (the dict also
    written to roll.json beside it). Read-only."""
    from fabric_inspect.datasets.roll import RollConfig, write_roll_video

    config = RollConfig(
        seconds=4, fps=10, width=320, height=240, speed_m_per_min=6, px_per_mm=4, seed=3, defects_per_m=6
    )
    out = tmp_path_factory.mktemp("roll") / "roll.mp4"
    truth = write_roll_video(config, out, progress=False)
    return out, truth


CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory):
    """Debian's headless Chromium through selenium; skips the test where chromium or chromium-driver is
    not installed (CI installs both)."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("needs the Debian packages chromium and chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp_path_factory.mktemp("chromium-profile")
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1000,1400",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()
