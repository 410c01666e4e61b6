"""Lip-sync one video end to end (pass 2 and the whole pipeline). Imports faces, net and media.

- ``model``, ``checkpoint``: our Wav2Lip network and the official checkpoint formats (classic
  and TorchScript); ``weights``: the downloadable weights as data (``models.json``), their
  install and verification, and the file names engine auto looks for;
- ``runtimes``: where the network runs (torch, ONNX, OpenVINO, int8), each loaded once per
  process; ``calibration`` is the int8 calibration data; ``gate`` decides whether ``auto``
  runs int8 for a checkpoint, on the inputs of ``heldout``;
- ``engines``: the :class:`Engine` interface, Wav2Lip's engine, choosing one; ``loudness``
  the weight-free engine; ``blend`` the crop and paste around the model;
- ``render`` + ``stages``: one chunk as three overlapping stages; ``heap``: flat memory;
- ``masks``: which pixels of a face the new face replaces (modes, size, feather, overlay);
- ``pipeline``: :class:`Syncer`, one video from probe to mux; ``options``: its settings;
  ``results``: its progress and :class:`VideoResult`;
  ``loading``: :func:`load_syncer`; ``batch`` + ``manifest``: the CLI's batch and ``batch.json``;
- ``trialrender``: :class:`TrialRender`, a video's first seconds before its batch (the app's
  "Preview 2 s") and its first frame's faces;
- ``pairing`` + ``pairfile``: a batch as (narration, video) pairs, by rule or from a manifest
  (pure, no model code: the app host uses them too).
"""

from heygem import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "engines": [
            "Engine",
            "EngineError",
            "FaceRegion",
            "create_engine",
            "gate_of",
            "resolve_engine",
            "runtime_of",
        ],
        "weights": [
            "DEFAULT_MODEL",
            "WAV2LIP_FILES",
            "ModelsManifestError",
            "ModelFile",
            "OtherWeightsError",
            "WeightCheck",
            "WeightState",
            "check_model",
            "find_checkpoint",
            "install_model",
            "keep_aside",
            "load_table",
            "manual_instructions",
            "select_models",
            "wav2lip_model",
        ],
        "checkpoint": ["ModelLoadError"],
        "options": ["EngineSettings", "SyncOptions", "sync_options"],
        "pipeline": ["Syncer"],
        "results": ["Progress", "ProgressHook", "VideoResult", "failure"],
        "loading": ["load_syncer", "resolve_device"],
        "batch": ["BatchJob", "BatchResult", "plan_jobs", "run_batch"],
        "pairing": [
            "Pair",
            "PairError",
            "PairPlan",
            "output_stems",
            "pair_files",
            "run_order",
            "unique_stem",
        ],
        "pairfile": ["PairManifestError", "read_plan"],
        "manifest": ["Manifest", "ManifestEntry", "write_manifest"],
        "heap": ["keep_heap_flat"],
        "trialrender": ["FirstFrame", "TrialRender", "TrialResult"],
    },
)
