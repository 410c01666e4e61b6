"""The int8 gate: ``--runtime auto`` on a CPU runs int8 for weights that int8 runs faithfully
and the float runtime for weights it does not; measured once per checkpoint."""

from __future__ import annotations

import shutil

import pytest

from heygem.lipsync import create_engine
from heygem.lipsync.gate import MEAN_MAX, P99_9_MAX, int8_verdict, verdict_path
from heygem.lipsync.heldout import held_out_batch
from heygem.lipsync.runtimes import clear_runtime_cache, load_runtime
from heygem.machine import auto_runtime, int8_isa, native_bf16
from heygem.media.files import file_digest
from heygem.testing.models import random_checkpoint

pytest.importorskip("openvino", reason="the gate chooses between OpenVINO runtimes")


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """(exports' cache, weights int8 runs faithfully, weights whose outlier channel sets every
    int8 activation range); both with faces that span a wide range of pixel values."""
    folder = tmp_path_factory.mktemp("gate")
    faithful = random_checkpoint(folder / "faithful.pth", seed=1, output_gain=10)
    outlier = random_checkpoint(folder / "outlier.pth", seed=1, output_gain=10, outlier_gain=OUTLIER)
    yield folder / "cache", faithful, outlier
    clear_runtime_cache()


OUTLIER = 10.0  # scale of one channel of every BatchNorm in the failing weights


def test_auto_runs_int8_for_weights_that_pass(weights):
    cache, faithful, _ = weights
    engine = create_engine("wav2lip", faithful, "cpu", None, "auto", cache)
    gate = engine.gate
    assert gate.passed and gate.mean <= MEAN_MAX and gate.p99_9 <= P99_9_MAX
    assert engine.runtime.name == gate.runtime == "openvino-int8"
    assert gate.checkpoint_sha256 == file_digest(faithful)
    assert engine.resume_key.endswith("-openvino-int8-cpu")  # chunks made by f32 are not joined to it


def test_auto_runs_the_float_runtime_for_weights_int8_clips(weights):
    cache, _, outlier = weights
    mels, faces = held_out_batch(16)
    plain = load_runtime("torch", outlier, "cpu").predict(mels, faces).astype(int)
    assert 10 < plain.std() < 100  # real faces, not a model stuck at black and white
    engine = create_engine("wav2lip", outlier, "cpu", None, "auto", cache)
    gate = engine.gate
    assert not gate.passed and (gate.mean > MEAN_MAX or gate.p99_9 > P99_9_MAX)
    assert engine.runtime.name == gate.runtime == auto_runtime("cpu")  # the float runtime
    assert gate.runtime == ("openvino-bf16" if native_bf16() else "openvino")  # bf16 where native


def test_the_verdict_is_kept_per_checkpoint_and_not_measured_again(weights, tmp_path):
    cache, faithful, outlier = weights
    first = int8_verdict(faithful, cache)  # measured by the test above, or here when run alone
    kept = verdict_path(first.checkpoint_sha256, int8_isa(), cache)
    assert kept.is_file() and kept.parent == cache / "models"  # beside the exported graphs
    copy = shutil.copy(faithful, tmp_path / "renamed.pth")  # the same weights under another name
    assert int8_verdict(copy, cache) == first  # read back: same figures, same date
    assert int8_verdict(outlier, cache).checkpoint_sha256 != first.checkpoint_sha256


def test_an_explicit_runtime_skips_the_gate(weights):
    cache, _, outlier = weights
    for runtime in ("openvino-int8", "openvino", "torch"):
        engine = create_engine("wav2lip", outlier, "cpu", None, runtime, cache)
        assert engine.runtime.name == runtime and engine.gate is None
    assert create_engine("wav2lip", outlier, "cpu", None, "auto", cache).gate is not None
