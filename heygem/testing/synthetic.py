"""Synthetic media for tests, benchmarks and demos: a real face that moves, speech-like audio.

The face is scikit-image's astronaut photo (a real face, shipped with the package, so nothing
is downloaded); it and the speech-like audio are the int8 calibration's own
(:mod:`heygem.lipsync.calibration`). Clips are written with the same ffmpeg the app uses.
"""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np

from heygem.lipsync.calibration import astronaut_bgr, speech_like
from heygem.media.ffmpeg import command

__all__ = ["astronaut_bgr", "speech_like"]  # also here: the real face, and speech-like audio

# The astronaut's face in skimage.data.astronaut() (512 x 512), x1, y1, x2, y2 pixels.
ASTRONAUT_FACE = (170, 40, 275, 175)
# Her S3FD-style face box in astronaut_bgr(size), in units of size / 300 (x1 y1 x2 y2).
HEAD_FACE = np.float32([98, 78, 192, 180]) / 300


STAMP_BITS = 12  # frame-number stamp: bits drawn as squares along the bottom-left edge
STAMP_CELL = 8  # pixels per stamp square


def face_frames(n_frames: int, size: tuple[int, int] = (640, 360), face: int = 200, move: bool = True):
    """Yield n_frames (h, w, 3) uint8 BGR frames: the astronaut drifting over a textured backdrop.

    The backdrop has a gradient and fixed texture so that "pixels far from the face are
    unchanged" is a meaningful check; each frame carries its number as a binary stamp in the
    bottom-left corner (see :func:`read_stamp`), so tests can tell which frame they got.
    """
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    backdrop = np.stack(
        [60 + 80 * xx / w, 90 + 60 * yy / h, 120 + 40 * np.sin(xx / 23.0) * np.cos(yy / 17.0)], -1
    ).astype(np.uint8)
    head = astronaut_bgr(face)
    offsets = head_offsets(n_frames, size, face, move)
    for i in range(n_frames):
        frame = backdrop.copy()
        x, y = offsets[i]
        frame[y : y + face, x : x + face] = head[: h - y, : w - x]
        for bit in range(STAMP_BITS):
            x0 = bit * STAMP_CELL
            frame[h - STAMP_CELL :, x0 : x0 + STAMP_CELL] = 255 if (i >> bit) & 1 else 0
        yield frame


def head_offsets(n_frames: int, size: tuple[int, int], face: int, move: bool = True) -> np.ndarray:
    """(n_frames, 2) int64 x, y of the head's top-left corner in each frame of
    :func:`face_frames`: the true motion, for measuring a face track against."""
    w, h = size
    span_x, span_y = max(0, w - face), max(0, h - face)
    phase = 2 * np.pi * np.arange(n_frames) / 100.0 if move else np.zeros(n_frames)
    xs = (span_x * (0.5 + 0.3 * np.sin(phase))).astype(np.int64)
    ys = (span_y * (0.5 + 0.2 * np.sin(0.7 * phase))).astype(np.int64)
    return np.stack([xs, ys], axis=1)


