"""Package faces whose names load on first use, so `import lesps_deploy.x` stays cheap.

A face lists, one line per module, the names it offers (`module: name name ...`, the module absolute or
relative to the face with a leading dot); a name's module is imported the first time the name is read.
`lesps --help` and every command on an `.onnx`/`.engine` file so never import torch, however many
package faces they pass through. The import-cycle test reads the same tables as import edges.

Example:
    >>> _LAZY = '''
    ...     .dataset: IRSTDDataset Sample
    ...     .norm: Norm resolve_norm
    ... '''
    >>> __getattr__, __dir__, __all__ = lazy_face(__name__, _LAZY)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["parse_table", "lazy_face"]


def parse_table(table: str) -> dict[str, str]:
    """name -> module of a face table (`module: name name ...` per line)."""
    where: dict[str, str] = {}
    for line in table.strip().splitlines():
        module, _, names = line.partition(":")
        where.update(dict.fromkeys(names.split(), module.strip()))
    return where


def lazy_face(package: str, table: str) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """`__getattr__`, `__dir__` and `__all__` for the face `package` offering `table`'s names.

    Args:
        package: the face's `__name__`.
        table: one `module: name name ...` line per module (see the module docstring).
    """
    where = parse_table(table)

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name], package), name)
        setattr(sys.modules[package], name, value)  # later reads skip this hook
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__, list(where)
