"""Checkpoint I/O: the released LESPS ``.pth.tar`` files, our own checkpoints and bare state_dicts.

Our checkpoints keep the reference layout (``{'state_dict': {'model.' + key: tensor}}``, so the paper's
code loads them) and add ``'lesps_meta'`` (`ModelMeta.to_dict()`) plus optional training state.

Loading is safe by default: every file goes through ``torch.load(weights_only=True)``, which only
rebuilds tensors and plain containers. The released files and ours load that way. A pickle that names
other globals is unpickled in full (which can run code from the file) only when it is a known release
(`releases.RELEASES`, matched by sha256) or the caller trusts it (`trust_pickle`, `--trust-pickle`).
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import CheckpointError, LespsError
from ..io import atomic_write_bytes, sha256_file
from ..metadata import ModelMeta, __version__
from ._registry import (
    canonical_name,
    create_model,
    detect_model,
    diff_keys,
    model_name_of,
    pad_multiple_of,
    strip_prefix,
)
from .releases import Release, find_release

__all__ = ["Checkpoint", "load_checkpoint", "save_checkpoint", "META_KEY", "WEIGHTS_KEY"]

logger = logging.getLogger(__name__)

WEIGHTS_KEY = "state_dict"
META_KEY = "lesps_meta"
_REFERENCE_PREFIX = "model."
# Released file names carry the supervision they were trained with; first match wins.
_LABEL_HINTS = (("_full", "full"), ("centroid", "centroid"), ("coarse", "coarse"))
# torch's weights_only refusals of a well-formed pickle: a global outside the allow-list (or in a
# blocked module such as os), or an object of a type that is not allow-listed.
_UNSAFE_GLOBAL = re.compile(r"unsupported (?:global: )?GLOBAL (\S+)", re.IGNORECASE)
_UNSAFE_OBJECT = "allowlisted"


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint.

    Attributes:
        model: the network in eval mode, on `map_location`.
        meta: what a runtime needs (model name, normalization when known, threshold, ...).
        path: the file it came from.
        sha256: hex digest of the file.
        extra: every other top-level entry of our own checkpoints (epoch, optimizer, scheduler, ...).
        release: the table row when the file is a known LESPS release, else None.
        weight_names: the file's weight keys without prefixes, in the order they were saved (the
            model's registration order then, which resuming needs to match optimizer state by name).
    """

    model: nn.Module
    meta: ModelMeta
    path: Path
    sha256: str
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    release: Release | None = None
    weight_names: tuple[str, ...] = field(default=(), repr=False, compare=False)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().split(". ")[0].splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _damaged(path: Path, exc: BaseException) -> CheckpointError:
    return CheckpointError(f"{path}: unreadable or truncated checkpoint ({_first_line(exc)})")