def centred_face(face_width: int, size: tuple[int, int] = (1280, 720)) -> np.ndarray:
    """(h, w, 3) uint8 BGR: grey with the astronaut's face ``face_width`` px wide in the middle
    (her head cropped by the frame when it is larger)."""
    w, h = size
    side = round(face_width / (HEAD_FACE[2] - HEAD_FACE[0]))
    head = astronaut_bgr(side)
    cx, cy = round(side * (HEAD_FACE[0] + HEAD_FACE[2]) / 2), round(side * 129 / 300)
    frame = np.full((h, w, 3), 96, np.uint8)
    part = head[max(0, cy - h // 2) : cy + h // 2, max(0, cx - w // 2) : cx + w // 2]
    top, left = max(0, h // 2 - cy), max(0, w // 2 - cx)
    frame[top : top + part.shape[0], left : left + part.shape[1]] = part[: h - top, : w - left]
    return frame


def two_faces(n_frames: int, drift: float = 0.0) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """640 x 360 BGR frames of two astronauts, a large one (300 px head) left and a small one
    (170 px) right, moving ``drift`` px a frame towards each other; and their face boxes per
    frame, {"large": (n, 4), "small": (n, 4)} float32 x1 y1 x2 y2."""
    frames, boxes = [], {"large": [], "small": []}
    backdrop = next(face_frames(1, (640, 360), face=10, move=False))
    for i in range(n_frames):
        frame = backdrop.copy()
        step = round(drift * i)
        for name, side, x, y in (("large", 300, 30 + step, 30), ("small", 170, 430 - step, 150)):
            frame[y : y + side, x : x + side] = astronaut_bgr(side)
            boxes[name].append(HEAD_FACE * side + np.float32([x, y, x, y]))
        frames.append(frame)
    return frames, {name: np.array(b, np.float32) for name, b in boxes.items()}


def read_stamp(frame: np.ndarray) -> int:
    """The frame number drawn by :func:`face_frames`; frame (h, w, 3) uint8 BGR."""
    h = frame.shape[0]
    value = 0
    for bit in range(STAMP_BITS):
        x0 = bit * STAMP_CELL
        cell = frame[h - STAMP_CELL + 2 : h - 2, x0 + 2 : x0 + STAMP_CELL - 2]
        value |= int(cell.mean() > 127) << bit
    return value


def write_video(
    path: Path, frames, fps: float = 25.0, size: tuple[int, int] = (640, 360), extra=None
) -> Path:
    """Encode BGR frames (even size) to H.264 yuv420p without audio; ``extra`` ({flag: value})
    adds ffmpeg output options. Colour is converted by OpenCV, as the app's encoder does."""
    import cv2

    w, h = size
    raw = {"f": "rawvideo", "pix_fmt": "yuv420p", "s": f"{w}x{h}", "framerate": fps}
    cmd = command([(raw, "-")], {"c:v": "libx264", "preset": "ultrafast", "crf": 16, **(extra or {})}, path)
    with subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        for frame in frames:
            proc.stdin.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).data)
        proc.stdin.close()
        err = proc.stderr.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed writing {path}: {err}")
    return path


def face_video(
    path: Path, seconds: float, fps: float = 25.0, size=(640, 360), face: int = 200, move: bool = True
) -> Path:
    """A clip of the moving astronaut, ``seconds`` long."""
    n = max(1, round(seconds * fps))
    return write_video(path, face_frames(n, size, face, move), fps, size)


def write_wav(path: Path, samples: np.ndarray, sample_rate: int = 16000) -> Path:
    """samples (n,) or (n, channels) float in [-1, 1] -> 16-bit PCM WAV."""
    data = np.clip(samples, -1, 1)
    channels = 1 if data.ndim == 1 else data.shape[1]
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(2)
        f.setframerate(sample_rate)
        f.writeframes((data * 32767).astype("<i2").tobytes())
    return path


def speech_wav(path: Path, seconds: float, sample_rate: int = 16000, seed: int = 0) -> Path:
    """Write :func:`speech_like` audio to a WAV file."""
    return write_wav(path, speech_like(seconds, sample_rate, seed), sample_rate)


def late_narration(path: Path, source: Path, offset: float = 0.3) -> Path:
    """``source`` audio as AAC whose stream starts ``offset`` s late (ffmpeg -itsoffset): in an
    .m4a alone, or in an .mp4 beside a test-pattern video track that starts at 0 (a player
    then plays that much silence first)."""
    with wave.open(str(source)) as wav:
        seconds = 0.5 + wav.getnframes() / wav.getframerate()
    video = path.suffix.lower() == ".mp4"
    inputs = [({"f": "lavfi"}, f"testsrc2=size=320x180:rate=25:duration={seconds:.2f}")] if video else []
    inputs.append(({"itsoffset": offset}, source))
    output = {"map": ["0:v", "1:a"], "c:v": "libx264", "shortest": None} if video else {}
    subprocess.run(command(inputs, {**output, "c:a": "aac"}, path), check=True, capture_output=True)
    return path


def variable_rate(path: Path, source: Path, cycle: int = 4, dropped: int = 3) -> Path:
    """``source`` re-encoded with frame ``dropped`` of every ``cycle`` left out and the gaps kept
    in the timestamps (variable frame rate, as phones record)."""
    keep = f"select='not(eq(mod(n,{cycle}),{dropped}))'"
    output = {"vf": keep, "fps_mode": "vfr", "c:v": "libx264", "preset": "ultrafast"}
    subprocess.run(command([({}, source)], output, path), check=True, capture_output=True)
    return path
