"""Model registry: models by name (case-insensitive) and by the key set of a bare state_dict."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any, TypeVar

from torch import nn

from ..errors import CheckpointError, ModelError

__all__ = [
    "register_model",
    "create_model",
    "list_models",
    "pad_multiple_of",
    "training_options",
    "canonical_name",
    "model_name_of",
    "detect_model",
    "strip_prefix",
    "diff_keys",
]

logger = logging.getLogger(__name__)

_T = TypeVar("_T", bound=Callable[..., nn.Module])
_MODELS: dict[str, Callable[..., nn.Module]] = {}
# Wrappers the released and DataParallel-trained checkpoints put in front of every key.
_KEY_PREFIXES = ("module.", "model.")


def register_model(entry: _T) -> _T:
    """Register a model class (or factory function) under its `__name__`.

    Example:
        >>> @register_model
        ... class ACM(IRSTDModel): ...
    """
    name = entry.__name__
    if name.lower() in {n.lower() for n in _MODELS}:
        raise ModelError(f"model name {name!r} is registered twice")
    _MODELS[name] = entry
    _model_keys.cache_clear()
    return entry


def list_models() -> list[str]:
    """Registered model names, in registration order."""
    return list(_MODELS)


def canonical_name(name: str) -> str:
    """The registered spelling of `name` (matched case-insensitively).

    Raises:
        ModelError: no model of that name; the message lists the valid names.
    """
    lookup = {n.lower(): n for n in _MODELS}
    try:
        return lookup[name.strip().lower()]
    except KeyError:
        raise ModelError(
            f"unknown model {name!r}; valid names: {', '.join(_MODELS)}",
            hint="pass one of the listed names (case does not matter)",
        ) from None


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered model in train mode, freshly initialised.

    Args:
        name: model name, any case (see `list_models()`).
        **kwargs: constructor options, e.g. `deep_supervision=True` for DNANet.

    Raises:
        ModelError: unknown name or unsupported option.

    Example:
        >>> model = create_model("dnanet", deep_supervision=True)
    """
    entry = _MODELS[canonical_name(name)]
    try:
        inspect.signature(entry).bind(**kwargs)
    except TypeError as exc:
        raise ModelError(f"{entry.__name__}: bad options {sorted(kwargs)}: {exc}") from None
    return entry(**kwargs)


def pad_multiple_of(name: str) -> int:
    """The pad multiple the model `name` declares (`IRSTDModel.pad_multiple`)."""
    return int(getattr(_MODELS[canonical_name(name)], "pad_multiple"))  # noqa: B009 - declared by IRSTDModel


def training_options(name: str) -> dict[str, Any]:
    """Constructor options the model `name` is trained with (DNANet: its deep-supervision heads)."""
    entry = _MODELS[canonical_name(name)]
    return {"deep_supervision": True} if getattr(entry, "deep_supervision_training", False) else {}


def model_name_of(model: nn.Module) -> str:
    """Registered name of `model`'s class (raises ModelError for an unregistered class)."""
    for name, entry in _MODELS.items():
        if isinstance(entry, type) and isinstance(model, entry):
            return name
    raise ModelError(f"{type(model).__name__} is not a registered model; valid: {', '.join(_MODELS)}")


def strip_prefix(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """Drop the `module.` / `model.` wrappers when every key carries them."""
    out = dict(state_dict)
    for prefix in _KEY_PREFIXES:
        if out and all(k.startswith(prefix) for k in out):
            out = {k[len(prefix) :]: v for k, v in out.items()}
    return out


@cache
def _model_keys(name: str) -> frozenset[str]:
    return frozenset(_MODELS[name]().state_dict())


def diff_keys(expected: Iterable[str], found: Iterable[str]) -> tuple[list[str], list[str]]:
    """(missing, unexpected) keys of `found` against `expected`, sorted."""
    expected, found = set(expected), set(found)
    return sorted(expected - found), sorted(found - expected)


def _few(keys: list[str], n: int = 3) -> str:
    more = f", ... (+{len(keys) - n})" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def detect_model(state_dict: Mapping[str, Any]) -> str:
    """Name of the registered model whose parameter names are exactly those of `state_dict`.

    Keys may carry the `model.` prefix of the released checkpoints.

    Raises:
        CheckpointError: nothing fits; names the closest model and some missing/unexpected keys.
    """
    keys = set(strip_prefix(state_dict))
    scores = []
    for name in _MODELS:
        missing, unexpected = diff_keys(_model_keys(name), keys)
        if not missing and not unexpected:
            logger.debug("state_dict detected as %s", name)
            return name
        scores.append((len(missing) + len(unexpected), name, missing, unexpected))
    if not scores:
        raise CheckpointError("no model is registered")
    _, name, missing, unexpected = min(scores, key=lambda s: s[0])
    raise CheckpointError(
        f"state_dict ({len(keys)} keys) fits no known model; closest is {name} with "
        f"{len(missing)} missing ({_few(missing)}) and {len(unexpected)} unexpected ({_few(unexpected)}) keys",
        hint=f"pass the model name explicitly if it is one of: {', '.join(_MODELS)}",
    )
