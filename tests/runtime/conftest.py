"""Runtime tests run PyTorch with one thread (see tests/conftest.py); acm_pth/acm_onnx come from there."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_torch_thread: None) -> None:
    """Every module here runs PyTorch with one thread."""
