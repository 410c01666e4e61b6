"""Trial renders ("Preview 2 s"): the first seconds of a video with a batch's settings, and the
first-frame view."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from heygem.errors import HeygemError
from heygem.lipsync.options import EngineSettings
from heygem.lipsync.trialrender import TrialRender
from heygem.media import video
from heygem.testing import synthetic
from heygem.testing.models import random_checkpoint


@pytest.fixture(scope="module")
def trials(tmp_path_factory):
    return TrialRender(tmp_path_factory.mktemp("trials"), EngineSettings(engine="loudness", device="cpu"))


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("long")
    return synthetic.face_video(folder / "lesson.mp4", 6.0, size=(640, 360), face=300), synthetic.speech_wav(
        folder / "narration.wav", 8.0
    )


def green_pixels(frame: np.ndarray) -> int:
    """(H, W, 3) BGR -> pixels of the overlay's box colour (pure green, after x264)."""
    b, g, r = (frame[:, :, k].astype(int) for k in range(3))
    return int(((g > 200) & (b < 90) & (r < 90)).sum())


def test_a_trial_is_the_first_two_seconds_with_the_box_and_mask_drawn(trials, long_clip):
    clip, narration = long_clip
    result = trials.render(narration, clip, {"quality": "high"})
    assert result.path.is_file() and result.path.parent.parent == trials.folder
    info = video.probe(result.path)
    assert result.frames == info.n_frames == 50 and result.duration == 2.0
    with av.open(str(result.path)) as container:
        assert [s.type for s in container.streams] == ["video", "audio"]
        assert abs(float(container.duration / av.time_base) - 2.0) < 0.1
    frames = list(video.read_frames(info, range(50)))
    source = list(video.read_frames(video.probe(clip), range(50)))
    assert min(green_pixels(f) for f in frames) > 200  # the crop box on every frame
    assert max(green_pixels(f) for f in source) < 20
    plain = trials.render(narration, clip, {"quality": "high"}, overlay=False)
    assert max(green_pixels(f) for f in video.read_frames(video.probe(plain.path), range(50))) < 20
    assert result.engine == "loudness" and result.frames_without_face == 0


def test_mask_settings_reach_the_trial(trials, long_clip):
    """The mask outline drawn differs between modes: the trial uses the settings given."""
    clip, narration = long_clip
    frames = {}
    for mode in ("face", "mouth"):
        result = trials.render(narration, clip, {"mask": mode, "crf": 0})
        frames[mode] = next(video.read_frames(video.probe(result.path), [0])).astype(int)
    yellow = [
        int(((f[:, :, 0] < 90) & (f[:, :, 1] > 200) & (f[:, :, 2] > 200)).sum()) for f in frames.values()
    ]
    assert min(yellow) > 50 and abs(yellow[0] - yellow[1]) > 20


def test_first_frame_shows_the_faces_and_a_point_picks_one(trials, tmp_path):
    clip = synthetic.write_video(tmp_path / "two people.mp4", synthetic.two_faces(10)[0])
    shown = trials.first_frame(clip)
    assert len(shown.boxes) == 2
    image = cv2.imread(str(shown.path))
    assert image.shape == (360, 640, 3)  # source pixels: a click there is a face_point
    large = max(range(2), key=lambda k: shown.boxes[k][2] - shown.boxes[k][0])
    assert shown.chosen == large
    small = shown.boxes[1 - large]
    picked = trials.first_frame(clip, point=((small[0] + small[2]) / 2, (small[1] + small[3]) / 2))
    assert picked.chosen == 1 - large


def test_bad_settings_and_files_are_clear_errors(trials, long_clip, tmp_path):
    clip, narration = long_clip
    with pytest.raises(HeygemError, match="mask"):
        trials.render(narration, clip, {"mask": "lips"})
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    with pytest.raises(HeygemError, match="broken.mp4"):
        trials.render(narration, broken)


def test_weights_installed_after_the_start_are_used(long_clip, tmp_path):
    """Engine auto: the loudness engine while the checkpoint folder is empty, Wav2Lip once a
    checkpoint is there (the app's download), without a new TrialRender."""
    clip, narration = long_clip
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    trials = TrialRender(tmp_path / "trials", EngineSettings(device="cpu", checkpoint_dir=checkpoints))
    assert trials.render(narration, clip, seconds=0.4).engine == "loudness"
    random_checkpoint(checkpoints / "wav2lip.pth")
    assert trials.render(narration, clip, seconds=0.4).engine == "wav2lip"


def test_a_trial_uses_the_apps_own_engine_settings(long_clip, random_checkpoint, tmp_path):
    """The app's --checkpoint (and runtime, batch size, caches) reach the trial render, so it
    shows the engine the batch will use: here Wav2Lip from an explicit checkpoint while the
    checkpoint folder is empty (engine auto resolved once, as in the worker)."""
    clip, narration = long_clip
    empty = tmp_path / "checkpoints"
    empty.mkdir()
    settings = EngineSettings(
        device="cpu", checkpoint=random_checkpoint, checkpoint_dir=empty, runtime="torch"
    )
    trials = TrialRender(tmp_path / "trials", settings)
    assert trials.render(narration, clip, seconds=0.4).engine == "wav2lip"
    assert trials.render(narration, clip, {"engine": "loudness"}, seconds=0.4).engine == "loudness"


def test_the_first_frame_view_loads_no_engine(long_clip, tmp_path):
    """Drawing the faces of a first frame needs the detector and the mesh only: it works where
    the engine cannot even load (wav2lip with no weights), as on a thin scale-out app host."""
    clip, narration = long_clip
    settings = EngineSettings(engine="wav2lip", device="cpu", checkpoint_dir=tmp_path)  # no weights
    trials = TrialRender(tmp_path / "trials", settings)
    shown = trials.first_frame(clip)
    assert len(shown.boxes) == 1 and shown.chosen == 0
    with pytest.raises(HeygemError, match="needs a checkpoint"):
        trials.render(narration, clip, seconds=0.4)
