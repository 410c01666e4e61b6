"""Batch settings: the new keys (face points, mask, overlay) are checked in one place and
reach the pipeline's options."""

from __future__ import annotations

import pytest

from heygem.lipsync import sync_options
from heygem.lipsync.masks import MaskOptions
from heygem.settings import BatchSettings, SettingsError, clean


def test_face_points_mask_and_overlay_are_checked_and_normalised():
    given = {
        "face_point": ["640", 360],
        "face_points": {"b.mp4": [10, 20.5]},
        "mask": "mouth",
        "mask_size": "-5",
        "mask_feather": 0,
        "overlay": True,
    }
    assert clean(given) == {
        "face_point": (640.0, 360.0),
        "face_points": {"b.mp4": (10.0, 20.5)},
        "mask": "mouth",
        "mask_size": -5.0,
        "mask_feather": 0.0,
        "overlay": True,
    }


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"face_point": [1]}, "face_point"),
        ({"face_point": "640,360"}, "face_point"),
        ({"face_point": [-1, 5]}, "face_point"),
        ({"face_points": [[1, 2]]}, "face_points"),
        ({"face_points": {"a.mp4": [1, "x"]}}, "face_points['a.mp4']"),
        ({"mask": "lips"}, "mask"),
        ({"mask_size": 90}, "mask_size"),
        ({"mask_feather": -1}, "mask_feather"),
        ({"overlay": "yes"}, "overlay"),
    ],
)
def test_bad_values_name_the_key(given, named):
    with pytest.raises(SettingsError) as error:
        clean(given)
    assert error.value.key == named


def test_a_video_gets_its_own_point_else_the_batch_s():
    settings = BatchSettings.parse({"face_point": [1, 2], "face_points": {"a.mp4": [3, 4]}})
    assert settings.face_point_for("a.mp4") == (3.0, 4.0)
    assert settings.face_point_for("b.mp4") == (1.0, 2.0)
    assert BatchSettings().face_point_for("a.mp4") is None
    options = sync_options(BatchSettings.parse({"face_points": {"a.mp4": [3, 4]}, "mask": "mouth"}), "a.mp4")
    assert options.face_point == (3.0, 4.0) and options.mask == MaskOptions("mouth")
    assert not options.overlay and sync_options(BatchSettings(), "a.mp4").face_point is None


def test_the_enhancer_keys_are_checked_and_reach_the_pipeline():
    assert clean({"enhancer": "restoreformer", "enhancer_blend": "65"}) == {
        "enhancer": "restoreformer",
        "enhancer_blend": 65.0,
    }
    for given, named in (
        ({"enhancer": "codeformer"}, "enhancer"),
        ({"enhancer_blend": 101}, "enhancer_blend"),
    ):
        with pytest.raises(SettingsError) as error:
            clean(given)
        assert error.value.key == named
    options = sync_options(BatchSettings.parse({"enhancer": "gfpgan", "enhancer_blend": 40}))
    assert (options.enhance.enhancer, options.enhance.blend) == ("gfpgan", 40.0)
    assert (BatchSettings().enhancer, BatchSettings().enhancer_blend) == ("auto", 80.0)


def test_the_loudness_engine_answers_to_its_old_name_wherever_a_user_types_it():
    """The weight-free engine was "preview" up to 0.2: settings (the page, REST, gradio_client,
    stored batches), manifests and the flags of app.py, ``batch`` and ``worker`` take it."""
    import argparse

    from heygem.cli.options import add_engine_options

    assert clean({"engine": "preview"}) == {"engine": "loudness"}
    assert BatchSettings.parse({"engine": "preview"}).engine == "loudness"
    parser = argparse.ArgumentParser()
    add_engine_options(parser)
    assert parser.parse_args(["--engine", "preview"]).engine == "loudness"
    assert parser.parse_args(["--engine", "loudness"]).engine == "loudness"
    with pytest.raises(SettingsError, match="use auto, wav2lip, musetalk, loudness"):
        clean({"engine": "fast"})
