"""The `tritonserver` of the `serve` extra: found, prepared, started, waited on, stopped.

`pip install 'lesps-deploy[serve]'` brings NVIDIA's `nvidia-pytriton` wheel, which bundles a real
`tritonserver` binary (2.51) with the Python backend only, and one backend stub per Python version.
The stub of the running interpreter is copied with the backend library into a cache folder (the
installed package stays untouched), and the server runs with the interpreter's `LIBDIR` first on
`LD_LIBRARY_PATH`: the stub loads `libpython3.X.so` through the dynamic loader, and on a Python built
outside the system (pyenv) it would otherwise find the system's older one and fail
(`'_thread.RLock' object has no attribute '_recursion_count'`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

from lesps_deploy.errors import BackendError, MissingDependencyError
from lesps_deploy.io import cache_dir

__all__ = [
    "SERVE_EXTRA_HINT",
    "ServerPorts",
    "TritonServer",
    "find_tritonserver",
    "backend_directory",
    "free_ports",
]

logger = logging.getLogger(__name__)

SERVE_EXTRA_HINT = "pip install 'lesps-deploy[serve]'"
# Seconds a stopping server waits for requests in flight (Triton's default of 30 makes Ctrl-C slow).
EXIT_TIMEOUT_S = 5


@dataclass(frozen=True)
class ServerPorts:
    """Where a server listens."""

    host: str = "127.0.0.1"
    http: int = 8000
    grpc: int = 8001
    metrics: int = 8002

    def endpoints(self) -> dict[str, str]:
        return {
            "http": f"http://{self.host}:{self.http}",
            "grpc": f"grpc://{self.host}:{self.grpc}",
            "metrics": f"http://{self.host}:{self.metrics}/metrics",
        }


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """`n` distinct ports free on `host` now (bound together, so none repeats, then released)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind((host, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _pytriton_dir() -> Path:
    spec = importlib.util.find_spec("pytriton")
    if spec is None or spec.origin is None:
        raise MissingDependencyError("nvidia-pytriton", "serve", "lesps serve (the Triton server binary)")
    return Path(spec.origin).parent / "tritonserver"


def find_tritonserver() -> Path:
    """The `tritonserver` binary bundled by nvidia-pytriton.

    Raises:
        MissingDependencyError: the serve extra is not installed.
    """
    binary = _pytriton_dir() / "bin" / "tritonserver"
    if not binary.is_file():
        raise MissingDependencyError("nvidia-pytriton", "serve", f"lesps serve ({binary} is missing)")
    return binary


def backend_directory() -> Path:
    """A backends folder holding the Python backend with this interpreter's stub (made once, cached).

    Raises:
        MissingDependencyError: the serve extra is missing, or has no stub for this Python version.
    """
    dist = _pytriton_dir()
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    stub = dist / "python_backend_stubs" / version / "triton_python_backend_stub"
    if not stub.is_file():
        raise MissingDependencyError(
            "nvidia-pytriton",
            "serve",
            f"lesps serve on Python {version} (no Triton Python backend stub for it)",
        )
    source = dist / "backends" / "python"
    target = cache_dir("tritonserver", f"{_dist_version()}-py{version}", "backends")
    python = target / "python"
    if not (python / "triton_python_backend_stub").is_file():
        staging = target.with_name(f".backends.{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(source, staging / "python", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy2(stub, staging / "python" / "triton_python_backend_stub")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    return target


def _dist_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nvidia-pytriton")
    except PackageNotFoundError:
        return "unknown"


def server_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment: this interpreter's libpython first, lesps_deploy importable."""
    env = dict(os.environ if environ is None else environ)
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    libs = _pytriton_dir().parent.parent / "nvidia_pytriton.libs"
    paths = [p for p in (libdir, str(libs), env.get("LD_LIBRARY_PATH", "")) if p]
    env["LD_LIBRARY_PATH"] = ":".join(paths)
    # The stub runs model.py with this Python; the package must import even when run from a checkout.
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    return env


class TritonServer:
    """One `tritonserver` process serving `models` of `repository` (explicit model control).

    Args:
        repository: the model repository folder.
        models: names loaded at start (the others stay unloaded, e.g. a network model for a backend
            only NVIDIA's containers have).
        ports: host and ports to listen on.
        log_file: where the server's own log goes (None: a file in the repository's parent is not
            written; the log is kept in memory for error messages).
    """

    def __init__(self, repository: Path, models: list[str], ports: ServerPorts, log_file: Path | None = None):
        self.repository = Path(repository)
        self.models = list(models)
        self.ports = ports
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        cmd = [
            str(find_tritonserver()),
            f"--model-repository={self.repository.resolve()}",
            f"--backend-directory={backend_directory()}",
            "--model-control-mode=explicit",
            *(f"--load-model={name}" for name in self.models),
            f"--http-address={self.ports.host}",
            f"--http-port={self.ports.http}",
            f"--grpc-address={self.ports.host}",
            f"--grpc-port={self.ports.grpc}",
            f"--metrics-address={self.ports.host}",
            f"--metrics-port={self.ports.metrics}",
            f"--exit-timeout-secs={EXIT_TIMEOUT_S}",
            "--strict-readiness=true",
            "--log-verbose=0",
        ]
        return cmd

    def start(self) -> None:
        """Start the process (in its own process group, so a terminal's Ctrl-C reaches us first)."""
        log = open(self.log_file, "wb") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                self.command(), env=server_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            if self.log_file:
                log.close()  # type: ignore[union-attr]

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        """Block until every model is READY.

        Raises:
            BackendError: the server exited, or is not ready within `timeout_s` (it is stopped then).
        """
        from lesps_deploy.runtime.triton_client import model_ready_state

        url = f"{self.ports.host}:{self.ports.http}"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise BackendError(
                    f"tritonserver exited with code {self.returncode} before it was ready{self._log_tail()}"
                )
            if all(model_ready_state(url, name) for name in self.models):
                return
            time.sleep(0.2)
        self.stop()
        raise BackendError(
            f"tritonserver: {', '.join(self.models)} not ready after {timeout_s:.0f} s{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        if not self.log_file or not Path(self.log_file).is_file():
            return ""
        lines = [ln for ln in Path(self.log_file).read_text(errors="replace").splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("E") or "error" in ln.lower()]
        last = (errors or lines)[-1:] if lines else []
        return f" ({last[0].strip()[:300]}; log: {self.log_file})" if last else f" (log: {self.log_file})"

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)

    def stop(self, timeout_s: float = EXIT_TIMEOUT_S + 10) -> int | None:
        """SIGTERM, wait, then SIGKILL the whole process group (the Python backend stubs too)."""
        proc = self.process
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                logger.warning("tritonserver did not stop within %.0f s; killing it", timeout_s)
        _kill_group(proc.pid)
        proc.wait()
        return proc.returncode

    def __enter__(self) -> TritonServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _kill_group(pgid: int) -> None:
    """SIGKILL whatever is left in the server's process group (stubs orphaned by a crash)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
