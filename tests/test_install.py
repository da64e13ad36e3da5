"""Installs: each command the README documents holds exactly one ONNX Runtime, Jetson's keep JetPack's
packages, and the runtime install (no torch at all) evaluates and predicts on an ONNX export.

- Every `pip install` line of the README's bash blocks is resolved with `pip install --dry-run --report`:
  exactly one distribution that ships the `onnxruntime` package, at the INT8 floor or newer, and torch
  only where the command asks for training. The Jetson lines are resolved against JetPack's packages
  installed in an environment (NVIDIA's torch 2.5.0a0+...nv24.08, TensorRT 10.3.0, NVIDIA's
  onnxruntime-gpu 1.23.0, NumPy 1.26.4, as dist-info records): none of them is replaced.
- A real venv holds the CPU box's runtime install (`.[cpu]`): torch cannot be imported there, an ONNX file
  exported beforehand gives the release's golden counts through `lesps evaluate` and a video through
  `lesps predict`, `lesps export` writes a Triton repository, and `lesps train` answers in one line naming
  the extra.

Slow and networked: they resolve and install from the package index (pip caches the wheels; the runtime
venv is kept in pytest's cache, keyed by pyproject.toml, and gets this checkout reinstalled every session).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import write_tiny_dataset, write_video

from lesps_deploy.runtime.ort_install import INT8_FLOOR, is_onnxruntime, release

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# JetPack 6's Python packages, as pip sees them installed (name, version).
JETPACK = (
    ("torch", "2.5.0a0+872d972e41.nv24.08"),
    ("tensorrt", "10.3.0"),
    ("onnxruntime_gpu", "1.23.0"),
    ("numpy", "1.26.4"),
)
COUNT_KEYS = ("intersection", "union", "targets", "detected", "false_alarm_pixels", "pixels")


def documented_installs() -> list[tuple[str, bool]]:
    """(command line, for Jetson) of every `pip install` line in the README's bash blocks."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S):
        jetson = False
        for line in block.splitlines():
            if line.startswith("#"):
                jetson = "Jetson" in line
            elif line.startswith("pip install"):
                found.append((line, jetson))
    return found


def pip_args(line: str, project: Path) -> tuple[list[str], set[str]]:
    """The line's `pip install` arguments with `project` (this checkout's wheel) for ours, and its extras.

    `tensorrt` is left out of the resolution: its wheels come from NVIDIA's index, which the resolver
    may not reach; `test_tensorrt_extra_holds_only_tensorrt` checks what the extra declares.
    """
    words = shlex.split(line.split("&&")[0], comments=True)
    assert words[:2] == ["pip", "install"], line
    args: list[str] = []
    extras: set[str] = set()
    for word in words[2:]:
        if args and args[-1] in ("-c", "--constraint", "-r", "--requirement"):
            args.append(str(ROOT / word))  # a file of the checkout
            continue
        ours = re.fullmatch(r"(\.|lesps-deploy)(?:\[([\w,-]+)\])?", word)
        if ours is None:
            args.append(word)
            continue
        named = set(ours.group(2).split(",")) if ours.group(2) else set()
        extras |= named
        kept = sorted(named - {"tensorrt"})
        args.append(f"{project}[{','.join(kept)}]" if kept else str(project))
    return args, extras


def _resolve(args: list[str], cwd: Path, python: Path | None = None) -> dict[str, dict]:
    """name -> metadata of what `pip install ARGS` would install (into `python`'s environment, else none).

    Run outside the checkout (`cwd`, no PYTHONPATH): pip would count the lesps_deploy.egg-info that builds
    leave there as installed.
    """
    where = ["--python", str(python)] if python else []
    fresh = [] if python else ["--ignore-installed"]
    cmd = [sys.executable, "-m", "pip", *where, "install", "--dry-run", "--quiet", "--report", "-", *fresh]
    done = subprocess.run(
        [*cmd, *args], cwd=cwd, env=_outside_env(), capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stderr[-3000:]}"
    report = json.loads(done.stdout)
    return {re.sub(r"[-_.]+", "-", i["metadata"]["name"]).lower(): i["metadata"] for i in report["install"]}


COMMANDS = documented_installs()


