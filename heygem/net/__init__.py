"""The network: resumable, verified downloads of one file from a list of URLs (``download``;
``partfile``: the ``.part`` it writes, and its errors).
Imports only ``heygem.media.files`` (digests, sizes); knows nothing of what the file is.

A layer beside ``faces``, below ``lipsync`` (whose weights it fetches): neither knows the other.
"""

from heygem import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "download": ["Download", "DownloadOptions", "DownloadProgress", "ProgressHook", "download"],
        "partfile": ["DestinationTaken", "DownloadError", "part_path"],
    },
)
