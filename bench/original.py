"""The original Wav2Lip ``inference.py --box y1 y2 x1 x2``, restated as a bench baseline.

    .venv/bin/python bench/original.py --video V --audio A --checkpoint C --box Y1 Y2 X1 X2 --out O

Rudrabha/Wav2Lip's inference.py cannot be fetched here, so its loop is written out from its
published code, step for step, with what makes its speed and memory kept as they are:

- every frame of the video is read with ``cv2.VideoCapture`` into one list (``full_frames``),
  held for the whole run: that is what takes 3.8 GB at 20 s of 720p;
- the audio: 16 kHz mono (``librosa.load``), its mel on the whole signal; ``mel_chunks`` of
  16 mel frames starting at ``int(i * 80 / fps)``, the last right-aligned to the mel's end;
- ``datagen``: per frame a copy of the frame and ``cv2.resize`` of its box crop to 96 x 96
  (bilinear), gathered in batches of ``--wav2lip_batch_size`` 128; rows 48-95 zeroed in a
  copy, masked copy first, ``/ 255.``;
- the model: eager torch fp32, ``torch.no_grad()``, ``torch.FloatTensor`` NCHW inputs;
- each output ``* 255.``, ``astype(uint8)``, ``cv2.resize`` to the box, pasted whole,
  ``cv2.VideoWriter`` DIVX into an AVI; then ``ffmpeg -y -i audio -i result.avi -strict -2
  -q:v 1 out.mp4`` (an argv list here, and our ffmpeg binary).

Differences, none of which changes the work done: the model is our definition of the same
architecture loaded from the same checkpoint (before the clock starts, as our pipeline's
load is), and the temporary AVI goes to a ``tempfile`` folder instead of ``temp/``.
Printed: ``RESULT {json}`` with frames/s end to end, peak RSS (the process, and with its
ffmpeg child) as bench/measure.py prints them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from measure import TreeRss  # noqa: E402

from heygem.media import audio as heygem_audio  # noqa: E402
from heygem.media.ffmpeg import ffmpeg_exe  # noqa: E402
from heygem.testing.memory import peak_rss_mb  # noqa: E402
from heygem.testing.reference import original_mel  # noqa: E402

IMG_SIZE = 96
MEL_STEP_SIZE = 16
BATCH_SIZE = 128  # its --wav2lip_batch_size default


def load_model(checkpoint: Path):
    """Its ``load_model``: torch.load, strip ``module.``, load_state_dict, eval."""
    import torch

    from heygem.lipsync.model import Wav2Lip

    state = torch.load(str(checkpoint), map_location="cpu", weights_only=False)["state_dict"]
    model = Wav2Lip()
    model.load_state_dict({k.replace("module.", ""): v for k, v in state.items()})
    return model.eval()


def read_all_frames(video: Path) -> tuple[list[np.ndarray], float]:
    """Its ``full_frames``: every (H, W, 3) uint8 BGR frame of the video, in one list."""
    stream = cv2.VideoCapture(str(video))
    fps = stream.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        still_reading, frame = stream.read()
        if not still_reading:
            stream.release()
            break
        frames.append(frame)
    return frames, fps


def mel_chunks_of(audio_path: Path, fps: float) -> list[np.ndarray]:
    """Its mel and ``mel_chunks``: (80, 16) float32 windows, one per output frame."""
    import librosa

    wav = librosa.load(str(audio_path), sr=16000)[0]
    mel = original_mel(wav)
    chunks, multiplier, i = [], 80.0 / fps, 0
    while True:
        start = int(i * multiplier)
        if start + MEL_STEP_SIZE > len(mel[0]):
            chunks.append(mel[:, len(mel[0]) - MEL_STEP_SIZE :])
            break
        chunks.append(mel[:, start : start + MEL_STEP_SIZE])
        i += 1
    return chunks


def datagen(frames: list[np.ndarray], mels: list[np.ndarray], box):
    """Its ``datagen`` with ``--box``: batches of (faces (B, 96, 96, 6) float64 in [0, 1],
    mels (B, 80, 16, 1), frames to paste into, their boxes)."""
    y1, y2, x1, x2 = box
    face_det_results = [[f[y1:y2, x1:x2], (y1, y2, x1, x2)] for f in frames]
    img_batch, mel_batch, frame_batch, coords_batch = [], [], [], []
    for i, m in enumerate(mels):
        idx = i % len(frames)
        frame_to_save = frames[idx].copy()
        face, coords = face_det_results[idx].copy()
        face = cv2.resize(face, (IMG_SIZE, IMG_SIZE))
        img_batch.append(face)
        mel_batch.append(m)
        frame_batch.append(frame_to_save)
        coords_batch.append(coords)
        if len(img_batch) >= BATCH_SIZE:
            yield _batch(img_batch, mel_batch), frame_batch, coords_batch
            img_batch, mel_batch, frame_batch, coords_batch = [], [], [], []
    if img_batch:
        yield _batch(img_batch, mel_batch), frame_batch, coords_batch


def _batch(img_batch, mel_batch):
    img_batch, mel_batch = np.asarray(img_batch), np.asarray(mel_batch)
    img_masked = img_batch.copy()
    img_masked[:, IMG_SIZE // 2 :] = 0
    img_batch = np.concatenate((img_masked, img_batch), axis=3) / 255.0
    mel_batch = np.reshape(mel_batch, [len(mel_batch), mel_batch.shape[1], mel_batch.shape[2], 1])
    return img_batch, mel_batch


def run(model, video: Path, audio_path: Path, box, out: Path) -> int:
    """Its main loop, end to end: returns the frames written."""
    import torch

    full_frames, fps = read_all_frames(video)
    mel_chunks = mel_chunks_of(audio_path, fps)
    full_frames = full_frames[: len(mel_chunks)]
    written = 0
    with tempfile.TemporaryDirectory() as temp:
        avi = Path(temp) / "result.avi"
        frame_h, frame_w = full_frames[0].shape[:-1]
        writer = cv2.VideoWriter(str(avi), cv2.VideoWriter_fourcc(*"DIVX"), fps, (frame_w, frame_h))
        for (img_batch, mel_batch), frames, coords in datagen(full_frames.copy(), mel_chunks, box):
            img_batch = torch.FloatTensor(np.transpose(img_batch, (0, 3, 1, 2)))
            mel_batch = torch.FloatTensor(np.transpose(mel_batch, (0, 3, 1, 2)))
            with torch.no_grad():
                pred = model(mel_batch, img_batch)
            pred = pred.cpu().numpy().transpose(0, 2, 3, 1) * 255.0
            for p, f, c in zip(pred, frames, coords, strict=True):
                y1, y2, x1, x2 = c
                f[y1:y2, x1:x2] = cv2.resize(p.astype(np.uint8), (x2 - x1, y2 - y1))
                writer.write(f)
                written += 1
        writer.release()
        cmd = [ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(audio_path), "-i", str(avi)]
        subprocess.run([*cmd, "-strict", "-2", "-q:v", "1", str(out)], check=True)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, required=True)
    parser.add_argument("--audio", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--box", type=int, nargs=4, required=True, metavar=("Y1", "Y2", "X1", "X2"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    model = load_model(args.checkpoint)
    original_mel(np.zeros(heygem_audio.N_FFT, np.float32))  # librosa's first-call imports, outside the clock
    peak = TreeRss()
    started = time.perf_counter()
    frames = run(model, args.video, args.audio, args.box, args.out)
    seconds = time.perf_counter() - started
    peak.stop()
    args.out.unlink(missing_ok=True)
    result = {
        "runtime": "original",
        "batch": BATCH_SIZE,
        "frames": frames,
        "seconds": seconds,
        "fps": frames / seconds,
        "tree_peak_rss_mb": peak.peak / 2**20,
        "peak_rss_mb": peak_rss_mb(),  # its own: ru_maxrss would include the bench's
    }
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
