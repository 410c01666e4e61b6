"""The threaded stages of pass 2: errors travel, a stop stops."""

from __future__ import annotations

import os
import threading

import pytest

from heygem.lipsync.stages import Prefetch, Sink


def test_prefetch_and_sink_pass_errors_and_stop():
    def numbers():
        yield from range(5)
        raise ValueError("decoder broke")

    got = []
    with pytest.raises(ValueError, match="decoder broke"):
        for item in Prefetch(numbers, depth=1):
            got.append(item)
    assert got == list(range(5))

    endless = Prefetch(lambda: iter(int, 1), depth=2)  # never ends by itself
    assert next(endless) == 0
    endless.close()
    assert not any(t.name == "prefetch" and t.is_alive() for t in threading.enumerate())

    seen = []
    sink = Sink(seen.append, depth=1)
    for k in range(10):
        sink.put(k)
    sink.close()
    assert seen == list(range(10))

    def fail(item):
        raise OSError("encoder gone")

    broken = Sink(fail)
    with pytest.raises(OSError, match="encoder gone"):
        for k in range(100):
            broken.put(k)


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="thread niceness is a POSIX feature")
def test_background_stages_run_nicer_than_the_model():
    """The decoder and encoder threads yield the cores to the calling thread (the model's)."""

    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    mine = niceness()
    decoder = Prefetch(lambda: iter([niceness()]), depth=1, nice=5)
    assert list(decoder) == [min(19, mine + 5)]
    seen = []
    encoder = Sink(lambda _: seen.append(niceness()), depth=1, nice=5)
    encoder.put(0)
    encoder.close()
    assert seen == [min(19, mine + 5)] and niceness() == mine  # the caller's is unchanged
    assert list(Prefetch(lambda: iter([niceness()]), depth=1)) == [mine]  # none asked, none given