def _read(path: Path, map_location: str | torch.device, trusted: bool) -> Any:
    """torch.load in safe mode; a pickle that needs more is fully unpickled only when `trusted`."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        # Only a well-formed pickle that names globals outside the safe list may reach the full
        # unpickler; anything else is damage.
        found = _UNSAFE_GLOBAL.search(str(exc))
        if found is None and _UNSAFE_OBJECT not in str(exc):
            raise _damaged(path, exc) from None
        what = found.group(1).rstrip(".") if found else "objects beyond tensors and plain types"
        if not trusted:
            raise CheckpointError(
                f"{path}: not a known LESPS release and its pickle holds {what}, which safe loading "
                "refuses (full unpickling can run code from the file)",
                hint="pass --trust-pickle (trust_pickle=True) only if you trust where the file comes from",
            ) from None
        logger.warning("%s: trusted, so unpickled in full (it holds %s)", path, what)
    except Exception as exc:  # torch raises RuntimeError/EOFError/... for damaged files
        raise _damaged(path, exc) from None
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:
        raise _damaged(path, exc) from None


def _split(obj: Any, path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None, dict[str, Any]]:
    """(state_dict without prefixes, our meta dict or None, other top-level entries)."""
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path}: expected a dict checkpoint, found {type(obj).__name__}")
    if WEIGHTS_KEY in obj and isinstance(obj[WEIGHTS_KEY], Mapping):
        rest = {k: v for k, v in obj.items() if k not in (WEIGHTS_KEY, META_KEY)}
        return strip_prefix(obj[WEIGHTS_KEY]), obj.get(META_KEY), rest
    if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return strip_prefix(obj), None, {}
    raise CheckpointError(
        f"{path}: no 'state_dict' entry and not a bare state_dict (top-level keys: {sorted(obj)[:5]})"
    )


def _label_hint(path: Path) -> str | None:
    name = path.name.lower()
    return next((label for key, label in _LABEL_HINTS if key in name), None)


def _resolve_meta(
    path: Path, state: dict[str, Any], meta_dict: Any, model: str | None, release: Release | None
) -> ModelMeta:
    """Meta from our entry, else the release table; model from the argument, else the meta or the keys.

    Our entry records the pad multiple; for a release or a bare state_dict it is the model's declaration.
    """
    try:
        meta = ModelMeta.from_dict(dict(meta_dict)) if meta_dict else None
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: malformed '{META_KEY}' entry ({exc})") from None
    recorded = meta is not None
    if meta is None and release is not None:
        meta = release.meta()
    try:
        if model is not None:
            name = canonical_name(model)
        elif meta is not None:
            name = canonical_name(meta.model)
        else:
            name = detect_model(state)
    except LespsError as exc:
        raise CheckpointError(f"{path}: {exc}", hint=exc.hint) from None
    if meta is None:
        # Neither ours nor a known release: normalization is unknown, the caller gives it (--norm).
        meta = ModelMeta(model=name, threshold=0.5, label_type=_label_hint(path))
    return replace(meta, model=name, pad_multiple=meta.pad_multiple if recorded else pad_multiple_of(name))


def _load_weights(net: nn.Module, state: dict[str, torch.Tensor], path: Path, name: str) -> None:
    missing, unexpected = diff_keys(net.state_dict(), state)
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: weights do not fit {name}: {len(missing)} missing {missing[:3]}, "
            f"{len(unexpected)} unexpected {unexpected[:3]}",
            hint="pass the right --model, or omit it to detect the model from the weights",
        )
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        # load_state_dict lists every size mismatch on its own line; keep the first one.
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        raise CheckpointError(
            f"{path}: weights do not fit {name}: {lines[-1] if len(lines) < 2 else lines[1]}"
        ) from None


def load_checkpoint(
    path: str | os.PathLike[str],
    model: str | None = None,
    map_location: str | torch.device = "cpu",
    trust_pickle: bool = False,
) -> Checkpoint:
    """Load a released LESPS checkpoint, one of ours, or a bare state_dict.

    A known release (sha256 in `releases.RELEASES`) gets its model, label type, normalization and
    threshold from the table and is named in one log line.

    Args:
        path: `.pth` / `.pth.tar` file.
        model: model name; default: from our metadata or the release table, else detected from the keys.
        map_location: device for the tensors and the model.
        trust_pickle: allow full unpickling (which can run code) of a file that safe loading refuses.

    Returns:
        Checkpoint with the model in eval mode (DNANet returns its final head).

    Raises:
        CheckpointError: missing, unreadable or truncated file, an untrusted pickle that needs full
            unpickling, or weights that fit no model.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file", hint="check the path")
    sha256 = sha256_file(path)
    release = find_release(sha256)
    obj = _read(path, map_location, trusted=trust_pickle or release is not None)
    state, meta_dict, rest = _split(obj, path)
    meta = _resolve_meta(path, state, meta_dict, model, release)
    net = create_model(meta.model)
    _load_weights(net, state, path, meta.model)
    net.to(map_location).eval()
    if release is not None and not meta_dict:
        logger.info("%s: recognised the %s", path, release.describe())
    else:
        logger.info("loaded %s from %s", meta.model, path)
    return Checkpoint(
        model=net, meta=meta, path=path, sha256=sha256, extra=rest, release=release, weight_names=tuple(state)
    )


def save_checkpoint(path: str | os.PathLike[str], model: nn.Module, meta: ModelMeta, **extra: Any) -> Path:
    """Write `model` atomically in the reference layout plus our metadata and `extra` entries.

    Args:
        path: destination file (parent folders are created).
        model: a registered model (its class names the architecture).
        meta: metadata to store; versions are filled in when unset.
        **extra: more top-level entries, e.g. `epoch=3, optimizer=opt.state_dict()`.

    Raises:
        CheckpointError: `meta.model` is not the model's architecture, or `extra` reuses a reserved key.
    """
    name = model_name_of(model)
    if canonical_name(meta.model) != name:
        raise CheckpointError(f"{path}: meta.model is {meta.model!r} but the model is a {name}")
    reserved = {WEIGHTS_KEY, META_KEY} & set(extra)
    if reserved:
        raise CheckpointError(f"{path}: extra entries may not be named {sorted(reserved)}")
    meta = replace(
        meta,
        model=name,
        lesps_deploy_version=meta.lesps_deploy_version or __version__,
        torch_version=meta.torch_version or str(torch.__version__),
    )
    weights = {_REFERENCE_PREFIX + k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {WEIGHTS_KEY: weights, META_KEY: meta.to_dict(), **extra}
    # Serialised in memory, then written as plain bytes: torch.save straight to a file on a full disk
    # fails with "RuntimeError: unexpected pos ...", while a file write raises the OSError (ENOSPC,
    # naming the file) that the CLI reports as such. The rename leaves no half-written checkpoint.
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getbuffer())
    logger.debug("saved %s checkpoint to %s", name, path)
    return Path(path)
