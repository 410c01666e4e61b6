"""Video output: H.264 segments fed from raw frames, then one mux with the narration.

Each chunk of a video is encoded to its own segment file, so a failed chunk is redone alone
and a restarted job keeps the chunks it finished. Segments are concatenated by stream copy
(frame-exact, no re-encode) and muxed with the narration as AAC into a temporary file that is
published under its final name only when complete, never over an existing file.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from heygem.errors import HeygemError
from heygem.machine import lower_priority, usable_cores
from heygem.media.ffmpeg import AUDIO_TIMELINE, command
from heygem.pause import pause_point

log = logging.getLogger("heygem")


@dataclass(frozen=True)
class EncodeOptions:
    height: int | None = None  # output height in pixels; None keeps the source height
    crf: int = 20  # x264 constant rate factor: lower is better and bigger (18 ~ visually lossless)
    preset: str = "veryfast"  # x264 speed/size trade-off
    audio_bitrate: str = "192k"  # AAC bitrate of the narration track
    threads: int | None = None  # x264 threads; None: the cores this process may use
    nice: int = 0  # x264 runs this many niceness steps below this process (yields the cores)


class EncodeError(HeygemError):
    """ffmpeg failed to write an output; the message carries its reason."""


def _exit_reason(code: int) -> str:
    """ffmpeg's exit status in words; a file-size limit or a full disk is named as such."""
    if code < 0:
        name = signal.Signals(-code).name
        if name == "SIGXFSZ":
            return "the file-size limit was reached (SIGXFSZ)"
        return f"ffmpeg was killed by {name}"
    return f"exit code {code}"


def output_size(width: int, height: int, target_height: int | None) -> tuple[int, int]:
    """Output (w, h): the source size or scaled to ``target_height``, both even for yuv420p."""
    if target_height and target_height < height:
        width = width * target_height / height
        height = target_height
    return max(2, int(round(width / 2)) * 2), max(2, int(round(height / 2)) * 2)


def _rate(fps: float) -> str:
    return str(Fraction(fps).limit_denominator(1001))


class SegmentWriter:
    """Encode frames to one H.264 yuv420p segment: ``write`` frames, then ``close`` or ``abort``.

    Frames are (h, w, 3) uint8 BGR of ``in_size`` = (w, h); the segment is ``options.height``
    tall (or the input size made even). The file appears at ``path`` only once complete.
    """

    def __init__(self, path: Path, in_size: tuple[int, int], fps: float, options: EncodeOptions):
        self.path = path
        self.part = path.with_name(path.stem + ".part" + path.suffix)
        self.frames = 0
        self.size = output_size(*in_size, options.height)
        self._resize = self.size != tuple(in_size)
        raw = {
            "f": "rawvideo",
            "pix_fmt": "yuv420p",
            "s": f"{self.size[0]}x{self.size[1]}",
            "framerate": _rate(fps),
        }
        threads = options.threads or usable_cores()
        x264 = {
            "c:v": "libx264",
            "preset": options.preset,
            "crf": options.crf,
            "threads": threads,
            "f": "mp4",
        }
        cmd = command([(raw, "-")], x264, self.part)
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the writer
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=self._stderr)
        # ffmpeg starts its encoder threads once frames arrive, so they inherit this niceness.
        lower_priority(options.nice, self._proc.pid)

    def write(self, frame: np.ndarray) -> None:
        """frame (h, w, 3) uint8 BGR of the input size; scaled and converted to yuv420p here
        (OpenCV rounds correctly and it halves what goes through the pipe)."""
        if self._resize:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        yuv = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)
        try:
            self._proc.stdin.write(yuv.data)
        except (BrokenPipeError, OSError) as exc:
            reason = self._reason()
            self.abort()
            code = self._proc.returncode
            detail = reason or (_exit_reason(code) if code and code < 0 else str(exc))
            raise EncodeError(f"encoder stopped: {detail}") from None
        self.frames += 1

    def close(self) -> Path:
        self._proc.stdin.close()
        code = self._proc.wait()
        if code != 0:
            reason = self._reason()
            self._cleanup()
            raise EncodeError(f"encoder failed: {reason or _exit_reason(code)}")
        self._stderr.close()
        os.replace(self.part, self.path)
        return self.path

    def abort(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        self.part.unlink(missing_ok=True)
        if self._proc.stdin and not self._proc.stdin.closed:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()

    def _reason(self) -> str:
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return text[-1][:300] if text else ""


def mux(segments: list[Path], audio: Path, audio_seconds: float, dest: Path, options: EncodeOptions) -> Path:
    """Concatenate segments (stream copy) with ``audio`` as AAC into a new file near ``dest``.

    Returns the path of the finished file: ``dest``, or ``dest`` with a ``-1``, ``-2``... suffix
    when that name is taken. The output is written to a temporary file beside the segments
    first (same filesystem), so a crash never leaves a half-written file under a real name.
    """
    work = segments[0].parent
    listing = work / "segments.txt"
    listing.write_text("".join(f"file '{s.name}'\n" for s in segments), encoding="utf-8")
    # The temporary file lives with the segments, so a worker killed while muxing leaves
    # nothing in the output folder; whoever finishes the video removes the work folder.
    fd, tmp_name = tempfile.mkstemp(dir=work, prefix="output.", suffix=".part.mp4")
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.chmod(0o644)  # mkstemp makes 0600; results are meant to be shared
    output = {
        "map": ["0:v:0", "1:a:0"],
        "c:v": "copy",  # the segments as they are: frame-exact, no re-encode
        "af": AUDIO_TIMELINE,  # the timeline the mel was made on (a late start: silence)
        "c:a": "aac",
        "b:a": options.audio_bitrate,
        "t": f"{audio_seconds:.6f}",
        "movflags": "+faststart",  # players can start before the whole file is loaded
        "f": "mp4",
    }
    cmd = command([({"f": "concat", "safe": 0}, listing), ({}, audio)], output, tmp)
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise EncodeError(f"muxing failed: {lines[-1][:300] if lines else _exit_reason(proc.returncode)}")
    pause_point("mux")  # written in full, not yet published: where a kill hurts most
    return publish(tmp, dest)


def publish(tmp: Path, dest: Path) -> Path:
    """Give the finished ``tmp`` its final name without ever replacing an existing file."""
    for n in range(10_000):
        candidate = dest if n == 0 else dest.with_name(f"{dest.stem}-{n}{dest.suffix}")
        try:
            os.link(tmp, candidate)  # atomic, and fails when the name exists
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV):
                raise
            try:  # a filesystem without hard links: claim the name, then move over the claim
                os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                continue
            os.replace(tmp, candidate)
            return candidate
        tmp.unlink()
        return candidate
    raise EncodeError(f"no free output name near {dest.name}")


def side_by_side(left: Path, right: Path, dest: Path, crf: int = 18) -> Path:
    """One MP4 showing ``left`` and ``right`` (same size and length) next to each other, with
    ``right``'s audio, written to ``dest`` (replaced). For comparing two renders of a clip."""
    output = {
        "filter_complex": "[0:v][1:v]hstack=inputs=2[both]",
        "map": ["[both]", "1:a:0?"],
        "c:v": "libx264",
        "preset": "veryfast",
        "crf": crf,
        "pix_fmt": "yuv420p",
        "c:a": "copy",
        "movflags": "+faststart",
    }
    proc = subprocess.run(command([({}, left), ({}, right)], output, dest), capture_output=True, check=False)
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise EncodeError(
            f"side-by-side failed: {lines[-1][:300] if lines else _exit_reason(proc.returncode)}"
        )
    return dest
