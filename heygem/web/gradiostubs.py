"""Import Gradio without rewriting its type stubs.

Gradio 6 regenerates a ``.pyi`` stub beside each of its component modules every time it is
imported (``gradio.component_meta.create_or_modify_pyi``, a help for editing Gradio itself):
it parses ~40 source files and may write into site-packages, about 3 s of CPU on each start
of the app on a 2-core machine, half of ``import gradio``. No setting turns it off, so
:func:`skip_stub_rewrite` (called by :mod:`heygem.web` before anything imports Gradio)
replaces that one function with a no-op as ``gradio.component_meta`` is loaded. The stubs
only help type checkers; nothing at run time reads them. A Gradio without the function is
left as it is.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys

MODULE = "gradio.component_meta"
FUNCTION = "create_or_modify_pyi"


def skip_stub_rewrite() -> None:
    """Install the finder once; no effect when Gradio's components are already imported."""
    if MODULE in sys.modules or any(isinstance(f, _StubRewriteSkipper) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _StubRewriteSkipper())


def _no_stub_rewrite(*args, **kwargs) -> None:
    return None


class _StubRewriteSkipper(importlib.abc.MetaPathFinder):
    """Finds ``gradio.component_meta`` as usual and patches it right after it runs, before
    any component class is made."""

    def find_spec(self, name, path, target=None):
        if name != MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            if hasattr(module, FUNCTION):
                setattr(module, FUNCTION, _no_stub_rewrite)

        spec.loader.exec_module = exec_module
        return spec
