"""Files: atomic writing (nothing a user made is ever left half-written), strict JSON, hashing, the cache.

JSON: every JSON the project writes goes through `json_text`, which maps non-finite floats (NaN,
Infinity: a mean over no frames, a percentile of no samples) to `null`, so a strict parser reads all
of it. `json.dumps` alone would write the bare tokens `NaN` and `Infinity`, which are not JSON.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_path",
    "find_temp_files",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "json_safe",
    "json_text",
    "sha256_file",
    "cache_dir",
]


_TEMP_MARK = ".tmp"
# `atomic_path`'s temporary names: "." + target name + "." + mkstemp's 8 random characters + ".tmp...".
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp")


@contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    The temporary file keeps the target's suffix (or `suffix`) so writers that pick a format
    from the extension (OpenCV, PIL, torch) behave as for the final name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.",
            suffix=_TEMP_MARK + (suffix if suffix is not None else "".join(path.suffixes)),
            dir=path.parent,
        )
    except OSError as err:  # read-only, no permission, ...: about the file asked for, not our temporary
        raise OSError(err.errno, err.strerror, str(path)) from err
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give the result the mode a plain open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    except OSError as err:
        if err.errno is not None and (err.filename is None or str(err.filename) == str(tmp_path)):
            # write() on a full disk names no file, the rename names our temporary one: name the file
            # the user asked for.
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def find_temp_files(folder: str | os.PathLike[str], recursive: bool = True) -> list[Path]:
    """Temporary files `atomic_path` left in `folder` (a process killed before its rename), sorted."""
    root = Path(folder)
    if not root.is_dir():
        return []
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        found += [Path(dirpath, n) for n in filenames if _TEMP_NAME.match(n)]
        if not recursive:
            dirnames.clear()
    return sorted(found)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes | memoryview) -> Path:
    """Write `data` to `path` atomically and return the path."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically and return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def json_safe(obj: Any) -> Any:
    """`obj` with every non-finite float (NaN, +-Infinity) replaced by None, and NumPy scalars and
    arrays as Python numbers and lists; other values are returned as they are."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: json_safe(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(value) for value in obj]
    item = getattr(obj, "item", None)  # NumPy scalars and 0-d arrays
    if callable(item) and getattr(obj, "ndim", None) == 0:
        return json_safe(item())
    tolist = getattr(obj, "tolist", None)  # NumPy arrays
    if callable(tolist) and getattr(obj, "ndim", 0) > 0:
        return json_safe(tolist())
    return obj


def json_text(
    obj: Any, indent: int | None = None, compact: bool = False, default: Any = None, sort_keys: bool = False
) -> str:
    """Strict JSON of `obj` (non-finite numbers become null; see `json_safe`); `compact`: no spaces."""
    separators = (",", ":") if compact else None
    return json.dumps(
        json_safe(obj),
        indent=indent,
        separators=separators,
        allow_nan=False,
        default=default,
        sort_keys=sort_keys,
    )


def atomic_write_json(path: str | os.PathLike[str], obj: Any, indent: int = 2) -> Path:
    """Write `obj` as strict JSON (`json_text`) to `path` atomically and return the path."""
    return atomic_write_text(path, json_text(obj, indent=indent) + "\n")


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def cache_dir(*parts: str) -> Path:
    """`$XDG_CACHE_HOME/lesps-deploy/<parts>` (default `~/.cache/lesps-deploy/...`); not created here."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root, "lesps-deploy", *parts)
