"""Measuring audio in tests: how much one signal trails another, and a file's audio as a
player hears it (each decoded frame placed at its timestamp)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

RATE = 16000  # Hz, what both helpers work at (the app's audio rate)


def lag_ms(late: np.ndarray, early: np.ndarray, search_ms: tuple[float, float] = (-100, 500)) -> float:
    """How many ms ``late`` trails ``early`` (both (n,) float32 at 16 kHz): the shift in
    ``search_ms`` (1 ms steps) that best correlates 1 s of them, starting 0.1 s in."""
    start, window = RATE // 10, RATE

    def score(lag: int) -> float:
        a = late[start + lag : start + lag + window]
        b = early[start : start + len(a)]
        return float(np.dot(a, b))

    lags = range(round(search_ms[0] * RATE / 1000), round(search_ms[1] * RATE / 1000), RATE // 1000)
    return max(lags, key=score) * 1000 / RATE


def timeline_audio(path: Path) -> np.ndarray:
    """The first audio stream of ``path`` as a player plays it: (n,) float32 mono at 16 kHz,
    every decoded frame placed at its timestamp from the file's start (silence in between)."""
    import av

    placed: list[tuple[float, np.ndarray]] = []
    with av.open(str(path)) as container:
        start = (container.start_time or 0) / av.time_base
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        for frame in container.decode(container.streams.audio[0]):
            at = float(frame.pts * frame.time_base) - start
            for out in resampler.resample(frame):
                placed.append((at, out.to_ndarray().ravel()))
                at += out.samples / RATE
    end = max(round(at * RATE) + len(x) for at, x in placed)
    samples = np.zeros(end, np.float32)
    for at, x in placed:
        first = round(at * RATE)
        samples[max(0, first) : first + len(x)] = x[max(0, -first) :]
    return samples
