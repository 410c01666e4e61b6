"""Media: ffmpeg, audio and its mel, video probe and decode, encode and mux, whole files.

Knows nothing of faces, models or jobs. Frames are (H, W, 3) uint8 BGR; audio is 16 kHz mono
float32.

- ``ffmpeg``: where the ffmpeg binary comes from;
- ``audio``: :func:`load_audio`, the Wav2Lip mel, the one frame<->mel window rule;
- ``narration``: :class:`Narration`, decoded as a stream, its mel made in blocks and kept on disk;
- ``video``: :func:`probe` (:class:`VideoInfo`), frames on a constant-rate timeline, frame order;
- ``encode``: H.264 segments, the final mux with the narration, publishing under a free name;
- ``files``: :func:`replacing` (whole-file writes) and :func:`file_digest`.
"""

from heygem import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "ffmpeg": ["ffmpeg_exe"],
        "audio": [
            "SAMPLE_RATE",
            "check_audio",
            "frame_count_for",
            "load_audio",
            "mel_spectrogram",
        ],
        "narration": ["Narration"],
        "video": ["VideoInfo", "check_extension", "frame_order", "probe", "read_frames"],
        "encode": ["EncodeError", "EncodeOptions", "SegmentWriter", "mux", "output_size", "publish"],
        "files": ["file_digest", "human_size", "replacing"],
    },
)
