"""Every JSON the project writes is strict JSON: no NaN or Infinity tokens, whatever the numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lesps_deploy.io import atomic_write_json, json_text
from lesps_deploy.metadata import ModelMeta


def _strict(text: str):
    def refuse(token: str):
        raise ValueError(f"non-JSON token {token}")

    return json.loads(text, parse_constant=refuse)


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(_values)
def test_json_text_is_strict_and_keeps_finite_values(value) -> None:
    parsed = _strict(json_text(value))

    def same(a, b) -> bool:
        if isinstance(a, float) and not math.isfinite(a):
            return b is None
        if isinstance(a, (list, tuple)):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
        if isinstance(a, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        return a == b

    assert same(value, parsed)


def test_numpy_values_and_files(tmp_path) -> None:
    data = {
        "p50": np.float64("nan"),
        "n": np.int64(3),
        "arr": np.array([1.0, np.inf]),
        "t": (np.float32(0.5),),
    }
    path = atomic_write_json(tmp_path / "s.json", data)
    assert _strict(path.read_text()) == {"p50": None, "n": 3, "arr": [1.0, None], "t": [0.5]}


def test_model_metadata_strings_are_strict() -> None:
    meta = ModelMeta(model="ACM", mean=float("nan"), std=20.0)
    for text in meta.to_strings().values():
        _strict(text)


@pytest.mark.parametrize("obj", [float("nan"), float("inf"), -float("inf")])
def test_plain_dumps_would_not_be_json(obj) -> None:
    """Why the sanitiser exists: the standard library writes tokens a strict parser refuses."""
    with pytest.raises(ValueError):
        _strict(json.dumps(obj))
