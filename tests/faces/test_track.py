"""The face track: following one person, outliers, short misses, too-brief faces, smoothing,
holding a still face, the file format."""

from __future__ import annotations

import numpy as np

from heygem.faces import FaceTrack, TrackBuilder
from heygem.faces.cleanup import MIN_FACE_FRAMES
from heygem.faces.steady import smooth


def track_of(script, smooth_window: int = 5, scale: float = 1.0, steady=True, target=None) -> FaceTrack:
    """The track of a 640 x 360 video whose frames had the boxes of ``script``, best first."""
    builder = TrackBuilder((360, 640), scale, target)
    for boxes in script:
        builder.add(np.array(boxes, np.float32).reshape(-1, 4))
    return builder.finish(smooth_window, steady)


def test_gaps_are_counted_and_never_smoothed_across():
    moving = [[(100 + 3 * i, 50, 200 + 3 * i, 160)] for i in range(10)]  # 3 px per frame
    still = [[(400, 100, 500, 210)] for _ in range(8)]
    track = track_of(moving + [[], [], []] + still, smooth_window=5, steady=False)
    assert track.boxes.shape == track.mouths.shape == (21, 4)
    assert track.boxes.dtype == np.float32
    assert track.frames_without_face == 3
    assert np.isnan(track.boxes[10:13]).all()
    # Steady motion survives a centred average; the run after the gap is not pulled back.
    np.testing.assert_allclose(track.boxes[:10], np.float32([m[0] for m in moving]), atol=0.01)
    np.testing.assert_allclose(track.boxes[13:], np.float32([s[0] for s in still]), atol=0.01)


def test_smoothing_reduces_jitter_and_keeps_close_to_detections():
    rng = np.random.default_rng(0)
    truth = np.float32([[100 + 2 * i, 50 + i, 200 + 2 * i, 160 + i] for i in range(60)])
    noisy = truth + rng.normal(0, 1.5, truth.shape).astype(np.float32)
    smooth = track_of([[tuple(b)] for b in noisy], smooth_window=5).boxes
    assert np.abs(smooth - noisy).max() < 5
    assert np.abs(smooth - truth).std() < 0.7 * np.abs(noisy - truth).std()


def test_smooth_keeps_run_ends_and_window_one():
    values = np.float32([[0], [0], [9], [0], [np.nan], [5], [7]])
    out = smooth(values, 3)
    np.testing.assert_allclose(out[:4, 0], [0, 3, 3, 0])
    assert np.isnan(out[4, 0])
    np.testing.assert_allclose(out[5:, 0], [5, 7])  # a two-frame run: both are run ends
    np.testing.assert_array_equal(smooth(values, 1), values)


def test_single_frame_outlier_is_rejected():
    boxes = [[(100, 100, 200, 210)] for _ in range(7)]
    boxes[3] = [(135, 100, 235, 210)]  # still overlaps, but 35 % of a side from both neighbours
    track = track_of(boxes, smooth_window=1)
    np.testing.assert_allclose(track.boxes[3], [100, 100, 200, 210])


def test_short_detector_misses_are_interpolated_long_gaps_are_not():
    box = (100, 100, 200, 210)
    script = [[box], [], [(104, 100, 204, 210)], [], [], [box], [], [], []] + [[box]] * 6
    track = track_of(script, smooth_window=1, steady=False)
    np.testing.assert_allclose(track.boxes[1], [102, 100, 202, 210])
    np.testing.assert_allclose(track.boxes[3:5, 0], [104 - 4 / 3, 104 - 8 / 3], rtol=1e-5)
    assert np.isnan(track.boxes[6:9]).all() and track.frames_without_face == 3


def test_a_face_seen_on_too_few_frames_is_dropped():
    """An isolated detection (a pattern the detector took for a face) is not painted; a
    run of MIN_FACE_FRAMES is, and so is a video that short."""
    box = (100, 100, 200, 210)
    script = [[]] * 5 + [[box]] * 2 + [[]] * 5 + [[box]] * MIN_FACE_FRAMES + [[]] * 3
    track = track_of(script)
    assert np.isnan(track.boxes[:12]).all()
    assert not np.isnan(track.boxes[12 : 12 + MIN_FACE_FRAMES]).any()
    assert track.frames_without_face == len(script) - MIN_FACE_FRAMES
    assert track_of([[box]] * 2).frames_without_face == 0  # a two-frame video


