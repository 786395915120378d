"""The newest-frames buffer between a capture thread and the pipeline: drops the oldest, never grows."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from fabric_inspect.errors import ConfigError
from fabric_inspect.inspect.latest import LatestFrame


def _image(value: int) -> np.ndarray:
    return np.full((4, 4, 3), value, np.uint8)


@pytest.mark.parametrize(
    ("depth", "published", "delivered"),
    [(1, 3, [2]), (2, 5, [3, 4])],  # depth 1: only the newest; depth 2: the two newest, in order
)
def test_frames_not_taken_are_dropped_and_only_the_newest_depth_are_delivered(depth, published, delivered):
    slot = LatestFrame(depth=depth)
    for value in range(published):
        slot.publish(_image(value))
    slot.end()
    frames = list(slot.frames(threading.Event()))
    assert [f.index for f in frames] == delivered
    assert [int(f.image[0, 0, 0]) for f in frames] == delivered
    assert (slot.published, slot.dropped) == (published, published - len(delivered))


def test_a_consumer_that_keeps_up_gets_every_frame_in_order():
    slot = LatestFrame()
    stop = threading.Event()
    frames = slot.frames(stop)
    seen = []
    for value in range(4):
        slot.publish(_image(value))
        seen.append(next(frames).index)
    assert seen == [0, 1, 2, 3] and slot.dropped == 0


def test_stop_ends_the_iteration_without_a_frame():
    slot = LatestFrame()
    stop = threading.Event()
    stop.set()
    assert list(slot.frames(stop)) == []


def test_the_default_buffer_rides_out_one_frame_arriving_while_another_waits():
    slot = LatestFrame()  # a consumer busy for two frame periods: frames 1 and 2 arrive meanwhile
    stop = threading.Event()
    frames = slot.frames(stop)
    slot.publish(_image(0))
    assert next(frames).index == 0
    slot.publish(_image(1))
    slot.publish(_image(2))
    assert [next(frames).index, next(frames).index] == [1, 2] and slot.dropped == 0


@pytest.mark.parametrize("depth", [0, 9])
def test_a_depth_outside_one_to_eight_is_refused_naming_the_option(depth):
    with pytest.raises(ConfigError, match=f"--buffer must be 1..8 frames, got {depth}"):
        LatestFrame(depth)
