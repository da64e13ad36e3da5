"""One process trains a run folder at a time: a second `lesps train` on the same folder (a resume
started twice, two runs given the same --out) stops in one line before writing, and a killed holder
leaves no lock behind."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from lesps_deploy.training import TrainConfig

_SLOW_TRAIN = """
import json, sys, time
from lesps_deploy.training import TrainConfig, train
from lesps_deploy.training.records import EpochRecord

def slow(record):
    if isinstance(record, EpochRecord) and record.epoch == 2:  # epoch 1's checkpoint is written
        print("epoch", record.epoch, flush=True)
        time.sleep(60)  # hold the run folder (and its lock) while the test tries a second process

train(TrainConfig.from_dict(json.loads(open(sys.argv[1]).read())), callback=slow)
"""


def _lesps(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "lesps_deploy.cli", "train", *args, "--threads", "1"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=cwd, check=False)


def test_second_process_on_a_run_folder_stops_in_one_line(tiny_dataset, tmp_path):
    run = tmp_path / "run"
    cfg = TrainConfig(
        model="ACM", data=tiny_dataset, labels="centroid", epochs=3, batch_size=3, patch_size=64,
        evolve_every=2, device="cpu", eval_every=0, seed=3, out=run, threads=1,
    )  # fmt: skip
    (tmp_path / "cfg.json").write_text(json.dumps(cfg.to_dict()))
    holder = subprocess.Popen(
        [sys.executable, "-c", _SLOW_TRAIN, str(tmp_path / "cfg.json")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp_path,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().split() == ["epoch", "2"]
        before = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}

        expected = {
            "--resume": f"another lesps train (pid {holder.pid}) is training this run folder",
            "--model": "already holds a run",
        }
        for args in (
            ["--resume", str(run)],
            ["--model", "ACM", "--data", str(tiny_dataset), "--out", str(run)],
        ):
            done = _lesps(*args, cwd=tmp_path)
            assert done.returncode == 2, done.stderr
            lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
            assert len(lines) == 1 and str(run) in lines[0] and expected[args[0]] in lines[0], done.stderr
        assert {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()} == before  # nothing written
    finally:
        holder.send_signal(signal.SIGKILL)  # like kill -9, in the middle of the run
        holder.wait(timeout=60)

    # The kernel dropped the dead holder's lock: the run resumes and finishes.
    done = _lesps("--resume", str(run), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (run / "ACM_LESPS_centroid.pth.tar").is_file()


def test_lock_is_taken_before_the_config_is_written(tiny_dataset, tmp_path):
    from lesps_deploy.errors import ConfigError
    from lesps_deploy.training.state import hold_run

    run = tmp_path / "r"
    with hold_run(run):
        start = time.perf_counter()
        try:
            with hold_run(run):
                pass
        except ConfigError as err:
            assert "another lesps train" in str(err)
        else:
            raise AssertionError("a second lock on the same run folder was granted")
        assert time.perf_counter() - start < 5  # refused at once, never waits
    with hold_run(run):  # free again once released
        pass
