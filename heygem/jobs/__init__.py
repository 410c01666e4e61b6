"""The durable queue: batches in SQLite, their files in a workspace, workers that run them.
Imports lipsync (and below).

- ``store`` + ``records``: :class:`JobStore`, one SQLite file (WAL) holding every batch;
  ``schema``: its tables and upgrades; ``dispatchstore``, ``notifystore``, ``presenterstore``:
  its scale-out, notification and presenter-library methods;
- ``workspace``: :class:`Workspace`, where an app instance keeps its files; safe names;
- ``work``: :class:`WorkItem` (what a worker is handed), :class:`EngineStatus`;
- ``runner``: :class:`ItemRunner`, one stored video with this process's models;
  ``trackprep``: a library presenter's face track, made ahead by the worker;
- ``loop`` + ``worker``: :class:`QueueLoop` and the in-process :class:`Worker`;
- ``housekeeping``: manifests, retention, stale files; ``notify``: notifications, retried;
  ``diskspace``.
"""

from heygem import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "store": ["JobStore"],
        "records": ["Batch", "Item", "NewItem", "Outcome"],
        "presenterstore": ["NameTakenError", "Presenter"],
        "trackprep": ["prepare_next_track"],
        "workspace": ["DEFAULT_LOG_NAME", "Workspace", "safe_name"],
        "work": ["EngineStatus", "WorkItem", "work_item"],
        "runner": ["ItemRunner"],
        "loop": ["QueueLoop"],
        "worker": ["Worker"],
        "housekeeping": [
            "batch_manifest",
            "delete_batch_files",
            "remove_partial_files",
            "remove_stale_files",
            "sweep_retention",
            "write_batch_manifest",
            "write_batch_record",
        ],
        "diskspace": ["DiskFullError", "check_free_space", "needed_bytes"],
        "notify": ["Notifier", "url_problem"],
    },
)
