"""The face enhancer: a face restorer after the lip-sync, steady and deterministic. Imports
only ``heygem.faces`` and ``heygem.media`` (and the leaves); the lip-sync layer above calls it
after any engine's render, before encoding.

- ``gfpgan``, ``restoreformer``: the two restorer networks, defined here (GFPGAN v1.4 clean;
  RestoreFormer++), loading the official files strictly (``checkpoint``);
- ``runtimes``: where a restorer runs (torch, OpenVINO f32 / bf16), loaded once per process;
- ``align``: five steady points -> FFHQ-512 similarity, warp, the restorer's detail back;
- ``enhancer``: :class:`FaceEnhancer`, faces of a batch through a restorer onto their crops;
- ``choice``: per video, on or off and which (the ``auto`` rule), and what it would cost.
"""

from heygem import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "choice": [
            "AUTO_MIN_UPSCALE",
            "ENHANCER_FILES",
            "ENHANCER_MODELS",
            "EnhancerChoice",
            "EnhancerUnavailable",
            "choose",
            "cost_text",
            "enhancer_checkpoint",
        ],
        "checkpoint": ["EnhancerLoadError", "read_restorer", "save_official"],
        "runtimes": ["clear_restorers", "load_restorer", "resolve_runtime"],
        "enhancer": ["FaceEnhancer", "FaceToEnhance", "Restored"],
        "align": ["FFHQ_TEMPLATE", "aligned_face", "restored_crop", "similarity", "to_crop"],
    },
)
