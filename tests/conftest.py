"""Shared fixtures. `shared` resolves paths in ../shared: skip outside CI, fail in CI when missing."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
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


def require_serve_extra() -> None:
    """Skip (fail under CI=true, where .ci/run installs it) unless the serve extra is usable: the Triton
    client imports and the tritonserver binary is found the way `lesps serve` finds it."""
    message = "the serve extra is not installed: pip install 'lesps-deploy[serve]'"
    try:
        import tritonclient.grpc  # noqa: F401
        import tritonclient.http  # noqa: F401

        from lesps_deploy.serving.server import find_tritonserver

        find_tritonserver()
    except Exception as err:  # ImportError, MissingDependencyError: both mean the extra is missing
        if in_ci():
            pytest.fail(f"{message} ({err})", pytrace=False)
        pytest.skip(f"{message} ({err})", allow_module_level=True)


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


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Caches (the evaluate ONNX cache, benchmark artifacts) go to a temporary folder, not ~/.cache."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield Path(os.environ["XDG_CACHE_HOME"])
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op thread for a module (restored afterwards): on a shared 2-core runner, OpenMP
    spin-waits with 2 threads slowed small PyTorch forwards 10-50x."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def acm_pth(official_weights: Path) -> Path:
    """The released ACM_LESPS_centroid checkpoint."""
    return official_weights / "ACM_LESPS_centroid.pth.tar"


@pytest.fixture(scope="session")
def acm_onnx(tmp_path_factory: pytest.TempPathFactory, acm_pth: Path) -> Path:
    """The released ACM exported to ONNX with SIRST3 normalization in its metadata."""
    from dataclasses import replace

    from lesps_deploy.data import NORM_PRESETS
    from lesps_deploy.export.onnx import module_to_onnx
    from lesps_deploy.models import load_checkpoint

    ckpt = load_checkpoint(acm_pth)
    sirst3 = NORM_PRESETS["SIRST3"]
    meta = replace(ckpt.meta, mean=sirst3.mean, std=sirst3.std, dataset="SIRST3")
    return module_to_onnx(ckpt.model, meta, tmp_path_factory.mktemp("onnx") / "acm.onnx")


def write_tiny_dataset(root: Path, n: int = 4, size: int = 64) -> Path:
    """A dataset folder of `n` noisy `size`x`size` frames with one bright 3x3 target each (test split)."""
    from PIL import Image

    for sub in ("images", "masks", "img_idx"):
        (root / sub).mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(n)]
    for name in names:
        img = rng.integers(60, 90, (size, size), dtype=np.uint8)
        mask = np.zeros((size, size), np.uint8)
        r, c = rng.integers(8, size - 8, 2)
        img[r - 1 : r + 2, c - 1 : c + 2] = 250
        mask[r - 1 : r + 2, c - 1 : c + 2] = 255
        Image.fromarray(img).save(root / "images" / f"{name}.png")
        Image.fromarray(mask).save(root / "masks" / f"{name}.png")
    (root / "img_idx" / f"test_{root.name}.txt").write_text("\n".join(names) + "\n")
    return root


def write_video(path: Path, frames: int = 6, size: int = 64) -> Path:
    """An mp4 of `frames` noisy `size`x`size` frames with one bright 3x3 target moving down a row a frame."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (size, size))
    rng = np.random.default_rng(0)
    for i in range(frames):
        img = rng.integers(60, 90, (size, size), dtype=np.uint8)
        img[20 + i : 23 + i, 30:33] = 250
        writer.write(cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
    writer.release()
    return path


def read_video(path: Path, backend: int | None = None) -> list[np.ndarray]:
    """Every frame OpenCV decodes from `path` (with `backend`, e.g. cv2.CAP_FFMPEG, when given)."""
    import cv2

    cap = cv2.VideoCapture(str(path)) if backend is None else cv2.VideoCapture(str(path), backend)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


@pytest.fixture
def make_tiny_dataset() -> Callable[..., Path]:
    """Fixture form of `write_tiny_dataset`."""
    return write_tiny_dataset
