"""Files lesps writes into a user's folders (labels, pseudo-masks) are never written over someone else's.

A command that writes into a dataset (`lesps labels` into `masks_centroid/`, `masks_coarse/`,
`masks_tophat/`, ...) keeps a manifest there, `.lesps-written.json`: the name and sha256 of every file
it wrote. Before writing anything it checks the files it is about to replace: a file that is not in
the manifest, or that changed since lesps wrote it (edited by hand, or the dataset's released labels),
stops the command with one line naming how many and the first one, and nothing is written; `--force`
overwrites them. Label folders made before the manifest existed need `--force` once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from lesps_deploy.errors import DataError
from lesps_deploy.io import atomic_write_json, sha256_file

__all__ = ["MANIFEST_NAME", "OwnedFiles"]

log = logging.getLogger(__name__)

MANIFEST_NAME = ".lesps-written.json"


class OwnedFiles:
    """The files lesps wrote in `folder`, read from and saved to its manifest (a context manager).

    Args:
        folder: the output folder.
        command: what writes there, recorded in the manifest (e.g. "lesps labels --type centroid").
        force: overwrite files lesps did not write.
    """

    def __init__(self, folder: str | Path, command: str, force: bool = False) -> None:
        self.folder, self.command, self.force = Path(folder), command, force
        self.manifest = self.folder / MANIFEST_NAME
        self.files: dict[str, str] = self._read()
        self._changed = False

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        files = data.get("files") if isinstance(data, dict) else None
        return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}

    def foreign(self, names: Iterable[str]) -> list[str]:
        """Files among `names` that exist in the folder and are not lesps's unchanged output."""
        out = []
        for name in names:
            path = self.folder / name
            if path.exists() and (name not in self.files or sha256_file(path) != self.files[name]):
                out.append(name)
        return out

    def claim(self, names: Iterable[str]) -> None:
        """Check, before anything is written, that writing `names` replaces only lesps's own files.

        Raises:
            DataError: some would replace files lesps did not write (without `force`).
        """
        if not self.folder.exists():
            return
        if not self.folder.is_dir():
            raise DataError(f"{self.folder}: a file is there, where the output folder is needed")
        foreign = self.foreign(names)
        if not foreign:
            return
        if self.force:
            log.warning("%s: overwriting %d file(s) lesps did not write (--force)", self.folder, len(foreign))
            return
        raise DataError(
            f"{self.folder}: {len(foreign)} file(s) that lesps did not write (or that changed since) would be "
            f"overwritten, e.g. {foreign[0]}; nothing was written",
            hint="pass --force to overwrite them, or copy them elsewhere first",
        )

    def wrote(self, path: str | Path) -> None:
        """Record a file just written in the folder."""
        path = Path(path)
        self.files[path.name] = sha256_file(path)
        self._changed = True

    def save(self) -> None:
        """Write the manifest (atomically) when something was recorded."""
        if self._changed:
            atomic_write_json(
                self.manifest, {"written_by": self.command, "files": dict(sorted(self.files.items()))}
            )
            self._changed = False

    def __enter__(self) -> OwnedFiles:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.save()
        except OSError:
            if err is None:
                raise  # a failure while handling another must not hide it
