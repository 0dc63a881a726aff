"""Import wokkel 18.0.0 on current Twisted.

wokkel 18.0.0 (the last release, 2018) imports three names that Twisted has
since removed: ``_PY3`` and ``u`` from ``twisted.python.compat`` and the
module ``twisted.python.constants`` (now the separate ``constantly``
package).  :func:`install` provides them, once, before wokkel is imported.
This is the only place in mongoose that patches another library; import
wokkel modules through :func:`wokkel_module` so the shim is always applied.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

__all__ = ["install", "wokkel_module"]


def _identity(text):
    return text


def install() -> None:
    """Provide the names wokkel 18.0.0 expects from old Twisted (idempotent)."""
    from twisted.python import compat

    if not hasattr(compat, "_PY3"):
        compat._PY3 = True
    if not hasattr(compat, "u"):
        compat.u = _identity
    if "twisted.python.constants" not in sys.modules:
        try:
            importlib.import_module("twisted.python.constants")
        except ImportError:
            import constantly

            sys.modules["twisted.python.constants"] = constantly


def wokkel_module(name: str) -> ModuleType:
    """Import ``wokkel.<name>`` with the shim installed, e.g. ``wokkel_module("data_form")``."""
    install()
    return importlib.import_module(f"wokkel.{name}")
