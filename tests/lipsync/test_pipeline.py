"""End to end through the real pipeline: real detector, real ffmpeg encodes, loudness engine."""

import av
import numpy as np
import pytest

from heygem.errors import Cancelled
from heygem.lipsync import EngineSettings, Syncer, SyncOptions, VideoResult, load_syncer
from heygem.media import video
from heygem.media.audio import SAMPLE_RATE, load_audio
from heygem.media.encode import EncodeOptions
from heygem.media.narration import Narration
from heygem.testing import synthetic
from heygem.testing.detectors import FixedDetector
from heygem.testing.signals import lag_ms, timeline_audio

LOSSLESS = EncodeOptions(crf=0, preset="ultrafast")


@pytest.fixture(scope="module")
def preview_syncer():
    return load_syncer(EngineSettings(engine="loudness", device="cpu"), SyncOptions())


def run(syncer, audio, clip, tmp_path, name="out", **options):
    syncer.options = SyncOptions(**options)
    narration = Narration(audio)
    return syncer.run(narration, clip, tmp_path / f"{name}.mp4", tmp_path / f".work-{name}")


def decode_all(path):
    info = video.probe(path)
    return info, np.stack(list(video.read_frames(info, range(info.n_frames))))


def test_output_streams_duration_and_untouched_background(preview_syncer, speech, face_clip, tmp_path):
    result = run(preview_syncer, speech, face_clip, tmp_path)
    assert result.status == "done" and result.output == tmp_path / "out.mp4"
    with av.open(str(result.output)) as container:
        kinds = sorted((s.type, s.codec_context.name) for s in container.streams)
        assert kinds == [("audio", "aac"), ("video", "h264")]
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"
    info, out = decode_all(result.output)
    assert abs(info.n_frames / info.fps - 3.0) <= 1 / info.fps  # the narration's length
    assert abs(len(load_audio(result.output)) / SAMPLE_RATE - 3.0) < 0.05
    source_info = video.probe(face_clip)
    order = video.frame_order(len(out), source_info.n_frames)
    source = np.stack(list(video.read_frames(source_info, order.tolist())))
    far = np.ones(out.shape[1:3], bool)
    far[:, 150:490] = False  # the face drifts within these columns
    assert np.abs(out[:, far].astype(int) - source[:, far]).mean() < 2.0  # encoding noise only
    assert result.frames == len(out) and result.frames_without_face == 0


def test_pingpong_order_when_the_narration_is_longer(preview_syncer, tmp_path):
    clip = synthetic.face_video(tmp_path / "short.mp4", 0.6, size=(320, 180), face=100)  # 15 frames
    audio = synthetic.speech_wav(tmp_path / "long.wav", 2.0)  # 50 frames
    result = run(preview_syncer, audio, clip, tmp_path, encode=LOSSLESS)
    _, out = decode_all(result.output)
    stamps = [synthetic.read_stamp(f) for f in out]
    assert stamps == video.frame_order(50, 15).tolist()
    assert stamps[13:18] == [13, 14, 13, 12, 11]  # forward then backward, no jump to 0
    loop = run(preview_syncer, audio, clip, tmp_path, name="loop", frame_order="loop", encode=LOSSLESS)
    assert [synthetic.read_stamp(f) for f in decode_all(loop.output)[1]][14:17] == [14, 0, 1]


def test_mouth_motion_follows_the_audio_at_lag_zero(preview_syncer, tmp_path):
    clip = synthetic.face_video(tmp_path / "still.mp4", 4.0, size=(480, 360), face=300, move=False)
    audio = synthetic.speech_wav(tmp_path / "speech.wav", 4.0, seed=3)
    result = run(preview_syncer, audio, clip, tmp_path, encode=LOSSLESS)
    _, out = decode_all(result.output)
    _, src = decode_all(clip)
    motion = np.abs(out.astype(int) - src).mean(axis=(1, 2, 3))  # only the mouth changes
    samples = synthetic.speech_like(4.0, seed=3)
    hop = SAMPLE_RATE // 25
    envelope = np.array([np.sqrt(np.mean(samples[i * hop : (i + 1) * hop] ** 2)) for i in range(len(motion))])

    def corr(lag):
        a, b = (
            (motion[lag:], envelope[: len(envelope) - lag]) if lag >= 0 else (motion[:lag], envelope[-lag:])
        )
        return np.corrcoef(a, b)[0, 1]

    lags = {lag: corr(lag) for lag in range(-4, 5)}
    assert max(lags, key=lags.get) == 0, lags
    assert lags[0] > 0.6


