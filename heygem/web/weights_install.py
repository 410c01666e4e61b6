"""Model weights fetched by the running app, in a background thread, while batches go on.

One download at a time per app. Its state is plain data (:class:`DownloadState`) that the page
polls with its timer and the API returns. Once a Wav2Lip checkpoint is installed and verified,
the worker is told (``on_installed``); it re-resolves engine auto before its next video, so
the app moves from the loudness engine to wav2lip without a restart. Face enhancer weights
need no switch: each video looks for them when it decides on its enhancer. A face detector's
weights are used from the app's next start: the state says so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from pathlib import Path

from heygem.errors import HeygemError
from heygem.lipsync import (
    ModelFile,
    ModelsManifestError,
    OtherWeightsError,
    WeightState,
    check_model,
    install_model,
    load_table,
    manual_instructions,
    select_models,
    wav2lip_model,
)

log = logging.getLogger("heygem")


class DownloadPhase(StrEnum):
    IDLE = "idle"  # nothing asked yet
    DOWNLOADING = "downloading"
    SWITCHING = "switching"  # installed and verified; the worker takes it up before its next video
    INSTALLED = "installed"  # installed and verified (Wav2Lip: the worker has re-resolved its engine)
    FAILED = "failed"  # every URL failed: ``manual`` says how to fetch it by hand


@dataclass(frozen=True)
class DownloadState:
    phase: DownloadPhase = DownloadPhase.IDLE
    model: str = ""  # the model's name in the table
    file: str = ""  # its file name in the checkpoint folder
    done_bytes: int = 0  # in the .part so far
    total_bytes: int = 0
    try_from: int = 0  # bytes the current try resumed from
    try_started: float | None = None  # unix time the current try began
    error: str | None = None  # why it failed, or why the engine did not switch
    manual: str | None = None  # on failure: file, size, SHA-256, URLs, where to put it
    engine: str = ""  # the worker's engine after the switch
    started: float | None = None  # unix time
    finished: float | None = None
    kind: str = ""  # wav2lip (used at once), enhancer (the next video) or detector (next start)

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 0.0

    @property
    def rate(self) -> float | None:
        """Bytes per second over the current try until now (so a stalled server shows)."""
        seconds = time.time() - self.try_started if self.try_started else 0.0
        if self.phase != DownloadPhase.DOWNLOADING or seconds < 0.5:
            return None
        return (self.done_bytes - self.try_from) / seconds

    @property
    def eta_seconds(self) -> float | None:
        rate = self.rate
        return (self.total_bytes - self.done_bytes) / rate if rate else None

    def as_dict(self) -> dict:
        """For the API: every field, plus ``progress`` (0-1), ``rate`` (bytes/s), ``eta_seconds``."""
        extra = {"progress": round(self.fraction, 4), "rate": self.rate, "eta_seconds": self.eta_seconds}
        return {**asdict(self), "phase": str(self.phase), **extra}


OnInstalled = Callable[
    [Callable], None
]  # worker.weights_installed(then): then(EngineStatus) after the switch


class WeightsInstaller:
    def __init__(self, checkpoint_dir: Path, on_installed: OnInstalled, manifest: Path | None = None):
        """``on_installed(then)`` tells the worker a checkpoint arrived and calls ``then`` with its
        engine status once it has switched; ``manifest`` replaces the built-in models table."""
        self.checkpoint_dir = Path(checkpoint_dir)
        self._on_installed = on_installed
        self._lock = threading.Lock()
        self._state = DownloadState()
        try:
            self.table: tuple[ModelFile, ...] = load_table(manifest)
            self.table_error = None
        except ModelsManifestError as exc:
            log.error("%s: the app offers no downloads", exc)
            self.table, self.table_error = (), str(exc)

    @property
    def offered(self) -> ModelFile | None:
        """The Wav2Lip weights the app offers while the loudness engine runs."""
        return wav2lip_model(self.table)

    @property
    def enhancer_offered(self) -> ModelFile | None:
        """The first face enhancer in the table whose file is not in the checkpoint folder."""
        missing = [
            m for m in self.table if m.kind == "enhancer" and not (self.checkpoint_dir / m.file).is_file()
        ]
        return missing[0] if missing else None

    @property
    def state(self) -> DownloadState:
        return self._state

    def start(self, name: str | None, accepted: bool) -> DownloadState:
        """Begin downloading ``name`` (default: :attr:`offered`) in the background; one at a
        time, so while one runs this returns its state. Raises :class:`HeygemError` without
        consent to the licence, for an unknown model, or when another file is under its name
        (:class:`~heygem.lipsync.weights.OtherWeightsError`: the app never replaces it)."""
        model = self._model(name)
        if accepted is not True:  # "false" from a client is no consent
            raise HeygemError(
                f"{model.file} is downloaded only after its licence is accepted: {model.licence}"
            )
        check = check_model(model, self.checkpoint_dir)
        if check.state in (WeightState.WRONG_SIZE, WeightState.WRONG_HASH):
            raise OtherWeightsError(check)
        with self._lock:
            if self._state.phase in (DownloadPhase.DOWNLOADING, DownloadPhase.SWITCHING):
                return self._state
            self._state = DownloadState(
                DownloadPhase.DOWNLOADING,
                model.name,
                model.file,
                0,
                model.size,
                started=time.time(),
                kind=model.kind,
            )
        log.info("downloading %s (%s) into %s", model.file, model.size_text, self.checkpoint_dir)
        threading.Thread(target=self._run, args=(model,), name="heygem-download", daemon=True).start()
        return self._state

    def _model(self, name: str | None) -> ModelFile:
        if self.table_error:
            raise HeygemError(self.table_error)
        model = select_models(self.table, [name])[0] if name else self.offered
        if model is None:
            raise HeygemError("the models table has no Wav2Lip weights to download")
        return model

    def _run(self, model: ModelFile) -> None:
        def progress(p) -> None:
            if p.resumed != self._state.try_from or self._state.try_started is None:  # a new try
                self._update(try_from=p.resumed, try_started=time.time())
            self._update(done_bytes=p.done, total_bytes=p.total)

        try:
            path = install_model(model, self.checkpoint_dir, progress)
        except HeygemError as exc:  # DownloadError, or the folder cannot be written
            log.error("%s; fetch it by hand:\n%s", exc, manual_instructions(model, self.checkpoint_dir))
            manual = manual_instructions(model, self.checkpoint_dir)
            self._update(phase=DownloadPhase.FAILED, error=str(exc), manual=manual, finished=time.time())
            return
        except Exception as exc:  # a bug: said in the page and the log, not swallowed
            log.exception("download of %s failed", model.file)
            self._update(
                phase=DownloadPhase.FAILED, error=f"{type(exc).__name__}: {exc}", finished=time.time()
            )
            return
        log.info("%s installed and verified (%s, SHA-256 %s)", path, model.size_text, model.sha256)
        if model.kind != "wav2lip":  # no engine to switch: the next video or the next start uses it
            self._update(phase=DownloadPhase.INSTALLED, done_bytes=model.size, finished=time.time())
            return
        self._update(phase=DownloadPhase.SWITCHING, done_bytes=model.size)
        self._on_installed(self._switched)

    def _switched(self, status) -> None:
        """The worker's engine status after it re-resolved engine auto."""
        error = status.error
        if status.engine != "wav2lip" and not error:
            error = f"the app was started with --engine {status.engine}"
        self._update(phase=DownloadPhase.INSTALLED, engine=status.engine, error=error, finished=time.time())

    def _update(self, **changes) -> None:
        with self._lock:
            self._state = replace(self._state, **changes)
