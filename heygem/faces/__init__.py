"""Faces: find them and follow one through a video (pass 1). Imports only ``heygem.media``.

- ``detectors``: :class:`Detector` (BlazeFace, S3FD, a fixed-box double) and the registry;
- ``blazeface``: the BlazeFace and face-mesh networks through OpenCV DNN, with their box math;
- ``track``: :class:`FaceTrack` (one box and mouth per frame) and :class:`TrackBuilder`;
- ``trackpass``: :func:`face_track`, a video's track from keyframe detection or the cache;
- ``trackcache``: :class:`TrackCache`, tracks on disk keyed by the video's bytes.
"""

from heygem import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "blazeface": ["Landmarker", "iou"],
        "detectors": [
            "Face",
            "Detector",
            "BlazeFaceDetector",
            "S3FDDetector",
            "FixedDetector",
            "S3FD_WEIGHTS",
            "available_detectors",
            "create_detector",
            "find_boxes",
            "resolve_detector_name",
        ],
        "track": ["FaceTrack", "TrackBuilder"],
        "trackpass": ["TrackResult", "TrackSettings", "detection_size", "face_track"],
        "trackcache": ["TrackCache"],
    },
)