def test_a_still_face_gets_one_box_and_a_moving_one_is_followed():
    """Detector noise of +-0.8 % of the side in the centre and the size of a still face gives
    ONE box; a face moving 2 px a frame is followed without lag (the hold only eases its start
    and end)."""
    rng = np.random.default_rng(0)
    centre, size = rng.uniform(-0.8, 0.8, (2, 120, 2)).astype(np.float32)
    still = np.float32([200, 100, 300, 210]) + np.concatenate([centre - size / 2, centre + size / 2], 1)
    track = track_of([[b] for b in still])
    assert len(np.unique(track.boxes, axis=0)) == 1
    assert np.abs(track.boxes[0] - still.mean(0)).max() < 1.0
    truth = np.float32([[100 + 2 * i, 100, 200 + 2 * i, 210] for i in range(60)])
    moving = track_of([[b] for b in truth + rng.uniform(-0.8, 0.8, truth.shape).astype(np.float32)])
    assert np.abs(moving.boxes - truth)[3:-3].max() < 1.0  # inside: no lag
    assert np.abs(moving.boxes - truth).max() < 2.0  # the ends: within the band and noise
    step = np.diff(moving.boxes[:, 0])
    assert step.min() > 0 and np.abs(np.diff(step)).max() < 1.5  # forward, no jerk beyond the band


def test_scale_maps_to_source_pixels():
    track = track_of([[(10, 20, 30, 40)]] * 3, scale=2.5)
    np.testing.assert_allclose(track.boxes, [[25, 50, 75, 100]] * 3)


def test_reacquires_after_a_cut_and_follows_back():
    """After a cut the presenter is elsewhere: frames before re-acquisition are filled in."""
    before = [[(100, 100, 200, 210)]] * 5
    after = [[(400, 50, 520, 180), (20, 300, 60, 340)]] * 20  # presenter + small face
    track = track_of(before + after, smooth_window=1)
    assert track.frames_without_face == 0
    np.testing.assert_allclose(track.boxes[5:], [[400, 50, 520, 180]] * 20)


def test_face_found_elsewhere_near_the_end_is_taken():
    script = [[(100, 100, 200, 210)]] * 5 + [[(400, 50, 520, 180)]] * 6 + [[]] * 2
    track = track_of(script, smooth_window=1)
    np.testing.assert_allclose(track.boxes[5:11], [[400, 50, 520, 180]] * 6)
    assert np.isnan(track.boxes[11:]).all() and track.frames_without_face == 2


def test_picks_the_large_central_face_first_or_the_one_at_the_point():
    small_centre = (300, 160, 340, 200)
    large_central = (200, 80, 360, 260)
    large_corner = (0, 0, 170, 190)
    script = [[small_centre, large_corner, large_central]] * 2
    track = track_of(script, smooth_window=1)
    np.testing.assert_allclose(track.boxes[0], large_central)
    # A point in source pixels (scale 2: the boxes are on a half-size copy).
    np.testing.assert_allclose(track_of(script, 1, target=(60, 80)).boxes[0], large_corner)
    inside_both = track_of(script, 1, scale=2.0, target=(640, 360)).boxes[0]  # nearest centre
    np.testing.assert_allclose(inside_both, np.float32(small_centre) * 2)
    off_all = track_of(script, 1, target=(500, 300)).boxes[0]  # the box nearest the point
    np.testing.assert_allclose(off_all, large_central)


def test_face_track_save_load_round_trip(tmp_path):
    nan = np.nan
    boxes = np.float32([[10, 20, 30, 40], [nan] * 4, [12.5, 22, 32, 42]])
    jaws = np.float32(np.arange(3 * 21 * 2).reshape(3, 21, 2))
    landmarks = np.float32(np.arange(3 * 5 * 2).reshape(3, 5, 2)) + 0.25
    track = FaceTrack(boxes, np.float32([[15, 30, 25, 35], [nan] * 4, [nan] * 4]), jaws, landmarks)
    path = tmp_path / "video.faces"  # the exact name is kept (np.savez alone would add .npz)
    track.save(path)
    loaded = FaceTrack.load(path)
    assert [p.name for p in tmp_path.iterdir()] == ["video.faces"]
    np.testing.assert_array_equal(loaded.boxes, track.boxes)
    np.testing.assert_array_equal(loaded.mouths, track.mouths)
    np.testing.assert_array_equal(loaded.jaws, track.jaws)
    np.testing.assert_array_equal(loaded.landmarks, track.landmarks)
    assert loaded.boxes.dtype == np.float32 and loaded.frames_without_face == 1
