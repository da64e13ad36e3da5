"""Shared fixtures. `shared` resolves paths in ../shared: skip outside CI, fail in CI when missing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

SHARED_DIR = Path(os.environ.get("LESPS_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_shared(*parts: str) -> Path:
    """Path inside ../shared; a missing one skips the test, or fails it under CI=true."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        message = f"{path} not found: this test needs ../shared (data, checkpoints, golden vectors)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def shared() -> Callable[..., Path]:
    """Fixture form of `require_shared`: `shared("golden", "dnanet_seed0.npz")`."""
    return require_shared


@pytest.fixture(scope="session")
def nuaa_dir() -> Path:
    return require_shared("datasets", "NUAA-SIRST")


@pytest.fixture(scope="session")
def official_weights() -> Path:
    return require_shared("weights", "lesps-official")


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    return require_shared("golden")