@pytest.mark.parametrize("container", ["mp4", "m4a"])
def test_a_narration_that_starts_late_stays_in_sync(preview_syncer, face_clip, tmp_path, container):
    """The mel and the muxed audio come from one timeline: the output's audio, as a player
    hears it, is the narration the mouths were made from, not 0.3 s off."""
    source = synthetic.speech_wav(tmp_path / "speech.wav", 2.0, seed=6)
    late = synthetic.late_narration(tmp_path / f"late.{container}", source, offset=0.3)
    result = run(preview_syncer, late, face_clip, tmp_path, encode=LOSSLESS)
    narration = Narration(late)
    heard = timeline_audio(result.output)
    assert abs(lag_ms(heard, load_audio(late))) <= 2
    assert abs(len(heard) / SAMPLE_RATE - narration.seconds) < 0.05
    assert result.frames == round(narration.seconds * 25)


def test_one_second_chunks_give_the_same_frames_as_one_chunk(preview_syncer, speech, face_clip, tmp_path):
    whole = run(preview_syncer, speech, face_clip, tmp_path, name="whole", encode=LOSSLESS)
    chunked = run(
        preview_syncer,
        speech,
        face_clip,
        tmp_path,
        name="chunked",
        chunk_seconds=1.0,
        encode=LOSSLESS,
    )
    np.testing.assert_array_equal(decode_all(whole.output)[1], decode_all(chunked.output)[1])


def test_silent_narration_keeps_the_mouth_closed(preview_syncer, face_clip, tmp_path):
    silence = synthetic.write_wav(tmp_path / "silence.wav", np.zeros(SAMPLE_RATE, np.float32))
    result = run(preview_syncer, silence, face_clip, tmp_path, encode=LOSSLESS)
    _, out = decode_all(result.output)
    _, src = decode_all(face_clip)
    diff = np.abs(out.astype(int) - src[: len(out)])
    assert diff.mean(axis=(1, 2, 3)).max() < 0.01  # an open mouth here changes ~0.4 a frame
    assert (diff > 3).mean() < 1e-4  # lossless codec: only yuv<->bgr rounding at saturated colours


def test_a_video_without_a_face_passes_through(preview_syncer, speech, tmp_path):
    frames = (np.full((180, 320, 3), 90 + i, np.uint8) for i in range(25))
    clip = synthetic.write_video(tmp_path / "empty room.mp4", frames, size=(320, 180))
    result = run(preview_syncer, speech, clip, tmp_path)
    assert result.status == "done"
    assert result.frames_without_face == result.frames == 75


def test_a_failed_chunk_is_retried_once(preview_syncer, speech, face_clip, tmp_path):
    engine = preview_syncer.engine
    calls = {"n": 0}
    real_render = engine.render

    def flaky_render(frames, faces, mels):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("injected fault")
        real_render(frames, faces, mels)

    engine.render = flaky_render
    try:
        result = run(preview_syncer, speech, face_clip, tmp_path, chunk_seconds=1.0)
    finally:
        del engine.render
    assert result.status == "done"
    assert result.chunk_attempts == [1, 2, 1]  # the second chunk alone was redone


def test_cancel_through_the_progress_hook_leaves_nothing(preview_syncer, speech, face_clip, tmp_path):
    def hook(p):
        if p.stage == "lipsync":
            raise Cancelled("stop")

    preview_syncer.options = SyncOptions(chunk_seconds=1.0)
    with pytest.raises(Cancelled):
        preview_syncer.run(Narration(speech), face_clip, tmp_path / "x.mp4", tmp_path / "work", hook)
    assert not list(tmp_path.glob("*.mp4"))
    assert not list((tmp_path / "work").glob("*.part.mp4"))


def test_restart_resumes_after_the_last_finished_chunk(preview_syncer, speech, face_clip, tmp_path):
    seen = []

    def stop_in_chunk_two(p):
        seen.append(p.chunk)
        if p.stage == "lipsync" and p.chunk == 2:
            raise Cancelled("crash")

    preview_syncer.options = SyncOptions(chunk_seconds=1.0)
    narration = Narration(speech)
    with pytest.raises(Cancelled):
        preview_syncer.run(narration, face_clip, tmp_path / "x.mp4", tmp_path / "work", stop_in_chunk_two)
    assert (tmp_path / "work" / "segment_00000.mp4").exists()
    result = preview_syncer.run(narration, face_clip, tmp_path / "x.mp4", tmp_path / "work")
    assert result.status == "done"
    assert (result.resumed_chunks, result.chunk_attempts) == (1, [0, 1, 1])
    assert not (tmp_path / "work").exists()


class CountingDetector:
    """The real detector, counting the frames it is asked about."""

    def __init__(self, detector):
        self.detector, self.frames = detector, 0
        self.name, self.cache_key = detector.name, detector.cache_key

    def detect(self, frame):
        self.frames += 1
        return self.detector.detect(frame)

    def detect_near(self, frame, box):
        self.frames += 1
        return self.detector.detect_near(frame, box)


