"""Does tracking pay? Per-frame detector output against the tracker's, in the same run, on clips with known
trajectories (`tracking_scenes.py`: movers, dimming targets, crossings, transient clutter, a panning camera).

Detectors that feed the tracker:
    simulated  detections drawn from the truth with controlled errors (95 % detected, dim frames 30 %
               detected and otherwise low-score, 0.3 px noise, merged blobs at crossings, every lit
               clutter spot detected, 0.3 random false alarms a frame);
    networks   each `--weights` checkpoint on the rendered frames (threshold from the checkpoint),
               PyTorch on one CPU thread; by default the released ACM_LESPS_centroid (SIRST3
               normalization; skipped when ../shared is absent). A detector trained on spots like
               these (about 4 minutes on one CPU thread):
                   lesps data synth spots --images 300 --size 128 --seed 1 --point-fraction 1.0 \
                       --min-area 3 --max-area 30 --contrast 30 60
                   lesps train --model ACM --data spots --labels full --epochs 60 --batch-size 8 \
                       --patch-size 128 --lr 2e-3 --milestones 50 --prior 0.01 --norm auto --out acm_spots
Rows: the detector alone; the tracker with every track; confirmed tracks only (`--confirmed-only`);
confirmed with the low-score pass (`--low-score 0.25`); confirmed with camera-motion compensation and
`--min-speed 0.3`; low-score pass with `--max-age 10`. Figures: Pd (targets found, matched within 3 px), false alarms per frame, and
MOTA, IDF1 and ID switches from py-motmetrics (CLEAR-MOT and ID measures, 3 px matching), plus the
tracker's milliseconds per frame. The tracker's cost for 50 targets is timed last, against the
detector's time per frame measured in this run.

Usage:
    pip install -e ".[bench]"   # motmetrics
    python benchmarks/tracking.py [--seed 0] [--weights CKPT ...] [--no-detector] [--json tracking.json]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from tracking_scenes import SCENES, SIZE, Scene, render_scene, simulate_detections  # noqa: E402

from lesps_deploy.io import json_text  # noqa: E402
from lesps_deploy.runtime.results import Result, Target  # noqa: E402
from lesps_deploy.timing import latency_stats  # noqa: E402
from lesps_deploy.tracking import GlobalMotion, Tracker, TrackerConfig  # noqa: E402

SHARED = Path(os.environ.get("LESPS_SHARED", Path(__file__).resolve().parents[2] / "shared"))
WEIGHTS = SHARED / "weights" / "lesps-official" / "ACM_LESPS_centroid.pth.tar"
MATCH_PX = 3.0
VARIANTS = {
    "all tracks": TrackerConfig(),
    "confirmed": TrackerConfig(confirmed_only=True),
    "confirmed+low": TrackerConfig(confirmed_only=True, low_score=0.25),
    "confirmed+gmc+speed": TrackerConfig(confirmed_only=True, gmc=True, min_speed=0.3),
    # Longer coasting: bridges dim spells and detector dropouts longer than the default 5 frames.
    "confirmed+low+age10": TrackerConfig(confirmed_only=True, low_score=0.25, max_age=10),
}
METRICS = ["num_frames", "num_objects", "num_misses", "num_false_positives", "num_switches", "mota", "idf1"]

Points = list[tuple[int, float, float]]  # (id, x, y) per frame


def _point(x: float, y: float, peak: float) -> Target:
    cx, cy = int(x), int(y)
    return Target(1, float(x), float(y), 9, (cx - 1, cy - 1, cx + 2, cy + 2), peak, peak)


def _accumulate(truth: list[Points], hyp: list[Points]):
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=True)
    for gt, hy in zip(truth, hyp, strict=True):
        g = np.array([(x, y) for _, x, y in gt], np.float64).reshape(-1, 2)
        h = np.array([(x, y) for _, x, y in hy], np.float64).reshape(-1, 2)
        d2 = ((g[:, None, :] - h[None, :, :]) ** 2).sum(-1)
        acc.update([i for i, _, _ in gt], [i for i, _, _ in hy], np.where(d2 <= MATCH_PX**2, d2, np.nan))
    return acc


def _figures(accs: list, names: list[str]) -> dict[str, dict[str, float]]:
    """Per accumulator and OVERALL: Pd, FA/frame, MOTA, IDF1, ID switches."""
    import motmetrics as mm

    table = mm.metrics.create().compute_many(accs, metrics=METRICS, names=names, generate_overall=True)
    out = {}
    for name, row in table.iterrows():
        out[str(name)] = {
            "Pd": 1 - row["num_misses"] / max(row["num_objects"], 1),
            "FA/frame": row["num_false_positives"] / max(row["num_frames"], 1),
            "MOTA": float(row["mota"]),
            "IDF1": float(row["idf1"]),
            "IDsw": int(row["num_switches"]),
        }
    return out


def _detector_points(frames: list[list[tuple[float, float]]]) -> list[Points]:
    # Independent detections: a fresh ID for every one, so only Pd and false alarms mean anything.
    return [[(f * 10_000 + k, x, y) for k, (x, y) in enumerate(pts)] for f, pts in enumerate(frames)]


def track_simulated(cfg: TrackerConfig, scene: Scene, dets: list) -> tuple[list[Points], float]:
    """The tracker over simulated detections; returns reported points and ms/frame (GMC included)."""
    tracker, gmc = Tracker(cfg), GlobalMotion() if cfg.gmc else None
    out, elapsed = [], 0.0
    for f, ((high, low), image) in enumerate(zip(dets, scene.frames, strict=True)):
        targets = [_point(x, y, 0.9) for x, y in high]
        lows = [_point(x, y, 0.35) for x, y in low] if cfg.low_score is not None else []
        t0 = time.perf_counter()
        shift = gmc(image) if gmc is not None else (0.0, 0.0)
        reported = tracker.step(targets, f, 0.0, lows, shift)
        elapsed += time.perf_counter() - t0
        out.append([(t.track_id, t.x, t.y) for t in reported])
    return out, elapsed * 1e3 / len(dets)


def track_results(cfg: TrackerConfig, scene: Scene, results: list[Result]) -> tuple[list[Points], float]:
    """The tracker over real detector results (low-score components and GMC from the frames)."""
    tracker = Tracker(cfg)
    out, elapsed = [], 0.0
    for result, image in zip(results, scene.frames, strict=True):
        t0 = time.perf_counter()
        tracked = tracker.update(result, image)
        elapsed += time.perf_counter() - t0
        out.append([(t.track_id, t.x, t.y) for t in tracked.targets])
    return out, elapsed * 1e3 / len(results)


def evaluate(scenes: list[Scene], detections: list, run) -> dict[str, dict]:
    """{row: {scene or OVERALL or NONCROSSING: figures, "ms": tracker ms/frame}} for one detector."""
    names = [s.spec.name for s in scenes]
    plain = [_detector_points([[(x, y) for _, x, y in pts] for pts in det]) for det in detections]
    rows = {
        "detector": _figures([_accumulate(s.truth, p) for s, p in zip(scenes, plain, strict=True)], names)
    }
    for label, cfg in VARIANTS.items():
        hyps, times = zip(*(run(cfg, s, d) for s, d in zip(scenes, detections, strict=True)), strict=True)
        accs = [_accumulate(s.truth, h) for s, h in zip(scenes, hyps, strict=True)]
        rows[label] = _figures(accs, names)
        keep = [i for i, s in enumerate(scenes) if not s.spec.crossing]
        rows[label]["NONCROSSING"] = _figures([accs[i] for i in keep], [names[i] for i in keep])["OVERALL"]
        rows[label]["ms"] = {n: t for n, t in zip(names, times, strict=True)}
    return rows


def simulated_rows(scenes: list[Scene], seed: int) -> dict[str, dict]:
    dets = [simulate_detections(s, seed) for s in scenes]
    as_points = [[[(0, x, y) for x, y in high] for high, _ in d] for d in dets]
    rows = evaluate(scenes, as_points, lambda cfg, s, pts: track_simulated(cfg, s, dets[scenes.index(s)]))
    return rows


def network_results(weights: Path, scenes: list[Scene]) -> tuple[list[list[Result]], float]:
    """A checkpoint's results on every frame, and its ms/frame (predict, one thread)."""
    import torch

    from lesps_deploy.errors import ConfigError
    from lesps_deploy.runtime.detector import Detector

    torch.set_num_threads(1)
    try:
        det = Detector(weights, threads=1)
    except ConfigError:  # the released LESPS checkpoints carry no normalization: they were trained on SIRST3
        det = Detector(weights, norm="SIRST3", threads=1)
    out, elapsed, n = [], 0.0, 0
    for scene in scenes:
        t0 = time.perf_counter()
        out.append([det.predict([img], [(f, 0.0, "")])[0] for f, img in enumerate(scene.frames)])
        elapsed, n = elapsed + time.perf_counter() - t0, n + len(scene.frames)
    det.close()
    return out, elapsed * 1e3 / n


