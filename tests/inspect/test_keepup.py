"""The live run's keep-up warning: drops counted per window, one warning at most per quiet time."""

from __future__ import annotations

import pytest

from fabric_inspect.errors import ConfigError
from fabric_inspect.inspect.keepup import KeepUpConfig, KeepUpWatch


class Camera:
    dropped = 0


def _watch(window_s=10.0, quiet_s=60.0):
    camera = Camera()
    return camera, KeepUpWatch(KeepUpConfig(window_s, quiet_s), lambda: camera.dropped, camera_fps=30.0)


def test_a_pipeline_that_keeps_up_is_never_warned_about():
    _, watch = _watch()
    assert all(watch.check(t / 30.0, t) is None for t in range(0, 30 * 120))
    assert watch.warnings == 0


def test_a_window_with_drops_warns_with_the_share_dropped_and_the_rate_inspected():
    camera, watch = _watch()
    assert watch.check(0.0, 0) is None
    camera.dropped = 30  # 30 dropped while 270 were inspected in 10 s
    assert watch.check(9.9, 267) is None  # the window is not over yet
    note = watch.check(10.0, 270)
    assert note is not None
    assert note.startswith("30 of the 300 frames the camera sent in the last 10 s were dropped (10 %)")
    assert "inspects 27.0 fps of the camera's 30" in note


def test_drops_that_go_on_warn_once_per_quiet_time_and_only_for_their_own_window():
    camera, watch = _watch(window_s=10.0, quiet_s=60.0)
    notes = []
    for second in range(0, 181):
        camera.dropped = 3 * second  # 3 frames a second, all along
        notes.append((second, watch.check(float(second), 27 * second)))
    warned = [s for s, note in notes if note]
    assert warned == [10, 70, 130]  # the first window's end, then after each 60 s of quiet
    assert all("30 of the 300 frames" in note for _, note in notes if note)  # each window's own drops
    # the drops stop (the count stays at 540): no warning for a clean window, even after the quiet time
    assert watch.check(200.0, 27 * 200) is None


def test_bad_keep_up_settings_are_refused():
    with pytest.raises(ConfigError, match="keep-up window must be > 0 s"):
        KeepUpConfig(window_s=0.0)
