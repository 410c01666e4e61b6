"""The bench's generated inputs, made once in its work folder and reused by later runs.

- ``clip(seconds, height)``: the astronaut's face, still, on a textured 16:9 frame at 25 fps
  (480 px face at 720p, scaled at 1080p); still, so the original's fixed ``--box`` is the
  right box for every frame, as the speed issue's side-by-side was measured;
- ``speech(seconds, seed)``: speech-like narration, 16 kHz WAV;
- ``still()`` and ``loop()``: a 640x360 still image and a 6 s 640x360 clip, for the
  narration-length memory runs;
- ``checkpoint()``: a random-weight Wav2Lip (speed does not depend on the weight values);
- ``spread_checkpoint()``: one whose faces span the pixel range (the tolerance's and the
  int8 gate's harder case);
- ``box(clip)``: the padded face box our pipeline redraws, as the original's ``--box`` order.
"""

from __future__ import annotations

import functools
from pathlib import Path

NARRATION_SIZE = (640, 360)  # frame size of the narration-length runs (their subject is the audio)


class Inputs:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def checkpoint(self) -> Path:
        from heygem.testing.models import random_checkpoint

        path = self.folder / "wav2lip_random.pth"
        return path if path.exists() else random_checkpoint(path, seed=0)

    def spread_checkpoint(self) -> Path:
        """A random-weight Wav2Lip whose faces span the pixel range (its output conv scaled
        up), so that numeric differences between runtimes show: the tolerance's model."""
        from heygem.testing.models import random_checkpoint

        path = self.folder / "wav2lip_spread.pth"
        return path if path.exists() else random_checkpoint(path, seed=1, output_gain=30)

    def clip(self, seconds: float, height: int = 720) -> Path:
        from heygem.testing import synthetic

        path = self.folder / f"still_face_{seconds:g}s_{height}p.mp4"
        if not path.exists():
            size, face = (height * 16 // 9, height), height * 2 // 3
            synthetic.face_video(path, seconds, size=size, face=face, move=False)
        return path

    def speech(self, seconds: float, seed: int = 0) -> Path:
        from heygem.testing import synthetic

        path = self.folder / f"speech_{seconds:g}s_{seed}.wav"
        return path if path.exists() else synthetic.speech_wav(path, seconds, seed=seed)

    def still(self) -> Path:
        import cv2

        from heygem.testing import synthetic

        path = self.folder / "still_640x360.png"
        if not path.exists():
            cv2.imwrite(str(path), next(synthetic.face_frames(1, NARRATION_SIZE, 200, move=False)))
        return path

    def loop(self) -> Path:
        from heygem.testing import synthetic

        path = self.folder / "loop_6s_640x360.mp4"
        return path if path.exists() else synthetic.face_video(path, 6.0, size=NARRATION_SIZE, face=200)

    @functools.cache  # noqa: B019 - one Inputs per bench run
    def box(self, clip: Path) -> tuple[int, int, int, int]:
        """(y1, y2, x1, x2): the first frame's detected face box, padded as our pipeline pads it."""
        from heygem.faces import create_detector
        from heygem.lipsync.blend import padded_box
        from heygem.media import video
        from heygem.settings import DEFAULT_PADS

        info = video.probe(clip)
        frame = next(video.read_frames(info, [0]))
        found = create_detector("blazeface").detect(frame)[0].box
        x1, y1, x2, y2 = padded_box(found, DEFAULT_PADS, frame.shape[:2])
        return int(y1), int(y2), int(x1), int(x2)
