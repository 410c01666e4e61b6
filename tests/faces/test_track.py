"""The face track: following one person, outliers, short misses, smoothing, the file format."""

from __future__ import annotations

import numpy as np

from heygem.faces import (
    FaceTrack,
    TrackBuilder,
)
from heygem.faces.track import smooth_track


def track_of(script, smooth_window: int = 5, scale: float = 1.0) -> FaceTrack:
    """The track of a 640 x 360 video whose frames had the boxes of ``script``, best first."""
    builder = TrackBuilder((360, 640), scale)
    for boxes in script:
        builder.add(np.array(boxes, np.float32).reshape(-1, 4))
    return builder.finish(smooth_window)


def test_gaps_are_counted_and_never_smoothed_across():
    moving = [[(100 + 3 * i, 50, 200 + 3 * i, 160)] for i in range(10)]  # 3 px per frame
    still = [[(400, 100, 500, 210)] for _ in range(8)]
    track = track_of(moving + [[], [], []] + still, smooth_window=5)
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


def test_smooth_track_keeps_run_ends_and_window_one():
    values = np.float32([[0], [0], [9], [0], [np.nan], [5], [7]])
    out = smooth_track(values, 3)
    np.testing.assert_allclose(out[:4, 0], [0, 3, 3, 0])
    assert np.isnan(out[4, 0])
    np.testing.assert_allclose(out[5:, 0], [5, 7])  # a two-frame run: both are run ends
    np.testing.assert_array_equal(smooth_track(values, 1), values)


def test_single_frame_outlier_is_rejected():
    boxes = [[(100, 100, 200, 210)] for _ in range(7)]
    boxes[3] = [(135, 100, 235, 210)]  # still overlaps, but 35 % of a side from both neighbours
    track = track_of(boxes, smooth_window=1)
    np.testing.assert_allclose(track.boxes[3], [100, 100, 200, 210])


def test_short_detector_misses_are_interpolated_long_gaps_are_not():
    box = (100, 100, 200, 210)
    script = [[box], [], [(104, 100, 204, 210)], [], [], [box], [], [], [], [box]]
    track = track_of(script, smooth_window=1)
    np.testing.assert_allclose(track.boxes[1], [102, 100, 202, 210])
    np.testing.assert_allclose(track.boxes[3:5, 0], [104 - 4 / 3, 104 - 8 / 3], rtol=1e-5)
    assert np.isnan(track.boxes[6:9]).all() and track.frames_without_face == 3


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


def test_picks_the_large_central_face_first():
    small_centre = (300, 160, 340, 200)
    large_central = (200, 80, 360, 260)
    large_corner = (0, 0, 170, 190)
    track = track_of([[small_centre, large_corner, large_central]] * 2, smooth_window=1)
    np.testing.assert_allclose(track.boxes[0], large_central)


def test_face_track_save_load_round_trip(tmp_path):
    nan = np.nan
    boxes = np.float32([[10, 20, 30, 40], [nan] * 4, [12.5, 22, 32, 42]])
    track = FaceTrack(boxes, np.float32([[15, 30, 25, 35], [nan] * 4, [nan] * 4]))
    path = tmp_path / "video.faces"  # the exact name is kept (np.savez alone would add .npz)
    track.save(path)
    loaded = FaceTrack.load(path)
    assert [p.name for p in tmp_path.iterdir()] == ["video.faces"]
    np.testing.assert_array_equal(loaded.boxes, track.boxes)
    np.testing.assert_array_equal(loaded.mouths, track.mouths)
    assert loaded.boxes.dtype == np.float32 and loaded.frames_without_face == 1
