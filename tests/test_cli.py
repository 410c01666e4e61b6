"""The real command line in a subprocess: `python -m heygem batch ...`."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from heygem.faces import TrackCache
from heygem.lipsync.gate import int8_verdict
from heygem.media import video
from heygem.testing import synthetic


def heygem(*args, cwd=None):
    cmd = [sys.executable, "-m", "heygem", "batch", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=cwd)


@pytest.fixture
def no_weights(tmp_path):
    folder = tmp_path / "empty checkpoints"
    folder.mkdir()
    return folder


def test_a_batch_with_bad_videos_goes_on(tmp_path, speech, face_clip, no_weights):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(face_clip.read_bytes()[:3000])
    voice_only = tmp_path / "voice.mp4"
    subprocess.run([*ffmpeg(), "-i", speech, "-c:a", "aac", voice_only], check=True)
    room = synthetic.write_video(
        tmp_path / "no face.mp4",
        (np.full((180, 320, 3), 80, np.uint8) for _ in range(20)),
        size=(320, 180),
    )
    odd = tmp_path / "deck.pptx"
    odd.write_bytes(b"PK\x03\x04")
    out = tmp_path / "out"
    videos = [face_clip, text, truncated, voice_only, odd, room, face_clip]
    proc = heygem(speech, *videos, "-o", out, "--checkpoint-dir", no_weights)
    assert proc.returncode == 1, proc.stderr
    manifest = json.loads((out / "batch.json").read_text())
    status = [(v["status"], v["error"]) for v in manifest["videos"]]
    assert [s for s, _ in status] == [
        "done",
        "failed",
        "failed",
        "failed",
        "failed",
        "done",
        "done",
    ]
    assert "notes.mp4: not a readable video" in status[1][1]
    assert "truncated.mp4: not a readable video" in status[2][1]
    assert status[3][1] == "voice.mp4: no video stream in the file"
    assert status[4][1].startswith("deck.pptx: unsupported file type '.pptx'")
    assert sorted(p.name for p in out.glob("*.mp4")) == [
        "face clip-1.mp4",
        "face clip.mp4",
        "no face.mp4",
    ]
    room_result = manifest["videos"][5]
    assert room_result["frames"] == room_result["frames_without_face"] == 75
    first = manifest["videos"][0]
    assert (
        first["engine"] == "loudness" and first["detector"] == "blazeface"
    )  # --engine preview: its old name
    # one schema for the CLI and the app (README "Outputs"); the CLI leaves batch_id and worker null
    assert set(first) == {
        "video",
        "status",
        "output",
        "error",
        "frames",
        "frames_without_face",
        "seconds",
        "engine",
        "detector",
        "worker",
        "audio",
        "track_cached",
        "detected_frames",
        "detect_seconds",
        "enhancer",
        "runtime",
    }
    assert first["enhancer"] == "none"  # auto: off on the CPU
    assert set(manifest) == {
        "format",
        "batch_id",
        "state",
        "counts",
        "audio",
        "audios",
        "settings",
        "seconds",
        "videos",
        "unmatched",
    }
    assert manifest["state"] == "partial" and manifest["counts"]["done"] == 3 and manifest["batch_id"] is None
    assert manifest["audio"] == str(speech) and manifest["settings"]["chunk_seconds"] == 30.0
    assert manifest["seconds"] > 0
    for line in ("FAILED: notes.mp4", "FAILED: truncated.mp4", "FAILED: deck.pptx"):
        assert line in proc.stderr
    assert "Traceback" not in proc.stderr


def ffmpeg():
    from heygem.media.ffmpeg import ffmpeg_exe

    return [ffmpeg_exe(), "-v", "error", "-y"]


def test_audio_without_sound_fails_every_video_clearly(tmp_path, face_clip, no_weights):
    empty = synthetic.write_wav(tmp_path / "empty.wav", np.zeros(0, np.float32))
    proc = heygem(empty, face_clip, "-o", tmp_path / "out", "--checkpoint-dir", no_weights)
    assert proc.returncode == 1
    manifest = json.loads((tmp_path / "out" / "batch.json").read_text())
    assert manifest["videos"][0]["error"] == "empty.wav: the audio is empty (zero length)"
    assert "Traceback" not in proc.stderr


def test_wav2lip_without_a_checkpoint_says_which_file(tmp_path, speech, face_clip, no_weights):
    proc = heygem(
        speech,
        face_clip,
        "-o",
        tmp_path / "out",
        "--engine",
        "wav2lip",
        "--checkpoint-dir",
        no_weights,
    )
    assert proc.returncode == 2
    assert "needs a checkpoint" in proc.stderr and "wav2lip_gan.pth" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_corrupt_and_wrong_checkpoints_are_refused(tmp_path, speech, face_clip):
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"PK\x03\x04 truncated zip")
    proc = heygem(speech, face_clip, "-o", tmp_path / "out", "--engine", "wav2lip", "--checkpoint", corrupt)
    assert proc.returncode == 2 and "corrupt.pth" in proc.stderr and "Traceback" not in proc.stderr
    wrong = tmp_path / "wrong.pth"
    torch.save({"state_dict": {"conv.weight": torch.zeros(3)}}, wrong)
    proc = heygem(speech, face_clip, "-o", tmp_path / "out", "--engine", "wav2lip", "--checkpoint", wrong)
    assert proc.returncode == 2 and "wrong.pth" in proc.stderr
    assert "missing" in proc.stderr and "unexpected" in proc.stderr


def test_wav2lip_with_random_weights_end_to_end(tmp_path, speech, random_checkpoint):
    clip = synthetic.face_video(tmp_path / "lesson 1.mp4", 1.0, size=(320, 180), face=120)
    short = synthetic.speech_wav(tmp_path / "short.wav", 1.2)
    out = tmp_path / "out"
    proc = heygem(
        short, clip, "-o", out, "--checkpoint", random_checkpoint, "--chunk-seconds", "0.5", "--device", "cpu"
    )
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "batch.json").read_text())
    result = manifest["videos"][0]
    assert result["status"] == "done" and result["engine"] == "wav2lip"
    assert result["runtime"] == int8_verdict(random_checkpoint).runtime  # auto, as the int8 gate chose
    info = video.probe(out / "lesson 1.mp4")
    assert info.n_frames == 30 and (info.width, info.height) == (320, 180)


def test_output_height_option(tmp_path, speech, face_clip, no_weights):
    proc = heygem(speech, face_clip, "-o", tmp_path, "--height", "180", "--checkpoint-dir", no_weights)
    assert proc.returncode == 0, proc.stderr
    info = video.probe(tmp_path / "face clip.mp4")
    assert (info.width, info.height) == (320, 180)


def test_preprocess_command_fills_the_cache(tmp_path, face_clip):
    def heygem(*args):
        cmd = [sys.executable, "-m", "heygem", *map(str, args), "--cache-dir", tmp_path]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300)

    missing = tmp_path / "missing.mp4"
    proc = heygem("preprocess", face_clip, missing)
    assert proc.returncode == 1 and "missing.mp4: file not found" in proc.stderr
    assert "100%" in proc.stderr  # the progress bar reached the end for the good video
    assert len(TrackCache(tmp_path / "tracks").entries()) == 1
    assert "1 face track(s)" in heygem("cache", "info").stdout
    assert "removed 1" in heygem("cache", "clear").stdout
    assert not TrackCache(tmp_path / "tracks").entries()


def test_face_point_mask_and_overlay_options(tmp_path, speech, no_weights):
    """--face-point follows the smaller of two faces; --overlay draws its box (green) there."""
    clip = synthetic.write_video(tmp_path / "two.mp4", synthetic.two_faces(25)[0])
    out = tmp_path / "out"
    options = ["--face-point", "515", "240", "--mask", "mouth", "--overlay", "--crf", "0"]
    proc = heygem(speech, clip, "-o", out, "--checkpoint-dir", no_weights, *options)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "batch.json").read_text())
    assert manifest["settings"]["face_point"] == [515, 240] and manifest["settings"]["mask"] == "mouth"
    first = next(video.read_frames(video.probe(out / "two.mp4"), [0])).astype(int)
    green = (first[:, :, 1] > 200) & (first[:, :, 0] < 90) & (first[:, :, 2] < 90)
    assert green[:, 430:600].sum() > 100 and green[:, :330].sum() == 0


def test_the_enhancer_flags_a_manifest_row_of_its_own_and_a_bad_checkpoint(tmp_path, speech, face_clip):
    """--enhancer-blend for the batch, enhancer per manifest row, what ran in batch.json; a
    broken --enhancer-checkpoint fails the video naming the file."""
    from heygem.testing.restorers import SMALL_GFPGAN, random_restorer_file

    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    random_restorer_file("gfpgan", checkpoints / "GFPGANv1.4.pth", SMALL_GFPGAN, seed=7)
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(
        f"audio,video,output,enhancer\n{speech},{face_clip},with,gfpgan\n{speech},{face_clip},without,\n"
    )
    out = tmp_path / "out"
    common = ["--checkpoint-dir", checkpoints, "--enhancer-runtime", "torch"]
    proc = heygem("--manifest", jobs, "-o", out, "--enhancer-blend", "60", *common)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "batch.json").read_text())
    assert [v["enhancer"] for v in manifest["videos"]] == ["gfpgan", "none"]  # auto: off on the CPU
    assert (manifest["settings"]["enhancer"], manifest["settings"]["enhancer_blend"]) == ("auto", 60.0)
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"\x00" * 2048)
    failed = heygem(
        speech,
        face_clip,
        "-o",
        tmp_path / "bad",
        "--enhancer",
        "gfpgan",
        "--enhancer-checkpoint",
        bad,
        *common,
    )
    assert failed.returncode == 1
    assert f"cannot load face enhancer checkpoint {bad}: not a readable torch checkpoint" in failed.stderr
