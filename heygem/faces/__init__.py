"""Faces: find them and follow one through a video (pass 1). Imports only ``heygem.media``.

- ``detectors``: :class:`Detector` (BlazeFace, S3FD) and the registry;
- ``blazeface``: the BlazeFace network through OpenCV DNN, with its box math;
- ``mesh``: the face mesh (:class:`Landmarker`): confirms a face, finds its lips, jaw line and
  the five points a restorer is aligned by;
- ``track``: :class:`FaceTrack` (one box, lip box and jaw line per frame), :class:`TrackBuilder`;
- ``cleanup``: outliers, detector misses, too-brief faces; ``steady``: smoothing and holding;
- ``trackpass``: :func:`face_track`, a video's track from keyframe detection or the cache;
- ``trackcache``: :class:`TrackCache`, tracks on disk keyed by the video's bytes.
"""

from heygem import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "blazeface": ["iou"],
        "mesh": ["FaceShape", "JAW_POINTS", "LANDMARKS", "Landmarker", "five_points"],
        "detectors": [
            "Face",
            "Detector",
            "BlazeFaceDetector",
            "S3FDDetector",
            "S3FD_WEIGHTS",
            "available_detectors",
            "create_detector",
            "find_boxes",
            "find_faces",
            "resolve_detector_name",
        ],
        "track": ["FaceTrack", "TrackBuilder", "choose_face"],
        "trackpass": ["TrackResult", "TrackSettings", "detection_size", "face_track"],
        "trackcache": ["TrackCache"],
    },
)
