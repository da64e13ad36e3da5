"""Package faces whose names load on first use, so `import lesps_deploy.x` stays cheap.

A face lists, per module, the names it offers; a name's module is imported the first time the name is
read. `lesps --help` and every command on an `.onnx`/`.engine` file so never import torch, however many
package faces they pass through. The import-cycle test reads the same `_LAZY` tables as import edges.

Example:
    >>> _LAZY = {".dataset": ("IRSTDDataset",), ".norm": ("Norm", "resolve_norm")}
    >>> __all__ = exported_names(_LAZY)
    >>> __getattr__, __dir__ = lazy_exports(__name__, _LAZY)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["exported_names", "lazy_exports"]

LazyTable = Mapping[str, Sequence[str]]


def exported_names(table: LazyTable) -> list[str]:
    """Every name of a lazy table, for the face's `__all__`."""
    return [name for names in table.values() for name in names]


def lazy_exports(package: str, table: LazyTable) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for the face `package` offering `table`'s names.

    Args:
        package: the face's `__name__`.
        table: module (absolute, or relative to `package` with a leading dot) -> names it defines.
    """
    where = {name: module for module, names in table.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name], package), name)
        setattr(sys.modules[package], name, value)  # later reads skip this hook
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__