def _outside_env() -> dict[str, str]:
    """This process's environment without what would put the checkout or our interpreter on a child's path."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


def _jetpack_python(root: Path) -> Path:
    """A venv holding JetPack's packages as pip sees them: dist-info records of their NVIDIA versions."""
    venv = root / "jetpack"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    [site] = venv.glob("lib/python*/site-packages")
    for name, version in JETPACK:
        info = site / f"{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "INSTALLER").write_text("pip\n")
        (info / "RECORD").write_text("")
    return venv / "bin" / "python"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout built once as a wheel, so each resolution skips the build."""
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    [built] = out.glob("lesps_deploy-*.whl")
    return built


@pytest.fixture(scope="module")
def resolutions(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict] | str]:
    """Each documented line -> what it would install (the Jetson ones on top of JetPack's packages), or the
    failure; resolved side by side, since each waits mostly on the index."""
    jetpack = _jetpack_python(tmp_path_factory.mktemp("jetpack"))

    def one(line: str, jetson: bool) -> dict[str, dict] | str:
        try:
            return _resolve(pip_args(line, wheel)[0], wheel.parent, python=jetpack if jetson else None)
        except AssertionError as err:
            return str(err)

    jobs = [*COMMANDS, (f"pip install {ROOT}[cpu]", False)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip([line for line, _ in jobs], pool.map(lambda job: one(*job), jobs), strict=True))


def _installed(resolutions: dict[str, dict[str, dict] | str], line: str) -> dict[str, dict]:
    found = resolutions[line]
    assert isinstance(found, dict), found
    return found


def test_readme_documents_each_target() -> None:
    jetson = [line for line, on_jetson in COMMANDS if on_jetson]
    assert len(COMMANDS) >= 6 and len(jetson) == 2
    # the README's two set-up commands are among them, with .ci/run running the second verbatim
    assert sum("&&" in line for line, _ in COMMANDS) == 2
    test_command = next(line for line, _ in COMMANDS if line.endswith("&& pytest"))
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()


@pytest.mark.parametrize("line", [line for line, jetson in COMMANDS if not jetson])
def test_documented_install_holds_one_onnxruntime(line: str, resolutions: dict, wheel: Path) -> None:
    installed = _installed(resolutions, line)
    extras = pip_args(line, wheel)[1]
    runtimes = {name: meta["version"] for name, meta in installed.items() if is_onnxruntime(name)}
    assert len(runtimes) == 1, f"{line}: {runtimes}"
    [(name, version)] = runtimes.items()
    assert name == ("onnxruntime-gpu" if "gpu" in extras else "onnxruntime")
    assert release(version) >= INT8_FLOOR, f"{line}: {name} {version}"
    wants_torch = bool(extras & {"train", "dev"})
    assert ("torch" in installed) == wants_torch, f"{line}: torch {installed.get('torch', {}).get('version')}"
    if "constraints.txt" in line:  # the reference machines' pin
        assert installed["torch"]["version"].split("+")[0] == "2.13.0"


def test_tensorrt_extra_holds_only_tensorrt(resolutions: dict) -> None:
    requires = _installed(resolutions, f"pip install {ROOT}[cpu]")["lesps-deploy"]["requires_dist"]
    extra = [r.split(";")[0].strip() for r in requires if re.search(r"extra\s*==\s*['\"]tensorrt['\"]", r)]
    assert extra and all(re.match(r"tensorrt\b", r) for r in extra), extra
    # and the base install asks for neither torch nor an ONNX Runtime
    base = [r.split(";")[0] for r in requires if "extra" not in r]
    assert not [r for r in base if re.match(r"(torch|onnxruntime|tensorrt)\b", r)], base


@pytest.mark.parametrize("line", [line for line, jetson in COMMANDS if jetson])
def test_jetson_install_keeps_jetpack(line: str, resolutions: dict) -> None:
    installed = _installed(resolutions, line)
    replaced = [name for name in installed if name in {"torch", "tensorrt", "numpy"} or is_onnxruntime(name)]
    assert not replaced, f"{line} would replace JetPack's {replaced}"
    assert not [name for name in installed if name.startswith(("nvidia-", "tensorrt"))]
    assert "lesps-deploy" in installed, sorted(installed)


def _venv_env(tmp: Path) -> dict[str, str]:
    return {**_outside_env(), "XDG_CACHE_HOME": str(tmp / "cache"), "OMP_NUM_THREADS": "1", "COLUMNS": "200"}


@pytest.fixture(scope="module")
def runtime_venv(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, wheel: Path
) -> Path:
    """bin/ of a venv with the CPU box's runtime install of this checkout (`pip install ".[cpu]"`)."""
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:12]
    venv = Path(request.config.cache.mkdir(f"runtime-venv-{key}"))
    for stale in venv.parent.glob("runtime-venv-*"):  # made for another pyproject.toml
        if stale != venv:
            shutil.rmtree(stale, ignore_errors=True)
    python = venv / "bin" / "python"
    tmp = tmp_path_factory.mktemp("runtime-venv")
    env = _venv_env(tmp)
    first = not (python.exists() and (venv / "installed").exists())
    if first:
        shutil.rmtree(venv)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    # the dependencies once per pyproject.toml; this checkout every session
    target = [f"{wheel}[cpu]"] if first else ["--no-deps", "--force-reinstall", str(wheel)]
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *target],
        capture_output=True, text=True, env=env, cwd=tmp, timeout=1500, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (venv / "installed").write_text(key)
    return venv / "bin"


