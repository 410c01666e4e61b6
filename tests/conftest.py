"""Shared fixtures: generated media (the astronaut as the real face) and a random-weight model;
how the parallel run (scripts/test.sh: pytest-xdist, --dist loadfile) shares the cores."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from pathlib import Path

import pytest

# The slowest test files, slowest first (the --durations table of a 2-core run). The parallel
# run hands whole files to its workers in collection order (--no-loadscope-reorder), so a long
# file never starts last while the other worker idles. Scheduling only: a file not listed runs
# after these, in its usual order.
SLOWEST_FIRST = [
    "tests/test_bad_inputs.py",
    "tests/web/test_browser.py",
    "tests/web/test_browser_course.py",
    "tests/web/test_app.py",
    "tests/jobs/test_faults.py",
    "tests/cluster/test_cluster.py",
    "tests/web/test_weights_app.py",
    "tests/lipsync/test_runtimes.py",
    "tests/lipsync/test_model.py",
    "tests/test_models_cli.py",
    "tests/jobs/test_runner.py",
    "tests/test_cli.py",
    "tests/test_cli_musetalk.py",
    "tests/lipsync/test_musetalk.py",
    "tests/test_start_app.py",
    "tests/lipsync/test_parity.py",
    "tests/lipsync/test_pipeline.py",
]


def _share_the_cores() -> None:
    """Each of the N workers (and the apps and CLIs it starts) gets 1/N of the cores for
    OpenMP, torch's thread pool, before anything imports torch. With a thread per core each,
    the workers' pools oversubscribed the cores and spun: the four torchscript tests of
    test_model.py took 224 s (57 s of CPU) beside other work, 65 s (25 s) with one thread."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, len(os.sched_getaffinity(0)) // workers)))


_share_the_cores()

from heygem.testing import synthetic  # noqa: E402 - after the thread settings
from heygem.testing.processes import App  # noqa: E402


def pytest_collection_modifyitems(config, items):
    rank = {path: k for k, path in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable


@pytest.fixture(autouse=True)
def _heygem_logs(caplog):
    caplog.set_level(logging.INFO, logger="heygem")


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Face tracks and exported models go to a folder of this test session, never ~/.cache
    (subprocesses inherit it through the environment)."""
    folder = tmp_path_factory.mktemp("heygem-cache")
    before = os.environ.get("HEYGEM_CACHE_DIR")
    os.environ["HEYGEM_CACHE_DIR"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("HEYGEM_CACHE_DIR", None)
    else:
        os.environ["HEYGEM_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> Path:
    """A session folder of generated media, created on first use of each file."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def speech(media) -> Path:
    """3 s of speech-like narration, 16 kHz mono WAV."""
    return synthetic.speech_wav(media / "speech.wav", 3.0)


@pytest.fixture(scope="session")
def face_clip(media) -> Path:
    """2 s, 640x360, 25 fps: the astronaut drifting across a textured backdrop."""
    return synthetic.face_video(media / "face clip.mp4", 2.0)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The real app.py (loudness engine, CPU) on a free port with a workspace of its own, one
    per test module."""
    running = App(tmp_path_factory.mktemp("workspace"))
    yield running.wait_ready()
    running.stop()


@pytest.fixture(scope="session")
def random_checkpoint(tmp_path_factory, _private_cache) -> Path:
    """A randomly initialised Wav2Lip (seed 0) saved in the official checkpoint format.

    Its int8 gate verdict (what ``--runtime auto`` runs on a CPU) and the exports it needs are
    measured once per run, like :func:`spread_model`'s, and each worker's cache gets them as
    links: the apps and workers the tests start with it read the verdict instead of
    calibrating inside their start-up timeouts."""
    import importlib.util

    folder = run_folder(tmp_path_factory) / "random-model"
    folder.mkdir(exist_ok=True)
    checkpoint, shared = folder / "wav2lip_random.pth", folder / "cache"
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker makes and measures it, the others wait
        if not checkpoint.exists():
            import torch

            from heygem.lipsync.checkpoint import save_checkpoint
            from heygem.lipsync.model import Wav2Lip

            torch.manual_seed(0)
            save_checkpoint(Wav2Lip(), folder / "partial.pth", data_parallel_prefix=True)
            (folder / "partial.pth").replace(checkpoint)
        if importlib.util.find_spec("openvino") is not None:
            from heygem.lipsync.gate import int8_verdict
            from heygem.lipsync.runtimes import export_folder

            int8_verdict(checkpoint, shared)  # read back when another worker measured it
            _link_files(export_folder(shared), export_folder(_private_cache))
    return checkpoint


def _link_files(source: Path, destination: Path) -> None:
    """Each file of ``source`` in ``destination`` too, as a hard link (a copy across devices).
    Exports are replaced, never written in place, so a link is never changed under a worker."""
    destination.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.is_file() and not (destination / path.name).exists():
            try:
                os.link(path, destination / path.name)
            except OSError:
                shutil.copy2(path, destination / path.name)


def run_folder(tmp_path_factory) -> Path:
    """A folder that every xdist worker of this run shares (the run's base temp folder; a
    plain run's own), for what is made once per run."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def spread_model(tmp_path_factory) -> tuple[Path, Path]:
    """(checkpoint, cache folder): :func:`heygem.testing.models.random_wav2lip` (seed 1, output
    gain 30: faces that span the pixel range) in the official format, and the folder its ONNX,
    int8 and OpenVINO exports go to. Made once per run: the runtime, OpenVINO and parity tests
    of every worker share the checkpoint and its exports (written atomically, keyed by the
    checkpoint's digest)."""
    from heygem.testing.models import random_checkpoint

    folder = run_folder(tmp_path_factory) / "spread-model"
    folder.mkdir(exist_ok=True)
    checkpoint = folder / "wav2lip_spread.pth"
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker writes it, the others wait for it
        if not checkpoint.exists():
            random_checkpoint(folder / "partial.pth", seed=1, output_gain=30).replace(checkpoint)
    return checkpoint, folder / "cache"


def idle_loop(store, workspace, notify_url=None):
    """The queue loop's real face (cancel, retry, a batch's record and notification) with no
    thread started and no work done: what is submitted stays queued."""
    from heygem.jobs import EngineStatus, QueueLoop

    class IdleLoop(QueueLoop):
        status = EngineStatus()

        def step(self) -> bool:
            return False

    return IdleLoop(store, workspace, notify_url)


@pytest.fixture
def service(tmp_path):
    """The web layer's Service on a real store and workspace, with no worker running."""
    from heygem.jobs import JobStore, Workspace
    from heygem.web.service import Service

    workspace = Workspace(tmp_path / "ws").create()
    store = JobStore(workspace.db)
    loop = idle_loop(store, workspace)
    yield Service(workspace, store, loop)
    loop.stop()