def network_rows(scenes: list[Scene], results: list[list[Result]]) -> dict[str, dict]:
    points = [[[(0, t.x, t.y) for t in r.targets] for r in rs] for rs in results]
    return evaluate(scenes, points, lambda cfg, s, pts: track_results(cfg, s, results[scenes.index(s)]))


def stress_ms(targets: int = 50, clutter: int = 10, frames: int = 300, seed: int = 0) -> dict[str, float]:
    """Tracker.step cost with `targets` movers plus `clutter` random false alarms a frame (1024 px field)."""
    rng = np.random.default_rng(seed)
    pos, vel = rng.uniform(50, 970, (targets, 2)), rng.uniform(-2, 2, (targets, 2))
    tracker, times = Tracker(TrackerConfig(confirmed_only=True)), []
    for f in range(frames):
        pos = pos + vel
        vel = np.where((pos < 20) | (pos > 1000), -vel, vel)
        pts = np.vstack([pos + rng.normal(0, 0.3, pos.shape), rng.uniform(0, 1024, (clutter, 2))])
        dets = [_point(x, y, 0.9) for x, y in pts]
        t0 = time.perf_counter()
        tracker.step(dets, f)
        times.append((time.perf_counter() - t0) * 1e3)
    return latency_stats(times[10:], ("mean", "p50", "p99"))