def _lesps(bin_dir: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "lesps"), *args],
        capture_output=True, text=True, env=_venv_env(tmp), cwd=tmp, timeout=900, check=False,
    )  # fmt: skip


def test_runtime_venv_has_no_torch(runtime_venv: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(runtime_venv / "python"), "-c", "import torch"], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode != 0 and "No module named 'torch'" in done.stderr
    doctor = _lesps(runtime_venv, tmp_path, "doctor", "--json", "-")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    facts = json.loads(doctor.stdout)
    assert facts["torch"] is None and list(facts["onnxruntime"]) == ["onnxruntime"] and not facts["problems"]


def test_runtime_venv_evaluates_the_release_exactly(
    runtime_venv: Path, acm_onnx: Path, nuaa_dir: Path, golden_dir: Path, tmp_path: Path
) -> None:
    golden = json.loads((golden_dir / "reference_metrics_nuaa.json").read_text())["results"]
    golden = golden["ACM_LESPS_centroid.pth.tar"]
    out = tmp_path / "eval.json"
    done = _lesps(
        runtime_venv, tmp_path, "evaluate", str(acm_onnx), "--data", str(nuaa_dir), "--json", str(out)
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(out.read_text())
    assert {k: summary[k] for k in COUNT_KEYS} == {k: golden[k] for k in COUNT_KEYS}


def test_runtime_venv_predicts_a_video_and_exports_triton(
    runtime_venv: Path, acm_onnx: Path, tmp_path: Path
) -> None:
    write_video(tmp_path / "clip.mp4", frames=8)
    done = _lesps(runtime_venv, tmp_path, "predict", "clip.mp4", "--weights", str(acm_onnx), "--out", "pred")
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "pred" / "summary.json").read_text())
    assert summary["frames"] == 8 and summary["detector"].startswith("ACM/onnxruntime/cpu")
    assert len((tmp_path / "pred" / "detections.jsonl").read_text().splitlines()) == 8
    export = _lesps(runtime_venv, tmp_path, "export", str(acm_onnx), "--format", "triton", "--out", "repo")
    assert export.returncode == 0, export.stderr
    assert (tmp_path / "repo" / "acm" / "config.pbtxt").is_file()


def test_runtime_venv_train_names_the_extra(runtime_venv: Path, tmp_path: Path) -> None:
    data = write_tiny_dataset(tmp_path / "Tiny")
    labels = _lesps(runtime_venv, tmp_path, "labels", str(data), "--type", "centroid")  # needs no torch
    assert labels.returncode == 0, labels.stderr
    done = _lesps(runtime_venv, tmp_path, "train", "--model", "ACM", "--data", str(data), "--out", "run")
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install 'lesps-deploy[train]'" in lines[0], done.stderr
    assert not (tmp_path / "run").exists()