def test_second_run_skips_detection(tmp_path, speech, face_clip):
    settings = EngineSettings(engine="loudness", device="cpu", cache_dir=tmp_path / "cache")
    loaded = load_syncer(settings, SyncOptions(encode=LOSSLESS))
    detector = CountingDetector(loaded.detector)
    syncer = Syncer(loaded.engine, detector, loaded.landmarker, loaded.options, loaded.track_cache)
    narration = Narration(speech)
    first = syncer.run(narration, face_clip, tmp_path / "1.mp4", tmp_path / "w1")
    detected = detector.frames
    other = Narration(synthetic.speech_wav(tmp_path / "other.wav", 2.5, seed=4))
    second = syncer.run(other, face_clip, tmp_path / "2.mp4", tmp_path / "w2")
    assert not first.track_cached and second.track_cached
    assert detected > 0 and detector.frames == detected  # the second run detected nothing
    assert set(first.stage_seconds) >= {"detect", "decode", "render", "encode", "mux"}


@pytest.fixture(scope="module")
def short_take(tmp_path_factory):
    """1.2 s of narration and of a small presenter clip: three chunks of 0.4 s."""
    folder = tmp_path_factory.mktemp("short take")
    audio = synthetic.speech_wav(folder / "voice.wav", 1.2)
    clip = synthetic.face_video(folder / "take.mp4", 1.2, size=(320, 180), face=120)
    return Narration(audio), clip


def interrupted_then_resumed(first, second, short_take, work) -> VideoResult:
    """Run ``first`` until chunk 2 starts (chunk 1's segment is kept), then the whole video
    with ``second`` in the same work folder; returns the second run's result."""
    narration, clip = short_take

    def crash_in_chunk_two(p):
        if p.stage == "lipsync" and p.chunk == 2:
            raise Cancelled("crash")

    for syncer in (first, second):
        syncer.options = SyncOptions(chunk_seconds=0.4)
    with pytest.raises(Cancelled):
        first.run(narration, clip, work / "out.mp4", work / "chunks", crash_in_chunk_two)
    return second.run(narration, clip, work / "out.mp4", work / "chunks")


def test_a_resume_keeps_chunks_only_from_the_same_models(tmp_path, short_take, random_checkpoint):
    from heygem.testing.models import random_checkpoint as write_checkpoint

    other_weights = write_checkpoint(tmp_path / "other.pth", seed=1)

    def wav2lip(checkpoint, runtime="torch"):
        settings = EngineSettings(engine="wav2lip", checkpoint=checkpoint, device="cpu", runtime=runtime)
        return load_syncer(settings, SyncOptions())

    def with_detector(syncer, detector):
        return Syncer(syncer.engine, detector, syncer.landmarker, syncer.options, syncer.track_cache)

    same = wav2lip(random_checkpoint)
    assert interrupted_then_resumed(same, same, short_take, tmp_path / "same").resumed_chunks == 1
    cases = {
        "another checkpoint": wav2lip(other_weights),
        "another runtime": wav2lip(random_checkpoint, runtime="onnx"),
        "another detector": with_detector(same, FixedDetector([(110, 20, 230, 150)])),
    }
    for case, second in cases.items():
        result = interrupted_then_resumed(same, second, short_take, tmp_path / case)
        assert (case, result.status, result.resumed_chunks) == (case, "done", 0)
        assert result.chunk_attempts == [1, 1, 1]


def test_a_resume_reaches_the_same_files_by_another_path(preview_syncer, tmp_path, short_take):
    """A second worker that mounts the shared workspace elsewhere (README: each machine at its
    own path) sees the same files under other paths: it keeps the first worker's chunks."""
    narration, clip = short_take
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / clip.name).write_bytes(clip.read_bytes())
    (shared / narration.path.name).write_bytes(narration.path.read_bytes())
    elsewhere = tmp_path / "mounted-elsewhere"
    elsewhere.symlink_to(shared, target_is_directory=True)

    def crash_in_chunk_two(p):
        if p.stage == "lipsync" and p.chunk == 2:
            raise Cancelled("worker lost")

    loaded = preview_syncer
    syncer = Syncer(loaded.engine, loaded.detector, loaded.landmarker, SyncOptions(chunk_seconds=0.4))
    with pytest.raises(Cancelled):
        here = Narration(shared / narration.path.name)
        syncer.run(here, shared / clip.name, shared / "out.mp4", shared / "work", crash_in_chunk_two)
    there = Narration(elsewhere / narration.path.name)
    result = syncer.run(there, elsewhere / clip.name, elsewhere / "out.mp4", elsewhere / "work")
    assert (result.status, result.resumed_chunks) == ("done", 1)
