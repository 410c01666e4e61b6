"""The shape of the project: a thin app host, a headless OpenCV, run-time dependencies only at run time."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ML_STACK = ("torch", "cv2", "av", "librosa", "diffusers", "transformers")
DEV_TOOLS = {"pytest", "pytest-xdist", "ruff", "playwright", "import-linter"}


@pytest.mark.parametrize(
    "module", ["heygem.web.ui", "heygem.web.server", "heygem.web.rest", "heygem.cluster.dispatcher"]
)
def test_the_app_host_modules_load_no_ml_stack(module):
    """Building the UI (or dispatching to Celery) imports none of torch, OpenCV, PyAV, librosa,
    diffusers, transformers (the musetalk engine's: only a worker loads them)."""
    code = f"import sys, {module}; print(' '.join(m for m in {ML_STACK!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.split() == []


def test_the_installed_opencv_links_no_libgl():
    """opencv-python's cv2 needs libGL.so.1 and glib, which slim servers lack; the headless one does not."""
    import cv2

    if not shutil.which("ldd"):
        pytest.skip("ldd is not installed")
    libraries = sorted(Path(cv2.__file__).parent.glob("cv2*.so"))
    assert libraries, f"no compiled cv2 module under {Path(cv2.__file__).parent}"
    linked = subprocess.run(["ldd", str(libraries[0])], capture_output=True, text=True, check=True).stdout
    assert "libc.so" in linked  # ldd really listed the libraries
    assert not re.search(r"libGL\.so|libgthread|libglib", linked), linked


def _names(requirements: Path) -> set[str]:
    lines = [line.split("#")[0].strip() for line in requirements.read_text().splitlines()]
    return {re.split(r"[=<>~\[ ]", line)[0].lower() for line in lines if line and not line.startswith("-")}


def test_run_time_requirements_hold_no_test_tools():
    runtime, dev = _names(ROOT / "requirements.txt"), _names(ROOT / "requirements-dev.txt")
    assert dev >= DEV_TOOLS and not DEV_TOOLS & runtime
    assert "opencv-python" not in runtime and "opencv-python-headless" in runtime
    start = (ROOT / "start_app.sh").read_text()
    assert "scripts/setup.sh" in start and not re.search(r"setup\.sh .*--dev\b", start)  # no test tools
    assert "scripts/setup.sh --dev" in (ROOT / "scripts" / "test.sh").read_text()


def test_a_name_is_exported_by_one_module_of_a_layer():
    """Two modules of a layer exporting one name would shadow each other (it happened: two
    ManifestErrors); the export table refuses it when the layer is imported."""
    from heygem import lazy_exports

    with pytest.raises(ImportError, match="exports 'ManifestError' from both weights and pairfile"):
        lazy_exports("heygem.lipsync", {"weights": ["ManifestError"], "pairfile": ["ManifestError"]})
    for layer in ("media", "net", "faces", "enhance", "lipsync", "jobs", "cluster", "web"):
        __import__(f"heygem.{layer}")  # each real table is clean
