"""The newest-frame slot between a capture thread and the pipeline: drops, never queues."""

from __future__ import annotations

import threading

import numpy as np

from fabric_inspect.inspect.latest import LatestFrame


def _image(value: int) -> np.ndarray:
    return np.full((4, 4, 3), value, np.uint8)


def test_frames_not_taken_are_dropped_and_only_the_newest_is_delivered():
    slot = LatestFrame()
    for value in range(3):
        slot.publish(_image(value))
    slot.end()
    frames = list(slot.frames(threading.Event()))
    assert [f.index for f in frames] == [2]
    assert int(frames[0].image[0, 0, 0]) == 2
    assert (slot.published, slot.dropped) == (3, 2)


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
