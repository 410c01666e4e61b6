"""HeyGem: lip-sync one narration onto many presenter videos.

The package logs through ``logging.getLogger("heygem")`` and never configures handlers;
entry points (``app.py``, ``python -m heygem``) do.
"""

__version__ = "0.1.0"