def print_rows(title: str, rows: dict[str, dict], names: list[str]) -> None:
    print(f"\n{title}")
    print(
        f"{'scene':<12} {'row':<20} {'Pd %':>6} {'FA/fr':>6} {'MOTA':>6} {'IDF1':>6} {'IDsw':>5} {'ms/fr':>6}"
    )
    for name in [*names, "OVERALL"]:
        for label, per in rows.items():
            fig = per[name]
            tracker = label != "detector"
            ms = per["ms"].get(name) if tracker and name in per["ms"] else None
            print(f"{name:<12} {label:<20} {100 * fig['Pd']:6.1f} {fig['FA/frame']:6.2f} "
                  f"{fig['MOTA'] if tracker else float('nan'):6.3f} {fig['IDF1'] if tracker else float('nan'):6.3f} "
                  f"{fig['IDsw'] if tracker else '-':>5} {ms if ms is not None else float('nan'):6.3f}")  # fmt: skip


def print_goal(title: str, rows: dict[str, dict]) -> dict[str, dict[str, float]]:
    """The issue's goal, for the plain confirmed-only filter and its variants."""
    det = rows["detector"]["OVERALL"]
    out = {}
    print(f"{title}: detector {det['FA/frame']:.2f} false alarms/frame, Pd {100 * det['Pd']:.1f} %")
    for label in [k for k in rows if k.startswith("confirmed")]:
        conf = rows[label]["OVERALL"]
        cut = det["FA/frame"] / conf["FA/frame"] if conf["FA/frame"] > 0 else float("inf")
        lost = 100 * (det["Pd"] - conf["Pd"])
        idf1 = rows[label]["NONCROSSING"]["IDF1"]
        print(f"  {label:<20} false alarms /{cut:.1f} (goal >= 2), Pd {-lost:+.1f} points (goal >= -2), "
              f"IDF1 non-crossing {idf1:.3f} (goal >= 0.8)")  # fmt: skip
        out[label] = {"fa_cut": cut, "pd_points_lost": lost, "idf1_noncrossing": idf1}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--weights", type=Path, action="append", help="checkpoint(s) to run (default: released ACM)"
    )
    parser.add_argument("--no-detector", action="store_true", help="simulated detections only")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    t0 = time.perf_counter()
    scenes = [render_scene(spec, args.seed) for spec in SCENES]
    names = [s.spec.name for s in scenes]
    print(f"{len(scenes)} scenes x {len(scenes[0].frames)} frames of {SIZE}x{SIZE} "
          f"({sum(map(len, (t for s in scenes for t in s.truth)))} target-frames), rendered in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    report: dict = {"scenes": names, "sim": simulated_rows(scenes, args.seed)}
    print_rows("simulated detections", report["sim"], names)
    goals = {"sim": print_goal("\nsimulated", report["sim"])}
    det_ms = None
    for weights in [] if args.no_detector else (args.weights or [WEIGHTS]):
        if not weights.exists():
            print(f"\n{weights} not found: its rows are skipped")
            continue
        results, det_ms = network_results(weights, scenes)
        report[weights.name] = network_rows(scenes, results)
        print_rows(f"{weights} (predict {det_ms:.1f} ms/frame, 1 thread)", report[weights.name], names)
        goals[weights.name] = print_goal(f"\n{weights.name}", report[weights.name])
    stress = stress_ms()
    ratio = (
        f", {100 * stress['mean'] / det_ms:.1f} % of the detector's {det_ms:.1f} ms/frame" if det_ms else ""
    )
    print(f"\ntracker, 50 targets + 10 false alarms a frame: {stress['mean']:.3f} ms/frame mean, "
          f"p50 {stress['p50']:.3f}, p99 {stress['p99']:.3f}{ratio}")  # fmt: skip
    report.update(goals=goals, stress_ms=stress, detector_ms=det_ms)
    if args.json:
        args.json.write_text(json_text(report, indent=2, default=float) + "\n")
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
