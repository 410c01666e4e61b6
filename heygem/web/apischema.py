"""The REST API's documents as pydantic models: what /api/v1/openapi.json describes.

The routes answer plain dicts (no validation on the hot path); the tests check every answer
against these models, which forbid unknown fields, so the documentation cannot drift.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Strict):
    code: str = Field(description="stable machine-readable reason, e.g. not_found, conflict, invalid_setting")
    message: str = Field(description="one line for a person: which file, key or batch, and why")
    key: str | None = Field(None, description="the setting at fault (invalid_setting only)")


class ErrorBody(Strict):
    error: ErrorDetail


class Created(Strict):
    id: str = Field(description="the batch id")
    url: str = Field(description="the batch's status URL (also the Location header)")


class ItemDoc(Strict):
    video: str = Field(description="the name the video was uploaded with")
    audio: str = Field(description="the narration laid over it (its uploaded name)")
    status: str = Field(description="queued, running, done, failed or cancelled")
    progress: float = Field(description="0-1 of this video")
    stage: str = Field(description="probing, detecting, lipsync, muxing or done while it runs")
    chunk: int
    chunks: int
    output: str | None = Field(description="the finished file's path on the server")
    output_url: str | None = Field(description="where to download it (Range requests work)")
    error: str | None = Field(description="one-line reason when failed or cancelled")
    frames: int | None
    frames_without_face: int | None
    track_cached: bool | None = Field(description="the face track came from the cache (no detection)")
    detected_frames: int | None = Field(description="frames the face detector ran on")
    detect_seconds: float | None = Field(description="seconds spent on the face track")
    seconds: float | None = Field(description="wall time of the last attempt")
    attempts: int
    resumed_chunks: int | None = Field(description="of its last run: chunks kept from an earlier one")
    chunk_attempts: list[int] | None = Field(description="of its last run: tries per chunk, 0 for a kept one")
    worker: str | None = Field(description="the machine that made it (scale-out mode)")
    engine: str | None = Field(description="the engine that made it: wav2lip, musetalk or loudness")
    runtime: str | None = Field(description="where its network ran: openvino-int8, openvino, torch...")
    detector: str | None = Field(description="the face detector that made it")
    enhancer: str | None = Field(description="the face enhancer that ran: gfpgan, restoreformer or none")
    presenter: str | None = Field(
        description="the library presenter it used (its id); null: an uploaded video"
    )
    started: float | None = Field(description="unix time")
    finished: float | None = Field(description="unix time")


class BatchDoc(Strict):
    batch_id: str
    url: str
    archive_url: str = Field(description="every finished output and batch.json as one zip")
    seq: int = Field(description="submission order")
    state: str = Field(description="queued, running, done, partial, failed or cancelled")
    created: float
    finished: float | None
    audio: str | None = Field(description="the narration's uploaded name; null with several")
    audios: list[str] = Field(description="every narration of the batch")
    unmatched: list[str] = Field(description="files the pairing left out")
    settings: dict = Field(description="the settings the batch was given")
    counts: dict[str, int] = Field(description="videos per status")
    progress: float = Field(description="0-1 of the whole batch")
    current: str | None = Field(description="the video running now")
    current_audio: str | None = Field(description="the narration of the pair running now")
    current_index: int | None = Field(description="its position, 1-based")
    total: int
    queue_position: int = Field(description="unfinished batches ahead of this one")
    eta_seconds: float | None
    models_state: str = Field(description="the worker's models: loading, ready or error")
    models_error: str | None = Field(description="why the models failed to load (what waits on them)")
    engine: str = Field(
        description="deprecated, models_state's old name (removed after 0.3)", deprecated=True
    )
    engine_error: str | None = Field(description="deprecated, models_error's old name", deprecated=True)
    notification: dict | None = Field(description="the --notify-url POST: state, attempts, error")
    worker_state: str = Field(description="ok, retrying or down: whether the queue moves")
    worker_error: str | None = Field(description="why it retries or is down")
    items: list[ItemDoc]


class BatchSummary(Strict):
    id: str
    url: str
    seq: int
    state: str
    created: float
    finished: float | None
    audio: str = Field(description="the first narration's uploaded name")
    audios: list[str] = Field(description="every narration of the batch")
    total: int
    counts: dict[str, int]
    progress: float


class BatchList(Strict):
    batches: list[BatchSummary] = Field(description="newest first")


class Int8GateDoc(Strict):
    passed: bool = Field(description="int8 stayed within both bars on held-out frames")
    runtime: str = Field(description="what auto runs for these weights: openvino-int8, or the float runtime")
    mean: float = Field(description="mean absolute difference of int8's faces from f32's, pixel levels")
    p99_9: float = Field(description="99.9th percentile of those differences, pixel levels")
    max: int = Field(description="largest difference, pixel levels")
    frames: int = Field(description="held-out frames compared")
    mean_max: float = Field(description="the bar on the mean")
    p99_9_max: float = Field(description="the bar on the 99.9th percentile")
    checkpoint_sha256: str = Field(description="the weights judged")
    isa: str = Field(description="the CPU's int8 instruction set it was measured with")
    measured: str = Field(description="when, local time, ISO 8601 (kept per checkpoint, not redone)")
    seconds: float = Field(description="how long calibrating and measuring took")


class EngineDoc(Strict):
    state: str = Field(description="loading, ready or error")
    engine: str
    detector: str
    device: str
    runtime: str = Field(
        description="where the network runs: openvino-int8, openvino, torch...; '' for loudness"
    )
    int8_gate: Int8GateDoc | None = Field(description="the int8 gate's verdict, when --runtime auto chose")
    error: str | None


class QueueDoc(Strict):
    batches: int = Field(description="batches not finished yet")
    videos: int = Field(description="videos queued or running")


class DiskDoc(Strict):
    free_bytes: int
    low: bool = Field(description="under 10 GB free")


class Health(Strict):
    ok: bool = Field(description="the worker runs, the queue moves and the engine has not failed (else 503)")
    engine: EngineDoc
    worker_alive: bool
    worker_state: str = Field(description="ok, retrying (a round failed) or down (rounds keep failing)")
    worker_error: str | None
    queue: QueueDoc
    disk: DiskDoc


class TrackDoc(Strict):
    state: str = Field(description="queued, running, done, failed, or later (scale-out: made on first use)")
    progress: float = Field(description="0-1 while it is made")
    error: str | None = Field(description="why it could not be made (its batches detect faces themselves)")
    frames: int | None = Field(description="frames the made track covers")
    seconds: float | None = Field(description="wall time it took")


class PresenterDoc(Strict):
    id: str = Field(description="the first 16 hex digits of its file's SHA-256")
    name: str = Field(description="unique in the library (case ignored); its outputs are named after it")
    url: str
    file_name: str = Field(description="the name it was uploaded with")
    size: int = Field(description="bytes, stored once")
    created: float = Field(description="unix time")
    width: int | None
    height: int | None
    duration: float | None = Field(description="seconds; null for a still image")
    settings: dict = Field(
        description="its own settings over a batch's: face_point, pads, mask, mask_size, mask_feather"
    )
    thumbnail_url: str | None = Field(description="a small JPEG of its first frame")
    track: TrackDoc = Field(description="its face track, made in the background when it is added")
    used_by: list[str] = Field(
        description="batches queued or running with it (it cannot be deleted meanwhile)"
    )


class PresenterCreated(PresenterDoc):
    existing: bool = Field(
        description="true: the same file was in the library already (this is that presenter)"
    )


class PresenterList(Strict):
    presenters: list[PresenterDoc] = Field(description="by name")


class PresenterChange(Strict):
    name: str | None = Field(None, description="a new name")
    settings: dict | None = Field(
        None,
        description='settings to change, e.g. {"face_point": [640, 300]}; a key given as null is dropped',
    )


def errors(*statuses: int) -> dict:
    """The ``responses`` entry of a route for these error statuses."""
    return {status: {"model": ErrorBody} for status in statuses}
