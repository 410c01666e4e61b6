"""sync_options: the one mapping from a batch's settings to the pipeline's options."""

from dataclasses import fields

from heygem.lipsync import SyncOptions, sync_options
from heygem.lipsync.enhancing import EnhanceOptions
from heygem.lipsync.masks import MaskOptions
from heygem.media.encode import EncodeOptions
from heygem.settings import DEFAULT_PADS, BatchSettings

CHOSEN_ELSEWHERE = {"engine", "detector"}  # the runner picks the models with these
INTO_ENCODE = {"quality", "crf", "height"}  # these become the encoder's options
INTO_MASK = {"mask_size", "mask_feather"}  # with mask, the MaskOptions
PER_VIDEO = {"face_points"}  # each video's own face_point
INTO_ENHANCE = {"enhancer", "enhancer_blend"}  # the EnhanceOptions


def test_every_setting_reaches_the_pipeline():
    given = {
        "quality": "high",
        "height": "720",
        "frame_order": "loop",
        "chunk_seconds": "12.5",
        "pads": [1, 2, 3, 4],
        "sync_offset": -1,
        "keyframe_interval": 3,
        "mask": "mouth",
        "mask_size": 12,
        "mask_feather": 7,
        "face_point": [10, 20],
        "face_points": {"b.mp4": [30, 40]},
        "overlay": True,
        "enhancer": "restoreformer",
        "enhancer_blend": "35",
    }
    options = sync_options(BatchSettings.parse(given), "a.mp4")
    assert options == SyncOptions(
        chunk_seconds=12.5,
        pads=(1, 2, 3, 4),
        frame_order="loop",
        sync_offset=-1,
        encode=EncodeOptions(height=720, crf=18),
        keyframe_interval=3,
        smooth_window=SyncOptions.smooth_window,
        face_point=(10, 20),
        mask=MaskOptions("mouth", 12, 7),
        overlay=True,
        enhance=EnhanceOptions("restoreformer", 35.0),
    )
    assert sync_options(BatchSettings.parse(given), "b.mp4").face_point == (30, 40)
    mapped = {f.name for f in fields(BatchSettings)} - CHOSEN_ELSEWHERE - INTO_ENCODE - INTO_MASK - PER_VIDEO
    mapped -= INTO_ENHANCE
    assert mapped <= {f.name for f in fields(SyncOptions)}  # a new setting must be mapped too


def test_quality_names_a_crf_and_an_explicit_crf_wins():
    crf = {
        q: sync_options(BatchSettings.parse({"quality": q})).encode.crf for q in ("high", "standard", "small")
    }
    assert crf == {"high": 18, "standard": 23, "small": 28}
    assert sync_options(BatchSettings.parse({"quality": "small", "crf": 10})).encode.crf == 10


def test_the_defaults_keep_the_source_and_wav2lip_padding():
    options = sync_options(BatchSettings())
    assert options.encode.height is None and options.pads == DEFAULT_PADS and options.chunk_seconds == 30.0
    assert sync_options(BatchSettings.parse({"height": "original"})).encode.height is None
