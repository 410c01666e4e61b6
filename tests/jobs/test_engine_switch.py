"""The item runner picks up weights installed while it runs: engine auto goes from loudness to
wav2lip for the next video, without a restart; weights that do not load change nothing."""

from __future__ import annotations

from heygem.jobs.runner import ItemRunner
from heygem.jobs.work import WorkItem
from heygem.lipsync import EngineSettings
from heygem.states import EngineState, ItemStatus
from heygem.testing import synthetic


def item(tmp_path, audio, video, n: int, settings: dict | None = None) -> WorkItem:
    out = tmp_path / "outputs"
    out.mkdir(exist_ok=True)
    dest = out / f"{n}.mp4"
    return WorkItem("b1", n, video.name, audio, video, dest, tmp_path / f"work{n}", settings or {})


def never_cancelled() -> bool:
    return False


def test_auto_switches_to_wav2lip_for_the_next_video(tmp_path, random_checkpoint):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    audio = synthetic.speech_wav(tmp_path / "voice.wav", 0.6)
    video = synthetic.face_video(tmp_path / "clip.mp4", 0.6, size=(320, 180), face=120)
    settings = EngineSettings(device="cpu", checkpoint_dir=folder, cache_dir=tmp_path / "cache")
    runner = ItemRunner(settings)
    assert runner.load().engine == "loudness"
    first = runner.run(item(tmp_path, audio, video, 0), lambda p: None, never_cancelled)
    assert (first.status, first.engine) == (ItemStatus.DONE, "loudness")

    (folder / "wav2lip_gan.pth").write_text("half a download")  # a file that does not load
    status = runner.reresolve_auto()
    assert (status.state, status.engine) == (EngineState.READY, "loudness")
    assert runner.run(item(tmp_path, audio, video, 1), lambda p: None, never_cancelled).engine == "loudness"

    (folder / "wav2lip_gan.pth").unlink()
    (folder / "wav2lip_gan.pth").symlink_to(random_checkpoint)
    status = runner.reresolve_auto()
    assert (status.state, status.engine) == (EngineState.READY, "wav2lip")
    assert runner.status.engine == "wav2lip"
    second = runner.run(item(tmp_path, audio, video, 2), lambda p: None, never_cancelled)
    assert (second.status, second.engine) == (ItemStatus.DONE, "wav2lip")
    chosen = runner.run(
        item(tmp_path, audio, video, 3, {"engine": "preview"}), lambda p: None, never_cancelled
    )
    assert (
        chosen.engine == "loudness"
    )  # a batch that asks for the loudness engine (by its old name) still gets it
