"""Video input: probe a file and stream its frames on a constant-frame-rate timeline.

Every video, whatever its container or frame rate (29.97, variable), is read as a constant
frame rate timeline: frame k is the source frame on screen at time (k + 0.5) / fps, i.e. the
last decoded frame whose timestamp is at or before that instant. Because the mapping depends
only on timestamps, reading a range after a seek gives exactly the frames a full read gives.
Rotation metadata is applied, so frames come out the way players show them.
A still image is a one-frame video at 25 fps.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from heygem.errors import MediaError
from heygem.machine import usable_cores
from heygem.settings import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

log = logging.getLogger("heygem")

IMAGE_FPS = 25.0  # frame rate given to a still presenter image
STANDARD_RATES = (23.976, 24.0, 25.0, 29.97, 30.0, 48.0, 50.0, 59.94, 60.0)
REVERSE_BLOCK_BYTES = 256 * 1024 * 1024  # decoded frames held to play a range backwards


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int  # pixels, as displayed (rotation applied)
    height: int  # pixels, as displayed
    fps: float  # of the constant-frame-rate timeline we read
    n_frames: int  # frames on that timeline
    duration: float  # seconds
    rotation: int  # degrees counter-clockwise the player rotates the coded picture
    is_image: bool
    variable_frame_rate: bool

    @property
    def frame_bytes(self) -> int:
        return self.width * self.height * 3


def check_extension(path: Path) -> None:
    """Raise MediaError for a file type we do not read."""
    suffix = path.suffix.lower()
    if suffix not in VIDEO_EXTENSIONS + IMAGE_EXTENSIONS:
        known = ", ".join(sorted(VIDEO_EXTENSIONS + IMAGE_EXTENSIONS))
        raise MediaError(path, f"unsupported file type '{suffix or '(none)'}' (use one of {known})")


def probe(path: str | Path) -> VideoInfo:
    """Read a video's (or image's) geometry and timing; decode its first frame to prove it reads.

    Raises MediaError naming the file and the reason for anything we cannot use.
    """
    path = Path(path)
    check_extension(path)
    if not path.is_file():
        raise MediaError(path, "file not found")
    if path.stat().st_size == 0:
        raise MediaError(path, "the file is empty (0 bytes)")
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        image = _read_image(path)
        h, w = image.shape[:2]
        return VideoInfo(path, w, h, IMAGE_FPS, 1, 1 / IMAGE_FPS, 0, True, False)
    try:
        with av.open(str(path)) as container:
            return _probe_container(path, container)
    except av.FFmpegError as exc:
        raise MediaError(path, f"not a readable video ({_av_reason(exc)})") from None


def _probe_container(path: Path, container) -> VideoInfo:
    if not container.streams.video:
        raise MediaError(path, "no video stream in the file")
    stream = container.streams.video[0]
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or not 0 < float(rate) <= 1000:
        raise MediaError(path, "the video has no usable frame rate")
    fps = _snap_rate(float(rate))
    guessed = float(stream.guessed_rate or rate)
    vfr = abs(guessed - float(rate)) / float(rate) > 0.01
    if stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    elif container.duration:
        duration = container.duration / av.time_base
    else:
        duration = 0.0
    first = next(_decode(container, stream), None)
    if first is None:
        raise MediaError(path, "no decodable video frame (truncated or corrupt file?)")
    rotation = int(first.rotation or 0) % 360
    n_frames = int(stream.frames) if stream.frames and not vfr else round(duration * fps)
    n_frames = max(1, n_frames)
    duration = duration or n_frames / fps
    w, h = first.width, first.height
    if rotation in (90, 270):
        w, h = h, w
    log.debug("probed %s: %dx%d %.3f fps %d frames rot %d", path.name, w, h, fps, n_frames, rotation)
    return VideoInfo(path, w, h, fps, n_frames, duration, rotation, False, vfr)


def _snap_rate(rate: float) -> float:
    """29.97002997 -> exact 30000/1001; keep unusual rates as they are."""
    for standard in STANDARD_RATES:
        if abs(rate - standard) / standard < 0.002:
            exact = Fraction(round(standard * 1001), 1001) if standard % 1 else Fraction(standard)
            return float(exact)
    return rate


def _read_image(path: Path) -> np.ndarray:
    """An image file as (H, W, 3) uint8 BGR, EXIF orientation applied, even or odd size."""
    data = np.fromfile(path, dtype=np.uint8)  # np.fromfile: unicode-safe, unlike cv2.imread
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise MediaError(path, "not a readable image")
    return image


def _av_reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[0].strip()[:120] or type(exc).__name__


def _decode(container, stream) -> Iterator[av.VideoFrame]:
    """Decoded frames, skipping packets the decoder rejects mid-stream (a damaged GOP)."""
    for packet in container.demux(stream):
        try:
            yield from packet.decode()
        except av.error.InvalidDataError:
            log.debug("skipping an undecodable packet at %s", packet.pts)


def read_frames(
    info: VideoInfo, indices: Sequence[int], size: tuple[int, int] | None = None
) -> Iterator[np.ndarray]:
    """Yield the frames at timeline ``indices`` (0 <= i < n_frames), in the order given.

    Each yield is a fresh (H, W, 3) uint8 BGR array the caller may modify; ``size`` = (w, h)
    resizes (e.g. a small copy for face detection). Forward runs stream in one pass; backward
    runs (ping-pong) are decoded in bounded blocks and reversed, so memory stays bounded.
    """
    block = max(8, REVERSE_BLOCK_BYTES // (info.width * info.height * 3 // 2))  # decoded yuv420p
    for run, backwards in _runs(list(indices), block):
        if backwards:  # hold the decoded frames, half the bytes of BGR, and convert on the way out
            yield from (convert() for convert in reversed(list(read_lazily(info, run, size))))
        else:
            yield from (convert() for convert in read_lazily(info, run, size))


def read_lazily(
    info: VideoInfo, indices: Sequence[int], size: tuple[int, int] | None = None
) -> Iterator[Callable[[], np.ndarray]]:
    """Like :func:`read_frames` for non-decreasing ``indices``, but each yield is a function
    that converts its frame to a fresh (H, W, 3) uint8 BGR array only when called: every frame
    is decoded, yet a caller that needs few of them (keyframe face detection) pays the colour
    conversion for those alone. A yielded function stays valid after the iteration moves on."""
    wanted = list(indices)
    if not wanted:
        return
    if info.is_image:
        image = _read_image(info.path)
        if size:
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        yield from (image.copy for _ in wanted)
        return
    try:
        with av.open(str(info.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"  # frame and slice threads, one per usable core
            stream.thread_count = usable_cores()
            for frame in _map_frames(info, container, stream, wanted, seek=wanted[0] > 0):
                yield functools.partial(_to_bgr, frame, info.rotation, size)
    except av.FFmpegError as exc:
        raise MediaError(info.path, f"decoding failed ({_av_reason(exc)})") from None


def _runs(indices: list[int], block: int) -> Iterator[tuple[list[int], bool]]:
    """Split indices into ascending runs, and descending runs cut into ascending blocks."""
    start = 0
    while start < len(indices):
        end = start + 1
        descending = end < len(indices) and indices[end] < indices[start]
        while end < len(indices) and (indices[end] < indices[end - 1]) == descending:
            if descending and end - start >= block:
                break
            end += 1
        run = indices[start:end]
        yield (run[::-1], True) if descending else (run, False)
        start = end


def _map_frames(info, container, stream, wanted, seek: bool) -> Iterator[av.VideoFrame]:
    """The decoded frame on screen at each of the non-decreasing timeline indices ``wanted``
    (the same frame object repeats where the source holds a frame longer)."""
    start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
    if seek:
        target = start + (wanted[0] - 1) / info.fps
        container.seek(max(0, int(target / stream.time_base)), stream=stream, backward=True)
    pos = 0  # next position in wanted
    held = None  # the frame on screen so far
    for frame in _decode(container, stream):
        t = float(frame.pts * stream.time_base) - start if frame.pts is not None else 0.0
        while pos < len(wanted) and t > (wanted[pos] + 0.5) / info.fps:
            if held is None and seek:  # the seek landed past the frame we need
                log.debug("seek overshot in %s; decoding from the start", info.path.name)
                container.seek(0, stream=stream)
                yield from _map_frames(info, container, stream, wanted[pos:], seek=False)
                return
            if held is None:  # the stream starts late: its first frame stands for the time before
                held = frame
            yield held
            pos += 1
        if pos == len(wanted):
            return
        held = frame
    if held is None:
        raise MediaError(info.path, "no decodable video frame")
    # Distinct timeline frames past the stream's end: a one-frame video asked for frame 0
    # 75 times (ping-pong under a long narration) misses one, not 75.
    missing = len(set(wanted[pos:]))
    if missing > max(2, info.n_frames // 50):
        raise MediaError(
            info.path,
            f"the video ends early: no frames after {wanted[pos]} of {info.n_frames} (truncated?)",
        )
    if missing:
        log.debug("%s ended %d frames early; holding its last frame", info.path.name, missing)
    for _ in range(len(wanted) - pos):
        yield held


def _to_bgr(frame: av.VideoFrame, rotation: int, size: tuple[int, int] | None) -> np.ndarray:
    """Decoded frame -> (H, W, 3) uint8 BGR as displayed, resized to ``size`` = (w, h) when
    given; the one colour conversion on input.

    yuv420p frames (nearly every video) are converted by OpenCV, which rounds correctly
    (swscale's default fast path darkens every pass through it by ~1 level) and, with an
    area-averaging resize after it, is twice as fast as swscale's scaler.
    """
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        array = cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2BGR_I420)
    else:
        array = frame.to_ndarray(format="bgr24")
    if rotation == 90:
        array = cv2.rotate(array, cv2.ROTATE_90_COUNTERCLOCKWISE)
    elif rotation == 180:
        array = cv2.rotate(array, cv2.ROTATE_180)
    elif rotation == 270:
        array = cv2.rotate(array, cv2.ROTATE_90_CLOCKWISE)
    if size and (array.shape[1], array.shape[0]) != tuple(size):
        array = cv2.resize(array, tuple(size), interpolation=cv2.INTER_AREA)
    return array


def frame_order(n_out: int, n_src: int, mode: str = "pingpong") -> np.ndarray:
    """Source frame for each output frame: (n_out,) int64.

    A longer narration continues the video forward-backward ("pingpong": 0..n-1, n-2..0, 1..)
    or restarts it ("loop"); a longer video is trimmed.
    """
    out = np.arange(n_out, dtype=np.int64)
    if n_src <= 1:
        return np.zeros(n_out, dtype=np.int64)
    if mode == "loop":
        return out % n_src
    if mode != "pingpong":
        raise ValueError(f"unknown frame order mode {mode!r}")
    period = 2 * (n_src - 1)
    phase = out % period
    return np.where(phase < n_src, phase, period - phase)
