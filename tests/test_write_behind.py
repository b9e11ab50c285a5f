"""The write-behind thread (frames.write_behind): order kept, errors raised in the caller, nothing after them."""

from __future__ import annotations

import time

import pytest

from vidcolor.frames.write_behind import WriteBehind


def test_items_are_written_in_order_by_finish() -> None:
    written: list[int] = []
    with WriteBehind(written.append, depth=2) as behind:
        for i in range(50):
            behind.put(i)
        behind.finish()
    assert written == list(range(50))


def test_an_error_of_the_writer_is_raised_in_the_caller_and_nothing_after_it_is_written() -> None:
    written: list[int] = []

    def write(i: int) -> None:
        if i == 3:
            raise OSError(28, "No space left on device")
        written.append(i)

    with pytest.raises(OSError, match="No space left"), WriteBehind(write, depth=1) as behind:
        for i in range(100):
            behind.put(i)
        behind.finish()
    assert written == [0, 1, 2]


def test_leaving_by_an_exception_drops_what_is_queued() -> None:
    written: list[int] = []

    def slow(i: int) -> None:
        time.sleep(0.05)
        written.append(i)

    with pytest.raises(KeyboardInterrupt), WriteBehind(slow, depth=8) as behind:
        for i in range(8):
            behind.put(i)
        raise KeyboardInterrupt
    assert len(written) < 8
