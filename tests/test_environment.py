"""The display check that guards `cv2.imshow` (which aborts the process when there is no display)."""

from __future__ import annotations

import pytest

from fabric_inspect import environment


def test_loaded_cv2_is_the_gui_build():
    # `make install` reinstalls opencv-python last so its cv2/ wins over the headless build.
    assert environment.cv2_gui_backend() != "NONE"


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, False), ({"DISPLAY": ":0"}, True), ({"WAYLAND_DISPLAY": "wayland-0"}, True)],
)
def test_display_available_follows_the_display_variables(monkeypatch, env, expected):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert environment.display_available() is expected


def test_no_display_without_gui_backend(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(environment, "cv2_gui_backend", lambda: "NONE")
    assert environment.display_available() is False
